/* Users, sessions and board tokens in SQLite; see db_auth.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "db_auth.h"
#include "db_priv.h"
#include "linebeat/error.h"

static const char sql_user_add[] = "INSERT INTO users(name, pwhash, role, created, "
                                   "pw_changed) VALUES(?1, ?2, ?3, ?4, ?4) "
                                   "ON CONFLICT(name) DO NOTHING";
static const char sql_user_by_name[] =
    "SELECT id, name, role, disabled, pwhash, created, pw_changed FROM users "
    "WHERE name = ?1";
static const char sql_user_by_id[] = "SELECT id, name, role, disabled, pwhash, created, "
                                     "pw_changed FROM users WHERE id = ?1";
static const char sql_user_password[] =
    "UPDATE users SET pwhash = ?2, pw_changed = ?3 WHERE id = ?1";
static const char sql_user_role[] =
    "UPDATE users SET role = ?2, disabled = ?3 WHERE id = ?1";
static const char sql_user_admins[] =
    "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0";
static const char sql_users[] =
    "SELECT id, name, role, disabled, '', created, pw_changed FROM users ORDER BY name";
static const char sql_session_add[] =
    "INSERT INTO sessions(id_hash, user_id, created, last_seen, expires, ip) "
    "VALUES(?1, ?2, ?3, ?3, ?4, ?5)";
static const char sql_session_get[] =
    "SELECT s.user_id, u.name, u.role, u.disabled, s.created, s.last_seen, s.expires "
    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1";
static const char sql_session_touch[] =
    "UPDATE sessions SET last_seen = max(last_seen, ?2) WHERE id_hash = ?1";
static const char sql_session_delete[] = "DELETE FROM sessions WHERE id_hash = ?1";
static const char sql_session_delete_user[] = "DELETE FROM sessions WHERE user_id = ?1";
static const char sql_session_purge[] =
    "DELETE FROM sessions WHERE expires <= ?1 OR last_seen < ?2";
static const char sql_token_add[] =
    "INSERT INTO board_tokens(name, token_hash, hint, created, created_by) "
    "VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_token_get[] =
    "SELECT id, name, hint, coalesce(created_by, ''), created, revoked, last_used "
    "FROM board_tokens WHERE token_hash = ?1";
static const char sql_token_revoke[] =
    "UPDATE board_tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL";
static const char sql_token_touch[] =
    "UPDATE board_tokens SET last_used = max(coalesce(last_used, 0), ?2) WHERE id = ?1";
static const char sql_tokens[] =
    "SELECT id, name, hint, coalesce(created_by, ''), created, revoked, last_used "
    "FROM board_tokens ORDER BY id DESC";

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t size);
static int64_t col_ms_or_none(sqlite3_stmt *st, int col);
static void user_from_row(sqlite3_stmt *st, struct db_user *u);
static void token_from_row(sqlite3_stmt *st, struct db_board_token *t);
static int user_get(struct db *db, const char *sql, const char *name, int64_t id,
                    struct db_user *out);
static int exec_done(struct db *db, sqlite3_stmt *st, const char *what);

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static int64_t col_ms_or_none(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return -1;
    return sqlite3_column_int64(st, col);
}

static void user_from_row(sqlite3_stmt *st, struct db_user *u)
{
    char role[16];

    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    copy_text(st, 1, u->name, sizeof(u->name));
    copy_text(st, 2, role, sizeof(role));
    u->role = auth_role_parse(role);
    u->disabled = sqlite3_column_int(st, 3) != 0;
    copy_text(st, 4, u->pwhash, sizeof(u->pwhash));
    u->created = sqlite3_column_int64(st, 5);
    u->pw_changed = sqlite3_column_int64(st, 6);
}

static void token_from_row(sqlite3_stmt *st, struct db_board_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    copy_text(st, 1, t->name, sizeof(t->name));
    copy_text(st, 2, t->hint, sizeof(t->hint));
    copy_text(st, 3, t->created_by, sizeof(t->created_by));
    t->created = sqlite3_column_int64(st, 4);
    t->revoked = col_ms_or_none(st, 5);
    t->last_used = col_ms_or_none(st, 6);
}

/* Steps a statement that returns no rows, and resets it. */
static int exec_done(struct db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_error(db, what);
}

int db_user_add(struct db *db, const char *name, enum auth_role role, const char *pwhash,
                int64_t now_ms, int64_t *id)
{
    sqlite3_stmt *st = db_cached(db, sql_user_add);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pwhash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, auth_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    if ((rc = exec_done(db, st, "user add")) != 0)
        return rc;
    if (db_changes(db) == 0)
        return -EEXIST;
    if (id != NULL)
        *id = db_last_rowid(db);
    return 0;
}

static int user_get(struct db *db, const char *sql, const char *name, int64_t id,
                    struct db_user *out)
{
    sqlite3_stmt *st = db_cached(db, sql);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (name != NULL)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        user_from_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "user get");
}

int db_user_by_name(struct db *db, const char *name, struct db_user *out)
{
    return user_get(db, sql_user_by_name, name, 0, out);
}

int db_user_by_id(struct db *db, int64_t id, struct db_user *out)
{
    return user_get(db, sql_user_by_id, NULL, id, out);
}

int db_user_set_password(struct db *db, int64_t id, const char *pwhash, int64_t now_ms)
{
    sqlite3_stmt *st = db_cached(db, sql_user_password);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, pwhash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    if ((rc = exec_done(db, st, "user password")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

int db_user_set_role(struct db *db, int64_t id, enum auth_role role, int disabled)
{
    sqlite3_stmt *st = db_cached(db, sql_user_role);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, auth_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, disabled != 0);
    if ((rc = exec_done(db, st, "user role")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

int db_user_admins(struct db *db, int64_t *n)
{
    sqlite3_stmt *st = db_cached(db, sql_user_admins);
    int rc;

    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, "user admins");
}

int db_users(struct db *db, db_user_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_cached(db, sql_users);
    struct db_user u;
    int rc, ret = 0;

    if (st == NULL)
        return LB_E_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        user_from_row(st, &u);
        if ((ret = fn(ctx, &u)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_error(db, "users");
    sqlite3_reset(st);
    return ret;
}

int db_session_add(struct db *db, const char *hash, int64_t user_id, int64_t now_ms,
                   int64_t expires_ms, const char *ip)
{
    sqlite3_stmt *st = db_cached(db, sql_session_add);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int64(st, 4, expires_ms);
    if (ip != NULL && ip[0] != '\0')
        sqlite3_bind_text(st, 5, ip, -1, SQLITE_STATIC);
    return exec_done(db, st, "session add");
}

int db_session_get(struct db *db, const char *hash, struct db_session *out)
{
    sqlite3_stmt *st = db_cached(db, sql_session_get);
    char role[16];
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->user_id = sqlite3_column_int64(st, 0);
        copy_text(st, 1, out->user, sizeof(out->user));
        copy_text(st, 2, role, sizeof(role));
        out->role = auth_role_parse(role);
        out->disabled = sqlite3_column_int(st, 3) != 0;
        out->created = sqlite3_column_int64(st, 4);
        out->last_seen = sqlite3_column_int64(st, 5);
        out->expires = sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "session get");
}

int db_session_touch(struct db *db, const char *hash, int64_t now_ms)
{
    sqlite3_stmt *st = db_cached(db, sql_session_touch);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    return exec_done(db, st, "session touch");
}

int db_session_delete(struct db *db, const char *hash)
{
    sqlite3_stmt *st = db_cached(db, sql_session_delete);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    return exec_done(db, st, "session delete");
}

int db_session_delete_user(struct db *db, int64_t user_id)
{
    sqlite3_stmt *st = db_cached(db, sql_session_delete_user);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, user_id);
    return exec_done(db, st, "session delete user");
}

int db_session_purge(struct db *db, int64_t now_ms, int64_t idle_before_ms)
{
    sqlite3_stmt *st = db_cached(db, sql_session_purge);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, idle_before_ms);
    return exec_done(db, st, "session purge");
}

int db_token_add(struct db *db, const char *name, const char *hash, const char *hint,
                 const char *created_by, int64_t now_ms, int64_t *id)
{
    sqlite3_stmt *st = db_cached(db, sql_token_add);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    if (created_by != NULL && created_by[0] != '\0')
        sqlite3_bind_text(st, 5, created_by, -1, SQLITE_STATIC);
    if ((rc = exec_done(db, st, "token add")) != 0)
        return rc;
    if (id != NULL)
        *id = db_last_rowid(db);
    return 0;
}

int db_token_get(struct db *db, const char *hash, struct db_board_token *out)
{
    sqlite3_stmt *st = db_cached(db, sql_token_get);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        token_from_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "token get");
}

int db_token_revoke(struct db *db, int64_t id, int64_t now_ms)
{
    sqlite3_stmt *st = db_cached(db, sql_token_revoke);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    if ((rc = exec_done(db, st, "token revoke")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

int db_token_touch(struct db *db, int64_t id, int64_t now_ms)
{
    sqlite3_stmt *st = db_cached(db, sql_token_touch);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    return exec_done(db, st, "token touch");
}

int db_tokens(struct db *db, db_token_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_cached(db, sql_tokens);
    struct db_board_token t;
    int rc, ret = 0;

    if (st == NULL)
        return LB_E_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        token_from_row(st, &t);
        if ((ret = fn(ctx, &t)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_error(db, "tokens");
    sqlite3_reset(st);
    return ret;
}
