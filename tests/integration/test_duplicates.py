#!/usr/bin/env python3
"""Store-and-forward: every events message delivered twice.

A test publisher replays the agent's captured batches; the server's totals
do not move and it counts the duplicates."""
import subprocess
import time

import lbtest
from lbtest import log, wait_for


def test_duplicates(env):
    env.start_broker()
    env.start_server()
    cap = lbtest.Capture(env, "linebeat/v1/+/+/events")
    sims = [lbtest.Sim(env, "d-1", "sim.ini", cycle_ms=40).start()]
    env.start_agent("cell-d", sims)
    lbtest.wait_listed(env, ["d-1"])
    start = {s.name: s.counters() for s in sims}
    sims[0].run(True)
    time.sleep(3)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)
    before = env.counts("d-1")
    msgs = cap.lines()
    assert len(msgs) >= 3, msgs
    events = 0
    for line in msgs:
        topic, payload = line.split("\t", 1)
        events += payload.count('"seq":')
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker_port),
                        "-q", "1", "-t", topic, "-m", payload], check=True)
    log("replayed %d messages with %d events" % (len(msgs), events))

    def dups():
        a = [x for x in env.api("/api/v1/agents") if x["id"] == "cell-d"][0]
        return a["dups"] >= events and a
    agent = wait_for("duplicates counted", dups)
    log("agent", agent)
    assert env.counts("d-1") == before, (env.counts("d-1"), before)
    lbtest.assert_exact(env, sims, start)


if __name__ == "__main__":
    lbtest.main(test_duplicates)
