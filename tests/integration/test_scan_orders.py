#!/usr/bin/env python3
"""End to end: orders started by barcode scans own the counts of their
machine, split exactly.

A real Mosquitto, the server, a simulator and an agent reading a serial
scanner (a pseudo-terminal).  Scan order A, an operator badge, produce;
pause; scan order B and a second badge, produce; pause; end B.  The server's
progress of A and of B must equal, part for part, what the simulator made
in each phase (read from its registers between phases), and so must the
report of each operator badge scanned with them.  Between a pause and the next scan the
test waits until the agent has read the final counts, so that no part made
before a scan is read after it (the agent dates a count by its reading).
"""
import time

import lbscan
import lbtest
from lbtest import log, wait_for

POLL_MS = 200


def test_scan_orders(env):
    env.start_broker()
    env.start_server()
    sim = lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=40, scrap_ratio=0.1).start()
    tty = lbscan.PtyScanner(env, "scanner")
    lbscan.start_agent(env, "cell-1", [sim],
                       "[scanner s1]\ntype = serial\ndevice = %s\nmachine = press-1\n"
                       % tty.path, interval_ms=POLL_MS)
    lbtest.wait_listed(env, ["press-1"])
    lbscan.wait_log(env, "cell-1", "scanner s1: reading")

    phases = []
    before = sim.counters()
    for i, (order, badge) in enumerate((("A-100", "OP-11"), ("B-200", "OP-22"))):
        tty.scan("WO-" + order)
        tty.scan(badge)
        lbscan.wait_scans(env, "press-1", 2 * (i + 1))
        # The board's data names the running order (unplanned: created by
        # the scan) and the operator whose badge was scanned.
        tile = wait_for("order %s on the board" % order,
                        lambda: env.machines()["press-1"]["order"] == order and
                        env.machines()["press-1"])
        assert tile["order_unplanned"] is True, tile
        assert tile["operator"] == badge[3:], tile
        sim.run(True)
        time.sleep(3)
        sim.run(False)
        # The agent reads the last parts within a poll; give it several.
        time.sleep(5 * POLL_MS / 1000.0)
        after = sim.counters()
        made = {"good": after["good"] - before["good"],
                "scrap": after["scrap"] - before["scrap"]}
        assert made["good"] > 20, "phase %d made only %s" % (i, made)
        log("phase", i, order, "made", made)
        phases.append((order, made))
        before = after
    tty.scan("END-B-200")
    lbscan.wait_scans(env, "press-1", 5)

    for order, made in phases:
        o = wait_for("order %s" % order, lambda: lbscan.order_by_number(env, order))
        assert o["unplanned"] is True, o

        def progress():
            p = env.api("/api/v1/orders/%d/progress" % o["id"])
            return (p["good"], p["scrap"]) == (made["good"], made["scrap"]) and p

        p = wait_for("order %s counts %s" % (order, made), progress, timeout=30)
        log("order", order, "server", {"good": p["good"], "scrap": p["scrap"]},
            "simulator", made)
        assert len(p["runs"]) == 1 and p["runs"][0]["machine"] == "press-1", p
        assert (p["runs"][0]["good"], p["runs"][0]["scrap"]) == (made["good"],
                                                                  made["scrap"]), p
    # Both orders together are every part the machine made.
    total = {k: sum(m[k] for _, m in phases) for k in ("good", "scrap")}
    wait_for("machine counts %s" % total, lambda: env.counts("press-1") == total)
    a = lbscan.order_by_number(env, "A-100")
    b = lbscan.order_by_number(env, "B-200")
    assert a["status"] == "paused" and b["status"] == "paused", (a, b)

    # Operators: each badge owns the parts made until the next badge.
    now = time.time()
    period = "from=%s&to=%s" % (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400)),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)))
    ops = {o["badge"]: o["id"] for o in env.api("/api/v1/operators")}
    for (order, made), badge, ended in zip(phases, ("11", "22"), ("scan", "open")):
        r = env.api("/api/v1/operators/%d/report?%s" % (ops[badge], period))
        log("operator", badge, {"good": r["good"], "scrap": r["scrap"]}, "runs", r["runs"])
        assert (r["good"], r["scrap"]) == (made["good"], made["scrap"]), (r, made)
        assert [(x["machine"], x["ended_by"]) for x in r["runs"]] == [("press-1", ended)], r
    tty.close()


if __name__ == "__main__":
    lbtest.main(test_scan_orders)
