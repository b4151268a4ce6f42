/*
 * Board, API and metrics rendering; see pages.h.
 *
 * "Today" is the local calendar day of the server's time zone (TZ), from
 * midnight to midnight as mktime resolves them, so DST days have 23 or 25
 * hours.  A configurable production-day start comes with the shift calendar.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/wire.h"
#include "api.h"
#include "metrics.h"
#include "page_admin.h"
#include "page_downtime.h"
#include "page_machine.h"
#include "page_orders.h"
#include "page_shift.h"
#include "page_trends.h"
#include "pages.h"

/* The state of a JSON list being written. */
struct board_ctx {
    struct buf *b;
    int64_t now_ms;
    int first;
    unsigned count;
};

static int agent_json(void *ctx, const struct db_agent *a);
static int agent_metric_dups(void *ctx, const struct db_agent *a);
static int agent_metric_gaps(void *ctx, const struct db_agent *a);
static int agent_metric_malformed(void *ctx, const struct db_agent *a);
static void render_counts(struct db *db, const struct route *r, const char *from,
                          const char *to, struct reply *rep);
static void render_agents(struct db *db, struct reply *rep);
static void render_metrics(const struct pages_env *env, struct db *db, struct reply *rep);
static void metric(struct buf *b, const char *name, const char *type, const char *help,
                   uint64_t value);

void pages_today(int64_t now_ms, int64_t *from, int64_t *to)
{
    time_t now = (time_t)(now_ms / 1000), t0, t1;
    struct tm tm;

    localtime_r(&now, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    t0 = mktime(&tm);
    tm.tm_mday += 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    t1 = mktime(&tm);
    if (t0 == (time_t)-1 || t1 == (time_t)-1 || t1 <= t0) {
        /* Cannot happen with a sane TZ; fall back to the UTC day. */
        t0 = now - now % 86400;
        t1 = t0 + 86400;
    }
    *from = (int64_t)t0 * 1000;
    *to = (int64_t)t1 * 1000;
}

void pages_error(struct reply *rep, int status, int json, const char *msg)
{
    buf_free(&rep->body);
    rep->status = status;
    rep->no_store = 1;
    rep->html = 0;
    if (json) {
        rep->type = CT_JSON;
        buf_puts(&rep->body, "{\"error\":");
        buf_json_str(&rep->body, msg);
        buf_puts(&rep->body, "}\n");
    } else {
        rep->type = CT_TEXT;
        buf_puts(&rep->body, msg);
        buf_puts(&rep->body, "\n");
    }
}

static void render_counts(struct db *db, const struct route *r, const char *from,
                          const char *to, struct reply *rep)
{
    char why[128];
    int64_t f, t, good, scrap;
    int rc;

    if (route_interval(from, to, &f, &t, why, sizeof(why)) != 0) {
        pages_error(rep, 400, 1, why);
        return;
    }
    rc = db_machine_counts(db, r->dev, f, t, &good, &scrap);
    if (rc == -ENOENT) {
        pages_error(rep, 404, 1, "no such machine");
        return;
    }
    if (rc != 0) {
        pages_error(rep, 500, 1, "database error");
        return;
    }
    buf_printf(&rep->body, "{\"good\":%" PRId64 ",\"scrap\":%" PRId64 "}\n", good, scrap);
    rep->status = 200;
    rep->type = CT_JSON;
    rep->no_store = 1;
}

static int agent_json(void *ctx, const struct db_agent *a)
{
    struct board_ctx *bc = ctx;
    struct buf *b = bc->b;

    buf_puts(b, bc->first ? "\n" : ",\n");
    bc->first = 0;
    buf_puts(b, "{\"id\":");
    buf_json_str(b, a->agent);
    buf_puts(b, ",\"site\":");
    buf_json_str(b, a->site[0] ? a->site : NULL);
    buf_puts(b, ",\"boot\":");
    buf_json_str(b, a->boot[0] ? a->boot : NULL);
    buf_puts(b, ",\"version\":");
    buf_json_str(b, a->version[0] ? a->version : NULL);
    buf_printf(b,
               ",\"hw\":%" PRIu64 ",\"dups\":%" PRId64 ",\"gaps\":%" PRId64
               ",\"open_gaps\":%" PRId64 ",\"malformed\":%" PRId64
               ",\"conflicts\":%" PRId64 ",\"online\":%s,\"last_seen\":",
               a->hw, a->dups, a->gaps, a->open_gaps, a->malformed, a->conflicts,
               a->online ? "true" : "false");
    buf_json_time(b, a->last_seen);
    buf_puts(b, ",\"last_birth\":");
    buf_json_time(b, a->last_birth);
    buf_puts(b, "}");
    return 0;
}

static void render_agents(struct db *db, struct reply *rep)
{
    struct board_ctx bc = {&rep->body, 0, 1, 0};

    buf_puts(&rep->body, "[");
    if (db_agents(db, agent_json, &bc) != 0) {
        pages_error(rep, 500, 1, "database error");
        return;
    }
    buf_puts(&rep->body, bc.first ? "]\n" : "\n]\n");
    rep->status = 200;
    rep->type = CT_JSON;
    rep->no_store = 1;
}

static void metric(struct buf *b, const char *name, const char *type, const char *help,
                   uint64_t value)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type,
               name, value);
}

/* Agent ids are [A-Za-z0-9_.-], so they need no escaping as label values. */
static int agent_metric_dups(void *ctx, const struct db_agent *a)
{
    buf_printf(ctx, "linebeat_events_duplicate_total{agent=\"%s\"} %" PRId64 "\n",
               a->agent, a->dups);
    return 0;
}

static int agent_metric_gaps(void *ctx, const struct db_agent *a)
{
    buf_printf(ctx, "linebeat_gaps_total{agent=\"%s\"} %" PRId64 "\n", a->agent, a->gaps);
    return 0;
}

static int agent_metric_malformed(void *ctx, const struct db_agent *a)
{
    buf_printf(ctx, "linebeat_agent_messages_malformed_total{agent=\"%s\"} %" PRId64 "\n",
               a->agent, a->malformed);
    return 0;
}

static void render_metrics(const struct pages_env *env, struct db *db, struct reply *rep)
{
    struct ingest_stats st;
    struct buf *b = &rep->body;
    int64_t bytes;

    ingest_get_stats(env->ingest, &st);
    if (env->ingest != NULL) {
        metric(b, "linebeat_messages_received_total", "counter",
               "MQTT messages received since start.", st.received);
        metric(b, "linebeat_events_stored_total", "counter",
               "Events newly stored since start.", st.stored);
        metric(b, "linebeat_messages_malformed_total", "counter",
               "Messages rejected since start (bad topic, JSON, fields or agent id).",
               st.malformed);
        metric(b, "linebeat_events_conflict_total", "counter",
               "Events of a machine owned by another agent, since start.", st.conflicts);
        metric(b, "linebeat_db_errors_total", "counter",
               "Messages not stored because of a database error, since start.",
               st.db_errors);
        metric(b, "linebeat_acks_published_total", "counter",
               "Ack messages published since start.", st.acks);
        metric(b, "linebeat_ingest_queue_depth", "gauge",
               "Messages waiting for the database writer.", st.queue_depth);
        buf_printf(
            b,
            "# HELP linebeat_ingest_lag_seconds Arrival to commit of the oldest "
            "message of the last batch.\n# TYPE linebeat_ingest_lag_seconds gauge\n"
            "linebeat_ingest_lag_seconds %.3f\n",
            (double)(st.lag_ms > 0 ? st.lag_ms : 0) / 1000.0);
        metric(b, "linebeat_mqtt_connected", "gauge", "1 while connected to the broker.",
               (uint64_t)st.connected);
    }
    buf_puts(b,
             "# HELP linebeat_events_duplicate_total Events dropped as already stored, "
             "per agent.\n# TYPE linebeat_events_duplicate_total counter\n");
    if (db_agents(db, agent_metric_dups, b) != 0)
        goto fail;
    buf_puts(b, "# HELP linebeat_gaps_total Gaps in an agent's sequence numbers seen.\n"
                "# TYPE linebeat_gaps_total counter\n");
    if (db_agents(db, agent_metric_gaps, b) != 0)
        goto fail;
    buf_puts(b, "# HELP linebeat_agent_messages_malformed_total Malformed messages, per "
                "agent.\n# TYPE linebeat_agent_messages_malformed_total counter\n");
    if (db_agents(db, agent_metric_malformed, b) != 0)
        goto fail;
    bytes = db_file_bytes(env->db_path);
    metric(b, "linebeat_db_bytes", "gauge", "Size of the database and its WAL on disk.",
           bytes > 0 ? (uint64_t)bytes : 0);
    metric(b, "linebeat_http_requests_total", "counter",
           "HTTP requests served since start.", env->http_requests);
    metrics_render(b);
    rep->status = 200;
    rep->type = CT_PROM;
    rep->no_store = 1;
    return;
fail:
    pages_error(rep, 500, 0, "database error");
}

void pages_handle(const struct pages_env *env, struct db *db, const struct route *r,
                  const char *from, const char *to, int64_t now_ms, struct reply *rep)
{
    if (r->kind == ROUTE_NONE) {
        pages_error(rep, r->status, r->json,
                    r->status == 405   ? "method not allowed"
                    : r->status == 414 ? "URI too long"
                                       : "not found");
        return;
    }
    if (db == NULL) {
        pages_error(rep, 503, r->json, "database unavailable");
        return;
    }
    switch (r->kind) {
    case ROUTE_BOARD:
        board_render(db, env->sess, 0, NULL, now_ms, rep);
        break;
    case ROUTE_MACHINES:
        /* The board's JSON twin, from the board's shared snapshot. */
        board_json(db, now_ms, rep);
        break;
    case ROUTE_MACHINE_COUNTS:
        render_counts(db, r, from, to, rep);
        break;
    case ROUTE_AGENTS:
        render_agents(db, rep);
        break;
    case ROUTE_METRICS:
        render_metrics(env, db, rep);
        break;
    case ROUTE_API:
        api_handle(env, db, now_ms, rep);
        break;
    case ROUTE_ADMIN_MASTER:
        page_admin(env, db, now_ms, rep);
        break;
    case ROUTE_TRENDS:
        page_trends(env, db, now_ms, rep);
        break;
    case ROUTE_SHIFT_REPORT:
        page_shift(env, db, now_ms, rep);
        break;
    case ROUTE_ORDERS:
        page_orders(env, db, now_ms, rep);
        break;
    case ROUTE_DOWNTIME:
        page_downtime(env, db, now_ms, rep);
        break;
    case ROUTE_MACHINE_PAGE:
        page_machine(env, db, r->dev, env->arg != NULL ? env->arg(env->ctx, "csv") : NULL,
                     now_ms, rep);
        break;
    case ROUTE_NONE:
        break;
    }
    if (rep->body.err != 0)
        pages_error(rep, 500, r->json, "response too large");
}

void reply_header(struct reply *rep, const char *name, const char *value)
{
    size_t n = strlen(value);

    if (rep->nheaders == REPLY_HEADERS_MAX || n >= REPLY_HEADER_VALUE) {
        log_warnx("http: header %s dropped (%zu bytes, %d headers)", name, n,
                  rep->nheaders);
        return;
    }
    rep->headers[rep->nheaders].name = name;
    memcpy(rep->headers[rep->nheaders].value, value, n + 1);
    rep->nheaders++;
}
