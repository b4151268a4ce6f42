"""Helpers of the barcode scanner tests (test_scan_serial, test_scan_evdev,
test_scan_orders): a serial scanner simulated on a pseudo-terminal behind a
stable path (as /dev/serial/by-id/ gives one), an agent configuration with
[scanner] sections, the server's view of a machine's scans, and coils of a
simulator for the feedback writes.  Python standard library only.
"""
import os
import pty
import struct
import time

import lbtest
from lbtest import wait_for


class PtyScanner:
    """A serial scanner: the agent opens `path`, a symlink to the slave side
    of a pseudo-terminal; scan() writes to the master side.  unplug() hangs
    the line up and removes the link, plug() makes a new terminal behind
    the same path, as a USB scanner plugged back in gets a new tty."""

    def __init__(self, env, name):
        self.path = os.path.join(env.dir, name)
        self.master = None
        self.plug()

    def plug(self):
        self.master, slave = pty.openpty()
        target = os.ttyname(slave)
        os.close(slave)
        if os.path.lexists(self.path):
            os.unlink(self.path)
        os.symlink(target, self.path)

    def unplug(self):
        os.close(self.master)
        self.master = None
        os.unlink(self.path)

    def send(self, data):
        os.write(self.master, data)

    def scan(self, code, end=b"\r"):
        self.send(code.encode() + end if isinstance(code, str) else code + end)

    def close(self):
        if self.master is not None:
            os.close(self.master)
            self.master = None


def start_agent(env, agent_id, sims, scanners, scan="", **kw):
    """Starts an agent for sims with extra sections: scanners is the text of
    its [scanner] sections, scan the body of a [scan] section ("" none)."""
    conf, state = env.write_agent_conf(agent_id, sims, **kw)
    with open(conf, "a") as f:
        if scan:
            f.write("[scan]\n%s\n" % scan)
        f.write(scanners)
    p = env.spawn("agent-" + agent_id, env.agent_cmd() + ["-c", conf, "-f", "-d"])
    env.agents[agent_id] = p
    return p


def log_count(env, agent_id, text):
    return env.logs("agent-" + agent_id).count(text)


def wait_log(env, agent_id, text, count=1, timeout=20):
    """Waits until the agent's log holds text at least count times."""
    wait_for("agent log: %r x%d" % (text, count),
             lambda: log_count(env, agent_id, text) >= count, timeout=timeout)


def scans(env, dev):
    """The server's scans of dev in the order they were scanned.  Not the
    API's time order: on a board without a synchronised clock (this VM's
    adjtimex says so) times are receive time minus age, an estimate that
    can swap scans a few ms apart in different batches; the agent's seq
    is the order of scanning."""
    got = env.api("/api/v1/machines/%s/scans?limit=1000" % dev)
    return sorted(got, key=lambda s: (s["agent"], s["seq"]))


def wait_scans(env, dev, n, timeout=30):
    """Waits until the server holds at least n scans of dev; returns them."""
    return wait_for("%d scans of %s" % (n, dev),
                    lambda: len(scans(env, dev)) >= n and scans(env, dev),
                    timeout=timeout)


def read_coil(sim, addr):
    mb = lbtest.Modbus(sim.port)
    try:
        body = mb._call(struct.pack(">BHH", 1, addr, 1))
        return body[2] & 1
    finally:
        mb.close()


def read_holding(sim, addr):
    mb = lbtest.Modbus(sim.port)
    try:
        return mb.read_holding(addr, 1)[0]
    finally:
        mb.close()


def order_by_number(env, number):
    for o in env.api("/api/v1/orders"):
        if o["number"] == number:
            return o
    return None


def settle(seconds):
    time.sleep(seconds)
