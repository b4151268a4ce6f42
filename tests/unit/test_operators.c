/*
 * server/operators.c: where an operator's runs end.  An operator scan holds
 * until the next operator scan on that machine or the end of the shift it
 * was made in; one made outside every shift holds until the next shift
 * starts; an open one ends now.  Runs are clipped to the report's period.
 * (The parts of each run come from the KPI engine, tested in test_kpi, and
 * end to end in tests/integration/test_scan_orders.py.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "buf.h"
#include "db.h"
#include "operators.h"
#include "plant.h"

#define H (3600 * 1000LL)
/* Monday 2025-11-03 00:00 UTC. */
#define MON INT64_C(1762128000000)

static char dir[64], path[128];

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

static int setup(void **state)
{
    struct db *db = NULL;
    char q[512];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-ops-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/server.db", dir);
    assert_int_equal(plant_set("UTC", 6 * 60, 120, 180), 0);
    assert_int_equal(db_open(path, 0, &db), 0);
    db_close(db);
    sql("INSERT INTO machines(dev, agent, first_seen) VALUES('m1', 'a1', 0);"
        "INSERT INTO operators(id, badge, name) VALUES(1, '4711', 'Ana'), (2, '0815', "
        "NULL);"
        "WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < 7) "
        "INSERT INTO shifts(name, weekday, start_min, end_min) "
        "SELECT 'early', n, 360, 840 FROM d UNION ALL SELECT 'late', n, 840, 1320 FROM "
        "d;");
    /* A: 08:00 Monday, still open: the early shift ends it at 14:00.
     * B: 15:00-16:00, ended by the next scan.  C: 23:00, outside every
     * shift, open: it lasts until the early shift on Tuesday.  D: Tuesday
     * 09:00, open: it ends now.  Operator 2: 08:00-11:00, ended by a scan. */
    snprintf(q, sizeof(q),
             "INSERT INTO operator_runs(operator_id, dev, start, end) VALUES"
             "(1, 'm1', %lld, NULL), (1, 'm1', %lld, %lld), (1, 'm1', %lld, NULL),"
             "(1, 'm1', %lld, NULL), (2, 'm1', %lld, %lld);",
             (long long)(MON + 8 * H), (long long)(MON + 15 * H),
             (long long)(MON + 16 * H), (long long)(MON + 23 * H),
             (long long)(MON + 33 * H), (long long)(MON + 8 * H),
             (long long)(MON + 11 * H));
    sql(q);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_run_ends(void **state)
{
    struct db *db = NULL;
    struct buf b;

    (void)state;
    assert_int_equal(db_open(path, 1, &db), 0);
    buf_init(&b);
    /* Now: Tuesday 10:00. */
    assert_int_equal(operators_report(db, 1, MON, MON + 48 * H, MON + 34 * H, 0, &b), 0);
    assert_int_equal(b.err, 0);
    assert_non_null(strstr(b.p, "\"badge\":\"4711\",\"name\":\"Ana\""));
    assert_non_null(
        strstr(b.p, "{\"machine\":\"m1\",\"start\":\"2025-11-03T08:00:00.000Z\","
                    "\"end\":\"2025-11-03T14:00:00.000Z\",\"ended_by\":\"shift\""));
    assert_non_null(strstr(b.p,
                           "\"start\":\"2025-11-03T15:00:00.000Z\","
                           "\"end\":\"2025-11-03T16:00:00.000Z\",\"ended_by\":\"scan\""));
    assert_non_null(
        strstr(b.p, "\"start\":\"2025-11-03T23:00:00.000Z\","
                    "\"end\":\"2025-11-04T06:00:00.000Z\",\"ended_by\":\"shift\""));
    assert_non_null(strstr(b.p,
                           "\"start\":\"2025-11-04T09:00:00.000Z\","
                           "\"end\":\"2025-11-04T10:00:00.000Z\",\"ended_by\":\"open\""));
    assert_non_null(strstr(b.p, "\"good\":0,\"scrap\":0,\"kpi\":{"));
    buf_free(&b);

    /* Clipped to the period: from Monday 12:00 to 15:30. */
    buf_init(&b);
    assert_int_equal(
        operators_report(db, 1, MON + 12 * H, MON + 15 * H + H / 2, MON + 34 * H, 0, &b),
        0);
    assert_non_null(strstr(b.p, "\"start\":\"2025-11-03T12:00:00.000Z\","
                                "\"end\":\"2025-11-03T14:00:00.000Z\""));
    assert_non_null(strstr(b.p, "\"start\":\"2025-11-03T15:00:00.000Z\","
                                "\"end\":\"2025-11-03T15:30:00.000Z\""));
    assert_null(strstr(b.p, "2025-11-03T23:00"));
    buf_free(&b);

    /* Another operator, without a name; and one that does not exist. */
    buf_init(&b);
    assert_int_equal(operators_report(db, 2, MON, MON + 48 * H, MON + 34 * H, 0, &b), 0);
    assert_non_null(strstr(b.p, "\"badge\":\"0815\",\"name\":null"));
    assert_non_null(strstr(b.p, "\"ended_by\":\"scan\""));
    buf_free(&b);
    buf_init(&b);
    assert_int_equal(operators_report(db, 99, MON, MON + H, MON, 0, &b), -ENOENT);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_ends, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
