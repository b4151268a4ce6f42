#!/usr/bin/env python3
"""HTTP benchmark: the floor board page (logged in, and as a TV board link)
and the API's machine list with 200 machines, measured with wrk on loopback.
Each tile shows its order's progress and its shift's OEE so far.

A private Mosquitto and linebeat-server on free loopback ports; the 200
machines (4 agents x 50) come in through the broker as real wire messages
(birth, status, and per machine a state event, an hour of count events and
an order_start scan), published with mosquitto_pub, so the server's
database is what ingest makes.
Each URL then gets a bounded wrk run (default 10 s, 2 threads, 50
connections), and the results are printed as a Markdown table.

usage: bench/web_bench.py [--seconds 10] [--connections 50] [--machines 200]
                     [--threads 2] [--out FILE]
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import lbtest  # noqa: E402
from lbtest import log  # noqa: E402

PREFIX = "linebeat/v1"
SITE = "bench"
PER_AGENT = 50


def publish(env, topic, payload, retain=False):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker_port), "-q", "1",
            "-t", topic, "-s"]
    if retain:
        args.append("-r")
    subprocess.run(args, input=json.dumps(payload).encode(), check=True, timeout=30)


def feed(env, machines):
    """Publishes birth, status and events for machines devices."""
    rnd = random.Random(7)
    now = int(time.time() * 1000)
    states = ["running"] * 6 + ["idle", "down", "setup", "planned_stop"]
    reasons = ["jam", "material", "tool_change", None]
    nagents = (machines + PER_AGENT - 1) // PER_AGENT
    seq = 0
    for a in range(nagents):
        agent = "cell-%02d" % (a + 1)
        boot = "%016x" % rnd.getrandbits(64)
        devs = ["m-%03d" % (a * PER_AGENT + i + 1)
                for i in range(min(PER_AGENT, machines - a * PER_AGENT))]
        publish(env, "%s/%s/%s/birth" % (PREFIX, SITE, agent),
                {"v": 1, "agent": agent, "boot": boot, "version": "0.1.0",
                 "devices": [{"dev": d, "profile": "sim", "ideal_cycle_ms": 2400}
                             for d in devs]})
        publish(env, "%s/%s/%s/status" % (PREFIX, SITE, agent),
                {"v": 1, "agent": agent, "boot": boot, "status": "online"}, retain=True)
        events = []
        for d in devs:
            # An hour of production: one count event a minute, and an order
            # scanned in 45 minutes ago (one order for every two machines),
            # whose progress the board shows.
            for m in range(60, 0, -1):
                seq += 1
                events.append({"seq": seq, "t": now - m * 60000, "age": 0, "dev": d,
                               "type": "count", "good": rnd.randint(10, 25),
                               "scrap": rnd.randint(0, 2), "span": 60000})
                if m == 45:
                    num = "WO-%04d" % ((int(d[2:]) + 1) // 2)
                    seq += 1
                    events.append({"seq": seq, "t": now - m * 60000 + 1000, "age": 0,
                                   "dev": d, "type": "scan", "kind": "order_start",
                                   "code": num, "value": num, "qty": None})
            st = rnd.choice(states)
            ev = {"seq": seq + 1, "t": now - rnd.randint(1, 3600) * 1000, "age": 0,
                  "dev": d, "type": "state", "state": st}
            seq += 1
            if st == "down" and rnd.choice(reasons):
                ev["reason"] = rnd.choice(reasons[:3])
            events.append(ev)
        for i in range(0, len(events), 1000):
            publish(env, "%s/%s/%s/events" % (PREFIX, SITE, agent),
                    {"v": 1, "agent": agent, "boot": boot, "clock": "synced",
                     "sent": now, "events": events[i:i + 1000]})


def wrk(url, seconds, conns, threads, headers):
    args = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % seconds,
            "--latency", "--timeout", "5s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out,
                                     re.M):
        lat[pct] = float(val) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket": sock.group(1) if sock else "", "raw": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--machines", type=int, default=200)
    ap.add_argument("--out", help="also write the Markdown table here")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/web_bench.py needs wrk: apt-get install wrk")
    if not 1 <= a.seconds <= 120 or not 1 <= a.connections <= 1000:
        sys.exit("--seconds 1..120, --connections 1..1000")

    env = lbtest.Env("bench-http")
    rows = []
    try:
        env.start_broker()
        env.start_server()
        # Messages published before the server subscribed are lost (none
        # is retained): wait for its connection and the subscription.
        lbtest.wait_for("the server's MQTT connection",
                        lambda: "mqtt: connected" in env.logs("server"), timeout=30)
        time.sleep(1)
        feed(env, a.machines)
        lbtest.wait_for("%d machines with a state" % a.machines,
                        lambda: sum(1 for m in env.api("/api/v1/machines")
                                    if m["state"] not in ("unknown", "offline"))
                        >= a.machines, timeout=120)
        cookie = "Cookie: lb_session=" + env.session
        link = env.api("/api/v1/board-tokens", "POST", {"name": "bench"})
        base = "http://127.0.0.1:%d" % env.http_port
        st, hd, body = env.http("/", cookie="lb_session=" + env.session)
        board_kb = len(body) / 1024
        st, hd, body = env.http("/api/v1/machines", cookie="lb_session=" + env.session)
        api_kb = len(body) / 1024
        cases = [("board page `/` (session cookie)", base + "/", [cookie], board_kb),
                 ("TV board `/tv?token=`", base + link["url"][link["url"].index("/tv?"):],
                  [], board_kb),
                 ("API `/api/v1/machines` (session cookie)", base + "/api/v1/machines",
                  [cookie], api_kb)]
        for name, url, headers, kb in cases:
            log("wrk", name)
            r = wrk(url, a.seconds, a.connections, a.threads, headers)
            if r["non2xx"] or r["socket"]:
                log(r["raw"])
                raise AssertionError("%s: %d non-2xx, socket errors %s"
                                     % (name, r["non2xx"], r["socket"]))
            rows.append((name, kb, r))
    finally:
        env.close()

    load = os.getloadavg()[0]
    lines = ["| %d machines | body | requests/s | p50 | p99 |" % a.machines,
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, kb, r in rows:
        lines.append("| %s | %.0f KiB | %.0f | %.2f ms | %.2f ms |"
                     % (name, kb, r["rps"], r["p50"], r["p99"]))
    lines.append("")
    lines.append("wrk -t%d -c%d -d%ds on loopback; server with http_threads = 2; "
                 "load average %.2f before the report." % (a.threads, a.connections,
                                                          a.seconds, load))
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
