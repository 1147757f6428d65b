#!/usr/bin/env python3
"""End-to-end test of tools/dpsim, the data-platform simulator.

Usage: python3 dpsim_test.py /path/to/dpsim [unittest options]

Starts dpsim on a free port with a signing secret and drives it over HTTP with the standard
library only. Every test starts from no faults and no recorded events.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

DPSIM = None  # path to the binary, taken from argv[1]
SECRET = "test-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def iso_now_ms() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def make_event(aggregate_id="res-1", sequence=1, event_type="RESERVATION_HELD",
               event_id=None):
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "eventType": event_type,
        "occurredAt": iso_now_ms(),
        "aggregateType": "reservation",
        "aggregateId": aggregate_id,
        "sequence": sequence,
        "data": {"concert": "Test Night", "seat": "A-1", "amount": 4200},
    }


class Dpsim:
    """A running dpsim process on a port chosen by the kernel."""

    def __init__(self, *extra_args):
        self.dir = tempfile.TemporaryDirectory(prefix="dpsim-test-")
        port_file = os.path.join(self.dir.name, "port")
        self.proc = subprocess.Popen(
            [DPSIM, "--port", "0", "--port-file", port_file, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dpsim did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.banner = self.proc.stdout.readline().strip()

    def conn(self, timeout=5.0):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=5.0):
        """One request on a fresh connection; returns (status, headers, parsed JSON body)."""
        c = self.conn(timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            raw = r.read()
            return r.status, r.headers, json.loads(raw) if raw else None
        finally:
            c.close()

    def post_event(self, event, path="/events/reservations", secret=SECRET, signature=None,
                   key=None, timeout=5.0):
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json",
                   "X-Idempotency-Key": key if key is not None else event["eventId"],
                   "X-Event-Type": event["eventType"]}
        if signature is not None:
            headers["X-Signature"] = signature
        elif secret is not None:
            headers["X-Signature"] = sign(body, secret)
        return self.request("POST", path, body, headers, timeout)

    def stats(self):
        return self.request("GET", "/stats")[2]

    def events(self):
        return self.request("GET", "/events")[2]["events"]

    def set_faults(self, **faults):
        status, _, body = self.request("POST", "/faults", faults)
        assert status == 200, (status, body)
        return body

    def stop(self):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.dir.cleanup()
        return self.proc.returncode


class DpsimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Dpsim("--secret", SECRET)

    @classmethod
    def tearDownClass(cls):
        code = cls.sim.stop()
        if code != 0:
            raise AssertionError(f"dpsim exited with {code} on SIGTERM")

    def setUp(self):
        status, _, _ = self.sim.request("DELETE", "/faults")
        self.assertEqual(status, 200)
        status, _, _ = self.sim.request("POST", "/reset")
        self.assertEqual(status, 200)

    # ---- basics ---------------------------------------------------------------------------

    def test_banner_and_health(self):
        self.assertEqual(self.sim.banner, f"dpsim listening on http://127.0.0.1:{self.sim.port}")
        status, _, body = self.sim.request("GET", "/health")
        self.assertEqual((status, body), (200, {"status": "ok"}))

    def test_unknown_control_request_is_404_json(self):
        status, headers, body = self.sim.request("GET", "/nope")
        self.assertEqual(status, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertFalse(body["ok"])
        status, _, _ = self.sim.request("POST", "/stats")  # a control path, wrong method
        self.assertEqual(status, 404)

    def test_signed_event_accepted_and_recorded(self):
        event = make_event(event_type="ORDER_COMPLETED")
        event["aggregateType"] = "order"
        status, _, body = self.sim.post_event(event, path="/events/orders")
        self.assertEqual((status, body), (200, {"ok": True, "duplicate": False}))
        stats = self.sim.stats()
        self.assertEqual(stats["received"], 1)
        self.assertEqual(stats["unique"], 1)
        self.assertEqual(stats["duplicates"], 0)
        self.assertEqual(stats["byType"], {"ORDER_COMPLETED": 1})
        self.assertEqual(stats["byPath"], {"/events/orders": 1})
        self.assertEqual(stats["latencyMs"]["count"], 1)
        self.assertGreaterEqual(stats["latencyMs"]["max"], 0)
        self.assertLess(stats["latencyMs"]["max"], 5000)
        self.assertEqual([e["eventId"] for e in stats["last"]], [event["eventId"]])

    def test_bad_or_missing_signature_is_401(self):
        event = make_event()
        status, _, _ = self.sim.post_event(event, secret="wrong-secret")
        self.assertEqual(status, 401)
        status, _, _ = self.sim.post_event(event, secret=None)  # no X-Signature at all
        self.assertEqual(status, 401)
        stats = self.sim.stats()
        self.assertEqual(stats["badSignatures"], 2)
        self.assertEqual(stats["received"], 0)
        self.assertEqual(stats["unique"], 0)

    def test_signature_covers_raw_body(self):
        event = make_event()
        body = json.dumps(event).encode()
        tampered = body.replace(b"A-1", b"A-2")
        headers = {"X-Idempotency-Key": event["eventId"], "X-Event-Type": event["eventType"],
                   "X-Signature": sign(body)}
        status, _, _ = self.sim.request("POST", "/events/reservations", tampered, headers)
        self.assertEqual(status, 401)

    def test_missing_key_or_bad_json_is_400(self):
        status, _, _ = self.sim.post_event(make_event(), key="")
        self.assertEqual(status, 400)
        body = b"{not json"
        headers = {"X-Idempotency-Key": "k-1", "X-Signature": sign(body)}
        status, _, _ = self.sim.request("POST", "/events/reservations", body, headers)
        self.assertEqual(status, 400)
        stats = self.sim.stats()
        self.assertEqual(stats["unique"], 0)
        self.assertEqual(stats["badRequests"], 2)

    def test_duplicate_counted_and_events_lists_unique_once(self):
        event = make_event(aggregate_id="res-dup", sequence=3)
        self.assertEqual(self.sim.post_event(event)[2], {"ok": True, "duplicate": False})
        self.assertEqual(self.sim.post_event(event)[2], {"ok": True, "duplicate": True})
        stats = self.sim.stats()
        self.assertEqual((stats["received"], stats["unique"], stats["duplicates"]), (2, 1, 1))
        events = self.sim.events()
        self.assertEqual(len(events), 1)
        e = events[0]
        for field in ("eventId", "eventType", "aggregateType", "aggregateId", "sequence",
                      "occurredAt"):
            self.assertEqual(e[field], event[field], field)
        self.assertEqual(e["path"], "/events/reservations")
        self.assertIsInstance(e["receivedAtMs"], int)
        self.assertAlmostEqual(e["receivedAtMs"], time.time() * 1000, delta=10_000)
        self.assertIsInstance(e["latencyMs"], int)

    def test_key_mismatch_counted(self):
        event = make_event()
        status, _, _ = self.sim.post_event(event, key="not-the-event-id")
        self.assertEqual(status, 200)
        self.assertEqual(self.sim.stats()["keyMismatches"], 1)

    def test_order_violation_counted_for_unique_events_only(self):
        self.sim.post_event(make_event(aggregate_id="res-a", sequence=1))
        late = make_event(aggregate_id="res-a", sequence=2)
        self.sim.post_event(late)
        self.assertEqual(self.sim.stats()["orderViolations"], 0)
        self.sim.post_event(late)  # duplicate of the highest: not a violation
        self.sim.post_event(make_event(aggregate_id="res-b", sequence=1))  # other aggregate
        self.assertEqual(self.sim.stats()["orderViolations"], 0)
        self.sim.post_event(make_event(aggregate_id="res-a", sequence=1))  # new id, old seq
        self.assertEqual(self.sim.stats()["orderViolations"], 1)

    def test_reset_clears_events_and_counters_but_not_faults(self):
        self.sim.post_event(make_event())
        self.sim.post_event(make_event(), secret="wrong")
        self.sim.set_faults(latencyMs=5)
        status, _, _ = self.sim.request("POST", "/reset")
        self.assertEqual(status, 200)
        stats = self.sim.stats()
        for counter in ("received", "unique", "duplicates", "badSignatures", "orderViolations",
                        "failedByFault"):
            self.assertEqual(stats[counter], 0, counter)
        self.assertEqual(stats["byType"], {})
        self.assertEqual(stats["last"], [])
        self.assertEqual(stats["latencyMs"]["count"], 0)
        self.assertEqual(self.sim.events(), [])
        self.assertEqual(stats["faults"]["latencyMs"], 5)

    # ---- faults ---------------------------------------------------------------------------

    def test_error_status_with_retry_after(self):
        faults = self.sim.set_faults(errorStatus=503, retryAfter=7)
        self.assertEqual(faults["errorStatus"], 503)
        self.assertEqual(faults["retryAfter"], 7)
        status, headers, body = self.sim.post_event(make_event())
        self.assertEqual(status, 503)
        self.assertEqual(headers["Retry-After"], "7")
        self.assertFalse(body["ok"])
        # Faults come before the signature check, and control paths are exempt.
        status, _, _ = self.sim.post_event(make_event(), secret="wrong")
        self.assertEqual(status, 503)
        stats = self.sim.stats()
        self.assertEqual(stats["failedByFault"], 2)
        self.assertEqual(stats["received"], 0)
        self.assertEqual(stats["badSignatures"], 0)
        self.assertEqual(stats["faults"]["errorStatus"], 503)
        self.assertEqual(self.sim.events(), [])
        # Unchanged fields keep their value; DELETE clears everything.
        self.assertEqual(self.sim.set_faults(latencyMs=1)["errorStatus"], 503)
        status, _, cleared = self.sim.request("DELETE", "/faults")
        self.assertEqual(cleared["errorStatus"], 0)
        self.assertEqual(cleared["latencyMs"], 0)
        status, headers, _ = self.sim.post_event(make_event())
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Retry-After"])

    def test_error_rate_fails_a_fraction(self):
        self.sim.set_faults(errorStatus=500, errorRate=0.5)
        statuses = [self.sim.post_event(make_event())[0] for _ in range(200)]
        failures = statuses.count(500)
        self.assertEqual(failures + statuses.count(200), 200)
        self.assertTrue(40 <= failures <= 160, failures)  # ~50 %, far from flaky bounds
        self.assertEqual(self.sim.stats()["failedByFault"], failures)

    def test_invalid_faults_rejected_and_not_applied(self):
        for bad in ({"bogus": 1}, {"errorRate": 2}, {"errorStatus": 42}, {"hang": "yes"},
                    {"latencyMs": 10, "failAggregates": {"x": "boom"}}):
            status, _, _ = self.sim.request("POST", "/faults", bad)
            self.assertEqual(status, 400, bad)
        self.assertEqual(self.sim.stats()["faults"]["latencyMs"], 0)

    def test_fail_aggregates_affects_only_that_aggregate(self):
        self.sim.set_faults(failAggregates={"res-poison": 400})
        status, _, _ = self.sim.post_event(make_event(aggregate_id="res-poison"))
        self.assertEqual(status, 400)
        status, _, body = self.sim.post_event(make_event(aggregate_id="res-healthy"))
        self.assertEqual((status, body["ok"]), (200, True))
        stats = self.sim.stats()
        self.assertEqual(stats["failedByFault"], 1)
        self.assertEqual([e["aggregateId"] for e in self.sim.events()], ["res-healthy"])

    def test_latency_delays_answers(self):
        self.sim.set_faults(latencyMs=400)
        started = time.monotonic()
        status, _, _ = self.sim.post_event(make_event())
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.39)
        started = time.monotonic()
        self.sim.stats()  # control paths are not delayed
        self.assertLess(time.monotonic() - started, 0.3)

    def test_hang_times_out_then_clearing_restores_service(self):
        self.sim.set_faults(hang=True)
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.sim.post_event(make_event(), timeout=1.0)

        # A request left hanging on an open connection is dropped when the hang ends.
        raw = socket.create_connection(("127.0.0.1", self.sim.port), timeout=5)
        body = json.dumps(make_event()).encode()
        raw.sendall(b"POST /events/reservations HTTP/1.1\r\nHost: x\r\n"
                    b"X-Idempotency-Key: hung-1\r\nX-Signature: " + sign(body).encode() +
                    b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.3)  # let dpsim read it and park it
        self.assertEqual(self.sim.stats()["faults"]["hang"], True)
        self.sim.set_faults(hang=False)
        try:
            self.assertEqual(raw.recv(1024), b"", "hung connection should be closed unanswered")
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("hung connection still open after the hang was cleared")
        finally:
            raw.close()

        status, _, body = self.sim.post_event(make_event(), timeout=1.0)
        self.assertEqual((status, body["duplicate"]), (200, False))
        stats = self.sim.stats()
        self.assertEqual(stats["failedByFault"], 2)
        self.assertEqual(stats["unique"], 1)

    def wait_until_listening(self, deadline_s=6.0):
        """Polls /health until dpsim accepts again; returns the seconds waited."""
        started = time.monotonic()
        while True:
            try:
                if self.sim.request("GET", "/health", timeout=1)[0] == 200:
                    return time.monotonic() - started
            except ConnectionRefusedError:
                pass
            if time.monotonic() - started > deadline_s:
                self.fail("dpsim never listened again")
            time.sleep(0.1)

    def test_refuse_seconds_refuses_then_recovers(self):
        # Even if an assertion fails midway, later tests must find dpsim listening.
        self.addCleanup(self.wait_until_listening)
        keep_alive = self.sim.conn()
        keep_alive.request("GET", "/health")
        self.assertEqual(keep_alive.getresponse().read(), b'{"status":"ok"}')

        faults = self.sim.set_faults(refuseSeconds=2)  # answered before the listener closes
        self.assertEqual(faults["refuseSeconds"], 2)
        started = time.monotonic()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.sim.port), timeout=1).close()
        # The open keep-alive connection was dropped too, so clients notice the outage.
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            keep_alive.request("GET", "/health")
            keep_alive.getresponse().read()
        keep_alive.close()

        self.wait_until_listening()  # recovers after ~2 s on the same port
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertEqual(self.sim.stats()["faults"]["refuseSeconds"], 0)
        self.assertEqual(self.sim.post_event(make_event())[0], 200)

    def test_oversized_body_rejected(self):
        body = b"x" * (1024 * 1024 + 1)
        try:
            status, _, _ = self.sim.request("POST", "/events/big", body,
                                            {"X-Idempotency-Key": "big"})
            self.assertEqual(status, 413)
        except (ConnectionResetError, BrokenPipeError):
            pass  # dpsim may close before the client has sent the whole body
        self.assertEqual(self.sim.request("GET", "/health")[0], 200)
        self.assertEqual(self.sim.stats()["received"], 0)


class DpsimFlagsTest(unittest.TestCase):
    def test_fault_flags_at_start(self):
        sim = Dpsim("--error-status", "502", "--retry-after", "3", "--latency-ms", "20")
        try:
            status, headers, _ = sim.post_event(make_event(), secret=None)
            self.assertEqual(status, 502)
            self.assertEqual(headers["Retry-After"], "3")
            faults = sim.stats()["faults"]
            self.assertEqual((faults["errorStatus"], faults["errorRate"], faults["latencyMs"]),
                             (502, 1.0, 20))
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_no_secret_accepts_unsigned(self):
        sim = Dpsim()
        try:
            self.assertEqual(sim.post_event(make_event(), secret=None)[0], 200)
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_bad_flag_exits_nonzero(self):
        result = subprocess.run([DPSIM, "--port", "notaport"], capture_output=True, timeout=10)
        self.assertNotEqual(result.returncode, 0)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: dpsim_test.py /path/to/dpsim [unittest args]")
    DPSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main()
