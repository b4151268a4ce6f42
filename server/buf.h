/*
 * A growable output buffer for HTTP bodies.  Appends never fail loudly: the
 * first failure (out of memory, or the body growing past its bound) sets a
 * sticky error that the caller checks once at the end, so page renderers
 * stay straight-line code.  Escaping for HTML and JSON lives here so every
 * value written into a page goes through one audited place.
 */
#ifndef LB_SERVER_BUF_H
#define LB_SERVER_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_MAX (16u * 1024 * 1024) /* no response body grows beyond this */

struct buf {
    char *p; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    int err; /* 0, or the first error: -ENOMEM or LB_E_TOOBIG */
};

/* Initialises b empty (no allocation). */
void buf_init(struct buf *b);
/* Releases b's memory and empties it. */
void buf_free(struct buf *b);
/* Hands the memory to the caller (free() it) and empties b; NULL when empty. */
char *buf_steal(struct buf *b, size_t *len);

void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, " and ' replaced by entities. */
void buf_html(struct buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included; NULL gives null. */
void buf_json_str(struct buf *b, const char *s);
/* Appends ms since the epoch as a quoted ISO 8601 UTC string, or null when ms < 0. */
void buf_json_time(struct buf *b, int64_t ms);

#endif
