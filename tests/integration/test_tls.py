#!/usr/bin/env python3
"""Security: TLS, per-agent credentials and the packaged ACL.

A CA, a broker certificate for 127.0.0.1/localhost and client certificates
are made with the openssl command in the test's folder; Mosquitto runs with
packaging/mosquitto/linebeat.conf and linebeat.acl (ports and paths adapted,
client certificates required).  Then:
- a good agent counts exactly through TLS (url mqtts://, server ssl://);
- an agent with a wrong password is refused, says so in its log, and the
  server never hears of it;
- an agent that does not trust the broker's CA refuses the broker;
- an agent whose password file others may read refuses to start, naming it;
- with agent A's credentials, nothing published on agent B's topics reaches
  the server, and A cannot read other agents' events.
"""
import json
import os
import pwd
import subprocess
import time

import lbtest
from lbtest import log, wait_for

SITE = "test"


def sh(args, **kw):
    r = subprocess.run(args, capture_output=True, timeout=60, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return key, crt


def make_cert(d, ca, name, server=False):
    """A certificate for name signed by ca (key, crt); the broker's holds
    127.0.0.1 and localhost."""
    key, csr, crt = (os.path.join(d, name + x) for x in (".key", ".csr", ".crt"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if server:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    sh(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=" + name])
    sh(["openssl", "x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
        "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
    os.chmod(key, 0o600)
    return key, crt


def secret(d, name, text, mode=0o600):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


def start_tls_broker(env, d, ca, broker):
    """Mosquitto with the packaged config, adapted: a free port, the test's
    files, client certificates required, no persistence."""
    port = lbtest.free_port()
    with open(os.path.join(lbtest.SRC, "packaging", "mosquitto", "linebeat.conf")) as f:
        conf = f.read()
    subst = {"/etc/mosquitto/linebeat.passwd": os.path.join(d, "passwd"),
             "/etc/mosquitto/linebeat.acl": os.path.join(lbtest.SRC, "packaging",
                                                         "mosquitto", "linebeat.acl"),
             "/etc/mosquitto/certs/broker.crt": broker[1],
             "/etc/mosquitto/certs/broker.key": broker[0],
             "/etc/mosquitto/ca_certificates/linebeat-ca.crt": ca[1],
             "listener 8883": "listener %d 127.0.0.1" % port,
             "require_certificate false": "require_certificate true"}
    for k, v in subst.items():
        assert k in conf, "packaged linebeat.conf lacks %r" % k
        conf = conf.replace(k, v)
    # Run as root, Mosquitto would switch to the user "mosquitto", which
    # cannot read the test's private folder; stay who we are.
    conf += ("\npersistence false\nmax_queued_messages 0\nuser %s\n"
             % pwd.getpwuid(os.getuid()).pw_name)
    path = os.path.join(env.dir, "mosquitto-tls.conf")
    with open(path, "w") as f:
        f.write(conf)
    env.broker_port = port
    env.broker = env.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", path])
    lbtest.wait_port(port, proc=env.broker)
    return port


def agent_tls(ca, cert, password_file, extra=""):
    return ("ca_file = %s\ncert_file = %s\nkey_file = %s\npassword_file = %s\n%s"
            % (ca[1], cert[1], cert[0], password_file, extra))


def pub(env, ca, cert, user, pw, topic, payload):
    """mosquitto_pub over TLS as user; returns its exit status."""
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker_port),
                        "--cafile", ca[1], "--cert", cert[1], "--key", cert[0],
                        "-u", user, "-P", pw, "-q", "1", "-t", topic, "-m", payload],
                       capture_output=True, timeout=30)
    log("mosquitto_pub as %s on %s: rc %d %s" % (user, topic, r.returncode,
                                                 r.stderr.decode(errors="replace").strip()))
    return r.returncode


def test_tls(env):
    d = os.path.join(env.dir, "pki")
    os.makedirs(d)
    ca = make_ca(d, "linebeat-test-ca")
    rogue = make_ca(d, "rogue-ca")
    broker = make_cert(d, ca, "broker", server=True)
    certs = {n: make_cert(d, ca, n) for n in ("cell-a", "cell-x", "linebeat-server")}
    pws = {"cell-a": "a-secret-1", "cell-b": "b-secret-2", "cell-x": "x-secret-3",
           "linebeat-server": "server-secret-4"}
    pwfile = os.path.join(d, "passwd")
    open(pwfile, "w").close()
    for user, pw in pws.items():
        sh(["mosquitto_passwd", "-b", pwfile, user, pw])
    port = start_tls_broker(env, d, ca, broker)

    env.start_server(mqtt="url = ssl://127.0.0.1:%d\nca_file = %s\ncert_file = %s\n"
                          "key_file = %s\nusername = linebeat-server\npassword_file = %s\n"
                     % (port, ca[1], certs["linebeat-server"][1],
                        certs["linebeat-server"][0],
                        secret(d, "server.pw", pws["linebeat-server"])))
    wait_for("the server connected over TLS",
             lambda: "connected to ssl://" in env.logs("server"), timeout=20)

    # 1. A good agent counts exactly, over mqtts:// with the name the
    # broker's certificate holds.
    sims = [lbtest.Sim(env, "tls-1", "sim.ini", cycle_ms=50).start()]
    env.start_agent("cell-a", sims, url="mqtts://localhost:%d" % port,
                    mqtt=agent_tls(ca, certs["cell-a"], secret(d, "a.pw", pws["cell-a"])))
    lbtest.wait_listed(env, ["tls-1"])
    start = {s.name: s.counters() for s in sims}
    sims[0].run(True)
    time.sleep(3)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)

    # 2. A wrong password: refused by the broker, logged by the agent.
    sim_x = lbtest.Sim(env, "tls-x", "sim.ini", cycle_ms=50).start(paused=False)
    env.start_agent("cell-x", [sim_x], url="ssl://127.0.0.1:%d" % port,
                    mqtt=agent_tls(ca, certs["cell-x"], secret(d, "x.pw", "not-the-password")))
    # 3. A broker certificate from a CA the agent does not trust.
    sim_r = lbtest.Sim(env, "tls-r", "sim.ini", cycle_ms=50).start(paused=False)
    env.start_agent("cell-r", [sim_r], url="ssl://127.0.0.1:%d" % port,
                    mqtt=agent_tls(rogue, certs["cell-x"], secret(d, "r.pw", pws["cell-x"])))
    wait_for("cell-x to log the refusal",
             lambda: "bad user name or password" in env.logs("agent-cell-x")
             or "not authorized" in env.logs("agent-cell-x"), timeout=20)
    wait_for("cell-r to log the failed verification",
             lambda: "certificate verify failed" in env.logs("agent-cell-r"), timeout=20)
    time.sleep(3)  # a few more attempts
    for a in ("cell-x", "cell-r"):
        assert env.agents[a].poll() is None, "%s exited" % a
    agents = {a["id"] for a in env.api("/api/v1/agents")}
    machines = env.machines()
    log("agents", sorted(agents), "machines", sorted(machines))
    assert "cell-x" not in agents and "cell-r" not in agents, agents
    assert "tls-x" not in machines and "tls-r" not in machines, machines

    # 4. A password file others may read: the agent refuses to start.
    conf, _ = env.write_agent_conf("cell-p", sims, url="ssl://127.0.0.1:%d" % port,
                                   mqtt=agent_tls(ca, certs["cell-x"],
                                                  secret(d, "p.pw", "whatever", 0o644)))
    r = subprocess.run([env.bin("linebeat-agent"), "-c", conf, "-f"], capture_output=True,
                       timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    log("agent with a 0644 password file: exit %d: %s" % (r.returncode, out.strip()))
    assert r.returncode == 1 and os.path.join(d, "p.pw") in out and "chmod 600" in out, out

    # 5. Agent A's credentials on agent B's topics: the broker drops it.
    intruder = {"v": 1, "agent": "cell-b", "boot": "0123456789abcdef", "clock": "synced",
                "sent": int(time.time() * 1000), "prev": 0,
                "events": [{"seq": 1, "t": int(time.time() * 1000), "age": 0,
                            "dev": "intruder-1", "type": "count", "good": 1000,
                            "scrap": 0, "span": 1000}]}
    birth_b = {"v": 1, "agent": "cell-b", "boot": "0123456789abcdef", "version": "0",
               "devices": [{"dev": "intruder-2", "profile": "", "ideal_cycle_ms": 0}]}
    pub(env, ca, certs["cell-a"], "cell-a", pws["cell-a"],
        "linebeat/v1/%s/cell-b/events" % SITE, json.dumps(intruder))
    pub(env, ca, certs["cell-a"], "cell-a", pws["cell-a"],
        "linebeat/v1/%s/cell-b/birth" % SITE, json.dumps(birth_b))
    # Nor may A confirm its own events by writing its ack.
    pub(env, ca, certs["cell-a"], "cell-a", pws["cell-a"],
        "linebeat/v1/%s/cell-a/ack" % SITE, json.dumps({"v": 1, "agent": "cell-a",
                                                         "seq": 10 ** 15}))
    # A control through the same path that the ACL allows: A's own birth.
    birth_a = dict(birth_b, agent="cell-a",
                   devices=[{"dev": "tls-1", "profile": "sim", "ideal_cycle_ms": 0},
                            {"dev": "control-a", "profile": "", "ideal_cycle_ms": 0}])
    assert pub(env, ca, certs["cell-a"], "cell-a", pws["cell-a"],
               "linebeat/v1/%s/cell-a/birth" % SITE, json.dumps(birth_a)) == 0
    wait_for("the control message to reach the server",
             lambda: "control-a" in env.machines(), timeout=20)
    time.sleep(1)
    machines = env.machines()
    agents = {a["id"]: a for a in env.api("/api/v1/agents")}
    assert "intruder-1" not in machines and "intruder-2" not in machines, machines
    assert "cell-b" not in agents, agents
    # Reading: A subscribed to every agent's events hears nothing, not even
    # its own, while it publishes.
    sims[0].run(True)
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port),
                        "--cafile", ca[1], "--cert", certs["cell-a"][1],
                        "--key", certs["cell-a"][0], "-u", "cell-a", "-P", pws["cell-a"],
                        "-t", "linebeat/v1/+/+/events", "-C", "1", "-W", "4"],
                       capture_output=True, timeout=30)
    sims[0].run(False)
    log("mosquitto_sub as cell-a on every agent's events: rc %d, %d bytes"
        % (r.returncode, len(r.stdout)))
    assert r.stdout == b"", r.stdout[:200]
    # The agent's own spool was not confirmed by its forged ack: its totals
    # still arrive exactly.
    lbtest.assert_exact(env, sims, start)
    assert "cell-a" in agents and agents["cell-a"]["hw"] < 10 ** 15, agents["cell-a"]


if __name__ == "__main__":
    lbtest.main(test_tls)
