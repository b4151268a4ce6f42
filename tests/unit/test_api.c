/*
 * The KPI API (api.c) without HTTP: requests go to api_handle with a fake
 * query and body, on a temporary database fed through the real write
 * path.  Checks errors that name the bad parameter, CRUD of master data and
 * calendar (with the rollups recomputed), the CSV import's report of bad
 * rows, stop reasons with their audit, and that the OEE report's JSON
 * carries the engine's sums.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api.h"
#include "db.h"
#include "linebeat/wire.h"
#include "pages.h"
#include "plant.h"
#include "tz.h"

#define MIN  60000LL
#define HOUR 3600000LL

static char dir[256], path[300];
static struct db *ro, *rw;
static uint64_t seq;

struct fake {
    char q[8][2][128];
    int n;
};

static const char *fake_arg(void *ctx, const char *name)
{
    struct fake *f = ctx;
    int i;

    for (i = 0; i < f->n; i++)
        if (strcmp(f->q[i][0], name) == 0)
            return f->q[i][1];
    return NULL;
}

static struct db *fake_rw(void *ctx)
{
    (void)ctx;
    return rw;
}

/* Sends method path?query with body; returns the status, OUT: *json (the
 * parsed body, decref it) when not NULL. */
static int call(const char *method, const char *pathq, const char *body, json_t **json)
{
    struct pages_env env;
    struct reply rep;
    struct fake f;
    char p[512], *q, *tok, *save = NULL;
    int status;

    memset(&f, 0, sizeof(f));
    snprintf(p, sizeof(p), "%s", pathq);
    if ((q = strchr(p, '?')) != NULL) {
        *q++ = '\0';
        for (tok = strtok_r(q, "&", &save); tok && f.n < 8;
             tok = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(tok, '=');

            if (eq == NULL)
                continue;
            *eq = '\0';
            snprintf(f.q[f.n][0], sizeof(f.q[0][0]), "%s", tok);
            snprintf(f.q[f.n][1], sizeof(f.q[0][1]), "%s", eq + 1);
            f.n++;
        }
    }
    memset(&env, 0, sizeof(env));
    env.method = method;
    env.path = p;
    env.arg = fake_arg;
    env.rw = fake_rw;
    env.ctx = &f;
    env.body = body;
    env.body_len = body ? strlen(body) : 0;
    memset(&rep, 0, sizeof(rep));
    buf_init(&rep.body);
    api_handle(&env, ro, tz_days_from_civil(2025, 11, 4) * 86400000LL, &rep);
    status = rep.status;
    if (json != NULL) {
        *json = rep.body.p ? json_loads(rep.body.p, 0, NULL) : NULL;
        if (*json == NULL)
            fail_msg("%s %s: not JSON: %s", method, pathq, rep.body.p ? rep.body.p : "");
    }
    buf_free(&rep.body);
    return status;
}

static void expect_error(const char *method, const char *pathq, const char *body,
                         int status, const char *needle)
{
    json_t *j = NULL;
    const char *msg;

    assert_int_equal(call(method, pathq, body, &j), status);
    msg = json_string_value(json_object_get(j, "error"));
    if (msg == NULL || strstr(msg, needle) == NULL)
        fail_msg("%s %s: error \"%s\" lacks \"%s\"", method, pathq, msg ? msg : "",
                 needle);
    json_decref(j);
}

static void store(struct lb_event *ev, size_t n)
{
    struct db_batch_result res;
    struct lb_batch b;
    size_t i;

    memset(&b, 0, sizeof(b));
    snprintf(b.agent, sizeof(b.agent), "a1");
    snprintf(b.boot, sizeof(b.boot), "0123456789abcdef");
    b.synced = 1;
    b.n = n;
    b.events = ev;
    for (i = 0; i < n; i++)
        ev[i].seq = ++seq;
    assert_int_equal(db_begin(rw), 0);
    assert_int_equal(db_store_batch(rw, "site-1", &b, ev[n - 1].t, &res), 0);
    assert_int_equal(db_commit(rw), 0);
}

/* Monday 2025-11-03 06:00-08:00 UTC: running with 60 parts a minute, a
 * 20-minute stop without a reason 07:00-07:20. */
static void feed(void)
{
    struct lb_event *ev = calloc(400, sizeof(*ev));
    int64_t t0 = tz_days_from_civil(2025, 11, 3) * 86400000LL + 6 * HOUR, t;
    size_t n = 0;

    assert_non_null(ev);
    for (t = t0; t <= t0 + 2 * HOUR; t += MIN) {
        int stop = t >= t0 + HOUR && t < t0 + HOUR + 20 * MIN;

        ev[n].t = t;
        snprintf(ev[n].dev, sizeof(ev[n].dev), "m1");
        ev[n].type = LB_EV_STATE;
        ev[n].u.state.state = stop ? LB_ST_DOWN : LB_ST_RUNNING;
        n++;
        if (!stop && t > t0) {
            ev[n].t = t;
            snprintf(ev[n].dev, sizeof(ev[n].dev), "m1");
            ev[n].type = LB_EV_COUNT;
            ev[n].u.count.good = 60;
            n++;
        }
    }
    store(ev, n);
    free(ev);
}

static int setup(void **state)
{
    struct lb_birth *b = calloc(1, sizeof(*b));
    uint64_t hw;
    unsigned c;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-api-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/server.db", dir);
    assert_int_equal(plant_set("UTC", 6 * 60, 120, 180), 0);
    assert_int_equal(db_open(path, 0, &rw), 0);
    assert_int_equal(db_open(path, 1, &ro), 0);
    seq = 0;
    snprintf(b->agent, sizeof(b->agent), "a1");
    snprintf(b->boot, sizeof(b->boot), "0123456789abcdef");
    b->ndevices = 1;
    snprintf(b->devices[0].dev, sizeof(b->devices[0].dev), "m1");
    b->devices[0].ideal_cycle_ms = 1000;
    assert_int_equal(db_begin(rw), 0);
    assert_int_equal(db_store_birth(rw, "site-1", b, 0, &hw, &c), 0);
    assert_int_equal(db_commit(rw), 0);
    free(b);
    feed();
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    db_close(ro);
    db_close(rw);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("GET", "/api/v1/reports/oee?scope=machine&id=m1&to=2025-11-04", NULL,
                 400, "from: missing");
    expect_error("GET",
                 "/api/v1/reports/oee?scope=machine&id=m1&from=yesterday&to=2025-11-04",
                 NULL, 400, "from: not an ISO 8601 time");
    expect_error("GET",
                 "/api/v1/reports/oee?scope=machine&id=m1&from=2025-11-04&to=2025-11-03",
                 NULL, 400, "to: before from");
    expect_error("GET",
                 "/api/v1/reports/"
                 "oee?scope=machine&id=m1&from=2025-11-03&to=2025-11-04&group=year",
                 NULL, 400, "group:");
    expect_error("GET", "/api/v1/reports/oee?scope=galaxy&from=2025-11-03&to=2025-11-04",
                 NULL, 400, "scope:");
    expect_error(
        "GET", "/api/v1/reports/oee?scope=machine&id=nope&from=2025-11-03&to=2025-11-04",
        NULL, 404, "id: no such machine");
    expect_error("GET",
                 "/api/v1/reports/oee?scope=line&id=9&from=2025-11-03&to=2025-11-04",
                 NULL, 404, "id: no such line");
    expect_error("GET", "/api/v1/reports/oee?scope=plant&from=2024-01-01&to=2025-11-04",
                 NULL, 400, "to: more than");
    expect_error("POST", "/api/v1/lines", NULL, 400, "body:");
    expect_error("POST", "/api/v1/lines", "{\"name\":", 400, "body: not a JSON object");
    expect_error("POST", "/api/v1/lines", "{}", 400, "name: missing");
    expect_error("POST", "/api/v1/lines", "{\"name\":7}", 400, "name: not a string");
    expect_error("POST", "/api/v1/shifts", "{\"name\":\"A\",\"weekday\":9}", 400,
                 "weekday:");
    expect_error("POST", "/api/v1/shifts",
                 "{\"name\":\"A\",\"weekday\":1,\"start\":\"25:00\",\"end\":\"06:00\"}",
                 400, "start: not a time HH:MM");
    expect_error("POST", "/api/v1/orders", "{\"number\":\"1\",\"quantity\":-3}", 400,
                 "quantity:");
    expect_error("POST", "/api/v1/orders", "{\"number\":\"1\",\"product\":\"nope\"}", 400,
                 "product: no product with code nope");
    expect_error("DELETE", "/api/v1/reports/oee", NULL, 405, "method not allowed");
    expect_error("GET", "/api/v1/lines/77", NULL, 404, "no such line");
    expect_error("PUT", "/api/v1/machines/m1/stops/123", "{\"reason\":\"nope\"}", 400,
                 "reason: nope is not in the catalogue");
}

static void test_report(void **state)
{
    json_t *j = NULL, *k;
    int64_t run, down;

    (void)state;
    assert_int_equal(
        call("GET",
             "/api/v1/reports/oee?scope=machine&id=m1&from=2025-11-03T06:00:00Z"
             "&to=2025-11-03T08:00:00Z&group=hour&explain=1",
             NULL, &j),
        200);
    k = json_object_get(j, "total");
    run = json_integer_value(json_object_get(json_object_get(k, "time_ms"), "run"));
    down =
        json_integer_value(json_object_get(json_object_get(k, "time_ms"), "unexplained"));
    assert_int_equal(run, 100 * MIN);
    assert_int_equal(down, 20 * MIN);
    assert_int_equal(json_array_size(json_object_get(j, "groups")), 2);
    assert_non_null(json_object_get(json_object_get(k, "explain"), "availability"));
    /* availability = 100 / 120 */
    assert_true(json_real_value(json_object_get(k, "availability")) > 0.8333 &&
                json_real_value(json_object_get(k, "availability")) < 0.8334);
    json_decref(j);

    assert_int_equal(call("GET",
                          "/api/v1/reports/pareto?scope=plant&from=2025-11-03T06:00:00Z"
                          "&to=2025-11-03T08:00:00Z",
                          NULL, &j),
                     200);
    k = json_array_get(json_object_get(j, "bars"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "category")), "unexplained");
    assert_int_equal(json_integer_value(json_object_get(k, "ms")), 20 * MIN);
    json_decref(j);
}

static void test_calendar_and_lines(void **state)
{
    json_t *j = NULL;
    int64_t cal_p;

    (void)state;
    /* The agent's birth registered its site. */
    assert_int_equal(call("PUT", "/api/v1/sites/site-1", "{\"name\":\"Plant 1\"}", &j),
                     200);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/sites", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")),
                        "Plant 1");
    json_decref(j);
    assert_int_equal(call("POST", "/api/v1/lines", "{\"name\":\"Line 1\"}", &j), 201);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
    json_decref(j);
    expect_error("POST", "/api/v1/lines", "{\"name\":\"Line 1\"}", 409,
                 "name: already exists");
    assert_int_equal(call("PUT", "/api/v1/machines/m1", "{\"line_id\":1}", &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "line_id")), 1);
    json_decref(j);
    /* An early shift on Mondays from 2025-11-03, applied to that day. */
    assert_int_equal(
        call("POST", "/api/v1/shifts",
             "{\"line_id\":1,\"name\":\"Early\",\"weekday\":\"Mon\","
             "\"start\":\"06:00\",\"end\":\"07:00\",\"valid_from\":\"2025-11-03\"}",
             &j),
        201);
    assert_string_equal(json_string_value(json_object_get(j, "recomputed_from")),
                        "2025-11-03");
    json_decref(j);
    assert_int_equal(call("GET",
                          "/api/v1/reports/oee?scope=line&id=1&from=2025-11-03T06:00:00Z"
                          "&to=2025-11-03T08:00:00Z&group=shift",
                          NULL, &j),
                     200);
    cal_p = json_integer_value(json_object_get(
        json_object_get(json_object_get(j, "total"), "time_ms"), "planned_busy"));
    assert_int_equal(cal_p, HOUR);
    assert_int_equal(json_array_size(json_object_get(j, "groups")), 1);
    /* Count events stamped 06:01 .. 06:59 are in the shift; those from
     * 07:00 on are outside it now. */
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(j, "total"), "counts"), "good")),
                     59 * 60);
    json_decref(j);
    /* Holiday on that day: no shift at all. */
    assert_int_equal(call("POST", "/api/v1/calendar-days",
                          "{\"line_id\":1,\"day\":\"2025-11-03\",\"kind\":\"holiday\"}",
                          &j),
                     201);
    json_decref(j);
    assert_int_equal(call("GET",
                          "/api/v1/reports/oee?scope=line&id=1&from=2025-11-03T06:00:00Z"
                          "&to=2025-11-03T08:00:00Z&group=day",
                          NULL, &j),
                     200);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(j, "total"), "time_ms"), "planned_busy")),
        0);
    assert_true(json_is_null(json_object_get(json_object_get(j, "total"), "oee")));
    json_decref(j);
}

static void test_orders_csv(void **state)
{
    json_t *j = NULL, *e;
    const char *csv = "Number,Product,Quantity,Due,Status\r\n"
                      "WO-1,P1,100,2025-11-10,planned\r\n"
                      "WO-2,,abc,,\r\n"
                      "WO-3,NOPE,5,,\r\n"
                      "\"WO-4, rush\",P1,7,2025-11-05T12:00:00Z,running\r\n"
                      ",P1,1,,\r\n"
                      "WO-5,P1,1,next week,\r\n"
                      "WO-1,P1,120,,\r\n";

    (void)state;
    assert_int_equal(
        call("POST", "/api/v1/products",
             "{\"code\":\"P1\",\"ideal_cycle_ms\":2000,\"machines\":{\"m1\":1500}}", &j),
        201);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "machines"), "m1")), 1500);
    json_decref(j);
    {
        struct pages_env env;
        struct reply rep;
        struct fake f;

        memset(&f, 0, sizeof(f));
        memset(&env, 0, sizeof(env));
        env.method = "POST";
        env.path = "/api/v1/orders/import";
        env.arg = fake_arg;
        env.rw = fake_rw;
        env.ctx = &f;
        env.body = csv;
        env.body_len = strlen(csv);
        memset(&rep, 0, sizeof(rep));
        buf_init(&rep.body);
        api_handle(&env, ro, 0, &rep);
        assert_int_equal(rep.status, 200);
        j = json_loads(rep.body.p, 0, NULL);
        buf_free(&rep.body);
    }
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "created")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "updated")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "rejected")), 4);
    e = json_object_get(j, "errors");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "line")),
                     3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e, 0), "column")), "quantity");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e, 1), "column")), "product");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e, 2), "column")), "number");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e, 3), "column")), "due");
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/orders?status=running", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "number")), "WO-4, rush");
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/orders/1", NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "quantity")), 120);
    assert_string_equal(json_string_value(json_object_get(j, "due")),
                        "2025-11-11T06:00:00.000Z");
    json_decref(j);

    /* A run in the past recounts the ideal time with the product's 1500 ms
     * on m1: 06:30-06:40 holds 10 count events of 60 parts. */
    assert_int_equal(call("POST", "/api/v1/orders/1/start",
                          "{\"machine\":\"m1\",\"at\":\"2025-11-03T06:30:00Z\"}", &j),
                     200);
    json_decref(j);
    assert_int_equal(call("POST", "/api/v1/orders/1/stop",
                          "{\"machine\":\"m1\",\"at\":\"2025-11-03T06:40:00Z\"}", &j),
                     200);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/orders/1/progress", NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "good")), 600);
    assert_int_equal(json_integer_value(json_object_get(j, "remaining")),
                     120 - 600 < 0 ? 0 : 0);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(j, "kpi"), "counts"), "ideal_ms")),
        600 * 1500);
    assert_string_equal(json_string_value(json_object_get(j, "eta")), "done");
    json_decref(j);
}

static void test_stop_reason(void **state)
{
    json_t *j = NULL;
    int64_t t = tz_days_from_civil(2025, 11, 3) * 86400000LL + 7 * HOUR;
    char p[128];

    (void)state;
    assert_int_equal(
        call("POST", "/api/v1/reasons",
             "{\"code\":\"jam\",\"name\":\"Material jam\",\"planned\":false}", &j),
        201);
    json_decref(j);
    assert_int_equal(call("GET",
                          "/api/v1/machines/m1/stops?from=2025-11-03T06:00:00Z"
                          "&to=2025-11-03T08:00:00Z&unexplained=1",
                          NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(j, 0), "start_ms")), t);
    json_decref(j);
    snprintf(p, sizeof(p), "/api/v1/machines/m1/stops/%lld", (long long)(t + 5 * MIN));
    assert_int_equal(call("PUT", p, "{\"reason\":\"jam\"}", &j), 200);
    json_decref(j);
    assert_int_equal(call("GET",
                          "/api/v1/machines/m1/stops?from=2025-11-03T06:00:00Z"
                          "&to=2025-11-03T08:00:00Z&unexplained=1",
                          NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/machines/m1/reason-audit", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "after")),
                        "jam");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "who")),
                        "api");
    json_decref(j);
    assert_int_equal(
        call("GET",
             "/api/v1/reports/pareto?scope=machine&id=m1&from=2025-11-03T06:00:00Z"
             "&to=2025-11-03T08:00:00Z",
             NULL, &j),
        200);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "bars"), 0), "reason")),
                        "jam");
    json_decref(j);
}

/* A scan of an order the server does not know makes it unplanned; a
 * quantity completes it (0 does not).  Scans come back by period. */
static void test_scans_unplanned(void **state)
{
    struct lb_event ev[2];
    int64_t t = tz_days_from_civil(2025, 11, 3) * 86400000LL + 9 * HOUR;
    json_t *j = NULL;
    char p[64];
    int64_t id;

    (void)state;
    memset(ev, 0, sizeof(ev));
    ev[0].t = t;
    snprintf(ev[0].dev, sizeof(ev[0].dev), "m1");
    ev[0].type = LB_EV_SCAN;
    ev[0].u.scan.kind = LB_SCAN_ORDER_START;
    snprintf(ev[0].u.scan.code, sizeof(ev[0].u.scan.code), "WO-S1");
    snprintf(ev[0].u.scan.value, sizeof(ev[0].u.scan.value), "WO-S1");
    ev[1] = ev[0];
    ev[1].t = t + 25 * HOUR; /* the next day */
    ev[1].u.scan.kind = LB_SCAN_UNKNOWN;
    store(ev, 2);

    assert_int_equal(call("GET",
                          "/api/v1/machines/m1/scans?from=2025-11-03T00:00:00Z"
                          "&to=2025-11-04T00:00:00Z",
                          NULL, &j),
                     200);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "kind")),
                        "order_start");
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/machines/m1/scans", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    expect_error("GET", "/api/v1/machines/m1/scans?from=2025-11-03T00:00:00Z", NULL, 400,
                 "to:");
    expect_error("GET", "/api/v1/machines/m1/scans?from=x&to=2025-11-04T00:00:00Z", NULL,
                 400, "from:");

    assert_int_equal(call("GET", "/api/v1/orders", NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    assert_true(json_is_true(json_object_get(json_array_get(j, 0), "unplanned")));
    id = json_integer_value(json_object_get(json_array_get(j, 0), "id"));
    json_decref(j);
    snprintf(p, sizeof(p), "/api/v1/orders/%lld", (long long)id);
    assert_int_equal(
        call("PUT", p, "{\"quantity\":0,\"due\":\"2025-11-10T06:00:00Z\"}", &j), 200);
    assert_true(json_is_true(json_object_get(j, "unplanned")));
    json_decref(j);
    assert_int_equal(call("PUT", p, "{\"quantity\":40}", &j), 200);
    assert_true(json_is_false(json_object_get(j, "unplanned")));
    assert_int_equal(json_integer_value(json_object_get(j, "quantity")), 40);
    json_decref(j);
    /* A later scan of the same number restarts it, still planned. */
    memset(ev, 0, sizeof(ev));
    ev[0].t = t + 26 * HOUR;
    snprintf(ev[0].dev, sizeof(ev[0].dev), "m1");
    ev[0].type = LB_EV_SCAN;
    ev[0].u.scan.kind = LB_SCAN_ORDER_START;
    snprintf(ev[0].u.scan.code, sizeof(ev[0].u.scan.code), "WO-S1");
    snprintf(ev[0].u.scan.value, sizeof(ev[0].u.scan.value), "WO-S1");
    store(ev, 1);
    assert_int_equal(call("GET", p, NULL, &j), 200);
    assert_true(json_is_false(json_object_get(j, "unplanned")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calendar_and_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orders_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scans_unplanned, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
