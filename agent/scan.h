/*
 * The scan grammar: what a scanned code means.  Each kind (order start and
 * end, operator badge, downtime reason, scrap reason and quantity, and a
 * machine label that says which machine a scanner serves) is recognised by
 * a prefix or a POSIX extended regular expression from the [scan] section.
 * Scanner input is outside input: any bytes, any length.  scan_parse never
 * fails; what it does not understand is an unknown scan, with the reason.
 * The rules are in docs/scanners.md.
 */
#ifndef AGENT_SCAN_H
#define AGENT_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "linebeat/wire.h"

/* The rules of the grammar, in the order regular expressions are tried. */
enum scan_rule {
    SCAN_R_ORDER_START,
    SCAN_R_ORDER_END,
    SCAN_R_OPERATOR,
    SCAN_R_DOWNTIME,
    SCAN_R_SCRAP,
    SCAN_R_MACHINE,
    SCAN_R_COUNT
};

#define SCAN_PREFIX_MAX 64
#define SCAN_REGEX_MAX  180 /* the INI reader's lines are at most 198 characters */
#define SCAN_SEP_MAX    4
/* Order numbers and reason codes: the server's limit for both. */
#define SCAN_ID_MAX LB_CODE_MAX

/* The [scan] section.  An empty prefix and an empty regex: the kind is not
 * recognised.  A rule has a prefix or a regex, not both. */
struct scan_conf {
    char prefix[SCAN_R_COUNT][SCAN_PREFIX_MAX + 1];
    char regex[SCAN_R_COUNT][SCAN_REGEX_MAX + 1];
    char qty_separator[SCAN_SEP_MAX + 1]; /* scrap: REASON<sep>QTY; "" none */
    int64_t qty_max;                      /* scrap quantities are 1..qty_max */
    int ignore_case;                      /* prefixes and regexes */
};

struct scan_result {
    int empty;    /* nothing but blanks and control characters: no scan */
    int accepted; /* the grammar understood it */
    int machine;  /* accepted as a machine label: scan.value is the machine */
    /* kind (LB_SCAN_UNKNOWN when not accepted, and for a machine label),
     * code (printable, at most LB_SCAN_MAX bytes, UTF-8), value, qty */
    struct lb_scan scan;
    char why[128]; /* not accepted: why, for the log */
};

struct scan_grammar;

/* The wire kind of each rule (the machine label has none: LB_SCAN_UNKNOWN)
 * and its key name in [scan] ("order_start", ..., "machine"). */
enum lb_scan_kind scan_rule_kind(enum scan_rule r);
const char *scan_rule_name(enum scan_rule r);

/*
 * Checks rule r of c alone: a prefix and a regex both set, a prefix with a
 * blank or control character (cleaned codes never start with one), the
 * same prefix as an earlier rule, a regex that does not compile.  Returns
 * 0, or LB_E_CONFIG with a one-line message in why.
 */
int scan_rule_check(const struct scan_conf *c, enum scan_rule r, char *why,
                    size_t whylen);

/*
 * Compiles c into OUT: *g.  Returns 0, -ENOMEM, or LB_E_CONFIG with the
 * message of scan_rule_check (or of a qty_max below 1) in why; *bad is
 * then the rule at fault (bad may be NULL).
 */
int scan_grammar_new(const struct scan_conf *c, struct scan_grammar **g, char *why,
                     size_t whylen, enum scan_rule *bad);
void scan_grammar_free(struct scan_grammar *g);

/*
 * Understands one scan of len bytes (any bytes).  overlong and lost are
 * the scanner's flags (linebeat/scanner.h): such a scan is unknown.  The
 * code is cleaned first: blanks and control characters at either end are
 * removed (a Tab or CR suffix, STX/ETX framing); what remains inside that
 * is a control character or not UTF-8 is written \xNN and makes the scan
 * unknown; a code longer than LB_SCAN_MAX bytes is cut, ends in "...", and
 * is unknown.  Then regexes are tried in rule order, then the longest
 * matching prefix wins.  Thread-safe for one g.  Fills OUT: r.
 */
void scan_parse(const struct scan_grammar *g, const char *text, size_t len, int overlong,
                int lost, struct scan_result *r);

#endif
