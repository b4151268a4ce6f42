#!/usr/bin/env python3
"""HTTPS served directly by linebeat-server (libmicrohttpd with GnuTLS):
with tls_cert and tls_key set, the server speaks TLS only, the login works
over it and the session cookie is Secure.  A certificate without its key is
a configuration error, and a key that does not exist stops the start with a
message."""
import http.client
import json
import os
import ssl
import subprocess

import lbtest
from lbtest import log


def make_cert(env):
    cert = os.path.join(env.dir, "cert.pem")
    key = os.path.join(env.dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True,
                   timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def test_https(env):
    cert, key = make_cert(env)
    # Half a TLS configuration is refused by --check.
    bad = os.path.join(env.dir, "bad.ini")
    with open(bad, "w") as f:
        f.write("[server]\ndb = %s/x.db\ntls_cert = %s\n" % (env.dir, cert))
    r = subprocess.run([env.bin("linebeat-server"), "--check", bad], capture_output=True,
                       timeout=30)
    assert r.returncode == 1 and b"tls_cert and tls_key go together" in r.stderr, r

    env.start_server(extra="tls_cert = %s\ntls_key = %s\n" % (cert, key))
    ctx = ssl.create_default_context(cafile=cert)
    conn = http.client.HTTPSConnection("127.0.0.1", env.http_port, context=ctx, timeout=10)
    conn.request("GET", "/login")
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200 and b"<form" in body, (r.status, body[:200])
    log("TLS version", conn.sock.version())
    conn.request("POST", "/api/v1/login",
                 body=json.dumps({"user": "admin", "password": env.users["admin"]}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    cookie = r.headers["Set-Cookie"]
    assert r.status == 200, (r.status, body)
    assert "; Secure" in cookie and "HttpOnly" in cookie, cookie
    conn.request("GET", "/api/v1/session",
                 headers={"Cookie": cookie.split(";", 1)[0]})
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read())["user"] == "admin"
    conn.close()
    # Plain HTTP on the TLS port gets no page.
    plain = http.client.HTTPConnection("127.0.0.1", env.http_port, timeout=5)
    try:
        plain.request("GET", "/login")
        st = plain.getresponse().status
        assert st != 200, st
    except (OSError, http.client.HTTPException) as e:
        log("plain HTTP refused:", type(e).__name__)
    finally:
        plain.close()
    env.stop_server()

    # A missing key file: the server says so and exits non-zero.
    conf = env.server_conf()
    with open(conf) as f:
        text = f.read().replace(key, key + ".missing")
    with open(conf, "w") as f:
        f.write(text)
    r = subprocess.run([env.bin("linebeat-server"), "-c", conf, "-f"], capture_output=True,
                       timeout=30)
    assert r.returncode != 0 and b"tls_key" in r.stderr, r
    log("HTTPS served directly; half or broken TLS configurations refused")


if __name__ == "__main__":
    lbtest.main(test_https)
