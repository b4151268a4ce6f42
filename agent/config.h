/*
 * The agent's configuration: one INI file with [agent], [mqtt], [spool] and
 * one [machine NAME] section per machine.  Every key is declared once in
 * config.c's tables (type, default, bounds, help); docs/agent-config.md is
 * generated from the same tables by `linebeat-agent --help-config`.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "linebeat/conf.h"
#include "linebeat/profile.h"
#include "linebeat/wire.h"

#define AGENT_MAX_MACHINES 256
#define AGENT_PATH_MAX     512

struct machine_conf {
    char id[LB_ID_MAX + 1]; /* the section's NAME: the wire "dev" */
    char profile[LB_PROFILE_MAX + 1];
    char host[256];
    int64_t port;
    int64_t unit;
    int64_t interval_ms;    /* poll period */
    int64_t timeout_ms;     /* Modbus response timeout */
    int64_t ideal_cycle_ms; /* 0: unknown (rate states and plausibility off) */
    int close_after_poll;
    int64_t offline_after;  /* failed polls in a row before "offline" */
    int64_t idle_after_ms;  /* no-state-register machines: idle after this gap */
    int64_t down_after_ms;  /* ... and down after this one (> idle_after_ms) */
    struct lb_profile prof; /* loaded from profiles_dir/<profile>.ini */
    int line;               /* where the section starts, for messages */
};

struct agent_conf {
    char path[AGENT_PATH_MAX];
    /* [agent] */
    char id[LB_ID_MAX + 1];
    char site[LB_ID_MAX + 1];
    char state_dir[AGENT_PATH_MAX];
    char profiles_dir[AGENT_PATH_MAX];
    int log_level; /* LB_LOG_* */
    /* [mqtt] */
    char url[256];
    char prefix[128];
    char client_id[128]; /* "" gives "linebeat-agent-<id>" */
    int64_t keepalive_s;
    int64_t inflight;       /* events messages awaiting PUBACK */
    int64_t batch_events;   /* events per message */
    int64_t ack_timeout_ms; /* resend when the server's ack stalls this long */
    int64_t reconnect_min_ms, reconnect_max_ms;
    /* [spool] */
    int64_t commit_ms;     /* group commit period */
    int64_t commit_events; /* ... or after this many events */
    int64_t max_mb;        /* bound on the spool file */
    size_t nmachines;
    struct machine_conf machines[AGENT_MAX_MACHINES];
};

/*
 * Reads and validates path into c, which must come zeroed (calloc), loading each machine's
 * profile.  Every problem goes to err as "file:line: key: problem" (err is
 * appended to, not cleared).  Returns 0, LB_E_CONFIG, or -errno when path
 * cannot be read.  On success, derived values are stored resolved:
 * state_dir and profiles_dir are absolute (a relative one is taken from
 * the file's directory), idle_after_ms and down_after_ms are never 0.
 * c is large: allocate it on the heap.
 */
int agent_conf_load(const char *path, struct agent_conf *c, struct lb_conf_errors *err);

/* Prints the normalised configuration (for --check -v). */
void agent_conf_print(const struct agent_conf *c, FILE *f);

/* Prints every key of every section with default, bounds and help
 * (markdown), the source of docs/agent-config.md. */
void agent_conf_help(FILE *f);

#endif
