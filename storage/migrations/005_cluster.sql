-- Cluster membership and partition leases (issue 11, first step). Each
-- running process is one incarnation of a node; a restart of the node
-- replaces the incarnation, and every transaction of a process first checks
-- that its incarnation is still the node's (FOR SHARE: the takeover waits for
-- those in flight), so a stalled former process can never write again.
CREATE TABLE cluster_nodes (
  node_id     TEXT PRIMARY KEY CHECK (node_id <> ''),
  incarnation TEXT NOT NULL,
  api_url     TEXT NOT NULL,
  started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  seen_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Schedules are partitioned by schedule id, wallets by user id, modulo the
-- number of partitions. The owner renews its leases; each new ownership
-- (another node, or a new incarnation) raises the epoch.
CREATE TABLE partition_leases (
  partition  INT PRIMARY KEY CHECK (partition >= 0),
  owner      TEXT REFERENCES cluster_nodes(node_id),
  epoch      BIGINT NOT NULL DEFAULT 0,
  expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);
CREATE INDEX partition_leases_owner_idx ON partition_leases(owner);
