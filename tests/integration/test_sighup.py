#!/usr/bin/env python3
"""SIGHUP reloads the configuration and keeps counter baselines; an invalid
configuration is refused and the running one goes on; SIGTERM flushes and
exits.

Two simulators make parts all along.  A valid reload changes one machine's
poll interval and adds a third machine; an invalid one follows.  Parts made
across both reloads are counted exactly, and so are the new machine's.
"""
import signal
import time

import lbtest
from lbmodbus import Sim, log, start_agent, wait_for, write_conf


def test_sighup(env):
    env.start_broker()
    env.start_server()
    a = Sim(env, "hup-a", "sim.ini", cycle_ms=40).start()
    b = Sim(env, "hup-b", "sim16.ini", cycle_ms=60).start()
    c = Sim(env, "hup-c", "sim.ini", cycle_ms=50).start()
    agent, conf, _ = start_agent(env, "cell-hup", [a.machine(200), b.machine(200)])
    lbtest.wait_listed(env, [a.name, b.name])
    start = {s.name: s.counters() for s in (a, b)}
    a.run(True)
    b.run(True)
    time.sleep(2)

    # A valid change: another interval for hup-a, a new machine hup-c.
    write_conf(env, "cell-hup", [a.machine(300), b.machine(200), c.machine(200)])
    agent.send_signal(signal.SIGHUP)
    wait_for("the reload", lambda: "reloaded %s: 3 machines" % conf
             in env.logs("agent-cell-hup"))
    lbtest.wait_listed(env, [c.name])
    start[c.name] = c.counters()
    c.run(True)
    time.sleep(2)

    # An invalid one: refused, the running configuration goes on.
    with open(conf, "a") as f:
        f.write("\n[machine hup-bad]\nprofile = no-such-profile\nhost = 127.0.0.1\n"
                "good.adress = 3\n")
    agent.send_signal(signal.SIGHUP)
    wait_for("the refusal", lambda: "is not valid, keeping the running configuration"
             in env.logs("agent-cell-hup"))
    text = env.logs("agent-cell-hup")
    assert "no profile 'no-such-profile'" in text and "good.adress" in text, text
    assert agent.poll() is None, "the agent died on an invalid reload"
    time.sleep(2)

    sims = [a, b, c]
    for s in sims:
        s.run(False)
    lbtest.assert_exact(env, sims, start)
    assert "counter_reset" not in env.logs("agent-cell-hup")

    # SIGTERM: commits what is pending and exits cleanly.
    t0 = time.monotonic()
    agent.send_signal(signal.SIGTERM)
    rc = agent.wait(15)
    log("agent exited with", rc, "after %.2f s" % (time.monotonic() - t0))
    assert rc == 0
    text = env.logs("agent-cell-hup")
    assert "stopping: committing" in text and "stopped" in text, text


if __name__ == "__main__":
    lbtest.main(test_sighup)
