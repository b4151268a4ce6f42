/* What an operator made; see operators.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "db_master.h"
#include "kpi.h"
#include "linebeat/wire.h"
#include "operators.h"
#include "rollup.h"

/* How far after a scan outside every shift the next shift is looked for:
 * past a long weekend.  A run with no shift in sight ends there. */
#define FIND_SHIFT_MS (8 * 86400000LL)

static int shift_end(struct db *db, const char *dev, int64_t t, int64_t *end);

/* The end of the shift instance of dev's line holding t; outside every
 * shift, the start of the next one (at most FIND_SHIFT_MS later). */
static int shift_end(struct db *db, const char *dev, int64_t t, int64_t *end)
{
    const struct cal_seg *segs;
    int64_t line;
    size_t n, i;
    long k;
    int rc;

    *end = t + FIND_SHIFT_MS;
    if ((rc = rollup_line_of(db, dev, &line)) != 0 ||
        (rc = rollup_segments(db, line, t, t + FIND_SHIFT_MS, &segs, &n)) != 0)
        return rc;
    if ((k = cal_find(segs, n, t)) < 0)
        return 0;
    if (segs[k].cls != CAL_O) {
        *end = segs[k].shift_end;
        return 0;
    }
    for (i = (size_t)k + 1; i < n; i++) {
        if (segs[i].cls != CAL_O) {
            *end = segs[i].start;
            break;
        }
    }
    return 0;
}

int operators_report(struct db *db, int64_t id, int64_t from, int64_t to, int64_t now,
                     int explain, struct buf *out)
{
    char badge[LB_SCAN_MAX + 1], name[256];
    struct dbm_run *runs = NULL;
    struct kpi_sums sum;
    size_t n = 0, i;
    int rc, first = 1;

    if ((rc = dbm_operator_head(db, id, badge, sizeof(badge), name, sizeof(name))) != 0 ||
        (rc = dbm_operator_runs(db, id, from, to, &runs, &n)) != 0)
        return rc;
    buf_printf(out, "{\"id\":%" PRId64 ",\"badge\":", id);
    buf_json_str(out, badge);
    buf_puts(out, ",\"name\":");
    if (name[0] == '\0')
        buf_puts(out, "null");
    else
        buf_json_str(out, name);
    buf_puts(out, ",\"from\":");
    buf_json_time(out, from);
    buf_puts(out, ",\"to\":");
    buf_json_time(out, to);
    buf_puts(out, ",\"runs\":[");
    memset(&sum, 0, sizeof(sum));
    for (i = 0; i < n; i++) {
        const struct dbm_run *r = &runs[i];
        const char *cause = "scan";
        int64_t end = r->end, send, a, b;
        struct kpi_group g;

        if ((rc = shift_end(db, r->dev, r->start, &send)) != 0)
            goto out;
        if (send < end) {
            end = send;
            cause = "shift";
        }
        if (end > now) {
            end = now;
            cause = "open";
        }
        a = r->start > from ? r->start : from;
        b = end < to ? end : to;
        if (b <= a)
            continue;
        memset(&g, 0, sizeof(g));
        g.from = a;
        g.to = b;
        if ((rc = kpi_machine(db, r->dev, now, &g, 1)) != 0)
            goto out;
        for (int k = 0; k < RC_N; k++)
            sum.v[k] += g.s.v[k];
        for (int k = 0; k < CAL_NCLS; k++)
            sum.cal[k] += g.s.cal[k];
        sum.span += g.s.span;
        sum.machines = 1;
        buf_puts(out, first ? "{\"machine\":" : ",{\"machine\":");
        first = 0;
        buf_json_str(out, r->dev);
        buf_puts(out, ",\"start\":");
        buf_json_time(out, a);
        buf_puts(out, ",\"end\":");
        buf_json_time(out, b);
        buf_puts(out, ",\"ended_by\":");
        buf_json_str(out, cause);
        /* Every part counts for the operator, in the calendar's shifts or
         * not, as for orders. */
        buf_printf(out, ",\"good\":%" PRId64 ",\"scrap\":%" PRId64 "}",
                   g.s.v[RC_GOOD] + g.s.v[RC_OGOOD], g.s.v[RC_SCRAP] + g.s.v[RC_OSCRAP]);
    }
    buf_printf(out, "],\"good\":%" PRId64 ",\"scrap\":%" PRId64 ",\"kpi\":",
               sum.v[RC_GOOD] + sum.v[RC_OGOOD], sum.v[RC_SCRAP] + sum.v[RC_OSCRAP]);
    kpi_json(out, &sum, explain);
    buf_puts(out, "}\n");
    rc = 0;
out:
    free(runs);
    return rc;
}
