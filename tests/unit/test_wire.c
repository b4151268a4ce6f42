/*
 * Unit tests of the v1 wire codec (common/wire.c): round trips, the exact
 * JSON, every rejection rule with its reason, truncated and oversized
 * input, the event limits, ack/birth/status and the topic helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linebeat/error.h"
#include "linebeat/wire.h"

/* The header of design.md's example and one count event, to build
 * malformed messages from. */
#define HDR                                                                              \
    "{\"v\":1,\"agent\":\"cell-3\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":\"synced\","  \
    "\"sent\":1764370000123,"
#define EVH      "{\"seq\":1,\"t\":1764369999000,\"age\":1123,\"dev\":\"press-3\","
#define EV_COUNT EVH "\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1000}"
#define MSG1(ev) HDR "\"events\":[" ev "]}"

#define S65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct bad_case {
    const char *json;
    const char *why; /* expected substring of the reason */
};

static void fill_sample(struct lb_batch *b, struct lb_event *ev);
static void assert_event_equal(const struct lb_event *a, const struct lb_event *b);
static void assert_batch_equal(const struct lb_batch *a, const struct lb_batch *b);
static void assert_rejected(const char *json, int want_rc, const char *want_why);
static char *many_events_json(size_t n);

static void fill_sample(struct lb_batch *b, struct lb_event *ev)
{
    memset(b, 0, sizeof(*b));
    memset(ev, 0, 9 * sizeof(*ev));
    strcpy(b->agent, "cell-3");
    strcpy(b->boot, "6F1c2a90d4e8b713");
    b->synced = 0;
    b->sent = 1764370000123;
    b->has_prev = 1;
    b->prev = 1200;
    for (int i = 0; i < 9; i++) {
        ev[i].seq = 1201 + (uint64_t)i * 3;
        ev[i].t = 1764369999000 + i;
        ev[i].age = 1123 - i;
        snprintf(ev[i].dev, sizeof(ev[i].dev), "press-%d", i);
    }
    ev[0].type = LB_EV_COUNT; /* every raw value */
    ev[0].u.count = (struct lb_count){
        5, 1, 1000, LB_RAW_GOOD | LB_RAW_SCRAP | LB_RAW_TOTAL, 123456, 12, 4294967295u};
    ev[1].type = LB_EV_COUNT; /* no raw value */
    ev[1].u.count = (struct lb_count){0, 0, 0, 0, 0, 0, 0};
    ev[2].type = LB_EV_COUNT; /* a subset */
    ev[2].u.count =
        (struct lb_count){7, 0, 2000, LB_RAW_SCRAP, 0, (uint64_t)INT64_MAX, 0};
    ev[3].type = LB_EV_STATE;
    ev[3].u.state.state = LB_ST_PLANNED_STOP;
    strcpy(ev[3].u.state.reason, "jam");
    ev[4].type = LB_EV_STATE; /* reason absent */
    ev[4].u.state.state = LB_ST_OFFLINE;
    ev[5].type = LB_EV_SCAN;
    ev[5].u.scan.kind = LB_SCAN_SCRAP;
    strcpy(ev[5].u.scan.code, "SCRAP-7 \"x\"\\ \xc3\xa9");
    strcpy(ev[5].u.scan.value, "7");
    ev[5].u.scan.has_qty = 1;
    ev[5].u.scan.qty = 3;
    ev[6].type = LB_EV_SCAN; /* value null, qty null */
    ev[6].u.scan.kind = LB_SCAN_UNKNOWN;
    strcpy(ev[6].u.scan.code, "??");
    ev[7].type = LB_EV_NOTE;
    strcpy(ev[7].u.note.code, "counter_reset");
    strcpy(ev[7].u.note.text, "line1\nline2\ttab \x01 end");
    ev[8].type = LB_EV_SCAN; /* qty 0 is a value, not null */
    ev[8].u.scan.kind = LB_SCAN_ORDER_START;
    strcpy(ev[8].u.scan.code, "WO-10023");
    strcpy(ev[8].u.scan.value, "10023");
    ev[8].u.scan.has_qty = 1;
    ev[8].u.scan.qty = 0;
    b->n = 9;
    b->events = ev;
}

static void assert_event_equal(const struct lb_event *a, const struct lb_event *b)
{
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->t, b->t);
    assert_int_equal(a->age, b->age);
    assert_string_equal(a->dev, b->dev);
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case LB_EV_COUNT:
        assert_int_equal(a->u.count.good, b->u.count.good);
        assert_int_equal(a->u.count.scrap, b->u.count.scrap);
        assert_int_equal(a->u.count.span, b->u.count.span);
        assert_int_equal(a->u.count.raw_mask, b->u.count.raw_mask);
        if (a->u.count.raw_mask & LB_RAW_GOOD)
            assert_int_equal(a->u.count.raw_good, b->u.count.raw_good);
        if (a->u.count.raw_mask & LB_RAW_SCRAP)
            assert_int_equal(a->u.count.raw_scrap, b->u.count.raw_scrap);
        if (a->u.count.raw_mask & LB_RAW_TOTAL)
            assert_int_equal(a->u.count.raw_total, b->u.count.raw_total);
        break;
    case LB_EV_STATE:
        assert_int_equal(a->u.state.state, b->u.state.state);
        assert_string_equal(a->u.state.reason, b->u.state.reason);
        break;
    case LB_EV_SCAN:
        assert_int_equal(a->u.scan.kind, b->u.scan.kind);
        assert_string_equal(a->u.scan.code, b->u.scan.code);
        assert_string_equal(a->u.scan.value, b->u.scan.value);
        assert_int_equal(a->u.scan.has_qty, b->u.scan.has_qty);
        if (a->u.scan.has_qty)
            assert_int_equal(a->u.scan.qty, b->u.scan.qty);
        break;
    case LB_EV_NOTE:
        assert_string_equal(a->u.note.code, b->u.note.code);
        assert_string_equal(a->u.note.text, b->u.note.text);
        break;
    }
}

static void assert_batch_equal(const struct lb_batch *a, const struct lb_batch *b)
{
    assert_string_equal(a->agent, b->agent);
    assert_string_equal(a->boot, b->boot);
    assert_int_equal(a->synced, b->synced);
    assert_int_equal(a->sent, b->sent);
    assert_int_equal(a->has_prev, b->has_prev);
    if (a->has_prev)
        assert_int_equal(a->prev, b->prev);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_event_equal(&a->events[i], &b->events[i]);
}

/* Decodes json from an exactly sized heap copy (so ASan sees any read past
 * the end) and expects the given code and reason. */
static void assert_rejected(const char *json, int want_rc, const char *want_why)
{
    size_t len = strlen(json);
    char *copy = malloc(len ? len : 1);
    char why[256];
    struct lb_batch b;
    int rc;

    assert_non_null(copy);
    memcpy(copy, json, len);
    memset(&b, 0x5a, sizeof(b));
    rc = lb_wire_decode_events(copy, len, &b, why, sizeof(why));
    free(copy);
    if (rc != want_rc || strstr(why, want_why) == NULL)
        fail_msg("json %.120s: rc %d why \"%s\", want rc %d why \"%s\"", json, rc, why,
                 want_rc, want_why);
    assert_int_equal(b.n, 0);
    assert_null(b.events);
    for (const char *p = why; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

/* An events message of n count events with seq 1..n, built by hand so it
 * can exceed what the encoder would write. */
static char *many_events_json(size_t n)
{
    size_t cap = 64 + n * 128, len;
    char *s = malloc(cap);

    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "%s\"events\":[", HDR);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"seq\":%zu,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":"
                                "\"count\",\"good\":1,\"scrap\":0,\"span\":1}",
                                i ? "," : "", i + 1);
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void test_ids(void **state)
{
    (void)state;
    assert_true(lb_id_valid("cell-3"));
    assert_true(lb_id_valid("A.b_c-9"));
    assert_true(lb_id_valid(&S65[1])); /* 64 characters */
    assert_false(lb_id_valid(S65));
    assert_false(lb_id_valid(""));
    assert_false(lb_id_valid(NULL));
    assert_false(lb_id_valid("cell 3"));
    assert_false(lb_id_valid("a/b"));
    assert_false(lb_id_valid("+"));
    assert_false(lb_id_valid("#"));
    assert_false(lb_id_valid("caf\xc3\xa9"));

    assert_true(lb_boot_valid("6f1c2a90d4e8b713"));
    assert_true(lb_boot_valid("6F1C2A90D4E8B713"));
    assert_false(lb_boot_valid("6f1c2a90d4e8b71"));
    assert_false(lb_boot_valid("6f1c2a90d4e8b7130"));
    assert_false(lb_boot_valid("6f1c2a90d4e8b71g"));
    assert_false(lb_boot_valid(""));
    assert_false(lb_boot_valid(NULL));
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < LB_ST_COUNT; i++)
        assert_int_equal(lb_state_parse(lb_state_name((enum lb_state)i)), i);
    for (int i = 0; i < LB_SCAN_COUNT; i++)
        assert_int_equal(lb_scan_kind_parse(lb_scan_kind_name((enum lb_scan_kind)i)), i);
    assert_string_equal(lb_state_name(LB_ST_PLANNED_STOP), "planned_stop");
    assert_string_equal(lb_scan_kind_name(LB_SCAN_DOWNTIME_REASON), "downtime_reason");
    assert_int_equal(lb_state_parse("Running"), -1);
    assert_int_equal(lb_state_parse(""), -1);
    assert_int_equal(lb_state_parse(NULL), -1);
    assert_int_equal(lb_scan_kind_parse("order"), -1);
    assert_string_equal(lb_state_name(LB_ST_COUNT), "invalid");
    assert_string_equal(lb_scan_kind_name(LB_SCAN_COUNT), "invalid");
}

static void test_roundtrip(void **state)
{
    struct lb_event ev[9];
    struct lb_batch in, out;
    char why[256], *json;
    size_t len;

    (void)state;
    fill_sample(&in, ev);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(lb_wire_encode_events(&in, &json, &len), 0);
        assert_int_equal(strlen(json), len);
        if (lb_wire_decode_events(json, len, &out, why, sizeof(why)) != 0)
            fail_msg("%s", why);
        assert_batch_equal(&in, &out);
        lb_batch_free(&out);
        lb_batch_free(&out); /* twice is harmless */
        free(json);
        in.has_prev = 0; /* and again without prev */
        in.synced = 1;
    }
}

static void test_exact_json(void **state)
{
    struct lb_event ev[5];
    struct lb_batch b;
    char *json;
    size_t len;
    const char *want =
        "{\"v\":1,\"agent\":\"cell-3\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":"
        "\"synced\","
        "\"sent\":1764370000123,\"prev\":1200,\"events\":["
        "{\"seq\":1201,\"t\":1764369999000,\"age\":1123,\"dev\":\"press-3\",\"type\":"
        "\"count\",\"good\":5,\"scrap\":0,\"span\":1000,\"raw\":{\"good\":123456,"
        "\"scrap\":"
        "12}},"
        "{\"seq\":1202,\"t\":1764369999500,\"age\":623,\"dev\":\"press-3\",\"type\":"
        "\"state\",\"state\":\"down\",\"reason\":\"jam\"},"
        "{\"seq\":1203,\"t\":1764369999600,\"age\":523,\"dev\":\"press-3\",\"type\":"
        "\"scan\",\"kind\":\"order_start\",\"code\":\"WO-10023\",\"value\":\"10023\","
        "\"qty\":null},"
        "{\"seq\":1204,\"t\":1764369999700,\"age\":423,\"dev\":\"press-3\",\"type\":"
        "\"note\",\"code\":\"counter_reset\",\"text\":\"raw \\\"good\\\" 9 -> 0\\n\"},"
        "{\"seq\":1210,\"t\":1764369999800,\"age\":0,\"dev\":\"press-3\",\"type\":"
        "\"state\",\"state\":\"running\"}"
        "]}";

    (void)state;
    memset(&b, 0, sizeof(b));
    memset(ev, 0, sizeof(ev));
    strcpy(b.agent, "cell-3");
    strcpy(b.boot, "6f1c2a90d4e8b713");
    b.synced = 1;
    b.sent = 1764370000123;
    b.has_prev = 1;
    b.prev = 1200;
    b.n = 5;
    b.events = ev;
    for (int i = 0; i < 5; i++)
        strcpy(ev[i].dev, "press-3");
    ev[0] = (struct lb_event){
        .seq = 1201, .t = 1764369999000, .age = 1123, .type = LB_EV_COUNT};
    strcpy(ev[0].dev, "press-3");
    ev[0].u.count =
        (struct lb_count){5, 0, 1000, LB_RAW_GOOD | LB_RAW_SCRAP, 123456, 12, 99};
    ev[1].seq = 1202;
    ev[1].t = 1764369999500;
    ev[1].age = 623;
    ev[1].type = LB_EV_STATE;
    ev[1].u.state.state = LB_ST_DOWN;
    strcpy(ev[1].u.state.reason, "jam");
    ev[2].seq = 1203;
    ev[2].t = 1764369999600;
    ev[2].age = 523;
    ev[2].type = LB_EV_SCAN;
    ev[2].u.scan.kind = LB_SCAN_ORDER_START;
    strcpy(ev[2].u.scan.code, "WO-10023");
    strcpy(ev[2].u.scan.value, "10023");
    ev[3].seq = 1204;
    ev[3].t = 1764369999700;
    ev[3].age = 423;
    ev[3].type = LB_EV_NOTE;
    strcpy(ev[3].u.note.code, "counter_reset");
    strcpy(ev[3].u.note.text, "raw \"good\" 9 -> 0\n");
    ev[4].seq = 1210;
    ev[4].t = 1764369999800;
    ev[4].type = LB_EV_STATE;
    ev[4].u.state.state = LB_ST_RUNNING;

    assert_int_equal(lb_wire_encode_events(&b, &json, &len), 0);
    assert_string_equal(json, want);
    assert_int_equal(len, strlen(want));
    free(json);
}

static void test_reject_events(void **state)
{
    static const struct bad_case cases[] = {
        /* shape */
        {"", "invalid JSON"},
        {"{", "invalid JSON"},
        {"[]", "not a JSON object"},
        {"\"x\"", "invalid JSON"}, /* jansson wants an object or array */
        {"{\"v\":1} x", "invalid JSON"},
        {"{\"v\":1,\"v\":1}", "duplicate"},
        {"{\"v\":1,\"agent\":\"a\xff\"}", "invalid JSON"},
        /* header */
        {"{\"agent\":\"a\"}", "v: missing"},
        {"{\"v\":2}", "v: unsupported version 2"},
        {"{\"v\":0}", "v: unsupported version 0"},
        {"{\"v\":\"1\"}", "v: not an integer"},
        {"{\"v\":1.0}", "v: not an integer"},
        {"{\"v\":null}", "v: not an integer"},
        {"{\"v\":1,\"boot\":\"6f1c2a90d4e8b713\"}", "agent: missing"},
        {"{\"v\":1,\"agent\":\"cell 3\"}", "agent: not a valid id"},
        {"{\"v\":1,\"agent\":\"\"}", "agent: not a valid id"},
        {"{\"v\":1,\"agent\":\"" S65 "\"}", "agent: longer than 64 bytes"},
        {"{\"v\":1,\"agent\":3}", "agent: not a string"},
        {"{\"v\":1,\"agent\":\"cell\\u0000-3\"}", "agent: contains a NUL byte"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b71\"}", "boot: not 16 hex"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b7z3\"}", "boot: not 16 hex"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b7130\"}",
         "boot: longer than 16"},
        {"{\"v\":1,\"agent\":\"c\"}", "boot: missing"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":\"maybe\"}",
         "clock: unknown clock \"maybe\""},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":true}",
         "clock: not a string"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\"}", "clock: missing"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":\"synced\"}",
         "sent: missing"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":\"synced\","
         "\"sent\":-1}",
         "sent: negative"},
        {"{\"v\":1,\"agent\":\"c\",\"boot\":\"6f1c2a90d4e8b713\",\"clock\":\"synced\","
         "\"sent\":1e3}",
         "sent: not an integer"},
        {HDR "\"prev\":-1,\"events\":[" EV_COUNT "]}", "prev: negative"},
        {HDR "\"prev\":\"0\",\"events\":[" EV_COUNT "]}", "prev: not an integer"},
        {HDR "\"prev\":1,\"events\":[" EV_COUNT "]}",
         "events[0].seq: 1 not above prev 1"},
        {HDR "\"prev\":7,\"events\":[" EV_COUNT "]}", "not above prev 7"},
        {HDR "\"foo\":1}", "events: missing"},
        {HDR "\"events\":{}}", "events: not an array"},
        {HDR "\"events\":[]}", "events: empty"},
        {HDR "\"events\":[1]}", "events[0]: not an object"},
        {HDR "\"events\":[" EV_COUNT ",null]}", "events[1]: not an object"},
        /* common event fields */
        {MSG1("{\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":\"note\",\"code\":\"c\","
              "\"text\":\"\"}"),
         "events[0].seq: missing"},
        {MSG1("{\"seq\":0,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":\"state\",\"state\":"
              "\"idle\"}"),
         "events[0].seq: out of range"},
        {MSG1("{\"seq\":-1,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":\"state\",\"state\":"
              "\"idle\"}"),
         "events[0].seq: negative"},
        {MSG1("{\"seq\":1.5,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":\"state\",\"state\":"
              "\"idle\"}"),
         "events[0].seq: not an integer"},
        {MSG1("{\"seq\":9223372036854775808,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":"
              "\"state\","
              "\"state\":\"idle\"}"),
         "invalid JSON"},
        {MSG1("{\"seq\":1,\"t\":-1,\"age\":0,\"dev\":\"m\",\"type\":\"state\",\"state\":"
              "\"idle\"}"),
         "events[0].t: negative"},
        {MSG1("{\"seq\":1,\"t\":1,\"age\":-5,\"dev\":\"m\",\"type\":\"state\",\"state\":"
              "\"idle\"}"),
         "events[0].age: negative"},
        {MSG1("{\"seq\":1,\"t\":1,\"dev\":\"m\",\"type\":\"state\",\"state\":\"idle\"}"),
         "events[0].age: missing"},
        {MSG1("{\"seq\":1,\"t\":1,\"age\":0,\"dev\":\"m/"
              "1\",\"type\":\"state\",\"state\":\"idle\"}"),
         "events[0].dev: not a valid id"},
        {MSG1("{\"seq\":1,\"t\":1,\"age\":0,\"dev\":\"m\\u0000\",\"type\":\"state\","
              "\"state\":\"idle\"}"),
         "events[0].dev: contains a NUL byte"},
        {MSG1("{\"seq\":1,\"t\":1,\"age\":0,\"type\":\"state\",\"state\":\"idle\"}"),
         "events[0].dev: missing"},
        {MSG1(EVH "\"type\":\"counter\"}"),
         "events[0].type: unknown event type \"counter\""},
        {MSG1(EVH "\"type\":1}"), "events[0].type: not a string"},
        {MSG1(EVH "\"good\":1}"), "events[0].type: missing"},
        /* count */
        {MSG1(EVH "\"type\":\"count\",\"good\":-1,\"scrap\":0,\"span\":1000}"),
         "events[0].good: negative"},
        {MSG1(EVH "\"type\":\"count\",\"good\":1,\"scrap\":-1,\"span\":1000}"),
         "events[0].scrap: negative"},
        {MSG1(EVH "\"type\":\"count\",\"good\":1,\"scrap\":0,\"span\":-1000}"),
         "events[0].span: negative"},
        {MSG1(EVH "\"type\":\"count\",\"good\":\"5\",\"scrap\":0,\"span\":1000}"),
         "events[0].good: not an integer"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5.0,\"scrap\":0,\"span\":1000}"),
         "events[0].good: not an integer"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5,\"span\":1000}"),
         "events[0].scrap: missing"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5,\"scrap\":0}"),
         "events[0].span: missing"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1,\"raw\":[]}"),
         "events[0].raw: not an object"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1,\"raw\":{"
                  "\"good\":-1}}"),
         "events[0].raw.good: negative"},
        {MSG1(EVH "\"type\":\"count\",\"good\":5,\"scrap\":0,\"span\":1,\"raw\":{"
                  "\"total\":1.5}}"),
         "events[0].raw.total: not an integer"},
        /* state */
        {MSG1(EVH "\"type\":\"state\",\"state\":\"sleeping\"}"),
         "events[0].state: unknown state \"sleeping\""},
        {MSG1(EVH "\"type\":\"state\"}"), "events[0].state: missing"},
        {MSG1(EVH "\"type\":\"state\",\"state\":\"down\",\"reason\":7}"),
         "events[0].reason: not a string"},
        {MSG1(EVH "\"type\":\"state\",\"state\":\"down\",\"reason\":\"" S65 "\"}"),
         "events[0].reason: longer than 64 bytes"},
        /* scan */
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"order\",\"code\":\"x\"}"),
         "events[0].kind: unknown scan kind \"order\""},
        {MSG1(EVH "\"type\":\"scan\",\"code\":\"x\"}"), "events[0].kind: missing"},
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"scrap\"}"), "events[0].code: missing"},
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"scrap\",\"code\":\"x\",\"qty\":-2}"),
         "events[0].qty: negative"},
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"scrap\",\"code\":\"x\",\"qty\":\"2\"}"),
         "events[0].qty: not an integer"},
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"scrap\",\"code\":\"x\",\"value\":2}"),
         "events[0].value: not a string"},
        {MSG1(EVH "\"type\":\"scan\",\"kind\":\"scrap\",\"code\":\"a\\u0000b\"}"),
         "events[0].code: contains a NUL byte"},
        /* note */
        {MSG1(EVH "\"type\":\"note\",\"code\":\"spool_full\"}"),
         "events[0].text: missing"},
        {MSG1(EVH "\"type\":\"note\",\"text\":\"t\"}"), "events[0].code: missing"},
        {MSG1(EVH "\"type\":\"note\",\"code\":\"" S65 "\",\"text\":\"t\"}"),
         "events[0].code: longer than 64 bytes"},
        /* order within the batch */
        {HDR "\"events\":[" EV_COUNT "," EV_COUNT "]}",
         "events[1].seq: 1 not above the previous event's 1"},
        {HDR "\"events\":[{\"seq\":5,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":\"state\","
             "\"state\":\"idle\"},{\"seq\":4,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":"
             "\"state\",\"state\":\"idle\"}]}",
         "events[1].seq: 4 not above the previous event's 5"},
        {HDR "\"events\":[" EV_COUNT
             ",{\"seq\":2,\"t\":1,\"age\":0,\"dev\":\"m\",\"type\":"
             "\"state\",\"state\":\"bad\"}]}",
         "events[1].state: unknown state"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_rejected(cases[i].json, LB_E_PARSE, cases[i].why);
}

static void test_long_strings(void **state)
{
    char *json = malloc(4096), *p, why[256];
    struct lb_batch b;
    size_t len;

    (void)state;
    assert_non_null(json);
    /* Exactly at each limit is accepted, one byte more is not. */
    for (int over = 0; over < 2; over++) {
        len = (size_t)snprintf(json, 4096,
                               "%s\"events\":[%s\"type\":\"scan\",\"kind\":"
                               "\"scrap\",\"code\":\"",
                               HDR, EVH);
        p = json + len;
        memset(p, 'c', LB_SCAN_MAX + over);
        p += LB_SCAN_MAX + over;
        p += sprintf(p, "\",\"value\":\"");
        memset(p, 'v', LB_SCAN_MAX);
        p += LB_SCAN_MAX;
        p += sprintf(p, "\"},%s\"seq\":2,\"type\":\"note\",\"code\":\"n\",\"text\":\"",
                     "{\"t\":1,\"age\":0,\"dev\":\"m\",");
        memset(p, 't', LB_TEXT_MAX + over);
        p += LB_TEXT_MAX + over;
        sprintf(p, "\"}]}");
        if (over) {
            assert_rejected(json, LB_E_PARSE, "events[0].code: longer than 256 bytes");
        } else {
            assert_int_equal(
                lb_wire_decode_events(json, strlen(json), &b, why, sizeof(why)), 0);
            assert_int_equal(strlen(b.events[0].u.scan.code), LB_SCAN_MAX);
            assert_int_equal(strlen(b.events[1].u.note.text), LB_TEXT_MAX);
            lb_batch_free(&b);
        }
    }
    free(json);
    /* A multi-byte character counts by its bytes: 33 two-byte characters
     * make 66 bytes, over a 64-byte reason. */
    assert_rejected(
        MSG1(EVH "\"type\":\"state\",\"state\":\"down\",\"reason\":\""
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\"}"),
        LB_E_PARSE, "events[0].reason: longer than 64 bytes");
}

static void test_optional_and_unknown(void **state)
{
    char why[256];
    struct lb_batch b;
    const char *json =
        "{\"v\":1,\"future\":{\"x\":[1,2]},\"agent\":\"cell-3\",\"boot\":"
        "\"6f1c2a90d4e8b713\","
        "\"clock\":\"unsynced\",\"sent\":0,\"prev\":null,\"events\":["
        "{\"seq\":1,\"t\":0,\"age\":0,\"dev\":\"m\",\"type\":\"count\",\"good\":1,"
        "\"scrap\":2,\"span\":3,\"extra\":\"ignored\"},"
        "{\"seq\":2,\"t\":0,\"age\":0,\"dev\":\"m\",\"type\":\"count\",\"good\":1,"
        "\"scrap\":2,\"span\":3,\"raw\":{\"total\":9,\"other\":-1}},"
        "{\"seq\":3,\"t\":0,\"age\":0,\"dev\":\"m\",\"type\":\"state\",\"state\":"
        "\"idle\","
        "\"reason\":null},"
        "{\"seq\":4,\"t\":0,\"age\":0,\"dev\":\"m\",\"type\":\"scan\",\"kind\":"
        "\"operator\","
        "\"code\":\"OP-1\"},"
        "{\"seq\":9,\"t\":0,\"age\":0,\"dev\":\"m\",\"type\":\"scan\",\"kind\":\"scrap\","
        "\"code\":\"S\",\"value\":null,\"qty\":0}]}";

    (void)state;
    if (lb_wire_decode_events(json, strlen(json), &b, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    assert_int_equal(b.n, 5);
    assert_int_equal(b.synced, 0);
    assert_int_equal(b.has_prev, 0);
    assert_int_equal(b.events[0].u.count.raw_mask, 0);
    assert_int_equal(b.events[1].u.count.raw_mask, LB_RAW_TOTAL);
    assert_int_equal(b.events[1].u.count.raw_total, 9);
    assert_string_equal(b.events[2].u.state.reason, "");
    assert_int_equal(b.events[3].u.scan.kind, LB_SCAN_OPERATOR);
    assert_string_equal(b.events[3].u.scan.value, "");
    assert_int_equal(b.events[3].u.scan.has_qty, 0);
    assert_int_equal(b.events[4].u.scan.has_qty, 1);
    assert_int_equal(b.events[4].u.scan.qty, 0);
    lb_batch_free(&b);

    /* prev 0 says "nothing before seq 1". */
    json = HDR "\"prev\":0,\"events\":[" EV_COUNT "]}";
    assert_int_equal(lb_wire_decode_events(json, strlen(json), &b, why, sizeof(why)), 0);
    assert_int_equal(b.has_prev, 1);
    assert_int_equal(b.prev, 0);
    lb_batch_free(&b);
}

static void test_truncated(void **state)
{
    struct lb_event ev[9];
    struct lb_batch in, out;
    char why[256], *json, *copy;
    size_t len;

    (void)state;
    fill_sample(&in, ev);
    assert_int_equal(lb_wire_encode_events(&in, &json, &len), 0);
    for (size_t k = 0; k < len; k++) {
        copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, json, k);
        assert_int_equal(lb_wire_decode_events(copy, k, &out, why, sizeof(why)),
                         LB_E_PARSE);
        assert_null(out.events);
        assert_true(why[0] != '\0');
        free(copy);
    }
    free(json);
}

static void test_oversized(void **state)
{
    char why[256], *buf;
    struct lb_batch b;
    const char *msg = MSG1(EV_COUNT);
    size_t mlen = strlen(msg);

    (void)state;
    buf = malloc(LB_WIRE_MAX_BYTES + 1);
    assert_non_null(buf);
    /* A valid message padded with whitespace to exactly the limit passes;
     * one byte more is refused before parsing. */
    memcpy(buf, msg, mlen);
    memset(buf + mlen, ' ', LB_WIRE_MAX_BYTES + 1 - mlen);
    assert_int_equal(lb_wire_decode_events(buf, LB_WIRE_MAX_BYTES, &b, why, sizeof(why)),
                     0);
    lb_batch_free(&b);
    assert_int_equal(
        lb_wire_decode_events(buf, LB_WIRE_MAX_BYTES + 1, &b, why, sizeof(why)),
        LB_E_TOOBIG);
    assert_non_null(strstr(why, "more than 262144"));
    assert_null(b.events);
    free(buf);
}

static void test_event_limit(void **state)
{
    struct lb_event *ev = calloc(LB_WIRE_MAX_EVENTS + 1, sizeof(*ev));
    struct lb_batch in, out;
    char why[256], *json;
    size_t len;

    (void)state;
    assert_non_null(ev);
    memset(&in, 0, sizeof(in));
    strcpy(in.agent, "a");
    strcpy(in.boot, "0123456789abcdef");
    in.events = ev;
    for (size_t i = 0; i <= LB_WIRE_MAX_EVENTS; i++) {
        ev[i].seq = i + 1;
        strcpy(ev[i].dev, "m");
        ev[i].type = LB_EV_COUNT;
        ev[i].u.count.good = 1;
    }
    in.n = LB_WIRE_MAX_EVENTS;
    assert_int_equal(lb_wire_encode_events(&in, &json, &len), 0);
    assert_int_equal(lb_wire_decode_events(json, len, &out, why, sizeof(why)), 0);
    assert_int_equal(out.n, LB_WIRE_MAX_EVENTS);
    lb_batch_free(&out);
    free(json);

    in.n = LB_WIRE_MAX_EVENTS + 1;
    json = (char *)1;
    assert_int_equal(lb_wire_encode_events(&in, &json, &len), LB_E_TOOBIG);
    assert_null(json);
    free(ev);

    json = many_events_json(LB_WIRE_MAX_EVENTS);
    assert_int_equal(lb_wire_decode_events(json, strlen(json), &out, why, sizeof(why)),
                     0);
    lb_batch_free(&out);
    free(json);
    json = many_events_json(LB_WIRE_MAX_EVENTS + 1);
    assert_rejected(json, LB_E_TOOBIG, "events: 1001 events, more than 1000");
    free(json);
}

static void test_encode_refuses(void **state)
{
    struct lb_event ev[9], *big;
    struct lb_batch b;
    char *json, why[256];
    size_t len;

    (void)state;
#define REFUSE(mutation, rc)                                                             \
    do {                                                                                 \
        fill_sample(&b, ev);                                                             \
        mutation;                                                                        \
        json = (char *)1;                                                                \
        assert_int_equal(lb_wire_encode_events(&b, &json, &len), rc);                    \
        assert_null(json);                                                               \
    } while (0)
    REFUSE(b.n = 0, LB_E_RANGE);
    REFUSE(b.events = NULL, LB_E_RANGE);
    REFUSE(ev[4].seq = (uint64_t)INT64_MAX + 1, LB_E_RANGE);
    REFUSE(ev[0].seq = 0, LB_E_RANGE);
    REFUSE(ev[2].seq = ev[1].seq, LB_E_RANGE);
    REFUSE(b.prev = ev[0].seq, LB_E_RANGE);
    REFUSE(b.prev = UINT64_MAX, LB_E_RANGE);
    REFUSE(strcpy(b.agent, "cell 3"), LB_E_RANGE);
    REFUSE(strcpy(b.boot, "123"), LB_E_RANGE);
    REFUSE(b.synced = 2, LB_E_RANGE);
    REFUSE(b.sent = -1, LB_E_RANGE);
    REFUSE(ev[1].t = -1, LB_E_RANGE);
    REFUSE(ev[1].age = -1, LB_E_RANGE);
    REFUSE(ev[0].u.count.scrap = -1, LB_E_RANGE);
    REFUSE(ev[0].u.count.raw_total = UINT64_MAX, LB_E_RANGE);
    REFUSE(ev[0].u.count.raw_mask = 8, LB_E_RANGE);
    REFUSE(ev[3].u.state.state = LB_ST_COUNT, LB_E_RANGE);
    REFUSE(ev[5].u.scan.kind = (enum lb_scan_kind) - 1, LB_E_RANGE);
    REFUSE(ev[5].u.scan.qty = -1, LB_E_RANGE);
    REFUSE(ev[5].type = (enum lb_event_type)9, LB_E_RANGE);
    REFUSE(strcpy(ev[7].u.note.text, "bad \xff byte"), LB_E_RANGE);
    REFUSE(strcpy(ev[7].u.note.text, "overlong \xc0\xaf"), LB_E_RANGE);
    REFUSE(strcpy(ev[7].u.note.text, "surrogate \xed\xa0\x80"), LB_E_RANGE);
    REFUSE(strcpy(ev[7].u.note.text, "cut \xe2\x82"), LB_E_RANGE);
    REFUSE(memset(ev[6].dev, 'd', sizeof(ev[6].dev)), LB_E_RANGE);
    REFUSE(memset(ev[6].u.scan.code, 'c', sizeof(ev[6].u.scan.code)), LB_E_RANGE);
#undef REFUSE

    /* The same rules, one event at a time, with the reason. */
    fill_sample(&b, ev);
    assert_int_equal(lb_wire_check_event(&ev[5], why, sizeof(why)), 0);
    ev[5].u.scan.qty = -4;
    assert_int_equal(lb_wire_check_event(&ev[5], why, sizeof(why)), LB_E_RANGE);
    assert_string_equal(why, "qty: negative");
    assert_int_equal(lb_wire_check_event(&ev[5], NULL, 0), LB_E_RANGE);

    /* 1000 notes of 512 bytes pass every rule but not the size limit. */
    big = calloc(LB_WIRE_MAX_EVENTS, sizeof(*big));
    assert_non_null(big);
    for (size_t i = 0; i < LB_WIRE_MAX_EVENTS; i++) {
        big[i].seq = i + 1;
        strcpy(big[i].dev, "m");
        big[i].type = LB_EV_NOTE;
        strcpy(big[i].u.note.code, "c");
        memset(big[i].u.note.text, 'x', LB_TEXT_MAX);
    }
    fill_sample(&b, ev);
    b.has_prev = 0;
    b.events = big;
    b.n = LB_WIRE_MAX_EVENTS;
    json = (char *)1;
    assert_int_equal(lb_wire_encode_events(&b, &json, &len), LB_E_TOOBIG);
    assert_null(json);
    free(big);
}

static void test_why(void **state)
{
    char why[16];
    struct lb_batch b;
    const char *json = "{\"v\":3}";

    (void)state;
    /* Truncated to whylen, NUL-terminated; a NULL why is allowed. */
    memset(why, 'x', sizeof(why));
    assert_int_equal(lb_wire_decode_events(json, strlen(json), &b, why, sizeof(why)),
                     LB_E_PARSE);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_int_equal(lb_wire_decode_events(json, strlen(json), &b, NULL, 0), LB_E_PARSE);
    /* Control characters from the input never reach the log line. */
    assert_rejected(MSG1(EVH "\"type\":\"state\",\"state\":\"a\\nb\\u001b[2J\"}"),
                    LB_E_PARSE, "unknown state \"a?b?[2J\"");
    assert_rejected("{\"v\":1,\n\x01}", LB_E_PARSE, "invalid JSON");
}

static void test_ack(void **state)
{
    static const struct bad_case bad[] = {
        {"{\"agent\":\"cell-3\",\"seq\":1}", "v: missing"},
        {"{\"v\":1,\"seq\":1}", "agent: missing"},
        {"{\"v\":1,\"agent\":\"a b\",\"seq\":1}", "agent: not a valid id"},
        {"{\"v\":1,\"agent\":\"a\"}", "seq: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"seq\":-1}", "seq: negative"},
        {"{\"v\":1,\"agent\":\"a\",\"seq\":1.0}", "seq: not an integer"},
        {"[1]", "not a JSON object"},
        {"{\"v\":1,\"agent\":\"a\",\"seq\":1", "invalid JSON"},
    };
    char agent[LB_ID_MAX + 1], why[256], *json;
    uint64_t seq;
    size_t len;

    (void)state;
    assert_int_equal(lb_wire_encode_ack("cell-3", 1203, &json, &len), 0);
    assert_string_equal(json, "{\"v\":1,\"agent\":\"cell-3\",\"seq\":1203}");
    assert_int_equal(lb_wire_decode_ack(json, len, agent, &seq, why, sizeof(why)), 0);
    assert_string_equal(agent, "cell-3");
    assert_int_equal(seq, 1203);
    free(json);
    /* 0: nothing stored yet; INT64_MAX: the largest seq there is. */
    for (int i = 0; i < 2; i++) {
        uint64_t want = i ? (uint64_t)INT64_MAX : 0;

        assert_int_equal(lb_wire_encode_ack("a", want, &json, &len), 0);
        assert_int_equal(lb_wire_decode_ack(json, len, agent, &seq, why, sizeof(why)), 0);
        assert_int_equal(seq, want);
        free(json);
    }
    assert_int_equal(lb_wire_encode_ack("a", (uint64_t)INT64_MAX + 1, &json, &len),
                     LB_E_RANGE);
    assert_null(json);
    assert_int_equal(lb_wire_encode_ack("a/b", 1, &json, &len), LB_E_RANGE);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = lb_wire_decode_ack(bad[i].json, strlen(bad[i].json), agent, &seq, why,
                                    sizeof(why));

        if (rc != LB_E_PARSE || strstr(why, bad[i].why) == NULL)
            fail_msg("%s: rc %d why %s", bad[i].json, rc, why);
        assert_string_equal(agent, "");
    }
}

static void test_birth(void **state)
{
    static const struct bad_case bad[] = {
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"devices\":[]}",
         "version: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\"}",
         "devices: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":{}}",
         "devices: not an array"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[3]}",
         "devices[0]: not an object"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p 1\",\"profile\":\"sim\",\"ideal_cycle_ms\":1}]}",
         "devices[0].dev: not a valid id"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p\",\"ideal_cycle_ms\":1}]}",
         "devices[0].profile: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p\",\"profile\":\"sim\"}]}",
         "devices[0].ideal_cycle_ms: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p\",\"profile\":\"sim\",\"ideal_cycle_ms\":-1}]}",
         "devices[0].ideal_cycle_ms: negative"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p\",\"profile\":\"sim\",\"ideal_cycle_ms\":1},"
         "{\"dev\":\"p\",\"profile\":\"sim\",\"ideal_cycle_ms\":1}]}",
         "devices[1].dev: duplicate of devices[0]"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":\"1\","
         "\"devices\":[{\"dev\":\"p\",\"profile\":\"" S65 "\",\"ideal_cycle_ms\":1}]}",
         "devices[0].profile: longer than 64 bytes"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"version\":"
         "\"0123456789012345678901234567890123\",\"devices\":[]}",
         "version: longer than 32 bytes"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"xyz\",\"version\":\"1\",\"devices\":[]}",
         "boot: not 16 hex digits"},
    };
    struct lb_birth *in = calloc(1, sizeof(*in)), *out = malloc(sizeof(*out));
    char why[256], *json, *s;
    size_t len;
    int rc;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    strcpy(in->agent, "cell-3");
    strcpy(in->boot, "6f1c2a90d4e8b713");
    strcpy(in->version, "0.1.0");
    in->ndevices = 3;
    strcpy(in->devices[0].dev, "press-3");
    strcpy(in->devices[0].profile, "sim");
    in->devices[0].ideal_cycle_ms = 2400;
    strcpy(in->devices[1].dev, "press-4");
    strcpy(in->devices[1].profile, "omron-h7cx");
    strcpy(in->devices[2].dev, "scanner.1");
    assert_int_equal(lb_wire_encode_birth(in, &json, &len), 0);
    assert_string_equal(
        json, "{\"v\":1,\"agent\":\"cell-3\",\"boot\":\"6f1c2a90d4e8b713\","
              "\"version\":\"0.1.0\",\"devices\":["
              "{\"dev\":\"press-3\",\"profile\":\"sim\",\"ideal_cycle_ms\":2400},"
              "{\"dev\":\"press-4\",\"profile\":\"omron-h7cx\","
              "\"ideal_cycle_ms\":0},"
              "{\"dev\":\"scanner.1\",\"profile\":\"\",\"ideal_cycle_ms\":0}]}");
    assert_int_equal(lb_wire_decode_birth(json, len, out, why, sizeof(why)), 0);
    assert_int_equal(memcmp(in, out, sizeof(*in)), 0);
    free(json);

    /* No device, and the maximum of them. */
    in->ndevices = 0;
    assert_int_equal(lb_wire_encode_birth(in, &json, &len), 0);
    assert_int_equal(lb_wire_decode_birth(json, len, out, why, sizeof(why)), 0);
    assert_int_equal(out->ndevices, 0);
    free(json);
    in->ndevices = LB_BIRTH_MAX_DEVICES;
    memset(in->devices, 0, sizeof(in->devices));
    for (size_t i = 0; i < LB_BIRTH_MAX_DEVICES; i++) {
        snprintf(in->devices[i].dev, sizeof(in->devices[i].dev), "m%zu", i);
        strcpy(in->devices[i].profile, "sim");
        in->devices[i].ideal_cycle_ms = (int64_t)i;
    }
    assert_int_equal(lb_wire_encode_birth(in, &json, &len), 0);
    assert_int_equal(lb_wire_decode_birth(json, len, out, why, sizeof(why)), 0);
    assert_int_equal(memcmp(in, out, sizeof(*in)), 0);
    /* 257 devices: splice one more in front of the closing "]}". */
    s = malloc(len + 64);
    assert_non_null(s);
    memcpy(s, json, len - 2);
    strcpy(s + len - 2,
           ",{\"dev\":\"extra\",\"profile\":\"sim\",\"ideal_cycle_ms\":1}]}");
    rc = lb_wire_decode_birth(s, strlen(s), out, why, sizeof(why));
    assert_int_equal(rc, LB_E_TOOBIG);
    assert_non_null(strstr(why, "devices: 257 devices, more than 256"));
    free(s);
    free(json);

    in->ndevices = 2;
    strcpy(in->devices[1].dev, "m0");
    assert_int_equal(lb_wire_encode_birth(in, &json, &len), LB_E_RANGE);
    in->ndevices = LB_BIRTH_MAX_DEVICES + 1;
    assert_int_equal(lb_wire_encode_birth(in, &json, &len), LB_E_RANGE);
    assert_null(json);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc =
            lb_wire_decode_birth(bad[i].json, strlen(bad[i].json), out, why, sizeof(why));
        if (rc != LB_E_PARSE || strstr(why, bad[i].why) == NULL)
            fail_msg("%s: rc %d why %s", bad[i].json, rc, why);
        assert_int_equal(out->ndevices, 0);
    }
    free(in);
    free(out);
}

static void test_status(void **state)
{
    static const struct bad_case bad[] = {
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"status\":\"away\"}",
         "status: unknown status \"away\""},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123456789abcdef\"}", "status: missing"},
        {"{\"v\":1,\"agent\":\"a\",\"boot\":\"0123\",\"status\":\"online\"}",
         "boot: not 16 hex digits"},
        {"{\"v\":2,\"agent\":\"a\",\"boot\":\"0123456789abcdef\",\"status\":\"online\"}",
         "v: unsupported version 2"},
    };
    char agent[LB_ID_MAX + 1], boot[LB_BOOT_LEN + 1], why[256], *json;
    size_t len;
    int online;

    (void)state;
    for (int want = 0; want < 2; want++) {
        assert_int_equal(
            lb_wire_encode_status("cell-3", "6f1c2a90d4e8b713", want * 7, &json, &len),
            0);
        assert_string_equal(json, want ? "{\"v\":1,\"agent\":\"cell-3\",\"boot\":"
                                         "\"6f1c2a90d4e8b713\",\"status\":\"online\"}"
                                       : "{\"v\":1,\"agent\":\"cell-3\",\"boot\":"
                                         "\"6f1c2a90d4e8b713\",\"status\":\"offline\"}");
        assert_int_equal(
            lb_wire_decode_status(json, len, agent, boot, &online, why, sizeof(why)), 0);
        assert_string_equal(agent, "cell-3");
        assert_string_equal(boot, "6f1c2a90d4e8b713");
        assert_int_equal(online, want);
        free(json);
    }
    assert_int_equal(lb_wire_encode_status("a", "xyz", 1, &json, &len), LB_E_RANGE);
    assert_int_equal(lb_wire_encode_status("", "0123456789abcdef", 1, &json, &len),
                     LB_E_RANGE);
    assert_null(json);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = lb_wire_decode_status(bad[i].json, strlen(bad[i].json), agent, boot,
                                       &online, why, sizeof(why));

        if (rc != LB_E_PARSE || strstr(why, bad[i].why) == NULL)
            fail_msg("%s: rc %d why %s", bad[i].json, rc, why);
        assert_string_equal(agent, "");
    }
}

static void test_topics(void **state)
{
    static const char *const bad_split[] = {
        "linebeat/v1/plant-1/cell-3",
        "linebeat/v1/plant-1/cell-3/",
        "linebeat/v1/plant-1/cell-3/event",
        "linebeat/v1/plant-1/cell-3/events/x",
        "linebeat/v1/plant-1/cell-3/events ",
        "linebeat/v1//cell-3/events",
        "linebeat/v1/plant-1//events",
        "linebeat/v1/+/cell-3/events",
        "linebeat/v1/plant-1/#",
        "linebeat/v1/plant-1/+/ack",
        "linebeat/v10/plant-1/cell-3/events",
        "linebeat/v1",
        "linebeat/v1/",
        "other/v1/plant-1/cell-3/events",
        "linebeat/v1/" S65 "/cell-3/events",
        "linebeat/v1/plant 1/cell-3/events",
        "",
    };
    char buf[256], site[LB_ID_MAX + 1], agent[LB_ID_MAX + 1], leaf[16];

    (void)state;
    assert_int_equal(
        lb_topic_make(buf, sizeof(buf), "linebeat/v1", "plant-1", "cell-3", "events"), 0);
    assert_string_equal(buf, "linebeat/v1/plant-1/cell-3/events");
    assert_int_equal(lb_topic_split(buf, "linebeat/v1", site, agent, leaf), 0);
    assert_string_equal(site, "plant-1");
    assert_string_equal(agent, "cell-3");
    assert_string_equal(leaf, "events");

    /* A prefix with several levels; each leaf. */
    static const char *const leaves[] = {"birth", "status", "events", "ack"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(lb_topic_make(buf, sizeof(buf), "acme/plant/x/linebeat/v1", "s",
                                       "a", leaves[i]),
                         0);
        assert_int_equal(
            lb_topic_split(buf, "acme/plant/x/linebeat/v1", site, agent, leaf), 0);
        assert_string_equal(leaf, leaves[i]);
    }

    /* Subscription filters. */
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "linebeat/v1", "+", "+", "events"),
                     0);
    assert_string_equal(buf, "linebeat/v1/+/+/events");
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "linebeat/v1", "s1", "+", "+"), 0);
    assert_string_equal(buf, "linebeat/v1/s1/+/+");
    assert_int_equal(lb_topic_split(buf, "linebeat/v1", site, agent, leaf), LB_E_PARSE);

    /* Exactly fitting, and one byte short. */
    assert_int_equal(lb_topic_make(buf, 20, "p", "site", "agent", "events"), 0);
    assert_int_equal(lb_topic_make(buf, 19, "p", "site", "agent", "events"), LB_E_TOOBIG);
    assert_string_equal(buf, "");

    assert_int_equal(lb_topic_make(buf, sizeof(buf), "", "s", "a", "ack"), LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb/", "s", "a", "ack"), LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb/#", "s", "a", "ack"),
                     LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb", "s/x", "a", "ack"),
                     LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb", "s", "#", "ack"), LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb", "s", "a", "acks"), LB_E_RANGE);
    assert_int_equal(lb_topic_make(buf, sizeof(buf), "lb", "s", "a", "#"), LB_E_RANGE);

    for (size_t i = 0; i < sizeof(bad_split) / sizeof(bad_split[0]); i++) {
        strcpy(site, "junk");
        if (lb_topic_split(bad_split[i], "linebeat/v1", site, agent, leaf) != LB_E_PARSE)
            fail_msg("accepted topic \"%s\"", bad_split[i]);
        assert_string_equal(site, "");
        assert_string_equal(agent, "");
        assert_string_equal(leaf, "");
    }
    assert_int_equal(lb_topic_split("x/s/a/ack", "", site, agent, leaf), LB_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_exact_json),
        cmocka_unit_test(test_reject_events),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_optional_and_unknown),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_event_limit),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_why),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_birth),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_topics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
