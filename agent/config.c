/*
 * The agent's configuration file.  Every key is declared once, in the
 * tables below, with its type, default, bounds and help; lb_conf_read does
 * the parsing and per-key checks, this file adds what a table cannot say:
 * checks across keys, defaults that depend on other keys, paths relative
 * to the file, and each machine's device profile.  Problems are collected,
 * never fatal one by one, so an operator fixes a file in one pass.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "linebeat/error.h"
#include "linebeat/log.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Must match common/conf.c's reader, which skips longer lines: see
 * scan_next, which re-reads the file to find line numbers. */
#define CONF_LINE_MAX 1024

/* Defaults that depend on other keys (see resolve_machine). */
#define IDLE_CYCLES     5
#define IDLE_DEFAULT_MS 60000
#define DOWN_DEFAULT_MS 300000

struct section_doc {
    const char *title;
    const char *text;
};

enum scan_kind { SCAN_EOF, SCAN_HEADER, SCAN_KEY };

/* A second, read-only pass over the file that mirrors conf.c's reader.
 * lb_conf_read reports no line numbers to instance() callbacks or after
 * parsing, yet cross-key problems should point at a line. */
struct scan {
    FILE *f;
    int line;
    char buf[CONF_LINE_MAX + 2];
    const char *name; /* SCAN_HEADER: section name; id "" when none */
    const char *id;
    const char *key; /* SCAN_KEY */
};

static void *single_instance(void *ctx, const char *id, char *err, size_t errlen);
static void *machine_instance(void *ctx, const char *id, char *err, size_t errlen);
static char *trim(char *s);
static enum scan_kind scan_next(struct scan *s);
static int find_line(const char *path, const char *section, const char *id,
                     const char *key);
static void machine_lines(const char *path, struct agent_conf *c);
static int key_line(const char *path, const char *section, const char *id,
                    const char *key, int fallback);
static void resolve_dir(const char *path, char *dir, size_t size, const char *key,
                        struct lb_conf_errors *err);
static void check_agent(struct agent_conf *c, struct lb_conf_errors *err);
static void check_mqtt(const struct agent_conf *c, struct lb_conf_errors *err);
static void resolve_machine(const struct agent_conf *c, struct machine_conf *m,
                            struct lb_conf_errors *err);
static void load_profiles(struct agent_conf *c, struct lb_conf_errors *err);
static void check_profile(const struct agent_conf *c, const struct machine_conf *m,
                          struct lb_conf_errors *err);
static void errors_append(struct lb_conf_errors *dst, const struct lb_conf_errors *src);
static int line_reported(const struct lb_conf_errors *err, const char *path, int line);
static void empty_string(const struct agent_conf *c, const char *section, const char *id,
                         const char *key, const char *value, struct lb_conf_errors *err);
static void md_cell(FILE *f, const char *s);
static void help_section(FILE *f, const struct lb_conf_section *s,
                         const struct section_doc *d);

/* log_level is stored as the index of its spelling: keep them in step. */
static const char *const log_levels[] = {"err", "warn", "info", "debug", NULL};
_Static_assert(LB_LOG_ERR == 0 && LB_LOG_WARN == 1 && LB_LOG_INFO == 2 &&
                   LB_LOG_DEBUG == 3,
               "log_levels[] follows LB_LOG_*");

#define AGENT_KEY(n, t, d, lo, hi, field, ch, h)                                         \
    {                                                                                    \
        n, t, d, lo, hi, offsetof(struct agent_conf, field), ch, h                       \
    }
#define MACHINE_KEY(n, t, d, lo, hi, field, h)                                           \
    {                                                                                    \
        n, t, d, lo, hi, offsetof(struct machine_conf, field), NULL, h                   \
    }

static const struct lb_conf_key agent_keys[] = {
    AGENT_KEY("id", LB_CONF_ID, NULL, 0, LB_ID_MAX, id, NULL,
              "This agent's id: the <agent> level of its MQTT topics and the "
              "\"agent\" of its events. Unique in the plant."),
    AGENT_KEY("site", LB_CONF_ID, "default", 0, LB_ID_MAX, site, NULL,
              "The plant's id: the <site> level of the MQTT topics."),
    AGENT_KEY("state_dir", LB_CONF_STR, NULL, 0, AGENT_PATH_MAX - 1, state_dir, NULL,
              "Directory of the spool and other durable state; must be writable. "
              "A relative path is taken from the config file's directory."),
    AGENT_KEY("profiles_dir", LB_CONF_STR, "/usr/share/linebeat/profiles", 0,
              AGENT_PATH_MAX - 1, profiles_dir, NULL,
              "Directory of device profiles (NAME.ini). A relative path is taken "
              "from the config file's directory."),
    AGENT_KEY("log_level", LB_CONF_ENUM, "info", 0, 0, log_level, log_levels,
              "Most verbose level written to the log."),
};

static const struct lb_conf_key mqtt_keys[] = {
    AGENT_KEY("url", LB_CONF_STR, "tcp://127.0.0.1:1883", 0, 255, url, NULL,
              "Broker address: tcp:// or mqtt:// for plain MQTT, ssl:// or mqtts:// "
              "for TLS, then host:port."),
    AGENT_KEY("prefix", LB_CONF_STR, "linebeat/v1", 0, 127, prefix, NULL,
              "Topic prefix, before <site>/<agent>/. No '+' or '#', no leading or "
              "trailing '/', no empty level. Must match the server's."),
    AGENT_KEY("client_id", LB_CONF_STR, "", 0, 127, client_id, NULL,
              "MQTT client id; empty gives linebeat-agent-<id>."),
    AGENT_KEY("keepalive_s", LB_CONF_INT, "30", 1, 3600, keepalive_s, NULL,
              "MQTT keep-alive interval, seconds."),
    AGENT_KEY("inflight", LB_CONF_INT, "10", 1, 1000, inflight, NULL,
              "Events messages published and awaiting PUBACK at once."),
    AGENT_KEY("batch_events", LB_CONF_INT, "500", 1, LB_WIRE_MAX_EVENTS, batch_events,
              NULL, "Most events in one events message."),
    AGENT_KEY("ack_timeout_ms", LB_CONF_INT, "10000", 1000, 3600000, ack_timeout_ms, NULL,
              "When the server's ack stops advancing this long while events are "
              "unconfirmed, send again from the first unconfirmed event."),
    AGENT_KEY("reconnect_min_ms", LB_CONF_INT, "500", 100, 60000, reconnect_min_ms, NULL,
              "First delay before reconnecting to the broker; it doubles on each "
              "failure."),
    AGENT_KEY("reconnect_max_ms", LB_CONF_INT, "30000", 1000, 3600000, reconnect_max_ms,
              NULL, "Cap of the reconnect delay; at least reconnect_min_ms."),
};

static const struct lb_conf_key spool_keys[] = {
    AGENT_KEY("commit_ms", LB_CONF_INT, "2000", 0, 60000, commit_ms, NULL,
              "Group commit period: events wait at most this long before they are "
              "written to disk (and then published). 0 commits every event, "
              "wearing an SD card fast."),
    AGENT_KEY("commit_events", LB_CONF_INT, "200", 1, 100000, commit_events, NULL,
              "Commit earlier once this many events are waiting."),
    AGENT_KEY("max_mb", LB_CONF_INT, "64", 1, 100000, max_mb, NULL,
              "Bound on the spool, MiB. When full, consecutive count events of a "
              "machine are merged: totals are kept, time resolution is lost."),
};

static const struct lb_conf_key machine_keys[] = {
    {"profile", LB_CONF_ID, NULL, 0, LB_PROFILE_MAX,
     offsetof(struct machine_conf, profile), NULL,
     "Device profile: the register map, read from profiles_dir/NAME.ini."},
    MACHINE_KEY("host", LB_CONF_STR, NULL, 0, 255, host,
                "Modbus TCP address of the machine or its gateway (name or IP)."),
    MACHINE_KEY("port", LB_CONF_INT, "502", 1, 65535, port, "Modbus TCP port."),
    MACHINE_KEY("unit", LB_CONF_INT, "1", 0, 247, unit,
                "Modbus unit (slave) id; gateways use it to pick the device."),
    MACHINE_KEY("interval_ms", LB_CONF_INT, "1000", 50, 3600000, interval_ms,
                "Poll period."),
    MACHINE_KEY("timeout_ms", LB_CONF_INT, "1000", 10, 60000, timeout_ms,
                "Modbus response timeout."),
    MACHINE_KEY("ideal_cycle_ms", LB_CONF_INT, "0", 0, 86400000, ideal_cycle_ms,
                "Ideal cycle time of one part. 0: unknown; then rate-based states "
                "use the defaults below and counter wraps are judged by the "
                "counter's width only."),
    {"close_after_poll", LB_CONF_BOOL, "no", 0, 0,
     offsetof(struct machine_conf, close_after_poll), NULL,
     "Close the connection after each poll, for devices that accept only one "
     "client or drop idle ones."},
    MACHINE_KEY("offline_after", LB_CONF_INT, "3", 1, 1000, offline_after,
                "Failed polls in a row before the machine is reported offline."),
    MACHINE_KEY("idle_after_ms", LB_CONF_INT, "0", 0, 86400000, idle_after_ms,
                "Without a state register: idle when no part came for this long. "
                "0: 5 x ideal_cycle_ms, or 60000 when that is unknown."),
    MACHINE_KEY("down_after_ms", LB_CONF_INT, "0", 0, 86400000, down_after_ms,
                "Without a state register: down when no part came for this long. "
                "0: 300000. Must be greater than idle_after_ms."),
};

/* Order matters only for agent_conf_print and agent_conf_help. */
static const struct lb_conf_section sections[] = {
    {"agent", 0, agent_keys, NELEM(agent_keys), single_instance, NULL},
    {"mqtt", 0, mqtt_keys, NELEM(mqtt_keys), single_instance, NULL},
    {"spool", 0, spool_keys, NELEM(spool_keys), single_instance, NULL},
    {"machine", 1, machine_keys, NELEM(machine_keys), machine_instance, NULL},
};

static const struct section_doc section_docs[NELEM(sections)] = {
    {"[agent]", "Who this agent is and where it keeps its files. Required."},
    {"[mqtt]", "The broker connection and the publishing window. Optional."},
    {"[spool]", "The on-disk store of events not yet confirmed by the server. Optional."},
    {"[machine NAME]",
     "One per machine this agent reads, at most 256. NAME is the machine's id "
     "on the wire (\"dev\"): letters, digits, _ . - and unique in the plant."},
};

/* The three single sections are all views of struct agent_conf itself. */
static void *single_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id;
    (void)err;
    (void)errlen;
    return ctx;
}

static void *machine_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    struct agent_conf *c = ctx;
    struct machine_conf *m;

    if (c->nmachines == AGENT_MAX_MACHINES) {
        snprintf(err, errlen, "too many machines (at most %d)", AGENT_MAX_MACHINES);
        return NULL;
    }
    m = &c->machines[c->nmachines++];
    memset(m, 0, sizeof(*m));
    /* The reader checked id with lb_id_valid, so it fits. */
    snprintf(m->id, sizeof(m->id), "%s", id);
    return m;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/*
 * Returns the next section header or key line.  Counts lines as conf.c's
 * reader does (one per physical line, over-long ones skipped) and splits
 * keys where inih does (at the first '=' or ':').
 */
static enum scan_kind scan_next(struct scan *s)
{
    while (fgets(s->buf, sizeof(s->buf), s->f) != NULL) {
        size_t len = strlen(s->buf);
        char *p, *close, *sep;

        s->line++;
        if (len > 0 && s->buf[len - 1] != '\n' && !feof(s->f)) {
            int ch;

            while ((ch = fgetc(s->f)) != EOF && ch != '\n')
                ;
            continue;
        }
        p = trim(s->buf);
        if (*p == '\0' || *p == ';' || *p == '#')
            continue;
        if (*p == '[') {
            close = strchr(p, ']');
            if (close == NULL || *trim(close + 1) != '\0')
                continue;
            *close = '\0';
            p = trim(p + 1);
            sep = strpbrk(p, " \t");
            s->id = "";
            if (sep != NULL) {
                *sep = '\0';
                s->id = trim(sep + 1);
            }
            s->name = p;
            return SCAN_HEADER;
        }
        sep = strpbrk(p, "=:");
        if (sep == NULL || strchr(p, '=') == NULL)
            continue;
        *sep = '\0';
        s->key = trim(p);
        return SCAN_KEY;
    }
    return SCAN_EOF;
}

/*
 * The line of section [section id] (key NULL) or of key inside it, or 0.
 * Only the first occurrence of a section counts: the reader rejects any
 * repeat, so that is the one whose values were taken.
 */
static int find_line(const char *path, const char *section, const char *id,
                     const char *key)
{
    struct scan *s;
    enum scan_kind k;
    int inside = 0, seen = 0, line = 0;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return 0;
    s->f = fopen(path, "r");
    if (s->f == NULL)
        goto out;
    while ((k = scan_next(s)) != SCAN_EOF) {
        if (k == SCAN_HEADER) {
            if (inside)
                break;
            inside = !seen && strcmp(s->name, section) == 0 &&
                     strcmp(s->id, id != NULL ? id : "") == 0;
            seen |= inside;
            if (inside && key == NULL) {
                line = s->line;
                break;
            }
        } else if (inside && strcmp(s->key, key) == 0) {
            line = s->line;
            break;
        }
    }
    fclose(s->f);
out:
    free(s);
    return line;
}

/* Fills each machine's line in one pass (find_line per machine would read
 * the file once per machine). */
static void machine_lines(const char *path, struct agent_conf *c)
{
    struct scan *s;
    enum scan_kind k;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return;
    s->f = fopen(path, "r");
    if (s->f == NULL)
        goto out;
    while ((k = scan_next(s)) != SCAN_EOF) {
        if (k != SCAN_HEADER || strcmp(s->name, "machine") != 0)
            continue;
        for (size_t i = 0; i < c->nmachines; i++) {
            if (c->machines[i].line == 0 && strcmp(c->machines[i].id, s->id) == 0) {
                c->machines[i].line = s->line;
                break;
            }
        }
    }
    fclose(s->f);
out:
    free(s);
}

/* The line of key in a section, else fallback (a section line, or 0). */
static int key_line(const char *path, const char *section, const char *id,
                    const char *key, int fallback)
{
    int line = find_line(path, section, id, key);

    return line > 0 ? line : fallback;
}

/*
 * Makes a relative directory absolute, taken from the config file's
 * directory.  Absolute rather than merely re-based: the daemon may change
 * its working directory, and `--check -v` then shows what will really be
 * used.  No normalisation ("..", symlinks): the directory may not exist yet.
 */
static void resolve_dir(const char *path, char *dir, size_t size, const char *key,
                        struct lb_conf_errors *err)
{
    char cwd[AGENT_PATH_MAX];
    char *out = NULL;
    const char *slash;
    size_t baselen;
    int n;

    if (dir[0] == '/' || dir[0] == '\0')
        return;
    slash = strrchr(path, '/');
    baselen = slash != NULL ? (size_t)(slash - path) : 0;
    out = malloc(size);
    if (out == NULL) {
        lb_conf_error(err, path, 0, key, "out of memory");
        return;
    }
    if (path[0] == '/') {
        n = snprintf(out, size, "%.*s/%s", (int)baselen, path, dir);
    } else {
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            lb_conf_error(err, path, key_line(path, "agent", NULL, key, 0), key,
                          "cannot resolve '%s': working directory: %s", dir,
                          strerror(errno));
            goto out;
        }
        if (baselen > 0)
            n = snprintf(out, size, "%s/%.*s/%s", cwd, (int)baselen, path, dir);
        else
            n = snprintf(out, size, "%s/%s", cwd, dir);
    }
    if (n < 0 || (size_t)n >= size) {
        lb_conf_error(err, path, key_line(path, "agent", NULL, key, 0), key,
                      "longer than %zu characters once made absolute", size - 1);
        goto out;
    }
    memcpy(dir, out, (size_t)n + 1);
out:
    free(out);
}

/*
 * Says so when a string key that needs a value was written with none
 * ("host =").  An absent required key has been reported by the reader, and
 * so has a line it rejected (too long, say): neither gets a second message.
 */
static void empty_string(const struct agent_conf *c, const char *section, const char *id,
                         const char *key, const char *value, struct lb_conf_errors *err)
{
    int line;

    if (value[0] != '\0')
        return;
    line = find_line(c->path, section, id, key);
    if (line > 0 && !line_reported(err, c->path, line))
        lb_conf_error(err, c->path, line, key, "must not be empty");
}

/* 1 when err already holds a message for path:line. */
static int line_reported(const struct lb_conf_errors *err, const char *path, int line)
{
    char prefix[AGENT_PATH_MAX + 32];
    const char *p = err->text, *end = err->text + err->len;
    size_t n;

    snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
    n = strlen(prefix);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if ((size_t)(end - p) >= n && strncmp(p, prefix, n) == 0)
            return 1;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return 0;
}

static void check_agent(struct agent_conf *c, struct lb_conf_errors *err)
{
    empty_string(c, "agent", NULL, "state_dir", c->state_dir, err);
    empty_string(c, "agent", NULL, "profiles_dir", c->profiles_dir, err);
    resolve_dir(c->path, c->state_dir, sizeof(c->state_dir), "state_dir", err);
    resolve_dir(c->path, c->profiles_dir, sizeof(c->profiles_dir), "profiles_dir", err);
}

static void check_mqtt(const struct agent_conf *c, struct lb_conf_errors *err)
{
    static const char *const schemes[] = {"tcp://", "ssl://", "mqtt://", "mqtts://"};
    const char *p = c->prefix;
    size_t len = strlen(p);
    int ok = 0;

    for (size_t i = 0; i < NELEM(schemes); i++) {
        size_t n = strlen(schemes[i]);

        if (strncmp(c->url, schemes[i], n) == 0) {
            ok = c->url[n] != '\0' ? 1 : -1;
            break;
        }
    }
    if (ok == 0)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "url", 0), "url",
                      "'%s' must start with tcp://, ssl://, mqtt:// or mqtts://", c->url);
    else if (ok < 0)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "url", 0), "url",
                      "'%s' has no host", c->url);

    /* The prefix is published under, and the server subscribes with
     * wildcards after it: wildcards inside it or empty levels would make
     * topics that do not round-trip. */
    if (len == 0)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "prefix", 0),
                      "prefix", "must not be empty");
    else if (strpbrk(p, "+#") != NULL)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "prefix", 0),
                      "prefix", "'%s' must not contain '+' or '#'", p);
    else if (p[0] == '/' || p[len - 1] == '/')
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "prefix", 0),
                      "prefix", "'%s' must not start or end with '/'", p);
    else if (strstr(p, "//") != NULL)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "prefix", 0),
                      "prefix", "'%s' has an empty level ('//')", p);

    if (c->reconnect_max_ms < c->reconnect_min_ms)
        lb_conf_error(err, c->path,
                      key_line(c->path, "mqtt", NULL, "reconnect_max_ms",
                               find_line(c->path, "mqtt", NULL, "reconnect_min_ms")),
                      "reconnect_max_ms",
                      "%" PRId64 " is less than reconnect_min_ms (%" PRId64 ")",
                      c->reconnect_max_ms, c->reconnect_min_ms);
}

/* Resolves the defaults that depend on ideal_cycle_ms and stores them, so
 * the rest of the agent (and --check -v) sees the values in force. */
static void resolve_machine(const struct agent_conf *c, struct machine_conf *m,
                            struct lb_conf_errors *err)
{
    int idle_default = m->idle_after_ms == 0;
    int down_default = m->down_after_ms == 0;

    empty_string(c, "machine", m->id, "host", m->host, err);
    if (idle_default)
        m->idle_after_ms =
            m->ideal_cycle_ms > 0 ? IDLE_CYCLES * m->ideal_cycle_ms : IDLE_DEFAULT_MS;
    if (down_default)
        m->down_after_ms = DOWN_DEFAULT_MS;
    if (m->down_after_ms <= m->idle_after_ms)
        lb_conf_error(
            err, c->path,
            key_line(c->path, "machine", m->id, "down_after_ms",
                     key_line(c->path, "machine", m->id, "idle_after_ms", m->line)),
            "down_after_ms",
            "%" PRId64 "%s must be greater than idle_after_ms (%" PRId64 "%s)",
            m->down_after_ms, down_default ? " (the default)" : "", m->idle_after_ms,
            !idle_default           ? ""
            : m->ideal_cycle_ms > 0 ? ", 5 x ideal_cycle_ms"
                                    : ", the default");
}

static void errors_append(struct lb_conf_errors *dst, const struct lb_conf_errors *src)
{
    size_t room, n;

    dst->count += src->count;
    if (dst->len >= sizeof(dst->text) - 1)
        return;
    room = sizeof(dst->text) - 1 - dst->len;
    n = src->len < room ? src->len : room;
    memcpy(dst->text + dst->len, src->text, n);
    dst->len += n;
    dst->text[dst->len] = '\0';
}

/*
 * A machine is polled for parts: its profile must give good or total (the
 * agent derives good as total - scrap).  devices/profile.c checks this and
 * the counter types too; the check stays here because it is the agent's
 * contract, whatever the loader accepts.
 */
static void check_profile(const struct agent_conf *c, const struct machine_conf *m,
                          struct lb_conf_errors *err)
{
    if (!m->prof.values[LB_ROLE_GOOD].present && !m->prof.values[LB_ROLE_TOTAL].present)
        lb_conf_error(err, c->path, m->line, "profile",
                      "profile '%s' has no good or total counter", m->profile);
}

/*
 * Loads each machine's profile.  Machines sharing a profile share one load,
 * so a broken profile file is reported once, not once per machine; a
 * missing one is reported at every machine that names it.
 */
static void load_profiles(struct agent_conf *c, struct lb_conf_errors *err)
{
    struct lb_conf_errors *perr = NULL;
    int *rcs = NULL;

    perr = malloc(sizeof(*perr));
    rcs = calloc(AGENT_MAX_MACHINES, sizeof(*rcs));
    if (perr == NULL || rcs == NULL) {
        lb_conf_error(err, c->path, 0, "profile", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->nmachines; i++) {
        struct machine_conf *m = &c->machines[i];
        size_t j;

        if (m->profile[0] == '\0') /* required: already reported */
            continue;
        for (j = 0; j < i; j++)
            if (strcmp(c->machines[j].profile, m->profile) == 0)
                break;
        if (j < i) {
            rcs[i] = rcs[j];
            m->prof = c->machines[j].prof;
        } else {
            memset(perr, 0, sizeof(*perr));
            rcs[i] = lb_profile_find(c->profiles_dir, m->profile, &m->prof, perr);
            /* A missing file gets our message at the machine's line, not
             * the loader's "cannot open" about a path the user never wrote. */
            if (rcs[i] != 0 && rcs[i] != -ENOENT) {
                errors_append(err, perr);
                if (perr->count == 0)
                    lb_conf_error(err, c->path, m->line, "profile",
                                  "cannot load profile '%s': %s", m->profile,
                                  lb_strerror(rcs[i]));
            }
        }
        if (rcs[i] == -ENOENT)
            lb_conf_error(err, c->path, m->line, "profile", "no profile '%s' in %s",
                          m->profile, c->profiles_dir);
        else if (rcs[i] == 0)
            check_profile(c, m, err);
    }
out:
    free(rcs);
    free(perr);
}

int agent_conf_load(const char *path, struct agent_conf *c, struct lb_conf_errors *err)
{
    int start = err->count;
    int rc;

    /* c comes zeroed (calloc): clearing it again would touch every page of
     * the machine table, megabytes of resident memory on a small board. */
    c->nmachines = 0;
    if (strlen(path) >= sizeof(c->path)) {
        lb_conf_error(err, path, 0, "file", "path longer than %zu characters",
                      sizeof(c->path) - 1);
        return LB_E_CONFIG;
    }
    memcpy(c->path, path, strlen(path) + 1);
    rc = lb_conf_read(path, sections, NELEM(sections), c, err);
    if (rc != 0 && rc != LB_E_CONFIG)
        return rc;
    machine_lines(path, c);
    check_agent(c, err);
    check_mqtt(c, err);
    for (size_t i = 0; i < c->nmachines; i++)
        resolve_machine(c, &c->machines[i], err);
    load_profiles(c, err);
    return err->count > start ? LB_E_CONFIG : 0;
}

void agent_conf_print(const struct agent_conf *c, FILE *f)
{
    for (size_t i = 0; i < NELEM(sections); i++) {
        const struct lb_conf_section *s = &sections[i];

        if (s->multi)
            continue;
        fprintf(f, "%s[%s]\n", i ? "\n" : "", s->name);
        lb_conf_print(s->keys, s->nkeys, c, f);
    }
    for (size_t i = 0; i < c->nmachines; i++) {
        fprintf(f, "\n[machine %s]\n", c->machines[i].id);
        lb_conf_print(machine_keys, NELEM(machine_keys), &c->machines[i], f);
    }
}

/* Table cells must not break the row (the column separator) nor turn into
 * HTML ("<agent>" is a placeholder, not a tag). */
static void md_cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

static void help_section(FILE *f, const struct lb_conf_section *s,
                         const struct section_doc *d)
{
    static const char *const type_names[] = {
        [LB_CONF_STR] = "string", [LB_CONF_ID] = "id",     [LB_CONF_INT] = "integer",
        [LB_CONF_BOOL] = "bool",  [LB_CONF_ENUM] = "enum",
    };

    fprintf(f, "\n## %s\n\n%s\n\n", d->title, d->text);
    fprintf(f, "| key | type | default | range | description |\n");
    fprintf(f, "|-----|------|---------|-------|-------------|\n");
    for (size_t i = 0; i < s->nkeys; i++) {
        const struct lb_conf_key *k = &s->keys[i];

        fprintf(f, "| `%s` | %s | ", k->name, type_names[k->type]);
        if (k->def == NULL)
            fprintf(f, "*required*");
        else if (k->def[0] == '\0')
            fprintf(f, "empty");
        else
            fprintf(f, "`%s`", k->def);
        fprintf(f, " | ");
        switch (k->type) {
        case LB_CONF_STR:
            fprintf(f, "up to %" PRId64 " characters", k->max);
            break;
        case LB_CONF_ID:
            fprintf(f, "1 to %" PRId64 " of `A-Z a-z 0-9 _ . -`", k->max);
            break;
        case LB_CONF_INT:
            fprintf(f, "%" PRId64 " to %" PRId64, k->min, k->max);
            break;
        case LB_CONF_BOOL:
            fprintf(f, "`yes` or `no`");
            break;
        case LB_CONF_ENUM:
            for (size_t j = 0; k->choices[j] != NULL; j++)
                fprintf(f, "%s`%s`", j ? ", " : "", k->choices[j]);
            break;
        }
        fprintf(f, " | ");
        md_cell(f, k->help);
        fprintf(f, " |\n");
    }
}

void agent_conf_help(FILE *f)
{
    fprintf(f, "# linebeat-agent configuration\n\n"
               "<!-- Generated by `linebeat-agent --help-config` from the tables in\n"
               "     agent/config.c; edit those, not this file. -->\n\n"
               "One INI file, given with `linebeat-agent -c FILE`. Lines are\n"
               "`key = value`, at most 198 characters (the INI reader's limit);\n"
               "lines starting with `;` or `#` are comments. Unknown sections and\n"
               "keys, keys set twice, repeated sections and values out of range are\n"
               "errors, all reported at once as `file:line: key: problem`.\n"
               "`linebeat-agent --check FILE -v` prints the configuration as it\n"
               "will be used, defaults and derived values (resolved paths,\n"
               "idle and down times) included.\n\n"
               "Integers are decimal. Booleans are `yes`/`no`, `true`/`false`,\n"
               "`on`/`off` or `1`/`0`. Ids are 1 to 64 letters, digits, `_`, `.`\n"
               "or `-`.\n");
    for (size_t i = 0; i < NELEM(sections); i++)
        help_section(f, &sections[i], &section_docs[i]);
    fprintf(f, "\n## Example\n\n"
               "```ini\n"
               "[agent]\n"
               "id = cell-3\n"
               "site = plant-1\n"
               "state_dir = /var/lib/linebeat\n"
               "\n"
               "[mqtt]\n"
               "url = mqtts://broker.plant-1.example:8883\n"
               "\n"
               "[machine press-3]\n"
               "profile = sim\n"
               "host = 192.168.10.31\n"
               "ideal_cycle_ms = 2400\n"
               "```\n");
}
