/*
 * Spool tests: group commit and sequence numbers across reopen, baselines
 * committed with their events, ack-driven deletion, damaged files moved
 * aside, the merge policy keeping totals exact when the spool is full, and
 * the folding of each machine's pending counts at commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "linebeat/error.h"
#include "linebeat/profile.h"
#include "spool.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-spool-XXXXXX");
    assert_non_null(mkdtemp(dir));
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

static struct spool *open_spool(uint64_t max_bytes, char *note)
{
    struct spool *s = NULL;
    char buf[700];

    assert_int_equal(spool_open(dir, max_bytes, &s, note ? note : buf, sizeof(buf)), 0);
    assert_non_null(s);
    return s;
}

static void add_count(struct spool *s, const char *dev, int64_t t, int64_t good,
                      int64_t scrap)
{
    struct lb_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = LB_EV_COUNT;
    ev.t = t;
    snprintf(ev.dev, sizeof(ev.dev), "%s", dev);
    ev.u.count.good = good;
    ev.u.count.scrap = scrap;
    ev.u.count.span = 1000;
    ev.u.count.raw_mask = LB_RAW_GOOD;
    ev.u.count.raw_good = (uint64_t)t;
    assert_int_equal(spool_add(s, &ev, t, 1), 0);
}

static void add_state(struct spool *s, const char *dev, int64_t t)
{
    struct lb_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = LB_EV_STATE;
    ev.t = t;
    snprintf(ev.dev, sizeof(ev.dev), "%s", dev);
    ev.u.state.state = LB_ST_DOWN;
    snprintf(ev.u.state.reason, sizeof(ev.u.state.reason), "jam");
    assert_int_equal(spool_add(s, &ev, t, 1), 0);
}

/* Sums good and scrap per device over everything in the spool. */
static void totals(struct spool *s, const char *dev, int64_t *good, int64_t *scrap,
                   size_t *rows)
{
    static struct spool_item items[1000];
    uint64_t after = 0, last = 0;
    size_t n;

    *good = *scrap = 0;
    *rows = 0;
    do {
        assert_int_equal(spool_fetch(s, after, 1000, items, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(items[i].ev.seq > last); /* strictly increasing */
            last = items[i].ev.seq;
            if (items[i].ev.type == LB_EV_COUNT && strcmp(items[i].ev.dev, dev) == 0) {
                *good += items[i].ev.u.count.good;
                *scrap += items[i].ev.u.count.scrap;
            }
            (*rows)++;
        }
        if (n > 0)
            after = items[n - 1].ev.seq;
    } while (n > 0);
}

static void test_fresh_needs_base(void **state)
{
    struct spool *s = open_spool(1 << 20, NULL);

    (void)state;
    assert_true(spool_needs_base(s));
    add_count(s, "m1", 1000, 3, 0);
    /* Nothing is committed before the base is known. */
    assert_int_equal(spool_commit(s), LB_E_FULL);
    assert_int_equal(spool_pending(s), 1);
    spool_set_base(s, 501);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_last_seq(s), 501);
    spool_close(s);

    s = open_spool(1 << 20, NULL);
    assert_false(spool_needs_base(s));
    add_count(s, "m1", 2000, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_last_seq(s), 502);
    spool_close(s);
}

static void test_commit_fetch_ack(void **state)
{
    struct spool_stats st;
    struct spool_item items[10];
    struct spool *s = open_spool(1 << 20, NULL);
    size_t n;

    (void)state;
    spool_set_base(s, 1);
    spool_set_fold(s, 0);
    for (int i = 0; i < 5; i++)
        add_count(s, "m1", 1000 + i, 1, 0);
    add_state(s, "m1", 2000);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_fetch(s, 0, 10, items, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(items[0].ev.seq, 1);
    assert_int_equal(items[5].ev.seq, 6);
    assert_int_equal(items[5].ev.type, LB_EV_STATE);
    assert_string_equal(items[5].ev.u.state.reason, "jam");
    assert_int_equal(items[0].ev.u.count.raw_good, 1000);
    spool_stats(s, &st);
    assert_int_equal(st.events, 6);
    assert_int_equal(spool_ack(s, 2), 1);
    spool_stats(s, &st);
    assert_int_equal(st.events, 4);

    /* An ack beyond what was committed is clamped. */
    assert_int_equal(spool_ack(s, 99), 1);
    assert_int_equal(spool_acked(s), 6);
    assert_int_equal(spool_ack(s, 3), 0);
    spool_stats(s, &st);
    assert_int_equal(st.events, 0);
    /* Confirmed rows are never fetched again, deleted or not. */
    assert_int_equal(spool_fetch(s, 0, 10, items, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(spool_checkpoint(s), 0); /* deletes acked rows */
    assert_int_equal(spool_fetch(s, 0, 10, items, &n), 0);
    assert_int_equal(n, 0);
    spool_close(s);

    /* After reopening, numbering continues and acked is remembered. */
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_acked(s), 6);
    add_count(s, "m1", 3000, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_fetch(s, 0, 10, items, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].ev.seq, 7);
    spool_close(s);
}

static void test_raw_with_commit(void **state)
{
    struct spool *s = open_spool(1 << 20, NULL);
    uint64_t raw;
    int64_t wall;

    (void)state;
    spool_set_base(s, 1);
    assert_int_equal(spool_set_raw(s, "m1", 0, 42, 1000), 0);
    /* A reload in this run sees the pending reading (its events are
     * pending too); a crash before the commit loses both, below. */
    assert_int_equal(spool_get_raw(s, "m1", 0, &raw, &wall), 0);
    assert_int_equal(raw, 42);
    add_count(s, "m1", 1000, 5, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_get_raw(s, "m1", 0, &raw, &wall), 0);
    assert_int_equal(raw, 42);
    assert_int_equal(wall, 1000);

    /* Close without commit: pending raw and events vanish together. */
    assert_int_equal(spool_set_raw(s, "m1", 0, 50, 2000), 0);
    add_count(s, "m1", 2000, 8, 0);
    spool_close(s);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m1", 0, &raw, &wall), 0);
    assert_int_equal(raw, 42);
    assert_int_equal(spool_last_seq(s), 1);
    spool_close(s);
}

static int count_damaged(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".damaged-") != NULL && strstr(e->d_name, "-wal") == NULL &&
            strstr(e->d_name, "-shm") == NULL)
            n++;
    closedir(d);
    return n;
}

/* Rows of the counters table in the closed spool file. */
static int counter_rows(void)
{
    char cmd[400], out[32] = "";
    FILE *f;

    snprintf(cmd, sizeof(cmd), "sqlite3 '%s/spool.db' 'SELECT count(*) FROM counters'",
             dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, sizeof(out), f));
    pclose(f);
    return atoi(out);
}

/* A reading that a count event carries is not written to the counters
 * table at commit; the next open takes it from the event.  Before events
 * are deleted, the rows are brought up to date. */
static void test_raw_in_events(void **state)
{
    struct spool *s = open_spool(1 << 20, NULL);
    uint64_t raw;
    int64_t wall;

    (void)state;
    spool_set_base(s, 1);
    assert_int_equal(spool_set_raw(s, "m1", LB_ROLE_GOOD, 1000, 1000), 0);
    add_count(s, "m1", 1000, 5, 0); /* carries raw_good 1000 */
    assert_int_equal(spool_set_raw(s, "m2", LB_ROLE_GOOD, 7, 1000), 0);
    assert_int_equal(spool_commit(s), 0); /* no event carries m2's: a row */
    assert_int_equal(spool_set_raw(s, "m1", LB_ROLE_GOOD, 2000, 2000), 0);
    add_count(s, "m1", 2000, 3, 0);
    assert_int_equal(spool_commit(s), 0);
    spool_close(s); /* as after kill -9: no checkpoint */
    assert_int_equal(counter_rows(), 1);

    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m1", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 2000);
    assert_int_equal(wall, 2000);
    assert_int_equal(spool_get_raw(s, "m2", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 7);
    assert_int_equal(spool_get_raw(s, "m1", LB_ROLE_SCRAP, &raw, &wall), -ENOENT);
    /* Every event confirmed and deleted: the rows now hold the readings. */
    assert_int_equal(spool_ack(s, 2), 1);
    assert_int_equal(spool_checkpoint(s), 0);
    spool_close(s);
    assert_int_equal(counter_rows(), 2);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m1", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 2000);

    /* A reading only an event holds survives that event's deletion even
     * when nobody asks for the counter in between (a machine taken out of
     * the configuration for a while). */
    assert_int_equal(spool_set_raw(s, "m3", LB_ROLE_GOOD, 5000, 2500), 0);
    add_count(s, "m3", 5000, 2, 0); /* carries raw_good 5000: no row */
    assert_int_equal(spool_commit(s), 0);
    spool_close(s);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_ack(s, spool_last_seq(s)), 1);
    assert_int_equal(spool_checkpoint(s), 0);
    spool_close(s);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m3", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 5000);

    /* A newer row (a reset without parts) wins over an older event. */
    assert_int_equal(spool_set_raw(s, "m1", LB_ROLE_GOOD, 3000, 3000), 0);
    add_count(s, "m1", 3000, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_set_raw(s, "m1", LB_ROLE_GOOD, 0, 3500), 0);
    assert_int_equal(spool_commit(s), 0);
    spool_close(s);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m1", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 0);
    spool_close(s);
}

/* A version 1 spool (counters without seq) is upgraded in place; its row
 * (written at every commit there: a jump without parts, say) beats an
 * older event's reading. */
static void test_upgrade_v1(void **state)
{
    char cmd[1200];
    struct spool *s;
    uint64_t raw;
    int64_t wall;

    (void)state;
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s/spool.db' \"PRAGMA application_id=%d; PRAGMA user_version=1;"
             " PRAGMA journal_mode=WAL;"
             " CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
             " CREATE TABLE events(seq INTEGER PRIMARY KEY, dev TEXT NOT NULL,"
             " type INTEGER NOT NULL, t INTEGER NOT NULL, mono INTEGER NOT NULL,"
             " synced INTEGER NOT NULL, a INTEGER, b INTEGER, c INTEGER, d INTEGER,"
             " e INTEGER, f INTEGER, g INTEGER, s1 TEXT, s2 TEXT);"
             " CREATE TABLE counters(dev TEXT NOT NULL, role INTEGER NOT NULL,"
             " raw INTEGER NOT NULL, wall INTEGER NOT NULL, PRIMARY KEY(dev, role));"
             " INSERT INTO meta VALUES('next_seq', 5);"
             " INSERT INTO events(seq,dev,type,t,mono,synced,a,b,c,d,e)"
             " VALUES(4, 'm1', %d, 900, -1, 1, 1, 0, 1000, %d, 50);"
             " INSERT INTO counters VALUES('m1', %d, 77, 1000);\" >/dev/null",
             dir, 0x6c626561, LB_EV_COUNT, LB_RAW_GOOD, LB_ROLE_GOOD);
    assert_int_equal(system(cmd), 0);
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_get_raw(s, "m1", LB_ROLE_GOOD, &raw, &wall), 0);
    assert_int_equal(raw, 77);
    assert_int_equal(spool_last_seq(s), 4);
    spool_close(s);
    assert_int_equal(count_damaged(), 0);
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_garbage_moved_aside(void **state)
{
    char note[700];
    struct spool *s;
    struct stat st;
    char path[300];

    (void)state;
    write_file("spool.db", "this is not a database, just text\n", 34);
    s = open_spool(1 << 20, note);
    assert_non_null(strstr(note, "damaged"));
    assert_int_equal(count_damaged(), 1);
    assert_true(spool_needs_base(s));
    spool_close(s);
    snprintf(path, sizeof(path), "%s/spool.db", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_truncated_moved_aside(void **state)
{
    char note[700], path[300];
    struct spool *s = open_spool(1 << 20, NULL);

    (void)state;
    spool_set_base(s, 1);
    spool_set_fold(s, 0); /* 2000 rows, a file worth cutting */
    for (int i = 0; i < 2000; i++)
        add_count(s, "m1", 1000 + i, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    spool_close(s);
    /* Checkpointed on close; cut the main file in the middle.  The WAL,
     * kept between starts, still holds the pages it would restore: it goes. */
    snprintf(path, sizeof(path), "%s/spool.db-wal", dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/spool.db", dir);
    assert_int_equal(truncate(path, 4096 + 1000), 0);
    s = open_spool(1 << 20, note);
    assert_non_null(strstr(note, "damaged"));
    assert_int_equal(count_damaged(), 1);
    spool_close(s);
}

static void test_foreign_schema_moved_aside(void **state)
{
    char note[700], cmd[400];
    struct spool *s;

    (void)state;
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s/spool.db' 'CREATE TABLE x(y)'", dir);
    if (system(cmd) != 0)
        skip();
    s = open_spool(1 << 20, note);
    assert_non_null(strstr(note, "unknown schema"));
    spool_close(s);
}

static void test_full_merges_counts(void **state)
{
    /* A small bound: 64 KiB of data pages. */
    struct spool *s = open_spool(64 * 1024, NULL);
    struct spool_stats st;
    int64_t want_good = 0, want_scrap = 0, good, scrap;
    size_t rows;

    (void)state;
    spool_set_base(s, 1);
    spool_set_fold(s, 0); /* the on-disk merge is under test */
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 100; i++) {
            add_count(s, "m1", round * 1000 + i, 1 + i % 3, i % 7 == 0);
            want_good += 1 + i % 3;
            want_scrap += i % 7 == 0;
            add_count(s, "m2", round * 1000 + i, 2, 0);
        }
        add_state(s, "m1", round * 1000 + 500);
        assert_int_equal(spool_commit(s), 0);
    }
    spool_stats(s, &st);
    assert_true(st.merged > 0);
    totals(s, "m1", &good, &scrap, &rows);
    assert_int_equal(good, want_good);
    assert_int_equal(scrap, want_scrap);
    totals(s, "m2", &good, &scrap, &rows);
    assert_int_equal(good, 40 * 100 * 2);
    assert_true(rows < 8000);
    spool_close(s);
}

static void test_merge_spares_sent(void **state)
{
    static struct spool_item items[1000];
    struct spool *s = open_spool(48 * 1024, NULL);
    int64_t good, scrap;
    size_t rows, n;

    (void)state;
    spool_set_base(s, 1);
    spool_set_fold(s, 0);
    for (int i = 0; i < 200; i++)
        add_count(s, "m1", i, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    /* Hand the first 200 to the "publisher": they must never be merged. */
    assert_int_equal(spool_fetch(s, 0, 1000, items, &n), 0);
    assert_int_equal(n, 200);
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < 100; i++)
            add_count(s, "m1", 1000 + round * 100 + i, 1, 0);
        spool_commit(s);
    }
    assert_int_equal(spool_fetch(s, 0, 1000, items, &n), 0);
    for (size_t i = 0; i < 200; i++) {
        assert_int_equal(items[i].ev.seq, i + 1);
        assert_int_equal(items[i].ev.u.count.good, 1);
    }
    totals(s, "m1", &good, &scrap, &rows);
    assert_int_equal(good, 200 + 30 * 100);
    spool_close(s);
}

/* A machine's run of counts is folded as it grows (one pending event per
 * run, in the place of its first); a state event of that machine ends the
 * run, other machines' events do not; totals are exact. */
static void test_fold_counts(void **state)
{
    static struct spool_item items[100];
    struct spool *s = open_spool(1 << 20, NULL);
    size_t n;

    (void)state;
    spool_set_base(s, 1);
    add_count(s, "m1", 1000, 1, 0);
    add_count(s, "m2", 1000, 5, 0);
    add_count(s, "m1", 2000, 2, 1);
    add_count(s, "m1", 3000, 3, 0);
    assert_int_equal(spool_pending(s), 2);
    add_state(s, "m1", 3500);
    add_count(s, "m1", 4000, 4, 0);
    add_count(s, "m2", 4000, 6, 2);
    assert_int_equal(spool_pending(s), 4);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_fetch(s, 0, 100, items, &n), 0);
    /* m1 1..3 (one row), m2 (5+6, one row), the state, m1 at 4000. */
    assert_int_equal(n, 4);
    assert_string_equal(items[0].ev.dev, "m1");
    assert_int_equal(items[0].ev.t, 3000);
    assert_int_equal(items[0].ev.u.count.good, 6);
    assert_int_equal(items[0].ev.u.count.scrap, 1);
    /* The span reaches back to where the first count began. */
    assert_int_equal(items[0].ev.u.count.span, 3000);
    assert_int_equal(items[0].ev.u.count.raw_good, 3000); /* the last read */
    assert_string_equal(items[1].ev.dev, "m2");
    assert_int_equal(items[1].ev.t, 4000);
    assert_int_equal(items[1].ev.u.count.good, 11);
    assert_int_equal(items[1].ev.u.count.scrap, 2);
    assert_int_equal(items[2].ev.type, LB_EV_STATE);
    assert_string_equal(items[3].ev.dev, "m1");
    assert_int_equal(items[3].ev.u.count.good, 4);
    for (size_t i = 1; i < n; i++)
        assert_true(items[i].ev.seq > items[i - 1].ev.seq);
    spool_close(s);
}

/* Commits do not write next_seq each time: a reopen finds it from the
 * highest seq in the file, and never numbers an event twice. */
static void test_next_seq_without_meta(void **state)
{
    struct spool *s = open_spool(1 << 20, NULL);

    (void)state;
    spool_set_base(s, 100);
    add_count(s, "m1", 1000, 1, 0);
    assert_int_equal(spool_commit(s), 0); /* writes the meta: a new base */
    for (int i = 0; i < 3; i++) {
        add_count(s, "m1", 2000 + i, 1, 0);
        add_state(s, "m1", 2000 + i);
        assert_int_equal(spool_commit(s), 0);
    }
    assert_int_equal(spool_last_seq(s), 106);
    assert_int_equal(spool_ack(s, 104), 1);
    spool_close(s); /* no checkpoint: acked is not durable */

    s = open_spool(1 << 20, NULL);
    assert_false(spool_needs_base(s));
    assert_int_equal(spool_last_seq(s), 106);
    assert_int_equal(spool_acked(s), 99); /* 100..104 resent; the server drops them */
    assert_int_equal(spool_ack(s, 104), 1);
    assert_int_equal(spool_checkpoint(s), 0);
    add_count(s, "m1", 3000, 1, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_last_seq(s), 107);
    spool_close(s);

    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_acked(s), 104);
    assert_int_equal(spool_last_seq(s), 107);
    spool_close(s);
}

/* Scans and notes cannot be recovered after a crash: they ask for a
 * commit at once; counts and states wait for the period. */
static void test_urgent(void **state)
{
    struct spool *s = open_spool(1 << 20, NULL);
    struct lb_event ev;

    (void)state;
    spool_set_base(s, 1);
    add_count(s, "m1", 1000, 1, 0);
    add_state(s, "m1", 1000);
    assert_false(spool_urgent(s));
    memset(&ev, 0, sizeof(ev));
    ev.type = LB_EV_SCAN;
    ev.t = 1100;
    snprintf(ev.dev, sizeof(ev.dev), "m1");
    ev.u.scan.kind = LB_SCAN_ORDER_START;
    snprintf(ev.u.scan.code, sizeof(ev.u.scan.code), "WO-1");
    assert_int_equal(spool_add(s, &ev, 1100, 1), 0);
    assert_true(spool_urgent(s));
    assert_int_equal(spool_commit(s), 0);
    assert_false(spool_urgent(s));
    spool_close(s);
}

/* The WAL stays between starts at the size of one checkpoint cycle (1000
 * frames of 24 + 512 bytes after a 32-byte header), so commits overwrite
 * blocks instead of extending the file; what it holds is still read. */
static void test_wal_kept(void **state)
{
    char path[300];
    struct spool *s = open_spool(1 << 20, NULL);
    struct stat st;

    (void)state;
    snprintf(path, sizeof(path), "%s/spool.db-wal", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32 + 1000 * (24 + 512));
    spool_set_base(s, 1);
    add_count(s, "m1", 1000, 5, 0);
    assert_int_equal(spool_commit(s), 0);
    spool_close(s);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32 + 1000 * (24 + 512));
    s = open_spool(1 << 20, NULL);
    assert_int_equal(spool_last_seq(s), 1);
    spool_close(s);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32 + 1000 * (24 + 512));
}

/* One agent per spool: a second open (another agent on the same state
 * directory) and a file held by another process (sqlite3 by hand) are
 * refused as busy, never taken for damage and moved aside. */
static void test_busy_not_damaged(void **state)
{
    char note[700], path[300];
    struct spool *s = open_spool(1 << 20, NULL), *s2 = NULL;
    sqlite3 *db;

    (void)state;
    spool_set_base(s, 1);
    add_count(s, "m1", 1000, 5, 0);
    assert_int_equal(spool_commit(s), 0);
    assert_int_equal(spool_open(dir, 1 << 20, &s2, note, sizeof(note)), LB_E_BUSY);
    assert_null(s2);
    spool_close(s);

    snprintf(path, sizeof(path), "%s/spool.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"
                                  " SELECT count(*) FROM events",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(spool_open(dir, 1 << 20, &s2, note, sizeof(note)), LB_E_BUSY);
    assert_null(s2);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(count_damaged(), 0);

    s = open_spool(1 << 20, note);
    assert_string_equal(note, "");
    assert_int_equal(spool_last_seq(s), 1);
    spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_needs_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_fetch_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_with_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_in_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_schema_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_merges_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_spares_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_seq_without_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urgent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_not_damaged, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
