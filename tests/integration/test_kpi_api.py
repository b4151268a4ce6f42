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
import re
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

    board(env, sims, line["id"])


def ms_of(iso_text):
    d = datetime.datetime.strptime(iso_text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def tile_of(html, dev):
    m = re.search(r'<section class="tile [^"]*" data-dev="%s">(.*?)</section>'
                  % re.escape(dev), html, re.S)
    assert m, "no tile for %s" % dev
    return m.group(1)


def board(env, sims, line_id):
    """The floor board and its JSON twin /api/v1/machines: a tile shows its
    open order's progress equal to the progress API's good, and the OEE of
    its line's current shift so far equal to the OEE report over that shift
    up to the moment the board's figures were made; "no shift" when the
    line's calendar has none now.  Runs last: it moves press-1 to a line
    without a shift today."""
    # press-2's line has an "All day" shift on yesterday's, today's and
    # tomorrow's weekday (above), so a shift runs whatever the hour.  Line Z
    # has shifts, but none before 2099: no shift now on any day.
    zline = env.api("/api/v1/lines", "POST", {"name": "Line Z"})
    for wd in range(1, 8):
        env.api("/api/v1/shifts", "POST", {"line_id": zline["id"], "name": "Later",
                                          "weekday": wd, "start": "06:00", "end": "14:00",
                                          "valid_from": "2099-01-01"})
    env.api("/api/v1/machines/press-1", "PUT", {"line_id": zline["id"]})
    order = env.api("/api/v1/orders", "POST", {"number": "WO-<3>", "quantity": 40})
    env.api("/api/v1/orders/%d/start" % order["id"], "POST", {"machine": "press-2"})
    c0 = sims[1].counters()
    for s in sims:
        s.run(True)
    time.sleep(3)
    for s in sims:
        s.run(False)
    made = sims[1].counters()["good"] - c0["good"]
    assert made > 0, made
    wait_for("order progress %d" % made,
             lambda: env.api("/api/v1/orders/%d/progress" % order["id"])["good"] == made,
             timeout=30)
    # Let the pause become a judged-as-unexplained stop (> micro_stop_s) so
    # the figures no longer move with the clock for times before now.
    time.sleep(3)
    progress = env.api("/api/v1/orders/%d/progress" % order["id"])
    cookie, _ = env.login("admin")

    def same_snapshot():
        ms = {m["id"]: m for m in env.api("/api/v1/machines")}
        st, _, body = env.http("/", cookie="lb_session=" + cookie)
        assert st == 200, st
        html = body.decode()
        at = int(re.search(r'data-as-of="(\d+)"', html).group(1))
        if ms["press-2"]["as_of"] is None or ms_of(ms["press-2"]["as_of"]) != at:
            return None  # a new snapshot between the two requests
        return ms, html, at
    ms, html, at = wait_for("the board and its JSON from one snapshot", same_snapshot,
                            timeout=20, every=0.1)

    # Order progress: tile, JSON and the progress API agree.
    m2 = ms["press-2"]
    log("press-2 on the board", m2)
    assert m2["order"] == "WO-<3>" and m2["order_id"] == order["id"], m2
    assert m2["order_good"] == progress["good"] == made, (m2, progress)
    assert m2["order_quantity"] == 40, m2
    t2 = tile_of(html, "press-2")
    assert "WO-&lt;3&gt;" in t2 and "WO-<3>" not in t2, t2
    pg = re.search(r'<div class="progress" data-good="(\d+)" data-quantity="(\d+)">'
                   r'<span class="pgood">([^<]*)</span> / <span class="pqty">([^<]*)</span>'
                   r' good, <b>(\d+)&nbsp;%</b>', t2)
    assert pg, t2
    assert int(pg.group(1)) == progress["good"] and int(pg.group(2)) == 40, pg.groups()
    assert int(pg.group(3).replace("&#8239;", "")) == progress["good"], pg.groups()
    assert int(pg.group(5)) == round(100 * progress["good"] / 40), pg.groups()
    assert 'class="bar' in t2, t2

    # Shift OEE: the OEE report over [shift start, as_of) gives the same.
    sh = m2["shift"]
    assert sh is not None and sh["name"] == "All day", m2
    assert ms_of(sh["from"]) <= at < ms_of(sh["to"]), (sh, at)
    k = env.api("/api/v1/reports/oee?scope=machine&id=press-2&from=%s&to=%s"
                % (sh["from"], m2["as_of"]))["total"]
    log("shift OEE on the board", sh["oee"], "report", k["oee"])
    assert sh["oee"] == k["oee"], (sh, k)
    assert sh["availability"] == k["availability"] and sh["quality"] == k["quality"], \
        (sh, k)
    if k["oee"] is None:
        assert re.search(r'<td class="num oee placeholder">(no data|no parts|'
                         r'no cycle time|n/a)</td>', t2), t2
    else:
        cell = re.search(r'<td class="num oee oee-(hi|mid|lo)" data-oee="([\d.]+)">'
                         r'(\d+)&nbsp;%</td>', t2)
        assert cell, t2
        assert float(cell.group(2)) == k["oee"], (cell.groups(), k["oee"])
        assert cell.group(3) == "%.0f" % (k["oee"] * 100), (cell.groups(), k["oee"])
    assert "shift All day since" in t2, t2

    # press-1: no shift now on its line, said in words; no order.
    m1 = ms["press-1"]
    assert m1["shift"] is None and m1["order"] is None and m1["order_good"] is None, m1
    t1 = tile_of(html, "press-1")
    assert '<td class="num oee placeholder">no shift</td>' in t1, t1
    assert "no order" in t1, t1

    # The TV board shows the same tiles, and the CSV twin the same figures.
    link = env.api("/api/v1/board-tokens", "POST", {"name": "Line A TV"})
    st, _, body = env.http(link["url"][link["url"].index("/tv?"):])
    assert st == 200, st
    tv = body.decode()
    assert "no shift" in tile_of(tv, "press-1"), tv[:300]
    assert 'data-good="%d"' % progress["good"] in tile_of(tv, "press-2")
    st, _, body = env.http("/board.csv", cookie="lb_session=" + cookie)
    rows = [r.split(",") for r in body.decode().strip().split("\r\n")]
    head = rows[0]
    assert head[-5:] == ["order", "order_good", "order_quantity", "shift", "shift_oee"], head
    row = [r for r in rows if r[0] == "press-2"][0]
    assert int(row[head.index("order_good")]) == progress["good"], row


if __name__ == "__main__":
    lbtest.main(test_kpi_api)
