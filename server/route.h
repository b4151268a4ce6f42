/*
 * HTTP request routing and parameter checking, with no I/O: the method and
 * decoded path become a route, and query values become checked numbers or
 * a client-facing reason.  Pure functions, so the fuzzer drives them alone.
 */
#ifndef LB_SERVER_ROUTE_H
#define LB_SERVER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "linebeat/wire.h"

#define ROUTE_URL_MAX   1024 /* longer paths get 414 */
#define ROUTE_PARAM_MAX 64   /* longer time values are rejected */

enum route_kind {
    ROUTE_NONE,           /* answer with status */
    ROUTE_BOARD,          /* GET / */
    ROUTE_MACHINES,       /* GET /api/v1/machines */
    ROUTE_MACHINE_COUNTS, /* GET /api/v1/machines/<id>/counts */
    ROUTE_AGENTS,         /* GET /api/v1/agents */
    ROUTE_METRICS,        /* GET /metrics */
    ROUTE_API,            /* the rest of /api/v1/, any method: api.c */
    ROUTE_MACHINE_PAGE,   /* GET /machines/<id> (page_machine.c) */
    ROUTE_DOWNTIME,       /* GET, POST /downtime (page_downtime.c) */
    ROUTE_ORDERS,         /* GET /orders, GET, POST /orders/<number> (page_orders.c) */
    ROUTE_SHIFT_REPORT,   /* GET /reports/shift (page_shift.c) */
    ROUTE_TRENDS,         /* GET /reports/trends (page_trends.c) */
    ROUTE_ADMIN_MASTER,   /* GET, POST /admin/master, /admin/calendar (page_admin.c) */
};

struct route {
    enum route_kind kind;
    int status;              /* ROUTE_NONE: 404, 405 or 414 */
    int json;                /* answer errors in JSON (API paths) */
    char dev[LB_ID_MAX + 1]; /* ROUTE_MACHINE_COUNTS, ROUTE_MACHINE_PAGE */
};

/* Maps method and path (percent-decoded, without the query) to OUT: r.
 * GET and HEAD are accepted; other methods on a known path get 405. */
void route_parse(const char *method, const char *path, struct route *r);

/*
 * Checks the time parameter name (for the message) with value (NULL when
 * absent).  OUT: *ms.  Returns 0, or -1 with a message such as "from: not
 * an ISO 8601 time" in why.  A space after the date's time part is read as
 * "+", since form decoding turns an unencoded "+01:00" into " 01:00".
 */
int route_time_param(const char *name, const char *value, int64_t *ms, char *why,
                     size_t size);

/* Both bounds of a counts interval; also requires from <= to. */
int route_interval(const char *from, const char *to, int64_t *from_ms, int64_t *to_ms,
                   char *why, size_t size);

#endif
