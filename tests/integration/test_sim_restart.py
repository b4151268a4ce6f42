#!/usr/bin/env python3
"""Counters that reset and wrap, read through a real agent.

press-r (32-bit counters) is killed with SIGKILL and started again: its
counters come back at zero while it is already making parts again.  The
agent must take the lower reading for a reset and count the new reading
from zero.  Meanwhile wrap16 (16-bit counters, started at 65000, twenty
parts per 2 ms cycle) wraps its good counter three times and more.
Afterwards the server's counts equal the parts each simulator made,
exactly: for wrap16 as the simulator's own unwrapped tally says.
"""
import signal
import time

import lbtest
from lbmodbus import Sim, log, start_agent, status, wait_for


def test_sim_restart(env):
    env.start_broker()
    env.start_server()
    press = Sim(env, "press-r", "sim.ini", cycle_ms=10, scrap_ratio=0.1).start()
    wrap = Sim(env, "wrap16", "sim16.ini", cycle_ms=2, scrap_ratio=0.1,
               extra=["--start", "65000", "--cavities", "20"]).start()
    _, _, state = start_agent(env, "cell-rst", [press.machine(200),
                                               wrap.machine(100)])
    lbtest.wait_listed(env, [press.name, wrap.name])

    start = press.counters()
    t0 = time.monotonic()
    wrap.run(True)
    press.run(True)
    time.sleep(6)
    press.run(False)
    before = press.counters()
    made1 = {k: before[k] - start[k] for k in ("good", "scrap")}
    log("press-r made", made1, "before the kill")
    # Parts made after the agent's last reading and before a reset are
    # beyond anyone's knowledge; the test kills once they have been read.
    wait_for("press-r counts %s" % made1, lambda: env.counts(press.name) == made1)

    press.stop(signal.SIGKILL)
    wait_for("the agent to miss press-r",
             lambda: status(state)["machines"]["press-r"]["link"] in ("failing",
                                                                      "offline"))
    press.start(paused=False)  # counters at zero, making parts at once
    time.sleep(5)
    press.run(False)
    after = press.counters()
    log("press-r made", after, "since the restart")
    assert after["good"] < made1["good"], "the restart should read lower"

    time.sleep(max(0.0, 24 - (time.monotonic() - t0)))
    wrap.run(False)
    good, scrap = wrap.made()
    log("wrap16 made", good, scrap, "- good wrapped", (65000 + good) // 65536, "times")
    assert 65000 + good >= 3 * 65536, "wrap16 wrapped fewer than three times"

    want = {press.name: {"good": made1["good"] + after["good"],
                         "scrap": made1["scrap"] + after["scrap"]},
            wrap.name: {"good": good, "scrap": scrap}}
    for name, w in want.items():
        got = wait_for("%s counts %s" % (name, w),
                       lambda: env.counts(name) == w and env.counts(name), timeout=30)
        log(name, "server", got, "simulators", w)
    text = env.logs("agent-cell-rst")
    assert "press-r: counter_reset" in text, "no counter_reset note"
    assert "wrap16: counter_" not in text, "a wrap was taken for a reset or jump"


if __name__ == "__main__":
    lbtest.main(test_sim_restart)
