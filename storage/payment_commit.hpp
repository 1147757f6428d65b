#pragma once
// A payment's happy path as one transaction: the reservation confirmed, the
// wallet debited with its ledger row, the payment, a finished saga row, the
// Idempotency-Key's stored answer and both events, built from what the actors
// hold. Anything that does not fit (a key already known, a reservation that is
// not HELD, too few points) writes nothing, and the caller takes the saga path.

#include <optional>

#include "messages/types.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice::storage {

class pg_connection;

struct paid_booking {
  bool paid = false; // false: refused, nothing was written
  payment_view payment;
  int64_t saga_id = 0;
  int64_t balance = 0; // the wallet's balance after the debit
};

// Runs inside the caller's transaction, in two round trips (the writes, then
// the events with the key's answer). A rerun after a COMMIT whose answer
// was lost finds its own payment and reports it again, writing nothing.
paid_booking pay_booking(pg_connection& conn, const booking_payment& booking,
                         const payment_answer_fn& answer);

// After a payment's transaction ended without a known outcome: waits for any
// transaction still holding the reservation's row, then says whether the
// payment committed (what it did) or not (nothing).
std::optional<paid_booking> committed_payment(pg_connection& conn, int64_t reservation_id,
                                              int64_t user_id);

} // namespace boxoffice::storage
