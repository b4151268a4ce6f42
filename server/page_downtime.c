/*
 * Downtime to be explained; see page_downtime.h.
 *
 * The stops come from dbm_intervals_json (the API's /machines/<id>/stops
 * with unexplained=1), the catalogue from dbm_json(DBM_REASONS), the write
 * goes through rollup_set_reason as the API's PUT of a stop does.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "csv.h"
#include "db_master.h"
#include "form.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "linebeat/grow.h"
#include "linebeat/log.h"
#include "linebeat/wire.h"
#include "page_downtime.h"
#include "rollup.h"

#define MACHINES_MAX 2000

struct devs {
    char (*id)[LB_ID_MAX + 1];
    size_t n, cap;
};

struct stop {
    const char *dev;
    const json_t *it;
};

static int dev_add(void *ctx, const struct db_machine *m);
static int64_t jint(const json_t *o, const char *key, int64_t dflt);
static const char *jstr(const json_t *o, const char *key);
static void post_reason(const struct pages_env *env, struct db *db, int64_t now_ms,
                        struct reply *rep);
static void reason_options(struct buf *b, const json_t *reasons);

static int dev_add(void *ctx, const struct db_machine *m)
{
    struct devs *d = ctx;

    /* Past MACHINES_MAX the rest are left out rather than failing the
     * page.  (Until 2026-11 the doubling stopped the list at 1024.) */
    if (d->n >= MACHINES_MAX)
        return 0;
    if (LB_GROW(d->id, &d->cap, d->n, 32) != 0)
        return -ENOMEM;
    snprintf(d->id[d->n++], LB_ID_MAX + 1, "%s", m->dev);
    return 0;
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

/* The catalogue's unplanned reasons as <option>s. */
static void reason_options(struct buf *b, const json_t *reasons)
{
    size_t i;

    buf_puts(b, "<option value=\"\">choose a reason</option>");
    for (i = 0; i < json_array_size(reasons); i++) {
        const json_t *r = json_array_get(reasons, i);
        const char *code = jstr(r, "code"), *name = jstr(r, "name");

        if (code == NULL)
            continue;
        buf_puts(b, "<option value=\"");
        buf_html(b, code);
        buf_puts(b, "\">");
        buf_html(b, name != NULL && name[0] ? name : code);
        if (json_is_true(json_object_get(r, "planned")))
            buf_puts(b, " (planned)");
        buf_puts(b, "</option>");
    }
}

static void post_reason(const struct pages_env *env, struct db *db, int64_t now_ms,
                        struct reply *rep)
{
    struct form f;
    const char *dev, *at_s, *reason;
    struct db *rw;
    int64_t at;
    char *end;
    int rc;

    memset(&f, 0, sizeof(f));
    if (env->sess == NULL || env->sess->role < AUTH_SUPERVISOR) {
        pages_error(rep, 403, 0, "supervisor role required");
        return;
    }
    if (env->body == NULL || form_parse(env->body, env->body_len, &f) != 0) {
        form_free(&f);
        pages_error(rep, 400, 0, "not a form");
        return;
    }
    dev = form_get(&f, "machine");
    at_s = form_get(&f, "at");
    reason = form_get(&f, "reason");
    if (dev == NULL || !lb_id_valid(dev)) {
        pages_error(rep, 400, 0, "machine: not a machine id");
        goto out;
    }
    errno = 0;
    at = at_s != NULL ? strtoll(at_s, &end, 10) : 0;
    if (at_s == NULL || at_s[0] == '\0' || errno != 0 || *end != '\0' || at < 0) {
        pages_error(rep, 400, 0, "at: not a stop's start");
        goto out;
    }
    if (reason == NULL || reason[0] == '\0' || strlen(reason) > LB_CODE_MAX ||
        !lb_id_valid(reason)) {
        pages_error(rep, 400, 0, "reason: choose a reason from the catalogue");
        goto out;
    }
    if ((rc = dbm_reason_exists(db, reason)) != 0) {
        pages_error(rep, rc == -ENOENT ? 400 : 500, 0,
                    rc == -ENOENT ? "reason: not in the catalogue" : "database error");
        goto out;
    }
    if ((rw = env->rw != NULL ? env->rw(env->ctx) : NULL) == NULL) {
        pages_error(rep, 503, 0, "database unavailable for writing");
        goto out;
    }
    if (db_begin(rw) != 0) {
        pages_error(rep, 503, 0, "database busy, try again");
        goto out;
    }
    rc = rollup_set_reason(rw, dev, at, reason, env->sess->user, now_ms);
    if (rc == 0)
        rc = db_commit(rw);
    if (rc != 0) {
        db_rollback(rw);
        pages_error(rep, rc == -ENOENT ? 404 : 500, 0,
                    rc == -ENOENT ? "no such stop" : "database error");
        goto out;
    }
    log_info("downtime: %s set reason %s for %s at %" PRId64, env->sess->user, reason,
             dev, at);
    buf_free(&rep->body);
    rep->status = 303;
    rep->type = CT_TEXT;
    rep->no_store = 1;
    reply_header(rep, "Location", "/downtime");
    buf_puts(&rep->body, "see /downtime\n");
out:
    form_free(&f);
}

void page_downtime(const struct pages_env *env, struct db *db, int64_t now_ms,
                   struct reply *rep)
{
    struct devs d = {NULL, 0, 0};
    struct buf *b = &rep->body, j;
    json_t **lists = NULL, *reasons = NULL;
    json_error_t err;
    struct layout l;
    struct csv c;
    const char *ds = env->arg ? env->arg(env->ctx, "days") : NULL;
    const char *want_csv = env->arg ? env->arg(env->ctx, "csv") : NULL;
    int64_t days = DOWNTIME_DAYS_DEFAULT, from, total_ms = 0;
    size_t i, k, nstops = 0;
    int can_edit, rc = 0;
    char *end;

    if (env->method != NULL && strcmp(env->method, "POST") == 0) {
        post_reason(env, db, now_ms, rep);
        return;
    }
    if (ds != NULL && ds[0] != '\0') {
        errno = 0;
        days = strtoll(ds, &end, 10);
        if (errno != 0 || *end != '\0' || days < 1 || days > DOWNTIME_DAYS_MAX) {
            pages_error(rep, 400, 0, "days: expected 1 to 31");
            return;
        }
    }
    from = now_ms - days * 86400000;
    if (db_machines(db, from, now_ms, dev_add, &d) != 0 ||
        (lists = calloc(d.n ? d.n : 1, sizeof(*lists))) == NULL) {
        rc = -1;
        goto out;
    }
    for (i = 0; i < d.n; i++) {
        buf_init(&j);
        rc = dbm_intervals_json(db, d.id[i], from, now_ms, 1, &j);
        if (rc == 0 && j.err == 0 && j.len > 0)
            lists[i] = json_loadb(j.p, j.len, 0, &err);
        buf_free(&j);
        if (rc != 0)
            goto out;
        nstops += json_array_size(lists[i]);
        for (k = 0; k < json_array_size(lists[i]); k++)
            total_ms += jint(json_array_get(lists[i], k), "duration_ms", 0);
    }
    if (want_csv != NULL && want_csv[0] != '\0') {
        csv_begin(&c, b);
        csv_str(&c, "machine");
        csv_str(&c, "start");
        csv_str(&c, "start_ms");
        csv_str(&c, "seconds");
        csv_str(&c, "state");
        csv_str(&c, "machine_reason");
        csv_end_row(&c);
        for (i = 0; i < d.n; i++)
            for (k = 0; k < json_array_size(lists[i]); k++) {
                const json_t *it = json_array_get(lists[i], k);

                csv_str(&c, d.id[i]);
                csv_time(&c, jint(it, "start_ms", -1));
                csv_int(&c, jint(it, "start_ms", -1));
                csv_num(&c, (double)jint(it, "duration_ms", 0) / 1000.0, 3);
                csv_str(&c, jstr(it, "state"));
                csv_str(&c, jstr(it, "machine_reason"));
                csv_end_row(&c);
            }
        csv_reply(rep, "downtime.csv");
        goto out;
    }
    buf_init(&j);
    if (dbm_json(db, DBM_REASONS, 0, NULL, &j) == 0 && j.err == 0 && j.len > 0)
        reasons = json_loadb(j.p, j.len, 0, &err);
    buf_free(&j);
    can_edit = env->sess != NULL && env->sess->role >= AUTH_SUPERVISOR;

    memset(&l, 0, sizeof(l));
    l.title = "Downtime to be explained";
    l.active = "downtime";
    l.sess = env->sess;
    layout_begin(b, &l);
    {
        char dur[32];

        layout_duration(dur, sizeof(dur), total_ms);
        buf_printf(b,
                   "<p class=\"summary\"><span><b>%zu</b> stops without a reason in "
                   "the last %" PRId64 " days, ",
                   nstops, days);
        buf_html(b, dur);
        buf_puts(b, " in all</span></p>\n<form method=\"get\" action=\"/downtime\" "
                    "class=\"noprint\"><label>days <input name=\"days\" type=\"number\" "
                    "min=\"1\" max=\"31\" value=\"");
        buf_printf(b, "%" PRId64, days);
        buf_puts(b, "\"></label> <button>Show</button></form>\n");
    }
    if (nstops == 0) {
        buf_puts(b, "<p class=\"empty\">Every stop has a reason.</p>\n");
    } else {
        if (!can_edit)
            buf_puts(b, "<p class=\"dim\">A supervisor names the reasons.</p>\n");
        if (json_array_size(reasons) == 0 && can_edit)
            buf_puts(b, "<p class=\"empty\">The reason catalogue is empty: add reasons "
                        "first (<a href=\"/api/v1/reasons\">/api/v1/reasons</a>).</p>\n");
        buf_puts(b,
                 "<div class=\"scroll\"><table class=\"t sortable\"><tr><th>machine</th>"
                 "<th>start</th><th>duration</th><th>state</th><th>machine's "
                 "reason</th><th>reason</th></tr>\n");
        for (i = 0; i < d.n; i++)
            for (k = 0; k < json_array_size(lists[i]); k++) {
                const json_t *it = json_array_get(lists[i], k);
                int64_t at = jint(it, "start_ms", -1);
                const char *mr = jstr(it, "machine_reason");
                char t[32], dur[32];

                layout_time(t, sizeof(t), at);
                layout_duration(dur, sizeof(dur), jint(it, "duration_ms", 0));
                buf_puts(b, "<tr><td><a href=\"/machines/");
                buf_html(b, d.id[i]);
                buf_puts(b, "\">");
                buf_html(b, d.id[i]);
                buf_puts(b, "</a></td><td>");
                buf_html(b, t);
                buf_puts(b, "</td><td class=\"num\">");
                buf_html(b, dur);
                buf_puts(b, "</td><td>");
                buf_html(b, jstr(it, "state") ? jstr(it, "state") : "");
                buf_puts(b, "</td><td>");
                buf_html(b, mr ? mr : "");
                buf_puts(b, "</td><td>");
                if (can_edit) {
                    buf_puts(b, "<form method=\"post\" action=\"/downtime\" "
                                "class=\"inline\">");
                    layout_csrf(b, env->sess);
                    buf_puts(b, "<input type=\"hidden\" name=\"machine\" value=\"");
                    buf_html(b, d.id[i]);
                    buf_printf(
                        b,
                        "\"><input type=\"hidden\" name=\"at\" value=\"%" PRId64
                        "\"><select name=\"reason\" required aria-label=\"reason\">",
                        at);
                    reason_options(b, reasons);
                    buf_puts(b, "</select> <button>Save</button></form>");
                } else {
                    buf_puts(b, "<span class=\"placeholder\">none yet</span>");
                }
                buf_puts(b, "</td></tr>\n");
            }
        buf_puts(b, "</table></div>\n");
    }
    buf_puts(b, "<p class=\"noprint\">");
    {
        char href[64];

        snprintf(href, sizeof(href), "/downtime?csv=1&days=%" PRId64, days);
        layout_csv_link(b, href);
    }
    buf_puts(b, " &middot; JSON per machine: <code>/api/v1/machines/ID/stops?"
                "unexplained=1&amp;from=&hellip;&amp;to=&hellip;</code></p>\n");
    layout_end(b, &l, now_ms);
    layout_done(rep, 200);
out:
    if (rc != 0)
        pages_error(rep, 500, 0, "database error");
    for (i = 0; lists != NULL && i < d.n; i++)
        json_decref(lists[i]);
    free(lists);
    json_decref(reasons);
    free(d.id);
}
