/*
 * Login sessions: a 256-bit random value in an HttpOnly, SameSite=Lax
 * cookie, stored only as its hash, with an idle timeout and an absolute
 * lifetime; the session's CSRF token is derived from the cookie (auth.h).
 * Expired sessions are refused at once and deleted lazily.
 */
#ifndef LB_SERVER_SESSION_H
#define LB_SERVER_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"

#define SESSION_COOKIE     "lb_session"
#define SESSION_COOKIE_MAX 200 /* a Set-Cookie value */

struct session_policy {
    int64_t idle_ms;  /* refused after this long without a request */
    int64_t max_ms;   /* refused this long after login, whatever the activity */
    int64_t touch_ms; /* last_seen is written at most this often */
};

/* Who a request comes from: a logged-in user. */
struct session {
    char token[AUTH_TOKEN_LEN + 1]; /* the cookie value */
    char hash[AUTH_HASH_LEN + 1];   /* what the database keeps */
    char csrf[AUTH_TOKEN_LEN + 1];
    int64_t user_id;
    char user[AUTH_USER_MAX + 1];
    enum auth_role role;
    int64_t created, expires;
};

/*
 * Opens a session for user_id (name, role) at now_ms from ip (may be NULL),
 * writing through rw; also deletes sessions that expired.  OUT: s.
 * Returns 0 or LB_E_DB.
 */
int session_create(struct db *rw, const struct session_policy *p, int64_t user_id,
                   const char *name, enum auth_role role, const char *ip, int64_t now_ms,
                   struct session *s);

/*
 * Looks up the session whose cookie holds token, through ro.  A session
 * past its lifetime or idle timeout, or whose user is disabled, does not
 * exist.  When rw is not NULL, an active session's last_seen is moved
 * forward (at most every touch_ms) and an expired one is deleted.  OUT: s.
 * Returns 0, -ENOENT or LB_E_DB.
 */
int session_resolve(struct db *ro, struct db *rw, const struct session_policy *p,
                    const char *token, int64_t now_ms, struct session *s);

/* Deletes the session of token (logout).  0 or LB_E_DB. */
int session_destroy(struct db *rw, const char *token);

/* Writes the Set-Cookie value for token (NULL: one that clears the cookie)
 * into OUT: out.  secure adds the Secure attribute. */
void session_cookie(char *out, size_t size, const char *token, int64_t max_age_s,
                    int secure);

#endif
