/*
 * The web server's front door.  In front of every route it decides who is
 * asking (a session cookie, a board token, the metrics bearer token, or
 * nobody) and whether they may, checks the CSRF token of every
 * state-changing request, rate-limits logins, and serves its own pages:
 * login and logout, the TV board, board tokens and users (admin), static
 * assets.  Everything else it passes on to pages.c with the user attached.
 * No HTTP library here: http.c fills a web_req.
 */
#ifndef LB_SERVER_WEB_H
#define LB_SERVER_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "pages.h"
#include "session.h"

#define WEB_LOGIN_COOKIE "lb_login" /* login-form CSRF, before any session */

struct web;

enum web_lookup { WEB_ARG, WEB_HEADER, WEB_COOKIE };

struct web_req {
    const char *method;
    const char *path; /* percent-decoded, without the query */
    /* A query argument, header or cookie of the request, or NULL. */
    const char *(*lookup)(void *ctx, enum web_lookup kind, const char *name);
    /* The calling thread's read-write connection, opened on first use, or
     * NULL when it cannot be opened. */
    struct db *(*rw)(void *ctx);
    void *ctx;
    const char *body; /* NUL-terminated; NULL when the request had none */
    size_t body_len;
    int body_too_big; /* the body exceeded the limit and was dropped */
    const char *peer; /* the TCP peer's address */
    int tls;          /* arrived over the server's own TLS */
    int64_t now_ms;
    struct db *ro; /* the thread's read-only connection; NULL: 503 */
};

enum web_who_kind { WEB_WHO_NONE, WEB_WHO_USER, WEB_WHO_METRICS };

struct web_who {
    enum web_who_kind kind;
    struct session sess; /* WEB_WHO_USER */
};

enum web_result { WEB_REPLIED, WEB_PASS };

/* Creates the front door for conf (session lifetimes, proxy trust, metrics
 * token).  OUT: *out.  Returns 0 or -ENOMEM. */
int web_new(const struct srv_conf *conf, struct web **out);
/* Accepts NULL. */
void web_free(struct web *w);

/*
 * Handles rq: either answers it in OUT: rep (its own routes, or a refusal:
 * 303 to /login for a page, 401 JSON for the API, 403 for a missing or
 * wrong CSRF token or role, 414, 429) and returns WEB_REPLIED, or returns
 * WEB_PASS with OUT: who filled, for pages.c to answer.  Passed on: GET and
 * HEAD of any logged-in user; other methods of a supervisor or above, with
 * the CSRF token checked (form field "csrf" or header X-CSRF-Token);
 * /metrics with a session or the configured bearer token.
 */
enum web_result web_handle(struct web *w, const struct web_req *rq, struct web_who *who,
                           struct reply *rep);

#endif
