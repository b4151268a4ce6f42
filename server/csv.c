/* CSV cells; see csv.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "csv.h"

static void cell(struct csv *c);

static void cell(struct csv *c)
{
    if (c->col++ > 0)
        buf_add(c->b, ",", 1);
}

void csv_begin(struct csv *c, struct buf *b)
{
    c->b = b;
    c->col = 0;
}

void csv_str(struct csv *c, const char *s)
{
    const char *p;

    cell(c);
    if (s == NULL || s[0] == '\0')
        return;
    /* Formula injection (OWASP "CSV Injection"): make such text inert. */
    if (strchr("=+-@\t\r", s[0]) != NULL) {
        buf_add(c->b, "\"'", 2);
    } else if (strpbrk(s, ",\"\r\n") == NULL) {
        buf_puts(c->b, s);
        return;
    } else {
        buf_add(c->b, "\"", 1);
    }
    for (p = s; *p != '\0'; p++) {
        if (*p == '"')
            buf_add(c->b, "\"\"", 2);
        else
            buf_add(c->b, p, 1);
    }
    buf_add(c->b, "\"", 1);
}

void csv_int(struct csv *c, int64_t v)
{
    cell(c);
    buf_printf(c->b, "%" PRId64, v);
}

void csv_num(struct csv *c, double v, int decimals)
{
    cell(c);
    buf_printf(c->b, "%.*f", decimals, v);
}

void csv_time(struct csv *c, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40], off[8];

    cell(c);
    if (ms < 0 || localtime_r(&t, &tm) == NULL)
        return;
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(off, sizeof(off), "%z", &tm); /* +0100 */
    buf_printf(c->b, "%s%.3s:%.2s", s, off, off + 3);
}

void csv_end_row(struct csv *c)
{
    buf_add(c->b, "\r\n", 2);
    c->col = 0;
}

void csv_reply(struct reply *rep, const char *filename)
{
    char value[128];
    size_t i;

    snprintf(value, sizeof(value), "attachment; filename=\"%s\"", filename);
    for (i = 0; value[i] != '\0'; i++)
        if (value[i] == '\r' || value[i] == '\n')
            value[i] = '_';
    rep->status = 200;
    rep->type = CT_CSV;
    rep->no_store = 1;
    reply_header(rep, "Content-Disposition", value);
}
