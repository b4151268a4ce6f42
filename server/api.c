/*
 * The KPI and master-data API; see api.h and docs/kpi.md.
 *
 * Reads go through the thread's read-only connection.  Each write is one
 * transaction on the thread's read-write connection, and recomputes in the
 * same transaction what it changes in the rollups: a calendar change the
 * hour and day rows of the machines it concerns, a stop's reason that stop,
 * an order run or ideal cycle time set for the past the counts' ideal time.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api.h"
#include "operators.h"
#include "auth.h"
#include "db_kpi.h"
#include "db_master.h"
#include "kpi.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/wire.h"
#include "plant.h"
#include "rollup.h"
#include "route.h"
#include "session.h"

#define NAME_MAX_LEN     64
#define SPAN_MAX_DAYS    400 /* a report's period */
#define RECOMPUTE_DAYS   366 /* how far back a calendar change is applied */
#define RECOUNT_MAX_DAYS 92
#define CSV_ROWS_MAX     5000
#define CSV_ERRORS_MAX   200

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8 };

struct api {
    const struct pages_env *env;
    struct db *ro;
    struct reply *rep;
    struct buf *b;
    int64_t now;
    int64_t id, id2;         /* the path's "#" parts */
    char key[LB_ID_MAX + 1]; /* the path's "*" part */
    json_t *body;            /* a JSON body, when the route takes one */
    const char *who;
    int done; /* an error was answered */
};

typedef void (*api_fn)(struct api *a);

struct api_route {
    unsigned method;
    const char *pattern; /* "#" an integer, "*" an id */
    int role;            /* enum auth_role */
    int body;            /* 1: a JSON body is required */
    api_fn fn;
};

static void h_oee(struct api *a);
static void h_pareto(struct api *a);
static void h_sites(struct api *a);
static void h_site_put(struct api *a);
static void h_lines(struct api *a);
static void h_line_get(struct api *a);
static void h_line_post(struct api *a);
static void h_line_put(struct api *a);
static void h_line_delete(struct api *a);
static void h_machine_get(struct api *a);
static void h_machine_put(struct api *a);
static void h_stops(struct api *a);
static void h_stop_put(struct api *a);
static void h_audit(struct api *a);
static void h_scans(struct api *a);
static void h_scrap(struct api *a);
static void h_recount(struct api *a);
static void h_products(struct api *a);
static void h_product_get(struct api *a);
static void h_product_post(struct api *a);
static void h_product_put(struct api *a);
static void h_product_delete(struct api *a);
static void h_orders(struct api *a);
static void h_order_get(struct api *a);
static void h_order_post(struct api *a);
static void h_order_put(struct api *a);
static void h_order_delete(struct api *a);
static void h_order_import(struct api *a);
static void h_order_progress(struct api *a);
static void h_order_start(struct api *a);
static void h_order_stop(struct api *a);
static void h_operators(struct api *a);
static void h_operator_post(struct api *a);
static void h_operator_report(struct api *a);
static void h_shifts(struct api *a);
static void h_shift_post(struct api *a);
static void h_shift_delete(struct api *a);
static void h_pstops(struct api *a);
static void h_pstop_post(struct api *a);
static void h_pstop_delete(struct api *a);
static void h_days(struct api *a);
static void h_day_post(struct api *a);
static void h_day_delete(struct api *a);
static void h_reasons(struct api *a);
static void h_reason_post(struct api *a);
static void h_reason_put(struct api *a);
static void h_reason_delete(struct api *a);

static const struct api_route routes[] = {
    {M_GET, "/api/v1/reports/oee", AUTH_VIEWER, 0, h_oee},
    {M_GET, "/api/v1/reports/pareto", AUTH_VIEWER, 0, h_pareto},
    {M_GET, "/api/v1/sites", AUTH_VIEWER, 0, h_sites},
    {M_PUT, "/api/v1/sites/*", AUTH_MANAGER, 1, h_site_put},
    {M_GET, "/api/v1/lines", AUTH_VIEWER, 0, h_lines},
    {M_POST, "/api/v1/lines", AUTH_MANAGER, 1, h_line_post},
    {M_GET, "/api/v1/lines/#", AUTH_VIEWER, 0, h_line_get},
    {M_PUT, "/api/v1/lines/#", AUTH_MANAGER, 1, h_line_put},
    {M_DELETE, "/api/v1/lines/#", AUTH_MANAGER, 0, h_line_delete},
    {M_GET, "/api/v1/machines/*", AUTH_VIEWER, 0, h_machine_get},
    {M_PUT, "/api/v1/machines/*", AUTH_MANAGER, 1, h_machine_put},
    {M_GET, "/api/v1/machines/*/stops", AUTH_VIEWER, 0, h_stops},
    {M_PUT, "/api/v1/machines/*/stops/#", AUTH_SUPERVISOR, 1, h_stop_put},
    {M_GET, "/api/v1/machines/*/reason-audit", AUTH_VIEWER, 0, h_audit},
    {M_GET, "/api/v1/machines/*/scans", AUTH_VIEWER, 0, h_scans},
    {M_POST, "/api/v1/machines/*/scrap", AUTH_SUPERVISOR, 1, h_scrap},
    {M_POST, "/api/v1/machines/*/recount", AUTH_MANAGER, 1, h_recount},
    {M_GET, "/api/v1/products", AUTH_VIEWER, 0, h_products},
    {M_POST, "/api/v1/products", AUTH_MANAGER, 1, h_product_post},
    {M_GET, "/api/v1/products/#", AUTH_VIEWER, 0, h_product_get},
    {M_PUT, "/api/v1/products/#", AUTH_MANAGER, 1, h_product_put},
    {M_DELETE, "/api/v1/products/#", AUTH_MANAGER, 0, h_product_delete},
    {M_GET, "/api/v1/orders", AUTH_VIEWER, 0, h_orders},
    {M_POST, "/api/v1/orders", AUTH_SUPERVISOR, 1, h_order_post},
    {M_POST, "/api/v1/orders/import", AUTH_SUPERVISOR, 0, h_order_import},
    {M_GET, "/api/v1/orders/#", AUTH_VIEWER, 0, h_order_get},
    {M_PUT, "/api/v1/orders/#", AUTH_SUPERVISOR, 1, h_order_put},
    {M_DELETE, "/api/v1/orders/#", AUTH_SUPERVISOR, 0, h_order_delete},
    {M_GET, "/api/v1/orders/#/progress", AUTH_VIEWER, 0, h_order_progress},
    {M_POST, "/api/v1/orders/#/start", AUTH_SUPERVISOR, 1, h_order_start},
    {M_POST, "/api/v1/orders/#/stop", AUTH_SUPERVISOR, 1, h_order_stop},
    {M_GET, "/api/v1/operators", AUTH_VIEWER, 0, h_operators},
    {M_POST, "/api/v1/operators", AUTH_SUPERVISOR, 1, h_operator_post},
    {M_GET, "/api/v1/operators/#/report", AUTH_VIEWER, 0, h_operator_report},
    {M_GET, "/api/v1/shifts", AUTH_VIEWER, 0, h_shifts},
    {M_POST, "/api/v1/shifts", AUTH_MANAGER, 1, h_shift_post},
    {M_DELETE, "/api/v1/shifts/#", AUTH_MANAGER, 0, h_shift_delete},
    {M_GET, "/api/v1/planned-stops", AUTH_VIEWER, 0, h_pstops},
    {M_POST, "/api/v1/planned-stops", AUTH_MANAGER, 1, h_pstop_post},
    {M_DELETE, "/api/v1/planned-stops/#", AUTH_MANAGER, 0, h_pstop_delete},
    {M_GET, "/api/v1/calendar-days", AUTH_VIEWER, 0, h_days},
    {M_POST, "/api/v1/calendar-days", AUTH_MANAGER, 1, h_day_post},
    {M_DELETE, "/api/v1/calendar-days/#", AUTH_MANAGER, 0, h_day_delete},
    {M_GET, "/api/v1/reasons", AUTH_VIEWER, 0, h_reasons},
    {M_POST, "/api/v1/reasons", AUTH_SUPERVISOR, 1, h_reason_post},
    {M_PUT, "/api/v1/reasons/*", AUTH_SUPERVISOR, 1, h_reason_put},
    {M_DELETE, "/api/v1/reasons/*", AUTH_SUPERVISOR, 0, h_reason_delete},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- plumbing -------------------------------------------------------------- */

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return M_GET;
    if (strcmp(m, "POST") == 0)
        return M_POST;
    if (strcmp(m, "PUT") == 0)
        return M_PUT;
    if (strcmp(m, "DELETE") == 0)
        return M_DELETE;
    return 0;
}

/* Matches path against pattern, filling the "#" and "*" parts. */
static int match(const char *pat, const char *path, struct api *a)
{
    int nums = 0;

    while (*pat && *path) {
        if (*pat == '#') {
            int64_t v = 0;
            int digits = 0;

            while (*path >= '0' && *path <= '9' && digits < 18) {
                v = v * 10 + (*path++ - '0');
                digits++;
            }
            if (digits == 0 || (*path != '\0' && *path != '/'))
                return 0;
            if (nums++ == 0)
                a->id = v;
            else
                a->id2 = v;
            pat++;
        } else if (*pat == '*') {
            size_t n = strcspn(path, "/");

            if (n == 0 || n > LB_ID_MAX)
                return 0;
            memcpy(a->key, path, n);
            a->key[n] = '\0';
            if (!lb_id_valid(a->key))
                return 0;
            path += n;
            pat++;
        } else if (*pat++ != *path++) {
            return 0;
        }
    }
    return *pat == '\0' && *path == '\0';
}

int api_owns(const char *path)
{
    struct api a;
    size_t i;

    for (i = 0; i < NROUTES; i++) {
        memset(&a, 0, sizeof(a));
        if (match(routes[i].pattern, path, &a))
            return 1;
    }
    return 0;
}

static void fail(struct api *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct api *a, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pages_error(a->rep, status, 1, msg);
    a->done = 1;
}

static void fail_db(struct api *a, int rc)
{
    if (rc == -ENOMEM)
        fail(a, 500, "out of memory");
    else if (rc == LB_E_RANGE)
        fail(a, 400, "from, to: the period is too long for this grouping");
    else
        fail(a, 500, "database error");
}

static void ok(struct api *a, int status)
{
    a->rep->status = status;
    a->rep->type = CT_JSON;
    a->rep->no_store = 1;
}

static const char *arg(struct api *a, const char *name)
{
    return a->env->arg ? a->env->arg(a->env->ctx, name) : NULL;
}

static struct db *rw_begin(struct api *a)
{
    struct db *rw = a->env->rw ? a->env->rw(a->env->ctx) : NULL;

    if (rw == NULL) {
        fail(a, 503, "database unavailable for writing");
        return NULL;
    }
    if (db_begin(rw) != 0) {
        fail(a, 503, "database busy, try again");
        return NULL;
    }
    return rw;
}

/* Commits when rc is 0, else rolls back and answers the error. */
static int rw_end(struct api *a, struct db *rw, int rc, const char *what)
{
    if (rc == 0 && (rc = db_commit(rw)) == 0)
        return 0;
    db_rollback(rw);
    if (a->done)
        return rc;
    if (rc == -ENOENT)
        fail(a, 404, "no such %s", what);
    else if (rc == -EEXIST)
        fail(a, 409, "%s: already exists", what);
    else if (rc == -EINVAL)
        fail(a, 400, "%s: refers to something that does not exist", what);
    else
        fail_db(a, rc);
    return rc;
}

static int flag(const char *v)
{
    return v != NULL &&
           (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

/* ---- JSON body fields -------------------------------------------------------- */

/* A text field: required or not, at most max bytes, printable.  OUT: *out
 * (into the body; NULL when absent or null).  Returns 0 or -1 (answered). */
static int jstr(struct api *a, const char *name, int required, size_t max,
                const char **out)
{
    json_t *v = json_object_get(a->body, name);
    const char *s;
    size_t i, n;

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            fail(a, 400, "%s: missing", name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        fail(a, 400, "%s: not a string", name);
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 && required) {
        fail(a, 400, "%s: empty", name);
        return -1;
    }
    if (n > max || strlen(s) != n) {
        fail(a, 400, "%s: longer than %zu bytes", name, max);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20) {
            fail(a, 400, "%s: control characters", name);
            return -1;
        }
    }
    *out = s;
    return 0;
}

/* An integer field in [lo, hi].  OUT: *out, *has (0 when absent; null
 * gives has 1 and isnull 1).  Returns 0 or -1 (answered). */
static int jint(struct api *a, const char *name, int required, int64_t lo, int64_t hi,
                int64_t *out, int *has, int *isnull)
{
    json_t *v = json_object_get(a->body, name);

    *out = 0;
    if (has)
        *has = 0;
    if (isnull)
        *isnull = 0;
    if (v == NULL) {
        if (required) {
            fail(a, 400, "%s: missing", name);
            return -1;
        }
        return 0;
    }
    if (json_is_null(v)) {
        if (required || isnull == NULL) {
            fail(a, 400, "%s: must not be null", name);
            return -1;
        }
        *has = 1;
        *isnull = 1;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        fail(a, 400, "%s: not an integer from %" PRId64 " to %" PRId64, name, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    if (has)
        *has = 1;
    return 0;
}

/* A time: an ISO 8601 string or ms since the epoch. */
static int jtime(struct api *a, const char *name, int required, int64_t *out, int *has)
{
    json_t *v = json_object_get(a->body, name);
    char why[96];

    *has = 0;
    *out = 0;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            fail(a, 400, "%s: missing", name);
            return -1;
        }
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
    } else if (!json_is_string(v) ||
               route_time_param(name, json_string_value(v), out, why, sizeof(why)) != 0) {
        fail(a, 400, "%s: not an ISO 8601 time", name);
        return -1;
    }
    *has = 1;
    return 0;
}

/* "YYYY-MM-DD" into a day number. */
static int jday(struct api *a, const char *name, int required, int64_t *out, int *has)
{
    const char *s;

    *has = 0;
    if (jstr(a, name, required, 10, &s) != 0)
        return -1;
    if (s == NULL)
        return 0;
    if (tz_parse_day(s, out) != 0) {
        fail(a, 400, "%s: not a date YYYY-MM-DD", name);
        return -1;
    }
    *has = 1;
    return 0;
}

static int jhhmm(struct api *a, const char *name, int *out)
{
    const char *s;

    if (jstr(a, name, 1, 5, &s) != 0)
        return -1;
    if (tz_parse_hhmm(s, out) != 0) {
        fail(a, 400, "%s: not a time HH:MM", name);
        return -1;
    }
    return 0;
}

static int jbool(struct api *a, const char *name, int *out)
{
    json_t *v = json_object_get(a->body, name);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        fail(a, 400, "%s: not true or false", name);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* A line reference: null / absent is the plant's (0). */
static int jline(struct api *a, int64_t *line_id)
{
    int has, isnull, rc;

    if (jint(a, "line_id", 0, 1, INT64_MAX, line_id, &has, &isnull) != 0)
        return -1;
    if (!has || isnull) {
        *line_id = 0;
        return 0;
    }
    if ((rc = dbm_line_exists(a->ro, *line_id)) != 0) {
        if (rc == -ENOENT)
            fail(a, 400, "line_id: no such line");
        else
            fail_db(a, rc);
        return -1;
    }
    return 0;
}

static int id_text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            return 0;
    return 1;
}

/* ---- query parameters -------------------------------------------------------- */

static int q_period(struct api *a, int64_t *from, int64_t *to)
{
    char why[96];

    if (route_interval(arg(a, "from"), arg(a, "to"), from, to, why, sizeof(why)) != 0) {
        fail(a, 400, "%s", why);
        return -1;
    }
    if (*to == *from) {
        fail(a, 400, "to: equal to from");
        return -1;
    }
    if ((*to - *from) / 86400000 > SPAN_MAX_DAYS) {
        fail(a, 400, "to: more than %d days after from", SPAN_MAX_DAYS);
        return -1;
    }
    return 0;
}

/*
 * scope=machine&id=<dev> | scope=line&id=<n> | scope=plant.  OUT: the
 * machines (free), the line for shift groups (-1 plant).
 */
static int q_scope(struct api *a, char ***devs, size_t *n, int64_t *line_id,
                   const char **scope, int64_t **lines, size_t *nlines)
{
    const char *s = arg(a, "scope"), *id = arg(a, "id");
    int rc;

    *devs = NULL;
    *n = 0;
    *line_id = -1;
    *lines = NULL;
    *nlines = 0;
    if (s == NULL || s[0] == '\0')
        s = "machine";
    *scope = s;
    if (strcmp(s, "plant") == 0) {
        rc = dbm_machines_of(a->ro, -1, devs, n);
        if (rc == 0)
            rc = dbm_line_ids(a->ro, lines, nlines);
    } else if (strcmp(s, "line") == 0) {
        char *end;
        long long v;

        if (id == NULL || id[0] == '\0') {
            fail(a, 400, "id: missing (a line id)");
            return -1;
        }
        v = strtoll(id, &end, 10);
        if (*end != '\0' || v <= 0) {
            fail(a, 400, "id: not a line id");
            return -1;
        }
        if ((rc = dbm_line_exists(a->ro, v)) == -ENOENT) {
            fail(a, 404, "id: no such line");
            return -1;
        }
        *line_id = v;
        if (rc == 0)
            rc = dbm_machines_of(a->ro, v, devs, n);
        if (rc == 0 && (*lines = malloc(sizeof(**lines))) == NULL)
            rc = -ENOMEM;
        else if (rc == 0) {
            (*lines)[0] = v;
            *nlines = 1;
        }
    } else if (strcmp(s, "machine") == 0) {
        if (id == NULL || !lb_id_valid(id)) {
            fail(a, 400, "id: missing or not a machine id");
            return -1;
        }
        if ((rc = dbm_machine_exists(a->ro, id)) == -ENOENT) {
            fail(a, 404, "id: no such machine");
            return -1;
        }
        if (rc == 0 && (rc = rollup_line_of(a->ro, id, line_id)) == 0) {
            if ((*devs = malloc(sizeof(**devs))) == NULL ||
                ((*devs)[0] = strdup(id)) == NULL) {
                free(*devs);
                *devs = NULL;
                rc = -ENOMEM;
            } else {
                *n = 1;
            }
        }
    } else {
        fail(a, 400, "scope: expected machine, line or plant");
        return -1;
    }
    if (rc != 0) {
        free(*lines);
        *lines = NULL;
        fail_db(a, rc);
        return -1;
    }
    return 0;
}

static void free_devs(char **devs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(devs[i]);
    free(devs);
}

/* ---- reports ---------------------------------------------------------------- */

static void sums_add(struct kpi_sums *d, const struct kpi_sums *s)
{
    int k;

    for (k = 0; k < RC_N; k++)
        d->v[k] += s->v[k];
    for (k = 0; k < CAL_NCLS; k++)
        d->cal[k] += s->cal[k];
    d->span += s->span;
    if (s->machines > d->machines)
        d->machines = s->machines;
}

static void period_json(struct buf *b, int64_t from, int64_t to)
{
    buf_puts(b, "\"from\":");
    buf_json_time(b, from);
    buf_puts(b, ",\"to\":");
    buf_json_time(b, to);
}

static void groups_json(struct buf *b, const struct kpi_group *g, size_t n, int explain)
{
    size_t i;

    buf_puts(b, "[");
    for (i = 0; i < n; i++) {
        buf_puts(b, i ? ",\n{\"label\":" : "\n{\"label\":");
        buf_json_str(b, g[i].label);
        buf_puts(b, ",");
        period_json(b, g[i].from, g[i].to);
        buf_puts(b, ",\"kpi\":");
        kpi_json(b, &g[i].s, explain);
        buf_puts(b, "}");
    }
    buf_puts(b, n ? "\n]" : "]");
}

static void h_oee(struct api *a)
{
    const struct plant *pl = plant_get();
    struct kpi_group *g = NULL, *mg = NULL, tot;
    const char *scope, *gs = arg(a, "group"), *by = arg(a, "by");
    char **devs = NULL, ds[16];
    int64_t *lines = NULL;
    size_t nlines = 0;
    size_t n = 0, ng = 0, i, k;
    int64_t from, to, line_id;
    int grouping = KPI_G_NONE, explain = flag(arg(a, "explain")), per_machine, rc = 0;

    if (q_period(a, &from, &to) != 0)
        return;
    if (gs != NULL && gs[0] != '\0' && (grouping = kpi_grouping_parse(gs)) < 0) {
        fail(a, 400, "group: expected none, hour, shift, day, week or month");
        return;
    }
    per_machine = by != NULL && strcmp(by, "machine") == 0;
    if (by != NULL && by[0] != '\0' && !per_machine) {
        fail(a, 400, "by: expected machine");
        return;
    }
    if (q_scope(a, &devs, &n, &line_id, &scope, &lines, &nlines) != 0)
        return;
    if (grouping == KPI_G_SHIFT && strcmp(scope, "plant") == 0) {
        fail(a, 400, "group: shift needs scope machine or line (lines differ in shifts)");
        goto out;
    }
    if ((rc = kpi_groups(a->ro, (enum kpi_grouping)grouping, line_id < 0 ? 0 : line_id,
                         from, to, &g, &ng)) != 0)
        goto out;
    if (per_machine && (mg = malloc((ng ? ng : 1) * sizeof(*mg))) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    memset(&tot, 0, sizeof(tot));
    tot.from = from;
    tot.to = to;

    buf_puts(a->b, "{\"scope\":");
    buf_json_str(a->b, scope);
    buf_puts(a->b, ",\"id\":");
    buf_json_str(a->b, arg(a, "id"));
    buf_puts(a->b, ",");
    period_json(a->b, from, to);
    buf_puts(a->b, ",\"group\":");
    buf_json_str(a->b, gs && gs[0] ? gs : "none");
    buf_puts(a->b, ",\"timezone\":");
    buf_json_str(a->b, tz_name(pl->tz ? pl->tz : pl->clock.tz));
    snprintf(ds, sizeof(ds), "%02d:%02d", pl->clock.day_start_min / 60,
             pl->clock.day_start_min % 60);
    buf_puts(a->b, ",\"day_start\":");
    buf_json_str(a->b, ds);
    if (per_machine)
        buf_puts(a->b, ",\"machines\":[");
    for (i = 0; i < n; i++) {
        if (per_machine) {
            memcpy(mg, g, ng * sizeof(*mg));
            for (k = 0; k < ng; k++)
                memset(&mg[k].s, 0, sizeof(mg[k].s));
            if ((rc = kpi_machine(a->ro, devs[i], a->now, mg, ng)) != 0)
                goto out;
            for (k = 0; k < ng; k++)
                sums_add(&g[k].s, &mg[k].s);
            memset(&tot.s, 0, sizeof(tot.s));
            for (k = 0; k < ng; k++)
                sums_add(&tot.s, &mg[k].s);
            buf_puts(a->b, i ? ",\n{\"id\":" : "\n{\"id\":");
            buf_json_str(a->b, devs[i]);
            buf_puts(a->b, ",\"total\":");
            kpi_json(a->b, &tot.s, explain);
            if (grouping != KPI_G_NONE) {
                buf_puts(a->b, ",\"groups\":");
                groups_json(a->b, mg, ng, explain);
            }
            buf_puts(a->b, "}");
        }
    }
    if (per_machine)
        buf_puts(a->b, n ? "\n]" : "]");
    else if ((rc = kpi_scope(a->ro, devs, n, lines, nlines, a->now, g, ng)) != 0)
        goto out;
    /* Periods that partition [from, to) add up to the total exactly; shift
     * periods leave out the time between shifts, so it is computed. */
    memset(&tot.s, 0, sizeof(tot.s));
    if (grouping == KPI_G_SHIFT) {
        if ((rc = kpi_scope(a->ro, devs, n, lines, nlines, a->now, &tot, 1)) != 0)
            goto out;
    } else {
        for (k = 0; k < ng; k++)
            sums_add(&tot.s, &g[k].s);
        tot.s.machines = (int64_t)n;
    }
    buf_puts(a->b, ",\"total\":");
    kpi_json(a->b, &tot.s, explain);
    if (grouping != KPI_G_NONE) {
        buf_puts(a->b, ",\"groups\":");
        groups_json(a->b, g, ng, explain);
    }
    buf_puts(a->b, "}\n");
    ok(a, 200);
out:
    if (rc != 0)
        fail_db(a, rc);
    free(mg);
    free(g);
    free_devs(devs, n);
    free(lines);
}

static void h_pareto(struct api *a)
{
    struct kpi_losses l = {0};
    const char *scope;
    char **devs = NULL;
    int64_t *lines = NULL;
    size_t n = 0, i, nlines = 0;
    int64_t from, to, line_id, total = 0;
    int rc = 0;

    if (q_period(a, &from, &to) != 0 ||
        q_scope(a, &devs, &n, &line_id, &scope, &lines, &nlines) != 0)
        goto out;
    for (i = 0; i < n; i++)
        if ((rc = kpi_pareto(a->ro, devs[i], from, to, a->now, &l)) != 0)
            goto out;
    kpi_losses_sort(&l);
    for (i = 0; i < l.n; i++)
        total += l.v[i].ms;
    buf_puts(a->b, "{\"scope\":");
    buf_json_str(a->b, scope);
    buf_puts(a->b, ",\"id\":");
    buf_json_str(a->b, arg(a, "id"));
    buf_puts(a->b, ",");
    period_json(a->b, from, to);
    buf_printf(a->b, ",\"total_ms\":%" PRId64 ",\"bars\":[", total);
    for (i = 0; i < l.n; i++) {
        buf_puts(a->b, i ? ",\n{\"reason\":" : "\n{\"reason\":");
        buf_json_str(a->b, l.v[i].reason[0] ? l.v[i].reason : NULL);
        buf_puts(a->b, ",\"category\":");
        buf_json_str(a->b, kpi_cat_name(l.v[i].cat));
        buf_printf(a->b, ",\"ms\":%" PRId64 ",\"count\":%" PRId64 ",\"share\":%.6f}",
                   l.v[i].ms, l.v[i].count,
                   total ? (double)l.v[i].ms / (double)total : 0.0);
    }
    buf_puts(a->b, l.n ? "\n]}\n" : "]}\n");
    ok(a, 200);
out:
    if (rc != 0)
        fail_db(a, rc);
    kpi_losses_free(&l);
    free_devs(devs, n);
    free(lines);
}

/* ---- simple views ------------------------------------------------------------ */

static void view(struct api *a, enum dbm_view v, int64_t ikey, const char *skey,
                 const char *what)
{
    int rc = dbm_json(a->ro, v, ikey, skey, a->b);

    if (rc == -ENOENT) {
        fail(a, 404, "no such %s", what);
        return;
    }
    if (rc != 0) {
        fail_db(a, rc);
        return;
    }
    buf_puts(a->b, "\n");
    ok(a, 200);
}

/* After a write: the new state of the row, read through rw (committed). */
static void written(struct api *a, struct db *rw, enum dbm_view v, int64_t ikey,
                    const char *skey, int status)
{
    buf_free(a->b);
    buf_init(a->b);
    if (dbm_json(rw, v, ikey, skey, a->b) != 0) {
        buf_free(a->b);
        buf_init(a->b);
        buf_printf(a->b, "{\"id\":%" PRId64 "}", ikey);
    }
    buf_puts(a->b, "\n");
    ok(a, status);
}

/* Sites come from the agents' births; a manager names them. */
static void h_sites(struct api *a)
{
    view(a, DBM_SITES, 0, NULL, "site");
}

static void h_site_put(struct api *a)
{
    const char *name;
    struct db *rw;

    if (jstr(a, "name", 1, NAME_MAX_LEN, &name) != 0)
        return;
    if ((rw = rw_begin(a)) == NULL)
        return;
    if (rw_end(a, rw, dbm_site_name(rw, a->key, name), "site") == 0) {
        buf_puts(a->b, "{\"site\":");
        buf_json_str(a->b, a->key);
        buf_puts(a->b, ",\"name\":");
        buf_json_str(a->b, name);
        buf_puts(a->b, "}\n");
        ok(a, 200);
    }
}

static void h_lines(struct api *a)
{
    view(a, DBM_LINES, 0, NULL, "line");
}

static void h_line_get(struct api *a)
{
    view(a, DBM_LINE, a->id, NULL, "line");
}

static void line_write(struct api *a, int64_t id)
{
    const char *name, *site;
    struct db *rw;
    int64_t nid = 0;
    int rc;

    if (jstr(a, "name", 1, NAME_MAX_LEN, &name) != 0 ||
        jstr(a, "site", 0, 64, &site) != 0)
        return;
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_line_put(rw, id, name, site, a->now, &nid);
    if (rw_end(a, rw, rc, rc == -EEXIST ? "name" : "line") == 0)
        written(a, rw, DBM_LINE, nid, NULL, id ? 200 : 201);
}

static void h_line_post(struct api *a)
{
    line_write(a, 0);
}

static void h_line_put(struct api *a)
{
    line_write(a, a->id);
}

/* Deleting a line frees its machines (no line: the plant's calendar). */
static void h_line_delete(struct api *a)
{
    const struct cal_clock *ck = &plant_get()->clock;
    int64_t today = cal_prod_day(ck, a->now);
    struct db *rw;
    int rc;

    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_line_delete(rw, a->id);
    if (rc == 0 && (rc = rollup_calendar_changed(rw)) == 0)
        rc = rollup_recalendar(rw, 0, today, today);
    if (rw_end(a, rw, rc, "line") == 0) {
        buf_puts(a->b, "{\"deleted\":true}\n");
        ok(a, 200);
    }
}

static void h_machine_get(struct api *a)
{
    view(a, DBM_MACHINE, 0, a->key, "machine");
}

/* The machine's name, line, ideal cycle time; recompute_from applies an
 * ideal cycle time or line to data since then (at most 92 days back),
 * otherwise they apply from now on and from today's production day. */
static void h_machine_put(struct api *a)
{
    const struct cal_clock *ck = &plant_get()->clock;
    struct dbm_opt name = {0}, line = {0}, ict = {0};
    int64_t since = 0, today = cal_prod_day(ck, a->now), old_line = 0;
    int has_since = 0, isnull = 0, rc;
    struct db *rw;

    if (jstr(a, "name", 0, NAME_MAX_LEN, &name.s) != 0)
        return;
    name.has = json_object_get(a->body, "name") != NULL;
    if (jint(a, "line_id", 0, 1, INT64_MAX, &line.i, &line.has, &isnull) != 0)
        return;
    if (line.has && isnull)
        line.i = 0;
    if (line.has && line.i > 0 && (rc = dbm_line_exists(a->ro, line.i)) != 0) {
        if (rc == -ENOENT)
            fail(a, 400, "line_id: no such line");
        else
            fail_db(a, rc);
        return;
    }
    if (jint(a, "ideal_cycle_ms", 0, 1, 86400000, &ict.i, &ict.has, &isnull) != 0)
        return;
    if (ict.has && isnull)
        ict.i = 0;
    if (jtime(a, "recompute_from", 0, &since, &has_since) != 0)
        return;
    if (has_since &&
        (since > a->now || (a->now - since) / 86400000 >= RECOUNT_MAX_DAYS)) {
        fail(a, 400, "recompute_from: within the last %d days", RECOUNT_MAX_DAYS);
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    /* A machine changing line takes its history to the new line's sums;
     * its calendar applies from recompute_from (or today) on. */
    if ((rc = rollup_line_of(rw, a->key, &old_line)) == 0)
        rc = dbm_machine_put(rw, a->key, name, line, ict);
    if (rc == 0 && line.has &&
        (rc = rollup_move_line(rw, a->key, old_line, line.i)) == 0 &&
        (rc = rollup_calendar_changed(rw)) == 0)
        rc = rollup_recalendar_dev(rw, a->key,
                                   has_since ? cal_prod_day(ck, since) : today, today);
    if (rc == 0 && has_since && ict.has)
        rc = rollup_recount(rw, a->key, since, a->now);
    if (rw_end(a, rw, rc, "machine") == 0)
        written(a, rw, DBM_MACHINE, 0, a->key, 200);
}

static void h_stops(struct api *a)
{
    int64_t from, to;
    int rc;

    if (q_period(a, &from, &to) != 0)
        return;
    if ((rc = dbm_machine_exists(a->ro, a->key)) != 0) {
        if (rc == -ENOENT)
            fail(a, 404, "no such machine");
        else
            fail_db(a, rc);
        return;
    }
    if ((rc = dbm_intervals_json(a->ro, a->key, from, to, flag(arg(a, "unexplained")),
                                 a->b)) != 0) {
        fail_db(a, rc);
        return;
    }
    buf_puts(a->b, "\n");
    ok(a, 200);
}

/* A supervisor names the reason of the stop starting at (or holding) the
 * given ms; null clears it.  The reason must be in the catalogue. */
static void h_stop_put(struct api *a)
{
    const char *reason;
    struct db *rw;
    int rc;

    if (jstr(a, "reason", 0, LB_CODE_MAX, &reason) != 0)
        return;
    if (json_object_get(a->body, "reason") == NULL) {
        fail(a, 400, "reason: missing (null clears it)");
        return;
    }
    if (reason != NULL) {
        if (!lb_id_valid(reason)) {
            fail(a, 400, "reason: not a reason code");
            return;
        }
        if ((rc = dbm_reason_exists(a->ro, reason)) == -ENOENT) {
            fail(a, 400, "reason: %s is not in the catalogue (/api/v1/reasons)", reason);
            return;
        } else if (rc != 0) {
            fail_db(a, rc);
            return;
        }
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = rollup_set_reason(rw, a->key, a->id, reason, a->who, a->now);
    if (rc == -ENOENT) {
        db_rollback(rw);
        fail(a, 404, "no stop of %s at %" PRId64, a->key, a->id);
        return;
    }
    if (rw_end(a, rw, rc, "stop") == 0) {
        buf_puts(a->b, "{\"machine\":");
        buf_json_str(a->b, a->key);
        buf_printf(a->b, ",\"at\":%" PRId64 ",\"reason\":", a->id);
        buf_json_str(a->b, reason);
        buf_puts(a->b, ",\"by\":");
        buf_json_str(a->b, a->who);
        buf_puts(a->b, "}\n");
        ok(a, 200);
    }
}

static void h_audit(struct api *a)
{
    view(a, DBM_REASON_AUDIT, 0, a->key, "machine");
}

/* The machine's last scans (limit, default 100, at most 1000), newest
 * first: what was scanned and how the agent understood it, unknown codes
 * included (docs/scanners.md); with from and to, those of that period
 * (the machine page's day). */
static void h_scans(struct api *a)
{
    const char *l = arg(a, "limit"), *f = arg(a, "from"), *t = arg(a, "to");
    int64_t limit = 100, from = INT64_MIN, to = INT64_MAX;
    char *end;
    int rc;

    if (l != NULL && l[0] != '\0') {
        errno = 0;
        limit = strtoll(l, &end, 10);
        if (errno != 0 || *end != '\0' || limit < 1 || limit > 1000) {
            fail(a, 400, "limit: expected 1 to 1000");
            return;
        }
    }
    if ((f != NULL || t != NULL) && q_period(a, &from, &to) != 0)
        return;
    if ((rc = dbm_machine_exists(a->ro, a->key)) != 0) {
        if (rc == -ENOENT)
            fail(a, 404, "no such machine");
        else
            fail_db(a, rc);
        return;
    }
    if ((rc = dbm_scans_json(a->ro, a->key, from, to, limit, a->b)) != 0) {
        fail_db(a, rc);
        return;
    }
    buf_puts(a->b, "\n");
    ok(a, 200);
}

static void h_scrap(struct api *a)
{
    const char *reason;
    int64_t qty, at = a->now;
    int has_at, rc;
    struct db *rw;

    if (jint(a, "qty", 1, 1, 1000000, &qty, NULL, NULL) != 0 ||
        jstr(a, "reason", 0, LB_CODE_MAX, &reason) != 0 ||
        jtime(a, "at", 0, &at, &has_at) != 0)
        return;
    if (!has_at)
        at = a->now;
    if ((rc = dbm_machine_exists(a->ro, a->key)) != 0) {
        fail(a, rc == -ENOENT ? 404 : 500,
             rc == -ENOENT ? "no such machine" : "database error");
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = rollup_add_scrap(rw, a->key, at, qty, reason, a->who);
    if (rw_end(a, rw, rc, "machine") == 0) {
        buf_printf(a->b, "{\"machine\":\"%s\",\"qty\":%" PRId64 ",\"at\":", a->key, qty);
        buf_json_time(a->b, at);
        buf_puts(a->b, "}\n");
        ok(a, 201);
    }
}

static void h_recount(struct api *a)
{
    int64_t from, to;
    int has, rc;
    struct db *rw;

    if (jtime(a, "from", 1, &from, &has) != 0 || jtime(a, "to", 0, &to, &has) != 0)
        return;
    if (!has)
        to = a->now;
    if (to <= from || (to - from) / 86400000 >= RECOUNT_MAX_DAYS) {
        fail(a, 400, "to: after from, at most %d days", RECOUNT_MAX_DAYS);
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_machine_exists(rw, a->key);
    if (rc == 0)
        rc = rollup_recount(rw, a->key, from, to);
    if (rw_end(a, rw, rc, "machine") == 0) {
        buf_puts(a->b, "{\"recounted\":true}\n");
        ok(a, 200);
    }
}

/* ---- products ------------------------------------------------------------------ */

static void h_products(struct api *a)
{
    view(a, DBM_PRODUCTS, 0, NULL, "product");
}

static void h_product_get(struct api *a)
{
    view(a, DBM_PRODUCT, a->id, NULL, "product");
}

static void product_write(struct api *a, int64_t id)
{
    const char *code, *name, *key;
    json_t *machines = json_object_get(a->body, "machines"), *v;
    int64_t ict = 0, nid = 0;
    struct db *rw;
    int rc = 0;

    if (jstr(a, "code", 1, NAME_MAX_LEN, &code) != 0 ||
        jstr(a, "name", 0, 128, &name) != 0 ||
        jint(a, "ideal_cycle_ms", 0, 1, 86400000, &ict, NULL, NULL) != 0)
        return;
    if (machines != NULL && !json_is_object(machines)) {
        fail(a, 400, "machines: not an object of machine id: ideal_cycle_ms");
        return;
    }
    json_object_foreach(machines, key, v)
    {
        if (!lb_id_valid(key)) {
            fail(a, 400, "machines: %s is not a machine id", key);
            return;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 86400000) {
            fail(a, 400, "machines.%s: not an ideal cycle time in ms (0 removes it)",
                 key);
            return;
        }
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_product_put(rw, id, code, name, ict, &nid);
    json_object_foreach(machines, key, v)
    {
        if (rc == 0)
            rc = dbm_product_machine(rw, nid, key, json_integer_value(v));
    }
    if (rw_end(a, rw, rc, rc == -EEXIST ? "code" : "product") == 0)
        written(a, rw, DBM_PRODUCT, nid, NULL, id ? 200 : 201);
}

static void h_product_post(struct api *a)
{
    product_write(a, 0);
}

static void h_product_put(struct api *a)
{
    product_write(a, a->id);
}

static void h_product_delete(struct api *a)
{
    struct db *rw;

    if ((rw = rw_begin(a)) == NULL)
        return;
    if (rw_end(a, rw, dbm_product_delete(rw, a->id), "product") == 0) {
        buf_puts(a->b, "{\"deleted\":true}\n");
        ok(a, 200);
    }
}

/* ---- orders -------------------------------------------------------------------- */

static const char *const order_status[] = {"planned", "running",   "paused",
                                           "done",    "cancelled", NULL};

static int status_ok(const char *s)
{
    int i;

    for (i = 0; order_status[i]; i++)
        if (strcmp(s, order_status[i]) == 0)
            return 1;
    return 0;
}

static void h_orders(struct api *a)
{
    const char *st = arg(a, "status");

    if (st != NULL && st[0] != '\0' && !status_ok(st)) {
        fail(a, 400, "status: expected planned, running, paused, done or cancelled");
        return;
    }
    view(a, DBM_ORDERS, 0, st ? st : "", "order");
}

static void h_order_get(struct api *a)
{
    view(a, DBM_ORDER, a->id, NULL, "order");
}

static void order_write(struct api *a, int64_t id)
{
    struct dbm_opt product = {0}, qty = {0}, due = {0}, status = {0};
    const char *number, *pcode;
    int64_t nid = 0;
    int isnull, created, rc;
    struct db *rw;

    if (jstr(a, "number", id == 0, NAME_MAX_LEN, &number) != 0 ||
        jstr(a, "product", 0, NAME_MAX_LEN, &pcode) != 0 ||
        jint(a, "quantity", 0, 0, 1000000000, &qty.i, &qty.has, NULL) != 0 ||
        jstr(a, "status", 0, 16, &status.s) != 0)
        return;
    product.has = json_object_get(a->body, "product") != NULL;
    if (pcode != NULL) {
        if ((rc = dbm_product_by_code(a->ro, pcode, &product.i)) == -ENOENT) {
            fail(a, 400, "product: no product with code %s", pcode);
            return;
        } else if (rc != 0) {
            fail_db(a, rc);
            return;
        }
    }
    if (json_object_get(a->body, "due") != NULL) {
        isnull = json_is_null(json_object_get(a->body, "due"));
        due.has = 1;
        due.i = -1;
        if (!isnull && jtime(a, "due", 1, &due.i, &due.has) != 0)
            return;
        due.has = 1;
    }
    if (status.s != NULL) {
        if (!status_ok(status.s)) {
            fail(a, 400, "status: expected planned, running, paused, done or cancelled");
            return;
        }
        status.has = 1;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_order_put(rw, id, number, product, qty, due, status, 0, a->now, &nid,
                       &created);
    if (rw_end(a, rw, rc, rc == -EEXIST ? "number" : "order") == 0)
        written(a, rw, DBM_ORDER, nid, NULL, id ? 200 : 201);
}

static void h_order_post(struct api *a)
{
    order_write(a, 0);
}

static void h_order_put(struct api *a)
{
    order_write(a, a->id);
}

static void h_order_delete(struct api *a)
{
    struct db *rw;

    if ((rw = rw_begin(a)) == NULL)
        return;
    if (rw_end(a, rw, dbm_order_delete(rw, a->id), "order") == 0) {
        buf_puts(a->b, "{\"deleted\":true}\n");
        ok(a, 200);
    }
}

/* Starts or stops an order run on a machine (now, or "at" in the past,
 * which recounts that machine's ideal time since then). */
static void order_run(struct api *a, int start)
{
    const char *dev;
    int64_t at = a->now, from = 0;
    int has_at, rc;
    struct db *rw;

    if (jstr(a, "machine", 1, LB_ID_MAX, &dev) != 0 ||
        jtime(a, "at", 0, &at, &has_at) != 0)
        return;
    if (!has_at)
        at = a->now;
    if (!lb_id_valid(dev)) {
        fail(a, 400, "machine: not a machine id");
        return;
    }
    if (at > a->now + 60000 || (a->now - at) / 86400000 >= RECOUNT_MAX_DAYS) {
        fail(a, 400, "at: not in the last %d days", RECOUNT_MAX_DAYS);
        return;
    }
    if ((rc = dbm_machine_exists(a->ro, dev)) != 0) {
        fail(a, rc == -ENOENT ? 400 : 500,
             rc == -ENOENT ? "machine: no such machine" : "database error");
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    if (start)
        rc = dbm_run_start(rw, a->id, dev, at);
    else if ((rc = dbm_run_stop(rw, a->id, dev, at, &from)) == -EINVAL)
        fail(a, 400, "at: before the run started");
    if (rc == 0 && at < a->now)
        rc = rollup_recount(rw, dev, at, a->now);
    if (rw_end(a, rw, rc, start ? "order" : "open run of this order on that machine") ==
        0)
        written(a, rw, DBM_ORDER_RUNS, a->id, NULL, 200);
}

static void h_order_start(struct api *a)
{
    order_run(a, 1);
}

static void h_order_stop(struct api *a)
{
    order_run(a, 0);
}

/* Good, scrap, remaining, rate and estimated completion of an order, and
 * its OEE over its runs. */
static void h_order_progress(struct api *a)
{
    struct dbm_run *runs = NULL;
    struct kpi_sums sum;
    struct kpi_group g;
    int64_t qty, due, good = 0, scrap = 0, elapsed = 0, remaining;
    char status[16];
    size_t n = 0, i;
    int rc, open = 0;
    double rate = 0.0;

    if ((rc = dbm_order_head(a->ro, a->id, &qty, &due, status, sizeof(status))) != 0 ||
        (rc = dbm_order_runs(a->ro, a->id, &runs, &n)) != 0) {
        if (rc == -ENOENT)
            fail(a, 404, "no such order");
        else
            fail_db(a, rc);
        return;
    }
    memset(&sum, 0, sizeof(sum));
    buf_printf(a->b, "{\"id\":%" PRId64 ",\"runs\":[", a->id);
    for (i = 0; i < n; i++) {
        int64_t end = runs[i].end < a->now ? runs[i].end : a->now;

        memset(&g, 0, sizeof(g));
        g.from = runs[i].start;
        g.to = runs[i].end == INT64_MAX ? a->now : runs[i].end;
        if (g.to > g.from && (rc = kpi_machine(a->ro, runs[i].dev, a->now, &g, 1)) != 0) {
            fail_db(a, rc);
            goto out;
        }
        sums_add(&sum, &g.s);
        if (runs[i].end == INT64_MAX)
            open = 1;
        if (end > runs[i].start)
            elapsed += end - runs[i].start;
        buf_puts(a->b, i ? ",{\"machine\":" : "{\"machine\":");
        buf_json_str(a->b, runs[i].dev);
        buf_puts(a->b, ",\"start\":");
        buf_json_time(a->b, runs[i].start);
        buf_puts(a->b, ",\"end\":");
        buf_json_time(a->b, runs[i].end == INT64_MAX ? -1 : runs[i].end);
        buf_printf(a->b, ",\"good\":%" PRId64 ",\"scrap\":%" PRId64 "}",
                   g.s.v[RC_GOOD] + g.s.v[RC_OGOOD], g.s.v[RC_SCRAP] + g.s.v[RC_OSCRAP]);
    }
    /* Every part counts for the order, in shifts or not. */
    good = sum.v[RC_GOOD] + sum.v[RC_OGOOD];
    scrap = sum.v[RC_SCRAP] + sum.v[RC_OSCRAP];
    remaining = qty > good ? qty - good : 0;
    if (elapsed > 0)
        rate = (double)good * 3600000.0 / (double)elapsed;
    buf_printf(a->b,
               "],\"quantity\":%" PRId64 ",\"good\":%" PRId64 ",\"scrap\":%" PRId64
               ",\"remaining\":%" PRId64 ",\"run_ms\":%" PRId64 ",\"rate_per_hour\":%.3f",
               qty, good, scrap, remaining, elapsed, rate);
    buf_puts(a->b, ",\"status\":");
    buf_json_str(a->b, status);
    buf_puts(a->b, ",\"due\":");
    buf_json_time(a->b, due);
    buf_puts(a->b, ",\"eta\":");
    if (remaining == 0 && n > 0)
        buf_puts(a->b, "\"done\"");
    else if (open && rate > 0.0)
        buf_json_time(a->b, a->now + (int64_t)((double)remaining * 3600000.0 / rate));
    else
        buf_puts(a->b, "null");
    buf_puts(a->b, ",\"eta_basis\":\"rate so far over the runs' elapsed time; null "
                   "while no run is open\",\"kpi\":");
    kpi_json(a->b, &sum, flag(arg(a, "explain")));
    buf_puts(a->b, "}\n");
    ok(a, 200);
out:
    free(runs);
}

/* ---- CSV import of orders ----------------------------------------------------- */

/* One CSV field (RFC 4180) from *p up to the end of its line; OUT: out.
 * Returns 1 when a field was read and more follow on the line, 0 at the
 * line's end, -1 for a bad quote. */
static int csv_field(const char **p, const char *end, char *out, size_t size, int *trunc)
{
    const char *s = *p;
    size_t n = 0;

    *trunc = 0;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end)
                return -1;
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    s++;
                } else {
                    s++;
                    break;
                }
            }
            if (n + 1 < size)
                out[n++] = *s;
            else
                *trunc = 1;
            s++;
        }
    } else {
        while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
            if (n + 1 < size)
                out[n++] = *s;
            else
                *trunc = 1;
            s++;
        }
    }
    out[n] = '\0';
    if (s < end && *s == ',') {
        *p = s + 1;
        return 1;
    }
    if (s < end && *s != '\n' && *s != '\r')
        return -1;
    while (s < end && (*s == '\r' || *s == '\n')) {
        if (*s++ == '\n')
            break;
    }
    *p = s;
    return 0;
}

enum { COL_NUMBER, COL_PRODUCT, COL_QUANTITY, COL_DUE, COL_STATUS, COL_N };

static void import_error(struct buf *b, int *nerr, int line, const char *col,
                         const char *msg)
{
    if (*nerr >= CSV_ERRORS_MAX) {
        (*nerr)++;
        return;
    }
    buf_printf(b, "%s{\"line\":%d,\"column\":", *nerr ? "," : "", line);
    buf_json_str(b, col);
    buf_puts(b, ",\"error\":");
    buf_json_str(b, msg);
    buf_puts(b, "}");
    (*nerr)++;
}

static void h_order_import(struct api *a)
{
    static const char *const names[COL_N] = {"number", "product", "quantity", "due",
                                             "status"};
    const struct cal_clock *ck = &plant_get()->clock;
    const char *p = a->env->body, *end = p ? p + a->env->body_len : NULL;
    int map[16], ncol = 0, line = 1, nerr = 0, created = 0, updated = 0, rows = 0;
    char field[300], val[COL_N][300];
    struct buf errs;
    struct db *rw;
    int more, trunc, rc = 0, i;

    if (p == NULL || a->env->body_len == 0) {
        fail(a, 400,
             "body: a CSV file with a header row number,product,quantity,due,status");
        return;
    }
    if (a->env->body_len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a spreadsheet's byte order mark */
    do {
        if ((more = csv_field(&p, end, field, sizeof(field), &trunc)) < 0 || ncol >= 16) {
            fail(a, 400, "body: header row: bad CSV");
            return;
        }
        for (i = 0; field[i]; i++)
            field[i] = (char)tolower((unsigned char)field[i]);
        map[ncol] = -1;
        for (i = 0; i < COL_N; i++)
            if (strcmp(field, names[i]) == 0)
                map[ncol] = i;
        if (map[ncol] < 0) {
            fail(a, 400,
                 "body: header row: unknown column \"%.40s\" (number, product, "
                 "quantity, due, status)",
                 field);
            return;
        }
        ncol++;
    } while (more == 1);
    for (i = 0; i < ncol && map[i] != COL_NUMBER; i++)
        ;
    if (i == ncol) {
        fail(a, 400, "body: header row: the column number is required");
        return;
    }
    buf_init(&errs);
    if ((rw = rw_begin(a)) == NULL) {
        buf_free(&errs);
        return;
    }
    while (p < end && rc == 0) {
        struct dbm_opt product = {0}, qty = {0}, due = {0}, status = {0};
        int64_t nid, day;
        int c = 0, bad = 0, made, blank = 1;
        char *e;

        line++;
        memset(val, 0, sizeof(val));
        do {
            if ((more = csv_field(&p, end, field, sizeof(field), &trunc)) < 0) {
                import_error(&errs, &nerr, line, "", "bad CSV quoting");
                bad = 1;
                /* Skip to the next line. */
                while (p < end && *p != '\n')
                    p++;
                if (p < end)
                    p++;
                break;
            }
            if (field[0] != '\0')
                blank = 0;
            if (c < ncol) {
                if (trunc) {
                    import_error(&errs, &nerr, line, names[map[c]],
                                 "longer than 256 bytes");
                    bad = 1;
                }
                snprintf(val[map[c]], sizeof(val[0]), "%s", field);
            } else if (field[0] != '\0' && !bad) {
                import_error(&errs, &nerr, line, "", "more fields than the header");
                bad = 1;
            }
            c++;
        } while (more == 1);
        if (bad)
            continue;
        if (blank)
            continue;
        if (++rows > CSV_ROWS_MAX) {
            import_error(&errs, &nerr, line, "", "too many rows (at most 5000 a file)");
            break;
        }
        if (val[COL_NUMBER][0] == '\0' || strlen(val[COL_NUMBER]) > NAME_MAX_LEN ||
            !id_text_ok(val[COL_NUMBER])) {
            import_error(&errs, &nerr, line, "number", "missing or longer than 64 bytes");
            continue;
        }
        if (val[COL_PRODUCT][0] != '\0') {
            product.has = 1;
            if ((rc = dbm_product_by_code(rw, val[COL_PRODUCT], &product.i)) == -ENOENT) {
                rc = 0;
                import_error(&errs, &nerr, line, "product", "no product with this code");
                continue;
            }
            if (rc != 0)
                break;
        }
        if (val[COL_QUANTITY][0] != '\0') {
            long long q = strtoll(val[COL_QUANTITY], &e, 10);

            if (*e != '\0' || q < 0 || q > 1000000000) {
                import_error(&errs, &nerr, line, "quantity", "not a whole number >= 0");
                continue;
            }
            qty.has = 1;
            qty.i = q;
        }
        if (val[COL_DUE][0] != '\0') {
            due.has = 1;
            /* A date is due at the end of that production day. */
            if (tz_parse_day(val[COL_DUE], &day) == 0) {
                due.i = cal_day_start(ck, day + 1);
            } else if (lb_parse_iso8601(val[COL_DUE], &due.i) != 0 || due.i < 0) {
                import_error(&errs, &nerr, line, "due",
                             "not a date YYYY-MM-DD or ISO 8601");
                continue;
            }
        }
        if (val[COL_STATUS][0] != '\0') {
            if (!status_ok(val[COL_STATUS])) {
                import_error(&errs, &nerr, line, "status",
                             "not planned, running, paused, done or cancelled");
                continue;
            }
            status.has = 1;
            status.s = val[COL_STATUS];
        }
        rc = dbm_order_put(rw, 0, val[COL_NUMBER], product, qty, due, status, 1, a->now,
                           &nid, &made);
        if (rc == 0) {
            if (made)
                created++;
            else
                updated++;
        }
    }
    if (rw_end(a, rw, rc, "order") == 0) {
        buf_printf(a->b, "{\"created\":%d,\"updated\":%d,\"rejected\":%d,\"errors\":[",
                   created, updated, nerr);
        if (errs.len > 0)
            buf_add(a->b, errs.p, errs.len);
        buf_puts(a->b, "]}\n");
        ok(a, 200);
    }
    buf_free(&errs);
}

/* ---- operators, calendar, reasons -------------------------------------------- */

static void h_operators(struct api *a)
{
    view(a, DBM_OPERATORS, 0, NULL, "operator");
}

/* The time and parts of the machines an operator was scanned at, over
 * from..to (operators.h). */
static void h_operator_report(struct api *a)
{
    int64_t from, to;
    int rc;

    if (q_period(a, &from, &to) != 0)
        return;
    rc = operators_report(a->ro, a->id, from, to, a->now, flag(arg(a, "explain")), a->b);
    if (rc == -ENOENT)
        fail(a, 404, "no such operator");
    else if (rc != 0)
        fail_db(a, rc);
    else
        ok(a, 200);
}

static void h_operator_post(struct api *a)
{
    const char *badge, *name;
    int64_t id = 0;
    struct db *rw;

    if (jstr(a, "badge", 1, LB_SCAN_MAX, &badge) != 0 ||
        jstr(a, "name", 0, 128, &name) != 0)
        return;
    if ((rw = rw_begin(a)) == NULL)
        return;
    if (rw_end(a, rw, dbm_operator_put(rw, badge, name, &id), "operator") == 0) {
        buf_printf(a->b, "{\"id\":%" PRId64 "}\n", id);
        ok(a, 201);
    }
}

/* After a calendar change of line_id (0: the plant's, which any machine may
 * follow) from production day `from` on: recompute up to today, at most
 * RECOMPUTE_DAYS back.  OUT: *recomputed_from. */
static int recalendar(struct db *rw, int64_t line_id, int64_t from, int64_t now,
                      int64_t *recomputed_from)
{
    const struct cal_clock *ck = &plant_get()->clock;
    int64_t today = cal_prod_day(ck, now);
    int rc;

    *recomputed_from = INT64_MIN;
    if ((rc = rollup_calendar_changed(rw)) != 0)
        return rc;
    if (from > today)
        return 0;
    if (from < today - RECOMPUTE_DAYS)
        from = today - RECOMPUTE_DAYS;
    *recomputed_from = from;
    return rollup_recalendar(rw, line_id > 0 ? line_id : -1, from, today);
}

static void calendar_written(struct api *a, int64_t id, int64_t recomputed_from,
                             int status)
{
    char day[16];

    buf_printf(a->b, "{\"id\":%" PRId64 ",\"recomputed_from\":", id);
    if (recomputed_from == INT64_MIN) {
        buf_puts(a->b, "null}\n");
    } else {
        tz_format_day(recomputed_from, day, sizeof(day));
        buf_json_str(a->b, day);
        buf_puts(a->b, "}\n");
    }
    ok(a, status);
}

static int weekday_of(struct api *a, int every_ok, int *wd)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    json_t *v = json_object_get(a->body, "weekday");
    int i;

    if (v == NULL) {
        fail(a, 400, "weekday: missing (1 Monday .. 7 Sunday%s)",
             every_ok ? ", 0 every day" : "");
        return -1;
    }
    if (json_is_integer(v) && json_integer_value(v) >= (every_ok ? 0 : 1) &&
        json_integer_value(v) <= 7) {
        *wd = (int)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        for (i = 0; i < 7; i++) {
            if (strncasecmp(json_string_value(v), days[i], 3) == 0) {
                *wd = i + 1;
                return 0;
            }
        }
    }
    fail(a, 400, "weekday: 1 Monday .. 7 Sunday (or Mon .. Sun)%s",
         every_ok ? ", 0 every day" : "");
    return -1;
}

static void h_shifts(struct api *a)
{
    view(a, DBM_SHIFTS, 0, NULL, "shift");
}

static void h_shift_post(struct api *a)
{
    const struct cal_clock *ck = &plant_get()->clock;
    const char *name;
    int64_t line_id, vf, vt = INT64_MAX, id = 0, rf;
    int wd, sm, em, has_vf, has_vt, rc;
    struct db *rw;

    if (jline(a, &line_id) != 0 || jstr(a, "name", 1, NAME_MAX_LEN, &name) != 0 ||
        weekday_of(a, 0, &wd) != 0 || jhhmm(a, "start", &sm) != 0 ||
        jhhmm(a, "end", &em) != 0 || jday(a, "valid_from", 0, &vf, &has_vf) != 0 ||
        jday(a, "valid_to", 0, &vt, &has_vt) != 0)
        return;
    if (sm >= 1440) {
        fail(a, 400, "start: 00:00 to 23:59");
        return;
    }
    if (!has_vf)
        vf = cal_prod_day(ck, a->now);
    if (!has_vt)
        vt = INT64_MAX;
    if (vt <= vf) {
        fail(a, 400, "valid_to: after valid_from");
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_shift_add(rw, line_id, name, wd, sm, em, vf, vt, &id);
    if (rc == 0)
        rc = recalendar(rw, line_id, vf, a->now, &rf);
    if (rw_end(a, rw, rc, "shift") == 0)
        calendar_written(a, id, rf, 201);
}

static void calendar_delete(struct api *a, const char *table)
{
    const struct cal_clock *ck = &plant_get()->clock;
    const char *f = arg(a, "from");
    int64_t day = cal_prod_day(ck, a->now), line_id = 0, aday, ams, rf = INT64_MIN;
    struct db *rw;
    int rc;

    if (f != NULL && f[0] != '\0' && tz_parse_day(f, &day) != 0) {
        fail(a, 400, "from: not a date YYYY-MM-DD");
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_calendar_end(rw, table, a->id, day, &line_id, &aday, &ams);
    if (rc == 0) {
        if (ams != INT64_MIN)
            aday = cal_prod_day(ck, ams);
        rc = recalendar(rw, line_id, aday, a->now, &rf);
    }
    if (rw_end(a, rw, rc, "row") == 0)
        calendar_written(a, a->id, rf, 200);
}

static void h_shift_delete(struct api *a)
{
    calendar_delete(a, "shifts");
}

static void h_pstops(struct api *a)
{
    view(a, DBM_STOPS_PLANNED, 0, NULL, "planned stop");
}

static void h_pstop_post(struct api *a)
{
    const struct cal_clock *ck = &plant_get()->clock;
    const char *name, *kind;
    int64_t line_id, s = 0, e = 0, vf, id = 0, rf, from_day;
    int wd = -1, sm = 0, em = 0, has_s, has_e, has_vf, rc;
    struct db *rw;

    if (jline(a, &line_id) != 0 || jstr(a, "name", 1, NAME_MAX_LEN, &name) != 0 ||
        jstr(a, "kind", 0, 32, &kind) != 0 || jtime(a, "start_at", 0, &s, &has_s) != 0 ||
        jtime(a, "end_at", 0, &e, &has_e) != 0 ||
        jday(a, "valid_from", 0, &vf, &has_vf) != 0)
        return;
    if (has_s || has_e) {
        if (!has_s || !has_e || e <= s) {
            fail(a, 400, "end_at: a one-off stop needs start_at and a later end_at");
            return;
        }
        from_day = cal_prod_day(ck, s);
    } else {
        if (weekday_of(a, 1, &wd) != 0 || jhhmm(a, "start", &sm) != 0 ||
            jhhmm(a, "end", &em) != 0)
            return;
        if (!has_vf)
            vf = cal_prod_day(ck, a->now);
        from_day = vf;
    }
    if (!has_vf)
        vf = -1000000;
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_stop_add(rw, line_id, name, kind ? kind : "break", wd, sm, em, s, e,
                      wd >= 0 ? (has_vf ? vf : from_day) : -1000000, &id);
    if (rc == 0)
        rc = recalendar(rw, line_id, from_day, a->now, &rf);
    if (rw_end(a, rw, rc, "planned stop") == 0)
        calendar_written(a, id, rf, 201);
}

static void h_pstop_delete(struct api *a)
{
    calendar_delete(a, "planned_stops");
}

static void h_days(struct api *a)
{
    view(a, DBM_CAL_DAYS, 0, NULL, "calendar day");
}

static void h_day_post(struct api *a)
{
    const char *kind, *name;
    int64_t line_id, day, id = 0, rf;
    int has, holiday, sm = 0, em = 0, rc;
    struct db *rw;

    if (jline(a, &line_id) != 0 || jday(a, "day", 1, &day, &has) != 0 ||
        jstr(a, "kind", 1, 16, &kind) != 0 ||
        jstr(a, "name", 0, NAME_MAX_LEN, &name) != 0)
        return;
    if (strcmp(kind, "holiday") != 0 && strcmp(kind, "shift") != 0) {
        fail(a, 400, "kind: holiday or shift");
        return;
    }
    holiday = strcmp(kind, "holiday") == 0;
    if (!holiday && (jhhmm(a, "start", &sm) != 0 || jhhmm(a, "end", &em) != 0))
        return;
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_day_add(rw, line_id, day, holiday, name, sm, em, &id);
    if (rc == 0)
        rc = recalendar(rw, line_id, day, a->now, &rf);
    if (rw_end(a, rw, rc, "calendar day") == 0)
        calendar_written(a, id, rf, 201);
}

static void h_day_delete(struct api *a)
{
    calendar_delete(a, "calendar_days");
}

static void h_reasons(struct api *a)
{
    view(a, DBM_REASONS, 0, NULL, "reason");
}

static void reason_write(struct api *a, const char *code_in)
{
    const char *code = code_in, *name, *kind, *category;
    int planned = 0, rc;
    struct db *rw;

    if (code == NULL && jstr(a, "code", 1, LB_CODE_MAX, &code) != 0)
        return;
    if (!lb_id_valid(code)) {
        fail(a, 400, "code: letters, digits, _ . - (at most 64)");
        return;
    }
    if (jstr(a, "name", 0, 128, &name) != 0 || jstr(a, "kind", 0, 16, &kind) != 0 ||
        jstr(a, "category", 0, 32, &category) != 0 || jbool(a, "planned", &planned) != 0)
        return;
    if (kind != NULL && strcmp(kind, "downtime") != 0 && strcmp(kind, "scrap") != 0) {
        fail(a, 400, "kind: downtime or scrap");
        return;
    }
    if ((rw = rw_begin(a)) == NULL)
        return;
    rc = dbm_reason_put(rw, code, name, kind ? kind : "downtime", planned,
                        category ? category : (planned ? "planned" : "breakdown"));
    if (rw_end(a, rw, rc, "reason") == 0) {
        buf_puts(a->b, "{\"code\":");
        buf_json_str(a->b, code);
        buf_puts(a->b, "}\n");
        ok(a, code_in ? 200 : 201);
    }
}

static void h_reason_post(struct api *a)
{
    reason_write(a, NULL);
}

static void h_reason_put(struct api *a)
{
    reason_write(a, a->key);
}

static void h_reason_delete(struct api *a)
{
    struct db *rw;

    if ((rw = rw_begin(a)) == NULL)
        return;
    if (rw_end(a, rw, dbm_reason_delete(rw, a->key), "reason") == 0) {
        buf_puts(a->b, "{\"deleted\":true}\n");
        ok(a, 200);
    }
}

/* ---- entry ---------------------------------------------------------------------- */

void api_handle(const struct pages_env *env, struct db *ro, int64_t now_ms,
                struct reply *rep)
{
    const struct api_route *r = NULL;
    struct api a;
    unsigned mb = method_bit(env->method ? env->method : "GET");
    int known = 0, role;
    size_t i;

    memset(&a, 0, sizeof(a));
    a.env = env;
    a.ro = ro;
    a.rep = rep;
    a.b = &rep->body;
    a.now = now_ms;
    a.who = env->sess ? env->sess->user : "api";
    for (i = 0; i < NROUTES; i++) {
        struct api t;

        memset(&t, 0, sizeof(t));
        if (!match(routes[i].pattern, env->path, &t))
            continue;
        known = 1;
        if (routes[i].method & mb) {
            r = &routes[i];
            a.id = t.id;
            a.id2 = t.id2;
            memcpy(a.key, t.key, sizeof(a.key));
            break;
        }
    }
    if (r == NULL) {
        fail(&a, known ? 405 : 404, known ? "method not allowed" : "not found");
        return;
    }
    /* The gate in front (web.c) lets supervisors and above write; some
     * writes need more. */
    role = env->sess ? (int)env->sess->role : AUTH_ADMIN;
    if (role < r->role) {
        fail(&a, 403, "this needs the %s role", auth_role_name((enum auth_role)r->role));
        return;
    }
    if (r->body) {
        json_error_t je;

        if (env->body == NULL || env->body_len == 0) {
            fail(&a, 400, "body: a JSON object is required");
            return;
        }
        a.body = json_loadb(env->body, env->body_len, JSON_REJECT_DUPLICATES, &je);
        if (a.body == NULL || !json_is_object(a.body)) {
            fail(&a, 400, "body: not a JSON object (%s at byte %d)",
                 a.body ? "not an object" : je.text, a.body ? 0 : je.position);
            json_decref(a.body);
            return;
        }
    }
    /* A read answers from one snapshot of the database. */
    if (r->method == M_GET) {
        if (dbk_read_begin(ro) != 0) {
            fail(&a, 503, "database busy, try again");
            return;
        }
        r->fn(&a);
        dbk_read_end(ro);
    } else {
        r->fn(&a);
    }
    json_decref(a.body);
    if (!a.done && rep->status == 0)
        fail(&a, 500, "no answer");
    if (rep->body.err != 0)
        pages_error(rep, 500, 1, "response too large");
}
