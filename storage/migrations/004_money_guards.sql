-- Money guards (issue 8): the database, not only the actors' memory, makes a
-- refund happen once and a charge apply once.

-- A reservation has at most one live saga of any kind: a second payment or
-- cancellation of it is refused even when no coordinator remembers the first
-- (after a timeout, a crash, or on another node).
CREATE UNIQUE INDEX sagas_one_live_per_reservation_idx ON sagas(reservation_id)
  WHERE state IN ('RUNNING', 'COMPENSATING');
CREATE INDEX sagas_updated_idx ON sagas(updated_at) WHERE state IN ('RUNNING', 'COMPENSATING');

-- A completed payment is refunded at most once, whichever saga refunds it.
-- (No foreign key: its check would lock payments on every ledger insert.)
ALTER TABLE wallet_ledger ADD COLUMN payment_id BIGINT;
CREATE UNIQUE INDEX wallet_ledger_refund_once_idx ON wallet_ledger(payment_id)
  WHERE kind = 'REFUND' AND payment_id IS NOT NULL;

-- A charge carries the id of the request that made it: a transaction rerun
-- after a lost COMMIT finds its own row instead of charging again.
ALTER TABLE wallet_ledger ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX wallet_ledger_request_idx ON wallet_ledger(request_id)
  WHERE request_id IS NOT NULL;

-- Reservations left PAYING are found by the saga manager's sweeper.
CREATE INDEX reservations_paying_idx ON reservations(saga_id) WHERE status = 'PAYING';
