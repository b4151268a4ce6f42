#!/usr/bin/env python3
"""Barcode scanners: a serial scanner simulated on a pseudo-terminal.

A real Mosquitto, the server, two simulators and an agent whose [scanner]
reads a pseudo-terminal behind a stable path.  Every kind of scan reaches
the server as a scan event of the scanner's machine, unknown and malformed
codes included; a machine label moves the scanner to another machine; the
feedback coil and register of the machine are written and reset; the
server starts an unplanned order, an operator and scrap from the scans; a
scanner unplugged and plugged back in is read again without a restart, and a
reload keeps the machine a label chose.
"""
import signal

import lbscan
import lbtest
from lbtest import log, wait_for

FEEDBACK = """feedback_ok = coil:16=1
feedback_error = holding:20=7
feedback_ms = 1500
"""


def test_scan_serial(env):
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "press-1", "sim.ini").start(),
            lbtest.Sim(env, "press-2", "sim.ini").start()]
    tty = lbscan.PtyScanner(env, "usb-Acme_Scanner-if00")
    lbscan.start_agent(env, "cell-1", sims,
                       "[scanner s1]\ntype = serial\ndevice = %s\nmachine = press-1\n"
                       "baud = 115200\n%s\n" % (tty.path, FEEDBACK))
    lbtest.wait_listed(env, ["press-1", "press-2"])
    lbscan.wait_log(env, "cell-1", "scanner s1: reading")

    # Feedback: the green light for a scan taken, then off again.
    tty.scan("WO-1001")
    wait_for("coil 16 on", lambda: lbscan.read_coil(sims[0], 16) == 1, timeout=10)
    wait_for("coil 16 off", lambda: lbscan.read_coil(sims[0], 16) == 0, timeout=10)
    # ...and the error register for one refused.
    tty.scan("4006381333931")
    wait_for("register 20 = 7", lambda: lbscan.read_holding(sims[0], 20) == 7, timeout=10)
    wait_for("register 20 = 0", lambda: lbscan.read_holding(sims[0], 20) == 0, timeout=10)
    assert lbscan.read_coil(sims[1], 16) == 0

    # Every kind; CR LF and LF endings; framing and blanks around a code.
    tty.scan("OP-4711", b"\r\n")
    tty.scan("DT-JAM", b"\n")
    tty.scan(b"\x02SC-BURR*2\x03")
    tty.scan("SC-BURR*0")                 # a quantity out of range: unknown
    tty.scan(b"WO-10\x1d01")              # a control character inside: unknown
    tty.scan(b"  \t ")                    # blank: no scan at all
    tty.scan("MC-press-2")                # the scanner moves to press-2
    tty.scan("WO-2002")
    tty.scan("MC-nope")                   # no such machine: unknown, stays at press-2
    tty.scan("END-2002")

    got1 = lbscan.wait_scans(env, "press-1", 7)
    seen1 = [(s["kind"], s["code"], s["value"], s["qty"]) for s in got1]
    log("press-1 scans", seen1)
    assert seen1 == [
        ("order_start", "WO-1001", "1001", None),
        ("unknown", "4006381333931", None, None),
        ("operator", "OP-4711", "4711", None),
        ("downtime_reason", "DT-JAM", "JAM", None),
        ("scrap", "SC-BURR*2", "BURR", 2),
        ("unknown", "SC-BURR*0", None, None),
        ("unknown", "WO-10\\x1d01", None, None),
    ], seen1
    got2 = lbscan.wait_scans(env, "press-2", 3)
    seen2 = [(s["kind"], s["code"], s["value"]) for s in got2]
    log("press-2 scans", seen2)
    assert seen2 == [("order_start", "WO-2002", "2002"), ("unknown", "MC-nope", None),
                     ("order_end", "END-2002", "2002")], seen2
    assert all(s["agent"] == "cell-1" for s in got1 + got2)

    # The server: orders it did not know are created, unplanned; the
    # operator badge is known; the one ended is no longer running.
    o1 = wait_for("order 1001", lambda: lbscan.order_by_number(env, "1001"))
    assert o1["unplanned"] is True and o1["status"] == "running", o1
    o2 = wait_for("order 2002 paused",
                  lambda: (lbscan.order_by_number(env, "2002") or {}).get("status")
                  == "paused" and lbscan.order_by_number(env, "2002"))
    assert o2["unplanned"] is True, o2
    runs = env.api("/api/v1/orders/%d/progress" % o1["id"])["runs"]
    assert [r["machine"] for r in runs] == ["press-1"], runs
    assert "4711" in [op["badge"] for op in env.api("/api/v1/operators")]

    # Unplugged: the agent says so and keeps going; plugged back in (a new
    # tty behind the same path) it reads again, still at press-2.
    tty.unplug()
    lbscan.wait_log(env, "cell-1", "scanner s1: %s went away" % tty.path)
    lbscan.settle(1)
    tty.plug()
    lbscan.wait_log(env, "cell-1", "scanner s1: reading", count=2, timeout=15)
    tty.scan("DT-MATERIAL")
    tty.scan("MC-press-1")
    tty.scan("END-1001")
    got2 = lbscan.wait_scans(env, "press-2", 4)
    assert (got2[-1]["kind"], got2[-1]["value"]) == ("downtime_reason", "MATERIAL"), got2
    got1 = lbscan.wait_scans(env, "press-1", 8)
    assert (got1[-1]["kind"], got1[-1]["value"]) == ("order_end", "1001"), got1
    wait_for("order 1001 paused",
             lambda: lbscan.order_by_number(env, "1001")["status"] == "paused")

    # A reload (SIGHUP) reopens the scanner and keeps the machine a label
    # gave it (press-2 now, not the configured press-1).
    tty.scan("MC-press-2")
    lbscan.wait_log(env, "cell-1", "scanner s1: now at machine press-2", count=2)
    env.agents["cell-1"].send_signal(signal.SIGHUP)
    lbscan.wait_log(env, "cell-1", "reloaded")
    lbscan.wait_log(env, "cell-1", "scanner s1: reading", count=3, timeout=15)
    tty.scan("DT-AFTER-RELOAD")
    got2 = lbscan.wait_scans(env, "press-2", 5)
    assert (got2[-1]["kind"], got2[-1]["value"]) == ("downtime_reason", "AFTER-RELOAD"), got2

    # A machine's scans for one that does not exist, and a bad limit.
    for path, status in (("/api/v1/machines/nope/scans", 404),
                         ("/api/v1/machines/press-1/scans?limit=0", 400)):
        try:
            env.api(path)
            raise AssertionError("%s: no error" % path)
        except lbtest.urllib.error.HTTPError as e:
            assert e.code == status, (path, e.code)
    assert len(env.api("/api/v1/machines/press-1/scans?limit=2")) == 2
    tty.close()


if __name__ == "__main__":
    lbtest.main(test_scan_serial)
