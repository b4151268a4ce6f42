#!/usr/bin/env python3
"""Browser test of the floor board in headless Chromium (board.mjs):
log in through the form, see a machine running on the board with its
order's progress and its shift's OEE, pause its simulator through Modbus
and see the tile change to idle, open the TV board through a board link
without login.  Saves docs/img/board.png, board-phone.png and
board-tv.png (shown in the README).

The data is what a factory would show: every machine has an ideal cycle
time a little below its simulator's cycle (performance about 90 %), two
lines with an all-day shift yesterday, today and tomorrow (so the test
depends on neither the weekday nor the time of day), an order running on
two of the machines, and the third stopping on a jam with no order.

Started by run.sh, which skips (exit 77) when Chromium, Node.js or
playwright-core are missing.
"""
import datetime
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lbtest  # noqa: E402
from lbtest import log  # noqa: E402

# Machine, simulator profile, cycle (ms), scrap ratio, ideal cycle (ms),
# line, order number and quantity (None: no order), simulator options.
# The first is LB_DEV, paused later on.  packer-3 stops on a random cause
# (jam or material: the fixed seed picks jam) a few seconds after it
# starts, for a long time (exponential, mean an hour): a red tile with a
# reason.
MACHINES = [
    ("press-1", "sim.ini", 400, 0.02, 380, "Line 1", ("WO-24117", 80), ()),
    ("mould-2", "sim16.ini", 900, 0.08, 820, "Line 1", ("WO-24118", 30), ()),
    ("packer-3", "sim.ini", 600, 0.02, 540, "Line 2", None,
     ("--mtbs", "6", "--mtts", "3600", "--seed", "7")),
]


def start_agent(env, agent_id, sims, **kw):
    """env.start_agent with each machine's own ideal cycle time (the
    harness's machine_extra is the same for every machine)."""
    conf, _ = env.write_agent_conf(agent_id, sims, **kw)
    with open(conf) as f:
        text = f.read()
    for name, _, _, _, ideal, _, _, _ in MACHINES:
        head = "[machine %s]\n" % name
        assert head in text, head
        text = text.replace(head, "%sideal_cycle_ms = %d\n" % (head, ideal))
    with open(conf, "w") as f:
        f.write(text)
    p = env.spawn("agent-" + agent_id, env.agent_cmd() + ["-c", conf, "-f"])
    env.agents[agent_id] = p
    return p


def plan(env):
    """Lines with an all-day shift around today, the machines on them, and
    the orders started on their machines (before the machines run, so the
    orders get every part)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    lines = {}
    for name in sorted({m[5] for m in MACHINES}):
        line = env.api("/api/v1/lines", "POST", {"name": name})
        lines[name] = line["id"]
        for off in (-1, 0, 1):
            d = today + datetime.timedelta(days=off)
            env.api("/api/v1/shifts", "POST", {
                "line_id": line["id"], "name": "All day", "weekday": d.isoweekday(),
                "start": "00:00", "end": "00:00",
                "valid_from": (today - datetime.timedelta(days=2)).isoformat()})
    for name, _, _, _, _, line, order, _ in MACHINES:
        env.api("/api/v1/machines/%s" % name, "PUT", {"line_id": lines[line]})
        if order is not None:
            o = env.api("/api/v1/orders", "POST", {"number": order[0], "quantity": order[1]})
            env.api("/api/v1/orders/%d/start" % o["id"], "POST", {"machine": name})


def test_board(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00")
    # Running from the start, as a plant is when its board goes up: no
    # idle spell before the first part weighs on the shift's OEE.
    sims = [lbtest.Sim(env, name, profile, cycle_ms=cycle, scrap_ratio=scrap,
                       extra=extra).start(paused=False)
            for name, profile, cycle, scrap, _, _, _, extra in MACHINES]
    start_agent(env, "cell-1", sims, interval_ms=250)
    lbtest.wait_listed(env, [s.name for s in sims])
    plan(env)
    link = env.api("/api/v1/board-tokens", "POST", {"name": "Hall 1"})
    tv = link["url"][link["url"].index("/tv?"):]

    shots = os.environ.get("LB_SHOTS", os.path.join(lbtest.SRC, "docs", "img"))
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=env.dir)
    orders = ",".join("%s:%d" % (m[0], m[6][1]) for m in MACHINES if m[6] is not None)
    penv = dict(os.environ, LB_URL="http://127.0.0.1:%d" % env.http_port, LB_USER="admin",
                LB_PASSWORD=env.users["admin"], LB_DEV="press-1", LB_TV=tv, LB_SHOTS=shots,
                LB_PROFILE=profile, LB_ORDERS=orders,
                LB_NO_ORDER=",".join(m[0] for m in MACHINES if m[6] is None))
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
    for m in env.api("/api/v1/machines"):
        sh = m.get("shift") or {}
        log("board:", m["id"], m["state"], m["reason"], "order", m["order"],
            m["order_good"], "/", m["order_quantity"], "shift OEE", sh.get("oee"),
            "A", sh.get("availability"), "P", sh.get("performance"), "Q", sh.get("quality"))
    assert rc == 0, "board.mjs exited %s" % rc
    for name in ("board.png", "board-phone.png", "board-tv.png"):
        path = os.path.join(shots, name)
        assert os.path.getsize(path) > 10000, path
        log("screenshot", path)


if __name__ == "__main__":
    lbtest.main(test_board)
