/* paho MQTTAsync wrapper; see mqtt.h.  Callbacks copy, post and return. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTAsync.h>

#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/wire.h"
#include "mqtt.h"

struct mqtt {
    MQTTAsync client;
    struct inbox *ib;
    char *url, *client_id, *agent, *ack_topic, *will_topic, *will_payload;
    int keepalive_s, max_inflight;
};

static void post(struct mqtt *m, enum inbox_type type, int err, int token, uint64_t seq);
static void on_lost(void *ctx, char *cause);
static int on_message(void *ctx, char *topic, int topiclen, MQTTAsync_message *msg);
static void on_connected(void *ctx, MQTTAsync_successData *resp);
static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp);
static void on_subscribed(void *ctx, MQTTAsync_successData *resp);
static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp);
static void on_published(void *ctx, MQTTAsync_successData *resp);
static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp);

static void post(struct mqtt *m, enum inbox_type type, int err, int token, uint64_t seq)
{
    struct inbox_msg msg;

    memset(&msg, 0, sizeof(msg));
    msg.type = type;
    msg.err = err;
    msg.token = token;
    msg.seq = seq;
    if (inbox_post(m->ib, &msg) != 0)
        log_warnx("mqtt: inbox full, event %d lost", type);
}

static void on_lost(void *ctx, char *cause)
{
    (void)cause;
    post(ctx, IN_LOST, 0, 0, 0);
}

static int on_message(void *ctx, char *topic, int topiclen, MQTTAsync_message *msg)
{
    struct mqtt *m = ctx;
    char agent[LB_ID_MAX + 1], why[128];
    uint64_t seq;

    (void)topiclen;
    if (lb_wire_decode_ack(msg->payload, (size_t)msg->payloadlen, agent, &seq, why,
                           sizeof(why)) == 0 &&
        strcmp(agent, m->agent) == 0)
        post(m, IN_ACK, 0, 0, seq);
    else
        log_warnx("mqtt: ignored message on %s: %s", topic, why);
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    post(ctx, IN_SUBSCRIBED, 0, 0, 0);
}

static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp)
{
    struct mqtt *m = ctx;

    log_warnx("mqtt: subscribe to %s failed (%d)", m->ack_topic, resp ? resp->code : 0);
    /* Without the ack subscription nothing would ever leave the spool:
     * treat it as a lost connection so the loop reconnects. */
    post(m, IN_LOST, 0, 0, 0);
}

static void on_connected(void *ctx, MQTTAsync_successData *resp)
{
    struct mqtt *m = ctx;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc;

    (void)resp;
    post(m, IN_CONNECTED, 0, 0, 0);
    ro.onSuccess = on_subscribed;
    ro.onFailure = on_subscribe_fail;
    ro.context = m;
    rc = MQTTAsync_subscribe(m->client, m->ack_topic, 1, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        on_subscribe_fail(m, NULL);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
    post(ctx, IN_CONNECT_FAIL, resp ? resp->code : -1, 0, 0);
}

static void on_published(void *ctx, MQTTAsync_successData *resp)
{
    post(ctx, IN_PUBACK, 0, resp ? resp->token : 0, 0);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
    post(ctx, IN_PUBFAIL, resp ? resp->code : -1, resp ? resp->token : 0, 0);
}

int mqtt_new(const struct mqtt_opts *o, struct inbox *ib, struct mqtt **out)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    struct mqtt *m;
    int rc = -ENOMEM;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->ib = ib;
    m->keepalive_s = o->keepalive_s;
    m->max_inflight = o->max_inflight;
    if ((m->url = strdup(o->url)) == NULL ||
        (m->client_id = strdup(o->client_id)) == NULL ||
        (m->agent = strdup(o->agent)) == NULL ||
        (m->ack_topic = strdup(o->ack_topic)) == NULL ||
        (m->will_topic = strdup(o->will_topic)) == NULL ||
        (m->will_payload = strdup(o->will_payload)) == NULL)
        goto fail;
    /* Bounded buffering: the spool holds everything, paho only what is in
     * flight. */
    co.sendWhileDisconnected = 0;
    co.maxBufferedMessages = o->max_inflight + 16;
    if (MQTTAsync_createWithOptions(&m->client, m->url, m->client_id,
                                    MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                    &co) != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        rc = LB_E_MQTT;
        goto fail;
    }
    if (MQTTAsync_setCallbacks(m->client, m, on_lost, on_message, NULL) !=
        MQTTASYNC_SUCCESS) {
        rc = LB_E_MQTT;
        goto fail;
    }
    *out = m;
    return 0;
fail:
    mqtt_free(m);
    return rc;
}

int mqtt_connect(struct mqtt *m)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;

    will.topicName = m->will_topic;
    will.message = m->will_payload;
    will.retained = 1;
    will.qos = 1;
    co.keepAliveInterval = m->keepalive_s;
    co.cleansession = 1;
    co.maxInflight = m->max_inflight + 8;
    co.will = &will;
    co.connectTimeout = 10;
    co.automaticReconnect = 0;
    co.onSuccess = on_connected;
    co.onFailure = on_connect_fail;
    co.context = m;
    if (MQTTAsync_connect(m->client, &co) != MQTTASYNC_SUCCESS)
        return LB_E_MQTT;
    return 0;
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
                 int qos, int retained, int *token)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc;

    ro.onSuccess = on_published;
    ro.onFailure = on_publish_fail;
    ro.context = m;
    rc = MQTTAsync_send(m->client, topic, (int)len, payload, qos, retained, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_debug("mqtt: publish on %s refused (%d)", topic, rc);
        return LB_E_MQTT;
    }
    *token = ro.token;
    return 0;
}

void mqtt_disconnect(struct mqtt *m, int timeout_ms)
{
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;

    if (m == NULL || m->client == NULL || !MQTTAsync_isConnected(m->client))
        return;
    dopt.timeout = timeout_ms;
    MQTTAsync_disconnect(m->client, &dopt);
}

void mqtt_free(struct mqtt *m)
{
    if (m == NULL)
        return;
    if (m->client != NULL)
        MQTTAsync_destroy(&m->client);
    free(m->url);
    free(m->client_id);
    free(m->agent);
    free(m->ack_topic);
    free(m->will_topic);
    free(m->will_payload);
    free(m);
}
