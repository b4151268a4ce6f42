/*
 * Internals shared by the scanner files: the driver table each kind of
 * scanner exports (scanner_evdev.c, scanner_serial.c), the scanner object
 * with its unfinished scan, the line assembly both drivers use
 * (scanner.c), and key codes -> text for keyboard-wedge scanners
 * (keymap.c).  Not for use outside devices/ (and the unit tests).
 */
#ifndef DEVICES_SCANNER_PRIV_H
#define DEVICES_SCANNER_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "linebeat/scanner.h"

/* Modifier bits of struct keymap. */
enum {
    KM_LSHIFT = 1,
    KM_RSHIFT = 2,
    KM_LCTRL = 4,
    KM_RCTRL = 8,
    KM_ALTGR = 16,
    KM_CAPS = 32, /* Caps Lock is on (toggled by its key) */
};

/* Bytes keymap_feed writes at most: a pending dead key's accent and one
 * character, each up to 3 bytes of UTF-8 (the tables stay in the BMP). */
#define KEYMAP_OUT_MAX 8

/* The state of one keyboard: layout, held modifiers, a pending dead key. */
struct keymap {
    enum lb_layout layout;
    unsigned mods;
    uint32_t dead; /* code point of a pending dead key, 0 when none */
};

void keymap_init(struct keymap *k, enum lb_layout layout);

/*
 * Feeds one key event: code is the Linux key code (KEY_*), value 1 for a
 * press, 0 for a release, 2 for an auto-repeat (ignored: a scanner does not
 * hold keys, and a repeat would double a character).  Writes the UTF-8 text
 * the key types into out (size at least KEYMAP_OUT_MAX) and returns its
 * length, 0 when it types nothing (modifiers, releases, unmapped keys).
 * *enter is set to 1 for Enter (main or keypad), which ends a scan; text
 * may come with it (an accent still pending).  A dead key (de: ^ ` ´)
 * types nothing until the next key: with a vowel it has a composed form
 * for, that form (´ e -> é); with space, the accent alone; with another
 * key, the accent and then that key's character.  Ctrl with a letter or
 * one of @ [ \ ] ^ _ types the control character (Ctrl-] is GS, the
 * separator of GS1 codes).
 */
int keymap_feed(struct keymap *k, unsigned code, int value, char *out, size_t size,
                int *enter);

struct scanner_ops {
    /* Opens s->link.device into s->fd; returns 0 or -errno. */
    int (*open)(struct lb_scanner *s);
    /* Reads what is there, feeding scanner_put/scanner_end; returns 0 or
     * -errno (-ENODEV for a device that went away). */
    int (*read)(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg);
    /* Releases the device; s->fd is -1 afterwards. */
    void (*close)(struct lb_scanner *s);
};

extern const struct scanner_ops scanner_evdev_ops;
extern const struct scanner_ops scanner_serial_ops;

struct lb_scanner {
    struct lb_scanner_link link;
    const struct scanner_ops *ops;
    int fd;
    void *drv;        /* driver state: evdev's struct libevdev */
    struct keymap km; /* evdev */
    int after_cr;     /* serial, crlf: the last byte was a CR */
    int started;      /* cur holds the start of a scan */
    int64_t last_ms;  /* when cur last grew */
    struct lb_scan_input cur;
};

/* Appends n bytes to the unfinished scan (bytes beyond LB_SCANNER_LINE_MAX
 * are dropped and the scan flagged overlong); now is when they arrived. */
void scanner_put(struct lb_scanner *s, const char *p, size_t n, int64_t now);

/* Ends the unfinished scan: calls fn for it unless it is empty, and starts
 * a new one. */
void scanner_end(struct lb_scanner *s, lb_scan_fn fn, void *arg);

/* Forgets the unfinished scan. */
void scanner_drop(struct lb_scanner *s);

#endif
