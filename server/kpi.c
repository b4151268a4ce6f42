/*
 * KPI engine; see kpi.h and docs/kpi.md.
 *
 * A period is cut into whole production days (day rows), whole hours (hour
 * rows), whole minutes (minute rows, split by the calendar here exactly as
 * the rollups split them) and edges shorter than a minute (intervals and
 * raw counts).  Calendar boundaries fall on whole minutes, so every piece
 * lies in one calendar class at minute level.  Intervals not yet judged
 * (the open one and the open stop's) are not in any rollup; they are added
 * here, judged as if they ended now.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_kpi.h"
#include "kpi.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"
#include "plant.h"

#define MIN_MS  60000
#define HOUR_MS 3600000

struct daypart {
    size_t g;
    int64_t d0, d1; /* [d0, d1) */
};

struct mctx {
    struct db *db;
    const char *dev;
    const struct cal_seg *segs;
    size_t nsegs;
    struct kpi_group *g;
    size_t ng;
    size_t cur;   /* the group rows are added to */
    int64_t t_hi; /* time limit (now) */
    struct daypart *dp;
    size_t ndp, idp;
    struct dbk_track t; /* the machine's interval builder */
};

struct pctx {
    struct mctx *m;
    int64_t a, b; /* edge */
    int64_t *v;
};

struct octx {
    struct dbk_piece *v;
    size_t n, cap;
};

static int add_cal(struct mctx *m, size_t gi, int64_t a, int64_t b);
static int seg_class(const struct mctx *m, int64_t t);
static int add_minute_rows(struct mctx *m, size_t gi, int64_t a, int64_t b);
static int on_minute(void *ctx, int64_t key, const int64_t *v);
static int on_day(void *ctx, int64_t key, const int64_t *v);
static int add_edge(struct mctx *m, size_t gi, int64_t a, int64_t b);
static int on_edge_piece(void *ctx, const struct dbk_piece *p);
static int add_part(struct mctx *m, size_t gi, int64_t a, int64_t b);
static int collect(void *ctx, const struct dbk_piece *p);
static int judge_open(const struct dbk_piece *v, size_t n, int64_t open_end, int *cats,
                      int *nstop, int *nmicro);
static void add_span(struct mctx *m, int64_t a, int64_t b, int cat);
static int losses_add(struct kpi_losses *l, const char *reason, int cat, int64_t ms,
                      int64_t count);
static void ratio(struct buf *b, const char *name, int has, double v);
static int64_t ceil_to(int64_t t, int64_t unit);

static const int cat_col[CAT_N] = {
    [CAT_NONE] = -1,        [CAT_RUN] = RC_RUN,   [CAT_MICRO] = RC_MICRO,
    [CAT_SETUP] = RC_SETUP, [CAT_DOWN] = RC_DOWN, [CAT_UNEXPL] = RC_UNEXPL,
    [CAT_MSTOP] = RC_MSTOP,
};

const char *kpi_cat_name(int cat)
{
    switch (cat) {
    case CAT_RUN:
        return "run";
    case CAT_MICRO:
        return "micro_stops";
    case CAT_SETUP:
        return "setup";
    case CAT_DOWN:
        return "down";
    case CAT_UNEXPL:
        return "unexplained";
    case CAT_MSTOP:
        return "planned_stop";
    default:
        return "unknown";
    }
}

int kpi_grouping_parse(const char *s)
{
    static const char *const names[] = {"none", "hour", "shift", "day", "week", "month"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static int64_t ceil_to(int64_t t, int64_t unit)
{
    return -tz_floordiv(-t, unit) * unit;
}

/* ---- groups ------------------------------------------------------------------- */

static int push_group(struct kpi_group **v, size_t *n, size_t *cap, int64_t from,
                      int64_t to, const char *label)
{
    if (*n >= KPI_GROUPS_MAX)
        return LB_E_RANGE;
    if (LB_GROW(*v, cap, *n, 16) != 0)
        return -ENOMEM;
    memset(&(*v)[*n], 0, sizeof(**v));
    (*v)[*n].from = from;
    (*v)[*n].to = to;
    snprintf((*v)[*n].label, KPI_LABEL_MAX, "%s", label);
    (*n)++;
    return 0;
}

int kpi_groups(struct db *db, enum kpi_grouping g, int64_t line_id, int64_t from,
               int64_t to, struct kpi_group **out, size_t *n)
{
    const struct plant *pl = plant_get();
    const struct cal_clock *ck = &pl->clock;
    struct kpi_group *v = NULL;
    size_t cap = 0;
    char label[KPI_LABEL_MAX], day[16];
    int64_t d, a, b;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (to <= from)
        return 0;
    switch (g) {
    case KPI_G_NONE:
        rc = push_group(&v, n, &cap, from, to, "total");
        break;
    case KPI_G_HOUR: {
        int64_t s = tz_floordiv(from, 1000);
        int64_t local = s + tz_offset(pl->tz, s, NULL);

        /* The local hour holding from, then hour by hour. */
        a = from - (int64_t)(local - tz_floordiv(local, 3600) * 3600) * 1000 -
            (from - s * 1000);
        for (; a < to && rc == 0; a += HOUR_MS) {
            int64_t sa = tz_floordiv(a, 1000), off = tz_offset(pl->tz, sa, NULL);
            int64_t la = sa + off, y;
            unsigned mo, dd;

            tz_civil_from_days(tz_floordiv(la, 86400), &y, &mo, &dd);
            snprintf(label, sizeof(label), "%04" PRId64 "-%02u-%02uT%02d:%02d%c%02d:%02d",
                     y, mo, dd, (int)(la % 86400 / 3600), (int)(la % 3600 / 60),
                     off < 0 ? '-' : '+', (int)(llabs(off) / 3600),
                     (int)(llabs(off) % 3600 / 60));
            rc = push_group(&v, n, &cap, a > from ? a : from,
                            a + HOUR_MS < to ? a + HOUR_MS : to, label);
        }
        break;
    }
    case KPI_G_DAY:
    case KPI_G_WEEK:
    case KPI_G_MONTH:
        d = cal_prod_day(ck, from);
        if (g == KPI_G_WEEK)
            d -= tz_weekday(d) - 1;
        if (g == KPI_G_MONTH) {
            int64_t y;
            unsigned mo, dd;

            tz_civil_from_days(d, &y, &mo, &dd);
            d = tz_days_from_civil(y, mo, 1);
        }
        while (rc == 0 && (a = cal_day_start(ck, d)) < to) {
            int64_t next = d + 1, y;
            unsigned mo, dd;

            tz_civil_from_days(d, &y, &mo, &dd);
            if (g == KPI_G_DAY) {
                tz_format_day(d, label, sizeof(label));
            } else if (g == KPI_G_WEEK) {
                int64_t th = d + 3, wy;
                unsigned wm, wd;

                next = d + 7;
                tz_civil_from_days(th, &wy, &wm, &wd);
                snprintf(label, sizeof(label), "%04" PRId64 "-W%02d", wy,
                         (int)((th - tz_days_from_civil(wy, 1, 1)) / 7 + 1));
            } else {
                next = mo == 12 ? tz_days_from_civil(y + 1, 1, 1)
                                : tz_days_from_civil(y, mo + 1, 1);
                snprintf(label, sizeof(label), "%04" PRId64 "-%02u", y, mo);
            }
            b = cal_day_start(ck, next);
            if (b > from)
                rc = push_group(&v, n, &cap, a > from ? a : from, b < to ? b : to, label);
            d = next;
        }
        break;
    case KPI_G_SHIFT: {
        const struct cal_seg *segs;
        size_t ns, i;

        if ((rc = rollup_segments(db, line_id, from, to, &segs, &ns)) != 0)
            break;
        for (i = 0; i < ns && rc == 0; i++) {
            const struct cal_seg *s = &segs[i];

            /* The cache may hold a wider window than asked for. */
            if (s->cls == CAL_O || s->end <= from || s->start >= to)
                continue;
            if (*n > 0 && v[*n - 1].to == s->start && i > 0 && segs[i - 1].cls != CAL_O &&
                segs[i - 1].shift_start == s->shift_start &&
                segs[i - 1].shift_id == s->shift_id) {
                v[*n - 1].to = s->end < to ? s->end : to;
                continue;
            }
            tz_format_day(s->shift_day, day, sizeof(day));
            snprintf(label, sizeof(label), "%s %s", day,
                     s->shift_name && s->shift_name[0] ? s->shift_name : "shift");
            a = s->shift_start > from ? s->shift_start : from;
            if (a < s->start)
                a = s->start;
            rc = push_group(&v, n, &cap, a, s->end < to ? s->end : to, label);
        }
        break;
    }
    }
    if (rc != 0) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

/* ---- one machine ---------------------------------------------------------------- */

static int seg_class(const struct mctx *m, int64_t t)
{
    long i = cal_find(m->segs, m->nsegs, t);

    return i < 0 ? CAL_O : m->segs[i].cls;
}

/* Calendar time of [a, b) into group gi. */
static int add_cal(struct mctx *m, size_t gi, int64_t a, int64_t b)
{
    long i = cal_find(m->segs, m->nsegs, a);
    size_t k;

    if (i < 0)
        return 0;
    for (k = (size_t)i; k < m->nsegs && m->segs[k].start < b; k++) {
        int64_t x = m->segs[k].start > a ? m->segs[k].start : a;
        int64_t y = m->segs[k].end < b ? m->segs[k].end : b;

        if (y > x)
            m->g[gi].s.cal[m->segs[k].cls] += y - x;
    }
    return 0;
}

static int on_minute(void *ctx, int64_t key, const int64_t *v)
{
    struct mctx *m = ctx;

    roll_classify(v, seg_class(m, key), m->g[m->cur].s.v);
    return 0;
}

static int add_minute_rows(struct mctx *m, size_t gi, int64_t a, int64_t b)
{
    m->cur = gi;
    return dbk_rows(m->db, 0, m->dev, a, b, on_minute, m);
}

static int on_edge_piece(void *ctx, const struct dbk_piece *p)
{
    struct pctx *pc = ctx;
    int64_t x = p->start > pc->a ? p->start : pc->a;
    int64_t y = p->end < pc->b ? p->end : pc->b;

    if (p->cat > CAT_NONE && p->cat < CAT_N && y > x)
        pc->v[cat_col[p->cat]] += y - x;
    if (p->start >= pc->a && p->start < pc->b) {
        pc->v[RC_STOPS] += p->nstop;
        pc->v[RC_MICROS] += p->nmicro;
    }
    return 0;
}

/* An edge [a, b) inside one minute: judged intervals and raw counts. */
static int add_edge(struct mctx *m, size_t gi, int64_t a, int64_t b)
{
    struct pctx pc;
    int64_t v[RC_N], good, scrap, ict = 0;
    int rc;

    if (b <= a)
        return 0;
    memset(v, 0, sizeof(v));
    pc.m = m;
    pc.a = a;
    pc.b = b;
    pc.v = v;
    if (m->t.exists &&
        (rc = dbk_pieces(m->db, m->dev, a, b, m->t.maxlen, 0, on_edge_piece, &pc)) != 0)
        return rc;
    if ((rc = dbk_counts(m->db, m->dev, a, b, &good, &scrap)) != 0)
        return rc;
    if (good + scrap != 0) {
        /* One ideal cycle time for the edge: an order changing inside the
         * same partial minute is the rare case this rounds. */
        if ((rc = rollup_ict_at(m->db, m->dev, a, &ict)) != 0)
            return rc;
        v[RC_GOOD] = good;
        v[RC_SCRAP] = scrap;
        if (ict > 0)
            v[RC_IDEAL] = (good + scrap) * ict;
        else
            v[RC_NOICT] = good + scrap;
    }
    roll_classify(v, seg_class(m, a), m->g[gi].s.v);
    return 0;
}

/* [a, b) below day level: whole hours, whole minutes, edges. */
static int add_part(struct mctx *m, size_t gi, int64_t a, int64_t b)
{
    int64_t h0 = ceil_to(a, HOUR_MS), h1 = tz_floordiv(b, HOUR_MS) * HOUR_MS;
    int64_t pieces[3][2];
    int np = 0, i, rc;

    if (b <= a)
        return 0;
    if (h0 < h1) {
        if ((rc = dbk_hour_sum(m->db, m->dev, h0, h1, m->g[gi].s.v)) != 0)
            return rc;
        pieces[np][0] = a;
        pieces[np++][1] = h0;
        pieces[np][0] = h1;
        pieces[np++][1] = b;
    } else {
        pieces[np][0] = a;
        pieces[np++][1] = b;
    }
    for (i = 0; i < np; i++) {
        int64_t x = pieces[i][0], y = pieces[i][1];
        int64_t m0 = ceil_to(x, MIN_MS), m1 = tz_floordiv(y, MIN_MS) * MIN_MS;

        if (y <= x)
            continue;
        if (m0 < m1) {
            if ((rc = add_minute_rows(m, gi, m0, m1)) != 0 ||
                (rc = add_edge(m, gi, x, m0)) != 0 || (rc = add_edge(m, gi, m1, y)) != 0)
                return rc;
        } else if (m0 == m1 && m0 > x && m0 < y) {
            if ((rc = add_edge(m, gi, x, m0)) != 0 || (rc = add_edge(m, gi, m0, y)) != 0)
                return rc;
        } else if ((rc = add_edge(m, gi, x, y)) != 0) {
            return rc;
        }
    }
    return 0;
}

static int on_day(void *ctx, int64_t key, const int64_t *v)
{
    struct mctx *m = ctx;
    int i;

    while (m->idp < m->ndp && key >= m->dp[m->idp].d1)
        m->idp++;
    if (m->idp < m->ndp && key >= m->dp[m->idp].d0)
        for (i = 0; i < RC_N; i++)
            m->g[m->dp[m->idp].g].s.v[i] += v[i];
    return 0;
}

static int collect(void *ctx, const struct dbk_piece *p)
{
    struct octx *o = ctx;

    if (LB_GROW(o->v, &o->cap, o->n, 8) != 0)
        return -ENOMEM;
    o->v[o->n++] = *p;
    return 0;
}

/*
 * Judges the intervals not yet in the rollups as if they ended at
 * open_end: the open stop as rollup.c will when it ends, the open interval
 * by its state.  OUT: cats[n], and the stop's counts (for its first
 * interval).  Returns the index of the stop's first interval, or -1.
 */
static int judge_open(const struct dbk_piece *v, size_t n, int64_t open_end, int *cats,
                      int *nstop, int *nmicro)
{
    int64_t c0 = -1, c1 = -1;
    int first = -1, unplanned = 0, micro;
    size_t i;

    *nstop = *nmicro = 0;
    for (i = 0; i < n; i++) {
        if (roll_is_stop(v[i].state)) {
            if (first < 0) {
                first = (int)i;
                c0 = v[i].start;
            }
            c1 = v[i].end == INT64_MAX ? open_end : v[i].end;
        }
    }
    micro = first >= 0 && c1 - c0 < plant_get()->micro_ms;
    for (i = 0; i < n; i++) {
        if (!roll_is_stop(v[i].state))
            cats[i] = roll_state_cat(v[i].state);
        else if (micro)
            cats[i] = CAT_MICRO;
        else if (v[i].reason[0] == '\0')
            cats[i] = CAT_UNEXPL;
        else
            cats[i] = v[i].planned ? CAT_MSTOP : CAT_DOWN;
        unplanned |= cats[i] == CAT_DOWN || cats[i] == CAT_UNEXPL;
    }
    if (first >= 0) {
        *nstop = unplanned;
        *nmicro = micro;
    }
    return first;
}

/* Adds [a, b) of category cat to every group it overlaps, split by the
 * calendar. */
static void add_span(struct mctx *m, int64_t a, int64_t b, int cat)
{
    size_t gi;
    long si;

    if (cat <= CAT_NONE || cat >= CAT_N)
        return;
    for (gi = 0; gi < m->ng; gi++) {
        int64_t x = a > m->g[gi].from ? a : m->g[gi].from;
        int64_t y = b < m->g[gi].to ? b : m->g[gi].to;

        if (y > m->t_hi)
            y = m->t_hi;
        if (y <= x)
            continue;
        si = cal_find(m->segs, m->nsegs, x);
        while (x < y) {
            int64_t v[RC_NMIN], e = y;
            int cls = CAL_O;

            if (si >= 0 && (size_t)si < m->nsegs && m->segs[si].start <= x) {
                cls = m->segs[si].cls;
                if (m->segs[si].end < e)
                    e = m->segs[si].end;
                si++;
            }
            memset(v, 0, sizeof(v));
            v[cat_col[cat]] = e - x;
            roll_classify(v, cls, m->g[gi].s.v);
            x = e;
        }
    }
}

/* kpi_machine, leaving out the whole days when days is 0 (kpi_scope sums
 * them for all machines at once). */
static int machine(struct db *db, const char *dev, int64_t now, struct kpi_group *g,
                   size_t n, int days)
{
    const struct plant *pl = plant_get();
    const struct cal_clock *ck = &pl->clock;
    struct mctx m;
    struct dbk_track t;
    struct octx o = {0};
    int64_t line_id, lo, hi;
    size_t gi, i;
    int rc;

    if (n == 0)
        return 0;
    memset(&m, 0, sizeof(m));
    m.db = db;
    m.dev = dev;
    m.g = g;
    m.ng = n;
    m.t_hi = now;
    lo = g[0].from;
    hi = g[n - 1].to < now ? g[n - 1].to : now;
    for (gi = 0; gi < n; gi++)
        g[gi].s.machines++;
    if (hi <= lo)
        return 0;
    if ((rc = rollup_sync(db)) != 0 || (rc = rollup_line_of(db, dev, &line_id)) != 0 ||
        (rc = rollup_segments(db, line_id, lo, hi, &m.segs, &m.nsegs)) != 0)
        return rc;
    if ((rc = dbk_track(db, dev, &m.t)) != 0)
        return rc;
    t = m.t;
    if ((m.dp = calloc(n, sizeof(*m.dp))) == NULL)
        return -ENOMEM;

    for (gi = 0; gi < n; gi++) {
        struct kpi_group *gr = &g[gi];
        int64_t a = gr->from, b = gr->to < now ? gr->to : now, d0, d1, da, db_;

        if (b <= a)
            continue;
        gr->s.span += b - a;
        add_cal(&m, gi, a, b);
        /* The cut into whole production days depends on the period only:
         * made once per report, not once per machine. */
        if (gr->prepared_for != now || gr->cut_to != b) {
            gr->d0 = cal_prod_day(ck, a);
            if (cal_day_start(ck, gr->d0) < a)
                gr->d0++;
            gr->d1 = cal_prod_day(ck, b); /* days [d0, d1) are whole */
            gr->da = gr->d0 < gr->d1 ? cal_day_start(ck, gr->d0) : 0;
            gr->db = gr->d0 < gr->d1 ? cal_day_start(ck, gr->d1) : 0;
            gr->prepared_for = now;
            gr->cut_to = b;
        }
        d0 = gr->d0;
        d1 = gr->d1;
        if (d0 < d1) {
            da = gr->da;
            db_ = gr->db;
            m.dp[m.ndp].g = gi;
            m.dp[m.ndp].d0 = d0;
            m.dp[m.ndp++].d1 = d1;
            if ((rc = add_part(&m, gi, a, da)) != 0 ||
                (rc = add_part(&m, gi, db_, b)) != 0)
                goto out;
        } else if ((rc = add_part(&m, gi, a, b)) != 0) {
            goto out;
        }
    }
    if (m.ndp > 0 && days) {
        m.idp = 0;
        if ((rc = dbk_rows(db, 2, dev, m.dp[0].d0, m.dp[m.ndp - 1].d1, on_day, &m)) != 0)
            goto out;
    }

    /* What is not in the rollups yet. */
    if (t.exists) {
        int64_t u0 = t.chain >= 0 && t.chain < t.start ? t.chain : t.start;
        int64_t open_end = now - t.last > pl->timeout_ms ? t.last : now;
        int *cats = NULL, nstop, nmicro, first;

        if (open_end < t.start)
            open_end = t.start;
        if ((rc = dbk_pieces(db, dev, u0, INT64_MAX, t.maxlen, 1, collect, &o)) != 0)
            goto out;
        if (o.n > 0) {
            if ((cats = calloc(o.n, sizeof(*cats))) == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            first = judge_open(o.v, o.n, open_end, cats, &nstop, &nmicro);
            for (i = 0; i < o.n; i++)
                add_span(&m, o.v[i].start,
                         o.v[i].end == INT64_MAX ? open_end : o.v[i].end, cats[i]);
            if (first >= 0 && (nstop || nmicro)) {
                int64_t c0 = o.v[first].start;

                for (gi = 0; gi < n; gi++) {
                    if (c0 >= g[gi].from && c0 < g[gi].to && c0 < now) {
                        int64_t v[RC_NMIN];

                        memset(v, 0, sizeof(v));
                        v[RC_STOPS] = nstop;
                        v[RC_MICROS] = nmicro;
                        roll_classify(v, seg_class(&m, c0), g[gi].s.v);
                    }
                }
            }
            free(cats);
        }
    }
    rc = 0;
out:
    free(o.v);
    free(m.dp);
    return rc;
}

int kpi_machine(struct db *db, const char *dev, int64_t now, struct kpi_group *g,
                size_t n)
{
    return machine(db, dev, now, g, n, 1);
}

int kpi_scope(struct db *db, char *const *devs, size_t n, const int64_t *lines,
              size_t nlines, int64_t now, struct kpi_group *g, size_t ng)
{
    struct mctx m;
    struct buf js;
    size_t i, gi;
    int rc = 0;

    if (n == 0 || ng == 0)
        return 0;
    for (i = 0; i < n; i++)
        if ((rc = machine(db, devs[i], now, g, ng, 0)) != 0)
            return rc;
    /* The groups' whole days are known now (machine() made the cut). */
    memset(&m, 0, sizeof(m));
    m.g = g;
    m.ng = ng;
    if ((m.dp = calloc(ng, sizeof(*m.dp))) == NULL)
        return -ENOMEM;
    for (gi = 0; gi < ng; gi++) {
        if (g[gi].prepared_for == now && g[gi].d0 < g[gi].d1) {
            m.dp[m.ndp].g = gi;
            m.dp[m.ndp].d0 = g[gi].d0;
            m.dp[m.ndp++].d1 = g[gi].d1;
        }
    }
    for (i = 0; m.ndp > 0 && lines != NULL && i < nlines && rc == 0; i++) {
        m.idp = 0;
        rc = dbk_line_days(db, lines[i], m.dp[0].d0, m.dp[m.ndp - 1].d1, on_day, &m);
    }
    if (m.ndp > 0 && lines == NULL) {
        buf_init(&js);
        buf_puts(&js, "[");
        for (i = 0; i < n; i++) {
            if (i > 0)
                buf_puts(&js, ",");
            buf_json_str(&js, devs[i]);
        }
        buf_puts(&js, "]");
        if (js.err != 0)
            rc = -ENOMEM;
        else
            rc = dbk_days_summed(db, js.p, m.dp[0].d0, m.dp[m.ndp - 1].d1, on_day, &m);
        buf_free(&js);
    }
    free(m.dp);
    return rc;
}

/* ---- derived values ---------------------------------------------------------- */

void kpi_derive(const struct kpi_sums *s, struct kpi_result *r)
{
    const int64_t *v = s->v;
    int64_t known =
        v[RC_RUN] + v[RC_MICRO] + v[RC_SETUP] + v[RC_DOWN] + v[RC_UNEXPL] + v[RC_MSTOP];
    int64_t losses;

    memset(r, 0, sizeof(*r));
    r->pbt = s->cal[CAL_P] - v[RC_MSTOP];
    r->unknown = s->cal[CAL_P] - known;
    if (r->unknown < 0) {
        /* Data later than our clock: never let it go negative. */
        r->flags |= KPI_F_FUTURE_DATA;
        r->unknown = 0;
    }
    if (r->unknown > 0)
        r->flags |= KPI_F_UNKNOWN;
    r->run = v[RC_RUN] + v[RC_MICRO];
    losses = v[RC_SETUP] + v[RC_DOWN] + v[RC_UNEXPL];
    r->observed = r->run + losses;
    r->total = v[RC_GOOD] + v[RC_SCRAP];
    if (r->observed > 0) {
        r->has_a = 1;
        r->availability = (double)r->run / (double)r->observed;
    }
    if (r->run > 0 && v[RC_IDEAL] > 0) {
        r->has_p = 1;
        r->performance = (double)v[RC_IDEAL] / (double)r->run;
        if (v[RC_IDEAL] > r->run)
            r->flags |= KPI_F_PERF_OVER_100;
    }
    if (v[RC_NOICT] > 0)
        r->flags |= KPI_F_NO_ICT;
    if (v[RC_UNEXPL] > 0)
        r->flags |= KPI_F_UNEXPLAINED;
    if (r->total > 0) {
        r->has_q = 1;
        r->quality = (double)v[RC_GOOD] / (double)r->total;
        r->scrap_ratio = (double)v[RC_SCRAP] / (double)r->total;
    }
    if (r->has_a && r->has_p && r->has_q) {
        r->has_oee = 1;
        r->oee = r->availability * r->performance * r->quality;
        if (s->span - r->unknown > 0) {
            r->has_teep = 1;
            r->teep = r->oee * (double)r->observed / (double)(s->span - r->unknown);
        }
    }
    if (v[RC_STOPS] > 0) {
        r->has_mtbf = 1;
        r->mtbf_ms = (double)r->run / (double)v[RC_STOPS];
        r->mttr_ms = (double)(v[RC_DOWN] + v[RC_UNEXPL]) / (double)v[RC_STOPS];
    }
}

static void ratio(struct buf *b, const char *name, int has, double v)
{
    if (has)
        buf_printf(b, "\"%s\":%.6f", name, v);
    else
        buf_printf(b, "\"%s\":null", name);
}

void kpi_json(struct buf *b, const struct kpi_sums *s, int explain)
{
    const int64_t *v = s->v;
    struct kpi_result r;
    int first = 1;

    kpi_derive(s, &r);
    buf_puts(b, "{");
    ratio(b, "availability", r.has_a, r.availability);
    buf_puts(b, ",");
    ratio(b, "performance", r.has_p, r.performance);
    buf_puts(b, ",");
    ratio(b, "quality", r.has_q, r.quality);
    buf_puts(b, ",");
    ratio(b, "oee", r.has_oee, r.oee);
    buf_puts(b, ",");
    ratio(b, "teep", r.has_teep, r.teep);
    buf_puts(b, ",");
    ratio(b, "mtbf_s", r.has_mtbf, r.mtbf_ms / 1000.0);
    buf_puts(b, ",");
    ratio(b, "mttr_s", r.has_mtbf, r.mttr_ms / 1000.0);
    buf_puts(b, ",");
    ratio(b, "scrap_ratio", r.has_q, r.scrap_ratio);
    buf_puts(b, ",");
    ratio(b, "first_pass_yield", r.has_q, r.quality);
    buf_printf(b,
               ",\"time_ms\":{\"period\":%" PRId64 ",\"planned_busy\":%" PRId64
               ",\"observed\":%" PRId64 ",\"run\":%" PRId64 ",\"micro_stops\":%" PRId64
               ",\"setup\":%" PRId64 ",\"down\":%" PRId64 ",\"unexplained\":%" PRId64
               ",\"planned_stops\":%" PRId64 ",\"declared_stops\":%" PRId64
               ",\"unscheduled\":%" PRId64 ",\"unknown\":%" PRId64
               ",\"outside_known\":%" PRId64 ",\"outside_run\":%" PRId64 "}",
               s->span, r.pbt, r.observed, r.run, v[RC_MICRO], v[RC_SETUP], v[RC_DOWN],
               v[RC_UNEXPL], s->cal[CAL_B], v[RC_MSTOP], s->cal[CAL_O], r.unknown,
               v[RC_BRK] + v[RC_OFF], v[RC_ORUN]);
    buf_printf(b,
               ",\"counts\":{\"good\":%" PRId64 ",\"scrap\":%" PRId64
               ",\"total\":%" PRId64 ",\"ideal_ms\":%" PRId64
               ",\"without_ideal_cycle\":%" PRId64 ",\"outside_good\":%" PRId64
               ",\"outside_scrap\":%" PRId64 "}",
               v[RC_GOOD], v[RC_SCRAP], r.total, v[RC_IDEAL], v[RC_NOICT], v[RC_OGOOD],
               v[RC_OSCRAP]);
    buf_printf(b,
               ",\"stops\":%" PRId64 ",\"micro_stops\":%" PRId64 ",\"machines\":%" PRId64,
               v[RC_STOPS], v[RC_MICROS], s->machines);
    buf_puts(b, ",\"flags\":[");
#define FLAG(bit, name)                                                                  \
    if (r.flags & (bit)) {                                                               \
        buf_printf(b, "%s\"%s\"", first ? "" : ",", name);                               \
        first = 0;                                                                       \
    }
    FLAG(KPI_F_PERF_OVER_100, "performance_above_100_check_ideal_cycle_time")
    FLAG(KPI_F_NO_ICT, "parts_without_ideal_cycle_time")
    FLAG(KPI_F_UNKNOWN, "unknown_time")
    FLAG(KPI_F_FUTURE_DATA, "data_ahead_of_server_clock")
    FLAG(KPI_F_UNEXPLAINED, "unexplained_stops")
#undef FLAG
    buf_puts(b, "]");
    if (explain) {
        buf_printf(b,
                   ",\"explain\":{"
                   "\"planned_busy\":{\"formula\":\"shift time - planned stops of the "
                   "calendar - stops declared planned\",\"inputs\":{\"shift_ms\":%" PRId64
                   ",\"calendar_planned_stops_ms\":%" PRId64
                   ",\"declared_planned_stops_ms\":%" PRId64 "},\"value\":%" PRId64 "},",
                   s->cal[CAL_P] + s->cal[CAL_B], s->cal[CAL_B], v[RC_MSTOP], r.pbt);
        buf_printf(b,
                   "\"unknown\":{\"formula\":\"planned busy time not covered by data "
                   "(offline, silent)\",\"inputs\":{\"planned_busy_ms\":%" PRId64
                   ",\"covered_ms\":%" PRId64 "},\"value\":%" PRId64 "},",
                   r.pbt, r.observed, r.unknown);
        buf_printf(
            b,
            "\"availability\":{\"formula\":\"run / (planned busy - unknown) = "
            "run / (run + setup + down + unexplained)\",\"inputs\":{\"run_ms\":%" PRId64
            ",\"micro_stops_ms\":%" PRId64 ",\"setup_ms\":%" PRId64
            ",\"down_ms\":%" PRId64 ",\"unexplained_ms\":%" PRId64 "},\"value\":",
            r.run, v[RC_MICRO], v[RC_SETUP], v[RC_DOWN], v[RC_UNEXPL]);
        if (r.has_a)
            buf_printf(b, "%.6f},", r.availability);
        else
            buf_puts(b, "null},");
        buf_printf(b,
                   "\"performance\":{\"formula\":\"sum(parts x ideal cycle time) / run "
                   "(micro-stops are run time)\",\"inputs\":{\"ideal_ms\":%" PRId64
                   ",\"run_ms\":%" PRId64 ",\"parts\":%" PRId64
                   ",\"parts_without_ideal_cycle\":%" PRId64 "},\"value\":",
                   v[RC_IDEAL], r.run, r.total, v[RC_NOICT]);
        if (r.has_p)
            buf_printf(b, "%.6f},", r.performance);
        else
            buf_puts(b, "null},");
        buf_printf(b,
                   "\"quality\":{\"formula\":\"good / (good + scrap)\",\"inputs\":{"
                   "\"good\":%" PRId64 ",\"scrap\":%" PRId64 "},\"value\":",
                   v[RC_GOOD], v[RC_SCRAP]);
        if (r.has_q)
            buf_printf(b, "%.6f},", r.quality);
        else
            buf_puts(b, "null},");
        buf_puts(b, "\"oee\":{\"formula\":\"availability x performance x quality = "
                    "sum(good x ideal cycle time) / (planned busy - unknown) for one "
                    "ideal cycle time\",\"inputs\":{");
        ratio(b, "availability", r.has_a, r.availability);
        buf_puts(b, ",");
        ratio(b, "performance", r.has_p, r.performance);
        buf_puts(b, ",");
        ratio(b, "quality", r.has_q, r.quality);
        buf_puts(b, "},\"value\":");
        if (r.has_oee)
            buf_printf(b, "%.6f},", r.oee);
        else
            buf_puts(b, "null},");
        buf_printf(b,
                   "\"teep\":{\"formula\":\"oee x (planned busy - unknown) / (period - "
                   "unknown)\",\"inputs\":{\"period_ms\":%" PRId64
                   ",\"observed_ms\":%" PRId64 ",\"unknown_ms\":%" PRId64 "},\"value\":",
                   s->span, r.observed, r.unknown);
        if (r.has_teep)
            buf_printf(b, "%.6f},", r.teep);
        else
            buf_puts(b, "null},");
        buf_printf(
            b,
            "\"mtbf\":{\"formula\":\"run / unplanned stops (micro-stops excluded)\","
            "\"inputs\":{\"run_ms\":%" PRId64 ",\"stops\":%" PRId64 "},\"value_s\":",
            r.run, v[RC_STOPS]);
        if (r.has_mtbf)
            buf_printf(b, "%.3f},", r.mtbf_ms / 1000.0);
        else
            buf_puts(b, "null},");
        buf_printf(b,
                   "\"mttr\":{\"formula\":\"(down + unexplained) / unplanned stops\","
                   "\"inputs\":{\"down_ms\":%" PRId64 ",\"unexplained_ms\":%" PRId64
                   ",\"stops\":%" PRId64 "},\"value_s\":",
                   v[RC_DOWN], v[RC_UNEXPL], v[RC_STOPS]);
        if (r.has_mtbf)
            buf_printf(b, "%.3f},", r.mttr_ms / 1000.0);
        else
            buf_puts(b, "null},");
        buf_printf(b,
                   "\"scrap_ratio\":{\"formula\":\"scrap / (good + scrap)\",\"inputs\":{"
                   "\"good\":%" PRId64 ",\"scrap\":%" PRId64 "}},"
                   "\"first_pass_yield\":{\"formula\":\"good / (good + scrap): no rework "
                   "is recorded, so it equals quality\",\"inputs\":{\"good\":%" PRId64
                   ",\"scrap\":%" PRId64 "}}}",
                   v[RC_GOOD], v[RC_SCRAP], v[RC_GOOD], v[RC_SCRAP]);
    }
    buf_puts(b, "}");
}

/* ---- Pareto ------------------------------------------------------------------- */

static int losses_add(struct kpi_losses *l, const char *reason, int cat, int64_t ms,
                      int64_t count)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (l->v[i].cat == cat && strcmp(l->v[i].reason, reason) == 0) {
            l->v[i].ms += ms;
            l->v[i].count += count;
            return 0;
        }
    }
    if (LB_GROW(l->v, &l->cap, l->n, 16) != 0)
        return -ENOMEM;
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    snprintf(l->v[l->n].reason, sizeof(l->v[l->n].reason), "%s", reason);
    l->v[l->n].cat = cat;
    l->v[l->n].ms = ms;
    l->v[l->n].count = count;
    l->n++;
    return 0;
}

int kpi_pareto(struct db *db, const char *dev, int64_t from, int64_t to, int64_t now,
               struct kpi_losses *l)
{
    const struct plant *pl = plant_get();
    const struct cal_seg *segs;
    struct dbk_track t;
    struct octx o = {0};
    int64_t line_id, hi = to < now ? to : now, open_end, u0;
    size_t nsegs, i, first_unjudged;
    int *cats = NULL, nstop, nmicro, rc;

    if (hi <= from)
        return 0;
    if ((rc = rollup_sync(db)) != 0 || (rc = rollup_line_of(db, dev, &line_id)) != 0 ||
        (rc = dbk_track(db, dev, &t)) != 0)
        return rc;
    if (!t.exists)
        return 0;
    if ((rc = rollup_segments(db, line_id, from, hi, &segs, &nsegs)) != 0)
        return rc;
    /* Judged intervals in the period, then every unjudged one: the open
     * stop is judged on its whole length, even where it began earlier. */
    if ((rc = dbk_pieces(db, dev, from, hi, t.maxlen, 0, collect, &o)) != 0)
        goto out;
    u0 = t.chain >= 0 && t.chain < t.start ? t.chain : t.start;
    if ((rc = dbk_pieces(db, dev, u0, INT64_MAX, t.maxlen, 1, collect, &o)) != 0)
        goto out;
    if ((cats = calloc(o.n ? o.n : 1, sizeof(*cats))) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    open_end = now - t.last > pl->timeout_ms ? t.last : now;
    for (first_unjudged = 0; first_unjudged < o.n && o.v[first_unjudged].cat >= 0;
         first_unjudged++)
        cats[first_unjudged] = o.v[first_unjudged].cat;
    if (first_unjudged < o.n)
        (void)judge_open(o.v + first_unjudged, o.n - first_unjudged, open_end,
                         cats + first_unjudged, &nstop, &nmicro);
    for (i = 0; i < o.n; i++) {
        const struct dbk_piece *p = &o.v[i];
        int64_t a = p->start > from ? p->start : from;
        int64_t b = (p->end == INT64_MAX ? open_end : p->end);
        int64_t ms = 0;
        long si;
        const char *reason;

        if (b > hi)
            b = hi;
        if (b <= a)
            continue;
        if (cats[i] != CAT_DOWN && cats[i] != CAT_UNEXPL && cats[i] != CAT_SETUP &&
            cats[i] != CAT_MICRO)
            continue;
        /* Only planned busy time holds losses. */
        for (si = cal_find(segs, nsegs, a); si >= 0 && (size_t)si < nsegs && a < b;
             si++) {
            int64_t e = segs[si].end < b ? segs[si].end : b;

            if (segs[si].cls == CAL_P && e > a)
                ms += e - a;
            a = e;
        }
        if (ms <= 0)
            continue;
        reason = cats[i] == CAT_DOWN || cats[i] == CAT_SETUP ? p->reason : "";
        if ((rc = losses_add(l, reason, cats[i], ms, 1)) != 0)
            goto out;
    }
    rc = 0;
out:
    free(cats);
    free(o.v);
    return rc;
}

static int cmp_loss(const void *a, const void *b)
{
    const struct kpi_loss *x = a, *y = b;

    if (x->ms != y->ms)
        return x->ms > y->ms ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

void kpi_losses_sort(struct kpi_losses *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_loss);
}

void kpi_losses_free(struct kpi_losses *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}
