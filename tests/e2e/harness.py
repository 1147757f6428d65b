"""Shared helpers for the end-to-end tests: a fresh database per test class,
the real boxoffice binary on a free port, HTTP calls and SQL assertions.

Standard library only. The private PostgreSQL is started by scripts/test and
described by BOXOFFICE_TEST_PG ("host=... port=... user=...")."""

import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

BINARIES = {}

# Every child process a test starts. Whatever a test does or fails to do, none
# of them outlives the test process: a failing test must not leave a server
# running (and holding its port and database) behind it.
_CHILDREN = set()


def _spawn(cmd, log, env=None):
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    _CHILDREN.add(proc)
    return proc


@atexit.register
def _kill_children():
    for proc in list(_CHILDREN):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _CHILDREN.clear()


def take_binaries(*names):
    """Strips binary paths (argv[1..]) off sys.argv so unittest ignores them."""
    for name in names:
        BINARIES[name] = sys.argv.pop(1)


def pg_setting(key):
    for part in os.environ["BOXOFFICE_TEST_PG"].split():
        k, _, v = part.partition("=")
        if k == key:
            return v
    raise KeyError(key)


def psql(db, sql, *args):
    """Runs SQL with psql; returns rows as lists of strings. Args become
    psql variables :v1, :v2 ... quoted as literals."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
           "-h", pg_setting("host"), "-p", pg_setting("port"), "-U", pg_setting("user"), "-d", db]
    for i, a in enumerate(args, 1):
        cmd += ["-v", f"v{i}={a}"]
    out = subprocess.run(cmd, input=sql, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line != ""]


def scalar(db, sql, *args):
    rows = psql(db, sql, *args)
    return rows[0][0] if rows else None


def fresh_database(prefix):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    psql("postgres", f'CREATE DATABASE "{name}"')
    return name


def database_url(db):
    return f"postgresql://{pg_setting('user')}@{pg_setting('host')}:{pg_setting('port')}/{db}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The built boxoffice binary against a given database."""

    def __init__(self, db, *extra, port=None, env=None):
        self.db = db
        self.port = port or free_port()
        self.extra = list(extra)
        self.env = {**os.environ, **env} if env else None
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix="boxoffice-", suffix=".log", delete=False)

    def start(self, wait=True):
        cmd = [BINARIES["boxoffice"], "--config", "/dev/null",
               "--database.url", database_url(self.db), "--http.port", str(self.port),
               "--log.level", "warn"] + self.extra
        if "--admin.port" not in self.extra:
            cmd += ["--admin.port", "0"]
        self.proc = _spawn(cmd, self.log, self.env)
        if wait:
            try:
                self.wait_healthy()
            except BaseException:
                self.kill()
                raise
        return self

    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, _, _ = self.call("GET", "/health", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become healthy:\n" + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within %ss" % timeout)
            finally:
                _CHILDREN.discard(self.proc)
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        _CHILDREN.discard(self.proc)

    def call(self, method, path, body=None, headers=None, timeout=30, raw=None):
        return call(self.port, method, path, body, headers, timeout, raw)


def call(port, method, path, body=None, headers=None, timeout=30, raw=None):
    """One HTTP request on a new connection: (status, parsed JSON or text, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        text = res.read().decode()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return res.status, parsed, dict(res.getheaders())
    finally:
        conn.close()


def parallel(fns, threads=64):
    """Runs callables concurrently; returns their results in order."""
    results = [None] * len(fns)
    lock = threading.Lock()
    index = iter(range(len(fns)))

    def worker():
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            try:
                results[i] = fns[i]()
            except Exception as e:  # keep going; the caller asserts
                results[i] = e

    ts = [threading.Thread(target=worker) for _ in range(min(threads, len(fns)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def main():
    unittest.main(verbosity=2)


class Simulator:
    """The data-platform simulator (tools/dpsim) on a free port."""

    def __init__(self, secret=None):
        self.port_file = tempfile.NamedTemporaryFile(prefix="dpsim-", suffix=".port", delete=False).name
        os.unlink(self.port_file)
        cmd = [BINARIES["dpsim"], "--port", "0", "--port-file", self.port_file]
        if secret:
            cmd += ["--secret", secret]
        self.log = tempfile.NamedTemporaryFile(prefix="dpsim-", suffix=".log", delete=False)
        self.proc = _spawn(cmd, self.log)
        deadline = time.time() + 10
        while not (os.path.exists(self.port_file) and open(self.port_file).read().strip()):
            if time.time() > deadline:
                self.proc.kill()
                raise AssertionError("dpsim did not start")
            time.sleep(0.05)
        self.port = int(open(self.port_file).read().strip())
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None):
        status, parsed, _ = call(self.port, method, path, body, timeout=10)
        assert status == 200, (status, parsed)
        return parsed

    def stats(self):
        return self.call("GET", "/stats")

    def events(self):
        return self.call("GET", "/events")["events"]

    def faults(self, **faults):
        return self.call("POST", "/faults", faults)

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def wait_reachable(self, timeout=30):
        """After refuseSeconds the simulator's own port refuses too: wait it out."""
        def up():
            try:
                return call(self.port, "GET", "/health", timeout=1)[0] == 200
            except OSError:
                return False
        wait_until(up, timeout, "the simulator did not come back")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        _CHILDREN.discard(self.proc)


def wait_until(predicate, timeout, message, interval=0.1):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(message)
        time.sleep(interval)


def pending_events(db):
    return int(scalar(db, "SELECT count(*) FROM outbox WHERE status = 'PENDING'"))


def admin_call(port, method, path, key, body=None):
    return call(port, method, path, body, headers={"Authorization": f"Bearer {key}"})
