/*
 * The shift report; see page_shift.h.
 *
 * Numbers are the API's: /api/v1/reports/oee (scope line, by machine; with
 * group=shift to find the shift's period) and /api/v1/reports/pareto, read
 * in process through page_api.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "form.h"
#include "kpi.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "page_api.h"
#include "page_shift.h"
#include "plant.h"

#define TOP_LOSSES 3

struct sr {
    const struct pages_env *env;
    struct db *db;
    int64_t now;
    int64_t day;       /* production day number */
    const char *shift; /* NULL or "": the whole day */
    char date[16];
    struct csv csv;
    int want_csv;
};

static void iso(char *out, size_t size, int64_t ms);
static int64_t jtime(const json_t *o, const char *key);
static void pct(struct buf *b, const json_t *kpi, const char *key);
static int period_of(struct sr *s, int64_t line, int64_t *from, int64_t *to);
static json_t *oee(struct sr *s, const char *scope, const char *id, int64_t from,
                   int64_t to, const char *group, const char *by);
static json_t *pareto(struct sr *s, const char *scope, const char *id, int64_t from,
                      int64_t to);
static void losses_text(struct buf *b, const json_t *par);
static void row(struct sr *s, struct buf *b, const char *line, const char *what,
                const char *dev, const json_t *kpi, const json_t *par, int64_t from,
                int64_t to);
static void line_sheet(struct sr *s, struct buf *b, const json_t *line);

static void iso(char *out, size_t size, int64_t ms)
{
    if (lb_iso8601(ms, out, (unsigned)size) == NULL)
        snprintf(out, size, "1970-01-01T00:00:00Z");
}

static int64_t jtime(const json_t *o, const char *key)
{
    const char *v = pj_str(o, key);
    int64_t ms;

    return v != NULL && lb_parse_iso8601(v, &ms) == 0 ? ms : -1;
}

static void pct(struct buf *b, const json_t *kpi, const char *key)
{
    const json_t *v = json_object_get(kpi, key);

    if (json_is_number(v))
        buf_printf(b, "%.1f&nbsp;%%", json_number_value(v) * 100.0);
    else
        buf_puts(b, "<span class=\"placeholder\">&ndash;</span>");
}

static json_t *oee(struct sr *s, const char *scope, const char *id, int64_t from,
                   int64_t to, const char *group, const char *by)
{
    struct page_api_args a;
    char f[40], t[40];
    int i = 0;

    memset(&a, 0, sizeof(a));
    iso(f, sizeof(f), from);
    iso(t, sizeof(t), to);
    a.name[i] = "scope";
    a.value[i++] = scope;
    a.name[i] = "id";
    a.value[i++] = id;
    a.name[i] = "from";
    a.value[i++] = f;
    a.name[i] = "to";
    a.value[i++] = t;
    if (group != NULL) {
        a.name[i] = "group";
        a.value[i++] = group;
    }
    if (by != NULL) {
        a.name[i] = "by";
        a.value[i++] = by;
    }
    return page_api_get(s->env, s->db, s->now, "/api/v1/reports/oee", &a, NULL, NULL, 0);
}

static json_t *pareto(struct sr *s, const char *scope, const char *id, int64_t from,
                      int64_t to)
{
    struct page_api_args a;
    char f[40], t[40];

    memset(&a, 0, sizeof(a));
    iso(f, sizeof(f), from);
    iso(t, sizeof(t), to);
    a.name[0] = "scope";
    a.value[0] = scope;
    a.name[1] = "id";
    a.value[1] = id;
    a.name[2] = "from";
    a.value[2] = f;
    a.name[3] = "to";
    a.value[3] = t;
    return page_api_get(s->env, s->db, s->now, "/api/v1/reports/pareto", &a, NULL, NULL,
                        0);
}

/* The report's period for line: the production day, or its shift called
 * s->shift.  Returns 0, or -1 when the line has no such shift that day. */
static int period_of(struct sr *s, int64_t line, int64_t *from, int64_t *to)
{
    const struct cal_clock *ck = &plant_get()->clock;
    char id[24], want[KPI_LABEL_MAX + 24];
    json_t *r, *groups;
    size_t i;
    int found = -1;

    *from = cal_day_start(ck, s->day);
    *to = cal_day_start(ck, s->day + 1);
    if (s->shift == NULL || s->shift[0] == '\0')
        return 0;
    snprintf(id, sizeof(id), "%" PRId64, line);
    snprintf(want, sizeof(want), "%s %s", s->date, s->shift);
    if ((r = oee(s, "line", id, *from, *to, "shift", NULL)) == NULL)
        return -1;
    groups = json_object_get(r, "groups");
    for (i = 0; i < json_array_size(groups); i++) {
        const json_t *g = json_array_get(groups, i);

        if (pj_str(g, "label") != NULL && strcmp(pj_str(g, "label"), want) == 0) {
            *from = jtime(g, "from");
            *to = jtime(g, "to");
            found = 0;
            break;
        }
    }
    json_decref(r);
    return found;
}

static void losses_text(struct buf *b, const json_t *par)
{
    const json_t *bars = json_object_get(par, "bars");
    size_t i;
    char dur[32];

    for (i = 0; i < json_array_size(bars) && i < TOP_LOSSES; i++) {
        const json_t *x = json_array_get(bars, i);
        const char *name =
            pj_str(x, "reason") ? pj_str(x, "reason") : pj_str(x, "category");

        layout_duration(dur, sizeof(dur), pj_int(x, "ms", 0));
        buf_puts(b, i ? "; " : "");
        buf_html(b, name ? name : "?");
        buf_puts(b, " ");
        buf_html(b, dur);
    }
    if (json_array_size(bars) == 0)
        buf_puts(b, "none");
}

static void row(struct sr *s, struct buf *b, const char *line, const char *what,
                const char *dev, const json_t *kpi, const json_t *par, int64_t from,
                int64_t to)
{
    const json_t *cnt = json_object_get(kpi, "counts");

    if (s->want_csv) {
        static const char *const keys[] = {"availability", "performance", "quality",
                                           "oee"};
        const json_t *bars = json_object_get(par, "bars");
        size_t i;

        csv_str(&s->csv, line);
        csv_str(&s->csv, dev);
        csv_time(&s->csv, from);
        csv_time(&s->csv, to);
        for (i = 0; i < 4; i++) {
            const json_t *v = json_object_get(kpi, keys[i]);

            if (json_is_number(v))
                csv_num(&s->csv, json_number_value(v), 4);
            else
                csv_str(&s->csv, NULL);
        }
        csv_int(&s->csv, pj_int(cnt, "good", 0) + pj_int(cnt, "outside_good", 0));
        csv_int(&s->csv, pj_int(cnt, "scrap", 0) + pj_int(cnt, "outside_scrap", 0));
        for (i = 0; i < TOP_LOSSES; i++) {
            const json_t *x = json_array_get(bars, i);

            csv_str(&s->csv, x ? (pj_str(x, "reason") ? pj_str(x, "reason")
                                                      : pj_str(x, "category"))
                               : NULL);
            if (x)
                csv_num(&s->csv, (double)pj_int(x, "ms", 0) / 1000.0, 3);
            else
                csv_str(&s->csv, NULL);
        }
        csv_end_row(&s->csv);
        return;
    }
    buf_puts(b, "<tr><td>");
    if (dev != NULL) {
        buf_puts(b, "<a href=\"/machines/");
        buf_html(b, dev);
        buf_puts(b, "\">");
        buf_html(b, what);
        buf_puts(b, "</a>");
    } else {
        buf_puts(b, "<b>");
        buf_html(b, what);
        buf_puts(b, "</b>");
    }
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, kpi, "availability");
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, kpi, "performance");
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, kpi, "quality");
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, kpi, "oee");
    buf_puts(b, "</td><td class=\"num\">");
    layout_int(b, pj_int(cnt, "good", 0) + pj_int(cnt, "outside_good", 0));
    buf_puts(b, "</td><td class=\"num\">");
    layout_int(b, pj_int(cnt, "scrap", 0) + pj_int(cnt, "outside_scrap", 0));
    buf_puts(b, "</td><td>");
    losses_text(b, par);
    buf_puts(b, "</td></tr>\n");
}

static void line_sheet(struct sr *s, struct buf *b, const json_t *line)
{
    const json_t *machines;
    json_t *r = NULL, *par = NULL;
    char id[24], t0[32], t1[32];
    const char *name = pj_str(line, "name") ? pj_str(line, "name") : "?";
    int64_t lid = pj_int(line, "id", 0), from, to;
    size_t i;

    snprintf(id, sizeof(id), "%" PRId64, lid);
    if (!s->want_csv) {
        buf_puts(b, "<section class=\"sheet\"><h2>Line ");
        buf_html(b, name);
        buf_puts(b, " &middot; ");
        buf_html(b, s->date);
        buf_puts(b, " &middot; ");
        buf_html(b, s->shift && s->shift[0] ? s->shift : "whole production day");
        buf_puts(b, "</h2>\n");
    }
    if (period_of(s, lid, &from, &to) != 0) {
        if (!s->want_csv)
            buf_puts(b, "<p class=\"empty\">No such shift on this day.</p></section>\n");
        return;
    }
    r = oee(s, "line", id, from, to, NULL, "machine");
    par = pareto(s, "line", id, from, to);
    if (!s->want_csv) {
        layout_time(t0, sizeof(t0), from);
        layout_time(t1, sizeof(t1), to);
        buf_puts(b, "<p class=\"dim\">");
        buf_html(b, t0);
        buf_puts(b, " &ndash; ");
        buf_html(b, t1);
        buf_puts(b, "</p>\n<table class=\"t\"><tr><th>machine</th><th>A</th><th>P</th>"
                    "<th>Q</th><th>OEE</th><th>good</th><th>scrap</th><th>top losses</th>"
                    "</tr>\n");
    }
    row(s, b, name, "Line", NULL, json_object_get(r, "total"), par, from, to);
    machines = json_object_get(r, "machines");
    for (i = 0; i < json_array_size(machines); i++) {
        const json_t *m = json_array_get(machines, i);
        const char *dev = pj_str(m, "id") ? pj_str(m, "id") : "";
        json_t *mp = pareto(s, "machine", dev, from, to);

        row(s, b, name, dev, dev, json_object_get(m, "total"), mp, from, to);
        json_decref(mp);
    }
    if (!s->want_csv) {
        buf_puts(b, "</table>\n");
        if (json_array_size(machines) == 0)
            buf_puts(b, "<p class=\"empty\">No machines on this line.</p>\n");
        {
            char f[40], t[40];

            iso(f, sizeof(f), from);
            iso(t, sizeof(t), to);
            buf_printf(b,
                       "<p class=\"noprint\"><a href=\"/api/v1/reports/oee?scope=line"
                       "&amp;id=%" PRId64 "&amp;by=machine&amp;explain=1&amp;from=",
                       lid);
            buf_html(b, f);
            buf_puts(b, "&amp;to=");
            buf_html(b, t);
            buf_puts(b, "\">JSON</a></p>\n");
        }
        buf_puts(b, "<p class=\"dim\">A = run / (planned busy &minus; unknown); P = "
                    "parts &times; ideal cycle / run; Q = good / all parts; OEE = A "
                    "&times; P &times; Q (planned busy time only; good and scrap: all "
                    "parts). Signed: ____________________</p></section>\n");
    }
    json_decref(r);
    json_decref(par);
}

void page_shift(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep)
{
    const struct cal_clock *ck = &plant_get()->clock;
    const char *ls = env->arg ? env->arg(env->ctx, "line") : NULL;
    const char *ds = env->arg ? env->arg(env->ctx, "date") : NULL;
    const char *cs = env->arg ? env->arg(env->ctx, "csv") : NULL;
    struct buf *b = &rep->body;
    struct layout l;
    struct sr s;
    json_t *lines;
    int64_t line = 0;
    size_t i, shown = 0;
    char *end;

    memset(&s, 0, sizeof(s));
    s.env = env;
    s.db = db;
    s.now = now_ms;
    s.shift = env->arg ? env->arg(env->ctx, "shift") : NULL;
    s.want_csv = cs != NULL && cs[0] != '\0';
    if (s.shift != NULL &&
        (strlen(s.shift) > 64 || !form_text_ok(s.shift, strlen(s.shift)))) {
        pages_error(rep, 400, 0, "shift: not a shift name");
        return;
    }
    if (ls != NULL && ls[0] != '\0') {
        line = strtoll(ls, &end, 10);
        if (*end != '\0' || line <= 0) {
            pages_error(rep, 400, 0, "line: not a line id");
            return;
        }
    }
    if (ds != NULL && ds[0] != '\0') {
        if (tz_parse_day(ds, &s.day) != 0) {
            pages_error(rep, 400, 0, "date: expected YYYY-MM-DD");
            return;
        }
    } else {
        s.day = cal_prod_day(ck, now_ms);
    }
    tz_format_day(s.day, s.date, sizeof(s.date));
    if ((lines = page_api_get(env, db, now_ms, "/api/v1/lines", NULL, NULL, NULL, 0)) ==
        NULL) {
        pages_error(rep, 500, 0, "database error");
        return;
    }
    if (s.want_csv) {
        csv_begin(&s.csv, b);
        csv_str(&s.csv, "line");
        csv_str(&s.csv, "machine");
        csv_str(&s.csv, "from");
        csv_str(&s.csv, "to");
        csv_str(&s.csv, "availability");
        csv_str(&s.csv, "performance");
        csv_str(&s.csv, "quality");
        csv_str(&s.csv, "oee");
        csv_str(&s.csv, "good");
        csv_str(&s.csv, "scrap");
        for (i = 1; i <= TOP_LOSSES; i++) {
            csv_str(&s.csv, i == 1 ? "loss_1" : i == 2 ? "loss_2" : "loss_3");
            csv_str(&s.csv, i == 1 ? "loss_1_s" : i == 2 ? "loss_2_s" : "loss_3_s");
        }
        csv_end_row(&s.csv);
    } else {
        memset(&l, 0, sizeof(l));
        l.title = "Shift report";
        l.active = "reports";
        l.sess = env->sess;
        layout_begin(b, &l);
        buf_puts(b, "<form method=\"get\" action=\"/reports/shift\" class=\"noprint\">"
                    "<label>line <select name=\"line\"><option value=\"\">all lines"
                    "</option>");
        for (i = 0; i < json_array_size(lines); i++) {
            const json_t *x = json_array_get(lines, i);

            buf_printf(b, "<option value=\"%" PRId64 "\"%s>", pj_int(x, "id", 0),
                       pj_int(x, "id", 0) == line ? " selected" : "");
            buf_html(b, pj_str(x, "name") ? pj_str(x, "name") : "?");
            buf_puts(b, "</option>");
        }
        buf_puts(b, "</select></label> <label>date <input type=\"date\" name=\"date\" "
                    "value=\"");
        buf_html(b, s.date);
        buf_puts(b, "\"></label> <label>shift <input name=\"shift\" placeholder=\"whole "
                    "day\" value=\"");
        buf_html(b, s.shift ? s.shift : "");
        buf_puts(b, "\"></label> <button>Show</button></form>\n");
    }
    for (i = 0; i < json_array_size(lines); i++) {
        const json_t *x = json_array_get(lines, i);

        if (line != 0 && pj_int(x, "id", 0) != line)
            continue;
        line_sheet(&s, b, x);
        shown++;
    }
    if (s.want_csv) {
        csv_reply(rep, "shift-report.csv");
    } else {
        if (shown == 0)
            buf_puts(b, "<p class=\"empty\">No such line (lines are made on the Admin "
                        "pages or through /api/v1/lines).</p>\n");
        buf_puts(b, "<p class=\"noprint\"><a href=\"?csv=1&amp;date=");
        buf_html(b, s.date);
        if (line != 0)
            buf_printf(b, "&amp;line=%" PRId64, line);
        if (s.shift != NULL && s.shift[0] != '\0') {
            buf_puts(b, "&amp;shift=");
            page_url(b, s.shift);
        }
        buf_puts(b, "\" download>Download CSV</a></p>\n");
        layout_end(b, &l, now_ms);
        layout_done(rep, 200);
    }
    json_decref(lines);
}
