/* Message validation and dispatch to the database; see store.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/error.h"
#include "store.h"

static int malformed(struct db *db, struct store_result *res, int64_t recv_ms,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int batch_check(const struct lb_batch *b, char *why, size_t size);
static int handle_events(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                         struct store_result *res);
static int handle_birth(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                        struct store_result *res);
static int handle_status(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                         struct store_result *res);

/* Records the reason and counts the message against its agent when the
 * topic named a valid one; the global count is the caller's (ingest). */
static int malformed(struct db *db, struct store_result *res, int64_t recv_ms,
                     const char *fmt, ...)
{
    va_list ap;

    res->kind = STORE_MALFORMED;
    res->ack = 0;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof(res->why), fmt, ap);
    va_end(ap);
    if (res->agent[0] == '\0')
        return 0;
    return db_count_malformed(db, res->site, res->agent, recv_ms);
}

/*
 * What the decoder may leave to us: sequence numbers the database can hold
 * (SQLite integers are signed), increasing within the batch, and "prev"
 * below the first -- the stretch (prev, last] the ack rule relies on.
 */
static int batch_check(const struct lb_batch *b, char *why, size_t size)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (b->events[i].seq == 0 || b->events[i].seq > (uint64_t)INT64_MAX) {
            snprintf(why, size, "events[%zu].seq out of range", i);
            return -1;
        }
        if (i > 0 && b->events[i].seq <= b->events[i - 1].seq) {
            snprintf(why, size, "events[%zu].seq not increasing", i);
            return -1;
        }
    }
    if (b->has_prev && b->n > 0 && b->prev >= b->events[0].seq) {
        snprintf(why, size, "prev not below events[0].seq");
        return -1;
    }
    return 0;
}

static int handle_events(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                         struct store_result *res)
{
    struct lb_batch b;
    char why[128];
    int rc;

    memset(&b, 0, sizeof(b));
    rc = lb_wire_decode_events(payload, len, &b, why, sizeof(why));
    if (rc == -ENOMEM)
        return rc;
    if (rc != 0)
        return malformed(db, res, recv_ms, "%s", why);
    if (strcmp(b.agent, res->agent) != 0) {
        rc =
            malformed(db, res, recv_ms, "agent \"%s\" differs from the topic's", b.agent);
        goto out;
    }
    if (batch_check(&b, why, sizeof(why)) != 0) {
        rc = malformed(db, res, recv_ms, "%s", why);
        goto out;
    }
    res->kind = STORE_EVENTS;
    if ((rc = db_store_batch(db, res->site, &b, recv_ms, &res->batch)) != 0)
        goto out;
    res->hw = res->batch.hw_after;
    res->ack = res->batch.hw_after > res->batch.hw_before;
out:
    lb_batch_free(&b);
    return rc;
}

static int handle_birth(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                        struct store_result *res)
{
    struct lb_birth *b;
    char why[128];
    int rc;

    /* About 50 KB with 256 devices: too big for a thread's stack habits. */
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return -ENOMEM;
    rc = lb_wire_decode_birth(payload, len, b, why, sizeof(why));
    if (rc == -ENOMEM)
        goto out;
    if (rc != 0) {
        rc = malformed(db, res, recv_ms, "%s", why);
        goto out;
    }
    if (strcmp(b->agent, res->agent) != 0) {
        rc = malformed(db, res, recv_ms, "agent \"%s\" differs from the topic's",
                       b->agent);
        goto out;
    }
    res->kind = STORE_BIRTH;
    if ((rc = db_store_birth(db, res->site, b, recv_ms, &res->hw, &res->conflicts)) != 0)
        goto out;
    /* A (re)connecting agent learns at once where to resume; a new spool
     * takes its next sequence number from this. */
    res->ack = 2;
out:
    free(b);
    return rc;
}

static int handle_status(struct db *db, const char *payload, size_t len, int64_t recv_ms,
                         struct store_result *res)
{
    char agent[LB_ID_MAX + 1] = "", boot[LB_BOOT_LEN + 1] = "", why[128];
    int online = 0, rc;

    rc = lb_wire_decode_status(payload, len, agent, boot, &online, why, sizeof(why));
    if (rc == -ENOMEM)
        return rc;
    if (rc != 0)
        return malformed(db, res, recv_ms, "%s", why);
    if (strcmp(agent, res->agent) != 0)
        return malformed(db, res, recv_ms, "agent \"%s\" differs from the topic's",
                         agent);
    res->kind = STORE_STATUS;
    res->online = online;
    return db_store_status(db, res->site, agent, boot, online, recv_ms);
}

int store_message(struct db *db, const char *prefix, const char *topic,
                  const char *payload, size_t len, int64_t recv_ms,
                  struct store_result *res)
{
    char leaf[16] = "";

    memset(res, 0, sizeof(*res));
    if (lb_topic_split(topic, prefix, res->site, res->agent, leaf) != 0) {
        res->site[0] = res->agent[0] = '\0';
        return malformed(db, res, recv_ms, "unexpected topic %.100s", topic);
    }
    /* Checked before decoding so an oversized message costs no parsing. */
    if (len > LB_WIRE_MAX_BYTES)
        return malformed(db, res, recv_ms, "%s larger than 256 KiB", leaf);
    if (strcmp(leaf, "events") == 0)
        return handle_events(db, payload, len, recv_ms, res);
    if (strcmp(leaf, "birth") == 0)
        return handle_birth(db, payload, len, recv_ms, res);
    if (strcmp(leaf, "status") == 0)
        return handle_status(db, payload, len, recv_ms, res);
    return malformed(db, res, recv_ms, "unexpected topic leaf %s", leaf);
}
