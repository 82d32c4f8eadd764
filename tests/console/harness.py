"""Test harness for breachwatch-console: a real breachwatchd, a real console, feed events played
with bw-feedsim, and HTTP helpers.  Used by browser_test.py and security_test.py (ctest).

Everything runs in a private temporary directory; endpoints are ipc:// sockets in it, the
console listens on a free loopback port.  Nothing here sleeps to assert timing: waits poll a
condition with a deadline.
"""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

PASSWORDS = {
    "cr-lewisham": "lewisham-control-1",
    "pc1234": "officer-pc1234-pw",
    "admin": "administrator-pw-1",
}


def wait_for(pred, timeout=15.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    value = pred()
    if not value:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")
    return value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """breachwatchd + breachwatch-console in a temporary directory."""

    def __init__(self, bin_dir, source_dir, max_failures=5, curve=False):
        self.bin_dir = os.path.abspath(bin_dir)
        self.source_dir = os.path.abspath(source_dir)
        self.dir = tempfile.mkdtemp(prefix="bw-console-test-")
        self.daemon = None
        self.console = None
        self.port = free_port()
        self.seq = {}
        self.event_counter = 0
        self.max_failures = max_failures
        d = self.dir
        self.endpoints = {
            "alerts": f"ipc://{d}/alerts.sock",
            "control": f"ipc://{d}/control.sock",
        }
        self.feeds = {name: f"ipc://{d}/feed-{name}.sock" for name in ("orders", "check")}
        self.curve = curve
        if curve:
            self.make_keys()
        self.daemon_config = os.path.join(d, "breachwatch.toml")
        with open(self.daemon_config, "w") as f:
            if curve:
                f.write(f'[security]\nmode = "curve"\nserver_secret_key_file = "{d}/keys/server.key"\n'
                        f'clients_file = "{d}/clients.toml"\n\n')
            f.write(f'[store]\npath = "{d}/breachwatch.db"\n\n')
            f.write(f'[[zones]]\nfile = "{self.source_dir}/config/zones/london_lad22_bgc_wgs84.geojson"\n'
                    'code_property = "LAD22CD"\nname_property = "LAD22NM"\n\n')
            f.write(f'[alerts]\nendpoint = "{self.endpoints["alerts"]}"\n\n')
            f.write(f'[control]\nendpoint = "{self.endpoints["control"]}"\n\n')
            for name, ep in self.feeds.items():
                f.write(f'[[feeds]]\nname = "{name}"\nendpoint = "{ep}"\nsilent_after_s = 3600\n\n')
        self.users_file = os.path.join(d, "users.toml")
        entries = [
            self.hash_entry("cr-lewisham", "CR-LEWISHAM", "control_room", ["E09000023"]),
            self.hash_entry("pc1234", "MP-PC1234", "officer", []),
            self.hash_entry("admin", "ADMIN-1", "administrator", []),
        ]
        with open(self.users_file, "w") as f:
            f.write("\n".join(entries))
        self.audit_file = os.path.join(d, "console-audit.jsonl")
        self.console_config = self.write_console_config(f"127.0.0.1:{self.port}")

    # --- set-up ---

    def make_keys(self):
        """security.mode curve: the server's key, the console's (administrator, CONSOLE-1), the
        feed simulator's and breachctl's; the allow-list."""
        keys = os.path.join(self.dir, "keys")
        entries = []
        for name, args in (("server", ["--role", "server"]),
                           ("console", ["--role", "administrator", "--identity", "CONSOLE-1"]),
                           ("feeds", ["--role", "feed", "--feed", "orders", "--feed", "check"]),
                           ("ctl", ["--role", "administrator", "--identity", "TEST"])):
            out = subprocess.run([self.binary("breachctl"), "keys", "generate", name, "--dir", keys,
                                  *args], capture_output=True, text=True, check=True)
            if name != "server":
                entries.append(out.stdout)
        with open(os.path.join(self.dir, "clients.toml"), "w") as f:
            f.write("\n".join(entries))

    def curve_args(self, name):
        if not self.curve:
            return []
        keys = os.path.join(self.dir, "keys")
        return ["--server-key", f"{keys}/server.pub", "--client-key", f"{keys}/{name}.key"]

    def binary(self, name):
        sub = {"breachwatchd": "daemon", "breachctl": "tools", "bw-feedsim": "tools",
               "breachwatch-console": "console"}[name]
        return os.path.join(self.bin_dir, sub, name)

    def hash_entry(self, username, identity, role, control_ids):
        args = [self.binary("breachwatch-console"), "hash-password", "--username", username,
                "--identity", identity, "--role", role]
        for c in control_ids:
            args += ["--control-id", c]
        out = subprocess.run(args, input=PASSWORDS[username] + "\n", capture_output=True,
                             text=True, check=True)
        return out.stdout

    def write_console_config(self, listen, extra="", name="console.toml", map_extra=""):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(f'[http]\nlisten = "{listen}"\nstatic_dir = "{self.source_dir}/console/static"\n{extra}\n')
            f.write(f'[daemon]\ncontrol_endpoint = "{self.endpoints["control"]}"\n'
                    f'alerts_endpoint = "{self.endpoints["alerts"]}"\nrequest_timeout_ms = 3000\n'
                    'poll_interval_s = 5\n\n')
            if self.curve:
                keys = os.path.join(self.dir, "keys")
                f.write(f'server_public_key_file = "{keys}/server.pub"\n'
                        f'client_secret_key_file = "{keys}/console.key"\n\n')
            f.write(f'[users]\nfile = "{self.users_file}"\n\n')
            f.write(f'[login]\nmax_failures = {self.max_failures}\nfailure_window_s = 600\n\n')
            f.write(f'[audit]\nfile = "{self.audit_file}"\n\n')
            f.write(f'[map]\nzones_file = "{self.source_dir}/config/zones/london_lad22_bgc_wgs84.geojson"\n'
                    f'{map_extra}')
        return path

    def start_daemon(self):
        log = open(os.path.join(self.dir, "breachwatchd.log"), "a")
        self.daemon = subprocess.Popen([self.binary("breachwatchd"), "--config", self.daemon_config],
                                       stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        def up():
            if self.daemon.poll() is not None:
                raise AssertionError("breachwatchd exited: " + self.log("breachwatchd.log"))
            return self.ctl("status", check=False).returncode == 0
        wait_for(up, what="breachwatchd status")

    def stop_daemon(self):
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(timeout=30)
        self.daemon = None

    def start_console(self):
        self.console_log = open(os.path.join(self.dir, "console.log"), "a")
        self.console = subprocess.Popen(
            [self.binary("breachwatch-console"), "--config", self.console_config],
            stdout=self.console_log, stderr=subprocess.STDOUT, cwd=self.dir)

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                if self.console.poll() is not None:
                    raise AssertionError("console exited: " + self.log("console.log"))
                return False
        wait_for(up, what="the console to listen")

    def close(self):
        for proc in (self.console, self.daemon):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if os.environ.get("BW_KEEP_TEST_DIRS") is None:
            subprocess.run(["rm", "-rf", self.dir])

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    # --- the daemon side ---

    def ctl(self, *args, check=True):
        return subprocess.run([self.binary("breachctl"), "--config", self.daemon_config,
                               *self.curve_args("ctl"), "--officer", "TEST", "--reason", "console test", "--timeout-ms",
                               "500", *args], capture_output=True, text=True, check=check)

    def feed(self, *events):
        """Publishes events on their feeds with bw-feedsim (explicit source, seq and id), one at a
        time: each is stored before the next is sent.  Events of different types travel on
        different feeds (orders, checks, tags), and the daemon keeps order only within a feed, so
        a grant sent in the same run as a person check may be matched after it; the tests mean
        them in the order given."""
        for e in events:
            e = dict(e)
            source = e.setdefault("source", "console-test-" + e["type"].split(".")[0])
            self.seq[source] = self.seq.get(source, 0) + 1
            self.event_counter += 1
            e.setdefault("seq", self.seq[source])
            e.setdefault("id", f"console-test-{self.event_counter}")
            self._feed_one(json.dumps({"event": e}))

    def _feed_one(self, line):
        path = os.path.join(self.dir, f"scenario-{self.event_counter}.jsonl")
        with open(path, "w") as f:
            f.write(line + "\n")
        before = self.inbound_rows()
        # PUB/SUB may lose what is sent while a connection is being made: play the same event
        # again (same id and seq: if it had arrived it is a duplicate) until it is stored.
        for attempt in range(3):
            subprocess.run([self.binary("bw-feedsim"), "--config", self.daemon_config,
                            *self.curve_args("feeds"), path],
                           check=True, capture_output=True, text=True)
            try:
                wait_for(lambda: self.inbound_rows() >= before + 1, timeout=5.0,
                         what="the event stored")
                return
            except AssertionError:
                if attempt == 2:
                    raise

    def inbound_rows(self):
        try:
            with self.db() as conn:
                return conn.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
        except sqlite3.Error:
            return 0

    def db(self):
        return sqlite3.connect(f"file:{self.dir}/breachwatch.db?mode=ro", uri=True, timeout=10)

    def alerts(self):
        """Every stored alert payload, by seq."""
        with self.db() as conn:
            rows = conn.execute("SELECT seq, payload FROM alerts ORDER BY seq").fetchall()
        return [json.loads(p) for _, p in rows]

    def audit_rows(self, op):
        with self.db() as conn:
            return conn.execute("SELECT actor, op, reason, outcome, detail FROM audit_log "
                                "WHERE op = ? ORDER BY id", (op,)).fetchall()

    def console_events(self):
        try:
            with open(self.audit_file) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    # --- the console side ---

    def request(self, method, path, body=None, headers=None, cookie=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        h = dict(headers or {})
        if cookie:
            h["Cookie"] = f"bw_session={cookie}"
        if isinstance(body, dict):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def login(self, username, password=None):
        """Returns (response, session token or None)."""
        form = urllib.parse.urlencode({"username": username,
                                       "password": password or PASSWORDS[username]})
        resp, _ = self.request("POST", "/login", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        cookie = resp.getheader("Set-Cookie") or ""
        token = None
        if cookie.startswith("bw_session="):
            token = cookie.split(";")[0].split("=", 1)[1]
        return resp, token

    def session(self, token):
        resp, data = self.request("GET", "/api/session", cookie=token)
        assert resp.status == 200, (resp.status, data)
        return json.loads(data)


# A bail whose conditions the tests check: the London Borough of Lewisham excluded, a
# protected person's home not to be attended.
def bail_granted(now_iso, valid_until_iso):
    return {
        "type": "instrument.granted", "time": now_iso,
        "instrument": {
            "instrument_id": "BAIL/LW/2016/0412", "kind": "police_bail",
            "subject": "PNC-79/123456X", "protected_persons": ["PNC-72/654321Y"],
            "case_ref": "01LW/12345/16", "offence": "common assault", "oic": "MP-PC1234",
            "supervisor": "MP-DS0077", "owning_control": "E09000023",
            "valid_from": now_iso, "valid_until": valid_until_iso,
            "conditions": [
                {"condition_id": "c1", "kind": "exclusion_zone", "zone": "E09000023"},
                {"condition_id": "c2", "kind": "not_to_attend",
                 "place": {"label": "protected person's home", "at": [-0.0205, 51.4452],
                           "radius_m": 100}},
                {"condition_id": "c6", "kind": "other",
                 "text": "must report to Lewisham police station on Mondays"},
            ]}}


def person_check(now_iso, at, officer="MP-PC5555", reason="stop check"):
    return {"type": "check.person", "time": now_iso, "person_id": "PNC-79/123456X",
            "officer_id": officer, "at": at, "reason": reason}


def now_iso(offset_s=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))
