/*
 * The KPI engine against hand-computed cases, through the real write path
 * (db_store_batch -> rollup.c) on a temporary database: an hour with a
 * stop, a micro-stop and scrap; a night shift crossing midnight on both DST
 * days of Europe/Berlin with a break inside it; a machine offline for an
 * hour; an order over two shifts and two machines; events arriving two
 * hours late and out of order; a counter reset; overlapping and duplicate
 * state events; reasons set later (with their audit); performance above
 * 100 %; day, hour and total reports that agree; the Pareto against the
 * OEE losses; migration from version 1; the query plans of the reports.
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
#include <sqlite3.h>

#include "db.h"
#include "db_kpi.h"
#include "kpi.h"
#include "linebeat/error.h"
#include "linebeat/wire.h"
#include "plant.h"
#include "rollup.h"
#include "tz.h"

#define MIN  60000LL
#define HOUR 3600000LL

static char dir[256];
static char path[300];

/* ---- helpers -------------------------------------------------------------- */

struct evb {
    struct lb_event *v;
    size_t n, cap;
};

static uint64_t next_seq = 1;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-kpi-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/server.db", dir);
    next_seq = 1;
    assert_int_equal(plant_set("UTC", 6 * 60, 120, 180), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static struct lb_event *ev_new(struct evb *e, const char *dev, int64_t t)
{
    struct lb_event *x;

    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 256;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        assert_non_null(e->v);
    }
    x = &e->v[e->n++];
    memset(x, 0, sizeof(*x));
    x->t = t;
    snprintf(x->dev, sizeof(x->dev), "%s", dev);
    return x;
}

static void ev_state(struct evb *e, const char *dev, int64_t t, const char *state,
                     const char *reason)
{
    struct lb_event *x = ev_new(e, dev, t);

    x->type = LB_EV_STATE;
    x->u.state.state = (enum lb_state)lb_state_parse(state);
    snprintf(x->u.state.reason, sizeof(x->u.state.reason), "%s", reason ? reason : "");
}

/* The agent repeats a state every 60 s; so does this, over (from, to). */
static void ev_hold(struct evb *e, const char *dev, int64_t from, int64_t to,
                    const char *state, const char *reason)
{
    int64_t t;

    ev_state(e, dev, from, state, reason);
    for (t = from + MIN; t < to; t += MIN)
        ev_state(e, dev, t, state, reason);
}

static void ev_count(struct evb *e, const char *dev, int64_t t, int64_t good,
                     int64_t scrap)
{
    struct lb_event *x = ev_new(e, dev, t);

    x->type = LB_EV_COUNT;
    x->u.count.good = good;
    x->u.count.scrap = scrap;
    x->u.count.span = MIN;
}

/* A count event at every minute in (from, to]: parts made in the minute
 * before. */
static void ev_counts(struct evb *e, const char *dev, int64_t from, int64_t to,
                      int64_t good, int64_t scrap)
{
    int64_t t;

    for (t = from + MIN; t <= to; t += MIN)
        ev_count(e, dev, t, good, scrap);
}

static void ev_scan(struct evb *e, const char *dev, int64_t t, enum lb_scan_kind k,
                    const char *value, int64_t qty)
{
    struct lb_event *x = ev_new(e, dev, t);

    x->type = LB_EV_SCAN;
    x->u.scan.kind = k;
    snprintf(x->u.scan.code, sizeof(x->u.scan.code), "%s", value);
    snprintf(x->u.scan.value, sizeof(x->u.scan.value), "%s", value);
    x->u.scan.has_qty = qty > 0;
    x->u.scan.qty = qty;
}

static int cmp_t_age(const void *a, const void *b)
{
    const struct lb_event *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->age > y->age) - (x->age < y->age);
}

/* Stores events [i0, i1) of e as batches of up to 1000, seqs from next_seq. */
static void store_range(struct db *db, struct evb *e, size_t i0, size_t i1)
{
    struct db_batch_result res;
    struct lb_batch b;
    size_t i, k;

    while (i0 < i1) {
        k = i1 - i0 > LB_WIRE_MAX_EVENTS ? LB_WIRE_MAX_EVENTS : i1 - i0;
        memset(&b, 0, sizeof(b));
        snprintf(b.agent, sizeof(b.agent), "a1");
        snprintf(b.boot, sizeof(b.boot), "0123456789abcdef");
        b.synced = 1;
        b.n = k;
        b.events = &e->v[i0];
        for (i = 0; i < k; i++) {
            b.events[i].seq = next_seq++;
            b.events[i].age = 0;
        }
        b.sent = b.events[k - 1].t;
        assert_int_equal(db_begin(db), 0);
        assert_int_equal(db_store_batch(db, "site-1", &b, b.sent + 500, &res), 0);
        assert_int_equal(db_commit(db), 0);
        i0 += k;
    }
}

static void store_all(struct db *db, struct evb *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        e->v[i].age = (int64_t)i;
    qsort(e->v, e->n, sizeof(*e->v), cmp_t_age);
    store_range(db, e, 0, e->n);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

static void birth(struct db *db, const char *dev, int64_t ideal_ms)
{
    struct lb_birth *b = calloc(1, sizeof(*b));
    uint64_t hw;
    unsigned conflicts;

    assert_non_null(b);
    snprintf(b->agent, sizeof(b->agent), "a1");
    snprintf(b->boot, sizeof(b->boot), "0123456789abcdef");
    snprintf(b->version, sizeof(b->version), "test");
    b->ndevices = 1;
    snprintf(b->devices[0].dev, sizeof(b->devices[0].dev), "%s", dev);
    b->devices[0].ideal_cycle_ms = ideal_ms;
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(db_store_birth(db, "site-1", b, 0, &hw, &conflicts), 0);
    assert_int_equal(db_commit(db), 0);
    free(b);
}

/* Plain SQL on a second connection (setup rows, checks). */
static void sql(const char *q)
{
    sqlite3 *h = NULL;
    char *err = NULL;

    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_exec(h, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
    sqlite3_close(h);
}

static int64_t sql_int(const char *q)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void total(struct db *db, const char *dev, int64_t from, int64_t to, int64_t now,
                  struct kpi_sums *s)
{
    struct kpi_group *g = NULL;
    size_t n = 0;

    assert_int_equal(kpi_groups(db, KPI_G_NONE, 0, from, to, &g, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kpi_machine(db, dev, now, g, n), 0);
    *s = g[0].s;
    free(g);
}

static int64_t utc(int y, unsigned m, unsigned d, int h, int mi)
{
    return (tz_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static int near(double a, double b)
{
    return a - b < 1e-9 && b - a < 1e-9;
}

/* ---- cases ------------------------------------------------------------------ */

/*
 * Monday 2025-11-03, UTC, no shifts (around the clock), ideal 1000 ms:
 *   06:00-06:30 running, 50 good/min          30 min run, 1500 good
 *   06:30-06:40 down "jam"                     10 min down (a stop)
 *   06:40-06:50 running, 45 good + 5 scrap     10 min run, 450 good, 50 scrap
 *   06:50-06:51 idle (no reason)               1 min: micro-stop (< 120 s)
 *   06:51-07:00 running, 40 good/min           9 min run, 320 good
 * A = 50/60, P = 2320 s / 3000 s, Q = 2270/2320, OEE = 2270/3600.
 */
static void hour_case(struct db *db, const char *dev, int64_t t0)
{
    struct evb e = {0};

    ev_hold(&e, dev, t0, t0 + 30 * MIN, "running", "");
    ev_counts(&e, dev, t0, t0 + 30 * MIN, 50, 0);
    ev_hold(&e, dev, t0 + 30 * MIN, t0 + 40 * MIN, "down", "jam");
    ev_hold(&e, dev, t0 + 40 * MIN, t0 + 50 * MIN, "running", "");
    ev_counts(&e, dev, t0 + 40 * MIN, t0 + 50 * MIN, 45, 5);
    ev_hold(&e, dev, t0 + 50 * MIN, t0 + 51 * MIN, "idle", "");
    ev_hold(&e, dev, t0 + 51 * MIN, t0 + 61 * MIN, "running", "");
    ev_counts(&e, dev, t0 + 51 * MIN, t0 + 59 * MIN, 40, 0);
    store_all(db, &e);
}

static void test_hour(void **state)
{
    struct db *db = NULL;
    struct kpi_sums s;
    struct kpi_result r;
    int64_t t0 = utc(2025, 11, 3, 6, 0);

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    hour_case(db, "m1", t0);

    total(db, "m1", t0, t0 + HOUR, t0 + 2 * HOUR, &s);
    assert_int_equal(s.cal[CAL_P], HOUR);
    assert_int_equal(s.v[RC_RUN], 49 * MIN);
    assert_int_equal(s.v[RC_MICRO], 1 * MIN);
    assert_int_equal(s.v[RC_DOWN], 10 * MIN);
    assert_int_equal(s.v[RC_UNEXPL], 0);
    assert_int_equal(s.v[RC_GOOD], 2270);
    assert_int_equal(s.v[RC_SCRAP], 50);
    assert_int_equal(s.v[RC_IDEAL], 2320 * 1000);
    assert_int_equal(s.v[RC_STOPS], 1);
    assert_int_equal(s.v[RC_MICROS], 1);
    kpi_derive(&s, &r);
    assert_int_equal(r.unknown, 0);
    assert_true(near(r.availability, 50.0 / 60.0));
    assert_true(near(r.performance, 2320.0 / 3000.0));
    assert_true(near(r.quality, 2270.0 / 2320.0));
    assert_true(near(r.oee, 2270.0 / 3600.0));
    assert_true(near(r.mtbf_ms, 3000000.0));
    assert_true(near(r.mttr_ms, 600000.0));
    assert_int_equal(r.flags & KPI_F_PERF_OVER_100, 0);

    /* Cut at half minutes: 30 s less run at each end, counts unchanged
     * (the first count is at 06:01:00, the last at 06:59:00). */
    total(db, "m1", t0 + 30000, t0 + HOUR - 30000, t0 + 2 * HOUR, &s);
    assert_int_equal(s.cal[CAL_P], HOUR - MIN);
    assert_int_equal(s.v[RC_RUN], 48 * MIN);
    assert_int_equal(s.v[RC_MICRO], MIN);
    assert_int_equal(s.v[RC_DOWN], 10 * MIN);
    assert_int_equal(s.v[RC_GOOD], 2270);
    kpi_derive(&s, &r);
    assert_int_equal(r.unknown, 0);

    /* An arbitrary cut inside the stop and inside a count minute. */
    total(db, "m1", t0 + 35 * MIN + 1234, t0 + 45 * MIN + 777, t0 + 2 * HOUR, &s);
    assert_int_equal(s.v[RC_DOWN], 5 * MIN - 1234);
    assert_int_equal(s.v[RC_RUN], 5 * MIN + 777);
    assert_int_equal(s.v[RC_GOOD], 5 * 45);
    assert_int_equal(s.v[RC_SCRAP], 5 * 5);
    db_close(db);
}

/* Reports by hour and by day add up to the total; the Pareto's bars add up
 * to the losses of the OEE report. */
static void test_consistency(void **state)
{
    struct db *db = NULL;
    struct kpi_group *g = NULL;
    struct kpi_sums s, sum;
    struct kpi_losses l = {0};
    int64_t t0 = utc(2025, 11, 3, 6, 0), from = t0 - 7 * MIN - 123, to = t0 + 3 * HOUR;
    int64_t now = to + HOUR, ms = 0;
    size_t n = 0, i;
    int k, gk;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    hour_case(db, "m1", t0);
    hour_case(db, "m1", t0 + HOUR + 1 * MIN);
    total(db, "m1", from, to, now, &s);
    for (gk = KPI_G_HOUR; gk <= KPI_G_MONTH; gk++) {
        assert_int_equal(kpi_groups(db, (enum kpi_grouping)gk, 0, from, to, &g, &n), 0);
        assert_int_equal(kpi_machine(db, "m1", now, g, n), 0);
        memset(&sum, 0, sizeof(sum));
        for (i = 0; i < n; i++) {
            for (k = 0; k < RC_N; k++)
                sum.v[k] += g[i].s.v[k];
            for (k = 0; k < CAL_NCLS; k++)
                sum.cal[k] += g[i].s.cal[k];
        }
        if (gk == KPI_G_SHIFT) {
            /* Around the clock: one shift per production day. */
            assert_int_equal(n, 2);
        }
        for (k = 0; k < RC_N; k++)
            if (sum.v[k] != s.v[k])
                fail_msg("grouping %d: %s %lld != total %lld", gk, roll_col_name[k],
                         (long long)sum.v[k], (long long)s.v[k]);
        for (k = 0; k < CAL_NCLS; k++)
            assert_int_equal(sum.cal[k], s.cal[k]);
        free(g);
    }
    assert_int_equal(kpi_pareto(db, "m1", from, to, now, &l), 0);
    kpi_losses_sort(&l);
    for (i = 0; i < l.n; i++)
        ms += l.v[i].ms;
    assert_int_equal(ms, s.v[RC_DOWN] + s.v[RC_UNEXPL] + s.v[RC_SETUP] + s.v[RC_MICRO]);
    assert_string_equal(l.v[0].reason, "jam");
    assert_int_equal(l.v[0].ms, 20 * MIN);
    assert_int_equal(l.v[0].count, 2);
    kpi_losses_free(&l);
    db_close(db);
}

static void same_sums(const struct kpi_sums *a, const struct kpi_sums *b)
{
    int k;

    for (k = 0; k < RC_N; k++)
        if (a->v[k] != b->v[k])
            fail_msg("%s: %lld != %lld", roll_col_name[k], (long long)a->v[k],
                     (long long)b->v[k]);
    for (k = 0; k < CAL_NCLS; k++)
        assert_int_equal(a->cal[k], b->cal[k]);
}

/* A line's (or the plant's) report from the per-line day sums equals its
 * machines' reports added up, also after a machine changed line. */
static void test_line_sums(void **state)
{
    const struct cal_clock *ck = &plant_get()->clock;
    char *both[] = {"m1", "m2"}, *one[] = {"m1"}, *two[] = {"m2"};
    int64_t line0[] = {0}, line1[] = {1}, t0 = utc(2025, 11, 3, 6, 0);
    int64_t d = cal_prod_day(ck, t0), now = t0 + 3 * 86400000LL;
    struct kpi_group *g = NULL, *h = NULL;
    struct db *db = NULL;
    size_t n = 0, i;
    int k;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    birth(db, "m2", 1500);
    hour_case(db, "m1", t0);
    hour_case(db, "m2", t0 + 2 * HOUR);
    /* Two whole days and a cut one. */
    assert_int_equal(kpi_groups(db, KPI_G_DAY, 0, cal_day_start(ck, d) - 5 * HOUR,
                                cal_day_start(ck, d + 2), &g, &n),
                     0);
    assert_int_equal(kpi_scope(db, both, 2, line0, 1, now, g, n), 0);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        size_t nh = 0;

        assert_int_equal(kpi_groups(db, KPI_G_NONE, 0, g[i].from, g[i].to, &h, &nh), 0);
        assert_int_equal(nh, 1);
        assert_int_equal(kpi_machine(db, "m1", now, h, 1), 0);
        assert_int_equal(kpi_machine(db, "m2", now, h, 1), 0);
        same_sums(&g[i].s, &h[0].s);
        free(h);
    }
    free(g);

    /* m2 moves to line 1: its history goes with it. */
    sql("INSERT INTO lines(id, name) VALUES(1, 'L1');");
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(rollup_move_line(db, "m2", 0, 1), 0);
    assert_int_equal(db_commit(db), 0);
    sql("UPDATE machines SET line_id = 1 WHERE dev = 'm2';");
    for (k = 0; k < 2; k++) {
        struct kpi_group *a = NULL, *b = NULL;
        size_t na = 0;

        assert_int_equal(kpi_groups(db, KPI_G_NONE, 0, cal_day_start(ck, d),
                                    cal_day_start(ck, d + 1), &a, &na),
                         0);
        assert_int_equal(kpi_groups(db, KPI_G_NONE, 0, cal_day_start(ck, d),
                                    cal_day_start(ck, d + 1), &b, &na),
                         0);
        assert_int_equal(kpi_scope(db, k ? two : one, 1, k ? line1 : line0, 1, now, a, 1),
                         0);
        assert_int_equal(kpi_machine(db, k ? "m2" : "m1", now, b, 1), 0);
        same_sums(&a[0].s, &b[0].s);
        assert_true(a[0].s.v[RC_GOOD] > 0);
        free(a);
        free(b);
    }
    db_close(db);
}

/*
 * Europe/Berlin, line 1 with a night shift on Saturdays 22:00-06:00 and a
 * break 00:00-00:30 every day.  The machine runs all weekend, 60 parts a
 * minute at 1000 ms ideal.  2025-03-29/30 (clocks forward): the shift lasts
 * 7 h, 6.5 h planned busy; 2025-10-25/26 (clocks back): 9 h, 8.5 h.  The
 * production day holding the change has 23 or 25 hours.
 */
static void dst_night(struct db *db, int64_t sat_day, int64_t shift_h, int64_t day_h)
{
    const struct cal_clock *ck = &plant_get()->clock;
    struct kpi_group *g = NULL;
    struct evb e = {0};
    struct kpi_result r;
    int64_t from = cal_local_ms(ck, sat_day, 12 * 60),
            to = cal_local_ms(ck, sat_day + 1, 12 * 60);
    int64_t now = to + HOUR;
    size_t n = 0;

    ev_hold(&e, "m1", from - HOUR, to + HOUR, "running", "");
    ev_counts(&e, "m1", from - HOUR, to + HOUR, 60, 0);
    store_all(db, &e);

    assert_int_equal(kpi_groups(db, KPI_G_SHIFT, 1, from, to, &g, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kpi_machine(db, "m1", now, g, n), 0);
    assert_int_equal(g[0].to - g[0].from, shift_h * HOUR);
    assert_int_equal(g[0].s.cal[CAL_P], shift_h * HOUR - 30 * MIN);
    assert_int_equal(g[0].s.cal[CAL_B], 30 * MIN);
    assert_int_equal(g[0].s.v[RC_RUN], shift_h * HOUR - 30 * MIN);
    assert_int_equal(g[0].s.v[RC_BRK], 30 * MIN);
    assert_int_equal(g[0].s.v[RC_GOOD], (shift_h * 60 - 30) * 60);
    assert_int_equal(g[0].s.v[RC_OGOOD], 30 * 60);
    kpi_derive(&g[0].s, &r);
    assert_true(near(r.availability, 1.0));
    assert_true(near(r.performance, 1.0));
    free(g);

    assert_int_equal(kpi_groups(db, KPI_G_DAY, 1, cal_day_start(ck, sat_day),
                                cal_day_start(ck, sat_day + 1), &g, &n),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].to - g[0].from, day_h * HOUR);
    assert_int_equal(kpi_machine(db, "m1", now, g, n), 0);
    assert_int_equal(g[0].s.cal[CAL_P], shift_h * HOUR - 30 * MIN);
    /* The break outside the shift (Saturday 00:00) is not a planned stop:
     * only shift time can be planned. */
    assert_int_equal(g[0].s.cal[CAL_B], 30 * MIN);
    assert_int_equal(g[0].s.cal[CAL_O], day_h * HOUR - shift_h * HOUR);
    assert_int_equal(g[0].s.span, day_h * HOUR);
    free(g);
}

static void test_dst_night_shift(void **state)
{
    struct db *db = NULL;

    (void)state;
    assert_int_equal(plant_set("Europe/Berlin", 6 * 60, 120, 180), 0);
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    sql("INSERT INTO lines(id, name) VALUES(1, 'L1');"
        "UPDATE machines SET line_id = 1 WHERE dev = 'm1';"
        "INSERT INTO shifts(line_id, name, weekday, start_min, end_min)"
        " VALUES(1, 'Night', 6, 1320, 360);"
        "INSERT INTO planned_stops(line_id, name, weekday, start_min, end_min)"
        " VALUES(1, 'Break', 0, 0, 30);"
        "UPDATE meta SET value = value + 1 WHERE key = 'calendar';");
    dst_night(db, tz_days_from_civil(2025, 3, 29), 7, 23);
    dst_night(db, tz_days_from_civil(2025, 10, 25), 9, 25);
    db_close(db);
}

/* Running with a one-hour silence (the agent was gone), then a device the
 * agent reports offline for 10 minutes: both are unknown time. */
static void test_offline(void **state)
{
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_sums s;
    struct kpi_result r;
    int64_t t0 = utc(2025, 11, 3, 8, 0);

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    ev_hold(&e, "m1", t0, t0 + 2 * HOUR + 1, "running", ""); /* last at 10:00 */
    ev_counts(&e, "m1", t0, t0 + 2 * HOUR, 60, 0);
    /* Nothing 10:00 -> 11:00. */
    ev_hold(&e, "m1", t0 + 3 * HOUR, t0 + 3 * HOUR + 30 * MIN, "running", "");
    ev_hold(&e, "m1", t0 + 3 * HOUR + 30 * MIN, t0 + 3 * HOUR + 40 * MIN, "offline", "");
    ev_hold(&e, "m1", t0 + 3 * HOUR + 40 * MIN, t0 + 4 * HOUR + 1, "running", "");
    store_all(db, &e);

    total(db, "m1", t0 - HOUR, t0 + 4 * HOUR, t0 + 4 * HOUR, &s);
    kpi_derive(&s, &r);
    /* 07:00-08:00 before any data, 10:00-11:00 silent, 11:30-11:40 offline. */
    assert_int_equal(r.unknown, HOUR + HOUR + 10 * MIN);
    assert_int_equal(s.v[RC_RUN], 2 * HOUR + 50 * MIN);
    assert_true(near(r.availability, 1.0));
    assert_int_equal(sql_int("SELECT count(*) FROM intervals WHERE state = 'nodata'"), 1);
    assert_int_equal(sql_int("SELECT end - start FROM intervals WHERE state = 'nodata'"),
                     HOUR);

    /* Asked at 12:10 with the last event at 12:00:00: 10 minutes of
     * silence, longer than the 3 minute timeout, are unknown, as is the
     * offline stretch 11:30-11:40. */
    total(db, "m1", t0 + 3 * HOUR + 30 * MIN, t0 + 5 * HOUR, t0 + 4 * HOUR + 10 * MIN,
          &s);
    kpi_derive(&s, &r);
    assert_int_equal(s.span, 40 * MIN);
    assert_int_equal(r.unknown, 20 * MIN);
    assert_int_equal(s.v[RC_RUN], 20 * MIN);
    /* At 12:02 the silence is still within the timeout: running so far. */
    total(db, "m1", t0 + 3 * HOUR + 30 * MIN, t0 + 5 * HOUR, t0 + 4 * HOUR + 2 * MIN, &s);
    kpi_derive(&s, &r);
    assert_int_equal(r.unknown, 10 * MIN);
    assert_int_equal(s.v[RC_RUN], 22 * MIN);
    db_close(db);
}

/*
 * An order over two shifts (06-14, 14-22) and two machines: m1 runs it
 * 10:00-16:00, m2 13:00-18:00, each 10 good and 1 scrap a minute; the
 * product's ideal cycle is 5000 ms, 4000 ms on m2.
 */
static void test_order_two_shifts(void **state)
{
    const struct cal_clock *ck;
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_group *g = NULL;
    struct kpi_sums s1, s2;
    int64_t t0 = utc(2025, 11, 3, 0, 0); /* Monday */
    size_t n = 0;

    (void)state;
    ck = &plant_get()->clock;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 3000);
    birth(db, "m2", 3000);
    sql("INSERT INTO lines(id, name) VALUES(1, 'L1');"
        "UPDATE machines SET line_id = 1;"
        "INSERT INTO shifts(line_id, name, weekday, start_min, end_min) VALUES"
        " (1, 'Early', 1, 360, 840), (1, 'Late', 1, 840, 1320);"
        "INSERT INTO products(id, code, ideal_cycle_ms) VALUES(1, 'P1', 5000);"
        "INSERT INTO product_machines VALUES(1, 'm2', 4000);"
        "INSERT INTO orders(id, number, product_id, quantity, created, updated)"
        " VALUES(1, '10023', 1, 10000, 0, 0);"
        "UPDATE meta SET value = value + 1 WHERE key = 'calendar';");
    /* Scans first: at equal times they come before the count (the count
     * at a run's start belongs to it, at its end to what follows). */
    ev_scan(&e, "m1", t0 + 10 * HOUR, LB_SCAN_ORDER_START, "10023", 0);
    ev_scan(&e, "m1", t0 + 16 * HOUR, LB_SCAN_ORDER_END, "10023", 0);
    ev_scan(&e, "m2", t0 + 13 * HOUR, LB_SCAN_ORDER_START, "10023", 0);
    ev_scan(&e, "m2", t0 + 18 * HOUR, LB_SCAN_ORDER_END, "10023", 0);
    ev_hold(&e, "m1", t0 + 6 * HOUR, t0 + 22 * HOUR, "running", "");
    ev_hold(&e, "m2", t0 + 6 * HOUR, t0 + 22 * HOUR, "running", "");
    ev_counts(&e, "m1", t0 + 6 * HOUR, t0 + 22 * HOUR, 10, 1);
    ev_counts(&e, "m2", t0 + 6 * HOUR, t0 + 22 * HOUR, 10, 1);
    store_all(db, &e);

    assert_int_equal(sql_int("SELECT count(*) FROM order_runs WHERE order_id = 1"), 2);
    assert_int_equal(sql_int("SELECT end - start FROM order_runs WHERE dev = 'm1'"),
                     6 * HOUR);
    assert_int_equal(sql_int("SELECT status = 'paused' FROM orders WHERE id = 1"), 1);

    /* A count belongs to the run holding its time stamp: [start, end). */
    total(db, "m1", t0 + 10 * HOUR, t0 + 16 * HOUR, t0 + 24 * HOUR, &s1);
    total(db, "m2", t0 + 13 * HOUR, t0 + 18 * HOUR, t0 + 24 * HOUR, &s2);
    assert_int_equal(s1.v[RC_GOOD], 360 * 10);
    assert_int_equal(s2.v[RC_GOOD], 300 * 10);
    /* Ideal time follows the order's product, per machine, only inside the
     * runs; outside them the machine's own 3000 ms. */
    assert_int_equal(s1.v[RC_IDEAL], 360 * 11 * 5000);
    assert_int_equal(s2.v[RC_IDEAL], 300 * 11 * 4000);
    total(db, "m1", t0 + 6 * HOUR, t0 + 10 * HOUR, t0 + 24 * HOUR, &s1);
    assert_int_equal(s1.v[RC_IDEAL], 239 * 11 * 3000); /* 06:01 .. 09:59 */

    /* Shift report of m1: the early shift holds 10:00-14:00 of the order. */
    assert_int_equal(kpi_groups(db, KPI_G_SHIFT, 1, t0, t0 + 24 * HOUR, &g, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].label, "2025-11-03 Early");
    assert_string_equal(g[1].label, "2025-11-03 Late");
    assert_int_equal(kpi_machine(db, "m1", t0 + 24 * HOUR, g, n), 0);
    assert_int_equal(g[0].s.v[RC_GOOD], 479 * 10);
    assert_int_equal(g[0].s.v[RC_IDEAL], (239 * 3000LL + 240 * 5000LL) * 11);
    assert_int_equal(g[1].s.v[RC_IDEAL], (120 * 5000LL + 360 * 3000LL) * 11);
    (void)ck;
    free(g);
    db_close(db);
}

/* The same events stored in order and with the first two hours arriving
 * last (and reordered inside): identical intervals and rollups. */
static void late_events(struct db *db, int late)
{
    struct evb e = {0};
    int64_t t0 = utc(2025, 11, 3, 10, 0);
    size_t i, split;

    ev_hold(&e, "m1", t0, t0 + 30 * MIN, "running", "");
    ev_counts(&e, "m1", t0, t0 + 30 * MIN, 20, 1);
    ev_hold(&e, "m1", t0 + 30 * MIN, t0 + 50 * MIN, "down", "");
    ev_hold(&e, "m1", t0 + 50 * MIN, t0 + 90 * MIN, "running", "");
    ev_counts(&e, "m1", t0 + 50 * MIN, t0 + 90 * MIN, 20, 0);
    ev_hold(&e, "m1", t0 + 90 * MIN, t0 + 91 * MIN, "idle", "");
    ev_hold(&e, "m1", t0 + 91 * MIN, t0 + 120 * MIN, "setup", "");
    ev_hold(&e, "m1", t0 + 120 * MIN, t0 + 4 * HOUR, "running", "");
    ev_counts(&e, "m1", t0 + 120 * MIN, t0 + 4 * HOUR, 20, 0);
    ev_state(&e, "m1", t0 + 4 * HOUR, "down", "power");
    for (i = 0; i < e.n; i++)
        e.v[i].age = (int64_t)i;
    qsort(e.v, e.n, sizeof(*e.v), cmp_t_age);
    for (split = 0; split < e.n && e.v[split].t < t0 + 2 * HOUR; split++)
        ;
    if (!late) {
        store_range(db, &e, 0, e.n);
    } else {
        /* Seqs follow arrival, as from an agent that lost messages and
         * sends them again later. */
        store_range(db, &e, split, e.n);
        /* Inside the late part, 100 events are themselves reversed. */
        assert_true(split > 150);
        for (i = 0; i < 50; i++) {
            struct lb_event tmp = e.v[50 + i];

            e.v[50 + i] = e.v[149 - i];
            e.v[149 - i] = tmp;
        }
        store_range(db, &e, 0, split);
    }
    free(e.v);
}

static void dump(struct db *db, char *out, size_t size)
{
    struct kpi_group *g = NULL;
    size_t n = 0, i, len = 0;
    int64_t t0 = utc(2025, 11, 3, 10, 0);
    int k;

    assert_int_equal(kpi_groups(db, KPI_G_HOUR, 0, t0 - HOUR, t0 + 5 * HOUR, &g, &n), 0);
    assert_int_equal(kpi_machine(db, "m1", t0 + 6 * HOUR, g, n), 0);
    for (i = 0; i < n; i++)
        for (k = 0; k < RC_N; k++)
            len +=
                (size_t)snprintf(out + len, size - len, "%lld ", (long long)g[i].s.v[k]);
    free(g);
}

static void test_late(void **state)
{
    struct db *db = NULL;
    char a[4096], b[4096], p2[sizeof(path)];
    char ivl_a[4096], ivl_b[4096];
    sqlite3 *h;
    sqlite3_stmt *st;
    size_t len;
    int pass;

    (void)state;
    snprintf(p2, sizeof(p2), "%s", path);
    for (pass = 0; pass < 2; pass++) {
        snprintf(path, sizeof(path), "%s/late%d.db", dir, pass);
        next_seq = 1;
        assert_int_equal(db_open(path, 0, &db), 0);
        birth(db, "m1", 2000);
        late_events(db, pass);
        dump(db, pass ? b : a, sizeof(a));
        db_close(db);
        assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
        assert_int_equal(
            sqlite3_prepare_v2(h,
                               "SELECT start, coalesce(end, -1), state, cat, "
                               "nstop, nmicro FROM intervals ORDER BY start",
                               -1, &st, NULL),
            SQLITE_OK);
        len = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            len += (size_t)snprintf((pass ? ivl_b : ivl_a) + len, sizeof(ivl_a) - len,
                                    "%lld %lld %s %d %d %d\n",
                                    (long long)sqlite3_column_int64(st, 0),
                                    (long long)sqlite3_column_int64(st, 1),
                                    sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
                                    sqlite3_column_int(st, 4), sqlite3_column_int(st, 5));
        sqlite3_finalize(st);
        sqlite3_close(h);
    }
    snprintf(path, sizeof(path), "%s", p2);
    assert_string_equal(ivl_a, ivl_b);
    assert_string_equal(a, b);
}

/* A counter reset shows as a note; the deltas around it simply add up.
 * Duplicates (same seq) count once. */
static void test_counter_reset_and_duplicates(void **state)
{
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_sums s;
    struct lb_event *x;
    struct db_batch_result res;
    struct lb_batch b;
    int64_t t0 = utc(2025, 11, 3, 6, 0);

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    ev_hold(&e, "m1", t0, t0 + 10 * MIN, "running", "");
    ev_count(&e, "m1", t0 + MIN, 30, 0);
    ev_count(&e, "m1", t0 + 2 * MIN, 30, 0);
    x = ev_new(&e, "m1", t0 + 2 * MIN + 500);
    x->type = LB_EV_NOTE;
    snprintf(x->u.note.code, sizeof(x->u.note.code), "counter_reset");
    snprintf(x->u.note.text, sizeof(x->u.note.text), "good counter went from 60 to 4");
    ev_count(&e, "m1", t0 + 3 * MIN, 4, 0); /* parts since the reset */
    ev_count(&e, "m1", t0 + 4 * MIN, 30, 0);
    store_all(db, &e);
    /* The last batch again, as a redelivery. */
    memset(&e, 0, sizeof(e));
    ev_count(&e, "m1", t0 + 4 * MIN, 30, 0);
    memset(&b, 0, sizeof(b));
    snprintf(b.agent, sizeof(b.agent), "a1");
    snprintf(b.boot, sizeof(b.boot), "0123456789abcdef");
    b.synced = 1;
    b.n = 1;
    b.events = e.v;
    e.v[0].seq = next_seq - 1;
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(db_store_batch(db, "site-1", &b, t0 + 5 * MIN, &res), 0);
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(res.duplicates, 1);
    free(e.v);
    total(db, "m1", t0, t0 + 10 * MIN, t0 + 10 * MIN, &s);
    assert_int_equal(s.v[RC_GOOD], 94);
    db_close(db);
}

/* Two state events at the same instant, a state repeated, a state event
 * older than the one before it in the same batch: the intervals still
 * partition time, nothing is negative. */
static void test_overlapping_states(void **state)
{
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_sums s;
    struct kpi_result r;
    int64_t t0 = utc(2025, 11, 3, 6, 0), known;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    ev_hold(&e, "m1", t0, t0 + 10 * MIN, "running", "");
    ev_state(&e, "m1", t0 + 10 * MIN, "down", "jam");
    ev_state(&e, "m1", t0 + 10 * MIN, "running", ""); /* same ms: the later wins */
    ev_hold(&e, "m1", t0 + 10 * MIN + 1, t0 + 20 * MIN, "running", "");
    store_all(db, &e);
    /* Now an event from the past in a batch of its own: down 05:00-... */
    memset(&e, 0, sizeof(e));
    ev_state(&e, "m1", t0 + 5 * MIN, "down", "jam");
    ev_state(&e, "m1", t0 + 20 * MIN, "running", "");
    ev_state(&e, "m1", t0 + 4 * MIN, "setup", ""); /* older still, same batch */
    store_range(db, &e, 0, e.n);
    free(e.v);

    total(db, "m1", t0, t0 + 20 * MIN, t0 + 20 * MIN, &s);
    kpi_derive(&s, &r);
    known = s.v[RC_RUN] + s.v[RC_MICRO] + s.v[RC_SETUP] + s.v[RC_DOWN] + s.v[RC_UNEXPL] +
            s.v[RC_MSTOP];
    assert_int_equal(known, 20 * MIN);
    assert_int_equal(r.unknown, 0);
    /* setup 04:00-05:00; down 05:00 until the next state change, the
     * running heartbeat at 06:06:00; running after that. */
    assert_int_equal(s.v[RC_SETUP], MIN);
    assert_int_equal(s.v[RC_DOWN] + s.v[RC_MICRO], MIN);
    assert_true(r.availability >= 0.0 && r.availability <= 1.0);
    assert_int_equal(sql_int("SELECT count(*) FROM intervals WHERE end <= start"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM intervals a JOIN intervals b ON "
                             "a.dev = b.dev AND a.start < b.start AND a.end > b.start"),
                     0);
    db_close(db);
}

/* A stop without a reason is unexplained until a supervisor names one; a
 * planned reason takes it out of planned busy time.  Each change is
 * audited with who, when and before. */
static void test_reasons(void **state)
{
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_sums s;
    struct kpi_result r;
    int64_t t0 = utc(2025, 11, 3, 6, 0);

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    sql("INSERT INTO reasons(code, planned, category) VALUES('jam', 0, 'breakdown'),"
        " ('pm', 1, 'maintenance');");
    ev_hold(&e, "m1", t0, t0 + 10 * MIN, "running", "");
    ev_hold(&e, "m1", t0 + 10 * MIN, t0 + 30 * MIN, "idle", "");
    ev_hold(&e, "m1", t0 + 30 * MIN, t0 + 40 * MIN, "down", "");
    ev_hold(&e, "m1", t0 + 40 * MIN, t0 + HOUR + 1, "running", "");
    store_all(db, &e);
    total(db, "m1", t0, t0 + HOUR, t0 + HOUR, &s);
    assert_int_equal(s.v[RC_UNEXPL], 30 * MIN);
    assert_int_equal(s.v[RC_STOPS], 1);
    kpi_derive(&s, &r);
    assert_true(r.flags & KPI_F_UNEXPLAINED);

    assert_int_equal(db_begin(db), 0);
    assert_int_equal(
        rollup_set_reason(db, "m1", t0 + 35 * MIN, "jam", "anna", t0 + 2 * HOUR), 0);
    assert_int_equal(db_commit(db), 0);
    total(db, "m1", t0, t0 + HOUR, t0 + HOUR, &s);
    assert_int_equal(s.v[RC_UNEXPL], 0);
    assert_int_equal(s.v[RC_DOWN], 30 * MIN);
    assert_int_equal(s.v[RC_STOPS], 1);

    assert_int_equal(db_begin(db), 0);
    assert_int_equal(
        rollup_set_reason(db, "m1", t0 + 12 * MIN, "pm", "boris", t0 + 3 * HOUR), 0);
    assert_int_equal(db_commit(db), 0);
    total(db, "m1", t0, t0 + HOUR, t0 + HOUR, &s);
    kpi_derive(&s, &r);
    assert_int_equal(s.v[RC_DOWN], 0);
    assert_int_equal(s.v[RC_MSTOP], 30 * MIN);
    assert_int_equal(s.v[RC_STOPS], 0);
    assert_int_equal(r.pbt, 30 * MIN);
    assert_true(near(r.availability, 1.0));
    assert_int_equal(sql_int("SELECT count(*) FROM reason_audit"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM reason_audit WHERE who = 'boris' AND "
                             "before = 'jam' AND after = 'pm'"),
                     1);
    /* A stop that does not exist. */
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(rollup_set_reason(db, "m1", t0 + 5 * MIN, "jam", "anna", t0),
                     -ENOENT);
    db_rollback(db);
    db_close(db);
}

/* An ideal cycle time set too long (2000 ms for a machine making one part a
 * second) shows as performance 200 %, flagged, not clamped. */
static void test_perf_over_100(void **state)
{
    struct db *db = NULL;
    struct evb e = {0};
    struct kpi_sums s;
    struct kpi_result r;
    struct buf b;
    int64_t t0 = utc(2025, 11, 3, 6, 0);

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 2000);
    ev_hold(&e, "m1", t0, t0 + 10 * MIN + 1, "running", "");
    ev_counts(&e, "m1", t0 - MIN, t0 + 9 * MIN, 60, 0); /* 06:00 .. 06:09 */
    store_all(db, &e);
    total(db, "m1", t0, t0 + 10 * MIN, t0 + 10 * MIN, &s);
    kpi_derive(&s, &r);
    assert_true(near(r.performance, 2.0));
    assert_true(r.flags & KPI_F_PERF_OVER_100);
    buf_init(&b);
    kpi_json(&b, &s, 1);
    assert_int_equal(b.err, 0);
    assert_non_null(strstr(b.p, "\"performance\":2.000000"));
    assert_non_null(strstr(b.p, "performance_above_100"));
    assert_non_null(strstr(b.p, "\"explain\":{"));
    buf_free(&b);
    db_close(db);
}

/* A version-1 database (the first schema, with counts) migrates: the counts
 * move to the new per-minute rollup. */
static void test_migrate_v1(void **state)
{
    struct db *db = NULL;

    (void)state;
    /* The released version-1 schema, as db.c's migration 1 made it. */
    sql("CREATE TABLE agents ( agent TEXT PRIMARY KEY NOT NULL, site TEXT NOT NULL DE"
        "FAULT '', boot TEXT, version TEXT, hw INTEGER NOT NULL DEFAULT 0, dups INTEG"
        "ER NOT NULL DEFAULT 0, gaps INTEGER NOT NULL DEFAULT 0, malformed INTEGER NO"
        "T NULL DEFAULT 0, conflicts INTEGER NOT NULL DEFAULT 0, online INTEGER NOT N"
        "ULL DEFAULT 0, status_since INTEGER, last_birth INTEGER, last_seen INTEGER);"
        "CREATE TABLE machines ( dev TEXT PRIMARY KEY NOT NULL, agent TEXT NOT NULL, "
        "profile TEXT, ideal_cycle_ms INTEGER, state TEXT, reason TEXT, state_since I"
        "NTEGER, last_seen INTEGER, last_good_raw INTEGER, last_scrap_raw INTEGER, fi"
        "rst_seen INTEGER NOT NULL);"
        "CREATE TABLE events ( agent TEXT NOT NULL, seq INTEGER NOT NULL, dev TEXT NO"
        "T NULL, type TEXT NOT NULL, t INTEGER NOT NULL, t_eff INTEGER NOT NULL, recv"
        " INTEGER NOT NULL, good INTEGER, scrap INTEGER, span INTEGER, raw_good INTEG"
        "ER, raw_scrap INTEGER, raw_total INTEGER, state TEXT, reason TEXT, kind TEXT"
        ", code TEXT, value TEXT, qty INTEGER, text TEXT, PRIMARY KEY (agent, seq)) W"
        "ITHOUT ROWID;"
        "CREATE INDEX events_dev_time ON events(dev, t_eff, good, scrap);"
        "CREATE TABLE counts_minute ( dev TEXT NOT NULL, minute INTEGER NOT NULL, goo"
        "d INTEGER NOT NULL DEFAULT 0, scrap INTEGER NOT NULL DEFAULT 0, PRIMARY KEY "
        "(dev, minute)) WITHOUT ROWID;"
        "CREATE TABLE gaps ( id INTEGER PRIMARY KEY, agent TEXT NOT NULL, from_seq IN"
        "TEGER NOT NULL, to_seq INTEGER NOT NULL, seen INTEGER NOT NULL, filled INTEG"
        "ER);"
        "CREATE INDEX gaps_open ON gaps(agent, filled);"
        "CREATE TABLE runs ( agent TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT"
        " NULL, PRIMARY KEY (agent, lo)) WITHOUT ROWID;"
        "INSERT INTO agents(agent, site) VALUES('a1', 'site-1');"
        "INSERT INTO machines(dev, agent, first_seen) VALUES('m1', 'a1', 0);"
        "INSERT INTO counts_minute VALUES('m1', 60000, 7, 1), ('m1', 120000, 5, 0);"
        "PRAGMA user_version = 1;");
    assert_int_equal(db_open(path, 0, &db), 0);
    db_close(db);
    assert_int_equal(sql_int("PRAGMA user_version"), db_schema_version());
    assert_int_equal(sql_int("SELECT sum(good) FROM roll_minute"), 12);
    assert_int_equal(sql_int("SELECT count(*) FROM sites"), 1);
    assert_int_equal(sql_int("SELECT count(*) FROM sqlite_master WHERE name = "
                             "'counts_minute'"),
                     0);
}

/* Report queries read ranges of primary keys or of the events' index,
 * never whole tables (platform-notes.md). */
static void test_plans(void **state)
{
    struct db *db = NULL;
    char plan[1024];
    int q;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    birth(db, "m1", 1000);
    hour_case(db, "m1", utc(2025, 11, 3, 6, 0));
    sql("ANALYZE;");
    db_close(db);
    assert_int_equal(db_open(path, 1, &db), 0);
    for (q = DBK_Q_DAYS; q <= DBK_Q_LINE_DAYS; q++) {
        char *p;

        assert_int_equal(dbk_plan(db, (enum dbk_query)q, plan, sizeof(plan)), 0);
        /* The list of machines is a JSON array walked by json_each: that
         * "scan" is of the argument, not of a table. */
        while ((p = strstr(plan, "SCAN json_each")) != NULL)
            memcpy(p, "scan", 4);
        if (strstr(plan, "SCAN") != NULL || strstr(plan, "USING") == NULL)
            fail_msg("query %d: plan \"%s\"", q, plan);
    }
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_night_shift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_two_shifts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_reset_and_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overlapping_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_over_100, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
