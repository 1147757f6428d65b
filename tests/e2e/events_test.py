"""End to end: committed changes reach the data platform (the simulator, over
real HTTP) exactly once each, in order per aggregate, whatever the platform
does; and the platform's troubles never reach the booking path."""

import time
import unittest
from collections import defaultdict

import harness as h
from booking_test import FAST_QUEUE, Fan

SECRET = "events-secret"
ADMIN_KEY = "admin-key"


def next_hold_id(rid):
    """The id of the next hold on the same schedule: ids step by the partition
    count (cluster.partitions, 64 by default), since each encodes its
    schedule's partition in its remainder."""
    return rid + 64


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Simulator(secret=SECRET)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.clear_faults()
        self.sim.call("POST", "/reset")
        self.db = h.fresh_database("events")
        self.admin_port = h.free_port()
        self.args = [*FAST_QUEUE, "--hold.ttl_seconds", "2",
                     "--dataplatform.url", self.sim.url, "--dataplatform.secret", SECRET,
                     "--dataplatform.scan_interval_ms", "200",
                     "--dataplatform.timeout_ms", "500",
                     "--dataplatform.breaker_open_seconds", "2",
                     "--admin.port", str(self.admin_port), "--admin.key", ADMIN_KEY]
        self.server = h.Server(self.db, *self.args).start()
        self.users = iter(range(100, 10**6))

    def tearDown(self):
        self.sim.clear_faults()
        code = self.server.stop()
        self.assertEqual(code, 0, self.server.output())

    def restart(self):
        self.server = h.Server(self.db, *self.args).start()

    def fan(self, points=0):
        f = Fan(self.server, next(self.users))
        if points:
            f.charge(points)
        return f.enter()

    def outbox_status(self):
        status, body, _ = h.admin_call(self.admin_port, "GET", "/admin/outbox", ADMIN_KEY)
        self.assertEqual(status, 200, body)
        return body["status"]

    def drain(self, timeout=30):
        h.wait_until(lambda: h.pending_events(self.db) == 0, timeout, "the backlog did not drain")

    def assert_every_event_delivered_once(self):
        self.drain()
        ids = {r[0] for r in h.psql(self.db, "SELECT event_id FROM outbox")}
        got = [e["eventId"] for e in self.sim.events()]
        missing = ids - set(got)
        self.assertEqual(missing, set(), "committed events never delivered")
        stats = self.sim.stats()
        self.assertEqual(stats["badSignatures"], 0)
        self.assertEqual(stats["orderViolations"], 0)
        return got

    def expected_events(self):
        """What the database's final state says must have been reported."""
        expected = {}
        for rid, status, paid in h.psql(self.db, """
                SELECT r.id, r.status, COALESCE(p.status, '') FROM reservations r
                LEFT JOIN payments p ON p.reservation_id = r.id"""):
            trail = ["RESERVATION_HELD"]
            if paid:
                trail.append("RESERVATION_CONFIRMED")
            if status in ("EXPIRED", "CANCELLED"):
                trail.append("RESERVATION_" + status)
            expected[("reservation", rid)] = trail
        for pid, status in h.psql(self.db, "SELECT id, status FROM payments"):
            trail = ["ORDER_COMPLETED"] + (["ORDER_REFUNDED"] if status == "REFUNDED" else [])
            expected[("order", pid)] = trail
        return expected

    def received_events(self):
        seen = defaultdict(list)
        for e in sorted(self.sim.events(), key=lambda e: e["sequence"]):
            seen[(e["aggregateType"], e["aggregateId"])].append(e["eventType"])
        return dict(seen)

    def mixed_workload(self, schedule):
        rich, poor = self.fan(10**6), self.fan(1000)
        seat = iter(range(1, 51))
        for _ in range(3):  # paid and kept
            rid = rich.hold(schedule, next(seat))[1]["reservationId"]
            self.assertEqual(rich.pay(rid)[0], 201)
            rich.enter()
        rid = rich.hold(schedule, next(seat))[1]["reservationId"]  # paid, then cancelled
        self.assertEqual(rich.pay(rid)[0], 201)
        rich.enter()
        self.assertEqual(rich.cancel(rid)[0], 200)
        rid = rich.hold(schedule, next(seat))[1]["reservationId"]  # hold cancelled
        self.assertEqual(rich.cancel(rid)[0], 200)
        rid = poor.hold(schedule, next(seat))[1]["reservationId"]  # payment rolled back, expires
        self.assertEqual(poor.pay(rid)[0], 409)
        time.sleep(3.2)

    def test_mixed_workload_one_event_per_committed_change(self):
        self.mixed_workload(1)
        self.assert_every_event_delivered_once()
        self.assertEqual(self.received_events(), self.expected_events())
        stats = self.sim.stats()
        self.assertEqual(stats["unique"], int(h.scalar(self.db, "SELECT count(*) FROM outbox")))
        # The rolled-back payment reported nothing.
        self.assertEqual(stats["byType"].get("ORDER_COMPLETED"), 4)
        envelope = next(e for e in self.sim.call("GET", "/stats")["last"]
                        if e["eventType"].startswith("RESERVATION"))
        self.assertRegex(envelope["occurredAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_platform_hung_then_down_does_not_slow_payments(self):
        fans = [self.fan(10**6) for _ in range(6)]
        seats = iter(range(1, 51))

        def pay_round():
            worst = 0
            for f in fans:
                started = time.time()
                status, held, _ = f.hold(2, next(seats))
                self.assertEqual(status, 201, held)
                self.assertEqual(f.pay(held["reservationId"])[0], 201)
                worst = max(worst, time.time() - started)
                f.enter()
            return worst

        self.sim.faults(hang=True)
        self.assertLess(pay_round(), 1.0)  # the platform hangs, payments do not
        self.assertGreater(h.pending_events(self.db), 0)
        self.sim.faults(hang=False, refuseSeconds=4)
        self.assertLess(pay_round(), 1.0)
        self.sim.wait_reachable()
        self.sim.clear_faults()
        self.assert_every_event_delivered_once()

    def test_sigkill_with_events_pending(self):
        self.sim.faults(refuseSeconds=4)
        f = self.fan(10**6)
        f2 = self.fan(10**6)
        for seat in range(1, 4):
            self.assertEqual(f.hold(3, seat)[0] if seat < 3 else f2.hold(3, seat)[0], 201)
        time.sleep(0.5)
        self.assertGreater(h.pending_events(self.db), 0)
        self.server.kill()
        self.sim.wait_reachable()
        self.restart()
        self.assert_every_event_delivered_once()

    def test_order_per_aggregate_under_failures(self):
        self.sim.faults(errorStatus=503, errorRate=0.5)
        self.mixed_workload(4)
        self.sim.clear_faults()
        self.assert_every_event_delivered_once()
        self.assertEqual(self.received_events(), self.expected_events())

    def test_rejected_event_dead_letters_alone_and_replays(self):
        f = self.fan(10**6)
        status, held, _ = f.hold(5, 1)
        rid = str(held["reservationId"])
        self.drain()
        self.sim.faults(failAggregates={str(next_hold_id(int(rid))): 400})
        bad = f.hold(5, 2)[1]["reservationId"]
        good = f.hold(5, 3)[1]["reservationId"]
        self.assertEqual(str(bad), str(next_hold_id(int(rid))))
        h.wait_until(lambda: h.scalar(self.db, "SELECT status FROM outbox WHERE aggregate_id = :'v1'",
                                      str(bad)) == "DEAD", 10, "the rejected event was not dead-lettered")
        h.wait_until(lambda: h.scalar(self.db, "SELECT status FROM outbox WHERE aggregate_id = :'v1'",
                                      str(good)) == "DELIVERED", 10, "another event was held up")
        dead_id = h.scalar(self.db, "SELECT event_id FROM outbox WHERE aggregate_id = :'v1'", str(bad))
        letters = h.admin_call(self.admin_port, "GET", "/admin/outbox", ADMIN_KEY)[1]["deadLetters"]
        self.assertEqual([d["eventId"] for d in letters], [dead_id])
        self.sim.clear_faults()
        status, body, _ = h.admin_call(self.admin_port, "POST", "/admin/outbox/replay", ADMIN_KEY)
        self.assertEqual((status, body["replayed"]), (200, 1))
        got = self.assert_every_event_delivered_once()
        self.assertIn(dead_id, got)  # the same event id as the first attempt

    def test_replay_ahead_of_an_event_in_flight_sends_each_once(self):
        """A replayed dead letter sorts ahead of its aggregate's event in flight:
        the report of the one in flight must settle that one, not the head."""
        f = self.fan(10**6)
        rid = f.hold(5, 4)[1]["reservationId"]
        self.drain()
        self.sim.faults(failAggregates={str(next_hold_id(rid)): 400})
        bad = f.hold(5, 5)[1]["reservationId"]
        self.assertEqual(bad, next_hold_id(rid))
        h.wait_until(lambda: h.scalar(self.db, "SELECT count(*) FROM outbox WHERE status = 'DEAD'")
                     == "1", 10, "the rejected event was not dead-lettered")
        self.sim.clear_faults()
        self.sim.faults(latencyMs=400)  # under dataplatform.timeout_ms: answered, slowly
        self.assertEqual(f.cancel(bad)[0], 200)  # RESERVATION_CANCELLED goes in flight
        status, body, _ = h.admin_call(self.admin_port, "POST", "/admin/outbox/replay", ADMIN_KEY)
        self.assertEqual((status, body["replayed"]), (200, 1))
        self.drain()
        self.sim.clear_faults()
        sent = [e for e in self.sim.events() if e["aggregateId"] == str(bad)]
        self.assertEqual(sorted(e["eventType"] for e in sent),
                         ["RESERVATION_CANCELLED", "RESERVATION_HELD"])
        self.assertEqual(self.sim.stats()["duplicates"], 0, "an event was sent twice")

    def test_breaker_opens_stops_calling_probes_and_closes(self):
        self.sim.faults(errorStatus=503)
        fans = [self.fan() for _ in range(25)]
        for i, f in enumerate(fans):
            self.assertEqual(f.hold(6, i + 1)[0], 201)
        h.wait_until(lambda: self.outbox_status()["breaker"] == "open", 10, "breaker never opened")
        calls = self.sim.stats()["failedByFault"]
        time.sleep(1.0)  # open for 2 s: no calls meanwhile
        self.assertEqual(self.sim.stats()["failedByFault"], calls)
        self.sim.clear_faults()
        h.wait_until(lambda: self.outbox_status()["breaker"] == "closed", 15, "breaker never closed")
        self.assert_every_event_delivered_once()
        self.assertGreaterEqual(self.outbox_status()["breakerOpened"], 1)


if __name__ == "__main__":
    h.take_binaries("boxoffice", "dpsim")
    h.main()
