#!/usr/bin/env python3
"""A second agent started on the same state directory (by hand, beside the
service) is refused with a clear message: it must neither take the first
one's locked spool for damage and move it aside, nor count the same
machines again.  Before the directory lock it did both."""
import glob
import os
import time

import lbtest
from lbtest import log


def test_second_agent(env):
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "two-1", "sim.ini", cycle_ms=50).start()]
    first = env.start_agent("cell-2", sims, interval_ms=200)
    lbtest.wait_listed(env, ["two-1"])
    start = {s.name: s.counters() for s in sims}
    sims[0].run(True)
    conf = os.path.join(env.dir, "cell-2.ini")
    state = os.path.join(env.dir, "state-cell-2")
    assert os.path.exists(conf) and os.path.isdir(state), (conf, state)
    second = env.spawn("agent-second", env.agent_cmd() + ["-c", conf, "-f"])
    rc = second.wait(15)
    out = env.logs("agent-second")
    log("second agent exit %d: %s" % (rc, out.strip().splitlines()[-1:]))
    assert rc != 0, out
    assert "in use by another linebeat-agent" in out, out
    assert not glob.glob(os.path.join(state, "*damaged*")), os.listdir(state)
    assert first.poll() is None, "the first agent stopped"
    time.sleep(2)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)


if __name__ == "__main__":
    lbtest.main(test_second_agent)
