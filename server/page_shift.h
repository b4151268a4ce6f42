/*
 * The shift report, /reports/shift?line=ID&date=YYYY-MM-DD&shift=NAME: per
 * line (all lines without line=) and machine A, P, Q, OEE, good, scrap and
 * the top losses of the shift (the whole production day without shift=),
 * one printed A4 page per line.  ?csv=1 gives the rows; the JSON is the
 * API's OEE and Pareto reports (linked per line).
 */
#ifndef LB_SERVER_PAGE_SHIFT_H
#define LB_SERVER_PAGE_SHIFT_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

void page_shift(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep);

#endif
