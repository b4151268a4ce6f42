/*
 * Internals of the Modbus driver (devices/modbus.c) shared with its unit
 * test: the read planner, which groups a profile's values into as few
 * requests as the protocol allows, and a view of what a device has learnt
 * about its peer.  Not part of the device layer's contract.
 */
#ifndef DEVICES_MODBUS_PRIV_H
#define DEVICES_MODBUS_PRIV_H

#include <stddef.h>

#include "linebeat/device.h"
#include "linebeat/profile.h"

/* Registers or bits that may lie unread between two values of one request:
 * reading a few spare registers is cheaper than another round trip. */
#define MB_GAP 16

/* Requests failed in a row (timeouts, garbled or mismatched replies) after
 * which a link is closed and opened again. */
#define MB_REBUILD_AFTER 3

struct mb_request {
    enum lb_area area;
    int start;      /* first address */
    int count;      /* registers, or bits for coil and discrete */
    unsigned roles; /* bit (1 << LB_ROLE_x) per value this request reads */
};

struct mb_plan {
    size_t nreq;
    struct mb_request req[LB_ROLE_COUNT];
};

/*
 * Plans the reads of every value of p except CONTROL into OUT: plan.  Values
 * of one area, sorted by address, share a request while the hole before the
 * next one is at most MB_GAP and the request stays within the protocol's
 * limits (125 registers, 2000 bits).  A role whose bit is set in solo gets a
 * request of its own: the device refused a block holding it.
 */
void mb_plan_make(const struct lb_profile *p, unsigned solo, struct mb_plan *plan);

/* The roles d reads alone since it refused a merged block (a bit per role);
 * 0 for a device that is not a Modbus one. */
unsigned mb_device_solo(const struct lb_device *d);

/* How many times d's link was opened (connects, reconnects): for tests. */
unsigned mb_device_opens(const struct lb_device *d);

#endif
