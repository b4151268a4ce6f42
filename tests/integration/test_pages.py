#!/usr/bin/env python3
"""Report pages with real data: simulators -> agent -> Mosquitto -> server.

The machine page /machines/<id> must show the machine's good and scrap of
the production day equal to the KPI API's for the same period, draw its
charts as SVG with words (legend, labels), offer each table as CSV, link
the API's JSON, escape what it shows, and answer 404 for an unknown
machine; the board's tiles link to it.
"""
import datetime
import re
import time
import urllib.parse

import lbtest
from lbtest import log, wait_for


def iso_day(d):
    return d.strftime("%Y-%m-%dT00:00:00Z")


def page(env, path, cookie):
    return env.http(path, cookie="lb_session=" + cookie)


def api_links_work(env, html, cookie):
    """Every JSON link of a page answers 200."""
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/api/v1/[^"]*)"', html)]
    assert links, "no JSON link"
    for h in links:
        st, _, body = page(env, urllib.parse.quote(h, safe="/?&=:+-._~%"), cookie)
        assert st == 200, (h, st, body[:200])


def test_pages(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00\n"
                           "micro_stop_s = 1\ndata_timeout_s = 60")
    sims = [lbtest.Sim(env, "press-1", "sim.ini", cycle_ms=50, scrap_ratio=0.1).start()]
    env.start_agent("cell-1", sims, interval_ms=200, machine_extra="ideal_cycle_ms = 50\n")
    lbtest.wait_listed(env, ["press-1"])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    line = env.api("/api/v1/lines", "POST", {"name": "Line <A>"})
    env.api("/api/v1/machines/press-1", "PUT", {"line_id": line["id"]})
    for off in (-1, 0, 1):
        d = today + datetime.timedelta(days=off)
        env.api("/api/v1/shifts", "POST", {"line_id": line["id"], "name": "All day",
                                          "weekday": d.isoweekday(), "start": "00:00",
                                          "end": "00:00",
                                          "valid_from": (today - datetime.timedelta(
                                              days=2)).isoformat()})
    yesterday = (datetime.datetime.now(datetime.timezone.utc)
                 - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wo1 = env.api("/api/v1/orders", "POST", {"number": "WO-1", "quantity": 100000,
                                             "due": yesterday})
    env.api("/api/v1/orders", "POST", {"number": "WO-2 <b>", "quantity": 10})
    start = {s.name: s.counters() for s in sims}
    env.api("/api/v1/orders/%d/start" % wo1["id"], "POST", {"machine": "press-1"})
    sims[0].run(True)
    time.sleep(4)
    sims[0].run(False)
    env.api("/api/v1/orders/%d/stop" % wo1["id"], "POST", {"machine": "press-1"})
    time.sleep(3)
    sims[0].run(True)
    time.sleep(2)
    sims[0].run(False)
    lbtest.assert_exact(env, sims, start)
    time.sleep(2)  # the last pause closes in the rollups

    cookie, _ = env.login("admin")
    f, t = iso_day(today), iso_day(today + datetime.timedelta(days=1))
    k = env.api("/api/v1/reports/oee?scope=machine&id=press-1&from=%s&to=%s" % (f, t))
    c = k["total"]["counts"]
    want_good = c["good"] + c["outside_good"]
    want_scrap = c["scrap"] + c["outside_scrap"]
    assert want_good > 0, k

    st, hd, body = page(env, "/machines/press-1", cookie)
    assert st == 200, (st, body[:300])
    assert hd["Content-Type"].startswith("text/html")
    html = body.decode()
    good = int(re.search(r'data-good="(\d+)"', html).group(1))
    scrap = int(re.search(r'data-scrap="(\d+)"', html).group(1))
    log("page good/scrap", good, scrap, "api", want_good, want_scrap)
    assert good == want_good and scrap == want_scrap, (good, scrap, want_good, want_scrap)
    for needle in ("<svg class=\"chart\"", "running", "down, no reason", "planned stop",
                   "offline / unknown", "target (hour / ideal cycle time)", "Availability",
                   "How these are computed", "Downtime by reason",
                   "/api/v1/reports/oee?scope=machine&amp;id=press-1",
                   "/api/v1/machines/press-1/stops?from=", "?csv=timeline", "?csv=hours",
                   "Last scans"):
        assert needle in html, needle
    api_links_work(env, html, cookie)
    # The unexplained pause shows in the timeline and the Pareto.
    assert "unexplained" in html, "no unexplained stop on the page"
    assert "<script" not in html.replace('<script src="/static/app.js"', "")
    for which, head in (("timeline", "start,end,seconds,state,category,reason"),
                        ("hours", "hour,good,scrap,target"),
                        ("pareto", "reason,category,seconds,stops")):
        st, hd, body = page(env, "/machines/press-1?csv=" + which, cookie)
        assert st == 200 and hd["Content-Type"].startswith("text/csv"), (which, st)
        assert body.decode().startswith(head), (which, body[:200])
        if which == "hours":
            rows = [r.split(",") for r in body.decode().strip().split("\r\n")[1:]]
            assert sum(int(r[1]) for r in rows) == want_good, rows
            assert any(int(r[3]) == 3600 * 1000 // 50 for r in rows), rows
    st, _, body = page(env, "/machines/press-1?csv=nope", cookie)
    assert st == 400 and b"csv:" in body, (st, body)
    st, _, _ = page(env, "/machines/nope-9", cookie)
    assert st == 404, st
    st, _, _ = page(env, "/machines/bad%3Cid", cookie)
    assert st == 404, st
    st, _, body = page(env, "/", cookie)
    assert b'href="/machines/press-1"' in body, body[:500]

    orders(env, cookie, wo1["id"])
    shift_report(env, cookie, line["id"], today, want_good)
    downtime(env, cookie)
    trends(env, cookie, today, want_good)
    admin(env, cookie)


def shift_report(env, cookie, line, today, want_good):
    """The line's shift: per machine good equal to the machine's day (the
    shift covers the whole day), names escaped, CSV, unknown shift said."""
    q = "/reports/shift?line=%d&date=%s&shift=All%%20day" % (line, today.isoformat())
    st, _, body = page(env, q, cookie)
    html = body.decode()
    assert st == 200, (st, html[:300])
    assert "Line &lt;A&gt;" in html and "Line <A>" not in html, "line not escaped"
    assert 'href="/machines/press-1"' in html and "section class=\"sheet\"" in html
    assert "break-after:page" in html and "@page{size:A4" in html
    api_links_work(env, html, cookie)
    st, _, body = page(env, q + "&csv=1", cookie)
    assert st == 200, st
    rows = [r.split(",") for r in body.decode().strip().split("\r\n")]
    assert rows[0][:4] == ["line", "machine", "from", "to"], rows[0]
    m = [r for r in rows if r[1] == "press-1"]
    assert m and int(m[0][8]) == want_good, (rows, want_good)
    st, _, body = page(env, "/reports/shift?line=%d&shift=Night" % line, cookie)
    assert st == 200 and b"No such shift" in body, body[-500:]
    st, _, body = page(env, "/reports/shift", cookie)
    assert st == 200 and b"whole production day" in body
    st, _, body = page(env, "/reports/shift?date=yesterday", cookie)
    assert st == 400 and b"date:" in body, (st, body)


def trends(env, cookie, today, want_good):
    """Weekly chart and table for the machine (manager and above), CSV with
    one row per week, a before/after table, 403 for a viewer."""
    q = "/reports/trends?scope=machine&id=press-1&weeks=4"
    st, _, body = page(env, q + "&at=%s&days=7" % today.isoformat(), cookie)
    html = body.decode()
    assert st == 200, (st, html[:300])
    for needle in ("<svg class=\"chart\"", "stroke-dasharray", ">OEE<", "Availability",
                   "Before and after", "loss: unexplained",
                   "/api/v1/reports/oee?scope=machine&amp;id=press-1"):
        assert needle in html, needle
    api_links_work(env, html, cookie)
    st, _, body = page(env, q + "&csv=1", cookie)
    rows = body.decode().strip().split("\r\n")
    assert st == 200 and rows[0].startswith("week,from,to,oee"), rows
    assert 4 <= len(rows) - 1 <= 5, rows
    st, _, body = page(env, "/reports/trends?scope=moon", cookie)
    assert st == 400 and b"scope" in body
    vera, _ = env.login("vera")
    st, _, _ = page(env, q, vera)
    assert st == 403, st


def admin(env, cookie):
    """Master data forms: an admin adds a product and a reason and sets a
    machine's ideal cycle time (the API's writes); API errors come back on
    the page; a supervisor is refused."""
    cookie, csrf = env.login("admin")
    st, _, body = page(env, "/admin/master", cookie)
    html = body.decode()
    assert st == 200 and "Products and ideal cycle times" in html, (st, html[:300])
    assert "Line &lt;A&gt;" in html and 'name="csrf"' in html
    st, hd, body = form_post(env, "/admin/master", {"what": "product", "code": "P-7",
                                                    "name": "Bracket <7>",
                                                    "ideal_cycle_ms": "45",
                                                    "csrf": csrf}, cookie)
    assert st == 303 and hd["Location"] == "/admin/master", (st, body)
    assert any(p["code"] == "P-7" for p in env.api("/api/v1/products"))
    st, _, body = form_post(env, "/admin/master", {"what": "reason", "code": "tool",
                                                   "name": "Tool change", "planned": "1",
                                                   "csrf": csrf}, cookie)
    assert st == 303, (st, body)
    r = [x for x in env.api("/api/v1/reasons") if x["code"] == "tool"]
    assert r and r[0]["planned"] is True, r
    st, _, body = form_post(env, "/admin/master", {"what": "machine", "machine": "press-1",
                                                   "ideal_cycle_ms": "60",
                                                   "csrf": csrf}, cookie)
    assert st == 303, (st, body)
    st, _, body = form_post(env, "/admin/master", {"what": "machine", "machine": "press-1",
                                                   "ideal_cycle_ms": "x", "csrf": csrf},
                            cookie)
    assert st == 400 and b"ideal_cycle_ms" in body, (st, body[:200])
    st, _, body = form_post(env, "/admin/master", {"what": "shift", "line_id": "999",
                                                   "name": "N", "weekday": "1",
                                                   "start": "22:00", "end": "06:00",
                                                   "csrf": csrf}, cookie)
    assert st >= 400 and b'class="error"' in body, (st, body[:200])
    st, _, body = page(env, "/admin/master", cookie)
    assert "Bracket &lt;7&gt;" in body.decode()
    sam, sam_csrf = env.login("sam")
    st, _, _ = page(env, "/admin/master", sam)
    assert st == 403, st
    st, _, _ = form_post(env, "/admin/master", {"what": "line", "name": "X",
                                                "csrf": sam_csrf}, sam)
    assert st == 403, st


def orders(env, cookie, wo1):
    """The list marks WO-1 late (due yesterday) with the API's progress;
    its page shows the API's good and its run; names are escaped."""
    prog = env.api("/api/v1/orders/%d/progress" % wo1)
    assert prog["good"] > 0, prog
    st, _, body = page(env, "/orders", cookie)
    html = body.decode()
    assert st == 200, (st, html[:300])
    assert 'href="/orders/WO-1"' in html and "LATE" in html, html[-3000:]
    assert "WO-2 &lt;b&gt;" in html and "WO-2 <b>" not in html, "order not escaped"
    assert 'href="/orders/WO-2%20%3Cb%3E"' in html, "order link not encoded"
    st, hd, body = page(env, "/orders?csv=1", cookie)
    assert st == 200 and body.startswith(b"number,product,status,quantity,good"), body[:200]
    assert b"WO-1," in body and b",late" in body, body
    st, _, body = page(env, "/orders/WO-1", cookie)
    html = body.decode()
    assert st == 200, (st, html[:300])
    good = int(re.search(r'data-good="(\d+)"', html).group(1))
    assert good == prog["good"], (good, prog)
    for needle in ('href="/machines/press-1"', "time used", "OEE", "Losses",
                   "/api/v1/orders/%d/progress?explain=1" % wo1):
        assert needle in html, needle
    api_links_work(env, html, cookie)
    st, _, body = page(env, "/orders/WO-1?csv=1", cookie)
    assert st == 200 and body.startswith(b"machine,start,end,good,scrap"), body
    assert b"press-1," in body
    st, _, _ = page(env, "/orders/WO-2%20%3Cb%3E", cookie)
    assert st == 200, st
    st, _, _ = page(env, "/orders/nope", cookie)
    assert st == 404, st


def form_post(env, path, fields, cookie):
    body = urllib.parse.urlencode(fields)
    return env.http(path, "POST", body,
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    cookie="lb_session=" + cookie)


def downtime(env, admin_cookie):
    """The unexplained pause is listed with a form; a supervisor names it
    (audited), a viewer sees no form and may not post."""
    env.api("/api/v1/reasons", "POST", {"code": "jam", "name": "Jam <hard>",
                                        "planned": False})
    env.add_user("sam", "supervisor", "supervisor-password")
    env.add_user("vera", "viewer", "viewer-password")
    sam, sam_csrf = env.login("sam")
    vera, vera_csrf = env.login("vera")
    st, _, body = page(env, "/downtime", vera)
    html = body.decode()
    assert st == 200 and "press-1" in html and "<select" not in html, (st, html[:300])
    st, _, body = page(env, "/downtime", sam)
    html = body.decode()
    assert st == 200, st
    assert "Jam &lt;hard&gt;" in html and "Jam <hard>" not in html, "reason not escaped"
    ats = re.findall(r'name="machine" value="press-1"><input type="hidden" name="at" '
                     r'value="(\d+)"', html)
    assert ats, html[-2000:]
    n_before = len(ats)
    at = ats[-1]
    st, hd, body = page(env, "/downtime?csv=1", sam)
    assert st == 200 and body.startswith(b"machine,start,start_ms,seconds"), body[:200]
    assert at.encode() in body
    # No CSRF token, a viewer, an unknown reason: refused.
    st, _, _ = form_post(env, "/downtime", {"machine": "press-1", "at": at,
                                             "reason": "jam"}, sam)
    assert st == 403, st
    st, _, _ = form_post(env, "/downtime", {"machine": "press-1", "at": at,
                                             "reason": "jam", "csrf": vera_csrf}, vera)
    assert st == 403, st
    st, _, body = form_post(env, "/downtime", {"machine": "press-1", "at": at,
                                                "reason": "nope", "csrf": sam_csrf}, sam)
    assert st == 400 and b"reason" in body, (st, body)
    st, hd, body = form_post(env, "/downtime", {"machine": "press-1", "at": at,
                                                 "reason": "jam", "csrf": sam_csrf}, sam)
    assert st == 303 and hd["Location"] == "/downtime", (st, body)
    st, _, body = page(env, "/downtime", sam)
    left = re.findall(r'name="at" value="(\d+)"', body.decode())
    assert at not in left and len(left) == n_before - 1, (at, left)
    audit = env.api("/api/v1/machines/press-1/reason-audit")
    assert any(a["after"] == "jam" and a["who"] == "sam" for a in audit), audit
    st, _, body = page(env, "/machines/press-1?csv=pareto", admin_cookie)
    assert b"jam," in body, body


if __name__ == "__main__":
    lbtest.main(test_pages)
