"""End to end: the operator side. Inspection tells the truth, /metrics is
valid Prometheus text that moves with traffic, the admin key is enforced,
overload is shed with 503 + Retry-After, the console renders live figures in
a real browser, and the load driver's invariant check catches a broken run."""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness as h
from booking_test import FAST_QUEUE, Fan, check_database_invariants

KEY = "operator-key"
METRIC_LINE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
    r'[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$')


def parse_metrics(text):
    """Validates the Prometheus text format; returns {series: value}."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        assert METRIC_LINE.match(line), f"not Prometheus text: {line!r}"
        series, value = line.rsplit(" ", 1)
        values[series] = float(value)
    return values


def open_console(browser, admin_port, *action):
    """Loads the console in headless Chromium with the key; `action` is
    --dump-dom or --screenshot=PATH. Virtual time lets the page's refreshes
    and their requests run before the DOM or the picture is taken."""
    url = f"http://127.0.0.1:{admin_port}/admin/#key={KEY}"
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    try:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--virtual-time-budget=5000", "--window-size=1400,2600", *action, url],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class LockedWallet:
    """Holds a user's wallet row locked in another session, so everything that
    writes it waits: a way to freeze work mid-way, deterministically."""

    def __init__(self, db, user):
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-h", h.pg_setting("host"), "-p", h.pg_setting("port"),
             "-U", h.pg_setting("user"), "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        # psql then waits for more input, holding the lock in an open transaction.
        self.proc.stdin.write(f"BEGIN; SELECT * FROM wallets WHERE user_id = {int(user)} FOR UPDATE;\n")
        self.proc.stdin.flush()
        time.sleep(0.5)

    def release(self):
        self.proc.stdin.write("ROLLBACK;\n")
        self.proc.stdin.close()
        self.proc.wait(10)


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Simulator()
        cls.db = h.fresh_database("admin")
        cls.admin_port = h.free_port()
        # Payments run the step-by-step saga here, so that a saga stopped
        # midway can be inspected (the one-transaction path has no steps).
        cls.server = h.Server(cls.db, *FAST_QUEUE, "--admin.port", str(cls.admin_port),
                              "--admin.key", KEY, "--dataplatform.url", cls.sim.url,
                              "--http.max_in_flight", "4",
                              "--payments.one_commit", "false").start()
        cls.users = iter(range(7000, 10**6))

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.sim.stop()
        assert code == 0, cls.server.output()

    def admin(self, path, method="GET", key=KEY):
        return h.admin_call(self.admin_port, method, path, key)

    def fan(self, points=0):
        f = Fan(self.server, next(self.users))
        if points:
            f.charge(points)
        return f.enter()

    def test_admin_key_is_enforced(self):
        for path in ["/admin/actors", "/admin/queue", "/admin/outbox", "/metrics", "/admin/sagas",
                     "/admin/trends"]:
            self.assertEqual(h.call(self.admin_port, "GET", path)[0], 401, path)
            self.assertEqual(self.admin(path, key="wrong")[0], 401, path)
            self.assertEqual(self.admin(path)[0], 200, path)

    def test_admin_port_is_loopback_only(self):
        addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
        others = [a for a in addresses if not a.startswith("127.") and ":" not in a]
        if not others:
            self.skipTest("this machine has no non-loopback IPv4 address")
        with self.assertRaises(OSError):
            socket.create_connection((others[0], self.admin_port), timeout=2).close()
        socket.create_connection(("127.0.0.1", self.admin_port), timeout=2).close()

    def test_inspection_tells_the_truth_about_seats(self):
        f = self.fan()
        status, held, _ = f.hold(8, 13)
        self.assertEqual(status, 201)
        status, body, _ = self.admin("/admin/actors/seat/8/13")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["memory"]["status"], "HELD")
        self.assertEqual(body["memory"]["reservationId"], held["reservationId"])
        self.assertEqual(body["database"]["liveReservation"]["id"], held["reservationId"])
        status, summary, _ = self.admin("/admin/actors")
        self.assertGreaterEqual(summary["actors"]["seat"], 1)
        self.assertEqual(summary["actors"]["dispatcher"], 1)
        self.assertLessEqual(len(summary["deepestMailboxes"]), 10)
        body = self.admin(f"/admin/actors/reservation/{held['reservationId']}")[1]
        self.assertEqual((body["memory"]["status"], body["database"]["status"]), ("HELD", "HELD"))

    def test_saga_stopped_midway_shows_its_step(self):
        f = self.fan(300000)
        status, held, _ = f.hold(8, 20)
        lock = LockedWallet(self.db, f.user)
        result = {}
        payer = threading.Thread(target=lambda: result.update(r=f.pay(held["reservationId"])))
        payer.start()
        try:
            def running():
                sagas = self.admin("/admin/sagas?state=RUNNING")[1]
                return [s for s in sagas if s["reservationId"] == held["reservationId"]
                        and s["step"] == "RESERVE"]
            saga = h.wait_until(running, 10, "the saga never showed as running")[0]
            # Reserved; the debit waits on the lock.
            self.assertEqual([s["step"] for s in saga["steps"]], ["BEGIN", "RESERVE"])
            memory = self.admin(f"/admin/actors/saga/{saga['id']}")[1]["memory"]
            self.assertEqual(memory["step"], "DEBIT")
        finally:
            lock.release()
            payer.join()
        self.assertEqual(result["r"][0], 201)
        done = self.admin("/admin/sagas?state=COMPLETED")[1]
        self.assertIn(held["reservationId"], [s["reservationId"] for s in done])

    def test_metrics_parse_and_move_with_traffic(self):
        before = parse_metrics(self.admin("/metrics")[1])
        f = self.fan()
        for _ in range(3):
            self.server.call("GET", "/api/v1/concerts")
        after = parse_metrics(self.admin("/metrics")[1])
        # Every series carries the node's id first: several nodes' series stay apart.
        key = 'boxoffice_http_requests_total{node="node-1",route="GET /api/v1/concerts",status="200"}'
        self.assertEqual(after[key] - before.get(key, 0), 3)
        self.assertIn('boxoffice_outbox_breaker_state{node="node-1",state="closed"}', after)
        self.assertGreaterEqual(after['boxoffice_queue_active{node="node-1"}'], 1)
        commits = 'boxoffice_db_commits_total{node="node-1"}'
        self.assertGreater(after[commits], before.get(commits, 0))

    def test_overload_is_shed_with_retry_after_and_recovers(self):
        f = self.fan(100)
        lock = LockedWallet(self.db, f.user)
        stuck = [threading.Thread(target=f.charge, args=(1,)) for _ in range(4)]
        try:
            for t in stuck:
                t.start()
            time.sleep(0.5)
            status, body, headers = self.server.call("GET", "/api/v1/concerts")
            self.assertEqual((status, body["error"]["code"]), (503, "OVERLOADED"))
            self.assertEqual(headers.get("Retry-After"), "1")
            shed = parse_metrics(self.admin("/metrics")[1])['boxoffice_http_shed_total{node="node-1"}']
            self.assertGreaterEqual(shed, 1)
        finally:
            lock.release()
            for t in stuck:
                t.join()
        self.assertEqual(self.server.call("GET", "/api/v1/concerts")[0], 200)

    def trends(self, query=""):
        status, body, _ = self.admin("/admin/trends" + query)
        self.assertEqual(status, 200, body)
        return body

    def sell(self, seats):
        """Holds and pays for `seats` of schedule 9, one new fan each: traffic
        for the trend window's holds/s and payments/s."""
        for seat in seats:
            Fan(self.server, next(self.users)).book(9, seat)

    def wait_for_sales_in_trends(self, samples=3):
        def sold():
            tr = self.trends()
            if (tr["samples"] >= samples and sum(tr["holdsPerSecond"]) > 0
                    and sum(tr["paymentsPerSecond"]) > 0):
                return tr
            return None
        return h.wait_until(sold, 15, "holds/s and payments/s never showed in /admin/trends")

    def test_trends_move_with_traffic(self):
        self.sell(range(30, 33))
        tr = self.wait_for_sales_in_trends()
        n = tr["samples"]
        self.assertEqual((tr["capacity"], tr["intervalMs"]), (900, 1000))
        self.assertLessEqual(n, 900)
        self.assertEqual(len(tr["t"]), n)
        self.assertEqual(tr["t"], sorted(tr["t"]))
        for name in ["shedPerSecond", "holdsPerSecond", "paymentsPerSecond", "waiting", "active",
                     "admittedPerSecond", "outboxPending", "oldestPendingSeconds",
                     "deliveriesPerSecond", "failuresPerSecond", "breaker"]:
            self.assertEqual(len(tr[name]), n, name)
        holds = tr["requestsPerSecond"]["POST /api/v1/reservations"]["2xx"]
        self.assertEqual(len(holds), n)
        # Three holds in all, whatever seconds they fell into.
        self.assertAlmostEqual(sum(holds), sum(tr["holdsPerSecond"]))
        p99 = [v for v in tr["latencyP99Ms"]["POST /api/v1/reservations"] if v is not None]
        self.assertTrue(p99 and all(v > 0 for v in p99), p99)
        self.assertGreater(sum(v or 0 for v in tr["admittedPerSecond"]), 0)
        self.assertIn(0, tr["breaker"])  # closed
        self.assertGreaterEqual(max(tr["actors"]["seat"]), 1)
        # The events of those sales reach the simulator: deliveries/s moves.
        h.wait_until(lambda: sum(v or 0 for v in self.trends()["deliveriesPerSecond"]) > 0, 15,
                     "deliveries/s stayed 0")
        short = self.trends("?seconds=2")
        self.assertEqual((short["samples"], len(short["t"])), (2, 2))
        self.assertEqual(self.admin("/admin/trends?seconds=x")[0], 400)

    def test_chart_library_is_served_without_key(self):
        status, body, headers = h.call(self.admin_port, "GET", "/admin/chart.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"), headers)
        self.assertIn("Chart.js", body[:200])

    def test_console_renders_live_figures(self):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        self.assertIsNotNone(browser, "chromium is not installed (scripts/test installs it)")
        self.fan()
        self.sell(range(40, 44))
        self.wait_for_sales_in_trends()
        browse = lambda *action: open_console(browser, self.admin_port, *action)

        # The picture, for a person to look at: the test's output directory.
        out_dir = os.environ.get("BOXOFFICE_TEST_OUTPUT",
                                 os.path.join(os.getcwd(), "test-output", "e2e_admin"))
        os.makedirs(out_dir, exist_ok=True)
        shot = os.path.join(out_dir, "console.png")
        if os.path.exists(shot):
            os.unlink(shot)
        pic = browse(f"--screenshot={shot}")
        self.assertTrue(os.path.getsize(shot) > 10000 if os.path.exists(shot) else False,
                        pic.stderr[-2000:])
        print(f"console screenshot: {shot}", file=sys.stderr)

        out = browse("--dump-dom")
        dom = out.stdout
        self.assertIn('data-loaded="true"', dom, out.stderr[-2000:])
        active = re.search(r'id="active">(\d+)<', dom)
        self.assertIsNotNone(active, dom[:2000])
        self.assertGreaterEqual(int(active.group(1)), 1)
        self.assertRegex(dom, r'id="breaker"[^>]*>closed<')
        # Every chart drew points; the on-sale's own charts drew more than zeros.
        charts = {m.group(1): (int(m.group(2)), float(m.group(3))) for m in re.finditer(
            r'id="chart-(\w+)" data-chart-points="(\d+)" data-chart-max="([-\d.e+]+)"', dom)}
        self.assertEqual(set(charts), {"requests", "classes", "p50", "p99", "sales", "room",
                                       "admission", "outbox", "deliveries", "breaker", "actors"},
                         dom[:3000])
        for chart, (points, _) in charts.items():
            self.assertGreater(points, 0, chart)
        for chart in ["requests", "classes", "p50", "p99", "sales", "room", "actors"]:
            self.assertGreater(charts[chart][1], 0, chart)


class ConsoleWithoutChartJsTest(unittest.TestCase):
    """Chart.js missing at admin.chart_js: the server starts and warns, the
    console shows its figures and says why there are no charts."""

    def test_console_works_without_chart_js(self):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        self.assertIsNotNone(browser, "chromium is not installed (scripts/test installs it)")
        port = h.free_port()
        server = h.Server(h.fresh_database("nocharts"), "--admin.port", str(port),
                          "--admin.key", KEY, "--admin.chart_js", "/nonexistent/chart.min.js")
        try:
            server.start()
            self.assertEqual(h.call(port, "GET", "/admin/chart.js")[0], 404)
            out = open_console(browser, port, "--dump-dom")
            self.assertIn('data-loaded="true"', out.stdout, out.stderr[-2000:])
            self.assertIn("charts unavailable", out.stdout)
        finally:
            code = server.stop()
        self.assertEqual(code, 0, server.output())
        self.assertIn("cannot read Chart.js", server.output())


class SeatPassivationTest(unittest.TestCase):
    """Idle seat actors passivate (actors.idle_seconds). Their status stays on
    the schedule's seat board and their owner with the schedule, so a held
    seat can still be paid for, a sold one is still refused, and its
    cancellation still frees it."""

    def test_a_passivated_seat_keeps_its_status_and_owner(self):
        db = h.fresh_database("passivation")
        admin_port = h.free_port()
        server = h.Server(db, *FAST_QUEUE, "--admin.port", str(admin_port), "--admin.key", KEY,
                          "--actors.idle_seconds", "1").start()
        try:
            def schedule_7():
                status, body, _ = h.admin_call(admin_port, "GET", "/admin/actors/schedule/7", KEY)
                self.assertEqual(status, 200, body)
                return body["memory"]

            def passivated(n):
                h.wait_until(lambda: schedule_7()["seatActorsPassivated"] >= n, 20,
                             f"seat actors passivated stayed below {n}")
                self.assertEqual(schedule_7()["seatActors"], 0)

            f, other = Fan(server, 1), Fan(server, 2).enter()
            f.charge(150000)
            f.enter()
            status, held, _ = f.hold(7, 11)
            self.assertEqual(status, 201, held)
            rid = held["reservationId"]
            passivated(1)
            self.assertEqual(other.hold(7, 11)[0], 409)  # the board still says HELD
            # The sale reaches a fresh seat actor, which must know its owner.
            status, paid, _ = f.pay(rid)
            self.assertEqual(status, 201, paid)
            seat = h.admin_call(admin_port, "GET", "/admin/actors/seat/7/11", KEY)[1]["memory"]
            self.assertEqual((seat["status"], seat["reservationId"]), ("SOLD", rid))
            passivated(2)
            self.assertEqual(other.hold(7, 11)[0], 409)
            f.enter()
            status, view, _ = f.cancel(rid)
            self.assertEqual((status, view["status"]), (200, "CANCELLED"), view)
            self.assertEqual(other.hold(7, 11)[0], 201)  # the seat is free again
            check_database_invariants(self, db)
        finally:
            self.assertEqual(server.stop(), 0, server.output())


class AdminKeySourcesTest(unittest.TestCase):
    """The admin key can stay off the command line: from a file or from the
    environment; a wrong key of any length is refused."""

    def check_key(self, port, key):
        self.assertEqual(h.call(port, "GET", "/admin/queue")[0], 401)
        for wrong in ["", "x", key[:-1], key + "x", key.upper(), "y" * 500]:
            self.assertEqual(h.admin_call(port, "GET", "/admin/queue", wrong)[0], 401, wrong)
        self.assertEqual(h.admin_call(port, "GET", "/admin/queue", key)[0], 200)

    def test_key_from_a_file(self):
        with tempfile.NamedTemporaryFile("w", prefix="admin-key-", delete=False) as f:
            f.write("key-from-a-file\n")
        port = h.free_port()
        server = h.Server(h.fresh_database("adminkey"), "--admin.port", str(port),
                          "--admin.key_file", f.name)
        try:
            server.start()
            self.check_key(port, "key-from-a-file")
        finally:
            code = server.stop()
            os.unlink(f.name)
        self.assertEqual(code, 0, server.output())

    def test_key_from_the_environment(self):
        port = h.free_port()
        server = h.Server(h.fresh_database("adminkey"), "--admin.port", str(port))
        os.environ["BOXOFFICE_ADMIN_KEY"] = "key-from-the-environment"
        try:
            server.start()
            self.check_key(port, "key-from-the-environment")
        finally:
            del os.environ["BOXOFFICE_ADMIN_KEY"]
            code = server.stop()
        self.assertEqual(code, 0, server.output())

    def test_unreadable_or_conflicting_key_options_fail_start(self):
        base = [h.BINARIES["boxoffice"], "--config", "/dev/null", "--database.url", "x"]
        missing = subprocess.run(base + ["--admin.key_file", "/nonexistent/key"],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("admin.key_file", missing.stderr)
        both = subprocess.run(base + ["--admin.key", "a", "--admin.key_file", "/dev/null"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(both.returncode, 2)
        self.assertIn("admin.key_file", both.stderr)


class LoadDriverTest(unittest.TestCase):
    def test_invariant_check_catches_a_broken_run(self):
        sim = h.Simulator()
        db = h.fresh_database("loadgen")
        server = h.Server(db, *FAST_QUEUE, "--dataplatform.url", sim.url).start()
        try:
            base = [h.BINARIES["loadgen"], "--target", f"http://127.0.0.1:{server.port}",
                    "--db", h.os.environ["BOXOFFICE_TEST_PG"] + f" dbname={db}",
                    "--dpsim", sim.url, "--drain-timeout", "20", "--quiet"]
            ok = subprocess.run(base + ["--scenario", "flash-crowd", "--users", "30",
                                        "--user-base", "1"], capture_output=True, text=True,
                                timeout=300)
            self.assertEqual(ok.returncode, 0, ok.stdout[-3000:] + ok.stderr[-3000:])
            # Invent money behind the server's back: the check must notice.
            h.psql(db, "UPDATE wallets SET balance = balance + 1 WHERE user_id = 1")
            bad = subprocess.run(base + ["--scenario", "flash-crowd", "--users", "5",
                                         "--user-base", "1000"], capture_output=True, text=True,
                                 timeout=300)
            self.assertEqual(bad.returncode, 1, bad.stdout[-3000:] + bad.stderr[-3000:])
        finally:
            server.stop()
            sim.stop()


if __name__ == "__main__":
    h.take_binaries("boxoffice", "dpsim", "loadgen")
    h.main()
