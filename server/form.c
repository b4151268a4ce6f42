/* Form bodies; see form.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "linebeat/error.h"

static int hexval(char c);
static int decode(char *s);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s in place ("+" is a space, %XX a byte); -1 on a bad escape or
 * a NUL byte. */
static int decode(char *s)
{
    char *w = s;

    for (; *s != '\0'; s++) {
        if (*s == '+') {
            *w++ = ' ';
        } else if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *w++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return 0;
}

int form_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p, need, cp, min;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            need = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= need)
            return 0;
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += need + 1;
    }
    return 1;
}

int form_parse(const char *body, size_t len, struct form *f)
{
    char *p, *next;

    memset(f, 0, sizeof(*f));
    if (len > FORM_BODY_MAX)
        return LB_E_TOOBIG;
    if ((f->data = malloc(len + 1)) == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(f->data, body, len);
    f->data[len] = '\0';
    if (strlen(f->data) != len)
        return LB_E_PARSE; /* a raw NUL in the body */
    for (p = f->data; *p != '\0'; p = next) {
        char *eq, *amp = strchr(p, '&');

        next = amp ? amp + 1 : p + strlen(p);
        if (amp)
            *amp = '\0';
        if (*p == '\0')
            continue; /* "a=1&&b=2" */
        if (f->n == FORM_FIELDS_MAX)
            return LB_E_TOOBIG;
        eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        if (decode(p) != 0 || (eq && decode(eq + 1) != 0))
            return LB_E_PARSE;
        if (!form_text_ok(p, strlen(p)) || (eq && !form_text_ok(eq + 1, strlen(eq + 1))))
            return LB_E_PARSE;
        f->f[f->n].name = p;
        f->f[f->n].value = eq ? eq + 1 : "";
        f->n++;
    }
    return 0;
}

const char *form_get(const struct form *f, const char *name)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        if (strcmp(f->f[i].name, name) == 0)
            return f->f[i].value;
    return NULL;
}

void form_free(struct form *f)
{
    free(f->data);
    memset(f, 0, sizeof(*f));
}
