-- Outbox: every event commits in the same transaction as the change it reports.
CREATE TABLE outbox (
  id              BIGSERIAL PRIMARY KEY,
  event_id        UUID NOT NULL UNIQUE,
  stream          TEXT NOT NULL CHECK (stream IN ('reservation', 'order')),
  event_type      TEXT NOT NULL,
  aggregate_type  TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  sequence        BIGINT NOT NULL,
  payload         TEXT NOT NULL,                -- the JSON body sent to the platform
  occurred_at     TIMESTAMPTZ NOT NULL,
  status          TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
  attempts        INT NOT NULL DEFAULT 0,
  last_error      TEXT,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at    TIMESTAMPTZ,
  replayed_at     TIMESTAMPTZ,                  -- an operator's replay restarts the age clock
  UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE INDEX outbox_pending_idx ON outbox(id) WHERE status = 'PENDING';
CREATE INDEX outbox_dead_idx ON outbox(id) WHERE status = 'DEAD';
