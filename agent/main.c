/*
 * linebeat-agent: reads machine counters over Modbus, keeps every event in
 * the on-disk spool and publishes it over MQTT until the server confirms it.
 *
 * One thread (this one) owns all state: the machine table, counters, the
 * spool and the MQTT session.  Device workers and paho callbacks only post
 * to the inbox.  The poll() timeout is the nearest deadline on
 * CLOCK_MONOTONIC: commit, send, reconnect, status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "counter.h"
#include "inbox.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/sdnotify.h"
#include "linebeat/wire.h"
#include "mqtt.h"
#include "poller.h"
#include "probe.h"
#include "scanners.h"
#include "spool.h"

#define MAX_INFLIGHT    1000
#define BASE_WAIT_MS    3000 /* a new spool waits this long for the server's ack */
#define STATUS_EVERY_MS 2000
#define MAX_WAIT_MS     1000 /* signals are noticed at least this often */
/* An unchanged state is sent again this often: the server takes a longer
 * silence of a machine as unknown time (docs/kpi.md), which a machine that
 * stands still for hours is not. */
#define STATE_REPEAT_MS 60000

static const int counter_roles[] = {LB_ROLE_GOOD, LB_ROLE_TOTAL, LB_ROLE_SCRAP};

struct machine_rt {
    const struct machine_conf *mc;
    struct counter ctr[LB_ROLE_COUNT];
    int64_t restored_wall; /* wall time of the durable baseline, 0 if none */
    int have_read;
    int64_t last_mono;
    int64_t last_count_wall; /* where the next count event's span begins */
    int64_t last_part_mono;
    int state_known;
    enum lb_state state;
    char reason[LB_CODE_MAX + 1];
    int64_t state_mono; /* when the state was last sent */
    int fails;
    int offline;
    uint64_t reads, errors, parts;
    int last_err;
    int64_t last_ok_wall;
    struct poller *poller; /* its worker: scanner feedback is written there */
};

struct inflight {
    int token;
    uint64_t last;
};

struct agent {
    struct agent_conf *conf;
    char boot[LB_BOOT_LEN + 1];
    struct spool *spool;
    struct mqtt *mqtt;
    struct inbox *ib;
    struct machine_rt *m;
    size_t nm;
    struct poller **pollers;   /* one per TCP machine or serial bus */
    struct scanners *scanners; /* NULL when there are none */
    size_t npollers;
    char t_events[512], t_birth[512], t_status[512], t_ack[512];
    int synced;
    /* MQTT session */
    int connected, subscribed;
    int64_t reconnect_at, backoff, subscribed_at;
    uint64_t last_sent; /* the last seq handed to the broker */
    struct inflight inflight[MAX_INFLIGHT];
    int ninflight;
    int64_t unacked_since;
    uint64_t published, resends, reconnects;
    /* spool */
    int64_t first_pending, last_commit;
    uint64_t merged_said, dropped_said; /* spool losses already told in notes */
    int64_t next_status;
    struct spool_item *buf;
};

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig);
static int run(struct agent *a);
static int agent_open(struct agent *a);
static void agent_close(struct agent *a);
static int start_machines(struct agent *a, struct machine_rt *old, size_t nold);
static void stop_machines(struct agent *a);
static void handle(struct agent *a, const struct inbox_msg *msg);
static void on_scan(struct agent *a, const struct inbox_msg *msg);
static void on_reading(struct agent *a, struct machine_rt *m,
                       const struct inbox_msg *msg);
static void add_event(struct agent *a, struct lb_event *ev, int64_t mono);
static void add_note(struct agent *a, const char *dev, int64_t mono, int64_t wall,
                     const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void add_state(struct agent *a, struct machine_rt *m, enum lb_state st,
                      const char *reason, int64_t mono, int64_t wall);
static void tell_losses(struct agent *a);
static void maybe_commit(struct agent *a, int64_t now, int force);
static void maybe_send(struct agent *a, int64_t now);
static int send_batch(struct agent *a, int64_t now);
static void send_from_ack(struct agent *a);
static void maybe_connect(struct agent *a, int64_t now);
static void on_lost(struct agent *a, int64_t now);
static void publish_birth(struct agent *a);
static void write_status(struct agent *a);
static void status_path(const struct agent_conf *c, int reading, char *out, size_t size);
static int reload(struct agent *a);
static int make_boot_id(char *out);
static int ensure_dir(const char *path);
static int print_status(const char *conf_path);
static void usage(FILE *f);

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static int make_boot_id(char *out)
{
    uint8_t r[8];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -errno;
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void add_event(struct agent *a, struct lb_event *ev, int64_t mono)
{
    char why[160];
    int rc, was_empty;

    /* An event the encoder would refuse must never reach the spool: it
     * would block every later event behind it. */
    ev->seq = 1;
    if (lb_wire_check_event(ev, why, sizeof(why)) != 0) {
        log_warnx("dropping an invalid %s event: %s", ev->dev, why);
        return;
    }
    was_empty = spool_pending(a->spool) == 0;
    rc = spool_add(a->spool, ev, mono, a->synced);
    if (rc != 0) {
        log_warnx("spool: event of %s not kept: %s", ev->dev, lb_strerror(rc));
        return;
    }
    /* Not "pending == 1": a count folded into a pending one keeps it 1. */
    if (was_empty)
        a->first_pending = lb_mono_ms();
}

static void add_note(struct agent *a, const char *dev, int64_t mono, int64_t wall,
                     const char *code, const char *fmt, ...)
{
    struct lb_event ev;
    va_list ap;

    memset(&ev, 0, sizeof(ev));
    ev.type = LB_EV_NOTE;
    ev.t = wall;
    snprintf(ev.dev, sizeof(ev.dev), "%s", dev);
    snprintf(ev.u.note.code, sizeof(ev.u.note.code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(ev.u.note.text, sizeof(ev.u.note.text), fmt, ap);
    va_end(ap);
    log_info("%s: %s: %s", dev, code, ev.u.note.text);
    add_event(a, &ev, mono);
}

static void add_state(struct agent *a, struct machine_rt *m, enum lb_state st,
                      const char *reason, int64_t mono, int64_t wall)
{
    struct lb_event ev;

    if (m->state_known && m->state == st && strcmp(m->reason, reason) == 0 &&
        mono - m->state_mono < STATE_REPEAT_MS)
        return;
    m->state_mono = mono;
    m->state_known = 1;
    m->state = st;
    snprintf(m->reason, sizeof(m->reason), "%s", reason);
    memset(&ev, 0, sizeof(ev));
    ev.type = LB_EV_STATE;
    ev.t = wall;
    snprintf(ev.dev, sizeof(ev.dev), "%s", m->mc->id);
    ev.u.state.state = st;
    snprintf(ev.u.state.reason, sizeof(ev.u.state.reason), "%s", reason);
    log_debug("%s: state %s%s%s", m->mc->id, lb_state_name(st), reason[0] ? " " : "",
              reason);
    add_event(a, &ev, mono);
}

static void on_reading(struct agent *a, struct machine_rt *m, const struct inbox_msg *msg)
{
    const struct machine_conf *mc = m->mc;
    const struct lb_reading *r = &msg->reading;
    uint64_t d[LB_ROLE_COUNT] = {0};
    int64_t good, scrap, elapsed;
    unsigned have = r->have;
    struct lb_event ev;

    if (msg->err != 0) {
        m->errors++;
        m->last_err = msg->err;
        if (++m->fails >= mc->offline_after && !m->offline) {
            m->offline = 1;
            add_state(a, m, LB_ST_OFFLINE, "", r->mono_ms, r->wall_ms);
            if (mc->link == LINK_RTU)
                add_note(a, mc->id, r->mono_ms, r->wall_ms, "device_unreachable",
                         "no answer from unit %" PRId64 " on %s after %d tries: %s",
                         mc->unit, mc->device, m->fails, lb_strerror(msg->err));
            else
                add_note(a, mc->id, r->mono_ms, r->wall_ms, "device_unreachable",
                         "no answer from %s:%" PRId64 " after %d tries: %s", mc->host,
                         mc->port, m->fails, lb_strerror(msg->err));
        }
        return;
    }
    if (m->offline)
        log_info("%s: answering again", mc->id);
    m->fails = 0;
    m->offline = 0;
    m->reads++;
    m->last_ok_wall = r->wall_ms;

    /* Elapsed time since the reading the counters last saw: monotonic
     * within this run, the wall clock back to the durable baseline after a
     * restart (unknown, -1, if that clock went backwards). */
    if (m->have_read)
        elapsed = r->mono_ms - m->last_mono;
    else if (m->restored_wall > 0 && r->wall_ms >= m->restored_wall)
        elapsed = r->wall_ms - m->restored_wall;
    else
        elapsed = -1;

    for (size_t i = 0; i < sizeof(counter_roles) / sizeof(counter_roles[0]); i++) {
        int role = counter_roles[i];
        enum counter_event e;
        uint64_t before = m->ctr[role].last;

        if (!(have & (1u << role)))
            continue;
        e = counter_update(&m->ctr[role], r->raw[role], elapsed, mc->ideal_cycle_ms,
                           &d[role]);
        if (e == COUNTER_RESET || e == COUNTER_JUMP)
            add_note(a, mc->id, r->mono_ms, r->wall_ms,
                     e == COUNTER_RESET ? "counter_reset" : "counter_jump",
                     "%s counter went from %" PRIu64 " to %" PRIu64 " (%s)",
                     lb_role_name((enum lb_role)role), before, r->raw[role],
                     e == COUNTER_RESET ? "counted from zero"
                                        : "re-baselined, not counted");
        if (e != COUNTER_OK || d[role] != 0)
            spool_set_raw(a->spool, mc->id, role, r->raw[role], r->wall_ms);
    }

    /* Good and scrap from whichever counters the machine has. */
    if (have & (1u << LB_ROLE_GOOD))
        good = (int64_t)d[LB_ROLE_GOOD];
    else if (have & (1u << LB_ROLE_TOTAL))
        good = (int64_t)d[LB_ROLE_TOTAL] - (int64_t)d[LB_ROLE_SCRAP];
    else
        good = 0;
    if (have & (1u << LB_ROLE_SCRAP))
        scrap = (int64_t)d[LB_ROLE_SCRAP];
    else if ((have & (1u << LB_ROLE_TOTAL)) && (have & (1u << LB_ROLE_GOOD)))
        scrap = (int64_t)d[LB_ROLE_TOTAL] - (int64_t)d[LB_ROLE_GOOD];
    else
        scrap = 0;
    if (good < 0)
        good = 0;
    if (scrap < 0)
        scrap = 0;

    if (!m->have_read && m->last_count_wall == 0)
        m->last_count_wall = m->restored_wall > 0 && m->restored_wall <= r->wall_ms
                                 ? m->restored_wall
                                 : r->wall_ms;
    if (good + scrap > 0) {
        memset(&ev, 0, sizeof(ev));
        ev.type = LB_EV_COUNT;
        ev.t = r->wall_ms;
        snprintf(ev.dev, sizeof(ev.dev), "%s", mc->id);
        ev.u.count.good = good;
        ev.u.count.scrap = scrap;
        ev.u.count.span = r->wall_ms - m->last_count_wall;
        if (ev.u.count.span < 0)
            ev.u.count.span = 0;
        if (have & (1u << LB_ROLE_GOOD)) {
            ev.u.count.raw_mask |= LB_RAW_GOOD;
            ev.u.count.raw_good = r->raw[LB_ROLE_GOOD];
        }
        if (have & (1u << LB_ROLE_SCRAP)) {
            ev.u.count.raw_mask |= LB_RAW_SCRAP;
            ev.u.count.raw_scrap = r->raw[LB_ROLE_SCRAP];
        }
        if (have & (1u << LB_ROLE_TOTAL)) {
            ev.u.count.raw_mask |= LB_RAW_TOTAL;
            ev.u.count.raw_total = r->raw[LB_ROLE_TOTAL];
        }
        add_event(a, &ev, r->mono_ms);
        m->last_count_wall = r->wall_ms;
        m->last_part_mono = r->mono_ms;
        m->parts += (uint64_t)(good + scrap);
    }
    m->have_read = 1;
    m->last_mono = r->mono_ms;

    /* State: from the machine's state register when it has one, else from
     * the rate at which parts arrive (design.md "States and time model"). */
    if (have & (1u << LB_ROLE_STATE)) {
        int64_t code = (int64_t)r->raw[LB_ROLE_STATE];
        const struct lb_state_map *sm = lb_profile_state(&mc->prof, code);
        char reason[LB_CODE_MAX + 1] = "";

        if (sm != NULL) {
            snprintf(reason, sizeof(reason), "%s", sm->reason);
            if (reason[0] == '\0' && sm->state != LB_ST_RUNNING &&
                (have & (1u << LB_ROLE_REASON)) && r->raw[LB_ROLE_REASON] != 0)
                snprintf(reason, sizeof(reason), "%" PRIu64, r->raw[LB_ROLE_REASON]);
            add_state(a, m, sm->state, reason, r->mono_ms, r->wall_ms);
        } else {
            snprintf(reason, sizeof(reason), "code-%" PRId64, code);
            add_state(a, m, LB_ST_DOWN, reason, r->mono_ms, r->wall_ms);
        }
    } else {
        int64_t quiet = m->last_part_mono ? r->mono_ms - m->last_part_mono : INT64_MAX;
        enum lb_state st = LB_ST_RUNNING;

        if (quiet >= mc->down_after_ms)
            st = m->last_part_mono ? LB_ST_DOWN : LB_ST_IDLE;
        else if (quiet >= mc->idle_after_ms)
            st = LB_ST_IDLE;
        add_state(a, m, st, "", r->mono_ms, r->wall_ms);
    }
}

/* Says in a note (published like any event) when a full spool has given up
 * time resolution or state samples since the last note. */
static void tell_losses(struct agent *a)
{
    uint64_t merged, dropped;

    spool_losses(a->spool, &merged, &dropped);
    if (merged == a->merged_said && dropped == a->dropped_said)
        return;
    if (merged > a->merged_said)
        add_note(a, a->conf->id, lb_mono_ms(), lb_wall_ms(), "spool_full",
                 "spool reached %" PRId64 " MB: merged %" PRIu64
                 " count events (totals kept, time resolution reduced)",
                 a->conf->max_mb, merged - a->merged_said);
    if (dropped > a->dropped_said)
        add_note(a, a->conf->id, lb_mono_ms(), lb_wall_ms(), "spool_states_dropped",
                 "spool full: dropped the %" PRIu64 " oldest state events",
                 dropped - a->dropped_said);
    a->merged_said = merged;
    a->dropped_said = dropped;
}

static void maybe_commit(struct agent *a, int64_t now, int force)
{
    size_t pending = spool_pending(a->spool);
    int due, rc;

    if (spool_needs_base(a->spool))
        return;
    due = force || spool_urgent(a->spool) || (int64_t)pending >= a->conf->commit_events ||
          (pending > 0 && now - a->first_pending >= a->conf->commit_ms) ||
          (spool_acked(a->spool) > 0 && now - a->last_commit >= a->conf->commit_ms);
    if (!due)
        return;
    rc = spool_commit(a->spool);
    a->last_commit = now;
    if (rc == 0) {
        tell_losses(a);
        return;
    }
    /* The events stay pending, and so do the baselines they came from:
     * after a crash the counters are read again, nothing is lost. */
    log_warnx("spool commit failed: %s; %zu events kept in memory", lb_strerror(rc),
              spool_pending(a->spool));
    a->first_pending = now; /* retry after commit_ms, not in a tight loop */
}

static void on_lost(struct agent *a, int64_t now)
{
    if (a->connected)
        log_warnx("mqtt: connection lost");
    a->connected = 0;
    a->subscribed = 0;
    a->ninflight = 0;
    /* Whatever was in flight may or may not have arrived: send again from
     * the server's ack; it drops what it already has. */
    send_from_ack(a);
    a->unacked_since = 0;
    a->backoff = a->backoff == 0 ? a->conf->reconnect_min_ms : a->backoff * 2;
    if (a->backoff > a->conf->reconnect_max_ms)
        a->backoff = a->conf->reconnect_max_ms;
    a->reconnect_at = now + a->backoff + (int64_t)(random() % (a->backoff / 4 + 1));
}

static void maybe_connect(struct agent *a, int64_t now)
{
    if (a->connected || a->reconnect_at == 0 || now < a->reconnect_at)
        return;
    a->reconnect_at = 0;
    a->reconnects++;
    if (mqtt_connect(a->mqtt) != 0)
        on_lost(a, now);
}

static void publish_birth(struct agent *a)
{
    struct lb_birth *b = calloc(1, sizeof(*b));
    char *json = NULL;
    size_t len;
    int token;

    if (b == NULL)
        return;
    snprintf(b->agent, sizeof(b->agent), "%s", a->conf->id);
    snprintf(b->boot, sizeof(b->boot), "%s", a->boot);
    snprintf(b->version, sizeof(b->version), "%s", LB_VERSION);
    for (size_t i = 0; i < a->nm && i < LB_BIRTH_MAX_DEVICES; i++) {
        struct lb_birth_dev *d = &b->devices[b->ndevices++];

        snprintf(d->dev, sizeof(d->dev), "%s", a->m[i].mc->id);
        snprintf(d->profile, sizeof(d->profile), "%s", a->m[i].mc->profile);
        d->ideal_cycle_ms = a->m[i].mc->ideal_cycle_ms;
    }
    /* Retained: a server that subscribes after this connect (started later,
     * or a fresh session) still learns the machines and their ideal cycle
     * times; each connect replaces it. */
    if (lb_wire_encode_birth(b, &json, &len) == 0)
        mqtt_publish(a->mqtt, a->t_birth, json, len, 1, 1, &token);
    free(json);
    json = NULL;
    if (lb_wire_encode_status(a->conf->id, a->boot, 1, &json, &len) == 0)
        mqtt_publish(a->mqtt, a->t_status, json, len, 1, 1, &token);
    free(json);
    free(b);
}

/* Forgets what was sent: the next batch starts after the server's ack. */
static void send_from_ack(struct agent *a)
{
    a->last_sent = spool_acked(a->spool);
}

/*
 * Publishes one events message: the committed events after last_sent, at
 * most batch_events, cut where the clock verdict changes.  prev = last_sent:
 * the agent holds no event between it and the first one sent (the fetch
 * starts right after it), which lets the server's mark jump spool holes.
 * Returns 1 when a message went out, 0 when there was nothing to send or
 * the publish failed (the loop tries again later).
 */
static int send_batch(struct agent *a, int64_t now)
{
    size_t n = 0, k;
    struct lb_batch b;
    char *json = NULL;
    size_t len;
    int rc, token;
    int64_t mono = lb_mono_ms(), wall = lb_wall_ms();

    if (spool_fetch(a->spool, a->last_sent, (size_t)a->conf->batch_events, a->buf, &n) !=
            0 ||
        n == 0)
        return 0;
    /* One message, one clock verdict: cut where the flag changes. */
    for (k = 1; k < n && a->buf[k].synced == a->buf[0].synced; k++)
        ;
    n = k;
    memset(&b, 0, sizeof(b));
    snprintf(b.agent, sizeof(b.agent), "%s", a->conf->id);
    snprintf(b.boot, sizeof(b.boot), "%s", a->boot);
    b.synced = a->buf[0].synced;
    b.sent = wall;
    b.has_prev = 1;
    b.prev = a->last_sent;
    b.events = calloc(n, sizeof(*b.events));
    if (b.events == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        b.events[i] = a->buf[i].ev;
        b.events[i].age =
            a->buf[i].mono >= 0 ? mono - a->buf[i].mono : wall - a->buf[i].ev.t;
        if (b.events[i].age < 0)
            b.events[i].age = 0;
    }
    for (;;) {
        b.n = n;
        rc = lb_wire_encode_events(&b, &json, &len);
        if (rc != LB_E_TOOBIG || n == 1)
            break;
        n /= 2;
    }
    if (rc == 0)
        rc = mqtt_publish(a->mqtt, a->t_events, json, len, 1, 0, &token);
    free(json);
    free(b.events);
    if (rc != 0) {
        log_warnx("publish of %zu events failed: %s", n, lb_strerror(rc));
        return 0;
    }
    a->inflight[a->ninflight].token = token;
    a->inflight[a->ninflight].last = a->buf[n - 1].ev.seq;
    a->ninflight++;
    a->last_sent = a->buf[n - 1].ev.seq;
    a->published += n;
    if (a->unacked_since == 0)
        a->unacked_since = now;
    return 1;
}

/*
 * Sends what the server has not confirmed, oldest first, within two
 * windows: at most `inflight` messages awaiting PUBACK, and at most
 * `window_events` seqs beyond the server's ack.  The second is end-to-end
 * flow control: the broker's PUBACK comes at once, so without it a replay
 * after an outage pours the whole backlog into the broker and the server's
 * queue, and whatever comes next (live events, other agents' data) waits
 * behind all of it.  Oldest first keeps each machine's events in time
 * order, which the server's rollups rely on to stay cheap
 * (docs/decisions.md "Replay after an outage").
 */
static void maybe_send(struct agent *a, int64_t now)
{
    uint64_t acked = spool_acked(a->spool);

    if (!a->connected || !a->subscribed || spool_needs_base(a->spool))
        return;
    /* The broker may have dropped a message after its PUBACK (a full queue
     * for a slow subscriber) or the server may have been down: when the
     * ack stops advancing, send again from the first unconfirmed event. */
    if (a->last_sent > acked && a->ninflight == 0 && a->unacked_since > 0 &&
        now - a->unacked_since >= a->conf->ack_timeout_ms) {
        log_warnx("server ack stalled at %" PRIu64 " (sent up to %" PRIu64
                  "): sending again",
                  acked, a->last_sent);
        send_from_ack(a);
        a->resends++;
        a->unacked_since = now;
    }
    if (a->last_sent < acked)
        a->last_sent = acked;
    while (a->ninflight < a->conf->inflight &&
           a->last_sent - acked < (uint64_t)a->conf->window_events && send_batch(a, now))
        ;
}

/* A scanner read a code: a scan event of its machine through the spool
 * like any other, and feedback on that machine's I/O (docs/scanners.md). */
static void on_scan(struct agent *a, const struct inbox_msg *msg)
{
    struct scan_outcome out;
    struct lb_event ev;
    int rc;

    if (scanners_take(a->scanners, msg, &ev, &out) != 0)
        return; /* cannot happen: scanners outlive the messages they post */
    if (out.publish)
        add_event(a, &ev, msg->scan.mono_ms);
    if (out.fb == NULL || out.machine < 0 || (size_t)out.machine >= a->nm ||
        a->m[out.machine].poller == NULL)
        return;
    rc = poller_write(a->m[out.machine].poller, out.machine, out.fb->area,
                      out.fb->address, out.fb->value, lb_mono_ms());
    if (rc == 0 && out.fb_ms > 0)
        rc = poller_write(a->m[out.machine].poller, out.machine, out.fb->area,
                          out.fb->address, 0, lb_mono_ms() + out.fb_ms);
    if (rc != 0)
        log_warnx("%s: scanner feedback not written: %s", a->m[out.machine].mc->id,
                  lb_strerror(rc));
}

static void handle(struct agent *a, const struct inbox_msg *msg)
{
    int64_t now = lb_mono_ms();

    switch (msg->type) {
    case IN_READING:
        if (msg->dev >= 0 && (size_t)msg->dev < a->nm)
            on_reading(a, &a->m[msg->dev], msg);
        break;
    case IN_CONNECTED:
        log_info("mqtt: connected to %s", a->conf->url);
        a->connected = 1;
        a->backoff = 0;
        send_from_ack(a);
        publish_birth(a);
        break;
    case IN_CONNECT_FAIL:
        log_warnx("mqtt: cannot connect to %s (%d)", a->conf->url, msg->err);
        on_lost(a, now); /* schedules the retry */
        break;
    case IN_LOST:
        on_lost(a, now);
        break;
    case IN_SUBSCRIBED:
        a->subscribed = 1;
        a->subscribed_at = now;
        break;
    case IN_PUBACK:
    case IN_PUBFAIL:
        for (int i = 0; i < a->ninflight; i++) {
            if (a->inflight[i].token == msg->token) {
                a->inflight[i] = a->inflight[--a->ninflight];
                break;
            }
        }
        if (msg->type == IN_PUBFAIL) {
            log_warnx("mqtt: publish failed (%d): will send again", msg->err);
            send_from_ack(a);
        }
        break;
    case IN_SCAN:
        on_scan(a, msg);
        break;
    case IN_ACK:
        if (spool_needs_base(a->spool)) {
            log_info("new spool: the server has every event up to %" PRIu64
                     ", continuing from there",
                     msg->seq);
            spool_set_base(a->spool, msg->seq + 1);
            send_from_ack(a);
            break;
        }
        if (msg->seq > spool_last_seq(a->spool)) {
            /* The server holds numbers we never committed: this agent id
             * was used by another spool.  Continue above them so nothing
             * new is taken for a duplicate. */
            log_warnx("server acknowledged %" PRIu64 ", beyond our last event %" PRIu64
                      ": is the agent id '%s' used twice?",
                      msg->seq, spool_last_seq(a->spool), a->conf->id);
            spool_set_base(a->spool, msg->seq + 1);
            send_from_ack(a);
            break;
        }
        if (spool_ack(a->spool, msg->seq))
            a->unacked_since = a->last_sent > msg->seq ? now : 0;
        break;
    }
}

/*
 * Where status.json is: in run_dir (a tmpfs) when it is there and
 * writable, else in state_dir.  A reader takes the newer of the two, in
 * case run_dir appeared or went away since the agent started.
 */
static void status_path(const struct agent_conf *c, int reading, char *out, size_t size)
{
    char alt[AGENT_PATH_MAX + 32];
    struct stat a, b;

    snprintf(out, size, "%s/status.json", c->state_dir);
    if (c->run_dir[0] == '\0')
        return;
    snprintf(alt, sizeof(alt), "%s/status.json", c->run_dir);
    if (reading ? stat(alt, &a) == 0 && (stat(out, &b) != 0 || a.st_mtime >= b.st_mtime)
                : access(c->run_dir, W_OK) == 0)
        snprintf(out, size, "%s", alt);
}

/*
 * Rewrites status.json (status_path) in place, every STATUS_EVERY_MS.  Not
 * a new file renamed over the old one: on ext4 that forces each version to
 * disk (auto_da_alloc), 4 KiB every 2 s, 170 MB a day on an SD card.  In
 * place the page stays dirty in the page cache and is written back about
 * every 30 s, about 20 MB a day -- none at all on the tmpfs run_dir of the
 * packaged service (docs/benchmarks.md).  A shorter version is padded with
 * spaces (valid JSON) so the file never shrinks; a reader racing a write
 * may see a mix, and reads again.
 */
static void write_status(struct agent *a)
{
    char path[AGENT_PATH_MAX + 32], iso[40];
    struct spool_stats st;
    char *buf = NULL;
    size_t len = 0;
    off_t old;
    FILE *f;
    int fd;

    spool_stats(a->spool, &st);
    status_path(a->conf, 0, path, sizeof(path));
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return;
    fprintf(f,
            "{\"agent\":\"%s\",\"boot\":\"%s\",\"version\":\"%s\",\"time\":\"%s\","
            "\"clock\":\"%s\",\n "
            "\"mqtt\":{\"connected\":%s,\"url\":\"%s\",\"published\":%" PRIu64
            ",\"resends\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"inflight\":%d},\n"
            " \"spool\":{\"events\":%" PRIu64 ",\"pending\":%" PRIu64
            ",\"bytes\":%" PRIu64 ",\"next_seq\":%" PRIu64 ",\"acked\":%" PRIu64
            ",\"merged\":%" PRIu64 ",\"full\":%s},\n \"machines\":[",
            a->conf->id, a->boot, LB_VERSION, lb_iso8601(lb_wall_ms(), iso, sizeof(iso)),
            a->synced ? "synced" : "unsynced", a->connected ? "true" : "false",
            a->conf->url, a->published, a->resends, a->reconnects, a->ninflight,
            st.events, st.pending, st.bytes, st.next_seq, st.acked, st.merged,
            st.full ? "true" : "false");
    for (size_t i = 0; i < a->nm; i++) {
        const struct machine_rt *m = &a->m[i];

        fprintf(
            f,
            "%s\n  {\"dev\":\"%s\",\"link\":\"%s\",\"state\":\"%s\",\"last_read\":\"%s\","
            "\"reads\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"parts\":%" PRIu64
            ",\"last_error\":\"%s\"}",
            i ? "," : "", m->mc->id,
            m->offline ? "offline"
                       : (m->fails ? "failing" : (m->reads ? "up" : "unknown")),
            m->state_known ? lb_state_name(m->state) : "unknown",
            m->last_ok_wall ? lb_iso8601(m->last_ok_wall, iso, sizeof(iso)) : "",
            m->reads, m->errors, m->parts, m->last_err ? lb_strerror(m->last_err) : "");
    }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0) {
        free(buf);
        return;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && (old = lseek(fd, 0, SEEK_END)) >= 0) {
        if ((off_t)len < old) {
            char *p = realloc(buf, (size_t)old);

            if (p != NULL) {
                memset(p + len - 1, ' ', (size_t)old - len);
                p[old - 1] = '\n';
                buf = p;
                len = (size_t)old;
            }
        }
        if (pwrite(fd, buf, len, 0) != (ssize_t)len)
            log_debug("status: %s: short write", path);
        else if ((off_t)len < old && ftruncate(fd, (off_t)len) != 0)
            log_debug("status: %s: %s", path, strerror(errno)); /* no memory to pad */
    }
    if (fd >= 0)
        close(fd);
    free(buf);
}

static int start_machines(struct agent *a, struct machine_rt *old, size_t nold)
{
    struct lb_device **devs = NULL; /* each machine's device, to share a bus */
    size_t *busw = NULL;            /* each machine's worker */
    int rc = -ENOMEM;

    a->nm = a->conf->nmachines;
    a->m = calloc(a->nm ? a->nm : 1, sizeof(*a->m));
    a->pollers = calloc(a->nm ? a->nm : 1, sizeof(*a->pollers));
    devs = calloc(a->nm ? a->nm : 1, sizeof(*devs));
    busw = calloc(a->nm ? a->nm : 1, sizeof(*busw));
    if (a->m == NULL || a->pollers == NULL || devs == NULL || busw == NULL)
        goto out;
    for (size_t i = 0; i < a->nm; i++) {
        struct machine_rt *m = &a->m[i];
        const struct machine_conf *mc = &a->conf->machines[i];
        struct machine_rt *prev = NULL;
        struct lb_modbus_link link;
        struct lb_device *dev, *bus = NULL;
        struct poller *p = NULL;

        m->mc = mc;
        for (size_t j = 0; j < nold; j++)
            if (strcmp(old[j].mc->id, mc->id) == 0)
                prev = &old[j];
        for (size_t k = 0; k < sizeof(counter_roles) / sizeof(counter_roles[0]); k++) {
            int role = counter_roles[k];
            unsigned bits = lb_vtype_bits(mc->prof.values[role].type);
            uint64_t raw;
            int64_t wall;

            if (prev != NULL && prev->ctr[role].have_base) {
                /* SIGHUP keeps baselines: a reload must not cost parts. */
                counter_restore(&m->ctr[role], bits, prev->ctr[role].last);
                m->restored_wall = prev->last_ok_wall;
            } else if (spool_get_raw(a->spool, mc->id, role, &raw, &wall) == 0) {
                counter_restore(&m->ctr[role], bits, raw);
                m->restored_wall = wall;
            } else {
                counter_init(&m->ctr[role], bits);
            }
        }
        if (prev != NULL) {
            m->state_known = prev->state_known;
            m->state = prev->state;
            memcpy(m->reason, prev->reason, sizeof(m->reason));
            m->last_count_wall = prev->last_count_wall;
            m->last_part_mono = prev->last_part_mono;
        }

        /* One worker per TCP machine; the machines on one serial device
         * share a worker and the device's port. */
        agent_machine_link(mc, &link);
        if (mc->link == LINK_RTU) {
            for (size_t j = 0; j < i; j++) {
                if (a->conf->machines[j].link == LINK_RTU &&
                    strcmp(a->conf->machines[j].device, mc->device) == 0) {
                    bus = devs[j];
                    p = a->pollers[busw[j]];
                    busw[i] = busw[j];
                    break;
                }
            }
            dev = lb_modbus_rtu_new(&link, &mc->prof, bus);
        } else {
            dev = lb_modbus_tcp_new(&link, &mc->prof);
        }
        if (dev == NULL) {
            rc = errno == EINVAL ? -EINVAL : -ENOMEM;
            log_warnx("%s: cannot set up its device: %s", mc->id, lb_strerror(rc));
            goto out;
        }
        if (p == NULL) {
            p = poller_new(a->ib);
            if (p == NULL) {
                lb_device_free(dev);
                rc = -ENOMEM;
                goto out;
            }
            busw[i] = a->npollers;
            a->pollers[a->npollers++] = p;
        }
        devs[i] = dev;
        m->poller = p;
        if ((rc = poller_add(p, dev, (int)i, mc->interval_ms)) != 0)
            goto out;
    }
    for (size_t i = 0; i < a->npollers; i++)
        if ((rc = poller_start(a->pollers[i])) != 0)
            goto out;
    {
        struct scanners *prev = a->scanners;

        rc = scanners_new(a->conf, a->ib, prev, &a->scanners);
        scanners_free(prev);
        if (rc != 0 || (rc = scanners_start(a->scanners)) != 0)
            goto out;
    }
    rc = 0;
out:
    free(devs);
    free(busw);
    return rc;
}

static void stop_machines(struct agent *a)
{
    scanners_stop(a->scanners); /* freed by the next start_machines */
    /* All at once: workers waiting on dead devices finish together. */
    for (size_t i = 0; i < a->npollers; i++)
        poller_ask_stop(a->pollers[i]);
    for (size_t i = 0; i < a->npollers; i++)
        poller_stop(a->pollers[i]);
    free(a->pollers);
    a->pollers = NULL;
    a->npollers = 0;
}

static int agent_open(struct agent *a)
{
    struct mqtt_opts mo;
    char note[700], client_id[160], *will = NULL;
    size_t len;
    int rc;

    if ((rc = make_boot_id(a->boot)) != 0)
        return rc;
    if ((rc = ensure_dir(a->conf->state_dir)) != 0) {
        log_warnx("state directory %s: %s", a->conf->state_dir, lb_strerror(rc));
        return rc;
    }
    rc = spool_open(a->conf->state_dir, (uint64_t)a->conf->max_mb * 1024 * 1024,
                    &a->spool, note, sizeof(note));
    if (rc != 0) {
        if (rc == LB_E_BUSY)
            log_warnx("spool in %s: in use by another linebeat-agent; one agent per "
                      "state directory",
                      a->conf->state_dir);
        else
            log_warnx("spool in %s: %s", a->conf->state_dir, lb_strerror(rc));
        return rc;
    }
    a->synced = lb_clock_synced();
    if (note[0] != '\0')
        add_note(a, a->conf->id, lb_mono_ms(), lb_wall_ms(), "spool_replaced", "%s",
                 note);
    a->last_sent = spool_acked(a->spool);
    a->buf = calloc((size_t)a->conf->batch_events, sizeof(*a->buf));
    a->ib = inbox_new();
    if (a->buf == NULL || a->ib == NULL)
        return -ENOMEM;

    if (lb_topic_make(a->t_events, sizeof(a->t_events), a->conf->prefix, a->conf->site,
                      a->conf->id, "events") ||
        lb_topic_make(a->t_birth, sizeof(a->t_birth), a->conf->prefix, a->conf->site,
                      a->conf->id, "birth") ||
        lb_topic_make(a->t_status, sizeof(a->t_status), a->conf->prefix, a->conf->site,
                      a->conf->id, "status") ||
        lb_topic_make(a->t_ack, sizeof(a->t_ack), a->conf->prefix, a->conf->site,
                      a->conf->id, "ack"))
        return LB_E_TOOBIG;
    if (a->conf->client_id[0])
        snprintf(client_id, sizeof(client_id), "%s", a->conf->client_id);
    else
        snprintf(client_id, sizeof(client_id), "linebeat-agent-%s", a->conf->id);
    if ((rc = lb_wire_encode_status(a->conf->id, a->boot, 0, &will, &len)) != 0)
        return rc;
    memset(&mo, 0, sizeof(mo));
    mo.url = a->conf->url;
    mo.client_id = client_id;
    mo.agent = a->conf->id;
    mo.ack_topic = a->t_ack;
    mo.will_topic = a->t_status;
    mo.will_payload = will;
    mo.keepalive_s = (int)a->conf->keepalive_s;
    mo.max_inflight = (int)a->conf->inflight;
    mo.ca_file = a->conf->ca_file;
    mo.cert_file = a->conf->cert_file;
    mo.key_file = a->conf->key_file;
    mo.insecure = a->conf->insecure;
    mo.username = a->conf->username;
    mo.password_file = a->conf->password_file;
    rc = mqtt_new(&mo, a->ib, &a->mqtt);
    free(will);
    if (rc != 0) {
        log_warnx("mqtt: cannot create a client for %s", a->conf->url);
        return rc;
    }
    if ((rc = start_machines(a, NULL, 0)) != 0)
        return rc;
    a->reconnect_at = lb_mono_ms(); /* connect now */
    return 0;
}

static void agent_close(struct agent *a)
{
    stop_machines(a);
    scanners_free(a->scanners);
    a->scanners = NULL;
    if (a->mqtt != NULL && a->connected) {
        char *json = NULL;
        size_t len;
        int token;

        /* A clean stop sends no last will: say offline ourselves. */
        if (lb_wire_encode_status(a->conf->id, a->boot, 0, &json, &len) == 0)
            mqtt_publish(a->mqtt, a->t_status, json, len, 1, 1, &token);
        free(json);
        mqtt_disconnect(a->mqtt, 2000);
    }
    mqtt_free(a->mqtt);
    spool_close(a->spool);
    inbox_free(a->ib);
    free(a->m);
    free(a->buf);
}

static int reload(struct agent *a)
{
    struct agent_conf *nc = calloc(1, sizeof(*nc));
    struct lb_conf_errors *err = calloc(1, sizeof(*err));
    struct inbox_msg *msg, *next;
    struct machine_rt *old;
    size_t nold;
    int rc;

    if (nc == NULL || err == NULL) {
        free(nc);
        free(err);
        return -ENOMEM;
    }
    rc = agent_conf_load(a->conf->path, nc, err);
    if (rc != 0) {
        log_warnx("reload: %s is not valid, keeping the running configuration:\n%s",
                  a->conf->path, err->text);
        goto out;
    }
    if (strcmp(nc->id, a->conf->id) || strcmp(nc->site, a->conf->site) ||
        strcmp(nc->url, a->conf->url) || strcmp(nc->prefix, a->conf->prefix) ||
        strcmp(nc->state_dir, a->conf->state_dir) ||
        strcmp(nc->ca_file, a->conf->ca_file) ||
        strcmp(nc->cert_file, a->conf->cert_file) ||
        strcmp(nc->key_file, a->conf->key_file) || nc->insecure != a->conf->insecure ||
        strcmp(nc->username, a->conf->username) ||
        strcmp(nc->password_file, a->conf->password_file)) {
        log_warnx("reload: agent id, site, state_dir and [mqtt] changes need a restart;"
                  " keeping the running configuration");
        rc = LB_E_CONFIG;
        goto out;
    }
    /* Commit first so the carried-over baselines match the spool. */
    maybe_commit(a, lb_mono_ms(), 1);
    stop_machines(a);
    /* Readings the old workers posted belong to the old machine table:
     * count them now, before indexes may mean other machines. */
    for (msg = inbox_take(a->ib); msg != NULL; msg = next) {
        next = msg->next;
        handle(a, msg);
        free(msg);
    }
    old = a->m;
    nold = a->nm;
    {
        struct agent_conf *prev = a->conf;

        a->conf = nc;
        nc = NULL;
        rc = start_machines(a, old, nold);
        free(old);
        free(prev);
    }
    if (rc != 0) {
        /* The new configuration is valid but its devices could not be set
         * up (out of memory): nothing is polled until the next reload. */
        log_warnx("reload: cannot start polling: %s", lb_strerror(rc));
        goto out;
    }
    log_setlevel(a->conf->log_level);
    log_info("reloaded %s: %zu machines", a->conf->path, a->nm);
    if (a->connected)
        publish_birth(a);
out:
    free(nc);
    free(err);
    return rc;
}

static int run(struct agent *a)
{
    int64_t now = lb_mono_ms();
    /* systemd's watchdog (WatchdogSec=): pinged from this loop, which
     * wakes at least every MAX_WAIT_MS, at half the interval. */
    int64_t wd_every = lb_sd_watchdog_ms() / 2, wd_next = now;

    a->last_commit = now;
    a->next_status = now;
    while (!got_term) {
        struct pollfd pfd = {.fd = inbox_fd(a->ib), .events = POLLIN};
        struct inbox_msg *msg, *next;
        int64_t wait = MAX_WAIT_MS, d;

        now = lb_mono_ms();
        /* No commit deadline while a new spool waits for its base (the
         * commit cannot happen yet: a past deadline would spin the loop). */
        if (spool_pending(a->spool) > 0 && !spool_needs_base(a->spool) &&
            (d = a->first_pending + a->conf->commit_ms - now) < wait)
            wait = d;
        if (a->reconnect_at > 0 && (d = a->reconnect_at - now) < wait)
            wait = d;
        if (a->unacked_since > 0 &&
            (d = a->unacked_since + a->conf->ack_timeout_ms - now) < wait)
            wait = d;
        if ((d = a->next_status - now) < wait)
            wait = d;
        if (wd_every > 0 && (d = wd_next - now) < wait)
            wait = d;
        if (wait < 0)
            wait = 0;
        if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
            fatal("poll");
        if (got_hup) {
            got_hup = 0;
            reload(a);
        }
        for (msg = inbox_take(a->ib); msg != NULL; msg = next) {
            next = msg->next;
            handle(a, msg);
            free(msg);
        }
        now = lb_mono_ms();
        if (spool_needs_base(a->spool) && a->subscribed &&
            now - a->subscribed_at >= BASE_WAIT_MS) {
            /* No ack from the server: it has never stored an event of
             * ours, or the broker lost its retained messages.  A clock
             * we trust gives numbers that cannot collide with old ones. */
            uint64_t base = a->synced ? (uint64_t)lb_wall_ms() * 1000 : 1;

            log_info("new spool: no ack from the server, numbering from %" PRIu64, base);
            spool_set_base(a->spool, base);
            a->last_sent = base - 1;
        }
        maybe_commit(a, now, 0);
        maybe_send(a, now);
        maybe_connect(a, now);
        if (now >= a->next_status) {
            a->synced = lb_clock_synced();
            write_status(a);
            a->next_status = now + STATUS_EVERY_MS;
        }
        if (wd_every > 0 && now >= wd_next) {
            lb_sd_notify("WATCHDOG=1");
            wd_next = now + wd_every;
        }
    }
    lb_sd_notify("STOPPING=1");
    log_info("stopping: committing %zu pending events", spool_pending(a->spool));
    maybe_commit(a, lb_mono_ms(), 1);
    /* Commits defer deleting what the server confirmed; a clean stop does
     * it, so the next start resends nothing it need not. */
    spool_checkpoint(a->spool);
    maybe_send(a, lb_mono_ms());
    return 0;
}

static int print_status(const char *conf_path)
{
    struct agent_conf *c = calloc(1, sizeof(*c));
    struct lb_conf_errors *err = calloc(1, sizeof(*err));
    char path[AGENT_PATH_MAX + 32], line[4096];
    FILE *f;
    int rc = 1;

    if (c == NULL || err == NULL)
        goto out;
    if (agent_conf_load(conf_path, c, err) != 0) {
        fputs(err->text, stderr);
        goto out;
    }
    status_path(c, 1, path, sizeof(path));
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "linebeat-agent: %s: %s (is the agent running?)\n", path,
                strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stdout);
    fclose(f);
    rc = 0;
out:
    free(c);
    free(err);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: linebeat-agent -c FILE [-f] [-d]   run\n"
           "       linebeat-agent probe --host H|--device PATH ...  read and decode a "
           "block\n"
           "       linebeat-agent --check FILE [-v]    validate a config (-v: print it)\n"
           "       linebeat-agent --status -c FILE     show the running agent's status\n"
           "       linebeat-agent --help-config        every config key, as markdown\n"
           "  -f, --foreground   log to stderr instead of syslog\n"
           "  -d, --debug        log at debug level\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check", required_argument, NULL, 'n'},
                                         {"status", no_argument, NULL, 's'},
                                         {"foreground", no_argument, NULL, 'f'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help-config", no_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *conf_path = NULL, *check = NULL;
    int status = 0, foreground = 0, debug = 0, verbose = 0, c, rc;
    struct lb_conf_errors *err;
    struct sigaction sa;
    struct agent a;

    if (argc > 1 && strcmp(argv[1], "probe") == 0)
        return probe_main(argc - 1, argv + 1);
    while ((c = getopt_long(argc, argv, "c:fdvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf_path = optarg;
            break;
        case 'n':
            check = optarg;
            break;
        case 's':
            status = 1;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'd':
            debug = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'H':
            agent_conf_help(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (check == NULL && conf_path == NULL)) {
        usage(stderr);
        return 2;
    }
    if (status)
        return print_status(conf_path);

    memset(&a, 0, sizeof(a));
    a.conf = calloc(1, sizeof(*a.conf));
    err = calloc(1, sizeof(*err));
    if (a.conf == NULL || err == NULL) {
        fprintf(stderr, "linebeat-agent: out of memory\n");
        free(a.conf);
        free(err);
        return 1;
    }
    rc = agent_conf_load(check ? check : conf_path, a.conf, err);
    if (rc != 0)
        fputs(err->text, stderr);
    else if (check != NULL && verbose)
        agent_conf_print(a.conf, stdout);
    else if (check != NULL)
        printf("%s: ok, %zu machines\n", check, a.conf->nmachines);
    if (rc != 0 || check != NULL) {
        free(err);
        free(a.conf);
        return rc != 0;
    }
    free(err);

    log_init("linebeat-agent", foreground, debug ? LB_LOG_DEBUG : a.conf->log_level);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* One malloc arena per thread (glibc's default) costs resident memory
     * on a small board for no gain at these allocation rates. */
    mallopt(M_ARENA_MAX, 2);
    srandom((unsigned)lb_wall_ms() ^ (unsigned)getpid());

    if ((rc = agent_open(&a)) != 0) {
        log_warnx("cannot start: %s", lb_strerror(rc));
        agent_close(&a);
        free(a.conf);
        return 1;
    }
    log_info("agent %s (boot %s) started: %zu machines, spool in %s", a.conf->id, a.boot,
             a.nm, a.conf->state_dir);
    lb_sd_notify("READY=1");
    run(&a);
    agent_close(&a);
    free(a.conf);
    log_info("stopped");
    return 0;
}
