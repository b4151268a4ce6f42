#!/usr/bin/env python3
"""Foundation: parts travel from simulated machines to the server's API.

A real Mosquitto, two simulators (32-bit and 16-bit counters), one agent and
the server.  The simulators start paused, so the agent's baseline is exact;
they make parts for a few seconds and are paused again; then the server must
report exactly the good and scrap parts each simulator counted, as read from
its registers.
"""
import time

import lbtest
from lbtest import log, wait_for


def test_e2e_basic(env):
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=50, scrap_ratio=0.1).start(),
            lbtest.Sim(env, "press-2", "sim16.ini", cycle_ms=80, scrap_ratio=0.2).start()]
    env.start_agent("cell-1", sims)

    # The board lists both machines once the agent has read them.
    lbtest.wait_listed(env, ["press-1", "press-2"])
    start = {s.name: s.counters() for s in sims}
    log("counters at start", start)

    for s in sims:
        s.run(True)
    time.sleep(4)
    for s in sims:
        s.run(False)
    end = {s.name: s.counters() for s in sims}
    log("counters at end", end)

    for s in sims:
        made_good = end[s.name]["good"] - start[s.name]["good"]
        made_scrap = end[s.name]["scrap"] - start[s.name]["scrap"]
        assert made_good > 20, "%s made only %d parts" % (s.name, made_good)
        want = {"good": made_good, "scrap": made_scrap}
        got = wait_for("%s counts %s" % (s.name, want),
                       lambda: env.counts(s.name) == want and env.counts(s.name),
                       timeout=30)
        log(s.name, "server counts", got, "simulator made", want)
        # The board's "today" equals the interval count unless this test
        # straddles the plant's midnight; its figures may be a second old
        # (board.c), so they get a moment to catch up.
        if time.localtime().tm_hour != 0 or time.localtime().tm_min > 1:
            m = wait_for("%s board counts %s" % (s.name, want),
                         lambda: (env.machines()[s.name]["good"],
                                  env.machines()[s.name]["scrap"]) ==
                         (want["good"], want["scrap"]) and env.machines()[s.name],
                         timeout=10)
        m = env.machines()[s.name]
        assert m["agent"] == "cell-1", m
        assert m["state"] in ("idle", "running", "down"), m
        assert m["last_seen"], m


if __name__ == "__main__":
    lbtest.main(test_e2e_basic)
