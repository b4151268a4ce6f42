/*
 * The scan grammar; see scan.h and docs/scanners.md.  Everything here
 * reads scanner input, which is outside input (a scanner on the wrong
 * speed sends noise, a keyboard wedge in the wrong layout sends other
 * characters, a label can hold anything): every step is bounded by
 * LB_SCAN_MAX and never trusts a length or a byte.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "linebeat/error.h"
#include "linebeat/scanner.h"
#include "scan.h"

#define ELLIPSIS     "..."
#define ELLIPSIS_LEN (sizeof(ELLIPSIS) - 1)

struct scan_grammar {
    struct scan_conf c;
    int has_re[SCAN_R_COUNT];
    regex_t re[SCAN_R_COUNT];
};

static const char *const rule_names[SCAN_R_COUNT] = {
    [SCAN_R_ORDER_START] = "order_start",
    [SCAN_R_ORDER_END] = "order_end",
    [SCAN_R_OPERATOR] = "operator",
    [SCAN_R_DOWNTIME] = "downtime_reason",
    [SCAN_R_SCRAP] = "scrap",
    [SCAN_R_MACHINE] = "machine",
};

static const enum lb_scan_kind rule_kinds[SCAN_R_COUNT] = {
    [SCAN_R_ORDER_START] = LB_SCAN_ORDER_START,
    [SCAN_R_ORDER_END] = LB_SCAN_ORDER_END,
    [SCAN_R_OPERATOR] = LB_SCAN_OPERATOR,
    [SCAN_R_DOWNTIME] = LB_SCAN_DOWNTIME_REASON,
    [SCAN_R_SCRAP] = LB_SCAN_SCRAP,
    [SCAN_R_MACHINE] = LB_SCAN_UNKNOWN,
};

static size_t utf8_len(const unsigned char *p, size_t n);
static int blank(unsigned char c);
static size_t clean(const char *text, size_t len, char *out, int *dirty, int *cut);
static void take_value(struct scan_result *r, enum scan_rule rule, const char *v,
                       size_t vlen, const char *qty, size_t qlen, int has_qty_text,
                       const struct scan_conf *c);
static int parse_qty(const char *s, size_t n, int64_t max, int64_t *out);
static void reject(struct scan_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

enum lb_scan_kind scan_rule_kind(enum scan_rule r)
{
    return (unsigned)r < SCAN_R_COUNT ? rule_kinds[r] : LB_SCAN_UNKNOWN;
}

const char *scan_rule_name(enum scan_rule r)
{
    return (unsigned)r < SCAN_R_COUNT ? rule_names[r] : "?";
}

int scan_rule_check(const struct scan_conf *c, enum scan_rule r, char *why, size_t whylen)
{
    const char *p = c->prefix[r], *re = c->regex[r];
    regex_t test;
    int err;

    if ((unsigned)r >= SCAN_R_COUNT) {
        snprintf(why, whylen, "no such rule");
        return LB_E_CONFIG;
    }
    if (memchr(p, '\0', sizeof(c->prefix[r])) == NULL ||
        memchr(re, '\0', sizeof(c->regex[r])) == NULL) {
        snprintf(why, whylen, "not terminated");
        return LB_E_CONFIG;
    }
    if (p[0] != '\0' && re[0] != '\0') {
        snprintf(why, whylen, "%s has both a prefix and %s_regex: set one", rule_names[r],
                 rule_names[r]);
        return LB_E_CONFIG;
    }
    for (const unsigned char *q = (const unsigned char *)p; *q; q++) {
        if (blank(*q)) {
            snprintf(why, whylen,
                     "prefix '%s' holds a blank or control character, which never "
                     "starts a cleaned code",
                     p);
            return LB_E_CONFIG;
        }
    }
    for (int j = 0; j < (int)r && p[0] != '\0'; j++) {
        int same = c->ignore_case ? strcasecmp(p, c->prefix[j]) == 0
                                  : strcmp(p, c->prefix[j]) == 0;

        if (same) {
            snprintf(why, whylen, "prefix '%s' is also %s's", p, rule_names[j]);
            return LB_E_CONFIG;
        }
    }
    if (re[0] == '\0')
        return 0;
    err = regcomp(&test, re, REG_EXTENDED | REG_NOSUB | (c->ignore_case ? REG_ICASE : 0));
    if (err != 0) {
        char msg[96];

        regerror(err, &test, msg, sizeof(msg));
        snprintf(why, whylen, "%s", msg);
        return LB_E_CONFIG;
    }
    regfree(&test);
    return 0;
}

int scan_grammar_new(const struct scan_conf *c, struct scan_grammar **out, char *why,
                     size_t whylen, enum scan_rule *bad)
{
    struct scan_grammar *g;

    *out = NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    g->c = *c;
    for (int i = 0; i < SCAN_R_COUNT; i++) {
        int flags = REG_EXTENDED | (c->ignore_case ? REG_ICASE : 0);
        int err;

        if (bad != NULL)
            *bad = (enum scan_rule)i;
        if (scan_rule_check(&g->c, (enum scan_rule)i, why, whylen) != 0)
            goto fail;
        if (g->c.regex[i][0] == '\0')
            continue;
        err = regcomp(&g->re[i], g->c.regex[i], flags);
        if (err == REG_ESPACE) {
            scan_grammar_free(g);
            return -ENOMEM;
        }
        if (err != 0) {
            regerror(err, &g->re[i], why, whylen);
            goto fail;
        }
        g->has_re[i] = 1;
    }
    if (memchr(c->qty_separator, '\0', sizeof(c->qty_separator)) == NULL) {
        snprintf(why, whylen, "qty_separator: not terminated");
        goto fail;
    }
    if (c->qty_max < 1) {
        snprintf(why, whylen, "qty_max must be at least 1");
        goto fail;
    }
    *out = g;
    return 0;
fail:
    scan_grammar_free(g);
    return LB_E_CONFIG;
}

void scan_grammar_free(struct scan_grammar *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < SCAN_R_COUNT; i++)
        if (g->has_re[i])
            regfree(&g->re[i]);
    free(g);
}

static void reject(struct scan_result *r, const char *fmt, ...)
{
    va_list ap;

    r->accepted = 0;
    r->machine = 0;
    r->scan.kind = LB_SCAN_UNKNOWN;
    r->scan.value[0] = '\0';
    r->scan.has_qty = 0;
    r->scan.qty = 0;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

/* The length of the valid UTF-8 sequence at p (n >= 1 bytes left), or 0
 * when p does not start one.  The wire encoder's rules (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned need;
    uint32_t cp, min;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        need = 1;
        cp = p[0] & 0x1f;
        min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        need = 2;
        cp = p[0] & 0x0f;
        min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        need = 3;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < need + 1)
        return 0;
    for (unsigned i = 1; i <= need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

/* Space and the C0 controls and DEL. */
static int blank(unsigned char c)
{
    return c <= ' ' || c == 0x7f;
}

/*
 * Writes the printable form of text into out (LB_SCAN_MAX + 1 bytes): the
 * ends trimmed of blanks and control characters; control characters and
 * bytes that are not UTF-8 inside written \xNN (*dirty set); cut at a
 * character boundary and ended with "..." when longer than LB_SCAN_MAX
 * (*cut set).  Returns the length written.
 */
static size_t clean(const char *text, size_t len, char *out, int *dirty, int *cut)
{
    const unsigned char *start = (const unsigned char *)text, *end = start + len, *p;
    size_t n = 0, total = 0, limit = LB_SCAN_MAX;

    *dirty = *cut = 0;
    while (start < end && blank(*start))
        start++;
    while (end > start && blank(end[-1]))
        end--;
    /* Two passes: the first measures, so that a code that fits is never
     * cut for the ellipsis' sake. */
    for (int pass = 0; pass < 2; pass++) {
        for (p = start; p < end;) {
            size_t k = utf8_len(p, (size_t)(end - p));
            char esc[5];
            const char *src = (const char *)p;
            size_t w = k;

            if (k == 0 || (k == 1 && blank(*p) && *p != ' ')) {
                snprintf(esc, sizeof(esc), "\\x%02x", *p);
                src = esc;
                w = 4;
                k = 1;
                *dirty = 1;
            }
            p += k;
            if (pass == 0) {
                total += w;
                continue;
            }
            if (n + w > limit) {
                memcpy(out + n, ELLIPSIS, ELLIPSIS_LEN);
                n += ELLIPSIS_LEN;
                *cut = 1;
                break;
            }
            memcpy(out + n, src, w);
            n += w;
        }
        if (total > LB_SCAN_MAX)
            limit = LB_SCAN_MAX - ELLIPSIS_LEN;
    }
    out[n] = '\0';
    return n;
}

static int parse_qty(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;

    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Checks what a rule extracted and stores it in r, or rejects the scan. */
static void take_value(struct scan_result *r, enum scan_rule rule, const char *v,
                       size_t vlen, const char *qty, size_t qlen, int has_qty_text,
                       const struct scan_conf *c)
{
    const char *what = rule_names[rule];

    if (vlen == 0 && rule != SCAN_R_ORDER_END) {
        reject(r, "%s code without a value", what);
        return;
    }
    switch (rule) {
    case SCAN_R_ORDER_START:
    case SCAN_R_ORDER_END:
    case SCAN_R_DOWNTIME:
    case SCAN_R_SCRAP:
        if (vlen > SCAN_ID_MAX) {
            reject(r, "%s value longer than %d bytes", what, SCAN_ID_MAX);
            return;
        }
        break;
    case SCAN_R_MACHINE: {
        char id[LB_ID_MAX + 1];

        if (vlen > LB_ID_MAX) {
            reject(r, "machine label longer than %d bytes", LB_ID_MAX);
            return;
        }
        memcpy(id, v, vlen);
        id[vlen] = '\0';
        if (!lb_id_valid(id)) {
            reject(r, "machine label '%s' is not a machine id", id);
            return;
        }
        break;
    }
    case SCAN_R_OPERATOR:
    case SCAN_R_COUNT:
        break;
    }
    if (rule == SCAN_R_SCRAP) {
        r->scan.has_qty = 1;
        r->scan.qty = 1;
        if (has_qty_text && parse_qty(qty, qlen, c->qty_max, &r->scan.qty) != 0) {
            reject(r, "scrap quantity '%.*s' is not a whole number from 1 to %lld",
                   (int)(qlen > 20 ? 20 : qlen), qty, (long long)c->qty_max);
            return;
        }
    }
    /* vlen <= LB_SCAN_MAX: v lies inside the cleaned code. */
    memmove(r->scan.value, v, vlen);
    r->scan.value[vlen] = '\0';
    r->accepted = 1;
    r->machine = rule == SCAN_R_MACHINE;
    r->scan.kind = rule_kinds[rule];
    r->why[0] = '\0';
}

void scan_parse(const struct scan_grammar *g, const char *text, size_t len, int overlong,
                int lost, struct scan_result *r)
{
    const struct scan_conf *c = &g->c;
    const char *code = r->scan.code;
    size_t n, best_len = 0;
    int dirty, cut, best = -1;

    memset(r, 0, sizeof(*r));
    r->scan.kind = LB_SCAN_UNKNOWN;
    n = clean(text, len, r->scan.code, &dirty, &cut);
    if (n == 0 && !overlong && !lost) {
        r->empty = 1;
        snprintf(r->why, sizeof(r->why), "empty");
        return;
    }
    if (lost) {
        reject(r, "key presses were lost while it was read");
        return;
    }
    if (overlong || cut) {
        reject(r, "longer than %d bytes", overlong ? LB_SCANNER_LINE_MAX : LB_SCAN_MAX);
        return;
    }
    if (dirty) {
        reject(r, "holds control characters or bytes that are not UTF-8");
        return;
    }

    /* Regular expressions first, in rule order; each must match the whole
     * code.  Group 1 is the value (else the whole code), group 2 the scrap
     * quantity. */
    for (int i = 0; i < SCAN_R_COUNT; i++) {
        regmatch_t m[3];
        const char *v = code, *q = NULL;
        size_t vlen = n, qlen = 0;
        int hasq = 0;

        if (!g->has_re[i])
            continue;
        if (regexec(&g->re[i], code, 3, m, 0) != 0 || m[0].rm_so != 0 ||
            (size_t)m[0].rm_eo != n)
            continue;
        if (g->re[i].re_nsub >= 1 && m[1].rm_so >= 0) {
            v = code + m[1].rm_so;
            vlen = (size_t)(m[1].rm_eo - m[1].rm_so);
        }
        if (i == SCAN_R_SCRAP && g->re[i].re_nsub >= 2 && m[2].rm_so >= 0 &&
            m[2].rm_eo > m[2].rm_so) {
            q = code + m[2].rm_so;
            qlen = (size_t)(m[2].rm_eo - m[2].rm_so);
            hasq = 1;
        }
        take_value(r, (enum scan_rule)i, v, vlen, q, qlen, hasq, c);
        return;
    }

    /* Then prefixes: the longest that matches. */
    for (int i = 0; i < SCAN_R_COUNT; i++) {
        size_t pl = strlen(c->prefix[i]);
        int same;

        if (pl == 0 || pl > n || pl <= best_len)
            continue;
        same = c->ignore_case ? strncasecmp(code, c->prefix[i], pl) == 0
                              : strncmp(code, c->prefix[i], pl) == 0;
        if (!same)
            continue;
        best = i;
        best_len = pl;
    }
    if (best < 0) {
        reject(r, "matches no rule of [scan]");
        return;
    }
    {
        const char *v = code + best_len, *q = NULL;
        size_t vlen = n - best_len, qlen = 0;
        size_t sl = strlen(c->qty_separator);
        int hasq = 0;

        if (best == SCAN_R_SCRAP && sl > 0 && vlen >= sl) {
            /* The last separator: a reason may hold the character, a
             * quantity cannot. */
            for (size_t k = vlen - sl + 1; k-- > 0;) {
                if (memcmp(v + k, c->qty_separator, sl) == 0) {
                    q = v + k + sl;
                    qlen = vlen - k - sl;
                    vlen = k;
                    hasq = 1;
                    break;
                }
            }
        }
        take_value(r, (enum scan_rule)best, v, vlen, q, qlen, hasq, c);
    }
}
