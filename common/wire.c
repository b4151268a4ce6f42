/*
 * The v1 wire codec; see linebeat/wire.h and docs/wire.md.
 *
 * Decoding parses with jansson, copies each field into the caller's structs
 * and then applies the same rule checks (check_header, check_event) that the
 * encoder applies before it writes anything, so the two sides cannot drift:
 * whatever the decoder accepts re-encodes, and whatever the encoder writes
 * decodes (tests/fuzz/fuzz_wire.c holds both to that).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "linebeat/error.h"
#include "linebeat/wire.h"

/* Where a decoder or checker is, so its reason can name the field:
 * "events[3].raw.good: negative". */
struct where {
    char *why;
    size_t whylen;
    const char *arr; /* "events" or "devices"; NULL at the top level */
    size_t idx;
    const char *obj; /* "raw" inside a count event, else NULL */
};

/* The encoder's output, grown by dump_cb up to LB_WIRE_MAX_BYTES. */
struct outbuf {
    char *p;
    size_t len;
    size_t cap;
    int toobig;
};

static void reject(struct where *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int utf8_valid(const char *s, size_t n);
static int name_index(const char *const *names, size_t count, const char *s, size_t len);
static int load(struct where *w, const char *buf, size_t len, json_t **root);
static int get_version(struct where *w, const json_t *o);
static int get_int(struct where *w, const json_t *o, const char *key, int opt,
                   int64_t *out);
static int get_uint(struct where *w, const json_t *o, const char *key, int opt,
                    uint64_t *out);
static int get_str(struct where *w, const json_t *o, const char *key, int opt, char *dst,
                   size_t cap);
static int get_id(struct where *w, const json_t *o, const char *key, char *dst);
static int get_boot(struct where *w, const json_t *o, char *dst);
static int get_enum(struct where *w, const json_t *o, const char *key,
                    const char *const *names, size_t count, const char *what, int *out);
static int decode_event(struct where *w, const json_t *o, struct lb_event *e);
static int decode_count(struct where *w, const json_t *o, struct lb_count *c);
static int decode_device(struct where *w, const json_t *o, struct lb_birth_dev *d);
static int check_str(struct where *w, const char *key, const char *s, size_t cap);
static int check_header(struct where *w, const struct lb_batch *b);
static int check_event(struct where *w, const struct lb_event *e);
static int check_seq(struct where *w, const struct lb_batch *b, size_t i);
static int check_birth(struct where *w, const struct lb_birth *b);
static int set(json_t *o, const char *key, json_t *v);
static json_t *str_json(const char *s);
static json_t *event_json(const struct lb_event *e);
static int dump_cb(const char *s, size_t n, void *data);
static int dump(json_t *root, char **json, size_t *len);

static const char *const state_names[LB_ST_COUNT] = {
    "running", "idle", "setup", "down", "planned_stop", "offline",
};
static const char *const scan_names[LB_SCAN_COUNT] = {
    "order_start", "order_end", "operator", "downtime_reason", "scrap", "unknown",
};
/* Indexed by enum lb_event_type. */
static const char *const type_names[] = {"count", "state", "scan", "note"};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))
/* Indexed by lb_batch.synced and the status decoder's online flag. */
static const char *const clock_names[] = {"unsynced", "synced"};
static const char *const status_names[] = {"offline", "online"};
static const char *const leaf_names[] = {"birth", "status", "events", "ack"};
#define LEAF_COUNT (sizeof(leaf_names) / sizeof(leaf_names[0]))

int lb_id_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return 0;
    /* Stops at the 65th character, so a full 65-byte buffer that is not
     * NUL-terminated is never read past its end. */
    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (n >= LB_ID_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n > 0;
}

int lb_boot_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return 0;
    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (n >= LB_BOOT_LEN)
            return 0;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return n == LB_BOOT_LEN;
}

const char *lb_state_name(enum lb_state s)
{
    if ((unsigned)s >= LB_ST_COUNT)
        return "invalid";
    return state_names[s];
}

int lb_state_parse(const char *name)
{
    if (name == NULL)
        return -1;
    return name_index(state_names, LB_ST_COUNT, name, strlen(name));
}

const char *lb_scan_kind_name(enum lb_scan_kind k)
{
    if ((unsigned)k >= LB_SCAN_COUNT)
        return "invalid";
    return scan_names[k];
}

int lb_scan_kind_parse(const char *name)
{
    if (name == NULL)
        return -1;
    return name_index(scan_names, LB_SCAN_COUNT, name, strlen(name));
}

/* ---- decoding ---- */

int lb_wire_decode_events(const char *buf, size_t len, struct lb_batch *b, char *why,
                          size_t whylen)
{
    struct where w = {why, whylen, NULL, 0, NULL};
    json_t *root = NULL;
    const json_t *arr;
    uint64_t prev = 0;
    size_t n;
    int rc;

    memset(b, 0, sizeof(*b));
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    rc = load(&w, buf, len, &root);
    if (rc < 0)
        goto fail;
    rc = LB_E_PARSE;
    if (get_version(&w, root) < 0 || get_id(&w, root, "agent", b->agent) < 0 ||
        get_boot(&w, root, b->boot) < 0 ||
        get_enum(&w, root, "clock", clock_names, 2, "clock", &b->synced) < 0 ||
        get_int(&w, root, "sent", 0, &b->sent) < 0)
        goto fail;
    b->has_prev = get_uint(&w, root, "prev", 1, &prev);
    if (b->has_prev < 0)
        goto fail;
    b->prev = prev;
    if (check_header(&w, b) < 0)
        goto fail;

    arr = json_object_get(root, "events");
    if (arr == NULL || !json_is_array(arr)) {
        reject(&w, "events", arr == NULL ? "missing" : "not an array");
        goto fail;
    }
    n = json_array_size(arr);
    if (n == 0) {
        reject(&w, "events", "empty");
        goto fail;
    }
    if (n > LB_WIRE_MAX_EVENTS) {
        reject(&w, "events", "%zu events, more than %d", n, LB_WIRE_MAX_EVENTS);
        rc = LB_E_TOOBIG;
        goto fail;
    }
    /* The one allocation of ours per message; jansson's tree is freed
     * below, so nothing of it is kept. */
    b->events = calloc(n, sizeof(*b->events));
    if (b->events == NULL) {
        reject(&w, NULL, "out of memory");
        rc = -ENOMEM;
        goto fail;
    }
    b->n = n;
    w.arr = "events";
    for (size_t i = 0; i < n; i++) {
        w.idx = i;
        if (decode_event(&w, json_array_get(arr, i), &b->events[i]) < 0 ||
            check_event(&w, &b->events[i]) < 0 || check_seq(&w, b, i) < 0)
            goto fail;
    }
    rc = 0;

fail:
    json_decref(root);
    if (rc < 0) {
        lb_batch_free(b);
        memset(b, 0, sizeof(*b));
    }
    return rc;
}

void lb_batch_free(struct lb_batch *b)
{
    if (b == NULL)
        return;
    free(b->events);
    b->events = NULL;
    b->n = 0;
}

int lb_wire_decode_ack(const char *buf, size_t len, char *agent, uint64_t *seq, char *why,
                       size_t whylen)
{
    struct where w = {why, whylen, NULL, 0, NULL};
    json_t *root = NULL;
    int rc;

    agent[0] = '\0';
    *seq = 0;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    rc = load(&w, buf, len, &root);
    if (rc < 0)
        goto fail;
    rc = LB_E_PARSE;
    /* seq 0 is valid: the server has stored nothing of this agent yet. */
    if (get_version(&w, root) < 0 || get_id(&w, root, "agent", agent) < 0 ||
        get_uint(&w, root, "seq", 0, seq) < 0)
        goto fail;
    rc = 0;

fail:
    json_decref(root);
    if (rc < 0) {
        agent[0] = '\0';
        *seq = 0;
    }
    return rc;
}

int lb_wire_decode_birth(const char *buf, size_t len, struct lb_birth *b, char *why,
                         size_t whylen)
{
    struct where w = {why, whylen, NULL, 0, NULL};
    json_t *root = NULL;
    const json_t *arr;
    size_t n;
    int rc;

    memset(b, 0, sizeof(*b));
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    rc = load(&w, buf, len, &root);
    if (rc < 0)
        goto fail;
    rc = LB_E_PARSE;
    if (get_version(&w, root) < 0 || get_id(&w, root, "agent", b->agent) < 0 ||
        get_boot(&w, root, b->boot) < 0 ||
        get_str(&w, root, "version", 0, b->version, sizeof(b->version)) < 0)
        goto fail;
    arr = json_object_get(root, "devices");
    if (arr == NULL || !json_is_array(arr)) {
        reject(&w, "devices", arr == NULL ? "missing" : "not an array");
        goto fail;
    }
    /* An agent with no device configured is odd but legal: it still
     * announces itself. */
    n = json_array_size(arr);
    if (n > LB_BIRTH_MAX_DEVICES) {
        reject(&w, "devices", "%zu devices, more than %d", n, LB_BIRTH_MAX_DEVICES);
        rc = LB_E_TOOBIG;
        goto fail;
    }
    b->ndevices = n;
    w.arr = "devices";
    for (size_t i = 0; i < n; i++) {
        w.idx = i;
        if (decode_device(&w, json_array_get(arr, i), &b->devices[i]) < 0)
            goto fail;
    }
    w.arr = NULL;
    if (check_birth(&w, b) < 0)
        goto fail;
    rc = 0;

fail:
    json_decref(root);
    if (rc < 0)
        memset(b, 0, sizeof(*b));
    return rc;
}

int lb_wire_decode_status(const char *buf, size_t len, char *agent, char *boot,
                          int *online, char *why, size_t whylen)
{
    struct where w = {why, whylen, NULL, 0, NULL};
    json_t *root = NULL;
    int rc;

    agent[0] = '\0';
    boot[0] = '\0';
    *online = 0;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    rc = load(&w, buf, len, &root);
    if (rc < 0)
        goto fail;
    rc = LB_E_PARSE;
    if (get_version(&w, root) < 0 || get_id(&w, root, "agent", agent) < 0 ||
        get_boot(&w, root, boot) < 0 ||
        get_enum(&w, root, "status", status_names, 2, "status", online) < 0)
        goto fail;
    rc = 0;

fail:
    json_decref(root);
    if (rc < 0) {
        agent[0] = '\0';
        boot[0] = '\0';
        *online = 0;
    }
    return rc;
}

/* Writes "<path>: <message>" into w->why, the path built from where we are
 * and key (either may be absent).  Every byte outside printable ASCII is
 * replaced, so a reason stays one clean log line whatever the input held
 * (jansson's error text quotes the offending input). */
static void reject(struct where *w, const char *key, const char *fmt, ...)
{
    char path[128], msg[192];
    size_t n = 0;
    va_list ap;

    if (w->why == NULL || w->whylen == 0)
        return;
    path[0] = '\0';
    if (w->arr != NULL)
        n = (size_t)snprintf(path, sizeof(path), "%s[%zu]", w->arr, w->idx);
    if (w->obj != NULL && n < sizeof(path))
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%s", n ? "." : "", w->obj);
    if (key != NULL && n < sizeof(path))
        snprintf(path + n, sizeof(path) - n, "%s%s", n ? "." : "", key);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path[0] != '\0')
        snprintf(w->why, w->whylen, "%s: %s", path, msg);
    else
        snprintf(w->why, w->whylen, "%s", msg);
    for (char *p = w->why; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    }
}

/* The rules jansson applies (RFC 3629): no overlong forms, no surrogates,
 * nothing above U+10FFFF.  The encoder checks strings with it before handing
 * them to jansson unchecked. */
static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;

    while (p < end) {
        unsigned c = *p++, need, cp;
        uint32_t min;

        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(end - p) < need)
            return 0;
        for (unsigned i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += need;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

/* Index of the name equal to the len bytes at s, or -1. */
static int name_index(const char *const *names, size_t count, const char *s, size_t len)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Parses buf into an object.  The size is checked first, so an oversized
 * message costs nothing to refuse. */
static int load(struct where *w, const char *buf, size_t len, json_t **root)
{
    json_error_t err;

    *root = NULL;
    if (len > LB_WIRE_MAX_BYTES) {
        reject(w, NULL, "message of %zu bytes, more than %d", len, LB_WIRE_MAX_BYTES);
        return LB_E_TOOBIG;
    }
    if (buf == NULL)
        buf = "";
    /* JSON_ALLOW_NUL lets "\u0000" through the parser so get_str can name
     * the field that holds it; duplicates are refused because which of two
     * "seq" keys counts would otherwise depend on the parser. */
    *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (*root == NULL) {
        if (json_error_code(&err) == json_error_out_of_memory) {
            reject(w, NULL, "out of memory");
            return -ENOMEM;
        }
        reject(w, NULL, "invalid JSON at byte %d: %s", err.position, err.text);
        return LB_E_PARSE;
    }
    if (!json_is_object(*root)) {
        reject(w, NULL, "not a JSON object");
        json_decref(*root);
        *root = NULL;
        return LB_E_PARSE;
    }
    return 0;
}

static int get_version(struct where *w, const json_t *o)
{
    int64_t v;

    if (get_int(w, o, "v", 0, &v) < 0)
        return LB_E_PARSE;
    if (v != LB_WIRE_VERSION) {
        reject(w, "v", "unsupported version %" PRId64, v);
        return LB_E_PARSE;
    }
    return 0;
}

/* Returns 1 when the integer is there, 0 when an optional one is absent or
 * null, LB_E_PARSE otherwise.  Reals are refused even when integral: a
 * count of 5.0 parts says the sender does not follow the contract. */
static int get_int(struct where *w, const json_t *o, const char *key, int opt,
                   int64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL || (opt && json_is_null(v))) {
        if (opt)
            return 0;
        reject(w, key, "missing");
        return LB_E_PARSE;
    }
    if (!json_is_integer(v)) {
        reject(w, key, "not an integer");
        return LB_E_PARSE;
    }
    *out = (int64_t)json_integer_value(v);
    return 1;
}

/* get_int for the fields kept unsigned: refuses negative values here,
 * before the conversion would turn them into huge ones. */
static int get_uint(struct where *w, const json_t *o, const char *key, int opt,
                    uint64_t *out)
{
    int64_t v;
    int rc = get_int(w, o, key, opt, &v);

    if (rc <= 0)
        return rc;
    if (v < 0) {
        reject(w, key, "negative");
        return LB_E_PARSE;
    }
    *out = (uint64_t)v;
    return 1;
}

/* Copies a string of at most cap - 1 bytes into dst (which the caller has
 * zeroed or will not read when absent).  Returns 1, 0 when an optional
 * string is absent or null, or LB_E_PARSE. */
static int get_str(struct where *w, const json_t *o, const char *key, int opt, char *dst,
                   size_t cap)
{
    const json_t *v = json_object_get(o, key);
    const char *s;
    size_t len;

    if (v == NULL || (opt && json_is_null(v))) {
        dst[0] = '\0';
        if (opt)
            return 0;
        reject(w, key, "missing");
        return LB_E_PARSE;
    }
    if (!json_is_string(v)) {
        reject(w, key, "not a string");
        return LB_E_PARSE;
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (len >= cap) {
        reject(w, key, "longer than %zu bytes", cap - 1);
        return LB_E_PARSE;
    }
    /* The parser lets "\u0000" through (see load); a C string would end
     * there and silently lose the rest. */
    if (memchr(s, '\0', len) != NULL) {
        reject(w, key, "contains a NUL byte");
        return LB_E_PARSE;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 1;
}

static int get_id(struct where *w, const json_t *o, const char *key, char *dst)
{
    if (get_str(w, o, key, 0, dst, LB_ID_MAX + 1) < 0)
        return LB_E_PARSE;
    if (!lb_id_valid(dst)) {
        reject(w, key, "not a valid id ([A-Za-z0-9_.-]{1,64})");
        return LB_E_PARSE;
    }
    return 0;
}

static int get_boot(struct where *w, const json_t *o, char *dst)
{
    if (get_str(w, o, "boot", 0, dst, LB_BOOT_LEN + 1) < 0)
        return LB_E_PARSE;
    if (!lb_boot_valid(dst)) {
        reject(w, "boot", "not 16 hex digits");
        return LB_E_PARSE;
    }
    return 0;
}

/* A required string that must be one of names; OUT: its index. */
static int get_enum(struct where *w, const json_t *o, const char *key,
                    const char *const *names, size_t count, const char *what, int *out)
{
    const json_t *v = json_object_get(o, key);
    int i;

    if (v == NULL || !json_is_string(v)) {
        reject(w, key, v == NULL ? "missing" : "not a string");
        return LB_E_PARSE;
    }
    i = name_index(names, count, json_string_value(v), json_string_length(v));
    if (i < 0) {
        reject(w, key, "unknown %s \"%.32s\"", what, json_string_value(v));
        return LB_E_PARSE;
    }
    *out = i;
    return 0;
}

/* Fills e (zeroed by the caller) from one element of "events"; the rule
 * checks are check_event's. */
static int decode_event(struct where *w, const json_t *o, struct lb_event *e)
{
    int type, k;

    if (!json_is_object(o)) {
        reject(w, NULL, "not an object");
        return LB_E_PARSE;
    }
    if (get_uint(w, o, "seq", 0, &e->seq) < 0 || get_int(w, o, "t", 0, &e->t) < 0 ||
        get_int(w, o, "age", 0, &e->age) < 0 || get_id(w, o, "dev", e->dev) < 0 ||
        get_enum(w, o, "type", type_names, TYPE_COUNT, "event type", &type) < 0)
        return LB_E_PARSE;
    e->type = (enum lb_event_type)type;
    switch (e->type) {
    case LB_EV_COUNT:
        return decode_count(w, o, &e->u.count);
    case LB_EV_STATE:
        if (get_enum(w, o, "state", state_names, LB_ST_COUNT, "state", &k) < 0 ||
            get_str(w, o, "reason", 1, e->u.state.reason, sizeof(e->u.state.reason)) < 0)
            return LB_E_PARSE;
        e->u.state.state = (enum lb_state)k;
        return 0;
    case LB_EV_SCAN:
        if (get_enum(w, o, "kind", scan_names, LB_SCAN_COUNT, "scan kind", &k) < 0 ||
            get_str(w, o, "code", 0, e->u.scan.code, sizeof(e->u.scan.code)) < 0 ||
            get_str(w, o, "value", 1, e->u.scan.value, sizeof(e->u.scan.value)) < 0)
            return LB_E_PARSE;
        e->u.scan.kind = (enum lb_scan_kind)k;
        e->u.scan.has_qty = get_int(w, o, "qty", 1, &e->u.scan.qty);
        return e->u.scan.has_qty < 0 ? LB_E_PARSE : 0;
    case LB_EV_NOTE:
        if (get_str(w, o, "code", 0, e->u.note.code, sizeof(e->u.note.code)) < 0 ||
            get_str(w, o, "text", 0, e->u.note.text, sizeof(e->u.note.text)) < 0)
            return LB_E_PARSE;
        return 0;
    }
    return LB_E_PARSE; /* not reached: get_enum returned a known type */
}

static int decode_count(struct where *w, const json_t *o, struct lb_count *c)
{
    static const char *const keys[] = {"good", "scrap", "total"};
    static const unsigned bits[] = {LB_RAW_GOOD, LB_RAW_SCRAP, LB_RAW_TOTAL};
    uint64_t *const dst[] = {&c->raw_good, &c->raw_scrap, &c->raw_total};
    const json_t *raw;
    int rc = LB_E_PARSE;

    if (get_int(w, o, "good", 0, &c->good) < 0 ||
        get_int(w, o, "scrap", 0, &c->scrap) < 0 ||
        get_int(w, o, "span", 0, &c->span) < 0)
        goto fail;
    /* "raw" is for audit only, so it and each of its members may be
     * missing; what is there must still be well formed. */
    raw = json_object_get(o, "raw");
    if (raw != NULL && !json_is_null(raw)) {
        if (!json_is_object(raw)) {
            reject(w, "raw", "not an object");
            goto fail;
        }
        w->obj = "raw";
        for (size_t i = 0; i < 3; i++) {
            int got = get_uint(w, raw, keys[i], 1, dst[i]);

            if (got < 0)
                goto fail;
            if (got > 0)
                c->raw_mask |= bits[i];
        }
    }
    rc = 0;

fail:
    w->obj = NULL;
    return rc;
}

static int decode_device(struct where *w, const json_t *o, struct lb_birth_dev *d)
{
    if (!json_is_object(o)) {
        reject(w, NULL, "not an object");
        return LB_E_PARSE;
    }
    if (get_id(w, o, "dev", d->dev) < 0 ||
        get_str(w, o, "profile", 0, d->profile, sizeof(d->profile)) < 0 ||
        get_int(w, o, "ideal_cycle_ms", 0, &d->ideal_cycle_ms) < 0)
        return LB_E_PARSE;
    return 0;
}

/* ---- rule checks, shared by decoders and encoders ---- */

int lb_wire_check_event(const struct lb_event *e, char *why, size_t whylen)
{
    struct where w = {why, whylen, NULL, 0, NULL};

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    return check_event(&w, e);
}

/* A string held in a struct: NUL-terminated within its buffer and valid
 * UTF-8 (strings from the decoder always are; the encoder's may not be). */
static int check_str(struct where *w, const char *key, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap) {
        reject(w, key, "not NUL-terminated within %zu bytes", cap);
        return LB_E_RANGE;
    }
    if (!utf8_valid(s, n)) {
        reject(w, key, "not valid UTF-8");
        return LB_E_RANGE;
    }
    return 0;
}

static int check_header(struct where *w, const struct lb_batch *b)
{
    if (!lb_id_valid(b->agent)) {
        reject(w, "agent", "not a valid id ([A-Za-z0-9_.-]{1,64})");
        return LB_E_RANGE;
    }
    if (!lb_boot_valid(b->boot)) {
        reject(w, "boot", "not 16 hex digits");
        return LB_E_RANGE;
    }
    if (b->synced != 0 && b->synced != 1) {
        reject(w, "clock", "neither synced nor unsynced");
        return LB_E_RANGE;
    }
    /* Negative times are refused so that consumers can subtract ages and
     * spans without meeting INT64_MIN. */
    if (b->sent < 0) {
        reject(w, "sent", "negative");
        return LB_E_RANGE;
    }
    if (b->has_prev && b->prev > (uint64_t)INT64_MAX) {
        reject(w, "prev", "above 2^63-1");
        return LB_E_RANGE;
    }
    return 0;
}

static int check_event(struct where *w, const struct lb_event *e)
{
    if (e->seq < 1 || e->seq > (uint64_t)INT64_MAX) {
        reject(w, "seq", "out of range 1..2^63-1");
        return LB_E_RANGE;
    }
    if (e->t < 0 || e->age < 0) {
        reject(w, e->t < 0 ? "t" : "age", "negative");
        return LB_E_RANGE;
    }
    if (!lb_id_valid(e->dev)) {
        reject(w, "dev", "not a valid id ([A-Za-z0-9_.-]{1,64})");
        return LB_E_RANGE;
    }
    switch (e->type) {
    case LB_EV_COUNT: {
        const struct lb_count *c = &e->u.count;
        const char *bad = c->good < 0 ? "good" : c->scrap < 0 ? "scrap" : "span";

        if (c->good < 0 || c->scrap < 0 || c->span < 0) {
            reject(w, bad, "negative");
            return LB_E_RANGE;
        }
        if (c->raw_mask & ~(unsigned)(LB_RAW_GOOD | LB_RAW_SCRAP | LB_RAW_TOTAL)) {
            reject(w, "raw", "unknown raw_mask bits 0x%x", c->raw_mask);
            return LB_E_RANGE;
        }
        if (((c->raw_mask & LB_RAW_GOOD) && c->raw_good > (uint64_t)INT64_MAX) ||
            ((c->raw_mask & LB_RAW_SCRAP) && c->raw_scrap > (uint64_t)INT64_MAX) ||
            ((c->raw_mask & LB_RAW_TOTAL) && c->raw_total > (uint64_t)INT64_MAX)) {
            reject(w, "raw", "a value above 2^63-1");
            return LB_E_RANGE;
        }
        return 0;
    }
    case LB_EV_STATE:
        if ((unsigned)e->u.state.state >= LB_ST_COUNT) {
            reject(w, "state", "unknown state %d", (int)e->u.state.state);
            return LB_E_RANGE;
        }
        return check_str(w, "reason", e->u.state.reason, sizeof(e->u.state.reason));
    case LB_EV_SCAN:
        if ((unsigned)e->u.scan.kind >= LB_SCAN_COUNT) {
            reject(w, "kind", "unknown scan kind %d", (int)e->u.scan.kind);
            return LB_E_RANGE;
        }
        if (e->u.scan.has_qty && e->u.scan.qty < 0) {
            reject(w, "qty", "negative");
            return LB_E_RANGE;
        }
        if (check_str(w, "code", e->u.scan.code, sizeof(e->u.scan.code)) < 0 ||
            check_str(w, "value", e->u.scan.value, sizeof(e->u.scan.value)) < 0)
            return LB_E_RANGE;
        return 0;
    case LB_EV_NOTE:
        if (check_str(w, "code", e->u.note.code, sizeof(e->u.note.code)) < 0 ||
            check_str(w, "text", e->u.note.text, sizeof(e->u.note.text)) < 0)
            return LB_E_RANGE;
        return 0;
    }
    reject(w, "type", "unknown event type %d", (int)e->type);
    return LB_E_RANGE;
}

/* seq strictly increases within a batch, and "prev" (docs/wire.md) lies
 * below the first one: the server's high-water mark relies on both. */
static int check_seq(struct where *w, const struct lb_batch *b, size_t i)
{
    uint64_t seq = b->events[i].seq;

    if (i == 0 && b->has_prev && b->prev >= seq) {
        reject(w, "seq", "%" PRIu64 " not above prev %" PRIu64, seq, b->prev);
        return LB_E_RANGE;
    }
    if (i > 0 && seq <= b->events[i - 1].seq) {
        reject(w, "seq", "%" PRIu64 " not above the previous event's %" PRIu64, seq,
               b->events[i - 1].seq);
        return LB_E_RANGE;
    }
    return 0;
}

static int check_birth(struct where *w, const struct lb_birth *b)
{
    if (!lb_id_valid(b->agent)) {
        reject(w, "agent", "not a valid id ([A-Za-z0-9_.-]{1,64})");
        return LB_E_RANGE;
    }
    if (!lb_boot_valid(b->boot)) {
        reject(w, "boot", "not 16 hex digits");
        return LB_E_RANGE;
    }
    if (check_str(w, "version", b->version, sizeof(b->version)) < 0)
        return LB_E_RANGE;
    if (b->ndevices > LB_BIRTH_MAX_DEVICES) {
        reject(w, "devices", "%zu devices, more than %d", b->ndevices,
               LB_BIRTH_MAX_DEVICES);
        return LB_E_RANGE;
    }
    w->arr = "devices";
    for (size_t i = 0; i < b->ndevices; i++) {
        const struct lb_birth_dev *d = &b->devices[i];

        w->idx = i;
        if (!lb_id_valid(d->dev)) {
            reject(w, "dev", "not a valid id ([A-Za-z0-9_.-]{1,64})");
            goto fail;
        }
        if (check_str(w, "profile", d->profile, sizeof(d->profile)) < 0)
            goto fail;
        if (d->ideal_cycle_ms < 0) {
            reject(w, "ideal_cycle_ms", "negative");
            goto fail;
        }
        /* A dev is unique in a plant (design.md), so surely within one
         * agent; 256 devices make this quadratic loop at most 32k compares. */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(b->devices[j].dev, d->dev) == 0) {
                reject(w, "dev", "duplicate of devices[%zu]", j);
                goto fail;
            }
        }
    }
    w->arr = NULL;
    return 0;

fail:
    w->arr = NULL;
    return LB_E_RANGE;
}

/* ---- encoding ---- */

int lb_wire_encode_events(const struct lb_batch *b, char **json, size_t *len)
{
    struct where w = {NULL, 0, NULL, 0, NULL};
    json_t *root = NULL, *arr = NULL;
    int rc;

    *json = NULL;
    *len = 0;
    if (b->n > LB_WIRE_MAX_EVENTS) {
        rc = LB_E_TOOBIG;
        goto fail;
    }
    rc = LB_E_RANGE;
    if (b->n == 0 || b->events == NULL || check_header(&w, b) < 0)
        goto fail;
    for (size_t i = 0; i < b->n; i++) {
        if (check_event(&w, &b->events[i]) < 0 || check_seq(&w, b, i) < 0)
            goto fail;
    }

    /* Keys go in the order of design.md; jansson keeps insertion order. */
    rc = -ENOMEM;
    root = json_object();
    if (set(root, "v", json_integer(LB_WIRE_VERSION)) < 0 ||
        set(root, "agent", str_json(b->agent)) < 0 ||
        set(root, "boot", str_json(b->boot)) < 0 ||
        set(root, "clock", json_string_nocheck(clock_names[b->synced])) < 0 ||
        set(root, "sent", json_integer(b->sent)) < 0)
        goto fail;
    if (b->has_prev && set(root, "prev", json_integer((json_int_t)b->prev)) < 0)
        goto fail;
    arr = json_array();
    if (arr == NULL)
        goto fail;
    for (size_t i = 0; i < b->n; i++) {
        if (json_array_append_new(arr, event_json(&b->events[i])) < 0)
            goto fail;
    }
    rc = set(root, "events", arr);
    arr = NULL; /* stolen by set, even when it failed */
    if (rc < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = dump(root, json, len);

fail:
    json_decref(arr);
    json_decref(root);
    return rc;
}

int lb_wire_encode_ack(const char *agent, uint64_t seq, char **json, size_t *len)
{
    json_t *root = NULL;
    int rc;

    *json = NULL;
    *len = 0;
    rc = LB_E_RANGE;
    if (!lb_id_valid(agent) || seq > (uint64_t)INT64_MAX)
        goto fail;
    rc = -ENOMEM;
    root = json_object();
    if (set(root, "v", json_integer(LB_WIRE_VERSION)) < 0 ||
        set(root, "agent", str_json(agent)) < 0 ||
        set(root, "seq", json_integer((json_int_t)seq)) < 0)
        goto fail;
    rc = dump(root, json, len);

fail:
    json_decref(root);
    return rc;
}

int lb_wire_encode_birth(const struct lb_birth *b, char **json, size_t *len)
{
    struct where w = {NULL, 0, NULL, 0, NULL};
    json_t *root = NULL, *arr = NULL, *d = NULL;
    int rc;

    *json = NULL;
    *len = 0;
    rc = LB_E_RANGE;
    if (check_birth(&w, b) < 0)
        goto fail;
    rc = -ENOMEM;
    root = json_object();
    if (set(root, "v", json_integer(LB_WIRE_VERSION)) < 0 ||
        set(root, "agent", str_json(b->agent)) < 0 ||
        set(root, "boot", str_json(b->boot)) < 0 ||
        set(root, "version", str_json(b->version)) < 0)
        goto fail;
    arr = json_array();
    if (arr == NULL)
        goto fail;
    for (size_t i = 0; i < b->ndevices; i++) {
        d = json_object();
        if (set(d, "dev", str_json(b->devices[i].dev)) < 0 ||
            set(d, "profile", str_json(b->devices[i].profile)) < 0 ||
            set(d, "ideal_cycle_ms", json_integer(b->devices[i].ideal_cycle_ms)) < 0)
            goto fail;
        rc = json_array_append_new(arr, d);
        d = NULL; /* stolen */
        if (rc < 0) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    rc = set(root, "devices", arr);
    arr = NULL; /* stolen */
    if (rc < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = dump(root, json, len);

fail:
    json_decref(d);
    json_decref(arr);
    json_decref(root);
    return rc;
}

int lb_wire_encode_status(const char *agent, const char *boot, int online, char **json,
                          size_t *len)
{
    json_t *root = NULL;
    int rc;

    *json = NULL;
    *len = 0;
    rc = LB_E_RANGE;
    if (!lb_id_valid(agent) || !lb_boot_valid(boot))
        goto fail;
    rc = -ENOMEM;
    root = json_object();
    if (set(root, "v", json_integer(LB_WIRE_VERSION)) < 0 ||
        set(root, "agent", str_json(agent)) < 0 ||
        set(root, "boot", str_json(boot)) < 0 ||
        set(root, "status", json_string_nocheck(status_names[online != 0])) < 0)
        goto fail;
    rc = dump(root, json, len);

fail:
    json_decref(root);
    return rc;
}

/* json_object_set_new with our literal keys; it takes v (also NULL, and
 * also when it fails) and fails when o is NULL, so a chain of set() calls
 * needs a single check. */
static int set(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new_nocheck(o, key, v);
}

/* Strings reaching here passed check_str or an id check: valid UTF-8, so
 * jansson need not check them again. */
static json_t *str_json(const char *s)
{
    return json_stringn_nocheck(s, strlen(s));
}

static json_t *event_json(const struct lb_event *e)
{
    json_t *o = json_object(), *raw = NULL;
    const struct lb_count *c = &e->u.count;
    const struct lb_scan *s = &e->u.scan;
    int rc;

    if (set(o, "seq", json_integer((json_int_t)e->seq)) < 0 ||
        set(o, "t", json_integer(e->t)) < 0 || set(o, "age", json_integer(e->age)) < 0 ||
        set(o, "dev", str_json(e->dev)) < 0 ||
        set(o, "type", json_string_nocheck(type_names[e->type])) < 0)
        goto fail;
    switch (e->type) {
    case LB_EV_COUNT:
        if (set(o, "good", json_integer(c->good)) < 0 ||
            set(o, "scrap", json_integer(c->scrap)) < 0 ||
            set(o, "span", json_integer(c->span)) < 0)
            goto fail;
        raw = json_object();
        if (raw == NULL ||
            ((c->raw_mask & LB_RAW_GOOD) &&
             set(raw, "good", json_integer((json_int_t)c->raw_good)) < 0) ||
            ((c->raw_mask & LB_RAW_SCRAP) &&
             set(raw, "scrap", json_integer((json_int_t)c->raw_scrap)) < 0) ||
            ((c->raw_mask & LB_RAW_TOTAL) &&
             set(raw, "total", json_integer((json_int_t)c->raw_total)) < 0))
            goto fail;
        rc = set(o, "raw", raw);
        raw = NULL; /* stolen */
        if (rc < 0)
            goto fail;
        break;
    case LB_EV_STATE:
        if (set(o, "state", json_string_nocheck(state_names[e->u.state.state])) < 0)
            goto fail;
        if (e->u.state.reason[0] != '\0' &&
            set(o, "reason", str_json(e->u.state.reason)) < 0)
            goto fail;
        break;
    case LB_EV_SCAN:
        if (set(o, "kind", json_string_nocheck(scan_names[s->kind])) < 0 ||
            set(o, "code", str_json(s->code)) < 0 ||
            set(o, "value", s->value[0] ? str_json(s->value) : json_null()) < 0 ||
            set(o, "qty", s->has_qty ? json_integer(s->qty) : json_null()) < 0)
            goto fail;
        break;
    case LB_EV_NOTE:
        if (set(o, "code", str_json(e->u.note.code)) < 0 ||
            set(o, "text", str_json(e->u.note.text)) < 0)
            goto fail;
        break;
    }
    return o;

fail:
    json_decref(raw);
    json_decref(o);
    return NULL;
}

/* Appends jansson's output, refusing to grow past the contract's size so a
 * batch that cannot be sent is never built in full. */
static int dump_cb(const char *s, size_t n, void *data)
{
    struct outbuf *ob = data;
    char *np;
    size_t ncap;

    if (n > LB_WIRE_MAX_BYTES - ob->len) {
        ob->toobig = 1;
        return -1;
    }
    if (ob->len + n + 1 > ob->cap) {
        ncap = ob->cap ? ob->cap : 4096;
        while (ncap < ob->len + n + 1)
            ncap *= 2;
        if (ncap > LB_WIRE_MAX_BYTES + 1)
            ncap = LB_WIRE_MAX_BYTES + 1;
        np = realloc(ob->p, ncap);
        if (np == NULL)
            return -1;
        ob->p = np;
        ob->cap = ncap;
    }
    memcpy(ob->p + ob->len, s, n);
    ob->len += n;
    return 0;
}

/* OUT: *json (malloc'd, NUL-terminated) and *len.  Returns 0, -ENOMEM or
 * LB_E_TOOBIG. */
static int dump(json_t *root, char **json, size_t *len)
{
    struct outbuf ob = {NULL, 0, 0, 0};
    int rc;

    if (json_dump_callback(root, dump_cb, &ob, JSON_COMPACT) < 0) {
        rc = ob.toobig ? LB_E_TOOBIG : -ENOMEM;
        goto fail;
    }
    if (ob.p == NULL) { /* jansson wrote nothing: cannot happen for an object */
        rc = -ENOMEM;
        goto fail;
    }
    ob.p[ob.len] = '\0';
    *json = ob.p;
    *len = ob.len;
    return 0;

fail:
    free(ob.p);
    return rc;
}

/* ---- topics ---- */

int lb_topic_make(char *buf, size_t size, const char *prefix, const char *site,
                  const char *agent, const char *leaf)
{
    int n;

    if (size > 0)
        buf[0] = '\0';
    /* "+" in place of site, agent or leaf builds a subscription filter. */
    if (prefix == NULL || prefix[0] == '\0' || prefix[strlen(prefix) - 1] == '/' ||
        strpbrk(prefix, "+#") != NULL)
        return LB_E_RANGE;
    if (site == NULL || (strcmp(site, "+") != 0 && !lb_id_valid(site)))
        return LB_E_RANGE;
    if (agent == NULL || (strcmp(agent, "+") != 0 && !lb_id_valid(agent)))
        return LB_E_RANGE;
    if (leaf == NULL || (strcmp(leaf, "+") != 0 &&
                         name_index(leaf_names, LEAF_COUNT, leaf, strlen(leaf)) < 0))
        return LB_E_RANGE;
    n = snprintf(buf, size, "%s/%s/%s/%s", prefix, site, agent, leaf);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return LB_E_TOOBIG;
    }
    return 0;
}

int lb_topic_split(const char *topic, const char *prefix, char *site, char *agent,
                   char *leaf)
{
    const char *p, *slash;
    size_t plen, n;
    int rc = LB_E_PARSE;

    site[0] = agent[0] = leaf[0] = '\0';
    if (topic == NULL || prefix == NULL || prefix[0] == '\0')
        goto fail;
    plen = strlen(prefix);
    if (strncmp(topic, prefix, plen) != 0 || topic[plen] != '/')
        goto fail;
    p = topic + plen + 1;

    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : 0;
    if (slash == NULL || n == 0 || n > LB_ID_MAX)
        goto fail;
    memcpy(site, p, n);
    site[n] = '\0';
    p = slash + 1;

    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : 0;
    if (slash == NULL || n == 0 || n > LB_ID_MAX)
        goto fail;
    memcpy(agent, p, n);
    agent[n] = '\0';
    p = slash + 1;

    /* lb_id_valid also refuses the wildcards "+" and "#". */
    if (!lb_id_valid(site) || !lb_id_valid(agent))
        goto fail;
    if (name_index(leaf_names, LEAF_COUNT, p, strlen(p)) < 0)
        goto fail;
    strcpy(leaf, p); /* a known leaf name, at most 6 bytes of the 16 */
    return 0;

fail:
    site[0] = agent[0] = leaf[0] = '\0';
    return rc;
}
