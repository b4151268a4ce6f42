"""Shared harness for linebeat's integration tests.

Starts real processes (Mosquitto, linebeat-sim, linebeat-agent,
linebeat-server) on loopback ports chosen free at run time, talks Modbus TCP
to the simulators directly to know what they counted, and stops everything
it started by PID, also when a test fails.  Python standard library only.
"""
import configparser
import http.client
import json
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(*a):
    print("[%s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d"
                               % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %.0f s" % (port, timeout))


def wait_for(what, fn, timeout=30.0, every=0.2):
    """Calls fn until it returns a true value; returns it or raises."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the service may not be up yet
            last = e
        time.sleep(every)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                         % (timeout, what, last))


class Modbus:
    """A minimal Modbus TCP client: read holding registers, write one."""

    def __init__(self, port, unit=1):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.unit = unit
        self.tid = 0

    def close(self):
        self.sock.close()

    def _call(self, pdu):
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHB", self.tid, 0, len(pdu) + 1, self.unit) + pdu)
        head = self._recv(7)
        tid, _, length, _ = struct.unpack(">HHHB", head)
        body = self._recv(length - 1)
        if tid != self.tid:
            raise IOError("transaction id mismatch")
        if body[0] & 0x80:
            raise IOError("modbus exception %d" % body[1])
        return body

    def _recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise IOError("connection closed")
            data += chunk
        return data

    def read_holding(self, addr, count):
        body = self._call(struct.pack(">BHH", 3, addr, count))
        return list(struct.unpack(">%dH" % count, body[2:2 + 2 * count]))

    def write_register(self, addr, value):
        self._call(struct.pack(">BHH", 6, addr, value))


WORDS = {"u16": 1, "i16": 1, "u32": 2, "i32": 2, "float32": 2, "u64": 4}


def decode(regs, typ, order):
    """Registers to an unsigned integer, for the counter types."""
    order = order.upper()
    words = list(regs)
    if order in ("DCBA", "BADC"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    if order in ("CDAB", "DCBA") and len(words) > 1:
        words = list(reversed(words))
    v = 0
    for w in words:
        v = (v << 16) | w
    return v


class Profile:
    def __init__(self, path):
        cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
        cp.read(path)
        self.cp = cp

    def value(self, role):
        if not self.cp.has_section(role):
            return None
        s = self.cp[role]
        return (s.get("area", "holding"), int(s.get("address")), s.get("type", "u16"),
                s.get("order", "ABCD"))


class Sim:
    """A linebeat-sim process and a Modbus view of its counters."""

    def __init__(self, env, name, profile="sim.ini", cycle_ms=100, scrap_ratio=0.1,
                 extra=(), port=None):
        self.env = env
        self.name = name
        self.port = port or free_port()
        self.profile_path = os.path.join(SRC, "devices", "profiles", profile)
        self.profile = Profile(self.profile_path)
        self.args = [env.bin("linebeat-sim"), "--port", str(self.port), "--profile",
                     self.profile_path, "--cycle-ms", str(cycle_ms), "--scrap-ratio",
                     str(scrap_ratio), "--seed", str(abs(hash(name)) % 100000)] + list(extra)
        self.proc = None

    def start(self, paused=True):
        args = self.args + (["--paused"] if paused else [])
        self.proc = self.env.spawn(self.name, args)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self, sig=signal.SIGTERM):
        self.env.stop(self.proc, sig)

    def _read(self, role):
        v = self.profile.value(role)
        if v is None:
            return None
        area, addr, typ, order = v
        mb = Modbus(self.port)
        try:
            return decode(mb.read_holding(addr, WORDS[typ]), typ, order)
        finally:
            mb.close()

    def counters(self):
        return {"good": self._read("good"), "scrap": self._read("scrap"),
                "total": self._read("total")}

    def run(self, on=True):
        area, addr, typ, order = self.profile.value("control")
        mb = Modbus(self.port)
        try:
            mb.write_register(addr, 1 if on else 0)
        finally:
            mb.close()


class Env:
    """One test's processes and temporary folder."""

    def __init__(self, name):
        self.build = os.environ.get("LB_BUILD_DIR", os.path.join(SRC, "build"))
        self.dir = tempfile.mkdtemp(prefix="lb-%s-" % name)
        self.procs = []
        self.broker_port = None
        self.broker = None
        self.http_port = None
        self.server = None
        self.server_extra = ""
        self.server_mqtt = None  # the [mqtt] section's body; None: plain tcp
        self.users = {}      # name -> password of the web users made so far
        self.session = None  # the admin's lb_session cookie value
        self.csrf = None
        self.agents = {}
        log("workdir", self.dir)

    def bin(self, name):
        for sub in ("agent", "server", "devices/sim", ""):
            p = os.path.join(self.build, sub, name)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(name + " not built in " + self.build)

    def agent_cmd(self):
        """The agent's command: LB_AGENT_WRAPPER (an emulator, such as
        "qemu-arm-static -L SYSROOT") before the binary, which comes from
        LB_AGENT_BUILD_DIR when set, so that a cross-built agent runs against
        the host's simulators, server and broker (scripts/cross.sh --e2e)."""
        wrapper = shlex.split(os.environ.get("LB_AGENT_WRAPPER", ""))
        build = os.environ.get("LB_AGENT_BUILD_DIR")
        if build:
            return wrapper + [os.path.join(build, "agent", "linebeat-agent")]
        return wrapper + [self.bin("linebeat-agent")]

    def spawn(self, name, args, **kw):
        out = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, **kw)
        p.lb_name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def close(self):
        for p in reversed(self.procs):
            self.stop(p)

    def logs(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- Mosquitto -------------------------------------------------------
    def start_broker(self, extra=""):
        if self.broker_port is None:
            self.broker_port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\nmax_queued_messages 0\n%s\n"
                    % (self.broker_port, extra))
        self.broker = self.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", conf])
        wait_port(self.broker_port, proc=self.broker)
        return self.broker_port

    def stop_broker(self):
        self.stop(self.broker)
        self.broker = None

    # --- linebeat-server -------------------------------------------------
    def server_conf(self):
        return os.path.join(self.dir, "server.ini")

    def start_server(self, extra=None, mqtt=None, plant=None):
        """Starts linebeat-server; extra adds lines to its [server] section,
        mqtt replaces the body of its [mqtt] section (TLS tests), plant is
        the body of a [plant] section (time zone, thresholds).
        The first start also adds the web user "admin" (role admin) that
        api() logs in as."""
        if self.http_port is None:
            self.http_port = free_port()
        if extra is not None:
            self.server_extra = extra
        if mqtt is not None:
            self.server_mqtt = mqtt
        if plant is not None:
            self.server_plant = plant
        conf = self.server_conf()
        with open(conf, "w") as f:
            f.write("[server]\ndb = %s\nhttp_bind = 127.0.0.1\nhttp_port = %d\n%s\n"
                    "[mqtt]\n%s\n"
                    % (os.path.join(self.dir, "linebeat.db"), self.http_port,
                       self.server_extra,
                       self.server_mqtt or
                       "url = tcp://127.0.0.1:%d" % (self.broker_port or 1)))
            if getattr(self, "server_plant", None):
                f.write("[plant]\n%s\n" % self.server_plant)
        if "admin" not in self.users:
            self.add_user("admin", "admin", "admin-password-1")
        self.server = self.spawn("server", [self.bin("linebeat-server"), "-c", conf, "-f"])
        wait_port(self.http_port, proc=self.server)
        return self.server

    def add_user(self, name, role, password):
        """Adds a web user through `linebeat-server --add-user` (password on
        standard input)."""
        if self.http_port is None:
            self.http_port = free_port()
        if not os.path.exists(self.server_conf()):
            with open(self.server_conf(), "w") as f:
                f.write("[server]\ndb = %s\n" % os.path.join(self.dir, "linebeat.db"))
        r = subprocess.run([self.bin("linebeat-server"), "-c", self.server_conf(),
                            "--add-user", name, "--role", role],
                           input=(password + "\n").encode(), capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("--add-user %s: %s" % (name, r.stderr.decode()))
        self.users[name] = password

    def http(self, path, method="GET", body=None, headers=None, cookie=None):
        """One request; returns (status, headers, body bytes) whatever the
        status, without following redirects.  body: bytes, str, or a dict
        or list sent as JSON.  cookie: a Cookie header value."""
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if cookie:
            h["Cookie"] = cookie
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def login(self, user="admin", password=None):
        """Logs user in through the API; returns (cookie value, csrf)."""
        pw = password if password is not None else self.users[user]
        st, hd, body = self.http("/api/v1/login", "POST", {"user": user, "password": pw})
        if st != 200:
            raise AssertionError("login %s: %d %s" % (user, st, body[:200]))
        cookie = None
        for v in hd.get_all("Set-Cookie") or []:
            if v.startswith("lb_session="):
                cookie = v.split(";", 1)[0].split("=", 1)[1]
        return cookie, json.loads(body)["csrf"]

    def stop_server(self, sig=signal.SIGTERM):
        self.stop(self.server, sig)
        self.server = None

    def api(self, path, method="GET", body=None):
        """The API's JSON answer to path as the admin (logged in on first
        use); raises urllib.error.HTTPError on a 4xx/5xx like urlopen."""
        for attempt in (0, 1):
            if self.session is None:
                self.session, self.csrf = self.login("admin")
            h = {"X-CSRF-Token": self.csrf} if method != "GET" else {}
            st, hd, data = self.http(path, method, body, h,
                                     cookie="lb_session=" + self.session)
            if st == 401 and attempt == 0:
                self.session = None
                continue
            if st >= 400:
                raise urllib.error.HTTPError(path, st, data.decode(errors="replace"), hd,
                                             None)
            return json.loads(data.decode()) if data else None

    def machines(self):
        return {m["id"]: m for m in self.api("/api/v1/machines")}

    def counts(self, dev):
        return self.api("/api/v1/machines/%s/counts?from=2000-01-01T00:00:00Z"
                        "&to=2100-01-01T00:00:00Z" % dev)

    # --- linebeat-agent --------------------------------------------------
    def write_agent_conf(self, agent_id, sims, extra_agent="", spool="", machine_extra="",
                         interval_ms=200, commit_ms=500, url=None, mqtt=""):
        state = os.path.join(self.dir, "state-" + agent_id)
        conf = os.path.join(self.dir, agent_id + ".ini")
        with open(conf, "w") as f:
            # run_dir empty: status.json beside the spool, not in a
            # /run/linebeat-agent that every test agent would share.
            if "run_dir" not in extra_agent:
                extra_agent = "run_dir =\n" + extra_agent
            f.write("[agent]\nid = %s\nsite = test\nstate_dir = %s\nprofiles_dir = %s\n%s\n"
                    % (agent_id, state, os.path.join(SRC, "devices", "profiles"),
                       extra_agent))
            f.write("[mqtt]\nurl = %s\nack_timeout_ms = 3000\n"
                    "reconnect_max_ms = 2000\n%s\n"
                    % (url or "tcp://127.0.0.1:%d" % self.broker_port, mqtt))
            f.write("[spool]\ncommit_ms = %d\n%s\n" % (commit_ms, spool))
            for s in sims:
                f.write("[machine %s]\nprofile = %s\nhost = 127.0.0.1\nport = %d\n"
                        "interval_ms = %d\ntimeout_ms = 500\noffline_after = 3\n%s\n"
                        % (s.name, os.path.splitext(os.path.basename(s.profile_path))[0],
                           s.port, interval_ms, machine_extra))
        return conf, state

    def start_agent(self, agent_id, sims, **kw):
        conf, state = self.write_agent_conf(agent_id, sims, **kw)
        p = self.spawn("agent-" + agent_id, self.agent_cmd() + ["-c", conf, "-f"])
        self.agents[agent_id] = p
        return p


def main(test):
    """Runs test(env) and exits 0 on success, 1 on failure, with logs."""
    env = Env(test.__name__)
    ok = False
    try:
        test(env)
        ok = True
    except Exception:
        import traceback
        traceback.print_exc()
    finally:
        env.close()
    if not ok:
        for name in sorted(os.listdir(env.dir)):
            if name.endswith(".log"):
                print("----- %s (last 40 lines)" % name)
                print("\n".join(env.logs(name[:-4]).splitlines()[-40:]))
    print("%s: %s" % (test.__name__, "PASS" if ok else "FAIL"), flush=True)
    sys.exit(0 if ok else 1)


def assert_exact(env, sims, start, timeout=60):
    """Waits until the server's counts for each simulator equal what the
    simulator made since start (a dict name -> counters), exactly."""
    for s in sims:
        end = s.counters()
        want = {"good": end["good"] - start[s.name]["good"],
                "scrap": end["scrap"] - start[s.name]["scrap"]}
        got = wait_for("%s counts %s" % (s.name, want),
                       lambda: env.counts(s.name) == want and env.counts(s.name),
                       timeout=timeout)
        log(s.name, "server", got, "simulator", want)


def wait_listed(env, names, timeout=30):
    """Waits until the server has a state for each machine: the agent's
    first commit (which also makes its counter baselines durable) has
    reached the server.  Birth messages alone list machines earlier."""
    def ready():
        ms = env.machines()
        return all(n in ms and ms[n].get("state") not in (None, "unknown", "offline")
                   for n in names)
    wait_for("machines %s with a state" % sorted(names), ready, timeout=timeout)


class Capture:
    """mosquitto_sub writing every message on a topic filter to a file."""

    def __init__(self, env, topic, name="capture"):
        self.path = os.path.join(env.dir, name + ".txt")
        self.proc = env.spawn(name, ["mosquitto_sub", "-h", "127.0.0.1", "-p",
                                     str(env.broker_port), "-q", "1", "-v", "-t", topic,
                                     "-F", "%t\t%p"],
                              )
        # mosquitto_sub logs to our .log file; its output is what we want.
        self.out = os.path.join(env.dir, name + ".log")

    def lines(self):
        with open(self.out, errors="replace") as f:
            return [l.rstrip("\n") for l in f if "\t" in l]
