/*
 * agent/scan.c, the scan grammar: every kind by prefix and by regular
 * expression, unknown codes, overlong input, control characters and bytes
 * that are not UTF-8, and the configuration checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "linebeat/error.h"
#include "linebeat/scanner.h"
#include "linebeat/wire.h"
#include "scan.h"

/* The defaults of [scan] (agent/config.c). */
static void defaults(struct scan_conf *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->prefix[SCAN_R_ORDER_START], sizeof(c->prefix[0]), "WO-");
    snprintf(c->prefix[SCAN_R_ORDER_END], sizeof(c->prefix[0]), "END-");
    snprintf(c->prefix[SCAN_R_OPERATOR], sizeof(c->prefix[0]), "OP-");
    snprintf(c->prefix[SCAN_R_DOWNTIME], sizeof(c->prefix[0]), "DT-");
    snprintf(c->prefix[SCAN_R_SCRAP], sizeof(c->prefix[0]), "SC-");
    snprintf(c->prefix[SCAN_R_MACHINE], sizeof(c->prefix[0]), "MC-");
    snprintf(c->qty_separator, sizeof(c->qty_separator), "*");
    c->qty_max = 10000;
}

static struct scan_grammar *grammar(const struct scan_conf *c)
{
    struct scan_grammar *g = NULL;
    char why[256] = "";

    if (scan_grammar_new(c, &g, why, sizeof(why), NULL) != 0)
        fail_msg("grammar: %s", why);
    return g;
}

static void parse(const struct scan_grammar *g, const char *s, struct scan_result *r)
{
    scan_parse(g, s, strlen(s), 0, 0, r);
}

/* r is an event that passes the wire checks (so it can be spooled). */
static void wire_ok(const struct scan_result *r)
{
    struct lb_event e;
    char why[160];

    memset(&e, 0, sizeof(e));
    e.seq = 1;
    e.t = 1;
    snprintf(e.dev, sizeof(e.dev), "m1");
    e.type = LB_EV_SCAN;
    e.u.scan = r->scan;
    if (lb_wire_check_event(&e, why, sizeof(why)) != 0)
        fail_msg("wire: %s (code '%s')", why, r->scan.code);
}

static void expect(const struct scan_grammar *g, const char *in, int accepted,
                   enum lb_scan_kind kind, const char *code, const char *value,
                   int has_qty, int64_t qty)
{
    struct scan_result r;

    parse(g, in, &r);
    wire_ok(&r);
    assert_int_equal(r.empty, 0);
    if (r.accepted != accepted)
        fail_msg("'%s': accepted %d, expected %d (%s)", in, r.accepted, accepted, r.why);
    assert_int_equal(r.scan.kind, kind);
    assert_string_equal(r.scan.code, code);
    assert_string_equal(r.scan.value, value);
    assert_int_equal(r.scan.has_qty, has_qty);
    if (has_qty)
        assert_int_equal(r.scan.qty, qty);
    if (!accepted)
        assert_true(r.why[0] != '\0');
}

static void test_kinds(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;
    struct scan_result r;

    (void)state;
    defaults(&c);
    g = grammar(&c);
    expect(g, "WO-10023", 1, LB_SCAN_ORDER_START, "WO-10023", "10023", 0, 0);
    expect(g, "END-10023", 1, LB_SCAN_ORDER_END, "END-10023", "10023", 0, 0);
    /* The prefix alone ends whatever order runs. */
    expect(g, "END-", 1, LB_SCAN_ORDER_END, "END-", "", 0, 0);
    expect(g, "OP-4711", 1, LB_SCAN_OPERATOR, "OP-4711", "4711", 0, 0);
    expect(g, "DT-JAM", 1, LB_SCAN_DOWNTIME_REASON, "DT-JAM", "JAM", 0, 0);
    expect(g, "SC-BURR*3", 1, LB_SCAN_SCRAP, "SC-BURR*3", "BURR", 1, 3);
    expect(g, "SC-BURR", 1, LB_SCAN_SCRAP, "SC-BURR", "BURR", 1, 1);
    /* The last separator splits: a reason may hold one. */
    expect(g, "SC-A*B*12", 1, LB_SCAN_SCRAP, "SC-A*B*12", "A*B", 1, 12);
    expect(g, "SC-BURR*10000", 1, LB_SCAN_SCRAP, "SC-BURR*10000", "BURR", 1, 10000);
    /* UTF-8 is fine in values. */
    expect(g, "DT-St\xc3\xb6rung", 1, LB_SCAN_DOWNTIME_REASON, "DT-St\xc3\xb6rung",
           "St\xc3\xb6rung", 0, 0);

    /* A machine label is no event: the loop changes the scanner's machine. */
    parse(g, "MC-press-3", &r);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(r.machine, 1);
    assert_int_equal(r.scan.kind, LB_SCAN_UNKNOWN);
    assert_string_equal(r.scan.value, "press-3");
    parse(g, "WO-1", &r);
    assert_int_equal(r.machine, 0);
    scan_grammar_free(g);
}

static void test_malformed(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;

    (void)state;
    defaults(&c);
    g = grammar(&c);
    /* Unknown codes keep their code, lose any value. */
    expect(g, "4006381333931", 0, LB_SCAN_UNKNOWN, "4006381333931", "", 0, 0);
    expect(g, "wo-1001", 0, LB_SCAN_UNKNOWN, "wo-1001", "", 0, 0);
    expect(g, "W", 0, LB_SCAN_UNKNOWN, "W", "", 0, 0);
    /* A kind without its value. */
    expect(g, "WO-", 0, LB_SCAN_UNKNOWN, "WO-", "", 0, 0);
    expect(g, "OP-", 0, LB_SCAN_UNKNOWN, "OP-", "", 0, 0);
    expect(g, "SC-*3", 0, LB_SCAN_UNKNOWN, "SC-*3", "", 0, 0);
    /* Quantities: digits only, 1..qty_max. */
    expect(g, "SC-BURR*", 0, LB_SCAN_UNKNOWN, "SC-BURR*", "", 0, 0);
    expect(g, "SC-BURR*0", 0, LB_SCAN_UNKNOWN, "SC-BURR*0", "", 0, 0);
    expect(g, "SC-BURR*-2", 0, LB_SCAN_UNKNOWN, "SC-BURR*-2", "", 0, 0);
    expect(g, "SC-BURR*3x", 0, LB_SCAN_UNKNOWN, "SC-BURR*3x", "", 0, 0);
    expect(g, "SC-BURR*10001", 0, LB_SCAN_UNKNOWN, "SC-BURR*10001", "", 0, 0);
    expect(g, "SC-BURR*99999999999999999999999", 0, LB_SCAN_UNKNOWN,
           "SC-BURR*99999999999999999999999", "", 0, 0);
    /* A machine label that cannot be a machine id. */
    expect(g, "MC-press 3", 0, LB_SCAN_UNKNOWN, "MC-press 3", "", 0, 0);
    expect(g, "MC-", 0, LB_SCAN_UNKNOWN, "MC-", "", 0, 0);
    scan_grammar_free(g);
}

static void test_limits(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;
    struct scan_result r;
    char in[2 * LB_SCAN_MAX], want[LB_SCAN_MAX + 1];

    (void)state;
    defaults(&c);
    g = grammar(&c);
    /* Order numbers and reasons: the server keeps 64 bytes. */
    memset(in, 0, sizeof(in));
    memcpy(in, "WO-", 3);
    memset(in + 3, '7', SCAN_ID_MAX);
    parse(g, in, &r);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(strlen(r.scan.value), SCAN_ID_MAX);
    in[3 + SCAN_ID_MAX] = '7';
    parse(g, in, &r);
    assert_int_equal(r.accepted, 0);
    wire_ok(&r);
    /* Operator badges may use the whole scan. */
    memset(in, 0, sizeof(in));
    memcpy(in, "OP-", 3);
    memset(in + 3, 'b', LB_SCAN_MAX - 3);
    parse(g, in, &r);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(strlen(r.scan.code), LB_SCAN_MAX);
    /* One byte more: cut with "...", unknown. */
    in[LB_SCAN_MAX] = 'b';
    parse(g, in, &r);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(strlen(r.scan.code), LB_SCAN_MAX);
    memcpy(want, in, LB_SCAN_MAX - 3);
    memcpy(want + LB_SCAN_MAX - 3, "...", 4);
    assert_string_equal(r.scan.code, want);
    wire_ok(&r);
    /* Cut at a character boundary, never inside one. */
    memset(in, 0, sizeof(in));
    for (size_t i = 0; i + 2 <= LB_SCAN_MAX + 10; i += 2)
        memcpy(in + i, "\xc3\xa4", 2);
    parse(g, in, &r);
    assert_int_equal(r.accepted, 0);
    assert_true(strlen(r.scan.code) <= LB_SCAN_MAX);
    wire_ok(&r);
    /* The scanner's own flags. */
    scan_parse(g, "WO-1", 4, 1, 0, &r);
    assert_int_equal(r.accepted, 0);
    assert_string_equal(r.scan.code, "WO-1");
    assert_non_null(strstr(r.why, "longer"));
    scan_parse(g, "WO-1", 4, 0, 1, &r);
    assert_int_equal(r.accepted, 0);
    assert_non_null(strstr(r.why, "lost"));
    scan_parse(g, "", 0, 1, 0, &r);
    assert_int_equal(r.empty, 0);
    assert_int_equal(r.accepted, 0);
    scan_grammar_free(g);
}

static void test_control_characters(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;
    struct scan_result r;

    (void)state;
    defaults(&c);
    g = grammar(&c);
    /* At the ends: trimmed (suffixes, STX/ETX framing, spaces). */
    scan_parse(g, "\x02 WO-1001\t\r\n\x03", 14, 0, 0, &r);
    assert_int_equal(r.accepted, 1);
    assert_string_equal(r.scan.code, "WO-1001");
    assert_string_equal(r.scan.value, "1001");
    /* Inside: shown as \xNN, unknown (GS of a GS1 code, NUL, ESC, DEL). */
    expect(g,
           "WO-10\x1d"
           "01",
           0, LB_SCAN_UNKNOWN, "WO-10\\x1d01", "", 0, 0);
    scan_parse(g, "WO-1\0002", 6, 0, 0, &r);
    assert_int_equal(r.accepted, 0);
    assert_string_equal(r.scan.code, "WO-1\\x002");
    expect(g, "DT-A\x1b[B", 0, LB_SCAN_UNKNOWN, "DT-A\\x1b[B", "", 0, 0);
    expect(g,
           "DT-A\x7f"
           "B",
           0, LB_SCAN_UNKNOWN, "DT-A\\x7fB", "", 0, 0);
    /* Not UTF-8: Latin-1 from a scanner on the wrong code page, a broken
     * sequence, an overlong form, a surrogate. */
    expect(g, "DT-St\xf6rung", 0, LB_SCAN_UNKNOWN, "DT-St\\xf6rung", "", 0, 0);
    expect(g, "DT-\xc3", 0, LB_SCAN_UNKNOWN, "DT-\\xc3", "", 0, 0);
    expect(g, "DT-\xc0\xaf", 0, LB_SCAN_UNKNOWN, "DT-\\xc0\\xaf", "", 0, 0);
    expect(g, "DT-\xed\xa0\x80", 0, LB_SCAN_UNKNOWN, "DT-\\xed\\xa0\\x80", "", 0, 0);
    /* Inner spaces are kept and are not control characters. */
    expect(g, "OP-Jane Doe", 1, LB_SCAN_OPERATOR, "OP-Jane Doe", "Jane Doe", 0, 0);
    /* Nothing but blanks: no scan at all. */
    scan_parse(g, " \r\n\t\x02", 5, 0, 0, &r);
    assert_int_equal(r.empty, 1);
    assert_int_equal(r.accepted, 0);
    scan_parse(g, "", 0, 0, 0, &r);
    assert_int_equal(r.empty, 1);
    scan_grammar_free(g);
}

static void test_prefixes(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;

    (void)state;
    defaults(&c);
    /* The longest matching prefix wins; an empty prefix is off. */
    snprintf(c.prefix[SCAN_R_ORDER_START], sizeof(c.prefix[0]), "W");
    snprintf(c.prefix[SCAN_R_ORDER_END], sizeof(c.prefix[0]), "WE");
    c.prefix[SCAN_R_DOWNTIME][0] = '\0';
    c.qty_separator[0] = '\0';
    c.ignore_case = 1;
    g = grammar(&c);
    expect(g, "W1001", 1, LB_SCAN_ORDER_START, "W1001", "1001", 0, 0);
    expect(g, "WE1001", 1, LB_SCAN_ORDER_END, "WE1001", "1001", 0, 0);
    expect(g, "we1001", 1, LB_SCAN_ORDER_END, "we1001", "1001", 0, 0);
    expect(g, "DT-JAM", 0, LB_SCAN_UNKNOWN, "DT-JAM", "", 0, 0);
    /* No separator: the whole rest is the reason, quantity 1. */
    expect(g, "sc-A*3", 1, LB_SCAN_SCRAP, "sc-A*3", "A*3", 1, 1);
    scan_grammar_free(g);

    /* A longer separator. */
    defaults(&c);
    snprintf(c.qty_separator, sizeof(c.qty_separator), "/Q");
    g = grammar(&c);
    expect(g, "SC-PORE/Q25", 1, LB_SCAN_SCRAP, "SC-PORE/Q25", "PORE", 1, 25);
    expect(g, "SC-PORE/25", 1, LB_SCAN_SCRAP, "SC-PORE/25", "PORE/25", 1, 1);
    scan_grammar_free(g);
}

static void test_regex(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g;

    (void)state;
    defaults(&c);
    c.prefix[SCAN_R_ORDER_START][0] = '\0';
    snprintf(c.regex[SCAN_R_ORDER_START], sizeof(c.regex[0]), "^(1[0-9]{6})$");
    c.prefix[SCAN_R_SCRAP][0] = '\0';
    snprintf(c.regex[SCAN_R_SCRAP], sizeof(c.regex[0]), "S([A-Z]+)(-([0-9]+))?");
    c.prefix[SCAN_R_OPERATOR][0] = '\0';
    snprintf(c.regex[SCAN_R_OPERATOR], sizeof(c.regex[0]), "[0-9]{4}");
    g = grammar(&c);
    /* A bare number as order code: group 1 is the value. */
    expect(g, "1002345", 1, LB_SCAN_ORDER_START, "1002345", "1002345", 0, 0);
    /* It must match the whole code, anchors or not. */
    expect(g, "10023456", 0, LB_SCAN_UNKNOWN, "10023456", "", 0, 0);
    expect(g, "SBURR", 1, LB_SCAN_SCRAP, "SBURR", "BURR", 1, 1);
    expect(g, "xSBURR", 0, LB_SCAN_UNKNOWN, "xSBURR", "", 0, 0);
    /* Group 2 is the quantity of a scrap code: here "-4", not a number. */
    expect(g, "SBURR-4", 0, LB_SCAN_UNKNOWN, "SBURR-4", "", 0, 0);
    /* No group: the whole code is the value. */
    expect(g, "0815", 1, LB_SCAN_OPERATOR, "0815", "0815", 0, 0);
    /* Prefixes still apply to the other kinds. */
    expect(g, "DT-JAM", 1, LB_SCAN_DOWNTIME_REASON, "DT-JAM", "JAM", 0, 0);
    scan_grammar_free(g);

    defaults(&c);
    c.prefix[SCAN_R_SCRAP][0] = '\0';
    snprintf(c.regex[SCAN_R_SCRAP], sizeof(c.regex[0]), "S([A-Z]+)-?([0-9]*)");
    g = grammar(&c);
    expect(g, "SBURR-4", 1, LB_SCAN_SCRAP, "SBURR-4", "BURR", 1, 4);
    expect(g, "SBURR", 1, LB_SCAN_SCRAP, "SBURR", "BURR", 1, 1);
    expect(g, "SBURR-0", 0, LB_SCAN_UNKNOWN, "SBURR-0", "", 0, 0);
    scan_grammar_free(g);
}

static void test_config_errors(void **state)
{
    struct scan_conf c;
    struct scan_grammar *g = NULL;
    enum scan_rule bad;
    char why[256];

    (void)state;
    defaults(&c);
    snprintf(c.regex[SCAN_R_OPERATOR], sizeof(c.regex[0]), "^OP([0-9]+)$");
    assert_int_equal(scan_grammar_new(&c, &g, why, sizeof(why), &bad), LB_E_CONFIG);
    assert_null(g);
    assert_int_equal(bad, SCAN_R_OPERATOR);
    assert_non_null(strstr(why, "both"));

    defaults(&c);
    c.prefix[SCAN_R_OPERATOR][0] = '\0';
    snprintf(c.regex[SCAN_R_OPERATOR], sizeof(c.regex[0]), "^OP([0-9]+$");
    assert_int_equal(scan_rule_check(&c, SCAN_R_OPERATOR, why, sizeof(why)), LB_E_CONFIG);
    assert_int_equal(scan_grammar_new(&c, &g, why, sizeof(why), &bad), LB_E_CONFIG);
    assert_int_equal(bad, SCAN_R_OPERATOR);

    defaults(&c);
    snprintf(c.prefix[SCAN_R_SCRAP], sizeof(c.prefix[0]), "wo-");
    assert_int_equal(scan_rule_check(&c, SCAN_R_SCRAP, why, sizeof(why)), 0);
    c.ignore_case = 1;
    assert_int_equal(scan_rule_check(&c, SCAN_R_SCRAP, why, sizeof(why)), LB_E_CONFIG);
    assert_non_null(strstr(why, "order_start"));

    defaults(&c);
    snprintf(c.prefix[SCAN_R_SCRAP], sizeof(c.prefix[0]), "S C");
    assert_int_equal(scan_rule_check(&c, SCAN_R_SCRAP, why, sizeof(why)), LB_E_CONFIG);

    defaults(&c);
    c.qty_max = 0;
    assert_int_equal(scan_grammar_new(&c, &g, why, sizeof(why), NULL), LB_E_CONFIG);

    assert_string_equal(scan_rule_name(SCAN_R_DOWNTIME), "downtime_reason");
    assert_int_equal(scan_rule_kind(SCAN_R_SCRAP), LB_SCAN_SCRAP);
    assert_int_equal(scan_rule_kind(SCAN_R_MACHINE), LB_SCAN_UNKNOWN);
    scan_grammar_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),         cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_prefixes),      cmocka_unit_test(test_regex),
        cmocka_unit_test(test_config_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
