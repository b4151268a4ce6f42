/*
 * Ingest: the MQTT subscriber and the single database writer.  paho's
 * callback only copies each message into a bounded queue; one writer thread
 * stores queued messages in batched transactions and, after each commit,
 * publishes the retained per-agent ack (design.md, "Spool").  The broker
 * session is persistent (fixed client id, clean session off), so QoS 1
 * messages wait in the broker while the server restarts.
 */
#ifndef LB_SERVER_INGEST_H
#define LB_SERVER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

struct ingest;

/* Counters since start, for /metrics. */
struct ingest_stats {
    uint64_t received;   /* messages handed over by the broker */
    uint64_t stored;     /* events newly stored (committed) */
    uint64_t duplicates; /* events dropped as already stored */
    uint64_t malformed;  /* messages rejected, with or without a valid agent */
    uint64_t conflicts;  /* events of a machine owned by another agent */
    uint64_t db_errors;  /* messages or batches lost to a database error */
    uint64_t acks;       /* ack messages handed to paho */
    size_t queue_depth;  /* messages waiting for the writer */
    int64_t lag_ms;      /* arrival to commit of the oldest message of the last batch */
    int connected;       /* 1 while connected to the broker */
};

/*
 * Starts ingest: takes ownership of the writer connection *db (set to NULL
 * on success; on failure the caller still owns it), creates the MQTT
 * client, starts the writer thread and the first connection attempt (later
 * attempts back off up to 30 s).  The caller must have blocked the signals
 * it waits for, since threads inherit the mask.  OUT: *out.  Returns 0,
 * LB_E_MQTT, -ENOMEM or -errno from pthread_create.
 */
int ingest_start(const struct srv_conf *conf, struct db **db, struct ingest **out);

/*
 * Stops ingest cleanly: lets the writer store what is queued and publish
 * pending acks, disconnects from the broker, stores anything that arrived
 * meanwhile, joins the writer and closes the database.  Accepts NULL.
 */
void ingest_stop(struct ingest *ing);

/* Fills OUT: st with a consistent-enough snapshot (each field is atomic). */
void ingest_get_stats(struct ingest *ing, struct ingest_stats *st);

#endif
