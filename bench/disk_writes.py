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

write_bytes counts a whole page-cache folio each time one turns dirty; on
kernels with large folios for ext4 (6.16 and later, this VM's 6.18) that
overstates what reaches the disk.  --card measures what a card would
receive instead: the state directory is a fresh ext4 file system in a
loop device of its own (root only), and the result is the sectors written
to that device (file data, metadata and ext4's journal), with the file
system synced at both ends of the window.

usage: bench/disk_writes.py [--machines 20] [--seconds 300] [--strace]
                            [--spool "commit_ms = 2000"]
                            [--card [--card-opts noatime,lazytime] [--every 300]]
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


class Card:
    """A fresh ext4 file system on a loop device, standing in for the
    board's SD card."""

    def __init__(self, workdir, opts="", size_mb=1024):
        self.img = os.path.join(workdir, "card.img")
        self.mnt = os.path.join(workdir, "card")
        with open(self.img, "wb") as f:
            f.truncate(size_mb << 20)
        # No lazy initialisation: its background zeroing of inode tables
        # and journal would count as the agent's.
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        self.img], check=True)
        self.dev = subprocess.run(["losetup", "-f", "--show", self.img], check=True,
                                  capture_output=True, text=True).stdout.strip()
        os.makedirs(self.mnt)
        subprocess.run(["mount"] + (["-o", opts] if opts else []) + [self.dev, self.mnt],
                       check=True)

    def sectors_written(self):
        subprocess.run(["sync", "-f", self.mnt], check=True)
        with open("/sys/block/%s/stat" % os.path.basename(self.dev)) as f:
            return int(f.read().split()[6])

    def close(self):
        subprocess.run(["umount", self.mnt])
        subprocess.run(["losetup", "-d", self.dev])
        os.unlink(self.img)


def proc_io(pid):
    out = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v)
    return out


def trace_lines(path):
    """The lines of strace -ff's per-thread files path.TID."""
    d, base = os.path.split(path)
    for name in sorted(os.listdir(d)):
        if name.startswith(base + "."):
            with open(os.path.join(d, name), errors="replace") as f:
                yield from f


def strace_summary(path, state):
    """Bytes and calls per file from strace -ff -y logs of pwrite/write/fsync."""
    calls = collections.Counter()
    nbytes = collections.Counter()
    pat = re.compile(r'(\w+)\((\d+)<([^>]*)>.*\)\s+=\s+(-?\d+)')
    for line in trace_lines(path):
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


def wal_frames(trace, spool):
    """Pages written per commit, by table: WAL frame headers (24-byte
    pwrites) name the page; dbstat maps pages to tables."""
    out = subprocess.run(["sqlite3", spool, "SELECT pageno, name FROM dbstat"],
                         capture_output=True, text=True).stdout
    owner = dict((int(p), n) for p, n in (l.split("|") for l in out.splitlines()))
    frames, commits = collections.Counter(), 0
    pat = re.compile(r'pwrite64\(\d+<[^>]*spool\.db-wal>, "((?:[^"\\]|\\.)*)", 24,')
    for line in trace_lines(trace):
        if "fdatasync" in line and "spool.db-wal" in line:
            commits += 1
        m = pat.search(line)
        if m:
            raw = m.group(1).encode("latin1").decode("unicode_escape").encode("latin1")
            page = int.from_bytes(raw[:4], "big")
            frames[owner.get(page, "page %d (freed)" % page)] += 1
    return commits, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--warmup", type=float, default=20)
    ap.add_argument("--spool", default="", help="lines added to the agent's [spool]")
    ap.add_argument("--strace", action="store_true", help="also count calls by file")
    ap.add_argument("--agent-bin", help="another linebeat-agent binary (comparisons)")
    ap.add_argument("--card", action="store_true",
                    help="state directory on a loop-mounted ext4 of its own; "
                         "report the sectors written to it")
    ap.add_argument("--card-opts", default="",
                    help="mount options of the --card file system (noatime,lazytime)")
    ap.add_argument("--every", type=float, default=0,
                    help="with --card, also report the card's rate every so many seconds")
    ap.add_argument("--status-on-disk", action="store_true",
                    help="run_dir empty: status.json in state_dir, as without the "
                         "packaged service's tmpfs /run/linebeat-agent")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    env = lbtest.Env("disk")
    tracer = card = state = trace = None
    run_dir = ""
    try:
        env.start_broker()
        env.start_server()
        sims = [lbtest.Sim(env, "d-%02d" % i, "sim.ini", cycle_ms=950 + 5 * i).start(
            paused=False) for i in range(args.machines)]
        # The agent's own defaults for [spool], plus --spool.
        spool = args.spool
        # The packaged service has a tmpfs run_dir for status.json
        # (/run/linebeat-agent); /dev/shm stands in for it.
        run_dir = ""
        if not args.status_on_disk:
            run_dir = os.path.join("/dev/shm", os.path.basename(env.dir))
            os.makedirs(run_dir, mode=0o700)
        conf, state = env.write_agent_conf("bench-disk", sims, interval_ms=1000,
                                           commit_ms=0, spool="",
                                           extra_agent="run_dir = %s\n" % run_dir)
        with open(conf) as f:
            text = f.read().replace("[spool]\ncommit_ms = 0\n", "[spool]\n" + spool + "\n")
        if args.card:
            card = Card(env.dir, args.card_opts)
            text = text.replace("state_dir = %s\n" % state,
                                "state_dir = %s\n" % os.path.join(card.mnt, "state"))
            state = os.path.join(card.mnt, "state")
        with open(conf, "w") as f:
            f.write(text)
        agent = env.spawn("agent-bench-disk",
                          [args.agent_bin or env.bin("linebeat-agent"), "-c", conf, "-f"])
        env.agents["bench-disk"] = agent
        time.sleep(args.warmup)
        if args.strace:
            trace = os.path.join(env.dir, "strace.log")
            # -ff: one file per thread, so no call is split into
            # "unfinished" and "resumed" halves that hide its file.
            tracer = subprocess.Popen(["strace", "-ff", "-y", "-qq", "-o", trace, "-e",
                                       "trace=write,pwrite64,writev,pwritev,fsync,"
                                       "fdatasync,rename,unlink,ftruncate",
                                       "-p", str(agent.pid)])
            time.sleep(1)
        sec0 = card.sectors_written() if card else 0
        io0, t0 = proc_io(agent.pid), time.monotonic()
        st0 = env.api("/api/v1/agents")
        if card and args.every:
            # The card's rate window by window: a WAL still growing costs
            # more than one reused in place.
            t, sec = t0, sec0
            while t - t0 < args.seconds - 1:
                time.sleep(min(args.every, args.seconds - (t - t0)))
                now, s = time.monotonic(), card.sectors_written()
                log("card, %5.0f-%5.0f s: %.1f MB/day" % (t - t0, now - t0,
                                                        (s - sec) * 512 / (now - t) * 86400 / 1e6))
                t, sec = now, s
        else:
            time.sleep(args.seconds)
        io1, t1 = proc_io(agent.pid), time.monotonic()
        sec1 = card.sectors_written() if card else 0
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
        card_mb = (sec1 - sec0) * 512 / dt * 86400 / 1e6
        if card:
            log("card (loop device, ext4 data + metadata + journal): %d sectors, "
                "%.1f MB/day" % (sec1 - sec0, card_mb))
        print("| %s | %.0f | %.1f | %.1f | %.1f | %.1f | %s |"
              % (args.spool.replace("\n", "; ") or "defaults", dt, ev / dt,
                 wb / dt * 86400 / 1e6, net / dt * 86400 / 1e6, wc / dt * 86400 / 1e6,
                 "%.1f%s" % (card_mb, " (%s)" % args.card_opts if args.card_opts else "")
                 if card else "-"))
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
        if trace and os.path.exists(os.path.join(state, "spool.db")):
            # Now that the agent has let go of its exclusive lock.
            commits, frames = wal_frames(trace, os.path.join(state, "spool.db"))
            for name, n in frames.most_common():
                log("  WAL frames of %-28s %5.2f per commit" % (name, n / max(commits, 1)))
        if card:
            card.close()
        if run_dir:
            for f in os.listdir(run_dir):
                os.unlink(os.path.join(run_dir, f))
            os.rmdir(run_dir)


if __name__ == "__main__":
    main()
