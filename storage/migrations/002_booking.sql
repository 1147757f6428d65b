-- Booking: queue tokens, reservations, wallets with their ledger, payments,
-- sagas and idempotency keys.
CREATE TABLE queue_tokens (
  token        TEXT PRIMARY KEY,
  user_id      BIGINT NOT NULL UNIQUE,
  place        BIGSERIAL UNIQUE,               -- arrival order in the line
  status       TEXT NOT NULL CHECK (status IN ('WAITING', 'ACTIVE', 'EXPIRED')),
  active_until TIMESTAMPTZ,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE reservations (
  id           BIGSERIAL PRIMARY KEY,
  user_id      BIGINT NOT NULL,
  schedule_id  BIGINT NOT NULL,
  seat_number  INT NOT NULL,
  price        BIGINT NOT NULL CHECK (price > 0),
  status       TEXT NOT NULL CHECK (status IN ('HELD', 'PAYING', 'CONFIRMED', 'EXPIRED', 'CANCELLED')),
  saga_id      BIGINT,                         -- the saga that owns a PAYING reservation
  expires_at   TIMESTAMPTZ NOT NULL,
  event_seq    BIGINT NOT NULL DEFAULT 0,      -- last event sequence of this aggregate
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  FOREIGN KEY (schedule_id, seat_number) REFERENCES seats(schedule_id, seat_number)
);
-- The database's own guard: at most one live reservation per seat.
CREATE UNIQUE INDEX reservations_live_seat_idx ON reservations(schedule_id, seat_number)
  WHERE status IN ('HELD', 'PAYING', 'CONFIRMED');
CREATE INDEX reservations_user_idx ON reservations(user_id);
CREATE INDEX reservations_held_idx ON reservations(expires_at) WHERE status = 'HELD';

CREATE TABLE wallets (
  user_id  BIGINT PRIMARY KEY,
  balance  BIGINT NOT NULL CHECK (balance >= 0)
);

CREATE TABLE wallet_ledger (
  id          BIGSERIAL PRIMARY KEY,
  user_id     BIGINT NOT NULL REFERENCES wallets(user_id),
  kind        TEXT NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT', 'REFUND')),
  amount      BIGINT NOT NULL,                 -- signed: charges and refunds > 0, payments < 0
  balance     BIGINT NOT NULL,                 -- balance after this entry
  saga_id     BIGINT,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A saga debits or refunds at most once: its steps are idempotent.
CREATE UNIQUE INDEX wallet_ledger_saga_step_idx ON wallet_ledger(saga_id, kind) WHERE saga_id IS NOT NULL;
CREATE INDEX wallet_ledger_user_idx ON wallet_ledger(user_id, id);

CREATE TABLE sagas (
  id             BIGSERIAL PRIMARY KEY,
  kind           TEXT NOT NULL CHECK (kind IN ('PAYMENT', 'CANCELLATION')),
  reservation_id BIGINT NOT NULL REFERENCES reservations(id),
  user_id        BIGINT NOT NULL,
  amount         BIGINT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED')),
  step           TEXT NOT NULL,
  error          TEXT,
  idempotency_key TEXT,                        -- its answer is stored when the saga completes
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sagas_unfinished_idx ON sagas(state) WHERE state IN ('RUNNING', 'COMPENSATING');

CREATE TABLE saga_steps (
  saga_id  BIGINT NOT NULL REFERENCES sagas(id),
  step     TEXT NOT NULL,
  outcome  TEXT NOT NULL,
  at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (saga_id, step, outcome)
);

CREATE TABLE payments (
  id             BIGSERIAL PRIMARY KEY,
  saga_id        BIGINT NOT NULL UNIQUE REFERENCES sagas(id),
  reservation_id BIGINT NOT NULL REFERENCES reservations(id),
  user_id        BIGINT NOT NULL,
  amount         BIGINT NOT NULL CHECK (amount > 0),
  status         TEXT NOT NULL CHECK (status IN ('COMPLETED', 'REFUNDED')),
  event_seq      BIGINT NOT NULL DEFAULT 0,
  paid_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  refunded_at    TIMESTAMPTZ
);
-- One completed payment per reservation.
CREATE UNIQUE INDEX payments_reservation_idx ON payments(reservation_id);

CREATE TABLE idempotency_keys (
  user_id      BIGINT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status_code  INT,                            -- NULL while the first request is in flight
  response     TEXT,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
