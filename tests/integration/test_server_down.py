#!/usr/bin/env python3
"""Store-and-forward: the server down for 2 minutes while the broker stays up
with a small queue for the server's session, so the broker drops messages.
After the server is back, the agent sends again what was never confirmed
and the totals are exact."""
import os
import time

import lbtest
from lbtest import log

DOWN_S = float(os.environ.get("LB_SERVER_DOWN_S", "120"))


def test_server_down(env):
    # A tiny queue: the broker keeps 5 messages for the absent server and
    # drops the rest, while the agent gets every PUBACK.
    env.start_broker(extra="max_queued_messages 5")
    env.start_server()
    sims = [lbtest.Sim(env, "s-%d" % i, "sim.ini", cycle_ms=50).start() for i in range(2)]
    env.start_agent("cell-s", sims, spool="", extra_agent="")
    lbtest.wait_listed(env, [s.name for s in sims])
    start = {s.name: s.counters() for s in sims}
    for s in sims:
        s.run(True)
    time.sleep(2)
    log("stopping the server for %.0f s" % DOWN_S)
    env.stop_server()
    time.sleep(DOWN_S)
    for s in sims:
        s.run(False)
    log("starting the server again")
    env.start_server()
    lbtest.assert_exact(env, sims, start, timeout=90)
    log("agent log mentions resend:",
        "sending again" in env.logs("agent-cell-s"))


if __name__ == "__main__":
    lbtest.main(test_server_down)
