#!/usr/bin/env python3
"""Browser test of the orders pages in headless Chromium (orders.mjs): an
order started by a scan is watched in the browser while it runs.

A real Mosquitto, the server, a simulator and an agent reading a serial
barcode scanner (a pseudo-terminal, as in tests/integration/test_scan_orders).
Order WO-A-100 and an operator badge are scanned on the paused machine; the
simulator runs while the browser reloads the order page and sees its good
count rise, then pauses.  Once the server's progress of the order equals
exactly what the simulator made, the browser must show that number on the
order page and on the orders list, the orders list's CSV (downloaded through
its link) and the order's runs CSV must agree with the JSON API, and the
print style must hide the navigation.  Saves docs/img/order.png.

The line has an all-day shift on every day the test may touch (yesterday,
today and tomorrow in UTC), so nothing depends on the weekday or the time
of day.  Started by run.sh, which skips (exit 77) when Chromium, Node.js or
playwright-core are missing.
"""
import datetime
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lbscan  # noqa: E402
import lbtest  # noqa: E402
from lbtest import log, wait_for  # noqa: E402

POLL_MS = 200
ORDER = "A-100"


def all_day_shifts(env, line_id):
    """An all-day shift on the weekdays of yesterday, today and tomorrow."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for off in (-1, 0, 1):
        d = today + datetime.timedelta(days=off)
        env.api("/api/v1/shifts", "POST", {"line_id": line_id, "name": "All day",
                                          "weekday": d.isoweekday(), "start": "00:00",
                                          "end": "00:00",
                                          "valid_from": (today - datetime.timedelta(
                                              days=2)).isoformat()})


def test_orders(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00\nmicro_stop_s = 1")
    sim = lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=150, scrap_ratio=0.05).start()
    tty = lbscan.PtyScanner(env, "usb-Acme_Scanner-if00")
    lbscan.start_agent(env, "cell-1", [sim],
                       "[scanner s1]\ntype = serial\ndevice = %s\nmachine = press-1\n"
                       % tty.path, interval_ms=POLL_MS,
                       machine_extra="ideal_cycle_ms = 120\n")
    lbtest.wait_listed(env, ["press-1"])
    lbscan.wait_log(env, "cell-1", "scanner s1: reading")
    line = env.api("/api/v1/lines", "POST", {"name": "Line 1"})
    env.api("/api/v1/machines/press-1", "PUT", {"line_id": line["id"]})
    all_day_shifts(env, line["id"])

    # The order starts by a scan on the stopped machine: it owns every part
    # made from now on.
    before = sim.counters()
    tty.scan("WO-" + ORDER)
    tty.scan("OP-11")
    lbscan.wait_scans(env, "press-1", 2)
    wait_for("order %s running on press-1" % ORDER,
             lambda: env.machines()["press-1"]["order"] == ORDER)
    order = lbscan.order_by_number(env, ORDER)
    assert order["unplanned"] is True and order["status"] == "running", order
    # A supervisor completes the unplanned order: product, quantity (for
    # the progress bar and the remaining count) and a due time well ahead.
    env.api("/api/v1/products", "POST", {"code": "BRK-40", "name": "Bracket 40 mm",
                                         "ideal_cycle_ms": 120})
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
    env.api("/api/v1/orders/%d" % order["id"], "PUT", {"quantity": 400, "product": "BRK-40",
                                                        "due": due})

    shots = os.environ.get("LB_SHOTS", os.path.join(lbtest.SRC, "docs", "img"))
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=env.dir)
    downloads = tempfile.mkdtemp(prefix="downloads-", dir=env.dir)
    penv = dict(os.environ, LB_URL="http://127.0.0.1:%d" % env.http_port, LB_USER="admin",
                LB_PASSWORD=env.users["admin"], LB_ORDER=ORDER,
                LB_ORDER_ID=str(order["id"]), LB_SHOTS=shots, LB_PROFILE=profile,
                LB_DOWNLOADS=downloads)
    p = subprocess.Popen(["node", os.path.join(HERE, "orders.mjs")], cwd=HERE, env=penv,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    env.procs.append(p)
    p.lb_name = "node"
    made = None
    try:
        for out in p.stdout:
            out = out.rstrip("\n")
            log("browser:", out)
            if out == "RUN":
                sim.run(True)
                p.stdin.write("running\n")
                p.stdin.flush()
            elif out == "STOP":
                sim.run(False)
                # The agent reads the last parts within a poll; give it several.
                time.sleep(5 * POLL_MS / 1000.0)
                after = sim.counters()
                made = {"good": after["good"] - before["good"],
                        "scrap": after["scrap"] - before["scrap"]}
                log("simulator made", made)

                def progress():
                    pr = env.api("/api/v1/orders/%d/progress" % order["id"])
                    return (pr["good"], pr["scrap"]) == (made["good"], made["scrap"]) and pr

                pr = wait_for("order %s counts %s" % (ORDER, made), progress, timeout=30)
                log("order", ORDER, "server", {"good": pr["good"], "scrap": pr["scrap"]},
                    "simulator", made)
                p.stdin.write("settled %d %d\n" % (made["good"], made["scrap"]))
                p.stdin.flush()
        rc = p.wait(timeout=120)
    finally:
        env.stop(p)
        tty.close()
    assert rc == 0, "orders.mjs exited %s" % rc
    assert made is not None and made["good"] > 10, made
    path = os.path.join(shots, "order.png")
    assert os.path.getsize(path) > 10000, path
    log("screenshot", path)


if __name__ == "__main__":
    lbtest.main(test_orders)
