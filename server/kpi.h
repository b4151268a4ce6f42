/*
 * The KPI engine (ISO 22400-2 time model, docs/kpi.md): sums of time and
 * parts per machine and period from the rollups, cut exactly at any
 * millisecond, plus the open intervals judged provisionally; KPIs derived
 * from the sums of numerators and denominators (never averages of ratios),
 * each with its formula and inputs; downtime Pareto.  Reads storage only
 * through db_kpi.h and rollup.h.
 */
#ifndef LB_SERVER_KPI_H
#define LB_SERVER_KPI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "calendar.h"
#include "db.h"
#include "rollup.h"

/* What a scope holds over one period: machine data split by the calendar
 * (rollup.h's columns) and the calendar's own time, all up to "now". */
struct kpi_sums {
    int64_t v[RC_N];
    int64_t cal[CAL_NCLS]; /* ms of planned busy, planned stop, unscheduled */
    int64_t span;          /* ms of the period (per machine, summed) */
    int64_t machines;
};

enum kpi_grouping {
    KPI_G_NONE,
    KPI_G_HOUR,
    KPI_G_SHIFT,
    KPI_G_DAY,
    KPI_G_WEEK,
    KPI_G_MONTH
};

#define KPI_LABEL_MAX  96
#define KPI_GROUPS_MAX 10000

/* One period of a report. */
struct kpi_group {
    int64_t from, to;
    char label[KPI_LABEL_MAX];
    struct kpi_sums s;
    /* kpi_machine's cut of the period, the same for every machine: set on
     * first use (prepared_for is the "now" it was made for). */
    int64_t prepared_for, cut_to, d0, d1, da, db;
};

/* Values derived from sums; a ratio whose denominator is 0 is absent. */
struct kpi_result {
    int64_t pbt;      /* planned busy time: calendar P minus planned stops declared */
    int64_t unknown;  /* planned busy time without data */
    int64_t observed; /* pbt - unknown */
    int64_t run;      /* run time, micro-stops included */
    int64_t total;    /* parts */
    int has_a, has_p, has_q, has_oee, has_teep, has_mtbf;
    double availability, performance, quality, oee, teep;
    double mtbf_ms, mttr_ms, scrap_ratio;
    unsigned flags; /* KPI_F_* */
};

enum {
    KPI_F_PERF_OVER_100 = 1, /* ideal cycle time longer than the real one */
    KPI_F_NO_ICT = 2,        /* parts without an ideal cycle time */
    KPI_F_UNKNOWN = 4,       /* planned time without data */
    KPI_F_FUTURE_DATA = 8,   /* more data than time: a clock ahead of ours */
    KPI_F_UNEXPLAINED = 16,  /* stops waiting for a reason */
};

/* Parses "none", "hour", "shift", "day", "week", "month"; -1 otherwise. */
int kpi_grouping_parse(const char *s);

/*
 * The periods covering [from, to) for grouping g: hours, production days,
 * ISO weeks and months of production days (local time), or the shift
 * instances of line_id's calendar (KPI_G_SHIFT; time outside shifts is in
 * no group).  Periods are clipped to [from, to).  OUT: *out (free()), *n.
 * Returns 0, -ENOMEM, LB_E_RANGE (more than KPI_GROUPS_MAX) or LB_E_DB.
 */
int kpi_groups(struct db *db, enum kpi_grouping g, int64_t line_id, int64_t from,
               int64_t to, struct kpi_group **out, size_t *n);

/*
 * Adds machine dev's sums to each group (sorted, disjoint), as of now:
 * time after now counts nowhere.  Returns 0, -ENOMEM or LB_E_DB.
 */
int kpi_machine(struct db *db, const char *dev, int64_t now, struct kpi_group *g,
                size_t n);

/*
 * The same for machines devs[0..n) added up.  When they are exactly the
 * machines of lines[0..nlines) (0: those without a line), whole days come
 * from the per-line day sums (a plant-wide year reads a few thousand rows);
 * with lines NULL, from the machines' day rows summed by one query.  The
 * rest is read per machine.  Returns 0, -ENOMEM or LB_E_DB.
 */
int kpi_scope(struct db *db, char *const *devs, size_t n, const int64_t *lines,
              size_t nlines, int64_t now, struct kpi_group *g, size_t ng);

/* Derives the KPIs of s. */
void kpi_derive(const struct kpi_sums *s, struct kpi_result *r);

/* Writes s and its KPIs as a JSON object (docs/kpi.md, "API"); explain adds
 * every KPI's formula and inputs. */
void kpi_json(struct buf *b, const struct kpi_sums *s, int explain);

/* A Pareto bar: lost time of one reason (or kind of loss) in planned busy
 * time. */
struct kpi_loss {
    char reason[LB_CODE_MAX + 1]; /* "" for unexplained, micro-stops, setup */
    int cat;                      /* enum roll_cat */
    int64_t ms;
    int64_t count; /* intervals */
};

struct kpi_losses {
    struct kpi_loss *v;
    size_t n, cap;
};

/* Adds dev's losses in [from, min(to, now)) to l.  0, -ENOMEM or LB_E_DB. */
int kpi_pareto(struct db *db, const char *dev, int64_t from, int64_t to, int64_t now,
               struct kpi_losses *l);

/* Sorts l by lost time, largest first. */
void kpi_losses_sort(struct kpi_losses *l);
void kpi_losses_free(struct kpi_losses *l);

/* Name of a category for the API ("unexplained", "micro_stops", ...). */
const char *kpi_cat_name(int cat);

#endif
