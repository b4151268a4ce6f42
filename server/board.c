/*
 * The floor board; see board.h.
 *
 * A machine whose agent is offline has no current state: the board says
 * "offline" rather than show its last state as if it were live (design.md:
 * offline is not down).  Tiles keep the machines' id order so that each
 * stays in its place on a TV.
 *
 * Speed: summing today's output of 200 machines from the minute rollup
 * takes about 5 ms, far more than the rest of a page.  So each web thread
 * keeps the tiles it rendered last and reuses them for BOARD_CACHE_MS: a
 * board is at most that old, the query runs at most once a second per
 * thread whatever the number of TVs and browsers, and a request costs the
 * session lookup and copying the page (docs/benchmarks.md).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "csv.h"
#include "layout.h"

/* The states in the order of the summary line. */
static const char *const states[] = {"running",      "idle",    "setup",  "down",
                                     "planned_stop", "offline", "unknown"};
#define NSTATES (sizeof(states) / sizeof(states[0]))

struct board_ctx {
    struct buf *b;
    int64_t now_ms;
    unsigned count[NSTATES];
    unsigned total;
    struct csv csv;
};

/* The tiles a thread rendered last (see the top of the file). */
struct tiles_cache {
    int64_t made_ms;
    struct buf html;
    unsigned count[NSTATES];
    unsigned total;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_ok;

static void cache_init(void);
static void cache_free(void *p);
static struct tiles_cache *tiles(struct db *db, int64_t now_ms);

static const char *shown_state(const struct db_machine *m, const char **reason,
                               int64_t *since);
static const char *state_class(const char *state);
static const char *state_word(const char *state);
static int tile(void *ctx, const struct db_machine *m);
static int csv_row(void *ctx, const struct db_machine *m);

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

static int tile(void *ctx, const struct db_machine *m)
{
    struct board_ctx *bc = ctx;
    struct buf *b = bc->b;
    const char *reason, *state;
    int64_t since;
    char dur[32], seen[32];
    size_t i;

    state = shown_state(m, &reason, &since);
    for (i = 0; i < NSTATES; i++)
        if (strcmp(state, states[i]) == 0)
            bc->count[i]++;
    bc->total++;
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
        layout_duration(dur, sizeof(dur), bc->now_ms - since);
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
                "<td class=\"dim\">OEE</td></tr><tr><td class=\"num good\">");
    layout_int(b, m->good);
    buf_puts(b, "</td><td class=\"num scrap\">");
    layout_int(b, m->scrap);
    buf_puts(b, "</td><td class=\"num oee placeholder\" title=\"OEE needs the shift "
                "calendar\">&ndash;</td></tr></table><div class=\"dim\">");
    buf_html(b, m->agent);
    if (m->last_seen >= 0) {
        layout_duration(seen, sizeof(seen), bc->now_ms - m->last_seen);
        buf_puts(b, " &middot; seen ");
        buf_html(b, seen);
        buf_puts(b, " ago");
    } else {
        buf_puts(b, " &middot; never seen");
    }
    buf_puts(b, "</div></section>\n");
    return 0;
}

static void cache_free(void *p)
{
    struct tiles_cache *c = p;

    if (c == NULL)
        return;
    buf_free(&c->html);
    free(c);
}

static void cache_init(void)
{
    cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* The calling thread's tiles, rendered anew when older than BOARD_CACHE_MS
 * (or from another day), or NULL on a database error or out of memory. */
static struct tiles_cache *tiles(struct db *db, int64_t now_ms)
{
    struct tiles_cache *c = NULL;
    struct board_ctx bc;
    int64_t from, to, day;

    pthread_once(&cache_once, cache_init);
    if (cache_ok && (c = pthread_getspecific(cache_key)) != NULL) {
        pages_today(c->made_ms, &day, &to);
        pages_today(now_ms, &from, &to);
        if (now_ms >= c->made_ms && now_ms - c->made_ms < BOARD_CACHE_MS && day == from)
            return c;
    }
    if (c == NULL) {
        if ((c = calloc(1, sizeof(*c))) == NULL)
            return NULL;
        buf_init(&c->html);
        if (cache_ok && pthread_setspecific(cache_key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    buf_free(&c->html);
    c->made_ms = now_ms;
    memset(&bc, 0, sizeof(bc));
    bc.b = &c->html;
    bc.now_ms = now_ms;
    pages_today(now_ms, &from, &to);
    if (db_machines(db, from, to, tile, &bc) != 0 || c->html.err != 0) {
        buf_free(&c->html);
        c->made_ms = -BOARD_CACHE_MS; /* stale: try again next time */
        if (!cache_ok)
            cache_free(c);
        return NULL;
    }
    memcpy(c->count, bc.count, sizeof(c->count));
    c->total = bc.total;
    return c;
}

void board_render(struct db *db, const struct session *sess, int tv, const char *name,
                  int64_t now_ms, struct reply *rep)
{
    struct tiles_cache *tc;
    struct buf *b = &rep->body;
    struct layout l;
    char title[96];
    unsigned total;
    size_t i;
    int first = 1;

    if ((tc = tiles(db, now_ms)) == NULL) {
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
        if (tc->count[i] == 0)
            continue;
        buf_printf(b, "%s<span><b>%u</b> %s</span>", first ? "" : " ", tc->count[i],
                   state_word(states[i]));
        first = 0;
    }
    buf_puts(b, "<span class=\"dim\">good and scrap since 00:00 today</span></p>\n"
                "<div class=\"tiles\">\n");
    if (tc->html.len > 0)
        buf_add(b, tc->html.p, tc->html.len);
    total = tc->total;
    if (!cache_ok)
        cache_free(tc);
    buf_puts(b, "</div>\n");
    if (total == 0)
        buf_puts(b, "<p class=\"empty\">No machines yet: they appear when their agent "
                    "connects.</p>");
    if (!tv) {
        buf_puts(b, "<p class=\"noprint\">");
        layout_csv_link(b, "/board.csv");
        buf_puts(b, "</p>");
    }
    layout_end(b, &l, now_ms);
    layout_done(rep, 200);
}

static int csv_row(void *ctx, const struct db_machine *m)
{
    struct board_ctx *bc = ctx;
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
    csv_end_row(&bc->csv);
    return 0;
}

void board_csv(struct db *db, int64_t now_ms, struct reply *rep)
{
    struct board_ctx bc;
    int64_t from, to;

    memset(&bc, 0, sizeof(bc));
    bc.now_ms = now_ms;
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
    csv_end_row(&bc.csv);
    pages_today(now_ms, &from, &to);
    if (db_machines(db, from, to, csv_row, &bc) != 0) {
        pages_error(rep, 500, 0, "database error");
        return;
    }
    csv_reply(rep, "board.csv");
}
