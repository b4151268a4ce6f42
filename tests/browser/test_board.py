#!/usr/bin/env python3
"""Browser test of the floor board in headless Chromium (board.mjs):
log in through the form, see a machine running on the board, pause its
simulator through Modbus and see the tile change to idle, open the TV board
through a board link without login.  Saves docs/img/board.png,
board-phone.png and board-tv.png (shown in the README).

Started by run.sh, which skips (exit 77) when Chromium, Node.js or
playwright-core are missing.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lbtest  # noqa: E402
from lbtest import log  # noqa: E402


def test_board(env):
    env.start_broker()
    env.start_server()
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=400, scrap_ratio=0.05).start(),
            lbtest.Sim(env, "mould-2", "sim16.ini", cycle_ms=900, scrap_ratio=0.1).start(),
            lbtest.Sim(env, "packer-3", "sim.ini", cycle_ms=600, scrap_ratio=0.02).start()]
    env.start_agent("cell-1", sims, interval_ms=250)
    lbtest.wait_listed(env, [s.name for s in sims])
    sims[0].run(True)
    sims[1].run(True)
    link = env.api("/api/v1/board-tokens", "POST", {"name": "Line 1"})
    tv = link["url"][link["url"].index("/tv?"):]

    shots = os.environ.get("LB_SHOTS", os.path.join(lbtest.SRC, "docs", "img"))
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=env.dir)
    penv = dict(os.environ, LB_URL="http://127.0.0.1:%d" % env.http_port, LB_USER="admin",
                LB_PASSWORD=env.users["admin"], LB_DEV="press-1", LB_TV=tv, LB_SHOTS=shots,
                LB_PROFILE=profile)
    p = subprocess.Popen(["node", os.path.join(HERE, "board.mjs")], cwd=HERE, env=penv,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    env.procs.append(p)
    p.lb_name = "node"
    try:
        for line in p.stdout:
            line = line.rstrip("\n")
            log("browser:", line)
            if line == "PAUSE":
                sims[0].run(False)
                p.stdin.write("paused\n")
                p.stdin.flush()
        rc = p.wait(timeout=120)
    finally:
        env.stop(p)
    assert rc == 0, "board.mjs exited %s" % rc
    for name in ("board.png", "board-phone.png", "board-tv.png"):
        path = os.path.join(shots, name)
        assert os.path.getsize(path) > 10000, path
        log("screenshot", path)


if __name__ == "__main__":
    lbtest.main(test_board)
