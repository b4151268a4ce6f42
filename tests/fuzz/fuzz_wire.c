/*
 * libFuzzer target for the wire codec.  Every decoder sees every input; what
 * one accepts must encode again, decode to the same values, and encode to the
 * same bytes a second time (the encoder's output is canonical).  A rejection
 * must come with a reason.  The input, as a string, also goes through
 * lb_topic_split, and an accepted topic must be rebuilt exactly by
 * lb_topic_make.  Any broken promise aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/error.h"
#include "linebeat/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) __attribute__((noreturn));
static int event_equal(const struct lb_event *a, const struct lb_event *b);
static int batch_equal(const struct lb_batch *a, const struct lb_batch *b);
static void fuzz_events(const char *buf, size_t len);
static void fuzz_ack(const char *buf, size_t len);
static void fuzz_birth(const char *buf, size_t len);
static void fuzz_status(const char *buf, size_t len);
static void fuzz_topic(const char *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;

    fuzz_events(buf, size);
    fuzz_ack(buf, size);
    fuzz_birth(buf, size);
    fuzz_status(buf, size);
    fuzz_topic(buf, size);
    return 0;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_wire: %s: %s\n", what, detail ? detail : "");
    abort();
}

static int event_equal(const struct lb_event *a, const struct lb_event *b)
{
    if (a->seq != b->seq || a->t != b->t || a->age != b->age || strcmp(a->dev, b->dev) ||
        a->type != b->type)
        return 0;
    switch (a->type) {
    case LB_EV_COUNT: {
        const struct lb_count *x = &a->u.count, *y = &b->u.count;

        return x->good == y->good && x->scrap == y->scrap && x->span == y->span &&
               x->raw_mask == y->raw_mask &&
               (!(x->raw_mask & LB_RAW_GOOD) || x->raw_good == y->raw_good) &&
               (!(x->raw_mask & LB_RAW_SCRAP) || x->raw_scrap == y->raw_scrap) &&
               (!(x->raw_mask & LB_RAW_TOTAL) || x->raw_total == y->raw_total);
    }
    case LB_EV_STATE:
        return a->u.state.state == b->u.state.state &&
               strcmp(a->u.state.reason, b->u.state.reason) == 0;
    case LB_EV_SCAN:
        return a->u.scan.kind == b->u.scan.kind &&
               strcmp(a->u.scan.code, b->u.scan.code) == 0 &&
               strcmp(a->u.scan.value, b->u.scan.value) == 0 &&
               a->u.scan.has_qty == b->u.scan.has_qty &&
               (!a->u.scan.has_qty || a->u.scan.qty == b->u.scan.qty);
    case LB_EV_NOTE:
        return strcmp(a->u.note.code, b->u.note.code) == 0 &&
               strcmp(a->u.note.text, b->u.note.text) == 0;
    }
    return 0;
}

static int batch_equal(const struct lb_batch *a, const struct lb_batch *b)
{
    if (strcmp(a->agent, b->agent) || strcmp(a->boot, b->boot) ||
        a->synced != b->synced || a->sent != b->sent || a->has_prev != b->has_prev ||
        (a->has_prev && a->prev != b->prev) || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!event_equal(&a->events[i], &b->events[i]))
            return 0;
    }
    return 1;
}

static void fuzz_events(const char *buf, size_t len)
{
    struct lb_batch b1, b2;
    char why[256], *j1 = NULL, *j2 = NULL;
    size_t l1, l2;
    int rc;

    if (lb_wire_decode_events(buf, len, &b1, why, sizeof(why)) != 0) {
        if (why[0] == '\0' || b1.events != NULL || b1.n != 0)
            die("events rejected without a reason or not left empty", why);
        return;
    }
    if (b1.n == 0 || b1.n > LB_WIRE_MAX_EVENTS)
        die("events accepted with a bad count", NULL);
    for (size_t i = 0; i < b1.n; i++) {
        if (lb_wire_check_event(&b1.events[i], why, sizeof(why)) != 0)
            die("decoded event fails lb_wire_check_event", why);
    }
    rc = lb_wire_encode_events(&b1, &j1, &l1);
    /* Re-encoding may grow a message that was near the size limit (null
     * "value" and "qty", an empty "raw" are written out); nothing else may
     * stop it. */
    if (rc == LB_E_TOOBIG && len > LB_WIRE_MAX_BYTES / 2) {
        lb_batch_free(&b1);
        return;
    }
    if (rc != 0)
        die("accepted events do not encode", lb_strerror(rc));
    if (lb_wire_decode_events(j1, l1, &b2, why, sizeof(why)) != 0)
        die("encoded events do not decode", why);
    if (!batch_equal(&b1, &b2))
        die("events changed in a round trip", j1);
    if (lb_wire_encode_events(&b2, &j2, &l2) != 0 || l1 != l2 || memcmp(j1, j2, l1) != 0)
        die("events encoding not canonical", j1);
    free(j1);
    free(j2);
    lb_batch_free(&b1);
    lb_batch_free(&b2);
}

static void fuzz_ack(const char *buf, size_t len)
{
    char agent[LB_ID_MAX + 1], agent2[LB_ID_MAX + 1], why[256], *json;
    uint64_t seq, seq2;
    size_t jlen;

    if (lb_wire_decode_ack(buf, len, agent, &seq, why, sizeof(why)) != 0) {
        if (why[0] == '\0')
            die("ack rejected without a reason", NULL);
        return;
    }
    if (lb_wire_encode_ack(agent, seq, &json, &jlen) != 0)
        die("accepted ack does not encode", agent);
    if (lb_wire_decode_ack(json, jlen, agent2, &seq2, why, sizeof(why)) != 0 ||
        strcmp(agent, agent2) != 0 || seq != seq2)
        die("ack changed in a round trip", json);
    free(json);
}

static void fuzz_birth(const char *buf, size_t len)
{
    /* Static: a birth holds 256 devices, too big for every run's stack. */
    static struct lb_birth b1, b2;
    char why[256], *json;
    size_t jlen;

    if (lb_wire_decode_birth(buf, len, &b1, why, sizeof(why)) != 0) {
        if (why[0] == '\0')
            die("birth rejected without a reason", NULL);
        return;
    }
    if (lb_wire_encode_birth(&b1, &json, &jlen) != 0)
        die("accepted birth does not encode", b1.agent);
    if (lb_wire_decode_birth(json, jlen, &b2, why, sizeof(why)) != 0)
        die("encoded birth does not decode", why);
    /* Both were zeroed before filling, so the bytes compare. */
    if (memcmp(&b1, &b2, sizeof(b1)) != 0)
        die("birth changed in a round trip", json);
    free(json);
}

static void fuzz_status(const char *buf, size_t len)
{
    char agent[LB_ID_MAX + 1], boot[LB_BOOT_LEN + 1], why[256], *json;
    char agent2[LB_ID_MAX + 1], boot2[LB_BOOT_LEN + 1];
    int online, online2;
    size_t jlen;

    if (lb_wire_decode_status(buf, len, agent, boot, &online, why, sizeof(why)) != 0) {
        if (why[0] == '\0')
            die("status rejected without a reason", NULL);
        return;
    }
    if (lb_wire_encode_status(agent, boot, online, &json, &jlen) != 0)
        die("accepted status does not encode", agent);
    if (lb_wire_decode_status(json, jlen, agent2, boot2, &online2, why, sizeof(why)) !=
            0 ||
        strcmp(agent, agent2) != 0 || strcmp(boot, boot2) != 0 || online != online2)
        die("status changed in a round trip", json);
    free(json);
}

static void fuzz_topic(const char *buf, size_t len)
{
    static const char *const prefixes[] = {"linebeat/v1", "a"};
    char topic[512], again[512], site[LB_ID_MAX + 1], agent[LB_ID_MAX + 1], leaf[16];

    if (len >= sizeof(topic))
        return;
    memcpy(topic, buf, len);
    topic[len] = '\0';
    for (size_t i = 0; i < 2; i++) {
        if (lb_topic_split(topic, prefixes[i], site, agent, leaf) != 0)
            continue;
        if (lb_topic_make(again, sizeof(again), prefixes[i], site, agent, leaf) != 0 ||
            strcmp(again, topic) != 0)
            die("topic changed in a round trip", topic);
    }
}
