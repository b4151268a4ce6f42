/*
 * linebeat-server's configuration: the [server] and [mqtt] sections of its
 * INI file, each key declared once in a table (config.c) and read through
 * lb_conf_read.  Loading fills a fresh struct and validates it as a whole,
 * so a caller can keep its old configuration when a reload fails.
 */
#ifndef LB_SERVER_CONFIG_H
#define LB_SERVER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "linebeat/conf.h"

#define CONF_PATH_MAX   4095
#define CONF_URL_MAX    255
#define CONF_PREFIX_MAX 127
#define CONF_BIND_MAX   63
#define CONF_SECRET_MAX 128

struct srv_conf {
    struct {
        char db[CONF_PATH_MAX + 1];
        char http_bind[CONF_BIND_MAX + 1];
        int64_t http_port;
        int64_t http_threads;
        int log_level; /* LB_LOG_* */
        /* The web's security (web.h, docs/web.md). */
        char tls_cert[CONF_PATH_MAX + 1]; /* PEM; "" serves plain HTTP */
        char tls_key[CONF_PATH_MAX + 1];
        int trust_proxy; /* believe X-Forwarded-Proto and X-Forwarded-For */
        int64_t session_idle_min;
        int64_t session_max_h;
        char metrics_token[CONF_SECRET_MAX + 1]; /* "" : /metrics needs a login */
    } server;
    struct {
        char url[CONF_URL_MAX + 1];
        char prefix[CONF_PREFIX_MAX + 1];
        char client_id[64 + 1];
        char shared_group[64 + 1]; /* "" : a plain subscription */
        /* TLS (ssl:// or mqtts://) and credentials; "" when unset.  The
         * password is read from password_file by ingest_start. */
        char ca_file[CONF_PATH_MAX + 1];
        char cert_file[CONF_PATH_MAX + 1];
        char key_file[CONF_PATH_MAX + 1];
        int insecure; /* do not verify the broker's certificate and name */
        char username[128];
        char password_file[CONF_PATH_MAX + 1];
    } mqtt;
    /* The plant's clock and the KPI engine's thresholds (docs/kpi.md). */
    struct {
        char timezone[64]; /* IANA name; "" in the file: $TZ, else UTC */
        char day_start[8]; /* "HH:MM" */
        int day_start_min; /* the same, minutes after local midnight */
        int64_t micro_stop_s;
        int64_t data_timeout_s;
    } plant;
};

/*
 * Reads and validates path into OUT: conf (overwritten, defaults first).
 * Every problem goes into err as "file:line: key: problem".  Returns 0,
 * LB_E_CONFIG when err holds problems, or -errno when the file cannot be
 * read (also described in err).
 */
int config_load(const char *path, struct srv_conf *conf, struct lb_conf_errors *err);

/* Prints the effective configuration, one "key = value" a line, by section. */
void config_print(const struct srv_conf *conf, FILE *out);

/* Prints every key with its default and help text (for --help). */
void config_help(FILE *out);

#endif
