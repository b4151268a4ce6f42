/*
 * Migration step 2 (user_version 1 -> 2): the KPI and report schema --
 * master data (sites, lines, products, orders, operators, reasons), the
 * shift calendar, state intervals and the rollups kept at ingest.  Only
 * db.c's migration table includes this; docs/kpi.md explains the tables.
 * Released steps are never edited.
 */
#ifndef LB_SERVER_DB_KPI_SCHEMA_H
#define LB_SERVER_DB_KPI_SCHEMA_H

/* The per-minute rollup's columns (machine data only) and the extra ones of
 * the hour and day rollups, which are split by the calendar (rollup.h). */
#define DB_ROLL_COLS                                                                     \
    " good INTEGER NOT NULL DEFAULT 0, scrap INTEGER NOT NULL DEFAULT 0,"                \
    " ideal INTEGER NOT NULL DEFAULT 0, noict INTEGER NOT NULL DEFAULT 0,"               \
    " run INTEGER NOT NULL DEFAULT 0, micro INTEGER NOT NULL DEFAULT 0,"                 \
    " setup INTEGER NOT NULL DEFAULT 0, down INTEGER NOT NULL DEFAULT 0,"                \
    " unexpl INTEGER NOT NULL DEFAULT 0, mstop INTEGER NOT NULL DEFAULT 0,"              \
    " stops INTEGER NOT NULL DEFAULT 0, micros INTEGER NOT NULL DEFAULT 0,"
#define DB_ROLL_CAL_COLS                                                                 \
    " brk INTEGER NOT NULL DEFAULT 0, off INTEGER NOT NULL DEFAULT 0,"                   \
    " orun INTEGER NOT NULL DEFAULT 0, ogood INTEGER NOT NULL DEFAULT 0,"                \
    " oscrap INTEGER NOT NULL DEFAULT 0,"

#define DB_SCHEMA_KPI                                                                    \
    "CREATE TABLE sites (site TEXT PRIMARY KEY NOT NULL, name TEXT) WITHOUT ROWID;"      \
    "INSERT OR IGNORE INTO sites(site) SELECT DISTINCT site FROM agents WHERE site <> '';" \
    "CREATE TABLE lines ("                                                                \
    " id INTEGER PRIMARY KEY,"                                                            \
    " name TEXT NOT NULL UNIQUE,"                                                         \
    " site TEXT,"                                                                         \
    " created INTEGER NOT NULL DEFAULT 0);"                                                \
    "ALTER TABLE machines ADD COLUMN line_id INTEGER REFERENCES lines(id) ON DELETE SET NULL;" \
    "ALTER TABLE machines ADD COLUMN name TEXT;"                                          \
    /* Set through the API; wins over the agent's birth value. */                         \
    "ALTER TABLE machines ADD COLUMN ideal_set_ms INTEGER;"                               \
    "CREATE INDEX machines_line ON machines(line_id);"                                    \
    "CREATE TABLE products ("                                                             \
    " id INTEGER PRIMARY KEY,"                                                            \
    " code TEXT NOT NULL UNIQUE,"                                                         \
    " name TEXT,"                                                                         \
    " ideal_cycle_ms INTEGER);"                                                           \
    "CREATE TABLE product_machines ("                                                     \
    " product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,"             \
    " dev TEXT NOT NULL,"                                                                 \
    " ideal_cycle_ms INTEGER NOT NULL,"                                                   \
    " PRIMARY KEY (product_id, dev)) WITHOUT ROWID;"                                      \
    "CREATE TABLE orders ("                                                               \
    " id INTEGER PRIMARY KEY,"                                                            \
    " number TEXT NOT NULL UNIQUE,"                                                       \
    " product_id INTEGER REFERENCES products(id) ON DELETE SET NULL,"                     \
    " quantity INTEGER NOT NULL DEFAULT 0,"                                               \
    " due INTEGER,"                                                                       \
    " status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN"                            \
    "  ('planned', 'running', 'paused', 'done', 'cancelled')),"                           \
    " created INTEGER NOT NULL,"                                                          \
    " updated INTEGER NOT NULL);"                                                         \
    /* A piece of an order on one machine; end NULL while it runs. */                     \
    "CREATE TABLE order_runs ("                                                           \
    " id INTEGER PRIMARY KEY,"                                                            \
    " order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"                 \
    " dev TEXT NOT NULL,"                                                                 \
    " start INTEGER NOT NULL,"                                                            \
    " end INTEGER,"                                                                       \
    " source TEXT NOT NULL);"                                                             \
    "CREATE INDEX order_runs_dev ON order_runs(dev, start);"                              \
    "CREATE INDEX order_runs_order ON order_runs(order_id);"                              \
    "CREATE TABLE operators ("                                                            \
    " id INTEGER PRIMARY KEY,"                                                            \
    " badge TEXT NOT NULL UNIQUE,"                                                        \
    " name TEXT);"                                                                        \
    "CREATE TABLE operator_runs ("                                                        \
    " id INTEGER PRIMARY KEY,"                                                            \
    " operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,"           \
    " dev TEXT NOT NULL,"                                                                 \
    " start INTEGER NOT NULL,"                                                            \
    " end INTEGER);"                                                                      \
    "CREATE INDEX operator_runs_dev ON operator_runs(dev, start);"                        \
    "CREATE INDEX operator_runs_op ON operator_runs(operator_id);"                        \
    /* Calendar rows; line_id NULL is the plant's (calendar.h). */                        \
    "CREATE TABLE shifts ("                                                               \
    " id INTEGER PRIMARY KEY,"                                                            \
    " line_id INTEGER REFERENCES lines(id) ON DELETE CASCADE,"                            \
    " name TEXT NOT NULL,"                                                                \
    " weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),"                          \
    " start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),"                   \
    " end_min INTEGER NOT NULL CHECK (end_min BETWEEN 0 AND 1440),"                       \
    " valid_from INTEGER NOT NULL DEFAULT -1000000,"                                      \
    " valid_to INTEGER);"                                                                 \
    "CREATE TABLE planned_stops ("                                                        \
    " id INTEGER PRIMARY KEY,"                                                            \
    " line_id INTEGER REFERENCES lines(id) ON DELETE CASCADE,"                            \
    " name TEXT NOT NULL,"                                                                \
    " kind TEXT NOT NULL DEFAULT 'break',"                                                \
    " weekday INTEGER CHECK (weekday BETWEEN -1 AND 7),"                                  \
    " start_min INTEGER, end_min INTEGER,"                                                \
    " start INTEGER, end INTEGER,"                                                        \
    " valid_from INTEGER NOT NULL DEFAULT -1000000,"                                      \
    " valid_to INTEGER);"                                                                 \
    "CREATE TABLE calendar_days ("                                                        \
    " id INTEGER PRIMARY KEY,"                                                            \
    " line_id INTEGER REFERENCES lines(id) ON DELETE CASCADE,"                            \
    " day INTEGER NOT NULL,"                                                              \
    " kind TEXT NOT NULL CHECK (kind IN ('holiday', 'shift')),"                           \
    " name TEXT,"                                                                         \
    " start_min INTEGER, end_min INTEGER);"                                               \
    "CREATE INDEX calendar_days_day ON calendar_days(day);"                               \
    "CREATE TABLE reasons ("                                                              \
    " code TEXT PRIMARY KEY NOT NULL,"                                                    \
    " name TEXT,"                                                                         \
    " kind TEXT NOT NULL DEFAULT 'downtime' CHECK (kind IN ('downtime', 'scrap')),"       \
    " planned INTEGER NOT NULL DEFAULT 0,"                                                \
    " category TEXT NOT NULL DEFAULT 'breakdown') WITHOUT ROWID;"                          \
    /* State intervals: a partition of each machine's time since its first  */           \
    /* event; end NULL for the open one.  cat NULL: not yet in the rollups. */           \
    "CREATE TABLE intervals ("                                                            \
    " dev TEXT NOT NULL,"                                                                 \
    " start INTEGER NOT NULL,"                                                            \
    " end INTEGER,"                                                                       \
    " state TEXT NOT NULL,"                                                               \
    " reason TEXT,"     /* what the machine or agent said */                              \
    " set_reason TEXT," /* what a person said (reason_audit) */                           \
    " cat INTEGER,"                                                                       \
    " nstop INTEGER NOT NULL DEFAULT 0," /* 1 on the first piece of a counted stop */     \
    " nmicro INTEGER NOT NULL DEFAULT 0,"                                                 \
    " PRIMARY KEY (dev, start)) WITHOUT ROWID;"                                           \
    "CREATE TABLE reason_audit ("                                                         \
    " id INTEGER PRIMARY KEY,"                                                            \
    " dev TEXT NOT NULL,"                                                                 \
    " start INTEGER NOT NULL,"                                                            \
    " before TEXT,"                                                                       \
    " after TEXT,"                                                                        \
    " who TEXT NOT NULL,"                                                                 \
    " at INTEGER NOT NULL);"                                                              \
    "CREATE INDEX reason_audit_dev ON reason_audit(dev, start);"                          \
    /* Where each machine's interval builder stands (rollup.c). */                        \
    "CREATE TABLE tracks ("                                                               \
    " dev TEXT PRIMARY KEY NOT NULL,"                                                     \
    " start INTEGER NOT NULL," /* of the open interval */                                 \
    " state TEXT NOT NULL,"                                                               \
    " reason TEXT,"                                                                       \
    " last INTEGER NOT NULL," /* the latest event time seen */                            \
    " chain INTEGER,"         /* start of the open stop, NULL when none */                \
    " maxlen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"                                  \
    "CREATE TABLE scrap_entries ("                                                        \
    " id INTEGER PRIMARY KEY,"                                                            \
    " dev TEXT NOT NULL,"                                                                 \
    " t INTEGER NOT NULL,"                                                                \
    " qty INTEGER NOT NULL,"                                                              \
    " reason TEXT,"                                                                       \
    " source TEXT NOT NULL);"                                                             \
    "CREATE INDEX scrap_entries_dev ON scrap_entries(dev, t);"                            \
    "CREATE TABLE roll_minute (dev TEXT NOT NULL, t INTEGER NOT NULL," DB_ROLL_COLS      \
    " PRIMARY KEY (dev, t)) WITHOUT ROWID;"                                               \
    "CREATE TABLE roll_hour (dev TEXT NOT NULL, t INTEGER NOT NULL," DB_ROLL_COLS        \
    DB_ROLL_CAL_COLS " PRIMARY KEY (dev, t)) WITHOUT ROWID;"                              \
    "CREATE TABLE roll_day (dev TEXT NOT NULL, day INTEGER NOT NULL," DB_ROLL_COLS       \
    DB_ROLL_CAL_COLS " PRIMARY KEY (dev, day)) WITHOUT ROWID;"                            \
    /* roll_day summed per line (0: machines without one), for reports over */           \
    /* a line or the plant and long periods. */                                           \
    "CREATE TABLE roll_line_day (line INTEGER NOT NULL, day INTEGER NOT NULL,"            \
    DB_ROLL_COLS DB_ROLL_CAL_COLS " PRIMARY KEY (line, day)) WITHOUT ROWID;"               \
    /* Versions bumped by edits that caches depend on. */                                 \
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"           \
    " WITHOUT ROWID;"                                                                     \
    "INSERT INTO meta VALUES ('calendar', 0);"                                            \
    /* The old per-minute counts become the new rollup's. */                              \
    "INSERT INTO roll_minute(dev, t, good, scrap)"                                        \
    " SELECT dev, minute, good, scrap FROM counts_minute;"                                \
    "DROP TABLE counts_minute;"

#endif
