/* Growable output buffer with a sticky error; see buf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"

static int buf_reserve(struct buf *b, size_t n);

void buf_init(struct buf *b)
{
    memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

char *buf_steal(struct buf *b, size_t *len)
{
    char *p = b->p;

    *len = b->len;
    buf_init(b);
    return p;
}

/* Makes room for n more bytes plus the terminating NUL. */
static int buf_reserve(struct buf *b, size_t n)
{
    size_t need, cap;
    char *np;

    if (b->err)
        return b->err;
    if (n > BUF_MAX || b->len + n + 1 > BUF_MAX) {
        b->err = LB_E_TOOBIG;
        return b->err;
    }
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2; /* cannot overflow: need <= BUF_MAX */
    np = realloc(b->p, cap);
    if (np == NULL) {
        b->err = -ENOMEM;
        return b->err;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err)
        return;
    /* Try in the free space first; most calls fit. */
    if (buf_reserve(b, 256) != 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = -EINVAL;
        b->p[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (buf_reserve(b, (size_t)n) != 0) {
            b->p[b->len] = '\0';
            return;
        }
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= b->cap - b->len) {
            b->err = -EINVAL;
            b->p[b->len] = '\0';
            return;
        }
    }
    b->len += (size_t)n;
}

void buf_html(struct buf *b, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *ent;

        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        buf_add(b, run, (size_t)(s - run));
        buf_puts(b, ent);
        run = s + 1;
    }
    buf_add(b, run, (size_t)(s - run));
}

void buf_json_str(struct buf *b, const char *s)
{
    const char *run;

    if (s == NULL) {
        buf_puts(b, "null");
        return;
    }
    buf_add(b, "\"", 1);
    for (run = s; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];

        /* Strings come from jansson-validated UTF-8, so only quotes,
         * backslashes and control characters need escaping (RFC 8259 §7). */
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_add(b, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            buf_add(b, esc, 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            buf_add(b, esc, 6);
        }
        run = s + 1;
    }
    buf_add(b, run, (size_t)(s - run));
    buf_add(b, "\"", 1);
}

void buf_json_time(struct buf *b, int64_t ms)
{
    char iso[40];

    if (ms < 0) {
        buf_puts(b, "null");
        return;
    }
    lb_iso8601(ms, iso, sizeof(iso));
    buf_json_str(b, iso);
}
