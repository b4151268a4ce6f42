/*
 * The agent's configuration: one INI file with [agent], [mqtt], [spool],
 * one [machine NAME] section per machine, and for barcode scanners [scan]
 * (the grammar) and one [scanner NAME] per scanner.  Every key is declared once in
 * config.c's tables (type, default, bounds, help); docs/agent-config.md is
 * generated from the same tables by `linebeat-agent --help-config`.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "linebeat/conf.h"
#include "linebeat/device.h"
#include "linebeat/profile.h"
#include "linebeat/wire.h"
#include "scan.h"

#define AGENT_MAX_MACHINES 256
#define AGENT_MAX_SCANNERS 32
#define AGENT_PATH_MAX     512

#define MACHINE_MAX_OVERRIDES 16
#define MACHINE_OVERRIDE_NAME 24 /* "control.address" and the like */

enum machine_link { LINK_TCP, LINK_RTU };

struct machine_conf {
    char id[LB_ID_MAX + 1]; /* the section's NAME: the wire "dev" */
    char profile[LB_PROFILE_MAX + 1];
    int link;       /* enum machine_link */
    char host[256]; /* TCP */
    int64_t port;
    char device[256]; /* RTU: serial device; machines on one device share a bus */
    int64_t baud;
    int parity; /* index into "N", "E", "O" */
    int64_t data_bits, stop_bits;
    int rs485;
    int64_t unit;
    int64_t interval_ms; /* poll period */
    int64_t timeout_ms;  /* Modbus response timeout, resolved (never 0) */
    /* "ROLE.KEY = value" lines: changes to the profile, applied in order */
    size_t noverrides;
    struct lb_override overrides[MACHINE_MAX_OVERRIDES];
    char override_names[MACHINE_MAX_OVERRIDES][MACHINE_OVERRIDE_NAME];
    int64_t ideal_cycle_ms; /* 0: unknown (rate states and plausibility off) */
    int close_after_poll;
    int64_t offline_after;  /* failed polls in a row before "offline" */
    int64_t idle_after_ms;  /* no-state-register machines: idle after this gap */
    int64_t down_after_ms;  /* ... and down after this one (> idle_after_ms) */
    struct lb_profile prof; /* loaded from profiles_dir/<profile>.ini */
    int line;               /* where the section starts, for messages */
};

/* A write to the scanner's machine when a scan is taken or refused: a coil
 * or holding register (a stack light, a buzzer), "AREA:ADDRESS=VALUE". */
struct feedback_conf {
    int set;
    enum lb_area area; /* LB_AREA_COIL or LB_AREA_HOLDING */
    int address;       /* 0-65535 */
    uint16_t value;
};

/* A [scanner NAME] section (docs/scanners.md). */
struct scanner_conf {
    char id[LB_ID_MAX + 1];
    int type; /* enum lb_scanner_type */
    char device[256];
    char machine[LB_ID_MAX + 1]; /* "" none until a machine label is scanned */
    int layout;                  /* enum lb_layout */
    int grab;
    int64_t baud;
    int terminator; /* enum lb_term */
    int64_t idle_ms;
    char feedback_ok[64], feedback_error[64]; /* as written */
    int64_t feedback_ms;
    struct feedback_conf fb_ok, fb_error; /* parsed from the two above */
    int line;
};

struct agent_conf {
    char path[AGENT_PATH_MAX];
    /* [agent] */
    char id[LB_ID_MAX + 1];
    char site[LB_ID_MAX + 1];
    char state_dir[AGENT_PATH_MAX];
    char profiles_dir[AGENT_PATH_MAX];
    char run_dir[AGENT_PATH_MAX]; /* the status file, when writable; else state_dir */
    int log_level;                /* LB_LOG_* */
    /* [mqtt] */
    char url[256];
    char prefix[128];
    char client_id[128]; /* "" gives "linebeat-agent-<id>" */
    int64_t keepalive_s;
    int64_t inflight;       /* events messages awaiting PUBACK */
    int64_t window_events;  /* seqs sent beyond the server's ack, at most */
    int64_t batch_events;   /* events per message */
    int64_t ack_timeout_ms; /* resend when the server's ack stalls this long */
    int64_t reconnect_min_ms, reconnect_max_ms;
    /* TLS and credentials (ssl:// or mqtts:// urls).  Paths are absolute
     * once loaded; "" when unset.  The password itself is not kept here: it
     * is read from password_file when the client is created. */
    char ca_file[AGENT_PATH_MAX];
    char cert_file[AGENT_PATH_MAX];
    char key_file[AGENT_PATH_MAX];
    int insecure;       /* skip verifying the broker's certificate and name */
    char username[128]; /* "" with password_file: the agent id */
    char password_file[AGENT_PATH_MAX];
    /* [spool] */
    int64_t commit_ms;     /* group commit period */
    int64_t commit_events; /* ... or after this many events */
    int64_t max_mb;        /* bound on the spool file */
    size_t nmachines;
    struct machine_conf machines[AGENT_MAX_MACHINES];
    /* [scan] and [scanner NAME] */
    struct scan_conf scan;
    size_t nscanners;
    struct scanner_conf scanners[AGENT_MAX_SCANNERS];
};

/*
 * Reads and validates path into c, which must come zeroed (calloc), loading each
 * machine's profile.  Every problem goes to err as "file:line: key: problem" (err is
 * appended to, not cleared).  Returns 0, LB_E_CONFIG, or -errno when path
 * cannot be read.  On success, derived values are stored resolved:
 * state_dir and profiles_dir are absolute (a relative one is taken from
 * the file's directory), idle_after_ms and down_after_ms are never 0.
 * c is large: allocate it on the heap.
 */
int agent_conf_load(const char *path, struct agent_conf *c, struct lb_conf_errors *err);

/* Fills OUT: l with machine m's link settings, for the device layer. */
void agent_machine_link(const struct machine_conf *m, struct lb_modbus_link *l);

/* Prints the normalised configuration (for --check -v). */
void agent_conf_print(const struct agent_conf *c, FILE *f);

/* Prints every key of every section with default, bounds and help
 * (markdown), the source of docs/agent-config.md. */
void agent_conf_help(FILE *f);

#endif
