/*
 * Trends, /reports/trends?scope=plant|line|machine&id=..&weeks=N (manager
 * role): weekly OEE, availability, performance and quality up to a year
 * as an SVG line chart and a table, and with at=YYYY-MM-DD&days=N the
 * change of each factor and loss between the N days before and after that
 * date.  ?csv=1 gives the weekly rows; the JSON is the API's OEE report.
 */
#ifndef LB_SERVER_PAGE_TRENDS_H
#define LB_SERVER_PAGE_TRENDS_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

void page_trends(const struct pages_env *env, struct db *db, int64_t now_ms,
                 struct reply *rep);

#endif
