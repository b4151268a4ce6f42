/*
 * libFuzzer target for what a scanner sends: the scan grammar
 * (agent/scan.c) on raw bytes, and key codes through the keyboard map
 * (devices/keymap.c) into the grammar, as a keyboard-wedge scanner would.
 *
 * The first byte picks the grammar (the defaults; regular expressions for
 * some kinds; case-insensitive with a long separator) and whether the rest
 * is text or key events (pairs of bytes: code, and 0 release / 1 press / 2
 * repeat, in the us or de layout).
 *
 * Promises checked: every result can be spooled (lb_wire_check_event
 * accepts it: NUL-terminated, UTF-8, within LB_SCAN_MAX); a code holds no
 * control character; an accepted value lies inside the code, a scrap
 * quantity is 1..qty_max, and only accepted scans have a kind other than
 * unknown; an empty result comes only from blank input; parsing the same
 * input twice gives the same result.  A broken promise aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/scanner.h"
#include "linebeat/wire.h"
#include "scan.h"
#include "scanner_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NGRAMMARS 3

static struct scan_grammar *grammars[NGRAMMARS];
static struct scan_conf confs[NGRAMMARS];

static void die(const char *what, const char *code) __attribute__((noreturn));
static void setup(void);
static void check(const struct scan_conf *c, const char *in, size_t len, int overlong,
                  const struct scan_result *r);

static void die(const char *what, const char *code)
{
    fprintf(stderr, "fuzz_scan: %s (code '%s')\n", what, code ? code : "");
    abort();
}

static void setup(void)
{
    static const char *const prefixes[SCAN_R_COUNT] = {"WO-", "END-", "OP-",
                                                       "DT-", "SC-",  "MC-"};
    char why[256];

    for (int g = 0; g < NGRAMMARS; g++) {
        struct scan_conf *c = &confs[g];

        memset(c, 0, sizeof(*c));
        for (int r = 0; r < SCAN_R_COUNT; r++)
            snprintf(c->prefix[r], sizeof(c->prefix[r]), "%s", prefixes[r]);
        snprintf(c->qty_separator, sizeof(c->qty_separator), "*");
        c->qty_max = 10000;
        if (g == 1) {
            c->prefix[SCAN_R_ORDER_START][0] = '\0';
            snprintf(c->regex[SCAN_R_ORDER_START], sizeof(c->regex[0]), "^(1[0-9]{6})$");
            c->prefix[SCAN_R_SCRAP][0] = '\0';
            snprintf(c->regex[SCAN_R_SCRAP], sizeof(c->regex[0]), "S([A-Z]+)-?([0-9]*)");
            c->prefix[SCAN_R_OPERATOR][0] = '\0';
            snprintf(c->regex[SCAN_R_OPERATOR], sizeof(c->regex[0]), "(.*)@badge");
        } else if (g == 2) {
            c->ignore_case = 1;
            snprintf(c->qty_separator, sizeof(c->qty_separator), "/q");
            snprintf(c->prefix[SCAN_R_ORDER_END], sizeof(c->prefix[0]), "W");
            c->qty_max = 7;
        }
        if (scan_grammar_new(c, &grammars[g], why, sizeof(why), NULL) != 0)
            die("grammar does not compile", why);
    }
}

static void check(const struct scan_conf *c, const char *in, size_t len, int overlong,
                  const struct scan_result *r)
{
    const struct lb_scan *s = &r->scan;
    struct lb_event e;
    char why[160];
    size_t n;

    memset(&e, 0, sizeof(e));
    e.seq = 1;
    e.t = 1;
    snprintf(e.dev, sizeof(e.dev), "m");
    e.type = LB_EV_SCAN;
    e.u.scan = *s;
    if (lb_wire_check_event(&e, why, sizeof(why)) != 0)
        die(why, s->code);
    n = strlen(s->code);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s->code[i] < 0x20 || s->code[i] == 0x7f)
            die("control character in code", s->code);
    if (r->empty) {
        if (r->accepted || overlong)
            die("empty but accepted or overlong", s->code);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)in[i] > ' ' && in[i] != 0x7f)
                die("empty from input that is not blank", s->code);
        return;
    }
    if (n == 0 && !overlong)
        die("no code for a scan that is not empty", s->code);
    if (!r->accepted) {
        if (s->kind != LB_SCAN_UNKNOWN || s->value[0] != '\0' || s->has_qty || r->machine)
            die("refused scan with a kind, value or quantity", s->code);
        if (r->why[0] == '\0')
            die("refused without a reason", s->code);
        return;
    }
    if (overlong)
        die("overlong input accepted", s->code);
    if (s->value[0] != '\0' && strstr(s->code, s->value) == NULL)
        die("value not inside the code", s->code);
    if (r->machine) {
        if (s->kind != LB_SCAN_UNKNOWN || !lb_id_valid(s->value))
            die("machine label with a kind or not an id", s->code);
    } else if (s->kind == LB_SCAN_UNKNOWN) {
        die("accepted as unknown", s->code);
    }
    if (s->kind == LB_SCAN_SCRAP) {
        if (!s->has_qty || s->qty < 1 || s->qty > c->qty_max)
            die("scrap quantity out of range", s->code);
    } else if (s->has_qty) {
        die("quantity on a scan that is not scrap", s->code);
    }
    if (s->kind != LB_SCAN_ORDER_END && s->value[0] == '\0')
        die("accepted without a value", s->code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[LB_SCANNER_LINE_MAX + 1];
    struct scan_result r1, r2;
    const struct scan_grammar *g;
    const struct scan_conf *c;
    size_t len = 0;
    int overlong = 0, keys;

    if (grammars[0] == NULL)
        setup();
    if (size == 0)
        return 0;
    g = grammars[data[0] % NGRAMMARS];
    c = &confs[data[0] % NGRAMMARS];
    keys = (data[0] / NGRAMMARS) % 3; /* 0: text, 1: us keys, 2: de keys */
    data++;
    size--;
    if (keys == 0) {
        len = size > LB_SCANNER_LINE_MAX ? LB_SCANNER_LINE_MAX : size;
        overlong = size > LB_SCANNER_LINE_MAX;
        memcpy(text, data, len);
    } else {
        struct keymap k;

        keymap_init(&k, keys == 1 ? LB_LAYOUT_US : LB_LAYOUT_DE);
        for (size_t i = 0; i + 1 < size; i += 2) {
            char out[KEYMAP_OUT_MAX];
            int enter,
                n = keymap_feed(&k, data[i], data[i + 1] % 3, out, sizeof(out), &enter);

            if (n < 0 || n > KEYMAP_OUT_MAX)
                die("keymap wrote out of bounds", NULL);
            if (len + (size_t)n > LB_SCANNER_LINE_MAX) {
                overlong = 1;
                break;
            }
            memcpy(text + len, out, (size_t)n);
            len += (size_t)n;
            if (enter)
                break;
        }
    }
    text[len] = '\0';
    scan_parse(g, text, len, overlong, 0, &r1);
    check(c, text, len, overlong, &r1);
    scan_parse(g, text, len, overlong, 0, &r2);
    if (memcmp(&r1, &r2, sizeof(r1)) != 0)
        die("two parses differ", r1.scan.code);
    return 0;
}
