/*
 * Orders; see page_orders.h.
 *
 * The list and each order's progress are the API's answers
 * (/api/v1/orders, /api/v1/orders/ID/progress, read in process through
 * page_api.c), so ETA, good and the KPIs are the engine's.  The losses of
 * an order are kpi_pareto over each run's machine and time.
 *
 * An order a scan created (unplanned) is marked in words on the list and
 * on its page, whose form (supervisors and above) becomes the API's own
 * PUT /api/v1/orders/ID; the API clears the mark once a quantity is set.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "csv.h"
#include "form.h"
#include "kpi.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "page_api.h"
#include "page_orders.h"

#define ORDERS_PREFIX "/orders/"

struct row {
    const json_t *order;
    json_t *progress; /* NULL when it could not be read */
};

static int64_t jtime(const json_t *o, const char *key);
static int is_late(const json_t *order, const json_t *prog, int64_t now);
static void time_cell(struct buf *b, int64_t ms);
static void pct_cell(struct buf *b, const json_t *kpi, const char *key);
static json_t *progress(const struct pages_env *env, struct db *db, int64_t now,
                        int64_t id, int explain);
static void order_list(const struct pages_env *env, struct db *db, int64_t now,
                       struct reply *rep);
static void order_one(const struct pages_env *env, struct db *db, const char *number,
                      int64_t now, int status, const char *msg, struct reply *rep);
static void order_post(const struct pages_env *env, struct db *db, const char *number,
                       int64_t now, struct reply *rep);
static void edit_form(struct buf *b, const struct pages_env *env, struct db *db,
                      int64_t now, const json_t *o);
static json_t *find_order(const struct pages_env *env, struct db *db, int64_t now,
                          const char *number, const json_t **o);
static void unplanned_mark(struct buf *b);

/* The words that mark an order a scan created, for the list and the page. */
static void unplanned_mark(struct buf *b)
{
    buf_puts(b,
             " <b class=\"badge st-idle unplanned\">unplanned &mdash; to complete</b>");
}

/* The API's orders and OUT: *o, the one called number (NULL when none);
 * the list is the caller's to free (NULL: could not be read). */
static json_t *find_order(const struct pages_env *env, struct db *db, int64_t now,
                          const char *number, const json_t **o)
{
    json_t *orders = page_api_get(env, db, now, "/api/v1/orders", NULL, NULL, NULL, 0);
    size_t i;

    *o = NULL;
    for (i = 0; i < json_array_size(orders); i++) {
        const char *num = pj_str(json_array_get(orders, i), "number");

        if (num != NULL && strcmp(num, number) == 0)
            *o = json_array_get(orders, i);
    }
    return orders;
}

/* An ISO time of the API as ms, or -1. */
static int64_t jtime(const json_t *o, const char *key)
{
    const char *s = pj_str(o, key);
    int64_t ms;

    if (s == NULL || lb_parse_iso8601(s, &ms) != 0)
        return -1;
    return ms;
}

/* Late: not done and due passed, or expected to finish after its due time. */
static int is_late(const json_t *order, const json_t *prog, int64_t now)
{
    const char *st = pj_str(order, "status");
    int64_t due = jtime(order, "due"), eta = jtime(prog, "eta");

    if (due < 0 ||
        (st != NULL && (strcmp(st, "done") == 0 || strcmp(st, "cancelled") == 0)))
        return 0;
    if (pj_str(prog, "eta") != NULL && strcmp(pj_str(prog, "eta"), "done") == 0)
        return 0;
    return now > due || (eta >= 0 && eta > due);
}

static void time_cell(struct buf *b, int64_t ms)
{
    char t[32];

    layout_time(t, sizeof(t), ms);
    buf_html(b, t);
}

static void pct_cell(struct buf *b, const json_t *kpi, const char *key)
{
    const json_t *v = json_object_get(kpi, key);

    if (json_is_number(v))
        buf_printf(b, "%.1f&nbsp;%%", json_number_value(v) * 100.0);
    else
        buf_puts(b, "<span class=\"placeholder\">&ndash;</span>");
}

static json_t *progress(const struct pages_env *env, struct db *db, int64_t now,
                        int64_t id, int explain)
{
    struct page_api_args a;
    char path[64];

    memset(&a, 0, sizeof(a));
    if (explain) {
        a.name[0] = "explain";
        a.value[0] = "1";
    }
    snprintf(path, sizeof(path), "/api/v1/orders/%" PRId64 "/progress", id);
    return page_api_get(env, db, now, path, &a, NULL, NULL, 0);
}

static void order_list(const struct pages_env *env, struct db *db, int64_t now,
                       struct reply *rep)
{
    const char *want_csv = env->arg ? env->arg(env->ctx, "csv") : NULL;
    struct buf *b = &rep->body;
    struct row *rows = NULL;
    struct layout l;
    json_t *orders;
    size_t i, n;
    char why[128];
    int st;

    orders = page_api_get(env, db, now, "/api/v1/orders", NULL, &st, why, sizeof(why));
    if (orders == NULL) {
        pages_error(rep, st >= 400 ? st : 500, 0, why);
        return;
    }
    n = json_array_size(orders);
    if ((rows = calloc(n ? n : 1, sizeof(*rows))) == NULL) {
        json_decref(orders);
        pages_error(rep, 500, 0, "out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        rows[i].order = json_array_get(orders, i);
        rows[i].progress = progress(env, db, now, pj_int(rows[i].order, "id", 0), 0);
    }
    if (want_csv != NULL && want_csv[0] != '\0') {
        struct csv c;

        csv_begin(&c, b);
        csv_str(&c, "number");
        csv_str(&c, "product");
        csv_str(&c, "status");
        csv_str(&c, "quantity");
        csv_str(&c, "good");
        csv_str(&c, "scrap");
        csv_str(&c, "due");
        csv_str(&c, "eta");
        csv_str(&c, "late");
        csv_str(&c, "unplanned");
        csv_end_row(&c);
        for (i = 0; i < n; i++) {
            const json_t *o = rows[i].order, *p = rows[i].progress;

            csv_str(&c, pj_str(o, "number"));
            csv_str(&c, pj_str(o, "product"));
            csv_str(&c, pj_str(o, "status"));
            csv_int(&c, pj_int(o, "quantity", 0));
            csv_int(&c, pj_int(p, "good", 0));
            csv_int(&c, pj_int(p, "scrap", 0));
            csv_time(&c, jtime(o, "due"));
            if (pj_str(p, "eta") != NULL && strcmp(pj_str(p, "eta"), "done") == 0)
                csv_str(&c, "done");
            else
                csv_time(&c, jtime(p, "eta"));
            csv_str(&c, is_late(o, p, now) ? "late" : "");
            csv_str(&c, json_is_true(json_object_get(o, "unplanned")) ? "unplanned" : "");
            csv_end_row(&c);
        }
        csv_reply(rep, "orders.csv");
        goto out;
    }
    memset(&l, 0, sizeof(l));
    l.title = "Orders";
    l.active = "orders";
    l.sess = env->sess;
    layout_begin(b, &l);
    if (n == 0) {
        buf_puts(b, "<p class=\"empty\">No orders yet.</p>\n");
    } else {
        buf_puts(b, "<div class=\"scroll\"><table class=\"t sortable\"><tr><th>order</th>"
                    "<th>product</th><th>status</th><th>progress</th><th>good / "
                    "quantity</th><th>due</th><th>expected done</th></tr>\n");
        for (i = 0; i < n; i++) {
            const json_t *o = rows[i].order, *p = rows[i].progress;
            int64_t q = pj_int(o, "quantity", 0), good = pj_int(p, "good", 0);
            double frac = q > 0 ? (double)good / (double)q : 0.0;
            const char *eta = pj_str(p, "eta");
            int late = is_late(o, p, now);

            if (frac > 1.0)
                frac = 1.0;
            buf_printf(b, "<tr%s><td><a href=\"/orders/", late ? " class=\"late\"" : "");
            page_url(b, pj_str(o, "number") ? pj_str(o, "number") : "");
            buf_puts(b, "\">");
            buf_html(b, pj_str(o, "number") ? pj_str(o, "number") : "");
            buf_puts(b, "</a></td><td>");
            buf_html(b, pj_str(o, "product") ? pj_str(o, "product") : "");
            buf_puts(b, "</td><td>");
            buf_html(b, pj_str(o, "status") ? pj_str(o, "status") : "");
            if (json_is_true(json_object_get(o, "unplanned")))
                unplanned_mark(b);
            buf_printf(b,
                       "</td><td><svg width=\"120\" height=\"14\" role=\"img\" "
                       "aria-label=\"%.0f %%\"><rect width=\"120\" height=\"14\" "
                       "fill=\"#ddd\"/><rect width=\"%.1f\" height=\"14\" "
                       "fill=\"#2e7d32\"/></svg> %.0f&nbsp;%%</td><td class=\"num\">",
                       frac * 100, frac * 120, frac * 100);
            layout_int(b, good);
            buf_puts(b, " / ");
            layout_int(b, q);
            buf_puts(b, "</td><td>");
            time_cell(b, jtime(o, "due"));
            buf_puts(b, "</td><td>");
            if (eta != NULL && strcmp(eta, "done") == 0)
                buf_puts(b, "done");
            else if (eta != NULL)
                time_cell(b, jtime(p, "eta"));
            else
                buf_puts(b, "<span class=\"placeholder\">not running</span>");
            if (late)
                buf_puts(b, " <b class=\"badge st-down\">LATE</b>");
            buf_puts(b, "</td></tr>\n");
        }
        buf_puts(b, "</table></div>\n");
    }
    buf_puts(b, "<p class=\"noprint\">");
    layout_csv_link(b, "/orders?csv=1");
    buf_puts(b, " &middot; <a href=\"/api/v1/orders\">JSON</a></p>\n");
    layout_end(b, &l, now);
    layout_done(rep, 200);
out:
    for (i = 0; i < n; i++)
        json_decref(rows[i].progress);
    free(rows);
    json_decref(orders);
}

static void order_one(const struct pages_env *env, struct db *db, const char *number,
                      int64_t now, int status, const char *msg, struct reply *rep)
{
    const char *want_csv = env->arg ? env->arg(env->ctx, "csv") : NULL;
    struct buf *b = &rep->body;
    const json_t *o = NULL, *runs, *kpi, *tm, *cnt;
    json_t *orders, *p = NULL;
    struct kpi_losses losses = {0};
    struct layout l;
    char title[160], href[96], dur[32];
    size_t i, n;
    int64_t id, ideal_per_part = 0;

    buf_free(b);
    buf_init(b);
    orders = find_order(env, db, now, number, &o);
    if (o == NULL) {
        json_decref(orders);
        pages_error(rep, orders == NULL ? 500 : 404, 0,
                    orders == NULL ? "database error" : "no such order");
        return;
    }
    id = pj_int(o, "id", 0);
    if ((p = progress(env, db, now, id, 1)) == NULL) {
        json_decref(orders);
        pages_error(rep, 500, 0, "database error");
        return;
    }
    runs = json_object_get(p, "runs");
    kpi = json_object_get(p, "kpi");
    tm = json_object_get(kpi, "time_ms");
    cnt = json_object_get(kpi, "counts");
    for (i = 0; i < json_array_size(runs); i++) {
        const json_t *r = json_array_get(runs, i);
        int64_t s = jtime(r, "start"), e = jtime(r, "end");

        if (e < 0 || e > now)
            e = now;
        if (pj_str(r, "machine") != NULL && e > s &&
            kpi_pareto(db, pj_str(r, "machine"), s, e, now, &losses) != 0) {
            kpi_losses_free(&losses);
            json_decref(p);
            json_decref(orders);
            pages_error(rep, 500, 0, "database error");
            return;
        }
    }
    kpi_losses_sort(&losses);
    if (want_csv != NULL && want_csv[0] != '\0') {
        struct csv c;

        csv_begin(&c, b);
        csv_str(&c, "machine");
        csv_str(&c, "start");
        csv_str(&c, "end");
        csv_str(&c, "good");
        csv_str(&c, "scrap");
        csv_end_row(&c);
        for (i = 0; i < json_array_size(runs); i++) {
            const json_t *r = json_array_get(runs, i);

            csv_str(&c, pj_str(r, "machine"));
            csv_time(&c, jtime(r, "start"));
            csv_time(&c, jtime(r, "end"));
            csv_int(&c, pj_int(r, "good", 0));
            csv_int(&c, pj_int(r, "scrap", 0));
            csv_end_row(&c);
        }
        csv_reply(rep, "order-runs.csv");
        goto out;
    }
    snprintf(title, sizeof(title), "Order %s", number);
    memset(&l, 0, sizeof(l));
    l.title = title;
    l.active = "orders";
    l.sess = env->sess;
    layout_begin(b, &l);
    buf_puts(b, "<p><a href=\"/orders\">all orders</a> &middot; product ");
    buf_html(b, pj_str(o, "product") ? pj_str(o, "product") : "none");
    buf_puts(b, " &middot; status ");
    buf_html(b, pj_str(o, "status") ? pj_str(o, "status") : "");
    if (is_late(o, p, now))
        buf_puts(b, " <b class=\"badge st-down\">LATE</b>");
    if (json_is_true(json_object_get(o, "unplanned")))
        unplanned_mark(b);
    buf_puts(b, "</p>\n");
    if (msg != NULL) {
        buf_puts(b, "<p class=\"error\" role=\"alert\">");
        buf_html(b, msg);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "<table class=\"kpi\"><tr><th>quantity</th><th>good</th><th>scrap"
                "</th><th>remaining</th><th>due</th><th>expected done</th></tr><tr>"
                "<td class=\"num\">");
    layout_int(b, pj_int(p, "quantity", 0));
    buf_printf(b, "</td><td class=\"num\" id=\"good\" data-good=\"%" PRId64 "\">",
               pj_int(p, "good", 0));
    layout_int(b, pj_int(p, "good", 0));
    buf_puts(b, "</td><td class=\"num\">");
    layout_int(b, pj_int(p, "scrap", 0));
    buf_puts(b, "</td><td class=\"num\">");
    layout_int(b, pj_int(p, "remaining", 0));
    buf_puts(b, "</td><td>");
    time_cell(b, jtime(o, "due"));
    buf_puts(b, "</td><td>");
    if (pj_str(p, "eta") != NULL && strcmp(pj_str(p, "eta"), "done") == 0)
        buf_puts(b, "done");
    else
        time_cell(b, jtime(p, "eta"));
    buf_puts(b, "</td></tr></table>\n");

    /* Time used against the time the parts should take at the ideal cycle. */
    n = (size_t)(pj_int(cnt, "total", 0) + pj_int(cnt, "outside_good", 0) +
                 pj_int(cnt, "outside_scrap", 0));
    if (pj_int(cnt, "total", 0) > 0)
        ideal_per_part = pj_int(cnt, "ideal_ms", 0) / pj_int(cnt, "total", 0);
    buf_puts(b, "<h2>Time</h2>\n<table class=\"kpi\"><tr><th>time used</th><th>planned "
                "(quantity &times; ideal cycle)</th><th>A</th><th>P</th><th>Q</th>"
                "<th>OEE</th></tr><tr><td class=\"num\">");
    layout_duration(dur, sizeof(dur), pj_int(p, "run_ms", 0));
    buf_html(b, dur);
    buf_puts(b, "</td><td class=\"num\">");
    if (ideal_per_part > 0) {
        layout_duration(dur, sizeof(dur), ideal_per_part * pj_int(p, "quantity", 0));
        buf_html(b, dur);
    } else {
        buf_puts(b, "<span class=\"placeholder\">no ideal cycle time</span>");
    }
    buf_puts(b, "</td><td class=\"num\">");
    pct_cell(b, kpi, "availability");
    buf_puts(b, "</td><td class=\"num\">");
    pct_cell(b, kpi, "performance");
    buf_puts(b, "</td><td class=\"num\">");
    pct_cell(b, kpi, "quality");
    buf_puts(b, "</td><td class=\"num\">");
    pct_cell(b, kpi, "oee");
    buf_puts(b, "</td></tr></table>\n<p class=\"dim\">A, P, Q and OEE count the runs' "
                "planned busy time; good and scrap count every part of the runs (");
    buf_printf(b, "%zu parts).</p>\n", n);
    buf_puts(b, "<h2>Losses</h2>\n<table class=\"t\"><tr><th>loss</th><th>time</th>"
                "</tr>\n");
    {
        static const char *const keys[] = {"setup", "down", "unexplained", "micro_stops",
                                           "unknown"};
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            layout_duration(dur, sizeof(dur), pj_int(tm, keys[i], 0));
            buf_puts(b, "<tr><td>");
            buf_html(b, keys[i]);
            buf_puts(b, "</td><td class=\"num\">");
            buf_html(b, dur);
            buf_puts(b, "</td></tr>\n");
        }
    }
    buf_puts(b, "</table>\n");
    if (losses.n > 0) {
        buf_puts(b, "<table class=\"t\"><tr><th>reason</th><th>stops</th><th>time</th>"
                    "</tr>\n");
        for (i = 0; i < losses.n; i++) {
            layout_duration(dur, sizeof(dur), losses.v[i].ms);
            buf_puts(b, "<tr><td>");
            buf_html(b, losses.v[i].reason[0] ? losses.v[i].reason
                                              : kpi_cat_name(losses.v[i].cat));
            buf_printf(b, "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">",
                       losses.v[i].count);
            buf_html(b, dur);
            buf_puts(b, "</td></tr>\n");
        }
        buf_puts(b, "</table>\n");
    }
    buf_puts(b, "<h2>Runs</h2>\n");
    if (json_array_size(runs) == 0) {
        buf_puts(b, "<p class=\"empty\">Not started on any machine.</p>\n");
    } else {
        buf_puts(b, "<table class=\"t sortable\"><tr><th>machine</th><th>start</th>"
                    "<th>end</th><th>good</th><th>scrap</th></tr>\n");
        for (i = 0; i < json_array_size(runs); i++) {
            const json_t *r = json_array_get(runs, i);
            const char *m = pj_str(r, "machine") ? pj_str(r, "machine") : "";

            buf_puts(b, "<tr><td><a href=\"/machines/");
            buf_html(b, m);
            buf_puts(b, "\">");
            buf_html(b, m);
            buf_puts(b, "</a></td><td>");
            time_cell(b, jtime(r, "start"));
            buf_puts(b, "</td><td>");
            if (jtime(r, "end") < 0)
                buf_puts(b, "running");
            else
                time_cell(b, jtime(r, "end"));
            buf_puts(b, "</td><td class=\"num\">");
            layout_int(b, pj_int(r, "good", 0));
            buf_puts(b, "</td><td class=\"num\">");
            layout_int(b, pj_int(r, "scrap", 0));
            buf_puts(b, "</td></tr>\n");
        }
        buf_puts(b, "</table>\n");
    }
    buf_puts(b, "<p class=\"noprint\">");
    snprintf(href, sizeof(href), "/api/v1/orders/%" PRId64 "/progress?explain=1", id);
    buf_puts(b, "<a href=\"?csv=1\" download>Download CSV</a> &middot; <a href=\"");
    buf_html(b, href);
    buf_puts(b, "\">JSON</a></p>\n");
    if (env->sess != NULL && env->sess->role >= AUTH_SUPERVISOR)
        edit_form(b, env, db, now, o);
    layout_end(b, &l, now);
    layout_done(rep, status);
out:
    kpi_losses_free(&losses);
    json_decref(p);
    json_decref(orders);
}

/* The order's data for a supervisor: for an unplanned order what the scan
 * could not say (quantity, product, due), else the same as a change. */
static void edit_form(struct buf *b, const struct pages_env *env, struct db *db,
                      int64_t now, const json_t *o)
{
    int unplanned = json_is_true(json_object_get(o, "unplanned"));
    const char *prod = pj_str(o, "product");
    json_t *products;
    char due[24];
    size_t i;

    products = page_api_get(env, db, now, "/api/v1/products", NULL, NULL, NULL, 0);
    buf_puts(b, unplanned ? "<h2 id=\"complete\">Complete this order</h2>\n<p>A scan "
                            "started it; set its quantity (and product and due time "
                            "if known) to plan it.</p>\n"
                          : "<h2 id=\"complete\">Change this order</h2>\n");
    buf_puts(b, "<form method=\"post\" action=\"/orders/");
    page_url(b, pj_str(o, "number") ? pj_str(o, "number") : "");
    buf_puts(b, "\" class=\"noprint box\">");
    layout_csrf(b, env->sess);
    buf_puts(b, "<label>number <input name=\"number\" maxlength=\"64\" value=\"");
    buf_html(b, pj_str(o, "number") ? pj_str(o, "number") : "");
    buf_printf(b,
               "\"></label> <label>quantity <input name=\"quantity\" type=\"number\" "
               "min=\"1\" max=\"1000000000\"%s value=\"",
               unplanned ? " required" : "");
    if (pj_int(o, "quantity", 0) > 0)
        buf_printf(b, "%" PRId64, pj_int(o, "quantity", 0));
    buf_puts(b,
             "\"></label> <label>product <select name=\"product\"><option value=\"\">");
    buf_puts(b, prod ? "(unchanged)" : "(none)");
    buf_puts(b, "</option>");
    for (i = 0; i < json_array_size(products); i++) {
        const char *code = pj_str(json_array_get(products, i), "code");

        if (code == NULL)
            continue;
        buf_puts(b, "<option value=\"");
        buf_html(b, code);
        buf_puts(b, prod && strcmp(prod, code) == 0 ? "\" selected>" : "\">");
        buf_html(b, code);
        if (pj_str(json_array_get(products, i), "name") != NULL) {
            buf_puts(b, " &ndash; ");
            buf_html(b, pj_str(json_array_get(products, i), "name"));
        }
        buf_puts(b, "</option>");
    }
    layout_local_input(due, sizeof(due), jtime(o, "due"));
    buf_puts(b,
             "</select></label> <label>due <input name=\"due\" type=\"datetime-local\" "
             "value=\"");
    buf_html(b, due);
    buf_puts(b, unplanned ? "\"></label> <button>Complete order</button></form>\n"
                          : "\"></label> <button>Save order</button></form>\n");
    json_decref(products);
}

/* The form of edit_form: becomes PUT /api/v1/orders/ID (the API checks
 * and answers); an unplanned order needs its quantity.  303 back to the
 * order's page (its number may have changed), or the page with the error. */
static void order_post(const struct pages_env *env, struct db *db, const char *number,
                       int64_t now, struct reply *rep)
{
    const char *num, *qty, *prod, *due;
    const json_t *o = NULL;
    json_t *orders = NULL, *body = NULL;
    char path[64], why[256];
    struct form f;
    int64_t ms;
    long long q;
    char *end;
    int st;

    memset(&f, 0, sizeof(f));
    orders = find_order(env, db, now, number, &o);
    if (o == NULL) {
        pages_error(rep, orders == NULL ? 500 : 404, 0,
                    orders == NULL ? "database error" : "no such order");
        goto out;
    }
    if (env->body == NULL || form_parse(env->body, env->body_len, &f) != 0) {
        order_one(env, db, number, now, 400, "not a form", rep);
        goto out;
    }
    num = form_get(&f, "number");
    qty = form_get(&f, "quantity");
    prod = form_get(&f, "product");
    due = form_get(&f, "due");
    if ((body = json_object()) == NULL) {
        pages_error(rep, 500, 0, "out of memory");
        goto out;
    }
    if (num != NULL && num[0] != '\0' && strcmp(num, number) != 0)
        json_object_set_new(body, "number", json_string(num));
    if (qty != NULL && qty[0] != '\0') {
        errno = 0;
        q = strtoll(qty, &end, 10);
        if (errno != 0 || *end != '\0') {
            order_one(env, db, number, now, 400, "quantity: not a whole number", rep);
            goto out;
        }
        if (q < 1 && json_is_true(json_object_get(o, "unplanned"))) {
            order_one(env, db, number, now, 400,
                      "quantity: at least 1 to complete an unplanned order", rep);
            goto out;
        }
        json_object_set_new(body, "quantity", json_integer(q));
    } else if (json_is_true(json_object_get(o, "unplanned"))) {
        order_one(env, db, number, now, 400,
                  "quantity: needed to complete an unplanned order", rep);
        goto out;
    }
    if (prod != NULL && prod[0] != '\0')
        json_object_set_new(body, "product", json_string(prod));
    if (due != NULL && due[0] != '\0') {
        if (layout_parse_local(due, &ms) == 0)
            json_object_set_new(body, "due", json_integer(ms));
        else
            json_object_set_new(body, "due", json_string(due)); /* the API says why */
    }
    snprintf(path, sizeof(path), "/api/v1/orders/%" PRId64, pj_int(o, "id", 0));
    why[0] = '\0';
    st = page_api_write(env, db, now, "PUT", path, body, why, sizeof(why));
    if (st >= 400) {
        order_one(env, db, number, now, st, why, rep);
        goto out;
    }
    buf_free(&rep->body);
    buf_init(&rep->body);
    rep->status = 303;
    rep->type = CT_TEXT;
    rep->no_store = 1;
    {
        struct buf loc;

        buf_init(&loc);
        buf_puts(&loc, ORDERS_PREFIX);
        page_url(&loc, json_object_get(body, "number") ? num : number);
        if (loc.err == 0 && loc.len < REPLY_HEADER_VALUE)
            reply_header(rep, "Location", loc.p);
        else
            reply_header(rep, "Location", "/orders");
        buf_free(&loc);
    }
    buf_puts(&rep->body, "see the order\n");
out:
    json_decref(body);
    json_decref(orders);
    form_free(&f);
}

void page_orders(const struct pages_env *env, struct db *db, int64_t now_ms,
                 struct reply *rep)
{
    const char *path = env->path != NULL ? env->path : "/orders";
    int post = env->method != NULL && strcmp(env->method, "POST") == 0;

    if (strncmp(path, ORDERS_PREFIX, strlen(ORDERS_PREFIX)) == 0 &&
        path[strlen(ORDERS_PREFIX)] != '\0') {
        if (post)
            order_post(env, db, path + strlen(ORDERS_PREFIX), now_ms, rep);
        else
            order_one(env, db, path + strlen(ORDERS_PREFIX), now_ms, 200, NULL, rep);
    } else if (post) {
        pages_error(rep, 405, 0, "method not allowed");
    } else {
        order_list(env, db, now_ms, rep);
    }
}
