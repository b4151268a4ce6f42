/*
 * Device workers: one thread per TCP device, one per serial bus, so a
 * silent device never delays a device of another worker.  A worker owns a
 * list of devices and reads each on its own monotonic schedule, the one
 * due first first; every result (reading or error) goes to the loop's
 * inbox.  After failures a device backs off (capped, with jitter), so a
 * dead one costs its bus neighbours at most one response timeout now and
 * then, and a rebooted one is picked up again by itself.
 */
#ifndef AGENT_POLLER_H
#define AGENT_POLLER_H

#include <stdint.h>

#include "inbox.h"
#include "linebeat/device.h"

/* Back-off cap after failures, unless the poll interval is longer. */
#define POLLER_BACKOFF_MAX_MS 30000

struct poller;

/* Creates a worker posting to ib; no thread runs until poller_start.
 * Returns NULL when out of memory. */
struct poller *poller_new(struct inbox *ib);

/*
 * Adds dev, read every interval_ms and posted as IN_READING with index idx.
 * Takes ownership of dev, also on failure (dev is then freed).  Only
 * before poller_start.  Returns 0 or -ENOMEM.
 */
int poller_add(struct poller *p, struct lb_device *dev, int idx, int64_t interval_ms);

/* Starts the worker thread.  Returns 0 or -errno. */
int poller_start(struct poller *p);

/* Writes waiting in one worker, at most. */
#define POLLER_MAX_WRITES 16

/*
 * Queues a write of value to one coil or holding register of device idx,
 * made by the worker between polls at CLOCK_MONOTONIC ms at (now or
 * later): scanner feedback (a stack light, a buzzer).  A write replaces
 * the queued writes to the same register due at or after it, so that "on
 * now, off in a second" queued again restarts the second.  Thread-safe: the
 * loop queues, the worker (which owns the device) writes and logs a
 * failure.  Returns 0, -ENOENT when idx is none of p's devices, -ENOSPC
 * when POLLER_MAX_WRITES are waiting.
 */
int poller_write(struct poller *p, int idx, enum lb_area area, int address,
                 uint16_t value, int64_t at);

/* Tells the worker to stop after the read in progress, without waiting:
 * ask every worker first, then poller_stop each, and stopping takes as long
 * as the longest read in progress, not one read per worker.  Accepts NULL. */
void poller_ask_stop(struct poller *p);

/* Stops the worker (waits for a read in progress, at most one response
 * timeout) and frees it and its devices.  Accepts NULL and a worker that
 * was never started. */
void poller_stop(struct poller *p);

/*
 * The next poll time after a poll at now: keeps the cadence after a
 * success (the next deadline is one interval after the last, or now when
 * behind), backs off after failures: the first retry at the normal
 * interval (a single lost reply is common), then doubling up to
 * POLLER_BACKOFF_MAX_MS, plus up to 25 % jitter from rnd.  *backoff holds
 * the current back-off (0 after a success).  Pure: for the unit test.
 */
int64_t poller_next(int64_t deadline, int64_t now, int64_t interval_ms, int ok,
                    int64_t *backoff, uint64_t rnd);

#endif
