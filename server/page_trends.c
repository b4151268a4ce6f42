/*
 * Trends; see page_trends.h.  The numbers are the API's OEE report
 * (group=week, and two periods around a date), read in process through
 * page_api.c.  The chart's four series differ by dash pattern and carry
 * their names at their ends, so they read without colour.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "csv.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "linebeat/wire.h"
#include "page_api.h"
#include "page_trends.h"
#include "plant.h"

#define WEEK_MS     (7 * 86400000LL)
#define CHART_W     900
#define CHART_H     240
#define CHART_LEFT  40
#define CHART_RIGHT 110

struct series {
    const char *key, *word, *dash;
};

static const struct series series[] = {
    {"oee", "OEE", ""},
    {"availability", "Availability", "8 4"},
    {"performance", "Performance", "2 3"},
    {"quality", "Quality", "10 3 2 3"},
};
#define NSERIES (sizeof(series) / sizeof(series[0]))

static void iso(char *out, size_t size, int64_t ms);
static json_t *oee(const struct pages_env *env, struct db *db, int64_t now,
                   const char *scope, const char *id, int64_t from, int64_t to,
                   const char *group);
static void pct(struct buf *b, const json_t *v);
static void chart(struct buf *b, const json_t *groups);
static void before_after(struct buf *b, const json_t *before, const json_t *after);

static void iso(char *out, size_t size, int64_t ms)
{
    if (lb_iso8601(ms, out, (unsigned)size) == NULL)
        snprintf(out, size, "1970-01-01T00:00:00Z");
}

static json_t *oee(const struct pages_env *env, struct db *db, int64_t now,
                   const char *scope, const char *id, int64_t from, int64_t to,
                   const char *group)
{
    struct page_api_args a;
    char f[40], t[40];
    int i = 0;

    memset(&a, 0, sizeof(a));
    iso(f, sizeof(f), from);
    iso(t, sizeof(t), to);
    a.name[i] = "scope";
    a.value[i++] = scope;
    if (id != NULL) {
        a.name[i] = "id";
        a.value[i++] = id;
    }
    a.name[i] = "from";
    a.value[i++] = f;
    a.name[i] = "to";
    a.value[i++] = t;
    if (group != NULL) {
        a.name[i] = "group";
        a.value[i++] = group;
    }
    return page_api_get(env, db, now, "/api/v1/reports/oee", &a, NULL, NULL, 0);
}

static void pct(struct buf *b, const json_t *v)
{
    if (json_is_number(v))
        buf_printf(b, "%.1f&nbsp;%%", json_number_value(v) * 100.0);
    else
        buf_puts(b, "<span class=\"placeholder\">&ndash;</span>");
}

static void chart(struct buf *b, const json_t *groups)
{
    size_t n = json_array_size(groups), i, k;
    double plot_w = CHART_W - CHART_LEFT - CHART_RIGHT, step;

    step = n > 1 ? plot_w / (double)(n - 1) : 0;
    buf_printf(b,
               "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"weekly OEE, availability, performance and quality\">\n",
               CHART_W, CHART_H + 30);
    for (k = 0; k <= 4; k++) { /* 0 to 100 % */
        double y = CHART_H - (double)k * CHART_H / 4.0;

        buf_printf(b,
                   "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
                   "<text x=\"0\" y=\"%.1f\" font-size=\"10\">%zu %%</text>\n",
                   CHART_LEFT, y + 2, CHART_LEFT + plot_w, y + 2, y + 5, k * 25);
    }
    for (k = 0; k < NSERIES; k++) {
        int pen = 0;
        double lx = 0, ly = 0;

        buf_printf(
            b, "<path fill=\"none\" stroke=\"#000\" stroke-width=\"%s\"%s%s%s d=\"",
            k == 0 ? "2.5" : "1.5", series[k].dash[0] ? " stroke-dasharray=\"" : "",
            series[k].dash, series[k].dash[0] ? "\"" : "");
        for (i = 0; i < n; i++) {
            const json_t *v = json_object_get(
                json_object_get(json_array_get(groups, i), "kpi"), series[k].key);
            double x = CHART_LEFT + (double)i * step, y;

            if (!json_is_number(v)) {
                pen = 0;
                continue;
            }
            y = CHART_H - json_number_value(v) * CHART_H + 2;
            if (y < 0)
                y = 0;
            buf_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", x, y);
            pen = 1;
            lx = x;
            ly = y;
        }
        buf_puts(b, "\"><title>");
        buf_html(b, series[k].word);
        buf_puts(b, "</title></path>\n");
        if (lx > 0) {
            buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", lx + 6,
                       ly + 4 + (double)k * 2);
            buf_html(b, series[k].word);
            buf_puts(b, "</text>\n");
        }
    }
    for (i = 0; i<n; i += n> 13 ? 4 : 1) {
        const char *label = pj_str(json_array_get(groups, i), "label");

        buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">",
                   CHART_LEFT + (double)i * step - 15, CHART_H + 20);
        buf_html(b, label ? label : "");
        buf_puts(b, "</text>\n");
    }
    buf_puts(b, "</svg>\n<p class=\"legend\">");
    for (k = 0; k < NSERIES; k++) {
        buf_printf(b,
                   "<span><svg width=\"30\" height=\"10\" aria-hidden=\"true\"><line "
                   "x1=\"0\" y1=\"5\" x2=\"30\" y2=\"5\" stroke=\"#000\" "
                   "stroke-width=\"2\"%s%s%s/></svg> ",
                   series[k].dash[0] ? " stroke-dasharray=\"" : "", series[k].dash,
                   series[k].dash[0] ? "\"" : "");
        buf_html(b, series[k].word);
        buf_puts(b, "</span> ");
    }
    buf_puts(b, "</p>\n");
}

static void before_after(struct buf *b, const json_t *before, const json_t *after)
{
    static const char *const losses[] = {"setup", "down", "unexplained", "micro_stops",
                                         "unknown"};
    const json_t *kb = json_object_get(before, "total"),
                 *ka = json_object_get(after, "total");
    const json_t *tb = json_object_get(kb, "time_ms"),
                 *ta = json_object_get(ka, "time_ms");
    size_t k;
    char d0[32], d1[32];

    buf_puts(b, "<table class=\"t\"><tr><th>factor</th><th>before</th><th>after</th>"
                "<th>change</th></tr>\n");
    for (k = 0; k < NSERIES; k++) {
        const json_t *vb = json_object_get(kb, series[k].key);
        const json_t *va = json_object_get(ka, series[k].key);

        buf_puts(b, "<tr><td>");
        buf_html(b, series[k].word);
        buf_puts(b, "</td><td class=\"num\">");
        pct(b, vb);
        buf_puts(b, "</td><td class=\"num\">");
        pct(b, va);
        buf_puts(b, "</td><td class=\"num\">");
        if (json_is_number(vb) && json_is_number(va))
            buf_printf(b, "%+.1f points",
                       (json_number_value(va) - json_number_value(vb)) * 100.0);
        else
            buf_puts(b, "<span class=\"placeholder\">&ndash;</span>");
        buf_puts(b, "</td></tr>\n");
    }
    for (k = 0; k < sizeof(losses) / sizeof(losses[0]); k++) {
        int64_t xb = pj_int(tb, losses[k], 0), xa = pj_int(ta, losses[k], 0);

        layout_duration(d0, sizeof(d0), xb);
        layout_duration(d1, sizeof(d1), xa);
        buf_puts(b, "<tr><td>loss: ");
        buf_html(b, losses[k]);
        buf_puts(b, "</td><td class=\"num\">");
        buf_html(b, d0);
        buf_puts(b, "</td><td class=\"num\">");
        buf_html(b, d1);
        buf_puts(b, "</td><td class=\"num\">");
        layout_duration(d0, sizeof(d0), xa > xb ? xa - xb : xb - xa);
        buf_puts(b, xa > xb ? "+" : xa < xb ? "&minus;" : "");
        buf_html(b, d0);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</table>\n");
}

void page_trends(const struct pages_env *env, struct db *db, int64_t now_ms,
                 struct reply *rep)
{
#define ARG(n) (env->arg ? env->arg(env->ctx, n) : NULL)
    const struct cal_clock *ck = &plant_get()->clock;
    const char *scope = ARG("scope"), *id = ARG("id"), *ws = ARG("weeks"),
               *at = ARG("at");
    const char *ds = ARG("days"), *cs = ARG("csv");
    struct buf *b = &rep->body;
    json_t *r = NULL, *before = NULL, *after = NULL;
    int64_t weeks = 12, days = 28, from, to, day;
    struct layout l;
    char *end, href[256];
    size_t i;

    if (env->sess == NULL || env->sess->role < AUTH_MANAGER) {
        pages_error(rep, 403, 0, "this needs the manager role");
        return;
    }
    if (scope == NULL || scope[0] == '\0')
        scope = "plant";
    if (strcmp(scope, "plant") != 0 && strcmp(scope, "line") != 0 &&
        strcmp(scope, "machine") != 0) {
        pages_error(rep, 400, 0, "scope: expected plant, line or machine");
        return;
    }
    if (strcmp(scope, "plant") == 0)
        id = NULL;
    else if (id == NULL || !lb_id_valid(id)) {
        pages_error(rep, 400, 0, "id: missing or not an id");
        return;
    }
    if (ws != NULL && ws[0] != '\0') {
        weeks = strtoll(ws, &end, 10);
        if (*end != '\0' || weeks < 1 || weeks > 53) {
            pages_error(rep, 400, 0, "weeks: expected 1 to 53");
            return;
        }
    }
    if (ds != NULL && ds[0] != '\0') {
        days = strtoll(ds, &end, 10);
        if (*end != '\0' || days < 1 || days > 183) {
            pages_error(rep, 400, 0, "days: expected 1 to 183");
            return;
        }
    }
    to = cal_day_start(ck, cal_prod_day(ck, now_ms) + 1);
    from = to - weeks * WEEK_MS;
    if ((r = oee(env, db, now_ms, scope, id, from, to, "week")) == NULL) {
        pages_error(rep, 400, 0, "no such scope (or a database error)");
        return;
    }
    if (at != NULL && at[0] != '\0') {
        if (tz_parse_day(at, &day) != 0) {
            json_decref(r);
            pages_error(rep, 400, 0, "at: expected YYYY-MM-DD");
            return;
        }
        before = oee(env, db, now_ms, scope, id, cal_day_start(ck, day - days),
                     cal_day_start(ck, day), NULL);
        after = oee(env, db, now_ms, scope, id, cal_day_start(ck, day),
                    cal_day_start(ck, day + days), NULL);
    }
    if (cs != NULL && cs[0] != '\0') {
        const json_t *groups = json_object_get(r, "groups");
        struct csv c;
        size_t k;

        csv_begin(&c, b);
        csv_str(&c, "week");
        csv_str(&c, "from");
        csv_str(&c, "to");
        for (k = 0; k < NSERIES; k++)
            csv_str(&c, series[k].key);
        csv_end_row(&c);
        for (i = 0; i < json_array_size(groups); i++) {
            const json_t *g = json_array_get(groups, i), *kpi = json_object_get(g, "kpi");
            int64_t t0 = -1, t1 = -1;

            if (pj_str(g, "from") != NULL)
                lb_parse_iso8601(pj_str(g, "from"), &t0);
            if (pj_str(g, "to") != NULL)
                lb_parse_iso8601(pj_str(g, "to"), &t1);
            csv_str(&c, pj_str(g, "label"));
            csv_time(&c, t0);
            csv_time(&c, t1);
            for (k = 0; k < NSERIES; k++) {
                const json_t *v = json_object_get(kpi, series[k].key);

                if (json_is_number(v))
                    csv_num(&c, json_number_value(v), 4);
                else
                    csv_str(&c, NULL);
            }
            csv_end_row(&c);
        }
        csv_reply(rep, "trends.csv");
        goto out;
    }
    memset(&l, 0, sizeof(l));
    l.title = "Trends";
    l.active = "trends";
    l.sess = env->sess;
    layout_begin(b, &l);
    buf_puts(b, "<form method=\"get\" action=\"/reports/trends\" class=\"noprint\">"
                "<label>scope <select name=\"scope\">");
    buf_printf(b,
               "<option%s>plant</option><option%s>line</option><option%s>machine"
               "</option></select></label> <label>id <input name=\"id\" value=\"",
               strcmp(scope, "plant") == 0 ? " selected" : "",
               strcmp(scope, "line") == 0 ? " selected" : "",
               strcmp(scope, "machine") == 0 ? " selected" : "");
    buf_html(b, id ? id : "");
    buf_printf(b,
               "\"></label> <label>weeks <input name=\"weeks\" type=\"number\" "
               "min=\"1\" max=\"53\" value=\"%" PRId64 "\"></label> <label>before/after "
               "<input type=\"date\" name=\"at\" value=\"",
               weeks);
    buf_html(b, at ? at : "");
    buf_printf(b,
               "\"></label> <label>days each side <input name=\"days\" type=\"number\" "
               "min=\"1\" max=\"183\" value=\"%" PRId64
               "\"></label> <button>Show</button>"
               "</form>\n<h2>Weekly, ",
               days);
    buf_html(b, scope);
    if (id != NULL) {
        buf_puts(b, " ");
        buf_html(b, id);
    }
    buf_printf(b, ", last %" PRId64 " weeks</h2>\n", weeks);
    chart(b, json_object_get(r, "groups"));
    {
        const json_t *groups = json_object_get(r, "groups");

        buf_puts(b, "<table class=\"t sortable\"><tr><th>week</th><th>OEE</th><th>A</th>"
                    "<th>P</th><th>Q</th></tr>\n");
        for (i = 0; i < json_array_size(groups); i++) {
            const json_t *g = json_array_get(groups, i), *kpi = json_object_get(g, "kpi");
            size_t k;

            buf_puts(b, "<tr><td>");
            buf_html(b, pj_str(g, "label") ? pj_str(g, "label") : "");
            buf_puts(b, "</td>");
            for (k = 0; k < NSERIES; k++) {
                buf_puts(b, "<td class=\"num\">");
                pct(b, json_object_get(kpi, series[k].key));
                buf_puts(b, "</td>");
            }
            buf_puts(b, "</tr>\n");
        }
        buf_puts(b, "</table>\n");
    }
    if (at != NULL && at[0] != '\0') {
        buf_puts(b, "<h2>Before and after ");
        buf_html(b, at);
        buf_printf(b, " (%" PRId64 " days each side)</h2>\n", days);
        before_after(b, before, after);
    }
    {
        char f[40], t[40];

        iso(f, sizeof(f), from);
        iso(t, sizeof(t), to);
        snprintf(href, sizeof(href),
                 "/api/v1/reports/oee?scope=%s%s%s&from=%s&to=%s&group=week", scope,
                 id ? "&id=" : "", id ? id : "", f, t);
    }
    buf_puts(b, "<p class=\"noprint\"><a href=\"?csv=1&amp;scope=");
    buf_html(b, scope);
    if (id != NULL) {
        buf_puts(b, "&amp;id=");
        buf_html(b, id);
    }
    buf_printf(b,
               "&amp;weeks=%" PRId64 "\" download>Download CSV</a> &middot; <a href=\"",
               weeks);
    buf_html(b, href);
    buf_puts(b, "\">JSON</a></p>\n");
    layout_end(b, &l, now_ms);
    layout_done(rep, 200);
out:
    json_decref(r);
    json_decref(before);
    json_decref(after);
#undef ARG
}
