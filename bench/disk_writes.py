#!/usr/bin/env python3
"""Bytes the agent writes to its disk (an SD card on a real board) at its
default settings: --machines simulated machines polled every second, each
making a part about every second (so nearly every poll yields a count
event: the worst case for the spool), with a real Mosquitto and a real
linebeat-server acknowledging, so the spool also deletes what it sent.

Measured from /proc/PID/io of the agent over --seconds after a warm-up:
write_bytes (what the kernel sends to the block layer on the agent's
behalf, counted when pages are dirtied) and wchar (bytes handed to
write(2)), plus, with --strace, the agent's write and fsync calls by file.
The state directory must be on a real disk (not tmpfs) for write_bytes to
count.  Extrapolated to a day.

usage: bench/disk_writes.py [--machines 20] [--seconds 300] [--strace]
                            [--spool "commit_ms = 2000"]
"""
import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import lbtest  # noqa: E402
from lbtest import log  # noqa: E402


def proc_io(pid):
    out = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v)
    return out


def strace_summary(path, state):
    """Bytes and calls per file from an strace -f -y log of pwrite/write/fsync."""
    calls = collections.Counter()
    nbytes = collections.Counter()
    pat = re.compile(r'(\w+)\((\d+)<([^>]*)>.*\)\s+=\s+(-?\d+)')
    with open(path, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            call, _, fname, rc = m.groups()
            name = os.path.basename(fname) if fname.startswith(state) else fname
            if name.startswith("status.json"):
                name = "status.json"
            calls[(name, call)] += 1
            if call in ("write", "pwrite64", "writev", "pwritev") and int(rc) > 0:
                nbytes[name] += int(rc)
    return calls, nbytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--warmup", type=float, default=20)
    ap.add_argument("--spool", default="", help="lines added to the agent's [spool]")
    ap.add_argument("--strace", action="store_true", help="also count calls by file")
    ap.add_argument("--agent-bin", help="another linebeat-agent binary (comparisons)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    env = lbtest.Env("disk")
    tracer = None
    try:
        env.start_broker()
        env.start_server()
        sims = [lbtest.Sim(env, "d-%02d" % i, "sim.ini", cycle_ms=950 + 5 * i).start(
            paused=False) for i in range(args.machines)]
        # The agent's own defaults for [spool], plus --spool.
        spool = args.spool
        conf, state = env.write_agent_conf("bench-disk", sims, interval_ms=1000,
                                           commit_ms=0, spool="")
        with open(conf) as f:
            text = f.read().replace("[spool]\ncommit_ms = 0\n", "[spool]\n" + spool + "\n")
        with open(conf, "w") as f:
            f.write(text)
        agent = env.spawn("agent-bench-disk",
                          [args.agent_bin or env.bin("linebeat-agent"), "-c", conf, "-f"])
        env.agents["bench-disk"] = agent
        time.sleep(args.warmup)
        if args.strace:
            trace = os.path.join(env.dir, "strace.log")
            tracer = subprocess.Popen(["strace", "-f", "-y", "-qq", "-o", trace, "-e",
                                       "trace=write,pwrite64,writev,pwritev,fsync,"
                                       "fdatasync,rename,unlink,ftruncate",
                                       "-p", str(agent.pid)])
            time.sleep(1)
        io0, t0 = proc_io(agent.pid), time.monotonic()
        st0 = env.api("/api/v1/agents")
        time.sleep(args.seconds)
        io1, t1 = proc_io(agent.pid), time.monotonic()
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(10)
        dt = t1 - t0
        wb = io1["write_bytes"] - io0["write_bytes"]
        wc = io1["wchar"] - io0["wchar"]
        # Dirty pages of files deleted or truncated before writeback never
        # reach the disk (a status file replaced by rename, say).
        cw = io1["cancelled_write_bytes"] - io0["cancelled_write_bytes"]
        ev = [a for a in env.api("/api/v1/agents") if a["id"] == "bench-disk"][0]["hw"] - \
            [a for a in st0 if a["id"] == "bench-disk"][0]["hw"]
        net = wb - cw
        log("%d machines, %.0f s: write_bytes %d - cancelled %d = %d (%.1f MB/day), "
            "wchar %d (%.1f MB/day), %d events stored by the server (%.1f/s)"
            % (args.machines, dt, wb, cw, net, net / dt * 86400 / 1e6, wc,
               wc / dt * 86400 / 1e6, ev, ev / dt))
        print("| %s | %.0f | %.1f | %.1f | %.1f | %.1f |"
              % (args.spool.replace("\n", "; ") or "defaults", dt, ev / dt,
                 wb / dt * 86400 / 1e6, net / dt * 86400 / 1e6, wc / dt * 86400 / 1e6))
        if args.strace:
            calls, nbytes = strace_summary(trace, state)
            for (name, call), n in sorted(calls.items()):
                log("  %-16s %-10s %7d calls (%.0f per day)" % (name, call, n,
                                                              n / dt * 86400))
            for name, n in sorted(nbytes.items()):
                log("  %-16s %.1f MB/day handed to write" % (name, n / dt * 86400 / 1e6))
    finally:
        if tracer is not None and tracer.poll() is None:
            tracer.kill()
        env.close()


if __name__ == "__main__":
    main()
