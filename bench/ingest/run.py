#!/usr/bin/env python3
"""Ingest benchmark: simulated agents -> Mosquitto -> linebeat-server -> SQLite.

Starts a real Mosquitto (max_queued_messages 0) and linebeat-server on
loopback, runs lb-bench-ingest (many agents publishing events batches at
QoS 1 as fast as the server's acks let them), and checks that nothing was
lost: every agent's final ack equals its last sequence number, and the
database holds exactly the events sent.  Prints one JSON line per run.

usage: bench/ingest/run.py [--agents 50] [--events 20000] [--batch 200]
                           [--machines 4] [--window 4] [--runs 3]
Needs LB_BUILD_DIR (default: build/) with linebeat-server and
bench/lb-bench-ingest built.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
import lbtest  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(args, run):
    env = lbtest.Env("bench-ingest-%d" % run)
    try:
        env.start_broker()
        env.start_server()
        srv = env.server.pid
        c0 = cpu_s(srv)
        t0 = time.time()
        r = subprocess.run([os.path.join(env.build, "bench", "lb-bench-ingest"),
                            "-p", str(env.broker_port), "-a", str(args.agents),
                            "-n", str(args.events), "-b", str(args.batch),
                            "-d", str(args.machines), "-w", str(args.window)],
                           capture_output=True, timeout=900)
        wall = time.time() - t0
        c1 = cpu_s(srv)
        if r.returncode != 0:
            raise RuntimeError("load failed: %s %s" % (r.stdout.decode(), r.stderr.decode()))
        res = json.loads(r.stdout.decode().strip().splitlines()[-1])
        env.stop_server()
        db = sqlite3.connect(os.path.join(env.dir, "linebeat.db"))
        stored = db.execute("SELECT count(*) FROM events").fetchone()[0]
        rollup = db.execute("SELECT sum(good) + sum(scrap) FROM roll_minute").fetchone()[0]
        db.close()
        # Count events carry 1 good part, and 1 scrap when seq % 50 == 0.
        counts = sum(1 + (s % 50 == 0) for s in range(1, args.events + 1)
                     if s % 97 != 0) * args.agents
        res.update({"stored_rows": stored, "lost": res["events"] - stored,
                    "rollup_parts": rollup, "parts_sent": counts,
                    "server_cpu_s": round(c1 - c0, 2), "wall_s": round(wall, 2)})
        return res
    finally:
        env.close()
        shutil.rmtree(env.dir, ignore_errors=True)  # a run's database is ~100 MB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--events", type=int, default=20000, help="per agent")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--machines", type=int, default=4, help="per agent")
    ap.add_argument("--window", type=int, default=4,
                    help="batches beyond the server's ack, per agent")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ok = True
    for run in range(args.runs):
        res = one(args, run)
        print(json.dumps(res), flush=True)
        ok = ok and res["lost"] == 0 and res["all_acked"] and \
            res["rollup_parts"] == res["parts_sent"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
