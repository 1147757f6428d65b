#include "storage/payment_commit.hpp"

#include "storage/outbox_store.hpp"
#include "storage/pg.hpp"

namespace boxoffice::storage {

namespace {

// Every write of the payment in one statement, each conditional on the one
// before: the reservation moves only if it is HELD, unexpired, this user's
// and at this price, the wallet holds enough and the key is unknown; the rest
// follows only if it moved. The ids come from the sequences so that one
// round trip returns everything the answer and the events need.
constexpr const char* pay_sql =
  "WITH ids AS (SELECT nextval('sagas_id_seq') AS saga_id, "
  "                    nextval('payments_id_seq') AS payment_id), "
  "r AS (UPDATE reservations SET status = 'CONFIRMED', saga_id = (SELECT saga_id FROM ids), "
  "             event_seq = event_seq + 1, updated_at = now() "
  "      WHERE id = $1 AND user_id = $2 AND price = $3 AND status = 'HELD' "
  "        AND expires_at > now() "
  "        AND (SELECT balance FROM wallets WHERE user_id = $2) >= $3 "
  "        AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = $2 AND key = $4) "
  "      RETURNING event_seq), "
  "w AS (UPDATE wallets SET balance = balance - $3 "
  "      WHERE user_id = $2 AND balance >= $3 AND EXISTS (SELECT 1 FROM r) "
  "      RETURNING balance), "
  "s AS (INSERT INTO sagas (id, kind, reservation_id, user_id, amount, state, step, "
  "                         idempotency_key) "
  "      SELECT saga_id, 'PAYMENT', $1, $2, $3, 'COMPLETED', 'DONE', NULLIF($4, '') "
  "      FROM ids, w), "
  "p AS (INSERT INTO payments (id, saga_id, reservation_id, user_id, amount, status, event_seq) "
  "      SELECT payment_id, saga_id, $1, $2, $3, 'COMPLETED', 1 FROM ids, w "
  "      RETURNING paid_at), "
  "l AS (INSERT INTO wallet_ledger (user_id, kind, amount, balance, saga_id) "
  "      SELECT $2, 'PAYMENT', -$3, w.balance, ids.saga_id FROM ids, w) "
  "SELECT ids.saga_id, ids.payment_id, (SELECT event_seq FROM r), (SELECT balance FROM w), "
  "       (SELECT floor(extract(epoch FROM paid_at) * 1000)::bigint FROM p) FROM ids";

// A rerun of a transaction that did commit finds the reservation CONFIRMED by
// a payment of this user.
std::optional<paid_booking> earlier_commit(pg_connection& conn, const reservation_view& v) {
  // The reservation's saga_id is the saga that confirmed it.
  auto rows = conn.exec("SELECT r.saga_id, w.balance FROM reservations r "
                        "JOIN wallets w ON w.user_id = r.user_id "
                        "WHERE r.id = $1 AND r.user_id = $2 AND r.status = 'CONFIRMED'",
                        params(v.id, v.user_id));
  if (rows.empty())
    return std::nullopt;
  auto payment = payment_of(conn, v.id);
  if (!payment)
    return std::nullopt;
  return paid_booking{true, *payment, rows.int64(0, 0), rows.int64(0, 1)};
}

// Both events, and the key's stored answer in the same statement.
void append_payment_events(pg_connection& conn, const booking_payment& b, const payment_view& p,
                           int64_t reservation_seq, const payment_answer_fn& answer) {
  auto confirmed = b.reservation;
  confirmed.status = reservation_status::confirmed;
  std::vector<numbered_event> events{
    {{"reservation", "RESERVATION_CONFIRMED", "reservation", confirmed.id,
      reservation_event_data(confirmed, b.facts)},
     reservation_seq},
    {{"order", "ORDER_COMPLETED", "order", p.id, order_event_data(p, confirmed, b.facts)}, 1}};
  if (b.idempotency_key.empty())
    return append_numbered_events(conn, events);
  auto stored = answer(p);
  append_numbered_events(
    conn, events,
    "INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response) "
    "VALUES ($1, $2, $3, $4, $5)",
    params(b.reservation.user_id, b.idempotency_key, b.request_hash, stored.status, stored.body));
}

} // namespace

paid_booking pay_booking(pg_connection& conn, const booking_payment& b,
                         const payment_answer_fn& answer) {
  const auto& v = b.reservation;
  auto rows = conn.exec(pay_sql, params(v.id, v.user_id, v.price, b.idempotency_key));
  if (rows.is_null(0, 2))
    return earlier_commit(conn, v).value_or(paid_booking{});
  if (rows.is_null(0, 3)) // moved the reservation, yet the debit found too little
    throw pg_error("wallet of user " + std::to_string(v.user_id) +
                     " changed under the payment of reservation " + std::to_string(v.id),
                   "40001");
  paid_booking out;
  out.paid = true;
  out.saga_id = rows.int64(0, 0);
  out.balance = rows.int64(0, 3);
  out.payment = {rows.int64(0, 1), v.id, v.user_id, v.price, "COMPLETED", rows.int64(0, 4)};
  append_payment_events(conn, b, out.payment, rows.int64(0, 2), answer);
  return out;
}

std::optional<paid_booking> committed_payment(pg_connection& conn, int64_t reservation_id,
                                              int64_t user_id) {
  // FOR UPDATE waits for a transaction that still holds the row: the payment's
  // first write takes that lock, so once this returns its outcome is settled.
  conn.exec("SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE", params(reservation_id));
  reservation_view v;
  v.id = reservation_id;
  v.user_id = user_id;
  return earlier_commit(conn, v);
}

} // namespace boxoffice::storage
