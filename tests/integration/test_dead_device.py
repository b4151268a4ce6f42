#!/usr/bin/env python3
"""A device that accepts connections and never answers sits next to two
simulators.  Each TCP device has its own worker, so the dead one's
time-outs (and its back-off) must not stretch the others' polling: over a
window of several seconds, each live machine is read as often as its poll
interval says, less at most one interval.  The dead device is reported
offline, and the live ones still count exactly.
"""
import time

import lbtest
from lbmodbus import DeadDevice, Sim, log, next_status, start_agent, status, wait_for

INTERVAL_MS = 200


def test_dead_device(env):
    env.start_broker()
    env.start_server()
    dead = DeadDevice("dead-1")
    try:
        sims = [Sim(env, "live-1", "sim.ini", cycle_ms=50).start(),
                Sim(env, "live-2", "sim16.ini", cycle_ms=70).start()]
        sections = [s.machine(INTERVAL_MS, "timeout_ms = 500\n") for s in sims]
        sections.insert(1, dead.machine(INTERVAL_MS, "timeout_ms = 500\n"))
        _, _, state = start_agent(env, "cell-dead", sections)
        lbtest.wait_listed(env, [s.name for s in sims])
        start = {s.name: s.counters() for s in sims}
        for s in sims:
            s.run(True)
        wait_for("dead-1 offline",
                 lambda: status(state)["machines"]["dead-1"]["link"] == "offline")

        first = next_status(state)
        time.sleep(8)
        last = next_status(state, after=first)
        window = last["epoch"] - first["epoch"]
        ideal = window * 1000.0 / INTERVAL_MS
        for s in sims:
            reads = (last["machines"][s.name]["reads"] -
                     first["machines"][s.name]["reads"])
            log("%s: %d reads in %.2f s (%.1f at the poll interval)"
                % (s.name, reads, window, ideal))
            assert reads >= ideal - 2, "%s polled %d times, expected %.1f" % (
                s.name, reads, ideal)
        d = last["machines"]["dead-1"]
        log("dead-1:", d, "connections accepted:", dead.accepted)
        assert d["reads"] == 0 and d["errors"] >= 3, d

        for s in sims:
            s.run(False)
        lbtest.assert_exact(env, sims, start)
        wait_for("dead-1 offline on the server",
                 lambda: env.machines().get("dead-1", {}).get("state") == "offline")
    finally:
        dead.close()


if __name__ == "__main__":
    lbtest.main(test_dead_device)
