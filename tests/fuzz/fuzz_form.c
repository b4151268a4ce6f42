/*
 * libFuzzer target for what the web's front door reads from a client
 * before any check: form bodies (server/form.c) and CSV cells written from
 * stored text (server/csv.c).  Broken promises abort: a parsed form whose
 * names or values hold a control character other than tab/CR/LF or invalid
 * UTF-8, more fields than the bound, or a CSV cell that a spreadsheet would
 * run as a formula.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
    fprintf(stderr, "fuzz_form: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct form f;
    struct buf b;
    struct csv c;
    size_t i;

    if (form_parse((const char *)data, size, &f) == 0) {
        if (f.n > FORM_FIELDS_MAX)
            die("too many fields");
        for (i = 0; i < f.n; i++) {
            if (!form_text_ok(f.f[i].name, strlen(f.f[i].name)) ||
                !form_text_ok(f.f[i].value, strlen(f.f[i].value)))
                die("a decoded field is not clean text");
            if (form_get(&f, f.f[i].name) == NULL)
                die("a parsed name cannot be found");
        }
        /* Every value as a CSV cell: never a formula, always closed. */
        buf_init(&b);
        for (i = 0; i < f.n; i++) {
            size_t start = b.len;

            csv_begin(&c, &b);
            csv_str(&c, f.f[i].value);
            csv_end_row(&c);
            if (b.err == 0 && b.len > start && strchr("=+-@", b.p[start]) != NULL)
                die("a CSV cell starts like a formula");
        }
        buf_free(&b);
    }
    form_free(&f);
    return 0;
}
