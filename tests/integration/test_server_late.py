#!/usr/bin/env python3
"""The server starts after the agent: it must still learn the agent's
machines and their ideal cycle times (from the retained birth), not only
their counts, and count exactly.  CI once saw a server subscribe 10 ms after
the agent's birth; every target and performance figure was then zero."""
import time

import lbtest
from lbtest import log


def test_server_late(env):
    env.start_broker()
    sims = [lbtest.Sim(env, "late-1", "sim.ini", cycle_ms=50).start()]
    env.start_agent("cell-l", sims, interval_ms=200, machine_extra="ideal_cycle_ms = 50\n")
    time.sleep(1.5)  # the agent is connected and its birth is out
    env.start_server()
    lbtest.wait_listed(env, ["late-1"])
    m = env.api("/api/v1/machines/late-1")
    log("machine", m)
    assert m["ideal_cycle_ms_agent"] == 50 and m["profile"] == "sim", m
    start = {s.name: s.counters() for s in sims}
    sims[0].run(True)
    time.sleep(2)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)


if __name__ == "__main__":
    lbtest.main(test_server_late)
