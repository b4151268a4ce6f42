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

struct srv_conf {
    struct {
        char db[CONF_PATH_MAX + 1];
        char http_bind[CONF_BIND_MAX + 1];
        int64_t http_port;
        int64_t http_threads;
        int log_level; /* LB_LOG_* */
    } server;
    struct {
        char url[CONF_URL_MAX + 1];
        char prefix[CONF_PREFIX_MAX + 1];
        char client_id[64 + 1];
    } mqtt;
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
