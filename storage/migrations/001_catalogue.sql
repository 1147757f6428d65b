-- Concert catalogue: concerts, their schedules and the seats of each schedule.
-- Seat state is not stored here: a seat is HELD or SOLD exactly when a live
-- reservation owns it (see 002), so the unique index there is the one guard.
CREATE TABLE concerts (
  id          BIGSERIAL PRIMARY KEY,
  title       TEXT NOT NULL,
  artist      TEXT NOT NULL,
  venue       TEXT NOT NULL
);

CREATE TABLE schedules (
  id          BIGSERIAL PRIMARY KEY,
  concert_id  BIGINT NOT NULL REFERENCES concerts(id),
  starts_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX schedules_concert_idx ON schedules(concert_id);

CREATE TABLE seats (
  schedule_id BIGINT NOT NULL REFERENCES schedules(id),
  seat_number INT NOT NULL CHECK (seat_number > 0),
  price       BIGINT NOT NULL CHECK (price > 0),
  PRIMARY KEY (schedule_id, seat_number)
);
