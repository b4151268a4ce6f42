#!/usr/bin/env python3
"""Browser test of the machine page in headless Chromium (machine.mjs): a
simulator runs, pauses (an unexplained stop) and runs again on a line with
an all-day shift; the page is reached from the board tile's link and must
show its SVG charts and KPIs without console errors.  Saves
docs/img/machine.png.

Started by run.sh, which skips (exit 77) when Chromium, Node.js or
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

import lbtest  # noqa: E402
from lbtest import log  # noqa: E402


def test_machine(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00\nmicro_stop_s = 1")
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=200, scrap_ratio=0.05).start()]
    env.start_agent("cell-1", sims, interval_ms=250, machine_extra="ideal_cycle_ms = 150\n")
    lbtest.wait_listed(env, ["press-1"])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    line = env.api("/api/v1/lines", "POST", {"name": "Line 1"})
    env.api("/api/v1/machines/press-1", "PUT", {"line_id": line["id"]})
    for off in (-1, 0, 1):
        d = today + datetime.timedelta(days=off)
        env.api("/api/v1/shifts", "POST", {"line_id": line["id"], "name": "All day",
                                          "weekday": d.isoweekday(), "start": "00:00",
                                          "end": "00:00",
                                          "valid_from": (today - datetime.timedelta(
                                              days=2)).isoformat()})
    sims[0].run(True)
    time.sleep(4)
    sims[0].run(False)
    time.sleep(3)
    sims[0].run(True)
    time.sleep(3)

    shots = os.environ.get("LB_SHOTS", os.path.join(lbtest.SRC, "docs", "img"))
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=env.dir)
    penv = dict(os.environ, LB_URL="http://127.0.0.1:%d" % env.http_port, LB_USER="admin",
                LB_PASSWORD=env.users["admin"], LB_DEV="press-1", LB_SHOTS=shots,
                LB_PROFILE=profile)
    p = subprocess.Popen(["node", os.path.join(HERE, "machine.mjs")], cwd=HERE, env=penv,
                         stdout=subprocess.PIPE, text=True)
    env.procs.append(p)
    p.lb_name = "node"
    try:
        for out in p.stdout:
            log("browser:", out.rstrip("\n"))
        rc = p.wait(timeout=120)
    finally:
        env.stop(p)
    assert rc == 0, "machine.mjs exited %s" % rc
    path = os.path.join(shots, "machine.png")
    assert os.path.getsize(path) > 10000, path
    log("screenshot", path)


if __name__ == "__main__":
    lbtest.main(test_machine)
