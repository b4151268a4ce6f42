/* Login sessions; see session.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db_auth.h"
#include "linebeat/log.h"
#include "session.h"

int session_create(struct db *rw, const struct session_policy *p, int64_t user_id,
                   const char *name, enum auth_role role, const char *ip, int64_t now_ms,
                   struct session *s)
{
    int rc;

    memset(s, 0, sizeof(*s));
    auth_token_new(s->token);
    auth_token_hash(s->token, s->hash);
    auth_csrf(s->token, s->csrf);
    s->user_id = user_id;
    snprintf(s->user, sizeof(s->user), "%s", name);
    s->role = role;
    s->created = now_ms;
    s->expires = now_ms + p->max_ms;
    /* Logins are rare: a good moment to drop what expired. */
    if (db_session_purge(rw, now_ms, now_ms - p->idle_ms) != 0)
        log_warnx("session: purge failed");
    if ((rc = db_session_add(rw, s->hash, user_id, now_ms, s->expires, ip)) != 0)
        memset(s, 0, sizeof(*s));
    return rc;
}

int session_resolve(struct db *ro, struct db *rw, const struct session_policy *p,
                    const char *token, int64_t now_ms, struct session *s)
{
    struct db_session ds;
    char hash[AUTH_HASH_LEN + 1];
    int rc;

    memset(s, 0, sizeof(*s));
    if (!auth_token_valid(token))
        return -ENOENT;
    auth_token_hash(token, hash);
    if ((rc = db_session_get(ro, hash, &ds)) != 0)
        return rc;
    if (now_ms >= ds.expires || now_ms - ds.last_seen >= p->idle_ms || ds.disabled ||
        ds.role == AUTH_NONE) {
        if (rw != NULL)
            (void)db_session_delete(rw, hash);
        return -ENOENT;
    }
    /* Writing on every request would put a write in front of every page
     * view; a coarse last_seen is enough for an idle timeout of minutes. */
    if (rw != NULL && now_ms - ds.last_seen >= p->touch_ms)
        (void)db_session_touch(rw, hash, now_ms);
    snprintf(s->token, sizeof(s->token), "%s", token);
    memcpy(s->hash, hash, sizeof(hash));
    auth_csrf(token, s->csrf);
    s->user_id = ds.user_id;
    snprintf(s->user, sizeof(s->user), "%s", ds.user);
    s->role = ds.role;
    s->created = ds.created;
    s->expires = ds.expires;
    return 0;
}

int session_destroy(struct db *rw, const char *token)
{
    char hash[AUTH_HASH_LEN + 1];

    if (!auth_token_valid(token))
        return 0;
    auth_token_hash(token, hash);
    return db_session_delete(rw, hash);
}

void session_cookie(char *out, size_t size, const char *token, int64_t max_age_s,
                    int secure)
{
    snprintf(out, size, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%" PRId64 "%s",
             SESSION_COOKIE, token ? token : "", token ? max_age_s : 0,
             secure ? "; Secure" : "");
}
