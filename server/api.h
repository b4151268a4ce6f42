/*
 * The JSON API of the KPI engine and its master data, under /api/v1
 * (docs/kpi.md, "API"): reports (OEE and losses for any scope and period,
 * downtime Pareto, order progress) and create/update/delete of lines,
 * machines, products, orders (with a CSV import), operators, shifts,
 * planned stops, calendar days, reasons and stop reasons.  Who may do what
 * is checked in front of it (web.c) and again here by role; errors are
 * JSON with a 4xx status naming the bad parameter.
 */
#ifndef LB_SERVER_API_H
#define LB_SERVER_API_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

/* 1 when path (percent-decoded, no query) is one of this module's. */
int api_owns(const char *path);

/*
 * Answers env's request (method, path, query, body, user) at now_ms into
 * rep, reading through ro and writing through env's read-write connection.
 * Never fails: errors become 4xx/5xx replies.
 */
void api_handle(const struct pages_env *env, struct db *ro, int64_t now_ms,
                struct reply *rep);

#endif
