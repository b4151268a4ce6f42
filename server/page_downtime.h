/*
 * Downtime to be explained, /downtime: every stop of the last days that
 * waits for a reason (the engine's "unexplained" bucket), with a form per
 * stop to name its reason from the catalogue.  Posting it (supervisor and
 * above, CSRF-checked by web.c) calls the engine's rollup_set_reason, which
 * keeps the audit trail and re-judges the stop.  ?csv=1 is the table.
 */
#ifndef LB_SERVER_PAGE_DOWNTIME_H
#define LB_SERVER_PAGE_DOWNTIME_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

#define DOWNTIME_DAYS_DEFAULT 7
#define DOWNTIME_DAYS_MAX     31

/* GET (the page or, with csv, its CSV) or POST (a reason for one stop). */
void page_downtime(const struct pages_env *env, struct db *db, int64_t now_ms,
                   struct reply *rep);

#endif
