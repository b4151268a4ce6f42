#!/usr/bin/env python3
"""Store-and-forward: the broker down long enough to fill a small spool.

The spool merges count events instead of losing parts: after recovery the
totals are still exact, and the agent's note about merging reaches the
server."""
import os
import time

import lbtest
from lbtest import log, wait_for

N = 8


def test_spool_full(env):
    env.start_broker()
    env.start_server()
    cap = lbtest.Capture(env, "linebeat/v1/+/+/events")
    sims = [lbtest.Sim(env, "f-%d" % i, "sim.ini", cycle_ms=7 + i).start() for i in range(N)]
    # commit_ms 0: every reading is its own commit, so the agent does not
    # fold a machine's counts into one row per commit and the small spool
    # fills in a minute or two.
    env.start_agent("cell-f", sims, spool="max_mb = 1\n",
                    interval_ms=50, commit_ms=0)
    lbtest.wait_listed(env, [s.name for s in sims])
    start = {s.name: s.counters() for s in sims}
    for s in sims:
        s.run(True)
    env.stop_broker()
    status = os.path.join(env.dir, "state-cell-f", "status.json")

    def merged():
        import json
        with open(status) as f:
            st = json.load(f)["spool"]
        return st["merged"] > 0 and st
    st = wait_for("the spool to fill and merge", merged, timeout=240, every=2)
    log("spool", st)
    time.sleep(5)  # keep merging a little
    for s in sims:
        s.run(False)
    env.start_broker()
    lbtest.assert_exact(env, sims, start, timeout=120)
    notes = [l for l in cap.lines() if "spool_full" in l]
    assert notes, "no spool_full note was published"
    log("note:", notes[0][:300])


if __name__ == "__main__":
    lbtest.main(test_spool_full)
