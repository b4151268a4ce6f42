/*
 * What the KPI engine reads from storage: rollup rows by range, the
 * intervals and raw counts of an edge shorter than a minute, and the state
 * of a machine's interval builder.  Part of the SQLite storage layer; a
 * second backend implements these and leaves kpi.c alone.
 */
#ifndef LB_SERVER_DB_KPI_H
#define LB_SERVER_DB_KPI_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "linebeat/wire.h"
#include "rollup.h"

/* Where a machine's interval builder stands (see rollup.c). */
struct dbk_track {
    int exists;
    int64_t start; /* of the open interval */
    char state[16];
    int64_t last;  /* latest event time */
    int64_t chain; /* start of the open stop, -1 none */
    int64_t maxlen;
};

/* An interval as reports see it. */
struct dbk_piece {
    int64_t start, end; /* end INT64_MAX while open */
    char state[16];
    char reason[LB_CODE_MAX + 1]; /* effective: a person's, else the machine's */
    int cat;                      /* enum roll_cat, -1 not yet judged */
    int nstop, nmicro;
    int planned; /* the reason is a planned one in the catalogue */
};

/* Called per row with the row's key (minute or hour ms, or day number) and
 * its RC_N values (minute rows: the first RC_NMIN, the rest 0).  Returns 0
 * to go on. */
typedef int (*dbk_row_fn)(void *ctx, int64_t key, const int64_t *v);
typedef int (*dbk_piece_fn)(void *ctx, const struct dbk_piece *p);

/* Rows of dev at level 0 (minute), 1 (hour) or 2 (day) with key in
 * [a, b), in key order.  Returns 0, fn's value or LB_E_DB. */
int dbk_rows(struct db *db, int level, const char *dev, int64_t a, int64_t b,
             dbk_row_fn fn, void *ctx);

/* Day rows of the machines in devs_json (a JSON array of ids) with day in
 * [a, b), summed over the machines per day, in day order: fn gets each
 * day's sums.  Returns 0, fn's value or LB_E_DB. */
int dbk_days_summed(struct db *db, const char *devs_json, int64_t a, int64_t b,
                    dbk_row_fn fn, void *ctx);

/* Day rows of line (0: machines without one) with day in [a, b), in day
 * order (roll_line_day).  Returns 0, fn's value or LB_E_DB. */
int dbk_line_days(struct db *db, int64_t line, int64_t a, int64_t b, dbk_row_fn fn,
                  void *ctx);

/* The sums of dev's hour rows with t in [a, b).  OUT: v[RC_N] (added to). */
int dbk_hour_sum(struct db *db, const char *dev, int64_t a, int64_t b, int64_t *v);

/* OUT: t.  Returns 0 (t->exists 0 for a machine without events) or LB_E_DB. */
int dbk_track(struct db *db, const char *dev, struct dbk_track *t);

/* Intervals of dev overlapping [a, b) (maxlen from the track bounds the
 * search), in order; judged ones only, unjudged ones only, or all (which
 * -1, 0, 1: all, judged, unjudged).  Returns 0, fn's value or LB_E_DB. */
int dbk_pieces(struct db *db, const char *dev, int64_t a, int64_t b, int64_t maxlen,
               int which, dbk_piece_fn fn, void *ctx);

/* Good and scrap of dev's count events with a <= t < b, less the scrap
 * entries (scans, manual) moved from good to scrap.  OUT: *good, *scrap. */
int dbk_counts(struct db *db, const char *dev, int64_t a, int64_t b, int64_t *good,
               int64_t *scrap);

/* A read transaction around one report: every query of it sees the same
 * snapshot (so its parts agree even while ingest commits), and SQLite
 * takes its locks once instead of per statement.  0 or LB_E_DB; end
 * always succeeds. */
int dbk_read_begin(struct db *db);
void dbk_read_end(struct db *db);

/* Which query dbk_plan describes (tests check the plans). */
enum dbk_query {
    DBK_Q_DAYS,
    DBK_Q_HOURS,
    DBK_Q_MINUTES,
    DBK_Q_PIECES,
    DBK_Q_COUNTS,
    DBK_Q_DAYS_SUMMED,
    DBK_Q_LINE_DAYS
};

/* SQLite's plan for a report query, details joined by "; ", into OUT: buf. */
int dbk_plan(struct db *db, enum dbk_query q, char *buf, size_t size);

#endif
