#!/usr/bin/env python3
"""Forms and day choice of the pages, over real HTTP with real sessions.

- Orders: an order a scan created is marked "unplanned" in words on the
  list; a supervisor completes it with the form on its page (CSRF field),
  after which the mark is gone and the API shows the data.  No CSRF token,
  a viewer, a missing or bad quantity, an unknown product: refused.
- Admin -> planned stops and calendar days (/admin/calendar): add and
  remove through the forms, the API agrees; anonymous, supervisor, no
  CSRF, bad input: refused with a message; CSV and JSON twins.
- The machine page for a past day (?day=YYYY-MM-DD): yesterday's parts,
  charts' CSV and JSON links of that day; a bad or out-of-range day: 400.

The data of "yesterday" is one batch published to the broker with its own
times (noon, UTC plant day from 00:00), so nothing here depends on the
weekday or the time of day; every day is named explicitly in the requests,
so a test that runs over midnight sees the same days.
"""
import datetime
import json
import re
import subprocess
import urllib.parse

import lbtest
from lbtest import log, wait_for

DAY_MS = 86400000


def ms_of(d, hh=0, mm=0):
    t = datetime.datetime(d.year, d.month, d.day, hh, mm, tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def page(env, path, cookie):
    return env.http(path, cookie="lb_session=" + cookie)


def form_post(env, path, fields, cookie):
    body = urllib.parse.urlencode(fields)
    return env.http(path, "POST", body,
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    cookie="lb_session=" + cookie if cookie else None)


def expect(got, status, what, contains=None):
    st, hd, data = got
    assert st == status, "%s: expected %d, got %d: %r" % (what, status, st, data[-400:])
    if contains is not None:
        assert contains.encode() in data, "%s: %r not in %r" % (what, contains, data[-600:])
    return got


def publish(env, payload):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(env.broker_port), "-q",
                    "1", "-t", "linebeat/v1/test/%s/events" % payload["agent"], "-m",
                    json.dumps(payload)], check=True, timeout=30)


def yesterday_batch(y):
    """mill-1 at noon of day y: a scan starts order WO-SCAN-1 (unknown to the
    server: unplanned), then 12 good and 1 scrap."""
    noon = ms_of(y, 12)
    ev = [
        {"seq": 1, "t": noon, "age": 0, "dev": "mill-1", "type": "state",
         "state": "running"},
        {"seq": 2, "t": noon + 1000, "age": 0, "dev": "mill-1", "type": "scan",
         "kind": "order_start", "code": "WO-SCAN-1", "value": "WO-SCAN-1", "qty": None},
        {"seq": 3, "t": noon + 10000, "age": 0, "dev": "mill-1", "type": "count",
         "good": 7, "scrap": 1, "span": 1000},
        {"seq": 4, "t": noon + 20000, "age": 0, "dev": "mill-1", "type": "count",
         "good": 5, "scrap": 0, "span": 1000},
    ]
    return {"v": 1, "agent": "cell-h2", "boot": "00112233445566aa", "clock": "synced",
            "sent": noon + 30000, "prev": 0, "events": ev}


def order_by_number(env, number):
    return [o for o in env.api("/api/v1/orders") if o["number"] == number]


def order_row(html, number):
    """The <tr> of the orders list that links number."""
    href = 'href="/orders/%s"' % urllib.parse.quote(number)
    rows = [r for r in html.split("<tr") if href in r]
    assert len(rows) == 1, (number, html[-2000:])
    return rows[0]


def test_orders(env, admin, sam, sam_csrf, vera, vera_csrf):
    env.api("/api/v1/products", "POST", {"code": "P-1", "name": "Flange <1>",
                                         "ideal_cycle_ms": 1000})
    env.api("/api/v1/orders", "POST", {"number": "WO-PLAN", "quantity": 10})
    st, _, body = expect(page(env, "/orders", admin), 200, "orders list")
    html = body.decode()
    assert "unplanned &mdash; to complete" in order_row(html, "WO-SCAN-1"), html[-2000:]
    assert "unplanned" not in order_row(html, "WO-PLAN")
    st, _, body = expect(page(env, "/orders?csv=1", admin), 200, "orders CSV")
    rows = body.decode().strip().split("\r\n")
    assert rows[0].endswith(",late,unplanned"), rows[0]
    assert [r for r in rows if r.startswith("WO-SCAN-1,")][0].endswith(",unplanned"), rows

    # The order's page: marked, and a form for a supervisor only.
    st, _, body = expect(page(env, "/orders/WO-SCAN-1", sam), 200, "order page")
    html = body.decode()
    assert "unplanned &mdash; to complete" in html and "Complete this order" in html
    assert 'action="/orders/WO-SCAN-1"' in html and 'name="csrf" value="%s"' % sam_csrf \
        in html, html[-2000:]
    assert "Flange &lt;1&gt;" in html and "Flange <1>" not in html, "product not escaped"
    st, _, body = expect(page(env, "/orders/WO-SCAN-1", vera), 200, "viewer's order page")
    assert b'action="/orders/WO-SCAN-1"' not in body and b"unplanned" in body

    # Refused: no CSRF, a viewer, anonymous, bad input (with the page's message).
    good = {"quantity": "500", "product": "P-1", "due": "2031-05-06T15:30"}
    expect(form_post(env, "/orders/WO-SCAN-1", good, sam), 403, "no CSRF", "CSRF")
    expect(form_post(env, "/orders/WO-SCAN-1", dict(good, csrf="x" * 43), sam), 403,
           "wrong CSRF")
    expect(form_post(env, "/orders/WO-SCAN-1", dict(good, csrf=vera_csrf), vera), 403,
           "viewer", "supervisor")
    st, hd, _ = form_post(env, "/orders/WO-SCAN-1", good, None)
    assert st == 303 and hd["Location"].startswith("/login"), (st, hd["Location"])
    for fields, why in [({"product": "P-1"}, "quantity: needed"),
                        ({"quantity": "lots"}, "quantity: not a whole number"),
                        ({"quantity": "-5"}, "quantity: at least 1"),
                        ({"quantity": "0"}, "quantity: at least 1"),
                        ({"quantity": "5", "product": "NOPE"}, "product: no product"),
                        ({"quantity": "5", "due": "soon"}, "due: not an ISO 8601")]:
        st, _, body = form_post(env, "/orders/WO-SCAN-1", dict(fields, csrf=sam_csrf), sam)
        assert st == 400 and why.encode() in body, (fields, st, body[-600:])
        assert b'class="error"' in body and b"Complete this order" in body
    expect(form_post(env, "/orders/NOPE-9", dict(good, csrf=sam_csrf), sam), 404,
           "unknown order")
    assert order_by_number(env, "WO-SCAN-1")[0]["unplanned"] is True

    # Completed by the supervisor: 303 back, the mark gone, the API agrees.
    st, hd, body = expect(form_post(env, "/orders/WO-SCAN-1", dict(good, csrf=sam_csrf),
                                    sam), 303, "complete")
    assert hd["Location"] == "/orders/WO-SCAN-1", hd["Location"]
    o = order_by_number(env, "WO-SCAN-1")[0]
    log("completed order:", o)
    assert o["unplanned"] is False and o["quantity"] == 500 and o["product"] == "P-1", o
    assert o["due"] == "2031-05-06T15:30:00.000Z", o  # the plant's zone is UTC here
    st, _, body = expect(page(env, "/orders", admin), 200, "orders list after")
    assert "unplanned" not in order_row(body.decode(), "WO-SCAN-1")
    st, _, body = expect(page(env, "/orders/WO-SCAN-1", sam), 200, "order page after")
    html = body.decode()
    assert "unplanned" not in html and "Change this order" in html
    assert 'value="2031-05-06T15:30"' in html, "due not shown in the form"
    # A renumbering goes to the new page.
    st, hd, _ = expect(form_post(env, "/orders/WO-PLAN", {"number": "WO-PLAN 2",
                                                          "csrf": sam_csrf}, sam),
                       303, "renumber")
    assert hd["Location"] == "/orders/WO-PLAN%202", hd["Location"]
    assert order_by_number(env, "WO-PLAN 2")[0]["quantity"] == 10
    log("orders: unplanned marked, completed through the form")


def api_rows(env, what):
    return env.api("/api/v1/" + what)


def test_calendar(env, admin, csrf, sam, sam_csrf, line, today):
    path = "/admin/calendar"
    # Who may: anonymous to the login, a supervisor refused, an admin in.
    st, hd, _ = env.http(path)
    assert st == 303 and hd["Location"].startswith("/login"), st
    expect(page(env, path, sam), 403, "supervisor GET", "admin")
    expect(form_post(env, path, {"what": "day", "day": today.isoformat(),
                                 "kind": "holiday", "csrf": sam_csrf}, sam),
           403, "supervisor POST")
    st, _, body = expect(page(env, path, admin), 200, "calendar page", "Planned stops")
    html = body.decode()
    for needle in ('name="csrf" value="%s"' % csrf, 'href="/api/v1/planned-stops"',
                   'href="/api/v1/calendar-days"', "?csv=planned-stops",
                   "?csv=calendar-days", 'href="/admin/master"', "Line &lt;C&gt;"):
        assert needle in html, needle
    expect(page(env, "/admin/master", admin), 200, "master page", 'href="/admin/calendar"')
    expect(form_post(env, path, {"what": "day", "day": today.isoformat(),
                                 "kind": "holiday"}, admin), 403, "no CSRF", "CSRF")

    # A weekly stop from tomorrow on, and a one-off stop.
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    weekly = {"what": "pstop", "line_id": str(line), "name": "Lunch <b>", "kind": "break",
              "weekday": "0", "start": "12:00", "end": "12:30", "valid_from": tomorrow,
              "csrf": csrf}
    st, hd, body = expect(form_post(env, path, weekly, admin), 303, "add weekly stop")
    assert hd["Location"] == path, hd["Location"]
    w = [p for p in api_rows(env, "planned-stops") if p["name"] == "Lunch <b>"]
    assert len(w) == 1 and w[0]["weekday"] == 0 and w[0]["start"] == "12:00" and \
        w[0]["line_id"] == line and w[0]["valid_from"] == tomorrow, w
    d3 = today + datetime.timedelta(days=3)
    once = {"what": "pstop_once", "name": "Service", "kind": "maintenance",
            "start_at": d3.isoformat() + "T08:00", "end_at": d3.isoformat() + "T10:00",
            "csrf": csrf}
    expect(form_post(env, path, once, admin), 303, "add one-off stop")
    s = [p for p in api_rows(env, "planned-stops") if p["name"] == "Service"]
    assert len(s) == 1 and s[0]["start_at"] == d3.isoformat() + "T08:00:00.000Z" and \
        s[0]["end_at"] == d3.isoformat() + "T10:00:00.000Z" and s[0]["line_id"] is None, s
    st, _, body = expect(page(env, path, admin), 200, "calendar page with stops")
    html = body.decode()
    assert "Lunch &lt;b&gt;" in html and "Lunch <b>" not in html, "name not escaped"
    assert 'name="what" value="pstop_delete"><input type="hidden" name="id" value="%d"' \
        % w[0]["id"] in html, html[-3000:]
    st, hd, body = expect(page(env, path + "?csv=planned-stops", admin), 200, "stops CSV")
    assert hd["Content-Type"].startswith("text/csv")
    rows = body.decode().strip().split("\r\n")
    assert rows[0].startswith("id,line_id,name,kind,weekday,start,end"), rows[0]
    assert any("Lunch <b>" in r for r in rows) and any("Service" in r for r in rows), rows

    # Bad input: 4xx with the API's (or the form's) message on the page.
    for fields, status, why in [
            (dict(once, end_at=d3.isoformat() + "T07:00"), 400, "end_at:"),
            (dict(weekly, weekday="x"), 400, "weekday: not a whole number"),
            (dict(weekly, weekday="9"), 400, "weekday:"),
            (dict(weekly, start="25:00"), 400, "start:"),
            (dict(weekly, line_id="999"), 400, "line_id: no such line"),
            (dict(weekly, name=""), 400, "name:"),
            ({"what": "nope", "csrf": csrf}, 400, "what: expected"),
            ({"what": "pstop_delete", "id": "abc", "csrf": csrf}, 400, "id: not a row id"),
            ({"what": "pstop_delete", "id": "99999", "csrf": csrf}, 404, "no such row"),
            ({"what": "day", "day": "2026-02-30", "kind": "holiday", "csrf": csrf}, 400,
             "day: not a date"),
            ({"what": "day", "day": tomorrow, "kind": "party", "csrf": csrf}, 400,
             "kind: holiday or shift"),
            ({"what": "day", "day": tomorrow, "kind": "shift", "csrf": csrf}, 400,
             "start:")]:
        st, _, body = form_post(env, path, fields, admin)
        assert st == status and why.encode() in body, (fields, st, body[-800:])
        assert b'class="error"' in body, body[-800:]
    expect(page(env, path + "?csv=nope", admin), 400, "bad csv", "csv:")

    # Calendar days: a holiday (escaped), a shift day; CSV; remove.
    d10 = (today + datetime.timedelta(days=10)).isoformat()
    d11 = (today + datetime.timedelta(days=11)).isoformat()
    expect(form_post(env, path, {"what": "day", "day": d10, "kind": "holiday",
                                 "name": "Founders <day>", "csrf": csrf}, admin),
           303, "add holiday")
    expect(form_post(env, path, {"what": "day", "day": d11, "kind": "shift",
                                 "line_id": str(line), "start": "06:00", "end": "14:00",
                                 "name": "Extra", "csrf": csrf}, admin),
           303, "add shift day")
    days = api_rows(env, "calendar-days")
    hol = [d for d in days if d["day"] == d10]
    ext = [d for d in days if d["day"] == d11]
    assert len(hol) == 1 and hol[0]["kind"] == "holiday" and \
        hol[0]["name"] == "Founders <day>", days
    assert len(ext) == 1 and ext[0]["kind"] == "shift" and ext[0]["start"] == "06:00" \
        and ext[0]["end"] == "14:00" and ext[0]["line_id"] == line, days
    st, _, body = expect(page(env, path, admin), 200, "calendar page with days")
    assert b"Founders &lt;day&gt;" in body and b"Founders <day>" not in body
    st, _, body = expect(page(env, path + "?csv=calendar-days", admin), 200, "days CSV")
    rows = body.decode().strip().split("\r\n")
    assert rows[0] == "id,line_id,day,kind,name,start,end", rows[0]
    assert any(r.startswith("%d,,%s,holiday," % (hol[0]["id"], d10)) for r in rows), rows

    # Remove: the API no longer lists them.
    for what, row in (("pstop_delete", w[0]), ("pstop_delete", s[0]),
                      ("day_delete", hol[0]), ("day_delete", ext[0])):
        expect(form_post(env, path, {"what": what, "id": str(row["id"]), "csrf": csrf},
                         admin), 303, "remove %s %d" % (what, row["id"]))
    assert not [p for p in api_rows(env, "planned-stops")
                if p["id"] in (w[0]["id"], s[0]["id"])]
    assert not [d for d in api_rows(env, "calendar-days")
                if d["id"] in (hol[0]["id"], ext[0]["id"])]
    st, _, body = expect(page(env, path, admin), 200, "calendar page after")
    assert b"Lunch &lt;b&gt;" not in body and b"Founders" not in body
    # The master page's lists have CSV twins too.
    st, _, body = expect(page(env, "/admin/master?csv=lines", admin), 200, "lines CSV")
    assert body.decode().startswith("id,name,site,machines\r\n") and b"Line <C>" in body
    log("calendar: planned stops and days added and removed through the forms")


def api_links_work(env, html, cookie):
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/api/v1/[^"]*)"', html)]
    assert links, "no JSON link"
    for h in links:
        st, _, body = page(env, urllib.parse.quote(h, safe="/?&=:+-._~%"), cookie)
        assert st == 200, (h, st, body[:200])
    return links


def test_machine_day(env, cookie, y, today):
    ys = y.isoformat()
    st, _, body = expect(page(env, "/machines/mill-1?day=" + ys, cookie), 200,
                         "machine page yesterday")
    html = body.decode()
    good = int(re.search(r'data-good="(\d+)"', html).group(1))
    scrap = int(re.search(r'data-scrap="(\d+)"', html).group(1))
    k = env.api("/api/v1/reports/oee?scope=machine&id=mill-1&from=%sT00:00:00Z&to=%s"
                "T00:00:00Z" % (ys, (y + datetime.timedelta(days=1)).isoformat()))
    c = k["total"]["counts"]
    log("yesterday's page good/scrap", good, scrap, "api", c)
    assert (good, scrap) == (12, 1) == (c["good"] + c["outside_good"],
                                        c["scrap"] + c["outside_scrap"]), (good, scrap, c)
    prev = (y - datetime.timedelta(days=1)).isoformat()
    nxt = (y + datetime.timedelta(days=1)).isoformat()
    for needle in ('type="date" name="day" value="%s"' % ys, 'href="?day=%s"' % prev,
                   'href="?day=%s"' % nxt, "Production day %s" % ys,
                   "?csv=hours&amp;day=%s" % ys, "?csv=timeline&amp;day=%s" % ys,
                   "?csv=scans&amp;day=%s" % ys, "from=%sT00:00:00.000Z" % ys,
                   "WO-SCAN-1", "<svg class=\"chart\""):
        assert needle in html, needle
    assert ">now</text>" not in html, "a past day has no now marker"
    links = api_links_work(env, html, cookie)
    scans = [h for h in links if "/scans?" in h]
    assert scans, links
    got = env.api(scans[0])
    assert [x["code"] for x in got] == ["WO-SCAN-1"], got
    st, _, body = expect(page(env, "/machines/mill-1?csv=hours&day=" + ys, cookie), 200,
                         "hours CSV yesterday")
    rows = [r.split(",") for r in body.decode().strip().split("\r\n")[1:]]
    assert sum(int(r[1]) for r in rows) == 12 and len(rows) == 24, rows
    st, _, body = expect(page(env, "/machines/mill-1?csv=scans&day=" + ys, cookie), 200,
                         "scans CSV yesterday")
    assert b"WO-SCAN-1" in body, body
    # The day before and today (whichever day the server now calls today)
    # have none of those parts.
    for q in ("?day=" + prev, "", "?day="):
        st, _, body = expect(page(env, "/machines/mill-1" + q, cookie), 200, "page " + q)
        assert b'data-good="0"' in body and b"No scans on this day" in body, q
    st, _, body = page(env, "/machines/mill-1?csv=scans&day=" + prev, cookie)
    assert st == 200 and b"WO-SCAN-1" not in body
    # Bad days: 400 with a message; out of range too.
    far = (today + datetime.timedelta(days=2)).isoformat()
    old = (today - datetime.timedelta(days=500)).isoformat()
    for bad in ("yesterday", "2026-02-30", "2026-1-5", far, old, "%3Cb%3E"):
        st, _, body = page(env, "/machines/mill-1?day=" + bad, cookie)
        assert st == 400 and body.startswith(b"day: "), (bad, st, body)
    st, _, body = page(env, "/machines/mill-1?day=%s&csv=hours" % old, cookie)
    assert st == 400, st
    expect(page(env, "/machines/nope-1?day=" + ys, cookie), 404, "unknown machine")
    log("machine page: yesterday's parts, links of that day, bad days refused")


def test_admin_pages(env):
    env.start_broker()
    env.start_server(plant="timezone = UTC\nday_start = 00:00\n"
                           "micro_stop_s = 1\ndata_timeout_s = 60")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    y = today - datetime.timedelta(days=1)
    batch = yesterday_batch(y)

    def stored():
        if not order_by_number(env, "WO-SCAN-1") or "mill-1" not in env.machines():
            publish(env, batch)  # until the server subscribed; repeats are dropped
            return False
        got = env.api("/api/v1/machines/mill-1/counts?from=%sT00:00:00Z&to=%sT00:00:00Z"
                      % (y.isoformat(), today.isoformat()))
        return got == {"good": 12, "scrap": 1}
    wait_for("yesterday's batch stored", stored, timeout=30, every=1)
    line = env.api("/api/v1/lines", "POST", {"name": "Line <C>"})["id"]

    admin, csrf = env.login("admin")
    env.add_user("sam", "supervisor", "supervisor-password")
    env.add_user("vera", "viewer", "viewer-password")
    sam, sam_csrf = env.login("sam")
    vera, vera_csrf = env.login("vera")
    test_machine_day(env, vera, y, today)
    test_orders(env, admin, sam, sam_csrf, vera, vera_csrf)
    test_calendar(env, admin, csrf, sam, sam_csrf, line, today)


if __name__ == "__main__":
    lbtest.main(test_admin_pages)
