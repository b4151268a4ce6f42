#!/usr/bin/env python3
"""Barcode scanners: a keyboard-wedge (HID) scanner simulated through uinput.

Needs /dev/uinput (the uinput module, and the right to open it): where it
is missing the test says so and exits 77, which ctest reports as skipped.

A virtual keyboard types scans in the German layout, as a scanner set up
for it would, into an agent whose [scanner] reads it through evdev: the
agent must grab it (nobody else may read it), turn key codes with Shift
into text, end scans on Enter and on the idle gap, and read the keyboard
again when it is unplugged and plugged back in (a new event node behind
the same path).  The device node is made by the test itself from sysfs, so
it does not depend on udev.
"""
import fcntl
import glob
import os
import stat
import struct
import sys
import time

import lbscan
import lbtest
from lbtest import log, wait_for

EV_SYN, EV_KEY, SYN_REPORT = 0, 1, 0
UI_SET_EVBIT = 0x40045564
UI_SET_KEYBIT = 0x40045565
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
EVIOCGRAB = 0x40044590


def UI_GET_SYSNAME(n):
    return 0x80000000 | (n << 16) | (ord("U") << 8) | 44


KEY_LEFTSHIFT, KEY_ENTER = 42, 28
# German layout: character -> (key code, shift).
DE = {"-": (53, 0), "*": (27, 1), "\u00f6": (39, 0)}
for i, ch in enumerate("1234567890"):
    DE[ch] = (2 + i, 0)
for ch, code in {"q": 16, "w": 17, "e": 18, "r": 19, "t": 20, "z": 21, "u": 22, "i": 23,
                 "o": 24, "p": 25, "a": 30, "s": 31, "d": 32, "f": 33, "g": 34, "h": 35,
                 "j": 36, "k": 37, "l": 38, "y": 44, "x": 45, "c": 46, "v": 47, "b": 48,
                 "n": 49, "m": 50}.items():
    DE[ch] = (code, 0)
    DE[ch.upper()] = (code, 1)


class UinputKeyboard:
    """A virtual keyboard; node is a character device made in the test's
    folder for its event device (the stable path the agent opens)."""

    def __init__(self, node):
        self.node = node
        self.fd = None

    def plug(self):
        self.fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_KEY)
        for k in range(1, 128):
            fcntl.ioctl(self.fd, UI_SET_KEYBIT, k)
        # struct uinput_user_dev: name[80], input_id (4 x u16),
        # ff_effects_max, absmax/absmin/absfuzz/absflat[64].
        dev = struct.pack("80sHHHHi", b"linebeat test scanner", 3, 0x1234, 0x5678, 1, 0)
        dev += b"\0" * (4 * 64 * 4)
        os.write(self.fd, dev)
        fcntl.ioctl(self.fd, UI_DEV_CREATE)
        buf = bytearray(64)
        fcntl.ioctl(self.fd, UI_GET_SYSNAME(len(buf)), buf)
        sysname = bytes(buf).split(b"\0")[0].decode()
        ev = wait_for("event device of %s" % sysname,
                      lambda: glob.glob("/sys/devices/virtual/input/%s/event*" % sysname),
                      timeout=10)[0]
        with open(os.path.join(ev, "dev")) as f:
            major, minor = (int(x) for x in f.read().split(":"))
        if os.path.lexists(self.node):
            os.unlink(self.node)
        os.mknod(self.node, stat.S_IFCHR | 0o600, os.makedev(major, minor))
        time.sleep(0.2)  # let the kernel settle before the first keys
        log("virtual scanner", sysname, os.path.basename(ev), "at", self.node)

    def unplug(self):
        fcntl.ioctl(self.fd, UI_DEV_DESTROY)
        os.close(self.fd)
        self.fd = None
        os.unlink(self.node)

    def _ev(self, typ, code, value):
        os.write(self.fd, struct.pack("llHHi", 0, 0, typ, code, value))

    def _key(self, code, value):
        self._ev(EV_KEY, code, value)
        self._ev(EV_SYN, SYN_REPORT, 0)

    def type(self, text, enter=True):
        for ch in text:
            code, shift = DE[ch]
            if shift:
                self._key(KEY_LEFTSHIFT, 1)
            self._key(code, 1)
            self._key(code, 0)
            if shift:
                self._key(KEY_LEFTSHIFT, 0)
            time.sleep(0.002)  # a scanner's inter-key delay
        if enter:
            self._key(KEY_ENTER, 1)
            self._key(KEY_ENTER, 0)

    def close(self):
        if self.fd is not None:
            self.unplug()


def uinput_usable():
    try:
        os.close(os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK))
        return None
    except OSError as e:
        return "%s" % e


def test_scan_evdev(env):
    kbd = UinputKeyboard(os.path.join(env.dir, "usb-linebeat_test_scanner-event-kbd"))
    kbd.plug()
    try:
        env.start_broker()
        env.start_server()
        sim = lbtest.Sim(env, "press-1", "sim.ini").start()
        lbscan.start_agent(env, "cell-1", [sim],
                           "[scanner kbd]\ntype = evdev\ndevice = %s\nmachine = press-1\n"
                           "layout = de\nidle_ms = 150\n" % kbd.node)
        lbtest.wait_listed(env, ["press-1"])
        lbscan.wait_log(env, "cell-1", "scanner kbd: reading")

        # The agent holds the grab: no one else gets the keys.
        fd = os.open(kbd.node, os.O_RDONLY | os.O_NONBLOCK)
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
            raise AssertionError("the agent did not grab the scanner")
        except OSError as e:
            assert e.errno == 16, e  # EBUSY
        finally:
            os.close(fd)

        kbd.type("WO-1001")
        kbd.type("SC-BURR*3")
        kbd.type("OP-7", enter=False)   # no suffix: the idle gap ends it
        time.sleep(0.5)
        kbd.type("DT-St\u00f6rung")
        got = lbscan.wait_scans(env, "press-1", 4)
        seen = [(s["kind"], s["value"], s["qty"]) for s in got]
        log("scans", seen)
        assert seen == [("order_start", "1001", None), ("scrap", "BURR", 3),
                        ("operator", "7", None), ("downtime_reason", "St\u00f6rung", None)], seen

        # Unplugged and plugged back in: a new event device, same path.
        kbd.unplug()
        lbscan.wait_log(env, "cell-1", "scanner kbd: %s went away" % kbd.node)
        kbd.plug()
        lbscan.wait_log(env, "cell-1", "scanner kbd: reading", count=2, timeout=15)
        kbd.type("END-1001")
        got = lbscan.wait_scans(env, "press-1", 5)
        assert (got[-1]["kind"], got[-1]["value"]) == ("order_end", "1001"), got
    finally:
        kbd.close()


if __name__ == "__main__":
    why = uinput_usable()
    if why is not None:
        print("test_scan_evdev: SKIPPED: /dev/uinput is not usable here (%s); the "
              "evdev scanner test needs the uinput module and the right to open it"
              % why, flush=True)
        sys.exit(77)
    lbtest.main(test_scan_evdev)
