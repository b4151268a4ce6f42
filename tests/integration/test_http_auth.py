#!/usr/bin/env python3
"""The web's front door over real HTTP: every route refuses an anonymous
client (303 to /login for pages, 401 JSON for the API), state-changing
requests without the right CSRF token are refused, roles are enforced, bad
parameters get a 4xx with a message, and 404/405/413/414 come where they
should.  Also: the login form and its own CSRF cookie, the session cookie's
attributes, logout, login rate limits per address and per user, board links
(create, use, revoke), the metrics bearer token, escaping of stored text,
and user administration.

The server trusts a reverse proxy here (trust_proxy), so each part of the
test can come "from" its own address through X-Forwarded-For and the
per-address login limit of one part does not spill into the next.
"""
import json
import re
import time
import urllib.parse

import lbtest
from lbtest import log

METRICS_TOKEN = "metrics-token-0123456789"

# Every route of the server: (method, path, kind) where kind says how an
# anonymous request is answered.
ROUTES = [
    ("GET", "/", "page"),
    ("GET", "/board.csv", "page"),
    ("GET", "/machines/press-1", "page"),
    ("GET", "/downtime", "page"),
    ("POST", "/downtime", "page"),
    ("GET", "/orders", "page"),
    ("GET", "/orders/WO-1", "page"),
    ("POST", "/orders/WO-1", "page"),
    ("GET", "/reports/shift", "page"),
    ("GET", "/reports/trends", "page"),
    ("GET", "/admin/master", "page"),
    ("POST", "/admin/master", "page"),
    ("GET", "/admin/calendar", "page"),
    ("POST", "/admin/calendar", "page"),
    ("GET", "/admin/tokens", "page"),
    ("POST", "/admin/tokens", "page"),
    ("POST", "/admin/tokens/1/revoke", "page"),
    ("GET", "/admin/users", "page"),
    ("POST", "/admin/users", "page"),
    ("POST", "/admin/users/1", "page"),
    ("POST", "/logout", "page"),
    ("GET", "/api/v1/machines", "api"),
    ("GET", "/api/v1/machines/press-1/counts", "api"),
    ("GET", "/api/v1/agents", "api"),
    ("GET", "/api/v1/session", "api"),
    ("POST", "/api/v1/logout", "api"),
    ("GET", "/api/v1/board-tokens", "api"),
    ("POST", "/api/v1/board-tokens", "api"),
    ("DELETE", "/api/v1/board-tokens/1", "api"),
    ("GET", "/api/v1/users", "api"),
    ("GET", "/metrics", "metrics"),
    ("GET", "/nope", "page"),  # unknown paths do not tell they are unknown
]


class Client:
    """A browser-like client from one address: keeps cookies, knows its
    CSRF token."""

    def __init__(self, env, ip):
        self.env = env
        self.ip = ip
        self.cookies = {}
        self.csrf = None

    def request(self, path, method="GET", body=None, headers=None, csrf=None, form=None):
        h = {"X-Forwarded-For": self.ip}
        h.update(headers or {})
        if csrf:
            h["X-CSRF-Token"] = csrf
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        cookie = "; ".join("%s=%s" % kv for kv in self.cookies.items()) or None
        st, hd, data = self.env.http(path, method, body, h, cookie=cookie)
        for v in hd.get_all("Set-Cookie") or []:
            name, value = v.split(";", 1)[0].split("=", 1)
            if "Max-Age=0" in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return st, hd, data

    def login(self, user, password):
        st, hd, data = self.request("/api/v1/login", "POST",
                                    {"user": user, "password": password})
        assert st == 200, (st, data)
        self.csrf = json.loads(data)["csrf"]
        return hd


def expect(got, status, what, contains=None):
    st, hd, data = got
    assert st == status, "%s: expected %d, got %d: %r" % (what, status, st, data[:300])
    if contains is not None:
        assert contains.encode() in data, "%s: %r not in %r" % (what, contains, data[:300])
    return got


def error_message(got):
    """A 4xx must say why: JSON {"error": "..."} or a text line."""
    st, hd, data = got
    ctype = hd.get("Content-Type", "")
    if ctype.startswith("application/json"):
        msg = json.loads(data)["error"]
    else:
        msg = data.decode().strip()
    assert msg, "empty error message for %d" % st
    return msg


def test_anonymous(env):
    c = Client(env, "10.0.0.1")
    for method, path, kind in ROUTES:
        got = c.request(path, method)
        st, hd, data = got
        if kind == "page":
            assert st == 303, (method, path, st)
            loc = hd["Location"]
            assert loc.startswith("/login"), (path, loc)
            if path not in ("/", "/logout"):
                assert "next=" + urllib.parse.quote(path, safe="/") in loc, (path, loc)
        else:
            assert st == 401, (method, path, st, data)
            assert error_message(got) == "login required"
            if kind == "api":
                assert hd["Content-Type"].startswith("application/json")
    # Public: the login page, the script, and the TV board with a token.
    expect(c.request("/login"), 200, "login page", "<form")
    st, hd, data = expect(c.request("/static/app.js"), 200, "script", "sortable")
    assert hd["Content-Type"].startswith("text/javascript")
    msg = error_message(expect(c.request("/tv"), 400, "tv without token"))
    assert msg.startswith("token: missing"), msg
    expect(c.request("/tv?token=" + "A" * 43), 403, "tv with a made-up token")
    expect(c.request("/tv?token=<script>"), 403, "tv with garbage")
    # A session cookie that was never issued is nobody.
    c.cookies["lb_session"] = "A" * 43
    expect(c.request("/api/v1/session"), 401, "forged session")
    log("anonymous requests refused on %d routes" % len(ROUTES))


def test_login_form(env):
    c = Client(env, "10.0.0.2")
    st, hd, data = expect(c.request("/login?next=/admin/tokens"), 200, "login page")
    assert "lb_login" in c.cookies
    csrf = re.search(rb'name="csrf" value="([^"]+)"', data).group(1).decode()
    assert b'name="next" value="/admin/tokens"' in data
    # Without the login cookie (a cross-site post cannot send it).
    saved = c.cookies.pop("lb_login")
    got = c.request("/login", "POST", form={"user": "admin", "password": "x",
                                            "csrf": csrf})
    expect(got, 403, "login without cookie", "allow cookies")
    c.cookies["lb_login"] = saved
    expect(c.request("/login", "POST", form={"user": "admin",
                                             "password": env.users["admin"],
                                             "csrf": "wrong"}),
           403, "login with a wrong form token", "expired")
    expect(c.request("/login", "POST", form={"user": "admin", "password": "wrong-password",
                                             "csrf": csrf}),
           401, "wrong password", "wrong user name or password")
    expect(c.request("/login", "POST", form={"user": "nobody", "password": "wrong-password",
                                             "csrf": csrf}),
           401, "unknown user", "wrong user name or password")
    expect(c.request("/login", "POST", body="user=admin", headers={
        "Content-Type": "text/plain"}), 415, "login not a form")
    st, hd, data = expect(c.request("/login", "POST", form={
        "user": "ADMIN", "password": env.users["admin"], "csrf": csrf,
        "next": "/admin/tokens"}), 303, "login")
    assert hd["Location"] == "/admin/tokens", hd["Location"]
    cookie = [v for v in hd.get_all("Set-Cookie") if v.startswith("lb_session=")][0]
    for attr in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
        assert attr in cookie, cookie
    assert "Secure" not in cookie, cookie  # plain HTTP
    assert re.match(r"lb_session=[A-Za-z0-9_-]{43};", cookie), cookie
    # An open redirect is not possible through next.
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil", "javascript:x"):
        c2 = Client(env, "10.0.0.3")
        st, hd, data = c2.request("/login?next=" + urllib.parse.quote(bad))
        assert b'name="next" value="/"' in data, (bad, data[-400:])
    # Logged in: the board, with the user and a logout form.
    st, hd, data = expect(c.request("/"), 200, "board", "Floor")
    assert b"admin" in data and b'action="/logout"' in data
    for h in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert hd[h], h
    assert "script-src 'self'" in hd["Content-Security-Policy"]
    # /login when logged in goes on.
    expect(c.request("/login"), 303, "login again")
    # Logout needs the CSRF token, then the cookie is dead.
    expect(c.request("/logout", "POST", form={}), 403, "logout without csrf", "CSRF")
    csrf = re.search(rb'name="csrf" value="([^"]+)"', data).group(1).decode()
    old = c.cookies["lb_session"]
    st, hd, data = expect(c.request("/logout", "POST", form={"csrf": csrf}), 303, "logout")
    assert hd["Location"] == "/login"
    assert "lb_session" not in c.cookies
    c.cookies["lb_session"] = old
    expect(c.request("/api/v1/session"), 401, "session after logout")
    log("login form, cookie attributes, redirects and logout as expected")


def test_api_and_csrf(env):
    c = Client(env, "10.0.0.4")
    expect(c.request("/api/v1/login", "POST", body='{"user":"admin"}',
                     headers={"Content-Type": "text/plain"}), 415, "login as text/plain")
    assert error_message(c.request("/api/v1/login", "POST", {"user": "admin"})) == \
        "user and password: strings required"
    expect(c.request("/api/v1/login", "POST", body="{nope",
                     headers={"Content-Type": "application/json"}), 400, "bad JSON")
    expect(c.request("/api/v1/login", "POST", {"user": "admin", "password": "nope-nope"}),
           401, "API wrong password")
    c.login("admin", env.users["admin"])
    sess = json.loads(expect(c.request("/api/v1/session"), 200, "session")[2])
    assert sess["user"] == "admin" and sess["role"] == "admin" and sess["csrf"] == c.csrf

    # JSON POSTs need X-CSRF-Token.
    expect(c.request("/api/v1/board-tokens", "POST", {"name": "TV"}), 403, "no CSRF",
           "CSRF")
    expect(c.request("/api/v1/board-tokens", "POST", {"name": "TV"}, csrf="x" * 43), 403,
           "wrong CSRF", "CSRF")
    # Another user's token is not ours.
    other = Client(env, "10.0.0.5")
    other.login("admin", env.users["admin"])
    assert other.csrf != c.csrf
    expect(c.request("/api/v1/board-tokens", "POST", {"name": "TV"}, csrf=other.csrf), 403,
           "someone else's CSRF")
    # Form POSTs need the csrf field (or the header).
    expect(c.request("/admin/tokens", "POST", form={"name": "TV"}), 403, "form no CSRF")
    expect(c.request("/admin/tokens", "POST", form={"name": "TV", "csrf": "nope"}), 403,
           "form wrong CSRF")
    # Pass-through routes too (answered 405 by the router once past the gate).
    expect(c.request("/api/v1/machines", "POST", {}), 403, "passed-on POST without CSRF")
    expect(c.request("/api/v1/machines", "POST", {}, csrf=c.csrf), 405, "POST machines")
    expect(c.request("/api/v1/machines", "DELETE", csrf=c.csrf), 405, "DELETE machines")

    # Bad parameters: 4xx with a message.
    for path, why in [("/api/v1/machines/press-1/counts", "from: missing"),
                      ("/api/v1/machines/press-1/counts?from=yesterday&to=now",
                       "from: not an ISO 8601 time"),
                      ("/api/v1/machines/press-1/counts?from=2026-01-02&to=2026-01-01",
                       "to: before from")]:
        got = expect(c.request(path), 400, path)
        assert error_message(got) == why, (path, error_message(got))
    for body, why in [({"name": ""}, "name: 1 to 64 characters of text required"),
                      ({"name": "x" * 65}, "name: 1 to 64 characters of text required"),
                      ({"name": 5}, "name: 1 to 64 characters of text required"),
                      ([1, 2], "body: not a JSON object")]:
        got = c.request("/api/v1/board-tokens", "POST", body, csrf=c.csrf,
                        headers={"Content-Type": "application/json"})
        assert got[0] == 400, (body, got)
        assert error_message(got) == why, (body, error_message(got))
    expect(c.request("/api/v1/board-tokens/999", "DELETE", csrf=c.csrf), 404,
           "revoke unknown", "no such active board link")
    expect(c.request("/api/v1/board-tokens/abc", "DELETE", csrf=c.csrf), 404,
           "revoke non-numeric")
    expect(c.request("/api/v1/board-tokens/0", "DELETE", csrf=c.csrf), 404, "revoke 0")

    # 404, 405 (with Allow), 413, 414.
    assert error_message(expect(c.request("/nope"), 404, "unknown page")) == "not found"
    assert error_message(expect(c.request("/api/v1/nope"), 404, "unknown API")) == \
        "not found"
    st, hd, data = expect(c.request("/logout"), 405, "GET /logout")
    assert hd["Allow"] == "POST", hd["Allow"]
    st, hd, data = expect(c.request("/api/v1/board-tokens/1", "GET"), 405, "GET token")
    assert hd["Allow"] == "DELETE", hd["Allow"]
    st, hd, data = expect(c.request("/", "PUT", csrf=c.csrf), 405, "PUT /")
    assert "GET" in hd["Allow"]
    expect(c.request("/api/v1/board-tokens", "POST", "x" * 70000, csrf=c.csrf,
                     headers={"Content-Type": "application/json"}), 413, "huge body")
    assert error_message(expect(c.request("/" + "a" * 1100), 414, "long URL")) == \
        "URI too long"
    log("CSRF refused everywhere; 400/404/405/413/414 with messages")
    return c


def test_roles(env):
    env.add_user("vera", "viewer", "viewer-password")
    env.add_user("sam", "supervisor", "supervisor-password")
    v = Client(env, "10.0.0.6")
    v.login("vera", "viewer-password")
    expect(v.request("/"), 200, "viewer board")
    expect(v.request("/board.csv"), 200, "viewer CSV")
    expect(v.request("/api/v1/machines"), 200, "viewer API")
    st, hd, data = expect(v.request("/admin/tokens"), 403, "viewer admin page")
    assert error_message((st, hd, data)) == "this needs the admin role"
    expect(v.request("/api/v1/board-tokens"), 403, "viewer tokens API")
    expect(v.request("/api/v1/users"), 403, "viewer users API")
    expect(v.request("/api/v1/board-tokens", "POST", {"name": "x"}, csrf=v.csrf), 403,
           "viewer creates token")
    got = expect(v.request("/api/v1/machines", "POST", {}, csrf=v.csrf), 403,
                 "viewer POST passed on")
    assert "supervisor" in error_message(got)
    # Nav: no Admin entry for a viewer.
    assert b'href="/admin/tokens"' not in v.request("/")[2]
    s = Client(env, "10.0.0.7")
    s.login("sam", "supervisor-password")
    expect(s.request("/api/v1/machines", "POST", {}, csrf=s.csrf), 405,
           "supervisor POST passed on")
    expect(s.request("/admin/users"), 403, "supervisor admin page")
    log("roles enforced")
    return v


def test_board_links(env, admin):
    st, hd, data = expect(admin.request("/api/v1/board-tokens", "POST",
                                        {"name": "Line 1 <b>TV</b>"}, csrf=admin.csrf),
                          201, "create board link")
    tok = json.loads(data)
    assert tok["url"].endswith("/tv?token=" + tok["token"]), tok
    path = "/tv?token=" + tok["token"]
    anon = Client(env, "10.0.0.8")
    st, hd, data = expect(anon.request(path), 200, "TV board", 'class="tv"')
    assert b"Line 1 &lt;b&gt;TV&lt;/b&gt;" in data and b"<b>TV</b>" not in data
    assert b'http-equiv="refresh"' in data
    assert b"<form" not in data and b'href="/admin' not in data  # read-only
    assert "lb_session" not in anon.cookies
    # The token opens the TV page only.
    expect(anon.request("/?token=" + tok["token"]), 303, "board with token")
    expect(anon.request("/api/v1/machines?token=" + tok["token"]), 401, "API with token")
    lst = json.loads(expect(admin.request("/api/v1/board-tokens"), 200, "list")[2])
    mine = [t for t in lst if t["id"] == tok["id"]][0]
    assert mine["last_used"] and mine["revoked"] is None and "token" not in mine
    # The admin page escapes the stored name and shows the link only once.
    st, hd, data = expect(admin.request("/admin/tokens"), 200, "tokens page")
    assert b"Line 1 &lt;b&gt;TV&lt;/b&gt;" in data and tok["token"].encode() not in data
    # Create through the form: the page shows the link.
    st, hd, data = expect(admin.request("/admin/tokens", "POST",
                                        form={"name": "Hall 2", "csrf": admin.csrf}),
                          201, "form create")
    link = re.search(rb'id="new-link">([^<]+)<', data).group(1).decode()
    assert "/tv?token=" in link
    tv2 = link[link.index("/tv?"):]
    expect(anon.request(tv2), 200, "second link")
    # Revoke: API and form.
    expect(admin.request("/api/v1/board-tokens/%d" % tok["id"], "DELETE", csrf=admin.csrf),
           200, "revoke")
    got = expect(anon.request(path), 403, "revoked link")
    assert "revoked" in error_message(got)
    expect(admin.request("/api/v1/board-tokens/%d" % tok["id"], "DELETE", csrf=admin.csrf),
           404, "revoke twice")
    lst = json.loads(admin.request("/api/v1/board-tokens")[2])
    hall = [t for t in lst if t["name"] == "Hall 2"][0]
    st, hd, data = expect(admin.request("/admin/tokens/%d/revoke" % hall["id"], "POST",
                                        form={"csrf": admin.csrf}), 303, "form revoke")
    expect(anon.request(tv2), 403, "revoked by form")
    log("board links: created, used without login, revoked")


def test_metrics(env, viewer):
    anon = Client(env, "10.0.0.9")
    expect(anon.request("/metrics"), 401, "metrics anonymous")
    expect(anon.request("/metrics", headers={"Authorization": "Bearer wrong-token-xxxxxx"}),
           401, "metrics wrong bearer")
    expect(anon.request("/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN}),
           200, "metrics bearer", "linebeat_http_requests_total")
    # The bearer token opens /metrics only.
    expect(anon.request("/api/v1/machines",
                        headers={"Authorization": "Bearer " + METRICS_TOKEN}),
           401, "bearer elsewhere")
    expect(viewer.request("/metrics"), 200, "metrics with a session")
    log("metrics: session or bearer token")


def test_users_admin(env, admin):
    st, hd, data = expect(admin.request("/admin/users"), 200, "users page", "vera")
    expect(admin.request("/admin/users", "POST",
                         form={"user": "new.user", "role": "manager",
                               "password": "short", "csrf": admin.csrf}),
           400, "short password", "password:")
    expect(admin.request("/admin/users", "POST",
                         form={"user": "bad name", "role": "manager",
                               "password": "long-enough-1", "csrf": admin.csrf}),
           400, "bad user name")
    expect(admin.request("/admin/users", "POST",
                         form={"user": "new.user", "role": "king",
                               "password": "long-enough-1", "csrf": admin.csrf}),
           400, "bad role")
    expect(admin.request("/admin/users", "POST",
                         form={"user": "new.user", "role": "manager",
                               "password": "long-enough-1", "csrf": admin.csrf}),
           201, "add user")
    expect(admin.request("/admin/users", "POST",
                         form={"user": "NEW.USER", "role": "viewer",
                               "password": "long-enough-1", "csrf": admin.csrf}),
           409, "duplicate user")
    users = {u["user"]: u for u in json.loads(admin.request("/api/v1/users")[2])}
    assert users["new.user"]["role"] == "manager"
    m = Client(env, "10.0.0.10")
    m.login("new.user", "long-enough-1")
    # Disabling ends the session at once.
    expect(admin.request("/admin/users/%d" % users["new.user"]["id"], "POST",
                         form={"role": "manager", "disabled": "1", "csrf": admin.csrf}),
           200, "disable user")
    expect(m.request("/api/v1/session"), 401, "disabled user's session")
    # The last admin cannot lose the role.
    got = expect(admin.request("/admin/users/%d" % users["admin"]["id"], "POST",
                               form={"role": "viewer", "csrf": admin.csrf}),
                 409, "demote last admin")
    expect(admin.request("/admin/users/999", "POST",
                         form={"role": "viewer", "csrf": admin.csrf}), 404, "unknown user")
    log("user administration as expected")


def test_rate_limits(env):
    # Per address: 10 attempts at once, then refused before any password
    # check, with Retry-After.
    # One attempt comes back every 6 s, and a refused login costs an Argon2
    # hash (slow on a loaded machine), so count what got through against
    # the time it took.
    c = Client(env, "10.0.1.1")
    t0 = time.monotonic()
    allowed = 0
    for i in range(30):
        got = c.request("/api/v1/login", "POST", {"user": "nobody%d" % i,
                                                  "password": "wrong-password"})
        if got[0] == 429:
            break
        assert got[0] == 401, (i, got[0])
        allowed += 1
    elapsed = time.monotonic() - t0
    assert 10 <= allowed <= 10 + int(elapsed / 6) + 1, (allowed, elapsed)
    st, hd, data = expect(got, 429, "address limit")
    assert 1 <= int(hd["Retry-After"]) <= 6, hd["Retry-After"]
    assert "too many" in error_message((st, hd, data))
    # Another address is not affected.
    Client(env, "10.0.1.2").login("admin", env.users["admin"])
    # Per user: 5 failures from many addresses lock the name, even for the
    # right password, while other users still log in.
    for i in range(5):
        st = Client(env, "10.0.2.%d" % i).request(
            "/api/v1/login", "POST", {"user": "sam", "password": "wrong-password"})[0]
        assert st == 401, (i, st)
    expect(Client(env, "10.0.3.1").request("/api/v1/login", "POST",
                                           {"user": "sam",
                                            "password": "supervisor-password"}),
           429, "user limit")
    Client(env, "10.0.3.2").login("vera", "viewer-password")
    log("login rate limits per address and per user")


def test_http_auth(env):
    env.start_server(extra="trust_proxy = yes\nmetrics_token = %s\n" % METRICS_TOKEN)
    test_anonymous(env)
    test_login_form(env)
    admin = test_api_and_csrf(env)
    viewer = test_roles(env)
    test_board_links(env, admin)
    test_metrics(env, viewer)
    test_users_admin(env, admin)
    test_rate_limits(env)
    # Behind a proxy that says HTTPS, the cookie is Secure.
    hd = Client(env, "10.0.4.1").login("admin", env.users["admin"])
    c = Client(env, "10.0.4.2")
    st, hd, data = c.request("/api/v1/login", "POST",
                             {"user": "admin", "password": env.users["admin"]},
                             headers={"X-Forwarded-Proto": "https"})
    assert st == 200 and "; Secure" in hd["Set-Cookie"], hd["Set-Cookie"]


if __name__ == "__main__":
    lbtest.main(test_http_auth)
