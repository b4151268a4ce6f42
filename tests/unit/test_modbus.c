/*
 * devices/modbus.c: the read planner, the split after an "illegal data
 * address" reply and its memory, the link rules (a late reply, a stale
 * reply with another transaction id, a link that keeps failing), the write
 * function codes, and the RTU timeout derivation.
 *
 * The peer is a small Modbus TCP server written here on raw sockets, in a
 * thread, so that it can misbehave on purpose: refuse blocks that cross a
 * hole in its map, answer late, or answer with a wrong transaction id.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "linebeat/device.h"
#include "linebeat/error.h"
#include "linebeat/profile.h"
#include "modbus_priv.h"

#define NREGS                              200
#define MODBUS_MAX_READ_REGISTERS_FOR_TEST 125
#define MAX_LOG                            256
#define HOLE_FROM                          10 /* holding registers 10-15 do not exist */
#define HOLE_TO                            15

struct logged {
    int fn, addr, count;
};

/* The fake device.  Fields under mu; the thread serves one client at a
 * time, as many small devices do. */
struct server {
    pthread_t thread;
    pthread_mutex_t mu;
    int listen_fd;
    int port;
    int stop;
    uint16_t regs[NREGS];
    uint8_t coils[NREGS];
    int hole;     /* refuse reads touching HOLE_FROM..HOLE_TO */
    int late_nth; /* answer request number late_nth late_ms late (1-based) */
    int late_ms;
    int stale_nth;    /* before answering request stale_nth, send a stale reply */
    int always_stale; /* every reply carries a wrong transaction id */
    int requests;     /* requests received */
    int accepts;      /* connections accepted */
    size_t nlog;
    struct logged log[MAX_LOG];
};

static struct server g_srv;

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);

        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void send_reply(int fd, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t len)
{
    uint8_t out[300];

    out[0] = (uint8_t)(tid >> 8);
    out[1] = (uint8_t)tid;
    out[2] = out[3] = 0;
    out[4] = (uint8_t)((len + 1) >> 8);
    out[5] = (uint8_t)(len + 1);
    out[6] = unit;
    memcpy(out + 7, pdu, len);
    if (send(fd, out, 7 + len, MSG_NOSIGNAL) < 0)
        return;
}

/* Builds the answer to one request PDU into rsp; returns its length. */
static size_t answer(struct server *s, const uint8_t *pdu, uint8_t *rsp)
{
    int fn = pdu[0];
    int addr = (pdu[1] << 8) | pdu[2];
    int count = (pdu[3] << 8) | pdu[4];
    size_t n = 0;

    if (s->nlog < MAX_LOG)
        s->log[s->nlog++] = (struct logged){fn, addr, count};
    if (fn == 5 || fn == 6)
        count = 1;
    if (addr + count > NREGS || (s->hole && (fn == 3 || fn == 4) && addr <= HOLE_TO &&
                                 addr + count > HOLE_FROM)) {
        rsp[0] = (uint8_t)(fn | 0x80);
        rsp[1] = 2; /* illegal data address */
        return 2;
    }
    rsp[n++] = (uint8_t)fn;
    switch (fn) {
    case 1:
    case 2:
        rsp[n++] = (uint8_t)((count + 7) / 8);
        memset(rsp + n, 0, (size_t)(count + 7) / 8);
        for (int i = 0; i < count; i++)
            if (s->coils[addr + i])
                rsp[n + (size_t)i / 8] |= (uint8_t)(1u << (i % 8));
        n += (size_t)(count + 7) / 8;
        break;
    case 3:
    case 4:
        rsp[n++] = (uint8_t)(2 * count);
        for (int i = 0; i < count; i++) {
            rsp[n++] = (uint8_t)(s->regs[addr + i] >> 8);
            rsp[n++] = (uint8_t)s->regs[addr + i];
        }
        break;
    case 5:
        s->coils[addr] = pdu[3] == 0xff;
        memcpy(rsp, pdu, 5);
        n = 5;
        break;
    case 6:
        s->regs[addr] = (uint16_t)((pdu[3] << 8) | pdu[4]);
        memcpy(rsp, pdu, 5);
        n = 5;
        break;
    case 15:
        for (int i = 0; i < count; i++)
            s->coils[addr + i] = (pdu[6 + i / 8] >> (i % 8)) & 1;
        memcpy(rsp, pdu, 5);
        n = 5;
        break;
    case 16:
        for (int i = 0; i < count; i++)
            s->regs[addr + i] = (uint16_t)((pdu[6 + 2 * i] << 8) | pdu[7 + 2 * i]);
        memcpy(rsp, pdu, 5);
        n = 5;
        break;
    default:
        rsp[0] = (uint8_t)(fn | 0x80);
        rsp[1] = 1;
        n = 2;
        break;
    }
    return n;
}

static void serve(struct server *s, int fd)
{
    for (;;) {
        uint8_t head[7], pdu[260], rsp[300];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        size_t len, n;
        uint16_t tid;
        int nth, late = 0, stale = 0, always;

        pthread_mutex_lock(&s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        pthread_mutex_unlock(&s->mu);
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        if (read_full(fd, head, 7) != 0)
            return;
        len = (size_t)((head[4] << 8) | head[5]);
        if (len < 2 || len > sizeof(pdu) + 1 || read_full(fd, pdu, len - 1) != 0)
            return;
        tid = (uint16_t)((head[0] << 8) | head[1]);
        pthread_mutex_lock(&s->mu);
        nth = ++s->requests;
        n = answer(s, pdu, rsp);
        late = s->late_nth == nth ? s->late_ms : 0;
        stale = s->stale_nth == nth;
        always = s->always_stale;
        pthread_mutex_unlock(&s->mu);
        if (late)
            sleep_ms(late);
        if (stale)
            send_reply(fd, (uint16_t)(tid - 7), head[6], rsp, n);
        send_reply(fd, always ? (uint16_t)(tid + 1000) : tid, head[6], rsp, n);
    }
}

static void *server_run(void *arg)
{
    struct server *s = arg;

    for (;;) {
        struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
        int fd;

        pthread_mutex_lock(&s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        pthread_mutex_unlock(&s->mu);
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        s->accepts++;
        pthread_mutex_unlock(&s->mu);
        serve(s, fd);
        close(fd);
    }
    return NULL;
}

static int server_setup(void **state)
{
    struct server *s = &g_srv;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sin);
    int one = 1;

    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < NREGS; i++)
        s->regs[i] = (uint16_t)(1000 + i);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sin, &slen), 0);
    s->port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_run, s), 0);
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct server *s = *state;

    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    pthread_mutex_destroy(&s->mu);
    return 0;
}

static void set_value(struct lb_profile *p, enum lb_role r, enum lb_area area, int addr,
                      enum lb_vtype type)
{
    p->values[r] = (struct lb_value){
        .present = 1, .area = area, .address = (uint16_t)addr, .type = type, .scale = 1};
}

static struct lb_device *tcp_device(const struct server *s, const struct lb_profile *p,
                                    int timeout_ms)
{
    struct lb_modbus_link link;
    struct lb_device *d;

    memset(&link, 0, sizeof(link));
    snprintf(link.host, sizeof(link.host), "127.0.0.1");
    link.port = s->port;
    link.unit = 1;
    link.timeout_ms = timeout_ms;
    d = lb_modbus_tcp_new(&link, p);
    assert_non_null(d);
    return d;
}

/* The server's log of read requests since index from, as "fn:addr+count ". */
static void requests_since(struct server *s, size_t from, char *out, size_t size)
{
    size_t len = 0;

    out[0] = '\0';
    pthread_mutex_lock(&s->mu);
    for (size_t i = from; i < s->nlog && len < size; i++) {
        int n = snprintf(out + len, size - len, "%s%d:%d+%d", len ? " " : "",
                         s->log[i].fn, s->log[i].addr, s->log[i].count);

        if (n < 0)
            break;
        len += (size_t)n;
    }
    pthread_mutex_unlock(&s->mu);
}

static size_t log_len(struct server *s)
{
    size_t n;

    pthread_mutex_lock(&s->mu);
    n = s->nlog;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* --- the planner ------------------------------------------------------ */

static void test_plan_merges_close_values(void **state)
{
    struct lb_profile p;
    struct mb_plan plan;

    (void)state;
    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 0, LB_T_U32);
    set_value(&p, LB_ROLE_SCRAP, LB_AREA_HOLDING, 4, LB_T_U32);
    set_value(&p, LB_ROLE_STATE, LB_AREA_HOLDING, 6, LB_T_U16);
    set_value(&p, LB_ROLE_CONTROL, LB_AREA_HOLDING, 7, LB_T_U16); /* written, not read */
    mb_plan_make(&p, 0, &plan);
    assert_int_equal(plan.nreq, 1);
    assert_int_equal(plan.req[0].start, 0);
    assert_int_equal(plan.req[0].count, 7);
    assert_int_equal(plan.req[0].roles, (1u << LB_ROLE_GOOD) | (1u << LB_ROLE_SCRAP) |
                                            (1u << LB_ROLE_STATE));
}

static void test_plan_gap_areas_and_limits(void **state)
{
    struct lb_profile p;
    struct mb_plan plan;

    (void)state;
    memset(&p, 0, sizeof(p));
    /* A hole of exactly MB_GAP registers still merges; one more does not. */
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 100, LB_T_U16);
    set_value(&p, LB_ROLE_TOTAL, LB_AREA_HOLDING, 101 + MB_GAP, LB_T_U16);
    set_value(&p, LB_ROLE_SCRAP, LB_AREA_HOLDING, 102 + 2 * MB_GAP + 1, LB_T_U64);
    /* Another area never shares a request, whatever the addresses. */
    set_value(&p, LB_ROLE_STATE, LB_AREA_INPUT, 100, LB_T_U16);
    set_value(&p, LB_ROLE_REASON, LB_AREA_DISCRETE, 5, LB_T_BOOL);
    set_value(&p, LB_ROLE_CYCLE, LB_AREA_DISCRETE, 1990, LB_T_BOOL);
    mb_plan_make(&p, 0, &plan);
    assert_int_equal(plan.nreq, 5);
    /* Sorted by area (coil, discrete, holding, input), then address. */
    assert_int_equal(plan.req[0].area, LB_AREA_DISCRETE);
    assert_int_equal(plan.req[0].start, 5);
    assert_int_equal(plan.req[0].count, 1);
    assert_int_equal(plan.req[1].start, 1990); /* 1986 bits apart: beyond MB_GAP */
    assert_int_equal(plan.req[2].area, LB_AREA_HOLDING);
    assert_int_equal(plan.req[2].start, 100);
    assert_int_equal(plan.req[2].count, 2 + MB_GAP);
    assert_int_equal(plan.req[2].roles, (1u << LB_ROLE_GOOD) | (1u << LB_ROLE_TOTAL));
    assert_int_equal(plan.req[3].start, 102 + 2 * MB_GAP + 1);
    assert_int_equal(plan.req[3].count, 4);
    assert_int_equal(plan.req[4].area, LB_AREA_INPUT);
    /* The 125-register limit cannot bind: six values of at most four
     * registers with holes of MB_GAP span at most 104. */
    assert_true(6 * 4 + 5 * MB_GAP < MODBUS_MAX_READ_REGISTERS_FOR_TEST);
}

static void test_plan_solo(void **state)
{
    struct lb_profile p;
    struct mb_plan plan;

    (void)state;
    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 0, LB_T_U32);
    set_value(&p, LB_ROLE_TOTAL, LB_AREA_HOLDING, 2, LB_T_U32);
    set_value(&p, LB_ROLE_SCRAP, LB_AREA_HOLDING, 4, LB_T_U32);
    set_value(&p, LB_ROLE_STATE, LB_AREA_HOLDING, 30, LB_T_U16);
    set_value(&p, LB_ROLE_REASON, LB_AREA_HOLDING, 31, LB_T_U16);
    /* good and total read alone; scrap, before them in no request, and the
     * state pair keep merging. */
    mb_plan_make(&p, (1u << LB_ROLE_GOOD) | (1u << LB_ROLE_TOTAL), &plan);
    assert_int_equal(plan.nreq, 4);
    assert_int_equal(plan.req[0].roles, 1u << LB_ROLE_GOOD);
    assert_int_equal(plan.req[0].count, 2);
    assert_int_equal(plan.req[1].roles, 1u << LB_ROLE_TOTAL);
    assert_int_equal(plan.req[2].roles, 1u << LB_ROLE_SCRAP);
    assert_int_equal(plan.req[3].roles, (1u << LB_ROLE_STATE) | (1u << LB_ROLE_REASON));
    assert_int_equal(plan.req[3].count, 2);
}

/* --- against the fake device ------------------------------------------ */

static void test_split_after_illegal_address(void **state)
{
    struct server *s = *state;
    struct lb_profile p;
    struct lb_reading r;
    struct lb_device *d;
    char seen[512];
    size_t mark;

    memset(&p, 0, sizeof(p));
    /* good at 0-1 and scrap at 18 merge across the hole 10-15. */
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 0, LB_T_U32);
    set_value(&p, LB_ROLE_SCRAP, LB_AREA_HOLDING, 18, LB_T_U16);
    pthread_mutex_lock(&s->mu);
    s->hole = 1;
    pthread_mutex_unlock(&s->mu);
    d = tcp_device(s, &p, 500);

    mark = log_len(s);
    assert_int_equal(lb_device_read(d, &r), 0);
    assert_int_equal(r.raw[LB_ROLE_GOOD], (1000u << 16) | 1001u);
    assert_int_equal(r.raw[LB_ROLE_SCRAP], 1018);
    assert_int_equal(mb_device_solo(d), (1u << LB_ROLE_GOOD) | (1u << LB_ROLE_SCRAP));
    requests_since(s, mark, seen, sizeof(seen));
    assert_string_equal(seen, "3:0+19 3:0+2 3:18+1");

    /* The next poll uses the split plan straight away. */
    mark = log_len(s);
    assert_int_equal(lb_device_read(d, &r), 0);
    requests_since(s, mark, seen, sizeof(seen));
    assert_string_equal(seen, "3:0+2 3:18+1");
    assert_int_equal(r.raw[LB_ROLE_SCRAP], 1018);
    /* An exception proves the link: still the first connection. */
    assert_int_equal(mb_device_opens(d), 1);
    lb_device_free(d);

    /* A single value the device refuses is an error, not a split. */
    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 12, LB_T_U32);
    d = tcp_device(s, &p, 500);
    assert_int_equal(lb_device_read(d, &r), LB_E_MODBUS);
    assert_string_equal(lb_device_strerror(d), "Illegal data address");
    assert_int_equal(mb_device_solo(d), 0);
    lb_device_free(d);
    pthread_mutex_lock(&s->mu);
    s->hole = 0;
    pthread_mutex_unlock(&s->mu);
}

static void test_late_reply_is_flushed(void **state)
{
    struct server *s = *state;
    struct lb_profile p;
    struct lb_reading r;
    struct lb_device *d;

    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 40, LB_T_U16);
    d = tcp_device(s, &p, 200);
    assert_int_equal(lb_device_read(d, &r), 0);
    pthread_mutex_lock(&s->mu);
    s->late_nth = s->requests + 1;
    s->late_ms = 350;
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(lb_device_read(d, &r), -ETIMEDOUT);
    sleep_ms(300); /* the late reply arrives meanwhile */
    pthread_mutex_lock(&s->mu);
    s->regs[40] = 4242;
    pthread_mutex_unlock(&s->mu);
    /* Not the late reply (1040) nor a mismatch: the fresh value. */
    assert_int_equal(lb_device_read(d, &r), 0);
    assert_int_equal(r.raw[LB_ROLE_GOOD], 4242);
    assert_int_equal(mb_device_opens(d), 1);
    lb_device_free(d);
    pthread_mutex_lock(&s->mu);
    s->regs[40] = 1040;
    pthread_mutex_unlock(&s->mu);
}

static void test_stale_reply_is_skipped(void **state)
{
    struct server *s = *state;
    struct lb_profile p;
    struct lb_reading r;
    struct lb_device *d;

    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 50, LB_T_U16);
    d = tcp_device(s, &p, 150);
    assert_int_equal(lb_device_read(d, &r), 0);
    /* A reply with an old transaction id before the real one: libmodbus
     * 3.1.6 reports it as EMBBADDATA; the device waits, flushes and asks
     * again within the same read. */
    pthread_mutex_lock(&s->mu);
    s->stale_nth = s->requests + 1;
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(lb_device_read(d, &r), 0);
    assert_int_equal(r.raw[LB_ROLE_GOOD], 1050);
    assert_int_equal(mb_device_opens(d), 1);
    /* And the link is clean afterwards. */
    assert_int_equal(lb_device_read(d, &r), 0);
    assert_int_equal(r.raw[LB_ROLE_GOOD], 1050);
    lb_device_free(d);
}

static void test_failing_link_is_rebuilt(void **state)
{
    struct server *s = *state;
    struct lb_profile p;
    struct lb_reading r;
    struct lb_device *d;
    int accepts;

    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 60, LB_T_U16);
    d = tcp_device(s, &p, 100);
    assert_int_equal(lb_device_read(d, &r), 0);
    pthread_mutex_lock(&s->mu);
    s->always_stale = 1;
    accepts = s->accepts;
    pthread_mutex_unlock(&s->mu);
    /* Two tries in the first read, the third failure closes the link. */
    assert_int_equal(lb_device_read(d, &r), LB_E_MODBUS);
    assert_int_equal(mb_device_opens(d), 1);
    assert_int_equal(lb_device_read(d, &r), LB_E_MODBUS);
    pthread_mutex_lock(&s->mu);
    s->always_stale = 0;
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(lb_device_read(d, &r), 0);
    assert_int_equal(r.raw[LB_ROLE_GOOD], 1060);
    assert_int_equal(mb_device_opens(d), 2);
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->accepts, accepts + 1);
    pthread_mutex_unlock(&s->mu);
    lb_device_free(d);
}

static void test_writes_and_blocks(void **state)
{
    struct server *s = *state;
    struct lb_profile p;
    struct lb_device *d;
    uint16_t v[4] = {1, 0, 1, 0}, got[8];
    char seen[512];
    size_t mark;

    memset(&p, 0, sizeof(p));
    set_value(&p, LB_ROLE_GOOD, LB_AREA_HOLDING, 0, LB_T_U16);
    set_value(&p, LB_ROLE_CONTROL, LB_AREA_HOLDING, 70, LB_T_U32);
    d = tcp_device(s, &p, 500);
    mark = log_len(s);
    assert_int_equal(lb_device_write(d, LB_AREA_COIL, 3, 1, v), 0);
    assert_int_equal(lb_device_write(d, LB_AREA_COIL, 10, 3, v), 0);
    v[0] = 777;
    assert_int_equal(lb_device_write(d, LB_AREA_HOLDING, 80, 1, v), 0);
    v[1] = 888;
    assert_int_equal(lb_device_write(d, LB_AREA_HOLDING, 90, 2, v), 0);
    assert_int_equal(lb_device_write_control(d, 0x00010002), 0);
    requests_since(s, mark, seen, sizeof(seen));
    assert_string_equal(seen, "5:3+65280 15:10+3 6:80+777 16:90+2 16:70+2");
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->coils[3], 1);
    assert_int_equal(s->coils[10] * 4 + s->coils[11] * 2 + s->coils[12], 5);
    assert_int_equal(s->regs[80], 777);
    assert_int_equal(s->regs[91], 888);
    assert_int_equal(s->regs[70], 1);
    assert_int_equal(s->regs[71], 2);
    pthread_mutex_unlock(&s->mu);

    assert_int_equal(lb_device_read_block(d, LB_AREA_COIL, 10, 3, got), 0);
    assert_int_equal(got[0] * 4 + got[1] * 2 + got[2], 5);
    assert_int_equal(lb_device_read_block(d, LB_AREA_INPUT, 100, 2, got), 0);
    assert_int_equal(got[1], 1101);
    assert_int_equal(lb_device_write(d, LB_AREA_DISCRETE, 0, 1, v), -EROFS);
    assert_int_equal(lb_device_write(d, LB_AREA_INPUT, 0, 1, v), -EROFS);
    assert_int_equal(lb_device_read_block(d, LB_AREA_HOLDING, 0, 126, got), -EINVAL);
    lb_device_free(d);
}

/* --- RTU settings (no line needed) ------------------------------------ */

static void test_rtu_timeout_and_settings(void **state)
{
    struct lb_modbus_link l;
    struct lb_profile p;
    struct lb_device *a, *b;

    (void)state;
    memset(&l, 0, sizeof(l));
    memset(&p, 0, sizeof(p));
    snprintf(l.device, sizeof(l.device), "/dev/null-bus");
    l.baud = 19200;
    l.parity = 'E';
    l.data_bits = 8;
    l.stop_bits = 1;
    l.unit = 1;
    /* 256 bytes x 11 bits at 19200 = 146.7 ms, rounded up, + 200. */
    assert_int_equal(lb_modbus_timeout_ms(&l, 1), 347);
    l.baud = 9600;
    l.parity = 'N';
    l.stop_bits = 2;
    assert_int_equal(lb_modbus_timeout_ms(&l, 1), 494); /* 293.3 -> 294 */
    l.timeout_ms = 1000;
    assert_int_equal(lb_modbus_timeout_ms(&l, 1), 1000);
    l.timeout_ms = 100; /* below the frame time: raised */
    assert_int_equal(lb_modbus_timeout_ms(&l, 1), 494);
    assert_int_equal(lb_modbus_timeout_ms(&l, 0), 100);
    l.timeout_ms = 0;
    assert_int_equal(lb_modbus_timeout_ms(&l, 0), 1000);
    l.baud = 12345;
    assert_int_equal(lb_modbus_timeout_ms(&l, 1), -1);
    assert_null(lb_modbus_rtu_new(&l, &p, NULL));

    /* A bus shares its settings. */
    l.baud = 19200;
    a = lb_modbus_rtu_new(&l, &p, NULL);
    assert_non_null(a);
    l.unit = 2;
    b = lb_modbus_rtu_new(&l, &p, a);
    assert_non_null(b);
    l.unit = 3;
    l.baud = 9600;
    assert_null(lb_modbus_rtu_new(&l, &p, a));
    assert_int_equal(errno, EINVAL);
    l.baud = 19200;
    l.unit = 0; /* broadcast: no device answers it */
    assert_null(lb_modbus_rtu_new(&l, &p, a));
    l.unit = 4;
    l.parity = 'X';
    assert_null(lb_modbus_rtu_new(&l, &p, NULL));
    /* Freeing in either order releases the port once. */
    lb_device_free(a);
    lb_device_free(b);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_plan_merges_close_values),
        cmocka_unit_test(test_plan_gap_areas_and_limits),
        cmocka_unit_test(test_plan_solo),
        cmocka_unit_test(test_rtu_timeout_and_settings),
    };
    const struct CMUnitTest peer[] = {
        cmocka_unit_test(test_split_after_illegal_address),
        cmocka_unit_test(test_late_reply_is_flushed),
        cmocka_unit_test(test_stale_reply_is_skipped),
        cmocka_unit_test(test_failing_link_is_rebuilt),
        cmocka_unit_test(test_writes_and_blocks),
    };
    int failed = cmocka_run_group_tests_name("planner", pure, NULL, NULL);

    failed += cmocka_run_group_tests_name("peer", peer, server_setup, server_teardown);
    return failed != 0;
}
