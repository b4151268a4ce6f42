/*
 * The front door; see web.h.
 *
 * Login attempts are limited twice: per client address (every attempt
 * counts: 10 at once, then one per 6 s) and per user name (failures count:
 * 5 at once, then one per minute), so a password cannot be guessed quickly
 * from one address nor from many.  A limited attempt is refused before the
 * password is hashed, so a flood costs no Argon2 time.  An unknown user and
 * a wrong password get the same answer after the same work.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "board.h"
#include "db_auth.h"
#include "form.h"
#include "layout.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "route.h"
#include "web.h"

#define IP_BURST       10
#define IP_REFILL_MS   6000
#define USER_BURST     5
#define USER_REFILL_MS 60000
#define LIMITER_KEYS   4096
#define TOUCH_MS       60000 /* last_seen and last_used granularity */
#define LOGIN_COOKIE_S 3600
#define NEXT_MAX       200

enum access { A_PUBLIC, A_TOKEN, A_USER };

enum method_bit { M_GET = 1, M_POST = 2, M_DELETE = 4 };

struct ctx {
    struct web *w;
    const struct web_req *rq;
    struct web_who *who;
    struct reply *rep;
    int https;
    const char *ip;
    int64_t id; /* the numeric path segment, when the pattern has one */
    int json;   /* answer errors in JSON */
};

typedef void (*handler_fn)(struct ctx *c);

struct web_route {
    unsigned methods;
    const char *pattern; /* "#" matches a decimal id segment */
    enum access access;
    enum auth_role role; /* A_USER: the least role */
    handler_fn fn;
};

struct web {
    struct session_policy policy;
    int trust_proxy;
    char metrics_token[CONF_SECRET_MAX + 1];
    struct auth_limiter *by_ip, *by_user;
};

static void get_login(struct ctx *c);
static void post_login(struct ctx *c);
static void post_logout(struct ctx *c);
static void api_login(struct ctx *c);
static void api_logout(struct ctx *c);
static void api_session(struct ctx *c);
static void get_js(struct ctx *c);
static void get_board_csv(struct ctx *c);
static void get_tv(struct ctx *c);
static void get_tokens(struct ctx *c);
static void post_tokens(struct ctx *c);
static void post_token_revoke(struct ctx *c);
static void api_tokens(struct ctx *c);
static void api_token_create(struct ctx *c);
static void api_token_delete(struct ctx *c);
static void get_users(struct ctx *c);
static void post_users(struct ctx *c);
static void post_user(struct ctx *c);
static void api_users(struct ctx *c);

static const struct web_route routes[] = {
    {M_GET, "/login", A_PUBLIC, AUTH_NONE, get_login},
    {M_POST, "/login", A_PUBLIC, AUTH_NONE, post_login},
    {M_POST, "/logout", A_USER, AUTH_VIEWER, post_logout},
    {M_GET, "/static/app.js", A_PUBLIC, AUTH_NONE, get_js},
    {M_GET, "/tv", A_TOKEN, AUTH_NONE, get_tv},
    {M_GET, "/board.csv", A_USER, AUTH_VIEWER, get_board_csv},
    {M_GET, "/admin/tokens", A_USER, AUTH_ADMIN, get_tokens},
    {M_POST, "/admin/tokens", A_USER, AUTH_ADMIN, post_tokens},
    {M_POST, "/admin/tokens/#/revoke", A_USER, AUTH_ADMIN, post_token_revoke},
    {M_GET, "/admin/users", A_USER, AUTH_ADMIN, get_users},
    {M_POST, "/admin/users", A_USER, AUTH_ADMIN, post_users},
    {M_POST, "/admin/users/#", A_USER, AUTH_ADMIN, post_user},
    {M_POST, "/api/v1/login", A_PUBLIC, AUTH_NONE, api_login},
    {M_POST, "/api/v1/logout", A_USER, AUTH_VIEWER, api_logout},
    {M_GET, "/api/v1/session", A_USER, AUTH_VIEWER, api_session},
    {M_GET, "/api/v1/board-tokens", A_USER, AUTH_ADMIN, api_tokens},
    {M_POST, "/api/v1/board-tokens", A_USER, AUTH_ADMIN, api_token_create},
    {M_DELETE, "/api/v1/board-tokens/#", A_USER, AUTH_ADMIN, api_token_delete},
    {M_GET, "/api/v1/users", A_USER, AUTH_ADMIN, api_users},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static unsigned method_bit(const char *m);
static int match(const char *pattern, const char *path, int64_t *id);
static const char *lookup(const struct ctx *c, enum web_lookup kind, const char *name);
static int is_safe(const char *method);
static int is_form(const struct ctx *c);
static int is_json(const struct ctx *c);
static void client(struct web *w, const struct web_req *rq, char *ip, size_t size,
                   int *https);
static void fail(struct ctx *c, int status, const char *msg);
static void deny_login(struct ctx *c);
static int csrf_ok(struct ctx *c);
static void redirect(struct ctx *c, const char *to);
static void allow_header(struct ctx *c, const char *path);
static void safe_next(const char *next, char *out, size_t size);
static int login_check(struct ctx *c, const char *user, const char *pw, struct session *s,
                       const char **why);
static void login_page(struct ctx *c, int status, const char *msg, const char *user,
                       const char *next);
static void set_session_cookie(struct ctx *c, const struct session *s);
static void json_session(struct buf *b, const struct session *s);
static void json_done(struct reply *rep, int status);
static json_t *json_body(struct ctx *c);
static int token_name_ok(const char *name);
static int create_token(struct ctx *c, const char *name, char *token, int64_t *id);
static void tv_url(struct ctx *c, const char *token, char *out, size_t size);
static int token_row(void *ctx, const struct db_board_token *t);
static void tokens_page(struct ctx *c, int status, const char *new_name,
                        const char *new_url);
static void users_page(struct ctx *c, int status, const char *msg, int error);
static int token_json(void *ctx, const struct db_board_token *t);
static int user_row(void *ctx, const struct db_user *u);
static int user_json(void *ctx, const struct db_user *u);
static struct db *rw_db(struct ctx *c);

int web_new(const struct srv_conf *conf, struct web **out)
{
    struct web *w;

    *out = NULL;
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return -ENOMEM;
    w->policy.idle_ms = conf->server.session_idle_min * 60 * 1000;
    w->policy.max_ms = conf->server.session_max_h * 3600 * 1000;
    w->policy.touch_ms = TOUCH_MS;
    w->trust_proxy = conf->server.trust_proxy;
    snprintf(w->metrics_token, sizeof(w->metrics_token), "%s",
             conf->server.metrics_token);
    if (auth_limiter_new(IP_BURST, IP_REFILL_MS, LIMITER_KEYS, &w->by_ip) != 0 ||
        auth_limiter_new(USER_BURST, USER_REFILL_MS, LIMITER_KEYS, &w->by_user) != 0) {
        web_free(w);
        return -ENOMEM;
    }
    *out = w;
    return 0;
}

void web_free(struct web *w)
{
    if (w == NULL)
        return;
    auth_limiter_free(w->by_ip);
    auth_limiter_free(w->by_user);
    free(w);
}

/* ---- request helpers ------------------------------------------------ */

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return M_GET;
    if (strcmp(m, "POST") == 0)
        return M_POST;
    if (strcmp(m, "DELETE") == 0)
        return M_DELETE;
    return 0;
}

static int is_safe(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

/* Matches path against pattern; "#" stands for a positive decimal id of at
 * most 15 digits, stored in OUT: *id. */
static int match(const char *pattern, const char *path, int64_t *id)
{
    while (*pattern != '\0') {
        if (*pattern == '#') {
            int64_t v = 0;
            int n = 0;

            while (*path >= '0' && *path <= '9' && n < 16) {
                v = v * 10 + (*path - '0');
                path++;
                n++;
            }
            if (n == 0 || n > 15 || v <= 0)
                return 0;
            *id = v;
            pattern++;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *path == '\0';
}

static const char *lookup(const struct ctx *c, enum web_lookup kind, const char *name)
{
    return c->rq->lookup(c->rq->ctx, kind, name);
}

static int is_form(const struct ctx *c)
{
    const char *ct = lookup(c, WEB_HEADER, "Content-Type");

    return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

static int is_json(const struct ctx *c)
{
    const char *ct = lookup(c, WEB_HEADER, "Content-Type");

    return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

/* The client's address and whether it came over HTTPS.  Behind a trusted
 * reverse proxy, the proxy's headers tell; the address is the last
 * X-Forwarded-For entry, the one the proxy itself added. */
static void client(struct web *w, const struct web_req *rq, char *ip, size_t size,
                   int *https)
{
    const char *xff, *proto, *last;

    snprintf(ip, size, "%s", rq->peer ? rq->peer : "");
    *https = rq->tls;
    if (!w->trust_proxy)
        return;
    proto = rq->lookup(rq->ctx, WEB_HEADER, "X-Forwarded-Proto");
    if (proto != NULL && strcasecmp(proto, "https") == 0)
        *https = 1;
    xff = rq->lookup(rq->ctx, WEB_HEADER, "X-Forwarded-For");
    if (xff != NULL) {
        last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        if (*last != '\0' && strlen(last) < size)
            snprintf(ip, size, "%s", last);
    }
}

static struct db *rw_db(struct ctx *c)
{
    return c->rq->rw(c->rq->ctx);
}

static void fail(struct ctx *c, int status, const char *msg)
{
    pages_error(c->rep, status, c->json, msg);
}

static void redirect(struct ctx *c, const char *to)
{
    buf_free(&c->rep->body);
    c->rep->status = 303;
    c->rep->type = CT_TEXT;
    c->rep->no_store = 1;
    c->rep->html = 0;
    reply_header(c->rep, "Location", to);
    buf_puts(&c->rep->body, "see ");
    buf_puts(&c->rep->body, to);
    buf_puts(&c->rep->body, "\n");
}

/* Nobody is logged in: pages go to the login form, the API says 401. */
static void deny_login(struct ctx *c)
{
    char next[NEXT_MAX + 1], loc[NEXT_MAX * 3 + 32];
    size_t i, n = 0;

    if (c->json || strcmp(c->rq->path, "/metrics") == 0) {
        fail(c, 401, "login required");
        return;
    }
    safe_next(c->rq->path, next, sizeof(next));
    n = (size_t)snprintf(loc, sizeof(loc), "/login?next=");
    for (i = 0; next[i] != '\0' && n + 4 < sizeof(loc); i++) {
        unsigned char ch = (unsigned char)next[i];

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || strchr("/-_.~", ch) != NULL)
            loc[n++] = (char)ch;
        else
            n += (size_t)snprintf(loc + n, sizeof(loc) - n, "%%%02X", ch);
    }
    loc[n] = '\0';
    redirect(c, strcmp(next, "/") == 0 ? "/login" : loc);
}

/* A local path to go to after login: starts with one "/", no scheme or
 * host, no backslash or control character; anything else is "/". */
static void safe_next(const char *next, char *out, size_t size)
{
    size_t i, n;

    snprintf(out, size, "/");
    if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return;
    n = strlen(next);
    if (n >= size || strncmp(next, "/login", 6) == 0 || strncmp(next, "/logout", 7) == 0)
        return;
    for (i = 0; i < n; i++)
        if ((unsigned char)next[i] < 0x21 || next[i] == '\\' || next[i] == 0x7f)
            return;
    snprintf(out, size, "%s", next);
}

/* The request's CSRF token (header, or the form's "csrf" field) against the
 * session's. */
static int csrf_ok(struct ctx *c)
{
    const char *tok = lookup(c, WEB_HEADER, "X-CSRF-Token");
    struct form f;
    int ok;

    if (tok != NULL)
        return auth_equal(tok, c->who->sess.csrf);
    if (!is_form(c) || c->rq->body == NULL)
        return 0;
    if (form_parse(c->rq->body, c->rq->body_len, &f) != 0) {
        form_free(&f);
        return 0;
    }
    ok = auth_equal(form_get(&f, "csrf"), c->who->sess.csrf);
    form_free(&f);
    return ok;
}

static void allow_header(struct ctx *c, const char *path)
{
    unsigned m = 0;
    char allow[64] = "";
    int64_t id;
    size_t i;

    for (i = 0; i < NROUTES; i++)
        if (match(routes[i].pattern, path, &id))
            m |= routes[i].methods;
    snprintf(allow, sizeof(allow), "%s%s%s", m & M_GET ? "GET, HEAD" : "",
             (m & M_GET) && (m & (M_POST | M_DELETE)) ? ", " : "",
             (m & M_POST) && (m & M_DELETE) ? "POST, DELETE"
             : (m & M_POST)                 ? "POST"
             : (m & M_DELETE)               ? "DELETE"
                                            : "");
    reply_header(c->rep, "Allow", allow);
}

static void json_done(struct reply *rep, int status)
{
    rep->status = status;
    rep->type = CT_JSON;
    rep->no_store = 1;
    rep->html = 0;
}

/* The request's JSON object body, or NULL after answering 400/415. */
static json_t *json_body(struct ctx *c)
{
    json_error_t err;
    json_t *j;

    if (!is_json(c)) {
        fail(c, 415, "expected Content-Type: application/json");
        return NULL;
    }
    if (c->rq->body == NULL) {
        fail(c, 400, "empty body");
        return NULL;
    }
    j = json_loadb(c->rq->body, c->rq->body_len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        fail(c, 400, "body: not a JSON object");
        return NULL;
    }
    return j;
}

/* ---- the gate --------------------------------------------------------- */

enum web_result web_handle(struct web *w, const struct web_req *rq, struct web_who *who,
                           struct reply *rep)
{
    const struct web_route *r = NULL;
    struct ctx c;
    char ip[64];
    const char *cookie;
    int path_known = 0;
    size_t i;
    int rc;

    memset(who, 0, sizeof(*who));
    memset(&c, 0, sizeof(c));
    c.w = w;
    c.rq = rq;
    c.who = who;
    c.rep = rep;
    c.json = strncmp(rq->path, "/api/", 5) == 0;
    client(w, rq, ip, sizeof(ip), &c.https);
    c.ip = ip;

    if (strnlen(rq->path, ROUTE_URL_MAX + 1) > ROUTE_URL_MAX) {
        fail(&c, 414, "URI too long");
        return WEB_REPLIED;
    }
    if (rq->body_too_big) {
        fail(&c, 413, "request body too large");
        return WEB_REPLIED;
    }
    if (rq->ro == NULL) {
        fail(&c, 503, "database unavailable");
        return WEB_REPLIED;
    }

    /* Who is asking. */
    cookie = lookup(&c, WEB_COOKIE, SESSION_COOKIE);
    if (cookie != NULL) {
        rc = session_resolve(rq->ro, rq->rw(rq->ctx), &w->policy, cookie, rq->now_ms,
                             &who->sess);
        if (rc == 0)
            who->kind = WEB_WHO_USER;
        else if (rc != -ENOENT) {
            fail(&c, 500, "database error");
            return WEB_REPLIED;
        }
    }

    for (i = 0; i < NROUTES; i++) {
        if (!match(routes[i].pattern, rq->path, &c.id))
            continue;
        path_known = 1;
        if (routes[i].methods & method_bit(rq->method)) {
            r = &routes[i];
            break;
        }
    }

    if (r == NULL && !path_known) {
        /* Someone else's route: only the gate. */
        if (strcmp(rq->path, "/metrics") == 0 && who->kind == WEB_WHO_NONE) {
            const char *a = lookup(&c, WEB_HEADER, "Authorization");

            if (w->metrics_token[0] != '\0' && a != NULL &&
                strncmp(a, "Bearer ", 7) == 0 && auth_equal(a + 7, w->metrics_token)) {
                who->kind = WEB_WHO_METRICS;
                return WEB_PASS;
            }
        }
        if (who->kind != WEB_WHO_USER) {
            deny_login(&c);
            return WEB_REPLIED;
        }
        if (!is_safe(rq->method)) {
            if (!csrf_ok(&c)) {
                fail(&c, 403, "CSRF token missing or wrong");
                return WEB_REPLIED;
            }
            if (who->sess.role < AUTH_SUPERVISOR) {
                fail(&c, 403, "this needs the supervisor role or above");
                return WEB_REPLIED;
            }
        }
        return WEB_PASS;
    }

    if (r != NULL && r->access == A_PUBLIC) {
        r->fn(&c);
        return WEB_REPLIED;
    }
    if (r != NULL && r->access == A_TOKEN) {
        r->fn(&c);
        return WEB_REPLIED;
    }
    /* A_USER routes, or a known path with the wrong method. */
    if (who->kind != WEB_WHO_USER) {
        deny_login(&c);
        return WEB_REPLIED;
    }
    if (r == NULL) {
        fail(&c, 405, "method not allowed");
        allow_header(&c, rq->path);
        return WEB_REPLIED;
    }
    if (who->sess.role < r->role) {
        char msg[64];

        snprintf(msg, sizeof(msg), "this needs the %s role", auth_role_name(r->role));
        fail(&c, 403, msg);
        return WEB_REPLIED;
    }
    if (!is_safe(rq->method) && !csrf_ok(&c)) {
        fail(&c, 403, "CSRF token missing or wrong");
        return WEB_REPLIED;
    }
    r->fn(&c);
    return WEB_REPLIED;
}

/* ---- login and sessions ------------------------------------------------ */

/* Checks a login attempt and opens the session.  Returns 0, or the status
 * to answer (401, 429, 500) with a message in *why. */
static int login_check(struct ctx *c, const char *user, const char *pw, struct session *s,
                       const char **why)
{
    char retry[24];
    struct db_user u;
    struct db *rw;
    int64_t wait;
    int rc, found;

    *why = "wrong user name or password";
    wait = auth_limiter_take(c->w->by_ip, c->ip, c->rq->now_ms);
    if (wait == 0 && auth_user_valid(user))
        wait = auth_limiter_check(c->w->by_user, user, c->rq->now_ms);
    if (wait > 0) {
        snprintf(retry, sizeof(retry), "%" PRId64, (wait + 999) / 1000);
        reply_header(c->rep, "Retry-After", retry);
        log_warnx("web: login rate-limited for %s from %s",
                  auth_user_valid(user) ? user : "?", c->ip);
        *why = "too many login attempts; wait a minute and try again";
        return 429;
    }
    if ((rw = rw_db(c)) == NULL) {
        *why = "database unavailable";
        return 503;
    }
    rc = auth_user_valid(user) ? db_user_by_name(rw, user, &u) : -ENOENT;
    if (rc != 0 && rc != -ENOENT) {
        *why = "database error";
        return 500;
    }
    found = rc == 0;
    if (!found) {
        auth_password_dummy(pw ? pw : "");
        if (auth_user_valid(user))
            (void)auth_limiter_take(c->w->by_user, user, c->rq->now_ms);
        log_info("web: failed login for unknown user from %s", c->ip);
        return 401;
    }
    if (pw == NULL || auth_password_verify(u.pwhash, pw) != 0 || u.disabled ||
        u.role == AUTH_NONE) {
        (void)auth_limiter_take(c->w->by_user, user, c->rq->now_ms);
        log_info("web: failed login for %s from %s%s", u.name, c->ip,
                 u.disabled ? " (disabled)" : "");
        return 401;
    }
    auth_limiter_reset(c->w->by_user, user);
    if (session_create(rw, &c->w->policy, u.id, u.name, u.role, c->ip, c->rq->now_ms,
                       s) != 0) {
        *why = "database error";
        return 500;
    }
    log_info("web: %s logged in from %s", u.name, c->ip);
    return 0;
}

static void set_session_cookie(struct ctx *c, const struct session *s)
{
    char v[SESSION_COOKIE_MAX];

    session_cookie(v, sizeof(v), s ? s->token : NULL,
                   s ? (s->expires - c->rq->now_ms) / 1000 : 0, c->https);
    reply_header(c->rep, "Set-Cookie", v);
}

static void login_page(struct ctx *c, int status, const char *msg, const char *user,
                       const char *next)
{
    struct buf *b = &c->rep->body;
    const char *pre = lookup(c, WEB_COOKIE, WEB_LOGIN_COOKIE);
    char tok[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
    char cookie[SESSION_COOKIE_MAX];
    struct layout l = {"Log in", NULL, NULL, 0, 0};

    /* The login form's own CSRF token: double submit of a cookie that a
     * cross-site page can neither read nor set. */
    if (pre != NULL && auth_token_valid(pre)) {
        snprintf(tok, sizeof(tok), "%s", pre);
    } else {
        auth_token_new(tok);
        snprintf(cookie, sizeof(cookie),
                 WEB_LOGIN_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
                 tok, LOGIN_COOKIE_S, c->https ? "; Secure" : "");
        reply_header(c->rep, "Set-Cookie", cookie);
    }
    auth_csrf(tok, csrf);
    buf_free(b);
    layout_begin(b, &l);
    buf_puts(b, "<div class=\"box\" style=\"max-width:26em\">");
    if (msg != NULL) {
        buf_puts(b, "<p class=\"err\" role=\"alert\">");
        buf_html(b, msg);
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<form method=\"post\" action=\"/login\">"
                "<input type=\"hidden\" name=\"csrf\" value=\"");
    buf_html(b, csrf);
    buf_puts(b, "\"><input type=\"hidden\" name=\"next\" value=\"");
    buf_html(b, next);
    buf_puts(b,
             "\"><label for=\"user\">User name</label>"
             "<input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" "
             "autocapitalize=\"none\" required autofocus value=\"");
    buf_html(b, user ? user : "");
    buf_puts(b, "\"><label for=\"password\">Password</label>"
                "<input type=\"password\" id=\"password\" name=\"password\" "
                "autocomplete=\"current-password\" required>"
                "<br><button type=\"submit\">Log in</button></form></div>");
    layout_end(b, &l, c->rq->now_ms);
    layout_done(c->rep, status);
}

static void get_login(struct ctx *c)
{
    char next[NEXT_MAX + 1];

    safe_next(lookup(c, WEB_ARG, "next"), next, sizeof(next));
    if (c->who->kind == WEB_WHO_USER) {
        redirect(c, next);
        return;
    }
    login_page(c, 200, NULL, NULL, next);
}

static void post_login(struct ctx *c)
{
    const char *pre = lookup(c, WEB_COOKIE, WEB_LOGIN_COOKIE), *user, *why;
    char want[AUTH_TOKEN_LEN + 1], next[NEXT_MAX + 1];
    struct session s;
    struct form f;
    int status;

    if (!is_form(c)) {
        fail(c, 415, "expected a form (application/x-www-form-urlencoded)");
        return;
    }
    if (c->rq->body == NULL || form_parse(c->rq->body, c->rq->body_len, &f) != 0) {
        form_free(&f);
        fail(c, 400, "malformed form");
        return;
    }
    safe_next(form_get(&f, "next"), next, sizeof(next));
    user = form_get(&f, "user");
    if (pre == NULL || !auth_token_valid(pre)) {
        login_page(c, 403,
                   "Your browser did not send the login cookie: allow cookies for "
                   "this site and try again.",
                   user, next);
        form_free(&f);
        return;
    }
    auth_csrf(pre, want);
    if (!auth_equal(form_get(&f, "csrf"), want)) {
        login_page(c, 403, "This login form has expired; please try again.", user, next);
        form_free(&f);
        return;
    }
    status = login_check(c, user, form_get(&f, "password"), &s, &why);
    if (status != 0) {
        login_page(c, status, why, user, next);
        form_free(&f);
        return;
    }
    form_free(&f);
    redirect(c, next);
    set_session_cookie(c, &s);
}

static void post_logout(struct ctx *c)
{
    struct db *rw = rw_db(c);

    if (rw == NULL || session_destroy(rw, c->who->sess.token) != 0) {
        fail(c, 500, "database error");
        return;
    }
    log_info("web: %s logged out", c->who->sess.user);
    redirect(c, "/login");
    set_session_cookie(c, NULL);
}

static void json_session(struct buf *b, const struct session *s)
{
    buf_puts(b, "{\"user\":");
    buf_json_str(b, s->user);
    buf_puts(b, ",\"role\":");
    buf_json_str(b, auth_role_name(s->role));
    buf_puts(b, ",\"csrf\":");
    buf_json_str(b, s->csrf);
    buf_puts(b, ",\"expires\":");
    buf_json_time(b, s->expires);
    buf_puts(b, "}\n");
}

static void api_login(struct ctx *c)
{
    json_t *j = json_body(c);
    const char *why;
    struct session s;
    int status;

    if (j == NULL)
        return;
    if (!json_is_string(json_object_get(j, "user")) ||
        !json_is_string(json_object_get(j, "password"))) {
        json_decref(j);
        fail(c, 400, "user and password: strings required");
        return;
    }
    status = login_check(c, json_string_value(json_object_get(j, "user")),
                         json_string_value(json_object_get(j, "password")), &s, &why);
    json_decref(j);
    if (status != 0) {
        fail(c, status, why);
        return;
    }
    json_session(&c->rep->body, &s);
    json_done(c->rep, 200);
    set_session_cookie(c, &s);
}

static void api_logout(struct ctx *c)
{
    struct db *rw = rw_db(c);

    if (rw == NULL || session_destroy(rw, c->who->sess.token) != 0) {
        fail(c, 500, "database error");
        return;
    }
    buf_puts(&c->rep->body, "{\"ok\":true}\n");
    json_done(c->rep, 200);
    set_session_cookie(c, NULL);
}

static void api_session(struct ctx *c)
{
    json_session(&c->rep->body, &c->who->sess);
    json_done(c->rep, 200);
}

/* ---- board, TV, assets ------------------------------------------------- */

static void get_js(struct ctx *c)
{
    buf_puts(&c->rep->body, layout_js);
    c->rep->status = 200;
    c->rep->type = CT_JS;
    reply_header(c->rep, "Cache-Control", "max-age=3600");
}

static void get_board_csv(struct ctx *c)
{
    board_csv(c->rq->ro, c->rq->now_ms, c->rep);
}

static void get_tv(struct ctx *c)
{
    const char *token = lookup(c, WEB_ARG, "token");
    char hash[AUTH_HASH_LEN + 1];
    struct db_board_token t;
    struct db *rw;
    int rc;

    if (token == NULL || token[0] == '\0') {
        fail(c, 400, "token: missing (use the board link an administrator made)");
        return;
    }
    if (!auth_token_valid(token)) {
        fail(c, 403, "this board link is not valid");
        return;
    }
    auth_token_hash(token, hash);
    rc = db_token_get(c->rq->ro, hash, &t);
    if (rc == -ENOENT || (rc == 0 && t.revoked >= 0)) {
        fail(c, 403,
             "this board link is not valid (revoked or mistyped); ask an "
             "administrator for a new one");
        return;
    }
    if (rc != 0) {
        fail(c, 500, "database error");
        return;
    }
    if (c->rq->now_ms - t.last_used >= TOUCH_MS && (rw = rw_db(c)) != NULL)
        (void)db_token_touch(rw, t.id, c->rq->now_ms);
    board_render(c->rq->ro, NULL, 1, t.name, c->rq->now_ms, c->rep);
}

/* ---- board tokens (admin) ----------------------------------------------- */

static int token_name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    return n >= 1 && n <= DB_TOKEN_NAME_MAX && form_text_ok(name, n) &&
           strpbrk(name, "\r\n\t") == NULL;
}

/* Makes a token called name.  OUT: token (shown once), *id.  0 or an
 * error already answered. */
static int create_token(struct ctx *c, const char *name, char *token, int64_t *id)
{
    char hash[AUTH_HASH_LEN + 1], hint[8];
    struct db *rw;

    if (!token_name_ok(name)) {
        fail(c, 400, "name: 1 to 64 characters of text required");
        return -1;
    }
    if ((rw = rw_db(c)) == NULL) {
        fail(c, 503, "database unavailable");
        return -1;
    }
    auth_token_new(token);
    auth_token_hash(token, hash);
    snprintf(hint, sizeof(hint), "%.4s", token);
    if (db_token_add(rw, name, hash, hint, c->who->sess.user, c->rq->now_ms, id) != 0) {
        fail(c, 500, "database error");
        return -1;
    }
    log_info("web: %s created board link %" PRId64 " (%s)", c->who->sess.user, *id, name);
    return 0;
}

/* The TV link of token as this request reached us.  The Host header is the
 * client's, so it is checked to hold host characters only. */
static void tv_url(struct ctx *c, const char *token, char *out, size_t size)
{
    const char *host = lookup(c, WEB_HEADER, "Host");
    size_t i;

    if (host == NULL || host[0] == '\0' || strlen(host) > 255)
        host = "localhost";
    for (i = 0; host[i] != '\0'; i++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]",
                   host[i]) == NULL) {
            host = "localhost";
            break;
        }
    snprintf(out, size, "%s://%s/tv?token=%s", c->https ? "https" : "http", host, token);
}

struct list_ctx {
    struct ctx *c;
    struct buf *b;
    int first;
};

static int token_row(void *ctx, const struct db_board_token *t)
{
    struct list_ctx *lc = ctx;
    struct buf *b = lc->b;
    char created[32], used[32], revoked[32];

    layout_time(created, sizeof(created), t->created);
    layout_time(used, sizeof(used), t->last_used);
    layout_time(revoked, sizeof(revoked), t->revoked);
    buf_puts(b, "<tr><td>");
    buf_html(b, t->name);
    buf_puts(b, "</td><td><code>");
    buf_html(b, t->hint);
    buf_puts(b, "&hellip;</code></td><td>");
    buf_html(b, created);
    buf_puts(b, " <span class=\"dim\">");
    buf_html(b, t->created_by);
    buf_puts(b, "</span></td><td>");
    buf_html(b, used);
    buf_puts(b, "</td><td>");
    if (t->revoked >= 0) {
        buf_puts(b, "revoked ");
        buf_html(b, revoked);
        buf_puts(b, "</td><td></td></tr>\n");
        return 0;
    }
    buf_printf(b,
               "active</td><td><form class=\"inline\" method=\"post\" "
               "action=\"/admin/tokens/%" PRId64 "/revoke\">",
               t->id);
    layout_csrf(b, &lc->c->who->sess);
    buf_puts(b, "<button type=\"submit\">Revoke</button></form></td></tr>\n");
    return 0;
}

/* The admin page of board links; new_url (may be NULL) is shown once. */
static void tokens_page(struct ctx *c, int status, const char *new_name,
                        const char *new_url)
{
    struct buf *b = &c->rep->body;
    struct layout l = {"Admin: board links", "admin", &c->who->sess, 0, 0};
    struct list_ctx lc = {c, b, 1};

    buf_free(b);
    layout_begin(b, &l);
    buf_puts(b, "<p><a href=\"/admin/tokens\">Board links</a> &middot; "
                "<a href=\"/admin/users\">Users</a></p>");
    if (new_url != NULL) {
        buf_puts(b, "<div class=\"box\"><p class=\"ok\">Board link &ldquo;");
        buf_html(b, new_name);
        buf_puts(b, "&rdquo; created. Open it on the TV; it is shown only now:</p>"
                    "<p class=\"secret\" id=\"new-link\">");
        buf_html(b, new_url);
        buf_puts(b, "</p></div>");
    }
    buf_puts(b,
             "<p>A board link shows the floor board, read-only and in large type, "
             "without a login. Anyone who has the link can watch the board until it is "
             "revoked.</p><div class=\"wrap\"><table class=\"t sortable\" "
             "id=\"tokens\"><thead><tr><th>Name</th><th>Starts with</th>"
             "<th>Created</th><th>Last used</th><th>Status</th><th></th></tr></thead>"
             "<tbody>\n");
    if (db_tokens(c->rq->ro, token_row, &lc) != 0) {
        fail(c, 500, "database error");
        return;
    }
    buf_puts(b, "</tbody></table></div><h2>New board link</h2>"
                "<form method=\"post\" action=\"/admin/tokens\" class=\"box\">");
    layout_csrf(b, &c->who->sess);
    buf_puts(b,
             "<label for=\"name\">Name (where the TV hangs)</label>"
             "<input type=\"text\" id=\"name\" name=\"name\" maxlength=\"64\" required>"
             "<br><button type=\"submit\">Create link</button></form>");
    layout_end(b, &l, c->rq->now_ms);
    layout_done(c->rep, status);
}

static void get_tokens(struct ctx *c)
{
    tokens_page(c, 200, NULL, NULL);
}

static void post_tokens(struct ctx *c)
{
    char token[AUTH_TOKEN_LEN + 1], url[512], name[DB_TOKEN_NAME_MAX + 1];
    struct form f;
    int64_t id;

    if (c->rq->body == NULL || form_parse(c->rq->body, c->rq->body_len, &f) != 0) {
        form_free(&f);
        fail(c, 400, "malformed form");
        return;
    }
    if (create_token(c, form_get(&f, "name"), token, &id) != 0) {
        form_free(&f);
        return;
    }
    snprintf(name, sizeof(name), "%s", form_get(&f, "name"));
    form_free(&f);
    tv_url(c, token, url, sizeof(url));
    tokens_page(c, 201, name, url);
}

static void post_token_revoke(struct ctx *c)
{
    struct db *rw = rw_db(c);
    int rc;

    if (rw == NULL) {
        fail(c, 503, "database unavailable");
        return;
    }
    rc = db_token_revoke(rw, c->id, c->rq->now_ms);
    if (rc == -ENOENT) {
        fail(c, 404, "no such active board link");
        return;
    }
    if (rc != 0) {
        fail(c, 500, "database error");
        return;
    }
    log_info("web: %s revoked board link %" PRId64, c->who->sess.user, c->id);
    redirect(c, "/admin/tokens");
}

static int token_json(void *ctx, const struct db_board_token *t)
{
    struct list_ctx *lc = ctx;
    struct buf *b = lc->b;

    buf_puts(b, lc->first ? "\n" : ",\n");
    lc->first = 0;
    buf_printf(b, "{\"id\":%" PRId64 ",\"name\":", t->id);
    buf_json_str(b, t->name);
    buf_puts(b, ",\"hint\":");
    buf_json_str(b, t->hint);
    buf_puts(b, ",\"created_by\":");
    buf_json_str(b, t->created_by[0] ? t->created_by : NULL);
    buf_puts(b, ",\"created\":");
    buf_json_time(b, t->created);
    buf_puts(b, ",\"last_used\":");
    buf_json_time(b, t->last_used);
    buf_puts(b, ",\"revoked\":");
    buf_json_time(b, t->revoked);
    buf_puts(b, "}");
    return 0;
}

static void api_tokens(struct ctx *c)
{
    struct list_ctx lc = {c, &c->rep->body, 1};

    buf_puts(lc.b, "[");
    if (db_tokens(c->rq->ro, token_json, &lc) != 0) {
        fail(c, 500, "database error");
        return;
    }
    buf_puts(lc.b, lc.first ? "]\n" : "\n]\n");
    json_done(c->rep, 200);
}

static void api_token_create(struct ctx *c)
{
    char token[AUTH_TOKEN_LEN + 1], url[512];
    json_t *j = json_body(c), *name;
    struct buf *b = &c->rep->body;
    int64_t id;

    if (j == NULL)
        return;
    name = json_object_get(j, "name");
    if (create_token(c, json_is_string(name) ? json_string_value(name) : NULL, token,
                     &id) != 0) {
        json_decref(j);
        return;
    }
    tv_url(c, token, url, sizeof(url));
    buf_printf(b, "{\"id\":%" PRId64 ",\"name\":", id);
    buf_json_str(b, json_string_value(name));
    buf_puts(b, ",\"token\":");
    buf_json_str(b, token);
    buf_puts(b, ",\"url\":");
    buf_json_str(b, url);
    buf_puts(b, "}\n");
    json_decref(j);
    json_done(c->rep, 201);
}

static void api_token_delete(struct ctx *c)
{
    struct db *rw = rw_db(c);
    int rc;

    if (rw == NULL) {
        fail(c, 503, "database unavailable");
        return;
    }
    rc = db_token_revoke(rw, c->id, c->rq->now_ms);
    if (rc == -ENOENT) {
        fail(c, 404, "no such active board link");
        return;
    }
    if (rc != 0) {
        fail(c, 500, "database error");
        return;
    }
    log_info("web: %s revoked board link %" PRId64, c->who->sess.user, c->id);
    buf_puts(&c->rep->body, "{\"ok\":true}\n");
    json_done(c->rep, 200);
}

/* ---- users (admin) ----------------------------------------------------- */

static int user_row(void *ctx, const struct db_user *u)
{
    struct list_ctx *lc = ctx;
    struct buf *b = lc->b;
    char created[32];
    enum auth_role r;

    layout_time(created, sizeof(created), u->created);
    buf_puts(b, "<tr><td>");
    buf_html(b, u->name);
    buf_printf(b, "</td><td>%s</td><td>%s</td><td>", auth_role_name(u->role),
               u->disabled ? "disabled" : "active");
    buf_html(b, created);
    buf_printf(
        b,
        "</td><td><form class=\"inline\" method=\"post\" action=\"/admin/users/%" PRId64
        "\">",
        u->id);
    layout_csrf(b, &lc->c->who->sess);
    buf_puts(b, "<select name=\"role\" aria-label=\"role\">");
    for (r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
        buf_printf(b, "<option%s>%s</option>", r == u->role ? " selected" : "",
                   auth_role_name(r));
    buf_printf(
        b,
        "</select> <label class=\"inline\"><input type=\"checkbox\" name=\"disabled\" "
        "value=\"1\"%s> disabled</label> <input type=\"password\" name=\"password\" "
        "placeholder=\"new password (optional)\" autocomplete=\"new-password\" "
        "aria-label=\"new password\"> <button type=\"submit\">Save</button></form>"
        "</td></tr>\n",
        u->disabled ? " checked" : "");
    return 0;
}

static void users_page(struct ctx *c, int status, const char *msg, int error)
{
    struct buf *b = &c->rep->body;
    struct layout l = {"Admin: users", "admin", &c->who->sess, 0, 0};
    struct list_ctx lc = {c, b, 1};
    enum auth_role r;

    buf_free(b);
    layout_begin(b, &l);
    buf_puts(b, "<p><a href=\"/admin/tokens\">Board links</a> &middot; "
                "<a href=\"/admin/users\">Users</a></p>");
    if (msg != NULL) {
        buf_printf(b, "<p class=\"%s\" role=\"status\">", error ? "err" : "ok");
        buf_html(b, msg);
        buf_puts(b, "</p>");
    }
    buf_puts(b,
             "<p>Roles: a viewer sees the reports; a supervisor also scans, edits orders "
             "and assigns reasons; a manager also sees trends; an admin also manages "
             "machines, users and board links.</p>"
             "<div class=\"wrap\"><table class=\"t sortable\" id=\"users\"><thead><tr>"
             "<th>User</th><th>Role</th><th>Status</th><th>Created</th><th>Change</th>"
             "</tr></thead><tbody>\n");
    if (db_users(c->rq->ro, user_row, &lc) != 0) {
        fail(c, 500, "database error");
        return;
    }
    buf_puts(b, "</tbody></table></div><h2>New user</h2>"
                "<form method=\"post\" action=\"/admin/users\" class=\"box\">");
    layout_csrf(b, &c->who->sess);
    buf_puts(b, "<label for=\"nu\">User name</label><input type=\"text\" id=\"nu\" "
                "name=\"user\" maxlength=\"64\" required autocapitalize=\"none\">"
                "<label for=\"nr\">Role</label><select id=\"nr\" name=\"role\">");
    for (r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
        buf_printf(b, "<option>%s</option>", auth_role_name(r));
    buf_printf(
        b,
        "</select><label for=\"np\">Password (at least %d characters)</label>"
        "<input type=\"password\" id=\"np\" name=\"password\" required "
        "autocomplete=\"new-password\"><br><button type=\"submit\">Add user</button>"
        "</form>",
        AUTH_PASSWORD_MIN);
    layout_end(b, &l, c->rq->now_ms);
    layout_done(c->rep, status);
}

static void get_users(struct ctx *c)
{
    users_page(c, 200, NULL, 0);
}

static void post_users(struct ctx *c)
{
    char hash[AUTH_PWHASH_MAX], msg[128];
    const char *user, *pw;
    enum auth_role role;
    struct db *rw;
    struct form f;
    int rc;

    if (c->rq->body == NULL || form_parse(c->rq->body, c->rq->body_len, &f) != 0) {
        form_free(&f);
        fail(c, 400, "malformed form");
        return;
    }
    user = form_get(&f, "user");
    pw = form_get(&f, "password");
    role = auth_role_parse(form_get(&f, "role"));
    if (!auth_user_valid(user)) {
        users_page(c, 400, "user: 1 to 64 of A-Z a-z 0-9 . _ - @", 1);
    } else if (role == AUTH_NONE) {
        users_page(c, 400, "role: viewer, supervisor, manager or admin", 1);
    } else if (pw == NULL || auth_password_hash(pw, hash) != 0) {
        snprintf(msg, sizeof(msg), "password: %d to %d characters", AUTH_PASSWORD_MIN,
                 AUTH_PASSWORD_MAX);
        users_page(c, 400, msg, 1);
    } else if ((rw = rw_db(c)) == NULL) {
        fail(c, 503, "database unavailable");
    } else if ((rc = db_user_add(rw, user, role, hash, c->rq->now_ms, NULL)) == -EEXIST) {
        users_page(c, 409, "user: that name is taken", 1);
    } else if (rc != 0) {
        fail(c, 500, "database error");
    } else {
        log_info("web: %s added user %s (%s)", c->who->sess.user, user,
                 auth_role_name(role));
        snprintf(msg, sizeof(msg), "User %s added.", user);
        users_page(c, 201, msg, 0);
    }
    form_free(&f);
}

static void post_user(struct ctx *c)
{
    char hash[AUTH_PWHASH_MAX], msg[128];
    const char *pw;
    enum auth_role role;
    struct db_user u;
    struct db *rw;
    struct form f;
    int64_t admins;
    int disabled, rc;

    if (c->rq->body == NULL || form_parse(c->rq->body, c->rq->body_len, &f) != 0) {
        form_free(&f);
        fail(c, 400, "malformed form");
        return;
    }
    role = auth_role_parse(form_get(&f, "role"));
    disabled = form_get(&f, "disabled") != NULL;
    pw = form_get(&f, "password");
    if (pw != NULL && pw[0] == '\0')
        pw = NULL;
    if ((rw = rw_db(c)) == NULL) {
        fail(c, 503, "database unavailable");
        goto out;
    }
    if ((rc = db_user_by_id(rw, c->id, &u)) == -ENOENT) {
        fail(c, 404, "no such user");
        goto out;
    }
    if (rc != 0 || db_user_admins(rw, &admins) != 0) {
        fail(c, 500, "database error");
        goto out;
    }
    if (role == AUTH_NONE) {
        users_page(c, 400, "role: viewer, supervisor, manager or admin", 1);
        goto out;
    }
    /* Never lock the plant out of its own administration. */
    if (u.role == AUTH_ADMIN && !u.disabled && (role != AUTH_ADMIN || disabled) &&
        admins <= 1) {
        users_page(c, 409, "the last active admin cannot lose the admin role", 1);
        goto out;
    }
    if (pw != NULL && auth_password_hash(pw, hash) != 0) {
        snprintf(msg, sizeof(msg), "password: %d to %d characters", AUTH_PASSWORD_MIN,
                 AUTH_PASSWORD_MAX);
        users_page(c, 400, msg, 1);
        goto out;
    }
    if (db_user_set_role(rw, u.id, role, disabled) != 0 ||
        (pw != NULL && db_user_set_password(rw, u.id, hash, c->rq->now_ms) != 0) ||
        ((pw != NULL || disabled || role < u.role) &&
         db_session_delete_user(rw, u.id) != 0)) {
        fail(c, 500, "database error");
        goto out;
    }
    log_info("web: %s changed user %s: %s%s%s", c->who->sess.user, u.name,
             auth_role_name(role), disabled ? ", disabled" : "",
             pw ? ", new password" : "");
    snprintf(msg, sizeof(msg), "User %s saved.", u.name);
    if (u.id == c->who->sess.user_id && (pw != NULL || disabled || role < u.role)) {
        /* Our own session went with the change. */
        redirect(c, "/login");
        set_session_cookie(c, NULL);
        goto out;
    }
    users_page(c, 200, msg, 0);
out:
    form_free(&f);
}

static int user_json(void *ctx, const struct db_user *u)
{
    struct list_ctx *lc = ctx;
    struct buf *b = lc->b;

    buf_puts(b, lc->first ? "\n" : ",\n");
    lc->first = 0;
    buf_printf(b, "{\"id\":%" PRId64 ",\"user\":", u->id);
    buf_json_str(b, u->name);
    buf_puts(b, ",\"role\":");
    buf_json_str(b, auth_role_name(u->role));
    buf_printf(b, ",\"disabled\":%s,\"created\":", u->disabled ? "true" : "false");
    buf_json_time(b, u->created);
    buf_puts(b, "}");
    return 0;
}

static void api_users(struct ctx *c)
{
    struct list_ctx lc = {c, &c->rep->body, 1};

    buf_puts(lc.b, "[");
    if (db_users(c->rq->ro, user_json, &lc) != 0) {
        fail(c, 500, "database error");
        return;
    }
    buf_puts(lc.b, lc.first ? "]\n" : "\n]\n");
    json_done(c->rep, 200);
}
