#!/usr/bin/env python3
"""Replay rate after an outage: how fast a real linebeat-agent drains a
backlog from its spool through a real Mosquitto into a real linebeat-server,
and how stale live data gets meanwhile.

The backlog is written straight into the agent's spool file with the schema
agent/spool.c documents (the agent checks it at start and would move a file
it does not accept aside: the script fails then): --machines machines, one
count event each per second for --hours hours, as if the broker had been
down that long.  Then the agent starts, with one simulator per machine
producing live parts, and the script times until the server's contiguous
mark ("hw", every event up to it stored) covers the whole backlog.  Every
0.25 s it also notes the freshness of live data on the server: now minus the
newest stored event made after the agent started (the lag a floor board
shows), from the server's database, read-only.

usage: bench/replay.py [--machines 20] [--hours 24] [--agent-extra "inflight = 20"]
                       [--repeat 1]
"""
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import lbtest  # noqa: E402
from lbtest import log  # noqa: E402

APP_ID = 0x6c626561
SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE events(seq INTEGER PRIMARY KEY, dev TEXT NOT NULL,
 type INTEGER NOT NULL, t INTEGER NOT NULL, mono INTEGER NOT NULL,
 synced INTEGER NOT NULL, a INTEGER, b INTEGER, c INTEGER, d INTEGER,
 e INTEGER, f INTEGER, g INTEGER, s1 TEXT, s2 TEXT);
CREATE TABLE counters(dev TEXT NOT NULL, role INTEGER NOT NULL,
 raw INTEGER NOT NULL, wall INTEGER NOT NULL, seq INTEGER NOT NULL,
 PRIMARY KEY(dev, role));
"""


def osboot():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def make_spool(state_dir, devs, hours):
    """A spool holding hours of one count event per machine per second,
    ending now.  Returns the number of events (= the last seq)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    path = os.path.join(state_dir, "spool.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=512")  # as agent/spool.c makes new spools
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA application_id=%d" % APP_ID)
    db.execute("PRAGMA user_version=2")
    db.executescript(SCHEMA)
    seconds = int(hours * 3600)
    t0 = int(time.time() * 1000) - seconds * 1000
    n = len(devs)

    def rows():
        seq = 0
        for s in range(seconds):
            for i, dev in enumerate(devs):
                seq += 1
                scrap = 1 if (s + i) % 25 == 0 else 0
                good = 1 - scrap
                # count: a=good b=scrap c=span d=raw_mask (0: no raw values,
                # so the agent takes no baseline from these made-up events
                # for the live simulators of the same names)
                # mono -1: age from the wall clock (written before this start)
                yield (seq, dev, 0, t0 + s * 1000 + i, -1, 1, good, scrap, 1000, 0,
                       None, None, None, None, None)
    db.execute("BEGIN")
    db.executemany("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    last = seconds * n
    db.executemany("INSERT INTO meta VALUES(?,?)",
                   [("next_seq", last + 1), ("acked", 0)])
    db.execute("INSERT INTO meta VALUES('osboot', ?)", (osboot(),))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    os.chmod(path, 0o600)
    return last


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args):
    env = lbtest.Env("replay")
    try:
        env.start_broker()
        env.start_server()
        devs = ["r-%02d" % i for i in range(args.machines)]
        sims = [lbtest.Sim(env, d, "sim.ini", cycle_ms=1000 + 7 * i).start(paused=False)
                for i, d in enumerate(devs)]
        conf, state = env.write_agent_conf("bench-replay", sims, interval_ms=1000,
                                           commit_ms=2000, mqtt=args.agent_extra,
                                           spool=args.spool_extra)
        t = time.monotonic()
        last = make_spool(state, devs, args.hours)
        size = os.path.getsize(os.path.join(state, "spool.db"))
        log("spool: %d events, %.1f MB, written in %.1f s"
            % (last, size / 1e6, time.monotonic() - t))

        srv_db = sqlite3.connect("file:%s?mode=ro" % os.path.join(env.dir, "linebeat.db"),
                                 uri=True, timeout=5)
        procs = {"server": env.server.pid, "mosquitto": env.broker.pid}
        t0 = time.monotonic()
        start_wall = int(time.time() * 1000)
        agent = env.start_agent("bench-replay", sims, interval_ms=1000, commit_ms=2000,
                                mqtt=args.agent_extra, spool=args.spool_extra)
        procs["agent"] = agent.pid
        c0 = {k: cpu_s(p) for k, p in procs.items()}
        hw, first_stored, worst_lag, lags = 0, None, 0.0, []
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if agent.poll() is not None:
                raise RuntimeError("agent exited: " + env.logs("agent-bench-replay")[-2000:])
            try:
                r = srv_db.execute("SELECT hw FROM agents WHERE agent='bench-replay'").fetchone()
                live = srv_db.execute("SELECT max(t) FROM events WHERE agent='bench-replay'"
                                      " AND seq > ?", (last,)).fetchone()
            except sqlite3.OperationalError:
                continue
            hw = r[0] if r else 0
            if hw > 0 and first_stored is None:
                first_stored = time.monotonic() - t0
            now = int(time.time() * 1000)
            # Freshness of live data: since the agent started, how old is
            # the newest live event the server holds?
            newest = live[0] if live and live[0] else start_wall
            lag = (now - max(newest, start_wall)) / 1000.0
            lags.append(lag)
            worst_lag = max(worst_lag, lag)
            if args.progress and len(lags) % 4 == 0:
                log("hw %d (%.0f%%), live lag %.1f s" % (hw, 100.0 * hw / last, lag))
            if hw >= last:
                break
        elapsed = time.monotonic() - t0
        c1 = {k: cpu_s(p) for k, p in procs.items()}
        if "spool_replaced" in env.logs("agent-bench-replay"):
            raise RuntimeError("the agent did not accept the generated spool")
        if hw < last:
            raise RuntimeError("not drained after %.0f s: hw %d of %d" % (elapsed, hw, last))
        lags.sort()
        res = {"events": last, "mb": size / 1e6, "seconds": elapsed,
               "first_stored_s": first_stored, "rate": last / elapsed,
               "lag_p50": lags[len(lags) // 2], "lag_max": worst_lag,
               "cpu": {k: c1[k] - c0[k] for k in c0}}
        st = env.api("/api/v1/agents")
        res["server_agent"] = [a for a in st if a["id"] == "bench-replay"][0]
        return res
    finally:
        env.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--agent-extra", default="", help="lines added to the agent's [mqtt]")
    ap.add_argument("--spool-extra", default="", help="lines added to the agent's [spool]")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--progress", action="store_true", help="log the mark every second")
    args = ap.parse_args()
    # A SIGTERM (timeout(1), a job stop) still stops every process started.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    with open("/proc/loadavg") as f:
        log("load before:", f.read().strip())
    for i in range(args.repeat):
        r = run(args)
        log("result", r)
        print("| %d | %.0f | %.1f | %.0f | %.1f | %.1f | %.1f | agent %.1f, server %.1f, "
              "mosquitto %.1f |"
              % (r["events"], r["mb"], r["seconds"], r["rate"], r["first_stored_s"] or -1,
                 r["lag_p50"], r["lag_max"], r["cpu"]["agent"], r["cpu"]["server"],
                 r["cpu"]["mosquitto"]), flush=True)


if __name__ == "__main__":
    main()
