/*
 * Scanners: the choice between the evdev and the serial driver (made once,
 * here, from the link's type) and the assembly of input into scans that
 * both drivers share: bytes accumulate until the driver sees the end of a
 * scan or the line stays quiet for idle_ms.  See linebeat/scanner.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/log.h"
#include "scanner_priv.h"

/* The speeds a scanner is set to in practice; scanner_serial.c has the
 * termios constant of each. */
int lb_scanner_baud_valid(int baud)
{
    static const int speeds[] = {1200,  2400,  4800,   9600,   19200,
                                 38400, 57600, 115200, 230400, 460800};

    for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
        if (speeds[i] == baud)
            return 1;
    return 0;
}

struct lb_scanner *lb_scanner_new(const struct lb_scanner_link *link)
{
    struct lb_scanner *s;

    if (link->device[0] == '\0' ||
        memchr(link->device, '\0', sizeof(link->device)) == NULL ||
        (unsigned)link->layout >= LB_LAYOUT_COUNT ||
        (unsigned)link->term > LB_TERM_NONE || link->idle_ms < 0 ||
        (link->type == LB_SCANNER_SERIAL && !lb_scanner_baud_valid(link->baud)) ||
        (link->type != LB_SCANNER_SERIAL && link->type != LB_SCANNER_EVDEV)) {
        errno = EINVAL;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->link = *link;
    s->ops = link->type == LB_SCANNER_EVDEV ? &scanner_evdev_ops : &scanner_serial_ops;
    s->fd = -1;
    keymap_init(&s->km, link->layout);
    return s;
}

int lb_scanner_open(struct lb_scanner *s)
{
    if (s->fd >= 0)
        return 0;
    scanner_drop(s);
    keymap_init(&s->km, s->link.layout);
    return s->ops->open(s);
}

int lb_scanner_fd(const struct lb_scanner *s)
{
    return s->fd;
}

int lb_scanner_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg)
{
    int rc;

    if (s->fd < 0)
        return -EBADF;
    rc = s->ops->read(s, now, fn, arg);
    if (rc != 0) {
        log_debug("scanner %s: %s", s->link.device, strerror(-rc));
        lb_scanner_close(s);
    }
    return rc;
}

int64_t lb_scanner_deadline(const struct lb_scanner *s)
{
    if (!s->started || s->link.idle_ms <= 0)
        return INT64_MAX;
    return s->last_ms + s->link.idle_ms;
}

int lb_scanner_expire(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg)
{
    if (now < lb_scanner_deadline(s))
        return 0;
    scanner_end(s, fn, arg);
    return 1;
}

void lb_scanner_close(struct lb_scanner *s)
{
    if (s->fd >= 0)
        s->ops->close(s);
    s->fd = -1;
    scanner_drop(s);
}

void lb_scanner_free(struct lb_scanner *s)
{
    if (s == NULL)
        return;
    lb_scanner_close(s);
    free(s);
}

void scanner_put(struct lb_scanner *s, const char *p, size_t n, int64_t now)
{
    size_t room = LB_SCANNER_LINE_MAX - s->cur.len;

    if (n == 0)
        return;
    if (!s->started)
        s->started = 1;
    if (n > room) {
        s->cur.overlong = 1;
        n = room;
    }
    memcpy(s->cur.text + s->cur.len, p, n);
    s->cur.len += n;
    s->cur.text[s->cur.len] = '\0';
    s->last_ms = now;
    s->cur.mono_ms = now;
}

void scanner_end(struct lb_scanner *s, lb_scan_fn fn, void *arg)
{
    if (s->started && (s->cur.len > 0 || s->cur.overlong || s->cur.lost))
        fn(arg, &s->cur);
    scanner_drop(s);
}

void scanner_drop(struct lb_scanner *s)
{
    s->started = 0;
    s->cur.len = 0;
    s->cur.overlong = 0;
    s->cur.lost = 0;
    s->cur.text[0] = '\0';
}
