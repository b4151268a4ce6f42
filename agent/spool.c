/*
 * The spool, in SQLite.  Why SQLite and not a log file of our own: its WAL
 * gives atomic group commits that survive kill -9 and power loss (with
 * synchronous=FULL the WAL is fsynced at each commit), and it is tested far
 * beyond anything we could write.  Layout:
 *
 *   meta(key, value)          next_seq, acked, osboot
 *   events(seq PK, dev, type, t, mono, synced, a..g, s1, s2)
 *   counters(dev, role, raw, wall, seq)   a counter's raw reading as of seq
 *
 * Field mapping of events: count a=good b=scrap c=span d=raw_mask
 * e=raw_good f=raw_scrap g=raw_total; state a=state s1=reason; scan a=kind
 * b=has_qty c=qty s1=code s2=value; note s1=code s2=text.
 *
 * Write volume (docs/benchmarks.md, "Disk writes"): on an SD card each
 * commit costs an fsync and a WAL append of every page it touched, however
 * few bytes changed.  So new spools use SQLite's smallest pages, 512 bytes
 * (SPOOL_PAGE_SIZE: a commit touches about eight pages, each an eighth of
 * the default 4 KiB); the WAL index lives in memory, not in a -shm file
 * (exclusive locking); the WAL file is kept between starts and written out
 * at full size once, so commits overwrite blocks rather than extend it
 * (wal_keep); each machine's run of pending count events is folded into
 * one as it grows (time resolution becomes the commit period, totals stay
 * exact); and acknowledged events are deleted, and the meta rows written,
 * only every DELETE_EVERY_MS or when the spool is over its bound --
 * next_seq is then recovered at open as one past the highest seq in the
 * file.
 *
 * Counter baselines (the last raw reading, which makes a restart count
 * exactly) live in two places: a count event carries the raw values read
 * with it, and a counters row holds a reading as of its seq.  A commit
 * writes a row only for a reading no event of that commit carries (a reset
 * or jump without parts, a fold that dropped it); the other rows are
 * brought up to date when events are deleted or merged, which is when an
 * event could take the only copy with it.  The baseline at open is the
 * newer, by seq, of the row and the latest count event carrying that
 * counter.  Writing every changed row at every commit was about half of
 * the pages a commit wrote.
 *
 * When full (data pages, not the file, above max_bytes) a commit first
 * merges pairs of count events of one machine that were never handed to
 * the publisher (so the server cannot hold either half), keeping the later
 * seq: totals stay exact, time resolution halves.  Only when nothing is
 * left to merge are the oldest state events dropped, and a note says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "linebeat/error.h"
#include "linebeat/grow.h"
#include "linebeat/log.h"
#include "linebeat/profile.h"
#include "spool.h"

#define SCHEMA_VERSION  2 /* 2: counters.seq; a version 1 file is upgraded */
#define LB_STR2(x)      #x
#define LB_STR(x)       LB_STR2(x)
#define SPOOL_PAGE_SIZE 512    /* new spools only; see the file comment */
#define DELETE_EVERY_MS 300000 /* deferred deletion of acknowledged events */
#define WAL_FRAMES      1000   /* checkpoint period in WAL frames (SQLite's default) */
#define APP_ID          0x6c626561 /* "lbea": tells our file from any other SQLite file */

/* The latest reading of each counter seen since open. */
struct pending_raw {
    char dev[LB_ID_MAX + 1];
    int role;
    uint64_t raw;
    int64_t wall;
    int dirty; /* changed since the last commit */
    int stale; /* its counters row is older: the reading is in an event only */
};

struct spool {
    sqlite3 *db;
    int dirfd; /* the state directory, flock()ed: one agent per spool */
    char path[600];
    uint64_t max_bytes;
    int needs_base;
    uint64_t next_seq;
    uint64_t last_seq;
    uint64_t acked; /* in memory, may be ahead of the file */
    uint64_t acked_durable;
    uint64_t sent_guard; /* events <= this may have reached the broker */
    uint64_t commits, merged, dropped;
    int full;
    int meta_dirty;      /* next_seq jumped (a new base): write meta next commit */
    int no_fold;         /* spool_set_fold(s, 0) */
    int urgent;          /* a pending scan or note: commit without waiting */
    uint64_t unacked;    /* rows with seq > acked, kept without scanning */
    int force_delete;    /* spool_checkpoint */
    int64_t last_delete; /* CLOCK_MONOTONIC ms of the last deletion of acked rows */
    struct spool_item *pend;
    size_t npend, cappend;
    struct pending_raw *raws;
    size_t nraws, capraws;
    sqlite3_stmt *ins, *fetch, *setraw, *getraw, *del, *setmeta;
};

static int exec(struct spool *s, const char *sql);
static int db_fail(struct spool *s, const char *what);
static int open_db(struct spool *s);
static int check_schema(struct spool *s);
static int upgrade_v1(struct spool *s);
static int write_raws(struct spool *s, uint64_t seq, int all);
static int carried(const struct spool *s, const struct pending_raw *r);
static int any_dirty(const struct spool *s);
static int role_bit(int role, int *col);
static int load_event_raws(struct spool *s);
static void wal_keep(struct spool *s);
static int create_schema(struct spool *s);
static int prepare_all(struct spool *s);
static void finalize_all(struct spool *s);
static int64_t meta_get(struct spool *s, const char *key, int64_t def);
static int meta_set(struct spool *s, const char *key, int64_t v);
static uint64_t data_bytes(struct spool *s);
static int64_t mono_ms(void);
static int delete_acked(struct spool *s);
static int make_room(struct spool *s, int *dropped_states);
static int merge_counts(struct spool *s, int *merged);
static void read_osboot(char *buf, size_t size);
static int bind_event(sqlite3_stmt *st, uint64_t seq, const struct spool_item *it);
static int move_aside(struct spool *s, char *note, size_t notelen, const char *why);

static int exec(struct spool *s, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_warnx("spool: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return LB_E_DB;
    }
    return 0;
}

static int db_fail(struct spool *s, const char *what)
{
    log_warnx("spool: %s: %s", what, sqlite3_errmsg(s->db));
    return LB_E_DB;
}

static void read_osboot(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

    buf[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(buf, (int)size, f) != NULL)
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static int open_db(struct spool *s)
{
    int fd;

    /* Create the file ourselves so it is 0600 from its first byte. */
    fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = db_fail(s, "open");

        sqlite3_close(s->db);
        s->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    return 0;
}

/*
 * The WAL file outlives the connection and is written in full once, at the
 * size of one checkpoint cycle.  SQLite would otherwise delete it at every
 * close and grow it again from nothing, and on ext4 the fdatasync of a
 * commit that extends a file journals the file's new blocks and extent
 * (about 40 KB per commit, docs/benchmarks.md); one that overwrites blocks
 * already written journals at most the inode.  A failure here costs writes,
 * not data: the spool works without it.  Frames are told from stale ones
 * and from these zeros by their salt and checksum, so the zeros past the
 * last frame mean nothing to SQLite.
 */
static void wal_keep(struct spool *s)
{
    static const char zeros[65536];
    char wal[sizeof(s->path) + 4];
    sqlite3_stmt *st;
    struct stat sb;
    int64_t want = 0;
    int fd, on = 1;

    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) /* WAL header, then frames of header + page */
        want = 32 + (int64_t)WAL_FRAMES * (24 + sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    snprintf(wal, sizeof(wal), "%s-wal", s->path);
    /* Ours alone: the directory lock keeps other agents out, and SQLite,
     * which holds no lock on this file, has its exclusive lock on the spool. */
    fd = open(wal, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (fstat(fd, &sb) == 0 && sb.st_size < want) {
        int64_t off = sb.st_size;

        while (off < want) {
            size_t n = want - off < (int64_t)sizeof(zeros) ? (size_t)(want - off)
                                                           : sizeof(zeros);
            ssize_t w = pwrite(fd, zeros, n, (off_t)off);

            if (w <= 0)
                break;
            off += w;
        }
        if (off < want || fdatasync(fd) != 0)
            log_warnx("spool: could not lay out %s: %s", wal, strerror(errno));
    }
    close(fd);
}

/* A file another process has locked (sqlite3 by hand, say) is not damaged:
 * moving it aside would lose what it holds. */
static int unreadable(struct spool *s)
{
    int rc = sqlite3_errcode(s->db);

    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? LB_E_BUSY : LB_E_CORRUPT;
}

/* Returns 0 for a valid spool, 1 for an empty new file, LB_E_BUSY when
 * another process holds it, LB_E_CORRUPT otherwise. */
static int check_schema(struct spool *s)
{
    sqlite3_stmt *st = NULL;
    int rc, appid = -1, version = -1, tables = -1;

    /* Only a file without pages takes a page size (then WAL fixes it).
     * Exclusive locking, set before WAL is first used, keeps the WAL index
     * in memory instead of a shared-memory file beside the spool: that
     * file's pages change at every commit and would be written to the SD
     * card as well.  Nobody else opens the spool while the agent runs. */
    if (exec(s, "PRAGMA page_size=" LB_STR(SPOOL_PAGE_SIZE)) != 0 ||
        exec(s, "PRAGMA locking_mode=EXCLUSIVE") != 0 ||
        exec(s, "PRAGMA journal_mode=WAL") != 0)
        return unreadable(s);
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
        return unreadable(s);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        sqlite3_finalize(st);
        return unreadable(s);
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT application_id FROM pragma_application_id),"
                           " (SELECT user_version FROM pragma_user_version),"
                           " (SELECT count(*) FROM sqlite_schema)",
                           -1, &st, NULL) != SQLITE_OK)
        return LB_E_CORRUPT;
    if (sqlite3_step(st) == SQLITE_ROW) {
        appid = sqlite3_column_int(st, 0);
        version = sqlite3_column_int(st, 1);
        tables = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    if (tables == 0 && appid == 0 && version == 0)
        return 1;
    if (appid == APP_ID && version == 1)
        return upgrade_v1(s);
    if (appid != APP_ID || version != SCHEMA_VERSION)
        return LB_E_CORRUPT;
    return 0;
}

/* Version 1 wrote every changed row at every commit, so its rows are the
 * newest copy of each reading (a jump or reset without parts is in the
 * row only): they take the highest seq in the file. */
static int upgrade_v1(struct spool *s)
{
    if (exec(s, "BEGIN IMMEDIATE") != 0)
        return LB_E_DB;
    if (exec(s, "ALTER TABLE counters ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
                "UPDATE counters SET seq = (SELECT coalesce(max(seq), 0) FROM events);"
                "PRAGMA user_version=2") != 0 ||
        exec(s, "COMMIT") != 0) {
        exec(s, "ROLLBACK");
        return LB_E_DB;
    }
    log_info("spool: upgraded %s to version 2", s->path);
    return 0;
}

static int create_schema(struct spool *s)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d", APP_ID,
             SCHEMA_VERSION);
    if (exec(s, "BEGIN IMMEDIATE") != 0)
        return LB_E_DB;
    if (exec(s, "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                "CREATE TABLE events(seq INTEGER PRIMARY KEY, dev TEXT NOT NULL,"
                " type INTEGER NOT NULL, t INTEGER NOT NULL, mono INTEGER NOT NULL,"
                " synced INTEGER NOT NULL, a INTEGER, b INTEGER, c INTEGER, d INTEGER,"
                " e INTEGER, f INTEGER, g INTEGER, s1 TEXT, s2 TEXT);"
                "CREATE TABLE counters(dev TEXT NOT NULL, role INTEGER NOT NULL,"
                " raw INTEGER NOT NULL, wall INTEGER NOT NULL, seq INTEGER NOT NULL,"
                " PRIMARY KEY(dev, role));") ||
        exec(s, sql) || exec(s, "COMMIT")) {
        exec(s, "ROLLBACK");
        return LB_E_DB;
    }
    return 0;
}

static int prepare_all(struct spool *s)
{
    static const struct {
        size_t off;
        const char *sql;
    } stmts[] = {
        {offsetof(struct spool, ins),
         "INSERT INTO events(seq,dev,type,t,mono,synced,a,b,c,d,e,f,g,s1,s2)"
         " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {offsetof(struct spool, fetch),
         "SELECT seq,dev,type,t,mono,synced,a,b,c,d,e,f,g,s1,s2 FROM events"
         " WHERE seq > ? ORDER BY seq LIMIT ?"},
        {offsetof(struct spool, setraw),
         "INSERT INTO counters(dev,role,raw,wall,seq) VALUES(?,?,?,?,?)"
         " ON CONFLICT(dev,role) DO UPDATE SET raw=excluded.raw, wall=excluded.wall,"
         " seq=excluded.seq"},
        {offsetof(struct spool, getraw),
         "SELECT raw, wall, seq FROM counters WHERE dev=? AND role=?"},
        {offsetof(struct spool, del), "DELETE FROM events WHERE seq <= ?"},
        {offsetof(struct spool, setmeta),
         "INSERT INTO meta(key,value) VALUES(?,?)"
         " ON CONFLICT(key) DO UPDATE SET value=excluded.value"},
    };

    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)s + stmts[i].off);

        if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
                               NULL) != SQLITE_OK)
            return db_fail(s, stmts[i].sql);
    }
    return 0;
}

static void finalize_all(struct spool *s)
{
    sqlite3_stmt **all[] = {&s->ins,    &s->fetch, &s->setraw,
                            &s->getraw, &s->del,   &s->setmeta};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

static int64_t meta_get(struct spool *s, const char *key, int64_t def)
{
    sqlite3_stmt *st;
    int64_t v = def;

    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) !=
        SQLITE_OK)
        return def;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int meta_set(struct spool *s, const char *key, int64_t v)
{
    int rc;

    sqlite3_bind_text(s->setmeta, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->setmeta, 2, v);
    rc = sqlite3_step(s->setmeta);
    sqlite3_reset(s->setmeta);
    return rc == SQLITE_DONE ? 0 : db_fail(s, "meta");
}

static int move_aside(struct spool *s, char *note, size_t notelen, const char *why)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    char from[640], to[700];
    long long now = (long long)time(NULL); /* long is 32 bits on armhf: 2038 */

    sqlite3_close(s->db);
    s->db = NULL;
    for (size_t i = 0; i < 3; i++) {
        snprintf(from, sizeof(from), "%s%s", s->path, sfx[i]);
        snprintf(to, sizeof(to), "%s.damaged-%lld%s", s->path, now, sfx[i]);
        if (rename(from, to) != 0 && errno != ENOENT)
            return -errno;
    }
    snprintf(note, notelen, "spool %s was %s; kept as %s.damaged-%lld, started a new one",
             s->path, why, s->path, now);
    log_warnx("%s", note);
    return 0;
}

int spool_open(const char *dir, uint64_t max_bytes, struct spool **out, char *note,
               size_t notelen)
{
    struct spool *s;
    char osboot[64], prev[64] = "";
    int rc, fresh;

    *out = NULL;
    note[0] = '\0';
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->dirfd = -1;
    s->max_bytes = max_bytes;
    if ((size_t)snprintf(s->path, sizeof(s->path), "%s/spool.db", dir) >=
        sizeof(s->path)) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    /* A second agent on the same directory would find the spool locked by
     * the first, take that for damage and move the live file aside; both
     * would then count the same machines.  The lock goes with the process,
     * kill -9 included. */
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        rc = -errno;
        goto fail;
    }
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? LB_E_BUSY : -errno;
        goto fail;
    }
    rc = open_db(s);
    if (rc != 0)
        goto fail;
    fresh = check_schema(s);
    if (fresh < 0 && fresh != LB_E_CORRUPT) {
        rc = fresh; /* an upgrade that could not be written */
        goto fail;
    }
    if (fresh == LB_E_CORRUPT) {
        rc = move_aside(s, note, notelen, "damaged or of an unknown schema");
        if (rc != 0 || (rc = open_db(s)) != 0)
            goto fail;
        fresh = check_schema(s);
        if (fresh != 1) {
            rc = LB_E_CORRUPT;
            goto fail;
        }
    }
    if (fresh == 1 && (rc = create_schema(s)) != 0)
        goto fail;
    /* FULL: the WAL is fsynced at every commit, so a committed group
     * survives a power cut; commits are grouped to spare the SD card. */
    /* The spool is read sequentially and written in groups: a 256 KiB page
     * cache does as well as SQLite's default 2 MiB on a 1 GB board. */
    if ((rc = exec(s, "PRAGMA synchronous=FULL")) != 0 ||
        (rc = exec(s, "PRAGMA cache_size=-256")) != 0 ||
        (rc = exec(s, "PRAGMA wal_autocheckpoint=" LB_STR(WAL_FRAMES))) != 0 ||
        (rc = prepare_all(s)) != 0)
        goto fail;
    wal_keep(s);

    s->needs_base = meta_get(s, "next_seq", 0) == 0;
    s->next_seq = (uint64_t)meta_get(s, "next_seq", 1);
    {
        /* meta.next_seq is written with deletions only: the highest seq
         * in the file is the authority. */
        sqlite3_stmt *st;

        if (sqlite3_prepare_v2(s->db, "SELECT max(seq) FROM events", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW &&
                sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
                (uint64_t)sqlite3_column_int64(st, 0) >= s->next_seq)
                s->next_seq = (uint64_t)sqlite3_column_int64(st, 0) + 1;
            sqlite3_finalize(st);
        }
    }
    s->acked = s->acked_durable = (uint64_t)meta_get(s, "acked", 0);
    s->last_seq = s->next_seq - 1;
    s->last_delete = mono_ms();
    {
        sqlite3_stmt *st;

        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events WHERE seq > ?", -1,
                               &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (int64_t)s->acked);
            if (sqlite3_step(st) == SQLITE_ROW)
                s->unacked = (uint64_t)sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    /* Anything committed before this start may have been published. */
    s->sent_guard = s->last_seq;
    if ((rc = load_event_raws(s)) != 0)
        goto fail;

    /* CLOCK_MONOTONIC restarts with the machine: older events' mono values
     * mean nothing now, so mark them before anyone computes an age. */
    read_osboot(osboot, sizeof(osboot));
    {
        sqlite3_stmt *st;

        if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='osboot'", -1,
                               &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
                snprintf(prev, sizeof(prev), "%s", sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
        if (strcmp(prev, osboot) != 0) {
            char sql[200];

            snprintf(sql, sizeof(sql),
                     "BEGIN; UPDATE events SET mono=-1;"
                     " INSERT OR REPLACE INTO meta(key,value) VALUES('osboot','%.60s');"
                     " COMMIT",
                     osboot);
            if ((rc = exec(s, sql)) != 0)
                goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    spool_close(s);
    return rc;
}

void spool_close(struct spool *s)
{
    if (s == NULL)
        return;
    finalize_all(s);
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->pend);
    free(s->raws);
    free(s);
}

int spool_needs_base(const struct spool *s)
{
    return s->needs_base;
}

void spool_set_base(struct spool *s, uint64_t next_seq)
{
    if (next_seq < 1)
        next_seq = 1;
    s->next_seq = next_seq;
    s->last_seq = next_seq - 1;
    s->acked = s->acked > s->last_seq ? s->acked : s->last_seq;
    s->sent_guard = s->last_seq;
    s->needs_base = 0;
    s->meta_dirty = 1;
}

/* A count event joins its machine's pending run at once, so that between
 * commits the agent holds about one event per machine, not one per poll (a
 * minute of 100 machines was 3.6 MB when the commit folded). */
static int fold_into_run(struct spool *s, const struct lb_event *ev, int64_t mono,
                         int synced)
{
    for (size_t k = s->npend; k-- > 0;) {
        struct spool_item *it = &s->pend[k];
        struct lb_event merged;
        int64_t span;

        if (strcmp(it->ev.dev, ev->dev) != 0)
            continue;
        if (it->ev.type != LB_EV_COUNT || it->synced != synced)
            return 0; /* a state, scan or note ends the run */
        /* The later event absorbs the earlier: deltas add, the span
         * reaches back, the raw values are the latest. */
        merged = *ev;
        merged.u.count.good += it->ev.u.count.good;
        merged.u.count.scrap += it->ev.u.count.scrap;
        span = ev->t - it->ev.t + it->ev.u.count.span;
        if (span > merged.u.count.span)
            merged.u.count.span = span;
        it->ev = merged;
        it->mono = mono;
        return 1;
    }
    return 0;
}

int spool_add(struct spool *s, const struct lb_event *ev, int64_t mono, int synced)
{
    if (ev->type == LB_EV_COUNT && !s->no_fold && fold_into_run(s, ev, mono, synced))
        return 0;
    if (LB_GROW(s->pend, &s->cappend, s->npend, 256) != 0)
        return -ENOMEM;
    s->pend[s->npend].ev = *ev;
    s->pend[s->npend].mono = mono;
    s->pend[s->npend].synced = synced;
    s->npend++;
    /* Counts and states are recovered after a crash (the counter is read
     * again, the state derived again); what a person scanned, or a fault
     * noted, is not. */
    if (ev->type == LB_EV_SCAN || ev->type == LB_EV_NOTE)
        s->urgent = 1;
    return 0;
}

static struct pending_raw *find_raw(struct spool *s, const char *dev, int role)
{
    for (size_t i = 0; i < s->nraws; i++)
        if (s->raws[i].role == role && strcmp(s->raws[i].dev, dev) == 0)
            return &s->raws[i];
    return NULL;
}

int spool_set_raw(struct spool *s, const char *dev, int role, uint64_t raw,
                  int64_t wall_ms)
{
    struct pending_raw *r = find_raw(s, dev, role);

    if (r != NULL) {
        r->raw = raw;
        r->wall = wall_ms;
        r->dirty = 1;
        return 0;
    }
    if (LB_GROW(s->raws, &s->capraws, s->nraws, 16) != 0)
        return -ENOMEM;
    r = &s->raws[s->nraws++];
    memset(r, 0, sizeof(*r));
    snprintf(r->dev, sizeof(r->dev), "%s", dev);
    r->role = role;
    r->raw = raw;
    r->wall = wall_ms;
    r->dirty = 1;
    return 0;
}

/* The raw_mask bit and the events column (e, f, g) of a counter role. */
static int role_bit(int role, int *col)
{
    switch (role) {
    case LB_ROLE_GOOD:
        *col = 1;
        return LB_RAW_GOOD;
    case LB_ROLE_SCRAP:
        *col = 2;
        return LB_RAW_SCRAP;
    case LB_ROLE_TOTAL:
        *col = 3;
        return LB_RAW_TOTAL;
    default:
        return 0;
    }
}

int spool_get_raw(struct spool *s, const char *dev, int role, uint64_t *raw,
                  int64_t *wall_ms)
{
    const struct pending_raw *r = find_raw(s, dev, role);
    int rc;

    if (r != NULL) { /* newer than the row: pending, or only in an event */
        *raw = r->raw;
        *wall_ms = r->wall;
        return 0;
    }
    sqlite3_bind_text(s->getraw, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->getraw, 2, role);
    rc = sqlite3_step(s->getraw);
    if (rc == SQLITE_ROW) {
        *raw = (uint64_t)sqlite3_column_int64(s->getraw, 0);
        *wall_ms = sqlite3_column_int64(s->getraw, 1);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : db_fail(s, "get raw");
    }
    sqlite3_reset(s->getraw);
    return rc;
}

/*
 * At open: every counter whose newest reading is in a count event, newer
 * than its row, is held in memory as stale, so that the next deletion or
 * merge writes its row first -- whether or not the machine is still in
 * the configuration -- and spool_get_raw answers from memory.  One pass
 * over the events per counter role.
 */
static int load_event_raws(struct spool *s)
{
    static const int roles[] = {LB_ROLE_GOOD, LB_ROLE_SCRAP, LB_ROLE_TOTAL};
    sqlite3_stmt *st;
    int rc = 0;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT e.dev, e.e, e.f, e.g, e.t FROM events e"
                           " JOIN (SELECT dev, max(seq) AS m FROM events"
                           "       WHERE type = ?1 AND (d & ?2) != 0 GROUP BY dev) x"
                           " ON e.seq = x.m"
                           " LEFT JOIN counters c ON c.dev = e.dev AND c.role = ?3"
                           " WHERE c.seq IS NULL OR c.seq < e.seq",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "event raws");
    for (size_t i = 0; rc == 0 && i < sizeof(roles) / sizeof(roles[0]); i++) {
        int col = 0, bit = role_bit(roles[i], &col);

        sqlite3_bind_int(st, 1, LB_EV_COUNT);
        sqlite3_bind_int(st, 2, bit);
        sqlite3_bind_int(st, 3, roles[i]);
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            const char *dev = (const char *)sqlite3_column_text(st, 0);

            rc = spool_set_raw(s, dev ? dev : "", roles[i],
                               (uint64_t)sqlite3_column_int64(st, col),
                               sqlite3_column_int64(st, 4));
            if (rc == 0) {
                struct pending_raw *r = find_raw(s, dev ? dev : "", roles[i]);

                r->dirty = 0;
                r->stale = 1;
            }
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

size_t spool_pending(const struct spool *s)
{
    return s->npend;
}

int spool_urgent(const struct spool *s)
{
    return s->urgent;
}

static int bind_event(sqlite3_stmt *st, uint64_t seq, const struct spool_item *it)
{
    const struct lb_event *ev = &it->ev;
    int64_t v[7] = {0};
    const char *s1 = NULL, *s2 = NULL;
    int nint = 0;

    switch (ev->type) {
    case LB_EV_COUNT:
        v[0] = ev->u.count.good;
        v[1] = ev->u.count.scrap;
        v[2] = ev->u.count.span;
        v[3] = ev->u.count.raw_mask;
        v[4] = (int64_t)ev->u.count.raw_good;
        v[5] = (int64_t)ev->u.count.raw_scrap;
        v[6] = (int64_t)ev->u.count.raw_total;
        nint = 7;
        break;
    case LB_EV_STATE:
        v[0] = ev->u.state.state;
        nint = 1;
        s1 = ev->u.state.reason;
        break;
    case LB_EV_SCAN:
        v[0] = ev->u.scan.kind;
        v[1] = ev->u.scan.has_qty;
        v[2] = ev->u.scan.qty;
        nint = 3;
        s1 = ev->u.scan.code;
        s2 = ev->u.scan.value;
        break;
    case LB_EV_NOTE:
        s1 = ev->u.note.code;
        s2 = ev->u.note.text;
        break;
    }
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    sqlite3_bind_text(st, 2, ev->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, ev->type);
    sqlite3_bind_int64(st, 4, ev->t);
    sqlite3_bind_int64(st, 5, it->mono);
    sqlite3_bind_int(st, 6, it->synced);
    for (int i = 0; i < 7; i++) {
        if (i < nint)
            sqlite3_bind_int64(st, 7 + i, v[i]);
        else
            sqlite3_bind_null(st, 7 + i);
    }
    if (s1)
        sqlite3_bind_text(st, 14, s1, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    if (s2)
        sqlite3_bind_text(st, 15, s2, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 15);
    return 0;
}

static uint64_t data_bytes(struct spool *s)
{
    sqlite3_stmt *st;
    uint64_t bytes = 0;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT page_count FROM pragma_page_count)"
                           " - (SELECT freelist_count FROM pragma_freelist_count),"
                           " (SELECT page_size FROM pragma_page_size)",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        bytes =
            (uint64_t)sqlite3_column_int64(st, 0) * (uint64_t)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return bytes;
}

/*
 * Folds pairs of consecutive count events of one machine (seq > sent_guard)
 * into the later one.  Inside the commit's transaction.  OUT: *merged, the
 * rows removed.
 */
static int merge_counts(struct spool *s, int *merged)
{
    sqlite3_stmt *sel = NULL, *upd = NULL, *del = NULL;
    char prev_dev[LB_ID_MAX + 1] = "";
    int64_t pseq = 0, pgood = 0, pscrap = 0, pt = 0, pspan = 0;
    int have = 0, rc = LB_E_DB;

    *merged = 0;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT seq, dev, a, b, c, t FROM events WHERE type=? AND seq > ?"
            " ORDER BY dev, seq",
            -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "UPDATE events SET a=a+?, b=b+?, c=t-?+? WHERE seq=?",
                           -1, &upd, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM events WHERE seq=?", -1, &del, NULL) !=
            SQLITE_OK) {
        db_fail(s, "merge prepare");
        goto out;
    }
    sqlite3_bind_int(sel, 1, LB_EV_COUNT);
    sqlite3_bind_int64(sel, 2, (int64_t)s->sent_guard);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *dev = (const char *)sqlite3_column_text(sel, 1);

        if (have && strcmp(dev, prev_dev) == 0) {
            /* The later event absorbs the earlier: deltas add up, the
             * span reaches back to where the earlier one began. */
            sqlite3_bind_int64(upd, 1, pgood);
            sqlite3_bind_int64(upd, 2, pscrap);
            sqlite3_bind_int64(upd, 3, pt);
            sqlite3_bind_int64(upd, 4, pspan);
            sqlite3_bind_int64(upd, 5, sqlite3_column_int64(sel, 0));
            sqlite3_bind_int64(del, 1, pseq);
            if (sqlite3_step(upd) != SQLITE_DONE || sqlite3_step(del) != SQLITE_DONE) {
                rc = db_fail(s, "merge");
                sqlite3_reset(upd);
                sqlite3_reset(del);
                goto out;
            }
            sqlite3_reset(upd);
            sqlite3_reset(del);
            (*merged)++;
            have = 0; /* pairs: each pass halves the rows at most */
            continue;
        }
        snprintf(prev_dev, sizeof(prev_dev), "%s", dev);
        pseq = sqlite3_column_int64(sel, 0);
        pgood = sqlite3_column_int64(sel, 2);
        pscrap = sqlite3_column_int64(sel, 3);
        pspan = sqlite3_column_int64(sel, 4);
        pt = sqlite3_column_int64(sel, 5);
        have = 1;
    }
    rc = rc == SQLITE_DONE ? 0 : db_fail(s, "merge select");
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    return rc;
}

/* Within the commit's transaction: merges, then drops old state events,
 * until data fits.  OUT: *dropped_states. */
static int make_room(struct spool *s, int *dropped_states)
{
    int merged, rc;

    *dropped_states = 0;
    while (data_bytes(s) > s->max_bytes) {
        rc = merge_counts(s, &merged);
        if (rc != 0)
            return rc;
        s->merged += (uint64_t)merged;
        if (merged > 0)
            continue;
        rc = exec(s, "DELETE FROM events WHERE seq IN (SELECT seq FROM events"
                     " WHERE type=1 ORDER BY seq LIMIT 100)");
        if (rc != 0)
            return rc;
        if (sqlite3_changes(s->db) == 0)
            return LB_E_FULL;
        *dropped_states += sqlite3_changes(s->db);
    }
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Folds each machine's consecutive pending count events into the last of
 * them: deltas add up, the span reaches back to where the first began, the
 * raw values are the last ones read.  A machine's state, scan or note event
 * ends a run, so counts stay on the right side of a state change; events of
 * other machines in between do not.  Counts under different clock verdicts
 * are not folded (a message carries one verdict).
 */
static int any_dirty(const struct spool *s)
{
    for (size_t i = 0; i < s->nraws; i++)
        if (s->raws[i].dirty)
            return 1;
    return 0;
}

/* Whether a count event of this commit (after folding) carries the
 * reading, so that its counters row need not be written now. */
static int carried(const struct spool *s, const struct pending_raw *r)
{
    int col = 0, bit = role_bit(r->role, &col);

    for (size_t i = s->npend; bit != 0 && i-- > 0;) {
        const struct lb_event *e = &s->pend[i].ev;
        uint64_t v;

        if (e->type != LB_EV_COUNT || strcmp(e->dev, r->dev) != 0)
            continue;
        if (!(e->u.count.raw_mask & (unsigned)bit))
            return 0; /* the latest event of the machine lacks it */
        v = col == 1   ? e->u.count.raw_good
            : col == 2 ? e->u.count.raw_scrap
                       : e->u.count.raw_total;
        return v == r->raw;
    }
    return 0;
}

/* Inside the commit's transaction: the counters rows of the readings no
 * event of this commit carries (all: also those only older events hold),
 * as of seq.  The flags change after the commit succeeds. */
static int write_raws(struct spool *s, uint64_t seq, int all)
{
    for (size_t i = 0; i < s->nraws; i++) {
        const struct pending_raw *r = &s->raws[i];
        int rc;

        if (!(r->dirty && !carried(s, r)) && !(all && (r->stale || r->dirty)))
            continue;
        sqlite3_bind_text(s->setraw, 1, r->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int(s->setraw, 2, r->role);
        sqlite3_bind_int64(s->setraw, 3, (int64_t)r->raw);
        sqlite3_bind_int64(s->setraw, 4, r->wall);
        sqlite3_bind_int64(s->setraw, 5, (int64_t)seq);
        rc = sqlite3_step(s->setraw);
        sqlite3_reset(s->setraw);
        if (rc != SQLITE_DONE)
            return db_fail(s, "set raw");
    }
    return 0;
}

/* Inside the commit's transaction: deletes the acknowledged events and
 * records the marks that let the next open resume. */
static int delete_acked(struct spool *s)
{
    int rc;

    sqlite3_bind_int64(s->del, 1, (int64_t)s->acked);
    rc = sqlite3_step(s->del);
    sqlite3_reset(s->del);
    if (rc != SQLITE_DONE)
        return db_fail(s, "delete acked");
    return 0;
}

int spool_commit(struct spool *s)
{
    uint64_t seq, merged0 = s->merged, gone;
    int64_t now = mono_ms();
    int rc, dropped = 0, del;

    del = s->acked > s->acked_durable &&
          (s->full || s->force_delete || now - s->last_delete >= DELETE_EVERY_MS);
    if (s->npend == 0 && !any_dirty(s) && !del && !s->meta_dirty)
        return 0;
    if (s->needs_base)
        return LB_E_FULL; /* the agent holds events until it knows the base */
    seq = s->next_seq;
    if (exec(s, "BEGIN IMMEDIATE") != 0)
        return LB_E_DB;
    for (size_t i = 0; i < s->npend; i++, seq++) {
        bind_event(s->ins, seq, &s->pend[i]);
        rc = sqlite3_step(s->ins);
        sqlite3_reset(s->ins);
        sqlite3_clear_bindings(s->ins);
        if (rc != SQLITE_DONE) {
            rc = db_fail(s, "insert");
            goto rollback;
        }
    }
    if ((rc = write_raws(s, seq - 1, 0)) != 0)
        goto rollback;
    /* Over the bound: acknowledged events go first, before anything is
     * merged or dropped. */
    if (!del && s->acked > s->acked_durable && data_bytes(s) > s->max_bytes)
        del = 1;
    if (del && (rc = delete_acked(s)) != 0)
        goto rollback;
    if ((del || s->meta_dirty) && ((rc = meta_set(s, "next_seq", (int64_t)seq)) != 0 ||
                                   (rc = meta_set(s, "acked", (int64_t)s->acked)) != 0))
        goto rollback;
    s->full = 0;
    if (data_bytes(s) > s->max_bytes) {
        s->full = 1;
        /* Dropping state events could remove the highest seq, from which
         * the next open recovers next_seq: write it down. */
        if ((rc = make_room(s, &dropped)) != 0 ||
            (rc = meta_set(s, "next_seq", (int64_t)seq)) != 0)
            goto rollback;
    }
    /* Deleting or merging events may take the only copy of a reading. */
    if ((del || s->full) && (rc = write_raws(s, seq - 1, 1)) != 0)
        goto rollback;
    if (exec(s, "COMMIT") != 0) {
        rc = LB_E_DB;
        goto rollback;
    }
    if (dropped > 0)
        log_warnx("spool full: dropped the %d oldest state events", dropped);
    s->dropped += (uint64_t)dropped;
    gone = s->merged - merged0 + (uint64_t)dropped; /* unsent rows, all unacked */
    s->unacked += s->npend;
    s->unacked = s->unacked > gone ? s->unacked - gone : 0;
    s->next_seq = seq;
    s->last_seq = seq - 1;
    if (del) {
        s->acked_durable = s->acked;
        s->last_delete = now;
    }
    for (size_t i = 0; i < s->nraws; i++) {
        struct pending_raw *r = &s->raws[i];

        if (del || s->full)
            r->stale = 0;
        else if (r->dirty)
            r->stale = carried(s, r);
        r->dirty = 0;
    }
    s->meta_dirty = 0;
    s->urgent = 0;
    s->npend = 0;
    s->commits++;
    return 0;
rollback:
    exec(s, "ROLLBACK");
    s->merged = merged0;
    return rc;
}

int spool_checkpoint(struct spool *s)
{
    int rc;

    if (s->needs_base)
        return 0;
    s->force_delete = 1;
    s->meta_dirty = 1;
    rc = spool_commit(s);
    s->force_delete = 0;
    return rc == LB_E_FULL ? 0 : rc;
}

void spool_set_fold(struct spool *s, int on)
{
    s->no_fold = !on;
}

int spool_ack(struct spool *s, uint64_t seq)
{
    sqlite3_stmt *st;

    if (seq > s->last_seq)
        seq = s->last_seq; /* never acknowledge what we have not committed */
    if (seq <= s->acked)
        return 0;
    /* The rows just confirmed are still in the file (deletion waits):
     * count them, a range as short as the ack's step. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM events WHERE seq > ? AND seq <= ?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)s->acked);
        sqlite3_bind_int64(st, 2, (int64_t)seq);
        if (sqlite3_step(st) == SQLITE_ROW) {
            uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);

            s->unacked = s->unacked > n ? s->unacked - n : 0;
        }
        sqlite3_finalize(st);
    }
    s->acked = seq;
    return 1;
}

int spool_fetch(struct spool *s, uint64_t after, size_t max, struct spool_item *out,
                size_t *n)
{
    int rc;

    *n = 0;
    if (after < s->acked)
        after = s->acked; /* confirmed rows may wait for a deferred delete */
    sqlite3_bind_int64(s->fetch, 1, (int64_t)after);
    sqlite3_bind_int64(s->fetch, 2, (int64_t)max);
    while ((rc = sqlite3_step(s->fetch)) == SQLITE_ROW) {
        struct spool_item *it = &out[*n];
        struct lb_event *ev = &it->ev;
        sqlite3_stmt *st = s->fetch;
        const unsigned char *s1 = sqlite3_column_text(st, 13);
        const unsigned char *s2 = sqlite3_column_text(st, 14);

        memset(it, 0, sizeof(*it));
        ev->seq = (uint64_t)sqlite3_column_int64(st, 0);
        snprintf(ev->dev, sizeof(ev->dev), "%s", sqlite3_column_text(st, 1));
        ev->type = (enum lb_event_type)sqlite3_column_int(st, 2);
        ev->t = sqlite3_column_int64(st, 3);
        it->mono = sqlite3_column_int64(st, 4);
        it->synced = sqlite3_column_int(st, 5);
        switch (ev->type) {
        case LB_EV_COUNT:
            ev->u.count.good = sqlite3_column_int64(st, 6);
            ev->u.count.scrap = sqlite3_column_int64(st, 7);
            ev->u.count.span = sqlite3_column_int64(st, 8);
            ev->u.count.raw_mask = (unsigned)sqlite3_column_int64(st, 9);
            ev->u.count.raw_good = (uint64_t)sqlite3_column_int64(st, 10);
            ev->u.count.raw_scrap = (uint64_t)sqlite3_column_int64(st, 11);
            ev->u.count.raw_total = (uint64_t)sqlite3_column_int64(st, 12);
            break;
        case LB_EV_STATE:
            ev->u.state.state = (enum lb_state)sqlite3_column_int(st, 6);
            snprintf(ev->u.state.reason, sizeof(ev->u.state.reason), "%s",
                     s1 ? (const char *)s1 : "");
            break;
        case LB_EV_SCAN:
            ev->u.scan.kind = (enum lb_scan_kind)sqlite3_column_int(st, 6);
            ev->u.scan.has_qty = sqlite3_column_int(st, 7);
            ev->u.scan.qty = sqlite3_column_int64(st, 8);
            snprintf(ev->u.scan.code, sizeof(ev->u.scan.code), "%s",
                     s1 ? (const char *)s1 : "");
            snprintf(ev->u.scan.value, sizeof(ev->u.scan.value), "%s",
                     s2 ? (const char *)s2 : "");
            break;
        case LB_EV_NOTE:
            snprintf(ev->u.note.code, sizeof(ev->u.note.code), "%s",
                     s1 ? (const char *)s1 : "");
            snprintf(ev->u.note.text, sizeof(ev->u.note.text), "%s",
                     s2 ? (const char *)s2 : "");
            break;
        }
        if (ev->seq > s->sent_guard)
            s->sent_guard = ev->seq;
        (*n)++;
    }
    sqlite3_reset(s->fetch);
    return rc == SQLITE_DONE ? 0 : db_fail(s, "fetch");
}

uint64_t spool_last_seq(const struct spool *s)
{
    return s->last_seq;
}

uint64_t spool_acked(const struct spool *s)
{
    return s->acked;
}

void spool_stats(struct spool *s, struct spool_stats *st)
{
    struct stat sb;

    memset(st, 0, sizeof(*st));
    /* Not a count(*): after a day's outage that reads the whole file,
     * every time the status is written. */
    st->events = s->unacked;
    if (stat(s->path, &sb) == 0)
        st->bytes = (uint64_t)sb.st_size;
    st->pending = s->npend;
    st->next_seq = s->next_seq;
    st->acked = s->acked;
    st->commits = s->commits;
    st->merged = s->merged;
    st->dropped = s->dropped;
    st->full = s->full;
}

void spool_losses(const struct spool *s, uint64_t *merged, uint64_t *dropped)
{
    *merged = s->merged;
    *dropped = s->dropped;
}
