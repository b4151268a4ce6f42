#!/usr/bin/env python3
"""Clock: a batch marked "unsynced" is dated by the server's receive time
minus each event's age, not by the agent's clock (design.md, docs/wire.md).

A board without a real-time clock boots in 1970 until NTP runs.  Two
batches go through the real broker and server: one unsynced whose events
say 1970 but are 10 and 20 minutes old, one synced (the control) whose "t"
is taken as is.  The server's counts put the unsynced parts 10 and 20
minutes before they arrived, and none in 1970.
"""
import json
import subprocess
import time

import lbtest
from lbtest import log, wait_for

MIN = 60000


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000.0)) + \
        ".%03dZ" % (ms % 1000)


def counts(env, dev, start, end):
    return env.api("/api/v1/machines/%s/counts?from=%s&to=%s" % (dev, iso(start), iso(end)))


def publish(env, agent, payload):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker_port), "-q",
                    "1", "-t", "linebeat/v1/test/%s/events" % agent, "-m",
                    json.dumps(payload)], check=True, timeout=30)


def test_clock_unsynced(env):
    env.start_broker()
    env.start_server()
    boot = "0123456789abcdef"
    before = int(time.time() * 1000)
    # 1970-01-02, as a board without RTC believes; the ages are real.
    unsynced = {
        "v": 1, "agent": "cell-clk", "boot": boot, "clock": "unsynced", "sent": 86400000,
        "prev": 0, "events": [
            {"seq": 1, "t": 86400000 - 10 * MIN, "age": 20 * MIN, "dev": "clk-1",
             "type": "count", "good": 3, "scrap": 0, "span": 1000},
            {"seq": 2, "t": 86400000, "age": 10 * MIN, "dev": "clk-1", "type": "count",
             "good": 7, "scrap": 1, "span": 1000}]}
    # The control: synced, dated by its own t (an hour ago), whatever its age.
    synced = {
        "v": 1, "agent": "cell-ok", "boot": boot, "clock": "synced", "sent": before,
        "prev": 0, "events": [
            {"seq": 1, "t": before - 60 * MIN, "age": 5 * MIN, "dev": "clk-2",
             "type": "count", "good": 4, "scrap": 0, "span": 1000}]}

    def stored():
        # Until the server has subscribed, the broker keeps nothing for it:
        # publish again (the same seqs: a repeat is a duplicate, dropped).
        if not all(n in env.machines() for n in ("clk-1", "clk-2")):
            publish(env, "cell-clk", unsynced)
            publish(env, "cell-ok", synced)
            return False
        return True
    wait_for("both batches stored", stored, timeout=30, every=1)
    after = int(time.time() * 1000)
    slack = 30000 + (after - before)

    got = counts(env, "clk-1", before - 10 * MIN - slack, after - 10 * MIN + slack)
    log("unsynced, 10 min old:", got)
    assert got == {"good": 7, "scrap": 1}, got
    got = counts(env, "clk-1", before - 20 * MIN - slack, after - 20 * MIN + slack)
    log("unsynced, 20 min old:", got)
    assert got == {"good": 3, "scrap": 0}, got
    got = counts(env, "clk-1", 0, 2 * 86400000)
    log("unsynced, in 1970 (the agent's clock):", got)
    assert got == {"good": 0, "scrap": 0}, got

    got = counts(env, "clk-2", before - 60 * MIN - 1000, before - 60 * MIN + 1000)
    log("synced, at its t:", got)
    assert got == {"good": 4, "scrap": 0}, got
    got = counts(env, "clk-2", before - 5 * MIN - slack, after + slack)
    assert got == {"good": 0, "scrap": 0}, got


if __name__ == "__main__":
    lbtest.main(test_clock_unsynced)
