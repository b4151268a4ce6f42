/*
 * libmicrohttpd glue; see http.h.
 *
 * Each request is answered on the second call of the access handler, not
 * the first: answering at once made MHD close every connection
 * (platform-notes.md, about 4x less throughput).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "db.h"
#include "form.h"
#include "http.h"
#include "metrics.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "pages.h"
#include "route.h"
#include "web.h"

/* A request body is kept up to BODY_MAX bytes (forms and JSON are far
 * smaller) and answered 413 beyond; past BODY_DROP the connection closes. */
#define BODY_MAX  FORM_BODY_MAX
#define BODY_DROP (1024 * 1024)
#define PEM_MAX   (256 * 1024)

struct request {
    size_t body;     /* bytes of body seen */
    struct buf data; /* the body, while it fits BODY_MAX */
};

struct http {
    struct MHD_Daemon *mhd;
    char db_path[CONF_PATH_MAX + 1];
    struct ingest *ingest;
    pthread_key_t key; /* per-thread read-only struct db */
    int key_made;
    pthread_key_t rw_key; /* per-thread read-write struct db (logins, admin) */
    int rw_key_made;
    int tls;
    struct web *web;
    char *pem_cert, *pem_key;
    atomic_uint_fast64_t requests;
};

/* What web.c's lookups need of one request. */
struct lookup_ctx {
    struct http *h;
    struct MHD_Connection *c;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls);
static struct db *thread_db(struct http *h);
static struct db *thread_rw(void *ctx);
static const char *lookup(void *ctx, enum web_lookup kind, const char *name);
static const char *query_arg(void *ctx, const char *name);
static void peer_address(struct MHD_Connection *c, char *out, size_t size);
static int read_pem(const char *path, char **out);
static void close_thread_db(void *p);
static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *rep,
                                  int is_405);
static void mhd_log(void *cls, const char *fmt, va_list ap);
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe);

/* Runs when an MHD worker thread exits: its connection goes with it. */
static void close_thread_db(void *p)
{
    db_close(p);
}

/* The calling MHD thread's own read-only connection, opened on first use.
 * A failed open is retried on the next request (the writer may still be
 * creating the file). */
static struct db *thread_db(struct http *h)
{
    struct db *db = pthread_getspecific(h->key);

    if (db != NULL)
        return db;
    if (db_open(h->db_path, 1, &db) != 0)
        return NULL;
    if (pthread_setspecific(h->key, db) != 0) {
        db_close(db);
        return NULL;
    }
    return db;
}

/* The calling thread's read-write connection, for the few writes of the
 * web (sessions, board tokens, users): they wait for the ingest writer's
 * transaction through SQLite's busy timeout. */
static struct db *thread_rw(void *ctx)
{
    struct http *h = ((struct lookup_ctx *)ctx)->h;
    struct db *db = pthread_getspecific(h->rw_key);

    if (db != NULL)
        return db;
    if (db_open(h->db_path, 0, &db) != 0)
        return NULL;
    if (pthread_setspecific(h->rw_key, db) != 0) {
        db_close(db);
        return NULL;
    }
    return db;
}

static const char *lookup(void *ctx, enum web_lookup kind, const char *name)
{
    struct lookup_ctx *lc = ctx;
    enum MHD_ValueKind k = kind == WEB_ARG      ? MHD_GET_ARGUMENT_KIND
                           : kind == WEB_COOKIE ? MHD_COOKIE_KIND
                                                : MHD_HEADER_KIND;

    return MHD_lookup_connection_value(lc->c, k, name);
}

/* A query argument, for the API (pages_env.arg). */
static const char *query_arg(void *ctx, const char *name)
{
    return lookup(ctx, WEB_ARG, name);
}

static void peer_address(struct MHD_Connection *c, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, size, "?");
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  out, (socklen_t)size);
}

/* Reads a PEM file whole into OUT: *out (free it).  0 or -errno. */
static int read_pem(const char *path, char **out)
{
    FILE *f = NULL;
    char *p = NULL;
    size_t n;
    int rc = 0;

    *out = NULL;
    if ((f = fopen(path, "re")) == NULL)
        return -errno;
    if ((p = malloc(PEM_MAX + 1)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    n = fread(p, 1, PEM_MAX + 1, f);
    if (ferror(f)) {
        rc = -EIO;
        goto fail;
    }
    if (n > PEM_MAX) {
        rc = -EFBIG;
        goto fail;
    }
    p[n] = '\0';
    fclose(f);
    *out = p;
    return 0;
fail:
    free(p);
    fclose(f);
    return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warnx("http: %s", msg);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *req = *req_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (req != NULL)
        buf_free(&req->data);
    free(req);
    *req_cls = NULL;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *rep, int is_405)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = 0;
    char *body = buf_steal(&rep->body, &len);

    if (body == NULL)
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO; /* out of memory: MHD closes the connection */
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rep->type ? rep->type : CT_TEXT);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rep->no_store)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rep->html) {
        /* Everything is server-made: styles inline, the one script from
         * /static, forms to ourselves; forbid the rest. */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "script-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    for (int i = 0; i < rep->nheaders; i++)
        MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
    if (is_405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct http *h = cls;
    struct request *req = *req_cls;
    struct lookup_ctx lc = {h, c};
    struct pages_env env;
    struct web_req wr;
    struct web_who who;
    struct reply rep;
    struct route r;
    enum MHD_Result ret;
    char peer[64];
    uint64_t t0_us;
    int is_405 = 0;

    (void)version;
    if (req == NULL) {
        if ((req = calloc(1, sizeof(*req))) == NULL)
            return MHD_NO;
        buf_init(&req->data);
        *req_cls = req;
        return MHD_YES;
    }
    /* MHD 0.9.75 refuses a response queued while body data is pending, so
     * the body is consumed first, whatever the method. */
    if (*upload_data_size != 0) {
        req->body += *upload_data_size;
        if (req->body <= BODY_MAX)
            buf_add(&req->data, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return req->body > BODY_DROP ? MHD_NO : MHD_YES;
    }

    t0_us = metrics_now_us();
    memset(&rep, 0, sizeof(rep));
    buf_init(&rep.body);
    memset(&env, 0, sizeof(env));
    env.db_path = h->db_path;
    env.ingest = h->ingest;
    env.http_requests = atomic_fetch_add(&h->requests, 1) + 1;

    /* The front door first: who asks, may they, and its own routes. */
    peer_address(c, peer, sizeof(peer));
    memset(&wr, 0, sizeof(wr));
    wr.method = method;
    wr.path = url;
    wr.lookup = lookup;
    wr.rw = thread_rw;
    wr.ctx = &lc;
    wr.body = req->data.len > 0 ? req->data.p : NULL;
    wr.body_len = req->data.len;
    wr.body_too_big = req->body > BODY_MAX || req->data.err != 0;
    wr.peer = peer;
    wr.tls = h->tls;
    wr.now_ms = lb_wall_ms();
    wr.ro = thread_db(h);
    if (web_handle(h->web, &wr, &who, &rep) == WEB_PASS) {
        route_parse(method, url, &r);
        env.sess = who.kind == WEB_WHO_USER ? &who.sess : NULL;
        env.method = method;
        env.body = wr.body;
        env.body_len = wr.body_len;
        env.path = url;
        env.arg = query_arg;
        env.rw = thread_rw;
        env.ctx = &lc;
        pages_handle(&env, r.kind == ROUTE_NONE ? NULL : wr.ro, &r,
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to"),
                     wr.now_ms, &rep);
        is_405 = r.status == 405 && r.kind == ROUTE_NONE;
    }
    ret = send_reply(c, &rep, is_405);
    metrics_http_observe(metrics_now_us() - t0_us, rep.status);
    buf_free(&rep.body);
    return ret;
}

int http_start(const struct srv_conf *conf, struct ingest *ing, struct http **out)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct http *h = NULL;
    int rc;

    *out = NULL;
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, conf->server.http_bind, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)conf->server.http_port);
    } else if (inet_pton(AF_INET6, conf->server.http_bind, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)conf->server.http_port);
        flags |= MHD_USE_IPv6;
    } else {
        return -EINVAL;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return -ENOMEM;
    snprintf(h->db_path, sizeof(h->db_path), "%s", conf->server.db);
    h->ingest = ing;
    if ((rc = pthread_key_create(&h->key, close_thread_db)) != 0) {
        rc = -rc;
        goto fail;
    }
    h->key_made = 1;
    if ((rc = pthread_key_create(&h->rw_key, close_thread_db)) != 0) {
        rc = -rc;
        goto fail;
    }
    h->rw_key_made = 1;
    if ((rc = web_new(conf, &h->web)) != 0)
        goto fail;
    if (conf->server.tls_cert[0] != '\0') {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            log_warnx("http: this libmicrohttpd has no TLS support (GnuTLS)");
            rc = -ENOTSUP;
            goto fail;
        }
        if ((rc = read_pem(conf->server.tls_cert, &h->pem_cert)) != 0) {
            log_warnx("http: tls_cert %s: %s", conf->server.tls_cert, lb_strerror(rc));
            goto fail;
        }
        if ((rc = read_pem(conf->server.tls_key, &h->pem_key)) != 0) {
            log_warnx("http: tls_key %s: %s", conf->server.tls_key, lb_strerror(rc));
            goto fail;
        }
        flags |= MHD_USE_TLS;
        h->tls = 1;
    }

    {
        /* TLS options only when TLS is on: MHD refuses them otherwise. */
        struct MHD_OptionItem tls_opts[] = {
            {MHD_OPTION_HTTPS_MEM_CERT, 0, h->pem_cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, h->pem_key},
            {MHD_OPTION_END, 0, NULL},
        };
        struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};

        h->mhd = MHD_start_daemon(
            flags, (uint16_t)conf->server.http_port, NULL, NULL, on_request, h,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)conf->server.http_threads,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
            MHD_OPTION_ARRAY, h->tls ? tls_opts : no_opts, MHD_OPTION_END);
    }
    if (h->mhd == NULL) {
        log_warnx("http: cannot listen on %s port %d%s", conf->server.http_bind,
                  (int)conf->server.http_port,
                  h->tls ? " (or the TLS certificate and key were refused)" : "");
        rc = -EADDRINUSE;
        goto fail;
    }
    log_info("http: listening on %s port %d with %d threads%s", conf->server.http_bind,
             (int)conf->server.http_port, (int)conf->server.http_threads,
             h->tls ? ", HTTPS" : "");
    *out = h;
    return 0;
fail:
    if (h->key_made)
        pthread_key_delete(h->key);
    if (h->rw_key_made)
        pthread_key_delete(h->rw_key);
    web_free(h->web);
    if (h->pem_key != NULL)
        explicit_bzero(h->pem_key, strlen(h->pem_key));
    free(h->pem_key);
    free(h->pem_cert);
    free(h);
    return rc;
}

void http_stop(struct http *h)
{
    if (h == NULL)
        return;
    /* Joins the worker threads; their key destructors close their
     * connections before this returns. */
    if (h->mhd != NULL)
        MHD_stop_daemon(h->mhd);
    if (h->key_made)
        pthread_key_delete(h->key);
    if (h->rw_key_made)
        pthread_key_delete(h->rw_key);
    web_free(h->web);
    if (h->pem_key != NULL)
        explicit_bzero(h->pem_key, strlen(h->pem_key));
    free(h->pem_key);
    free(h->pem_cert);
    free(h);
}
