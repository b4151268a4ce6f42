/*
 * Storage of users, sessions and board tokens: the SQL of the web server's
 * authentication, part of the storage layer (db.h).  Secrets never reach
 * this module: sessions and board tokens are looked up by the hash of the
 * browser's value (auth.h), passwords arrive hashed.  Writes need a
 * connection opened read-write; lookups work on any.
 */
#ifndef LB_SERVER_DB_AUTH_H
#define LB_SERVER_DB_AUTH_H

#include <stdint.h>

#include "auth.h"
#include "db.h"

#define DB_TOKEN_NAME_MAX 64
#define DB_IP_MAX         63

struct db_user {
    int64_t id;
    char name[AUTH_USER_MAX + 1];
    enum auth_role role;
    int disabled;
    char pwhash[AUTH_PWHASH_MAX];
    int64_t created, pw_changed;
};

/* A session with its user, as a lookup returns it. */
struct db_session {
    int64_t user_id;
    char user[AUTH_USER_MAX + 1];
    enum auth_role role;
    int disabled;
    int64_t created, last_seen, expires;
};

struct db_board_token {
    int64_t id;
    char name[DB_TOKEN_NAME_MAX + 1];
    char hint[8];
    char created_by[AUTH_USER_MAX + 1];
    int64_t created, revoked, last_used; /* ms; -1 when not (yet) */
};

typedef int (*db_user_fn)(void *ctx, const struct db_user *u);
typedef int (*db_token_fn)(void *ctx, const struct db_board_token *t);

/* Adds a user with an already hashed password.  OUT: *id (may be NULL).
 * Returns 0, -EEXIST (the name, in any case, is taken) or LB_E_DB. */
int db_user_add(struct db *db, const char *name, enum auth_role role, const char *pwhash,
                int64_t now_ms, int64_t *id);
/* Reads the user called name (case-insensitive).  0, -ENOENT or LB_E_DB. */
int db_user_by_name(struct db *db, const char *name, struct db_user *out);
/* Reads user id.  0, -ENOENT or LB_E_DB. */
int db_user_by_id(struct db *db, int64_t id, struct db_user *out);
/* Replaces user id's password hash.  0, -ENOENT or LB_E_DB. */
int db_user_set_password(struct db *db, int64_t id, const char *pwhash, int64_t now_ms);
/* Sets role and disabled of user id.  0, -ENOENT or LB_E_DB. */
int db_user_set_role(struct db *db, int64_t id, enum auth_role role, int disabled);
/* Counts enabled admins into OUT: *n.  0 or LB_E_DB. */
int db_user_admins(struct db *db, int64_t *n);
/* Calls fn for each user, ordered by name.  0, fn's value or LB_E_DB. */
int db_users(struct db *db, db_user_fn fn, void *ctx);

/* Stores a session by the hash of its cookie.  0 or LB_E_DB. */
int db_session_add(struct db *db, const char *hash, int64_t user_id, int64_t now_ms,
                   int64_t expires_ms, const char *ip);
/* Reads the session with hash and its user.  0, -ENOENT or LB_E_DB. */
int db_session_get(struct db *db, const char *hash, struct db_session *out);
/* Moves the session's last_seen to now_ms.  0 or LB_E_DB. */
int db_session_touch(struct db *db, const char *hash, int64_t now_ms);
/* Deletes one session (logout).  0 or LB_E_DB. */
int db_session_delete(struct db *db, const char *hash);
/* Deletes every session of a user (password change, disabled).  0 or LB_E_DB. */
int db_session_delete_user(struct db *db, int64_t user_id);
/* Deletes sessions past expires_ms or idle since before idle_before_ms.
 * 0 or LB_E_DB. */
int db_session_purge(struct db *db, int64_t now_ms, int64_t idle_before_ms);

/* Adds a board token by its hash.  OUT: *id.  0 or LB_E_DB. */
int db_token_add(struct db *db, const char *name, const char *hash, const char *hint,
                 const char *created_by, int64_t now_ms, int64_t *id);
/* Reads the token with hash (revoked ones too).  0, -ENOENT or LB_E_DB. */
int db_token_get(struct db *db, const char *hash, struct db_board_token *out);
/* Revokes token id at now_ms.  0, -ENOENT (none, or already revoked) or LB_E_DB. */
int db_token_revoke(struct db *db, int64_t id, int64_t now_ms);
/* Notes the token's use at now_ms.  0 or LB_E_DB. */
int db_token_touch(struct db *db, int64_t id, int64_t now_ms);
/* Calls fn for each token, newest first.  0, fn's value or LB_E_DB. */
int db_tokens(struct db *db, db_token_fn fn, void *ctx);

#endif
