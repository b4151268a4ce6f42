/* Routing and parameter checks; see route.h. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "linebeat/clock.h"
#include "route.h"

#define MACHINES_PREFIX "/api/v1/machines/"
#define COUNTS_SUFFIX   "/counts"

static int method_ok(const char *method);

static int method_ok(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void route_parse(const char *method, const char *path, struct route *r)
{
    size_t len = strnlen(path, ROUTE_URL_MAX + 1);

    memset(r, 0, sizeof(*r));
    r->kind = ROUTE_NONE;
    r->status = 404;
    r->json = strncmp(path, "/api/", 5) == 0;
    if (len > ROUTE_URL_MAX) {
        r->status = 414;
        return;
    }
    if (strcmp(path, "/") == 0)
        r->kind = ROUTE_BOARD;
    else if (strcmp(path, "/api/v1/machines") == 0)
        r->kind = ROUTE_MACHINES;
    else if (strcmp(path, "/api/v1/agents") == 0)
        r->kind = ROUTE_AGENTS;
    else if (strcmp(path, "/metrics") == 0)
        r->kind = ROUTE_METRICS;
    else if (strcmp(path, "/reports/shift") == 0)
        r->kind = ROUTE_SHIFT_REPORT;
    else if (strcmp(path, "/reports/trends") == 0)
        r->kind = ROUTE_TRENDS;
    else if (strcmp(path, "/orders") == 0)
        r->kind = ROUTE_ORDERS;
    else if (strncmp(path, "/orders/", 8) == 0 && path[8] != '\0') {
        r->kind = ROUTE_ORDERS;
        if (strcmp(method, "POST") == 0)
            return; /* completing an order; the gate checked role and CSRF */
    } else if (strcmp(path, "/admin/master") == 0 ||
               strcmp(path, "/admin/calendar") == 0) {
        r->kind = ROUTE_ADMIN_MASTER;
        if (strcmp(method, "POST") == 0)
            return; /* a master data form; the page checks the admin role */
    } else if (strcmp(path, "/downtime") == 0) {
        r->kind = ROUTE_DOWNTIME;
        if (strcmp(method, "POST") == 0)
            return; /* a reason for a stop; the gate checked role and CSRF */
    } else if (strncmp(path, "/machines/", 10) == 0) {
        size_t idlen = len - 10;

        if (idlen == 0 || idlen > LB_ID_MAX)
            return;
        memcpy(r->dev, path + 10, idlen);
        r->dev[idlen] = '\0';
        if (!lb_id_valid(r->dev)) {
            r->dev[0] = '\0';
            return;
        }
        r->kind = ROUTE_MACHINE_PAGE;
    } else if (strncmp(path, MACHINES_PREFIX, strlen(MACHINES_PREFIX)) == 0) {
        const char *id = path + strlen(MACHINES_PREFIX);
        size_t slen = strlen(COUNTS_SUFFIX);
        size_t idlen = len - strlen(MACHINES_PREFIX);

        if (idlen <= slen || strcmp(id + idlen - slen, COUNTS_SUFFIX) != 0) {
            if (api_owns(path))
                r->kind = ROUTE_API;
            return;
        }
        idlen -= slen;
        if (idlen > LB_ID_MAX)
            return;
        memcpy(r->dev, id, idlen);
        r->dev[idlen] = '\0';
        /* Not a valid id: no such machine can exist. */
        if (!lb_id_valid(r->dev)) {
            r->dev[0] = '\0';
            return;
        }
        r->kind = ROUTE_MACHINE_COUNTS;
    } else if (api_owns(path)) {
        r->kind = ROUTE_API; /* which methods: api.c decides */
        return;
    }
    if (r->kind != ROUTE_NONE && !method_ok(method)) {
        r->kind = ROUTE_NONE;
        r->status = 405;
        r->dev[0] = '\0';
    }
}

int route_time_param(const char *name, const char *value, int64_t *ms, char *why,
                     size_t size)
{
    char v[ROUTE_PARAM_MAX + 1];
    size_t len, i;

    *ms = 0;
    if (value == NULL || value[0] == '\0') {
        snprintf(why, size, "%s: missing", name);
        return -1;
    }
    len = strnlen(value, ROUTE_PARAM_MAX + 1);
    if (len > ROUTE_PARAM_MAX) {
        snprintf(why, size, "%s: not an ISO 8601 time", name);
        return -1;
    }
    memcpy(v, value, len);
    v[len] = '\0';
    /* Position 10 may be the date/time separator; later spaces can only be
     * a "+" lost to form decoding. */
    for (i = 11; i < len; i++)
        if (v[i] == ' ')
            v[i] = '+';
    if (lb_parse_iso8601(v, ms) != 0) {
        snprintf(why, size, "%s: not an ISO 8601 time", name);
        return -1;
    }
    return 0;
}

int route_interval(const char *from, const char *to, int64_t *from_ms, int64_t *to_ms,
                   char *why, size_t size)
{
    if (route_time_param("from", from, from_ms, why, size) != 0 ||
        route_time_param("to", to, to_ms, why, size) != 0)
        return -1;
    if (*to_ms < *from_ms) {
        snprintf(why, size, "to: before from");
        return -1;
    }
    return 0;
}
