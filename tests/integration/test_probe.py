#!/usr/bin/env python3
"""`linebeat-agent probe` against real simulators: the counter a simulator
was started with must appear in the column that names the right profile
settings (32-bit, word order CDAB; 16-bit), over TCP and over RTU; a
refused address and an unreachable device fail with a clear message."""
import re
import subprocess

import lbtest
from lbmodbus import Sim, log

ROW = re.compile(r'^\s*(\d+)\s+0x([0-9A-F]{4})\s+(\d+)\s+(-?\d+)\s+"(..)"'
                 r'(?:\s+(ABCD|CDAB|BADC|DCBA)\s+(\d+)\s+(-?\d+)\s+(\S+)(?:\s+(\d+))?)?\s*$')
MORE = re.compile(r'^\s+(ABCD|CDAB|BADC|DCBA)\s+(\d+)\s+(-?\d+)\s+(\S+)(?:\s+(\d+))?\s*$')


def probe(env, *args):
    r = subprocess.run([env.bin("linebeat-agent"), "probe"] + list(args),
                       capture_output=True, text=True, timeout=30)
    log("probe", " ".join(args), "->", r.returncode)
    return r


def table(out):
    """{addr: {"u16":, "i16":, "text":, ORDER: (u32, i32, float, u64)}}"""
    rows, cur = {}, None
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            cur = int(m.group(1))
            rows[cur] = {"hex": m.group(2), "u16": int(m.group(3)),
                         "i16": int(m.group(4)), "text": m.group(5)}
            if m.group(6):
                rows[cur][m.group(6)] = (int(m.group(7)), int(m.group(8)),
                                         float(m.group(9)),
                                         int(m.group(10)) if m.group(10) else None)
            continue
        m = MORE.match(line)
        if m and cur is not None:
            rows[cur][m.group(1)] = (int(m.group(2)), int(m.group(3)), float(m.group(4)),
                                     int(m.group(5)) if m.group(5) else None)
    return rows


def test_probe(env):
    # 0x12345678 good parts, the counters written low word first.
    big = Sim(env, "cdab", "sim.ini", extra=["--start", "305419896", "--word-order",
                                             "CDAB"], rtu=True, unit=3).start()
    small = Sim(env, "u16", "sim16.ini", extra=["--start", "65000"]).start()

    # Unit 255 over TCP: the id for a directly attached device.
    r = probe(env, "--host", "127.0.0.1", "--port", str(big.port), "--unit", "255",
              "--address", "0", "--count", "6")
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    rows = table(r.stdout)
    assert sorted(rows) == [0, 1, 2, 3, 4, 5], rows
    assert rows[0]["CDAB"][0] == 305419896, rows[0]
    assert rows[0]["ABCD"][0] != 305419896, rows[0]
    assert (rows[0]["hex"], rows[1]["hex"]) == ("5678", "1234"), rows
    # total (registers 2-3) starts equal to good; u64 needs four registers.
    assert rows[2]["CDAB"][0] == 305419896, rows[2]
    assert rows[2]["CDAB"][3] is not None and rows[3]["CDAB"][3] is None, rows[3]
    assert rows[0]["CDAB"][3] == 305419896 * (1 << 32) + 305419896, rows[0]
    assert "CDAB" not in rows[5], rows[5]

    # The same over RTU, on the simulator's pseudo-terminal, unit 3.
    r = probe(env, "--device", big.rtu_path, "--parity", "N", "--unit", "3",
              "--address", "0", "--count", "2")
    assert r.returncode == 0, r.stderr
    assert table(r.stdout)[0]["CDAB"][0] == 305419896, r.stdout
    assert r.stdout.startswith("%s 19200 8N1 unit 3" % big.rtu_path), r.stdout

    # 16-bit: u16 and i16 of the same register.
    r = probe(env, "--host", "127.0.0.1", "--port", str(small.port), "--count", "3")
    assert r.returncode == 0, r.stderr
    rows = table(r.stdout)
    assert (rows[0]["u16"], rows[0]["i16"]) == (65000, -536), rows[0]

    # Failures say what happened.
    r = probe(env, "--host", "127.0.0.1", "--port", str(small.port), "--address",
              "60000", "--count", "2")
    assert r.returncode == 1 and "Illegal data address" in r.stderr, r.stderr
    r = probe(env, "--host", "127.0.0.1", "--port", str(lbtest.free_port()))
    assert r.returncode == 1 and "refused" in r.stderr, r.stderr
    r = probe(env, "--host", "127.0.0.1", "--device", "/dev/null")
    assert r.returncode == 2, r.stderr
    r = probe(env, "--host", "127.0.0.1", "--area", "registers")
    assert r.returncode == 2 and "--area" in r.stderr, r.stderr


if __name__ == "__main__":
    lbtest.main(test_probe)
