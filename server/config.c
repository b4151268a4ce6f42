/*
 * The server's option tables.  Each key appears once, with type, default,
 * bounds and help; cross-key checks (an address that must parse, a topic
 * prefix without wildcards) follow the table read.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "linebeat/error.h"

static void *server_instance(void *ctx, const char *id, char *err, size_t errlen);
static void *mqtt_instance(void *ctx, const char *id, char *err, size_t errlen);
static int prefix_valid(const char *p);
static int url_valid(const char *u);

static const char *const log_levels[] = {"err", "warn", "info", "debug", NULL};

#define SRV(f) offsetof(struct srv_conf, server.f) - offsetof(struct srv_conf, server)
#define MQ(f)  offsetof(struct srv_conf, mqtt.f) - offsetof(struct srv_conf, mqtt)

static const struct lb_conf_key server_keys[] = {
    {"db", LB_CONF_STR, NULL, 0, CONF_PATH_MAX, SRV(db), NULL,
     "SQLite database file; created with its schema when missing"},
    {"http_bind", LB_CONF_STR, "127.0.0.1", 0, CONF_BIND_MAX, SRV(http_bind), NULL,
     "IPv4 or IPv6 address the web server listens on"},
    {"http_port", LB_CONF_INT, "8080", 1, 65535, SRV(http_port), NULL,
     "TCP port of the web server"},
    {"http_threads", LB_CONF_INT, "2", 1, 64, SRV(http_threads), NULL,
     "web server threads, each with its own read-only database connection"},
    {"log_level", LB_CONF_ENUM, "info", 0, 0, SRV(log_level), log_levels,
     "most verbose level logged: err, warn, info or debug"},
};

static const struct lb_conf_key mqtt_keys[] = {
    {"url", LB_CONF_STR, "tcp://127.0.0.1:1883", 0, CONF_URL_MAX, MQ(url), NULL,
     "broker address, tcp://host:port"},
    {"prefix", LB_CONF_STR, "linebeat/v1", 0, CONF_PREFIX_MAX, MQ(prefix), NULL,
     "topic prefix shared with the agents"},
    {"client_id", LB_CONF_ID, "linebeat-server", 0, 64, MQ(client_id), NULL,
     "MQTT client id; fixed, so the broker keeps our session and queues QoS 1 "
     "messages while the server restarts"},
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const struct lb_conf_section sections[] = {
    {"server", 0, server_keys, NKEYS(server_keys), server_instance, NULL},
    {"mqtt", 0, mqtt_keys, NKEYS(mqtt_keys), mqtt_instance, NULL},
};

static void *server_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    struct srv_conf *c = ctx;

    (void)id;
    (void)err;
    (void)errlen;
    return &c->server;
}

static void *mqtt_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    struct srv_conf *c = ctx;

    (void)id;
    (void)err;
    (void)errlen;
    return &c->mqtt;
}

/* A prefix is one or more topic levels: no wildcards, no empty level, so
 * "<prefix>/+/+/events" matches exactly the agents' topics. */
static int prefix_valid(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || p[0] == '/' || p[n - 1] == '/' || strstr(p, "//") != NULL)
        return 0;
    return strpbrk(p, "+#") == NULL;
}

/* The schemes paho's asynchronous client understands. */
static int url_valid(const char *u)
{
    static const char *const schemes[] = {"tcp://",   "mqtt://", "ssl://",
                                          "mqtts://", "ws://",   "wss://"};
    size_t i;

    for (i = 0; i < NKEYS(schemes); i++) {
        size_t n = strlen(schemes[i]);

        if (strncmp(u, schemes[i], n) == 0 && u[n] != '\0')
            return 1;
    }
    return 0;
}

int config_load(const char *path, struct srv_conf *conf, struct lb_conf_errors *err)
{
    unsigned char addr[sizeof(struct in6_addr)];
    int rc;

    memset(conf, 0, sizeof(*conf));
    memset(err, 0, sizeof(*err));
    lb_conf_defaults(server_keys, NKEYS(server_keys), &conf->server);
    lb_conf_defaults(mqtt_keys, NKEYS(mqtt_keys), &conf->mqtt);
    rc = lb_conf_read(path, sections, NKEYS(sections), conf, err);
    if (rc != 0 && rc != LB_E_CONFIG)
        return rc;

    if (inet_pton(AF_INET, conf->server.http_bind, addr) != 1 &&
        inet_pton(AF_INET6, conf->server.http_bind, addr) != 1)
        lb_conf_error(err, path, 0, "http_bind", "not an IPv4 or IPv6 address: %s",
                      conf->server.http_bind);
    if (!prefix_valid(conf->mqtt.prefix))
        lb_conf_error(err, path, 0, "prefix",
                      "must be topic levels without wildcards or empty levels");
    if (!url_valid(conf->mqtt.url))
        lb_conf_error(err, path, 0, "url", "expected tcp://host:port (or ssl://, ws://)");
    return err->count > 0 ? LB_E_CONFIG : 0;
}

void config_print(const struct srv_conf *conf, FILE *out)
{
    fprintf(out, "[server]\n");
    lb_conf_print(server_keys, NKEYS(server_keys), &conf->server, out);
    fprintf(out, "\n[mqtt]\n");
    lb_conf_print(mqtt_keys, NKEYS(mqtt_keys), &conf->mqtt, out);
}

void config_help(FILE *out)
{
    size_t s, k;

    for (s = 0; s < NKEYS(sections); s++) {
        fprintf(out, "  [%s]\n", sections[s].name);
        for (k = 0; k < sections[s].nkeys; k++) {
            const struct lb_conf_key *key = &sections[s].keys[k];

            fprintf(out, "    %-13s %s (%s)\n", key->name, key->help,
                    key->def ? key->def : "required");
        }
    }
}
