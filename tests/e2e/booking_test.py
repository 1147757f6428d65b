"""End to end: the booking funnel under concurrency, crashes and expiry,
asserting on what PostgreSQL holds afterwards."""

import json
import random
import socket
import subprocess
import threading
import time
import unittest

import harness as h

FAST_QUEUE = ["--queue.admit_per_second", "100000", "--queue.max_active", "100000"]


class Fan:
    """One user walking the funnel against a server."""

    def __init__(self, server, user_id):
        self.s = server
        self.user = user_id
        self.token = None

    def charge(self, amount):
        return self.s.call("POST", "/api/v1/points/charge", {"userId": self.user, "amount": amount})

    def enter(self, timeout=30):
        status, body, _ = self.s.call("POST", "/api/v1/queue/token", {"userId": self.user})
        assert status == 201, body
        self.token = body["token"]
        deadline = time.time() + timeout
        while body["status"] != "ACTIVE":
            assert time.time() < deadline, "never admitted"
            time.sleep(max(body["pollAfterMs"], 20) / 1000)
            status, body, _ = self.s.call("GET", "/api/v1/queue/status",
                                          headers={"X-Queue-Token": self.token})
            assert status == 200, body
        return self

    def headers(self, **extra):
        hd = {"X-Queue-Token": self.token} if self.token else {}
        hd.update(extra)
        return hd

    def hold(self, schedule, seat):
        return self.s.call("POST", "/api/v1/reservations",
                           {"userId": self.user, "scheduleId": schedule, "seatNumber": seat},
                           headers=self.headers())

    def pay(self, reservation_id, key=None, timeout=60):
        extra = {"Idempotency-Key": key} if key else {}
        return self.s.call("POST", "/api/v1/payments",
                           {"userId": self.user, "reservationId": reservation_id},
                           headers=self.headers(**extra), timeout=timeout)

    def cancel(self, reservation_id, timeout=30):
        return self.s.call("DELETE", f"/api/v1/reservations/{reservation_id}?userId={self.user}",
                           headers=self.headers(), timeout=timeout)

    def balance(self):
        return self.s.call("GET", f"/api/v1/points/{self.user}")[1]["balance"]

    def book(self, schedule, seat, points=200000):
        """Charges, enters, holds and pays; returns the reservation id."""
        assert self.charge(points)[0] == 200
        self.enter()
        status, held, _ = self.hold(schedule, seat)
        assert status == 201, held
        status, paid, _ = self.pay(held["reservationId"])
        assert status == 201, paid
        self.enter()  # the payment expired the token
        return held["reservationId"]


class EventStream:
    """A Server-Sent Events client on a raw socket, so a test controls when
    (and whether) it reads."""

    def __init__(self, port, path, headers=None, rcvbuf=None, timeout=10):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the stream")
        self.buf += data

    def head(self):
        """The status and headers (lower-case names)."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        fields = (line.partition(":") for line in lines[1:])
        return int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, _, v in fields}

    def body(self, length):
        while len(self.buf) < length:
            self._more()
        return self.buf[:length]

    def event(self):
        """The next event as {"event", "id", "data"}; comment lines are skipped."""
        while True:
            while b"\n\n" not in self.buf:
                self._more()
            raw, self.buf = self.buf.split(b"\n\n", 1)
            fields = [line.partition(": ") for line in raw.decode().split("\n")
                      if not line.startswith(":")]
            if fields:
                return {k: v for k, _, v in fields}

    def drain(self, timeout=30):
        """Reads until the server closes, which must happen within `timeout`
        (keep-alive comments would keep a plain read going forever)."""
        deadline = time.time() + timeout
        while self.sock.recv(65536):
            if time.time() > deadline:
                raise AssertionError("the server did not close the stream")

    def close(self):
        self.sock.close()


def version_of(event_id):
    """The board version an event id names (after this run's boot tag)."""
    return int(event_id.split(".")[1], 16)


def check_database_invariants(test, db):
    """What must hold in the database whatever happened."""
    test.assertEqual(h.psql(db, """
        SELECT schedule_id, seat_number FROM reservations
        WHERE status IN ('HELD','PAYING','CONFIRMED')
        GROUP BY 1, 2 HAVING count(*) > 1"""), [], "a seat with two live reservations")
    test.assertEqual(h.psql(db, """
        SELECT w.user_id FROM wallets w LEFT JOIN wallet_ledger l ON l.user_id = w.user_id
        GROUP BY w.user_id, w.balance HAVING w.balance <> COALESCE(sum(l.amount), 0)
           OR w.balance < 0"""), [], "a balance that is not its ledger's sum")
    # Every debit ended in a completed (or later refunded) payment or a refund.
    test.assertEqual(h.psql(db, """
        SELECT l.saga_id FROM wallet_ledger l WHERE l.kind = 'PAYMENT'
          AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.saga_id = l.saga_id)
          AND NOT EXISTS (SELECT 1 FROM wallet_ledger r WHERE r.saga_id = l.saga_id
                          AND r.kind = 'REFUND')"""), [], "money taken without a booking")
    test.assertEqual(h.psql(db, """
        SELECT r.id FROM reservations r WHERE r.status = 'CONFIRMED'
          AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = r.id
                          AND p.status = 'COMPLETED')"""), [], "a booking without a payment")


class BookingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = h.fresh_database("booking")
        cls.server = h.Server(cls.db, *FAST_QUEUE, "--hold.max_per_user", "2").start()
        cls.next_user = iter(range(1000, 10**9))

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, f"unclean shutdown ({code}):\n{cls.server.output()}"

    def fan(self):
        return Fan(self.server, next(self.next_user))

    def assert_error(self, result, status, code):
        got, body, _ = result
        self.assertEqual((got, body.get("error", {}).get("code")), (status, code), body)

    def test_race_for_one_seat(self):
        fans = [self.fan() for _ in range(220)]
        h.parallel([f.enter for f in fans], threads=32)
        results = h.parallel([lambda f=f: f.hold(2, 7) for f in fans], threads=110)
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses.count(201), 1, statuses)
        self.assertEqual(statuses.count(409), len(fans) - 1)
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM reservations WHERE schedule_id = 2 "
                                           "AND seat_number = 7"), "1")
        check_database_invariants(self, self.db)

    def test_seat_map_versions_formats_and_conditional_reads(self):
        f = self.fan()
        f.enter()
        path = "/api/v1/concerts/3/schedules/8/seats"
        status, body, hdrs = self.server.call("GET", path, headers=f.headers())
        self.assertEqual(status, 200, body)
        etag = hdrs["ETag"]
        self.assertEqual(len(body["seats"]), 50)
        # The same version again: 304 without a body.
        status, body, _ = self.server.call("GET", path, headers=f.headers(**{"If-None-Match": etag}))
        self.assertEqual((status, body), (304, ""))
        status, _, _ = f.hold(8, 12)
        self.assertEqual(status, 201)

        # Seat maps are at most http.seat_map_refresh_ms old: the change shows within it.
        def seat_12_held():
            st, b, hd = self.server.call("GET", path, headers=f.headers(**{"If-None-Match": etag}))
            return st == 200 and hd["ETag"] != etag and b["seats"][11]["status"] == "HELD"
        h.wait_until(seat_12_held, 5, "the hold never showed on the seat map")
        status, body, hdrs = self.server.call("GET", path + "?format=compact", headers=f.headers())
        self.assertEqual(status, 200, body)
        self.assertEqual(body["seats"], [[1, 10, 150000], [11, 50, 100000]])
        self.assertEqual(body["status"], "A" * 11 + "H" + "A" * 38)
        self.assertNotEqual(hdrs["ETag"], etag)
        self.assert_error(self.server.call("GET", path + "?format=xml", headers=f.headers()), 400,
                          "INVALID_ARGUMENT")
        # Another concert's path to the schedule is not found, on both ways of answering.
        self.assert_error(self.server.call("GET", "/api/v1/concerts/1/schedules/8/seats",
                                           headers=f.headers()), 404, "NOT_FOUND")


    def test_live_seat_map_snapshot_changes_and_resume(self):
        f = self.fan()
        f.enter()
        path = "/api/v1/concerts/3/schedules/9/seats/stream"
        live = EventStream(self.server.port, path, {"X-Queue-Token": f.token})
        status, hdrs = live.head()
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/event-stream")
        snapshot = live.event()
        self.assertEqual(snapshot["event"], "snapshot")
        seats = json.loads(snapshot["data"])["seats"]
        self.assertEqual(len(seats), 50)
        self.assertEqual(seats[11], {"seatNumber": 12, "price": 100000, "status": "AVAILABLE"})

        other = self.fan()
        other.enter()
        self.assertEqual(other.hold(9, 12)[0], 201)
        change = live.event()
        self.assertEqual(change["event"], "seat")
        self.assertEqual(json.loads(change["data"]), {"seatNumber": 12, "status": "HELD"})
        self.assertGreater(version_of(change["id"]), version_of(snapshot["id"]))
        live.close()

        # Resuming after the snapshot replays the change; the token may come in the query.
        resumed = EventStream(self.server.port, f"{path}?token={f.token}",
                              {"Last-Event-ID": snapshot["id"]})
        self.assertEqual(resumed.head()[0], 200)
        self.assertEqual(resumed.event(), change)
        resumed.close()

        # Another run's id, or one the board never had: a fresh snapshot, here compact.
        boot, version = snapshot["id"].split(".")
        other_run = ("1" if boot[0] == "0" else "0") + boot[1:]
        for last_id in [f"{other_run}.{version}", f"{boot}.{version_of(change['id']) + 1000:x}",
                        "garbage"]:
            fresh = EventStream(self.server.port, f"{path}?format=compact",
                                {"X-Queue-Token": f.token, "Last-Event-ID": last_id})
            self.assertEqual(fresh.head()[0], 200, last_id)
            event = fresh.event()
            self.assertEqual(event["event"], "snapshot", last_id)
            self.assertEqual(json.loads(event["data"])["status"][11], "H", last_id)
            fresh.close()

    def test_live_seat_map_needs_an_active_token(self):
        path = "/api/v1/concerts/3/schedules/9/seats/stream"
        for headers in [{}, {"X-Queue-Token": "nope"}]:
            refused = EventStream(self.server.port, path, headers)
            status, hdrs = refused.head()
            self.assertEqual(status, 401, headers)
            self.assertEqual(hdrs["content-type"], "application/json")
            body = json.loads(refused.body(int(hdrs["content-length"])))
            self.assertEqual(body["error"]["code"], "TOKEN_INVALID", body)
            refused.close()

    def test_crowd_buys_a_schedule(self):
        fans = [self.fan() for _ in range(1000)]
        h.parallel([lambda f=f: (f.charge(200000), f.enter()) for f in fans], threads=48)
        rnd = random.Random(7)

        def buy(f):
            for _ in range(6):
                status, body, _ = f.hold(3, rnd.randint(1, 50))
                if status == 201:
                    status, body, _ = f.pay(body["reservationId"])
                    return status
            return None

        results = h.parallel([lambda f=f: buy(f) for f in fans], threads=64)
        self.assertEqual(results.count(201), 50, results[:20])
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM reservations WHERE schedule_id = 3 "
                                           "AND status = 'CONFIRMED'"), "50")
        status, body, _ = self.server.call("GET", "/api/v1/concerts/1/schedules")
        self.assertEqual([s["availableSeats"] for s in body["schedules"] if s["id"] == 3], [0])
        check_database_invariants(self, self.db)

    def test_money_under_concurrent_charges_payments_cancellations(self):
        fans = [self.fan() for _ in range(12)]
        for f in fans:
            f.enter()
        seats = iter(range(1, 51))

        def churn(f):
            for _ in range(4):
                f.charge(60000)
                status, body, _ = f.hold(4, next(seats))
                if status != 201:
                    continue
                rid = body["reservationId"]
                # Two racing payments and a racing cancellation of one booking.
                out = h.parallel([lambda: f.pay(rid), lambda: f.pay(rid), lambda: f.cancel(rid)], 3)
                if any(r[0] == 201 for r in out) and random.random() < 0.5:
                    f.cancel(rid)
                f.enter()  # a completed payment expires the token

        h.parallel([lambda f=f: churn(f) for f in fans], threads=12)
        check_database_invariants(self, self.db)
        for f in fans:
            ledger = h.scalar(self.db, "SELECT COALESCE(sum(amount), 0) FROM wallet_ledger "
                                       "WHERE user_id = :'v1'", f.user)
            status, body, _ = self.server.call("GET", f"/api/v1/points/{f.user}")
            self.assertEqual(body["balance"], int(ledger))

    def test_error_rows(self):
        a, b = self.fan(), self.fan()
        a.charge(100000)
        a.enter()
        b.enter()
        # 401: no token, unknown token.
        self.assert_error(self.server.call("POST", "/api/v1/reservations",
                                           {"userId": a.user, "scheduleId": 5, "seatNumber": 1}),
                          401, "TOKEN_INVALID")
        self.assert_error(self.server.call("GET", "/api/v1/concerts/2/schedules/5/seats",
                                           headers={"X-Queue-Token": "nope"}), 401, "TOKEN_INVALID")
        # 403: another user's token.
        self.assert_error(self.server.call("POST", "/api/v1/reservations",
                                           {"userId": b.user, "scheduleId": 5, "seatNumber": 1},
                                           headers=a.headers()), 403, "TOKEN_FORBIDDEN")
        # 400: bad fields, naming them.
        for body, field in [({"scheduleId": 5, "seatNumber": 1}, "userId"),
                            ({"userId": a.user, "scheduleId": "5", "seatNumber": 1}, "scheduleId"),
                            ({"userId": a.user, "scheduleId": 5, "seatNumber": -1}, "seatNumber"),
                            ({"userId": a.user, "scheduleId": 5, "seatNumber": 1.5}, "seatNumber")]:
            status, err, _ = self.server.call("POST", "/api/v1/reservations", body,
                                              headers=a.headers())
            self.assertEqual(status, 400, err)
            self.assertIn(field, err["error"]["message"])
        self.assert_error(self.server.call("POST", "/api/v1/points/charge",
                                           {"userId": a.user, "amount": 0}), 400, "INVALID_ARGUMENT")
        self.assert_error(self.server.call("POST", "/api/v1/points/charge",
                                           {"userId": a.user, "amount": 10**12}), 400, "INVALID_ARGUMENT")
        self.assert_error(self.server.call("POST", "/api/v1/points/charge", raw="{not json"),
                          400, "MALFORMED_JSON")
        # 404: unknown schedule and seat, another user's reservation.
        self.assert_error(a.hold(99999, 1), 404, "NOT_FOUND")
        self.assert_error(a.hold(5, 51), 404, "NOT_FOUND")
        status, held, _ = a.hold(5, 1)
        self.assertEqual(status, 201, held)
        self.assert_error(self.server.call("GET", f"/api/v1/reservations/{held['reservationId']}"
                                                  f"?userId={b.user}"), 404, "NOT_FOUND")
        # 409: seat taken; hold limit.
        self.assert_error(b.hold(5, 1), 409, "SEAT_UNAVAILABLE")
        self.assertEqual(a.hold(5, 2)[0], 201)
        self.assert_error(a.hold(5, 3), 409, "HOLD_LIMIT_REACHED")
        # 409: too few points; the hold stays so the fan can charge and retry.
        self.assert_error(a.pay(held["reservationId"]), 409, "INSUFFICIENT_BALANCE")
        status, view, _ = self.server.call("GET", f"/api/v1/reservations/{held['reservationId']}"
                                                  f"?userId={a.user}")
        self.assertEqual(view["status"], "HELD")
        a.charge(100000)
        status, paid, _ = a.pay(held["reservationId"], key="key-1")
        self.assertEqual(status, 201, paid)
        # The token expired with the payment, yet the retry gets its stored answer.
        status, again, _ = a.pay(held["reservationId"], key="key-1")
        self.assertEqual((status, again), (201, paid))
        self.assert_error(a.pay(held["reservationId"] + 1, key="key-1"), 422, "IDEMPOTENCY_KEY_REUSED")
        self.assert_error(a.pay(held["reservationId"]), 401, "TOKEN_INVALID")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM payments WHERE user_id = :'v1'",
                                  a.user), "1")
        check_database_invariants(self, self.db)

    def test_one_key_two_concurrent_requests_make_one_payment(self):
        f = self.fan()
        f.charge(300000)
        f.enter()
        status, held, _ = f.hold(6, 9)
        self.assertEqual(status, 201, held)
        out = h.parallel([lambda: f.pay(held["reservationId"], key="same")] * 8, threads=8)
        codes = [r[0] for r in out]
        self.assertIn(201, codes)
        self.assertTrue(set(codes) <= {201, 409}, codes)
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM payments WHERE user_id = :'v1'",
                                  f.user), "1")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM wallet_ledger WHERE user_id = :'v1' "
                                           "AND kind = 'PAYMENT'", f.user), "1")

    def test_a_payment_commits_in_one_transaction(self):
        """The happy path writes everything at once: no saga steps, the events
        and the key's answer with it, and the actors see the outcome."""
        f = self.fan()
        f.charge(300000)
        f.enter()
        status, held, _ = f.hold(6, 14)
        self.assertEqual(status, 201, held)
        rid = held["reservationId"]
        status, paid, _ = f.pay(rid, key="one-commit")
        self.assertEqual(status, 201, paid)
        saga = h.psql(self.db, "SELECT id, state, step FROM sagas WHERE reservation_id = :'v1'", rid)
        self.assertEqual([row[1:] for row in saga], [["COMPLETED", "DONE"]])
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM saga_steps WHERE saga_id = :'v1'",
                                  saga[0][0]), "0")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM outbox WHERE (aggregate_type, "
                                           "aggregate_id, event_type) IN (('reservation', :'v1', "
                                           "'RESERVATION_CONFIRMED'), ('order', :'v2', "
                                           "'ORDER_COMPLETED'))", rid, paid["paymentId"]), "2")
        self.assertEqual(f.balance(), 300000 - held["price"])
        # The reservation's actor and the seat map know it is paid.
        status, view, _ = self.server.call("GET", f"/api/v1/reservations/{rid}?userId={f.user}")
        self.assertEqual((status, view["status"]), (200, "CONFIRMED"), view)
        # (The seat is told right after the commit, not awaited by the answer.)
        f.enter()
        def seat_14():
            seats = self.server.call("GET", "/api/v1/concerts/2/schedules/6/seats",
                                     headers=f.headers())[1]["seats"]
            return [s["status"] for s in seats if s["seatNumber"] == 14] == ["SOLD"]
        h.wait_until(seat_14, 5, "the seat map never showed the paid seat SOLD")
        # A retry with the key gets the stored answer and pays nothing more.
        again = f.pay(rid, key="one-commit")
        self.assertEqual((again[0], again[1]), (201, paid))
        self.assertEqual(f.balance(), 300000 - held["price"])
        check_database_invariants(self, self.db)

    def test_cancel_confirmed_refunds_and_frees_the_seat(self):
        f = self.fan()
        f.charge(150000)
        f.enter()
        status, held, _ = f.hold(7, 11)
        rid = held["reservationId"]
        self.assertEqual(f.pay(rid)[0], 201)
        f.enter()
        status, view, _ = f.cancel(rid)
        self.assertEqual((status, view["status"]), (200, "CANCELLED"), view)
        self.assertEqual(self.server.call("GET", f"/api/v1/points/{f.user}")[1]["balance"], 150000)
        self.assertEqual(h.scalar(self.db, "SELECT status FROM payments WHERE reservation_id = :'v1'",
                                  rid), "REFUNDED")
        self.assertEqual(f.hold(7, 11)[0], 201)  # the seat is free again
        check_database_invariants(self, self.db)


class SlowStreamReaderTest(unittest.TestCase):
    """A live seat map whose reader never reads is dropped once its unsent
    events pass http.stream_buffer_bytes; the server carries on."""

    def test_slow_reader_is_dropped(self):
        db = h.fresh_database("slowstream")
        # A map of 20,000 seats (about 1 MB) cannot pass a reader that does not
        # read (the server bounds the stream's kernel buffer by the same
        # limit): it stays queued, and the events after it pass the limit.
        server = h.Server(db, *FAST_QUEUE, "--demo.seats_per_schedule", "20000",
                          "--http.stream_buffer_bytes", "256").start()
        try:
            f = Fan(server, 1)
            f.enter()
            path = "/api/v1/concerts/3/schedules/9/seats/stream"
            slow = EventStream(server.port, path, {"X-Queue-Token": f.token}, rcvbuf=4096,
                               timeout=30)
            # Once the head is here the stream is subscribed; its snapshot
            # then waits behind both sockets' (tiny) buffers.
            self.assertEqual(slow.head()[0], 200)
            fans = [Fan(server, 100 + i) for i in range(5)]
            for i, fan in enumerate(fans):
                fan.enter()
                for seat in range(4):
                    self.assertEqual(fan.hold(9, 1 + i * 4 + seat)[0], 201)
            # A stream that keeps up never ends by itself: this one ends (or the
            # read times out and the test fails) because the server dropped it.
            slow.drain()
            slow.close()
            # Still serving, streams included.
            self.assertEqual(server.call("GET", "/health")[0], 200)
            fresh = EventStream(server.port, path, {"X-Queue-Token": f.token})
            self.assertEqual(fresh.head()[0], 200)
            self.assertEqual(json.loads(fresh.event()["data"])["seats"][0]["status"], "HELD")
        finally:
            code = server.stop()
        self.assertEqual(code, 0, server.output())
        fresh.drain()  # shutdown ended the open stream
        fresh.close()


class AdmissionTest(unittest.TestCase):
    def test_rate_and_cap(self):
        db = h.fresh_database("admission")
        server = h.Server(db, "--queue.admit_per_second", "20", "--queue.max_active", "30").start()
        try:
            fans = [Fan(server, 500 + i) for i in range(60)]
            started = time.time()
            tickets = [server.call("POST", "/api/v1/queue/token", {"userId": f.user})[1]
                       for f in fans]
            # The same user again gets the same token and place.
            again = server.call("POST", "/api/v1/queue/token", {"userId": fans[5].user})[1]
            self.assertEqual(again["token"], tickets[5]["token"])
            time.sleep(1.0)
            def active_count():
                return sum(server.call("GET", "/api/v1/queue/status",
                                       headers={"X-Queue-Token": t["token"]})[1]["status"] == "ACTIVE"
                           for t in tickets)
            n = active_count()
            elapsed = time.time() - started
            self.assertLessEqual(n, 20 * elapsed + 21)  # rate (one second of budget at most)
            self.assertGreater(n, 0)
            time.sleep(2.5)
            self.assertEqual(active_count(), 30)  # the cap
            # Positions are exact: the first waiting user is at position 1.
            waiting = [server.call("GET", "/api/v1/queue/status",
                                   headers={"X-Queue-Token": t["token"]})[1] for t in tickets]
            positions = sorted(w["position"] for w in waiting if w["status"] == "WAITING")
            self.assertEqual(positions, list(range(1, 31)))
            # A waiting token may not reserve.
            w = next(t for t, s in zip(tickets, waiting) if s["status"] == "WAITING")
            status, body, _ = server.call("POST", "/api/v1/reservations",
                                          {"userId": w["userId"], "scheduleId": 1, "seatNumber": 1},
                                          headers={"X-Queue-Token": w["token"]})
            self.assertEqual((status, body["error"]["code"]), (403, "TOKEN_NOT_ACTIVE"))
            # Tokens and places survive a restart.
            self.assertEqual(server.stop(), 0)
            server = h.Server(db, "--queue.admit_per_second", "20", "--queue.max_active", "30",
                              port=server.port).start()
            again = server.call("GET", "/api/v1/queue/status",
                                headers={"X-Queue-Token": w["token"]})[1]
            self.assertEqual(again["status"], "WAITING")
        finally:
            server.stop()


def expires_at(db, reservation_id):
    return float(h.scalar(db, "SELECT extract(epoch FROM expires_at) FROM reservations "
                              "WHERE id = :'v1'", reservation_id))


def reservation_status(db, reservation_id):
    return h.scalar(db, "SELECT status FROM reservations WHERE id = :'v1'", reservation_id)


class QueueTokenLifetimeTest(unittest.TestCase):
    TTL = 3

    def test_returning_user_after_idle_expiry_gets_a_working_token(self):
        db = h.fresh_database("queue_ttl")
        server = h.Server(db, *FAST_QUEUE, "--queue.active_ttl_seconds", str(self.TTL)).start()
        try:
            f = Fan(server, 77).enter()
            first = f.token
            # Idle past its TTL: the row must say so (the expiry is stored).
            h.wait_until(lambda: h.scalar(db, "SELECT status FROM queue_tokens WHERE token = :'v1'",
                                          first) == "EXPIRED", self.TTL + 3,
                         "the idle token's expiry was never stored")
            self.assertEqual(f.hold(1, 5)[1]["error"]["code"], "TOKEN_INVALID")
            # A second pass later its entry is freed; the user comes back.
            time.sleep(1.2)
            status, ticket, _ = server.call("POST", "/api/v1/queue/token", {"userId": 77})
            self.assertEqual(status, 201, ticket)
            self.assertEqual(ticket["userId"], 77)
            self.assertIn(ticket["status"], ("WAITING", "ACTIVE"))
            self.assertNotEqual(ticket["token"], first)
            f.enter()
            self.assertEqual(f.hold(1, 5)[0], 201)
        finally:
            server.stop()

    def test_a_failed_save_is_retried_not_lost(self):
        db = h.fresh_database("queue_save")
        # Statements give up after a second, so a locked table fails the save.
        server = h.Server(db, *FAST_QUEUE, "--queue.active_ttl_seconds", "600",
                          env={"PGOPTIONS": "-c statement_timeout=1000"}).start()
        locker = None
        try:
            f = Fan(server, 78).enter()
            before = float(h.scalar(db, "SELECT extract(epoch FROM active_until) FROM queue_tokens "
                                        "WHERE token = :'v1'", f.token))
            cmd = ["psql", "-X", "-q", "-h", h.pg_setting("host"), "-p", h.pg_setting("port"),
                   "-U", h.pg_setting("user"), "-d", db, "-c",
                   "BEGIN; LOCK TABLE queue_tokens IN ACCESS EXCLUSIVE MODE; "
                   "SELECT pg_sleep(3); COMMIT;"]
            locker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            h.wait_until(lambda: h.scalar(db, "SELECT count(*) FROM pg_locks l JOIN pg_class c "
                                              "ON c.oid = l.relation WHERE c.relname = "
                                              "'queue_tokens' AND l.mode = 'AccessExclusiveLock' "
                                              "AND l.granted") == "1", 5, "no lock")
            time.sleep(1.2)  # so that using the token moves its expiry by more than a second
            self.assertEqual(server.call("GET", "/api/v1/concerts/1/schedules/1/seats",
                                         headers=f.headers())[0], 200)
            locker.wait(10)
            # The write that failed under the lock must land once it is gone.
            h.wait_until(lambda: float(h.scalar(
                db, "SELECT extract(epoch FROM active_until) FROM queue_tokens WHERE token = :'v1'",
                f.token)) > before + 1.0, 5, "the failed save of the token was lost")
        finally:
            if locker and locker.poll() is None:
                locker.kill()
            server.stop()


class ExpiryTest(unittest.TestCase):
    TTL = 3

    def assert_expires_on_time(self, db, reservation_id):
        """EXPIRED no later than a second after expires_at, stored within a second of it."""
        deadline = expires_at(db, reservation_id) + 1.0
        h.wait_until(lambda: reservation_status(db, reservation_id) == "EXPIRED",
                     max(0.0, deadline - time.time()), "hold outlived its expiry", interval=0.05)
        lag = float(h.scalar(db, "SELECT extract(epoch FROM updated_at - expires_at) "
                                 "FROM reservations WHERE id = :'v1'", reservation_id))
        self.assertLess(lag, 1.0)

    def test_hold_expires_in_time_also_across_restart(self):
        db = h.fresh_database("expiry")
        args = [*FAST_QUEUE, "--hold.ttl_seconds", str(self.TTL)]
        server = h.Server(db, *args).start()
        try:
            f = Fan(server, 42).enter()
            # 1. While the server runs.
            first = f.hold(1, 1)[1]["reservationId"]
            self.assert_expires_on_time(db, first)
            # 2. Killed while the hold is HELD and back before it is due: the
            #    reloaded reservation must re-arm its own expiry.
            second = f.hold(1, 2)[1]["reservationId"]
            self.assertEqual(reservation_status(db, second), "HELD")
            server.kill()
            server = h.Server(db, *args).start()
            self.assertLess(time.time(), expires_at(db, second), "restart took longer than the TTL")
            self.assert_expires_on_time(db, second)
            # 3. Due while the server is down: expired right after start.
            f = Fan(server, 43).enter()
            third = f.hold(1, 3)[1]["reservationId"]
            server.kill()
            h.wait_until(lambda: time.time() > expires_at(db, third), self.TTL + 1, "clock")
            self.assertEqual(reservation_status(db, third), "HELD")
            server = h.Server(db, *args).start()
            h.wait_until(lambda: reservation_status(db, third) == "EXPIRED", 1.0,
                         "an overdue hold was not expired at start-up", interval=0.05)
            f = Fan(server, 44).enter()
            self.assertEqual(f.hold(1, 2)[0], 201)
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM outbox WHERE event_type = "
                                          "'RESERVATION_EXPIRED'"), "3")
        finally:
            server.stop()


    def test_expiry_takes_the_database_word_for_a_paid_hold(self):
        """A reservation actor that never learned its payment committed (an
        unknown outcome it could not settle) finds CONFIRMED at expiry and
        keeps it, instead of retrying the expiry forever or freeing the seat."""
        db = h.fresh_database("expiry_paid")
        server = h.Server(db, *FAST_QUEUE, "--hold.ttl_seconds", "2").start()
        try:
            f = Fan(server, 45).enter()
            status, held, _ = f.hold(1, 4)
            self.assertEqual(status, 201, held)
            rid = held["reservationId"]
            # The commit the actor did not hear of, made behind its back.
            h.psql(db, "UPDATE reservations SET status = 'CONFIRMED' WHERE id = :'v1'", rid)
            h.wait_until(lambda: time.time() > expires_at(db, rid) + 0.5, 5, "clock")
            def confirmed_in_memory():
                body = server.call("GET", f"/api/v1/reservations/{rid}?userId=45")[1]
                return body.get("status") == "CONFIRMED"
            h.wait_until(confirmed_in_memory, 5, "the actor never took the database's word")
            self.assertEqual(reservation_status(db, rid), "CONFIRMED")
            self.assertEqual(Fan(server, 46).enter().hold(1, 4)[0], 409)  # the seat stays taken
        finally:
            server.stop()

class CrashTest(unittest.TestCase):
    def test_sigkill_during_payments(self):
        db = h.fresh_database("crash")
        server = h.Server(db, *FAST_QUEUE, "--demo.seats_per_schedule", "200").start()
        try:
            self.pay_and_kill(db, server)
        finally:
            server.kill()
        self.assertGreater(int(h.scalar(db, "SELECT count(*) FROM payments")), 0)
        server = h.Server(db, *FAST_QUEUE).start()
        try:
            deadline = time.time() + 20
            while h.scalar(db, "SELECT count(*) FROM sagas WHERE state IN ('RUNNING','COMPENSATING')") != "0":
                self.assertLess(time.time(), deadline, "sagas left unfinished after recovery")
                time.sleep(0.1)
            check_database_invariants(self, db)
            self.assertEqual(h.psql(db, "SELECT id FROM reservations WHERE status = 'PAYING'"), [])
        finally:
            self.assertEqual(server.stop(), 0)

    def pay_and_kill(self, db, server):
        fans = [Fan(server, 2000 + i) for i in range(60)]
        h.parallel([lambda f=f: (f.charge(1000000), f.enter()) for f in fans], threads=30)
        stop = threading.Event()

        def stream(f, seat):
            while not stop.is_set():
                try:
                    status, body, _ = f.hold(1 + seat % 9, seat // 9 + 1)
                    if status == 201:
                        f.pay(body["reservationId"])
                        f.enter()
                except Exception:
                    return
                seat += 60

        threads = [threading.Thread(target=stream, args=(f, i)) for i, f in enumerate(fans)]
        for t in threads:
            t.start()
        try:
            time.sleep(2.5)  # payments under way when the kill comes
        finally:
            server.kill()
            stop.set()
            for t in threads:
                t.join()


if __name__ == "__main__":
    h.take_binaries("boxoffice")
    h.main()
