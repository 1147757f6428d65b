"""End to end: identity and abuse limits (issue 12). In auth.mode = jwt no
request can read, charge, hold, pay or cancel for a user other than its
bearer token's subject, and forged tokens are refused on every route; the
abuse limits answer 429 with Retry-After under a burst and let the same
client in after it. Valid tokens come from tools/jwtmint and from a few lines
of HMAC here; forged ones are built by hand, as an attacker would."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time
import unittest

import harness as h
from booking_test import FAST_QUEUE, Fan

SECRET = "identity-test-secret-0123456789abcdef"
ISSUER = "tickets.example"
AUDIENCE = "boxoffice"
ADMIN_KEY = "identity-admin-key"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, claims, key):
    """A compact JWS signed with HMAC-SHA256 under `key`, whatever the header
    says; key None: an empty signature part."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if key is None:
        return signing_input + "."
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def claims(sub, **changes):
    c = {"sub": str(sub), "iss": ISSUER, "aud": AUDIENCE, "iat": int(time.time()),
         "exp": int(time.time()) + 600}
    c.update(changes)
    return {k: v for k, v in c.items() if v is not None}


def token(sub, **changes):
    return forge({"alg": "HS256", "typ": "JWT"}, claims(sub, **changes), SECRET)


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


class Signed:
    """A server whose every call carries one bearer token."""

    def __init__(self, server, tok):
        self.server, self.tok = server, tok
        self.port = server.port

    def call(self, method, path, body=None, headers=None, **kw):
        return self.server.call(method, path, body, {**bearer(self.tok), **(headers or {})}, **kw)


def write_file(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def metric(admin_port, name, labels):
    status, text, _ = h.admin_call(admin_port, "GET", "/metrics", ADMIN_KEY)
    assert status == 200, text
    node = 'node="node-1"'  # every series carries the node's id first
    series = f"{name}{{{node},{labels}}} " if labels else f"{name}{{{node}}} "
    for line in text.splitlines():
        if line.startswith(series):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{{{labels}}} not in /metrics")


class JwtModeTest(unittest.TestCase):
    """HS256 tokens with a required issuer and audience."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="identity-")
        secret_file = write_file(cls.dir, "secret", SECRET + "\n")
        cls.db = h.fresh_database("identity_jwt")
        cls.admin_port = h.free_port()
        cls.server = h.Server(cls.db, *FAST_QUEUE, "--auth.mode", "jwt",
                              "--auth.hs256_secret_file", secret_file,
                              "--auth.issuer", ISSUER, "--auth.audience", AUDIENCE,
                              "--auth.leeway_seconds", "5",
                              "--admin.port", str(cls.admin_port), "--admin.key", ADMIN_KEY)
        cls.server.start()
        # The victim: charged, admitted, holding seat 3 of schedule 1.
        cls.victim = Fan(Signed(cls.server, token(42)), 42)
        assert cls.victim.charge(500000)[0] == 200
        cls.victim.enter()
        status, held, _ = cls.victim.hold(1, 3)
        assert status == 201, held
        cls.reservation = held["reservationId"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def victim_routes(self, queue_token):
        """Every route that names user 42, as (method, path, body, extra headers)."""
        rid = self.reservation
        return [
            ("POST", "/api/v1/queue/token", {"userId": 42}, {}),
            ("GET", "/api/v1/points/42", None, {}),
            ("GET", "/api/v1/points/42/history", None, {}),
            ("POST", "/api/v1/points/charge", {"userId": 42, "amount": 100}, {}),
            ("POST", "/api/v1/reservations", {"userId": 42, "scheduleId": 1, "seatNumber": 4},
             {"X-Queue-Token": queue_token}),
            ("POST", "/api/v1/reservations", {"userId": 42, "scheduleId": 1, "seatNumber": 3},
             {"X-Queue-Token": queue_token}),  # a taken seat: answered on the listener's thread
            ("GET", f"/api/v1/reservations/{rid}?userId=42", None, {}),
            ("DELETE", f"/api/v1/reservations/{rid}?userId=42", None,
             {"X-Queue-Token": queue_token}),
            ("POST", "/api/v1/payments", {"userId": 42, "reservationId": rid},
             {"X-Queue-Token": queue_token, "Idempotency-Key": "steal-1"}),
        ]

    def assert_victim_untouched(self):
        self.assertEqual(self.victim.balance(), 500000)
        status, r, _ = self.victim.s.call("GET", f"/api/v1/reservations/{self.reservation}?userId=42")
        self.assertEqual((status, r["status"]), (200, "HELD"))
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM payments WHERE user_id = 42"), "0")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM wallet_ledger WHERE user_id = 42"),
                         "1")
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM reservations WHERE user_id = 42"),
                         "1")

    def test_another_users_token_is_forbidden_on_every_route(self):
        thief = token(43)
        for method, path, body, extra in self.victim_routes(self.victim.token):
            with self.subTest(route=f"{method} {path}"):
                status, err, hdrs = self.server.call(method, path, body, {**bearer(thief), **extra})
                self.assertEqual(status, 403, err)
                self.assertEqual(err["error"]["code"], "FORBIDDEN")
                self.assertIn("insufficient_scope", hdrs.get("WWW-Authenticate", ""))
        self.assert_victim_untouched()

    def test_forged_tokens_are_unauthenticated_on_every_route(self):
        now = int(time.time())
        good = token(42)
        forged = {
            "no token": None,
            "alg none": forge({"alg": "none", "typ": "JWT"}, claims(42), None),
            "alg none, signed anyway": forge({"alg": "none"}, claims(42), SECRET),
            "another secret": forge({"alg": "HS256"}, claims(42), SECRET + "x"),
            "another audience": token(42, aud="elsewhere"),
            "another issuer": token(42, iss="evil.example"),
            "no issuer": token(42, iss=None),
            "expired": token(42, exp=now - 60),
            "no expiry": token(42, exp=None),
            "not yet valid": token(42, nbf=now + 600),
            "signature cut off": good[:good.rfind(".") + 1],
            "two parts": good[:good.rfind(".")],
            "truncated signature": good[:-5],
            "huge": token(42, pad="x" * 4000),
            "not a JWT": "hello",
        }
        for name, tok in forged.items():
            for method, path, body, extra in self.victim_routes(self.victim.token):
                with self.subTest(forgery=name, route=f"{method} {path}"):
                    hdrs = {**extra, **(bearer(tok) if tok else {})}
                    status, err, answer = self.server.call(method, path, body, hdrs)
                    self.assertEqual(status, 401, err)
                    self.assertEqual(err["error"]["code"], "UNAUTHENTICATED")
                    challenge = answer.get("WWW-Authenticate", "")
                    self.assertTrue(challenge.startswith("Bearer realm="), challenge)
                    if tok:
                        self.assertIn('error="invalid_token"', challenge)
        self.assert_victim_untouched()
        self.assertGreater(metric(self.admin_port, "boxoffice_auth_refused_total",
                                  'reason="expired"'), 0)
        self.assertGreater(metric(self.admin_port, "boxoffice_auth_refused_total",
                                  'reason="algorithm"'), 0)

    def test_a_fan_books_with_their_own_token(self):
        fan = Fan(Signed(self.server, token(77)), 77)
        rid = fan.book(2, 5)
        status, r, _ = fan.s.call("GET", f"/api/v1/reservations/{rid}?userId=77")
        self.assertEqual((status, r["status"]), (200, "CONFIRMED"))
        status, body, _ = fan.s.call("GET", "/api/v1/points/77/history")
        self.assertEqual(status, 200, body)
        status, _, _ = fan.cancel(rid)
        self.assertEqual(status, 200)
        # Routes that name no user need no bearer token.
        self.assertEqual(self.server.call("GET", "/api/v1/concerts")[0], 200)
        self.assertGreater(metric(self.admin_port, "boxoffice_auth_verified_total", ""), 0)


class LoadDriverTest(unittest.TestCase):
    """loadgen --jwt-secret-file: its fans book through a jwt-mode server, and
    without the secret every fan is refused."""

    def test_signed_fans_book_and_unsigned_ones_cannot(self):
        directory = tempfile.mkdtemp(prefix="identity-loadgen-")
        secret_file = write_file(directory, "secret", SECRET)
        db = h.fresh_database("identity_loadgen")
        server = h.Server(db, *FAST_QUEUE, "--auth.mode", "jwt",
                          "--auth.hs256_secret_file", secret_file, "--auth.issuer", ISSUER,
                          "--auth.audience", AUDIENCE).start()
        try:
            base = [h.BINARIES["loadgen"], "--target", f"http://127.0.0.1:{server.port}",
                    "--db", os.environ["BOXOFFICE_TEST_PG"] + f" dbname={db}",
                    "--scenario", "flash-crowd", "--quiet"]
            signed = subprocess.run(base + ["--users", "20", "--user-base", "1",
                                            "--jwt-secret-file", secret_file,
                                            "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE],
                                    capture_output=True, text=True, timeout=300)
            self.assertEqual(signed.returncode, 0, signed.stdout[-3000:] + signed.stderr[-3000:])
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM payments"), "20")
            results = os.path.join(directory, "unsigned.json")
            subprocess.run(base + ["--users", "3", "--user-base", "100", "--json", results],
                           capture_output=True, text=True, timeout=300)
            with open(results) as f:
                counters = json.load(f)["counters"]
            self.assertEqual((counters["payments"], counters["failed"]), (0, 3), counters)
            self.assertEqual(h.scalar(db, "SELECT count(*) FROM wallets WHERE user_id >= 100"),
                             "0")
        finally:
            server.stop()


class PublicKeyModeTest(unittest.TestCase):
    """RS256 and ES256: tokens minted by tools/jwtmint with the private key."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="identity-pem-")
        cls.db = h.fresh_database("identity_pem")

    def keypair(self, name, *genpkey):
        private = os.path.join(self.dir, f"{name}.key")
        public = os.path.join(self.dir, f"{name}.pub")
        subprocess.run(["openssl", "genpkey", *genpkey, "-out", private], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True,
                       capture_output=True)
        return private, public

    def mint(self, private, sub, *extra):
        out = subprocess.run([h.BINARIES["jwtmint"], "--private-key-file", private, "--sub",
                              str(sub), *extra], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def check_mode(self, name, *genpkey):
        private, public = self.keypair(name, *genpkey)
        with open(public) as f:
            public_pem = f.read()
        server = h.Server(self.db, "--auth.mode", "jwt", "--auth.public_key_file", public)
        server.start()
        try:
            status, body, _ = server.call("GET", "/api/v1/points/9", headers=bearer(
                self.mint(private, 9)))
            self.assertEqual(status, 200, body)
            self.assertEqual(server.call("GET", "/api/v1/points/9", headers=bearer(
                self.mint(private, 10)))[0], 403)
            self.assertEqual(server.call("GET", "/api/v1/points/9", headers=bearer(
                self.mint(private, 9, "--expired")))[0], 401)
            # The public key, which anyone may have, used as an HMAC secret.
            confused = forge({"alg": "HS256", "typ": "JWT"}, claims(9, iss=None, aud=None),
                             public_pem)
            status, err, hdrs = server.call("GET", "/api/v1/points/9", headers=bearer(confused))
            self.assertEqual(status, 401, err)
            self.assertIn('error_description="algorithm"', hdrs["WWW-Authenticate"])
            unsigned = forge({"alg": "none"}, claims(9, iss=None, aud=None), None)
            self.assertEqual(server.call("GET", "/api/v1/points/9",
                                         headers=bearer(unsigned))[0], 401)
        finally:
            server.stop()

    def test_rs256(self):
        self.check_mode("rsa", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")

    def test_es256(self):
        self.check_mode("ec", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")

    def test_a_bad_key_stops_start_up(self):
        bad = write_file(self.dir, "not-a-key.pem", "hello\n")
        server = h.Server(self.db, "--auth.mode", "jwt", "--auth.public_key_file", bad)
        server.start(wait=False)
        self.assertEqual(server.proc.wait(timeout=30), 1)
        self.assertIn("holds no PEM public key", server.output())


class LimitsTest(unittest.TestCase):
    """auth.mode = none, small limits, loopback not trusted."""

    @classmethod
    def setUpClass(cls):
        cls.db = h.fresh_database("identity_limits")
        cls.admin_port = h.free_port()
        cls.server = h.Server(cls.db, *FAST_QUEUE,
                              "--limits.charge_per_second", "1", "--limits.charge_burst", "3",
                              "--limits.hold_per_second", "1", "--limits.hold_burst", "2",
                              "--limits.address_per_second", "2", "--limits.address_burst", "5",
                              "--limits.trusted_addresses", "",
                              "--admin.port", str(cls.admin_port), "--admin.key", ADMIN_KEY)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def burst(self, send, n):
        """n sends back to back: their answers."""
        return [send() for _ in range(n)]

    def wait_out(self, answer):
        retry = int(answer[2]["Retry-After"])
        self.assertGreaterEqual(retry, 1)
        self.assertLessEqual(retry, 2)
        time.sleep(retry)

    def test_charges_per_user(self):
        fan, other = Fan(self.server, 300), Fan(self.server, 301)
        answers = self.burst(lambda: fan.charge(10), 6)
        statuses = [a[0] for a in answers]
        self.assertEqual(statuses[:3], [200, 200, 200], statuses)
        self.assertIn(429, statuses)
        refused = next(a for a in answers if a[0] == 429)
        self.assertEqual(refused[1]["error"]["code"], "RATE_LIMITED")
        self.assertEqual(other.charge(10)[0], 200)  # another user is not held back
        self.wait_out(refused)
        self.assertEqual(fan.charge(10)[0], 200)  # the same user is let in after it
        allowed = statuses.count(200) + 1
        self.assertEqual(fan.balance(), 10 * allowed)  # a refused charge moved nothing
        self.assertEqual(h.scalar(self.db, "SELECT count(*) FROM wallet_ledger WHERE user_id = 300"),
                         str(allowed))
        self.assertGreater(metric(self.admin_port, "boxoffice_limit_refused_total",
                                  'limit="charge"'), 0)
        self.assertEqual(metric(self.admin_port, "boxoffice_limit_burst", 'limit="charge"'), 3)

    def test_holds_per_user_also_on_the_listeners_thread(self):
        owner, hammer = Fan(self.server, 310), Fan(self.server, 311)
        owner.enter()
        hammer.enter()
        self.assertEqual(owner.hold(3, 9)[0], 201)
        # Holds of a taken seat are refused on the listener's thread: they count too.
        statuses = [a[0] for a in self.burst(lambda: hammer.hold(3, 9), 5)]
        self.assertEqual(statuses[:2], [409, 409], statuses)
        self.assertIn(429, statuses)
        answer = hammer.hold(3, 10)
        self.assertEqual(answer[0], 429)
        self.wait_out(answer)
        self.assertEqual(hammer.hold(3, 10)[0], 201)

    def test_anonymous_routes_per_address(self):
        answers = self.burst(lambda: self.server.call("GET", "/api/v1/concerts"), 12)
        statuses = [a[0] for a in answers]
        self.assertEqual(statuses[:5], [200] * 5, statuses)
        self.assertIn(429, statuses)
        self.assertEqual(self.server.call("GET", "/health")[0], 200)  # probes are not limited
        self.wait_out(next(a for a in answers if a[0] == 429))
        self.assertEqual(self.server.call("GET", "/api/v1/concerts")[0], 200)


class TrustedAddressTest(unittest.TestCase):
    def test_loopback_is_trusted_by_default(self):
        db = h.fresh_database("identity_trusted")
        server = h.Server(db, "--limits.address_per_second", "1", "--limits.address_burst", "1")
        server.start()
        try:
            statuses = {server.call("GET", "/api/v1/concerts")[0] for _ in range(10)}
            self.assertEqual(statuses, {200})
        finally:
            server.stop()


if __name__ == "__main__":
    h.take_binaries("boxoffice", "jwtmint", "loadgen")
    h.main()
