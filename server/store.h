/*
 * One received MQTT message to rows: checks topic and payload (design.md,
 * "The server checks every message"), decodes it and writes it through
 * db.c inside the caller's transaction.  No MQTT here, so tests drive the
 * whole write path with plain strings.
 */
#ifndef LB_SERVER_STORE_H
#define LB_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "linebeat/wire.h"

enum store_kind { STORE_MALFORMED, STORE_EVENTS, STORE_BIRTH, STORE_STATUS };

struct store_result {
    enum store_kind kind;
    char site[LB_ID_MAX + 1];  /* from the topic; "" when the topic is bad */
    char agent[LB_ID_MAX + 1]; /* from the topic; "" when the topic is bad */
    char why[160];             /* STORE_MALFORMED: the reason */
    /* The ack to publish: ack 1 after an events message that moved hw,
     * ack 2 (at once) after a birth.  hw is then the value. */
    int ack;
    uint64_t hw;
    struct db_batch_result batch; /* STORE_EVENTS */
    unsigned conflicts;           /* STORE_BIRTH: machines kept with another agent */
    int online;                   /* STORE_STATUS */
};

/*
 * Handles the message payload (len bytes) that arrived on topic at recv_ms
 * under prefix.  A malformed message is counted (per agent when the topic
 * names a valid one) and returns 0 with kind STORE_MALFORMED and the reason
 * in why; nothing else of it is stored.  OUT: res.  Returns 0, or LB_E_DB /
 * -ENOMEM, after which the caller rolls the message's savepoint back.
 */
int store_message(struct db *db, const char *prefix, const char *topic,
                  const char *payload, size_t len, int64_t recv_ms,
                  struct store_result *res);

#endif
