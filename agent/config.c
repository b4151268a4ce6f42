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
#include "linebeat/scanner.h"
#include "linebeat/secret.h"

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
static int machine_other(void *ctx, void *obj, const char *key, const char *value,
                         char *err, size_t errlen);
static void check_links(const struct agent_conf *c, struct lb_conf_errors *err);
static void apply_overrides(struct agent_conf *c, const int *rcs,
                            struct lb_conf_errors *err);
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
static void check_tls(struct agent_conf *c, struct lb_conf_errors *err);
static void resolve_machine(const struct agent_conf *c, struct machine_conf *m,
                            struct lb_conf_errors *err);
static void load_profiles(struct agent_conf *c, struct lb_conf_errors *err);
static void check_profile(const struct agent_conf *c, const struct machine_conf *m,
                          struct lb_conf_errors *err);
static void errors_append(struct lb_conf_errors *dst, const struct lb_conf_errors *src);
static int line_reported(const struct lb_conf_errors *err, const char *path, int line);
static void empty_string(const struct agent_conf *c, const char *section, const char *id,
                         const char *key, const char *value, struct lb_conf_errors *err);
static void *scanner_instance(void *ctx, const char *id, char *err, size_t errlen);
static int parse_feedback(const char *s, struct feedback_conf *fb);
static void check_scanners(struct agent_conf *c, struct lb_conf_errors *err);
static void print_feedback(FILE *f, const char *key, const struct feedback_conf *fb);
static void md_cell(FILE *f, const char *s);
static void help_section(FILE *f, const struct lb_conf_section *s,
                         const struct section_doc *d);

static const char *const link_names[] = {"tcp", "rtu", NULL};
static const char *const parity_names[] = {"N", "E", "O", NULL};

/* Keys that belong to one kind of link only. */
static const char *const tcp_only[] = {"host", "port", "close_after_poll"};
static const char *const rtu_only[] = {"device",    "baud",      "parity",
                                       "data_bits", "stop_bits", "rs485"};

/* Scanners: spellings in the order of enum lb_scanner_type, lb_layout and
 * lb_term, and the keys that belong to one type only. */
static const char *const scanner_types[] = {"evdev", "serial", NULL};
static const char *const layout_names[] = {"us", "de", NULL};
static const char *const term_names[] = {"any", "cr", "lf", "crlf", "none", NULL};
static const char *const evdev_only[] = {"layout", "grab"};
static const char *const serial_only[] = {"baud", "terminator"};
_Static_assert(LB_SCANNER_EVDEV == 0 && LB_SCANNER_SERIAL == 1 && LB_LAYOUT_US == 0 &&
                   LB_LAYOUT_DE == 1 && LB_TERM_ANY == 0 && LB_TERM_NONE == 4,
               "scanner spellings follow linebeat/scanner.h");

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
    AGENT_KEY("run_dir", LB_CONF_STR, "/run/linebeat-agent", 0, AGENT_PATH_MAX - 1,
              run_dir, NULL,
              "Where status.json (read by --status) is rewritten every 2 s: a tmpfs "
              "such as /run spares the SD card about 20 MB a day. The packaged "
              "service creates it (RuntimeDirectory). When it is missing or not "
              "writable, or empty here, status.json goes to state_dir."),
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
    AGENT_KEY("window_events", LB_CONF_INT, "20000", 1, 10000000, window_events, NULL,
              "End-to-end flow control: at most this many events (by seq) are sent "
              "beyond the server's ack. Bounds what a replay after an outage puts "
              "in the broker's and the server's queues at once, and so how long "
              "live events wait behind it."),
    AGENT_KEY("ack_timeout_ms", LB_CONF_INT, "10000", 1000, 3600000, ack_timeout_ms, NULL,
              "When the server's ack stops advancing this long while events are "
              "unconfirmed, send again from the first unconfirmed event."),
    AGENT_KEY("reconnect_min_ms", LB_CONF_INT, "500", 100, 60000, reconnect_min_ms, NULL,
              "First delay before reconnecting to the broker; it doubles on each "
              "failure."),
    AGENT_KEY("reconnect_max_ms", LB_CONF_INT, "30000", 1000, 3600000, reconnect_max_ms,
              NULL, "Cap of the reconnect delay; at least reconnect_min_ms."),
    AGENT_KEY("ca_file", LB_CONF_STR, "", 0, AGENT_PATH_MAX - 1, ca_file, NULL,
              "TLS (ssl:// or mqtts:// url): PEM file of the certificate authorities "
              "that sign the broker's certificate. Empty: the system's trust store. "
              "A relative path is taken from the config file's directory."),
    AGENT_KEY("cert_file", LB_CONF_STR, "", 0, AGENT_PATH_MAX - 1, cert_file, NULL,
              "TLS: this agent's client certificate (PEM), for a broker that "
              "requires one. Empty: none."),
    AGENT_KEY("key_file", LB_CONF_STR, "", 0, AGENT_PATH_MAX - 1, key_file, NULL,
              "TLS: the private key (PEM) of cert_file. Empty: cert_file holds it."),
    AGENT_KEY("insecure", LB_CONF_BOOL, "no", 0, 0, insecure, NULL,
              "TLS: yes skips checking the broker's certificate and host name. The "
              "link is encrypted but anyone in the path can pose as the broker: for "
              "a first test only."),
    AGENT_KEY("username", LB_CONF_STR, "", 0, 127, username, NULL,
              "MQTT user name. Empty: the agent id when password_file is set (the "
              "packaged Mosquitto ACL expects that), else no user name."),
    AGENT_KEY("password_file", LB_CONF_STR, "", 0, AGENT_PATH_MAX - 1, password_file,
              NULL,
              "File whose only line is the MQTT password. It must not be "
              "accessible by group or others (chmod 600): the agent refuses to "
              "start otherwise. Empty: no password."),
};

static const struct lb_conf_key spool_keys[] = {
    AGENT_KEY("commit_ms", LB_CONF_INT, "60000", 0, 600000, commit_ms, NULL,
              "Group commit period: events wait at most this long before they are "
              "written to disk, and only then published, so it is also the delay "
              "of live data. Each commit costs the same writes however few "
              "events it holds, on ext4 about 24 KB with the journal: 60000 sends "
              "about 40 MB a day to the card, 20000 about 100 MB "
              "(docs/benchmarks.md). A machine's counts within one "
              "commit are folded into one event. Scans and notes are committed at "
              "once. 0 commits every event."),
    AGENT_KEY("commit_events", LB_CONF_INT, "1000", 1, 100000, commit_events, NULL,
              "Commit earlier once this many events are waiting (a machine's "
              "counts between two of its states wait as one event)."),
    AGENT_KEY("max_mb", LB_CONF_INT, "256", 1, 100000, max_mb, NULL,
              "Bound on the spool, MiB: about 40 bytes an event, so 256 holds 6 "
              "million events, 3 days of 20 machines counting every second. When "
              "full, consecutive count events of a machine are merged: totals are "
              "kept, time resolution is lost."),
};

static const struct lb_conf_key machine_keys[] = {
    {"profile", LB_CONF_ID, NULL, 0, LB_PROFILE_MAX,
     offsetof(struct machine_conf, profile), NULL,
     "Device profile: the register map, read from profiles_dir/NAME.ini."},
    {"link", LB_CONF_ENUM, "tcp", 0, 0, offsetof(struct machine_conf, link), link_names,
     "How the machine is reached: tcp (Modbus TCP: host, port) or rtu (Modbus RTU "
     "on a serial line: device, baud, parity, data_bits, stop_bits, rs485)."},
    MACHINE_KEY("host", LB_CONF_STR, "", 0, 255, host,
                "tcp: address of the machine or its gateway (name or IP). Required "
                "for tcp."),
    MACHINE_KEY("port", LB_CONF_INT, "502", 1, 65535, port, "tcp: Modbus TCP port."),
    MACHINE_KEY("device", LB_CONF_STR, "", 0, 255, device,
                "rtu: the serial device, e.g. /dev/ttyUSB0 or a stable "
                "/dev/serial/by-id/ name. Required for rtu. Machines on the same "
                "device share the bus: one worker polls them in turn, and their "
                "serial settings must be equal."),
    MACHINE_KEY("baud", LB_CONF_INT, "19200", 300, 4000000, baud,
                "rtu: line speed, a standard rate (9600, 19200, 38400, 115200, ...)."),
    {"parity", LB_CONF_ENUM, "E", 0, 0, offsetof(struct machine_conf, parity),
     parity_names, "rtu: parity: N (none), E (even, the Modbus default) or O (odd)."},
    MACHINE_KEY("data_bits", LB_CONF_INT, "8", 7, 8, data_bits,
                "rtu: data bits per character (Modbus RTU uses 8)."),
    MACHINE_KEY("stop_bits", LB_CONF_INT, "1", 1, 2, stop_bits,
                "rtu: stop bits; Modbus asks for 2 when parity is N."),
    {"rs485", LB_CONF_BOOL, "no", 0, 0, offsetof(struct machine_conf, rs485), NULL,
     "rtu: switch the port to RS-485 mode, the kernel driving RTS around each "
     "frame (TIOCSRS485), for UARTs whose driver supports it. Leave it at no "
     "for adapters with automatic direction control (most USB ones)."},
    MACHINE_KEY("unit", LB_CONF_INT, "1", 0, 247, unit,
                "Modbus unit (slave) id: the device on a bus, or behind a TCP "
                "gateway; 1 to 247 for rtu."),
    MACHINE_KEY("interval_ms", LB_CONF_INT, "1000", 50, 3600000, interval_ms,
                "Poll period."),
    MACHINE_KEY("timeout_ms", LB_CONF_INT, "0", 0, 60000, timeout_ms,
                "Modbus response timeout. 0: automatic, 1000 for tcp; for rtu the "
                "time of a 256-byte frame at the line's speed plus 200 (347 at 19200 "
                "8E1). For rtu a smaller value than that is raised to it."),
    MACHINE_KEY("ideal_cycle_ms", LB_CONF_INT, "0", 0, 86400000, ideal_cycle_ms,
                "Ideal cycle time of one part. 0: unknown; then rate-based states "
                "use the defaults below and counter wraps are judged by the "
                "counter's width only."),
    {"close_after_poll", LB_CONF_BOOL, "no", 0, 0,
     offsetof(struct machine_conf, close_after_poll), NULL,
     "tcp: close the connection after each poll, for devices that accept only "
     "one client or drop idle ones."},
    MACHINE_KEY("offline_after", LB_CONF_INT, "3", 1, 1000, offline_after,
                "Failed polls in a row before the machine is reported offline."),
    MACHINE_KEY("idle_after_ms", LB_CONF_INT, "0", 0, 86400000, idle_after_ms,
                "Without a state register: idle when no part came for this long. "
                "0: 5 x ideal_cycle_ms, or 60000 when that is unknown."),
    MACHINE_KEY("down_after_ms", LB_CONF_INT, "0", 0, 86400000, down_after_ms,
                "Without a state register: down when no part came for this long. "
                "0: 300000. Must be greater than idle_after_ms."),
};

#define SCAN_PREFIX_KEY(n, r, d, h)                                                      \
    AGENT_KEY(n, LB_CONF_STR, d, 0, SCAN_PREFIX_MAX, scan.prefix[r], NULL, h)
#define SCAN_REGEX_KEY(n, r)                                                             \
    AGENT_KEY(n "_regex", LB_CONF_STR, "", 0, SCAN_REGEX_MAX, scan.regex[r], NULL,       \
              "Instead of the prefix: a POSIX extended regular expression that must "    \
              "match the whole code; group 1 is the value (without a group, the whole "  \
              "code).")

static const struct lb_conf_key scan_keys[] = {
    SCAN_PREFIX_KEY("order_start", SCAN_R_ORDER_START, "WO-",
                    "Prefix of order codes: the rest is the order number, and the order "
                    "starts on the scanner's machine (ending the one that ran there). "
                    "Empty: not recognised."),
    SCAN_REGEX_KEY("order_start", SCAN_R_ORDER_START),
    SCAN_PREFIX_KEY("order_end", SCAN_R_ORDER_END, "END-",
                    "Prefix of order-end codes: the rest is the order number; the prefix "
                    "alone ends whatever order runs on the machine."),
    SCAN_REGEX_KEY("order_end", SCAN_R_ORDER_END),
    SCAN_PREFIX_KEY("operator", SCAN_R_OPERATOR, "OP-",
                    "Prefix of operator badges: the rest is the badge number."),
    SCAN_REGEX_KEY("operator", SCAN_R_OPERATOR),
    SCAN_PREFIX_KEY("downtime_reason", SCAN_R_DOWNTIME, "DT-",
                    "Prefix of downtime reason codes: the rest is the reason code, "
                    "which labels the machine's current or last stop."),
    SCAN_REGEX_KEY("downtime_reason", SCAN_R_DOWNTIME),
    SCAN_PREFIX_KEY("scrap", SCAN_R_SCRAP, "SC-",
                    "Prefix of scrap codes: REASON, or REASON, qty_separator and a "
                    "quantity (SC-BURR*3); without a quantity, 1."),
    AGENT_KEY("scrap_regex", LB_CONF_STR, "", 0, SCAN_REGEX_MAX, scan.regex[SCAN_R_SCRAP],
              NULL,
              "Instead of the prefix: a POSIX extended regular expression that must "
              "match the whole code; group 1 is the reason, group 2 (optional) the "
              "quantity."),
    SCAN_PREFIX_KEY("machine", SCAN_R_MACHINE, "MC-",
                    "Prefix of machine labels: the rest is a machine id of this agent, "
                    "and the scanner's later scans are about that machine (a scanner "
                    "shared by several machines)."),
    SCAN_REGEX_KEY("machine", SCAN_R_MACHINE),
    AGENT_KEY("qty_separator", LB_CONF_STR, "*", 0, SCAN_SEP_MAX, scan.qty_separator,
              NULL,
              "Separates a scrap reason from its quantity. Empty: scrap codes carry "
              "no quantity."),
    AGENT_KEY("qty_max", LB_CONF_INT, "10000", 1, 1000000000, scan.qty_max, NULL,
              "Largest scrap quantity one scan may carry; a larger one is refused."),
    AGENT_KEY("ignore_case", LB_CONF_BOOL, "no", 0, 0, scan.ignore_case, NULL,
              "Match prefixes and regular expressions without regard to case (a "
              "keyboard scanner with Caps Lock on types wo-1001). Values keep the "
              "case scanned."),
};

#define SCANNER_KEY(n, t, d, lo, hi, field, ch, h)                                       \
    {                                                                                    \
        n, t, d, lo, hi, offsetof(struct scanner_conf, field), ch, h                     \
    }

static const struct lb_conf_key scanner_keys[] = {
    SCANNER_KEY("type", LB_CONF_ENUM, "evdev", 0, 0, type, scanner_types,
                "evdev: a USB scanner that types like a keyboard (HID), read "
                "through the kernel's input layer; serial: a serial or USB-CDC "
                "scanner (a tty) that sends one line per scan."),
    SCANNER_KEY("device", LB_CONF_STR, NULL, 0, 255, device, NULL,
                "The device: for evdev best a stable /dev/input/by-id/...-event-kbd "
                "name, for serial e.g. /dev/ttyACM0 or a /dev/serial/by-id/ name. A "
                "scanner that is missing or unplugged is opened again every 2 s."),
    SCANNER_KEY("machine", LB_CONF_STR, "", 0, LB_ID_MAX, machine, NULL,
                "The [machine] its scans are about. Empty: none until a machine "
                "label is scanned; scans before that are published as unknown."),
    SCANNER_KEY("layout", LB_CONF_ENUM, "us", 0, 0, layout, layout_names,
                "evdev: the keyboard layout the scanner is set to type in."),
    SCANNER_KEY("grab", LB_CONF_BOOL, "yes", 0, 0, grab, NULL,
                "evdev: take the scanner exclusively, so its scans do not also type "
                "into a console or another program."),
    SCANNER_KEY("baud", LB_CONF_INT, "9600", 1200, 460800, baud, NULL,
                "serial: line speed (1200 to 460800, a standard rate); 8N1."),
    SCANNER_KEY("terminator", LB_CONF_ENUM, "any", 0, 0, terminator, term_names,
                "serial: what ends a scan: cr, lf, crlf, any (CR or LF) or none "
                "(only the idle gap)."),
    SCANNER_KEY("idle_ms", LB_CONF_INT, "100", 0, 10000, idle_ms, NULL,
                "A pause this long inside a scan ends it, for scanners set up "
                "without an Enter or terminator suffix. 0: never (required to be "
                "more than 0 with terminator = none)."),
    SCANNER_KEY("feedback_ok", LB_CONF_STR, "", 0, 63, feedback_ok, NULL,
                "Written to the machine when a scan is taken: AREA:ADDRESS=VALUE "
                "with AREA coil or holding, e.g. coil:16=1 for a green light. "
                "Empty: nothing."),
    SCANNER_KEY("feedback_error", LB_CONF_STR, "", 0, 63, feedback_error, NULL,
                "Written to the machine when a scan is refused (unknown, malformed, "
                "another machine's label): as feedback_ok, e.g. coil:17=1 for a "
                "buzzer."),
    SCANNER_KEY("feedback_ms", LB_CONF_INT, "1000", 0, 60000, feedback_ms, NULL,
                "After this long the feedback coil or register is written 0 again. "
                "0: left as written."),
};

/* Order matters only for agent_conf_print and agent_conf_help. */
static const struct lb_conf_section sections[] = {
    {"agent", 0, agent_keys, NELEM(agent_keys), single_instance, NULL},
    {"mqtt", 0, mqtt_keys, NELEM(mqtt_keys), single_instance, NULL},
    {"spool", 0, spool_keys, NELEM(spool_keys), single_instance, NULL},
    {"machine", 1, machine_keys, NELEM(machine_keys), machine_instance, machine_other},
    {"scan", 0, scan_keys, NELEM(scan_keys), single_instance, NULL},
    {"scanner", 1, scanner_keys, NELEM(scanner_keys), scanner_instance, NULL},
};

static const struct section_doc section_docs[NELEM(sections)] = {
    {"[agent]", "Who this agent is and where it keeps its files. Required."},
    {"[mqtt]", "The broker connection and the publishing window. Optional."},
    {"[spool]", "The on-disk store of events not yet confirmed by the server. Optional."},
    {"[machine NAME]",
     "One per machine this agent reads, at most 256. NAME is the machine's id "
     "on the wire (\"dev\"): letters, digits, _ . - and unique in the plant.\n\n"
     "Besides the keys below, a machine may change single values of its "
     "profile, one line each, as `ROLE.KEY = VALUE`: ROLE is a value section of "
     "the profile (`good`, `total`, `scrap`, `state`, `reason`, `cycle`, "
     "`control`), KEY one of `area`, `address`, `type`, `order`, `scale`, and "
     "VALUE is written and checked as in a profile file (docs/profiles.md). "
     "Example: `good.address = 10`, `good.order = CDAB`. A value the profile "
     "lacks can be added with its area, address and type. At most 16 per "
     "machine."},
    {"[scan]",
     "The scan grammar: what a scanned code means (docs/scanners.md). Each kind is "
     "recognised by a prefix, or by a regular expression instead; the longest "
     "matching prefix wins, regular expressions are tried before prefixes. A code "
     "that matches nothing is published as an unknown scan. Optional."},
    {"[scanner NAME]",
     "One per barcode scanner, at most 32. NAME names it in the log. Scans become "
     "`scan` events of the machine the scanner belongs to (docs/scanners.md)."},
};

/* The single sections are all views of struct agent_conf itself. */
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

static void *scanner_instance(void *ctx, const char *id, char *err, size_t errlen)
{
    struct agent_conf *c = ctx;
    struct scanner_conf *sc;

    if (c->nscanners == AGENT_MAX_SCANNERS) {
        snprintf(err, errlen, "too many scanners (at most %d)", AGENT_MAX_SCANNERS);
        return NULL;
    }
    sc = &c->scanners[c->nscanners++];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->id, sizeof(sc->id), "%s", id);
    return sc;
}

/*
 * Keys that are not in the machine table: "ROLE.KEY" changes to the
 * machine's profile.  Parsed and checked on their own here, so that the
 * reader puts file:line before a problem; checked against the profile once
 * it is loaded (apply_overrides).
 */
static int machine_other(void *ctx, void *obj, const char *key, const char *value,
                         char *err, size_t errlen)
{
    struct machine_conf *m = obj;
    struct lb_override o;

    (void)ctx;
    if (strchr(key, '.') == NULL) {
        snprintf(err, errlen, "unknown key in [machine]");
        return -1;
    }
    if (lb_override_parse(key, value, &o, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < m->noverrides; i++) {
        if (strcmp(m->override_names[i], key) == 0) {
            snprintf(err, errlen, "set twice in [machine]");
            return -1;
        }
    }
    if (m->noverrides == MACHINE_MAX_OVERRIDES) {
        snprintf(err, errlen, "more than %d profile changes in one machine",
                 MACHINE_MAX_OVERRIDES);
        return -1;
    }
    /* lb_override_parse accepted it, so it is a role and key name: short. */
    snprintf(m->override_names[m->noverrides], MACHINE_OVERRIDE_NAME, "%s", key);
    m->overrides[m->noverrides++] = o;
    return 0;
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

/*
 * TLS files and credentials.  TLS keys with a plain tcp:// url are an
 * error, not ignored: whoever wrote them believes the link is encrypted.
 * The password file is checked here (readable, mode 0600 or stricter) so
 * that --check catches it; the agent reads it again when it starts.
 */
static void check_tls(struct agent_conf *c, struct lb_conf_errors *err)
{
    static const struct {
        const char *key;
        size_t off;
        int tls_only; /* a TLS setting, not a credential */
    } files[] = {
        {"ca_file", offsetof(struct agent_conf, ca_file), 1},
        {"cert_file", offsetof(struct agent_conf, cert_file), 1},
        {"key_file", offsetof(struct agent_conf, key_file), 1},
        {"password_file", offsetof(struct agent_conf, password_file), 0},
    };
    int tls = strncmp(c->url, "ssl://", 6) == 0 || strncmp(c->url, "mqtts://", 8) == 0;
    char why[AGENT_PATH_MAX + 128];

    for (size_t i = 0; i < NELEM(files); i++) {
        char *path = (char *)c + files[i].off;
        int line;

        if (path[0] == '\0')
            continue;
        line = key_line(c->path, "mqtt", NULL, files[i].key, 0);
        resolve_dir(c->path, path, AGENT_PATH_MAX, files[i].key, err);
        if (files[i].tls_only && !tls)
            lb_conf_error(err, c->path, line, files[i].key,
                          "set, but url '%s' is not TLS (ssl:// or mqtts://)", c->url);
        else if (!files[i].tls_only && lb_secret_check(path, why, sizeof(why)) != 0)
            lb_conf_error(err, c->path, line, files[i].key, "%s", why);
        else if (files[i].tls_only && access(path, R_OK) != 0)
            lb_conf_error(err, c->path, line, files[i].key, "%s: %s", path,
                          strerror(errno));
    }
    if (c->insecure && !tls)
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "insecure", 0),
                      "insecure", "set, but url '%s' is not TLS (ssl:// or mqtts://)",
                      c->url);
    if (c->key_file[0] != '\0' && c->cert_file[0] == '\0')
        lb_conf_error(err, c->path, key_line(c->path, "mqtt", NULL, "key_file", 0),
                      "key_file", "needs cert_file (the certificate it belongs to)");
}

/* Resolves the defaults that depend on ideal_cycle_ms and stores them, so
 * the rest of the agent (and --check -v) sees the values in force. */
static void resolve_machine(const struct agent_conf *c, struct machine_conf *m,
                            struct lb_conf_errors *err)
{
    int idle_default = m->idle_after_ms == 0;
    int down_default = m->down_after_ms == 0;
    int rtu = m->link == LINK_RTU;
    const char *const *other = rtu ? tcp_only : rtu_only;
    size_t nother = rtu ? NELEM(tcp_only) : NELEM(rtu_only);
    const char *addr_key = rtu ? "device" : "host";
    struct lb_modbus_link l;

    /* A serial setting on a TCP machine (or the reverse) is a mistake about
     * the link, not something to ignore. */
    for (size_t i = 0; i < nother; i++) {
        int line = find_line(c->path, "machine", m->id, other[i]);

        if (line > 0 && !line_reported(err, c->path, line))
            lb_conf_error(err, c->path, line, other[i], "only for link = %s",
                          rtu ? "tcp" : "rtu");
    }
    if (find_line(c->path, "machine", m->id, addr_key) <= 0)
        lb_conf_error(err, c->path, m->line, addr_key, "required in [machine %s]%s",
                      m->id, rtu ? " with link = rtu" : "");
    else
        empty_string(c, "machine", m->id, addr_key, rtu ? m->device : m->host, err);
    if (rtu && m->unit == 0)
        lb_conf_error(
            err, c->path, key_line(c->path, "machine", m->id, "unit", m->line), "unit",
            "0 is the broadcast address: a device on a serial bus has 1 to 247");
    if (rtu && !lb_modbus_baud_valid((int)m->baud))
        lb_conf_error(
            err, c->path, key_line(c->path, "machine", m->id, "baud", m->line), "baud",
            "%" PRId64 " is not a standard rate (1200, 2400, 4800, 9600, 19200, "
            "38400, 57600, 115200, 230400, ...)",
            m->baud);
    /* Store the timeout in force, so that --check -v shows it. */
    agent_machine_link(m, &l);
    if (lb_modbus_timeout_ms(&l, rtu) > 0)
        m->timeout_ms = lb_modbus_timeout_ms(&l, rtu);
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

void agent_machine_link(const struct machine_conf *m, struct lb_modbus_link *l)
{
    memset(l, 0, sizeof(*l));
    /* Both fit: the tables bound them to 255 characters. */
    snprintf(l->host, sizeof(l->host), "%s", m->host);
    snprintf(l->device, sizeof(l->device), "%s", m->device);
    l->port = (int)m->port;
    l->baud = (int)m->baud;
    l->parity = "NEO"[m->parity >= 0 && m->parity < 3 ? m->parity : 0];
    l->data_bits = (int)m->data_bits;
    l->stop_bits = (int)m->stop_bits;
    l->rs485 = m->rs485;
    l->unit = (int)m->unit;
    l->timeout_ms = (int)m->timeout_ms;
    l->close_after_poll = m->close_after_poll;
}

/*
 * Machines on one serial device share a bus: one port, one speed and
 * character format, distinct unit ids.  Problems are reported at the later
 * machine, against the first one on that device.
 */
static void check_links(const struct agent_conf *c, struct lb_conf_errors *err)
{
    for (size_t i = 0; i < c->nmachines; i++) {
        const struct machine_conf *m = &c->machines[i];
        const struct machine_conf *first = NULL;

        if (m->link != LINK_RTU || m->device[0] == '\0')
            continue;
        for (size_t j = 0; j < i && first == NULL; j++)
            if (c->machines[j].link == LINK_RTU &&
                strcmp(c->machines[j].device, m->device) == 0)
                first = &c->machines[j];
        if (first == NULL)
            continue;
        if (m->baud != first->baud || m->parity != first->parity ||
            m->data_bits != first->data_bits || m->stop_bits != first->stop_bits ||
            m->rs485 != first->rs485) {
            const char *key = m->baud != first->baud             ? "baud"
                              : m->parity != first->parity       ? "parity"
                              : m->data_bits != first->data_bits ? "data_bits"
                              : m->stop_bits != first->stop_bits ? "stop_bits"
                                                                 : "rs485";

            lb_conf_error(err, c->path, key_line(c->path, "machine", m->id, key, m->line),
                          key,
                          "differs from machine %s on the same bus %s: machines on "
                          "one serial device share its settings",
                          first->id, m->device);
        }
        for (size_t j = 0; j < i; j++) {
            const struct machine_conf *o = &c->machines[j];

            if (o->link == LINK_RTU && strcmp(o->device, m->device) == 0 &&
                o->unit == m->unit) {
                lb_conf_error(
                    err, c->path, key_line(c->path, "machine", m->id, "unit", m->line),
                    "unit", "%" PRId64 " is machine %s's unit on the same bus %s",
                    m->unit, o->id, m->device);
                break;
            }
        }
    }
}

/*
 * Applies each machine's "ROLE.KEY = value" lines to its copy of the
 * profile (rcs[i] is 0 when machine i's profile loaded), blaming the line
 * of the change that breaks a rule.
 */
static void apply_overrides(struct agent_conf *c, const int *rcs,
                            struct lb_conf_errors *err)
{
    for (size_t i = 0; i < c->nmachines; i++) {
        struct machine_conf *m = &c->machines[i];
        char why[256];
        size_t bad;

        if (m->profile[0] == '\0' || rcs[i] != 0 || m->noverrides == 0)
            continue;
        if (lb_profile_apply(&m->prof, m->overrides, m->noverrides, &bad, why,
                             sizeof(why)) != 0)
            lb_conf_error(
                err, c->path,
                key_line(c->path, "machine", m->id, m->override_names[bad], m->line),
                m->override_names[bad], "%s (profile %s)", why, m->profile);
    }
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
    apply_overrides(c, rcs, err);
out:
    free(rcs);
    free(perr);
}

/* "coil:16=1" or "holding:20=3" into fb; "" leaves it unset.  Returns 0,
 * or -1 when s is not of that form. */
static int parse_feedback(const char *s, struct feedback_conf *fb)
{
    static const struct {
        const char *name;
        enum lb_area area;
        long max;
    } areas[] = {{"coil:", LB_AREA_COIL, 1}, {"holding:", LB_AREA_HOLDING, 65535}};
    char *end;
    long addr, val;

    memset(fb, 0, sizeof(*fb));
    if (s[0] == '\0')
        return 0;
    for (size_t i = 0; i < NELEM(areas); i++) {
        size_t n = strlen(areas[i].name);

        if (strncmp(s, areas[i].name, n) != 0)
            continue;
        s += n;
        if (*s < '0' || *s > '9')
            return -1;
        errno = 0;
        addr = strtol(s, &end, 10);
        if (errno != 0 || addr < 0 || addr > 65535 || *end != '=')
            return -1;
        s = end + 1;
        if (*s < '0' || *s > '9')
            return -1;
        val = strtol(s, &end, 10);
        if (errno != 0 || val < 0 || val > areas[i].max || *end != '\0')
            return -1;
        fb->set = 1;
        fb->area = areas[i].area;
        fb->address = (int)addr;
        fb->value = (uint16_t)val;
        return 0;
    }
    return -1;
}

/*
 * [scan] must compile into a grammar, and each [scanner] must name a
 * device, a machine of this agent (or none) and feedback writes that can
 * be made, with only the keys of its type.
 */
static void check_scanners(struct agent_conf *c, struct lb_conf_errors *err)
{
    char why[256], key[48];

    /* A regex replaces the rule's prefix: the default one goes, a prefix
     * written next to it in the file is a mistake scan_rule_check names. */
    for (int r = 0; r < SCAN_R_COUNT; r++) {
        if (c->scan.regex[r][0] == '\0')
            continue;
        snprintf(key, sizeof(key), "%s", scan_rule_name((enum scan_rule)r));
        if (find_line(c->path, "scan", NULL, key) <= 0)
            c->scan.prefix[r][0] = '\0';
    }
    for (int r = 0; r < SCAN_R_COUNT; r++) {
        if (scan_rule_check(&c->scan, (enum scan_rule)r, why, sizeof(why)) == 0)
            continue;
        snprintf(key, sizeof(key), "%s%s", scan_rule_name((enum scan_rule)r),
                 c->scan.regex[r][0] != '\0' ? "_regex" : "");
        lb_conf_error(
            err, c->path,
            key_line(c->path, "scan", NULL, key, find_line(c->path, "scan", NULL, NULL)),
            key, "%s", why);
    }

    for (size_t i = 0; i < c->nscanners; i++) {
        struct scanner_conf *sc = &c->scanners[i];
        int serial = sc->type == LB_SCANNER_SERIAL;
        const char *const *other = serial ? evdev_only : serial_only;
        size_t nother = serial ? NELEM(evdev_only) : NELEM(serial_only);
        size_t k;

        sc->line = find_line(c->path, "scanner", sc->id, NULL);
        for (k = 0; k < nother; k++) {
            int line = find_line(c->path, "scanner", sc->id, other[k]);

            if (line > 0 && !line_reported(err, c->path, line))
                lb_conf_error(err, c->path, line, other[k], "only for type = %s",
                              serial ? "evdev" : "serial");
        }
        empty_string(c, "scanner", sc->id, "device", sc->device, err);
        for (size_t j = 0; j < i; j++) {
            if (sc->device[0] != '\0' && strcmp(c->scanners[j].device, sc->device) == 0) {
                lb_conf_error(err, c->path,
                              key_line(c->path, "scanner", sc->id, "device", sc->line),
                              "device", "%s is scanner %s's device", sc->device,
                              c->scanners[j].id);
                break;
            }
        }
        if (sc->machine[0] != '\0') {
            for (k = 0; k < c->nmachines; k++)
                if (strcmp(c->machines[k].id, sc->machine) == 0)
                    break;
            if (k == c->nmachines)
                lb_conf_error(err, c->path,
                              key_line(c->path, "scanner", sc->id, "machine", sc->line),
                              "machine", "no [machine %s] in this file", sc->machine);
        }
        if (serial && !lb_scanner_baud_valid((int)sc->baud))
            lb_conf_error(err, c->path,
                          key_line(c->path, "scanner", sc->id, "baud", sc->line), "baud",
                          "%" PRId64 " is not a standard rate (1200, 2400, 4800, 9600, "
                          "19200, 38400, 57600, 115200, 230400, 460800)",
                          sc->baud);
        if (serial && sc->terminator == LB_TERM_NONE && sc->idle_ms == 0)
            lb_conf_error(
                err, c->path,
                key_line(c->path, "scanner", sc->id, "idle_ms",
                         key_line(c->path, "scanner", sc->id, "terminator", sc->line)),
                "idle_ms",
                "must be more than 0 with terminator = none: "
                "nothing else would end a scan");
        if (parse_feedback(sc->feedback_ok, &sc->fb_ok) != 0)
            lb_conf_error(err, c->path,
                          key_line(c->path, "scanner", sc->id, "feedback_ok", sc->line),
                          "feedback_ok",
                          "'%s' is not coil:ADDRESS=0|1 or holding:ADDRESS=VALUE "
                          "(address and value 0-65535)",
                          sc->feedback_ok);
        if (parse_feedback(sc->feedback_error, &sc->fb_error) != 0)
            lb_conf_error(
                err, c->path,
                key_line(c->path, "scanner", sc->id, "feedback_error", sc->line),
                "feedback_error",
                "'%s' is not coil:ADDRESS=0|1 or holding:ADDRESS=VALUE "
                "(address and value 0-65535)",
                sc->feedback_error);
    }
}

int agent_conf_load(const char *path, struct agent_conf *c, struct lb_conf_errors *err)
{
    int start = err->count;
    int rc;

    /* c comes zeroed (calloc): clearing it again would touch every page of
     * the machine table, megabytes of resident memory on a small board. */
    c->nmachines = 0;
    c->nscanners = 0;
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
    check_tls(c, err);
    for (size_t i = 0; i < c->nmachines; i++)
        resolve_machine(c, &c->machines[i], err);
    check_links(c, err);
    load_profiles(c, err);
    check_scanners(c, err);
    return err->count > start ? LB_E_CONFIG : 0;
}

void agent_conf_print(const struct agent_conf *c, FILE *f)
{
    for (size_t i = 0; i < NELEM(sections); i++) {
        const struct lb_conf_section *s = &sections[i];

        /* [scan] goes with the scanners, below. */
        if (s->multi || s->keys == scan_keys)
            continue;
        fprintf(f, "%s[%s]\n", i ? "\n" : "", s->name);
        lb_conf_print(s->keys, s->nkeys, c, f);
    }
    for (size_t i = 0; i < c->nmachines; i++) {
        const struct machine_conf *m = &c->machines[i];
        const char *const *other = m->link == LINK_RTU ? tcp_only : rtu_only;
        size_t nother = m->link == LINK_RTU ? NELEM(tcp_only) : NELEM(rtu_only);

        fprintf(f, "\n[machine %s]\n", m->id);
        /* The keys of the machine's kind of link only: a TCP machine has no
         * baud rate worth showing. */
        for (size_t k = 0; k < NELEM(machine_keys); k++) {
            size_t j;

            for (j = 0; j < nother; j++)
                if (strcmp(machine_keys[k].name, other[j]) == 0)
                    break;
            if (j == nother)
                lb_conf_print(&machine_keys[k], 1, m, f);
        }
        for (size_t k = 0; k < m->noverrides; k++) {
            const struct lb_override *o = &m->overrides[k];

            fprintf(f, "%s = ", m->override_names[k]);
            switch (o->key) {
            case LB_VKEY_AREA:
                fprintf(f, "%s\n", lb_area_name((enum lb_area)o->choice));
                break;
            case LB_VKEY_ADDRESS:
                fprintf(f, "%ld\n", o->address);
                break;
            case LB_VKEY_TYPE:
                fprintf(f, "%s\n", lb_vtype_name((enum lb_vtype)o->choice));
                break;
            case LB_VKEY_ORDER:
                fprintf(f, "%s\n", lb_order_name((enum lb_order)o->choice));
                break;
            case LB_VKEY_SCALE:
            case LB_VKEY_COUNT:
            default:
                fprintf(f, "%.17g\n", o->scale);
                break;
            }
        }
    }
    /* The grammar matters only to scanners: a file without any shows none. */
    if (c->nscanners > 0) {
        fprintf(f, "\n[scan]\n");
        lb_conf_print(scan_keys, NELEM(scan_keys), c, f);
    }
    for (size_t i = 0; i < c->nscanners; i++) {
        const struct scanner_conf *sc = &c->scanners[i];
        int serial = sc->type == LB_SCANNER_SERIAL;
        const char *const *other = serial ? evdev_only : serial_only;
        size_t nother = serial ? NELEM(evdev_only) : NELEM(serial_only);

        fprintf(f, "\n[scanner %s]\n", sc->id);
        for (size_t k = 0; k < NELEM(scanner_keys); k++) {
            size_t j;

            for (j = 0; j < nother; j++)
                if (strcmp(scanner_keys[k].name, other[j]) == 0)
                    break;
            if (j < nother)
                continue;
            if (strcmp(scanner_keys[k].name, "feedback_ok") == 0)
                print_feedback(f, "feedback_ok", &sc->fb_ok);
            else if (strcmp(scanner_keys[k].name, "feedback_error") == 0)
                print_feedback(f, "feedback_error", &sc->fb_error);
            else
                lb_conf_print(&scanner_keys[k], 1, sc, f);
        }
    }
}

/* A feedback write in its normal form ("coil:16=1"), "" when unset. */
static void print_feedback(FILE *f, const char *key, const struct feedback_conf *fb)
{
    if (!fb->set)
        fprintf(f, "%s = \n", key);
    else
        fprintf(f, "%s = %s:%d=%u\n", key, fb->area == LB_AREA_COIL ? "coil" : "holding",
                fb->address, (unsigned)fb->value);
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
               "\n"
               "; two counters on one RS-485 bus, polled in turn by one worker;\n"
               "; 9600 8N2 are the Autonics CT's factory settings\n"
               "[machine packer-1]\n"
               "profile = autonics-ct\n"
               "link = rtu\n"
               "device = /dev/ttyUSB0\n"
               "baud = 9600\n"
               "parity = N\n"
               "stop_bits = 2\n"
               "unit = 1\n"
               "\n"
               "[machine packer-2]\n"
               "profile = autonics-ct\n"
               "link = rtu\n"
               "device = /dev/ttyUSB0\n"
               "baud = 9600\n"
               "parity = N\n"
               "stop_bits = 2\n"
               "unit = 2\n"
               "\n"
               "; a generic profile, changed where this controller differs\n"
               "[machine lathe-4]\n"
               "profile = generic-u32\n"
               "host = 192.168.10.44\n"
               "good.address = 40\n"
               "good.order = CDAB\n"
               "```\n");
}
