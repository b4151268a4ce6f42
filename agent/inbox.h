/*
 * The main loop's inbox: device workers and paho's callback threads post
 * small messages here and return; the loop thread wakes on the eventfd and
 * drains them.  Unbounded by count but each producer posts at most one
 * message per poll or MQTT event, so depth stays small.
 */
#ifndef AGENT_INBOX_H
#define AGENT_INBOX_H

#include <stdint.h>

#include "linebeat/device.h"
#include "linebeat/wire.h"

enum inbox_type {
    IN_READING,      /* a device poll finished: dev, err, reading */
    IN_CONNECTED,    /* MQTT connected */
    IN_CONNECT_FAIL, /* MQTT connect attempt failed: err */
    IN_LOST,         /* MQTT connection lost */
    IN_SUBSCRIBED,   /* the ack subscription is in place */
    IN_PUBACK,       /* token's publish completed */
    IN_PUBFAIL,      /* token's publish failed */
    IN_ACK,          /* the server's ack: seq */
    IN_SCAN,         /* a scanner read a code: scan */
};

/* IN_SCAN: what a scanner read, already through the grammar (scan.h). */
struct inbox_scan {
    int scanner;              /* index into the configuration's scanner table */
    int accepted;             /* the grammar understood it */
    int machine;              /* accepted as a machine label: scan.value names it */
    int64_t mono_ms, wall_ms; /* when the scan ended */
    struct lb_scan scan;
    char why[128]; /* not accepted: why */
};

struct inbox_msg {
    enum inbox_type type;
    int dev; /* index into the machine table */
    int err; /* 0 or negative code */
    int token;
    uint64_t seq;
    struct lb_reading reading;
    struct inbox_scan scan;
    struct inbox_msg *next;
};

struct inbox;

/* Creates an inbox; returns NULL on failure (errno set). */
struct inbox *inbox_new(void);
void inbox_free(struct inbox *ib);
/* The fd to poll for POLLIN. */
int inbox_fd(const struct inbox *ib);
/* Copies m into the inbox; thread-safe.  Returns 0 or -ENOMEM. */
int inbox_post(struct inbox *ib, const struct inbox_msg *m);
/* Takes every queued message, oldest first; the caller frees each with
 * free().  Clears the eventfd.  Loop thread only. */
struct inbox_msg *inbox_take(struct inbox *ib);

#endif
