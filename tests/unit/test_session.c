/*
 * Login sessions against a temporary database (server/session.c and
 * db_auth.c): a session resolves from its cookie and not from its stored
 * hash, ends after its idle timeout and its lifetime, with logout, and when
 * its user is disabled or changes password; last_seen moves only every
 * touch interval; board tokens revoke; user names are unique in any case.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "db.h"
#include "db_auth.h"
#include "session.h"

#define T0     1764370000000LL
#define MINUTE 60000LL

static char dir[64];
static char path[128];
static struct db *db;
static int64_t uid;
static const struct session_policy policy = {30 * MINUTE, 8 * 60 * MINUTE, MINUTE};

static int setup(void **state)
{
    char hash[AUTH_PWHASH_MAX];

    (void)state;
    if (auth_init() != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/lb-session-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/s.db", dir);
    if (db_open(path, 0, &db) != 0)
        return -1;
    /* A cheap stand-in hash: these tests are about sessions. */
    snprintf(hash, sizeof(hash), "x");
    return db_user_add(db, "Anna", AUTH_SUPERVISOR, hash, T0, &uid);
}

static int teardown(void **state)
{
    char cmd[160];

    (void)state;
    db_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_users(void **state)
{
    struct db_user u;
    int64_t n;

    (void)state;
    assert_int_equal(db_user_add(db, "anna", AUTH_ADMIN, "y", T0, NULL), -EEXIST);
    assert_int_equal(db_user_by_name(db, "ANNA", &u), 0);
    assert_string_equal(u.name, "Anna");
    assert_int_equal(u.role, AUTH_SUPERVISOR);
    assert_int_equal(db_user_by_name(db, "bob", &u), -ENOENT);
    assert_int_equal(db_user_admins(db, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(db_user_set_role(db, uid, AUTH_ADMIN, 0), 0);
    assert_int_equal(db_user_admins(db, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(db_user_set_role(db, 999, AUTH_ADMIN, 0), -ENOENT);
    assert_int_equal(db_user_set_role(db, uid, AUTH_SUPERVISOR, 0), 0);
}

static void test_resolve_and_expiry(void **state)
{
    struct session s, r;
    struct db_session ds;
    struct db *ro = NULL;

    (void)state;
    assert_int_equal(db_open(path, 1, &ro), 0);
    assert_int_equal(
        session_create(db, &policy, uid, "Anna", AUTH_SUPERVISOR, "10.1.1.1", T0, &s), 0);
    assert_true(auth_token_valid(s.token));
    assert_int_equal(s.expires, T0 + policy.max_ms);

    /* From the cookie, through a read-only connection. */
    assert_int_equal(session_resolve(ro, NULL, &policy, s.token, T0 + 1000, &r), 0);
    assert_string_equal(r.user, "Anna");
    assert_int_equal(r.role, AUTH_SUPERVISOR);
    assert_string_equal(r.csrf, s.csrf);
    /* The stored hash is no key: a stolen database opens no session. */
    assert_int_equal(session_resolve(ro, NULL, &policy, s.hash, T0 + 1000, &r), -ENOENT);
    assert_int_equal(session_resolve(ro, NULL, &policy, "garbage", T0, &r), -ENOENT);

    /* last_seen moves at most once per touch interval. */
    assert_int_equal(session_resolve(ro, db, &policy, s.token, T0 + 30000, &r), 0);
    assert_int_equal(db_session_get(db, s.hash, &ds), 0);
    assert_int_equal(ds.last_seen, T0);
    assert_int_equal(session_resolve(ro, db, &policy, s.token, T0 + 20 * MINUTE, &r), 0);
    assert_int_equal(db_session_get(db, s.hash, &ds), 0);
    assert_int_equal(ds.last_seen, T0 + 20 * MINUTE);

    /* Idle timeout: 30 min after the last request. */
    assert_int_equal(session_resolve(ro, NULL, &policy, s.token, T0 + 49 * MINUTE, &r),
                     0);
    assert_int_equal(session_resolve(ro, NULL, &policy, s.token, T0 + 50 * MINUTE, &r),
                     -ENOENT);
    /* ...and an expired session is deleted when a writer sees it. */
    assert_int_equal(session_resolve(ro, db, &policy, s.token, T0 + 50 * MINUTE, &r),
                     -ENOENT);
    assert_int_equal(db_session_get(db, s.hash, &ds), -ENOENT);

    /* Lifetime: ends at 8 h however active. */
    assert_int_equal(
        session_create(db, &policy, uid, "Anna", AUTH_SUPERVISOR, NULL, T0, &s), 0);
    for (int64_t t = T0; t < T0 + policy.max_ms; t += 20 * MINUTE)
        assert_int_equal(session_resolve(ro, db, &policy, s.token, t, &r), 0);
    assert_int_equal(session_resolve(ro, db, &policy, s.token, T0 + policy.max_ms, &r),
                     -ENOENT);
    db_close(ro);
}

static void test_logout_disable(void **state)
{
    struct session s, s2, r;

    (void)state;
    assert_int_equal(
        session_create(db, &policy, uid, "Anna", AUTH_SUPERVISOR, NULL, T0, &s), 0);
    assert_int_equal(
        session_create(db, &policy, uid, "Anna", AUTH_SUPERVISOR, NULL, T0, &s2), 0);
    assert_string_not_equal(s.token, s2.token);
    assert_int_equal(session_destroy(db, s.token), 0);
    assert_int_equal(session_resolve(db, NULL, &policy, s.token, T0, &r), -ENOENT);
    assert_int_equal(session_resolve(db, NULL, &policy, s2.token, T0, &r), 0);
    /* A disabled user's sessions stop at once, even before deletion. */
    assert_int_equal(db_user_set_role(db, uid, AUTH_SUPERVISOR, 1), 0);
    assert_int_equal(session_resolve(db, NULL, &policy, s2.token, T0, &r), -ENOENT);
    assert_int_equal(db_user_set_role(db, uid, AUTH_SUPERVISOR, 0), 0);
    assert_int_equal(session_resolve(db, NULL, &policy, s2.token, T0, &r), 0);
    /* A role change applies to the running session. */
    assert_int_equal(db_user_set_role(db, uid, AUTH_VIEWER, 0), 0);
    assert_int_equal(session_resolve(db, NULL, &policy, s2.token, T0, &r), 0);
    assert_int_equal(r.role, AUTH_VIEWER);
    /* A new password ends every session of the user. */
    assert_int_equal(db_user_set_password(db, uid, "z", T0), 0);
    assert_int_equal(db_session_delete_user(db, uid), 0);
    assert_int_equal(session_resolve(db, NULL, &policy, s2.token, T0, &r), -ENOENT);
}

static void test_cookie(void **state)
{
    char c[SESSION_COOKIE_MAX];

    (void)state;
    session_cookie(c, sizeof(c), "tok", 3600, 0);
    assert_string_equal(c,
                        "lb_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600");
    session_cookie(c, sizeof(c), "tok", 60, 1);
    assert_non_null(strstr(c, "; Secure"));
    session_cookie(c, sizeof(c), NULL, 60, 0);
    assert_string_equal(c, "lb_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
}

static void test_board_tokens(void **state)
{
    char tok[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
    struct db_board_token t;
    int64_t id;

    (void)state;
    auth_token_new(tok);
    auth_token_hash(tok, hash);
    assert_int_equal(db_token_add(db, "Line 1 <TV>", hash, "abcd", "Anna", T0, &id), 0);
    assert_int_equal(db_token_get(db, hash, &t), 0);
    assert_string_equal(t.name, "Line 1 <TV>");
    assert_int_equal(t.revoked, -1);
    assert_int_equal(t.last_used, -1);
    assert_int_equal(db_token_touch(db, id, T0 + 5), 0);
    assert_int_equal(db_token_get(db, hash, &t), 0);
    assert_int_equal(t.last_used, T0 + 5);
    assert_int_equal(db_token_revoke(db, id, T0 + 10), 0);
    assert_int_equal(db_token_revoke(db, id, T0 + 11), -ENOENT);
    assert_int_equal(db_token_get(db, hash, &t), 0);
    assert_int_equal(t.revoked, T0 + 10);
    assert_int_equal(db_token_revoke(db, id + 100, T0), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logout_disable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_board_tokens, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
