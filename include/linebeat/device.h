/*
 * The device layer seen from the agent: a device is opened from its link
 * settings and profile and read one poll at a time.  Calls block (libmodbus
 * I/O) and so belong on the device's own worker thread; a device never
 * prints and reports failures as return codes.  Drivers export one
 * lb_device_ops table; callers use only the lb_device_* functions.
 */
#ifndef LINEBEAT_DEVICE_H
#define LINEBEAT_DEVICE_H

#include <stdint.h>

#include "linebeat/profile.h"

/* One poll's result.  Flags say which values the profile provides. */
struct lb_reading {
    int64_t mono_ms;             /* when the read finished, CLOCK_MONOTONIC */
    int64_t wall_ms;             /* the same moment on the wall clock */
    unsigned have;               /* bit (1 << LB_ROLE_x) per value read */
    uint64_t raw[LB_ROLE_COUNT]; /* as lb_value_decode gives */
};

struct lb_modbus_link {
    char host[256];       /* TCP: address or name */
    int port;             /* TCP: port */
    int unit;             /* unit (slave) id, 0-247 */
    int timeout_ms;       /* response timeout */
    int close_after_poll; /* for devices that allow only one master */
};

struct lb_device;

struct lb_device_ops {
    int (*open)(struct lb_device *d);
    int (*read)(struct lb_device *d, struct lb_reading *out);
    void (*close)(struct lb_device *d);
    void (*free)(struct lb_device *d);
};

/* Creates a Modbus TCP device; copies link and profile.  Does not connect.
 * Returns NULL on allocation failure or invalid link settings (port outside
 * 1-65535, unit outside 0-247).  timeout_ms <= 0 means 1000. */
struct lb_device *lb_modbus_tcp_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile);

/* Connects now; optional, since lb_device_read connects on demand.  Returns
 * 0 (also when already connected), -errno or LB_E_MODBUS. */
int lb_device_open(struct lb_device *d);

/* Connects if needed and reads every value the profile defines (except
 * CONTROL) into out.  Returns 0, -errno (ETIMEDOUT, ECONNREFUSED, ...) or
 * LB_E_MODBUS; after a failure the connection is closed, and the next read
 * reconnects. */
int lb_device_read(struct lb_device *d, struct lb_reading *out);
/* Writes the CONTROL value (the simulator's run switch): a coil, or one or
 * more holding registers.  Returns 0, -ENOTSUP when the profile has none,
 * or the codes of lb_device_read. */
int lb_device_write_control(struct lb_device *d, uint64_t raw);
void lb_device_close(struct lb_device *d);
/* Frees d; accepts NULL. */
void lb_device_free(struct lb_device *d);

#endif
