/*
 * Ingest load: many simulated agents publish events batches over MQTT
 * (paho asynchronous client, QoS 1, the real wire encoder, "prev" as the
 * agent sends it) and wait until the server's retained acks say that every
 * event of every agent is stored.  Prints one JSON line: events, seconds
 * from the first publish to the last ack, events per second.  Nothing is
 * lost when every agent's final ack equals its last sequence number (the
 * server acks only a contiguous prefix, docs/wire.md).
 *
 * Like an agent, each simulated agent keeps at most WINDOW batches beyond
 * the server's ack (not the broker's PUBACK: the server drops what it
 * cannot queue and the agent sends it again), and sends again from its
 * ack when that stops moving for 3 s.
 *
 * usage: lb-bench-ingest -p PORT [-a AGENTS] [-n EVENTS_PER_AGENT] [-b BATCH]
 *                        [-d MACHINES_PER_AGENT] [-w WINDOW] [-t TIMEOUT_S]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "linebeat/clock.h"
#include "linebeat/wire.h"

#define PREFIX "linebeat/v1"

struct agent {
    int idx;
    char id[32];
    MQTTAsync c;
    atomic_int inflight;
    atomic_int connected;
    uint64_t last_seq; /* the last event it has */
    uint64_t next_seq; /* the first event of its next batch */
    uint64_t seen_ack; /* the ack at last_move */
    int64_t last_move; /* mono ms when the ack last moved */
    atomic_uint_fast64_t acked;
};

static struct agent *agents;
static int nagents = 50, per_dev = 4, window = 4;
static long events_per_agent = 20000, batch = 200;
static atomic_int failures;

static void on_connect(void *ctx, MQTTAsync_successData *r)
{
    struct agent *a = ctx;

    (void)r;
    atomic_store(&a->connected, 1);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
    struct agent *a = ctx;

    fprintf(stderr, "agent %s: connect failed: %d\n", a->id, r ? r->code : -1);
    atomic_store(&a->connected, -1);
}

static void on_sent(void *ctx, MQTTAsync_successData *r)
{
    struct agent *a = ctx;

    (void)r;
    atomic_fetch_sub(&a->inflight, 1);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *r)
{
    struct agent *a = ctx;

    (void)r;
    atomic_fetch_add(&failures, 1);
    atomic_fetch_sub(&a->inflight, 1);
}

/* Acks of all agents arrive at one subscriber. */
static int on_ack(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    char agent[LB_ID_MAX + 1], why[128];
    uint64_t seq;
    int i;

    (void)ctx;
    (void)tlen;
    if (lb_wire_decode_ack(m->payload, (size_t)m->payloadlen, agent, &seq, why,
                           sizeof(why)) == 0 &&
        sscanf(agent, "bench-%d", &i) == 1 && i >= 0 && i < nagents) {
        uint64_t cur = atomic_load(&agents[i].acked);

        while (seq > cur && !atomic_compare_exchange_weak(&agents[i].acked, &cur, seq))
            ;
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static int connect_client(MQTTAsync c, void *ctx, int clean)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;

    co.keepAliveInterval = 30;
    co.cleansession = clean;
    co.maxInflight = 1000;
    co.onSuccess = on_connect;
    co.onFailure = on_connect_fail;
    co.context = ctx;
    return MQTTAsync_connect(c, &co);
}

/* One batch of agent a: events seq first..first+n-1 over its machines,
 * counts mostly, a state event now and then. */
static int publish(struct agent *a, uint64_t first, long n, int64_t t0)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    struct lb_event *ev = calloc((size_t)n, sizeof(*ev));
    struct lb_batch b;
    char topic[256], *json = NULL;
    size_t len = 0;
    long i;
    int rc;

    if (ev == NULL)
        return -ENOMEM;
    memset(&b, 0, sizeof(b));
    snprintf(b.agent, sizeof(b.agent), "%s", a->id);
    snprintf(b.boot, sizeof(b.boot), "%016x", 0xbe00 + a->idx);
    b.synced = 1;
    b.sent = lb_wall_ms();
    b.has_prev = 1;
    b.prev = first - 1;
    b.n = (size_t)n;
    b.events = ev;
    for (i = 0; i < n; i++) {
        uint64_t s = first + (uint64_t)i;
        struct lb_event *e = &ev[i];

        e->seq = s;
        /* Events of one agent 25 ms apart in machine time: a machine every
         * 100 ms with 4 machines -- dense enough that no silence is long. */
        e->t = t0 + (int64_t)s * 25;
        e->age = 0;
        snprintf(e->dev, sizeof(e->dev), "b%d-m%d", a->idx, (int)(s % (uint64_t)per_dev));
        if (s % 97 == 0) {
            e->type = LB_EV_STATE;
            e->u.state.state = (s / 97) % 5 == 0 ? LB_ST_DOWN : LB_ST_RUNNING;
        } else {
            e->type = LB_EV_COUNT;
            e->u.count.good = 1;
            e->u.count.scrap = s % 50 == 0;
            e->u.count.span = 100;
            e->u.count.raw_mask = LB_RAW_GOOD;
            e->u.count.raw_good = s;
        }
    }
    rc = lb_wire_encode_events(&b, &json, &len);
    free(ev);
    if (rc != 0)
        return rc;
    snprintf(topic, sizeof(topic), PREFIX "/bench/%s/events", a->id);
    msg.payload = json;
    msg.payloadlen = (int)len;
    msg.qos = 1;
    ro.onSuccess = on_sent;
    ro.onFailure = on_send_fail;
    ro.context = a;
    atomic_fetch_add(&a->inflight, 1);
    rc = MQTTAsync_sendMessage(a->c, topic, &msg, &ro);
    free(json);
    if (rc != MQTTASYNC_SUCCESS) {
        atomic_fetch_sub(&a->inflight, 1);
        return -EIO;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    MQTTAsync sub = NULL;
    MQTTAsync_responseOptions sro = MQTTAsync_responseOptions_initializer;
    struct agent ackctx;
    char url[128];
    int port = 1883, timeout_s = 600, opt, i, done, resent;
    int64_t t0, t_start, t_pub, t_end, deadline;
    long total;

    while ((opt = getopt(argc, argv, "p:a:n:b:d:w:t:")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'a':
            nagents = atoi(optarg);
            break;
        case 'n':
            events_per_agent = atol(optarg);
            break;
        case 'b':
            batch = atol(optarg);
            break;
        case 'd':
            per_dev = atoi(optarg);
            break;
        case 'w':
            window = atoi(optarg);
            break;
        case 't':
            timeout_s = atoi(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: %s -p PORT [-a AGENTS] [-n EVENTS] [-b BATCH] "
                    "[-d MACHINES] [-w WINDOW] [-t TIMEOUT_S]\n",
                    argv[0]);
            return 2;
        }
    }
    if (nagents < 1 || batch < 1 || batch > LB_WIRE_MAX_EVENTS || per_dev < 1 ||
        events_per_agent < batch) {
        fprintf(stderr, "bad parameters\n");
        return 2;
    }
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
    if ((agents = calloc((size_t)nagents, sizeof(*agents))) == NULL)
        return 1;

    /* The ack watcher first, so no retained ack is missed. */
    memset(&ackctx, 0, sizeof(ackctx));
    if (MQTTAsync_create(&sub, url, "bench-acks", MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
            MQTTASYNC_SUCCESS ||
        MQTTAsync_setCallbacks(sub, NULL, NULL, on_ack, NULL) != MQTTASYNC_SUCCESS ||
        connect_client(sub, &ackctx, 1) != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "ack subscriber failed\n");
        return 1;
    }
    for (deadline = lb_mono_ms() + 10000; !atomic_load(&ackctx.connected);) {
        if (lb_mono_ms() > deadline || atomic_load(&ackctx.connected) < 0)
            return 1;
        sleep_ms(10);
    }
    if (MQTTAsync_subscribe(sub, PREFIX "/bench/+/ack", 1, &sro) != MQTTASYNC_SUCCESS)
        return 1;

    for (i = 0; i < nagents; i++) {
        struct agent *a = &agents[i];
        char cid[64];

        a->idx = i;
        snprintf(a->id, sizeof(a->id), "bench-%d", i);
        snprintf(cid, sizeof(cid), "bench-agent-%d", i);
        if (MQTTAsync_create(&a->c, url, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
                MQTTASYNC_SUCCESS ||
            connect_client(a->c, a, 1) != MQTTASYNC_SUCCESS)
            return 1;
    }
    for (i = 0; i < nagents; i++) {
        for (deadline = lb_mono_ms() + 10000; atomic_load(&agents[i].connected) == 0;) {
            if (lb_mono_ms() > deadline)
                return 1;
            sleep_ms(5);
        }
        if (atomic_load(&agents[i].connected) < 0)
            return 1;
    }
    sleep_ms(300); /* old retained acks (none on a fresh server) arrive */

    /* Publish round robin, each agent at most `window` batches beyond its
     * ack; a stalled ack makes it send again from there. */
    t0 = lb_wall_ms() - events_per_agent * 25;
    t_start = lb_mono_ms();
    total = (long)nagents * events_per_agent;
    resent = 0;
    for (i = 0; i < nagents; i++) {
        agents[i].last_seq = (uint64_t)events_per_agent;
        agents[i].next_seq = 1;
        agents[i].last_move = t_start;
    }
    deadline = t_start + (int64_t)timeout_s * 1000;
    t_pub = 0;
    for (;;) {
        int64_t now = lb_mono_ms();
        int sent = 0;

        done = 1;
        for (i = 0; i < nagents; i++) {
            struct agent *a = &agents[i];
            uint64_t ack = atomic_load(&a->acked);
            long n;

            if (ack >= a->last_seq)
                continue;
            done = 0;
            if (ack != a->seen_ack) {
                a->seen_ack = ack;
                a->last_move = now;
            } else if (now - a->last_move > 3000 && a->next_seq > ack + 1) {
                /* As the agent does: again from the first unconfirmed. */
                a->next_seq = ack + 1;
                a->last_move = now;
                resent++;
            }
            if (a->next_seq > a->last_seq ||
                a->next_seq - 1 - ack >= (uint64_t)window * (uint64_t)batch ||
                atomic_load(&a->inflight) >= 64)
                continue;
            n = (long)(a->last_seq - a->next_seq + 1) < batch
                    ? (long)(a->last_seq - a->next_seq + 1)
                    : batch;
            if (publish(a, a->next_seq, n, t0) != 0) {
                fprintf(stderr, "publish failed\n");
                return 1;
            }
            a->next_seq += (uint64_t)n;
            sent = 1;
        }
        if (t_pub == 0) {
            int all = 1;

            for (i = 0; i < nagents; i++)
                all &= agents[i].next_seq > agents[i].last_seq;
            if (all)
                t_pub = lb_mono_ms();
        }
        if (done || lb_mono_ms() > deadline)
            break;
        if (!sent)
            sleep_ms(1);
    }
    if (t_pub == 0)
        t_pub = lb_mono_ms();
    t_end = lb_mono_ms();
    {
        uint64_t acked = 0;

        for (i = 0; i < nagents; i++)
            acked += atomic_load(&agents[i].acked);
        printf(
            "{\"agents\":%d,\"machines\":%d,\"events\":%ld,\"batch\":%ld,\"window\":%d,"
            "\"publish_s\":%.3f,\"seconds\":%.3f,\"events_per_s\":%.0f,"
            "\"acked_events\":%" PRIu64 ",\"all_acked\":%s,\"publish_failures\":%d,"
            "\"resends\":%d}\n",
            nagents, nagents * per_dev, total, batch, window,
            (double)(t_pub - t_start) / 1000.0, (double)(t_end - t_start) / 1000.0,
            (double)total * 1000.0 / (double)(t_end - t_start), acked,
            done ? "true" : "false", atomic_load(&failures), resent);
    }
    for (i = 0; i < nagents; i++) {
        MQTTAsync_disconnect(agents[i].c, NULL);
        MQTTAsync_destroy(&agents[i].c);
    }
    MQTTAsync_disconnect(sub, NULL);
    MQTTAsync_destroy(&sub);
    free(agents);
    return done ? 0 : 1;
}
