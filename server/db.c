/*
 * SQLite storage of the server; see db.h.
 *
 * Durability: the writer runs with synchronous=FULL, not NORMAL.  In WAL
 * mode NORMAL may lose the last commits on a power cut, and the server
 * publishes an ack right after each commit; an agent then deletes those
 * events from its spool, so a lost commit would lose production data for
 * good.  Batching many messages into one transaction keeps the fsync count
 * low (one per batch, at most every few milliseconds under load).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "db.h"
#include "db_kpi_schema.h"
#include "db_master.h"
#include "db_priv.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "rollup.h"

/* A batch further than this many separate stretches ahead of the high-water
 * mark is stored but not remembered as a stretch: hw then advances when the
 * agent resends (duplicates are dropped), so this only bounds memory. */
#define RUNS_MAX 1024

#define BUSY_TIMEOUT_MS 5000
#define OWNERS_MAX      32 /* machines of one batch whose owner is remembered */
/* roll_hour rows are whole UTC hours. */
#define HOUR_MS 3600000LL

/* Every statement of the server, prepared once per connection on first use. */
enum stmt {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_AGENT_UPSERT,
    S_AGENT_HW,
    S_AGENT_BATCH_DONE,
    S_AGENT_BIRTH,
    S_AGENT_STATUS,
    S_AGENT_MALFORMED,
    S_AGENT_CONFLICTS,
    S_EVENT_INSERT,
    S_MACHINE_ENSURE,
    S_MACHINE_OWNER,
    S_MACHINE_SEEN,
    S_MACHINE_STATE,
    S_MACHINE_RAW,
    S_MACHINE_BIRTH,
    S_RUNS_LOAD,
    S_RUNS_DELETE,
    S_RUNS_INSERT,
    S_GAP_KNOWN,
    S_GAP_INSERT,
    S_GAP_SHRINK,
    S_GAP_CLOSE,
    S_AGENTS_LIST,
    S_AGENT_GET,
    S_MACHINES_LIST,
    S_MACHINE_EXISTS,
    S_MACHINE_COUNTS,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT msg",
    [S_RELEASE] = "RELEASE msg",
    [S_ROLLBACK_TO] = "ROLLBACK TO msg",
    [S_AGENT_UPSERT] = "INSERT INTO agents(agent, site, last_seen) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(agent) DO UPDATE SET site = excluded.site, "
                       "last_seen = max(coalesce(last_seen, 0), excluded.last_seen)",
    [S_AGENT_HW] = "SELECT hw FROM agents WHERE agent = ?1",
    [S_AGENT_BATCH_DONE] = "UPDATE agents SET hw = ?2, dups = dups + ?3, "
                           "gaps = gaps + ?4, conflicts = conflicts + ?5, boot = ?6 "
                           "WHERE agent = ?1",
    [S_AGENT_BIRTH] = "UPDATE agents SET boot = ?2, version = ?3, last_birth = ?4 "
                      "WHERE agent = ?1",
    /* An offline will of an earlier run (another boot) arriving after the
     * new run said online must not mark the agent offline (docs/wire.md). */
    [S_AGENT_STATUS] = "UPDATE agents SET online = ?2, status_since = ?3, "
                       "boot = CASE WHEN ?2 THEN coalesce(?4, boot) ELSE boot END "
                       "WHERE agent = ?1 AND (?2 OR boot IS NULL OR ?4 IS NULL "
                       "OR boot = ?4 OR online = 0)",
    [S_AGENT_MALFORMED] = "UPDATE agents SET malformed = malformed + 1 WHERE agent = ?1",
    [S_AGENT_CONFLICTS] = "UPDATE agents SET conflicts = conflicts + ?2 WHERE agent = ?1",
    [S_EVENT_INSERT] =
        "INSERT INTO events(agent, seq, dev, type, t, t_eff, recv, good, scrap, span, "
        "raw_good, raw_scrap, raw_total, state, reason, kind, code, value, qty, text) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17, ?18, ?19, ?20) ON CONFLICT(agent, seq) DO NOTHING",
    [S_MACHINE_ENSURE] =
        "INSERT INTO machines(dev, agent, first_seen) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(dev) DO NOTHING",
    [S_MACHINE_OWNER] = "SELECT agent FROM machines WHERE dev = ?1",
    [S_MACHINE_SEEN] = "UPDATE machines SET last_seen = max(coalesce(last_seen, 0), ?2) "
                       "WHERE dev = ?1",
    /* An event older than the current state (a late replay) must not
     * overwrite it: state_since only moves forward. */
    [S_MACHINE_STATE] = "UPDATE machines SET state = ?2, reason = ?3, state_since = ?4 "
                        "WHERE dev = ?1 AND (state_since IS NULL OR state_since <= ?4)",
    [S_MACHINE_RAW] = "UPDATE machines SET last_good_raw = coalesce(?2, last_good_raw), "
                      "last_scrap_raw = coalesce(?3, last_scrap_raw) WHERE dev = ?1",
    [S_MACHINE_BIRTH] =
        "INSERT INTO machines(dev, agent, profile, ideal_cycle_ms, first_seen) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(dev) DO UPDATE SET "
        "profile = excluded.profile, ideal_cycle_ms = excluded.ideal_cycle_ms "
        "WHERE machines.agent = excluded.agent",
    [S_RUNS_LOAD] = "SELECT lo, hi FROM runs WHERE agent = ?1 ORDER BY lo",
    [S_RUNS_DELETE] = "DELETE FROM runs WHERE agent = ?1",
    [S_RUNS_INSERT] = "INSERT INTO runs(agent, lo, hi) VALUES(?1, ?2, ?3)",
    [S_GAP_KNOWN] = "SELECT 1 FROM gaps WHERE agent = ?1 AND filled IS NULL "
                    "AND from_seq <= ?2 AND to_seq >= ?3 LIMIT 1",
    [S_GAP_INSERT] = "INSERT INTO gaps(agent, from_seq, to_seq, seen) "
                     "VALUES(?1, ?2, ?3, ?4)",
    [S_GAP_SHRINK] = "UPDATE gaps SET from_seq = ?2 WHERE agent = ?1 AND filled IS NULL "
                     "AND from_seq < ?2 AND to_seq > ?2",
    [S_GAP_CLOSE] = "UPDATE gaps SET filled = ?3 WHERE agent = ?1 AND filled IS NULL "
                    "AND to_seq <= ?2",
    [S_AGENTS_LIST] =
        "SELECT a.agent, a.site, a.boot, a.version, a.hw, a.dups, a.gaps, a.malformed, "
        "a.conflicts, a.online, a.last_seen, a.last_birth, "
        "(SELECT count(*) FROM gaps g WHERE g.agent = a.agent AND g.filled IS NULL) "
        "FROM agents a ORDER BY a.agent",
    [S_AGENT_GET] =
        "SELECT a.agent, a.site, a.boot, a.version, a.hw, a.dups, a.gaps, a.malformed, "
        "a.conflicts, a.online, a.last_seen, a.last_birth, "
        "(SELECT count(*) FROM gaps g WHERE g.agent = a.agent AND g.filled IS NULL) "
        "FROM agents a WHERE a.agent = ?1",
    /* The rollups are read through their primary keys (dev, t): a few
     * ranges per machine, whatever the history length.  Good and scrap:
     * whole UTC hours [?3, ?4) from roll_hour (each row the sum of its
     * minutes, good in and outside planned time), the edges from
     * roll_minute: a day reads at most 24 + 118 rows per machine instead
     * of 1440 (docs/benchmarks.md). */
    [S_MACHINES_LIST] =
        "SELECT m.dev, m.agent, m.profile, m.state, m.reason, m.state_since, "
        "m.last_seen, coalesce(a.online, 0), "
        "(SELECT coalesce(sum(h.good + h.ogood), 0) FROM roll_hour h "
        " WHERE h.dev = m.dev AND h.t >= ?3 AND h.t < ?4) + "
        "(SELECT coalesce(sum(c.good), 0) FROM roll_minute c "
        " WHERE c.dev = m.dev AND c.t >= ?1 AND c.t < ?3) + "
        "(SELECT coalesce(sum(c.good), 0) FROM roll_minute c "
        " WHERE c.dev = m.dev AND c.t >= ?4 AND c.t < ?2), "
        "(SELECT coalesce(sum(h.scrap + h.oscrap), 0) FROM roll_hour h "
        " WHERE h.dev = m.dev AND h.t >= ?3 AND h.t < ?4) + "
        "(SELECT coalesce(sum(c.scrap), 0) FROM roll_minute c "
        " WHERE c.dev = m.dev AND c.t >= ?1 AND c.t < ?3) + "
        "(SELECT coalesce(sum(c.scrap), 0) FROM roll_minute c "
        " WHERE c.dev = m.dev AND c.t >= ?4 AND c.t < ?2), "
        /* The open order and operator runs (end NULL) of each machine. */
        "(SELECT o.number FROM order_runs r JOIN orders o ON o.id = r.order_id "
        " WHERE r.dev = m.dev AND r.end IS NULL ORDER BY r.start DESC LIMIT 1), "
        "(SELECT o.unplanned FROM order_runs r JOIN orders o ON o.id = r.order_id "
        " WHERE r.dev = m.dev AND r.end IS NULL ORDER BY r.start DESC LIMIT 1), "
        "(SELECT coalesce(p.name, p.badge) FROM operator_runs r "
        " JOIN operators p ON p.id = r.operator_id "
        " WHERE r.dev = m.dev AND r.end IS NULL ORDER BY r.start DESC LIMIT 1), "
        "(SELECT r.order_id FROM order_runs r "
        " WHERE r.dev = m.dev AND r.end IS NULL ORDER BY r.start DESC LIMIT 1) "
        "FROM machines m "
        "LEFT JOIN agents a ON a.agent = m.agent "
        "ORDER BY m.dev",
    [S_MACHINE_EXISTS] = "SELECT 1 FROM machines WHERE dev = ?1",
    [S_MACHINE_COUNTS] = "SELECT coalesce(sum(good), 0), coalesce(sum(scrap), 0) "
                         "FROM events INDEXED BY events_dev_time "
                         "WHERE dev = ?1 AND t_eff >= ?2 AND t_eff < ?3",
};

/*
 * Schema migrations.  Step i brings user_version from i to i + 1 in one
 * transaction; released steps are never edited, later versions append.
 */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE agents ("
    " agent TEXT PRIMARY KEY NOT NULL,"
    " site TEXT NOT NULL DEFAULT '',"
    " boot TEXT,"
    " version TEXT,"
    " hw INTEGER NOT NULL DEFAULT 0," /* every event with seq <= hw is stored */
    " dups INTEGER NOT NULL DEFAULT 0,"
    " gaps INTEGER NOT NULL DEFAULT 0,"
    " malformed INTEGER NOT NULL DEFAULT 0,"
    " conflicts INTEGER NOT NULL DEFAULT 0,"
    " online INTEGER NOT NULL DEFAULT 0,"
    " status_since INTEGER,"
    " last_birth INTEGER,"
    " last_seen INTEGER);"
    "CREATE TABLE machines ("
    " dev TEXT PRIMARY KEY NOT NULL,"
    " agent TEXT NOT NULL," /* the owner: the first agent seen */
    " profile TEXT,"
    " ideal_cycle_ms INTEGER,"
    " state TEXT,"
    " reason TEXT,"
    " state_since INTEGER," /* effective ms */
    " last_seen INTEGER,"   /* receive ms */
    " last_good_raw INTEGER,"
    " last_scrap_raw INTEGER,"
    " first_seen INTEGER NOT NULL);"
    /* Keyed by (agent, seq): inserts append per agent, and the key is what
     * makes a redelivered event a no-op. */
    "CREATE TABLE events ("
    " agent TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " dev TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " t INTEGER NOT NULL,"     /* the agent's clock */
    " t_eff INTEGER NOT NULL," /* the time reports use */
    " recv INTEGER NOT NULL,"
    " good INTEGER, scrap INTEGER, span INTEGER,"
    " raw_good INTEGER, raw_scrap INTEGER, raw_total INTEGER,"
    " state TEXT, reason TEXT,"
    " kind TEXT, code TEXT, value TEXT, qty INTEGER,"
    " text TEXT,"
    " PRIMARY KEY (agent, seq)) WITHOUT ROWID;"
    /* Covering for interval sums: no lookup into the table per row. */
    "CREATE INDEX events_dev_time ON events(dev, t_eff, good, scrap);"
    "CREATE TABLE counts_minute ("
    " dev TEXT NOT NULL,"
    " minute INTEGER NOT NULL," /* ms of the minute's start, UTC */
    " good INTEGER NOT NULL DEFAULT 0,"
    " scrap INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (dev, minute)) WITHOUT ROWID;"
    /* Missing events: seq in (from_seq, to_seq]; filled once hw passes. */
    "CREATE TABLE gaps ("
    " id INTEGER PRIMARY KEY,"
    " agent TEXT NOT NULL,"
    " from_seq INTEGER NOT NULL,"
    " to_seq INTEGER NOT NULL,"
    " seen INTEGER NOT NULL,"
    " filled INTEGER);"
    "CREATE INDEX gaps_open ON gaps(agent, filled);"
    /* Stored stretches above hw: every event of the agent in (lo, hi] is
     * stored.  When the gap below one fills, hw jumps over it. */
    "CREATE TABLE runs ("
    " agent TEXT NOT NULL,"
    " lo INTEGER NOT NULL,"
    " hi INTEGER NOT NULL,"
    " PRIMARY KEY (agent, lo)) WITHOUT ROWID;",
    /* 2: master data, calendar, state intervals and rollups (the KPI
     * engine, docs/kpi.md); the text is in db_kpi_schema.h. */
    DB_SCHEMA_KPI,
    /* 3: users, sessions and board tokens (server/db_auth.c).  Sessions and
     * board tokens keep only the BLAKE2b hash of the secret the browser
     * holds, so a copy of the database opens no session. */
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " pwhash TEXT NOT NULL," /* crypto_pwhash_str (Argon2id) */
    " role TEXT NOT NULL CHECK (role IN ('viewer', 'supervisor', 'manager', 'admin')),"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " pw_changed INTEGER NOT NULL);"
    "CREATE TABLE sessions ("
    " id_hash TEXT PRIMARY KEY NOT NULL,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " expires INTEGER NOT NULL," /* absolute end, whatever the activity */
    " ip TEXT) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE board_tokens ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " hint TEXT NOT NULL," /* the first characters, to tell links apart */
    " created INTEGER NOT NULL,"
    " created_by TEXT,"
    " revoked INTEGER,"
    " last_used INTEGER);",
    /* 4: barcode scans (docs/scanners.md).  A machine's recent scans (GET
     * /api/v1/machines/ID/scans) without walking all its count events:
     * scans are few, so a partial index.  Orders a scan created because
     * the server did not know them are unplanned, for a supervisor to
     * complete (product, quantity). */
    ("CREATE INDEX events_scans ON events(dev, t_eff) WHERE type = 'scan';"
     "ALTER TABLE orders ADD COLUMN unplanned INTEGER NOT NULL DEFAULT 0;"),
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Statements of the storage layer's other files (db_auth.c, ...), keyed by
 * the address of their constant SQL text; see db_priv.h. */
#define DB_CACHED_MAX 192

struct db {
    sqlite3 *h;
    int readonly;
    sqlite3_stmt *st[S_COUNT];
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cached[DB_CACHED_MAX];
    int ncached;
    void *state; /* db_state's */
    void (*state_free)(void *);
};

struct run {
    int64_t lo, hi;
};

static int db_fail(struct db *db, const char *what);
static sqlite3_stmt *db_stmt(struct db *db, enum stmt id);
static int db_exec_stmt(struct db *db, enum stmt id);
static int db_simple(sqlite3 *h, const char *sql);
static int db_migrate(struct db *db);
static int db_user_version(struct db *db, int *version);
static void bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);
static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t size);
static int64_t col_ms(sqlite3_stmt *st, int col);
static const char *event_type_name(enum lb_event_type t);
static int agent_upsert(struct db *db, const char *site, const char *agent,
                        int64_t recv_ms);
static int agent_hw(struct db *db, const char *agent, uint64_t *hw);
static int machine_owner(struct db *db, const char *dev, const char *agent,
                         int64_t recv_ms, char *owner, size_t size);
static int store_event(struct db *db, const struct lb_batch *b, const struct lb_event *e,
                       int64_t recv_ms, int own, int write_raw, int *inserted);
static int advance_hw(struct db *db, const char *agent, int64_t *hwp, int64_t p,
                      int64_t l, int64_t recv_ms, struct db_batch_result *res);
static int runs_load(struct db *db, const char *agent, struct run *runs, size_t *n);
static int runs_save(struct db *db, const char *agent, const struct run *runs, size_t n);
static int cmp_run(const void *a, const void *b);
static void agent_from_row(sqlite3_stmt *st, struct db_agent *a);

/* Logs SQLite's message for the failed operation and converts it, once. */
static int db_fail(struct db *db, const char *what)
{
    log_warnx("db: %s: %s", what, sqlite3_errmsg(db->h));
    return LB_E_DB;
}

/* Returns the statement, prepared on first use, reset and unbound, or NULL
 * (logged).  Callers reset it again when done so no read stays open. */
static sqlite3_stmt *db_stmt(struct db *db, enum stmt id)
{
    sqlite3_stmt *st = db->st[id];

    if (st == NULL) {
        if (sqlite3_prepare_v3(db->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
                               NULL) != SQLITE_OK) {
            log_warnx("db: prepare %d: %s", (int)id, sqlite3_errmsg(db->h));
            return NULL;
        }
        db->st[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Runs a statement that returns no rows. */
static int db_exec_stmt(struct db *db, enum stmt id)
{
    sqlite3_stmt *st = db_stmt(db, id);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, stmt_sql[id]);
    return 0;
}

/* Constant SQL only (pragmas, migrations): nothing here comes from input. */
static int db_simple(sqlite3 *h, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_warnx("db: %.60s: %s", sql, msg ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        return LB_E_DB;
    }
    return 0;
}

static int db_user_version(struct db *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = LB_E_DB;

    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, "user_version");
        goto fail;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(db, "user_version");
        goto fail;
    }
    *version = sqlite3_column_int(st, 0);
    rc = 0;
fail:
    sqlite3_finalize(st);
    return rc;
}

/* Applies each missing step in its own transaction, so a crash between
 * steps leaves a database at a well-defined version. */
static int db_migrate(struct db *db)
{
    char sql[64];
    int version, rc;

    if ((rc = db_user_version(db, &version)) != 0)
        return rc;
    if (version > NMIGRATIONS) {
        log_warnx("db: schema version %d is newer than this linebeat-server (%d)",
                  version, NMIGRATIONS);
        return LB_E_CORRUPT;
    }
    for (; version < NMIGRATIONS; version++) {
        if ((rc = db_simple(db->h, "BEGIN IMMEDIATE")) != 0)
            return rc;
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        if ((rc = db_simple(db->h, migrations[version])) != 0 ||
            (rc = db_simple(db->h, sql)) != 0 || (rc = db_simple(db->h, "COMMIT")) != 0) {
            db_simple(db->h, "ROLLBACK");
            return rc;
        }
        log_info("db: schema migrated to version %d", version + 1);
    }
    return 0;
}

int db_schema_version(void)
{
    return NMIGRATIONS;
}

const char *db_filename(struct db *db)
{
    const char *f = sqlite3_db_filename(db->h, "main");

    return f != NULL ? f : "";
}

int db_open(const char *path, int readonly, struct db **out)
{
    struct db *db = NULL;
    int flags, version, rc;

    *out = NULL;
    if ((db = calloc(1, sizeof(*db))) == NULL)
        return -ENOMEM;
    db->readonly = readonly;
    flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    /* NOMUTEX: a connection is used by one thread only (the writer, or the
     * web thread that owns it). */
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        if (db->h == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        log_warnx("db: open %s: %s", path, sqlite3_errmsg(db->h));
        rc = LB_E_DB;
        goto fail;
    }
    sqlite3_extended_result_codes(db->h, 1);
    if (sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        rc = db_fail(db, "busy_timeout");
        goto fail;
    }
    if (!readonly) {
        if ((rc = db_simple(db->h, "PRAGMA journal_mode = WAL")) != 0 ||
            (rc = db_simple(db->h, "PRAGMA synchronous = FULL")) != 0 ||
            (rc = db_simple(db->h, "PRAGMA foreign_keys = ON")) != 0)
            goto fail;
        if ((rc = db_migrate(db)) != 0)
            goto fail;
    } else {
        if ((rc = db_user_version(db, &version)) != 0)
            goto fail;
        if (version != NMIGRATIONS) {
            log_warnx("db: %s has schema version %d, expected %d", path, version,
                      NMIGRATIONS);
            rc = LB_E_CORRUPT;
            goto fail;
        }
        /* Reports read many rollup pages: map the file instead of copying
         * each page through read() into a small cache (docs/kpi.md). */
        if ((rc = db_simple(db->h, "PRAGMA mmap_size = 2147483648")) != 0)
            goto fail;
    }
    *out = db;
    return 0;
fail:
    db_close(db);
    return rc;
}

void db_close(struct db *db)
{
    int i;

    if (db == NULL)
        return;
    for (i = 0; i < S_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    for (i = 0; i < db->ncached; i++)
        sqlite3_finalize(db->cached[i].st);
    if (db->state_free != NULL)
        db->state_free(db->state);
    if (db->h != NULL && sqlite3_close(db->h) != SQLITE_OK)
        log_warnx("db: close: %s", sqlite3_errmsg(db->h));
    free(db);
}

sqlite3_stmt *db_cached(struct db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int i;

    for (i = 0; i < db->ncached; i++)
        if (db->cached[i].sql == sql)
            break;
    if (i < db->ncached) {
        st = db->cached[i].st;
    } else {
        if (db->ncached == DB_CACHED_MAX) {
            log_warnx("db: statement cache full (raise DB_CACHED_MAX)");
            return NULL;
        }
        if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            log_warnx("db: prepare %.60s: %s", sql, sqlite3_errmsg(db->h));
            return NULL;
        }
        db->cached[db->ncached].sql = sql;
        db->cached[db->ncached].st = st;
        db->ncached++;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

void *db_state(struct db *db, void *(*make)(void), void (*fr)(void *))
{
    if (db->state == NULL && (db->state = make()) != NULL)
        db->state_free = fr;
    return db->state;
}

int db_error(struct db *db, const char *what)
{
    return db_fail(db, what);
}

int db_changes(struct db *db)
{
    return sqlite3_changes(db->h);
}

int64_t db_last_rowid(struct db *db)
{
    return sqlite3_last_insert_rowid(db->h);
}

int db_begin(struct db *db)
{
    return db_exec_stmt(db, S_BEGIN);
}

int db_commit(struct db *db)
{
    return db_exec_stmt(db, S_COMMIT);
}

void db_rollback(struct db *db)
{
    /* Only meaningful inside a transaction; SQLite may already have rolled
     * back on an I/O error, which is fine. */
    if (!sqlite3_get_autocommit(db->h))
        (void)db_exec_stmt(db, S_ROLLBACK);
}

int db_savepoint(struct db *db)
{
    return db_exec_stmt(db, S_SAVEPOINT);
}

int db_release(struct db *db)
{
    return db_exec_stmt(db, S_RELEASE);
}

void db_rollback_savepoint(struct db *db)
{
    /* ROLLBACK TO keeps the savepoint open; RELEASE then closes it. */
    if (db_exec_stmt(db, S_ROLLBACK_TO) == 0)
        (void)db_exec_stmt(db, S_RELEASE);
}

static void bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL || s[0] == '\0')
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static int64_t col_ms(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return -1;
    return sqlite3_column_int64(st, col);
}

static const char *event_type_name(enum lb_event_type t)
{
    switch (t) {
    case LB_EV_COUNT:
        return "count";
    case LB_EV_STATE:
        return "state";
    case LB_EV_SCAN:
        return "scan";
    case LB_EV_NOTE:
        return "note";
    }
    return "unknown";
}

static int agent_upsert(struct db *db, const char *site, const char *agent,
                        int64_t recv_ms)
{
    sqlite3_stmt *st = db_stmt(db, S_AGENT_UPSERT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, recv_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, "agent upsert");
}

static int agent_hw(struct db *db, const char *agent, uint64_t *hw)
{
    sqlite3_stmt *st = db_stmt(db, S_AGENT_HW);
    int rc;

    *hw = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *hw = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, "agent hw");
    return 0;
}

/* Creates the machine for agent when new; OUT: owner, its owning agent. */
static int machine_owner(struct db *db, const char *dev, const char *agent,
                         int64_t recv_ms, char *owner, size_t size)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = db_stmt(db, S_MACHINE_ENSURE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, recv_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, "machine ensure");

    if ((st = db_stmt(db, S_MACHINE_OWNER)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_col(st, 0, owner, size);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return db_fail(db, "machine owner");
    return 0;
}

/* Inserts one event; when it is new (OUT: *inserted = 1) and own is set,
 * also updates the machine's live state.  The rollups (rollup.c) count it
 * either way: the raw events hold it, and the board must agree with the
 * counts API. */
static int store_event(struct db *db, const struct lb_batch *b, const struct lb_event *e,
                       int64_t recv_ms, int own, int write_raw, int *inserted)
{
    sqlite3_stmt *st;
    int64_t t_eff;
    int rc;

    *inserted = 0;
    /* Without a synchronised clock the agent's t is meaningless; its
     * monotonic age since the event is not (design.md, wire contract). */
    t_eff = b->synced ? e->t : recv_ms - e->age;

    if ((st = db_stmt(db, S_EVENT_INSERT)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, b->agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)e->seq);
    sqlite3_bind_text(st, 3, e->dev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, event_type_name(e->type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, e->t);
    sqlite3_bind_int64(st, 6, t_eff);
    sqlite3_bind_int64(st, 7, recv_ms);
    switch (e->type) {
    case LB_EV_COUNT:
        sqlite3_bind_int64(st, 8, e->u.count.good);
        sqlite3_bind_int64(st, 9, e->u.count.scrap);
        sqlite3_bind_int64(st, 10, e->u.count.span);
        if (e->u.count.raw_mask & LB_RAW_GOOD)
            sqlite3_bind_int64(st, 11, (int64_t)e->u.count.raw_good);
        if (e->u.count.raw_mask & LB_RAW_SCRAP)
            sqlite3_bind_int64(st, 12, (int64_t)e->u.count.raw_scrap);
        if (e->u.count.raw_mask & LB_RAW_TOTAL)
            sqlite3_bind_int64(st, 13, (int64_t)e->u.count.raw_total);
        break;
    case LB_EV_STATE:
        sqlite3_bind_text(st, 14, lb_state_name(e->u.state.state), -1, SQLITE_STATIC);
        bind_text_or_null(st, 15, e->u.state.reason);
        break;
    case LB_EV_SCAN:
        sqlite3_bind_text(st, 16, lb_scan_kind_name(e->u.scan.kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 17, e->u.scan.code, -1, SQLITE_STATIC);
        bind_text_or_null(st, 18, e->u.scan.value);
        if (e->u.scan.has_qty)
            sqlite3_bind_int64(st, 19, e->u.scan.qty);
        break;
    case LB_EV_NOTE:
        sqlite3_bind_text(st, 17, e->u.note.code, -1, SQLITE_STATIC);
        bind_text_or_null(st, 20, e->u.note.text);
        break;
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, "event insert");
    if (sqlite3_changes(db->h) == 0)
        return 0; /* (agent, seq) already stored: a redelivery or a replay */
    *inserted = 1;

    if (!own)
        return 0;
    if (e->type == LB_EV_STATE) {
        if ((st = db_stmt(db, S_MACHINE_STATE)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, e->dev, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, lb_state_name(e->u.state.state), -1, SQLITE_STATIC);
        bind_text_or_null(st, 3, e->u.state.reason);
        sqlite3_bind_int64(st, 4, t_eff);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, "machine state");
    } else if (e->type == LB_EV_COUNT && write_raw &&
               (e->u.count.raw_mask & (LB_RAW_GOOD | LB_RAW_SCRAP))) {
        if ((st = db_stmt(db, S_MACHINE_RAW)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, e->dev, -1, SQLITE_STATIC);
        if (e->u.count.raw_mask & LB_RAW_GOOD)
            sqlite3_bind_int64(st, 2, (int64_t)e->u.count.raw_good);
        if (e->u.count.raw_mask & LB_RAW_SCRAP)
            sqlite3_bind_int64(st, 3, (int64_t)e->u.count.raw_scrap);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, "machine raw");
    }
    return 0;
}

static int cmp_run(const void *a, const void *b)
{
    const struct run *x = a, *y = b;

    return (x->lo > y->lo) - (x->lo < y->lo);
}

static int runs_load(struct db *db, const char *agent, struct run *runs, size_t *n)
{
    sqlite3_stmt *st = db_stmt(db, S_RUNS_LOAD);
    int rc;

    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < RUNS_MAX) {
        runs[*n].lo = sqlite3_column_int64(st, 0);
        runs[*n].hi = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(db, "runs load");
    return 0;
}

static int runs_save(struct db *db, const char *agent, const struct run *runs, size_t n)
{
    sqlite3_stmt *st;
    size_t i;
    int rc;

    if ((st = db_stmt(db, S_RUNS_DELETE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, "runs delete");
    for (i = 0; i < n; i++) {
        if ((st = db_stmt(db, S_RUNS_INSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, runs[i].lo);
        sqlite3_bind_int64(st, 3, runs[i].hi);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, "runs insert");
    }
    return 0;
}

/*
 * The end-to-end ack rule (docs/wire.md): a stretch (p, l] of the agent's
 * numbering is now fully stored -- it holds no other event there.  When prev <= hw the
 * stretch joins the stored prefix and hw moves to last, then on over any stored stretches
 * it now touches.  Otherwise events in (hw or the stretch below, prev] are missing: a gap
 * is recorded once, hw stays, and the stretch is remembered so hw can jump over it when
 * the agent fills the gap.
 */
static int advance_hw(struct db *db, const char *agent, int64_t *hwp, int64_t p,
                      int64_t l, int64_t recv_ms, struct db_batch_result *res)
{
    struct run *runs = NULL;
    sqlite3_stmt *st;
    int64_t hw = *hwp, below;
    size_t n = 0, i, j;
    int rc, changed = 0, known;

    if (l <= hw)
        return 0; /* a replay of what is stored already */
    if ((runs = malloc(sizeof(*runs) * (RUNS_MAX + 1))) == NULL)
        return -ENOMEM;
    if ((rc = runs_load(db, agent, runs, &n)) != 0)
        goto fail;

    if (p <= hw) {
        hw = l;
    } else {
        /* Is prev inside a stored stretch?  Then nothing new is missing. */
        below = hw;
        known = 0;
        for (i = 0; i < n; i++) {
            if (runs[i].lo <= p && p <= runs[i].hi)
                known = 1;
            if (runs[i].hi < p && runs[i].hi > below)
                below = runs[i].hi;
        }
        if (!known) {
            /* Missing: (below, p].  Count it unless an open gap covers it
             * already (a partial fill of a known gap). */
            if ((st = db_stmt(db, S_GAP_KNOWN)) == NULL) {
                rc = LB_E_DB;
                goto fail;
            }
            sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, below);
            sqlite3_bind_int64(st, 3, p);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                rc = db_fail(db, "gap lookup");
                goto fail;
            }
            if (rc == SQLITE_DONE) {
                if ((st = db_stmt(db, S_GAP_INSERT)) == NULL) {
                    rc = LB_E_DB;
                    goto fail;
                }
                sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, below);
                sqlite3_bind_int64(st, 3, p);
                sqlite3_bind_int64(st, 4, recv_ms);
                rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc != SQLITE_DONE) {
                    rc = db_fail(db, "gap insert");
                    goto fail;
                }
                if (res->gap_opened++ == 0) {
                    res->gap_from = (uint64_t)below;
                    res->gap_to = (uint64_t)p;
                }
            }
        }
        if (n < RUNS_MAX) {
            runs[n].lo = p;
            runs[n].hi = l;
            n++;
            changed = 1;
        } else {
            log_debug("db: %s: %d stored stretches above hw; not tracking more", agent,
                      RUNS_MAX);
        }
    }

    /* Merge overlapping or touching stretches, then absorb those the
     * stored prefix reaches. */
    qsort(runs, n, sizeof(*runs), cmp_run);
    for (i = 0, j = 0; i < n; i++) {
        if (j > 0 && runs[i].lo <= runs[j - 1].hi) {
            if (runs[i].hi > runs[j - 1].hi)
                runs[j - 1].hi = runs[i].hi;
            changed = 1;
        } else {
            runs[j++] = runs[i];
        }
    }
    n = j;
    for (i = 0; i < n && runs[i].lo <= hw; i++) {
        if (runs[i].hi > hw)
            hw = runs[i].hi;
        changed = 1;
    }
    if (changed && (rc = runs_save(db, agent, runs + i, n - i)) != 0)
        goto fail;

    if (hw > *hwp) {
        if ((st = db_stmt(db, S_GAP_CLOSE)) == NULL) {
            rc = LB_E_DB;
            goto fail;
        }
        sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, hw);
        sqlite3_bind_int64(st, 3, recv_ms);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            rc = db_fail(db, "gap close");
            goto fail;
        }
        if ((st = db_stmt(db, S_GAP_SHRINK)) == NULL) {
            rc = LB_E_DB;
            goto fail;
        }
        sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, hw);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            rc = db_fail(db, "gap shrink");
            goto fail;
        }
    }
    *hwp = hw;
    rc = 0;
fail:
    free(runs);
    return rc;
}

int db_store_batch(struct db *db, const char *site, const struct lb_batch *b,
                   int64_t recv_ms, struct db_batch_result *res)
{
    char owner[LB_ID_MAX + 1] = "";
    unsigned char fresh[LB_WIRE_MAX_EVENTS]; /* which events are new */
    unsigned char last_raw[LB_WIRE_MAX_EVENTS];
    /* An agent's batch interleaves its machines: look each up once. */
    struct {
        const char *dev;
        char owner[LB_ID_MAX + 1];
    } seen[OWNERS_MAX];
    size_t nseen = 0, k;
    const char *cur_dev = NULL;
    int64_t hw;
    sqlite3_stmt *st;
    size_t i, j;
    int own = 1, inserted, rc;

    memset(res, 0, sizeof(*res));
    if (b->n > LB_WIRE_MAX_EVENTS)
        return LB_E_TOOBIG; /* the decoder never lets this through */
    /* The raw counter values are kept for audit, the last ones only: write
     * them for each machine's last count event of the batch, not for each
     * (a machine beyond OWNERS_MAX gets every one written). */
    for (i = b->n; i-- > 0;) {
        const struct lb_event *e = &b->events[i];

        last_raw[i] = 0;
        if (e->type != LB_EV_COUNT)
            continue;
        for (k = 0; k < nseen && strcmp(seen[k].dev, e->dev) != 0; k++)
            ;
        if (k == nseen) {
            last_raw[i] = 1;
            if (nseen < OWNERS_MAX)
                seen[nseen++].dev = e->dev;
        }
        if (nseen == OWNERS_MAX)
            last_raw[i] = 1;
    }
    nseen = 0;
    if ((rc = agent_upsert(db, site, b->agent, recv_ms)) != 0)
        return rc;
    if ((rc = agent_hw(db, b->agent, &res->hw_before)) != 0)
        return rc;
    res->hw_after = res->hw_before;

    for (i = 0; i < b->n; i++) {
        const struct lb_event *e = &b->events[i];

        /* Batches are usually runs of one machine: look the owner up once
         * per run. */
        if (cur_dev == NULL || strcmp(cur_dev, e->dev) != 0) {
            cur_dev = e->dev;
            for (k = 0; k < nseen && strcmp(seen[k].dev, e->dev) != 0; k++)
                ;
            if (k < nseen) {
                memcpy(owner, seen[k].owner, sizeof(owner));
            } else {
                if ((rc = machine_owner(db, e->dev, b->agent, recv_ms, owner,
                                        sizeof(owner))) != 0)
                    return rc;
                if (nseen < OWNERS_MAX) {
                    seen[nseen].dev = e->dev;
                    memcpy(seen[nseen++].owner, owner, sizeof(owner));
                }
                if (strcmp(owner, b->agent) == 0) {
                    if ((st = db_stmt(db, S_MACHINE_SEEN)) == NULL)
                        return LB_E_DB;
                    sqlite3_bind_text(st, 1, e->dev, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(st, 2, recv_ms);
                    rc = sqlite3_step(st);
                    sqlite3_reset(st);
                    if (rc != SQLITE_DONE)
                        return db_fail(db, "machine seen");
                }
            }
            own = strcmp(owner, b->agent) == 0;
        }
        if ((rc = store_event(db, b, e, recv_ms, own, last_raw[i], &inserted)) != 0)
            return rc;
        fresh[i] = (unsigned char)inserted;
        if (!inserted) {
            res->duplicates++;
            continue;
        }
        res->stored++;
        if (!own) {
            if (res->conflicts++ == 0) {
                snprintf(res->conflict_dev, sizeof(res->conflict_dev), "%s", e->dev);
                snprintf(res->conflict_owner, sizeof(res->conflict_owner), "%s", owner);
            }
        }
    }

    /* Intervals, rollups, orders and reasons of the new events. */
    if (res->stored > 0 && (rc = rollup_batch(db, b, recv_ms, fresh)) != 0)
        return rc;

    /* With "prev" the batch vouches for (prev, last seq]: the agent sends
     * consecutive rows of its spool.  Without it a hole in the numbering
     * stays a hole (docs/wire.md), so each run of consecutive seqs vouches
     * only for itself. */
    hw = (int64_t)res->hw_before;
    if (b->n > 0 && b->has_prev) {
        rc = advance_hw(db, b->agent, &hw, (int64_t)b->prev,
                        (int64_t)b->events[b->n - 1].seq, recv_ms, res);
        if (rc != 0)
            return rc;
    }
    for (i = 0; i < b->n && !b->has_prev; i = j) {
        for (j = i + 1; j < b->n && b->events[j].seq == b->events[j - 1].seq + 1; j++)
            ;
        rc = advance_hw(db, b->agent, &hw, (int64_t)b->events[i].seq - 1,
                        (int64_t)b->events[j - 1].seq, recv_ms, res);
        if (rc != 0)
            return rc;
    }
    res->hw_after = (uint64_t)hw;

    if ((st = db_stmt(db, S_AGENT_BATCH_DONE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, b->agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)res->hw_after);
    sqlite3_bind_int64(st, 3, res->duplicates);
    sqlite3_bind_int64(st, 4, res->gap_opened);
    sqlite3_bind_int64(st, 5, res->conflicts);
    bind_text_or_null(st, 6, b->boot);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, "agent batch");
    return 0;
}

int db_store_birth(struct db *db, const char *site, const struct lb_birth *b,
                   int64_t recv_ms, uint64_t *hw, unsigned *conflicts)
{
    sqlite3_stmt *st;
    size_t i;
    int rc;

    *conflicts = 0;
    if ((rc = agent_upsert(db, site, b->agent, recv_ms)) != 0)
        return rc;
    /* Sites are registered by the agents' births (docs/kpi.md). */
    if ((rc = dbm_site_seen(db, site)) != 0)
        return rc;
    if ((st = db_stmt(db, S_AGENT_BIRTH)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, b->agent, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, b->boot);
    bind_text_or_null(st, 3, b->version);
    sqlite3_bind_int64(st, 4, recv_ms);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(db, "agent birth");

    for (i = 0; i < b->ndevices && i < LB_BIRTH_MAX_DEVICES; i++) {
        const struct lb_birth_dev *d = &b->devices[i];

        if ((st = db_stmt(db, S_MACHINE_BIRTH)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, d->dev, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b->agent, -1, SQLITE_STATIC);
        bind_text_or_null(st, 3, d->profile);
        if (d->ideal_cycle_ms > 0)
            sqlite3_bind_int64(st, 4, d->ideal_cycle_ms);
        sqlite3_bind_int64(st, 5, recv_ms);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, "machine birth");
        /* The upsert's WHERE skipped a machine owned by another agent. */
        if (sqlite3_changes(db->h) == 0) {
            log_warnx(
                "birth: machine %s of agent %s belongs to another agent; kept there",
                d->dev, b->agent);
            (*conflicts)++;
        }
    }
    if (*conflicts > 0) {
        if ((st = db_stmt(db, S_AGENT_CONFLICTS)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, b->agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, *conflicts);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(db, "agent conflicts");
    }
    return agent_hw(db, b->agent, hw);
}

int db_store_status(struct db *db, const char *site, const char *agent, const char *boot,
                    int online, int64_t recv_ms)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = agent_upsert(db, site, agent, recv_ms)) != 0)
        return rc;
    if ((st = db_stmt(db, S_AGENT_STATUS)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, online ? 1 : 0);
    sqlite3_bind_int64(st, 3, recv_ms);
    bind_text_or_null(st, 4, boot);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, "agent status");
}

int db_count_malformed(struct db *db, const char *site, const char *agent,
                       int64_t recv_ms)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = agent_upsert(db, site, agent, recv_ms)) != 0)
        return rc;
    if ((st = db_stmt(db, S_AGENT_MALFORMED)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, "agent malformed");
}

static void agent_from_row(sqlite3_stmt *st, struct db_agent *a)
{
    memset(a, 0, sizeof(*a));
    copy_col(st, 0, a->agent, sizeof(a->agent));
    copy_col(st, 1, a->site, sizeof(a->site));
    copy_col(st, 2, a->boot, sizeof(a->boot));
    copy_col(st, 3, a->version, sizeof(a->version));
    a->hw = (uint64_t)sqlite3_column_int64(st, 4);
    a->dups = sqlite3_column_int64(st, 5);
    a->gaps = sqlite3_column_int64(st, 6);
    a->malformed = sqlite3_column_int64(st, 7);
    a->conflicts = sqlite3_column_int64(st, 8);
    a->online = sqlite3_column_int(st, 9);
    a->last_seen = col_ms(st, 10);
    a->last_birth = col_ms(st, 11);
    a->open_gaps = sqlite3_column_int64(st, 12);
}

int db_agents(struct db *db, db_agent_fn fn, void *ctx)
{
    struct db_agent a;
    sqlite3_stmt *st = db_stmt(db, S_AGENTS_LIST);
    int rc, ret = 0;

    if (st == NULL)
        return LB_E_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        agent_from_row(st, &a);
        if ((ret = fn(ctx, &a)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_fail(db, "agents list");
    sqlite3_reset(st);
    return ret;
}

int db_agent_get(struct db *db, const char *agent, struct db_agent *out)
{
    sqlite3_stmt *st = db_stmt(db, S_AGENT_GET);
    int rc, ret;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        agent_from_row(st, out);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else {
        ret = db_fail(db, "agent get");
    }
    sqlite3_reset(st);
    return ret;
}

int db_machines(struct db *db, int64_t from, int64_t to, db_machine_fn fn, void *ctx)
{
    struct db_machine m;
    sqlite3_stmt *st = db_stmt(db, S_MACHINES_LIST);
    int64_t ha, hb;
    int rc, ret = 0;

    if (st == NULL)
        return LB_E_DB;
    /* The whole hours inside [from, to); none when it holds no whole hour
     * (then the minutes cover all of it). */
    ha = from >= 0 ? (from + HOUR_MS - 1) / HOUR_MS * HOUR_MS : from;
    hb = to >= 0 ? to / HOUR_MS * HOUR_MS : to;
    if (from < 0 || hb <= ha)
        ha = hb = to;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, ha);
    sqlite3_bind_int64(st, 4, hb);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&m, 0, sizeof(m));
        copy_col(st, 0, m.dev, sizeof(m.dev));
        copy_col(st, 1, m.agent, sizeof(m.agent));
        copy_col(st, 2, m.profile, sizeof(m.profile));
        copy_col(st, 3, m.state, sizeof(m.state));
        copy_col(st, 4, m.reason, sizeof(m.reason));
        m.state_since = col_ms(st, 5);
        m.last_seen = col_ms(st, 6);
        m.agent_online = sqlite3_column_int(st, 7);
        m.good = sqlite3_column_int64(st, 8);
        m.scrap = sqlite3_column_int64(st, 9);
        copy_col(st, 10, m.order, sizeof(m.order));
        m.order_unplanned = sqlite3_column_int(st, 11);
        copy_col(st, 12, m.operator_name, sizeof(m.operator_name));
        m.order_id = sqlite3_column_int64(st, 13);
        if ((ret = fn(ctx, &m)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_fail(db, "machines list");
    sqlite3_reset(st);
    return ret;
}

int db_machine_counts(struct db *db, const char *dev, int64_t from, int64_t to,
                      int64_t *good, int64_t *scrap)
{
    sqlite3_stmt *st;
    int rc;

    *good = *scrap = 0;
    if ((st = db_stmt(db, S_MACHINE_EXISTS)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return db_fail(db, "machine exists");

    if ((st = db_stmt(db, S_MACHINE_COUNTS)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *good = sqlite3_column_int64(st, 0);
        *scrap = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_fail(db, "machine counts");
}

int db_explain(struct db *db, const char *sql, char *buf, size_t size)
{
    char full[2048];
    sqlite3_stmt *st = NULL;
    size_t len = 0;
    int rc;

    buf[0] = '\0';
    if ((size_t)snprintf(full, sizeof(full), "EXPLAIN QUERY PLAN %s", sql) >=
        sizeof(full))
        return LB_E_TOOBIG;
    if (sqlite3_prepare_v2(db->h, full, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "explain");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_text(st, 3);
        int n = snprintf(buf + len, size - len, "%s%s", len ? "; " : "",
                         d ? (const char *)d : "");

        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    sqlite3_finalize(st);
    return 0;
}

int db_query_plan(struct db *db, enum db_query q, char *buf, size_t size)
{
    char sql[2048];
    sqlite3_stmt *st = NULL;
    size_t len = 0;
    int rc;

    buf[0] = '\0';
    if ((size_t)snprintf(
            sql, sizeof(sql), "EXPLAIN QUERY PLAN %s",
            stmt_sql[q == DB_Q_COUNTS ? S_MACHINE_COUNTS : S_MACHINES_LIST]) >=
        sizeof(sql))
        return LB_E_TOOBIG;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "explain");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_text(st, 3);
        int n = snprintf(buf + len, size - len, "%s%s", len ? "; " : "",
                         d ? (const char *)d : "");

        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    sqlite3_finalize(st);
    return 0;
}

int64_t db_file_bytes(const char *path)
{
    char wal[4200];
    struct stat sb;
    int64_t total;

    if (stat(path, &sb) != 0)
        return -1;
    total = (int64_t)sb.st_size;
    if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) < sizeof(wal) &&
        stat(wal, &sb) == 0)
        total += (int64_t)sb.st_size;
    return total;
}
