/*
 * devices/scanner*.c: scans assembled from a serial scanner simulated on a
 * pseudo-terminal (terminators, the idle gap that ends a scan sent without
 * one, overlong input, a hang-up), and the checks of lb_scanner_new and
 * lb_scanner_open.  Keyboard scanners need /dev/uinput: see
 * tests/integration/test_scan_evdev.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "linebeat/clock.h"
#include "linebeat/scanner.h"

#define MAXSCANS 8

struct got {
    int n;
    struct lb_scan_input in[MAXSCANS];
};

struct pty {
    int master;
    char path[64];
};

static void collect(void *arg, const struct lb_scan_input *in)
{
    struct got *g = arg;

    assert_true(g->n < MAXSCANS);
    g->in[g->n++] = *in;
}

static void pty_open(struct pty *p)
{
    int slave;

    assert_int_equal(openpty(&p->master, &slave, NULL, NULL, NULL), 0);
    snprintf(p->path, sizeof(p->path), "%s", ttyname(slave));
    /* The scanner opens the path itself, as it would /dev/ttyACM0. */
    close(slave);
}

static struct lb_scanner *serial(const char *path, enum lb_term term, int idle_ms)
{
    struct lb_scanner_link l;
    struct lb_scanner *s;

    memset(&l, 0, sizeof(l));
    l.type = LB_SCANNER_SERIAL;
    snprintf(l.device, sizeof(l.device), "%s", path);
    l.baud = 9600;
    l.term = term;
    l.idle_ms = idle_ms;
    s = lb_scanner_new(&l);
    assert_non_null(s);
    assert_int_equal(lb_scanner_open(s), 0);
    assert_true(lb_scanner_fd(s) >= 0);
    return s;
}

/* Writes text to the scanner's line and reads until n bytes arrived in
 * total (or 2 s passed), collecting finished scans. */
static void line_send(struct pty *p, struct lb_scanner *s, const char *text, size_t len,
                      struct got *g)
{
    int64_t until = lb_mono_ms() + 2000;

    assert_int_equal(write(p->master, text, len), (ssize_t)len);
    while (lb_mono_ms() < until) {
        struct pollfd pfd = {.fd = lb_scanner_fd(s), .events = POLLIN};

        if (poll(&pfd, 1, 50) <= 0)
            break; /* nothing more within 50 ms: all of it was read */
        assert_int_equal(lb_scanner_read(s, lb_mono_ms(), collect, g), 0);
    }
}

static void test_terminators(void **state)
{
    struct pty p;
    struct lb_scanner *s;
    struct got g = {0};

    (void)state;
    pty_open(&p);
    s = serial(p.path, LB_TERM_ANY, 0);
    /* CR, LF or both: one scan each, the empty one between CR and LF
     * vanishes. */
    line_send(&p, s, "WO-1001\rOP-7\nDT-JAM\r\n\r\n", 23, &g);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.in[0].text, "WO-1001");
    assert_int_equal(g.in[0].len, 7);
    assert_int_equal(g.in[0].overlong, 0);
    assert_string_equal(g.in[1].text, "OP-7");
    assert_string_equal(g.in[2].text, "DT-JAM");
    lb_scanner_free(s);

    /* crlf: a lone CR is part of the code. */
    memset(&g, 0, sizeof(g));
    s = serial(p.path, LB_TERM_CRLF, 0);
    line_send(&p, s, "A\rB\r\nC\r", 7, &g);
    line_send(&p, s, "\n", 1, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.in[0].text, "A\rB");
    assert_string_equal(g.in[1].text, "C");
    lb_scanner_free(s);

    /* lf: CR stays (the grammar trims it). */
    memset(&g, 0, sizeof(g));
    s = serial(p.path, LB_TERM_LF, 0);
    line_send(&p, s, "X1\r\n", 4, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.in[0].text, "X1\r");
    lb_scanner_free(s);
    close(p.master);
}

static void test_idle_gap(void **state)
{
    struct pty p;
    struct lb_scanner *s;
    struct got g = {0};
    int64_t t0, end;

    (void)state;
    pty_open(&p);
    s = serial(p.path, LB_TERM_NONE, 80);
    assert_int_equal(lb_scanner_deadline(s), INT64_MAX);
    t0 = lb_mono_ms();
    line_send(&p, s, "WO-7", 4, &g);
    line_send(&p, s, "7", 1, &g);
    assert_int_equal(g.n, 0);
    end = lb_scanner_deadline(s);
    assert_true(end >= t0 + 80 && end <= lb_mono_ms() + 80);
    /* Not before the gap is over... */
    assert_int_equal(lb_scanner_expire(s, end - 1, collect, &g), 0);
    assert_int_equal(g.n, 0);
    /* ...then the scan ends, dated by its last byte. */
    assert_int_equal(lb_scanner_expire(s, end, collect, &g), 1);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.in[0].text, "WO-77");
    assert_int_equal(g.in[0].mono_ms, end - 80);
    assert_int_equal(lb_scanner_deadline(s), INT64_MAX);
    assert_int_equal(lb_scanner_expire(s, end + 1000, collect, &g), 0);
    lb_scanner_free(s);

    /* With a terminator too, the gap ends a scan that lacks one; the
     * terminator still ends the next at once. */
    memset(&g, 0, sizeof(g));
    s = serial(p.path, LB_TERM_CR, 50);
    line_send(&p, s, "AB", 2, &g);
    assert_int_equal(lb_scanner_expire(s, lb_scanner_deadline(s), collect, &g), 1);
    line_send(&p, s, "CD\r", 3, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.in[0].text, "AB");
    assert_string_equal(g.in[1].text, "CD");
    assert_int_equal(lb_scanner_deadline(s), INT64_MAX);
    lb_scanner_free(s);
    close(p.master);
}

static void test_overlong(void **state)
{
    static char big[3000];
    struct pty p;
    struct lb_scanner *s;
    struct got g = {0};

    (void)state;
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\r';
    pty_open(&p);
    s = serial(p.path, LB_TERM_ANY, 0);
    line_send(&p, s, big, sizeof(big), &g);
    line_send(&p, s, "OK\r", 3, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.in[0].len, LB_SCANNER_LINE_MAX);
    assert_int_equal(g.in[0].overlong, 1);
    assert_int_equal(g.in[0].text[LB_SCANNER_LINE_MAX], '\0');
    /* The next scan is whole again. */
    assert_string_equal(g.in[1].text, "OK");
    assert_int_equal(g.in[1].overlong, 0);
    lb_scanner_free(s);
    close(p.master);
}

static void test_hangup(void **state)
{
    struct pty p;
    struct lb_scanner *s;
    struct got g = {0};
    struct pollfd pfd;
    int rc;

    (void)state;
    pty_open(&p);
    s = serial(p.path, LB_TERM_ANY, 100);
    line_send(&p, s, "half", 4, &g);
    /* Unplugged: the line hangs up; the unfinished scan goes with it. */
    close(p.master);
    pfd = (struct pollfd){.fd = lb_scanner_fd(s), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 1000), 1);
    rc = lb_scanner_read(s, lb_mono_ms(), collect, &g);
    assert_int_equal(rc, -ENODEV);
    assert_int_equal(lb_scanner_fd(s), -1);
    assert_int_equal(lb_scanner_deadline(s), INT64_MAX);
    assert_int_equal(g.n, 0);
    /* Its device node is gone, so opening it again fails until it is
     * back (the agent retries by path). */
    rc = lb_scanner_open(s);
    assert_true(rc == -ENOENT || rc == -EIO);
    assert_int_equal(lb_scanner_read(s, lb_mono_ms(), collect, &g), -EBADF);
    lb_scanner_free(s);
}

static void test_checks(void **state)
{
    struct lb_scanner_link l;
    struct lb_scanner *s;
    struct pty p;

    (void)state;
    memset(&l, 0, sizeof(l));
    l.type = LB_SCANNER_SERIAL;
    l.baud = 9600;
    errno = 0;
    assert_null(lb_scanner_new(&l)); /* no device */
    assert_int_equal(errno, EINVAL);
    snprintf(l.device, sizeof(l.device), "/dev/null");
    l.baud = 12345;
    assert_null(lb_scanner_new(&l));
    l.baud = 9600;
    l.term = (enum lb_term)9;
    assert_null(lb_scanner_new(&l));
    l.term = LB_TERM_ANY;
    l.idle_ms = -1;
    assert_null(lb_scanner_new(&l));
    l.idle_ms = 0;
    l.type = LB_SCANNER_EVDEV;
    l.layout = LB_LAYOUT_COUNT;
    assert_null(lb_scanner_new(&l));
    assert_int_equal(lb_scanner_baud_valid(115200), 1);
    assert_int_equal(lb_scanner_baud_valid(0), 0);

    /* Not there, and not a device of its type. */
    l.layout = LB_LAYOUT_DE;
    snprintf(l.device, sizeof(l.device), "/dev/input/by-id/no-such-scanner-event-kbd");
    s = lb_scanner_new(&l);
    assert_non_null(s);
    assert_int_equal(lb_scanner_open(s), -ENOENT);
    assert_int_equal(lb_scanner_fd(s), -1);
    lb_scanner_free(s);
    pty_open(&p);
    snprintf(l.device, sizeof(l.device), "%s", p.path);
    s = lb_scanner_new(&l);
    assert_int_equal(lb_scanner_open(s), -ENOTTY);
    lb_scanner_free(s);
    l.type = LB_SCANNER_SERIAL;
    snprintf(l.device, sizeof(l.device), "/dev/null");
    s = lb_scanner_new(&l);
    assert_int_equal(lb_scanner_open(s), -ENOTTY);
    lb_scanner_free(s);
    lb_scanner_free(NULL);
    close(p.master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminators), cmocka_unit_test(test_idle_gap),
        cmocka_unit_test(test_overlong),    cmocka_unit_test(test_hangup),
        cmocka_unit_test(test_checks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
