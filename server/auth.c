/*
 * Credentials and guards; see auth.h.
 *
 * Tokens are hashed with plain BLAKE2b, not with Argon2: they carry 256
 * random bits, so a slow hash would add nothing against guessing, and the
 * lookup runs on every request.  Passwords carry far less entropy and get
 * the slow, memory-hard hash.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"

#define TOKEN_BYTES 32

struct limiter_entry {
    char key[96];
    int64_t tat;  /* GCRA theoretical arrival time, ms */
    int64_t used; /* last touch, for eviction */
};

struct auth_limiter {
    pthread_mutex_t lock;
    int64_t interval; /* ms per event */
    int64_t tolerance;
    size_t n, max;
    struct limiter_entry *e;
};

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[AUTH_PWHASH_MAX];

static void dummy_init(void);
static struct limiter_entry *limiter_find(struct auth_limiter *l, const char *key,
                                          int64_t now_ms, int create);
static int64_t limiter_step(struct auth_limiter *l, const char *key, int64_t now_ms,
                            int take);

int auth_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

int auth_password_hash(const char *pw, char out[AUTH_PWHASH_MAX])
{
    size_t n = strlen(pw);

    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
        return -EINVAL;
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM; /* libsodium's only failure here: memory */
    return 0;
}

int auth_password_verify(const char *hash, const char *pw)
{
    size_t n = strnlen(pw, AUTH_PASSWORD_MAX + 1);

    if (n > AUTH_PASSWORD_MAX) {
        auth_password_dummy("");
        return -EACCES;
    }
    return crypto_pwhash_str_verify(hash, pw, n) == 0 ? 0 : -EACCES;
}

static void dummy_init(void)
{
    char pw[AUTH_TOKEN_LEN + 1];

    auth_token_new(pw);
    if (auth_password_hash(pw, dummy_hash) != 0)
        dummy_hash[0] = '\0';
}

void auth_password_dummy(const char *pw)
{
    volatile int sink;

    pthread_once(&dummy_once, dummy_init);
    /* The result is meaningless: only the time spent counts. */
    if (dummy_hash[0] != '\0') {
        sink = crypto_pwhash_str_verify(dummy_hash, pw, strnlen(pw, AUTH_PASSWORD_MAX));
        (void)sink;
    }
}

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    unsigned char raw[TOKEN_BYTES];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

int auth_token_valid(const char *s)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < AUTH_TOKEN_LEN; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return s[AUTH_TOKEN_LEN] == '\0';
}

void auth_token_hash(const char *token, char out[AUTH_HASH_LEN + 1])
{
    unsigned char h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL,
                       0);
    sodium_bin2hex(out, AUTH_HASH_LEN + 1, h, sizeof(h));
}

void auth_csrf(const char *token, char out[AUTH_TOKEN_LEN + 1])
{
    static const char what[] = "linebeat csrf v1";
    unsigned char key[crypto_generichash_KEYBYTES];
    unsigned char h[32];

    /* The cookie value itself is the key; hashing it first gives a key of
     * the size BLAKE2b wants whatever the token's length. */
    crypto_generichash(key, sizeof(key), (const unsigned char *)token, strlen(token),
                       NULL, 0);
    crypto_generichash(h, sizeof(h), (const unsigned char *)what, sizeof(what) - 1, key,
                       sizeof(key));
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, h, sizeof(h),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(key, sizeof(key));
}

int auth_equal(const char *a, const char *b)
{
    size_t la, lb;

    if (a == NULL || b == NULL)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    /* The length is no secret (tokens have a fixed one); the content is. */
    if (la != lb)
        return 0;
    return sodium_memcmp(a, b, la) == 0;
}

const char *auth_role_name(enum auth_role r)
{
    switch (r) {
    case AUTH_VIEWER:
        return "viewer";
    case AUTH_SUPERVISOR:
        return "supervisor";
    case AUTH_MANAGER:
        return "manager";
    case AUTH_ADMIN:
        return "admin";
    case AUTH_NONE:
        break;
    }
    return "none";
}

enum auth_role auth_role_parse(const char *s)
{
    enum auth_role r;

    if (s == NULL)
        return AUTH_NONE;
    for (r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
        if (strcmp(s, auth_role_name(r)) == 0)
            return r;
    return AUTH_NONE;
}

int auth_user_valid(const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0')
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (i >= AUTH_USER_MAX)
            return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '@'))
            return 0;
    }
    return 1;
}

int auth_limiter_new(unsigned burst, int64_t refill_ms, size_t max_keys,
                     struct auth_limiter **out)
{
    struct auth_limiter *l;

    *out = NULL;
    if (burst == 0 || refill_ms <= 0 || max_keys == 0)
        return -EINVAL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        return -ENOMEM;
    if ((l->e = calloc(max_keys, sizeof(*l->e))) == NULL) {
        free(l);
        return -ENOMEM;
    }
    pthread_mutex_init(&l->lock, NULL);
    l->interval = refill_ms;
    l->tolerance = refill_ms * (int64_t)(burst - 1);
    l->max = max_keys;
    *out = l;
    return 0;
}

void auth_limiter_free(struct auth_limiter *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->e);
    free(l);
}

/* The entry of key, or with create a new one (replacing the least recently
 * used when full), or NULL.  Linear: a few thousand keys at most, and only
 * login attempts come here. */
static struct limiter_entry *limiter_find(struct auth_limiter *l, const char *key,
                                          int64_t now_ms, int create)
{
    struct limiter_entry *victim = NULL;
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->e[i].key, key) == 0)
            return &l->e[i];
    if (!create)
        return NULL;
    if (l->n < l->max) {
        victim = &l->e[l->n++];
    } else {
        victim = &l->e[0];
        for (i = 1; i < l->n; i++)
            if (l->e[i].used < victim->used)
                victim = &l->e[i];
    }
    memset(victim, 0, sizeof(*victim));
    /* Keys longer than the slot are cut; they still separate callers well
     * enough (addresses and user names are shorter). */
    strncpy(victim->key, key, sizeof(victim->key) - 1);
    victim->tat = now_ms;
    victim->used = now_ms;
    return victim;
}

static int64_t limiter_step(struct auth_limiter *l, const char *key, int64_t now_ms,
                            int take)
{
    struct limiter_entry *e;
    int64_t tat, wait = 0;

    pthread_mutex_lock(&l->lock);
    e = limiter_find(l, key, now_ms, take);
    if (e != NULL) {
        tat = e->tat > now_ms ? e->tat : now_ms;
        if (tat - now_ms > l->tolerance) {
            wait = tat - now_ms - l->tolerance;
        } else if (take) {
            e->tat = tat + l->interval;
            e->used = now_ms;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return wait;
}

int64_t auth_limiter_take(struct auth_limiter *l, const char *key, int64_t now_ms)
{
    return limiter_step(l, key, now_ms, 1);
}

int64_t auth_limiter_check(struct auth_limiter *l, const char *key, int64_t now_ms)
{
    return limiter_step(l, key, now_ms, 0);
}

void auth_limiter_reset(struct auth_limiter *l, const char *key)
{
    size_t i;

    pthread_mutex_lock(&l->lock);
    for (i = 0; i < l->n; i++) {
        if (strcmp(l->e[i].key, key) == 0) {
            l->e[i] = l->e[--l->n];
            break;
        }
    }
    pthread_mutex_unlock(&l->lock);
}
