/*
 * Tests of the web's credential pieces alone (server/auth.c): password
 * hashing and verification, token shape and hashing, the CSRF token and
 * constant-time comparison, roles and user names, and the login rate
 * limiter's burst, refill, reset and eviction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static int setup(void **state)
{
    (void)state;
    return auth_init();
}

static void test_password(void **state)
{
    char h1[AUTH_PWHASH_MAX], h2[AUTH_PWHASH_MAX];
    char longpw[AUTH_PASSWORD_MAX + 2];

    (void)state;
    assert_int_equal(auth_password_hash("correct horse", h1), 0);
    assert_int_equal(auth_password_hash("correct horse", h2), 0);
    /* Argon2id with a random salt: the same password hashes differently. */
    assert_string_not_equal(h1, h2);
    assert_non_null(strstr(h1, "$argon2id$"));
    assert_int_equal(auth_password_verify(h1, "correct horse"), 0);
    assert_int_equal(auth_password_verify(h2, "correct horse"), 0);
    assert_int_equal(auth_password_verify(h1, "correct horsE"), -EACCES);
    assert_int_equal(auth_password_verify(h1, ""), -EACCES);
    assert_int_equal(auth_password_verify("not a hash", "correct horse"), -EACCES);
    /* Length bounds. */
    assert_int_equal(auth_password_hash("short", h1), -EINVAL);
    memset(longpw, 'x', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    assert_int_equal(auth_password_hash(longpw, h1), -EINVAL);
    longpw[AUTH_PASSWORD_MAX] = '\0';
    assert_int_equal(auth_password_hash(longpw, h1), 0);
    auth_password_dummy("anything"); /* runs, and only costs time */
}

static void test_tokens(void **state)
{
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    char ha[AUTH_HASH_LEN + 1], ha2[AUTH_HASH_LEN + 1], hb[AUTH_HASH_LEN + 1];
    char ca[AUTH_TOKEN_LEN + 1], cb[AUTH_TOKEN_LEN + 1];

    (void)state;
    auth_token_new(a);
    auth_token_new(b);
    assert_int_equal(strlen(a), AUTH_TOKEN_LEN);
    assert_string_not_equal(a, b);
    assert_true(auth_token_valid(a));
    assert_false(auth_token_valid(NULL));
    assert_false(auth_token_valid(""));
    assert_false(auth_token_valid("abc"));
    a[5] = '+'; /* base64url only */
    assert_false(auth_token_valid(a));
    a[5] = 'A';
    assert_true(auth_token_valid(a));
    {
        char longer[AUTH_TOKEN_LEN + 2];

        snprintf(longer, sizeof(longer), "%sA", a);
        assert_false(auth_token_valid(longer));
    }

    auth_token_hash(a, ha);
    auth_token_hash(a, ha2);
    auth_token_hash(b, hb);
    assert_int_equal(strlen(ha), AUTH_HASH_LEN);
    assert_string_equal(ha, ha2);
    assert_string_not_equal(ha, hb);

    /* The CSRF token: stable per session, different across sessions, and
     * neither the cookie nor its stored hash. */
    auth_csrf(a, ca);
    auth_csrf(b, cb);
    assert_true(auth_token_valid(ca));
    assert_string_not_equal(ca, cb);
    assert_string_not_equal(ca, a);
    assert_null(strstr(ha, ca));
    auth_csrf(a, cb);
    assert_string_equal(ca, cb);
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(auth_equal("abc", "abc"));
    assert_true(auth_equal("", ""));
    assert_false(auth_equal("abc", "abd"));
    assert_false(auth_equal("abc", "abcd"));
    assert_false(auth_equal("abcd", "abc"));
    assert_false(auth_equal(NULL, "abc"));
    assert_false(auth_equal("abc", NULL));
    assert_false(auth_equal(NULL, NULL));
}

static void test_roles(void **state)
{
    enum auth_role r;

    (void)state;
    for (r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
        assert_int_equal(auth_role_parse(auth_role_name(r)), r);
    assert_int_equal(auth_role_parse("root"), AUTH_NONE);
    assert_int_equal(auth_role_parse("Admin"), AUTH_NONE);
    assert_int_equal(auth_role_parse(NULL), AUTH_NONE);
    assert_true(AUTH_VIEWER < AUTH_SUPERVISOR && AUTH_SUPERVISOR < AUTH_MANAGER &&
                AUTH_MANAGER < AUTH_ADMIN);
    assert_true(auth_user_valid("anna.berg@plant-2"));
    assert_false(auth_user_valid(""));
    assert_false(auth_user_valid("anna berg"));
    assert_false(auth_user_valid("<script>"));
    assert_false(auth_user_valid(
        "ab123456789012345678901234567890123456789012345678901234567890123"));
    assert_true(auth_user_valid(
        "a123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_limiter(void **state)
{
    struct auth_limiter *l = NULL;
    int64_t t = 1000000, wait;
    int i;

    (void)state;
    assert_int_equal(auth_limiter_new(0, 1000, 4, &l), -EINVAL);
    assert_int_equal(auth_limiter_new(3, 1000, 2, &l), 0);
    /* A burst of 3, then refused with the time to wait. */
    for (i = 0; i < 3; i++)
        assert_int_equal(auth_limiter_take(l, "10.0.0.1", t), 0);
    wait = auth_limiter_take(l, "10.0.0.1", t);
    assert_int_equal(wait, 1000);
    assert_int_equal(auth_limiter_check(l, "10.0.0.1", t + 400), 600);
    /* Other keys are not affected. */
    assert_int_equal(auth_limiter_take(l, "10.0.0.2", t), 0);
    /* One comes back per interval. */
    assert_int_equal(auth_limiter_take(l, "10.0.0.1", t + 1000), 0);
    assert_true(auth_limiter_take(l, "10.0.0.1", t + 1000) > 0);
    /* check never takes. */
    for (i = 0; i < 10; i++)
        assert_int_equal(auth_limiter_check(l, "10.0.0.2", t), 0);
    /* Reset forgets. */
    auth_limiter_reset(l, "10.0.0.1");
    assert_int_equal(auth_limiter_check(l, "10.0.0.1", t + 1000), 0);
    /* Full (2 keys): a third key evicts the least recently used. */
    assert_int_equal(auth_limiter_take(l, "a", t), 0);
    assert_int_equal(auth_limiter_take(l, "a", t), 0);
    assert_int_equal(auth_limiter_take(l, "a", t), 0);
    assert_true(auth_limiter_take(l, "a", t) > 0);
    assert_int_equal(auth_limiter_take(l, "b", t + 10), 0);
    assert_int_equal(auth_limiter_take(l, "c", t + 20), 0);
    /* After a long pause the burst is whole again. */
    for (i = 0; i < 3; i++)
        assert_int_equal(auth_limiter_take(l, "c", t + 100000), 0);
    auth_limiter_free(l);
    auth_limiter_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password), cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_equal),    cmocka_unit_test(test_roles),
        cmocka_unit_test(test_limiter),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
