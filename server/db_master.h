/*
 * Master data and calendar of the API (api.c): lines, machines, products,
 * orders and their runs, operators, shifts, planned stops, calendar days,
 * reasons, and the stops of a machine.  Lists come back as JSON text made
 * by SQLite's json functions (which escape every value); writes take typed
 * values the API has checked.  Part of the SQLite storage layer.
 */
#ifndef LB_SERVER_DB_MASTER_H
#define LB_SERVER_DB_MASTER_H

#include <stdint.h>

#include "buf.h"
#include "db.h"

/* The lists and single rows dbm_json renders. */
enum dbm_view {
    DBM_LINES,
    DBM_LINE,    /* by id */
    DBM_MACHINE, /* by dev */
    DBM_PRODUCTS,
    DBM_PRODUCT,    /* by id */
    DBM_ORDERS,     /* text: a status or "" for all */
    DBM_ORDER,      /* by id */
    DBM_ORDER_RUNS, /* by order id */
    DBM_OPERATORS,
    DBM_SHIFTS,
    DBM_STOPS_PLANNED,
    DBM_CAL_DAYS,
    DBM_REASONS,
    DBM_REASON_AUDIT, /* text: dev */
    DBM_SITES,
};

/*
 * Appends view (key: an id in ikey, a text in skey) as JSON to out.  A
 * single row that does not exist gives -ENOENT and appends nothing.
 * Returns 0, -ENOENT or LB_E_DB.
 */
int dbm_json(struct db *db, enum dbm_view view, int64_t ikey, const char *skey,
             struct buf *out);

/* Stops and other intervals of dev overlapping [from, to), as JSON, with
 * their reasons and whether they wait for one.  0 or LB_E_DB. */
int dbm_intervals_json(struct db *db, const char *dev, int64_t from, int64_t to,
                       int only_unexplained, struct buf *out);

/* The last scans of dev (at most limit, newest first) with t_eff in
 * [from, to), as JSON.  0 or LB_E_DB. */
int dbm_scans_json(struct db *db, const char *dev, int64_t from, int64_t to,
                   int64_t limit, struct buf *out);

/* A nullable value: has 0 means NULL / leave unchanged as documented. */
struct dbm_opt {
    int has;
    int64_t i;
    const char *s;
};

/* Writes.  Each returns 0, -ENOENT (no such row), -EEXIST (a unique name
 * taken), -EINVAL (a reference to a missing row) or LB_E_DB; OUT: *id for
 * inserts.  They run inside the caller's transaction. */
int dbm_line_put(struct db *db, int64_t id, const char *name, const char *site,
                 int64_t now, int64_t *out_id);
int dbm_line_delete(struct db *db, int64_t id);
/* Updates a machine's name, line (i 0 clears it) and ideal cycle time
 * (i 0 clears the override); fields without has stay. */
int dbm_machine_put(struct db *db, const char *dev, struct dbm_opt name,
                    struct dbm_opt line_id, struct dbm_opt ideal_ms);
int dbm_product_put(struct db *db, int64_t id, const char *code, const char *name,
                    int64_t ideal_ms, int64_t *out_id);
int dbm_product_machine(struct db *db, int64_t product_id, const char *dev,
                        int64_t ideal_ms); /* ideal_ms 0 removes it */
int dbm_product_delete(struct db *db, int64_t id);
/* An order by id (0: new, or by number when it exists and upsert is set). */
int dbm_order_put(struct db *db, int64_t id, const char *number, struct dbm_opt product,
                  struct dbm_opt quantity, struct dbm_opt due, struct dbm_opt status,
                  int upsert, int64_t now, int64_t *out_id, int *created);
int dbm_order_delete(struct db *db, int64_t id);
int dbm_product_by_code(struct db *db, const char *code, int64_t *id);
/* Starts a run of order id on dev at t (ending the machine's open run), or
 * ends the open run of the order on dev at t.  OUT: *from, the start of
 * what changed (for recounting).  -ENOENT: no such order / open run. */
int dbm_run_start(struct db *db, int64_t order_id, const char *dev, int64_t t);
int dbm_run_stop(struct db *db, int64_t order_id, const char *dev, int64_t t,
                 int64_t *from);
/* 0 when it exists, -ENOENT when not, or LB_E_DB. */
int dbm_machine_exists(struct db *db, const char *dev);
int dbm_reason_exists(struct db *db, const char *code);
int dbm_operator_put(struct db *db, const char *badge, const char *name, int64_t *out_id);

int dbm_shift_add(struct db *db, int64_t line_id, const char *name, int weekday,
                  int start_min, int end_min, int64_t valid_from, int64_t valid_to,
                  int64_t *out_id);
/* Ends a shift or weekly planned stop ("shifts", "planned_stops") from
 * day on, or deletes it when it was not in force by then; deletes a
 * one-off stop or a calendar day ("calendar_days").  OUT: *line_id (0 the
 * plant's) and where the calendar changed: *affected_day (a production
 * day), or for a one-off stop *affected_ms (its start); the other is
 * INT64_MIN. */
int dbm_calendar_end(struct db *db, const char *table, int64_t id, int64_t day,
                     int64_t *line_id, int64_t *affected_day, int64_t *affected_ms);
int dbm_stop_add(struct db *db, int64_t line_id, const char *name, const char *kind,
                 int weekday, int start_min, int end_min, int64_t start_ms,
                 int64_t end_ms, int64_t valid_from, int64_t *out_id);
int dbm_day_add(struct db *db, int64_t line_id, int64_t day, int holiday,
                const char *name, int start_min, int end_min, int64_t *out_id);
int dbm_reason_put(struct db *db, const char *code, const char *name, const char *kind,
                   int planned, const char *category);
int dbm_reason_delete(struct db *db, const char *code);

/* The machines of a scope: all (line_id < 0), a line's (> 0) or those
 * without a line (0), in id order.  OUT: *devs (free each and the array),
 * *n.  Returns 0, -ENOMEM or LB_E_DB. */
int dbm_machines_of(struct db *db, int64_t line_id, char ***devs, size_t *n);
/* The runs of an order: OUT: arrays of dev, start, end (INT64_MAX open). */
struct dbm_run {
    char dev[65];
    int64_t start, end;
};
int dbm_order_runs(struct db *db, int64_t order_id, struct dbm_run **runs, size_t *n);
/* An order's quantity, due time (-1 none) and status into OUT. */
int dbm_order_head(struct db *db, int64_t id, int64_t *quantity, int64_t *due,
                   char *status, size_t size);
/* Registers site (from an agent's birth) when new.  0 or LB_E_DB. */
int dbm_site_seen(struct db *db, const char *site);
/* Names site.  0, -ENOENT or LB_E_DB. */
int dbm_site_name(struct db *db, const char *site, const char *name);

/* Every line id, and 0 (machines without a line).  OUT: *ids (free), *n.
 * Returns 0, -ENOMEM or LB_E_DB. */
int dbm_line_ids(struct db *db, int64_t **ids, size_t *n);

/* Whether line id exists: 0 or -ENOENT (or LB_E_DB). */
int dbm_line_exists(struct db *db, int64_t id);
/* Operator id's badge and name ("" when none) into OUT: badge, name.
 * Returns 0, -ENOENT or LB_E_DB. */
int dbm_operator_head(struct db *db, int64_t id, char *badge, size_t bsize, char *name,
                      size_t nsize);
/* The runs of operator id (operators.c) that may reach into [from, to):
 * closed ones ending after from, and every open one (end INT64_MAX), by
 * start.  OUT: *runs (free()), *n.  Returns 0, -ENOMEM or LB_E_DB. */
int dbm_operator_runs(struct db *db, int64_t id, int64_t from, int64_t to,
                      struct dbm_run **runs, size_t *n);

#endif
