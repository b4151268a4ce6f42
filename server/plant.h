/*
 * The plant's settings the KPI engine and the rollups share: its time zone,
 * where production days start, the micro-stop threshold and how long a
 * silent machine keeps its state.  Set once at startup, before any thread,
 * and read-only afterwards; until then the defaults hold (UTC, 06:00,
 * 120 s, 180 s).  Tests may set it again between cases.
 */
#ifndef LB_SERVER_PLANT_H
#define LB_SERVER_PLANT_H

#include <stdint.h>

#include "calendar.h"
#include "tz.h"

struct plant {
    struct tz *tz;
    struct cal_clock clock; /* tz and day_start_min */
    int64_t micro_ms;       /* stops shorter than this are micro-stops */
    int64_t timeout_ms;     /* a longer silence is unknown time */
};

/*
 * Replaces the settings: zone name (loaded from /usr/share/zoneinfo),
 * day_start_min (minutes after local midnight), micro_stop_s and
 * data_timeout_s.  Not thread-safe: call before threads start.  Returns 0
 * or tz_load's error (the settings are then unchanged).
 */
int plant_set(const char *zone, int day_start_min, int64_t micro_stop_s,
              int64_t data_timeout_s);

/* The current settings; never NULL. */
const struct plant *plant_get(void);

/* The production day holding now_ms, in the plant's zone from day_start to
 * day_start (23 or 25 h on DST days): OUT: [*from, *to) in ms. */
void plant_today(int64_t now_ms, int64_t *from, int64_t *to);

/* Frees the zone (at exit, for leak checkers). */
void plant_free(void);

#endif
