/*
 * The floor board; see board.h.
 *
 * A machine whose agent is offline has no current state: the board says
 * "offline" rather than show its last state as if it were live (design.md:
 * offline is not down).  Tiles keep the machines' id order so that each
 * stays in its place on a TV.
 *
 * Speed: today's output of 200 machines, each one's shift OEE and its
 * order's progress through the KPI engine take 10-40 ms, far more than
 * the rest of a page.  So the
 * figures are computed at most once per BOARD_CACHE_MS for the whole
 * process, into a snapshot that holds the tiles and the JSON twin already
 * rendered (struct snap).  Every web thread shares it: a request costs the
 * session lookup and copying the page, whatever the number of TVs,
 * browsers and API clients (docs/benchmarks.md).  A background thread
 * (the refresher, with its own read-only connection) makes the next
 * snapshot when a request finds the current one too old, and the requests
 * keep serving the current one meanwhile, so a refresh never stalls a web
 * thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "csv.h"
#include "db_kpi.h"
#include "db_master.h"
#include "kpi.h"
#include "layout.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"
#include "linebeat/log.h"
#include "rollup.h"

/* A snapshot older than this is not served while a new one is made: the
 * request waits for the new one instead. */
#define BOARD_STALE_MS 10000
#define DAY_MS         86400000LL

/* The states in the order of the summary line. */
static const char *const states[] = {"running",      "idle",    "setup",  "down",
                                     "planned_stop", "offline", "unknown"};
#define NSTATES (sizeof(states) / sizeof(states[0]))

/* One machine as the board shows it: its row (state, output today, open
 * order) with its order's progress and its line's current shift. */
struct fig {
    struct db_machine m;
    int has_order;      /* order_qty and order_good are known */
    int64_t order_qty;  /* 0: the order has no quantity */
    int64_t order_good; /* every run's good parts, as /api/v1/orders/<id>/progress */
    int in_shift;       /* the line's calendar has a shift running now */
    char shift_name[CAL_NAME_MAX + 1]; /* "": a line without shifts (whole days) */
    int64_t shift_from, shift_to;      /* the whole shift instance */
    struct kpi_result k;               /* of [shift_from, made_ms) */
};

/* The board's figures at one moment, shared by every web thread.  Never
 * changed once published; freed by whoever drops the last reference. */
struct snap {
    unsigned refs; /* under snap_mu */
    int64_t made_ms, day;
    struct fig *f;
    size_t n, cap;
    struct buf tiles, json;
    unsigned count[NSTATES];
};

static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t snap_cv = PTHREAD_COND_INITIALIZER; /* a snapshot was made */
static pthread_cond_t want_cv = PTHREAD_COND_INITIALIZER; /* one is wanted */
static struct snap *snap_cur; /* the newest snapshot, or NULL */
static int snap_busy;         /* a thread is making the next one */
static int snap_wanted;       /* a request asked the refresher for one */
static int snap_stop;         /* board_stop: the refresher ends */
static pthread_t refresher_thread;
static int refresher_joinable; /* refresher_thread was started */
/* The refresher thread: 0 not started yet, 1 running, -1 none (it could
 * not start or stopped on an error): requests then make snapshots
 * themselves. */
static int refresher;

struct board_ctx {
    int64_t now_ms;
    struct csv csv;
};

static const char *shown_state(const struct db_machine *m, const char **reason,
                               int64_t *since);
static const char *state_class(const char *state);
static const char *state_word(const char *state);
static int collect(void *ctx, const struct db_machine *m);
static int order_progress(struct db *db, int64_t id, int64_t now, int64_t *qty,
                          int64_t *good);
static int shift_figures(struct db *db, struct fig *f, int64_t now);
static double round6(double v);
static void tile(struct buf *b, const struct fig *f, int64_t now_ms);
static void fig_json(struct buf *b, const struct fig *f, int first, int64_t now_ms);
static void csv_row(struct board_ctx *bc, const struct fig *f);
static struct snap *snap_make(struct db *db, int64_t now_ms, int64_t day,
                              int64_t day_end);
static void snap_free(struct snap *s);
static struct snap *snap_publish(struct snap *fresh);
static void *refresh_main(void *arg);
static int refresh_start(struct db *db);
static struct snap *snap_get(struct db *db, int64_t now_ms);
static void snap_put(struct snap *s);

static const char *shown_state(const struct db_machine *m, const char **reason,
                               int64_t *since)
{
    *reason = m->reason[0] ? m->reason : NULL;
    *since = m->state_since;
    if (!m->agent_online) {
        *reason = "agent offline";
        *since = m->last_seen;
        return "offline";
    }
    if (m->state[0] == '\0') {
        *reason = NULL;
        *since = -1;
        return "unknown";
    }
    return m->state;
}

/* A CSS class from a fixed list, never from the data itself. */
static const char *state_class(const char *state)
{
    static const char *const cls[] = {"st-running", "st-idle",    "st-setup",  "st-down",
                                      "st-planned", "st-offline", "st-unknown"};
    size_t i;

    for (i = 0; i < NSTATES; i++)
        if (strcmp(state, states[i]) == 0)
            return cls[i];
    return "st-unknown";
}

static const char *state_word(const char *state)
{
    return strcmp(state, "planned_stop") == 0 ? "planned stop" : state;
}

/* ---- figures ------------------------------------------------------------------ */

static int collect(void *ctx, const struct db_machine *m)
{
    struct snap *s = ctx;

    if (LB_GROW(s->f, &s->cap, s->n, 64) != 0)
        return -ENOMEM;
    memset(&s->f[s->n], 0, sizeof(s->f[s->n]));
    s->f[s->n++].m = *m;
    return 0;
}

/* Quantity and good parts of order id, summed exactly as the progress API
 * does (h_order_progress in api.c: every run, parts in shifts or not), so
 * a tile and the order page never disagree. */
static int order_progress(struct db *db, int64_t id, int64_t now, int64_t *qty,
                          int64_t *good)
{
    struct dbm_run *runs = NULL;
    struct kpi_group g;
    int64_t due;
    char status[16];
    size_t n = 0, i;
    int rc;

    *good = 0;
    if ((rc = dbm_order_head(db, id, qty, &due, status, sizeof(status))) != 0 ||
        (rc = dbm_order_runs(db, id, &runs, &n)) != 0)
        return rc;
    for (i = 0; i < n; i++) {
        memset(&g, 0, sizeof(g));
        g.from = runs[i].start;
        g.to = runs[i].end == INT64_MAX ? now : runs[i].end;
        if (g.to > g.from && (rc = kpi_machine(db, runs[i].dev, now, &g, 1)) != 0)
            break;
        *good += g.s.v[RC_GOOD] + g.s.v[RC_OGOOD];
    }
    free(runs);
    return rc;
}

/* The shift of f's line running at now (calendar P or B: a break is still
 * the shift), and the machine's OEE from its start up to now. */
static int shift_figures(struct db *db, struct fig *f, int64_t now)
{
    const struct cal_seg *segs;
    struct kpi_group g;
    size_t ns;
    int64_t line;
    long i;
    int rc;

    /* Two days back: the cached window then also holds the whole shift
     * that kpi_machine reads next. */
    if ((rc = rollup_sync(db)) != 0 || (rc = rollup_line_of(db, f->m.dev, &line)) != 0 ||
        (rc = rollup_segments(db, line, now - 2 * DAY_MS, now + 1, &segs, &ns)) != 0)
        return rc;
    i = cal_find(segs, ns, now);
    if (i < 0 || segs[i].cls == CAL_O)
        return 0;
    f->in_shift = 1;
    f->shift_from = segs[i].shift_start;
    f->shift_to = segs[i].shift_end;
    /* segs belongs to the connection's cache, which kpi_machine may
     * replace: copy what is needed first. */
    snprintf(f->shift_name, sizeof(f->shift_name), "%s",
             segs[i].shift_name ? segs[i].shift_name : "");
    memset(&g, 0, sizeof(g));
    g.from = f->shift_from;
    g.to = now;
    if (g.to > g.from && (rc = kpi_machine(db, f->m.dev, now, &g, 1)) != 0)
        return rc;
    kpi_derive(&g.s, &f->k);
    return 0;
}

/* The value the JSON carries (%.6f, as kpi_json): the tile rounds that
 * one, so a tile and its JSON twin always show the same percentage. */
static double round6(double v)
{
    char s[64];

    snprintf(s, sizeof(s), "%.6f", v);
    return strtod(s, NULL);
}

/* ---- rendering -------------------------------------------------------------------- */

static void tile(struct buf *b, const struct fig *f, int64_t now_ms)
{
    const struct db_machine *m = &f->m;
    const char *reason, *state;
    int64_t since;
    char dur[32], seen[32], at[32];
    double pct;

    state = shown_state(m, &reason, &since);
    buf_printf(b, "<section class=\"tile %s\" data-dev=\"", state_class(state));
    buf_html(b, m->dev);
    /* The link is inert on a TV (layout.c: body.tv), whose token opens no
     * other page; tiles are cached for both. */
    buf_puts(b, "\"><div class=\"dev\"><a href=\"/machines/");
    buf_html(b, m->dev);
    buf_puts(b, "\">");
    buf_html(b, m->dev);
    buf_printf(b, "</a></div><div><span class=\"badge %s\">", state_class(state));
    buf_html(b, state_word(state));
    buf_puts(b, "</span> ");
    if (reason != NULL) {
        buf_puts(b, "<span class=\"reason\">");
        buf_html(b, reason);
        buf_puts(b, "</span>");
    } else if (strcmp(state, "down") == 0) {
        buf_puts(b, "<span class=\"reason placeholder\">no reason yet</span>");
    }
    buf_puts(b, "</div><div class=\"dim since\">");
    if (since >= 0) {
        layout_duration(dur, sizeof(dur), now_ms - since);
        buf_puts(b, "for ");
        buf_html(b, dur);
    } else {
        buf_puts(b, "&nbsp;");
    }
    /* The open order and operator runs (started by scans or the API); a
     * tile says what it does not know rather than showing nothing. */
    buf_puts(b, "</div>");
    if (m->order[0] != '\0') {
        buf_puts(b, "<div class=\"order\">order ");
        buf_html(b, m->order);
        if (m->order_unplanned)
            buf_puts(b, " <span class=\"reason\">unplanned</span>");
        buf_puts(b, "</div>");
        /* Progress in numbers and words; the bar only repeats them. */
        if (f->has_order && f->order_qty > 0) {
            pct = 100.0 * (double)f->order_good / (double)f->order_qty;
            buf_printf(b,
                       "<div class=\"progress\" data-good=\"%" PRId64
                       "\" data-quantity=\"%" PRId64 "\"><span class=\"pgood\">",
                       f->order_good, f->order_qty);
            layout_int(b, f->order_good);
            buf_puts(b, "</span> / <span class=\"pqty\">");
            layout_int(b, f->order_qty);
            buf_printf(b,
                       "</span> good, <b>%.0f&nbsp;%%</b>%s<div class=\"bar%s\">"
                       "<span style=\"width:%.0f%%\"></span></div></div>",
                       pct, f->order_good >= f->order_qty ? " done" : "",
                       f->order_good >= f->order_qty ? " done" : "",
                       pct > 100.0 ? 100.0 : pct);
        } else if (f->has_order) {
            buf_printf(b,
                       "<div class=\"progress\" data-good=\"%" PRId64 "\">"
                       "<span class=\"pgood\">",
                       f->order_good);
            layout_int(b, f->order_good);
            buf_puts(b, "</span> good, <span class=\"placeholder\">no quantity"
                        "</span></div>");
        }
    } else {
        buf_puts(b, "<div class=\"order placeholder\">no order</div>");
    }
    if (m->operator_name[0] != '\0') {
        buf_puts(b, "<div class=\"operator\">operator ");
        buf_html(b, m->operator_name);
        buf_puts(b, "</div>");
    } else {
        buf_puts(b, "<div class=\"operator placeholder\">no operator</div>");
    }
    buf_puts(b, "<table><tr><td class=\"dim\">good</td><td class=\"dim\">scrap</td>"
                "<td class=\"dim\">shift OEE</td></tr><tr><td class=\"num good\">");
    layout_int(b, m->good);
    buf_puts(b, "</td><td class=\"num scrap\">");
    layout_int(b, m->scrap);
    /* The number is the word; its colour (three bands) only repeats it. */
    if (!f->in_shift) {
        buf_puts(b, "</td><td class=\"num oee placeholder\">no shift");
    } else if (!f->k.has_oee) {
        /* Say why there is no number (kpi.md: a ratio over 0 is null). */
        buf_printf(b, "</td><td class=\"num oee placeholder\">%s",
                   f->k.observed <= 0                           ? "no data"
                   : f->k.total == 0                            ? "no parts"
                   : !f->k.has_p && (f->k.flags & KPI_F_NO_ICT) ? "no cycle time"
                                                                : "n/a");
    } else {
        double v = round6(f->k.oee),
               shown = (double)(int64_t)(v * 100.0 + 0.5); /* v >= 0 */

        /* The band from the number shown: "85 %" is never amber. */
        buf_printf(b, "</td><td class=\"num oee %s\" data-oee=\"%.6f\">%.0f&nbsp;%%",
                   shown >= 85.0   ? "oee-hi"
                   : shown >= 60.0 ? "oee-mid"
                                   : "oee-lo",
                   v, shown);
    }
    buf_puts(b, "</td></tr></table>");
    if (f->in_shift) {
        layout_time(at, sizeof(at), f->shift_from);
        if (f->shift_name[0] != '\0') {
            buf_puts(b, "<div class=\"dim shift\">shift ");
            buf_html(b, f->shift_name);
        } else {
            buf_puts(b, "<div class=\"dim shift\">no shifts: day");
        }
        buf_puts(b, " since ");
        /* "2025-11-29 14:05": the time is enough on a board. */
        buf_html(b, strlen(at) > 11 ? at + 11 : at);
        buf_puts(b, "</div>");
    }
    buf_puts(b, "<div class=\"dim\">");
    buf_html(b, m->agent);
    if (m->last_seen >= 0) {
        layout_duration(seen, sizeof(seen), now_ms - m->last_seen);
        buf_puts(b, " &middot; seen ");
        buf_html(b, seen);
        buf_puts(b, " ago");
    } else {
        buf_puts(b, " &middot; never seen");
    }
    buf_puts(b, "</div></section>\n");
}

static void fig_json(struct buf *b, const struct fig *f, int first, int64_t now_ms)
{
    const struct db_machine *m = &f->m;
    const char *reason, *state;
    int64_t since;

    state = shown_state(m, &reason, &since);
    /* The API's names, as before the board had its own (offline's reason
     * is a code here). */
    if (!m->agent_online)
        reason = "agent_offline";
    buf_puts(b, first ? "\n" : ",\n");
    buf_puts(b, "{\"id\":");
    buf_json_str(b, m->dev);
    buf_puts(b, ",\"agent\":");
    buf_json_str(b, m->agent);
    buf_puts(b, ",\"state\":");
    buf_json_str(b, state);
    buf_puts(b, ",\"reason\":");
    buf_json_str(b, reason);
    buf_printf(b, ",\"good\":%" PRId64 ",\"scrap\":%" PRId64 ",\"last_seen\":", m->good,
               m->scrap);
    buf_json_time(b, m->last_seen);
    buf_puts(b, ",\"state_since\":");
    buf_json_time(b, m->state_since);
    buf_puts(b, ",\"order\":");
    buf_json_str(b, m->order[0] ? m->order : NULL);
    buf_printf(b, ",\"order_unplanned\":%s,\"operator\":",
               m->order_unplanned ? "true" : "false");
    buf_json_str(b, m->operator_name[0] ? m->operator_name : NULL);
    if (f->has_order)
        buf_printf(b,
                   ",\"order_id\":%" PRId64 ",\"order_quantity\":%" PRId64
                   ",\"order_good\":%" PRId64,
                   m->order_id, f->order_qty, f->order_good);
    else
        buf_puts(b, ",\"order_id\":null,\"order_quantity\":null,\"order_good\":null");
    buf_puts(b, ",\"shift\":");
    if (f->in_shift) {
        buf_puts(b, "{\"name\":");
        buf_json_str(b, f->shift_name[0] ? f->shift_name : NULL);
        buf_puts(b, ",\"from\":");
        buf_json_time(b, f->shift_from);
        buf_puts(b, ",\"to\":");
        buf_json_time(b, f->shift_to);
        /* %.6f as the OEE report (kpi_json), so the two compare equal. */
        buf_puts(b, f->k.has_oee ? "" : ",\"oee\":null");
        if (f->k.has_oee)
            buf_printf(b, ",\"oee\":%.6f", f->k.oee);
        if (f->k.has_a)
            buf_printf(b, ",\"availability\":%.6f", f->k.availability);
        else
            buf_puts(b, ",\"availability\":null");
        if (f->k.has_p)
            buf_printf(b, ",\"performance\":%.6f", f->k.performance);
        else
            buf_puts(b, ",\"performance\":null");
        if (f->k.has_q)
            buf_printf(b, ",\"quality\":%.6f}", f->k.quality);
        else
            buf_puts(b, ",\"quality\":null}");
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"as_of\":");
    buf_json_time(b, now_ms);
    buf_puts(b, "}");
}

static void csv_row(struct board_ctx *bc, const struct fig *f)
{
    const struct db_machine *m = &f->m;
    const char *reason, *state;
    int64_t since;

    state = shown_state(m, &reason, &since);
    csv_str(&bc->csv, m->dev);
    csv_str(&bc->csv, m->agent);
    csv_str(&bc->csv, state);
    csv_str(&bc->csv, reason);
    csv_time(&bc->csv, since);
    if (since >= 0)
        csv_int(&bc->csv, (bc->now_ms - since) / 1000);
    else
        csv_str(&bc->csv, NULL);
    csv_int(&bc->csv, m->good);
    csv_int(&bc->csv, m->scrap);
    csv_time(&bc->csv, m->last_seen);
    csv_str(&bc->csv, m->order[0] ? m->order : NULL);
    if (f->has_order) {
        csv_int(&bc->csv, f->order_good);
        csv_int(&bc->csv, f->order_qty);
    } else {
        csv_str(&bc->csv, NULL);
        csv_str(&bc->csv, NULL);
    }
    csv_str(&bc->csv, f->in_shift ? (f->shift_name[0] ? f->shift_name : "(day)") : NULL);
    if (f->in_shift && f->k.has_oee) {
        char v[32];

        snprintf(v, sizeof(v), "%.6f", f->k.oee);
        csv_str(&bc->csv, v);
    } else {
        csv_str(&bc->csv, NULL);
    }
    csv_end_row(&bc->csv);
}

/* ---- the shared snapshot -------------------------------------------------------- */

static void snap_free(struct snap *s)
{
    if (s == NULL)
        return;
    free(s->f);
    buf_free(&s->tiles);
    buf_free(&s->json);
    free(s);
}

/* Computes every figure at now_ms in one read transaction (all machines
 * from one state of the database) and renders tiles and JSON.  NULL on a
 * database error or out of memory. */
static struct snap *snap_make(struct db *db, int64_t now_ms, int64_t day, int64_t day_end)
{
    struct snap *s;
    int64_t t0, t1;
    size_t i, j;
    int rc = 0;

    if ((s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    buf_init(&s->tiles);
    buf_init(&s->json);
    s->made_ms = now_ms;
    s->day = day;
    if (dbk_read_begin(db) != 0) {
        snap_free(s);
        return NULL;
    }
    t0 = lb_mono_ms();
    rc = db_machines(db, day, day_end, collect, s);
    t1 = lb_mono_ms();
    for (i = 0; i < s->n && rc == 0; i++) {
        struct fig *f = &s->f[i];

        if (f->m.order_id > 0) {
            /* An order running on several machines is summed once. */
            for (j = 0; j < i; j++)
                if (s->f[j].has_order && s->f[j].m.order_id == f->m.order_id)
                    break;
            if (j < i) {
                f->order_qty = s->f[j].order_qty;
                f->order_good = s->f[j].order_good;
            } else if ((rc = order_progress(db, f->m.order_id, now_ms, &f->order_qty,
                                            &f->order_good)) != 0) {
                break;
            }
            f->has_order = 1;
        }
        rc = shift_figures(db, f, now_ms);
    }
    dbk_read_end(db);
    if (rc != 0) {
        snap_free(s);
        return NULL;
    }
    log_debug("board: figures of %zu machines in %" PRId64 " ms (%" PRId64
              " ms their list)",
              s->n, lb_mono_ms() - t0, t1 - t0);
    buf_puts(&s->json, "[");
    for (i = 0; i < s->n; i++) {
        const char *reason, *state;
        int64_t since;

        state = shown_state(&s->f[i].m, &reason, &since);
        for (j = 0; j < NSTATES; j++)
            if (strcmp(state, states[j]) == 0)
                s->count[j]++;
        tile(&s->tiles, &s->f[i], now_ms);
        fig_json(&s->json, &s->f[i], i == 0, now_ms);
    }
    buf_puts(&s->json, s->n == 0 ? "]\n" : "\n]\n");
    if (s->tiles.err != 0 || s->json.err != 0) {
        snap_free(s);
        return NULL;
    }
    return s;
}

/* Makes fresh the current snapshot, under snap_mu.  Returns the previous
 * one for the caller to free after unlocking, or NULL (none, or still in
 * use: its last user frees it). */
static struct snap *snap_publish(struct snap *fresh)
{
    struct snap *old = snap_cur;

    fresh->refs = 1; /* snap_cur's */
    snap_cur = fresh;
    if (old != NULL && --old->refs > 0)
        old = NULL;
    return old;
}

/* The refresher: makes a snapshot whenever a request finds the current one
 * too old, on its own read-only connection, so that no web thread stops
 * serving its connections for the 10-40 ms a snapshot of 200 machines
 * takes (the board's p99, docs/benchmarks.md).  Idle while nobody asks.
 * On an error it stops and the requests take over. */
static void *refresh_main(void *arg)
{
    char *path = arg;
    struct db *db = NULL;
    struct snap *fresh, *old;
    int64_t now, day, day_end;

    pthread_mutex_lock(&snap_mu);
    for (;;) {
        while (!snap_wanted && !snap_stop)
            pthread_cond_wait(&want_cv, &snap_mu);
        if (snap_stop)
            break;
        snap_wanted = 0;
        snap_busy = 1;
        pthread_mutex_unlock(&snap_mu);
        fresh = NULL;
        if (db != NULL || db_open(path, 1, &db) == 0) {
            now = lb_wall_ms();
            pages_today(now, &day, &day_end);
            fresh = snap_make(db, now, day, day_end);
        }
        pthread_mutex_lock(&snap_mu);
        snap_busy = 0;
        old = fresh != NULL ? snap_publish(fresh) : NULL;
        if (fresh == NULL)
            refresher = -1;
        pthread_cond_broadcast(&snap_cv);
        if (fresh == NULL) {
            log_warnx("board: figures could not be made in the background; requests "
                      "make them");
            break;
        }
        pthread_mutex_unlock(&snap_mu);
        snap_free(old);
        pthread_mutex_lock(&snap_mu);
    }
    pthread_mutex_unlock(&snap_mu);
    db_close(db);
    free(path);
    return NULL;
}

/* Starts the refresher on db's file, under snap_mu.  0 or -1. */
static int refresh_start(struct db *db)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    const char *f = db_filename(db);
    char *path;
    int rc;

    if (f[0] == '\0' || (path = strdup(f)) == NULL)
        return -1;
    if (pthread_attr_init(&attr) != 0) {
        free(path);
        return -1;
    }
    /* Signals belong to the main thread (platform-notes.md). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &attr, refresh_main, path) == 0 ? 0 : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        free(path);
    else
        refresher_thread = t, refresher_joinable = 1;
    return rc;
}

void board_stop(void)
{
    struct snap *cur;
    int started;

    pthread_mutex_lock(&snap_mu);
    snap_stop = 1;
    started = refresher_joinable;
    refresher_joinable = 0;
    pthread_cond_signal(&want_cv);
    pthread_mutex_unlock(&snap_mu);
    if (started)
        pthread_join(refresher_thread, NULL);
    pthread_mutex_lock(&snap_mu);
    cur = snap_cur;
    snap_cur = NULL;
    if (cur != NULL && --cur->refs > 0)
        cur = NULL; /* a request still holds it and frees it */
    pthread_mutex_unlock(&snap_mu);
    snap_free(cur);
}

/* A snapshot of now_ms's figures for the caller (release with snap_put):
 * the current one while it is younger than BOARD_CACHE_MS.  Otherwise the
 * refresher is asked for a new one, and meanwhile the current one serves
 * while it is of today and younger than BOARD_STALE_MS; older, or none,
 * the request waits for the new one.  Without a refresher the request
 * makes it (one thread at a time; the others serve the current one as
 * above).  NULL on a database error or out of memory. */
static struct snap *snap_get(struct db *db, int64_t now_ms)
{
    struct snap *s, *fresh, *old = NULL;
    int64_t day, day_end, age;
    int usable;

    pages_today(now_ms, &day, &day_end);
    pthread_mutex_lock(&snap_mu);
    if (refresher == 0)
        refresher = refresh_start(db) == 0 ? 1 : -1;
    for (;;) {
        s = snap_cur;
        /* Either sign: another thread's clock reading may be a little
         * earlier than the snapshot's, and a clock stepped back must not
         * keep a snapshot forever. */
        age = s != NULL ? now_ms - s->made_ms : 0;
        if (s != NULL && s->day == day && age < BOARD_CACHE_MS && age > -BOARD_CACHE_MS)
            break;
        usable =
            s != NULL && s->day == day && age < BOARD_STALE_MS && age > -BOARD_STALE_MS;
        if (refresher > 0) {
            if (!snap_busy && !snap_wanted) {
                snap_wanted = 1;
                pthread_cond_signal(&want_cv);
            }
            if (usable)
                break;
            pthread_cond_wait(&snap_cv, &snap_mu);
            continue;
        }
        if (!snap_busy) {
            snap_busy = 1;
            pthread_mutex_unlock(&snap_mu);
            fresh = snap_make(db, now_ms, day, day_end);
            pthread_mutex_lock(&snap_mu);
            snap_busy = 0;
            pthread_cond_broadcast(&snap_cv);
            if (fresh == NULL) {
                pthread_mutex_unlock(&snap_mu);
                return NULL;
            }
            old = snap_publish(fresh);
            s = fresh;
            break;
        }
        if (usable)
            break;
        pthread_cond_wait(&snap_cv, &snap_mu);
    }
    s->refs++;
    pthread_mutex_unlock(&snap_mu);
    snap_free(old);
    return s;
}

static void snap_put(struct snap *s)
{
    int last;

    pthread_mutex_lock(&snap_mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&snap_mu);
    if (last)
        snap_free(s);
}

void board_render(struct db *db, const struct session *sess, int tv, const char *name,
                  int64_t now_ms, struct reply *rep)
{
    struct snap *sn;
    struct buf *b = &rep->body;
    struct layout l;
    char title[96];
    size_t i;
    int first = 1;

    if ((sn = snap_get(db, now_ms)) == NULL) {
        pages_error(rep, 500, 0, "database error");
        return;
    }
    if (tv && name != NULL && name[0] != '\0')
        snprintf(title, sizeof(title), "Floor: %s", name);
    else
        snprintf(title, sizeof(title), "Floor");
    memset(&l, 0, sizeof(l));
    l.title = title;
    l.active = "board";
    l.sess = tv ? NULL : sess;
    l.refresh_s = tv ? BOARD_TV_REFRESH_S : BOARD_REFRESH_S;
    l.tv = tv;
    layout_begin(b, &l);
    buf_puts(b, "<p class=\"summary\">");
    for (i = 0; i < NSTATES; i++) {
        if (sn->count[i] == 0)
            continue;
        buf_printf(b, "%s<span><b>%u</b> %s</span>", first ? "" : " ", sn->count[i],
                   state_word(states[i]));
        first = 0;
    }
    buf_puts(b, "<span class=\"dim\">good and scrap since 00:00 today; OEE of the "
                "line&rsquo;s current shift so far</span></p>\n<div class=\"tiles\" "
                "data-as-of=\"");
    buf_printf(b, "%" PRId64 "\">\n", sn->made_ms);
    if (sn->tiles.len > 0)
        buf_add(b, sn->tiles.p, sn->tiles.len);
    buf_puts(b, "</div>\n");
    if (sn->n == 0)
        buf_puts(b, "<p class=\"empty\">No machines yet: they appear when their agent "
                    "connects.</p>");
    snap_put(sn);
    if (!tv) {
        buf_puts(b, "<p class=\"noprint\">");
        layout_csv_link(b, "/board.csv");
        buf_puts(b, "</p>");
    }
    layout_end(b, &l, now_ms);
    layout_done(rep, 200);
}

void board_json(struct db *db, int64_t now_ms, struct reply *rep)
{
    struct snap *sn;

    if ((sn = snap_get(db, now_ms)) == NULL) {
        pages_error(rep, 500, 1, "database error");
        return;
    }
    buf_add(&rep->body, sn->json.p, sn->json.len);
    snap_put(sn);
    rep->status = 200;
    rep->type = CT_JSON;
    rep->no_store = 1;
}

void board_csv(struct db *db, int64_t now_ms, struct reply *rep)
{
    struct board_ctx bc;
    struct snap *sn;
    size_t i;

    if ((sn = snap_get(db, now_ms)) == NULL) {
        pages_error(rep, 500, 0, "database error");
        return;
    }
    memset(&bc, 0, sizeof(bc));
    bc.now_ms = sn->made_ms;
    csv_begin(&bc.csv, &rep->body);
    csv_str(&bc.csv, "machine");
    csv_str(&bc.csv, "agent");
    csv_str(&bc.csv, "state");
    csv_str(&bc.csv, "reason");
    csv_str(&bc.csv, "state_since");
    csv_str(&bc.csv, "seconds_in_state");
    csv_str(&bc.csv, "good_today");
    csv_str(&bc.csv, "scrap_today");
    csv_str(&bc.csv, "last_seen");
    csv_str(&bc.csv, "order");
    csv_str(&bc.csv, "order_good");
    csv_str(&bc.csv, "order_quantity");
    csv_str(&bc.csv, "shift");
    csv_str(&bc.csv, "shift_oee");
    csv_end_row(&bc.csv);
    for (i = 0; i < sn->n; i++)
        csv_row(&bc, &sn->f[i]);
    snap_put(sn);
    csv_reply(rep, "board.csv");
}
