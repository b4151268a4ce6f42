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

/*
 * Where a Modbus device is and how to talk to it.  TCP devices use host and
 * port; RTU devices use the serial fields.  unit is the slave id for both.
 */
struct lb_modbus_link {
    char host[256];       /* TCP: address or name */
    int port;             /* TCP: port */
    char device[256];     /* RTU: serial device path, e.g. /dev/ttyUSB0 */
    int baud;             /* RTU: bits per second (a speed termios knows) */
    char parity;          /* RTU: 'N', 'E' or 'O' */
    int data_bits;        /* RTU: 7 or 8 */
    int stop_bits;        /* RTU: 1 or 2 */
    int rs485;            /* RTU: let the kernel drive RTS around each frame */
    int unit;             /* unit (slave) id: TCP 0-255, RTU 1-247 */
    int timeout_ms;       /* response timeout; <= 0: automatic (lb_modbus_timeout_ms) */
    int close_after_poll; /* TCP: for devices that allow only one master */
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
 * 1-65535, unit outside 0-255). */
struct lb_device *lb_modbus_tcp_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile);

/*
 * Creates a Modbus RTU device on the serial line link->device; copies link
 * and profile.  Does not open the line.  Devices on one line (an RS-485
 * bus) share its port: pass a device already created on that line as bus,
 * or NULL for the first one; the serial settings must then be equal.  All
 * devices of one bus must be used from one thread, and the port is closed
 * when the last of them is freed.  Returns NULL on allocation failure or
 * invalid settings (errno EINVAL: unit outside 1-247, parity, data or stop
 * bits, speed, or a bus with other settings).
 */
struct lb_device *lb_modbus_rtu_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile,
                                    struct lb_device *bus);

/*
 * The response timeout a link gets, ms.  TCP (rtu 0): timeout_ms, or 1000
 * when it is <= 0.  RTU: the time a 256-byte frame (the longest Modbus RTU
 * message) takes on the line at its speed and character format, plus 200
 * ms for the device's turnaround and USB adapters' latency; a larger
 * timeout_ms wins.  A request sits in the kernel's buffer when the timer
 * starts, so the frame time must be inside it.  Returns -1 when the speed
 * is not one lb_modbus_baud_valid accepts.
 */
int lb_modbus_timeout_ms(const struct lb_modbus_link *link, int rtu);

/* 1 when baud is a speed the serial driver can be set to (the termios
 * rates from 300 to 4000000), else 0.  libmodbus would quietly use 9600
 * for any other. */
int lb_modbus_baud_valid(int baud);

/* Connects now; optional, since lb_device_read connects on demand.  Returns
 * 0 (also when already connected), -errno or LB_E_MODBUS. */
int lb_device_open(struct lb_device *d);

/* Connects if needed and reads every value the profile defines (except
 * CONTROL) into out.  Returns 0, -errno (ETIMEDOUT, ECONNREFUSED, ...) or
 * LB_E_MODBUS (an exception reply, or a garbled or mismatched one).  The
 * link recovers by itself (docs/decisions.md, "Link health"): the next
 * read reconnects after a connection error, and a link that fails three
 * requests in a row is closed and opened again.  A merged block the device
 * refuses ("illegal data address" or "value") is split into one request
 * per value, in this read and every later one. */
int lb_device_read(struct lb_device *d, struct lb_reading *out);
/* Writes the CONTROL value (the simulator's run switch): a coil, or one or
 * more holding registers.  Returns 0, -ENOTSUP when the profile has none,
 * or the codes of lb_device_read. */
int lb_device_write_control(struct lb_device *d, uint64_t raw);
/*
 * Reads count registers (holding, input) or bits (coil, discrete) starting
 * at address into OUT: regs, one element per register or bit.  For
 * `linebeat-agent probe`; count is 1-125 for registers, 1-2000 for bits.
 * Returns 0, -EINVAL for a bad range, or the codes of lb_device_read.
 */
int lb_device_read_block(struct lb_device *d, enum lb_area area, int address, int count,
                         uint16_t *regs);
/*
 * Writes count coils (nonzero is on) or holding registers from vals,
 * starting at address: one coil with function 05, several with 15; one
 * register with 06, several with 16.  Returns 0, -EROFS for discrete
 * inputs and input registers, -EINVAL for a bad range, or the codes of
 * lb_device_read.
 */
int lb_device_write(struct lb_device *d, enum lb_area area, int address, int count,
                    const uint16_t *vals);
/* Describes d's last failed request as the protocol library words it
 * ("Illegal data address", "Connection timed out"); "" when it succeeded.
 * The string is static. */
const char *lb_device_strerror(const struct lb_device *d);
void lb_device_close(struct lb_device *d);
/* Frees d; accepts NULL.  A bus port goes with the last device on it. */
void lb_device_free(struct lb_device *d);

#endif
