"""End to end: the built server, a real PostgreSQL, the catalogue and the
error model for malformed requests."""

import socket
import time
import unittest

import harness as h


class CatalogueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = h.fresh_database("catalogue")
        cls.server = h.Server(cls.db, "--http.max_body_bytes", "1024",
                              "--http.max_header_bytes", "2048",
                              "--http.read_timeout_seconds", "2").start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, f"unclean shutdown ({code}):\n{cls.server.output()}"

    def get(self, path, **kw):
        return self.server.call("GET", path, **kw)

    def assert_error(self, result, status, code):
        got_status, body, _ = result
        self.assertEqual(got_status, status, body)
        self.assertEqual(body["error"]["code"], code, body)
        self.assertTrue(body["error"]["message"])

    def test_health_and_ready(self):
        self.assertEqual(self.get("/health")[0], 200)
        status, body, _ = self.get("/ready")
        self.assertEqual((status, body["database"]), (200, "UP"))

    def test_demo_catalogue(self):
        status, body, _ = self.get("/api/v1/concerts")
        self.assertEqual(status, 200)
        concerts = body["concerts"]
        self.assertGreaterEqual(len(concerts), 3)
        self.assertEqual(int(h.scalar(self.db, "SELECT count(*) FROM concerts")), len(concerts))
        cid = concerts[0]["id"]
        status, body, _ = self.get(f"/api/v1/concerts/{cid}/schedules")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(len(body["schedules"]), 2)
        for s in body["schedules"]:
            self.assertEqual(s["totalSeats"], 50)
            self.assertEqual(s["availableSeats"], 50)
            self.assertRegex(s["startsAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_unknown_resources(self):
        self.assert_error(self.get("/api/v1/concerts/999999/schedules"), 404, "NOT_FOUND")
        self.assert_error(self.get("/api/v1/nothing"), 404, "NOT_FOUND")
        self.assert_error(self.get("/"), 404, "NOT_FOUND")

    def test_malformed_ids(self):
        for bad in ["abc", "-1", "0", "1.5", "9" * 19, "%20"]:
            self.assert_error(self.get(f"/api/v1/concerts/{bad}/schedules"), 400, "INVALID_ARGUMENT")

    def test_wrong_method(self):
        status, body, headers = self.server.call("DELETE", "/api/v1/concerts")
        self.assertEqual(status, 405)
        self.assertEqual(body["error"]["code"], "METHOD_NOT_ALLOWED")
        self.assertEqual(headers.get("Allow"), "GET")

    def test_oversized_body_and_headers(self):
        before = h.scalar(self.db, "SELECT count(*) FROM wallets")
        self.assert_error(self.server.call("POST", "/api/v1/points/charge", raw="x" * 5000), 413,
                          "PAYLOAD_TOO_LARGE")
        self.assert_error(self.get("/api/v1/concerts", headers={"X-Big": "y" * 4000}), 431,
                          "HEADERS_TOO_LARGE")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM wallets"), before)

    def test_slow_client_is_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(b"GET /api/v1/concerts HTTP/1.1\r\nHost: x\r\n")  # never finishes
            s.settimeout(6)
            started = time.time()
            data = s.recv(1024)
            self.assertEqual(data, b"")  # closed by the server
            self.assertLess(time.time() - started, 5)

    def test_keep_alive(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        for _ in range(3):
            conn.request("GET", "/api/v1/concerts")
            res = conn.getresponse()
            res.read()
            self.assertEqual(res.status, 200)
        conn.close()

    def test_garbage_request_line(self):
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(b"BLAH\r\n\r\n")
            s.settimeout(5)
            self.assertIn(b"400", s.recv(1024))


class StartupTest(unittest.TestCase):
    def test_unreachable_database_fails_fast(self):
        port = h.free_port()  # nothing listens there
        started = time.time()
        proc = __import__("subprocess").run(
            [h.BINARIES["boxoffice"], "--config", "/dev/null", "--http.port", "0",
             "--database.url", f"postgresql://postgres@127.0.0.1:{port}/none"],
            capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot connect to database", proc.stdout + proc.stderr)
        self.assertLess(time.time() - started, 15)

    def test_invalid_option_names_the_option(self):
        proc = __import__("subprocess").run(
            [h.BINARIES["boxoffice"], "--config", "/dev/null", "--http.port", "99999",
             "--database.url", "x"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("http.port", proc.stderr)
        proc = __import__("subprocess").run(
            [h.BINARIES["boxoffice"], "--config", "/dev/null", "--hold.ttl_seconds", "abc",
             "--database.url", "x"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("hold.ttl_seconds", proc.stderr)

    def test_two_servers_migrate_one_database_together(self):
        db = h.fresh_database("race")
        a, b = h.Server(db), h.Server(db)
        a.start(wait=False)
        b.start(wait=False)
        try:
            a.wait_healthy()
            b.wait_healthy()
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM schema_migrations"),
                             h.scalar(db, "SELECT max(version) FROM schema_migrations"))
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM concerts"), "3")
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)


if __name__ == "__main__":
    h.take_binaries("boxoffice")
    h.main()
