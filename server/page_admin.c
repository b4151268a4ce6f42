/*
 * Master data forms; see page_admin.h.
 *
 * A form's "what" names the API write it becomes; its other fields become
 * the JSON body (numbers for the numeric fields, a boolean for
 * "planned", empty fields left out), so the API checks them and answers
 * with its own message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "form.h"
#include "layout.h"
#include "linebeat/wire.h"
#include "page_admin.h"
#include "page_api.h"

struct write {
    const char *what, *method, *path; /* path: "%s" takes the key field */
    const char *key;                  /* the field naming the row, or NULL */
    const char *const fields[8];
};

static const struct write writes[] = {
    {"line", "POST", "/api/v1/lines", NULL, {"name", "site", NULL}},
    {"machine",
     "PUT",
     "/api/v1/machines/%s",
     "machine",
     {"name", "line_id", "ideal_cycle_ms", NULL}},
    {"product",
     "POST",
     "/api/v1/products",
     NULL,
     {"code", "name", "ideal_cycle_ms", NULL}},
    {"reason", "POST", "/api/v1/reasons", NULL, {"code", "name", "planned", NULL}},
    {"shift",
     "POST",
     "/api/v1/shifts",
     NULL,
     {"line_id", "name", "weekday", "start", "end", "valid_from", NULL}},
};
#define NWRITES (sizeof(writes) / sizeof(writes[0]))

static int numeric(const char *field);
static void post(const struct pages_env *env, struct db *db, int64_t now,
                 struct reply *rep);
static void render(const struct pages_env *env, struct db *db, int64_t now, int status,
                   const char *msg, struct reply *rep);
static void list(struct buf *b, const json_t *rows, const char *const *cols);
static void form_open(struct buf *b, const struct pages_env *env, const char *what);
static void input(struct buf *b, const char *name, const char *label, const char *type,
                  const char *value);

static int numeric(const char *field)
{
    return strcmp(field, "line_id") == 0 || strcmp(field, "ideal_cycle_ms") == 0 ||
           strcmp(field, "weekday") == 0;
}

static void post(const struct pages_env *env, struct db *db, int64_t now,
                 struct reply *rep)
{
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
        render(env, db, now, 400, "not a form", rep);
        return;
    }
    what = form_get(&f, "what");
    for (i = 0; what != NULL && i < NWRITES; i++)
        if (strcmp(writes[i].what, what) == 0)
            w = &writes[i];
    if (w == NULL) {
        render(env, db, now, 400,
               "what: expected line, machine, product, reason or shift", rep);
        goto out;
    }
    if (w->key != NULL) {
        key = form_get(&f, w->key);
        if (key == NULL || !lb_id_valid(key)) {
            render(env, db, now, 400, "machine: not a machine id", rep);
            goto out;
        }
        snprintf(path, sizeof(path), "/api/v1/machines/%s", key);
    } else {
        snprintf(path, sizeof(path), "%s", w->path);
    }
    if ((body = json_object()) == NULL) {
        render(env, db, now, 500, "out of memory", rep);
        goto out;
    }
    for (i = 0; w->fields[i] != NULL; i++) {
        const char *v = form_get(&f, w->fields[i]);
        char *end;
        long long n;

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
                render(env, db, now, 400, why, rep);
                goto out;
            }
            json_object_set_new(body, w->fields[i], json_integer(n));
        } else {
            json_object_set_new(body, w->fields[i], json_string(v));
        }
    }
    why[0] = '\0';
    st = page_api_write(env, db, now, w->method, path, body, why, sizeof(why));
    if (st >= 400) {
        render(env, db, now, st, why, rep);
        goto out;
    }
    buf_free(&rep->body);
    rep->status = 303;
    rep->type = CT_TEXT;
    rep->no_store = 1;
    reply_header(rep, "Location", "/admin/master");
    buf_puts(&rep->body, "see /admin/master\n");
out:
    json_decref(body);
    form_free(&f);
}

static void list(struct buf *b, const json_t *rows, const char *const *cols)
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
    buf_puts(b, "</tr>\n");
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);

        buf_puts(b, "<tr>");
        for (k = 0; cols[k] != NULL; k++) {
            const json_t *v = json_object_get(r, cols[k]);
            char num[48] = "";

            buf_puts(b, "<td>");
            if (json_is_string(v))
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
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</table></div>\n");
}

static void form_open(struct buf *b, const struct pages_env *env, const char *what)
{
    buf_puts(b, "<form method=\"post\" action=\"/admin/master\" class=\"noprint\">");
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
    memset(&l, 0, sizeof(l));
    l.title = "Master data";
    l.active = "master";
    l.sess = env->sess;
    layout_begin(b, &l);
    buf_puts(b, "<p><a href=\"/admin/tokens\">Board links</a> &middot; <a "
                "href=\"/admin/users\">Users</a></p>\n");
    if (msg != NULL) {
        buf_puts(b, "<p class=\"error\" role=\"alert\">");
        buf_html(b, msg);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "<h2>Lines</h2>\n");
    list(b, lines, lcols);
    form_open(b, env, "line");
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
        form_open(b, env, "machine");
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
    list(b, products, pcols);
    form_open(b, env, "product");
    input(b, "code", "code", "text", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "ideal_cycle_ms", "ideal cycle ms", "number", NULL);
    buf_puts(b,
             "<button>Add or change product</button></form>\n<h2>Shift calendar</h2>\n");
    list(b, shifts, scols);
    form_open(b, env, "shift");
    input(b, "line_id", "line id", "number", NULL);
    input(b, "name", "name", "text", NULL);
    input(b, "weekday", "weekday (1 Mon - 7 Sun)", "number", NULL);
    input(b, "start", "start", "time", NULL);
    input(b, "end", "end", "time", NULL);
    input(b, "valid_from", "valid from", "date", NULL);
    buf_puts(b, "<button>Add shift</button></form>\n<h2>Reasons</h2>\n");
    list(b, reasons, rcols);
    form_open(b, env, "reason");
    input(b, "code", "code", "text", NULL);
    input(b, "name", "name", "text", NULL);
    buf_puts(b, "<label><input type=\"checkbox\" name=\"planned\" value=\"1\"> planned"
                "</label> <button>Add or change reason</button></form>\n"
                "<p class=\"noprint\">JSON: <a href=\"/api/v1/lines\">lines</a>, <a "
                "href=\"/api/v1/machines\">machines</a>, <a href=\"/api/v1/products\">"
                "products</a>, <a href=\"/api/v1/shifts\">shifts</a>, <a "
                "href=\"/api/v1/reasons\">reasons</a></p>\n");
    layout_end(b, &l, now);
    layout_done(rep, status);
    json_decref(lines);
    json_decref(machines);
    json_decref(products);
    json_decref(reasons);
    json_decref(shifts);
}

void page_admin(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep)
{
    if (env->sess == NULL || env->sess->role < AUTH_ADMIN) {
        pages_error(rep, 403, 0, "this needs the admin role");
        return;
    }
    if (env->method != NULL && strcmp(env->method, "POST") == 0)
        post(env, db, now_ms, rep);
    else
        render(env, db, now_ms, 200, NULL, rep);
}
