#!/usr/bin/env python3
"""Modbus RTU for real: simulators serve RTU on pseudo-terminals and the
agent reads them with link = rtu, next to a TCP machine.

Bus A carries the simulator (unit 1) and a unit nobody answers (unit 2):
the dead unit goes offline and its time-outs do not cost its neighbour a
single part.  Bus B carries a 16-bit simulator with another unit id.  The
server's counts must equal what each simulator made, exactly.
"""
import time

import lbtest
from lbmodbus import Sim, log, start_agent, status, wait_for


def test_rtu(env):
    env.start_broker()
    env.start_server()
    a = Sim(env, "rtu-a1", "sim.ini", rtu=True, unit=1, cycle_ms=40,
            scrap_ratio=0.1).start()
    b = Sim(env, "rtu-b7", "sim16.ini", rtu=True, unit=7, cycle_ms=60,
            scrap_ratio=0.2).start()
    t = Sim(env, "tcp-1", "sim.ini", cycle_ms=50, scrap_ratio=0.1).start()
    ghost = ("[machine rtu-a2]\nprofile = sim\nlink = rtu\ndevice = %s\nunit = 2\n"
             "parity = N\ninterval_ms = 200\noffline_after = 3\n" % a.rtu_path)
    sims = [a, b, t]
    _, _, state = start_agent(env, "cell-rtu", [s.machine() for s in sims] + [ghost])

    lbtest.wait_listed(env, [s.name for s in sims])
    start = {s.name: s.counters() for s in sims}
    log("counters at start", start)
    for s in sims:
        s.run(True)
    time.sleep(5)
    for s in sims:
        s.run(False)
    for s in sims:
        good, scrap = s.made()
        assert good > 40, "%s made only %d parts" % (s.name, good)
    lbtest.assert_exact(env, sims, start)

    # The unit that never answers is offline, on the server and in the
    # agent's status; its neighbour on the bus kept being read.
    wait_for("rtu-a2 offline",
             lambda: env.machines().get("rtu-a2", {}).get("state") == "offline")
    st = status(state)
    log("status", st["machines"])
    assert st["machines"]["rtu-a2"]["link"] == "offline", st["machines"]["rtu-a2"]
    assert st["machines"]["rtu-a2"]["reads"] == 0
    assert st["machines"]["rtu-a1"]["link"] == "up", st["machines"]["rtu-a1"]
    assert st["machines"]["rtu-b7"]["link"] == "up", st["machines"]["rtu-b7"]
    assert "unit 2 on %s" % a.rtu_path in env.logs("agent-cell-rtu")


if __name__ == "__main__":
    lbtest.main(test_rtu)
