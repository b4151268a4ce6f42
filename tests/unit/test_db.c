/*
 * Server storage tests against a temporary SQLite file: migrations, the
 * write path (each (agent, seq) once, duplicates counted, the high-water
 * mark with gaps and "prev"), dating of unsynchronised clocks, interval
 * counts and their query plan, and malformed messages counted -- all
 * without MQTT, through db.c and store.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "db.h"
#include "linebeat/error.h"
#include "linebeat/wire.h"
#include "store.h"

#define T0     1764370000000LL /* 2025-11-28T22:46:40Z: a minute boundary + 40 s */
#define PREFIX "linebeat/v1"

static char dir[256];
static char path[300];

struct found {
    struct db_machine m;
    int n;
};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-db-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/server.db", dir);
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

/* A batch of n count events of dev with seqs first, first + step, ...,
 * one good part each, dated T0 + i s. */
static void make_counts(struct lb_batch *b, const char *agent, const char *dev,
                        uint64_t first, uint64_t step, size_t n)
{
    size_t i;

    memset(b, 0, sizeof(*b));
    snprintf(b->agent, sizeof(b->agent), "%s", agent);
    snprintf(b->boot, sizeof(b->boot), "6f1c2a90d4e8b713");
    b->synced = 1;
    b->sent = T0 + 60000;
    b->n = n;
    b->events = calloc(n, sizeof(*b->events));
    assert_non_null(b->events);
    for (i = 0; i < n; i++) {
        struct lb_event *e = &b->events[i];

        e->seq = first + i * step;
        e->t = T0 + (int64_t)i * 1000;
        e->age = 1000;
        snprintf(e->dev, sizeof(e->dev), "%s", dev);
        e->type = LB_EV_COUNT;
        e->u.count.good = 1;
        e->u.count.scrap = 0;
        e->u.count.span = 1000;
    }
}

static void store(struct db *db, const struct lb_batch *b, struct db_batch_result *res)
{
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(db_store_batch(db, "site-1", b, T0 + 60000, res), 0);
    assert_int_equal(db_commit(db), 0);
}

static uint64_t hw_of(struct db *db, const char *agent)
{
    struct db_agent a;

    assert_int_equal(db_agent_get(db, agent, &a), 0);
    return a.hw;
}

static int find_machine(void *ctx, const struct db_machine *m)
{
    struct found *f = ctx;

    f->m = *m;
    f->n++;
    return 0;
}

static void test_migrations(void **state)
{
    struct db *w = NULL, *r = NULL;
    sqlite3 *h = NULL;

    (void)state;
    assert_int_equal(db_open(path, 0, &w), 0);
    db_close(w);
    /* Reopening applies nothing and keeps the version. */
    assert_int_equal(db_open(path, 0, &w), 0);
    assert_int_equal(db_open(path, 1, &r), 0);
    db_close(r);
    db_close(w);

    /* A database from a newer server is refused, not damaged. */
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(db_open(path, 0, &w), LB_E_CORRUPT);
    assert_null(w);
    assert_int_equal(db_open(path, 1, &r), LB_E_CORRUPT);
}

static void test_duplicates(void **state)
{
    struct db_batch_result res;
    struct lb_batch b;
    struct db_agent a;
    struct found f = {0};
    struct db *db = NULL;
    int64_t good, scrap;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    make_counts(&b, "cell-3", "press-3", 1, 1, 5);
    store(db, &b, &res);
    assert_int_equal(res.stored, 5);
    assert_int_equal(res.duplicates, 0);
    assert_int_equal(res.hw_after, 5);

    /* The same message again (a redelivery): nothing new. */
    store(db, &b, &res);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 5);
    assert_int_equal(res.hw_before, 5);
    assert_int_equal(res.hw_after, 5);

    assert_int_equal(db_agent_get(db, "cell-3", &a), 0);
    assert_int_equal(a.dups, 5);
    assert_int_equal(
        db_machine_counts(db, "press-3", T0 - 60000, T0 + 60000, &good, &scrap), 0);
    assert_int_equal(good, 5);
    /* The minute rollup counted new events only, too. */
    assert_int_equal(db_machines(db, T0 - 3600000, T0 + 3600000, find_machine, &f), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.m.good, 5);
    assert_string_equal(f.m.agent, "cell-3");
    lb_batch_free(&b);
    db_close(db);
}

static void test_high_water(void **state)
{
    struct db_batch_result res;
    struct lb_batch b;
    struct db_agent a;
    struct db *db = NULL;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);

    make_counts(&b, "cell-3", "press-3", 1, 1, 3); /* 1..3, no prev */
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(hw_of(db, "cell-3"), 3);

    /* 7..8 with prev 6: 4..6 are missing, hw stays. */
    make_counts(&b, "cell-3", "press-3", 7, 1, 2);
    b.has_prev = 1;
    b.prev = 6;
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.gap_opened, 1);
    assert_int_equal(res.gap_from, 3);
    assert_int_equal(res.gap_to, 6);
    assert_int_equal(hw_of(db, "cell-3"), 3);
    assert_int_equal(db_agent_get(db, "cell-3", &a), 0);
    assert_int_equal(a.gaps, 1);
    assert_int_equal(a.open_gaps, 1);

    /* 4 alone (prev 3): hw 4; the gap is still open but not counted again. */
    make_counts(&b, "cell-3", "press-3", 4, 1, 1);
    b.has_prev = 1;
    b.prev = 3;
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(hw_of(db, "cell-3"), 4);
    assert_int_equal(res.gap_opened, 0);

    /* The agent resends 5..6: hw jumps over the stored 7..8. */
    make_counts(&b, "cell-3", "press-3", 5, 1, 2);
    b.has_prev = 1;
    b.prev = 4;
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(res.hw_after, 8);
    assert_int_equal(db_agent_get(db, "cell-3", &a), 0);
    assert_int_equal(a.hw, 8);
    assert_int_equal(a.gaps, 1);
    assert_int_equal(a.open_gaps, 0);

    /* With prev, holes in the numbering are the agent's merges, not loss. */
    make_counts(&b, "cell-3", "press-3", 10, 5, 3); /* 10, 15, 20 */
    b.has_prev = 1;
    b.prev = 8;
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(hw_of(db, "cell-3"), 20);

    /* Without prev a hole stays a hole: 21, 23 -> hw 21, gap (21, 22]. */
    make_counts(&b, "cell-3", "press-3", 21, 2, 2);
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(res.hw_after, 21);
    assert_int_equal(res.gap_opened, 1);
    assert_int_equal(res.gap_from, 21);
    assert_int_equal(res.gap_to, 22);

    /* 22 arrives: hw reaches 23. */
    make_counts(&b, "cell-3", "press-3", 22, 1, 1);
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(hw_of(db, "cell-3"), 23);

    /* A replay of old events changes nothing. */
    make_counts(&b, "cell-3", "press-3", 1, 1, 3);
    store(db, &b, &res);
    lb_batch_free(&b);
    assert_int_equal(res.duplicates, 3);
    assert_int_equal(hw_of(db, "cell-3"), 23);

    /* hw survives a restart. */
    db_close(db);
    assert_int_equal(db_open(path, 0, &db), 0);
    assert_int_equal(hw_of(db, "cell-3"), 23);
    db_close(db);
}

static void test_unsynced_clock(void **state)
{
    struct db_batch_result res;
    struct lb_batch b;
    struct db *db = NULL;
    int64_t good, scrap, recv = T0 + 60000;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    make_counts(&b, "cell-9", "lathe-1", 1, 1, 1);
    b.synced = 0;
    b.events[0].t = 86400000; /* 1970-01-02: a board without RTC */
    b.events[0].age = 2500;
    store(db, &b, &res);
    lb_batch_free(&b);
    /* Dated recv - age, not by the agent's t. */
    assert_int_equal(
        db_machine_counts(db, "lathe-1", recv - 2500, recv - 2499, &good, &scrap), 0);
    assert_int_equal(good, 1);
    assert_int_equal(db_machine_counts(db, "lathe-1", 0, 2 * 86400000, &good, &scrap), 0);
    assert_int_equal(good, 0);
    db_close(db);
}

static void test_counts_interval(void **state)
{
    struct db_batch_result res;
    struct lb_batch b;
    struct db *db = NULL;
    char plan[512];
    int64_t good, scrap;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    make_counts(&b, "cell-3", "press-3", 1, 1, 10); /* t = T0 .. T0 + 9 s */
    b.events[4].u.count.scrap = 2;
    store(db, &b, &res);
    lb_batch_free(&b);

    /* from <= t_eff < to */
    assert_int_equal(db_machine_counts(db, "press-3", T0, T0 + 5000, &good, &scrap), 0);
    assert_int_equal(good, 5);
    assert_int_equal(scrap, 2);
    assert_int_equal(db_machine_counts(db, "press-3", T0 + 1, T0 + 5001, &good, &scrap),
                     0);
    assert_int_equal(good, 5);
    assert_int_equal(
        db_machine_counts(db, "press-3", T0 + 9000, T0 + 9000, &good, &scrap), 0);
    assert_int_equal(good, 0);
    assert_int_equal(db_machine_counts(db, "nope", T0, T0 + 5000, &good, &scrap),
                     -ENOENT);

    /* The interval sum must use the (dev, t_eff) index, never scan events
     * (platform-notes.md: the planner once chose a 14 s scan). */
    assert_int_equal(db_query_plan(db, DB_Q_COUNTS, plan, sizeof(plan)), 0);
    assert_non_null(strstr(plan, "events_dev_time"));
    assert_null(strstr(plan, "SCAN"));
    assert_int_equal(db_query_plan(db, DB_Q_MACHINES, plan, sizeof(plan)), 0);
    assert_null(strstr(plan, "SCAN c"));
    db_close(db);
}

static void test_malformed(void **state)
{
    static const char good_events[] =
        "{\"v\":1,\"agent\":\"cell-3\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":"
        "\"synced\","
        "\"sent\":1764370000123,\"events\":[{\"seq\":1,\"t\":1764369999000,\"age\":1123,"
        "\"dev\":\"press-3\",\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1000}]}";
    static const char other_agent[] =
        "{\"v\":1,\"agent\":\"cell-4\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":"
        "\"synced\","
        "\"sent\":1764370000123,\"events\":[{\"seq\":2,\"t\":1764369999000,\"age\":1123,"
        "\"dev\":\"press-3\",\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1000}]}";
    struct store_result res;
    struct db_agent a;
    struct db *db = NULL;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    assert_int_equal(db_begin(db), 0);

    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/cell-3/events",
                                   good_events, strlen(good_events), T0, &res),
                     0);
    assert_int_equal(res.kind, STORE_EVENTS);
    assert_int_equal(res.ack, 1);
    assert_int_equal(res.hw, 1);

    assert_int_equal(
        store_message(db, PREFIX, PREFIX "/site-1/cell-3/events", "garbage", 7, T0, &res),
        0);
    assert_int_equal(res.kind, STORE_MALFORMED);
    assert_true(strlen(res.why) > 0);

    /* Agent in the payload differs from the topic's: counted on the topic's. */
    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/cell-3/events",
                                   other_agent, strlen(other_agent), T0, &res),
                     0);
    assert_int_equal(res.kind, STORE_MALFORMED);

    /* No valid agent in the topic: nothing per agent to count. */
    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/bad+id/events",
                                   good_events, strlen(good_events), T0, &res),
                     0);
    assert_int_equal(res.kind, STORE_MALFORMED);
    assert_string_equal(res.agent, "");
    assert_int_equal(db_commit(db), 0);

    assert_int_equal(db_agent_get(db, "cell-3", &a), 0);
    assert_int_equal(a.malformed, 2);
    assert_int_equal(a.hw, 1);
    assert_int_equal(db_agent_get(db, "cell-4", &a), -ENOENT);
    db_close(db);
}

static void test_conflict_birth_status(void **state)
{
    static const char birth[] = "{\"v\":1,\"agent\":\"cell-3\",\"boot\":"
                                "\"6f1c2a90d4e8b713\",\"version\":\"0.1.0\","
                                "\"devices\":[{\"dev\":\"press-3\",\"profile\":\"sim\","
                                "\"ideal_cycle_ms\":2400}]}";
    static const char online_b[] = "{\"v\":1,\"agent\":\"cell-3\",\"boot\":"
                                   "\"bbbbbbbbbbbbbbbb\",\"status\":\"online\"}";
    static const char offline_a[] = "{\"v\":1,\"agent\":\"cell-3\",\"boot\":"
                                    "\"6f1c2a90d4e8b713\",\"status\":\"offline\"}";
    struct db_batch_result bres;
    struct store_result res;
    struct lb_batch b;
    struct db_agent a;
    struct found f = {0};
    struct db *db = NULL;

    (void)state;
    assert_int_equal(db_open(path, 0, &db), 0);
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/cell-3/birth", birth,
                                   strlen(birth), T0, &res),
                     0);
    assert_int_equal(res.kind, STORE_BIRTH);
    assert_int_equal(res.ack, 2); /* publish hw (0) at once */
    assert_int_equal(res.hw, 0);
    assert_int_equal(db_commit(db), 0);

    /* cell-4 sends a state for cell-3's machine: stored, counted, ignored
     * for the live state, machine not moved. */
    make_counts(&b, "cell-4", "press-3", 1, 1, 1);
    b.events[0].type = LB_EV_STATE;
    memset(&b.events[0].u, 0, sizeof(b.events[0].u));
    b.events[0].u.state.state = LB_ST_DOWN;
    store(db, &b, &bres);
    lb_batch_free(&b);
    assert_int_equal(bres.stored, 1);
    assert_int_equal(bres.conflicts, 1);
    assert_int_equal(db_agent_get(db, "cell-4", &a), 0);
    assert_int_equal(a.conflicts, 1);
    assert_int_equal(db_machines(db, 0, T0, find_machine, &f), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.m.agent, "cell-3");
    assert_string_equal(f.m.profile, "sim");
    assert_string_equal(f.m.state, "");

    /* A late will of the previous run must not mark the new run offline. */
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/cell-3/status", online_b,
                                   strlen(online_b), T0, &res),
                     0);
    assert_int_equal(store_message(db, PREFIX, PREFIX "/site-1/cell-3/status", offline_a,
                                   strlen(offline_a), T0 + 1, &res),
                     0);
    assert_int_equal(res.kind, STORE_STATUS);
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(db_agent_get(db, "cell-3", &a), 0);
    assert_int_equal(a.online, 1);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_water, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_birth_status, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
