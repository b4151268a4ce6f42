#!/usr/bin/env python3
"""Agent footprint: resident memory and CPU share of linebeat-agent polling
1, 20 and 100 simulated machines every second, over 60 s each.

A real Mosquitto, real simulators (one process each) and the server on
loopback: the server's acks let the agent empty its spool as in a plant.
Memory is read from /proc/PID/status (VmRSS, and RssAnon = private memory);
CPU from utime+stime in /proc/PID/stat over the measuring window.

usage: bench/agent_footprint.py [--seconds 60] [--counts 1,20,100] [--commit-ms 60000]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import lbtest  # noqa: E402


def proc_mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(n, seconds, commit_ms):
    env = lbtest.Env("footprint-%d" % n)
    try:
        env.start_broker()
        env.start_server()
        sims = [lbtest.Sim(env, "b-%03d" % i, "sim.ini", cycle_ms=900 + i).start(paused=False)
                for i in range(n)]
        agent = env.start_agent("bench-%d" % n, sims, interval_ms=1000,
                                commit_ms=commit_ms)
        time.sleep(8)  # connect, first commit, steady state
        c0, t0 = proc_cpu(agent.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = proc_cpu(agent.pid), time.monotonic()
        mem = proc_mem(agent.pid)
        return {"devices": n, "rss_kb": mem["VmRSS"], "anon_kb": mem["RssAnon"],
                "hwm_kb": mem["VmHWM"], "cpu_pct": 100.0 * (c1 - c0) / (t1 - t0)}
    finally:
        env.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--counts", default="1,20,100")
    # The agent's default; events wait in memory up to this long, so the
    # window should hold a few commits.
    ap.add_argument("--commit-ms", type=int, default=60000)
    args = ap.parse_args()
    rows = [measure(int(n), args.seconds, args.commit_ms) for n in args.counts.split(",")]
    print("| devices | RSS (MB) | private (MB) | peak RSS (MB) | CPU (% of one core) |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %d | %.1f | %.1f | %.1f | %.2f |" % (r["devices"], r["rss_kb"] / 1024,
                                                    r["anon_kb"] / 1024, r["hwm_kb"] / 1024,
                                                    r["cpu_pct"]))


if __name__ == "__main__":
    main()
