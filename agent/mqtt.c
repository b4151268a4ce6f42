/* paho MQTTAsync wrapper; see mqtt.h.  Callbacks copy, post and return. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTAsync.h>

#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/secret.h"
#include "linebeat/wire.h"
#include "mqtt.h"

struct mqtt {
    MQTTAsync client;
    struct inbox *ib;
    char *url, *client_id, *agent, *ack_topic, *will_topic, *will_payload;
    int keepalive_s, max_inflight;
    int tls, insecure;
    char *ca_file, *cert_file, *key_file, *username;
    char *password; /* wiped before it is freed */
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
static int on_ssl_error(const char *str, size_t len, void *ctx);
static const char *connack_text(int code);
static int dup_opt(const char *s, char **out);

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

/* MQTT 3.1.1 CONNACK return codes (section 3.2.2.3), as paho passes them
 * to the failure callback. */
static const char *connack_text(int code)
{
    switch (code) {
    case 1:
        return "refused: unacceptable protocol version";
    case 2:
        return "refused: client id rejected";
    case 3:
        return "refused: server unavailable";
    case 4:
        return "refused: bad user name or password";
    case 5:
        return "refused: not authorized";
    }
    return NULL;
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
    struct mqtt *m = ctx;
    int code = resp ? resp->code : -1;
    const char *why = connack_text(code);

    /* The one place that knows why: the loop only learns the code. */
    if (why != NULL)
        log_warnx("mqtt: %s %s%s", m->url, why,
                  code >= 4 ? " (check [mqtt] username and password_file, and the "
                              "broker's password_file and acl_file)"
                            : "");
    else if (resp != NULL && resp->message != NULL)
        log_warnx("mqtt: %s: %s", m->url, resp->message);
    post(m, IN_CONNECT_FAIL, code, 0, 0);
}

/* OpenSSL's own words for a failed handshake ("certificate verify failed"),
 * called by paho on its thread; logging is thread-safe. */
static int on_ssl_error(const char *str, size_t len, void *ctx)
{
    struct mqtt *m = ctx;

    while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
        len--;
    log_warnx("mqtt: %s: TLS: %.*s", m->url, (int)(len < 400 ? len : 400), str);
    return 0;
}

static void on_published(void *ctx, MQTTAsync_successData *resp)
{
    post(ctx, IN_PUBACK, 0, resp ? resp->token : 0, 0);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
    post(ctx, IN_PUBFAIL, resp ? resp->code : -1, resp ? resp->token : 0, 0);
}

/* Copies an optional string: NULL and "" give NULL.  Returns 0 or -ENOMEM. */
static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL || s[0] == '\0')
        return 0;
    *out = strdup(s);
    return *out != NULL ? 0 : -ENOMEM;
}

int mqtt_new(const struct mqtt_opts *o, struct inbox *ib, struct mqtt **out)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    char why[700];
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
        (m->will_payload = strdup(o->will_payload)) == NULL ||
        dup_opt(o->ca_file, &m->ca_file) != 0 ||
        dup_opt(o->cert_file, &m->cert_file) != 0 ||
        dup_opt(o->key_file, &m->key_file) != 0 ||
        dup_opt(o->username, &m->username) != 0)
        goto fail;
    m->tls = strncmp(m->url, "ssl://", 6) == 0 || strncmp(m->url, "mqtts://", 8) == 0;
    m->insecure = o->insecure;
    if (o->password_file != NULL && o->password_file[0] != '\0') {
        if ((m->password = malloc(LB_SECRET_MAX + 1)) == NULL)
            goto fail;
        if (lb_secret_read(o->password_file, m->password, LB_SECRET_MAX + 1, why,
                           sizeof(why)) != 0) {
            log_warnx("mqtt: password_file %s", why);
            rc = LB_E_CONFIG;
            goto fail;
        }
        /* The packaged ACL grants each agent its own topics by user name,
         * so the natural user name is the agent id. */
        if (m->username == NULL && (m->username = strdup(m->agent)) == NULL)
            goto fail;
        if (!m->tls)
            log_warnx("mqtt: %s is not TLS: the password travels in clear text", m->url);
    }
    if (m->tls && m->insecure)
        log_warnx("mqtt: insecure = yes: the broker's certificate and host name are "
                  "not checked; anyone in the path can pose as the broker");
    /* paho initialises OpenSSL up front unless told not to, which costs a
     * plain tcp:// agent about 3 MB of resident libcrypto pages it never
     * uses.  With TLS, OpenSSL is initialised as usual. */
    {
        MQTTAsync_init_options io = MQTTAsync_init_options_initializer;

        io.do_openssl_init = m->tls;
        MQTTAsync_global_init(&io);
    }
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
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

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
    co.username = m->username;
    co.password = m->password;
    if (m->tls) {
        /* paho copies these during MQTTAsync_connect. */
        ssl.trustStore = m->ca_file;
        ssl.keyStore = m->cert_file;
        ssl.privateKey = m->key_file;
        ssl.enableServerCertAuth = !m->insecure; /* the chain, up to ca_file */
        ssl.verify = !m->insecure;               /* the host name (or IP) in the url */
        /* DEFAULT negotiates the highest version both sides know (TLS 1.3
         * with Mosquitto 2); paho's TLS_1_2 would pin exactly 1.2.  The
         * floor is OpenSSL's (Debian: TLS 1.2). */
        ssl.sslVersion = MQTT_SSL_VERSION_DEFAULT;
        ssl.ssl_error_cb = on_ssl_error;
        ssl.ssl_error_context = m;
        co.ssl = &ssl;
    }
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
    free(m->ca_file);
    free(m->cert_file);
    free(m->key_file);
    free(m->username);
    if (m->password != NULL)
        explicit_bzero(m->password, LB_SECRET_MAX + 1);
    free(m->password);
    free(m);
}
