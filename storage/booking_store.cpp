#include "storage/booking_store.hpp"

#include "storage/outbox_store.hpp"
#include "storage/pg.hpp"
#include "storage/state_column.hpp"

namespace boxoffice::storage {

namespace {

// Times in whole milliseconds, cut as the events' ISO times are (to_char's MS).
constexpr const char* reservation_columns =
  "id, user_id, schedule_id, seat_number, price, status, "
  "floor(extract(epoch FROM expires_at) * 1000)::bigint, COALESCE(saga_id, 0), "
  "floor(extract(epoch FROM created_at) * 1000)::bigint";

reservation_view reservation_from(const pg_rows& r, int i) {
  reservation_view v;
  v.id = r.int64(i, 0);
  v.user_id = r.int64(i, 1);
  v.schedule_id = r.int64(i, 2);
  v.seat_number = static_cast<int32_t>(r.int64(i, 3));
  v.price = r.int64(i, 4);
  v.status = state_column<reservation_status>(r, i, 5);
  v.expires_at_ms = r.int64(i, 6);
  v.saga_id = r.int64(i, 7);
  v.reserved_at_ms = r.int64(i, 8);
  return v;
}

void reservation_event(pg_connection& conn, const char* type, int64_t reservation_id) {
  append_event(conn, {"reservation", type, "reservation", reservation_id,
                      reservation_event_data(conn, reservation_id)});
}

void order_event(pg_connection& conn, const char* type, int64_t payment_id) {
  append_event(conn, {"order", type, "order", payment_id, order_event_data(conn, payment_id)});
}

payment_view payment_from(const pg_rows& r, int i) {
  return {r.int64(i, 0), r.int64(i, 1), r.int64(i, 2), r.int64(i, 3), r.text(i, 4), r.int64(i, 5)};
}

constexpr const char* payment_columns =
  "id, reservation_id, user_id, amount, status, floor(extract(epoch FROM paid_at) * 1000)::bigint";

} // namespace

// -- reservations ------------------------------------------------------------

hold_result insert_hold(pg_connection& conn, const hold_request& req, int64_t price,
                        int ttl_seconds, int max_per_user, const schedule_facts& facts,
                        int partitions) {
  // Serialises one user's concurrent holds so the cap cannot be overrun. Its
  // own statement: a statement's snapshot is taken before it waits for a lock.
  conn.exec("SELECT pg_advisory_xact_lock(1, $1::int)", params(req.user_id % 2000000000));
  // The count and the insert in one round trip; the hold's event is its
  // first, so the sequence is set here rather than bumped.
  auto rows = conn.exec(
    std::string{"WITH live AS (SELECT count(*) AS n FROM reservations WHERE user_id = $1 "
                "AND status IN ('HELD', 'PAYING')), "
                "ins AS (INSERT INTO reservations (id, user_id, schedule_id, seat_number, price, "
                "status, expires_at, event_seq) SELECT nextval('reservations_id_seq') * $7::bigint "
                "+ $2::bigint % $7::bigint, $1, $2, $3, $4, 'HELD', "
                "now() + make_interval(secs => $5), 1 FROM live WHERE n < $6 "
                "ON CONFLICT (schedule_id, seat_number) "
                "WHERE status IN ('HELD', 'PAYING', 'CONFIRMED') DO NOTHING RETURNING "} +
      reservation_columns +
      ") SELECT ins.*, (SELECT n FROM live) FROM (SELECT 1) AS one LEFT JOIN ins ON true",
    params(req.user_id, req.schedule_id, req.seat_number, price, ttl_seconds, max_per_user,
           partitions));
  hold_result out;
  if (rows.is_null(0, 0)) {
    out.outcome =
      rows.int64(0, 9) >= max_per_user ? hold_outcome::user_limit : hold_outcome::seat_taken;
    return out;
  }
  out.outcome = hold_outcome::held;
  out.reservation = reservation_from(rows, 0);
  append_numbered_events(conn,
                         {{{"reservation", "RESERVATION_HELD", "reservation", out.reservation.id,
                            reservation_event_data(out.reservation, facts)},
                           1}});
  return out;
}

std::optional<reservation_view> load_reservation(pg_connection& conn, int64_t id) {
  auto rows = conn.exec(
    std::string{"SELECT "} + reservation_columns + " FROM reservations WHERE id = $1", params(id));
  if (rows.empty())
    return std::nullopt;
  return reservation_from(rows, 0);
}

std::vector<reservation_view> live_holds(pg_connection& conn, bool overdue_only,
                                         const partition_filter& scope) {
  auto rows = conn.exec(std::string{"SELECT "} + reservation_columns +
                          (overdue_only ? " FROM reservations WHERE status = 'HELD' "
                                          "AND expires_at < now()"
                                        : " FROM reservations WHERE status IN ('HELD', 'PAYING')") +
                          " AND ($2::int[] IS NULL OR (id % $1)::int = ANY($2::int[])) ORDER BY id",
                        params(scope.partitions, scope.owned));
  std::vector<reservation_view> out;
  for (int i = 0; i < rows.size(); ++i)
    out.push_back(reservation_from(rows, i));
  return out;
}

bool mark_paying(pg_connection& conn, int64_t reservation_id, int64_t saga_id) {
  auto rows = conn.exec("UPDATE reservations SET status = 'PAYING', saga_id = $2, "
                        "updated_at = now() WHERE id = $1 AND ((status = 'HELD' "
                        "AND expires_at > now()) OR (status = 'PAYING' AND saga_id = $2))",
                        params(reservation_id, saga_id));
  return rows.affected() == 1;
}

bool unmark_paying(pg_connection& conn, int64_t reservation_id, int64_t saga_id) {
  auto rows = conn.exec("UPDATE reservations SET status = 'HELD', saga_id = NULL, "
                        "updated_at = now() WHERE id = $1 AND status = 'PAYING' "
                        "AND saga_id = $2",
                        params(reservation_id, saga_id));
  return rows.affected() == 1;
}

std::optional<payment_view> payment_of_saga(pg_connection& conn, int64_t saga_id) {
  auto rows =
    conn.exec(std::string{"SELECT "} + payment_columns + " FROM payments WHERE saga_id = $1",
              params(saga_id));
  if (rows.empty())
    return std::nullopt;
  return payment_from(rows, 0);
}

std::optional<payment_view> payment_of(pg_connection& conn, int64_t reservation_id) {
  auto rows =
    conn.exec(std::string{"SELECT "} + payment_columns + " FROM payments WHERE reservation_id = $1",
              params(reservation_id));
  if (rows.empty())
    return std::nullopt;
  return payment_from(rows, 0);
}

std::optional<payment_view> confirm_payment(pg_connection& conn, int64_t reservation_id,
                                            int64_t saga_id, const payment_answer_fn& answer) {
  // Only a saga still RUNNING may confirm: once it records COMPENSATING (which
  // locks the same saga row) a late confirmation changes nothing.
  auto upd = conn.exec("UPDATE reservations SET status = 'CONFIRMED', updated_at = now() "
                       "WHERE id = $1 AND status = 'PAYING' AND saga_id = $2 AND EXISTS "
                       "(SELECT 1 FROM sagas s WHERE s.id = $2 AND s.state = 'RUNNING' "
                       "FOR UPDATE) RETURNING user_id, price",
                       params(reservation_id, saga_id));
  if (upd.empty()) {
    // Idempotent: the saga may have confirmed before a crash.
    auto done = conn.exec("SELECT 1 FROM reservations WHERE id = $1 AND status = 'CONFIRMED' "
                          "AND saga_id = $2",
                          params(reservation_id, saga_id));
    return done.empty() ? std::nullopt : payment_of(conn, reservation_id);
  }
  auto pay = conn.exec(std::string{"INSERT INTO payments (saga_id, reservation_id, user_id, "
                                   "amount, status) VALUES ($1, $2, $3, $4, 'COMPLETED') "
                                   "RETURNING "} +
                         payment_columns,
                       params(saga_id, reservation_id, upd.int64(0, 0), upd.int64(0, 1)));
  auto payment = payment_from(pay, 0);
  // The Idempotency-Key's answer commits with the payment: a retry after a
  // crash gets it even though this process never answered.
  auto stored = answer(payment);
  conn.exec("UPDATE idempotency_keys k SET status_code = $2, response = $3 FROM sagas s "
            "WHERE s.id = $1 AND k.user_id = s.user_id AND k.key = s.idempotency_key",
            params(saga_id, stored.status, stored.body));
  reservation_event(conn, "RESERVATION_CONFIRMED", reservation_id);
  order_event(conn, "ORDER_COMPLETED", payment.id);
  record_saga_step(conn, saga_id, "CONFIRM", "DONE", saga_state::completed);
  return payment;
}

bool expire_hold(pg_connection& conn, int64_t reservation_id) {
  auto rows = conn.exec("UPDATE reservations SET status = 'EXPIRED', updated_at = now() "
                        "WHERE id = $1 AND status = 'HELD' AND expires_at <= now()",
                        params(reservation_id));
  if (rows.affected() != 1)
    return false;
  reservation_event(conn, "RESERVATION_EXPIRED", reservation_id);
  return true;
}

bool cancel_hold(pg_connection& conn, int64_t reservation_id) {
  auto rows = conn.exec("UPDATE reservations SET status = 'CANCELLED', updated_at = now() "
                        "WHERE id = $1 AND status = 'HELD'",
                        params(reservation_id));
  if (rows.affected() != 1)
    return false;
  reservation_event(conn, "RESERVATION_CANCELLED", reservation_id);
  return true;
}

namespace {

void finish_cancellation(pg_connection& conn, int64_t saga_id,
                         const std::optional<reservation_view>& now) {
  if (now && now->status == reservation_status::cancelled) {
    record_saga_step(conn, saga_id, "CANCEL", "DONE", saga_state::completed);
    finish_saga(conn, saga_id, saga_state::completed, "");
  } else {
    finish_saga(conn, saga_id, saga_state::failed,
                "reservation is " + (now ? to_string(now->status) : std::string{"missing"}));
  }
}

} // namespace

booking_refund refund_booking(pg_connection& conn, int64_t reservation_id, int64_t saga_id) {
  booking_refund out;
  // The row lock on the payment serialises every refund of it: only the
  // first transaction sees COMPLETED.
  auto pay = conn.exec("UPDATE payments SET status = 'REFUNDED', refunded_at = now() "
                       "WHERE reservation_id = $1 AND status = 'COMPLETED' "
                       "RETURNING id, user_id, amount",
                       params(reservation_id));
  if (pay.empty()) {
    out.reservation = load_reservation(conn, reservation_id);
    finish_cancellation(conn, saga_id, out.reservation);
    return out;
  }
  auto payment_id = pay.int64(0, 0);
  out.user_id = pay.int64(0, 1);
  auto amount = pay.int64(0, 2);
  auto res = conn.exec("UPDATE reservations SET status = 'CANCELLED', updated_at = now() "
                       "WHERE id = $1 AND status = 'CONFIRMED'",
                       params(reservation_id));
  if (res.affected() != 1)
    throw pg_error("reservation " + std::to_string(reservation_id) +
                     " has a completed payment but is not CONFIRMED",
                   "P0001");
  auto wallet = conn.exec("UPDATE wallets SET balance = balance + $2 WHERE user_id = $1 "
                          "RETURNING balance",
                          params(out.user_id, amount));
  out.balance = wallet.int64(0, 0);
  conn.exec("INSERT INTO wallet_ledger (user_id, kind, amount, balance, saga_id, payment_id) "
            "VALUES ($1, 'REFUND', $2, $3, $4, $5)",
            params(out.user_id, amount, out.balance, saga_id, payment_id));
  reservation_event(conn, "RESERVATION_CANCELLED", reservation_id);
  order_event(conn, "ORDER_REFUNDED", payment_id);
  out.refunded = true;
  out.reservation = load_reservation(conn, reservation_id);
  finish_cancellation(conn, saga_id, out.reservation);
  return out;
}

// -- wallets ---------------------------------------------------------------

int64_t wallet_balance(pg_connection& conn, int64_t user_id) {
  auto rows = conn.exec("SELECT balance FROM wallets WHERE user_id = $1", params(user_id));
  return rows.empty() ? 0 : rows.int64(0, 0);
}

int64_t charge_wallet(pg_connection& conn, int64_t user_id, int64_t amount,
                      const std::string& request_id) {
  auto seen = conn.exec("SELECT 1 FROM wallet_ledger WHERE request_id = $1", params(request_id));
  if (!seen.empty())
    return wallet_balance(conn, user_id);
  auto rows = conn.exec("INSERT INTO wallets (user_id, balance) VALUES ($1, $2) "
                        "ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance + $2 "
                        "RETURNING balance",
                        params(user_id, amount));
  auto balance = rows.int64(0, 0);
  conn.exec("INSERT INTO wallet_ledger (user_id, kind, amount, balance, request_id) "
            "VALUES ($1, 'CHARGE', $2, $3, $4)",
            params(user_id, amount, balance, request_id));
  return balance;
}

std::optional<int64_t> debit_wallet(pg_connection& conn, int64_t user_id, int64_t saga_id,
                                    int64_t amount) {
  auto seen = conn.exec("SELECT 1 FROM wallet_ledger WHERE saga_id = $1 AND kind = 'PAYMENT'",
                        params(saga_id));
  if (!seen.empty())
    return wallet_balance(conn, user_id);
  auto rows = conn.exec("UPDATE wallets SET balance = balance - $2 WHERE user_id = $1 "
                        "AND balance >= $2 RETURNING balance",
                        params(user_id, amount));
  if (rows.empty())
    return std::nullopt;
  auto balance = rows.int64(0, 0);
  conn.exec("INSERT INTO wallet_ledger (user_id, kind, amount, balance, saga_id) "
            "VALUES ($1, 'PAYMENT', $2, $3, $4)",
            params(user_id, -amount, balance, saga_id));
  record_saga_step(conn, saga_id, "DEBIT", "DONE", saga_state::running);
  return balance;
}

int64_t refund_wallet(pg_connection& conn, int64_t user_id, int64_t saga_id, int64_t amount) {
  auto seen = conn.exec("SELECT 1 FROM wallet_ledger WHERE saga_id = $1 AND kind = 'REFUND'",
                        params(saga_id));
  if (!seen.empty())
    return wallet_balance(conn, user_id);
  // A payment saga compensating gives back only what it took, and nothing
  // once its payment completed (a confirmation whose reply was lost).
  auto undebited =
    conn.exec("SELECT 1 FROM sagas s WHERE s.id = $1 AND s.kind = 'PAYMENT' AND (NOT EXISTS "
              "(SELECT 1 FROM wallet_ledger l WHERE l.saga_id = s.id AND l.kind = 'PAYMENT') "
              "OR EXISTS (SELECT 1 FROM payments p WHERE p.saga_id = s.id))",
              params(saga_id));
  if (!undebited.empty())
    return wallet_balance(conn, user_id);
  auto rows = conn.exec("UPDATE wallets SET balance = balance + $2 WHERE user_id = $1 "
                        "RETURNING balance",
                        params(user_id, amount));
  auto balance = rows.int64(0, 0);
  conn.exec("INSERT INTO wallet_ledger (user_id, kind, amount, balance, saga_id) "
            "VALUES ($1, 'REFUND', $2, $3, $4)",
            params(user_id, amount, balance, saga_id));
  record_saga_step(conn, saga_id, "REFUND", "DONE", std::nullopt);
  return balance;
}

ledger wallet_history(pg_connection& conn, int64_t user_id, int limit) {
  auto rows =
    conn.exec("SELECT id, kind, amount, balance, COALESCE(saga_id, 0), "
              "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
              "FROM wallet_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
              params(user_id, limit));
  ledger out;
  for (int i = 0; i < rows.size(); ++i)
    out.push_back({rows.int64(i, 0), rows.text(i, 1), rows.int64(i, 2), rows.int64(i, 3),
                   rows.int64(i, 4), rows.text(i, 5)});
  return out;
}

// -- sagas -------------------------------------------------------------------

int64_t create_saga(pg_connection& conn, const std::string& kind, int64_t reservation_id,
                    int64_t user_id, int64_t amount, const std::string& idempotency_key) {
  auto id = conn
              .exec("INSERT INTO sagas (kind, reservation_id, user_id, amount, state, step, "
                    "idempotency_key) VALUES ($1, $2, $3, $4, 'RUNNING', 'BEGIN', "
                    "NULLIF($5, '')) RETURNING id",
                    params(kind, reservation_id, user_id, amount, idempotency_key))
              .int64(0, 0);
  conn.exec("INSERT INTO saga_steps (saga_id, step, outcome) VALUES ($1, 'BEGIN', 'DONE')",
            params(id));
  return id;
}

void record_saga_step(pg_connection& conn, int64_t saga_id, const std::string& step,
                      const std::string& outcome, std::optional<saga_state> state) {
  conn.exec("UPDATE sagas SET step = $2, state = COALESCE(NULLIF($3, ''), state), "
            "updated_at = now() WHERE id = $1",
            params(saga_id, step, state ? to_string(*state) : std::string{}));
  conn.exec("INSERT INTO saga_steps (saga_id, step, outcome) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            params(saga_id, step, outcome));
}

void finish_saga(pg_connection& conn, int64_t saga_id, saga_state state, const std::string& error) {
  // A finished saga stays finished: a coordinator resumed by mistake (or a
  // late reply) cannot turn COMPLETED into FAILED.
  auto rows = conn.exec("UPDATE sagas SET state = $2, error = NULLIF($3, ''), updated_at = now() "
                        "WHERE id = $1 AND state IN ('RUNNING', 'COMPENSATING')",
                        params(saga_id, to_string(state), error));
  if (rows.affected() == 0)
    return;
  conn.exec("INSERT INTO saga_steps (saga_id, step, outcome) VALUES ($1, 'END', $2) "
            "ON CONFLICT DO NOTHING",
            params(saga_id, to_string(state)));
  if (state == saga_state::compensated || state == saga_state::failed)
    conn.exec("DELETE FROM idempotency_keys k USING sagas s WHERE s.id = $1 "
              "AND k.user_id = s.user_id AND k.key = s.idempotency_key "
              "AND k.status_code IS NULL",
              params(saga_id));
}

std::vector<saga_row> unfinished_sagas(pg_connection& conn, int idle_seconds,
                                       const partition_filter& scope) {
  // A saga runs where its reservation lives.
  auto rows = conn.exec("SELECT id, kind, reservation_id, user_id, amount, state, step, "
                        "COALESCE(idempotency_key, '') FROM sagas "
                        "WHERE state IN ('RUNNING', 'COMPENSATING') "
                        "AND updated_at <= now() - make_interval(secs => $1) "
                        "AND ($3::int[] IS NULL OR (reservation_id % $2)::int = ANY($3::int[])) "
                        "ORDER BY id",
                        params(idle_seconds, scope.partitions, scope.owned));
  std::vector<saga_row> out;
  for (int i = 0; i < rows.size(); ++i)
    out.push_back({rows.int64(i, 0), rows.text(i, 1), rows.int64(i, 2), rows.int64(i, 3),
                   rows.int64(i, 4), state_column<saga_state>(rows, i, 5), rows.text(i, 6),
                   rows.text(i, 7)});
  return out;
}

int64_t reopen_stranded_sagas(pg_connection& conn) {
  auto rows = conn.exec(
    // Dated back so that the sweeper's idle filter lets it through at once.
    "UPDATE sagas s SET state = 'COMPENSATING', updated_at = now() - interval '1 hour' "
    "FROM reservations r WHERE r.status = 'PAYING' AND r.saga_id = s.id "
    "AND s.kind = 'PAYMENT' AND s.state IN ('COMPENSATED', 'FAILED') "
    "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.saga_id = s.id)");
  return rows.affected();
}

// -- idempotency keys ----------------------------------------------------------

std::optional<key_claim> find_idempotency_key(pg_connection& conn, int64_t user_id,
                                              const std::string& key,
                                              const std::string& request_hash) {
  auto rows = conn.exec("SELECT request_hash, status_code, response FROM idempotency_keys "
                        "WHERE user_id = $1 AND key = $2 "
                        "AND created_at > now() - interval '24 hours'",
                        params(user_id, key));
  if (rows.empty())
    return std::nullopt;
  key_claim c;
  if (rows.text(0, 0) != request_hash)
    c.outcome = key_claim::mismatch;
  else if (rows.is_null(0, 1))
    c.outcome = key_claim::in_flight;
  else {
    c.outcome = key_claim::replay;
    c.stored = {static_cast<int32_t>(rows.int64(0, 1)), rows.text(0, 2)};
  }
  return c;
}

key_claim claim_idempotency_key(pg_connection& conn, int64_t user_id, const std::string& key,
                                const std::string& request_hash) {
  // A key older than the retention window is free again.
  conn.exec("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 "
            "AND created_at <= now() - interval '24 hours'",
            params(user_id, key));
  auto rows = conn.exec("INSERT INTO idempotency_keys (user_id, key, request_hash) "
                        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        params(user_id, key, request_hash));
  if (rows.affected() == 1)
    return {};
  return find_idempotency_key(conn, user_id, key, request_hash).value_or(key_claim{});
}

void release_orphaned_keys(pg_connection& conn) {
  conn.run("DELETE FROM idempotency_keys k WHERE k.status_code IS NULL AND NOT EXISTS "
           "(SELECT 1 FROM sagas s WHERE s.user_id = k.user_id AND s.idempotency_key = k.key "
           "AND s.state IN ('RUNNING', 'COMPENSATING'))");
}

std::optional<int64_t> token_owner(pg_connection& conn, const std::string& token) {
  auto rows = conn.exec("SELECT user_id FROM queue_tokens WHERE token = $1", params(token));
  if (rows.empty())
    return std::nullopt;
  return rows.int64(0, 0);
}

void release_idempotency_key(pg_connection& conn, int64_t user_id, const std::string& key) {
  conn.exec("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 "
            "AND status_code IS NULL",
            params(user_id, key));
}

} // namespace boxoffice::storage
