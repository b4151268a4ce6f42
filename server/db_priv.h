/*
 * Internals shared by the files of the storage layer (db.c and the files
 * that hold one area's SQL, such as db_auth.c): a per-connection cache of
 * prepared statements and the conversion of SQLite errors.  Nothing outside
 * the storage layer includes this header.
 */
#ifndef LB_SERVER_DB_PRIV_H
#define LB_SERVER_DB_PRIV_H

#include <stdint.h>

#include <sqlite3.h>

#include "db.h"

/*
 * Returns sql prepared on db's connection, reset and unbound, or NULL
 * (logged).  Statements are cached per connection by the address of sql,
 * which must therefore be a string constant.  Callers reset the statement
 * when done so that no read stays open.
 */
sqlite3_stmt *db_cached(struct db *db, const char *sql);

/*
 * The connection's private state of the storage layer's files (rollup.c's
 * caches): made by make() on first use, freed by fr() at db_close.  NULL
 * when make() fails.
 */
void *db_state(struct db *db, void *(*make)(void), void (*fr)(void *));

/* Writes SQLite's plan for sql (EXPLAIN QUERY PLAN), details joined by
 * "; ", into OUT: buf; tests use it to catch full scans.  0 or LB_E_DB. */
int db_explain(struct db *db, const char *sql, char *buf, size_t size);

/* Logs SQLite's message for the failed operation what; returns LB_E_DB. */
int db_error(struct db *db, const char *what);

/* Rows changed by the last statement, and the last inserted rowid. */
int db_changes(struct db *db);
int64_t db_last_rowid(struct db *db);

#endif
