/*
 * Interval builder and rollups; see rollup.h and docs/kpi.md.
 *
 * Every change to the rollups is a delta: a closed interval adds its
 * milliseconds minute by minute, a count adds parts, and a correction (late
 * data, a new reason) first subtracts what an interval added and then adds
 * what it adds now.  The deltas of one message collect in a small hash
 * table and are written once per row, so a batch of a thousand count events
 * of one machine costs a handful of upserts.
 *
 * An idle or down interval cannot be judged when it closes: whether it is a
 * micro-stop depends on the whole stop (the agent's rate-based states go
 * running -> idle -> down in one stop).  So stop intervals stay out of the
 * rollups (cat NULL) until the stop ends; reports add them, and the open
 * interval, provisionally (kpi.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"
#include "linebeat/log.h"
#include "plant.h"
#include "rollup.h"

#define LCACHE_MAX    32           /* lines whose calendar a connection keeps */
#define REASON_WINDOW (10 * 60000) /* a reason scanned this soon after a stop */
#define MIN_MS        60000
#define HOUR_MS       3600000

const char *const roll_col_name[RC_N] = {
    "good",  "scrap", "ideal",  "noict", "run", "micro", "setup", "down",   "unexpl",
    "mstop", "stops", "micros", "brk",   "off", "orun",  "ogood", "oscrap",
};

/* ---- SQL ------------------------------------------------------------------ */

static const char SQL_TRACK_GET[] =
    "SELECT start, state, coalesce(reason, ''), last, chain, maxlen FROM tracks "
    "WHERE dev = ?1";
static const char SQL_TRACK_PUT[] =
    "INSERT INTO tracks(dev, start, state, reason, last, chain, maxlen) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(dev) DO UPDATE SET "
    "start = excluded.start, state = excluded.state, reason = excluded.reason, "
    "last = excluded.last, chain = excluded.chain, maxlen = excluded.maxlen";
static const char SQL_IVL_OPEN[] =
    "INSERT INTO intervals(dev, start, end, state, reason, set_reason) "
    "VALUES(?1, ?2, NULL, ?3, ?4, ?5) ON CONFLICT(dev, start) DO UPDATE SET end = NULL, "
    "state = excluded.state, reason = excluded.reason, "
    "set_reason = coalesce(excluded.set_reason, set_reason), cat = NULL, nstop = 0, "
    "nmicro = 0";
static const char SQL_IVL_CLOSE[] =
    "UPDATE intervals SET end = ?3 WHERE dev = ?1 AND start = ?2";
static const char SQL_IVL_DELETE[] =
    "DELETE FROM intervals WHERE dev = ?1 AND start = ?2";
static const char SQL_IVL_GAP[] =
    "INSERT INTO intervals(dev, start, end, state, cat) VALUES(?1, ?2, ?3, 'nodata', 0) "
    "ON CONFLICT(dev, start) DO UPDATE SET end = excluded.end, state = 'nodata', "
    "reason = NULL, cat = 0, nstop = 0, nmicro = 0";
static const char SQL_IVL_CAT[] = "UPDATE intervals SET cat = ?3, nstop = ?4, nmicro = "
                                  "?5 WHERE dev = ?1 AND start = ?2";
static const char SQL_IVL_RANGE[] =
    "SELECT start, end, state, coalesce(set_reason, reason, ''), cat, nstop, nmicro, "
    "set_reason FROM intervals WHERE dev = ?1 AND start >= ?2 AND start < ?3 ORDER BY "
    "start";
static const char SQL_IVL_AT[] =
    "SELECT start, end, state, coalesce(reason, ''), cat FROM intervals "
    "WHERE dev = ?1 AND start <= ?2 ORDER BY start DESC LIMIT 1";
static const char SQL_IVL_ENDING[] =
    "SELECT start, end, state, coalesce(reason, ''), cat FROM intervals "
    "WHERE dev = ?1 AND start < ?2 AND start >= ?2 - ?3 AND end = ?2 LIMIT 1";
static const char SQL_IVL_NEXT[] =
    "SELECT start, end, state, coalesce(reason, ''), cat FROM intervals "
    "WHERE dev = ?1 AND start = ?2";
static const char SQL_IVL_FROM[] =
    "SELECT start, set_reason FROM intervals WHERE dev = ?1 AND start >= ?2 "
    "AND set_reason IS NOT NULL";
static const char SQL_IVL_DEL_FROM[] =
    "DELETE FROM intervals WHERE dev = ?1 AND start >= ?2";
static const char SQL_IVL_SET_REASON[] =
    "UPDATE intervals SET set_reason = ?3 WHERE dev = ?1 AND start = ?2";
static const char SQL_EVENTS_FROM[] =
    "SELECT e.t_eff, e.type, coalesce(e.state, ''), coalesce(e.reason, '') "
    "FROM events e INDEXED BY events_dev_time WHERE e.dev = ?1 AND e.t_eff >= ?2 "
    "ORDER BY e.t_eff, e.seq";
static const char SQL_ROLL_MINUTE[] =
    "INSERT INTO roll_minute(dev, t, good, scrap, ideal, noict, run, micro, setup, down, "
    "unexpl, mstop, stops, micros) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "?12, ?13, ?14) ON CONFLICT(dev, t) DO UPDATE SET good = good + excluded.good, "
    "scrap = scrap + excluded.scrap, ideal = ideal + excluded.ideal, "
    "noict = noict + excluded.noict, run = run + excluded.run, "
    "micro = micro + excluded.micro, setup = setup + excluded.setup, "
    "down = down + excluded.down, unexpl = unexpl + excluded.unexpl, "
    "mstop = mstop + excluded.mstop, stops = stops + excluded.stops, "
    "micros = micros + excluded.micros";
#define ROLL_CAL_UPSERT(table, key) ROLL_CAL_UPSERT2(table, "dev", key)
#define ROLL_CAL_UPSERT2(table, key1, key)                                               \
    "INSERT INTO " table "(" key1 ", " key                                               \
    ", good, scrap, ideal, noict, run, micro, setup, "                                   \
    "down, unexpl, mstop, stops, micros, brk, off, orun, ogood, oscrap) VALUES(?1, ?2, " \
    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "     \
    "ON CONFLICT(" key1 ", " key ") DO UPDATE SET good = good + excluded.good, "         \
    "scrap = scrap + excluded.scrap, ideal = ideal + excluded.ideal, "                   \
    "noict = noict + excluded.noict, run = run + excluded.run, "                         \
    "micro = micro + excluded.micro, setup = setup + excluded.setup, "                   \
    "down = down + excluded.down, unexpl = unexpl + excluded.unexpl, "                   \
    "mstop = mstop + excluded.mstop, stops = stops + excluded.stops, "                   \
    "micros = micros + excluded.micros, brk = brk + excluded.brk, "                      \
    "off = off + excluded.off, orun = orun + excluded.orun, "                            \
    "ogood = ogood + excluded.ogood, oscrap = oscrap + excluded.oscrap"
static const char SQL_ROLL_HOUR[] = ROLL_CAL_UPSERT("roll_hour", "t");
static const char SQL_ROLL_DAY[] = ROLL_CAL_UPSERT("roll_day", "day");
static const char SQL_ROLL_LINE_DAY[] = ROLL_CAL_UPSERT2("roll_line_day", "line", "day");
static const char SQL_DAYS_OF_DEV[] =
    "SELECT day, good, scrap, ideal, noict, run, micro, setup, down, unexpl, mstop, "
    "stops, "
    "micros, brk, off, orun, ogood, oscrap FROM roll_day "
    "WHERE dev = ?1 AND day >= ?2 AND day <= ?3";
/* Moves a machine's day rows out of one line's sums or into another's. */
#define LINE_MOVE(sign)                                                                  \
    "INSERT INTO roll_line_day(line, day, good, scrap, ideal, noict, run, micro, "       \
    "setup, "                                                                            \
    "down, unexpl, mstop, stops, micros, brk, off, orun, ogood, oscrap) SELECT ?2, "     \
    "day, " sign "good, " sign "scrap, " sign "ideal, " sign "noict, " sign "run, " sign \
    "micro, " sign "setup, " sign "down, " sign "unexpl, " sign "mstop, " sign           \
    "stops, " sign "micros, " sign "brk, " sign "off, " sign "orun, " sign               \
    "ogood, " sign "oscrap "                                                             \
    "FROM roll_day WHERE dev = ?1 ON CONFLICT(line, day) DO UPDATE SET "                 \
    "good = good + excluded.good, scrap = scrap + excluded.scrap, "                      \
    "ideal = ideal + excluded.ideal, noict = noict + excluded.noict, "                   \
    "run = run + excluded.run, micro = micro + excluded.micro, "                         \
    "setup = setup + excluded.setup, down = down + excluded.down, "                      \
    "unexpl = unexpl + excluded.unexpl, mstop = mstop + excluded.mstop, "                \
    "stops = stops + excluded.stops, micros = micros + excluded.micros, "                \
    "brk = brk + excluded.brk, off = off + excluded.off, orun = orun + excluded.orun, "  \
    "ogood = ogood + excluded.ogood, oscrap = oscrap + excluded.oscrap"
static const char SQL_LINE_OUT[] = LINE_MOVE("-");
static const char SQL_LINE_IN[] = LINE_MOVE("");
static const char SQL_HOUR_DELETE[] =
    "DELETE FROM roll_hour WHERE dev = ?1 AND t >= ?2 AND t < ?3";
static const char SQL_DAY_DELETE[] =
    "DELETE FROM roll_day WHERE dev = ?1 AND day >= ?2 AND day <= ?3";
static const char SQL_MINUTES[] =
    "SELECT t, good, scrap, ideal, noict, run, micro, setup, down, unexpl, mstop, stops, "
    "micros FROM roll_minute WHERE dev = ?1 AND t >= ?2 AND t < ?3 ORDER BY t";
static const char SQL_MACHINE_LINE[] =
    "SELECT coalesce(line_id, 0), coalesce(ideal_set_ms, ideal_cycle_ms, 0) "
    "FROM machines WHERE dev = ?1";
static const char SQL_DEVS_OF_LINE[] =
    "SELECT dev FROM machines WHERE ?1 < 0 OR coalesce(line_id, 0) = ?1 ORDER BY dev";
static const char SQL_RUN_AT[] =
    "SELECT r.start, r.end, coalesce(pm.ideal_cycle_ms, p.ideal_cycle_ms) "
    "FROM order_runs r JOIN orders o ON o.id = r.order_id "
    "LEFT JOIN products p ON p.id = o.product_id "
    "LEFT JOIN product_machines pm ON pm.product_id = o.product_id AND pm.dev = r.dev "
    "WHERE r.dev = ?1 AND r.start <= ?2 AND (r.end IS NULL OR r.end > ?2) "
    "ORDER BY r.start DESC LIMIT 1";
static const char SQL_RUN_NEXT[] =
    "SELECT min(start) FROM order_runs WHERE dev = ?1 AND start > ?2";
static const char SQL_RUN_PREV[] =
    "SELECT max(coalesce(end, start)) FROM order_runs WHERE dev = ?1 AND start <= ?2";
static const char SQL_REASON_PLANNED[] = "SELECT planned FROM reasons WHERE code = ?1";
static const char SQL_CAL_VERSION[] = "SELECT value FROM meta WHERE key = 'calendar'";
static const char SQL_CAL_BUMP[] =
    "UPDATE meta SET value = value + 1 WHERE key = 'calendar'";
static const char SQL_SHIFTS_OWN[] =
    "SELECT id, weekday, start_min, end_min, valid_from, valid_to, name FROM shifts "
    "WHERE line_id = ?1";
static const char SQL_SHIFTS_PLANT[] =
    "SELECT id, weekday, start_min, end_min, valid_from, valid_to, name FROM shifts "
    "WHERE line_id IS NULL";
static const char SQL_STOPS[] =
    "SELECT id, weekday, coalesce(start_min, 0), coalesce(end_min, 0), "
    "coalesce(start, 0), coalesce(end, 0), valid_from, valid_to, name FROM planned_stops "
    "WHERE line_id IS NULL OR line_id = ?1";
static const char SQL_DAYS[] =
    "SELECT id, day, kind = 'holiday', coalesce(start_min, 0), coalesce(end_min, 0), "
    "coalesce(name, '') FROM calendar_days WHERE line_id IS NULL OR line_id = ?1";
static const char SQL_RUN_CLOSE[] =
    "UPDATE order_runs SET end = ?2 WHERE dev = ?1 AND end IS NULL AND start <= ?2";
static const char SQL_RUN_CLOSE_ORDER[] =
    "UPDATE order_runs SET end = ?2 WHERE dev = ?1 AND end IS NULL AND start <= ?2 "
    "AND order_id = (SELECT id FROM orders WHERE number = ?3)";
static const char SQL_ORDER_UPSERT[] =
    "INSERT INTO orders(number, status, unplanned, created, updated) "
    "VALUES(?1, 'running', 1, ?2, ?2) "
    "ON CONFLICT(number) DO UPDATE SET status = CASE WHEN status IN ('done', "
    "'cancelled') THEN status ELSE 'running' END, updated = excluded.updated "
    "RETURNING id";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO order_runs(order_id, dev, start, end, source) VALUES(?1, ?2, ?3, NULL, "
    "'scan')";
static const char SQL_ORDERS_PAUSE[] =
    "UPDATE orders SET status = 'paused', updated = ?2 WHERE status = 'running' "
    "AND id IN (SELECT order_id FROM order_runs WHERE dev = ?1 AND end = ?3) "
    "AND NOT EXISTS (SELECT 1 FROM order_runs r WHERE r.order_id = orders.id "
    "AND r.end IS NULL)";
static const char SQL_OPRUN_CLOSE[] =
    "UPDATE operator_runs SET end = ?2 WHERE dev = ?1 AND end IS NULL AND start <= ?2";
static const char SQL_OPERATOR_UPSERT[] =
    "INSERT INTO operators(badge) VALUES(?1) ON CONFLICT(badge) DO UPDATE SET "
    "badge = excluded.badge RETURNING id";
static const char SQL_OPRUN_INSERT[] =
    "INSERT INTO operator_runs(operator_id, dev, start, end) VALUES(?1, ?2, ?3, NULL)";
static const char SQL_SCRAP_INSERT[] =
    "INSERT INTO scrap_entries(dev, t, qty, reason, source) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char SQL_COUNT_EVENTS[] =
    "SELECT t_eff, good, scrap FROM events INDEXED BY events_dev_time "
    "WHERE dev = ?1 AND t_eff >= ?2 AND t_eff < ?3 AND good IS NOT NULL";
static const char SQL_SCRAP_RANGE[] =
    "SELECT t, qty FROM scrap_entries WHERE dev = ?1 AND t >= ?2 AND t < ?3";
static const char SQL_AUDIT[] =
    "INSERT INTO reason_audit(dev, start, before, after, who, at) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

/* ---- per-connection state --------------------------------------------------- */

struct lcache {
    int64_t line_id;
    int used;
    uint64_t stamp;
    struct calendar cal;
    struct cal_seg *segs;
    size_t nsegs;
    int64_t w0, w1; /* the window segs cover */
};

struct acc_ent {
    int level; /* 0 minute, 1 hour, 2 day; -1 free */
    int64_t key;
    int64_t v[RC_N];
};

struct kstate {
    int64_t cal_version;
    int have_version;
    uint64_t stamp;
    struct lcache lines[LCACHE_MAX];
    struct acc_ent *acc;
    size_t acc_cap, acc_n;
    size_t *acc_used; /* the occupied slots, so a flush visits only them */
};

/* One machine while its events are applied. */
struct trk {
    int exists;
    int64_t start; /* of the open interval */
    char state[16];
    char reason[LB_CODE_MAX + 1];
    int64_t last;
    int64_t chain; /* start of the open stop, -1 none */
    int64_t maxlen;
};

struct keep {
    int64_t start;
    char *reason;
};

struct devctx {
    struct db *db;
    struct kstate *ks;
    const struct plant *pl;
    const char *dev;
    int64_t line_id;
    int64_t machine_ict;
    int64_t ict_from, ict_to, ict; /* ict holds on [ict_from, ict_to) */
    const struct cal_seg *segs;
    size_t nsegs;
    int64_t w0, w1;
    int64_t day, day_s, day_e; /* cached production day */
    int levels;                /* bit 0 minute, 1 hour, 2 day */
    struct keep *keep;         /* set reasons to carry through a rebuild */
    size_t nkeep;
};

struct piece {
    int64_t start, end;
    char state[16];
    char reason[LB_CODE_MAX + 1]; /* effective: set_reason, else reason */
    int cat;                      /* -1 when NULL */
    int nstop, nmicro;
};

static void *kstate_new(void);
static void kstate_free(void *p);
static struct kstate *kstate(struct db *db);
static int step_done(struct db *db, sqlite3_stmt *st, const char *what);
static void bind_text(sqlite3_stmt *st, int i, const char *s);
static void col_text(sqlite3_stmt *st, int col, char *dst, size_t size);
static struct acc_ent *acc_slot(struct kstate *ks, int level, int64_t key);
static int acc_add(struct devctx *dc, int64_t minute, const int64_t *v);
static void acc_clear(struct devctx *dc);
static int acc_flush(struct devctx *dc);
static int klass(struct devctx *dc, int64_t minute, int *cls);
static int64_t kday(struct devctx *dc, int64_t minute);
static int roll_span(struct devctx *dc, int64_t s, int64_t e, int cat, int sign);
static int roll_piece_counts(struct devctx *dc, int64_t start, int nstop, int nmicro,
                             int sign);
static int dev_begin(struct devctx *dc, struct db *db, const char *dev);
static int ict_at(struct devctx *dc, int64_t t, int64_t *ict);
static int load_calendar(struct db *db, int64_t line_id, struct calendar *c);
static int trk_load(struct devctx *dc, struct trk *T);
static int trk_save(struct devctx *dc, const struct trk *T);
static int ivl_open(struct devctx *dc, int64_t start, const char *state,
                    const char *reason);
static int ivl_exec2(struct devctx *dc, const char *sql, int64_t a, int64_t b);
static int ivl_set_cat(struct devctx *dc, int64_t start, int cat, int nstop, int nmicro);
static int pieces(struct devctx *dc, int64_t from, int64_t to, struct piece **out,
                  size_t *n);
static void piece_row(sqlite3_stmt *st, struct piece *p);
static int piece_at(struct devctx *dc, const char *sql, int64_t a, int64_t b,
                    struct piece *p);
static int reason_planned(struct devctx *dc, const char *code, int *planned);
static int sm_close_piece(struct devctx *dc, struct trk *T, int64_t end);
static int sm_close_chain(struct devctx *dc, struct trk *T, int64_t end);
static int chain_judge(struct devctx *dc, int64_t from, int64_t to, int sign);
static int sm_open(struct devctx *dc, struct trk *T, int64_t t, const char *state,
                   const char *reason);
static int sm_event(struct devctx *dc, struct trk *T, int64_t t, int is_state,
                    const char *state, const char *reason);
static int needs_rebuild(struct devctx *dc, const struct trk *T, int64_t t, int is_state,
                         const char *state, const char *reason, int *yes);
static int rebuild(struct devctx *dc, struct trk *T, int64_t from);
static int count_event(struct devctx *dc, int64_t t, int64_t good, int64_t scrap);
static int add_scrap(struct devctx *dc, int64_t t, int64_t qty, const char *reason,
                     const char *source);
static int scan_event(struct devctx *dc, const struct trk *T, int64_t t,
                      const struct lb_scan *s, const char *agent);
static int set_reason(struct devctx *dc, int64_t at, const char *reason, const char *who,
                      int64_t now, int64_t window);

static void *kstate_new(void)
{
    return calloc(1, sizeof(struct kstate));
}

static void kstate_free(void *p)
{
    struct kstate *ks = p;
    int i;

    if (ks == NULL)
        return;
    for (i = 0; i < LCACHE_MAX; i++) {
        cal_clear(&ks->lines[i].cal);
        free(ks->lines[i].segs);
    }
    free(ks->acc);
    free(ks->acc_used);
    free(ks);
}

static struct kstate *kstate(struct db *db)
{
    return db_state(db, kstate_new, kstate_free);
}

static int step_done(struct db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_error(db, what);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL || s[0] == '\0')
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void col_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

/* ---- classification ------------------------------------------------------ */

void roll_classify(const int64_t *v, int cls, int64_t *out)
{
    int64_t known, run;
    int i;

    if (cls == CAL_P) {
        for (i = 0; i < RC_NMIN; i++)
            out[i] += v[i];
        return;
    }
    known =
        v[RC_RUN] + v[RC_MICRO] + v[RC_SETUP] + v[RC_DOWN] + v[RC_UNEXPL] + v[RC_MSTOP];
    run = v[RC_RUN] + v[RC_MICRO];
    out[cls == CAL_B ? RC_BRK : RC_OFF] += known;
    out[RC_ORUN] += run;
    out[RC_OGOOD] += v[RC_GOOD];
    out[RC_OSCRAP] += v[RC_SCRAP];
}

int roll_is_stop(const char *state)
{
    return strcmp(state, "idle") == 0 || strcmp(state, "down") == 0;
}

enum roll_cat roll_state_cat(const char *state)
{
    if (strcmp(state, "running") == 0)
        return CAT_RUN;
    if (strcmp(state, "setup") == 0)
        return CAT_SETUP;
    if (strcmp(state, "planned_stop") == 0)
        return CAT_MSTOP;
    return CAT_NONE; /* offline, nodata; idle and down go through a stop */
}

/* ---- accumulator ---------------------------------------------------------- */

static struct acc_ent *acc_slot(struct kstate *ks, int level, int64_t key)
{
    uint64_t h;
    size_t i, mask;

    if (ks->acc_cap == 0 || (ks->acc_n + 1) * 2 > ks->acc_cap) {
        size_t ncap = ks->acc_cap ? ks->acc_cap * 2 : 256, j;
        struct acc_ent *ne = malloc(ncap * sizeof(*ne)), *old = ks->acc;
        size_t *nu = malloc(ncap / 2 * sizeof(*nu)), *oldu = ks->acc_used;
        size_t on = ks->acc_n;

        if (ne == NULL || nu == NULL) {
            free(ne);
            free(nu);
            return NULL;
        }
        for (j = 0; j < ncap; j++)
            ne[j].level = -1;
        ks->acc = ne;
        ks->acc_used = nu;
        ks->acc_cap = ncap;
        ks->acc_n = 0;
        for (j = 0; j < on; j++) {
            struct acc_ent *o = &old[oldu[j]];
            struct acc_ent *d = acc_slot(ks, o->level, o->key);

            memcpy(d->v, o->v, sizeof(d->v));
        }
        free(old);
        free(oldu);
    }
    mask = ks->acc_cap - 1;
    h = (uint64_t)key * 0x9e3779b97f4a7c15ULL + (uint64_t)level;
    for (i = (size_t)(h >> 20) & mask;; i = (i + 1) & mask) {
        struct acc_ent *e = &ks->acc[i];

        if (e->level < 0) {
            e->level = level;
            e->key = key;
            memset(e->v, 0, sizeof(e->v));
            ks->acc_used[ks->acc_n++] = i;
            return e;
        }
        if (e->level == level && e->key == key)
            return e;
    }
}

/* Adds a minute's machine data v[RC_NMIN] to the minute row and, split by
 * the calendar, to its hour and day rows. */
static int acc_add(struct devctx *dc, int64_t minute, const int64_t *v)
{
    struct acc_ent *e, *l;
    int64_t cv[RC_N];
    int cls, i, rc;

    if (dc->levels & 1) {
        if ((e = acc_slot(dc->ks, 0, minute)) == NULL)
            return -ENOMEM;
        for (i = 0; i < RC_NMIN; i++)
            e->v[i] += v[i];
    }
    if ((dc->levels & 6) == 0)
        return 0;
    if ((rc = klass(dc, minute, &cls)) != 0)
        return rc;
    memset(cv, 0, sizeof(cv));
    roll_classify(v, cls, cv);
    if (dc->levels & 2) {
        if ((e = acc_slot(dc->ks, 1, tz_floordiv(minute, HOUR_MS) * HOUR_MS)) == NULL)
            return -ENOMEM;
        for (i = 0; i < RC_N; i++)
            e->v[i] += cv[i];
    }
    if (dc->levels & 4) {
        /* The machine's day and its line's day (level 3, keyed by day:
         * the line is the machine's). */
        int64_t d = kday(dc, minute);

        if ((e = acc_slot(dc->ks, 2, d)) == NULL || (l = acc_slot(dc->ks, 3, d)) == NULL)
            return -ENOMEM;
        for (i = 0; i < RC_N; i++) {
            e->v[i] += cv[i];
            l->v[i] += cv[i];
        }
    }
    return 0;
}

/* Forgets the collected deltas (the caller rolls its work back). */
static void acc_clear(struct devctx *dc)
{
    size_t i;

    for (i = 0; i < dc->ks->acc_n; i++)
        dc->ks->acc[dc->ks->acc_used[i]].level = -1;
    dc->ks->acc_n = 0;
}

static int acc_flush(struct devctx *dc)
{
    struct kstate *ks = dc->ks;
    size_t i;
    int j, any, rc = 0;

    for (i = 0; i < ks->acc_n && rc == 0; i++) {
        struct acc_ent *e = &ks->acc[ks->acc_used[i]];
        sqlite3_stmt *st;
        int ncol;

        for (j = 0, any = 0; j < RC_N; j++)
            any |= e->v[j] != 0;
        if (!any)
            continue;
        st = db_cached(dc->db, e->level == 0   ? SQL_ROLL_MINUTE
                               : e->level == 1 ? SQL_ROLL_HOUR
                               : e->level == 2 ? SQL_ROLL_DAY
                                               : SQL_ROLL_LINE_DAY);
        if (st == NULL) {
            rc = LB_E_DB;
            break;
        }
        ncol = e->level == 0 ? RC_NMIN : RC_N;
        if (e->level == 3)
            sqlite3_bind_int64(st, 1, dc->line_id);
        else
            sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->key);
        for (j = 0; j < ncol; j++)
            sqlite3_bind_int64(st, 3 + j, e->v[j]);
        rc = step_done(dc->db, st, "rollup upsert");
    }
    acc_clear(dc);
    return rc;
}

/* ---- calendar ------------------------------------------------------------- */

static int load_calendar(struct db *db, int64_t line_id, struct calendar *c)
{
    sqlite3_stmt *st = NULL;
    size_t cap;
    int pass, rc;

    memset(c, 0, sizeof(*c));
    /* Shifts: the line's own, else the plant's. */
    for (pass = 0; pass < 2 && c->nshifts == 0; pass++) {
        if (pass == 0 && line_id <= 0)
            continue;
        if ((st = db_cached(db, pass == 0 ? SQL_SHIFTS_OWN : SQL_SHIFTS_PLANT)) == NULL)
            return LB_E_DB;
        if (pass == 0)
            sqlite3_bind_int64(st, 1, line_id);
        cap = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct cal_shift *s;

            if (LB_GROW(c->shifts, &cap, c->nshifts, 16) != 0) {
                sqlite3_reset(st);
                return -ENOMEM;
            }
            s = &c->shifts[c->nshifts++];
            memset(s, 0, sizeof(*s));
            s->id = sqlite3_column_int64(st, 0);
            s->weekday = sqlite3_column_int(st, 1);
            s->start_min = sqlite3_column_int(st, 2);
            s->end_min = sqlite3_column_int(st, 3);
            s->valid_from = sqlite3_column_int64(st, 4);
            s->valid_to = sqlite3_column_type(st, 5) == SQLITE_NULL
                              ? CAL_OPEN
                              : sqlite3_column_int64(st, 5);
            col_text(st, 6, s->name, sizeof(s->name));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_error(db, "shifts");
    }
    if ((st = db_cached(db, SQL_STOPS)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, line_id);
    cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct cal_stop *s;

        if (LB_GROW(c->stops, &cap, c->nstops, 16) != 0) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
        s = &c->stops[c->nstops++];
        memset(s, 0, sizeof(*s));
        s->id = sqlite3_column_int64(st, 0);
        s->weekday =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 1);
        s->start_min = sqlite3_column_int(st, 2);
        s->end_min = sqlite3_column_int(st, 3);
        s->start_ms = sqlite3_column_int64(st, 4);
        s->end_ms = sqlite3_column_int64(st, 5);
        s->valid_from = sqlite3_column_int64(st, 6);
        s->valid_to = sqlite3_column_type(st, 7) == SQLITE_NULL
                          ? CAL_OPEN
                          : sqlite3_column_int64(st, 7);
        col_text(st, 8, s->name, sizeof(s->name));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "planned stops");
    if ((st = db_cached(db, SQL_DAYS)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, line_id);
    cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct cal_day *d;

        if (LB_GROW(c->days, &cap, c->ndays, 16) != 0) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
        d = &c->days[c->ndays++];
        memset(d, 0, sizeof(*d));
        d->id = sqlite3_column_int64(st, 0);
        d->day = sqlite3_column_int64(st, 1);
        d->holiday = sqlite3_column_int(st, 2);
        d->start_min = sqlite3_column_int(st, 3);
        d->end_min = sqlite3_column_int(st, 4);
        col_text(st, 5, d->name, sizeof(d->name));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(db, "calendar days");
    return 0;
}

int rollup_sync(struct db *db)
{
    struct kstate *ks = kstate(db);
    sqlite3_stmt *st;
    int64_t v = 0;
    int rc, i;

    if (ks == NULL)
        return -ENOMEM;
    if ((st = db_cached(db, SQL_CAL_VERSION)) == NULL)
        return LB_E_DB;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(db, "calendar version");
    if (!ks->have_version || v != ks->cal_version) {
        for (i = 0; i < LCACHE_MAX; i++) {
            cal_clear(&ks->lines[i].cal);
            free(ks->lines[i].segs);
            memset(&ks->lines[i], 0, sizeof(ks->lines[i]));
        }
        ks->cal_version = v;
        ks->have_version = 1;
    }
    return 0;
}

int rollup_calendar_changed(struct db *db)
{
    sqlite3_stmt *st = db_cached(db, SQL_CAL_BUMP);

    if (st == NULL)
        return LB_E_DB;
    return step_done(db, st, "calendar bump");
}

int rollup_segments(struct db *db, int64_t line_id, int64_t from, int64_t to,
                    const struct cal_seg **segs, size_t *n)
{
    struct kstate *ks = kstate(db);
    struct lcache *lc = NULL;
    int i, rc;

    *segs = NULL;
    *n = 0;
    if (ks == NULL)
        return -ENOMEM;
    for (i = 0; i < LCACHE_MAX; i++)
        if (ks->lines[i].used && ks->lines[i].line_id == line_id)
            lc = &ks->lines[i];
    if (lc == NULL) {
        /* A free slot, else the least recently used. */
        lc = &ks->lines[0];
        for (i = 0; i < LCACHE_MAX; i++) {
            if (!ks->lines[i].used) {
                lc = &ks->lines[i];
                break;
            }
            if (ks->lines[i].stamp < lc->stamp)
                lc = &ks->lines[i];
        }
        cal_clear(&lc->cal);
        free(lc->segs);
        memset(lc, 0, sizeof(*lc));
        if ((rc = load_calendar(db, line_id, &lc->cal)) != 0) {
            cal_clear(&lc->cal);
            return rc;
        }
        lc->used = 1;
        lc->line_id = line_id;
    }
    lc->stamp = ++ks->stamp;
    if (lc->segs == NULL || from < lc->w0 || to > lc->w1) {
        struct cal_seg *ns = NULL;
        size_t nn = 0;

        /* Two days more than asked: the next report ("until now") still
         * fits. */
        to += 2 * 86400000LL;
        if ((rc = cal_expand(&lc->cal, &plant_get()->clock, from, to, &ns, &nn)) != 0)
            return rc;
        free(lc->segs);
        lc->segs = ns;
        lc->nsegs = nn;
        lc->w0 = from;
        lc->w1 = to;
    }
    *segs = lc->segs;
    *n = lc->nsegs;
    return 0;
}

/* The class of the minute starting at `minute` for the machine's line. */
static int klass(struct devctx *dc, int64_t minute, int *cls)
{
    long i;
    int rc;

    if (dc->segs == NULL || minute < dc->w0 || minute >= dc->w1) {
        int64_t d = cal_prod_day(&dc->pl->clock, minute);
        int64_t a = cal_day_start(&dc->pl->clock, d - 1);
        int64_t b = cal_day_start(&dc->pl->clock, d + 2);

        if ((rc = rollup_segments(dc->db, dc->line_id, a, b, &dc->segs, &dc->nsegs)) != 0)
            return rc;
        dc->w0 = a;
        dc->w1 = b;
    }
    i = cal_find(dc->segs, dc->nsegs, minute);
    *cls = i < 0 ? CAL_O : dc->segs[i].cls;
    return 0;
}

static int64_t kday(struct devctx *dc, int64_t minute)
{
    if (minute < dc->day_s || minute >= dc->day_e) {
        dc->day = cal_prod_day(&dc->pl->clock, minute);
        dc->day_s = cal_day_start(&dc->pl->clock, dc->day);
        dc->day_e = cal_day_start(&dc->pl->clock, dc->day + 1);
    }
    return dc->day;
}

/* ---- rolling intervals and counts ----------------------------------------- */

static const int cat_col[CAT_N] = {
    [CAT_NONE] = -1,        [CAT_RUN] = RC_RUN,   [CAT_MICRO] = RC_MICRO,
    [CAT_SETUP] = RC_SETUP, [CAT_DOWN] = RC_DOWN, [CAT_UNEXPL] = RC_UNEXPL,
    [CAT_MSTOP] = RC_MSTOP,
};

/* Adds (sign 1) or removes (-1) [s, e) of category cat, minute by minute. */
static int roll_span(struct devctx *dc, int64_t s, int64_t e, int cat, int sign)
{
    int64_t v[RC_NMIN], m;
    int col, rc;

    if (cat <= CAT_NONE || cat >= CAT_N || e <= s)
        return 0;
    col = cat_col[cat];
    for (m = tz_floordiv(s, MIN_MS) * MIN_MS; m < e; m += MIN_MS) {
        int64_t a = s > m ? s : m, b = e < m + MIN_MS ? e : m + MIN_MS;

        memset(v, 0, sizeof(v));
        v[col] = sign * (b - a);
        if ((rc = acc_add(dc, m, v)) != 0)
            return rc;
    }
    return 0;
}

static int roll_piece_counts(struct devctx *dc, int64_t start, int nstop, int nmicro,
                             int sign)
{
    int64_t v[RC_NMIN];

    if (nstop == 0 && nmicro == 0)
        return 0;
    memset(v, 0, sizeof(v));
    v[RC_STOPS] = sign * nstop;
    v[RC_MICROS] = sign * nmicro;
    return acc_add(dc, tz_floordiv(start, MIN_MS) * MIN_MS, v);
}

static int dev_begin(struct devctx *dc, struct db *db, const char *dev)
{
    sqlite3_stmt *st;
    int rc;

    memset(dc, 0, sizeof(*dc));
    dc->db = db;
    dc->dev = dev;
    dc->pl = plant_get();
    dc->levels = 7;
    dc->day_s = dc->day_e = 0;
    if ((dc->ks = kstate(db)) == NULL)
        return -ENOMEM;
    if ((st = db_cached(db, SQL_MACHINE_LINE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        dc->line_id = sqlite3_column_int64(st, 0);
        dc->machine_ict = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(db, "machine line");
    return 0;
}

static int ict_at(struct devctx *dc, int64_t t, int64_t *ict)
{
    sqlite3_stmt *st;
    int rc;

    if (t >= dc->ict_from && t < dc->ict_to) {
        *ict = dc->ict;
        return 0;
    }
    if ((st = db_cached(dc->db, SQL_RUN_AT)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        dc->ict_from = sqlite3_column_int64(st, 0);
        dc->ict_to = sqlite3_column_type(st, 1) == SQLITE_NULL
                         ? INT64_MAX
                         : sqlite3_column_int64(st, 1);
        dc->ict = sqlite3_column_type(st, 2) == SQLITE_NULL ? dc->machine_ict
                                                            : sqlite3_column_int64(st, 2);
        sqlite3_reset(st);
    } else {
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_error(dc->db, "order run at");
        /* Between runs: the machine's own, up to the next run. */
        dc->ict = dc->machine_ict;
        dc->ict_from = INT64_MIN;
        dc->ict_to = INT64_MAX;
        if ((st = db_cached(dc->db, SQL_RUN_NEXT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL)
            dc->ict_to = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return db_error(dc->db, "order run next");
        if ((st = db_cached(dc->db, SQL_RUN_PREV)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL)
            dc->ict_from = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return db_error(dc->db, "order run prev");
        if (dc->ict_from > t)
            dc->ict_from = t;
    }
    *ict = dc->ict;
    return 0;
}

int rollup_ict_at(struct db *db, const char *dev, int64_t t, int64_t *ict)
{
    struct devctx dc;
    int rc;

    *ict = 0;
    if ((rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    return ict_at(&dc, t, ict);
}

static int count_event(struct devctx *dc, int64_t t, int64_t good, int64_t scrap)
{
    int64_t v[RC_NMIN], ict;
    int rc;

    if (good == 0 && scrap == 0)
        return 0;
    if ((rc = ict_at(dc, t, &ict)) != 0)
        return rc;
    memset(v, 0, sizeof(v));
    v[RC_GOOD] = good;
    v[RC_SCRAP] = scrap;
    if (ict > 0)
        v[RC_IDEAL] = (good + scrap) * ict;
    else
        v[RC_NOICT] = good + scrap;
    return acc_add(dc, tz_floordiv(t, MIN_MS) * MIN_MS, v);
}

/* ---- interval rows -------------------------------------------------------- */

static int trk_load(struct devctx *dc, struct trk *T)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_TRACK_GET);
    int rc;

    memset(T, 0, sizeof(*T));
    T->chain = -1;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        T->exists = 1;
        T->start = sqlite3_column_int64(st, 0);
        col_text(st, 1, T->state, sizeof(T->state));
        col_text(st, 2, T->reason, sizeof(T->reason));
        T->last = sqlite3_column_int64(st, 3);
        T->chain =
            sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
        T->maxlen = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(dc->db, "track load");
}

static int trk_save(struct devctx *dc, const struct trk *T)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_TRACK_PUT);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, T->start);
    sqlite3_bind_text(st, 3, T->state, -1, SQLITE_STATIC);
    bind_text(st, 4, T->reason);
    sqlite3_bind_int64(st, 5, T->last);
    if (T->chain >= 0)
        sqlite3_bind_int64(st, 6, T->chain);
    sqlite3_bind_int64(st, 7, T->maxlen);
    return step_done(dc->db, st, "track save");
}

static int ivl_open(struct devctx *dc, int64_t start, const char *state,
                    const char *reason)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_IVL_OPEN);
    const char *keep = NULL;
    size_t i;

    if (st == NULL)
        return LB_E_DB;
    for (i = 0; i < dc->nkeep; i++)
        if (dc->keep[i].start == start)
            keep = dc->keep[i].reason;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, start);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_TRANSIENT);
    bind_text(st, 4, reason);
    bind_text(st, 5, keep);
    return step_done(dc->db, st, "interval open");
}

/* Runs sql with ?1 the machine, ?2 a and, when it has one, ?3 b. */
static int ivl_exec2(struct devctx *dc, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = db_cached(dc->db, sql);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_int64(st, 3, b);
    return step_done(dc->db, st, "interval");
}

static int ivl_set_cat(struct devctx *dc, int64_t start, int cat, int nstop, int nmicro)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_IVL_CAT);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, start);
    sqlite3_bind_int(st, 3, cat);
    sqlite3_bind_int(st, 4, nstop);
    sqlite3_bind_int(st, 5, nmicro);
    return step_done(dc->db, st, "interval category");
}

static void piece_row(sqlite3_stmt *st, struct piece *p)
{
    memset(p, 0, sizeof(*p));
    p->start = sqlite3_column_int64(st, 0);
    p->end = sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MAX
                                                       : sqlite3_column_int64(st, 1);
    col_text(st, 2, p->state, sizeof(p->state));
    col_text(st, 3, p->reason, sizeof(p->reason));
    p->cat = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
}

/* Intervals of dev starting in [from, to), in order.  OUT: *out (free). */
static int pieces(struct devctx *dc, int64_t from, int64_t to, struct piece **out,
                  size_t *n)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_IVL_RANGE);
    struct piece *v = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (LB_GROW(v, &cap, *n, 16) != 0) {
            sqlite3_reset(st);
            free(v);
            return -ENOMEM;
        }
        piece_row(st, &v[*n]);
        v[*n].nstop = sqlite3_column_int(st, 5);
        v[*n].nmicro = sqlite3_column_int(st, 6);
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return db_error(dc->db, "intervals");
    }
    *out = v;
    return 0;
}

/* One interval by a two-parameter lookup; OUT: p.  0, -ENOENT or LB_E_DB. */
static int piece_at(struct devctx *dc, const char *sql, int64_t a, int64_t b,
                    struct piece *p)
{
    sqlite3_stmt *st = db_cached(dc->db, sql);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    if (sql == SQL_IVL_ENDING)
        sqlite3_bind_int64(st, 3, b);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        piece_row(st, p);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(dc->db, "interval lookup");
}

static int reason_planned(struct devctx *dc, const char *code, int *planned)
{
    sqlite3_stmt *st = db_cached(dc->db, SQL_REASON_PLANNED);
    int rc;

    *planned = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *planned = sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(dc->db, "reason");
}

/* ---- the interval builder ---------------------------------------------------- */

/* Closes the open interval at end.  A stop interval waits for its stop to
 * end; any other goes into the rollups now. */
static int sm_close_piece(struct devctx *dc, struct trk *T, int64_t end)
{
    enum roll_cat cat;
    int rc;

    if (end <= T->start) {
        /* Nothing happened in it: another event at the same instant. */
        return ivl_exec2(dc, SQL_IVL_DELETE, T->start, 0);
    }
    if ((rc = ivl_exec2(dc, SQL_IVL_CLOSE, T->start, end)) != 0)
        return rc;
    if (end - T->start > T->maxlen)
        T->maxlen = end - T->start;
    if (roll_is_stop(T->state))
        return 0;
    cat = roll_state_cat(T->state);
    if ((rc = ivl_set_cat(dc, T->start, cat, 0, 0)) != 0)
        return rc;
    return roll_span(dc, T->start, end, cat, 1);
}

/*
 * Judges the stop made of the intervals starting in [from, to) (all
 * closed) and adds them to the rollups (sign 1), or removes what they
 * added (sign -1, using the stored judgement).  A stop shorter than
 * micro_stop_s is a micro-stop whatever its reasons; otherwise each
 * interval is planned (a planned reason), down (a reason) or unexplained.
 * The first interval carries the stop's count.
 */
static int chain_judge(struct devctx *dc, int64_t from, int64_t to, int sign)
{
    struct piece *p = NULL;
    size_t n = 0, i;
    int micro, unplanned = 0, planned, rc;

    if ((rc = pieces(dc, from, to, &p, &n)) != 0)
        return rc;
    if (n == 0)
        goto out;
    if (sign < 0) {
        for (i = 0; i < n; i++) {
            if (p[i].cat < 0)
                continue;
            if ((rc = roll_span(dc, p[i].start, p[i].end, p[i].cat, -1)) != 0 ||
                (rc = roll_piece_counts(dc, p[i].start, p[i].nstop, p[i].nmicro, -1)) !=
                    0)
                goto out;
        }
        goto out;
    }
    micro = p[n - 1].end - p[0].start < dc->pl->micro_ms;
    for (i = 0; i < n; i++) {
        if (micro) {
            p[i].cat = CAT_MICRO;
        } else if (p[i].reason[0] == '\0') {
            p[i].cat = CAT_UNEXPL;
        } else {
            if ((rc = reason_planned(dc, p[i].reason, &planned)) != 0)
                goto out;
            p[i].cat = planned ? CAT_MSTOP : CAT_DOWN;
        }
        unplanned |= p[i].cat == CAT_DOWN || p[i].cat == CAT_UNEXPL;
    }
    for (i = 0; i < n; i++) {
        int nstop = i == 0 && unplanned, nmicro = i == 0 && micro;

        if ((rc = ivl_set_cat(dc, p[i].start, p[i].cat, nstop, nmicro)) != 0 ||
            (rc = roll_span(dc, p[i].start, p[i].end, p[i].cat, 1)) != 0 ||
            (rc = roll_piece_counts(dc, p[i].start, nstop, nmicro, 1)) != 0)
            goto out;
    }
out:
    free(p);
    return rc;
}

static int sm_close_chain(struct devctx *dc, struct trk *T, int64_t end)
{
    int64_t from = T->chain;

    T->chain = -1;
    if (from < 0)
        return 0;
    return chain_judge(dc, from, end, 1);
}

static int sm_open(struct devctx *dc, struct trk *T, int64_t t, const char *state,
                   const char *reason)
{
    T->start = t;
    snprintf(T->state, sizeof(T->state), "%s", state);
    snprintf(T->reason, sizeof(T->reason), "%s", reason);
    if (roll_is_stop(state) && T->chain < 0)
        T->chain = t;
    return ivl_open(dc, t, state, reason);
}

/* One event at t (t >= T->last) of the machine: a state change, or just a
 * sign of life that ends a silence. */
static int sm_event(struct devctx *dc, struct trk *T, int64_t t, int is_state,
                    const char *state, const char *reason)
{
    int rc;

    if (!T->exists) {
        T->exists = 1;
        T->last = t;
        T->chain = -1;
        T->maxlen = 0;
        return sm_open(dc, T, t, is_state ? state : "nodata", is_state ? reason : "");
    }
    if (t - T->last > dc->pl->timeout_ms) {
        /* A silence: unknown time from the last sign of life, then the
         * machine resumes in the state it was in unless told otherwise. */
        int64_t g = T->last;
        char st[16], rs[LB_CODE_MAX + 1];

        snprintf(st, sizeof(st), "%s", T->state);
        snprintf(rs, sizeof(rs), "%s", T->reason);
        if ((rc = sm_close_piece(dc, T, g)) != 0)
            return rc;
        if (T->chain >= 0 && (rc = sm_close_chain(dc, T, g)) != 0)
            return rc;
        if ((rc = ivl_exec2(dc, SQL_IVL_GAP, g, t)) != 0)
            return rc;
        if (t - g > T->maxlen)
            T->maxlen = t - g;
        if ((rc = sm_open(dc, T, t, st, rs)) != 0)
            return rc;
    }
    if (is_state && (strcmp(state, T->state) != 0 || strcmp(reason, T->reason) != 0)) {
        if ((rc = sm_close_piece(dc, T, t)) != 0)
            return rc;
        if (T->chain >= 0 && !roll_is_stop(state) && (rc = sm_close_chain(dc, T, t)) != 0)
            return rc;
        if ((rc = sm_open(dc, T, t, state, reason)) != 0)
            return rc;
    }
    if (t > T->last)
        T->last = t;
    return 0;
}

/* A late event (t < T->last) changes the intervals when it is a state event
 * that differs from the interval holding it, or when it lands in a silence
 * or before the first interval. */
static int needs_rebuild(struct devctx *dc, const struct trk *T, int64_t t, int is_state,
                         const char *state, const char *reason, int *yes)
{
    struct piece p;
    int rc;

    *yes = 0;
    rc = piece_at(dc, SQL_IVL_AT, t, 0, &p);
    if (rc == -ENOENT) {
        *yes = 1;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (strcmp(p.state, "nodata") == 0 && p.end > t) {
        *yes = 1;
        return 0;
    }
    if (is_state && (strcmp(p.state, state) != 0 || strcmp(p.reason, reason) != 0))
        *yes = 1;
    (void)T;
    return 0;
}

/*
 * Re-derives the intervals from `from` on.  It restarts at a point where
 * the builder's state is known from the stored intervals alone: the start
 * of the interval holding `from` (of the interval before, when that is a
 * silence), or of its whole stop.  What those intervals had added to the
 * rollups is removed first; people's reasons are carried over by start.
 */
static int rebuild(struct devctx *dc, struct trk *T, int64_t from)
{
    struct piece p, q;
    struct piece *old = NULL;
    sqlite3_stmt *st;
    int64_t s0, maxlen;
    size_t n = 0, i;
    int rc, have;

    rc = piece_at(dc, SQL_IVL_AT, from, 0, &p);
    if (rc != 0 && rc != -ENOENT)
        return rc;
    have = rc == 0;
    if (have && strcmp(p.state, "nodata") == 0) {
        rc = piece_at(dc, SQL_IVL_ENDING, p.start, T->maxlen, &q);
        if (rc != 0 && rc != -ENOENT)
            return rc;
        if (rc == 0)
            p = q;
    }
    if (have) {
        while (roll_is_stop(p.state)) {
            rc = piece_at(dc, SQL_IVL_ENDING, p.start, T->maxlen, &q);
            if (rc == -ENOENT || (rc == 0 && !roll_is_stop(q.state)))
                break;
            if (rc != 0)
                return rc;
            p = q;
        }
    }
    s0 = have ? p.start : from;

    /* Undo what the intervals from s0 on added, keeping people's reasons. */
    if ((rc = pieces(dc, s0, INT64_MAX, &old, &n)) != 0)
        return rc;
    for (i = 0; i < n; i++) {
        if (old[i].cat < 0)
            continue;
        if ((rc = roll_span(dc, old[i].start, old[i].end, old[i].cat, -1)) != 0 ||
            (rc = roll_piece_counts(dc, old[i].start, old[i].nstop, old[i].nmicro, -1)) !=
                0)
            goto out;
    }
    free(old);
    old = NULL;
    if ((st = db_cached(dc->db, SQL_IVL_FROM)) == NULL) {
        rc = LB_E_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct keep *nk = realloc(dc->keep, (dc->nkeep + 1) * sizeof(*nk));

        if (nk == NULL) {
            sqlite3_reset(st);
            rc = -ENOMEM;
            goto out;
        }
        dc->keep = nk;
        nk[dc->nkeep].start = sqlite3_column_int64(st, 0);
        nk[dc->nkeep].reason = strdup((const char *)sqlite3_column_text(st, 1));
        if (nk[dc->nkeep].reason == NULL) {
            sqlite3_reset(st);
            rc = -ENOMEM;
            goto out;
        }
        dc->nkeep++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rc = db_error(dc->db, "kept reasons");
        goto out;
    }
    if ((rc = ivl_exec2(dc, SQL_IVL_DEL_FROM, s0, 0)) != 0)
        goto out;

    /* Restart the builder at s0 and replay.  maxlen only grows: it bounds
     * the lookups of intervals by their start. */
    maxlen = T->maxlen;
    memset(T, 0, sizeof(*T));
    T->chain = -1;
    T->maxlen = maxlen;
    if (have) {
        T->exists = 1;
        T->last = s0;
        if ((rc = sm_open(dc, T, s0, p.state, p.reason)) != 0)
            goto out;
    }
    if ((st = db_cached(dc->db, SQL_EVENTS_FROM)) == NULL) {
        rc = LB_E_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        char state[16], reason[LB_CODE_MAX + 1];
        int is_state = type != NULL && strcmp(type, "state") == 0;

        col_text(st, 2, state, sizeof(state));
        col_text(st, 3, reason, sizeof(reason));
        if ((rc = sm_event(dc, T, t, is_state, state, reason)) != 0) {
            sqlite3_reset(st);
            goto out;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rc = db_error(dc->db, "replay");
        goto out;
    }
    rc = 0;
out:
    free(old);
    for (i = 0; i < dc->nkeep; i++)
        free(dc->keep[i].reason);
    free(dc->keep);
    dc->keep = NULL;
    dc->nkeep = 0;
    return rc;
}

/* ---- scans -------------------------------------------------------------------- */

static int add_scrap(struct devctx *dc, int64_t t, int64_t qty, const char *reason,
                     const char *source)
{
    sqlite3_stmt *st;
    int64_t v[RC_NMIN];
    int rc;

    if (qty <= 0)
        return 0;
    if ((st = db_cached(dc->db, SQL_SCRAP_INSERT)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t);
    sqlite3_bind_int64(st, 3, qty);
    bind_text(st, 4, reason);
    sqlite3_bind_text(st, 5, source, -1, SQLITE_TRANSIENT);
    if ((rc = step_done(dc->db, st, "scrap entry")) != 0)
        return rc;
    /* The machine counted these parts as good; inspection says not. */
    memset(v, 0, sizeof(v));
    v[RC_GOOD] = -qty;
    v[RC_SCRAP] = qty;
    return acc_add(dc, tz_floordiv(t, MIN_MS) * MIN_MS, v);
}

static int scan_event(struct devctx *dc, const struct trk *T, int64_t t,
                      const struct lb_scan *s, const char *agent)
{
    const char *what = s->value[0] ? s->value : s->code;
    sqlite3_stmt *st;
    int64_t id;
    int rc;

    (void)T;
    switch (s->kind) {
    case LB_SCAN_ORDER_START:
        /* The order that ran here ends; paused unless it runs elsewhere. */
        if ((rc = ivl_exec2(dc, SQL_RUN_CLOSE, t, 0)) != 0 ||
            (rc = ivl_exec2(dc, SQL_ORDERS_PAUSE, t, t)) != 0)
            return rc;
        if ((st = db_cached(dc->db, SQL_ORDER_UPSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t);
        rc = sqlite3_step(st);
        id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return db_error(dc->db, "order upsert");
        if ((st = db_cached(dc->db, SQL_RUN_INSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t);
        if ((rc = step_done(dc->db, st, "order run")) != 0)
            return rc;
        dc->ict_from = dc->ict_to = 0; /* the product may have changed */
        return 0;
    case LB_SCAN_ORDER_END:
        if ((st = db_cached(dc->db, what[0] ? SQL_RUN_CLOSE_ORDER : SQL_RUN_CLOSE)) ==
            NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t);
        if (what[0])
            sqlite3_bind_text(st, 3, what, -1, SQLITE_STATIC);
        if ((rc = step_done(dc->db, st, "order run end")) != 0)
            return rc;
        if ((st = db_cached(dc->db, SQL_ORDERS_PAUSE)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, t);
        sqlite3_bind_int64(st, 3, t);
        dc->ict_from = dc->ict_to = 0;
        return step_done(dc->db, st, "order pause");
    case LB_SCAN_OPERATOR:
        if ((rc = ivl_exec2(dc, SQL_OPRUN_CLOSE, t, 0)) != 0)
            return rc;
        if ((st = db_cached(dc->db, SQL_OPERATOR_UPSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return db_error(dc->db, "operator upsert");
        if ((st = db_cached(dc->db, SQL_OPRUN_INSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t);
        return step_done(dc->db, st, "operator run");
    case LB_SCAN_DOWNTIME_REASON: {
        char who[LB_ID_MAX + 16];

        snprintf(who, sizeof(who), "scan:%s", agent);
        rc = set_reason(dc, t, what, who, t, REASON_WINDOW);
        if (rc == -ENOENT)
            log_info("rollup: %s: reason %s scanned with no stop to explain", dc->dev,
                     what);
        return rc == -ENOENT ? 0 : rc;
    }
    case LB_SCAN_SCRAP:
        return add_scrap(dc, t, s->has_qty ? s->qty : 1, what, "scan");
    case LB_SCAN_UNKNOWN:
    case LB_SCAN_COUNT:
        break;
    }
    return 0;
}

/*
 * Sets the reason of the stop holding `at`, or of the last stop that ended
 * at most `window` ms before it, and re-judges that stop if it is over.
 */
static int set_reason(struct devctx *dc, int64_t at, const char *reason, const char *who,
                      int64_t now, int64_t window)
{
    struct piece p, q, *pc = NULL;
    struct trk T;
    sqlite3_stmt *st;
    int64_t c0, c1;
    size_t n = 0, i;
    int rc, closed;

    if ((rc = trk_load(dc, &T)) != 0)
        return rc;
    if ((rc = piece_at(dc, SQL_IVL_AT, at, 0, &p)) != 0)
        return rc;
    if (!roll_is_stop(p.state)) {
        /* Just after a stop: the one that ended before this interval. */
        if (window <= 0 || at - p.start > window)
            return -ENOENT;
        if ((rc = piece_at(dc, SQL_IVL_ENDING, p.start, T.maxlen, &q)) != 0)
            return rc;
        if (!roll_is_stop(q.state))
            return -ENOENT;
        p = q;
    }
    /* The stop's extent: consecutive idle and down intervals. */
    c0 = p.start;
    for (;;) {
        rc = piece_at(dc, SQL_IVL_ENDING, c0, T.maxlen, &q);
        if (rc == -ENOENT || (rc == 0 && !roll_is_stop(q.state)))
            break;
        if (rc != 0)
            return rc;
        c0 = q.start;
    }
    c1 = p.end;
    while (c1 != INT64_MAX) {
        rc = piece_at(dc, SQL_IVL_NEXT, c1, 0, &q);
        if (rc == -ENOENT || (rc == 0 && !roll_is_stop(q.state)))
            break;
        if (rc != 0)
            return rc;
        c1 = q.end;
    }
    /* The open stop (its last interval has no end) is judged when it ends. */
    closed = c1 != INT64_MAX;

    if ((rc = pieces(dc, c0, c1 == INT64_MAX ? INT64_MAX : c1, &pc, &n)) != 0)
        return rc;
    if (n > 0) {
        if ((st = db_cached(dc->db, SQL_AUDIT)) == NULL) {
            rc = LB_E_DB;
            goto out;
        }
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c0);
        bind_text(st, 3, pc[0].reason);
        bind_text(st, 4, reason);
        sqlite3_bind_text(st, 5, who, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, now);
        if ((rc = step_done(dc->db, st, "reason audit")) != 0)
            goto out;
    }
    if (closed && (rc = chain_judge(dc, c0, c1, -1)) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        if ((st = db_cached(dc->db, SQL_IVL_SET_REASON)) == NULL) {
            rc = LB_E_DB;
            goto out;
        }
        sqlite3_bind_text(st, 1, dc->dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, pc[i].start);
        bind_text(st, 3, reason);
        if ((rc = step_done(dc->db, st, "set reason")) != 0)
            goto out;
    }
    if (closed)
        rc = chain_judge(dc, c0, c1, 1);
out:
    free(pc);
    return rc;
}

/* ---- entry points ------------------------------------------------------------- */

/* Applies the fresh events of one machine: b->events[idx[0..n)], in
 * batch order. */
static int apply_dev(struct db *db, const struct lb_batch *b, int64_t recv_ms,
                     const unsigned char *fresh, const size_t *idx, size_t n)
{
    struct devctx dc;
    struct trk T;
    int64_t late = INT64_MAX;
    size_t k, i;
    int rc, yes;

    if ((rc = dev_begin(&dc, db, b->events[idx[0]].dev)) != 0)
        return rc;
    if ((rc = trk_load(&dc, &T)) != 0)
        return rc;
    for (k = 0; k < n; k++) {
        const struct lb_event *e = &b->events[i = idx[k]];
        /* The same dating as db.c's store_event (design.md). */
        int64_t t = b->synced ? e->t : recv_ms - e->age;
        int is_state = e->type == LB_EV_STATE;
        const char *state = is_state ? lb_state_name(e->u.state.state) : "";
        const char *reason = is_state ? e->u.state.reason : "";

        if (!fresh[i])
            continue;
        if (e->type == LB_EV_COUNT &&
            (rc = count_event(&dc, t, e->u.count.good, e->u.count.scrap)) != 0)
            goto fail;
        if (T.exists && t < T.last) {
            if (t < late) {
                if ((rc = needs_rebuild(&dc, &T, t, is_state, state, reason, &yes)) != 0)
                    goto fail;
                if (yes)
                    late = t;
            }
        } else if ((rc = sm_event(&dc, &T, t, is_state, state, reason)) != 0) {
            goto fail;
        }
        /* After the interval moved (and saved, since set_reason reads it),
         * so a reason finds the stop it explains. */
        if (e->type == LB_EV_SCAN) {
            if ((rc = trk_save(&dc, &T)) != 0 ||
                (rc = scan_event(&dc, &T, t, &e->u.scan, b->agent)) != 0)
                goto fail;
        }
    }
    if ((rc = trk_save(&dc, &T)) != 0)
        goto fail;
    if (late != INT64_MAX) {
        if ((rc = rebuild(&dc, &T, late)) != 0)
            goto fail;
        if ((rc = trk_save(&dc, &T)) != 0)
            goto fail;
    }
    return acc_flush(&dc);
fail:
    acc_clear(&dc); /* the caller rolls the message back */
    return rc;
}

/*
 * An agent's batch interleaves its machines (one poll reads them all), so
 * the events are grouped by machine first: one track, one calendar lookup
 * and one flush per machine and batch, not per event.
 */
int rollup_batch(struct db *db, const struct lb_batch *b, int64_t recv_ms,
                 const unsigned char *fresh)
{
    unsigned char taken[LB_WIRE_MAX_EVENTS];
    size_t idx[LB_WIRE_MAX_EVENTS];
    size_t i, j, n;
    int rc;

    if (b->n > LB_WIRE_MAX_EVENTS)
        return LB_E_TOOBIG;
    if ((rc = rollup_sync(db)) != 0)
        return rc;
    memset(taken, 0, b->n);
    for (i = 0; i < b->n; i++) {
        if (taken[i] || !fresh[i])
            continue;
        for (n = 0, j = i; j < b->n; j++) {
            if (!taken[j] && fresh[j] &&
                strcmp(b->events[j].dev, b->events[i].dev) == 0) {
                taken[j] = 1;
                idx[n++] = j;
            }
        }
        if ((rc = apply_dev(db, b, recv_ms, fresh, idx, n)) != 0)
            return rc;
    }
    return 0;
}

int rollup_rebuild(struct db *db, const char *dev, int64_t from)
{
    struct devctx dc;
    struct trk T;
    int rc;

    if ((rc = rollup_sync(db)) != 0 || (rc = dev_begin(&dc, db, dev)) != 0 ||
        (rc = trk_load(&dc, &T)) != 0)
        return rc;
    if ((rc = rebuild(&dc, &T, from)) == 0 && T.exists)
        rc = trk_save(&dc, &T);
    if (rc == 0)
        return acc_flush(&dc);
    acc_clear(&dc);
    return rc;
}

int rollup_set_reason(struct db *db, const char *dev, int64_t at, const char *reason,
                      const char *who, int64_t now)
{
    struct devctx dc;
    int rc;

    if ((rc = rollup_sync(db)) != 0 || (rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    rc = set_reason(&dc, at, reason, who, now, 0);
    if (rc == 0)
        return acc_flush(&dc);
    acc_clear(&dc);
    return rc;
}

int rollup_add_scrap(struct db *db, const char *dev, int64_t t, int64_t qty,
                     const char *reason, const char *source)
{
    struct devctx dc;
    int rc;

    if ((rc = rollup_sync(db)) != 0 || (rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    if ((rc = add_scrap(&dc, t, qty, reason, source)) == 0)
        return acc_flush(&dc);
    acc_clear(&dc);
    return rc;
}

int rollup_line_of(struct db *db, const char *dev, int64_t *line_id)
{
    struct devctx dc;
    int rc;

    *line_id = 0;
    if ((rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    *line_id = dc.line_id;
    return 0;
}

int rollup_recount(struct db *db, const char *dev, int64_t from, int64_t to)
{
    int64_t m0 = tz_floordiv(from, MIN_MS) * MIN_MS;
    int64_t m1 = -tz_floordiv(-to, MIN_MS) * MIN_MS;
    struct devctx dc;
    sqlite3_stmt *st;
    int64_t v[RC_NMIN];
    int rc, i;

    if (m1 <= m0)
        return 0;
    if ((rc = rollup_sync(db)) != 0 || (rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    /* Take out what the minutes hold... */
    if ((st = db_cached(db, SQL_MINUTES)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m0);
    sqlite3_bind_int64(st, 3, m1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(v, 0, sizeof(v));
        for (i = RC_GOOD; i <= RC_NOICT; i++)
            v[i] = -sqlite3_column_int64(st, 1 + i);
        if ((rc = acc_add(&dc, sqlite3_column_int64(st, 0), v)) != 0)
            break;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        acc_clear(&dc);
        return rc == SQLITE_ROW || rc > 0 ? db_error(db, "recount minutes") : rc;
    }
    /* ...and put back what the events say now. */
    if ((st = db_cached(db, SQL_COUNT_EVENTS)) == NULL) {
        acc_clear(&dc);
        return LB_E_DB;
    }
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m0);
    sqlite3_bind_int64(st, 3, m1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = count_event(&dc, sqlite3_column_int64(st, 0),
                              sqlite3_column_int64(st, 1),
                              sqlite3_column_int64(st, 2))) != 0)
            break;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        acc_clear(&dc);
        return rc == SQLITE_ROW || rc > 0 ? db_error(db, "recount events") : rc;
    }
    if ((st = db_cached(db, SQL_SCRAP_RANGE)) == NULL) {
        acc_clear(&dc);
        return LB_E_DB;
    }
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, m0);
    sqlite3_bind_int64(st, 3, m1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t q = sqlite3_column_int64(st, 1);

        memset(v, 0, sizeof(v));
        v[RC_GOOD] = -q;
        v[RC_SCRAP] = q;
        if ((rc = acc_add(&dc, tz_floordiv(sqlite3_column_int64(st, 0), MIN_MS) * MIN_MS,
                          v)) != 0)
            break;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        acc_clear(&dc);
        return rc == SQLITE_ROW || rc > 0 ? db_error(db, "recount scrap") : rc;
    }
    return acc_flush(&dc);
}

/* Recomputes one machine's hour and day rows over days [d0, d1]. */
static int recal_dev(struct db *db, const char *dev, int64_t d0, int64_t d1)
{
    const struct cal_clock *ck = &plant_get()->clock;
    int64_t a = cal_day_start(ck, d0), b = cal_day_start(ck, d1 + 1);
    int64_t ha = tz_floordiv(a, HOUR_MS) * HOUR_MS;
    int64_t hb = tz_floordiv(b + HOUR_MS - 1, HOUR_MS) * HOUR_MS;
    struct devctx dc;
    sqlite3_stmt *st;
    int64_t v[RC_NMIN];
    int rc, i;

    if ((rc = dev_begin(&dc, db, dev)) != 0)
        return rc;
    /* The line's days lose what this machine's days held. */
    if ((st = db_cached(db, SQL_DAYS_OF_DEV)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d0);
    sqlite3_bind_int64(st, 3, d1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct acc_ent *l = acc_slot(dc.ks, 3, sqlite3_column_int64(st, 0));

        if (l == NULL) {
            sqlite3_reset(st);
            acc_clear(&dc);
            return -ENOMEM;
        }
        for (i = 0; i < RC_N; i++)
            l->v[i] -= sqlite3_column_int64(st, 1 + i);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        acc_clear(&dc);
        return db_error(db, "days of machine");
    }
    if ((st = db_cached(db, SQL_HOUR_DELETE)) == NULL) {
        acc_clear(&dc);
        return LB_E_DB;
    }
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ha);
    sqlite3_bind_int64(st, 3, hb);
    if ((rc = step_done(db, st, "hour delete")) != 0)
        return rc;
    if ((st = db_cached(db, SQL_DAY_DELETE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d0);
    sqlite3_bind_int64(st, 3, d1);
    if ((rc = step_done(db, st, "day delete")) != 0)
        return rc;

    /* Minutes in [ha, hb) feed the hours; those in [a, b) the days. */
    if ((st = db_cached(db, SQL_MINUTES)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ha);
    sqlite3_bind_int64(st, 3, hb);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t m = sqlite3_column_int64(st, 0);

        for (i = 0; i < RC_NMIN; i++)
            v[i] = sqlite3_column_int64(st, 1 + i);
        dc.levels = 2 | (m >= a && m < b ? 4 : 0);
        if ((rc = acc_add(&dc, m, v)) != 0) {
            sqlite3_reset(st);
            acc_clear(&dc);
            return rc;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        acc_clear(&dc);
        return db_error(db, "minutes");
    }
    return acc_flush(&dc);
}

int rollup_move_line(struct db *db, const char *dev, int64_t from_line, int64_t to_line)
{
    sqlite3_stmt *st;
    int rc;

    if (from_line == to_line)
        return 0;
    if ((st = db_cached(db, SQL_LINE_OUT)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_line);
    if ((rc = step_done(db, st, "line out")) != 0)
        return rc;
    if ((st = db_cached(db, SQL_LINE_IN)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, to_line);
    return step_done(db, st, "line in");
}

int rollup_recalendar_dev(struct db *db, const char *dev, int64_t day0, int64_t day1)
{
    int rc;

    if ((rc = rollup_sync(db)) != 0)
        return rc;
    return recal_dev(db, dev, day0, day1);
}

int rollup_recalendar(struct db *db, int64_t line_id, int64_t day0, int64_t day1)
{
    sqlite3_stmt *st;
    char **devs = NULL;
    size_t n = 0, i;
    int rc;

    if ((rc = rollup_sync(db)) != 0)
        return rc;
    if ((st = db_cached(db, SQL_DEVS_OF_LINE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, line_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **nd = realloc(devs, (n + 1) * sizeof(*nd));

        if (nd == NULL ||
            (nd[n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL) {
            if (nd != NULL)
                devs = nd;
            rc = -ENOMEM;
            break;
        }
        devs = nd;
        n++;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc != -ENOMEM)
        rc = db_error(db, "machines of line");
    for (i = 0; i < n && rc == 0; i++)
        rc = recal_dev(db, devs[i], day0, day1);
    for (i = 0; i < n; i++)
        free(devs[i]);
    free(devs);
    return rc;
}
