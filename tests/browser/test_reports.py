#!/usr/bin/env python3
"""Browser test of the report pages in headless Chromium (reports.mjs):
naming a stop's reason through the downtime page's form, the shift report's
CSV downloaded through its link, and the shift report printed to PDF.

A real Mosquitto, the server, two simulators on two lines and an agent.
press-1 runs, pauses long enough for a stop without a reason, and runs
again; press-2 runs.  In the browser a supervisor picks a reason for that
stop on "Downtime to be explained" and saves it: the page no longer lists
the stop and the API gives it the reason.  The shift report's CSV must
agree with the JSON API (per line and machine, for the periods the CSV
names), and the report printed to an A4 PDF must have one page per line
and no navigation.

The lines have an all-day shift on every day the test may touch
(yesterday, today and tomorrow in UTC), so nothing depends on the weekday
or the time of day.  Started by run.sh, which skips (exit 77) when
Chromium, Node.js or playwright-core are missing.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lbtest  # noqa: E402
from lbtest import log, wait_for  # noqa: E402

POLL_MS = 200


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000.0))


def test_reports(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00\nmicro_stop_s = 1")
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=150, scrap_ratio=0.05).start(),
            lbtest.Sim(env, "press-2", "sim16.ini", cycle_ms=300, scrap_ratio=0.1).start()]
    env.start_agent("cell-1", sims, interval_ms=POLL_MS,
                    machine_extra="ideal_cycle_ms = 120\n")
    lbtest.wait_listed(env, [s.name for s in sims])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for n, sim in enumerate(sims, 1):
        line = env.api("/api/v1/lines", "POST", {"name": "Line %d" % n})
        env.api("/api/v1/machines/%s" % sim.name, "PUT", {"line_id": line["id"]})
        for off in (-1, 0, 1):
            d = today + datetime.timedelta(days=off)
            env.api("/api/v1/shifts", "POST", {"line_id": line["id"], "name": "All day",
                                              "weekday": d.isoweekday(), "start": "00:00",
                                              "end": "00:00",
                                              "valid_from": (today - datetime.timedelta(
                                                  days=2)).isoformat()})
    for code, name in (("jam", "Jam"), ("material", "No material")):
        env.api("/api/v1/reasons", "POST", {"code": code, "name": name, "planned": False})

    start = {s.name: s.counters() for s in sims}
    t0 = time.time() * 1000
    for s in sims:
        s.run(True)
    time.sleep(3)
    paused = time.time() * 1000
    sims[0].run(False)
    time.sleep(4)
    resumed = time.time() * 1000
    sims[0].run(True)
    time.sleep(3)
    for s in sims:
        s.run(False)
    lbtest.assert_exact(env, sims, start)
    t1 = time.time() * 1000
    made = {}
    for s in sims:
        c = s.counters()
        made[s.name] = {"good": c["good"] - start[s.name]["good"],
                        "scrap": c["scrap"] - start[s.name]["scrap"]}

    # The stop of the pause: closed, without a reason, started within a
    # couple of polls of the pause.
    def the_stop():
        now = time.time() * 1000
        got = env.api("/api/v1/machines/press-1/stops?unexplained=1&from=%s&to=%s"
                      % (iso(now - 3600 * 1000), iso(now + 60 * 1000)))
        hits = [x for x in got if x["end"] is not None and
                abs(x["start_ms"] - paused) < 2000 and x["start_ms"] < resumed]
        return len(hits) == 1 and hits[0]
    stop = wait_for("the unexplained stop of press-1's pause", the_stop, timeout=20)
    log("stop", stop)

    profile = tempfile.mkdtemp(prefix="chromium-", dir=env.dir)
    downloads = tempfile.mkdtemp(prefix="downloads-", dir=env.dir)
    pdf = os.path.join(env.dir, "shift-report.pdf")
    penv = dict(os.environ, LB_URL="http://127.0.0.1:%d" % env.http_port, LB_USER="admin",
                LB_PASSWORD=env.users["admin"], LB_DEV="press-1",
                LB_STOP_AT=str(stop["start_ms"]), LB_REASON="jam", LB_PROFILE=profile,
                LB_DOWNLOADS=downloads, LB_PDF=pdf, LB_LINES="2",
                LB_MADE=json.dumps(made), LB_T0="%d" % t0, LB_T1="%d" % t1)
    p = subprocess.Popen(["node", os.path.join(HERE, "reports.mjs")], cwd=HERE, env=penv,
                         stdout=subprocess.PIPE, text=True)
    env.procs.append(p)
    p.lb_name = "node"
    try:
        for out in p.stdout:
            log("browser:", out.rstrip("\n"))
        rc = p.wait(timeout=120)
    finally:
        env.stop(p)
    assert rc == 0, "reports.mjs exited %s" % rc

    # The reason is the supervisor's, audited with the user's name.
    audit = env.api("/api/v1/machines/press-1/reason-audit")
    assert any(a["after"] == "jam" and a["who"] == "admin" for a in audit), audit
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-", pdf
    log("PDF", pdf, os.path.getsize(pdf), "bytes")


if __name__ == "__main__":
    lbtest.main(test_reports)
