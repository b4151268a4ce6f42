/*
 * Device workers: one thread per device, so a silent device never delays
 * another.  Each worker reads its device on its own monotonic schedule and
 * posts every result (reading or error) to the loop's inbox; after
 * failures it backs off (capped, with jitter) so a dead device costs
 * little and a rebooted one is picked up again by itself.
 */
#ifndef AGENT_POLLER_H
#define AGENT_POLLER_H

#include <stdint.h>

#include "inbox.h"
#include "linebeat/device.h"

struct poller;

/*
 * Starts a worker polling dev every interval_ms, posting IN_READING with
 * index idx.  Takes ownership of dev.  Returns 0 or -errno (dev is then
 * freed).
 */
int poller_start(struct lb_device *dev, int idx, int64_t interval_ms, struct inbox *ib,
                 struct poller **out);
/* Stops the worker (waits for a read in progress to time out) and frees it
 * and its device.  Accepts NULL. */
void poller_stop(struct poller *p);

#endif
