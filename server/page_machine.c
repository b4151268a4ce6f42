/*
 * The machine page; see page_machine.h.
 *
 * Everything comes from the functions the JSON API uses: kpi_groups and
 * kpi_machine for the hours and the day (kpi_json with its explain for the
 * formulas and inputs), kpi_pareto for the losses, dbm_intervals_json for
 * the timeline and dbm_json for the scans.  The JSON ones are parsed back
 * with jansson, so the page shows exactly what the API answers.  Charts
 * are inline SVG drawn here, with words in them (legend, labels, <title>),
 * never colour alone; every value goes through buf_html.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "linebeat/clock.h"
#include "db_master.h"
#include "kpi.h"
#include "layout.h"
#include "page_api.h"
#include "page_machine.h"
#include "plant.h"
#include "rollup.h"

#define SCANS_SHOWN 20
/* How far back ?day= may go: the API's longest report period (api.c
 * SPAN_MAX_DAYS), so every JSON link of the page stays answerable. */
#define DAYS_BACK 400
#define TL_W      960 /* timeline width in SVG units */
#define CH_W      960

struct mp {
    const struct pages_env *env;
    struct db *db;
    const char *dev;
    int64_t now, from, to;
    int64_t pday, today;     /* the production day shown, and today's */
    char date[16];           /* pday as YYYY-MM-DD */
    struct kpi_group day;    /* the production day, up to now */
    struct kpi_group *hours; /* its hours */
    size_t nhours;
    struct kpi_losses losses;
    json_t *intervals; /* array, from dbm_intervals_json */
    json_t *scans;     /* array or NULL */
};

/* The timeline's kinds, in legend order: a CSS-free fill, a word. */
struct kind {
    const char *cat; /* the intervals' category */
    const char *word;
    const char *fill;
};

static const struct kind kinds[] = {
    {"run", "running", "#2e7d32"},
    {"micro_stop", "micro-stop", "#9ccc65"},
    {"setup", "setup", "#1565c0"},
    {"down", "down (reason)", "#c62828"},
    {"unexplained", "down, no reason", "#ff8f00"},
    {"planned_stop", "planned stop", "#6a1b9a"},
    {"unknown", "offline / unknown", "#9e9e9e"},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind *kind_of(const char *cat);
static int64_t jint(const json_t *o, const char *key, int64_t dflt);
static const char *jstr(const json_t *o, const char *key);
static int load(struct mp *m);
static void unload(struct mp *m);
static void hm(char *out, size_t size, int64_t ms);
static int64_t hour_target(struct mp *m, const struct kpi_group *g);
static void period_args(const struct mp *m, struct buf *b);
static void csv_link(const struct mp *m, struct buf *b, const char *which);
static void day_nav(const struct mp *m, struct buf *b);
static int day_arg(struct mp *m, const char *ds, char *why, size_t size);
static void section_kpi(struct mp *m, struct buf *b);
static void section_timeline(struct mp *m, struct buf *b);
static void section_hours(struct mp *m, struct buf *b);
static void section_pareto(struct mp *m, struct buf *b);
static void section_scans(struct mp *m, struct buf *b);
static void pct(struct buf *b, int has, double v);
static void csv_out(struct mp *m, const char *which, struct reply *rep);

static const struct kind *kind_of(const char *cat)
{
    size_t i;

    for (i = 0; cat != NULL && i < NKINDS; i++)
        if (strcmp(cat, kinds[i].cat) == 0)
            return &kinds[i];
    return &kinds[NKINDS - 1];
}

static int64_t jint(const json_t *o, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Local "HH:MM" of ms in the plant's zone. */
static void hm(char *out, size_t size, int64_t ms)
{
    const struct plant *pl = plant_get();
    int64_t local, mins;

    local = ms + (int64_t)tz_offset(pl->clock.tz, ms, NULL) * 1000;
    mins = tz_floordiv(local, 60000) % 1440;
    if (mins < 0)
        mins += 1440;
    snprintf(out, size, "%02d:%02d", (int)(mins / 60), (int)(mins % 60));
}

static int load(struct mp *m)
{
    struct buf j;
    json_error_t err;
    int rc;

    memset(&m->day, 0, sizeof(m->day));
    m->day.from = m->from;
    m->day.to = m->to;
    if ((rc = kpi_machine(m->db, m->dev, m->now, &m->day, 1)) != 0)
        return rc;
    if ((rc = kpi_groups(m->db, KPI_G_HOUR, 0, m->from, m->to, &m->hours, &m->nhours)) !=
        0)
        return rc;
    if ((rc = kpi_machine(m->db, m->dev, m->now, m->hours, m->nhours)) != 0)
        return rc;
    if ((rc = kpi_pareto(m->db, m->dev, m->from, m->to, m->now, &m->losses)) != 0)
        return rc;
    kpi_losses_sort(&m->losses);
    buf_init(&j);
    rc = dbm_intervals_json(m->db, m->dev, m->from, m->to, 0, &j);
    if (rc == 0 && j.err == 0)
        m->intervals = json_loadb(j.p ? j.p : "[]", j.len ? j.len : 2, 0, &err);
    buf_free(&j);
    if (rc != 0)
        return rc;
    if (!json_is_array(m->intervals))
        return -ENOMEM;
    buf_init(&j);
    if (dbm_scans_json(m->db, m->dev, m->from, m->to, SCANS_SHOWN, &j) == 0 &&
        j.err == 0 && j.len)
        m->scans = json_loadb(j.p, j.len, 0, &err);
    buf_free(&j);
    return 0;
}

static void unload(struct mp *m)
{
    free(m->hours);
    kpi_losses_free(&m->losses);
    json_decref(m->intervals);
    json_decref(m->scans);
}

static void pct(struct buf *b, int has, double v)
{
    if (has)
        buf_printf(b, "%.1f&nbsp;%%", v * 100.0);
    else
        buf_puts(b, "<span class=\"placeholder\" title=\"no planned time or parts\">"
                    "&ndash;</span>");
}

static void section_kpi(struct mp *m, struct buf *b)
{
    struct kpi_result r;
    struct buf j;
    json_t *root = NULL, *ex;
    json_error_t err;
    const char *key;
    json_t *item;
    const int64_t *v = m->day.s.v;

    kpi_derive(&m->day.s, &r);
    buf_puts(b, "<h2>OEE of the production day</h2>\n<table class=\"kpi\"><tr>"
                "<th>Availability</th><th>Performance</th><th>Quality</th><th>OEE</th>"
                "<th>good</th><th>scrap</th></tr><tr><td class=\"num\">");
    pct(b, r.has_a, r.availability);
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, r.has_p, r.performance);
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, r.has_q, r.quality);
    buf_puts(b, "</td><td class=\"num\">");
    pct(b, r.has_oee, r.oee);
    buf_printf(b, "</td><td class=\"num\" id=\"good\" data-good=\"%" PRId64 "\">",
               v[RC_GOOD] + v[RC_OGOOD]);
    layout_int(b, v[RC_GOOD] + v[RC_OGOOD]);
    buf_printf(b, "</td><td class=\"num\" id=\"scrap\" data-scrap=\"%" PRId64 "\">",
               v[RC_SCRAP] + v[RC_OSCRAP]);
    layout_int(b, v[RC_SCRAP] + v[RC_OSCRAP]);
    buf_puts(b, "</td></tr></table>\n<p class=\"dim\">Good and scrap: all parts of the "
                "production day; A, P, Q and OEE count planned busy time only (");
    layout_int(b, v[RC_GOOD]);
    buf_puts(b, " good in it).</p>\n");

    /* The engine's own explanation: formula and inputs of every KPI. */
    buf_init(&j);
    kpi_json(&j, &m->day.s, 1);
    if (j.err == 0 && j.len > 0)
        root = json_loadb(j.p, j.len, 0, &err);
    buf_free(&j);
    ex = json_object_get(root, "explain");
    if (json_is_object(ex)) {
        buf_puts(b, "<details open><summary>How these are computed</summary>"
                    "<table class=\"explain\"><tr><th>figure</th><th>formula</th>"
                    "<th>inputs</th></tr>\n");
        json_object_foreach(ex, key, item)
        {
            const char *ik;
            json_t *iv;
            int first = 1;

            buf_puts(b, "<tr><td>");
            buf_html(b, key);
            buf_puts(b, "</td><td>");
            buf_html(b, jstr(item, "formula") ? jstr(item, "formula") : "");
            buf_puts(b, "</td><td>");
            json_object_foreach(json_object_get(item, "inputs"), ik, iv)
            {
                char num[48];

                if (json_is_integer(iv))
                    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                             json_integer_value(iv));
                else if (json_is_real(iv))
                    snprintf(num, sizeof(num), "%.4f", json_real_value(iv));
                else
                    snprintf(num, sizeof(num), "%s", json_is_null(iv) ? "none" : "?");
                buf_puts(b, first ? "" : ", ");
                buf_html(b, ik);
                buf_puts(b, " = ");
                buf_html(b, num);
                first = 0;
            }
            buf_puts(b, "</td></tr>\n");
        }
        buf_puts(b, "</table></details>\n");
    }
    json_decref(root);
}

static void legend(struct buf *b)
{
    size_t i;

    buf_puts(b, "<p class=\"legend\">");
    for (i = 0; i < NKINDS; i++) {
        buf_printf(b,
                   "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\">"
                   "<rect width=\"14\" height=\"14\" fill=\"%s\"/></svg> ",
                   kinds[i].fill);
        buf_html(b, kinds[i].word);
        buf_puts(b, "</span> ");
    }
    buf_puts(b, "</p>\n");
}

static void section_timeline(struct mp *m, struct buf *b)
{
    size_t i, n = json_array_size(m->intervals);
    double span = (double)(m->to - m->from);
    char t0[8], t1[8], dur[32];
    int64_t h, end = m->now < m->to ? m->now : m->to;
    double xnow = (double)(end - m->from) / span * TL_W;

    buf_puts(b, "<h2>States of the production day</h2>\n");
    legend(b);
    buf_printf(b,
               "<svg class=\"chart\" viewBox=\"0 0 %d 70\" role=\"img\" "
               "aria-label=\"state timeline\"><rect x=\"0\" y=\"0\" width=\"%d\" "
               "height=\"40\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"0.5\"/>\n"
               "<rect x=\"0\" y=\"0\" width=\"%.2f\" height=\"40\" fill=\"%s\">"
               "<title>no data: offline / unknown</title></rect>\n",
               TL_W, TL_W, xnow, kinds[NKINDS - 1].fill);
    for (i = 0; i < n; i++) {
        const json_t *it = json_array_get(m->intervals, i);
        int64_t s = jint(it, "start_ms", m->from);
        int64_t e = s + jint(it, "duration_ms", 0);
        const struct kind *k = kind_of(jstr(it, "category"));
        const char *reason = jstr(it, "reason");
        double x0, x1;

        if (s < m->from)
            s = m->from;
        if (e > end)
            e = end; /* an open interval runs until now, not to the day's end */
        if (e <= s)
            continue;
        x0 = (double)(s - m->from) / span * TL_W;
        x1 = (double)(e - m->from) / span * TL_W;
        hm(t0, sizeof(t0), s);
        hm(t1, sizeof(t1), e);
        layout_duration(dur, sizeof(dur), e - s);
        buf_printf(b,
                   "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"40\" fill=\"%s\">"
                   "<title>",
                   x0, x1 - x0 < 0.3 ? 0.3 : x1 - x0, k->fill);
        buf_html(b, t0);
        buf_puts(b, "&ndash;");
        buf_html(b, t1);
        buf_puts(b, " ");
        buf_html(b, k->word);
        if (reason != NULL) {
            buf_puts(b, ": ");
            buf_html(b, reason);
        }
        buf_puts(b, " (");
        buf_html(b, dur);
        buf_puts(b, ")</title></rect>\n");
        if (x1 - x0 > 60) { /* wide enough for its word */
            buf_printf(b, "<text x=\"%.2f\" y=\"25\" font-size=\"11\" fill=\"#fff\">",
                       x0 + 3);
            buf_html(b, reason != NULL ? reason : k->word);
            buf_puts(b, "</text>\n");
        }
    }
    /* Hour ticks every 2 hours. */
    for (h = 0; h < (int64_t)m->nhours; h += 2) {
        double x = (double)(m->hours[h].from - m->from) / span * TL_W;

        hm(t0, sizeof(t0), m->hours[h].from);
        buf_printf(b,
                   "<line x1=\"%.2f\" y1=\"40\" x2=\"%.2f\" y2=\"46\" stroke=\"#000\"/>"
                   "<text x=\"%.2f\" y=\"58\" font-size=\"10\">",
                   x, x, x + 1);
        buf_html(b, t0);
        buf_puts(b, "</text>\n");
    }
    if (m->now < m->to) /* a past day has no "now" */
        buf_printf(b,
                   "<line x1=\"%.2f\" y1=\"0\" x2=\"%.2f\" y2=\"40\" stroke=\"#000\" "
                   "stroke-width=\"2\"/><text x=\"%.2f\" y=\"68\" "
                   "font-size=\"10\">now</text>\n",
                   xnow, xnow, xnow > TL_W - 30 ? xnow - 22 : xnow + 2);
    buf_puts(b, "</svg>\n<p class=\"noprint\">");
    csv_link(m, b, "timeline");
    buf_puts(b, " &middot; <a href=\"/api/v1/machines/");
    buf_html(b, m->dev);
    buf_puts(b, "/stops?from=");
    {
        char iso[40];
        lb_iso8601(m->from, iso, sizeof(iso));
        buf_html(b, iso);
        buf_puts(b, "&amp;to=");
        lb_iso8601(m->to, iso, sizeof(iso));
        buf_html(b, iso);
    }
    buf_puts(b, "\">JSON</a></p>\n");
}

/* The CSV twin of a table, of the day shown. */
static void csv_link(const struct mp *m, struct buf *b, const char *which)
{
    buf_puts(b, "<a href=\"?csv=");
    buf_html(b, which);
    buf_puts(b, "&amp;day=");
    buf_html(b, m->date);
    buf_puts(b, "\" download>Download CSV</a>");
}

/* "&from=...&to=..." of the production day, for the API links. */
static void period_args(const struct mp *m, struct buf *b)
{
    char iso[40];

    lb_iso8601(m->from, iso, sizeof(iso));
    buf_puts(b, "&amp;from=");
    buf_html(b, iso);
    lb_iso8601(m->to, iso, sizeof(iso));
    buf_puts(b, "&amp;to=");
    buf_html(b, iso);
}

/* Parts an hour could make at the ideal cycle time (0: none known): the
 * machine's ideal cycle time as of the hour's end (or now), else the mean
 * of the parts the day made in planned time (sum of ideal / parts); hours
 * still to come have none. */
static int64_t hour_target(struct mp *m, const struct kpi_group *g)
{
    const int64_t *v = m->day.s.v;
    int64_t ict = 0, at = g->to <= m->now ? g->to - 1 : m->now;

    if (g->from >= m->now)
        return 0; /* an hour still to come has no target yet */
    if (rollup_ict_at(m->db, m->dev, at, &ict) != 0 || ict <= 0)
        ict = v[RC_GOOD] + v[RC_SCRAP] > 0 ? v[RC_IDEAL] / (v[RC_GOOD] + v[RC_SCRAP]) : 0;
    if (ict <= 0)
        return 0;
    return (g->to - g->from) / ict;
}

static void section_hours(struct mp *m, struct buf *b)
{
    int64_t maxv = 1, out, tgt;
    size_t i;
    double bw;
    char t0[8];

    buf_puts(b,
             "<h2>Output per hour against target</h2>\n<p class=\"legend\">"
             "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><rect "
             "width=\"14\" height=\"14\" fill=\"#2e7d32\"/></svg> parts made</span> "
             "<span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><line x1=\"0\" "
             "y1=\"7\" x2=\"14\" y2=\"7\" stroke=\"#000\" stroke-width=\"2\" "
             "stroke-dasharray=\"3 2\"/></svg> target (hour / ideal cycle time)</span>"
             "</p>\n");
    for (i = 0; i < m->nhours; i++) {
        const int64_t *v = m->hours[i].s.v;

        out = v[RC_GOOD] + v[RC_SCRAP] + v[RC_OGOOD] + v[RC_OSCRAP];
        tgt = hour_target(m, &m->hours[i]);
        if (out > maxv)
            maxv = out;
        if (tgt > maxv)
            maxv = tgt;
    }
    bw = m->nhours ? (double)CH_W / (double)m->nhours : CH_W;
    buf_printf(b,
               "<svg class=\"chart\" viewBox=\"0 0 %d 200\" role=\"img\" "
               "aria-label=\"output per hour\"><line x1=\"0\" y1=\"170\" x2=\"%d\" "
               "y2=\"170\" stroke=\"#000\"/>\n",
               CH_W, CH_W);
    for (i = 0; i < m->nhours; i++) {
        const int64_t *v = m->hours[i].s.v;
        double x = (double)i * bw, hgt;

        out = v[RC_GOOD] + v[RC_SCRAP] + v[RC_OGOOD] + v[RC_OSCRAP];
        tgt = hour_target(m, &m->hours[i]);
        hgt = 150.0 * (double)out / (double)maxv;
        hm(t0, sizeof(t0), m->hours[i].from);
        buf_printf(b,
                   "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                   "fill=\"#2e7d32\"><title>",
                   x + 2, 170 - hgt, bw - 4 > 1 ? bw - 4 : 1, hgt);
        buf_html(b, t0);
        buf_printf(b, ": %" PRId64 " parts, target %" PRId64 "</title></rect>\n", out,
                   tgt);
        if (tgt > 0) {
            double y = 170 - 150.0 * (double)tgt / (double)maxv;

            buf_printf(b,
                       "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                       "stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>\n",
                       x + 1, y, x + bw - 1, y);
        }
        if (out > 0)
            buf_printf(b,
                       "<text x=\"%.2f\" y=\"%.2f\" font-size=\"9\" "
                       "text-anchor=\"middle\">%" PRId64 "</text>\n",
                       x + bw / 2, 168 - hgt, out);
        if (i % 2 == 0) {
            buf_printf(b, "<text x=\"%.2f\" y=\"185\" font-size=\"10\">", x + 2);
            buf_html(b, t0);
            buf_puts(b, "</text>\n");
        }
    }
    buf_puts(b, "</svg>\n<p class=\"noprint\">");
    csv_link(m, b, "hours");
    buf_puts(b, " &middot; <a href=\"/api/v1/reports/oee?scope=machine&amp;id=");
    buf_html(b, m->dev);
    period_args(m, b);
    buf_puts(b, "&amp;group=hour&amp;explain=1\">JSON</a></p>\n");
}

static void section_pareto(struct mp *m, struct buf *b)
{
    int64_t maxv = 1;
    size_t i;
    char dur[32];

    buf_puts(b, "<h2>Downtime by reason</h2>\n");
    if (m->losses.n == 0) {
        buf_puts(b, "<p class=\"empty\">No lost time on this day.</p>\n");
        return;
    }
    for (i = 0; i < m->losses.n; i++)
        if (m->losses.v[i].ms > maxv)
            maxv = m->losses.v[i].ms;
    buf_printf(b,
               "<svg class=\"chart\" viewBox=\"0 0 %d %zu\" role=\"img\" "
               "aria-label=\"downtime Pareto\">\n",
               CH_W, m->losses.n * 24 + 4);
    for (i = 0; i < m->losses.n; i++) {
        const struct kpi_loss *l = &m->losses.v[i];
        const char *name = l->reason[0] ? l->reason : kpi_cat_name(l->cat);
        double w = 560.0 * (double)l->ms / (double)maxv;

        layout_duration(dur, sizeof(dur), l->ms);
        buf_printf(b, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", i * 24 + 16);
        buf_html(b, name);
        buf_printf(b,
                   "</text><rect x=\"220\" y=\"%zu\" width=\"%.2f\" height=\"18\" "
                   "fill=\"#c62828\"/><text x=\"%.2f\" y=\"%zu\" font-size=\"12\">",
                   i * 24 + 3, w < 1 ? 1 : w, 226 + w, i * 24 + 16);
        buf_html(b, dur);
        buf_printf(b, " &middot; %" PRId64 "&times;</text>\n", l->count);
    }
    buf_puts(b, "</svg>\n<p class=\"noprint\">");
    csv_link(m, b, "pareto");
    buf_puts(b, " &middot; <a href=\"/api/v1/reports/pareto?scope=machine&amp;id=");
    buf_html(b, m->dev);
    period_args(m, b);
    buf_puts(b, "\">JSON</a></p>\n");
}

static void section_scans(struct mp *m, struct buf *b)
{
    size_t i, n = json_array_size(m->scans);
    const char *key;
    json_t *val, *first;

    buf_puts(b, "<h2>Last scans of the day</h2>\n");
    if (n == 0) {
        buf_puts(b, "<p class=\"empty\">No scans on this day.</p>\n");
        return;
    }
    first = json_array_get(m->scans, 0);
    buf_puts(b, "<div class=\"scroll\"><table class=\"sortable\"><tr>");
    json_object_foreach(first, key, val)
    {
        buf_puts(b, "<th>");
        buf_html(b, key);
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr>\n");
    for (i = 0; i < n; i++) {
        const json_t *row = json_array_get(m->scans, i);

        buf_puts(b, "<tr>");
        json_object_foreach(first, key, val)
        {
            const json_t *c = json_object_get(row, key);
            char num[48] = "";

            buf_puts(b, "<td>");
            if (json_is_string(c))
                buf_html(b, json_string_value(c));
            else if (json_is_integer(c))
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(c));
            else if (json_is_real(c))
                snprintf(num, sizeof(num), "%g", json_real_value(c));
            else if (json_is_boolean(c))
                snprintf(num, sizeof(num), "%s", json_is_true(c) ? "yes" : "no");
            buf_html(b, num);
            buf_puts(b, "</td>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</table></div>\n<p class=\"noprint\">");
    csv_link(m, b, "scans");
    buf_puts(b, " &middot; <a href=\"/api/v1/machines/");
    buf_html(b, m->dev);
    buf_printf(b, "/scans?limit=%d", SCANS_SHOWN);
    period_args(m, b);
    buf_puts(b, "\">JSON</a></p>\n");
}

static void csv_out(struct mp *m, const char *which, struct reply *rep)
{
    struct csv c;
    size_t i;
    char fname[96];

    csv_begin(&c, &rep->body);
    if (strcmp(which, "timeline") == 0) {
        csv_str(&c, "start");
        csv_str(&c, "end");
        csv_str(&c, "seconds");
        csv_str(&c, "state");
        csv_str(&c, "category");
        csv_str(&c, "reason");
        csv_end_row(&c);
        for (i = 0; i < json_array_size(m->intervals); i++) {
            const json_t *it = json_array_get(m->intervals, i);
            int64_t s = jint(it, "start_ms", 0), d = jint(it, "duration_ms", 0);

            csv_time(&c, s);
            csv_time(&c, s + d);
            csv_num(&c, (double)d / 1000.0, 3);
            csv_str(&c, jstr(it, "state"));
            csv_str(&c, jstr(it, "category"));
            csv_str(&c, jstr(it, "reason"));
            csv_end_row(&c);
        }
    } else if (strcmp(which, "hours") == 0) {
        csv_str(&c, "hour");
        csv_str(&c, "good");
        csv_str(&c, "scrap");
        csv_str(&c, "target");
        csv_end_row(&c);
        for (i = 0; i < m->nhours; i++) {
            const int64_t *v = m->hours[i].s.v;

            csv_time(&c, m->hours[i].from);
            csv_int(&c, v[RC_GOOD] + v[RC_OGOOD]);
            csv_int(&c, v[RC_SCRAP] + v[RC_OSCRAP]);
            csv_int(&c, hour_target(m, &m->hours[i]));
            csv_end_row(&c);
        }
    } else if (strcmp(which, "pareto") == 0) {
        csv_str(&c, "reason");
        csv_str(&c, "category");
        csv_str(&c, "seconds");
        csv_str(&c, "stops");
        csv_end_row(&c);
        for (i = 0; i < m->losses.n; i++) {
            csv_str(&c, m->losses.v[i].reason);
            csv_str(&c, kpi_cat_name(m->losses.v[i].cat));
            csv_num(&c, (double)m->losses.v[i].ms / 1000.0, 3);
            csv_int(&c, m->losses.v[i].count);
            csv_end_row(&c);
        }
    } else if (strcmp(which, "scans") == 0) {
        json_t *first = json_array_get(m->scans, 0);
        const char *key;
        json_t *val;

        json_object_foreach(first, key, val) csv_str(&c, key);
        csv_end_row(&c);
        for (i = 0; i < json_array_size(m->scans); i++) {
            const json_t *row = json_array_get(m->scans, i);

            json_object_foreach(first, key, val)
            {
                const json_t *x = json_object_get(row, key);

                if (json_is_string(x))
                    csv_str(&c, json_string_value(x));
                else if (json_is_integer(x))
                    csv_int(&c, (int64_t)json_integer_value(x));
                else if (json_is_real(x))
                    csv_num(&c, json_real_value(x), 3);
                else
                    csv_str(&c, NULL);
            }
            csv_end_row(&c);
        }
    } else {
        pages_error(rep, 400, 0, "csv: expected timeline, hours, pareto or scans");
        return;
    }
    snprintf(fname, sizeof(fname), "%s-%s-%s.csv", m->dev, m->date, which);
    csv_reply(rep, fname);
}

/* ?day=YYYY-MM-DD: a production day from DAYS_BACK days ago to today;
 * absent or empty, today.  Returns 0, or -1 with OUT: why. */
static int day_arg(struct mp *m, const char *ds, char *why, size_t size)
{
    char first[16], last[16];

    if (ds == NULL || ds[0] == '\0') {
        m->pday = m->today;
        return 0;
    }
    if (strlen(ds) != 10 || tz_parse_day(ds, &m->pday) != 0) {
        snprintf(why, size, "day: expected a date YYYY-MM-DD");
        return -1;
    }
    if (m->pday > m->today || m->pday < m->today - DAYS_BACK) {
        tz_format_day(m->today - DAYS_BACK, first, sizeof(first));
        tz_format_day(m->today, last, sizeof(last));
        snprintf(why, size, "day: from %s to %s (today)", first, last);
        return -1;
    }
    return 0;
}

/* The day's choice: a date field (a GET form, no script needed) and the
 * neighbouring days; no next day after today. */
static void day_nav(const struct mp *m, struct buf *b)
{
    char d[16], from[32], to[32];

    layout_time(from, sizeof(from), m->from);
    layout_time(to, sizeof(to), m->to);
    buf_puts(b, "<p class=\"dim\">Production day ");
    buf_html(b, m->date);
    buf_puts(b, ": from ");
    buf_html(b, from);
    if (m->now < m->to) {
        buf_puts(b, " until now");
    } else {
        buf_puts(b, " to ");
        buf_html(b, to);
    }
    buf_puts(b, " &middot; <a href=\"/\">back to the board</a></p>\n"
                "<form method=\"get\" action=\"/machines/");
    page_url(b, m->dev);
    buf_puts(b, "\" class=\"noprint\"><a href=\"?day=");
    tz_format_day(m->pday - 1, d, sizeof(d));
    buf_html(b, d);
    buf_puts(b, "\" rel=\"prev\">&larr; previous day</a> <label>day <input type=\"date\" "
                "name=\"day\" value=\"");
    buf_html(b, m->date);
    tz_format_day(m->today - DAYS_BACK, d, sizeof(d));
    buf_puts(b, "\" min=\"");
    buf_html(b, d);
    tz_format_day(m->today, d, sizeof(d));
    buf_puts(b, "\" max=\"");
    buf_html(b, d);
    buf_puts(b, "\" required></label> <button>Show</button> ");
    if (m->pday < m->today) {
        tz_format_day(m->pday + 1, d, sizeof(d));
        buf_puts(b, "<a href=\"?day=");
        buf_html(b, d);
        buf_puts(b,
                 "\" rel=\"next\">next day &rarr;</a> &middot; <a href=\"?\">today</a>");
    }
    buf_puts(b, "</form>\n");
}

void page_machine(const struct pages_env *env, struct db *db, const char *dev,
                  const char *csv, int64_t now_ms, struct reply *rep)
{
    const struct cal_clock *ck = &plant_get()->clock;
    struct mp m;
    struct layout l;
    struct buf *b = &rep->body;
    char title[96], why[96];
    int rc;

    memset(&m, 0, sizeof(m));
    m.env = env;
    m.db = db;
    m.dev = dev;
    m.now = now_ms;
    m.today = cal_prod_day(ck, now_ms);
    if (day_arg(&m, env->arg ? env->arg(env->ctx, "day") : NULL, why, sizeof(why)) != 0) {
        pages_error(rep, 400, 0, why);
        return;
    }
    m.from = cal_day_start(ck, m.pday);
    m.to = cal_day_start(ck, m.pday + 1);
    tz_format_day(m.pday, m.date, sizeof(m.date));
    if ((rc = dbm_machine_exists(db, dev)) != 0) {
        pages_error(rep, rc == -ENOENT ? 404 : 500, 0,
                    rc == -ENOENT ? "no such machine" : "database error");
        return;
    }
    if (load(&m) != 0) {
        unload(&m);
        pages_error(rep, 500, 0, "database error");
        return;
    }
    if (csv != NULL && csv[0] != '\0') {
        csv_out(&m, csv, rep);
        unload(&m);
        return;
    }
    snprintf(title, sizeof(title), "Machine %s", dev);
    memset(&l, 0, sizeof(l));
    l.title = title;
    l.active = "board";
    l.sess = env->sess;
    layout_begin(b, &l);
    day_nav(&m, b);
    section_kpi(&m, b);
    section_timeline(&m, b);
    section_hours(&m, b);
    section_pareto(&m, b);
    section_scans(&m, b);
    layout_end(b, &l, now_ms);
    layout_done(rep, 200);
    unload(&m);
}
