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
#include "http.h"
#include "linebeat/clock.h"
#include "linebeat/log.h"
#include "pages.h"
#include "route.h"

/* A request body is read and thrown away (no route takes one); a larger
 * one closes the connection. */
#define BODY_MAX (64 * 1024)

struct request {
    size_t body; /* bytes of body seen */
};

struct http {
    struct MHD_Daemon *mhd;
    char db_path[CONF_PATH_MAX + 1];
    struct ingest *ingest;
    pthread_key_t key; /* per-thread read-only struct db */
    int key_made;
    atomic_uint_fast64_t requests;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls);
static struct db *thread_db(struct http *h);
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
    (void)cls;
    (void)c;
    (void)toe;
    free(*req_cls);
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
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rep->no_store)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rep->html) {
        /* Everything is inline and server-made: forbid the rest. */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "frame-ancestors 'none'");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
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
    struct pages_env env;
    struct reply rep;
    struct route r;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    if (req == NULL) {
        if ((req = calloc(1, sizeof(*req))) == NULL)
            return MHD_NO;
        *req_cls = req;
        return MHD_YES;
    }
    /* MHD 0.9.75 refuses a response queued while body data is pending, so
     * the body is consumed first, whatever the method. */
    if (*upload_data_size != 0) {
        req->body += *upload_data_size;
        *upload_data_size = 0;
        return req->body > BODY_MAX ? MHD_NO : MHD_YES;
    }
    route_parse(method, url, &r);

    memset(&rep, 0, sizeof(rep));
    buf_init(&rep.body);
    env.db_path = h->db_path;
    env.ingest = h->ingest;
    env.http_requests = atomic_fetch_add(&h->requests, 1) + 1;
    pages_handle(&env, r.kind == ROUTE_NONE ? NULL : thread_db(h), &r,
                 MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from"),
                 MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to"),
                 lb_wall_ms(), &rep);
    ret = send_reply(c, &rep, r.status == 405 && r.kind == ROUTE_NONE);
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

    h->mhd = MHD_start_daemon(
        flags, (uint16_t)conf->server.http_port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)conf->server.http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)512, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_END);
    if (h->mhd == NULL) {
        log_warnx("http: cannot listen on %s port %d", conf->server.http_bind,
                  (int)conf->server.http_port);
        rc = -EADDRINUSE;
        goto fail;
    }
    log_info("http: listening on %s port %d with %d threads", conf->server.http_bind,
             (int)conf->server.http_port, (int)conf->server.http_threads);
    *out = h;
    return 0;
fail:
    if (h->key_made)
        pthread_key_delete(h->key);
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
    free(h);
}
