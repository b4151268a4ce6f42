#!/usr/bin/env python3
"""KPI engine end to end: simulators -> agent -> Mosquitto -> server -> API.

Two simulated machines (ideal cycle 50 ms in the agent's config; press-1
really makes a part every 50 ms, press-2 every 80 ms) run and pause on
command.  The OEE report's inputs must match what the simulators did: parts
exactly (from their registers), run time and stop time within the agent's
poll interval, performance near 1.0 and 0.625.  Also through HTTP with a
login: a line with a shift, a report by day for the line, an order run with
its progress, an unexplained stop explained by a supervisor (audited), the
downtime Pareto, errors that name the bad parameter, /metrics, and an online
backup taken while the server runs.
"""
import datetime
import os
import sqlite3
import subprocess
import time
import urllib.error
import zoneinfo

import lbtest
from lbtest import log, wait_for

POLL_MS = 200
TOL_MS = 3 * POLL_MS + 400  # a state change is seen within a poll, plus jitter


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def oee(env, dev, t0, t1, extra=""):
    return env.api("/api/v1/reports/oee?scope=machine&id=%s&from=%s&to=%s%s"
                   % (dev, iso(t0), iso(t1), extra))


def near(what, got, want, tol):
    log("%s: got %s, want %s +- %s" % (what, got, want, tol))
    assert abs(got - want) <= tol, "%s: %s not within %s of %s" % (what, got, tol, want)


def test_kpi_api(env):
    env.start_broker()
    env.start_server(plant="timezone = Europe/Berlin\nday_start = 06:00\n"
                           "micro_stop_s = 2\ndata_timeout_s = 60")
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=50, scrap_ratio=0.1).start(),
            lbtest.Sim(env, "press-2", "sim.ini", cycle_ms=80, scrap_ratio=0.0).start()]
    env.start_agent("cell-1", sims, interval_ms=POLL_MS,
                    machine_extra="ideal_cycle_ms = 50\n")
    lbtest.wait_listed(env, ["press-1", "press-2"])
    # The machines report idle while paused; let that settle.
    wait_for("idle states", lambda: all(m["state"] == "idle"
                                        for m in env.machines().values()), timeout=20)

    # Master data: a line with a shift covering today, press-2 on it.
    line = env.api("/api/v1/lines", "POST", {"name": "Line A"})
    env.api("/api/v1/machines/press-2", "PUT", {"line_id": line["id"], "name": "Press two"})
    # A shift from 00:00 to 00:00 (24 h) on yesterday's, today's and
    # tomorrow's weekday in the plant's zone, whatever the hour now.
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    for off in (-1, 0, 1):
        d = today + datetime.timedelta(days=off)
        env.api("/api/v1/shifts", "POST", {"line_id": line["id"], "name": "All day",
                                          "weekday": d.isoweekday(), "start": "00:00",
                                          "end": "00:00",
                                          "valid_from": (today - datetime.timedelta(
                                              days=2)).isoformat()})
    env.api("/api/v1/reasons", "POST", {"code": "jam", "name": "Jam", "planned": False})
    order = env.api("/api/v1/orders", "POST", {"number": "WO-1", "quantity": 50})

    # Run 6 s, pause 4 s, run 6 s (press-1 with an order during the
    # second run), then pause.
    c0 = {s.name: s.counters() for s in sims}
    t0 = time.time()
    for s in sims:
        s.run(True)
    time.sleep(6)
    for s in sims:
        s.run(False)
    t_pause = time.time()
    time.sleep(4)
    env.api("/api/v1/orders/%d/start" % order["id"], "POST", {"machine": "press-1"})
    c_mid = sims[0].counters()
    for s in sims:
        s.run(True)
    time.sleep(6)
    for s in sims:
        s.run(False)
    c_end_run2 = sims[0].counters()
    time.sleep(1.5)
    env.api("/api/v1/orders/%d/stop" % order["id"], "POST", {"machine": "press-1"})
    t1 = time.time()
    c1 = {s.name: s.counters() for s in sims}
    log("counters", c0, c1)

    # The simulators started paused: everything counted is from the runs.
    for s in sims:
        want = {"good": c1[s.name]["good"] - c0[s.name]["good"],
                "scrap": c1[s.name]["scrap"] - c0[s.name]["scrap"]}
        wait_for("%s stored %s" % (s.name, want), lambda: env.counts(s.name) == want,
                 timeout=30)
    time.sleep(1.0)  # the last state events

    # press-1: no calendar (around the clock) -- every part is in the OEE.
    r = oee(env, "press-1", t0 - 0.5, t1, "&explain=1")
    k = r["total"]
    made_good = c1["press-1"]["good"] - c0["press-1"]["good"]
    made_scrap = c1["press-1"]["scrap"] - c0["press-1"]["scrap"]
    assert k["counts"]["good"] == made_good, (k["counts"], made_good)
    assert k["counts"]["scrap"] == made_scrap, (k["counts"], made_scrap)
    near("press-1 run ms", k["time_ms"]["run"], 12000, 2 * TOL_MS)
    # Every millisecond of the period is classified once: no calendar, so
    # all of it is planned busy time, all of it covered by data.
    assert k["time_ms"]["unknown"] == 0, k["time_ms"]
    assert k["time_ms"]["observed"] == k["time_ms"]["period"] == \
        k["time_ms"]["planned_busy"], k["time_ms"]
    # The rest is stopped without a reason: idle before the first run, the
    # 4 s pause, the 1.5 s after the second run (all longer than 2 s).
    near("press-1 unexplained ms", k["time_ms"]["unexplained"],
         k["time_ms"]["period"] - 12000, 2 * TOL_MS)
    near("press-1 performance", k["performance"], 1.0, 0.1)
    assert abs(k["quality"] - made_good / (made_good + made_scrap)) < 1e-6, k
    assert "explain" in k and k["explain"]["availability"]["inputs"]["run_ms"] == \
        k["time_ms"]["run"], k["explain"]
    assert k["stops"] >= 1, k

    # press-2 is on the line with its shift: same story at 80 ms a part.
    k2 = oee(env, "press-2", t0 - 0.5, t1)["total"]
    made2 = c1["press-2"]["good"] - c0["press-2"]["good"]
    assert k2["counts"]["good"] == made2, (k2["counts"], made2)
    near("press-2 performance", k2["performance"], 50 / 80, 0.08)

    # The line by day: one production day (or two around 06:00), and the
    # groups add up to the total.
    rl = env.api("/api/v1/reports/oee?scope=line&id=%d&from=%s&to=%s&group=day"
                 % (line["id"], iso(t0 - 0.5), iso(t1)))
    assert sum(g["kpi"]["counts"]["good"] for g in rl["groups"]) == \
        rl["total"]["counts"]["good"] == made2, rl
    assert rl["timezone"] == "Europe/Berlin", rl

    # The order ran on press-1 during the second run.
    p = env.api("/api/v1/orders/%d/progress" % order["id"])
    want_order = c_end_run2["good"] - c_mid["good"]
    log("order progress", p["good"], "simulator", want_order)
    assert p["good"] == want_order, (p, want_order)
    assert p["remaining"] == max(0, 50 - want_order), p
    assert p["runs"][0]["machine"] == "press-1", p

    # The pause is waiting for a reason; a supervisor names it.
    sup_pw = "supervisor-password-1"
    env.add_user("sue", "supervisor", sup_pw)
    stops = env.api("/api/v1/machines/press-1/stops?from=%s&to=%s&unexplained=1"
                    % (iso(t0 - 0.5), iso(t1)))
    pause = [s for s in stops if abs(s["start_ms"] / 1000 - t_pause) < 1.5]
    assert pause, stops
    cookie, csrf = env.login("sue", sup_pw)
    st, _, body = env.http("/api/v1/machines/press-1/stops/%d" % pause[0]["start_ms"], "PUT",
                           {"reason": "jam"}, {"X-CSRF-Token": csrf},
                           cookie="lb_session=" + cookie)
    assert st == 200, body
    audit = env.api("/api/v1/machines/press-1/reason-audit")
    assert audit[0]["who"] == "sue" and audit[0]["after"] == "jam", audit
    k = oee(env, "press-1", t0 - 0.5, t1)["total"]
    assert k["time_ms"]["down"] >= 3000, k["time_ms"]
    pareto = env.api("/api/v1/reports/pareto?scope=plant&from=%s&to=%s"
                     % (iso(t0 - 0.5), iso(t1)))
    assert any(b["reason"] == "jam" for b in pareto["bars"]), pareto
    # A viewer cannot change master data.
    env.add_user("vic", "viewer", "viewer-password-1")
    vc, vcsrf = env.login("vic", "viewer-password-1")
    st, _, body = env.http("/api/v1/lines", "POST", {"name": "X"}, {"X-CSRF-Token": vcsrf},
                           cookie="lb_session=" + vc)
    assert st == 403, (st, body)

    # Errors name the bad parameter.
    try:
        env.api("/api/v1/reports/oee?scope=machine&id=press-1&from=soon&to=%s" % iso(t1))
        raise AssertionError("accepted a bad time")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "from:" in e.msg, (e.code, e.msg)

    # Metrics.
    st, _, body = env.http("/metrics", cookie="lb_session=" + cookie)
    text = body.decode()
    assert st == 200, text[:200]
    for name in ("linebeat_http_request_duration_seconds_bucket", "linebeat_ingest_lag_seconds",
                 "linebeat_gaps_total", "linebeat_db_bytes"):
        assert name in text, name

    # An online backup while the server runs: a consistent copy.
    copy = os.path.join(env.dir, "backup.db")
    r = subprocess.run([env.bin("linebeat-server"), "-c", env.server_conf(), "--backup", copy],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    db = sqlite3.connect(copy)
    try:
        n = db.execute("SELECT count(*) FROM events").fetchone()[0]
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()
    log("backup holds", n, "events, integrity", ok)
    assert n > 0 and ok == "ok"


if __name__ == "__main__":
    lbtest.main(test_kpi_api)
