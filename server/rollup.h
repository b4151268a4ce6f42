/*
 * State intervals and rollups, kept at ingest inside the writer's
 * transaction (docs/kpi.md).  Every event of a machine moves its interval
 * builder: state events open and close intervals, a silence longer than
 * the data timeout becomes a "nodata" interval, and an idle or down stretch
 * is judged (micro-stop, explained, unexplained, planned) when it ends.
 * Closed intervals and counts go into per-minute rows (machine data) and
 * per-hour and per-production-day rows split by the line's calendar.  Late
 * events re-derive the intervals from their point on and correct every
 * rollup by the difference.  Part of the SQLite storage layer.
 */
#ifndef LB_SERVER_ROLLUP_H
#define LB_SERVER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "db.h"
#include "linebeat/wire.h"

/* What a second of machine data is (intervals.cat). */
enum roll_cat {
    CAT_NONE = 0, /* offline or no data: unknown time, in no rollup */
    CAT_RUN,
    CAT_MICRO, /* a stop shorter than micro_stop_s: performance loss */
    CAT_SETUP,
    CAT_DOWN,   /* an unplanned stop with a reason */
    CAT_UNEXPL, /* an unplanned stop without one */
    CAT_MSTOP,  /* a planned stop the machine or a planned reason declared */
    CAT_N
};

/* Rollup columns.  Minute rows hold the first RC_NMIN (machine data, in
 * ms or parts); hour and day rows hold them for planned busy time (CAL_P)
 * and the rest for time the calendar plans otherwise. */
enum roll_col {
    RC_GOOD,
    RC_SCRAP,
    RC_IDEAL, /* sum of parts x ideal cycle time, ms */
    RC_NOICT, /* parts made without a known ideal cycle time */
    RC_RUN,
    RC_MICRO,
    RC_SETUP,
    RC_DOWN,
    RC_UNEXPL,
    RC_MSTOP,
    RC_STOPS,  /* unplanned stops (>= micro_stop_s) that started here */
    RC_MICROS, /* micro-stops that started here */
    RC_NMIN,
    RC_BRK = RC_NMIN, /* known time inside planned stops of the calendar */
    RC_OFF,           /* known time outside shifts */
    RC_ORUN,          /* run time (with micro-stops) in either */
    RC_OGOOD,
    RC_OSCRAP,
    RC_N
};

/* Column names, as in the tables and the API's explain output. */
extern const char *const roll_col_name[RC_N];

/* Adds into OUT: out[RC_N] the rollup contribution of a minute's machine
 * data v[RC_NMIN] under calendar class cls (the split used for hour and day
 * rows, and by reports for loose minutes). */
void roll_classify(const int64_t *v, int cls, int64_t *out);

/* Category of a closed interval of state (wire name) that is not part of a
 * stop (idle/down); 1 for idle and down, which are judged as a stop. */
int roll_is_stop(const char *state);
enum roll_cat roll_state_cat(const char *state);

/*
 * Follows db_store_batch for the batch b (received at recv_ms), inside the
 * caller's transaction: for each event with fresh[i] set (newly stored),
 * moves its machine's intervals, rollups, orders, operators, reasons and
 * scrap.  Returns 0, LB_E_DB or -ENOMEM.
 */
int rollup_batch(struct db *db, const struct lb_batch *b, int64_t recv_ms,
                 const unsigned char *fresh);

/*
 * Re-derives dev's intervals from its stored events at `from` on (from the
 * start of the interval or stop holding it) and corrects the rollups by the
 * difference.  Returns 0, LB_E_DB or -ENOMEM.  Inside the caller's
 * transaction.
 */
int rollup_rebuild(struct db *db, const char *dev, int64_t from);

/*
 * Sets the reason of the stop (consecutive idle and down intervals) of dev
 * holding `at` to reason (NULL or "" clears it), recording who and now in
 * reason_audit, and re-judges the stop in the rollups.  Returns 0, -ENOENT
 * (no stop there) or LB_E_DB.  Inside the caller's transaction.
 */
int rollup_set_reason(struct db *db, const char *dev, int64_t at, const char *reason,
                      const char *who, int64_t now);

/*
 * After a calendar change: recomputes the hour and day rows of the
 * machines of line_id (0: machines without a line, -1: every machine) over
 * the production days from day0 to day1 from their minute rows.  Returns 0,
 * LB_E_DB or -ENOMEM.  Inside the caller's transaction; the caller bumps
 * the calendar version (rollup_calendar_changed).
 */
int rollup_recalendar(struct db *db, int64_t line_id, int64_t day0, int64_t day1);
/* Moves machine dev's day rows from line from_line's sums to to_line's (0:
 * no line), when it changes line; call before recomputing its calendar.
 * Returns 0 or LB_E_DB. */
int rollup_move_line(struct db *db, const char *dev, int64_t from_line, int64_t to_line);
/* The same for one machine (after it moved to another line). */
int rollup_recalendar_dev(struct db *db, const char *dev, int64_t day0, int64_t day1);

/*
 * Recomputes good, scrap and ideal time of dev's minutes in [from, to)
 * (widened to whole minutes) from the stored events and scrap entries with
 * the ideal cycle times in force now (after an order run or an ideal cycle
 * time was set for the past), and corrects the hour and day rows by the
 * difference.  Returns 0, LB_E_DB or -ENOMEM.  Inside the caller's
 * transaction.
 */
int rollup_recount(struct db *db, const char *dev, int64_t from, int64_t to);

/* Records that calendar rows changed, so every connection reloads them.
 * Returns 0 or LB_E_DB. */
int rollup_calendar_changed(struct db *db);

/*
 * Adds qty scrap parts of dev at t (a manual entry or a scan): stored in
 * scrap_entries and moved from good to scrap in the rollups.  Returns 0 or
 * LB_E_DB.
 */
int rollup_add_scrap(struct db *db, const char *dev, int64_t t, int64_t qty,
                     const char *reason, const char *source);

/* The line of dev (0 when none or unknown); OUT: *line_id.  0 or LB_E_DB. */
int rollup_line_of(struct db *db, const char *dev, int64_t *line_id);

/*
 * The calendar of line_id (0: the plant's) expanded over [from, to), from
 * the connection's cache.  OUT: *segs (owned by the cache: valid until the
 * next call on db), *n.  Returns 0, LB_E_DB, LB_E_RANGE or -ENOMEM.
 */
int rollup_segments(struct db *db, int64_t line_id, int64_t from, int64_t to,
                    const struct cal_seg **segs, size_t *n);

/* Drops the connection's calendar cache when the calendar version moved
 * (one query).  Returns 0 or LB_E_DB. */
int rollup_sync(struct db *db);

/* The ideal cycle time of dev at t in ms (0 when unknown): the running
 * order's product on that machine, else the product's, else the
 * machine's.  OUT: *ict.  0 or LB_E_DB. */
int rollup_ict_at(struct db *db, const char *dev, int64_t t, int64_t *ict);

#endif
