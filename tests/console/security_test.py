#!/usr/bin/env python3
"""Security tests of breachwatch-console over HTTP (no browser needed): each refusal is checked
and, where docs/console.md says so, found in the console's event file or the daemon's audit log.

  wrong password; repeated failures rate-limited; no session; missing and wrong CSRF token; a
  role that may not see a page; an alert the user may not act on; the person page without a
  reason; cookie flags; plain HTTP on a non-loopback address (exit 78 naming the key); HTTPS
  with a certificate; the event stream resuming from Last-Event-ID.

usage: security_test.py BUILD_DIR SOURCE_DIR
"""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def events(stack, kind):
    return [e for e in stack.console_events() if e["event"] == kind]


def curve_section(build_dir, source_dir):
    """The daemon in security.mode curve: the console connects with its own key (administrator,
    identity CONSOLE-1) and acts for the user, audited "on behalf of" them."""
    stack = harness.Stack(build_dir, source_dir, curve=True)
    try:
        stack.start_daemon()
        stack.feed(harness.bail_granted(harness.now_iso(-7200), harness.now_iso(28 * 86400)),
                   harness.person_check(harness.now_iso(), [-0.0268, 51.4560]))
        stack.start_console()
        breach = wait_for(lambda: [a for a in stack.alerts()
                                   if a["kind"] == "exclusion_zone_breach"], what="a breach")[0]
        _, token = stack.login("cr-lewisham")
        s = stack.session(token)
        resp, data = stack.request("GET", "/api/queue", cookie=token)
        ids = [a["alert_id"] for a in json.loads(data).get("alerts", [])] if resp.status == 200 else []
        check(breach["alert_id"] in ids, f"curve: the queue through CURVE ({resp.status})")
        resp, _ = stack.request("POST", "/api/ack", {"alert_id": breach["alert_id"]},
                                {"X-CSRF-Token": s["csrf"]}, cookie=token)
        check(resp.status == 200, "curve: acknowledged through CURVE")
        acks = stack.audit_rows("alert.ack")
        check(acks and acks[-1][0] == "CONSOLE-1" and "on behalf of CR-LEWISHAM" in acks[-1][4],
              f"curve: daemon audit actor CONSOLE-1, on behalf of CR-LEWISHAM ({acks})")
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        conn.request("GET", "/events", headers={"Cookie": f"bw_session={token}",
                                                "Last-Event-ID": "0"})
        r = conn.getresponse()
        got = b""
        while b"event: alert" not in got:
            got += r.fp.readline()
        conn.close()
        check(b"id: " in got, "curve: the event stream reads alerts.since through CURVE")
    except Exception:
        print("--- console log ---\n" + stack.log("console.log"))
        print("--- daemon log ---\n" + stack.log("breachwatchd.log"))
        raise
    finally:
        stack.close()


def main():
    build_dir, source_dir = sys.argv[1], sys.argv[2]
    stack = harness.Stack(build_dir, source_dir, max_failures=3)
    try:
        stack.start_daemon()
        stack.feed(harness.bail_granted(harness.now_iso(-7200), harness.now_iso(28 * 86400)),
                   harness.person_check(harness.now_iso(), [-0.0268, 51.4560]))
        stack.start_console()
        alerts = wait_for(lambda: [a for a in stack.alerts()
                                   if a["kind"] == "exclusion_zone_breach"], what="a breach")
        breach = alerts[0]

        # --- log in: right and wrong password; the cookie's flags ---
        resp, token = stack.login("cr-lewisham")
        check(resp.status == 303 and token, "right password: 303 and a session cookie")
        cookie = resp.getheader("Set-Cookie")
        check(all(f in cookie for f in ("HttpOnly", "Secure", "SameSite=Strict")),
              f"cookie flags HttpOnly; Secure; SameSite=Strict ({cookie})")
        check(any(e["username"] == "cr-lewisham" and e.get("identity") == "CR-LEWISHAM"
                  for e in events(stack, "login")), "login recorded in the console event file")
        resp, bad = stack.login("cr-lewisham", "not-the-password")
        check(bad is None and resp.status == 303 and "error" in resp.getheader("Location"),
              "wrong password: no cookie, back to the login page")
        check(any(e.get("username") == "cr-lewisham" and e["detail"] == "wrong password"
                  for e in events(stack, "login_failed")), "failed login recorded")
        form = "username=cr-lewisham&password=" + harness.PASSWORDS["cr-lewisham"]
        resp, _ = stack.request("POST", "/login", form,
                                {"Content-Type": "application/x-www-form-urlencoded",
                                 "Origin": "https://evil.example"})
        check(resp.status == 403 and not resp.getheader("Set-Cookie"),
              "login form posted from another site: 403, no session (login CSRF)")
        resp, bad = stack.login("nobody", "whatever-it-is")
        check(bad is None, "unknown user: no cookie")

        # --- rate limit: max_failures = 3 for the same username ---
        stack.login("pc1234", "wrong-1")
        stack.login("pc1234", "wrong-2")
        stack.login("pc1234", "wrong-3")
        resp, bad = stack.login("pc1234")  # the right password, but locked out
        check(resp.status == 429 and bad is None, "after 3 failures even the right password: 429")
        check(events(stack, "login_rate_limited"), "rate-limited login recorded")

        # --- no session ---
        resp, _ = stack.request("GET", "/")
        check(resp.status == 303 and resp.getheader("Location") == "/login",
              "page without a session: redirect to /login")
        resp, _ = stack.request("GET", "/api/queue")
        check(resp.status == 401, "API without a session: 401")
        resp, _ = stack.request("POST", "/api/ack", {"alert_id": breach["alert_id"]})
        check(resp.status == 401, "ack without a session: 401")
        resp, _ = stack.request("GET", "/api/queue", cookie="0" * 64)
        check(resp.status == 401, "API with an invented session: 401")
        check(events(stack, "unauthenticated"), "requests without a session recorded")

        # --- CSRF ---
        s = stack.session(token)
        resp, _ = stack.request("POST", "/api/ack", {"alert_id": breach["alert_id"]}, cookie=token)
        check(resp.status == 403, "ack without the CSRF token: 403")
        resp, _ = stack.request("POST", "/api/ack", {"alert_id": breach["alert_id"]},
                                {"X-CSRF-Token": "f" * 64}, cookie=token)
        check(resp.status == 403, "ack with a wrong CSRF token: 403")
        check(len(events(stack, "csrf_refused")) >= 2, "CSRF refusals recorded")
        check(not stack.audit_rows("alert.ack"), "the daemon was never asked to acknowledge")
        resp, data = stack.request("POST", "/api/ack", {"alert_id": breach["alert_id"]},
                                   {"X-CSRF-Token": s["csrf"]}, cookie=token)
        check(resp.status == 200 and json.loads(data)["alert"]["acked"],
              "ack with the right CSRF token: acknowledged")
        acks = stack.audit_rows("alert.ack")
        check(acks and acks[-1][0] == "CR-LEWISHAM", f"daemon audit: ack by CR-LEWISHAM ({acks})")
        resp, data = stack.request("POST", "/api/resolve",
                                   {"alert_id": breach["alert_id"], "outcome": "no_action"},
                                   {"X-CSRF-Token": s["csrf"]}, cookie=token)
        check(resp.status == 400 and "note" in json.loads(data)["error"],
              "no_action without a note: 400")

        # --- roles (pc1234 is locked out above: the officer checks use a user added now) ---
        resp, admin = stack.login("admin")
        check(admin is not None, "administrator logs in")
        resp, _ = stack.request("GET", "/api/status", cookie=admin)
        check(resp.status == 200, "administrator sees feed health")

        # --- a role that may not see a page: an officer and the reports ---
        with open(stack.users_file) as f:
            users_before = f.read()
        with open(stack.users_file, "a") as f:
            harness.PASSWORDS["pc2222"] = "officer-pc2222-pw"
            f.write("\n" + stack.hash_entry("pc2222", "MP-PC2222", "officer", []))
        resp, officer = stack.login("pc2222")
        check(officer is not None, "officer logs in (users file re-read at login)")
        for path in ("/reports", "/api/status", "/api/unactioned"):
            resp, _ = stack.request("GET", path, cookie=officer)
            check(resp.status == 403, f"officer GET {path}: 403")
        check(len(events(stack, "forbidden")) >= 3, "role refusals recorded")
        resp, data = stack.request("GET", "/api/queue", cookie=officer)
        check(resp.status == 200 and json.loads(data)["alerts"] == [],
              "officer MP-PC2222 sees none of the alerts sent to others")
        osess = stack.session(officer)
        resp, _ = stack.request("POST", "/api/resolve",
                                {"alert_id": breach["alert_id"], "outcome": "warned"},
                                {"X-CSRF-Token": osess["csrf"]}, cookie=officer)
        check(resp.status == 403, "officer may not resolve an alert not sent to them: 403")
        check(not stack.audit_rows("alert.resolve"), "the daemon was never asked to resolve")
        # Removed from the users file: the session ends at its next request.
        with open(stack.users_file, "w") as f:
            f.write(users_before)
        resp, _ = stack.request("GET", "/api/queue", cookie=officer)
        check(resp.status == 401, "officer removed from the users file: the session is refused")

        # --- person page: no reason, then a reason (audited by the daemon) ---
        resp, data = stack.request("POST", "/api/person", {"person_id": "PNC-79/123456X"},
                                   {"X-CSRF-Token": s["csrf"]}, cookie=token)
        check(resp.status == 400 and "reason" in json.loads(data)["error"],
              "person record without a reason: 400")
        before = len(stack.audit_rows("conditions.person"))
        resp, data = stack.request("POST", "/api/person",
                                   {"person_id": "PNC-79/123456X", "reason": "security test"},
                                   {"X-CSRF-Token": s["csrf"]}, cookie=token)
        body = json.loads(data)
        check(resp.status == 200 and body["conditions"]["instruments"]
              and "<html" in body["document_html"].lower(),
              "person record with a reason: conditions and the court document")
        rows = stack.audit_rows("conditions.person")
        check(len(rows) == before + 1 and rows[-1][0] == "CR-LEWISHAM"
              and rows[-1][2] == "security test",
              f"daemon audit: consultation by CR-LEWISHAM with the reason ({rows[-1:]})")

        # --- the event stream resumes from Last-Event-ID ---
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        conn.request("GET", "/events", headers={"Cookie": f"bw_session={token}",
                                                "Last-Event-ID": str(breach["seq"] - 1)})
        resp = conn.getresponse()
        first = b""
        while b"event: alert" not in first:
            first += resp.fp.readline()
        first += resp.fp.readline()
        conn.close()
        check(f"id: {breach['seq']}".encode() in first and
              resp.getheader("Content-Type") == "text/event-stream",
              "event stream with Last-Event-ID: resumes at the next alert")

        # --- a stream opened while the daemon is down starts at the daemon's newest alert once
        # it answers: no replay of the history as if it were new ---
        head = max(a["seq"] for a in stack.alerts())
        stack.stop_daemon()
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=20)
        conn.request("GET", "/events", headers={"Cookie": f"bw_session={token}"})
        resp = conn.getresponse()
        lines = []
        while not any(b'"ok":false' in line for line in lines):
            lines.append(resp.fp.readline())
        check(not any(line.startswith(b"id:") for line in lines),
              "daemon down: the stream says so and sends nothing")
        stack.start_daemon()
        # The stream says the daemon answers again once it has its starting point; then a check.
        while b'"ok":true' not in resp.fp.readline():
            pass
        stack.feed(harness.person_check(harness.now_iso(), [-0.0268, 51.4560], officer="MP-PC4321"))
        ids = []
        while True:
            line = resp.fp.readline()
            if line.startswith(b"id: "):
                ids.append(int(line[4:]))
            if line.startswith(b"event: alert"):
                break
        conn.close()
        check(ids and min(ids) > head,
              f"daemon back: the stream starts after seq {head}, not at 0 (ids {ids})")

        # --- logout ends the session ---
        resp, _ = stack.request("POST", "/logout", {}, {"X-CSRF-Token": s["csrf"]}, cookie=token)
        check(resp.status == 200, "logout")
        resp, _ = stack.request("GET", "/api/queue", cookie=token)
        check(resp.status == 401, "after logout the session is gone")

        # --- --check: the test config passes, naming what it found ---
        out = subprocess.run([stack.binary("breachwatch-console"), "--config",
                              stack.console_config, "--check"],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0 and "configuration OK" in out.stdout and "user(s)" in out.stdout,
              f"--check of a good config: exit {out.returncode}")

        # --- plain HTTP on a non-loopback address: refused at start-up, exit 78 ---
        cfg = stack.write_console_config(f"0.0.0.0:{harness.free_port()}", name="public.toml")
        out = subprocess.run([stack.binary("breachwatch-console"), "--config", cfg],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 78 and "http.tls_certificate_file" in out.stderr,
              f"plain HTTP on 0.0.0.0: exit {out.returncode}, {out.stderr.strip()}")
        out = subprocess.run([stack.binary("breachwatch-console"), "--config", cfg, "--check"],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 78, "--check refuses it too")

        # --- HTTPS with a certificate, on a non-loopback address ---
        if shutil.which("openssl"):
            crt, key = os.path.join(stack.dir, "console.crt"), os.path.join(stack.dir, "console.key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "2", "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                           check=True, capture_output=True)
            port = harness.free_port()
            cfg = stack.write_console_config(
                f"0.0.0.0:{port}",
                f'tls_certificate_file = "{crt}"\ntls_private_key_file = "{key}"\n',
                name="tls.toml",
                map_extra='tile_url = "https://{s}.tiles.example.police.uk/{z}/{x}/{y}.png"\n')
            proc = subprocess.Popen([stack.binary("breachwatch-console"), "--config", cfg],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                line = proc.stdout.readline()
                check("https://" in line, f"TLS console starts: {line.strip()}")
                ctx = ssl.create_default_context(cafile=crt)
                ctx.check_hostname = False
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
                conn.request("GET", "/login")
                r = conn.getresponse()
                r.read()
                check(r.status == 200 and r.getheader("Strict-Transport-Security"),
                      "HTTPS login page with Strict-Transport-Security")
                csp = r.getheader("Content-Security-Policy") or ""
                check("img-src 'self' data: https://*.tiles.example.police.uk;" in csp
                      and "script-src 'self';" in csp,
                      f"map.tile_url: its origin, and only it, is allowed for images ({csp})")
                plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    plain.request("GET", "/login")
                    plain_status = plain.getresponse().status
                except (OSError, http.client.HTTPException):
                    plain_status = None
                check(plain_status is None, "plain HTTP to the TLS port gets no page")
            finally:
                proc.terminate()
                proc.wait(timeout=20)
        else:
            print("skip HTTPS check: no openssl command")
    except Exception:
        print("--- console log ---\n" + stack.log("console.log"))
        print("--- daemon log ---\n" + stack.log("breachwatchd.log"))
        raise
    finally:
        stack.close()
    curve_section(build_dir, source_dir)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("security test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
