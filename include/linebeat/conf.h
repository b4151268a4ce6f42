/*
 * A table-driven INI reader on top of inih.  Every key is declared once
 * (name, type, default, bounds, help) in a table per section kind; the
 * reader fills caller structs through offsets, rejects unknown sections and
 * keys, duplicate keys, bad values and missing required keys, and reports
 * every problem as "file:line: key: problem" without stopping at the first.
 */
#ifndef LINEBEAT_CONF_H
#define LINEBEAT_CONF_H

#include <stddef.h>
#include <stdint.h>

enum lb_conf_type {
    LB_CONF_STR,  /* char[max+1] at offset; max is the length bound */
    LB_CONF_ID,   /* like STR, but must match [A-Za-z0-9_.-]{1,64} */
    LB_CONF_INT,  /* int64_t at offset, min..max */
    LB_CONF_BOOL, /* int at offset: yes/no, true/false, on/off, 1/0 */
    LB_CONF_ENUM, /* int at offset: index of the value in choices[] */
};

struct lb_conf_key {
    const char *name;
    enum lb_conf_type type;
    const char *def;            /* default as text; NULL: the key is required */
    int64_t min, max;           /* INT bounds; STR/ID: max length (min unused) */
    size_t offset;              /* into the section's struct */
    const char *const *choices; /* ENUM: NULL-terminated spellings */
    const char *help;
};

/*
 * A section kind.  When multi is 0 the section is written "[name]" and
 * appears at most once; when 1 it is "[name ID]" and may repeat with
 * distinct ids.  instance() is called when a section starts (for single
 * sections, also at the end if the file lacks it, with id NULL) and returns
 * the struct to fill, or NULL with a message in err (e.g. too many).
 */
struct lb_conf_section {
    const char *name;
    int multi;
    const struct lb_conf_key *keys;
    size_t nkeys;
    void *(*instance)(void *ctx, const char *id, char *err, size_t errlen);
    /* Optional: called for keys not in keys[] (free-form sections such as a
     * profile's [states] map); returns 0 or fills err and returns -1.  When
     * NULL, unknown keys are errors. */
    int (*other)(void *ctx, void *obj, const char *key, const char *value, char *err,
                 size_t errlen);
};

/* Collected problems, one line each, "file:line: key: problem". */
struct lb_conf_errors {
    int count;
    size_t len;
    char text[8192];
};

/*
 * Reads path against sections (n of them), calling their instance()
 * callbacks with ctx.  Defaults are applied to each instance before its
 * keys.  Returns 0 when the file is valid, LB_E_CONFIG when err holds one
 * or more problems, or -errno when the file cannot be opened (also in err).
 */
int lb_conf_read(const char *path, const struct lb_conf_section *sections, size_t n,
                 void *ctx, struct lb_conf_errors *err);

/* Adds a problem found after parsing (cross-key checks). line 0 omits it. */
void lb_conf_error(struct lb_conf_errors *err, const char *path, int line,
                   const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Applies every key's default to obj (required keys are zeroed). */
void lb_conf_defaults(const struct lb_conf_key *keys, size_t nkeys, void *obj);

/* Prints "name = value" for each key of obj, for --check -v. */
void lb_conf_print(const struct lb_conf_key *keys, size_t nkeys, const void *obj,
                   void *stream);

#endif
