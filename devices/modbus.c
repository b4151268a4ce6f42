/*
 * Modbus TCP and RTU devices through libmodbus.  A device connects on
 * demand and reads every value of its profile in as few requests as the
 * protocol allows.  libmodbus's own error recovery (retry until success)
 * stays off: the agent's workers own back-off, and this file owns the
 * link's health (docs/decisions.md, "Modbus links"):
 *
 *   - an exception reply proves the link works: it stays as it is;
 *   - after a timeout the reply may still come: whatever has arrived is
 *     flushed before the next request, so a late reply is never taken for
 *     the answer to a later one;
 *   - a garbled or mismatched reply (bad CRC, wrong transaction id, unit or
 *     length) means a stale reply was read: wait out the response timeout,
 *     flush, and send the request once more;
 *   - a link that fails MB_REBUILD_AFTER requests in a row is closed and
 *     opened again, and one with a system error (reset, EIO) at once.
 *
 * RTU devices on one serial line share one port (one libmodbus context);
 * its unit id is set before each request.  Calls block for up to the
 * response timeout per request and belong on the bus's worker thread.
 *
 * The generic lb_device_* entry points dispatch through the ops table; they
 * live here while Modbus is the only driver behind struct lb_device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <modbus.h>

#include "linebeat/clock.h"
#include "linebeat/device.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "modbus_priv.h"

/* Added to an RTU line's frame time for the device's turnaround and the
 * latency of USB serial adapters (16 ms by default on FTDI's). */
#define RTU_MARGIN_MS  200
#define RTU_MAX_FRAME  256 /* bytes: MODBUS_RTU_MAX_ADU_LENGTH */
#define TCP_TIMEOUT_MS 1000

/* Every driver's state starts with this, so that a struct lb_device pointer
 * is also a pointer to the driver's struct. */
struct lb_device {
    const struct lb_device_ops *ops;
};

/* A link: a TCP connection of one device, or a serial line shared by the
 * devices of one bus. */
struct mb_port {
    modbus_t *ctx;
    int rtu;
    int refs;      /* devices using the port */
    int connected; /* TCP connected, or serial line open */
    int dirty;     /* a reply may still arrive: flush before the next request */
    int fails;     /* requests failed in a row on this link */
    unsigned opens;
    int timeout_ms;         /* response timeout set in ctx now */
    int t35_us;             /* RTU: silence before a frame (3.5 characters) */
    int64_t quiet_until_us; /* RTU: earliest start of the next request */
    struct lb_modbus_link link;
    char name[280]; /* host:port or the device path, for messages */
};

struct mb_device {
    struct lb_device base; /* first, see above */
    struct lb_modbus_link link;
    struct lb_profile profile;
    struct mb_port *port;
    int timeout_ms; /* this device's response timeout */
    unsigned solo;  /* roles read alone: the device refused a block holding them */
    struct mb_plan plan;
    int last_errno; /* libmodbus errno of the last failed request */
};

enum { OP_READ, OP_WRITE };

static int mb_open(struct lb_device *d);
static int mb_read(struct lb_device *d, struct lb_reading *out);
static void mb_close(struct lb_device *d);
static void mb_free(struct lb_device *d);
static int area_is_bits(enum lb_area a);
static int char_bits(const struct lb_modbus_link *l);
static int64_t now_us(void);
static void sleep_us(int64_t us);
static struct mb_port *port_new(const struct lb_modbus_link *link, int rtu);
static void port_unref(struct mb_port *p);
static int port_open(struct mb_port *p);
static void port_close(struct mb_port *p);
static int is_exception(int e);
static int is_protocol_error(int e);
static int settle(struct mb_device *m, int e, const char *what);
static int request(struct mb_device *m, int op, enum lb_area area, int address, int count,
                   uint16_t *regs);
static int call(struct mb_device *m, int op, enum lb_area area, int address, int count,
                uint16_t *regs);
static int device_new(const struct lb_modbus_link *link, const struct lb_profile *profile,
                      struct mb_port *port, struct mb_device **out);

static const struct lb_device_ops mb_ops = {
    .open = mb_open,
    .read = mb_read,
    .close = mb_close,
    .free = mb_free,
};

static int area_is_bits(enum lb_area a)
{
    return a == LB_AREA_COIL || a == LB_AREA_DISCRETE;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
                          .tv_nsec = (long)(us % 1000000) * 1000};

    while (us > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void mb_plan_make(const struct lb_profile *p, unsigned solo, struct mb_plan *plan)
{
    const struct lb_value *v = p->values;
    int order[LB_ROLE_COUNT];
    int n = 0;

    memset(plan, 0, sizeof(*plan));
    for (int r = 0; r < LB_ROLE_COUNT; r++)
        if (r != LB_ROLE_CONTROL && v[r].present)
            order[n++] = r;
    /* At most six values: an insertion sort by area, then address. */
    for (int i = 1; i < n; i++) {
        int x = order[i], j = i;

        while (j > 0 && (v[order[j - 1]].area > v[x].area ||
                         (v[order[j - 1]].area == v[x].area &&
                          v[order[j - 1]].address > v[x].address))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    for (int i = 0; i < n; i++) {
        int r = order[i];
        const struct lb_value *val = &v[r];
        int first = val->address;
        int end = first + (int)lb_vtype_words(val->type); /* exclusive */
        int limit =
            area_is_bits(val->area) ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;
        struct mb_request *rq = plan->nreq > 0 ? &plan->req[plan->nreq - 1] : NULL;

        if (rq != NULL && !(solo & (1u << r)) && !(rq->roles & solo) &&
            rq->area == val->area && first <= rq->start + rq->count + MB_GAP) {
            int new_end = end > rq->start + rq->count ? end : rq->start + rq->count;

            if (new_end - rq->start <= limit) {
                rq->count = new_end - rq->start;
                rq->roles |= 1u << r;
                continue;
            }
        }
        rq = &plan->req[plan->nreq++];
        rq->area = val->area;
        rq->start = first;
        rq->count = end - first;
        rq->roles = 1u << r;
    }
}

unsigned mb_device_solo(const struct lb_device *d)
{
    if (d == NULL || d->ops != &mb_ops)
        return 0;
    return ((const struct mb_device *)d)->solo;
}

unsigned mb_device_opens(const struct lb_device *d)
{
    if (d == NULL || d->ops != &mb_ops)
        return 0;
    return ((const struct mb_device *)d)->port->opens;
}

int lb_modbus_baud_valid(int baud)
{
    static const int rates[] = {300,     600,     1200,    2400,    4800,    9600,
                                19200,   38400,   57600,   115200,  230400,  460800,
                                500000,  576000,  921600,  1000000, 1152000, 1500000,
                                2000000, 2500000, 3000000, 3500000, 4000000};

    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
        if (rates[i] == baud)
            return 1;
    return 0;
}

/* Bits on the line per character: start, data, parity, stop. */
static int char_bits(const struct lb_modbus_link *l)
{
    return 1 + l->data_bits + (l->parity != 'N') + l->stop_bits;
}

int lb_modbus_timeout_ms(const struct lb_modbus_link *link, int rtu)
{
    int64_t frame_ms;
    int t;

    if (!rtu)
        return link->timeout_ms > 0 ? link->timeout_ms : TCP_TIMEOUT_MS;
    if (!lb_modbus_baud_valid(link->baud))
        return -1;
    frame_ms =
        ((int64_t)RTU_MAX_FRAME * char_bits(link) * 1000 + link->baud - 1) / link->baud;
    t = (int)frame_ms + RTU_MARGIN_MS;
    return link->timeout_ms > t ? link->timeout_ms : t;
}

static struct mb_port *port_new(const struct lb_modbus_link *link, int rtu)
{
    struct mb_port *p = NULL;
    char service[16];
    uint32_t byte_ms;

    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto fail;
    p->rtu = rtu;
    p->refs = 1;
    p->link = link[0];
    p->link.host[sizeof(p->link.host) - 1] = '\0';
    p->link.device[sizeof(p->link.device) - 1] = '\0';
    p->timeout_ms = lb_modbus_timeout_ms(link, rtu);
    if (p->timeout_ms < 0) {
        errno = EINVAL;
        goto fail;
    }
    if (rtu) {
        int char_us = char_bits(link) * 1000000 / link->baud;

        snprintf(p->name, sizeof(p->name), "%s", p->link.device);
        p->ctx = modbus_new_rtu(p->link.device, link->baud, link->parity, link->data_bits,
                                link->stop_bits);
        /* Modbus over serial line V1.02, 2.5.1.1: 3.5 characters of
         * silence between frames, a fixed 1.75 ms above 19200 baud. */
        p->t35_us = link->baud > 19200 ? 1750 : char_us * 7 / 2;
        /* Inside a frame bytes follow each other; USB adapters deliver them
         * in bursts, hence the floor. */
        byte_ms = (uint32_t)(50 + (char_us * 8) / 1000);
    } else {
        /* The _pi variant resolves host names as well as addresses. */
        snprintf(p->name, sizeof(p->name), "%s:%d", p->link.host, link->port);
        snprintf(service, sizeof(service), "%d", link->port);
        p->ctx = modbus_new_tcp_pi(p->link.host, service);
        byte_ms = 500; /* libmodbus's default */
    }
    if (p->ctx == NULL)
        goto fail;
    modbus_set_debug(p->ctx, 0);
    modbus_set_error_recovery(p->ctx, MODBUS_ERROR_RECOVERY_NONE);
    if (modbus_set_response_timeout(p->ctx, (uint32_t)(p->timeout_ms / 1000),
                                    (uint32_t)(p->timeout_ms % 1000) * 1000) != 0 ||
        modbus_set_byte_timeout(p->ctx, byte_ms / 1000, (byte_ms % 1000) * 1000) != 0)
        goto fail;
    return p;
fail:
    if (p != NULL && p->ctx != NULL)
        modbus_free(p->ctx);
    free(p);
    return NULL;
}

static void port_unref(struct mb_port *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    port_close(p);
    modbus_free(p->ctx);
    free(p);
}

static int port_open(struct mb_port *p)
{
    int e;

    if (p->connected)
        return 0;
    errno = 0;
    if (modbus_connect(p->ctx) != 0) {
        e = errno != 0 ? errno : EIO;
        log_debug("modbus %s: connect: %s", p->name, modbus_strerror(e));
        return e >= MODBUS_ENOBASE ? LB_E_MODBUS : -e;
    }
    p->connected = 1;
    p->dirty = 0;
    p->fails = 0;
    p->opens++;
    p->quiet_until_us = 0;
    if (p->rtu && p->link.rs485 &&
        modbus_rtu_set_serial_mode(p->ctx, MODBUS_RTU_RS485) != 0) {
        /* The kernel drives RTS only where the UART driver supports it
         * (TIOCSRS485); USB adapters with automatic direction control and
         * pseudo-terminals answer ENOTTY or EINVAL and need nothing. */
        log_debug("modbus %s: RS-485 mode not set: %s", p->name, strerror(errno));
    }
    return 0;
}

static void port_close(struct mb_port *p)
{
    if (!p->connected)
        return;
    modbus_close(p->ctx);
    p->connected = 0;
    p->dirty = 0;
}

/* Exception replies: the device answered, so the link is fine. */
static int is_exception(int e)
{
    return e > MODBUS_ENOBASE && e <= EMBXGTAR;
}

/* A reply arrived but is not the answer to our request, or is damaged. */
static int is_protocol_error(int e)
{
    return e == EMBBADCRC || e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC ||
           e == EMBMDATA || e == EMBBADSLAVE;
}

/*
 * Decides what a failed request (libmodbus errno e) means for the link and
 * returns our code for it.  See the comment at the top of the file.
 */
static int settle(struct mb_device *m, int e, const char *what)
{
    struct mb_port *p = m->port;

    m->last_errno = e;
    log_debug("modbus %s unit %d: %s: %s", p->name, m->link.unit, what,
              modbus_strerror(e));
    if (is_exception(e)) {
        p->fails = 0;
        return LB_E_MODBUS;
    }
    if (e == ETIMEDOUT || is_protocol_error(e)) {
        if (++p->fails >= MB_REBUILD_AFTER) {
            log_debug("modbus %s: %d requests failed in a row: reconnecting", p->name,
                      p->fails);
            port_close(p);
        } else if (is_protocol_error(e)) {
            /* The reply to this request is still on its way: let it come
             * and go, as libmodbus's protocol recovery would. */
            sleep_us((int64_t)m->timeout_ms * 1000);
            modbus_flush(p->ctx);
            p->dirty = 0;
        } else {
            p->dirty = 1;
        }
        return e == ETIMEDOUT ? -ETIMEDOUT : LB_E_MODBUS;
    }
    /* The connection or the line itself failed (reset, EIO, a serial
     * adapter unplugged): open it again next time. */
    port_close(p);
    return e >= MODBUS_ENOBASE ? LB_E_MODBUS : -e;
}

/* One libmodbus call; returns what libmodbus returned (count on success). */
static int call(struct mb_device *m, int op, enum lb_area area, int address, int count,
                uint16_t *regs)
{
    modbus_t *ctx = m->port->ctx;
    uint8_t bits[MODBUS_MAX_READ_BITS];
    int rc;

    if (op == OP_WRITE) {
        if (area == LB_AREA_COIL) {
            if (count == 1)
                return modbus_write_bit(ctx, address, regs[0] != 0);
            for (int i = 0; i < count; i++)
                bits[i] = regs[i] != 0;
            return modbus_write_bits(ctx, address, count, bits);
        }
        if (count == 1)
            return modbus_write_register(ctx, address, regs[0]);
        return modbus_write_registers(ctx, address, count, regs);
    }
    switch (area) {
    case LB_AREA_COIL:
    case LB_AREA_DISCRETE:
        rc = area == LB_AREA_COIL ? modbus_read_bits(ctx, address, count, bits)
                                  : modbus_read_input_bits(ctx, address, count, bits);
        for (int i = 0; i < rc && i < count; i++)
            regs[i] = bits[i];
        return rc;
    case LB_AREA_INPUT:
        return modbus_read_input_registers(ctx, address, count, regs);
    case LB_AREA_HOLDING:
    default:
        return modbus_read_registers(ctx, address, count, regs);
    }
}

/*
 * One request with the link rules of this file: connects if needed, flushes
 * a reply left over from a timeout, keeps the RTU inter-frame silence, and
 * sends once more after a garbled or mismatched reply.  regs is read into
 * or written from.  Returns 0 or a code; m->last_errno keeps libmodbus's.
 */
static int request(struct mb_device *m, int op, enum lb_area area, int address, int count,
                   uint16_t *regs)
{
    struct mb_port *p = m->port;
    char what[64];
    int rc, e;

    snprintf(what, sizeof(what), "%s %s %d+%d", op == OP_READ ? "read" : "write",
             lb_area_name(area), address, count);
    for (int attempt = 0;; attempt++) {
        rc = port_open(p);
        if (rc != 0) {
            m->last_errno = rc == LB_E_MODBUS ? EIO : -rc;
            return rc;
        }
        /* Devices on one bus may wait for their replies differently. */
        if ((p->timeout_ms != m->timeout_ms &&
             modbus_set_response_timeout(p->ctx, (uint32_t)(m->timeout_ms / 1000),
                                         (uint32_t)(m->timeout_ms % 1000) * 1000) != 0) ||
            modbus_set_slave(p->ctx, m->link.unit) != 0) {
            m->last_errno = EINVAL;
            return -EINVAL;
        }
        p->timeout_ms = m->timeout_ms;
        if (p->dirty) {
            modbus_flush(p->ctx);
            p->dirty = 0;
        }
        if (p->rtu) {
            int64_t wait = p->quiet_until_us - now_us();

            if (wait > 0)
                sleep_us(wait);
        }
        errno = 0;
        rc = call(m, op, area, address, count, regs);
        e = errno;
        if (p->rtu)
            p->quiet_until_us = now_us() + p->t35_us;
        if (rc == count) {
            p->fails = 0;
            m->last_errno = 0;
            return 0;
        }
        if (rc >= 0 || e == 0)
            e = EMBBADDATA; /* a reply with another count than asked for */
        rc = settle(m, e, what);
        if (attempt == 0 && is_protocol_error(e) && p->connected)
            continue;
        return rc;
    }
}

static int device_new(const struct lb_modbus_link *link, const struct lb_profile *profile,
                      struct mb_port *port, struct mb_device **out)
{
    struct mb_device *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (m == NULL)
        return -ENOMEM;
    m->base.ops = &mb_ops;
    m->link = link[0];
    m->link.host[sizeof(m->link.host) - 1] = '\0';
    m->link.device[sizeof(m->link.device) - 1] = '\0';
    m->profile = profile[0];
    m->port = port;
    m->timeout_ms = lb_modbus_timeout_ms(link, port->rtu);
    mb_plan_make(&m->profile, 0, &m->plan);
    *out = m;
    return 0;
}

struct lb_device *lb_modbus_tcp_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile)
{
    struct mb_port *port;
    struct mb_device *m;

    if (link->port < 1 || link->port > 65535 || link->unit < 0 || link->unit > 255) {
        errno = EINVAL;
        return NULL;
    }
    port = port_new(link, 0);
    if (port == NULL)
        return NULL;
    if (device_new(link, profile, port, &m) != 0) {
        port_unref(port);
        errno = ENOMEM;
        return NULL;
    }
    return &m->base;
}

struct lb_device *lb_modbus_rtu_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile,
                                    struct lb_device *bus)
{
    struct mb_port *port;
    struct mb_device *m;

    if (link->unit < 1 || link->unit > 247 || link->device[0] == '\0' ||
        (link->parity != 'N' && link->parity != 'E' && link->parity != 'O') ||
        link->data_bits < 7 || link->data_bits > 8 || link->stop_bits < 1 ||
        link->stop_bits > 2 || !lb_modbus_baud_valid(link->baud)) {
        errno = EINVAL;
        return NULL;
    }
    if (bus != NULL) {
        const struct mb_port *bp;

        if (bus->ops != &mb_ops || !((struct mb_device *)bus)->port->rtu) {
            errno = EINVAL;
            return NULL;
        }
        bp = ((struct mb_device *)bus)->port;
        if (strcmp(bp->link.device, link->device) != 0 || bp->link.baud != link->baud ||
            bp->link.parity != link->parity || bp->link.data_bits != link->data_bits ||
            bp->link.stop_bits != link->stop_bits || bp->link.rs485 != link->rs485) {
            errno = EINVAL;
            return NULL;
        }
        port = ((struct mb_device *)bus)->port;
        port->refs++;
    } else {
        port = port_new(link, 1);
        if (port == NULL)
            return NULL;
    }
    if (device_new(link, profile, port, &m) != 0) {
        port_unref(port);
        errno = ENOMEM;
        return NULL;
    }
    return &m->base;
}

static int mb_open(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    return port_open(m->port);
}

static int mb_read(struct lb_device *d, struct lb_reading *out)
{
    struct mb_device *m = (struct mb_device *)d;
    uint16_t regs[MODBUS_MAX_READ_BITS]; /* bits widen to one element each */
    int splits = 0;
    int rc;

again:
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < m->plan.nreq; i++) {
        const struct mb_request *rq = &m->plan.req[i];

        rc = request(m, OP_READ, rq->area, rq->start, rq->count, regs);
        if (rc != 0) {
            /* A device that refuses a block it was asked for in one piece
             * (a hole in its map between two values, or fewer registers
             * per request than the protocol allows) gets one request per
             * value from now on.  Each split adds two roles or more. */
            if ((m->last_errno == EMBXILADD || m->last_errno == EMBXILVAL) &&
                (rq->roles & (rq->roles - 1)) != 0 && splits++ < LB_ROLE_COUNT) {
                log_debug("modbus %s unit %d: %s %d+%d refused: reading its values "
                          "one by one",
                          m->port->name, m->link.unit, lb_area_name(rq->area), rq->start,
                          rq->count);
                m->solo |= rq->roles;
                mb_plan_make(&m->profile, m->solo, &m->plan);
                goto again;
            }
            memset(out, 0, sizeof(*out));
            return rc;
        }
        for (int r = 0; r < LB_ROLE_COUNT; r++) {
            const struct lb_value *v = &m->profile.values[r];

            if (!(rq->roles & (1u << r)))
                continue;
            lb_value_decode(v, &regs[v->address - rq->start], &out->raw[r]);
            out->have |= 1u << r;
        }
    }
    out->mono_ms = lb_mono_ms();
    out->wall_ms = lb_wall_ms();
    if (m->link.close_after_poll && !m->port->rtu)
        port_close(m->port);
    return 0;
}

static void mb_close(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    port_close(m->port);
}

static void mb_free(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    port_unref(m->port);
    free(m);
}

int lb_device_open(struct lb_device *d)
{
    return d->ops->open(d);
}

int lb_device_read(struct lb_device *d, struct lb_reading *out)
{
    return d->ops->read(d, out);
}

int lb_device_read_block(struct lb_device *d, enum lb_area area, int address, int count,
                         uint16_t *regs)
{
    struct mb_device *m = (struct mb_device *)d;
    int max = area_is_bits(area) ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;

    if (d->ops != &mb_ops)
        return -ENOTSUP;
    if (count < 1 || count > max || address < 0 || address + count > 65536)
        return -EINVAL;
    return request(m, OP_READ, area, address, count, regs);
}

int lb_device_write(struct lb_device *d, enum lb_area area, int address, int count,
                    const uint16_t *vals)
{
    struct mb_device *m = (struct mb_device *)d;
    uint16_t buf[MODBUS_MAX_WRITE_BITS];
    int max = area == LB_AREA_COIL ? MODBUS_MAX_WRITE_BITS : MODBUS_MAX_WRITE_REGISTERS;
    int rc;

    if (d->ops != &mb_ops)
        return -ENOTSUP;
    if (area != LB_AREA_COIL && area != LB_AREA_HOLDING)
        return -EROFS; /* discrete inputs and input registers are read-only */
    if (count < 1 || count > max || address < 0 || address + count > 65536)
        return -EINVAL;
    /* libmodbus takes the values as non-const. */
    memcpy(buf, vals, (size_t)count * sizeof(buf[0]));
    rc = request(m, OP_WRITE, area, address, count, buf);
    if (rc == 0 && m->link.close_after_poll && !m->port->rtu)
        port_close(m->port);
    return rc;
}

int lb_device_write_control(struct lb_device *d, uint64_t raw)
{
    struct mb_device *m = (struct mb_device *)d;
    const struct lb_value *v;
    uint16_t regs[4];

    if (d->ops != &mb_ops)
        return -ENOTSUP;
    v = &m->profile.values[LB_ROLE_CONTROL];
    if (!v->present)
        return -ENOTSUP;
    lb_value_encode(v, raw, regs);
    return lb_device_write(d, v->area, v->address,
                           v->area == LB_AREA_COIL ? 1 : (int)lb_vtype_words(v->type),
                           regs);
}

const char *lb_device_strerror(const struct lb_device *d)
{
    const struct mb_device *m = (const struct mb_device *)d;

    if (d->ops != &mb_ops || m->last_errno == 0)
        return "";
    return modbus_strerror(m->last_errno);
}

void lb_device_close(struct lb_device *d)
{
    if (d != NULL)
        d->ops->close(d);
}

void lb_device_free(struct lb_device *d)
{
    if (d != NULL)
        d->ops->free(d);
}
