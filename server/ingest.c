/*
 * MQTT subscriber and single writer; see ingest.h.
 *
 * Threads: paho's receive thread runs msg_arrived and the connection
 * callbacks; they copy, queue and return.  The writer thread owns the
 * database connection, the ack table and the reconnect schedule, and is the
 * only caller of MQTTAsync_connect and MQTTAsync_sendMessage.
 *
 * paho 1.3.12 calls messageArrived with its client mutex held, and
 * MQTTAsync_sendMessage takes that mutex.  So msg_arrived must never wait
 * long for queue room (the writer may be blocked publishing an ack): it
 * waits ARRIVE_WAIT_MS at most and then drops an events message, which is
 * safe because nothing unstored is ever acknowledged: the agent sends it
 * again when its ack stalls.  It never returns 0 ("keep it, offer it
 * again"): paho then queues every later message behind it too and delivers
 * one per turn of its receive loop, which measured as a fall from about
 * 40,000 to 2,300 events/s that never recovered (docs/benchmarks.md).  The
 * agents' end-to-end window (window_events) keeps the queue from filling in
 * the first place.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "ingest.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"
#include "linebeat/log.h"
#include "linebeat/secret.h"
#include "linebeat/wire.h"
#include "store.h"

#define QUEUE_MAX_MSGS   20000
#define QUEUE_MAX_BYTES  (64u * 1024 * 1024)
#define BATCH_MAX        500 /* messages per transaction */
#define BATCH_LINGER_MS  20  /* wait this long for more before committing */
#define ACK_INTERVAL_MS  250 /* at most one ack per agent this often */
#define ARRIVE_WAIT_MS   20  /* see the file comment */
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000
#define STOP_DRAIN_MS    5000
#define LOG_BURST        10 /* warnings of one kind per window */
#define LOG_WINDOW_MS    10000
#define TOPIC_MAX        512

struct msg {
    struct msg *next;
    char *topic;
    char *payload; /* NULL when the message was too big to keep */
    size_t len;
    int64_t recv_ms; /* wall clock at arrival: dates unsynced events */
};

struct ack_entry {
    char agent[LB_ID_MAX + 1];
    char site[LB_ID_MAX + 1];
    uint64_t hw;
    int64_t last_ms; /* monotonic time of the last publish */
    int pending;     /* 0 none, 1 when the interval allows, 2 at once */
};

/* A pending ack collected during a batch, applied only after its commit. */
struct ack_note {
    char agent[LB_ID_MAX + 1];
    char site[LB_ID_MAX + 1];
    uint64_t hw;
    int force;
};

struct ratelimit {
    int64_t start;
    unsigned n;
    unsigned long suppressed;
};

struct ingest {
    char prefix[CONF_PREFIX_MAX + 1];
    char url[CONF_URL_MAX + 1];
    char client_id[64 + 1];
    /* TLS and credentials, read by the writer thread when connecting;
     * the password is wiped when ingest stops. */
    int tls, insecure;
    char ca_file[CONF_PATH_MAX + 1], cert_file[CONF_PATH_MAX + 1];
    char key_file[CONF_PATH_MAX + 1];
    char username[128];
    char password[LB_SECRET_MAX + 1];
    char sub_events[TOPIC_MAX], sub_birth[TOPIC_MAX], sub_status[TOPIC_MAX];
    struct db *db;
    MQTTAsync client;
    pthread_t writer;
    int writer_started;

    pthread_mutex_t mu;  /* guards the queue and the flags below it */
    pthread_cond_t wake; /* the writer waits here */
    pthread_cond_t room; /* msg_arrived waits here for queue room */
    pthread_cond_t done; /* ingest_stop waits here */
    struct msg *head, *tail;
    size_t count, bytes;
    int stop, drain_req, drained, disconnected;

    atomic_int republish;      /* set on connect: publish every agent's ack */
    atomic_int connect_failed; /* set by the connect failure callback */
    atomic_int connected;
    atomic_int ever_connected; /* paho reconnects by itself from then on */

    /* Writer thread only. */
    int64_t connect_at; /* monotonic ms of the next connect attempt, 0 none */
    int64_t backoff_ms;
    struct ack_entry *acks; /* sorted by agent */
    size_t nacks, capacks, npending;
    struct ack_note notes[BATCH_MAX];
    size_t nnotes;
    struct ratelimit rl_malformed, rl_conflict, rl_db;
    uint64_t batch_stored; /* events stored by the open transaction */

    atomic_uint_fast64_t received, stored, duplicates, malformed, conflicts, db_errors,
        acks_sent;
    atomic_uint_fast64_t overflow; /* events messages dropped for a full queue */
    uint64_t overflow_said;        /* writer thread: how many were logged */
    atomic_size_t depth;
    atomic_int_fast64_t lag_ms;
};

static int msg_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m);
static int queue_full(const struct ingest *ing, size_t plen);
static void conn_lost(void *ctx, char *cause);
static void on_connected(void *ctx, char *cause);
static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp);
static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp);
static void on_disconnect_done(void *ctx, MQTTAsync_successData *resp);
static void on_disconnect_failure(void *ctx, MQTTAsync_failureData *resp);
static void wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_mono);
static void msg_free(struct msg *m);
static void *writer_main(void *arg);
static void writer_batch(struct ingest *ing);
static void handle_msg(struct ingest *ing, struct msg *m);
static void note_ack(struct ingest *ing, const char *agent, const char *site, uint64_t hw,
                     int force);
static struct ack_entry *ack_find(struct ingest *ing, const char *agent, int create);
static void acks_apply_notes(struct ingest *ing);
static void acks_flush(struct ingest *ing, int64_t now, int all);
static int ack_publish(struct ingest *ing, struct ack_entry *a);
static int republish_one(void *ctx, const struct db_agent *a);
static void try_connect(struct ingest *ing);
static int on_ssl_error(const char *str, size_t len, void *ctx);
static const char *connack_text(int code);
static int64_t next_deadline(struct ingest *ing, int64_t now);
static int rl_allow(struct ratelimit *rl, const char *what);
static void rl_flush(struct ratelimit *rl, const char *what);

/* ---- paho's threads ---------------------------------------------------- */

/* With ing->mu held: would a payload of plen bytes overfill the queue?  An
 * empty queue takes anything. */
static int queue_full(const struct ingest *ing, size_t plen)
{
    return ing->count > 0 &&
           (ing->count >= QUEUE_MAX_MSGS || ing->bytes + plen > QUEUE_MAX_BYTES);
}

static int msg_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct ingest *ing = ctx;
    struct msg *q = NULL;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    int64_t deadline;
    int events, full;

    if ((q = calloc(1, sizeof(*q))) == NULL || (q->topic = malloc(tlen + 1)) == NULL)
        goto drop;
    memcpy(q->topic, topic, tlen);
    q->topic[tlen] = '\0';
    q->recv_ms = lb_wall_ms();
    q->len = plen;
    /* An oversized payload is not copied: the writer only counts it. */
    if (plen <= LB_WIRE_MAX_BYTES) {
        if ((q->payload = malloc(plen + 1)) == NULL)
            goto drop;
        memcpy(q->payload, m->payload, plen);
        q->payload[plen] = '\0';
    }
    /* Births and statuses are few and small, and not sent again: they
     * always get in.  Events wait a little for room, then are dropped. */
    events = tlen >= 7 && strcmp(q->topic + tlen - 7, "/events") == 0;

    pthread_mutex_lock(&ing->mu);
    deadline = lb_mono_ms() + ARRIVE_WAIT_MS;
    while (events && !ing->stop && queue_full(ing, plen) && lb_mono_ms() < deadline)
        wait_until(&ing->room, &ing->mu, deadline);
    full = events && queue_full(ing, plen);
    if (ing->stop || full) {
        pthread_mutex_unlock(&ing->mu);
        goto drop;
    }
    if (ing->tail)
        ing->tail->next = q;
    else
        ing->head = q;
    ing->tail = q;
    ing->count++;
    ing->bytes += plen;
    atomic_store(&ing->depth, ing->count);
    pthread_cond_signal(&ing->wake);
    pthread_mutex_unlock(&ing->mu);

    atomic_fetch_add(&ing->received, 1);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
drop:
    /* Never acknowledged, so never lost: see the file comment. */
    atomic_fetch_add(&ing->overflow, 1);
    msg_free(q);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void conn_lost(void *ctx, char *cause)
{
    struct ingest *ing = ctx;

    atomic_store(&ing->connected, 0);
    log_warnx("mqtt: connection to %s lost%s%s; reconnecting", ing->url,
              cause ? ": " : "", cause ? cause : "");
}

/* Called on every successful connect, first or automatic. */
static void on_connected(void *ctx, char *cause)
{
    struct ingest *ing = ctx;
    char *topics[3] = {ing->sub_events, ing->sub_birth, ing->sub_status};
    int qos[3] = {1, 1, 1};
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc;

    (void)cause;
    atomic_store(&ing->connected, 1);
    atomic_store(&ing->ever_connected, 1);
    log_info("mqtt: connected to %s as %s", ing->url, ing->client_id);
    /* The broker keeps a persistent session's subscriptions, but a broker
     * that lost its state would not: subscribing again is harmless. */
    ro.onFailure = on_subscribe_failure;
    ro.context = ing;
    rc = MQTTAsync_subscribeMany(ing->client, 3, topics, qos, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        log_warnx("mqtt: subscribe: %s", MQTTAsync_strerror(rc));
    /* Retained acks may be gone with a broker restart; the writer
     * republishes every agent's. */
    atomic_store(&ing->republish, 1);
    pthread_mutex_lock(&ing->mu);
    pthread_cond_signal(&ing->wake);
    pthread_mutex_unlock(&ing->mu);
}

/* MQTT 3.1.1 CONNACK refusals (section 3.2.2.3), as paho reports them. */
static const char *connack_text(int code)
{
    switch (code) {
    case 4:
        return "refused: bad user name or password (check [mqtt] username and "
               "password_file)";
    case 5:
        return "refused: not authorized (check the broker's password_file and "
               "acl_file)";
    }
    return NULL;
}

/*
 * paho's automatic reconnect only starts after a first successful connect,
 * and reuses this callback for its own failed attempts.  So: before the
 * first success the writer schedules retries with back-off; after it, paho
 * does, and this only logs.
 */
static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    struct ingest *ing = ctx;

    if (atomic_load(&ing->ever_connected)) {
        log_debug("mqtt: reconnect to %s failed: %s", ing->url,
                  resp && resp->message ? resp->message
                                        : MQTTAsync_strerror(resp ? resp->code : 0));
        return;
    }
    log_warnx("mqtt: connect to %s failed: %s", ing->url,
              resp && connack_text(resp->code)
                  ? connack_text(resp->code)
                  : (resp && resp->message ? resp->message
                                           : MQTTAsync_strerror(resp ? resp->code : 0)));
    atomic_store(&ing->connect_failed, 1);
    pthread_mutex_lock(&ing->mu);
    pthread_cond_signal(&ing->wake);
    pthread_mutex_unlock(&ing->mu);
}

static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp)
{
    (void)ctx;
    log_warnx("mqtt: subscribe refused: %s",
              resp && resp->message ? resp->message
                                    : MQTTAsync_strerror(resp ? resp->code : 0));
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *resp)
{
    struct ingest *ing = ctx;

    (void)resp;
    pthread_mutex_lock(&ing->mu);
    ing->disconnected = 1;
    pthread_cond_broadcast(&ing->done);
    pthread_mutex_unlock(&ing->mu);
}

static void on_disconnect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    (void)resp;
    on_disconnect_done(ctx, NULL);
}

/* ---- helpers ------------------------------------------------------------ */

/* Waits on c until deadline_mono (CLOCK_MONOTONIC ms); c uses that clock. */
static void wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t deadline_mono)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(deadline_mono / 1000);
    ts.tv_nsec = (long)(deadline_mono % 1000) * 1000000L;
    (void)pthread_cond_timedwait(c, mu, &ts);
}

static void msg_free(struct msg *m)
{
    if (m == NULL)
        return;
    free(m->topic);
    free(m->payload);
    free(m);
}

/* Reports warnings a finished window hid, even when no new one comes. */
static void rl_flush(struct ratelimit *rl, const char *what)
{
    if (rl->suppressed > 0 && lb_mono_ms() - rl->start >= LOG_WINDOW_MS) {
        log_warnx("ingest: %lu more %s warnings suppressed", rl->suppressed, what);
        rl->suppressed = 0;
    }
}

/* At most LOG_BURST warnings of a kind per window; tells how many it hid. */
static int rl_allow(struct ratelimit *rl, const char *what)
{
    int64_t now = lb_mono_ms();

    if (rl->start == 0 || now - rl->start >= LOG_WINDOW_MS) {
        if (rl->suppressed > 0)
            log_warnx("ingest: %lu more %s warnings suppressed", rl->suppressed, what);
        rl->start = now;
        rl->n = 0;
        rl->suppressed = 0;
    }
    if (rl->n < LOG_BURST) {
        rl->n++;
        return 1;
    }
    rl->suppressed++;
    return 0;
}

/* ---- ack table (writer thread) ----------------------------------------- */

static struct ack_entry *ack_find(struct ingest *ing, const char *agent, int create)
{
    size_t lo = 0, hi = ing->nacks, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(agent, ing->acks[mid].agent);
        if (c == 0)
            return &ing->acks[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!create)
        return NULL;
    if (LB_GROW(ing->acks, &ing->capacks, ing->nacks, 64) != 0)
        return NULL;
    memmove(&ing->acks[lo + 1], &ing->acks[lo], (ing->nacks - lo) * sizeof(*ing->acks));
    memset(&ing->acks[lo], 0, sizeof(*ing->acks));
    snprintf(ing->acks[lo].agent, sizeof(ing->acks[lo].agent), "%s", agent);
    ing->nacks++;
    return &ing->acks[lo];
}

static void note_ack(struct ingest *ing, const char *agent, const char *site, uint64_t hw,
                     int force)
{
    struct ack_note *n;

    if (ing->nnotes >= BATCH_MAX)
        return; /* cannot happen: one note per message at most */
    n = &ing->notes[ing->nnotes++];
    snprintf(n->agent, sizeof(n->agent), "%s", agent);
    snprintf(n->site, sizeof(n->site), "%s", site);
    n->hw = hw;
    n->force = force;
}

/* After a commit: the noted values are durable, so they may be acked. */
static void acks_apply_notes(struct ingest *ing)
{
    size_t i;

    for (i = 0; i < ing->nnotes; i++) {
        struct ack_note *n = &ing->notes[i];
        struct ack_entry *a = ack_find(ing, n->agent, 1);

        if (a == NULL) {
            log_warnx("ingest: out of memory for the ack of %s", n->agent);
            continue;
        }
        snprintf(a->site, sizeof(a->site), "%s", n->site);
        if (n->hw > a->hw)
            a->hw = n->hw;
        if (a->pending == 0)
            ing->npending++;
        if (n->force)
            a->pending = 2;
        else if (a->pending == 0)
            a->pending = 1;
    }
    ing->nnotes = 0;
}

static int ack_publish(struct ingest *ing, struct ack_entry *a)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    char topic[TOPIC_MAX];
    char *json = NULL;
    size_t len = 0;
    int rc;

    if (!atomic_load(&ing->connected))
        return LB_E_MQTT;
    if (lb_topic_make(topic, sizeof(topic), ing->prefix, a->site, a->agent, "ack") != 0)
        return LB_E_TOOBIG;
    if ((rc = lb_wire_encode_ack(a->agent, a->hw, &json, &len)) != 0)
        return rc;
    m.payload = json;
    m.payloadlen = (int)len;
    m.qos = 1;
    m.retained = 1; /* a reconnecting agent learns its resume point at once */
    rc = MQTTAsync_sendMessage(ing->client, topic, &m, NULL);
    free(json);
    if (rc != MQTTASYNC_SUCCESS) {
        log_debug("mqtt: ack for %s not sent: %s", a->agent, MQTTAsync_strerror(rc));
        return LB_E_MQTT;
    }
    atomic_fetch_add(&ing->acks_sent, 1);
    log_debug("ingest: ack %s seq %" PRIu64, a->agent, a->hw);
    return 0;
}

/* Publishes the pending acks whose interval has passed (all: every one). */
static void acks_flush(struct ingest *ing, int64_t now, int all)
{
    size_t i;

    if (ing->npending == 0)
        return;
    for (i = 0; i < ing->nacks; i++) {
        struct ack_entry *a = &ing->acks[i];

        if (a->pending == 0)
            continue;
        if (!all && a->pending == 1 && now - a->last_ms < ACK_INTERVAL_MS)
            continue;
        if (ack_publish(ing, a) != 0)
            continue; /* stays pending; retried on the next tick or connect */
        a->pending = 0;
        a->last_ms = now;
        ing->npending--;
    }
}

static int republish_one(void *ctx, const struct db_agent *a)
{
    struct ingest *ing = ctx;
    struct ack_entry *e = ack_find(ing, a->agent, 1);

    if (e == NULL)
        return -ENOMEM;
    snprintf(e->site, sizeof(e->site), "%s", a->site);
    if (a->hw > e->hw)
        e->hw = a->hw;
    if (e->pending == 0)
        ing->npending++;
    e->pending = 2;
    return 0;
}

/* ---- writer thread ------------------------------------------------------ */

/* OpenSSL's words for a failed handshake, from paho's thread. */
static int on_ssl_error(const char *str, size_t len, void *ctx)
{
    struct ingest *ing = ctx;

    while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
        len--;
    log_warnx("mqtt: %s: TLS: %.*s", ing->url, (int)(len < 400 ? len : 400), str);
    return 0;
}

static void try_connect(struct ingest *ing)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    int rc;

    co.keepAliveInterval = 20;
    /* A persistent session: the broker queues our QoS 1 messages while we
     * are away (design.md; packaging sets max_queued_messages). */
    co.cleansession = 0;
    co.automaticReconnect = 1;
    co.minRetryInterval = RECONNECT_MIN_MS / 1000;
    co.maxRetryInterval = RECONNECT_MAX_MS / 1000;
    co.maxInflight = 100;
    co.onFailure = on_connect_failure;
    co.context = ing;
    co.username = ing->username[0] ? ing->username : NULL;
    co.password = ing->password[0] ? ing->password : NULL;
    if (ing->tls) {
        /* Copied by paho; reused by its automatic reconnects. */
        ssl.trustStore = ing->ca_file[0] ? ing->ca_file : NULL;
        ssl.keyStore = ing->cert_file[0] ? ing->cert_file : NULL;
        ssl.privateKey = ing->key_file[0] ? ing->key_file : NULL;
        ssl.enableServerCertAuth = !ing->insecure;
        ssl.verify = !ing->insecure;               /* the host name or IP of the url */
        ssl.sslVersion = MQTT_SSL_VERSION_DEFAULT; /* highest both know */
        ssl.ssl_error_cb = on_ssl_error;
        ssl.ssl_error_context = ing;
        co.ssl = &ssl;
    }
    ing->connect_at = 0;
    rc = MQTTAsync_connect(ing->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        log_warnx("mqtt: connect to %s: %s", ing->url, MQTTAsync_strerror(rc));
        atomic_store(&ing->connect_failed, 1);
    }
}

static int64_t next_deadline(struct ingest *ing, int64_t now)
{
    int64_t d = now + 1000; /* a tick to notice flags anyway */
    size_t i;

    for (i = 0; ing->npending > 0 && i < ing->nacks; i++) {
        const struct ack_entry *a = &ing->acks[i];
        int64_t due = a->pending == 2 ? now : a->last_ms + ACK_INTERVAL_MS;

        if (a->pending == 0)
            continue;
        /* Not connected: retry sending at most every interval. */
        if (!atomic_load(&ing->connected) || due < now)
            due = now + ACK_INTERVAL_MS;
        if (due < d)
            d = due;
    }
    if (ing->connect_at > 0 && ing->connect_at < d)
        d = ing->connect_at;
    return d;
}

static void handle_msg(struct ingest *ing, struct msg *m)
{
    struct store_result res;
    int rc;

    if ((rc = db_savepoint(ing->db)) == 0) {
        rc = store_message(ing->db, ing->prefix, m->topic, m->payload, m->len, m->recv_ms,
                           &res);
        if (rc == 0)
            rc = db_release(ing->db);
        if (rc != 0)
            db_rollback_savepoint(ing->db);
    }
    if (rc != 0) {
        /* Lost here, but never acked: the agent sends it again. */
        atomic_fetch_add(&ing->db_errors, 1);
        if (rl_allow(&ing->rl_db, "database"))
            log_warnx("ingest: message on %.200s not stored: %s", m->topic,
                      lb_strerror(rc));
        return;
    }
    switch (res.kind) {
    case STORE_MALFORMED:
        atomic_fetch_add(&ing->malformed, 1);
        if (rl_allow(&ing->rl_malformed, "malformed-message"))
            log_warnx("ingest: malformed message on %.200s: %s", m->topic, res.why);
        return;
    case STORE_EVENTS:
        atomic_fetch_add(&ing->duplicates, res.batch.duplicates);
        ing->batch_stored += res.batch.stored;
        if (res.batch.conflicts > 0) {
            atomic_fetch_add(&ing->conflicts, res.batch.conflicts);
            if (rl_allow(&ing->rl_conflict, "machine-conflict"))
                log_warnx("ingest: machine %s belongs to agent %s, but agent %s sent %u "
                          "events for it (stored; the machine stays with its owner)",
                          res.batch.conflict_dev, res.batch.conflict_owner, res.agent,
                          res.batch.conflicts);
        }
        if (res.batch.gap_opened)
            log_info("ingest: agent %s: events after seq %" PRIu64 " up to %" PRIu64
                     " missing; waiting for the agent to send them again",
                     res.agent, res.batch.gap_from, res.batch.gap_to);
        break;
    case STORE_BIRTH:
        log_info("ingest: birth of agent %s (site %s), resume after seq %" PRIu64,
                 res.agent, res.site, res.hw);
        if (res.conflicts > 0)
            atomic_fetch_add(&ing->conflicts, res.conflicts);
        break;
    case STORE_STATUS:
        log_info("ingest: agent %s %s", res.agent, res.online ? "online" : "offline");
        break;
    }
    if (res.ack)
        note_ack(ing, res.agent, res.site, res.hw, res.ack == 2);
}

/*
 * One transaction: takes what is queued, lingers up to BATCH_LINGER_MS for
 * more (one fsync for many messages), stops at BATCH_MAX, commits, and only
 * then marks acks pending -- an ack must never get ahead of the disk.
 */
static void writer_batch(struct ingest *ing)
{
    struct msg *local[64];
    size_t n = 0, k, i;
    int64_t t0 = lb_mono_ms(), oldest = INT64_MAX;
    int rc;

    ing->nnotes = 0;
    ing->batch_stored = 0;
    if ((rc = db_begin(ing->db)) != 0) {
        /* The database is unusable right now (disk full, locked by a
         * person's sqlite3 shell...).  Drop this batch -- unacked, so the
         * agents resend -- and do not spin. */
        pthread_mutex_lock(&ing->mu);
        while (ing->head) {
            struct msg *m = ing->head;

            ing->head = m->next;
            ing->count--;
            ing->bytes -= m->len;
            msg_free(m);
            atomic_fetch_add(&ing->db_errors, 1);
        }
        ing->tail = NULL;
        atomic_store(&ing->depth, ing->count);
        pthread_cond_broadcast(&ing->room);
        if (!ing->stop)
            wait_until(&ing->wake, &ing->mu, lb_mono_ms() + 1000);
        pthread_mutex_unlock(&ing->mu);
        return;
    }

    for (;;) {
        pthread_mutex_lock(&ing->mu);
        for (k = 0;
             k < sizeof(local) / sizeof(local[0]) && n + k < BATCH_MAX && ing->head;
             k++) {
            struct msg *m = ing->head;

            ing->head = m->next;
            if (ing->head == NULL)
                ing->tail = NULL;
            ing->count--;
            ing->bytes -= m->len;
            local[k] = m;
        }
        atomic_store(&ing->depth, ing->count);
        if (k > 0)
            pthread_cond_broadcast(&ing->room);
        if (k == 0) {
            /* Queue empty: linger for more unless stopping or done. */
            int64_t deadline = t0 + BATCH_LINGER_MS;

            if (ing->stop || ing->drain_req || lb_mono_ms() >= deadline ||
                n >= BATCH_MAX) {
                pthread_mutex_unlock(&ing->mu);
                break;
            }
            wait_until(&ing->wake, &ing->mu, deadline);
            pthread_mutex_unlock(&ing->mu);
            continue;
        }
        pthread_mutex_unlock(&ing->mu);

        for (i = 0; i < k; i++) {
            if (local[i]->recv_ms < oldest)
                oldest = local[i]->recv_ms;
            handle_msg(ing, local[i]);
            msg_free(local[i]);
        }
        n += k;
        if (n >= BATCH_MAX || lb_mono_ms() - t0 >= BATCH_LINGER_MS)
            break;
    }

    if ((rc = db_commit(ing->db)) != 0) {
        db_rollback(ing->db);
        atomic_fetch_add(&ing->db_errors, n);
        log_warnx("ingest: commit of %zu messages failed; their agents will resend", n);
        ing->nnotes = 0;
        return;
    }
    atomic_fetch_add(&ing->stored, ing->batch_stored);
    if (oldest != INT64_MAX)
        atomic_store(&ing->lag_ms, lb_wall_ms() - oldest);
    acks_apply_notes(ing);
}

static void *writer_main(void *arg)
{
    struct ingest *ing = arg;
    int64_t now;
    int stop, drain, have;

    for (;;) {
        now = lb_mono_ms();
        pthread_mutex_lock(&ing->mu);
        if (ing->head == NULL && !ing->stop && !ing->drain_req &&
            !atomic_load(&ing->republish) && !atomic_load(&ing->connect_failed))
            wait_until(&ing->wake, &ing->mu, next_deadline(ing, now));
        have = ing->head != NULL;
        stop = ing->stop;
        /* Drained means: nothing queued when the last acks went out. */
        drain = ing->drain_req && !ing->drained && !have;
        pthread_mutex_unlock(&ing->mu);

        /* After a batch too, so acks keep flowing under continuous load. */
        if (have)
            writer_batch(ing);
        now = lb_mono_ms();
        if (atomic_exchange(&ing->republish, 0)) {
            if (db_agents(ing->db, republish_one, ing) != 0)
                log_warnx("ingest: could not list agents to republish their acks");
        }
        if (atomic_exchange(&ing->connect_failed, 0) && !stop) {
            ing->connect_at = now + ing->backoff_ms;
            log_info("mqtt: next connect attempt in %" PRId64 " s",
                     ing->backoff_ms / 1000);
            ing->backoff_ms *= 2;
            if (ing->backoff_ms > RECONNECT_MAX_MS)
                ing->backoff_ms = RECONNECT_MAX_MS;
        }
        if (atomic_load(&ing->connected))
            ing->backoff_ms = RECONNECT_MIN_MS;
        if (ing->connect_at > 0 && now >= ing->connect_at && !stop)
            try_connect(ing);
        acks_flush(ing, now, drain);
        rl_flush(&ing->rl_malformed, "malformed-message");
        rl_flush(&ing->rl_conflict, "machine-conflict");
        rl_flush(&ing->rl_db, "database");
        if (atomic_load(&ing->overflow) != ing->overflow_said &&
            rl_allow(&ing->rl_db, "database")) {
            uint64_t n = atomic_load(&ing->overflow);

            log_warnx("ingest: queue full: dropped %" PRIu64 " messages (never acked; "
                      "their agents send them again)",
                      n - ing->overflow_said);
            ing->overflow_said = n;
        }
        if (drain) {
            pthread_mutex_lock(&ing->mu);
            ing->drained = 1;
            pthread_cond_broadcast(&ing->done);
            pthread_mutex_unlock(&ing->mu);
        }
        if (stop && !have)
            break;
    }
    return NULL;
}

/* ---- start, stop, stats ------------------------------------------------- */

int ingest_start(const struct srv_conf *conf, struct db **db, struct ingest **out)
{
    char share[80] = "";
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    pthread_condattr_t ca;
    struct ingest *ing = NULL;
    int rc, have_ca = 0;

    *out = NULL;
    if ((ing = calloc(1, sizeof(*ing))) == NULL)
        return -ENOMEM;
    snprintf(ing->prefix, sizeof(ing->prefix), "%s", conf->mqtt.prefix);
    snprintf(ing->url, sizeof(ing->url), "%s", conf->mqtt.url);
    snprintf(ing->client_id, sizeof(ing->client_id), "%s", conf->mqtt.client_id);
    ing->tls = strncmp(ing->url, "ssl://", 6) == 0 ||
               strncmp(ing->url, "mqtts://", 8) == 0 ||
               strncmp(ing->url, "wss://", 6) == 0;
    ing->insecure = conf->mqtt.insecure;
    snprintf(ing->ca_file, sizeof(ing->ca_file), "%s", conf->mqtt.ca_file);
    snprintf(ing->cert_file, sizeof(ing->cert_file), "%s", conf->mqtt.cert_file);
    snprintf(ing->key_file, sizeof(ing->key_file), "%s", conf->mqtt.key_file);
    snprintf(ing->username, sizeof(ing->username), "%s", conf->mqtt.username);
    if (conf->mqtt.password_file[0] != '\0') {
        char why[CONF_PATH_MAX + 128];

        if ((rc = lb_secret_read(conf->mqtt.password_file, ing->password,
                                 sizeof(ing->password), why, sizeof(why))) != 0) {
            log_warnx("mqtt: password_file %s", why);
            explicit_bzero(ing->password, sizeof(ing->password));
            free(ing);
            return LB_E_CONFIG;
        }
        if (!ing->tls)
            log_warnx("mqtt: %s is not TLS: the password travels in clear text",
                      ing->url);
    }
    if (ing->tls && ing->insecure)
        log_warnx("mqtt: insecure = yes: the broker's certificate and host name are not "
                  "checked");
    /* Several collectors with one shared_group split the messages between
     * them ("$share/<group>/<filter>", MQTT 5 syntax; Mosquitto also takes
     * it from MQTT 3.1.1 clients such as this one). */
    if (conf->mqtt.shared_group[0] != '\0')
        snprintf(share, sizeof(share), "$share/%s/", conf->mqtt.shared_group);
    if ((size_t)snprintf(ing->sub_events, TOPIC_MAX, "%s%s/+/+/events", share,
                         ing->prefix) >= TOPIC_MAX ||
        (size_t)snprintf(ing->sub_birth, TOPIC_MAX, "%s%s/+/+/birth", share,
                         ing->prefix) >= TOPIC_MAX ||
        (size_t)snprintf(ing->sub_status, TOPIC_MAX, "%s%s/+/+/status", share,
                         ing->prefix) >= TOPIC_MAX) {
        explicit_bzero(ing->password, sizeof(ing->password));
        free(ing);
        return LB_E_TOOBIG;
    }
    ing->backoff_ms = RECONNECT_MIN_MS;

    /* Timed waits use the monotonic clock: a wall-clock step by NTP must
     * not stretch or cut the batch and ack timers. */
    if ((rc = pthread_condattr_init(&ca)) != 0) {
        explicit_bzero(ing->password, sizeof(ing->password));
        free(ing);
        return -rc;
    }
    have_ca = 1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ing->mu, NULL);
    pthread_cond_init(&ing->wake, &ca);
    pthread_cond_init(&ing->room, &ca);
    pthread_cond_init(&ing->done, &ca);

    rc = MQTTAsync_createWithOptions(&ing->client, ing->url, ing->client_id,
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_warnx("mqtt: create client for %s: %s", ing->url, MQTTAsync_strerror(rc));
        rc = LB_E_MQTT;
        goto fail;
    }
    /* Callbacks before connecting: a persistent session may deliver queued
     * messages right after CONNACK. */
    if ((rc = MQTTAsync_setCallbacks(ing->client, ing, conn_lost, msg_arrived, NULL)) !=
            MQTTASYNC_SUCCESS ||
        (rc = MQTTAsync_setConnected(ing->client, ing, on_connected)) !=
            MQTTASYNC_SUCCESS) {
        log_warnx("mqtt: set callbacks: %s", MQTTAsync_strerror(rc));
        rc = LB_E_MQTT;
        goto fail;
    }
    ing->db = *db;
    /* The first connect attempt goes through the writer like every later
     * one; set before the thread exists, so no lock is needed. */
    ing->connect_at = lb_mono_ms();
    if ((rc = pthread_create(&ing->writer, NULL, writer_main, ing)) != 0) {
        ing->db = NULL;
        rc = -rc;
        goto fail;
    }
    ing->writer_started = 1;
    *db = NULL;
    pthread_condattr_destroy(&ca);
    *out = ing;
    return 0;
fail:
    if (ing->client)
        MQTTAsync_destroy(&ing->client);
    pthread_cond_destroy(&ing->wake);
    pthread_cond_destroy(&ing->room);
    pthread_cond_destroy(&ing->done);
    pthread_mutex_destroy(&ing->mu);
    if (have_ca)
        pthread_condattr_destroy(&ca);
    explicit_bzero(ing->password, sizeof(ing->password));
    free(ing);
    return rc;
}

void ingest_stop(struct ingest *ing)
{
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    int64_t deadline;
    struct msg *m;

    if (ing == NULL)
        return;
    /* 1. Store what is queued and publish the last acks while connected. */
    pthread_mutex_lock(&ing->mu);
    ing->drain_req = 1;
    ing->drained = 0;
    pthread_cond_signal(&ing->wake);
    deadline = lb_mono_ms() + STOP_DRAIN_MS;
    while (!ing->drained && lb_mono_ms() < deadline)
        wait_until(&ing->done, &ing->mu, deadline);
    pthread_mutex_unlock(&ing->mu);

    /* 2. Leave the broker; the persistent session keeps our subscriptions
     * and queues new messages until the next start. */
    dopt.timeout = 2000;
    dopt.onSuccess = on_disconnect_done;
    dopt.onFailure = on_disconnect_failure;
    dopt.context = ing;
    if (MQTTAsync_disconnect(ing->client, &dopt) == MQTTASYNC_SUCCESS) {
        pthread_mutex_lock(&ing->mu);
        deadline = lb_mono_ms() + 3000;
        while (!ing->disconnected && lb_mono_ms() < deadline)
            wait_until(&ing->done, &ing->mu, deadline);
        pthread_mutex_unlock(&ing->mu);
    }
    atomic_store(&ing->connected, 0);

    /* 3. Store what arrived meanwhile and end the writer. */
    pthread_mutex_lock(&ing->mu);
    ing->stop = 1;
    pthread_cond_broadcast(&ing->wake);
    pthread_cond_broadcast(&ing->room);
    pthread_mutex_unlock(&ing->mu);
    if (ing->writer_started)
        pthread_join(ing->writer, NULL);

    MQTTAsync_destroy(&ing->client);
    while ((m = ing->head) != NULL) {
        ing->head = m->next;
        msg_free(m);
    }
    db_close(ing->db);
    free(ing->acks);
    pthread_cond_destroy(&ing->wake);
    pthread_cond_destroy(&ing->room);
    pthread_cond_destroy(&ing->done);
    pthread_mutex_destroy(&ing->mu);
    explicit_bzero(ing->password, sizeof(ing->password));
    free(ing);
}

void ingest_get_stats(struct ingest *ing, struct ingest_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (ing == NULL)
        return;
    st->received = atomic_load(&ing->received);
    st->stored = atomic_load(&ing->stored);
    st->duplicates = atomic_load(&ing->duplicates);
    st->malformed = atomic_load(&ing->malformed);
    st->conflicts = atomic_load(&ing->conflicts);
    st->db_errors = atomic_load(&ing->db_errors);
    st->acks = atomic_load(&ing->acks_sent);
    st->queue_depth = atomic_load(&ing->depth);
    st->lag_ms = atomic_load(&ing->lag_ms);
    st->connected = atomic_load(&ing->connected);
}
