/*
 * The agent's MQTT link: a thin wrapper over paho's asynchronous client
 * with persistence off (the spool is the only store).  Every callback runs
 * on a paho thread and only posts a message to the loop's inbox: connected,
 * connect failed, lost, publish completed or failed (by token), and the
 * server's ack (decoded, for this agent only).  Reconnecting is the loop's
 * decision (capped back-off with jitter), not paho's.
 */
#ifndef AGENT_MQTT_H
#define AGENT_MQTT_H

#include <stddef.h>

#include "inbox.h"

struct mqtt_opts {
    const char *url;
    const char *client_id;
    const char *agent;      /* acks for other agents are ignored */
    const char *ack_topic;  /* subscribed at QoS 1 after each connect */
    const char *will_topic; /* retained last will */
    const char *will_payload;
    int keepalive_s;
    int max_inflight;
    /* TLS, used when url is ssl:// or mqtts://; NULL or "" when unset. */
    const char *ca_file;   /* NULL: the system's trust store */
    const char *cert_file; /* client certificate */
    const char *key_file;  /* its key; NULL: inside cert_file */
    int insecure;          /* do not verify the broker's certificate and name */
    const char *username;
    const char *password_file; /* read once, by mqtt_new (linebeat/secret.h) */
};

struct mqtt;

/* Creates the client; copies opts and reads the password file (a file
 * group or others may read is refused, and logged with its name).
 * Returns 0, LB_E_MQTT, LB_E_CONFIG (the password file) or -ENOMEM. */
int mqtt_new(const struct mqtt_opts *opts, struct inbox *ib, struct mqtt **out);
/* Starts a connection attempt; its outcome arrives as IN_CONNECTED or
 * IN_CONNECT_FAIL.  Returns 0 or LB_E_MQTT (then nothing will arrive). */
int mqtt_connect(struct mqtt *m);
/*
 * Publishes len bytes at qos.  OUT: *token identifies the IN_PUBACK or
 * IN_PUBFAIL that follows.  Returns 0 or LB_E_MQTT (then nothing follows).
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
                 int qos, int retained, int *token);
/* Disconnects, waiting at most timeout_ms for in-flight work. */
void mqtt_disconnect(struct mqtt *m, int timeout_ms);
void mqtt_free(struct mqtt *m);

#endif
