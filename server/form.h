/*
 * HTML form bodies (application/x-www-form-urlencoded) to name/value
 * pairs, bounded in count and size, with no I/O, so the fuzzer drives it
 * alone.  Values are percent-decoded; a NUL byte or invalid UTF-8 in a
 * value rejects the form.
 */
#ifndef LB_SERVER_FORM_H
#define LB_SERVER_FORM_H

#include <stddef.h>

#define FORM_FIELDS_MAX 32
#define FORM_BODY_MAX   (64 * 1024)

struct form {
    size_t n;
    struct {
        const char *name, *value; /* into data */
    } f[FORM_FIELDS_MAX];
    char *data; /* owned */
};

/* Parses len bytes of body into OUT: f (free with form_free, also after a
 * failure).  Returns 0, LB_E_PARSE (bad encoding), LB_E_TOOBIG (too many
 * fields or bytes) or -ENOMEM. */
int form_parse(const char *body, size_t len, struct form *f);

/* The value of the first field called name, or NULL. */
const char *form_get(const struct form *f, const char *name);

/* Releases f's memory; accepts a zeroed form. */
void form_free(struct form *f);

/* 1 when s (len bytes) is valid UTF-8 without control characters other
 * than tab, CR and LF; else 0. */
int form_text_ok(const char *s, size_t len);

#endif
