/*
 * Barcode scanners at the machine, seen from the agent: a keyboard-wedge USB
 * scanner read through evdev (grabbed, so scans never type into a console),
 * or a serial / USB-CDC scanner read through termios.  A scanner turns its
 * input into scans, each one code as the scanner sent it (bytes, not yet
 * checked or understood: agent/scan.c does that).  Non-blocking: the caller
 * polls lb_scanner_fd() and calls lb_scanner_read(); a device never prints.
 */
#ifndef LINEBEAT_SCANNER_H
#define LINEBEAT_SCANNER_H

#include <stddef.h>
#include <stdint.h>

/* Longest scan kept, bytes; longer input is cut and flagged overlong. */
#define LB_SCANNER_LINE_MAX 1024

enum lb_scanner_type { LB_SCANNER_EVDEV, LB_SCANNER_SERIAL };

/* Keyboard layouts for key codes -> text (evdev scanners). */
enum lb_layout { LB_LAYOUT_US, LB_LAYOUT_DE, LB_LAYOUT_COUNT };

/* What ends a scan on a serial line.  ANY: CR or LF (a CR LF pair gives one
 * scan, as empty scans are skipped); NONE: only the idle gap. */
enum lb_term { LB_TERM_ANY, LB_TERM_CR, LB_TERM_LF, LB_TERM_CRLF, LB_TERM_NONE };

struct lb_scanner_link {
    enum lb_scanner_type type;
    char device[256];      /* path; for evdev best a /dev/input/by-id/ name */
    enum lb_layout layout; /* evdev */
    int grab;              /* evdev: exclusive access (EVIOCGRAB) */
    int baud;              /* serial: a termios speed; 8N1 */
    enum lb_term term;     /* serial */
    int idle_ms;           /* both: a pause this long ends a scan; 0: never */
};

/* One scan: len bytes of text (may hold any byte, NUL included; text[len]
 * is NUL).  overlong: the scanner sent more than LB_SCANNER_LINE_MAX bytes
 * before the end of the scan, and the rest was dropped.  lost: key events
 * were lost inside it (the kernel's buffer overflowed), so text is not what
 * was scanned. */
struct lb_scan_input {
    size_t len;
    int overlong;
    int lost;
    int64_t mono_ms; /* when the last byte or key of it arrived */
    char text[LB_SCANNER_LINE_MAX + 1];
};

/* Called once per finished scan; in points to the scanner's buffer, valid
 * during the call only. */
typedef void (*lb_scan_fn)(void *arg, const struct lb_scan_input *in);

struct lb_scanner;

/* Creates a scanner for link (copied).  Does not open the device.  Returns
 * NULL with errno EINVAL (an empty device path, an unknown type, layout or
 * terminator, a speed termios lacks) or ENOMEM. */
struct lb_scanner *lb_scanner_new(const struct lb_scanner_link *link);

/*
 * Opens the device, non-blocking: evdev devices are grabbed when link->grab
 * is set, serial lines set to raw 8N1 at link->baud and locked (TIOCEXCL).
 * Returns 0 (also when already open), -ENOENT when the device is not there
 * (unplugged), -EBUSY when another program grabbed it, -ENOTTY when the path
 * is not a device of that type, or another -errno.
 */
int lb_scanner_open(struct lb_scanner *s);

/* The descriptor to poll for POLLIN, or -1 while closed. */
int lb_scanner_fd(const struct lb_scanner *s);

/*
 * Reads what the device has (never blocks) and calls fn for each scan it
 * finishes (by Enter or a terminator).  now is CLOCK_MONOTONIC ms.  Returns
 * 0, or -ENODEV when the device went away (unplugged, hung up): the scanner
 * is then closed, an unfinished scan is dropped, and lb_scanner_open may be
 * tried again later.  Other -errno codes close it too.  fn is not called for
 * empty scans (a bare Enter).
 */
int lb_scanner_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg);

/* The CLOCK_MONOTONIC ms at which the unfinished scan ends by the idle gap,
 * or INT64_MAX when there is none (or idle_ms is 0). */
int64_t lb_scanner_deadline(const struct lb_scanner *s);

/* Finishes the unfinished scan when its idle gap is over at now, calling fn
 * for it.  Returns 1 when it did, else 0. */
int lb_scanner_expire(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg);

/* Releases the device (and the grab); keeps the settings.  An unfinished
 * scan is dropped. */
void lb_scanner_close(struct lb_scanner *s);

/* Closes and frees s; accepts NULL. */
void lb_scanner_free(struct lb_scanner *s);

/* 1 when a serial scanner can be set to baud (1200 to 460800, the
 * standard rates), else 0. */
int lb_scanner_baud_valid(int baud);

/* "us" or "de"; NULL for an unknown layout.  lb_layout_parse returns the
 * layout for its name, or -1. */
const char *lb_layout_name(enum lb_layout l);
int lb_layout_parse(const char *name);

#endif
