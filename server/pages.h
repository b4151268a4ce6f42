/*
 * What the web server answers: the floor board (server-rendered HTML, no
 * external resources), the JSON API and the Prometheus metrics, rendered
 * from a read-only database connection into a buffer.  No HTTP library
 * here: http.c turns a reply into a response.
 */
#ifndef LB_SERVER_PAGES_H
#define LB_SERVER_PAGES_H

#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "ingest.h"
#include "route.h"

#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"
#define CT_CSV  "text/csv; charset=utf-8"
#define CT_JS   "text/javascript; charset=utf-8"

#define REPLY_HEADERS_MAX  4
#define REPLY_HEADER_VALUE 320

struct reply {
    int status;
    const char *type; /* a CT_* constant */
    int no_store;     /* send Cache-Control: no-store */
    int html;         /* a page: send the restrictive CSP */
    struct buf body;
    /* Extra headers (Set-Cookie, Location, Content-Disposition, Allow,
     * Retry-After), added with reply_header. */
    int nheaders;
    struct {
        const char *name; /* a string constant */
        char value[REPLY_HEADER_VALUE];
    } headers[REPLY_HEADERS_MAX];
};

struct session;

/* What a request may read besides the database. */
struct pages_env {
    const char *db_path;    /* for linebeat_db_bytes */
    struct ingest *ingest;  /* NULL when ingest does not run here */
    uint64_t http_requests; /* served so far */
    /* Set by the auth gate (web.h) for routes it passed on: the logged-in
     * user (NULL for /metrics with its bearer token), the method and the
     * request body (a state-changing request's CSRF token was checked). */
    const struct session *sess;
    const char *method;
    const char *body; /* NUL-terminated, body_len bytes; NULL when none */
    size_t body_len;
    /* For the KPI API (api.c): the path, a query argument (NULL when
     * absent) and the thread's read-write connection (NULL when it cannot
     * be opened), both called with ctx. */
    const char *path;
    const char *(*arg)(void *ctx, const char *name);
    struct db *(*rw)(void *ctx);
    void *ctx;
};

/* Adds header name (a string constant) with value to rep.  Callers bound
 * their values; one too long, or one header too many, is dropped and logged
 * (a programming error, never input-driven). */
void reply_header(struct reply *rep, const char *name, const char *value);

/*
 * Renders the answer to route r (query values from and to for the counts
 * route, NULL when absent) at now_ms into OUT: rep, whose body the caller
 * initialised and frees.  db may be NULL when no connection could be
 * opened (503).  Never fails: errors become 4xx/5xx replies.
 */
void pages_handle(const struct pages_env *env, struct db *db, const struct route *r,
                  const char *from, const char *to, int64_t now_ms, struct reply *rep);

/* Fills a JSON {"error": msg} reply, or plain text for pages. */
void pages_error(struct reply *rep, int status, int json, const char *msg);

/* The local day (server's TZ) holding now_ms: OUT: [from, to) in ms. */
void pages_today(int64_t now_ms, int64_t *from, int64_t *to);

#endif
