"""End to end: cluster membership in PostgreSQL (issue 11, first step). A node
owns its partitions under leases with epochs; the same node restarted
supersedes its earlier process, which is fenced and can never write again,
even if it was only stalled; another node is refused while one is live (one
node per database until requests are routed between nodes)."""

import os
import signal
import unittest

import harness as h

KEY = "cluster-admin-key"


def cluster(server, admin_port):
    status, body, _ = h.admin_call(admin_port, "GET", "/admin/cluster", KEY)
    assert status == 200, body
    return body


def charge(server, user, amount):
    return server.call("POST", "/api/v1/points/charge", {"userId": user, "amount": amount})


class ClusterTest(unittest.TestCase):
    def start(self, db, *extra):
        admin_port = h.free_port()
        server = h.Server(db, "--admin.port", str(admin_port), "--admin.key", KEY, *extra).start()
        self.addCleanup(server.stop)
        return server, admin_port

    def test_a_node_owns_every_partition_and_a_restart_raises_the_epochs(self):
        db = h.fresh_database("cluster_own")
        server, admin = self.start(db, "--cluster.partitions", "16")
        view = cluster(server, admin)
        self.assertEqual([n["nodeId"] for n in view["nodes"]], ["node-1"])
        self.assertEqual(view["nodes"][0]["leasedPartitions"], 16)
        self.assertEqual(view["nodes"][0]["apiUrl"], f"http://127.0.0.1:{server.port}")
        self.assertEqual({p["owner"] for p in view["partitions"]}, {"node-1"})
        self.assertEqual({p["epoch"] for p in view["partitions"]}, {1})
        status, metrics, _ = h.admin_call(admin, "GET", "/metrics", KEY)
        self.assertEqual(status, 200)
        self.assertIn('boxoffice_cluster_partitions_owned{node="node-1"} 16', metrics)
        first = view["nodes"][0]["incarnation"]
        server.kill()  # SIGKILL: no lease is released
        server.start()
        view = cluster(server, admin)
        self.assertNotEqual(view["nodes"][0]["incarnation"], first)
        self.assertEqual({p["epoch"] for p in view["partitions"]}, {2})
        self.assertTrue(all(p["expiresInMs"] > 0 for p in view["partitions"]))

    def test_another_node_is_refused_while_one_is_live(self):
        db = h.fresh_database("cluster_two")
        first, admin = self.start(db)
        second = h.Server(db, "--cluster.node_id", "node-2")
        second.start(wait=False)
        self.assertEqual(second.proc.wait(timeout=60), 1)
        self.assertIn("node 'node-1' is live on this database", second.output())
        first.stop()  # a clean stop releases the leases at once
        second.start()
        self.addCleanup(second.stop)
        self.assertEqual(charge(second, 3, 100)[0], 200)
        rows = h.psql(db, "SELECT DISTINCT owner, epoch FROM partition_leases")
        self.assertEqual(rows, [["node-2", "2"]])

    def test_a_stalled_process_cannot_write_after_its_node_restarted(self):
        db = h.fresh_database("cluster_fence")
        # Long leases: the stalled process would notice its successor only
        # after 100 s, so what stops its writes is the fence alone.
        old, _ = self.start(db, "--cluster.lease_seconds", "300")
        self.assertEqual(charge(old, 9, 100)[0], 200)
        os.kill(old.proc.pid, signal.SIGSTOP)
        try:
            new, _ = self.start(db, "--cluster.lease_seconds", "300")
            status, body, _ = charge(new, 9, 100)
            self.assertEqual((status, body), (200, {"balance": 200, "userId": 9}))
        finally:
            os.kill(old.proc.pid, signal.SIGCONT)
        status, err, _ = charge(old, 9, 100)
        self.assertEqual(status, 503, err)
        self.assertIn("fenced", err["error"]["message"])
        ledger = h.psql(db, "SELECT amount FROM wallet_ledger WHERE user_id = 9 ORDER BY id")
        self.assertEqual(ledger, [["100"], ["100"]])
        self.assertEqual(h.scalar(db, "SELECT balance FROM wallets WHERE user_id = 9"), "200")


if __name__ == "__main__":
    h.take_binaries("boxoffice")
    h.main()
