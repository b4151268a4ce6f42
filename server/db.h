/*
 * The server's storage: one SQLite database in WAL mode.  One writer
 * connection (the ingest thread) stores decoded messages inside
 * transactions the caller opens; each web thread reads through its own
 * read-only connection.  The schema is created and upgraded by numbered
 * migrations.  All SQL of the server lives here, so a second backend can
 * replace this module without touching ingest or the pages.
 */
#ifndef LB_SERVER_DB_H
#define LB_SERVER_DB_H

#include <stdint.h>

#include "linebeat/wire.h"

struct db;

/*
 * Opens path.  A writer (readonly 0) creates the file when missing and
 * applies every pending migration; a reader opens with SQLITE_OPEN_READONLY
 * and fails with LB_E_CORRUPT when the schema is not the one this binary
 * knows.  OUT: *out, freed with db_close.  Returns 0, LB_E_DB, LB_E_CORRUPT
 * (a schema newer than this binary) or -ENOMEM.
 */
int db_open(const char *path, int readonly, struct db **out);
/* Finalises the statements and closes the connection; accepts NULL. */
void db_close(struct db *db);
/* The file db's connection opened (absolute), for another connection to
 * the same database; owned by the connection. */
const char *db_filename(struct db *db);
/* The schema version this binary writes (PRAGMA user_version). */
int db_schema_version(void);

/* Transactions of the writer: BEGIN IMMEDIATE / COMMIT / ROLLBACK, and a
 * savepoint per message so one failing message does not undo its batch.
 * Return 0 or LB_E_DB (rollbacks only log). */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_savepoint(struct db *db);
int db_release(struct db *db);
void db_rollback_savepoint(struct db *db);

/* What storing one events batch did. */
struct db_batch_result {
    uint64_t hw_before, hw_after;     /* the agent's stored-up-to sequence number */
    unsigned stored;                  /* events newly inserted */
    unsigned duplicates;              /* events already stored, dropped */
    unsigned conflicts;               /* events of a machine another agent owns */
    char conflict_dev[LB_ID_MAX + 1]; /* the first such machine, for the log */
    char conflict_owner[LB_ID_MAX + 1];
    unsigned gap_opened;       /* new gaps (missing events) the batch revealed */
    uint64_t gap_from, gap_to; /* the first: missing seq in (gap_from, gap_to] */
};

/*
 * Stores the validated batch b that arrived at recv_ms (server clock) on a
 * topic of site, inside the caller's transaction: each (agent, seq) once,
 * machine live state and the per-minute rollup for new events only, and the
 * agent's high-water mark per docs/wire.md ("prev").  Events of an agent
 * with an unsynchronised clock are dated recv_ms - age.  Does not commit.
 * OUT: res.  Returns 0 or LB_E_DB.
 */
int db_store_batch(struct db *db, const char *site, const struct lb_batch *b,
                   int64_t recv_ms, struct db_batch_result *res);

/*
 * Registers a birth: the agent (site, boot, version) and its machines.  A
 * machine owned by another agent is left with its owner and counted in
 * OUT: *conflicts.  OUT: *hw, the agent's high-water mark to publish at
 * once.  Returns 0 or LB_E_DB.
 */
int db_store_birth(struct db *db, const char *site, const struct lb_birth *b,
                   int64_t recv_ms, uint64_t *hw, unsigned *conflicts);

/* Records the agent online or offline as of recv_ms.  An offline status
 * whose boot is not the agent's current one (a late will of an earlier run)
 * is ignored.  Returns 0 or LB_E_DB. */
int db_store_status(struct db *db, const char *site, const char *agent, const char *boot,
                    int online, int64_t recv_ms);

/* Counts one malformed message against agent (a valid id).  0 or LB_E_DB. */
int db_count_malformed(struct db *db, const char *site, const char *agent,
                       int64_t recv_ms);

/* An agent as the API shows it. */
struct db_agent {
    char agent[LB_ID_MAX + 1];
    char site[LB_ID_MAX + 1];
    char boot[LB_BOOT_LEN + 1];
    char version[LB_VERSION_MAX + 1];
    uint64_t hw;
    int64_t dups, gaps, open_gaps, malformed, conflicts;
    int online;
    int64_t last_seen;  /* ms, -1 when never */
    int64_t last_birth; /* ms, -1 when never */
};

/* A machine with its output over the interval the query asked for. */
struct db_machine {
    char dev[LB_ID_MAX + 1];
    char agent[LB_ID_MAX + 1];
    char profile[LB_PROFILE_MAX + 1];
    char state[16];               /* "" while no state event arrived */
    char reason[LB_CODE_MAX + 1]; /* "" when none */
    int64_t state_since;          /* ms, -1 when unknown */
    int64_t last_seen;            /* ms, -1 when never */
    int agent_online;
    int64_t good, scrap;
    char order[LB_SCAN_MAX + 1];         /* the order running on it, "" when none */
    int order_unplanned;                 /* created by a scan, not yet planned */
    int64_t order_id;                    /* its id, 0 when none */
    char operator_name[LB_SCAN_MAX + 1]; /* the operator on it, "" when none */
};

/* Callbacks return 0 to go on, anything else stops the walk and is returned. */
typedef int (*db_agent_fn)(void *ctx, const struct db_agent *a);
typedef int (*db_machine_fn)(void *ctx, const struct db_machine *m);

/* Calls fn for each agent, ordered by id.  Returns 0, fn's value or LB_E_DB. */
int db_agents(struct db *db, db_agent_fn fn, void *ctx);

/* Reads one agent.  Returns 0, -ENOENT or LB_E_DB. */
int db_agent_get(struct db *db, const char *agent, struct db_agent *out);

/*
 * Calls fn for each machine, ordered by id, with good and scrap summed from
 * the rollups over minutes starting in [from, to) (whole hours from the
 * hour rows).  Returns 0, fn's value or LB_E_DB.
 */
int db_machines(struct db *db, int64_t from, int64_t to, db_machine_fn fn, void *ctx);

/*
 * Sums good and scrap of dev's count events with from <= t_eff < to from the
 * raw events (exact for any interval).  OUT: good, scrap.  Returns 0,
 * -ENOENT for an unknown machine, or LB_E_DB.
 */
int db_machine_counts(struct db *db, const char *dev, int64_t from, int64_t to,
                      int64_t *good, int64_t *scrap);

/* Which query db_query_plan describes. */
enum db_query { DB_Q_COUNTS, DB_Q_MACHINES };

/* Writes SQLite's plan for a report query, details joined by "; ", into
 * OUT: buf; tests use it to catch a full scan.  Returns 0 or LB_E_DB. */
int db_query_plan(struct db *db, enum db_query q, char *buf, size_t size);

/* Bytes of the database file and its WAL on disk, or -1. */
int64_t db_file_bytes(const char *path);

#endif
