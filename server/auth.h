/*
 * Credentials and request guards of the web server, with no I/O and no SQL:
 * password hashing (libsodium's Argon2id, crypto_pwhash_str), random tokens
 * for sessions and board links and the hashes stored in their place, the
 * CSRF token of a session, roles, and an in-memory rate limiter for logins.
 * Tokens are 256-bit random values; the database only ever sees their hash.
 */
#ifndef LB_SERVER_AUTH_H
#define LB_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_LEN    43  /* 32 random bytes as unpadded base64url */
#define AUTH_HASH_LEN     64  /* a token's BLAKE2b-256 in hex */
#define AUTH_PWHASH_MAX   128 /* crypto_pwhash_STRBYTES, NUL included */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
#define AUTH_USER_MAX     64 /* user names: [A-Za-z0-9_.@-]{1,64} */

/* Ordered: each role may do everything the roles below it may. */
enum auth_role {
    AUTH_NONE = 0, /* not logged in (or a board token: read-only board) */
    AUTH_VIEWER,
    AUTH_SUPERVISOR,
    AUTH_MANAGER,
    AUTH_ADMIN,
};

/* Initialises libsodium.  Call once before any other function; 0 or -EIO. */
int auth_init(void);

/*
 * Hashes password pw (Argon2id, libsodium's interactive limits: about 64 MiB
 * and 0.1 s here) into OUT: out.  Returns 0, -EINVAL when pw is shorter
 * than AUTH_PASSWORD_MIN or longer than AUTH_PASSWORD_MAX, or -ENOMEM.
 */
int auth_password_hash(const char *pw, char out[AUTH_PWHASH_MAX]);

/* Checks pw against a stored hash.  Returns 0 on a match, -EACCES otherwise
 * (also for a malformed hash). */
int auth_password_verify(const char *hash, const char *pw);

/* Spends about the time of a verify without a user, so that "no such user"
 * and "wrong password" cannot be told apart by timing. */
void auth_password_dummy(const char *pw);

/* Fills OUT: out (AUTH_TOKEN_LEN characters and a NUL) with a new token. */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/* 1 when s has the shape of a token (43 base64url characters), else 0. */
int auth_token_valid(const char *s);

/* The hex BLAKE2b-256 of token (stored instead of it) into OUT: out. */
void auth_token_hash(const char *token, char out[AUTH_HASH_LEN + 1]);

/* The CSRF token of the session whose cookie holds token: a keyed hash of
 * it, so it needs no storage and reveals nothing about the cookie. */
void auth_csrf(const char *token, char out[AUTH_TOKEN_LEN + 1]);

/* 1 when a and b (either may be NULL) are equal, in time independent of
 * where they differ; else 0. */
int auth_equal(const char *a, const char *b);

/* "viewer", "supervisor", "manager", "admin" ("none" for AUTH_NONE). */
const char *auth_role_name(enum auth_role r);

/* The role spelled s, or AUTH_NONE when s is not a role. */
enum auth_role auth_role_parse(const char *s);

/* 1 when s is a valid user name ([A-Za-z0-9_.@-]{1,64}), else 0. */
int auth_user_valid(const char *s);

/*
 * A rate limiter: per key (an address, a user name), a burst of `burst`
 * events, then one per refill_ms (GCRA).  At most max_keys keys are kept;
 * when full, the least recently used key is forgotten.  Thread-safe.
 */
struct auth_limiter;

/* OUT: *out.  Returns 0, -EINVAL (a zero argument) or -ENOMEM. */
int auth_limiter_new(unsigned burst, int64_t refill_ms, size_t max_keys,
                     struct auth_limiter **out);
/* Accepts NULL. */
void auth_limiter_free(struct auth_limiter *l);
/* Takes one event for key at now_ms: returns 0 when allowed, otherwise the
 * ms to wait until one would be (nothing is taken then). */
int64_t auth_limiter_take(struct auth_limiter *l, const char *key, int64_t now_ms);
/* Like take, but only tells: nothing is taken. */
int64_t auth_limiter_check(struct auth_limiter *l, const char *key, int64_t now_ms);
/* Forgets key (a successful login clears the user's failures). */
void auth_limiter_reset(struct auth_limiter *l, const char *key);

#endif
