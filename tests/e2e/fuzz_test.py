"""A seeded HTTP fuzzer: thousands of requests built from the real routes and
then broken (ids, methods, bodies, headers, raw bytes in the request line,
deep nesting, huge fields, Content-Length/Transfer-Encoding conflicts, bad
chunking, pipelining), sent over raw sockets so every byte is ours.

Every answer must be a documented status, errors in the JSON error model, no
5xx but 503, and never silence from a live server. Afterwards the server still
serves a whole funnel and every wallet equals its ledger.

The seed is printed; replay a failure with FUZZ_SEED=<seed>, size a run with
FUZZ_REQUESTS=<n> (default 3000)."""

import collections
import json
import os
import random
import socket
import sys
import time
import unittest

import harness as h
from booking_test import FAST_QUEUE, Fan, check_database_invariants

DOCUMENTED = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 422, 429, 431, 503}
CLOSING_ERRORS = {400, 413, 431}
MAX_BODY = 65536
MAX_HEADER = 8192
ANSWER_TIMEOUT = 10  # seconds a live server may take for one connection's answers
SILENCES_BEFORE_GIVING_UP = 3  # a server that stopped answering fails fast


# ---------------------------------------------------------------- raw HTTP

def build(method, target, headers=(), body=b"", version=b"HTTP/1.1", length=True):
    """One request as bytes; `headers` is a list of (name, value) byte pairs
    sent in order (duplicates allowed)."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode()
    lines = [b(method) + b" " + b(target) + b" " + b(version)]
    names = {b(n).lower() for n, _ in headers}
    if b"host" not in names:
        lines.append(b"Host: fuzz")
    for name, value in headers:
        lines.append(b(name) + b": " + b(value))
    body = b(body)
    if length and b"content-length" not in names and b"transfer-encoding" not in names and body:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_responses(data):
    """Splits what the server sent into responses: (status, headers, body)
    each; raises ValueError on anything that is not well-formed HTTP/1.x."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError(f"truncated response head: {data[:200]!r}")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ValueError(f"bad status line: {lines[0][:200]!r}")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ValueError(f"bad header line: {line[:200]!r}")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if "content-length" not in headers:
            raise ValueError("a response without Content-Length")
        n = int(headers["content-length"])
        if len(rest) < n:
            raise ValueError(f"truncated body: {len(rest)} of {n} bytes")
        if parts[0] == b"HTTP/1.0" and "keep-alive" not in headers.get("connection", "").lower():
            headers.setdefault("connection", "close")  # HTTP/1.0 closes unless told otherwise
        out.append((int(parts[1]), headers, rest[:n]))
        data = rest[n:]
    return out


def exchange(port, payload, timeout=ANSWER_TIMEOUT):
    """Sends the bytes, half-closes, and reads until the server closes.
    Returns what arrived; `timed_out` tells a server that kept silent."""
    received = b""
    timed_out = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        deadline = time.time() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                timed_out = True
                break
            except OSError:
                break  # reset after the answer: what arrived is judged below
            if not chunk:
                break
            received += chunk
    return received, timed_out


def judge(requests, data, timed_out, statuses):
    """The reasons this connection's answers break the contract; [] when fine.
    Counts the statuses seen into `statuses`."""
    try:
        responses = parse_responses(data)
    except ValueError as e:
        return [f"malformed answer: {e}"]
    statuses.update(status for status, _, _ in responses)
    problems = []
    if not responses:
        return ["silence: no answer" + (" (timed out)" if timed_out else " (closed)")]
    for status, headers, body in responses:
        if status not in DOCUMENTED:
            problems.append(f"undocumented status {status}: {body[:300]!r}")
        if status >= 500 and status != 503:
            problems.append(f"server error {status}: {body[:300]!r}")
        if status >= 400:
            problems += error_model_problems(status, headers, body)
    _, last_headers, _ = responses[-1]
    closed = last_headers.get("connection", "").lower() == "close"
    if len(responses) < requests and not closed:
        problems.append(f"{requests} requests, {len(responses)} answers, and no Connection: close")
    if timed_out and not closed:
        problems.append("the server kept the connection open after its last answer")
    return problems


def error_model_problems(status, headers, body):
    if not headers.get("content-type", "").startswith("application/json"):
        return [f"{status} without application/json: {headers.get('content-type')!r}"]
    try:
        err = json.loads(body)["error"]
        if not (isinstance(err["code"], str) and err["code"] and isinstance(err["message"], str)
                and err["message"]):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return [f"{status} outside the error model: {body[:300]!r}"]
    if status in (429, 503) and "retry-after" not in headers:
        return [f"{status} without Retry-After"]
    return []


# ---------------------------------------------------------------- cases

BAD_IDS = ["0", "-1", "-0", "00", "1.5", "1e3", "0x10", "abc", "", " ", "9" * 18, "9" * 19,
           str(2 ** 63), str(2 ** 64), "1" * 200, "%31", "%00", "%ff", "%", "٣", "１",
           "é", "\u202e1", "1;2", "1/2", "../1", "null", "true", "[1]", "{}", "NaN"]
RAW_BYTES = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80",
             b"\xc3", b"\xe2\x82", b"\x00", b"\x01", b"\x7f", b"\t", b" ", b"\xef\xbb\xbf"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO",
           "get", "Post", "M" * 100]


class Generator:
    """Builds broken requests from the real routes, with a seeded random."""

    def __init__(self, rnd, fans, reservations):
        self.r = rnd
        self.fans = fans
        self.reservations = reservations

    def pick(self, xs):
        return xs[self.r.randrange(len(xs))]

    # Parts: each sometimes valid, sometimes broken.
    def user(self):
        return self.pick(self.fans).user if self.r.random() < 0.7 else self.any_value()

    def id_text(self, real):
        return str(real) if self.r.random() < 0.5 else self.pick(BAD_IDS)

    def any_value(self):
        return self.pick([0, -1, 1, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -2 ** 63 - 1,
                          10 ** 30, 1.5, -0.0, 1e308, "1", "", "x" * 300, None, True, False, [],
                          [1], {}, {"a": 1}, "\ud800", "\u0000", "é"])

    def token(self):
        roll = self.r.random()
        if roll < 0.5:
            return self.pick(self.fans).token.encode()
        return self.pick([b"", b"nope", b"x" * 500, b"\xff\xfe", b"tok\x80en",
                          self.pick(self.fans).token.encode() + b"\xc3", b"\x00", b"  "])

    def json_text(self, fields):
        """A body for the route: right, mistyped, or not JSON at all."""
        roll = self.r.random()
        if roll < 0.45:
            obj = {k: (v if self.r.random() < 0.7 else self.any_value()) for k, v in fields.items()}
            if self.r.random() < 0.2:
                obj[self.pick(["extra", "userId", "", "\u00e9"])] = self.any_value()
            return json.dumps(obj).encode()
        if roll < 0.55:
            return self.raw_number_body(fields)
        return self.broken_body()

    def raw_number_body(self, fields):
        name = self.pick(list(fields) or ["userId"])
        num = self.pick([b"1e400", b"-1e400", b"123456789012345678901234567890", b"1.0",
                         b"1E2", b"-0", b"0.0000001", b"NaN", b"Infinity", b"01", b"+1",
                         b"0x1F", b"18446744073709551616", b"-9223372036854775809"])
        return b'{"' + name.encode() + b'": ' + num + b"}"

    def broken_body(self):
        depth = self.pick([100, 1000, 10000, 30000])
        return self.pick([
            b"", b"{", b"}", b"{not json", b"null", b"[]", b"[1,2]", b'"str"', b"42", b"{}",
            b'{"userId": 1,}', b"{'userId': 1}", b'{"userId": 1} trailing',
            b'{"userId": "\xff"}', b'{"userId\xff": 1}', b"\xef\xbb\xbf{}", b"\x00{}",
            b'{"a": "\\ud800"}', b'{"a": "\\udc00\\ud800"}', b'{"a": "\\u0000"}',
            b'{"a": "\\x"}', b'{"a": 1, "a": 2}',
            b"[" * depth + b"]" * depth, b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"userId": "' + b"x" * (MAX_BODY - 20) + b'"}',
            b'{"userId": "' + b"x" * (MAX_BODY + 100) + b'"}',
            b'{"s": "' + bytes(self.r.randrange(256) for _ in range(200)) + b'"}',
            bytes(self.r.randrange(256) for _ in range(self.r.randrange(1, 2000))),
        ])

    def route(self):
        """A request on a real route as (method, target, headers, body)."""
        f = self.pick(self.fans)
        rid = self.pick(self.reservations)
        cid, sid = self.r.randint(1, 3), self.r.randint(1, 8)
        tok = [("X-Queue-Token", self.token())] if self.r.random() < 0.8 else []
        json_hdr = [("Content-Type", "application/json")]
        routes = [
            lambda: ("GET", "/health", [], b""),
            lambda: ("GET", "/ready", [], b""),
            lambda: ("GET", "/api/v1/concerts", [], b""),
            lambda: ("GET", f"/api/v1/concerts/{self.id_text(cid)}/schedules", [], b""),
            lambda: ("GET", f"/api/v1/concerts/{self.id_text(cid)}/schedules/{self.id_text(sid)}/seats",
                     tok, b""),
            lambda: ("POST", "/api/v1/queue/token", json_hdr, self.json_text({"userId": f.user})),
            lambda: ("GET", "/api/v1/queue/status", tok, b""),
            lambda: ("POST", "/api/v1/reservations", json_hdr + tok,
                     self.json_text({"userId": f.user, "scheduleId": sid,
                                     "seatNumber": self.r.randint(-2, 60)})),
            lambda: ("GET", f"/api/v1/reservations/{self.id_text(rid)}?userId={self.id_text(f.user)}",
                     [], b""),
            lambda: ("DELETE", f"/api/v1/reservations/{self.id_text(rid)}?userId={self.id_text(f.user)}",
                     tok, b""),
            lambda: ("POST", "/api/v1/payments",
                     json_hdr + tok + ([("Idempotency-Key", self.idempotency_key())]
                                       if self.r.random() < 0.5 else []),
                     self.json_text({"userId": f.user, "reservationId": rid})),
            lambda: ("GET", f"/api/v1/points/{self.id_text(f.user)}", [], b""),
            lambda: ("POST", "/api/v1/points/charge", json_hdr,
                     self.json_text({"userId": f.user, "amount": self.r.choice([1, 500, 10 ** 7])})),
            lambda: ("GET", f"/api/v1/points/{self.id_text(f.user)}/history", [], b""),
        ]
        return self.pick(routes)()

    def idempotency_key(self):
        return self.pick([f"fuzz-{self.r.randrange(20)}".encode(), b"", b"k" * 300,
                          b"\xff\xfe", b"key\xc3", "ключ".encode()])

    # Mutators: each takes (method, target, headers, body) and returns bytes.
    def as_is(self, m, t, hd, body):
        return build(m, t, hd, body)

    def other_method(self, m, t, hd, body):
        return build(self.pick(METHODS), t, hd, body)

    def raw_bytes_in_target(self, m, t, hd, body):
        t = t.encode()
        where = self.r.randrange(len(t) + 1)
        t = t[:where] + self.pick(RAW_BYTES) + t[where:]
        if self.r.random() < 0.3:
            t += b"?" + self.pick([b"userId=\xff", b"\xff=1", b"userId=1&\xc3", b"a=%ff", b"=&&="])
        return build(m, t, hd, body)

    def weird_target(self, m, t, hd, body):
        target = self.pick([b"*", b"http://fuzz/api/v1/concerts", b"//api/v1//concerts",
                            b"/api/v1/concerts/../concerts", b"/api/v1/concerts/", b"api/v1/concerts",
                            b"/api/v1/concerts?" + b"q" * 3000, b"/" + b"a/" * 2000,
                            b"/api/v1/concerts#frag", b"/%2e%2e/", b"/api/v1/points/1/history/x"])
        return build(m, target, hd, body)

    def weird_version(self, m, t, hd, body):
        return build(m, t, hd, body, version=self.pick(
            [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.1 extra", b"HTTX/1.1", b"", b"HTTP/1.12",
             b"http/1.1"]))

    def bad_headers(self, m, t, hd, body):
        extra = self.pick([
            [("X-Queue-Token", b"\xff\xfe")], [("Idempotency-Key", b"\xc3\x28")],
            [("Authorization", b"Bearer \xff")], [("X-Other", b"\xff\xfe\xfd")],
            [("X-Big", b"y" * (MAX_HEADER + 100))], [("X-Big", b"y" * (MAX_HEADER // 2))],
            [("X-Queue-Token", b"a"), ("X-Queue-Token", b"b")],
            [("Host", b"a"), ("Host", b"b")], [("Content-Type", b"text/plain")],
            [("Content-Type", b"application/json; charset=latin1")],
            [("Connection", b"close")], [("Connection", b"keep-alive, Upgrade"), ("Upgrade", b"h2c")],
            [("Expect", b"100-continue")], [("X\xffName", b"v")], [("Bad Name", b"v")],
            [("X-Nul", b"a\x00b")], [("X-Fold", b"a\r\n b")], [("", b"empty name")],
            [(f"X-H{i}", b"v") for i in range(300)],
            [("Accept-Encoding", b"gzip, br")], [("If-None-Match", b"\"1\"")],
        ])
        return build(m, t, hd + extra, body)

    def no_host(self, m, t, hd, body):
        return build(m, t, hd, body).replace(b"Host: fuzz\r\n", b"", 1)

    def length_conflicts(self, m, t, hd, body):
        body = body or b'{"userId": 1}'
        n = len(body)
        headers = self.pick([
            [("Content-Length", n), ("Transfer-Encoding", "chunked")],
            [("Transfer-Encoding", "chunked"), ("Content-Length", n)],
            [("Content-Length", n), ("Content-Length", n + 1)],
            [("Content-Length", n), ("Content-Length", n)],
            [("Content-Length", f"{n}, {n}")],
            [("Content-Length", -1)], [("Content-Length", "abc")], [("Content-Length", "")],
            [("Content-Length", "99999999999999999999999")], [("Content-Length", n + 10)],
            [("Content-Length", max(0, n - 3))], [("Content-Length", f" {n} ")],
            [("Content-Length", f"+{n}")], [("Content-Length", f"0x{n:x}")],
            [("Transfer-Encoding", "gzip")], [("Transfer-Encoding", "chunked, gzip")],
            [("Transfer-Encoding", "identity")], [("Transfer-Encoding", "chunked"),
                                                 ("Transfer-Encoding", "chunked")],
            [("Transfer-Encoding", b"chunked\xff")],
        ])
        if any(name == "Transfer-Encoding" for name, _ in headers):
            body = self.chunked(body)
        return build(m, t, hd + headers, body, length=False)

    def chunked(self, body, broken=False):
        if not broken:
            return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        return self.pick([
            b"zz\r\n" + body + b"\r\n0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"ffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n",
            b"fffffffffffffffffffff\r\nx\r\n0\r\n\r\n",
            f"{len(body) + 5:x}\r\n".encode() + body + b"\r\n0\r\n\r\n",
            f"{len(body):x}\r\n".encode() + body + b"\r\n",  # no last chunk
            f"{len(body):x};ext=1\r\n".encode() + body + b"\r\n0\r\nTrailer: x\r\n\r\n",
            f"{len(body):x}\r\n".encode() + body + b"0\r\n\r\n",  # no CRLF after data
            b"1\r\n{\r\n1\r\n}\r\n0\r\n\r\n",
            b"\r\n\r\n",
            f"{MAX_BODY + 10:x}\r\n".encode() + b"x" * (MAX_BODY + 10) + b"\r\n0\r\n\r\n",
        ])

    def bad_chunking(self, m, t, hd, body):
        payload = self.chunked(body or b'{"userId": 1}', broken=True)
        return build(m, t, hd + [("Transfer-Encoding", "chunked")], payload, length=False)

    def garbage(self, m, t, hd, body):
        return self.pick([
            b"\r\n\r\n", b"BLAH\r\n\r\n", b"GET\r\n\r\n", b"GET /\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"GET / HTTP/1.1\n\n", b"GET / HTTP/1.1\r\nHost: x\n\r\n",
            bytes(self.r.randrange(256) for _ in range(self.r.randrange(1, 3000))),
            b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", b" GET / HTTP/1.1\r\n\r\n",
            b"GET  /  HTTP/1.1\r\n\r\n", b"GET\t/ HTTP/1.1\r\n\r\n",
        ])

    def case(self):
        """One connection's worth: (description, payload bytes, requests sent)."""
        mutators = [self.as_is, self.as_is, self.other_method, self.raw_bytes_in_target,
                    self.raw_bytes_in_target, self.weird_target, self.weird_version,
                    self.bad_headers, self.bad_headers, self.no_host, self.length_conflicts,
                    self.bad_chunking, self.garbage]
        if self.r.random() < 0.12:  # pipelining: several requests in one write
            n = self.r.randint(2, 5)
            parts = [self.pick(mutators[:8])(*self.route()) for _ in range(n)]
            return f"pipeline of {n}", b"".join(parts), n
        mutate = self.pick(mutators)
        return mutate.__name__, mutate(*self.route()), 1


# ---------------------------------------------------------------- the test

class FuzzTest(unittest.TestCase):
    def test_no_request_breaks_the_server(self):
        seed = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2 ** 32))
        budget = int(os.environ.get("FUZZ_REQUESTS") or 3000)
        replay = f"FUZZ_SEED={seed} FUZZ_REQUESTS={budget}"
        print(f"\n{replay}", file=sys.stderr, flush=True)
        db = h.fresh_database("fuzz")
        server = h.Server(db, *FAST_QUEUE, "--http.max_body_bytes", str(MAX_BODY),
                          "--http.max_header_bytes", str(MAX_HEADER),
                          "--http.read_timeout_seconds", "5")
        try:
            server.start()
            fans, reservations = self.prepare(server)
            failures = self.fuzz(server, random.Random(seed), budget, fans, reservations)
            self.assertEqual(failures, [], f"replay with {replay}\n" + "\n".join(failures))
            self.assertIsNone(server.proc.poll(), "the server died")
            self.check_still_serving(server)
            check_database_invariants(self, db)
            self.assertEqual(h.psql(db, """
                SELECT w.user_id FROM wallets w
                WHERE w.balance <> (SELECT COALESCE(sum(l.amount), 0) FROM wallet_ledger l
                                    WHERE l.user_id = w.user_id)"""), [],
                             f"a wallet differs from its ledger; replay with {replay}")
        finally:
            code = server.stop()
        self.assertEqual(code, 0, f"unclean shutdown ({code}):\n{server.output()[-3000:]}")

    def prepare(self, server):
        """Users with points and active tokens, and reservations to aim at."""
        fans = [Fan(server, 900 + i) for i in range(6)]
        reservations = [1, 2, 3]
        for i, f in enumerate(fans):
            f.charge(1_000_000)
            f.enter()
            status, body, _ = f.hold(1 + i % 3, 40 + i)
            if status == 201:
                reservations.append(body["reservationId"])
        return fans, reservations

    def fuzz(self, server, rnd, budget, fans, reservations):
        gen = Generator(rnd, fans, reservations)
        failures, sent, silent_in_a_row = [], 0, 0
        statuses = collections.Counter()
        started = time.time()
        while sent < budget and len(failures) < 20:
            what, payload, requests = gen.case()
            sent += requests
            data, timed_out = exchange(server.port, payload)
            problems = judge(requests, data, timed_out, statuses)
            if problems:
                failures.append(f"#{sent} {what}: {'; '.join(problems)}\n"
                                f"    sent {payload[:300]!r}{'…' if len(payload) > 300 else ''}")
            silent = any(p.startswith("silence") for p in problems)
            silent_in_a_row = silent_in_a_row + 1 if silent else 0
            if silent_in_a_row >= SILENCES_BEFORE_GIVING_UP:
                failures.append(f"the server went silent after {sent} requests; giving up")
                break
            if server.proc.poll() is not None:
                failures.append(f"the server exited ({server.proc.returncode}) after {sent} requests")
                break
        print(f"fuzz: {sent} requests in {time.time() - started:.1f}s, "
              f"{len(failures)} failure(s); answers by status: {dict(sorted(statuses.items()))}",
              file=sys.stderr, flush=True)
        return failures

    def check_still_serving(self, server):
        status, body, _ = server.call("GET", "/health", timeout=5)
        self.assertEqual(status, 200, body)
        self.assertEqual(body.get("bridgeRestarts", 0), 0, "a bridge died during the fuzz")
        f = Fan(server, 5000)
        self.assertEqual(f.charge(500_000)[0], 200)
        f.enter()
        for seat in range(1, 51):
            status, held, _ = f.hold(6, seat)
            if status == 201:
                break
        self.assertEqual(status, 201, held)
        status, paid, _ = f.pay(held["reservationId"])
        self.assertEqual((status, paid.get("status")), (201, "COMPLETED"), paid)


if __name__ == "__main__":
    h.take_binaries("boxoffice")
    h.main()
