/*
 * Master data and calendar forms; see page_admin.h.
 *
 * A form's "what" names the API write it becomes; its other fields become
 * the JSON body (numbers for the numeric fields, a boolean for
 * "planned", a plant-local date and time as ms, empty fields left out), so
 * the API checks them and answers with its own message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "csv.h"
#include "form.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "linebeat/wire.h"
#include "page_admin.h"
#include "page_api.h"

#define MASTER_PATH   "/admin/master"
#define CALENDAR_PATH "/admin/calendar"

enum admin_page { PG_MASTER, PG_CALENDAR };

struct write {
    enum admin_page page;
    const char *what, *method;
    const char *path; /* with a key: the prefix the key follows */
    const char *key;  /* the field naming the row, or NULL */
    const char *const fields[8];
};

static const struct write writes[] = {
    {PG_MASTER, "line", "POST", "/api/v1/lines", NULL, {"name", "site", NULL}},
    {PG_MASTER,
     "machine",
     "PUT",
     "/api/v1/machines/",
     "machine",
     {"name", "line_id", "ideal_cycle_ms", NULL}},
    {PG_MASTER,
     "product",
     "POST",
     "/api/v1/products",
     NULL,
     {"code", "name", "ideal_cycle_ms", NULL}},
    {PG_MASTER,
     "reason",
     "POST",
     "/api/v1/reasons",
     NULL,
     {"code", "name", "planned", NULL}},
    {PG_MASTER,
     "shift",
     "POST",
     "/api/v1/shifts",
     NULL,
     {"line_id", "name", "weekday", "start", "end", "valid_from", NULL}},
    {PG_CALENDAR,
     "pstop",
     "POST",
     "/api/v1/planned-stops",
     NULL,
     {"line_id", "name", "kind", "weekday", "start", "end", "valid_from", NULL}},
    {PG_CALENDAR,
     "pstop_once",
     "POST",
     "/api/v1/planned-stops",
     NULL,
     {"line_id", "name", "kind", "start_at", "end_at", NULL}},
    {PG_CALENDAR, "pstop_delete", "DELETE", "/api/v1/planned-stops/", "id", {NULL}},
    {PG_CALENDAR,
     "day",
     "POST",
     "/api/v1/calendar-days",
     NULL,
     {"line_id", "day", "kind", "name", "start", "end", NULL}},
    {PG_CALENDAR, "day_delete", "DELETE", "/api/v1/calendar-days/", "id", {NULL}},
};
#define NWRITES (sizeof(writes) / sizeof(writes[0]))

static int numeric(const char *field);
static int row_id_ok(const char *s);
static void post(const struct pages_env *env, struct db *db, enum admin_page pg,
                 int64_t now, struct reply *rep);
static void render(const struct pages_env *env, struct db *db, int64_t now, int status,
                   const char *msg, struct reply *rep);
static void render_calendar(const struct pages_env *env, struct db *db, int64_t now,
                            int status, const char *msg, struct reply *rep);
static void rerender(const struct pages_env *env, struct db *db, enum admin_page pg,
                     int64_t now, int status, const char *msg, struct reply *rep);
static void list(struct buf *b, const struct pages_env *env, const json_t *rows,
                 const char *const *cols, const char *remove);
static int list_csv(const char *want, const char *name, const json_t *rows,
                    const char *const *cols, struct reply *rep);
static void admin_links(struct buf *b, enum admin_page pg);
static void form_open(struct buf *b, const struct pages_env *env, const char *action,
                      const char *what);
static void input(struct buf *b, const char *name, const char *label, const char *type,
                  const char *value);
static void weekday_select(struct buf *b, int every_day);

static int numeric(const char *field)
{
    return strcmp(field, "line_id") == 0 || strcmp(field, "ideal_cycle_ms") == 0 ||
           strcmp(field, "weekday") == 0;
}

/* A calendar row's id: 1 to 18 digits. */
static int row_id_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (s[i] < '0' || s[i] > '9' || i >= 18)
            return 0;
    return i > 0;
}

static void post(const struct pages_env *env, struct db *db, enum admin_page pg,
                 int64_t now, struct reply *rep)
{
    const char *self = pg == PG_CALENDAR ? CALENDAR_PATH : MASTER_PATH;
    const struct write *w = NULL;
    struct form f;
    const char *what, *key = NULL;
    json_t *body = NULL;
    char path[128], why[256];
    size_t i;
    int st;

    memset(&f, 0, sizeof(f));
    if (env->body == NULL || form_parse(env->body, env->body_len, &f) != 0) {
        form_free(&f);
        rerender(env, db, pg, now, 400, "not a form", rep);
        return;
    }
    what = form_get(&f, "what");
    for (i = 0; what != NULL && i < NWRITES; i++)
        if (writes[i].page == pg && strcmp(writes[i].what, what) == 0)
            w = &writes[i];
    if (w == NULL) {
        rerender(env, db, pg, now, 400,
                 pg == PG_CALENDAR
                     ? "what: expected pstop, pstop_once, pstop_delete, day or day_delete"
                     : "what: expected line, machine, product, reason or shift",
                 rep);
        goto out;
    }
    if (w->key != NULL) {
        int is_id = strcmp(w->key, "id") == 0;

        key = form_get(&f, w->key);
        if (key == NULL || (is_id ? !row_id_ok(key) : !lb_id_valid(key))) {
            rerender(env, db, pg, now, 400,
                     is_id ? "id: not a row id" : "machine: not a machine id", rep);
            goto out;
        }
        snprintf(path, sizeof(path), "%s%s", w->path, key);
    } else {
        snprintf(path, sizeof(path), "%s", w->path);
    }
    if (w->fields[0] != NULL && (body = json_object()) == NULL) {
        rerender(env, db, pg, now, 500, "out of memory", rep);
        goto out;
    }
    for (i = 0; w->fields[i] != NULL; i++) {
        const char *v = form_get(&f, w->fields[i]);
        char *end;
        long long n;
        int64_t ms;

        if (strcmp(w->fields[i], "planned") == 0) {
            json_object_set_new(body, "planned", json_boolean(v != NULL && v[0] != '\0'));
            continue;
        }
        if (v == NULL || v[0] == '\0')
            continue;
        if (numeric(w->fields[i])) {
            errno = 0;
            n = strtoll(v, &end, 10);
            if (errno != 0 || *end != '\0') {
                snprintf(why, sizeof(why), "%s: not a whole number", w->fields[i]);
                rerender(env, db, pg, now, 400, why, rep);
                goto out;
            }
            json_object_set_new(body, w->fields[i], json_integer(n));
        } else if (strcmp(w->fields[i] + strlen(w->fields[i]) - 3, "_at") == 0 &&
                   layout_parse_local(v, &ms) == 0) {
            json_object_set_new(body, w->fields[i], json_integer(ms));
        } else {
            json_object_set_new(body, w->fields[i], json_string(v));
        }
    }
    why[0] = '\0';
    st = page_api_write(env, db, now, w->method, path, body, why, sizeof(why));
    if (st >= 400) {
        rerender(env, db, pg, now, st, why, rep);
        goto out;
    }
    buf_free(&rep->body);
    rep->status = 303;
    rep->type = CT_TEXT;
    rep->no_store = 1;
    reply_header(rep, "Location", self);
    buf_puts(&rep->body, "see ");
    buf_puts(&rep->body, self);
    buf_puts(&rep->body, "\n");
out:
    json_decref(body);
    form_free(&f);
}

static void rerender(const struct pages_env *env, struct db *db, enum admin_page pg,
                     int64_t now, int status, const char *msg, struct reply *rep)
{
    if (pg == PG_CALENDAR)
        render_calendar(env, db, now, status, msg, rep);
    else
        render(env, db, now, status, msg, rep);
}

/* rows as a table of cols; with remove (a form's "what"), each row not
 * yet ended (no valid_to) gets a form posting it with the row's id. */
static void list(struct buf *b, const struct pages_env *env, const json_t *rows,
                 const char *const *cols, const char *remove)
{
    size_t i, k;

    if (json_array_size(rows) == 0) {
        buf_puts(b, "<p class=\"empty\">None yet.</p>\n");
        return;
    }
    buf_puts(b, "<div class=\"scroll\"><table class=\"t sortable\"><tr>");
    for (k = 0; cols[k] != NULL; k++) {
        buf_puts(b, "<th>");
        buf_html(b, cols[k]);
        buf_puts(b, "</th>");
    }
    if (remove != NULL)
        buf_puts(b, "<th class=\"noprint\"></th>");
    buf_puts(b, "</tr>\n");
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);

        buf_puts(b, "<tr>");
        for (k = 0; cols[k] != NULL; k++) {
            const json_t *v = json_object_get(r, cols[k]);
            size_t klen = strlen(cols[k]);
            char num[48] = "";
            int64_t ms;

            buf_puts(b, "<td>");
            if (json_is_string(v) && klen > 3 && strcmp(cols[k] + klen - 3, "_at") == 0 &&
                lb_parse_iso8601(json_string_value(v), &ms) == 0)
                layout_time(num, sizeof(num), ms); /* the plant's time, not UTC */
            else if (json_is_string(v))
                buf_html(b, json_string_value(v));
            else if (json_is_integer(v))
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
            else if (json_is_boolean(v))
                snprintf(num, sizeof(num), "%s", json_is_true(v) ? "yes" : "no");
            else if (json_is_array(v))
                snprintf(num, sizeof(num), "%zu", json_array_size(v));
            buf_html(b, num);
            buf_puts(b, "</td>");
        }
        if (remove != NULL) {
            buf_puts(b, "<td class=\"noprint\">");
            if (json_is_string(json_object_get(r, "valid_to"))) {
                buf_puts(b, "ended");
            } else {
                buf_puts(b,
                         "<form class=\"inline\" method=\"post\" action=\"" CALENDAR_PATH
                         "\">");
                layout_csrf(b, env->sess);
                buf_puts(b, "<input type=\"hidden\" name=\"what\" value=\"");
                buf_html(b, remove);
                buf_printf(b,
                           "\"><input type=\"hidden\" name=\"id\" value=\"%" PRId64
                           "\"><button>Remove</button></form>",
                           pj_int(r, "id", 0));
            }
            buf_puts(b, "</td>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</table></div>\n");
}

/* When want is name: rows as CSV (the list's twin) into rep; returns 1
 * when it answered. */
static int list_csv(const char *want, const char *name, const json_t *rows,
                    const char *const *cols, struct reply *rep)
{
    char fname[48];
    struct csv c;
    size_t i, k;

    if (want == NULL || strcmp(want, name) != 0)
        return 0;
    buf_free(&rep->body);
    buf_init(&rep->body);
    csv_begin(&c, &rep->body);
    for (k = 0; cols[k] != NULL; k++)
        csv_str(&c, cols[k]);
    csv_end_row(&c);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);

        for (k = 0; cols[k] != NULL; k++) {
            const json_t *v = json_object_get(r, cols[k]);
            size_t klen = strlen(cols[k]);
            int64_t ms;

            if (json_is_string(v) && klen > 3 && strcmp(cols[k] + klen - 3, "_at") == 0 &&
                lb_parse_iso8601(json_string_value(v), &ms) == 0)
                csv_time(&c, ms);
            else if (json_is_string(v))
                csv_str(&c, json_string_value(v));
            else if (json_is_integer(v))
                csv_int(&c, (int64_t)json_integer_value(v));
            else if (json_is_boolean(v))
                csv_str(&c, json_is_true(v) ? "yes" : "no");
            else if (json_is_array(v))
                csv_int(&c, (int64_t)json_array_size(v));
            else
                csv_str(&c, NULL);
        }
        csv_end_row(&c);
    }
    snprintf(fname, sizeof(fname), "%s.csv", name);
    csv_reply(rep, fname);
    return 1;
}

static void admin_links(struct buf *b, enum admin_page pg)
{
    buf_puts(b, "<p class=\"noprint\">");
    buf_puts(b, pg == PG_MASTER ? "<b>Master data</b>"
                                : "<a href=\"" MASTER_PATH "\">Master data</a>");
    buf_puts(b, " &middot; ");
    buf_puts(b, pg == PG_CALENDAR ? "<b>Planned stops and calendar days</b>"
                                  : "<a href=\"" CALENDAR_PATH
                                    "\">Planned stops and calendar days</a>");
    buf_puts(b, " &middot; <a href=\"/admin/tokens\">Board links</a> &middot; <a "
                "href=\"/admin/users\">Users</a></p>\n");
}

static void form_open(struct buf *b, const struct pages_env *env, const char *action,
                      const char *what)
{
    buf_puts(b, "<form method=\"post\" action=\"");
    buf_html(b, action);
    buf_puts(b, "\" class=\"noprint\">");
    layout_csrf(b, env->sess);
    buf_puts(b, "<input type=\"hidden\" name=\"what\" value=\"");
    buf_html(b, what);
    buf_puts(b, "\">");
}

static void input(struct buf *b, const char *name, const char *label, const char *type,
                  const char *value)
{
    buf_puts(b, "<label>");
    buf_html(b, label);
    buf_puts(b, " <input name=\"");
    buf_html(b, name);
    buf_puts(b, "\" type=\"");
    buf_html(b, type);
    buf_puts(b, "\" value=\"");
    buf_html(b, value ? value : "");
    buf_puts(b, "\"></label> ");
}

static void render(const struct pages_env *env, struct db *db, int64_t now, int status,
                   const char *msg, struct reply *rep)
{
    static const char *const lcols[] = {"id", "name", "site", "machines", NULL};
    static const char *const pcols[] = {"id", "code", "name", "ideal_cycle_ms", NULL};
    static const char *const rcols[] = {"code",    "name",     "kind",
                                        "planned", "category", NULL};
    static const char *const scols[] = {"id",         "line_id",  "name",
                                        "weekday",    "start",    "end",
                                        "valid_from", "valid_to", NULL};
    const char *want = env->arg ? env->arg(env->ctx, "csv") : NULL;
    struct buf *b = &rep->body;
    json_t *lines, *machines, *products, *reasons, *shifts;
    struct layout l;
    size_t i;

    buf_free(b);
    buf_init(b);
    lines = page_api_get(env, db, now, "/api/v1/lines", NULL, NULL, NULL, 0);
    machines = page_api_get(env, db, now, "/api/v1/machines", NULL, NULL, NULL, 0);
    products = page_api_get(env, db, now, "/api/v1/products", NULL, NULL, NULL, 0);
    reasons = page_api_get(env, db, now, "/api/v1/reasons", NULL, NULL, NULL, 0);
    shifts = page_api_get(env, db, now, "/api/v1/shifts", NULL, NULL, NULL, 0);
    if (status == 200 && want != NULL && want[0] != '\0') {
        if (!list_csv(want, "lines", lines, lcols, rep) &&
            !list_csv(want, "products", products, pcols, rep) &&
            !list_csv(want, "shifts", shifts, scols, rep) &&
            !list_csv(want, "reasons", reasons, rcols, rep))
            pages_error(rep, 400, 0, "csv: expected lines, products, shifts or reasons");
        goto out;
    }
    memset(&l, 0, sizeof(l));
    l.title = "Master data";
    l.active = "master";
    l.sess = env->sess;
    layout_begin(b, &l);
    admin_links(b, PG_MASTER);
    if (msg != NULL) {
        buf_puts(b, "<p class=\"error\" role=\"alert\">");
        buf_html(b, msg);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "<h2>Lines</h2>\n");
    list(b, env, lines, lcols, NULL);
    form_open(b, env, MASTER_PATH, "line");
    input(b, "name", "name", "text", NULL);
    input(b, "site", "site", "text", NULL);
    buf_puts(b, "<button>Add line</button></form>\n<h2>Machines</h2>\n");
    if (json_array_size(machines) == 0)
        buf_puts(b,
                 "<p class=\"empty\">Machines appear when their agent connects.</p>\n");
    for (i = 0; i < json_array_size(machines); i++) {
        const char *dev = pj_str(json_array_get(machines, i), "id");

        if (dev == NULL)
            continue;
        form_open(b, env, MASTER_PATH, "machine");
        buf_puts(b, "<input type=\"hidden\" name=\"machine\" value=\"");
        buf_html(b, dev);
        buf_puts(b, "\"><b><a href=\"/machines/");
        buf_html(b, dev);
        buf_puts(b, "\">");
        buf_html(b, dev);
        buf_puts(b, "</a></b> ");
        input(b, "name", "name", "text", NULL);
        input(b, "line_id", "line id", "number", NULL);
        input(b, "ideal_cycle_ms", "ideal cycle ms", "number", NULL);
        buf_puts(b, "<button>Save</button></form>\n");
    }
    buf_puts(b, "<h2>Products and ideal cycle times</h2>\n");
    list(b, env, products, pcols, NULL);
    form_open(b, env, MASTER_PATH, "product");
    input(b, "code", "code", "text", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "ideal_cycle_ms", "ideal cycle ms", "number", NULL);
    buf_puts(b,
             "<button>Add or change product</button></form>\n<h2>Shift calendar</h2>\n");
    list(b, env, shifts, scols, NULL);
    form_open(b, env, MASTER_PATH, "shift");
    input(b, "line_id", "line id", "number", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "weekday", "weekday (1 Mon - 7 Sun)", "number", NULL);
    input(b, "start", "start", "time", NULL);
    input(b, "end", "end", "time", NULL);
    input(b, "valid_from", "valid from", "date", NULL);
    buf_puts(b, "<button>Add shift</button></form>\n<h2>Reasons</h2>\n");
    list(b, env, reasons, rcols, NULL);
    form_open(b, env, MASTER_PATH, "reason");
    input(b, "code", "code", "text", NULL);
    input(b, "name", "name", "text", NULL);
    buf_puts(b, "<label><input type=\"checkbox\" name=\"planned\" value=\"1\"> planned"
                "</label> <button>Add or change reason</button></form>\n"
                "<p class=\"noprint\">JSON: <a href=\"/api/v1/lines\">lines</a>, <a "
                "href=\"/api/v1/machines\">machines</a>, <a href=\"/api/v1/products\">"
                "products</a>, <a href=\"/api/v1/shifts\">shifts</a>, <a "
                "href=\"/api/v1/reasons\">reasons</a> &middot; CSV: <a "
                "href=\"?csv=lines\" download>lines</a>, <a href=\"?csv=products\" "
                "download>products</a>, <a href=\"?csv=shifts\" download>shifts</a>, <a "
                "href=\"?csv=reasons\" download>reasons</a></p>\n");
    layout_end(b, &l, now);
    layout_done(rep, status);
out:
    json_decref(lines);
    json_decref(machines);
    json_decref(products);
    json_decref(reasons);
    json_decref(shifts);
}

static void weekday_select(struct buf *b, int every_day)
{
    static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    int i;

    buf_puts(b, "<label>weekday <select name=\"weekday\">");
    if (every_day)
        buf_puts(b, "<option value=\"0\">every day</option>");
    for (i = 0; i < 7; i++)
        buf_printf(b, "<option value=\"%d\">%s</option>", i + 1, names[i]);
    buf_puts(b, "</select></label> ");
}

static void render_calendar(const struct pages_env *env, struct db *db, int64_t now,
                            int status, const char *msg, struct reply *rep)
{
    static const char *const pcols[] = {"id",      "line_id",    "name",     "kind",
                                        "weekday", "start",      "end",      "start_at",
                                        "end_at",  "valid_from", "valid_to", NULL};
    static const char *const dcols[] = {"id",   "line_id", "day", "kind",
                                        "name", "start",   "end", NULL};
    const char *want = env->arg ? env->arg(env->ctx, "csv") : NULL;
    struct buf *b = &rep->body;
    json_t *lines, *pstops, *days;
    struct layout l;
    size_t i;

    buf_free(b);
    buf_init(b);
    lines = page_api_get(env, db, now, "/api/v1/lines", NULL, NULL, NULL, 0);
    pstops = page_api_get(env, db, now, "/api/v1/planned-stops", NULL, NULL, NULL, 0);
    days = page_api_get(env, db, now, "/api/v1/calendar-days", NULL, NULL, NULL, 0);
    if (pstops == NULL || days == NULL) {
        pages_error(rep, 500, 0, "database error");
        goto out;
    }
    if (status == 200 && want != NULL && want[0] != '\0') {
        if (!list_csv(want, "planned-stops", pstops, pcols, rep) &&
            !list_csv(want, "calendar-days", days, dcols, rep))
            pages_error(rep, 400, 0, "csv: expected planned-stops or calendar-days");
        goto out;
    }
    memset(&l, 0, sizeof(l));
    l.title = "Planned stops and calendar days";
    l.active = "master";
    l.sess = env->sess;
    layout_begin(b, &l);
    admin_links(b, PG_CALENDAR);
    if (msg != NULL) {
        buf_puts(b, "<p class=\"error\" role=\"alert\">");
        buf_html(b, msg);
        buf_puts(b, "</p>\n");
    }
    /* Line ids are what the forms take; name them so nobody has to look. */
    buf_puts(b, "<p class=\"dim\">Line ids: ");
    for (i = 0; i < json_array_size(lines); i++) {
        const json_t *x = json_array_get(lines, i);

        buf_printf(b, "%s%" PRId64 " ", i ? ", " : "", pj_int(x, "id", 0));
        buf_html(b, pj_str(x, "name") ? pj_str(x, "name") : "");
    }
    buf_puts(b, i ? "" : "none yet");
    buf_puts(b, "; an empty line id means the whole plant. Times are the plant's.</p>\n"
                "<h2>Planned stops</h2>\n");
    list(b, env, pstops, pcols, "pstop_delete");
    buf_puts(b, "<p class=\"dim\">Remove ends a weekly stop from today's production day "
                "on (the days before keep it, so past reports stay as they were) and "
                "deletes a one-off stop or one not yet in force.</p>\n"
                "<h3>Add a weekly stop</h3>\n");
    form_open(b, env, CALENDAR_PATH, "pstop");
    input(b, "line_id", "line id", "number", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "kind", "kind", "text", "break");
    weekday_select(b, 1);
    input(b, "start", "start", "time", NULL);
    input(b, "end", "end", "time", NULL);
    input(b, "valid_from", "valid from", "date", NULL);
    buf_puts(b, "<button>Add weekly stop</button></form>\n<h3>Add a one-off stop</h3>\n");
    form_open(b, env, CALENDAR_PATH, "pstop_once");
    input(b, "line_id", "line id", "number", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "kind", "kind", "text", "maintenance");
    input(b, "start_at", "from", "datetime-local", NULL);
    input(b, "end_at", "until", "datetime-local", NULL);
    buf_puts(b, "<button>Add one-off stop</button></form>\n<p class=\"noprint\">");
    layout_csv_link(b, "?csv=planned-stops");
    buf_puts(b, " &middot; <a href=\"/api/v1/planned-stops\">JSON</a></p>\n"
                "<h2>Calendar days</h2>\n<p class=\"dim\">A holiday cancels every "
                "shift of that production day; an extra shift adds one, from start to "
                "end, on that date (a working Saturday).</p>\n");
    list(b, env, days, dcols, "day_delete");
    form_open(b, env, CALENDAR_PATH, "day");
    input(b, "line_id", "line id", "number", NULL);
    input(b, "day", "date", "date", NULL);
    buf_puts(b, "<label>kind <select name=\"kind\"><option value=\"holiday\">holiday "
                "(no work)</option><option value=\"shift\">extra shift (start to end)"
                "</option></select></label> ");
    input(b, "name", "name", "text", NULL);
    input(b, "start", "start", "time", NULL);
    input(b, "end", "end", "time", NULL);
    buf_puts(b, "<button>Add calendar day</button></form>\n<p class=\"noprint\">");
    layout_csv_link(b, "?csv=calendar-days");
    buf_puts(b, " &middot; <a href=\"/api/v1/calendar-days\">JSON</a></p>\n");
    layout_end(b, &l, now);
    layout_done(rep, status);
out:
    json_decref(lines);
    json_decref(pstops);
    json_decref(days);
}

void page_admin(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep)
{
    enum admin_page pg = env->path != NULL && strcmp(env->path, CALENDAR_PATH) == 0
                             ? PG_CALENDAR
                             : PG_MASTER;

    if (env->sess == NULL || env->sess->role < AUTH_ADMIN) {
        pages_error(rep, 403, 0, "this needs the admin role");
        return;
    }
    if (env->method != NULL && strcmp(env->method, "POST") == 0)
        post(env, db, pg, now_ms, rep);
    else
        rerender(env, db, pg, now_ms, 200, NULL, rep);
}
