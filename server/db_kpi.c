/*
 * Report reads of the KPI engine; see db_kpi.h.  Every query reads a range
 * of a primary key (dev, t) or (dev, day), or the (dev, t_eff) index of the
 * events, and tests/unit/test_kpi.c checks their plans.
 */
#include <stdio.h>
#include <string.h>

#include "db_kpi.h"
#include "db_priv.h"
#include "linebeat/error.h"

static const char SQL_DAYS[] = "SELECT day, good, scrap, ideal, noict, run, micro, "
                               "setup, down, unexpl, mstop, stops, "
                               "micros, brk, off, orun, ogood, oscrap FROM roll_day "
                               "WHERE dev = ?1 AND day >= ?2 AND day < ?3 ORDER BY day";
/* One range of the primary key per machine; SQLite adds the machines up. */
static const char SQL_DAYS_SUMMED[] =
    "SELECT day, sum(good), sum(scrap), sum(ideal), sum(noict), sum(run), sum(micro), "
    "sum(setup), sum(down), sum(unexpl), sum(mstop), sum(stops), sum(micros), sum(brk), "
    "sum(off), sum(orun), sum(ogood), sum(oscrap) FROM roll_day "
    "WHERE dev IN (SELECT value FROM json_each(?1)) AND day >= ?2 AND day < ?3 "
    "GROUP BY day ORDER BY day";
static const char SQL_LINE_DAYS[] =
    "SELECT day, good, scrap, ideal, noict, run, micro, setup, down, unexpl, mstop, "
    "stops, "
    "micros, brk, off, orun, ogood, oscrap FROM roll_line_day "
    "WHERE line = ?1 AND day >= ?2 AND day < ?3 ORDER BY day";
static const char SQL_HOURS[] =
    "SELECT t, good, scrap, ideal, noict, run, micro, setup, down, unexpl, mstop, stops, "
    "micros, brk, off, orun, ogood, oscrap FROM roll_hour "
    "WHERE dev = ?1 AND t >= ?2 AND t < ?3 ORDER BY t";
static const char SQL_HOUR_SUM[] =
    "SELECT total(good), total(scrap), total(ideal), total(noict), total(run), "
    "total(micro), total(setup), total(down), total(unexpl), total(mstop), total(stops), "
    "total(micros), total(brk), total(off), total(orun), total(ogood), total(oscrap) "
    "FROM roll_hour WHERE dev = ?1 AND t >= ?2 AND t < ?3";
static const char SQL_MINUTES[] =
    "SELECT t, good, scrap, ideal, noict, run, micro, setup, down, unexpl, mstop, stops, "
    "micros FROM roll_minute WHERE dev = ?1 AND t >= ?2 AND t < ?3 ORDER BY t";
static const char SQL_TRACK[] =
    "SELECT start, state, last, chain, maxlen FROM tracks WHERE dev = ?1";
/* Overlapping [?2, ?3): starts before ?3 and, since no interval is longer
 * than ?4, after ?2 - ?4. */
static const char SQL_PIECES[] =
    "SELECT i.start, i.end, i.state, coalesce(i.set_reason, i.reason, ''), i.cat, "
    "i.nstop, i.nmicro, coalesce(r.planned, 0) FROM intervals i "
    "LEFT JOIN reasons r ON r.code = coalesce(i.set_reason, i.reason) "
    "WHERE i.dev = ?1 AND i.start < ?3 AND i.start >= ?2 - ?4 "
    "AND (i.end IS NULL OR i.end > ?2) ORDER BY i.start";
static const char SQL_COUNTS[] =
    "SELECT total(good), total(scrap) FROM events INDEXED BY events_dev_time "
    "WHERE dev = ?1 AND t_eff >= ?2 AND t_eff < ?3";
static const char SQL_SCRAP[] =
    "SELECT total(qty) FROM scrap_entries WHERE dev = ?1 AND t >= ?2 AND t < ?3";

static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_END[] = "COMMIT";

static int rows_step(struct db *db, sqlite3_stmt *st, int ncol, dbk_row_fn fn, void *ctx);

int dbk_read_begin(struct db *db)
{
    sqlite3_stmt *st = db_cached(db, SQL_BEGIN);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_error(db, "read begin");
}

void dbk_read_end(struct db *db)
{
    sqlite3_stmt *st = db_cached(db, SQL_END);

    if (st == NULL)
        return;
    (void)sqlite3_step(st);
    sqlite3_reset(st);
}

static int rows_step(struct db *db, sqlite3_stmt *st, int ncol, dbk_row_fn fn, void *ctx)
{
    int64_t v[RC_N];
    int rc, ret = 0, i;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(v, 0, sizeof(v));
        for (i = 0; i < ncol; i++)
            v[i] = sqlite3_column_int64(st, 1 + i);
        if ((ret = fn(ctx, sqlite3_column_int64(st, 0), v)) != 0)
            break;
    }
    sqlite3_reset(st);
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_error(db, "rollup rows");
    return ret;
}

int dbk_rows(struct db *db, int level, const char *dev, int64_t a, int64_t b,
             dbk_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_cached(db, level == 0   ? SQL_MINUTES
                                     : level == 1 ? SQL_HOURS
                                                  : SQL_DAYS);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    return rows_step(db, st, level == 0 ? RC_NMIN : RC_N, fn, ctx);
}

int dbk_days_summed(struct db *db, const char *devs_json, int64_t a, int64_t b,
                    dbk_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_cached(db, SQL_DAYS_SUMMED);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, devs_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    return rows_step(db, st, RC_N, fn, ctx);
}

int dbk_line_days(struct db *db, int64_t line, int64_t a, int64_t b, dbk_row_fn fn,
                  void *ctx)
{
    sqlite3_stmt *st = db_cached(db, SQL_LINE_DAYS);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, line);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    return rows_step(db, st, RC_N, fn, ctx);
}

int dbk_hour_sum(struct db *db, const char *dev, int64_t a, int64_t b, int64_t *v)
{
    sqlite3_stmt *st = db_cached(db, SQL_HOUR_SUM);
    int rc, i;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        for (i = 0; i < RC_N; i++)
            v[i] += (int64_t)sqlite3_column_double(st, i);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, "hour sum");
}

int dbk_track(struct db *db, const char *dev, struct dbk_track *t)
{
    sqlite3_stmt *st = db_cached(db, SQL_TRACK);
    const unsigned char *s;
    int rc;

    memset(t, 0, sizeof(*t));
    t->chain = -1;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->exists = 1;
        t->start = sqlite3_column_int64(st, 0);
        s = sqlite3_column_text(st, 1);
        snprintf(t->state, sizeof(t->state), "%s", s ? (const char *)s : "");
        t->last = sqlite3_column_int64(st, 2);
        t->chain =
            sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        t->maxlen = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(db, "track");
}

int dbk_pieces(struct db *db, const char *dev, int64_t a, int64_t b, int64_t maxlen,
               int which, dbk_piece_fn fn, void *ctx)
{
    sqlite3_stmt *st = db_cached(db, SQL_PIECES);
    struct dbk_piece p;
    const unsigned char *s;
    int rc, ret = 0;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    sqlite3_bind_int64(st, 4, maxlen);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&p, 0, sizeof(p));
        p.start = sqlite3_column_int64(st, 0);
        p.end = sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MAX
                                                          : sqlite3_column_int64(st, 1);
        s = sqlite3_column_text(st, 2);
        snprintf(p.state, sizeof(p.state), "%s", s ? (const char *)s : "");
        s = sqlite3_column_text(st, 3);
        snprintf(p.reason, sizeof(p.reason), "%s", s ? (const char *)s : "");
        p.cat =
            sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
        p.nstop = sqlite3_column_int(st, 5);
        p.nmicro = sqlite3_column_int(st, 6);
        p.planned = sqlite3_column_int(st, 7);
        if ((which == 0 && p.cat < 0) || (which == 1 && p.cat >= 0))
            continue;
        if ((ret = fn(ctx, &p)) != 0)
            break;
    }
    sqlite3_reset(st);
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = db_error(db, "intervals");
    return ret;
}

int dbk_counts(struct db *db, const char *dev, int64_t a, int64_t b, int64_t *good,
               int64_t *scrap)
{
    sqlite3_stmt *st = db_cached(db, SQL_COUNTS);
    int64_t moved = 0;
    int rc;

    *good = *scrap = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *good = (int64_t)sqlite3_column_double(st, 0);
        *scrap = (int64_t)sqlite3_column_double(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return db_error(db, "edge counts");
    if ((st = db_cached(db, SQL_SCRAP)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        moved = (int64_t)sqlite3_column_double(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return db_error(db, "edge scrap");
    *good -= moved;
    *scrap += moved;
    return 0;
}

int dbk_plan(struct db *db, enum dbk_query q, char *buf, size_t size)
{
    static const char *const sqls[] = {SQL_DAYS,     SQL_HOURS,  SQL_MINUTES,
                                       SQL_PIECES,   SQL_COUNTS, SQL_DAYS_SUMMED,
                                       SQL_LINE_DAYS};

    return db_explain(db, sqls[q], buf, size);
}
