/*
 * Keyboard-wedge USB scanners through evdev (libevdev).  The device is
 * grabbed (EVIOCGRAB) so that its key presses reach only us: without the
 * grab every scan would also be typed into the local console or whatever
 * has the focus.  Key codes become text through keymap.c in the layout the
 * scanner was set up for; a scan ends with Enter or the idle gap.  Devices
 * are best named by /dev/input/by-id/ paths, which udev makes again when
 * the scanner is plugged back in; an unplugged device reads -ENODEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <string.h>
#include <unistd.h>

#include "linebeat/log.h"
#include "scanner_priv.h"

/* Events handled per call at most, so one chatty device cannot starve the
 * others of the thread that polls them all. */
#define MAX_EVENTS 4096

static int evdev_open(struct lb_scanner *s);
static int evdev_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg);
static void evdev_close(struct lb_scanner *s);
static void on_key(struct lb_scanner *s, unsigned code, int value, int64_t now,
                   lb_scan_fn fn, void *arg);

const struct scanner_ops scanner_evdev_ops = {
    .open = evdev_open,
    .read = evdev_read,
    .close = evdev_close,
};

static int evdev_open(struct lb_scanner *s)
{
    struct libevdev *dev = NULL;
    int fd, rc;

    fd = open(s->link.device, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = libevdev_new_from_fd(fd, &dev);
    if (rc < 0)
        goto fail; /* not an evdev node: ENOTTY from the ioctls */
    if (!libevdev_has_event_type(dev, EV_KEY) ||
        !libevdev_has_event_code(dev, EV_KEY, KEY_ENTER)) {
        rc = -ENOTTY; /* not a keyboard: a mouse, a power button... */
        goto fail;
    }
    if (s->link.grab && (rc = libevdev_grab(dev, LIBEVDEV_GRAB)) < 0)
        goto fail; /* EBUSY: another program holds it */
    log_debug("scanner %s: \"%s\" (%04x:%04x) opened%s", s->link.device,
              libevdev_get_name(dev) ? libevdev_get_name(dev) : "",
              (unsigned)libevdev_get_id_vendor(dev),
              (unsigned)libevdev_get_id_product(dev), s->link.grab ? " and grabbed" : "");
    s->drv = dev;
    s->fd = fd;
    return 0;
fail:
    libevdev_free(dev);
    close(fd);
    return rc;
}

static void on_key(struct lb_scanner *s, unsigned code, int value, int64_t now,
                   lb_scan_fn fn, void *arg)
{
    char text[KEYMAP_OUT_MAX];
    int enter, n;

    n = keymap_feed(&s->km, code, value, text, sizeof(text), &enter);
    if (n > 0)
        scanner_put(s, text, (size_t)n, now);
    if (enter)
        scanner_end(s, fn, arg);
}

static int evdev_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg)
{
    struct libevdev *dev = s->drv;
    unsigned flag = LIBEVDEV_READ_FLAG_NORMAL;

    for (int i = 0; i < MAX_EVENTS; i++) {
        struct input_event ev;
        int rc = libevdev_next_event(dev, flag, &ev);

        if (rc == -EAGAIN) {
            if (flag == LIBEVDEV_READ_FLAG_SYNC) {
                flag = LIBEVDEV_READ_FLAG_NORMAL; /* resynchronised */
                continue;
            }
            return 0;
        }
        if (rc < 0)
            return rc == -ENODEV || rc == -EIO ? -ENODEV : rc;
        if (rc == LIBEVDEV_READ_STATUS_SYNC) {
            /* The kernel's buffer overflowed: key events were lost.  The
             * scan in progress is not what was scanned; say so rather than
             * pass it on as if whole.  The sync events that follow bring
             * the keys' state up to date (a Shift released meanwhile). */
            if (flag == LIBEVDEV_READ_FLAG_NORMAL) {
                log_debug("scanner %s: events dropped by the kernel", s->link.device);
                if (s->started || s->cur.len > 0) {
                    s->cur.lost = 1;
                    s->started = 1;
                }
                flag = LIBEVDEV_READ_FLAG_SYNC;
            }
            if (ev.type == EV_KEY) {
                char ignored[KEYMAP_OUT_MAX];
                int enter;

                keymap_feed(&s->km, ev.code, ev.value, ignored, sizeof(ignored), &enter);
            }
            continue;
        }
        if (ev.type == EV_KEY)
            on_key(s, ev.code, ev.value, now, fn, arg);
    }
    return 0;
}

static void evdev_close(struct lb_scanner *s)
{
    struct libevdev *dev = s->drv;

    /* The grab goes with the descriptor; ungrabbing first is polite to a
     * device that is still there. */
    if (dev != NULL && s->link.grab)
        libevdev_grab(dev, LIBEVDEV_UNGRAB);
    libevdev_free(dev);
    s->drv = NULL;
    close(s->fd);
    s->fd = -1;
}
