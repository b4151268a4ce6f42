/*
 * The shift calendar of a line, expanded into time: weekly shifts in local
 * wall-clock time (a shift may cross midnight), dated exceptions (holidays
 * that cancel a production day's shifts, extra shifts), and planned stops
 * (breaks, maintenance: weekly or one-off).  Expanding a calendar over an
 * interval gives a partition of it into segments of planned busy time,
 * planned stop and unscheduled time (docs/kpi.md, "Calendar").  Pure: the
 * rows come from the caller, the zone from tz.c.
 */
#ifndef LB_SERVER_CALENDAR_H
#define LB_SERVER_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define CAL_NAME_MAX 63
#define CAL_OPEN     INT64_MAX /* valid_to of a row still in force */

/* What a moment of the calendar is. */
enum cal_cls {
    CAL_P = 0, /* in a shift, outside planned stops: planned busy time */
    CAL_B = 1, /* in a shift, inside a planned stop (break, maintenance) */
    CAL_O = 2, /* outside every shift: not scheduled */
    CAL_NCLS
};

/* A weekly shift: on ISO weekday (1 Monday .. 7 Sunday) from start_min to
 * end_min, local time; end_min <= start_min ends on the next day.  In force
 * for shifts starting on local dates valid_from <= date < valid_to. */
struct cal_shift {
    int64_t id;
    int weekday;
    int start_min, end_min;
    int64_t valid_from, valid_to; /* day numbers (tz_days_from_civil) */
    char name[CAL_NAME_MAX + 1];
};

/* A planned stop: weekly (weekday 1..7, or 0 for every day; local times as
 * for shifts) or one-off (weekday -1: start_ms..end_ms).  It only plans
 * time inside shifts; outside them time is unscheduled anyway. */
struct cal_stop {
    int64_t id;
    int weekday;
    int start_min, end_min;
    int64_t start_ms, end_ms;
    int64_t valid_from, valid_to;
    char name[CAL_NAME_MAX + 1];
};

/* A dated exception: a holiday cancels every shift that belongs to the
 * production day; otherwise an extra shift on that local date. */
struct cal_day {
    int64_t id;
    int64_t day;
    int holiday;
    int start_min, end_min;
    char name[CAL_NAME_MAX + 1];
};

/* A line's calendar.  With no weekly shift at all (nshifts 0) the line
 * runs around the clock: one shift per production day (id 0), holidays
 * still cancel days and planned stops still apply. */
struct calendar {
    struct cal_shift *shifts;
    size_t nshifts;
    struct cal_stop *stops;
    size_t nstops;
    struct cal_day *days;
    size_t ndays;
};

/* A stretch of time of one class; P and B carry their shift instance. */
struct cal_seg {
    int64_t start, end; /* ms, [start, end) */
    int cls;            /* enum cal_cls */
    int64_t shift_id;   /* -1 for CAL_O; 0 around the clock; < -1 extra shifts */
    int64_t shift_start, shift_end; /* the whole instance, ms */
    int64_t shift_day;              /* production day the shift belongs to (its start) */
    const char *shift_name;         /* into the calendar; "" for none */
};

/* Where production days begin: the plant's zone and local day start. */
struct cal_clock {
    const struct tz *tz;
    int day_start_min;
};

/* The UTC ms at which production day `day` starts. */
int64_t cal_day_start(const struct cal_clock *ck, int64_t day);
/* The production day holding t_ms. */
int64_t cal_prod_day(const struct cal_clock *ck, int64_t t_ms);
/* The UTC ms of local date `day` at minute `min` (0..1440). */
int64_t cal_local_ms(const struct cal_clock *ck, int64_t day, int min);

/*
 * Partitions [from, to) into segments, sorted and adjacent, merged where
 * class and shift instance agree.  Overlapping shifts are united (the
 * earlier-starting one names the time).  OUT: *segs (free()), *n.  Returns
 * 0, -ENOMEM or LB_E_RANGE (from > to, or a span over 400 days).
 */
int cal_expand(const struct calendar *c, const struct cal_clock *ck, int64_t from,
               int64_t to, struct cal_seg **segs, size_t *n);

/* Index of the segment holding t in segs (sorted, adjacent), or -1. */
long cal_find(const struct cal_seg *segs, size_t n, int64_t t);

/* Frees the arrays of c (not c) and empties it. */
void cal_clear(struct calendar *c);

#endif
