/*
 * The v1 wire contract between agent and server (shared/design.md, and
 * docs/wire.md for the one addition, "prev"): events batches, acks, birth
 * and status messages as JSON.  The decoder is the server's first line of
 * defence: it checks size, shape, types and ranges, and says why a message
 * is rejected.  Unknown fields are ignored for forward compatibility.
 */
#ifndef LINEBEAT_WIRE_H
#define LINEBEAT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define LB_WIRE_VERSION      1
#define LB_ID_MAX            64   /* ids match [A-Za-z0-9_.-]{1,64} */
#define LB_WIRE_MAX_EVENTS   1000 /* events in one message */
#define LB_WIRE_MAX_BYTES    (256 * 1024)
#define LB_BOOT_LEN          16  /* hex digits */
#define LB_CODE_MAX          64  /* reason and note codes */
#define LB_SCAN_MAX          256 /* scanned code and extracted value, bytes */
#define LB_TEXT_MAX          512 /* note text, bytes */
#define LB_PROFILE_MAX       64
#define LB_VERSION_MAX       32
#define LB_BIRTH_MAX_DEVICES 256

enum lb_event_type { LB_EV_COUNT, LB_EV_STATE, LB_EV_SCAN, LB_EV_NOTE };

/* Machine states, in wire spelling order: running, idle, setup, down,
 * planned_stop, offline. */
enum lb_state {
    LB_ST_RUNNING,
    LB_ST_IDLE,
    LB_ST_SETUP,
    LB_ST_DOWN,
    LB_ST_PLANNED_STOP,
    LB_ST_OFFLINE,
    LB_ST_COUNT
};

/* Scan kinds: order_start, order_end, operator, downtime_reason, scrap, unknown. */
enum lb_scan_kind {
    LB_SCAN_ORDER_START,
    LB_SCAN_ORDER_END,
    LB_SCAN_OPERATOR,
    LB_SCAN_DOWNTIME_REASON,
    LB_SCAN_SCRAP,
    LB_SCAN_UNKNOWN,
    LB_SCAN_COUNT
};

/* Bits of lb_count.raw_mask: which raw register values travel. */
enum { LB_RAW_GOOD = 1, LB_RAW_SCRAP = 2, LB_RAW_TOTAL = 4 };

struct lb_count {
    int64_t good;  /* delta over span ms ending at t, >= 0 */
    int64_t scrap; /* delta, >= 0 */
    int64_t span;  /* ms, >= 0 */
    unsigned raw_mask;
    uint64_t raw_good, raw_scrap, raw_total;
};

struct lb_state_ev {
    enum lb_state state;
    char reason[LB_CODE_MAX + 1]; /* "" when absent */
};

struct lb_scan {
    enum lb_scan_kind kind;
    char code[LB_SCAN_MAX + 1];
    char value[LB_SCAN_MAX + 1]; /* "" encodes as null */
    int has_qty;
    int64_t qty;
};

struct lb_note {
    char code[LB_CODE_MAX + 1];
    char text[LB_TEXT_MAX + 1];
};

struct lb_event {
    uint64_t seq; /* >= 1 */
    int64_t t;    /* ms since the epoch, UTC */
    int64_t age;  /* ms from the event to the batch's "sent", >= 0 */
    char dev[LB_ID_MAX + 1];
    enum lb_event_type type;
    union {
        struct lb_count count;
        struct lb_state_ev state;
        struct lb_scan scan;
        struct lb_note note;
    } u;
};

/* An events message.  events points to n elements; the decoder allocates
 * them (free with lb_batch_free), the encoder only reads them. */
struct lb_batch {
    char agent[LB_ID_MAX + 1];
    char boot[LB_BOOT_LEN + 1];
    int synced;    /* "clock": 1 "synced", 0 "unsynced" */
    int64_t sent;  /* ms since the epoch, agent's clock */
    int has_prev;  /* "prev" present (docs/wire.md) */
    uint64_t prev; /* the agent holds no event with prev < seq < events[0].seq */
    size_t n;
    struct lb_event *events;
};

struct lb_birth_dev {
    char dev[LB_ID_MAX + 1];
    char profile[LB_PROFILE_MAX + 1];
    int64_t ideal_cycle_ms; /* 0 when unknown */
};

struct lb_birth {
    char agent[LB_ID_MAX + 1];
    char boot[LB_BOOT_LEN + 1];
    char version[LB_VERSION_MAX + 1];
    size_t ndevices;
    struct lb_birth_dev devices[LB_BIRTH_MAX_DEVICES];
};

/* 1 when s matches [A-Za-z0-9_.-]{1,64}, else 0. */
int lb_id_valid(const char *s);
/* 1 when s is exactly 16 lowercase or uppercase hex digits. */
int lb_boot_valid(const char *s);

const char *lb_state_name(enum lb_state s);
/* Returns the state for its wire name, or -1. */
int lb_state_parse(const char *name);
const char *lb_scan_kind_name(enum lb_scan_kind k);
/* Returns the kind for its wire name, or -1. */
int lb_scan_kind_parse(const char *name);

/*
 * Encodes b as the v1 events JSON.  OUT: *json, a NUL-terminated string
 * the caller frees with free(); *len its length.  Returns 0, -ENOMEM, or
 * LB_E_TOOBIG when the result would exceed LB_WIRE_MAX_BYTES or
 * LB_WIRE_MAX_EVENTS (nothing is allocated then), or LB_E_RANGE when b
 * breaks a rule the decoder enforces (no events, an invalid id, seq 0 or
 * above INT64_MAX, seq not increasing, a negative count, a string that is
 * not UTF-8...): what is encoded always decodes.
 */
int lb_wire_encode_events(const struct lb_batch *b, char **json, size_t *len);

/*
 * Decodes and validates an events message of len bytes (need not be
 * NUL-terminated).  OUT: b, whose events the caller releases with
 * lb_batch_free.  On failure returns LB_E_TOOBIG, LB_E_PARSE or -ENOMEM,
 * writes a one-line reason into why (NUL-terminated, truncated to whylen)
 * and leaves b empty.
 */
int lb_wire_decode_events(const char *buf, size_t len, struct lb_batch *b, char *why,
                          size_t whylen);
/* Frees b's events (not b); accepts NULL and may be called twice. */
void lb_batch_free(struct lb_batch *b);

/*
 * Checks one event against the rules the decoder and encoder apply (ids,
 * ranges, enums, string termination and UTF-8), so a producer can refuse an
 * event before it is spooled rather than have the encoder refuse its batch
 * later.  Ordering of seq is a batch property and is not checked here.
 * Returns 0, or LB_E_RANGE with a one-line reason in why (may be NULL).
 */
int lb_wire_check_event(const struct lb_event *e, char *why, size_t whylen);

/* {"v":1,"agent":...,"seq":N}.  Encoders return 0 or -ENOMEM and a
 * malloc'd string, or LB_E_RANGE for an invalid id, boot, seq or birth;
 * decoders as lb_wire_decode_events (agent and boot are LB_ID_MAX+1 and
 * LB_BOOT_LEN+1 bytes). */
int lb_wire_encode_ack(const char *agent, uint64_t seq, char **json, size_t *len);
int lb_wire_decode_ack(const char *buf, size_t len, char *agent, uint64_t *seq, char *why,
                       size_t whylen);

int lb_wire_encode_birth(const struct lb_birth *b, char **json, size_t *len);
int lb_wire_decode_birth(const char *buf, size_t len, struct lb_birth *b, char *why,
                         size_t whylen);

/* status: online != 0 gives "online", else "offline". */
int lb_wire_encode_status(const char *agent, const char *boot, int online, char **json,
                          size_t *len);
int lb_wire_decode_status(const char *buf, size_t len, char *agent, char *boot,
                          int *online, char *why, size_t whylen);

/* Topic helpers: writes "<prefix>/<site>/<agent>/<leaf>" into buf; returns 0,
 * LB_E_TOOBIG, or LB_E_RANGE for an empty prefix, one ending in '/' or
 * holding a wildcard, an invalid id or an unknown leaf (birth, status,
 * events, ack); site, agent and leaf may each be "+" to build a
 * subscription filter.  lb_topic_split parses such a topic (prefix given) into
 * OUT: site, agent (each LB_ID_MAX+1 bytes) and leaf (16 bytes); returns 0
 * or LB_E_PARSE when it does not match or an id is invalid. */
int lb_topic_make(char *buf, size_t size, const char *prefix, const char *site,
                  const char *agent, const char *leaf);
int lb_topic_split(const char *topic, const char *prefix, char *site, char *agent,
                   char *leaf);

#endif
