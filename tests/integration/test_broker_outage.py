#!/usr/bin/env python3
"""Store-and-forward: the broker stopped for 60 s while machines produce.

After the broker is back and the backlog has drained, the server's totals
equal the simulators' counters exactly.
"""
import os
import time

import lbtest
from lbtest import log

OUTAGE_S = float(os.environ.get("LB_OUTAGE_S", "60"))


def test_broker_outage(env):
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "m-%d" % i, "sim.ini", cycle_ms=40 + 10 * i).start()
            for i in range(3)]
    env.start_agent("cell-out", sims)
    lbtest.wait_listed(env, [s.name for s in sims])
    start = {s.name: s.counters() for s in sims}
    for s in sims:
        s.run(True)
    time.sleep(2)
    log("stopping the broker for %.0f s" % OUTAGE_S)
    env.stop_broker()
    time.sleep(OUTAGE_S)
    log("starting the broker again")
    env.start_broker()
    time.sleep(3)
    for s in sims:
        s.run(False)
    lbtest.assert_exact(env, sims, start, timeout=90)


if __name__ == "__main__":
    lbtest.main(test_broker_outage)
