#!/usr/bin/env python3
"""Store-and-forward: a truncated and a garbage spool file at start are moved
aside, kept for a person, and the agent runs and counts exactly."""
import os
import sqlite3
import time

import lbtest
from lbtest import log, wait_for


def run_with_spool(env, agent_id, damage):
    sims = [lbtest.Sim(env, agent_id + "-m", "sim.ini", cycle_ms=50).start()]
    conf, state = env.write_agent_conf(agent_id, sims)
    os.makedirs(state, exist_ok=True)
    damage(os.path.join(state, "spool.db"))
    env.start_agent(agent_id, sims)
    lbtest.wait_listed(env, [sims[0].name])
    start = {s.name: s.counters() for s in sims}
    sims[0].run(True)
    time.sleep(2)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)
    kept = [f for f in os.listdir(state) if ".damaged-" in f]
    log(agent_id, "kept aside:", kept)
    assert any(f.startswith("spool.db.damaged-") for f in kept), os.listdir(state)
    assert "spool_replaced" in env.logs("agent-" + agent_id)


def garbage(path):
    with open(path, "wb") as f:
        f.write(os.urandom(10000))


def truncated(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.executemany("INSERT INTO t VALUES(?)", [("x" * 500,)] * 200)
    db.commit()
    db.close()
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 3)


def test_spool_damaged(env):
    env.start_broker()
    env.start_server()
    run_with_spool(env, "cell-g", garbage)
    run_with_spool(env, "cell-t", truncated)


if __name__ == "__main__":
    lbtest.main(test_spool_damaged)
