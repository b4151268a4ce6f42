#!/usr/bin/env python3
"""Store-and-forward: the agent killed with SIGKILL twenty times at random
moments while the machines produce.  Totals stay exact: the machine counter
and the durable last reading make up for whatever the agent lost."""
import random
import signal
import time

import lbtest
from lbtest import log


def test_agent_kill9(env):
    rnd = random.Random(20261129)
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "k-%d" % i, prof, cycle_ms=30 + 20 * i).start()
            for i, prof in enumerate(["sim.ini", "sim16.ini"])]
    agent = env.start_agent("cell-k", sims)
    lbtest.wait_listed(env, [s.name for s in sims])
    start = {s.name: s.counters() for s in sims}
    for s in sims:
        s.run(True)
    for i in range(20):
        time.sleep(rnd.uniform(0.2, 2.5))
        env.stop(agent, signal.SIGKILL)
        log("kill -9 #%d" % (i + 1))
        time.sleep(rnd.uniform(0.0, 0.5))
        agent = env.start_agent("cell-k", sims)
    time.sleep(2)
    for s in sims:
        s.run(False)
    lbtest.assert_exact(env, sims, start, timeout=60)
    dups = env.api("/api/v1/agents")
    log("agents", dups)


if __name__ == "__main__":
    lbtest.main(test_agent_kill9)
