"""End to end: money under faults (issue 8). A paid booking is refunded once,
a payment that fails after its debit gives the points back, a stored
Idempotency-Key answer is replayed only to its user's token, and repeated
SIGKILL + restart under a mixed load loses and invents nothing."""

import os
import random
import signal
import subprocess
import threading
import time
import unittest

import harness as h
from booking_test import FAST_QUEUE, Fan, check_database_invariants

def start_server(db, *args, statement_timeout_ms=None):
    """Starts boxoffice; with a statement timeout given through PGOPTIONS (the
    server keeps one set in its environment), so a held lock fails its
    statements quickly."""
    env = {"PGOPTIONS": f"-c statement_timeout={statement_timeout_ms}"} if statement_timeout_ms else None
    return h.Server(db, *args, env=env).start()


class Locker:
    """A psql session that holds a lock for a while, like a slow migration or
    an operator's open transaction."""

    def __init__(self, db, lock_sql, seconds):
        self.marker = f"locker_{random.randrange(10**9)}"
        sql = f"BEGIN; {lock_sql}; SELECT pg_sleep({seconds}) AS {self.marker}; COMMIT;"
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", h.pg_setting("host"),
               "-p", h.pg_setting("port"), "-U", h.pg_setting("user"), "-d", db, "-c", sql]
        env = dict(os.environ)
        env.pop("PGOPTIONS", None)
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        # Sleeping means the lock statement before it has completed.
        h.wait_until(lambda: h.scalar(db, "SELECT count(*) FROM pg_stat_activity "
                                          "WHERE query LIKE :'v1' AND wait_event = 'PgSleep'",
                                      f"%{self.marker}%") == "1",
                     10, "the lock was not taken")

    def wait(self, timeout=30):
        self.proc.wait(timeout)
        assert self.proc.returncode == 0, self.proc.stderr.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_settled(test, db, timeout=30):
    """Every saga ended and no reservation PAYING, within a bounded wait."""
    deadline = time.time() + timeout
    while True:
        live = h.psql(db, "SELECT id, kind, state, step FROM sagas "
                          "WHERE state IN ('RUNNING', 'COMPENSATING')")
        paying = h.psql(db, "SELECT id FROM reservations WHERE status = 'PAYING'")
        if not live and not paying:
            return
        if time.time() > deadline:
            test.fail(f"not settled after {timeout}s: live sagas {live}, PAYING {paying}")
        time.sleep(0.1)


def check_money(test, db):
    """What must hold in the database whatever happened: the booking
    invariants, and that money moved once."""
    check_database_invariants(test, db)
    test.assertEqual(h.psql(db, """
        SELECT schedule_id, seat_number FROM reservations r
        JOIN payments p ON p.reservation_id = r.id AND p.status = 'COMPLETED'
        GROUP BY 1, 2 HAVING count(*) > 1"""), [], "a seat sold twice")
    test.assertEqual(h.psql(db, """
        SELECT p.id FROM payments p WHERE EXISTS (SELECT 1 FROM wallet_ledger l
          WHERE l.saga_id = p.saga_id AND l.kind = 'REFUND')"""), [],
        "a completed payment whose own saga also refunded it")
    test.assertEqual(h.psql(db, """
        SELECT p.id, count(l.id) FROM payments p
        JOIN sagas s ON s.reservation_id = p.reservation_id AND s.kind = 'CANCELLATION'
        JOIN wallet_ledger l ON l.saga_id = s.id AND l.kind = 'REFUND'
        GROUP BY p.id HAVING count(l.id) > 1 OR bool_or(p.status <> 'REFUNDED')"""), [],
        "a payment refunded twice (or refunded while still COMPLETED)")
    test.assertEqual(h.psql(db, """
        SELECT p.id FROM payments p WHERE p.status = 'REFUNDED' AND NOT EXISTS (
          SELECT 1 FROM sagas s JOIN wallet_ledger l ON l.saga_id = s.id AND l.kind = 'REFUND'
          WHERE s.reservation_id = p.reservation_id AND s.kind = 'CANCELLATION')"""), [],
        "a payment marked REFUNDED without its points back")
    test.assertEqual(h.psql(db, """
        SELECT aggregate_id FROM outbox WHERE event_type = 'ORDER_REFUNDED'
        GROUP BY aggregate_id HAVING count(*) > 1"""), [], "an order refunded twice")


class RefundOnceTest(unittest.TestCase):
    def test_concurrent_deletes_refund_once(self):
        db = h.fresh_database("money_refund")
        server = start_server(db, *FAST_QUEUE)
        try:
            f = Fan(server, 100)
            rid = f.book(1, 1)
            results = h.parallel([lambda: f.cancel(rid)] * 8, threads=8)
            codes = sorted(r[0] for r in results)
            self.assertEqual(codes.count(200), 1, codes)
            self.assertTrue(set(codes) <= {200, 409}, codes)
            wait_settled(self, db)
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM wallet_ledger "
                                          "WHERE kind = 'REFUND'"), "1")
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM outbox "
                                          "WHERE event_type = 'ORDER_REFUNDED'"), "1")
            self.assertEqual(f.balance(), 200000)
            check_money(self, db)
        finally:
            server.stop()

    def test_stalled_cancellation_is_never_refunded_twice(self):
        """The booking's payment row is locked past the statement timeout, so
        the cancellation cannot finish for a while; the fan keeps pressing DELETE.
        The stalled saga must keep the booking to itself (no second saga, no
        second refund) and finish once the lock is gone."""
        db = h.fresh_database("money_stall")
        server = start_server(db, *FAST_QUEUE, statement_timeout_ms=300)
        locker = None
        try:
            f = Fan(server, 200)
            rid = f.book(1, 2)
            locker = Locker(db, f"SELECT 1 FROM payments WHERE reservation_id = {int(rid)} "
                                "FOR UPDATE", 8)
            codes = []
            while locker.proc.poll() is None:
                try:
                    codes.append(f.cancel(rid, timeout=0.5)[0])
                except OSError:
                    codes.append("timeout")  # the saga is still at it
                time.sleep(0.3)
            locker.wait()
            wait_settled(self, db, timeout=30)
            self.assertEqual(h.scalar(db, "SELECT status FROM reservations WHERE id = :'v1'", rid),
                             "CANCELLED", codes)
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM wallet_ledger "
                                          "WHERE kind = 'REFUND'"), "1", codes)
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM outbox "
                                          "WHERE event_type = 'ORDER_REFUNDED'"), "1")
            self.assertEqual(f.balance(), 200000)
            self.assertNotIn(200, codes[1:], "a second cancellation was accepted")
            check_money(self, db)
        finally:
            if locker:
                locker.kill()
            server.stop()


class CompensationTest(unittest.TestCase):
    def test_payment_failing_after_its_debit_gives_the_points_back(self):
        """CONFIRM cannot commit while the payments table is locked past the
        statement timeout: the saga has debited, must compensate, and may not
        end before the points are back and the hold is HELD again."""
        db = h.fresh_database("money_comp")
        server = start_server(db, *FAST_QUEUE, statement_timeout_ms=300)
        locker = None
        try:
            f = Fan(server, 300)
            self.assertEqual(f.charge(200000)[0], 200)
            f.enter()
            status, held, _ = f.hold(1, 3)
            self.assertEqual(status, 201, held)
            rid = held["reservationId"]
            before = f.balance()
            locker = Locker(db, "LOCK TABLE payments IN ACCESS EXCLUSIVE MODE", 3)
            first = []
            payer = threading.Thread(target=lambda: first.append(f.pay(rid, key="k-comp")))
            payer.start()
            # While the saga is under way its key stays claimed.
            h.wait_until(lambda: h.scalar(db, "SELECT count(*) FROM wallet_ledger "
                                              "WHERE kind = 'PAYMENT'") == "1",
                         10, "the payment never debited")
            status, body, _ = f.pay(rid, key="k-comp")
            self.assertEqual((status, body["error"]["code"]), (409, "IDEMPOTENCY_KEY_IN_USE"))
            payer.join(60)
            self.assertFalse(payer.is_alive())
            status, body, _ = first[0]
            self.assertNotEqual(status, 201, body)
            locker.wait()
            saga = h.scalar(db, "SELECT id FROM sagas WHERE reservation_id = :'v1' "
                                "AND kind = 'PAYMENT'", rid)
            h.wait_until(lambda: h.scalar(db, "SELECT state FROM sagas WHERE id = :'v1'", saga)
                         not in ("RUNNING", "COMPENSATING"), 20, "the saga did not end")
            self.assertEqual(h.scalar(db, "SELECT state FROM sagas WHERE id = :'v1'", saga),
                             "COMPENSATED")
            kinds = sorted(r[0] for r in h.psql(db, "SELECT kind FROM wallet_ledger "
                                                    "WHERE saga_id = :'v1'", saga))
            self.assertEqual(kinds, ["PAYMENT", "REFUND"], "the debit must have happened, "
                                                           "and been refunded")
            self.assertEqual(f.balance(), before)
            self.assertEqual(h.scalar(db, "SELECT balance FROM wallets WHERE user_id = :'v1'",
                                      f.user), str(before))
            self.assertIn(h.scalar(db, "SELECT status FROM reservations WHERE id = :'v1'", rid),
                          ("HELD", "EXPIRED"))
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM payments"), "0")
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM outbox WHERE event_type IN "
                                          "('ORDER_COMPLETED', 'RESERVATION_CONFIRMED')"), "0")
            # The saga ended without effect, so its key is free again: the fan
            # retries with it and pays for the hold.
            status, body, _ = f.pay(rid, key="k-comp")
            self.assertEqual(status, 201, body)
            check_money(self, db)
        finally:
            if locker:
                locker.kill()
            server.stop()


    def test_a_saga_retrying_at_shutdown_neither_hangs_it_nor_is_lost(self):
        """A compensation that keeps failing is retried for as long as the
        server lives; a shutdown stops it cleanly and the next start finishes
        it."""
        db = h.fresh_database("money_shut")
        server = start_server(db, *FAST_QUEUE, statement_timeout_ms=300)
        locker = None
        try:
            f = Fan(server, 310)
            f.charge(200000)
            f.enter()
            status, held, _ = f.hold(1, 6)
            self.assertEqual(status, 201, held)
            locker = Locker(db, "LOCK TABLE payments IN ACCESS EXCLUSIVE MODE", 4)
            def pay():
                try:
                    f.pay(held["reservationId"], timeout=30)
                except OSError:
                    pass  # the shutdown cut the request
            payer = threading.Thread(target=pay)
            payer.start()
            h.wait_until(lambda: h.scalar(db, "SELECT count(*) FROM wallet_ledger "
                                              "WHERE kind = 'PAYMENT'") == "1",
                         10, "the payment never debited")
            time.sleep(0.5)  # into the retries
            started = time.time()
            self.assertEqual(server.stop(), 0, server.output())
            self.assertLess(time.time() - started, 10)
            payer.join(30)
            locker.wait()
            server = start_server(db, *FAST_QUEUE)
            wait_settled(self, db, timeout=30)
            # Resumed forward (still RUNNING at shutdown) or compensated: either
            # way the money matches the outcome.
            state = h.scalar(db, "SELECT state FROM sagas WHERE kind = 'PAYMENT'")
            self.assertIn(state, ("COMPLETED", "COMPENSATED"))
            paid = held["price"] if state == "COMPLETED" else 0
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM payments"), str(int(paid > 0)))
            self.assertEqual(Fan(server, 310).balance(), 200000 - paid)
            check_money(self, db)
        finally:
            if locker:
                locker.kill()
            server.stop()


class SweeperTest(unittest.TestCase):
    def test_a_reservation_left_paying_by_an_ended_saga_is_given_back(self):
        """What the old code could leave behind: a payment saga ended FAILED
        after its debit, the reservation still PAYING, the points gone. The
        sweeper reopens it and compensates: points back, reservation HELD."""
        db = h.fresh_database("money_sweep")
        server = start_server(db, *FAST_QUEUE)
        try:
            f = Fan(server, 600)
            f.charge(200000)
            f.enter()
            status, held, _ = f.hold(1, 5)
            self.assertEqual(status, 201, held)
            rid, price = held["reservationId"], held["price"]
        finally:
            self.assertEqual(server.stop(), 0)
        saga = h.scalar(db, "INSERT INTO sagas (kind, reservation_id, user_id, amount, state, "
                            "step, error) VALUES ('PAYMENT', :'v1', 600, :'v2', 'FAILED', "
                            "'REFUND', 'gave up') RETURNING id", rid, price)
        h.psql(db, """
            UPDATE reservations SET status = 'PAYING', saga_id = :'v1' WHERE id = :'v2';
            UPDATE wallets SET balance = balance - :'v3' WHERE user_id = 600;
            INSERT INTO wallet_ledger (user_id, kind, amount, balance, saga_id)
              SELECT 600, 'PAYMENT', -(:'v3')::bigint, balance, :'v1' FROM wallets
              WHERE user_id = 600;""", saga, rid, price)
        server = start_server(db, *FAST_QUEUE)
        try:
            wait_settled(self, db, timeout=30)
            self.assertEqual(h.scalar(db, "SELECT state FROM sagas WHERE id = :'v1'", saga),
                             "COMPENSATED")
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM wallet_ledger WHERE saga_id = "
                                          ":'v1' AND kind = 'REFUND'", saga), "1")
            self.assertEqual(Fan(server, 600).balance(), 200000)
            self.assertIn(h.scalar(db, "SELECT status FROM reservations WHERE id = :'v1'", rid),
                          ("HELD", "EXPIRED"))
            check_money(self, db)
        finally:
            server.stop()


class ReplayIdentityTest(unittest.TestCase):
    def test_a_stored_answer_needs_a_token_of_its_user(self):
        db = h.fresh_database("money_replay")
        server = start_server(db, *FAST_QUEUE)
        try:
            a, b = Fan(server, 400), Fan(server, 401)
            a.charge(200000)
            a.enter()
            b.enter()
            status, held, _ = a.hold(1, 4)
            self.assertEqual(status, 201, held)
            status, paid, _ = a.pay(held["reservationId"], key="k-400")
            self.assertEqual(status, 201, paid)
            body = {"userId": a.user, "reservationId": held["reservationId"]}
            # The payment expired a's token: replaying with it is fine.
            status, again, _ = a.pay(held["reservationId"], key="k-400")
            self.assertEqual((status, again), (201, paid))
            # No token, an unknown one, another user's: no stored answer.
            for headers, code in [({}, 401), ({"X-Queue-Token": "nope"}, 401),
                                  ({"X-Queue-Token": b.token}, 403)]:
                headers = dict(headers, **{"Idempotency-Key": "k-400"})
                status, err, _ = server.call("POST", "/api/v1/payments", body, headers=headers)
                self.assertEqual(status, code, err)
                self.assertNotIn("paymentId", err)
        finally:
            server.stop()


class KillRestartTest(unittest.TestCase):
    ROUNDS = 3

    def test_sigkill_and_restart_under_mixed_load(self):
        """Holds, payments, cancellations and charges from several threads;
        the server is SIGKILLed mid-flight and restarted, a few times."""
        db = h.fresh_database("money_crash")
        args = [*FAST_QUEUE, "--demo.seats_per_schedule", "60", "--hold.ttl_seconds", "4"]
        server = None
        seed = int(os.environ.get("MONEY_SEED", random.randrange(10**6)))
        print(f"MONEY_SEED={seed}")
        rnd = random.Random(seed)
        try:
            for round_no in range(self.ROUNDS):
                server = start_server(db, *args)
                fans = [Fan(server, 5000 + i) for i in range(8)]
                stop = threading.Event()
                seeds = [rnd.randrange(10**6) for _ in fans]

                def load(f, seed):
                    r = random.Random(seed)
                    booked = []
                    while not stop.is_set():
                        try:
                            action = r.random()
                            if action < 0.15 or f.token is None:
                                f.charge(r.randint(100000, 400000))
                                f.enter()
                            elif action < 0.35 and booked:
                                f.cancel(booked.pop(r.randrange(len(booked))), timeout=10)
                            else:
                                status, held, _ = f.hold(r.randint(1, 9), r.randint(1, 60))
                                if status == 201:
                                    status, _, _ = f.pay(held["reservationId"], timeout=10,
                                                         key=f"k{r.randrange(10**9)}")
                                    if status == 201:
                                        booked.append(held["reservationId"])
                                        f.enter()
                                    elif r.random() < 0.3:
                                        f.cancel(held["reservationId"], timeout=10)
                        except (OSError, AssertionError):
                            if stop.is_set():
                                return
                            time.sleep(0.05)

                threads = [threading.Thread(target=load, args=(f, s)) for f, s in zip(fans, seeds)]
                for t in threads:
                    t.start()
                time.sleep(2.0 + rnd.random() * 2)
                server.proc.send_signal(signal.SIGKILL)
                server.proc.wait()
                stop.set()
                for t in threads:
                    t.join(30)
                    self.assertFalse(t.is_alive(), "a client thread hung")
            print("after the kills:", h.psql(db, "SELECT kind, state, count(*) FROM sagas "
                                                 "GROUP BY 1, 2 ORDER BY 1, 2"))
            self.assertGreater(int(h.scalar(db, "SELECT count(*) FROM payments")), 0)
            server = start_server(db, *args)
            wait_settled(self, db, timeout=40)
            check_money(self, db)
            # Wallet actors agree with the database after recovery.
            for user, balance in h.psql(db, "SELECT user_id, balance FROM wallets"):
                self.assertEqual(Fan(server, int(user)).balance(), int(balance))
            self.assertEqual(server.stop(), 0, server.output())
        finally:
            if server:
                server.stop()


if __name__ == "__main__":
    h.take_binaries("boxoffice")
    h.main()
