/*
 * Modbus TCP devices through libmodbus.  A device connects on demand, reads
 * every value of its profile in as few requests as the protocol allows, and
 * on any failure closes the connection so that the next poll starts clean:
 * libmodbus's own error recovery (retry until success) stays off, because
 * the agent's loop owns back-off.  Calls block for up to the response
 * timeout per request and belong on the device's worker thread.
 *
 * The generic lb_device_* entry points dispatch through the ops table; they
 * live here while Modbus is the only driver behind struct lb_device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modbus.h>

#include "linebeat/clock.h"
#include "linebeat/device.h"
#include "linebeat/error.h"
#include "linebeat/log.h"

/* Registers or bits that may lie unread between two values of one request:
 * reading a few spare registers is cheaper than another round trip. */
#define MB_GAP 16

/* Every driver's state starts with this, so that a struct lb_device pointer
 * is also a pointer to the driver's struct. */
struct lb_device {
    const struct lb_device_ops *ops;
};

struct mb_request {
    enum lb_area area;
    int start; /* first address */
    int count; /* registers, or bits for coil and discrete */
};

struct mb_device {
    struct lb_device base; /* first, see above */
    struct lb_modbus_link link;
    struct lb_profile profile;
    modbus_t *ctx;
    int connected;
    size_t nreq;
    struct mb_request req[LB_ROLE_COUNT];
    int value_req[LB_ROLE_COUNT]; /* request holding each read value, -1 if none */
};

static int mb_open(struct lb_device *d);
static int mb_read(struct lb_device *d, struct lb_reading *out);
static void mb_close(struct lb_device *d);
static void mb_free(struct lb_device *d);
static int mb_fail(struct mb_device *m, const char *what);
static int area_is_bits(enum lb_area a);
static void plan_requests(struct mb_device *m);
static int read_request(struct mb_device *m, const struct mb_request *rq, uint16_t *regs);

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

/*
 * Groups the values to read into requests: values of one area sorted by
 * address share a request while the hole before the next one is at most
 * MB_GAP and the request stays within the protocol's limits (125 registers,
 * 2000 bits per read).  With at most six values a simple sort does.
 */
static void plan_requests(struct mb_device *m)
{
    const struct lb_value *v = m->profile.values;
    int order[LB_ROLE_COUNT];
    int n = 0;

    m->nreq = 0;
    for (int r = 0; r < LB_ROLE_COUNT; r++) {
        m->value_req[r] = -1;
        if (r != LB_ROLE_CONTROL && v[r].present)
            order[n++] = r;
    }
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
        const struct lb_value *val = &v[order[i]];
        int first = val->address;
        int end = first + (int)lb_vtype_words(val->type); /* exclusive */
        int limit =
            area_is_bits(val->area) ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;
        struct mb_request *rq = m->nreq > 0 ? &m->req[m->nreq - 1] : NULL;

        if (rq != NULL && rq->area == val->area &&
            first <= rq->start + rq->count + MB_GAP) {
            int new_end = end > rq->start + rq->count ? end : rq->start + rq->count;

            if (new_end - rq->start <= limit) {
                rq->count = new_end - rq->start;
                m->value_req[order[i]] = (int)m->nreq - 1;
                continue;
            }
        }
        rq = &m->req[m->nreq];
        rq->area = val->area;
        rq->start = first;
        rq->count = end - first;
        m->value_req[order[i]] = (int)m->nreq;
        m->nreq++;
    }
}

struct lb_device *lb_modbus_tcp_new(const struct lb_modbus_link *link,
                                    const struct lb_profile *profile)
{
    struct mb_device *m = NULL;
    char service[16];
    int timeout_ms;

    if (link->port < 1 || link->port > 65535 || link->unit < 0 || link->unit > 247)
        goto fail;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto fail;
    m->base.ops = &mb_ops;
    m->link = link[0];
    m->link.host[sizeof(m->link.host) - 1] = '\0';
    m->profile = profile[0];
    plan_requests(m);

    /* The _pi variant resolves host names as well as addresses. */
    snprintf(service, sizeof(service), "%d", link->port);
    m->ctx = modbus_new_tcp_pi(m->link.host, service);
    if (m->ctx == NULL)
        goto fail;
    if (modbus_set_slave(m->ctx, link->unit) != 0)
        goto fail;
    modbus_set_debug(m->ctx, 0);
    modbus_set_error_recovery(m->ctx, MODBUS_ERROR_RECOVERY_NONE);
    timeout_ms = link->timeout_ms > 0 ? link->timeout_ms : 1000;
    if (modbus_set_response_timeout(m->ctx, (uint32_t)(timeout_ms / 1000),
                                    (uint32_t)(timeout_ms % 1000) * 1000) != 0)
        goto fail;
    return &m->base;
fail:
    if (m != NULL && m->ctx != NULL)
        modbus_free(m->ctx);
    free(m);
    return NULL;
}

/* Turns the libmodbus failure in errno into our code and drops the link. */
static int mb_fail(struct mb_device *m, const char *what)
{
    int e = errno;
    int rc;

    if (e == 0)
        e = EIO;
    /* Codes from MODBUS_ENOBASE up are exception replies and protocol
     * errors (bad CRC, wrong unit in the reply, ...), not system errors. */
    rc = e >= MODBUS_ENOBASE ? LB_E_MODBUS : -e;
    log_debug("modbus %s:%d unit %d: %s: %s", m->link.host, m->link.port, m->link.unit,
              what, modbus_strerror(e));
    if (m->connected) {
        /* Drop whatever a late reply left in the buffers, then the link:
         * a reply that arrives after its timeout would otherwise be taken
         * for the answer to the next request. */
        modbus_flush(m->ctx);
        modbus_close(m->ctx);
        m->connected = 0;
    }
    return rc;
}

static int mb_open(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    if (m->connected)
        return 0;
    errno = 0;
    if (modbus_connect(m->ctx) != 0)
        return mb_fail(m, "connect");
    m->connected = 1;
    return 0;
}

/* Reads one request into regs, one element per register or bit. */
static int read_request(struct mb_device *m, const struct mb_request *rq, uint16_t *regs)
{
    uint8_t bits[MODBUS_MAX_READ_BITS];
    int rc;

    errno = 0;
    switch (rq->area) {
    case LB_AREA_COIL:
        rc = modbus_read_bits(m->ctx, rq->start, rq->count, bits);
        break;
    case LB_AREA_DISCRETE:
        rc = modbus_read_input_bits(m->ctx, rq->start, rq->count, bits);
        break;
    case LB_AREA_INPUT:
        rc = modbus_read_input_registers(m->ctx, rq->start, rq->count, regs);
        break;
    case LB_AREA_HOLDING:
    default:
        rc = modbus_read_registers(m->ctx, rq->start, rq->count, regs);
        break;
    }
    if (rc != rq->count) {
        char what[64];

        if (rc >= 0)
            errno = EMBBADDATA;
        snprintf(what, sizeof(what), "read %s %d+%d", lb_area_name(rq->area), rq->start,
                 rq->count);
        return mb_fail(m, what);
    }
    if (area_is_bits(rq->area))
        for (int i = 0; i < rq->count; i++)
            regs[i] = bits[i];
    return 0;
}

static int mb_read(struct lb_device *d, struct lb_reading *out)
{
    struct mb_device *m = (struct mb_device *)d;
    uint16_t regs[MODBUS_MAX_READ_BITS]; /* bits widen to one element each */
    int rc;

    memset(out, 0, sizeof(*out));
    rc = mb_open(d);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < m->nreq; i++) {
        const struct mb_request *rq = &m->req[i];

        rc = read_request(m, rq, regs);
        if (rc != 0) {
            out->have = 0;
            return rc;
        }
        for (int r = 0; r < LB_ROLE_COUNT; r++) {
            const struct lb_value *v = &m->profile.values[r];

            if (m->value_req[r] != (int)i)
                continue;
            lb_value_decode(v, &regs[v->address - rq->start], &out->raw[r]);
            out->have |= 1u << r;
        }
    }
    out->mono_ms = lb_mono_ms();
    out->wall_ms = lb_wall_ms();
    if (m->link.close_after_poll)
        mb_close(d);
    return 0;
}

static void mb_close(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    if (m->connected) {
        modbus_close(m->ctx);
        m->connected = 0;
    }
}

static void mb_free(struct lb_device *d)
{
    struct mb_device *m = (struct mb_device *)d;

    mb_close(d);
    modbus_free(m->ctx);
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

int lb_device_write_control(struct lb_device *d, uint64_t raw)
{
    struct mb_device *m = (struct mb_device *)d;
    const struct lb_value *v = &m->profile.values[LB_ROLE_CONTROL];
    uint16_t regs[4];
    int n, rc;

    if (d->ops != &mb_ops)
        return -ENOTSUP;
    if (!v->present)
        return -ENOTSUP;
    if (v->area != LB_AREA_COIL && v->area != LB_AREA_HOLDING)
        return -EROFS; /* discrete inputs and input registers are read-only */
    rc = mb_open(d);
    if (rc != 0)
        return rc;
    lb_value_encode(v, raw, regs);
    n = (int)lb_vtype_words(v->type);
    errno = 0;
    if (v->area == LB_AREA_COIL)
        rc = modbus_write_bit(m->ctx, v->address, regs[0] != 0);
    else if (n == 1)
        rc = modbus_write_register(m->ctx, v->address, regs[0]);
    else
        rc = modbus_write_registers(m->ctx, v->address, n, regs);
    if (rc < 0)
        return mb_fail(m, "write control");
    if (m->link.close_after_poll)
        mb_close(d);
    return 0;
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
