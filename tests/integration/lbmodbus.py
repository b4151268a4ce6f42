"""Helpers for the Modbus collection tests (RTU, restarts, dead devices,
reloads, probe), on top of lbtest: simulators on a pseudo-terminal,
machine sections of any link, a device that never answers, and the agent's
status file.  Python standard library only.
"""
import calendar
import json
import os
import re
import socket
import threading
import time

import lbtest
from lbtest import SRC, log, wait_for


class Sim(lbtest.Sim):
    """A linebeat-sim that may also serve Modbus RTU on a pseudo-terminal
    (rtu=True) and logs its state changes with the true, unwrapped counts
    (--verbose), so a test knows what it made across 16-bit wraps."""

    def __init__(self, env, name, profile="sim.ini", rtu=False, unit=1, extra=(), **kw):
        extra = list(extra) + ["--verbose"]
        if rtu:
            extra += ["--pty", "--unit", str(unit)]
        super().__init__(env, name, profile, extra=extra, **kw)
        self.rtu = rtu
        self.unit = unit
        self.rtu_path = None

    def start(self, paused=True):
        super().start(paused)
        if self.rtu:
            # Once the TCP port answers, the pty line is already printed.
            def path():
                m = re.findall(r"rtu on (\S+) unit", self.env.logs(self.name))
                return m[-1] if m else None
            self.rtu_path = wait_for("%s pty" % self.name, path, timeout=10)
        return self

    # The harness talks TCP to the simulator as unit 255, which it always
    # answers: the id a client of a directly attached device sends.
    def _read(self, role):
        v = self.profile.value(role)
        if v is None:
            return None
        area, addr, typ, order = v
        mb = lbtest.Modbus(self.port, unit=255)
        try:
            return lbtest.decode(mb.read_holding(addr, lbtest.WORDS[typ]), typ, order)
        finally:
            mb.close()

    def run(self, on=True):
        area, addr, typ, order = self.profile.value("control")
        mb = lbtest.Modbus(self.port, unit=255)
        try:
            mb.write_register(addr, 1 if on else 0)
        finally:
            mb.close()

    def made(self):
        """(good, scrap) made between the last "running" and the "idle"
        after it in the simulator's log: exact whatever the counter width.
        The simulator answers the write that pauses it before it logs."""
        def run():
            text = self.env.logs(self.name)
            marks = re.findall(r"(running|idle)[^(\n]*\(good (\d+), scrap (\d+)\)", text)
            start = end = None
            for state, good, scrap in marks:
                if state == "running":
                    start, end = (int(good), int(scrap)), None
                elif start is not None:
                    end = (int(good), int(scrap))
            if start is None or end is None:
                return None
            return end[0] - start[0], end[1] - start[1]
        return wait_for("a finished run in %s's log" % self.name, run, timeout=5,
                        every=0.05)

    def machine(self, interval_ms=200, extra="", link=None):
        """The agent's [machine] section for this simulator."""
        profile = os.path.splitext(os.path.basename(self.profile_path))[0]
        if link == "rtu" or (link is None and self.rtu):
            where = ("link = rtu\ndevice = %s\nunit = %d\nparity = N\n"
                     % (self.rtu_path, self.unit))
        else:
            where = "host = 127.0.0.1\nport = %d\n" % self.port
        return ("[machine %s]\nprofile = %s\n%sinterval_ms = %d\noffline_after = 3\n%s\n"
                % (self.name, profile, where, interval_ms, extra))


class DeadDevice:
    """A TCP "device" that accepts connections and never answers: the
    worst case for a poller, since every request waits out its timeout.
    Runs in a thread of the test process; connections stay open."""

    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)  # read nothing, answer nothing
            self.accepted += 1

    def close(self):
        self.stopping = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()

    def machine(self, interval_ms=200, extra=""):
        return ("[machine %s]\nprofile = sim\nhost = 127.0.0.1\nport = %d\n"
                "interval_ms = %d\noffline_after = 3\n%s\n"
                % (self.name, self.port, interval_ms, extra))


def write_conf(env, agent_id, sections, **kw):
    """Writes the agent's configuration with these [machine] sections (text,
    as Sim.machine gives them); returns (path, state_dir)."""
    conf, state = env.write_agent_conf(agent_id, [], **kw)
    with open(conf, "a") as f:
        f.write("\n".join(sections))
    return conf, state


def start_agent(env, agent_id, sections, **kw):
    conf, state = write_conf(env, agent_id, sections, **kw)
    p = env.spawn("agent-" + agent_id, [env.bin("linebeat-agent"), "-c", conf, "-f"])
    env.agents[agent_id] = p
    return p, conf, state


def status(state_dir):
    """The agent's status.json, with "machines" as a dict by id, and its
    "time" as seconds since the epoch."""
    with open(os.path.join(state_dir, "status.json")) as f:
        st = json.load(f)
    st["machines"] = {m["dev"]: m for m in st["machines"]}
    t = time.strptime(st["time"][:19], "%Y-%m-%dT%H:%M:%S")
    st["epoch"] = calendar.timegm(t) + int(st["time"][20:23]) / 1000.0
    return st


def next_status(state_dir, after=None, timeout=10):
    """Waits for a status.json written after the given one."""
    def fresh():
        st = status(state_dir)
        return st if after is None or st["epoch"] > after["epoch"] else None
    return wait_for("a new status.json", fresh, timeout=timeout, every=0.1)


def profiles_dir():
    return os.path.join(SRC, "devices", "profiles")


__all__ = ["Sim", "DeadDevice", "write_conf", "start_agent", "status", "next_status",
           "log", "wait_for", "profiles_dir"]
