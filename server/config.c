/*
 * The server's option tables.  Each key appears once, with type, default,
 * bounds and help; cross-key checks (an address that must parse, a topic
 * prefix without wildcards) follow the table read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "linebeat/error.h"
#include "linebeat/secret.h"
#include "tz.h"

static void *server_instance(void *ctx, const char *id, char *err, size_t errlen);
static void *mqtt_instance(void *ctx, const char *id, char *err, size_t errlen);
static void *plant_instance(void *ctx, const char *id, char *err, size_t errlen);
static void plant_check(const char *path, struct srv_conf *conf,
                        struct lb_conf_errors *err);
static int prefix_valid(const char *p);
static int url_valid(const char *u);
static void check_tls(const char *path, const struct srv_conf *conf,
                      struct lb_conf_errors *err);

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
    {"tls_cert", LB_CONF_STR, "", 0, CONF_PATH_MAX, SRV(tls_cert), NULL,
     "PEM certificate (chain) file: serve HTTPS directly; empty serves HTTP"},
    {"tls_key", LB_CONF_STR, "", 0, CONF_PATH_MAX, SRV(tls_key), NULL,
     "PEM private key file of tls_cert (keep it readable by the server only)"},
    {"trust_proxy", LB_CONF_BOOL, "no", 0, 0, SRV(trust_proxy), NULL,
     "behind a reverse proxy: trust its X-Forwarded-Proto and X-Forwarded-For "
     "(only when http_bind is reachable by the proxy alone)"},
    {"session_idle_min", LB_CONF_INT, "480", 5, 10080, SRV(session_idle_min), NULL,
     "minutes without a request after which a login session ends"},
    {"session_max_h", LB_CONF_INT, "168", 1, 8760, SRV(session_max_h), NULL,
     "hours after login at which a session ends, however active"},
    {"metrics_token", LB_CONF_STR, "", 0, CONF_SECRET_MAX, SRV(metrics_token), NULL,
     "bearer token that lets a scraper read /metrics without a login; empty: "
     "/metrics needs a logged-in user"},
};

static const struct lb_conf_key mqtt_keys[] = {
    {"url", LB_CONF_STR, "tcp://127.0.0.1:1883", 0, CONF_URL_MAX, MQ(url), NULL,
     "broker address, tcp://host:port"},
    {"prefix", LB_CONF_STR, "linebeat/v1", 0, CONF_PREFIX_MAX, MQ(prefix), NULL,
     "topic prefix shared with the agents"},
    {"client_id", LB_CONF_ID, "linebeat-server", 0, 64, MQ(client_id), NULL,
     "MQTT client id; fixed, so the broker keeps our session and queues QoS 1 "
     "messages while the server restarts"},
    {"shared_group", LB_CONF_STR, "", 0, 64, MQ(shared_group), NULL,
     "MQTT shared-subscription group: several collectors with the same group (and "
     "distinct client_id) share the messages; empty: a plain subscription"},
    {"ca_file", LB_CONF_STR, "", 0, CONF_PATH_MAX, MQ(ca_file), NULL,
     "TLS (ssl:// or mqtts:// url): PEM file of the authorities that sign the "
     "broker's certificate; empty: the system's trust store"},
    {"cert_file", LB_CONF_STR, "", 0, CONF_PATH_MAX, MQ(cert_file), NULL,
     "TLS client certificate (PEM), for a broker that requires one"},
    {"key_file", LB_CONF_STR, "", 0, CONF_PATH_MAX, MQ(key_file), NULL,
     "private key (PEM) of cert_file; empty: cert_file holds it"},
    {"insecure", LB_CONF_BOOL, "no", 0, 0, MQ(insecure), NULL,
     "yes: do not check the broker's certificate and host name (tests only)"},
    {"username", LB_CONF_STR, "", 0, 127, MQ(username), NULL,
     "MQTT user name; empty: none"},
    {"password_file", LB_CONF_STR, "", 0, CONF_PATH_MAX, MQ(password_file), NULL,
     "file whose only line is the MQTT password; must not be accessible by group "
     "or others (chmod 600), else the server refuses to start"},
};

#define PL(f) offsetof(struct srv_conf, plant.f) - offsetof(struct srv_conf, plant)

static const struct lb_conf_key plant_keys[] = {
    {"timezone", LB_CONF_STR, "", 0, 63, PL(timezone), NULL,
     "IANA time zone of the plant (Europe/Berlin); empty: $TZ when set, else UTC"},
    {"day_start", LB_CONF_STR, "06:00", 0, 7, PL(day_start), NULL,
     "local time at which a production day starts, HH:MM"},
    {"micro_stop_s", LB_CONF_INT, "120", 0, 86400, PL(micro_stop_s), NULL,
     "stops shorter than this many seconds are micro-stops: performance loss"},
    {"data_timeout_s", LB_CONF_INT, "180", 30, 86400, PL(data_timeout_s), NULL,
     "a machine silent for longer (agents repeat its state every 60 s) is unknown "
     "time"},
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const struct lb_conf_section sections[] = {
    {"server", 0, server_keys, NKEYS(server_keys), server_instance, NULL},
    {"mqtt", 0, mqtt_keys, NKEYS(mqtt_keys), mqtt_instance, NULL},
    {"plant", 0, plant_keys, NKEYS(plant_keys), plant_instance, NULL},
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

static void *plant_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    struct srv_conf *c = ctx;

    (void)id;
    (void)err;
    (void)errlen;
    return &c->plant;
}

/* The zone must load here, so a typo fails --check instead of the start;
 * an empty one becomes $TZ (without glibc's leading ':') or UTC. */
static void plant_check(const char *path, struct srv_conf *conf,
                        struct lb_conf_errors *err)
{
    const char *env = getenv("TZ");
    struct tz *tz = NULL;
    int rc;

    if (conf->plant.timezone[0] == '\0') {
        if (env != NULL && env[0] == ':')
            env++;
        snprintf(conf->plant.timezone, sizeof(conf->plant.timezone), "%s",
                 env != NULL && env[0] != '\0' && tz_load(NULL, env, &tz) == 0 ? env
                                                                               : "UTC");
        tz_free(tz);
        tz = NULL;
    }
    if ((rc = tz_load(NULL, conf->plant.timezone, &tz)) != 0)
        lb_conf_error(err, path, 0, "timezone", "%s: %s", conf->plant.timezone,
                      rc == -ENOENT ? "no such zone in /usr/share/zoneinfo"
                                    : lb_strerror(rc));
    tz_free(tz);
    if (tz_parse_hhmm(conf->plant.day_start, &conf->plant.day_start_min) != 0 ||
        conf->plant.day_start_min >= 24 * 60)
        lb_conf_error(err, path, 0, "day_start", "expected HH:MM (00:00 to 23:59)");
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

/*
 * TLS files need a TLS url: set with tcp:// they would be silently unused
 * by someone who believes the link is encrypted.  The password file must
 * be private (linebeat/secret.h); --check reports it before a start fails.
 */
static void check_tls(const char *path, const struct srv_conf *conf,
                      struct lb_conf_errors *err)
{
    const char *u = conf->mqtt.url;
    int tls = strncmp(u, "ssl://", 6) == 0 || strncmp(u, "mqtts://", 8) == 0 ||
              strncmp(u, "wss://", 6) == 0;
    const struct {
        const char *key, *file;
    } files[] = {{"ca_file", conf->mqtt.ca_file},
                 {"cert_file", conf->mqtt.cert_file},
                 {"key_file", conf->mqtt.key_file}};
    char why[CONF_PATH_MAX + 128];
    size_t i;

    for (i = 0; i < NKEYS(files); i++) {
        if (files[i].file[0] == '\0')
            continue;
        if (!tls)
            lb_conf_error(err, path, 0, files[i].key,
                          "set, but url %s is not TLS (ssl:// or mqtts://)", u);
        else if (access(files[i].file, R_OK) != 0)
            lb_conf_error(err, path, 0, files[i].key, "%s: %s", files[i].file,
                          strerror(errno));
    }
    if (conf->mqtt.insecure && !tls)
        lb_conf_error(err, path, 0, "insecure",
                      "set, but url %s is not TLS (ssl:// or mqtts://)", u);
    if (conf->mqtt.key_file[0] != '\0' && conf->mqtt.cert_file[0] == '\0')
        lb_conf_error(err, path, 0, "key_file", "needs cert_file");
    if (conf->mqtt.password_file[0] != '\0' &&
        lb_secret_check(conf->mqtt.password_file, why, sizeof(why)) != 0)
        lb_conf_error(err, path, 0, "password_file", "%s", why);
    if (conf->mqtt.password_file[0] != '\0' && conf->mqtt.username[0] == '\0')
        lb_conf_error(err, path, 0, "password_file", "needs username");
}

int config_load(const char *path, struct srv_conf *conf, struct lb_conf_errors *err)
{
    unsigned char addr[sizeof(struct in6_addr)];
    int rc;

    memset(conf, 0, sizeof(*conf));
    memset(err, 0, sizeof(*err));
    lb_conf_defaults(server_keys, NKEYS(server_keys), &conf->server);
    lb_conf_defaults(mqtt_keys, NKEYS(mqtt_keys), &conf->mqtt);
    lb_conf_defaults(plant_keys, NKEYS(plant_keys), &conf->plant);
    rc = lb_conf_read(path, sections, NKEYS(sections), conf, err);
    if (rc != 0 && rc != LB_E_CONFIG)
        return rc;

    if (inet_pton(AF_INET, conf->server.http_bind, addr) != 1 &&
        inet_pton(AF_INET6, conf->server.http_bind, addr) != 1)
        lb_conf_error(err, path, 0, "http_bind", "not an IPv4 or IPv6 address: %s",
                      conf->server.http_bind);
    if ((conf->server.tls_cert[0] == '\0') != (conf->server.tls_key[0] == '\0'))
        lb_conf_error(err, path, 0, conf->server.tls_cert[0] ? "tls_key" : "tls_cert",
                      "tls_cert and tls_key go together");
    if (conf->server.metrics_token[0] != '\0' && strlen(conf->server.metrics_token) < 16)
        lb_conf_error(err, path, 0, "metrics_token", "at least 16 characters");
    if (conf->mqtt.shared_group[0] != '\0' &&
        (strpbrk(conf->mqtt.shared_group, "/+#") != NULL))
        lb_conf_error(err, path, 0, "shared_group", "must not hold /, + or #");
    plant_check(path, conf, err);
    if (!prefix_valid(conf->mqtt.prefix))
        lb_conf_error(err, path, 0, "prefix",
                      "must be topic levels without wildcards or empty levels");
    if (!url_valid(conf->mqtt.url))
        lb_conf_error(err, path, 0, "url", "expected tcp://host:port (or ssl://, ws://)");
    check_tls(path, conf, err);
    return err->count > 0 ? LB_E_CONFIG : 0;
}

void config_print(const struct srv_conf *conf, FILE *out)
{
    fprintf(out, "[server]\n");
    lb_conf_print(server_keys, NKEYS(server_keys), &conf->server, out);
    fprintf(out, "\n[mqtt]\n");
    lb_conf_print(mqtt_keys, NKEYS(mqtt_keys), &conf->mqtt, out);
    fprintf(out, "\n[plant]\n");
    lb_conf_print(plant_keys, NKEYS(plant_keys), &conf->plant, out);
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
