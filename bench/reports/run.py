#!/usr/bin/env python3
"""Report benchmark: a generated year of 200 machines, queried over HTTP.

Generates the database once with lb-bench-gen (kept in --db for later
runs), starts Mosquitto and linebeat-server on it, logs in, checks that
reports at different levels agree (a week by day, by hour and by shift sum
to the same totals), then times two reports, one request at a time on a
kept-alive connection:

  oee-by-machine-month  GET /api/v1/reports/oee?scope=plant&by=machine
                        &from=<a production day>&to=<30 days later>
  weekly-trend-year     GET /api/v1/reports/oee?scope=plant&group=week
                        &from=<52 weeks ago, a Monday>&to=<now>

and prints p50/p95/max per report as JSON lines.

usage: bench/reports/run.py [--machines 200] [--days 365] [--requests 50]
                            [--db /tmp/lb-bench-year.db]
"""
import argparse
import datetime
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
import lbtest  # noqa: E402

ZONE = zoneinfo.ZoneInfo("Europe/Berlin")


def day_start(d):
    """06:00 local of date d as an ISO 8601 UTC string."""
    t = datetime.datetime(d.year, d.month, d.day, 6, 0, tzinfo=ZONE)
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--db", default="/tmp/lb-bench-year.db")
    args = ap.parse_args()

    build = os.environ.get("LB_BUILD_DIR", os.path.join(lbtest.SRC, "build"))
    if not os.path.exists(args.db):
        t0 = time.time()
        r = subprocess.run([os.path.join(build, "bench", "lb-bench-gen"), args.db,
                            str(args.machines), str(args.days)], capture_output=True)
        if r.returncode != 0:
            sys.exit("lb-bench-gen: %s" % r.stderr.decode())
        print(json.dumps({"generated": json.loads(r.stdout.decode()),
                          "seconds": round(time.time() - t0, 1),
                          "bytes": os.path.getsize(args.db)}), flush=True)

    env = lbtest.Env("bench-reports")
    try:
        env.start_broker()
        env.http_port = lbtest.free_port()
        conf = env.server_conf()
        with open(conf, "w") as f:
            f.write("[server]\ndb = %s\nhttp_bind = 127.0.0.1\nhttp_port = %d\n"
                    "http_threads = 2\n[mqtt]\nurl = tcp://127.0.0.1:%d\n"
                    "[plant]\ntimezone = Europe/Berlin\nday_start = 06:00\n"
                    % (args.db, env.http_port, env.broker_port))
        try:
            env.add_user("bench", "viewer", "bench-password-1")
        except RuntimeError:  # a kept database has the user already
            subprocess.run([env.bin("linebeat-server"), "-c", conf, "--passwd", "bench"],
                           input=b"bench-password-1\n", check=True, capture_output=True)
            env.users["bench"] = "bench-password-1"
        env.server = env.spawn("server", [env.bin("linebeat-server"), "-c", conf, "-f"])
        lbtest.wait_port(env.http_port, proc=env.server)
        cookie, _ = env.login("bench", "bench-password-1")
        conn = http.client.HTTPConnection("127.0.0.1", env.http_port, timeout=60)
        hdr = {"Cookie": "lb_session=" + cookie}

        def get(path):
            t = time.perf_counter()
            conn.request("GET", path, headers=hdr)
            r = conn.getresponse()
            body = r.read()
            ms = (time.perf_counter() - t) * 1000.0
            if r.status != 200:
                raise RuntimeError("%s: %d %s" % (path, r.status, body[:300]))
            return ms, json.loads(body)

        today = datetime.datetime.now(ZONE).date()
        if datetime.datetime.now(ZONE).hour < 6:
            today -= datetime.timedelta(days=1)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        # Levels agree: one line, a past week, by day / hour / shift.
        wk0 = today - datetime.timedelta(days=today.weekday() + 14)
        q = "/api/v1/reports/oee?scope=line&id=2&from=%s&to=%s" % (
            day_start(wk0), day_start(wk0 + datetime.timedelta(days=7)))
        totals = {}
        for g in ("day", "hour", "shift", "none"):
            _, rep = get(q + "&group=" + g)
            groups = rep.get("groups", [rep])
            key = "total" if g == "none" else None
            good = sum(x["kpi"]["counts"]["good"] for x in groups) if key is None \
                else rep["total"]["counts"]["good"]
            totals[g] = (good, rep["total"]["time_ms"]["run"], rep["total"]["oee"])
        print(json.dumps({"check": "levels agree (good, run ms, oee)", "line": 2,
                          "week_from": wk0.isoformat(), "totals": totals}), flush=True)
        assert totals["day"][0] == totals["hour"][0] == totals["shift"][0] == \
            totals["none"][0], totals
        assert totals["day"][1:] == totals["hour"][1:] == totals["none"][1:], totals

        runs = {
            "oee-by-machine-month": lambda i: (
                "/api/v1/reports/oee?scope=plant&by=machine&from=%s&to=%s"
                % (day_start(today - datetime.timedelta(days=31 + 7 * (i % 40))),
                   day_start(today - datetime.timedelta(days=1 + 7 * (i % 40))))),
            "weekly-trend-year": lambda i: (
                "/api/v1/reports/oee?scope=plant&group=week&from=%s&to=%s"
                % (day_start(today - datetime.timedelta(days=today.weekday() + 7 * 52)), now)),
            "pareto-plant-month": lambda i: (
                "/api/v1/reports/pareto?scope=plant&from=%s&to=%s"
                % (day_start(today - datetime.timedelta(days=31 + 7 * (i % 40))),
                   day_start(today - datetime.timedelta(days=1 + 7 * (i % 40))))),
            "weekly-trend-year-line": lambda i: (
                "/api/v1/reports/oee?scope=line&id=%d&group=week&from=%s&to=%s"
                % (1 + i % max(1, args.machines // 20),
                   day_start(today - datetime.timedelta(days=today.weekday() + 7 * 52)), now)),
        }
        for name, make in runs.items():
            ms, rep = get(make(0))  # warm-up, also shows the answer's size
            lat = []
            for i in range(args.requests):
                ms, rep = get(make(i))
                lat.append(ms)
            info = {"report": name, "requests": args.requests,
                    "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1),
                    "max_ms": round(max(lat), 1),
                    "machines": rep["total"]["machines"] if "total" in rep else None,
                    "groups": len(rep.get("groups", rep.get("bars", []))),
                    "per_machine": len(rep.get("machines", [])),
                    "example": make(0)}
            print(json.dumps(info), flush=True)
        conn.close()
    finally:
        env.close()
        shutil.rmtree(env.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
