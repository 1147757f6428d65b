"""The measurements of scripts/bench-cluster (see there). Run by it, not by hand."""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.environ["BENCH_ROOT"]
PG_PORT = os.environ["BENCH_PG_PORT"]
PSQL = os.path.join(os.environ["BENCH_PG_BIN"], "psql")
BIN = os.path.join(ROOT, "build-release")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
USERS = int(os.environ.get("BENCH_CLUSTER_USERS", "1000"))
DOC = os.environ.get("BENCH_DOC", os.path.join(ROOT, "docs", "BENCHMARKS-cluster.md"))
STAMP = time.strftime("%Y%m%d-%H%M%S")
OUT = os.path.join(ROOT, "var", "bench-cluster", STAMP)
PARTITIONS = 64
HOP_REQUESTS = 2000
SEATS = 20000

os.makedirs(OUT, exist_ok=True)
procs = []


def log(msg):
    print(f"[bench-cluster] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(db, sql):
    out = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", PG_PORT,
                          "-U", "postgres", "-d", db, "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def fresh_db(name):
    psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    psql("postgres", f"CREATE DATABASE {name}")


def spawn(name, cmd):
    log_file = open(os.path.join(OUT, name + ".log"), "w")
    p = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def get(port, path, conn=None, timeout=10):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        if own:
            conn.close()


def wait(predicate, timeout, what, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


class Cluster:
    def __init__(self, name, db, nodes):
        self.db = db
        self.sim_port_file = os.path.join(OUT, name + ".dpsim.port")
        self.sim = spawn(name + ".dpsim", [os.path.join(BIN, "tools/dpsim/dpsim"), "--port", "0",
                                           "--port-file", self.sim_port_file])
        wait(lambda: os.path.exists(self.sim_port_file) and open(self.sim_port_file).read().strip(),
             10, "dpsim")
        self.sim_url = "http://127.0.0.1:" + open(self.sim_port_file).read().strip()
        self.ports = [free_port() for _ in range(nodes)]
        cluster_ports = [free_port() for _ in range(nodes)]
        self.servers = []
        for i in range(nodes):
            cmd = [os.path.join(BIN, "boxoffice"), "--config", os.path.join(ROOT, "config.ini"),
                   "--http.port", str(self.ports[i]), "--admin.port", "0",
                   "--database.url", f"postgresql://postgres@127.0.0.1:{PG_PORT}/{db}",
                   "--dataplatform.url", self.sim_url, "--demo.seats_per_schedule", str(SEATS),
                   "--queue.admit_per_second", "100000", "--queue.max_active", "1000000",
                   "--limits.enabled", "false", "--log.level", "warn",
                   "--cluster.partitions", str(PARTITIONS)]
            if nodes > 1:
                seeds = " ".join(f"127.0.0.1:{p}" for j, p in enumerate(cluster_ports) if j != i)
                cmd += ["--cluster.node_id", f"node-{i + 1}", "--cluster.port",
                        str(cluster_ports[i]), "--cluster.seeds", seeds]
            self.servers.append(spawn(f"{name}.node-{i + 1}", cmd))
            wait(lambda: get(self.ports[i], "/health", timeout=1)[0] == 200, 120, "a node's /health")
        wait(self.serving, 60, "every partition served through every door", interval=0.2)

    def owners(self):
        return {int(p): o for p, o in psql(self.db, "SELECT partition, owner FROM partition_leases "
                                                    "WHERE owner IS NOT NULL AND expires_at > now()")}

    def serving(self):
        if len(self.owners()) != PARTITIONS:
            return False
        return all(get(port, f"/api/v1/points/{u}", timeout=5)[0] == 200
                   for port in self.ports for u in range(PARTITIONS, 2 * PARTITIONS))

    def stop(self):
        for s in self.servers:
            stop(s)
        stop(self.sim)


def payments(name, cluster):
    out = os.path.join(OUT, name + ".json")
    cmd = [os.path.join(BIN, "tools/loadgen/loadgen"), "--scenario", "payments",
           "--users", str(USERS), "--drain-timeout", "120", "--quiet", "--json", out,
           "--db", f"host=127.0.0.1 port={PG_PORT} dbname={cluster.db} user=postgres",
           "--dpsim", cluster.sim_url]
    for port in cluster.ports:
        cmd += ["--target", f"http://127.0.0.1:{port}"]
    with open(os.path.join(OUT, name + ".loadgen.log"), "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc not in (0, 1):
        raise RuntimeError(f"loadgen exited {rc} (see {name}.loadgen.log)")
    j = json.load(open(out))
    bad = [k for k, v in j.get("invariants", {}).items() if v != "pass"]
    return {"payments_per_second": j["paymentsPerSecond"],
            "p50_ms": j["endpoints"]["POST /payments"]["p50"],
            "p99_ms": j["endpoints"]["POST /payments"]["p99"],
            "invariants": "pass" if not bad else "fail: " + ", ".join(bad)}


def quantiles(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]


def hop_latency(cluster):
    """GET /points/{u} for a user of node-2's, through node-2 and through node-1."""
    owners = cluster.owners()
    user = next(u for u in range(1000, 2000) if owners[u % PARTITIONS] == "node-2")
    out = {}
    for label, port in (("local", cluster.ports[1]), ("forwarded", cluster.ports[0])):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        for _ in range(HOP_REQUESTS):
            t = time.perf_counter()
            status, _ = get(port, f"/api/v1/points/{user}", conn)
            times.append((time.perf_counter() - t) * 1000)
            assert status == 200
        conn.close()
        out[label] = quantiles(times)
    return out


def takeover(cluster):
    coordinator = cluster.owners()[0]
    victim = cluster.servers[int(coordinator.split("-")[1]) - 1]
    killed = time.time()
    victim.kill()
    victim.wait()
    wait(lambda: len(cluster.owners()) == PARTITIONS and coordinator not in cluster.owners().values(),
         120, "the survivors to take the dead node's partitions over", interval=0.05)
    return time.time() - killed


def median(values):
    return statistics.median(values) if values else None


def main():
    rows = []
    try:
        for run in range(1, RUNS + 1):
            r = {}
            log(f"run {run}/{RUNS}: one node")
            fresh_db(f"bc_one_{run}")
            one = Cluster(f"one-{run}", f"bc_one_{run}", 1)
            try:
                r["one"] = payments(f"one-{run}", one)
            finally:
                one.stop()
            log(f"run {run}/{RUNS}: three nodes")
            fresh_db(f"bc_three_{run}")
            three = Cluster(f"three-{run}", f"bc_three_{run}", 3)
            try:
                r["three"] = payments(f"three-{run}", three)
                r["hop"] = hop_latency(three)
                r["takeover_s"] = takeover(three)
            finally:
                three.stop()
            log(json.dumps(r))
            rows.append(r)
    finally:
        for p in procs:
            stop(p, signal.SIGKILL)
    json.dump(rows, open(os.path.join(OUT, "results.json"), "w"), indent=2)
    write_report(rows)


def write_report(rows):
    m = lambda f: median([f(r) for r in rows])
    takeovers = ", ".join(f"{r['takeover_s']:.1f}" for r in rows)
    one_ps, three_ps = m(lambda r: r["one"]["payments_per_second"]), m(lambda r: r["three"]["payments_per_second"])
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    lines = [
        "# Cluster benchmarks",
        "",
        f"Written by `scripts/bench-cluster` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"commit {commit}{' (with uncommitted changes)' if dirty else ''}; {len(rows)} run(s), medians. "
        f"One machine with {os.cpu_count()} cores runs every node, the database, the simulator and "
        "the load driver, so three nodes share the cores one node had: this measures the cost of "
        "the hops, not the gain of more machines. Raw results: "
        f"`var/bench-cluster/{STAMP}/`.",
        "",
        "| figure | one node | three nodes | ratio |",
        "|---|---|---|---|",
        f"| payments/s ({USERS} fans, `loadgen --scenario payments`) | {one_ps:.0f} | {three_ps:.0f} "
        f"| {three_ps / one_ps:.2f}× |",
        f"| payment p50 / p99 (ms) | {m(lambda r: r['one']['p50_ms']):.1f} / {m(lambda r: r['one']['p99_ms']):.1f} "
        f"| {m(lambda r: r['three']['p50_ms']):.1f} / {m(lambda r: r['three']['p99_ms']):.1f} | |",
        f"| invariants (loadgen's checks on the database and the simulator) | "
        f"{', '.join(r['one']['invariants'] for r in rows)} | {', '.join(r['three']['invariants'] for r in rows)} | |",
        "",
        "On three nodes the fans are spread over the three doors; a payment is served where its "
        "reservation's schedule lives, and its wallet lives on one of the three nodes by user id, "
        "so about two in three payments debit a wallet through the middleman.",
        "",
        f"| hop ({HOP_REQUESTS} sequential `GET /points/{{user}}` on one keep-alive connection) | p50 (ms) | p99 (ms) |",
        "|---|---|---|",
        f"| served by the wallet's owner | {m(lambda r: r['hop']['local'][0]):.3f} | {m(lambda r: r['hop']['local'][1]):.3f} |",
        f"| through another node's front door (one middleman round trip) | {m(lambda r: r['hop']['forwarded'][0]):.3f} | {m(lambda r: r['hop']['forwarded'][1]):.3f} |",
        "",
        f"Takeover: from SIGKILL of the coordinator (the owner of partition 0) until every partition "
        f"has a live owner again: **{m(lambda r: r['takeover_s']):.1f} s** (runs: "
        f"{takeovers}), with `cluster.lease_seconds` = 10 "
        "(config.ini): the lease runs out, and the next renewal of a survivor (every third of it) "
        "claims the partitions.",
        "",
    ]
    with open(DOC, "w") as f:
        f.write("\n".join(lines))
    log(f"wrote {DOC}")


if __name__ == "__main__":
    main()
