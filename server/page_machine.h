/*
 * The machine page, /machines/<id>[?day=YYYY-MM-DD]: one production day's
 * (today's without day) state timeline, output per hour against the
 * ideal-cycle target and the downtime Pareto as server-drawn SVG, the
 * day's last scans, and A/P/Q/OEE with the engine's formulas and inputs.
 * Every table has a CSV twin (?csv=timeline, hours, pareto, scans, with
 * the day); the JSON is the API's for the same day (linked from the page).
 */
#ifndef LB_SERVER_PAGE_MACHINE_H
#define LB_SERVER_PAGE_MACHINE_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

/* Renders dev's page (or, with csv one of the table names, its CSV) of
 * the day in env's "day" argument for env's user at now_ms into OUT: rep;
 * 400 for a bad day. */
void page_machine(const struct pages_env *env, struct db *db, const char *dev,
                  const char *csv, int64_t now_ms, struct reply *rep);

#endif
