/*
 * Calendar expansion; see calendar.h and docs/kpi.md.
 *
 * Shifts and stops are wall-clock times, so each instance is converted on
 * its own date: a night shift 22:00-06:00 lasts 7 h on the night the
 * clocks go forward and 9 h when they go back, which is what the people on
 * it work.  A shift belongs to the production day in which it starts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"

#define SPAN_MAX_DAYS 4000
#define BACK_SCAN     8 /* overlapping instances looked at, at most */

struct inst {
    int64_t s, e;
    int64_t id;
    int64_t day;
    const char *name;
};

struct vec {
    struct inst *v;
    size_t n, cap;
};

static int vec_push(struct vec *v, const struct inst *x);
static int cmp_inst(const void *a, const void *b);
static int cmp_i64(const void *a, const void *b);
static int is_holiday(const struct calendar *c, int64_t day);
static long cover(const struct vec *v, int64_t t, int earliest);

int64_t cal_local_ms(const struct cal_clock *ck, int64_t day, int min)
{
    return tz_local_to_utc(ck->tz, day * 86400 + (int64_t)min * 60) * 1000;
}

int64_t cal_day_start(const struct cal_clock *ck, int64_t day)
{
    return cal_local_ms(ck, day, ck->day_start_min);
}

int64_t cal_prod_day(const struct cal_clock *ck, int64_t t_ms)
{
    int64_t s = tz_floordiv(t_ms, 1000);
    int64_t local = s + tz_offset(ck->tz, s, NULL);
    int64_t d = tz_floordiv(local - (int64_t)ck->day_start_min * 60, 86400);

    /* Local time repeats once a year; the boundaries decide. */
    if (t_ms < cal_day_start(ck, d))
        d--;
    else if (t_ms >= cal_day_start(ck, d + 1))
        d++;
    return d;
}

static int vec_push(struct vec *v, const struct inst *x)
{
    if (LB_GROW(v->v, &v->cap, v->n, 64) != 0)
        return -ENOMEM;
    v->v[v->n++] = *x;
    return 0;
}

static int cmp_inst(const void *a, const void *b)
{
    const struct inst *x = a, *y = b;

    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return (x->e > y->e) - (x->e < y->e);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int is_holiday(const struct calendar *c, int64_t day)
{
    size_t i;

    for (i = 0; i < c->ndays; i++)
        if (c->days[i].holiday && c->days[i].day == day)
            return 1;
    return 0;
}

/* The instance covering t (sorted by start): the earliest-starting one of
 * those looked at when earliest, else any.  -1 when none. */
static long cover(const struct vec *v, int64_t t, int earliest)
{
    size_t lo = 0, hi = v->n, mid;
    long found = -1, k;
    int seen = 0;

    while (lo < hi) { /* first with s > t */
        mid = lo + (hi - lo) / 2;
        if (v->v[mid].s <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (k = (long)lo - 1; k >= 0 && seen < BACK_SCAN; k--, seen++) {
        if (v->v[k].e > t) {
            found = k;
            if (!earliest)
                break;
        }
    }
    return found;
}

int cal_expand(const struct calendar *c, const struct cal_clock *ck, int64_t from,
               int64_t to, struct cal_seg **segs, size_t *n)
{
    struct vec sh = {0}, st = {0};
    struct cal_seg *out = NULL;
    int64_t *bounds = NULL, dfrom, dto, d;
    size_t nb = 0, nout = 0, i, k;
    int rc = -ENOMEM;

    *segs = NULL;
    *n = 0;
    if (from > to || (to - from) / 86400000 > SPAN_MAX_DAYS)
        return LB_E_RANGE;
    if (from == to)
        return 0;
    /* Local dates whose shifts may reach into [from, to): a shift lasts
     * at most a day, and the zone moves dates by at most a day. */
    dfrom = tz_floordiv(from, 86400000) - 2;
    dto = tz_floordiv(to, 86400000) + 2;

    if (c->nshifts == 0) {
        int64_t pd0 = cal_prod_day(ck, from), pd1 = cal_prod_day(ck, to - 1);

        for (d = pd0; d <= pd1; d++) {
            struct inst x = {cal_day_start(ck, d), cal_day_start(ck, d + 1), 0, d, ""};

            if (!is_holiday(c, d) && vec_push(&sh, &x) != 0)
                goto fail;
        }
    } else {
        for (d = dfrom; d <= dto; d++) {
            int wd = tz_weekday(d);

            for (i = 0; i < c->nshifts; i++) {
                const struct cal_shift *s = &c->shifts[i];
                struct inst x;

                if (s->weekday != wd || d < s->valid_from || d >= s->valid_to)
                    continue;
                x.s = cal_local_ms(ck, d, s->start_min);
                x.e = cal_local_ms(ck, d + (s->end_min <= s->start_min), s->end_min);
                x.id = s->id;
                x.name = s->name;
                if (x.e <= x.s || x.e <= from || x.s >= to)
                    continue;
                x.day = cal_prod_day(ck, x.s);
                if (is_holiday(c, x.day))
                    continue;
                if (vec_push(&sh, &x) != 0)
                    goto fail;
            }
        }
    }
    for (i = 0; i < c->ndays; i++) {
        const struct cal_day *e = &c->days[i];
        struct inst x;

        if (e->holiday || e->day < dfrom || e->day > dto)
            continue;
        x.s = cal_local_ms(ck, e->day, e->start_min);
        x.e = cal_local_ms(ck, e->day + (e->end_min <= e->start_min), e->end_min);
        x.id = -2 - e->id;
        x.name = e->name;
        if (x.e <= x.s || x.e <= from || x.s >= to)
            continue;
        x.day = cal_prod_day(ck, x.s);
        if (vec_push(&sh, &x) != 0)
            goto fail;
    }
    for (i = 0; i < c->nstops; i++) {
        const struct cal_stop *s = &c->stops[i];
        struct inst x = {0, 0, s->id, 0, s->name};

        if (s->weekday < 0) {
            x.s = s->start_ms;
            x.e = s->end_ms;
            if (x.e > x.s && x.e > from && x.s < to && vec_push(&st, &x) != 0)
                goto fail;
            continue;
        }
        for (d = dfrom; d <= dto; d++) {
            if ((s->weekday != 0 && s->weekday != tz_weekday(d)) || d < s->valid_from ||
                d >= s->valid_to)
                continue;
            x.s = cal_local_ms(ck, d, s->start_min);
            x.e = cal_local_ms(ck, d + (s->end_min <= s->start_min), s->end_min);
            if (x.e > x.s && x.e > from && x.s < to && vec_push(&st, &x) != 0)
                goto fail;
        }
    }
    if (sh.n > 1)
        qsort(sh.v, sh.n, sizeof(*sh.v), cmp_inst);
    if (st.n > 1)
        qsort(st.v, st.n, sizeof(*st.v), cmp_inst);

    if ((bounds = malloc((2 + 2 * (sh.n + st.n)) * sizeof(*bounds))) == NULL)
        goto fail;
    bounds[nb++] = from;
    bounds[nb++] = to;
    for (i = 0; i < sh.n; i++) {
        if (sh.v[i].s > from && sh.v[i].s < to)
            bounds[nb++] = sh.v[i].s;
        if (sh.v[i].e > from && sh.v[i].e < to)
            bounds[nb++] = sh.v[i].e;
    }
    for (i = 0; i < st.n; i++) {
        if (st.v[i].s > from && st.v[i].s < to)
            bounds[nb++] = st.v[i].s;
        if (st.v[i].e > from && st.v[i].e < to)
            bounds[nb++] = st.v[i].e;
    }
    qsort(bounds, nb, sizeof(*bounds), cmp_i64);
    for (i = 1, k = 1; i < nb; i++)
        if (bounds[i] != bounds[k - 1])
            bounds[k++] = bounds[i];
    nb = k;

    if ((out = calloc(nb, sizeof(*out))) == NULL)
        goto fail;
    for (i = 0; i + 1 < nb; i++) {
        int64_t a = bounds[i], b = bounds[i + 1];
        long si = cover(&sh, a, 1);
        struct cal_seg seg;

        memset(&seg, 0, sizeof(seg));
        seg.start = a;
        seg.end = b;
        if (si < 0) {
            seg.cls = CAL_O;
            seg.shift_id = -1;
            seg.shift_day = cal_prod_day(ck, a);
            seg.shift_name = "";
        } else {
            const struct inst *x = &sh.v[si];

            seg.cls = cover(&st, a, 0) >= 0 ? CAL_B : CAL_P;
            seg.shift_id = x->id;
            seg.shift_start = x->s;
            seg.shift_end = x->e;
            seg.shift_day = x->day;
            seg.shift_name = x->name;
        }
        if (nout > 0) {
            struct cal_seg *p = &out[nout - 1];

            if (p->cls == seg.cls && p->shift_id == seg.shift_id &&
                p->shift_start == seg.shift_start &&
                (seg.cls != CAL_O || p->shift_day == seg.shift_day)) {
                p->end = b;
                continue;
            }
        }
        out[nout++] = seg;
    }
    *segs = out;
    *n = nout;
    out = NULL;
    rc = 0;
fail:
    free(out);
    free(bounds);
    free(sh.v);
    free(st.v);
    return rc;
}

long cal_find(const struct cal_seg *segs, size_t n, int64_t t)
{
    size_t lo = 0, hi = n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (segs[mid].end <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && segs[lo].start <= t && t < segs[lo].end)
        return (long)lo;
    return -1;
}

void cal_clear(struct calendar *c)
{
    free(c->shifts);
    free(c->stops);
    free(c->days);
    memset(c, 0, sizeof(*c));
}
