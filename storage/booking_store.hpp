#pragma once
// The booking transactions. Each function runs inside the caller's
// transaction and writes the change together with its outbox events, so an
// event exists exactly when its change committed. Every write is conditional
// on the state the actor believes in, and every saga step is idempotent.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace boxoffice::storage {

class pg_connection;

// -- reservations ----------------------------------------------------------

enum class hold_outcome { held, seat_taken, user_limit };

struct hold_result {
  hold_outcome outcome = hold_outcome::seat_taken;
  reservation_view reservation;
};

// The rows a node looks after: those of the partitions it owns (a
// reservation's partition is its id modulo the partition count).
struct partition_filter {
  int partitions = 1;
  // The owned partitions as a PostgreSQL array literal ("{0,3,5}");
  // nullopt: every partition (a node alone).
  std::optional<std::string> owned;
};

// The hold, within the user's cap, and its RESERVATION_HELD event (built
// from the row and the schedule's facts): three round trips. Its id encodes
// its schedule's partition: id mod `partitions` is schedule id mod
// `partitions`, so any node routes it without a lookup.
hold_result insert_hold(pg_connection& conn, const hold_request& req, int64_t price,
                        int ttl_seconds, int max_per_user, const schedule_facts& facts,
                        int partitions = 1);

std::optional<reservation_view> load_reservation(pg_connection& conn, int64_t id);

// HELD and PAYING reservations, for re-arming expiry after a restart; with
// overdue_only, just the HELD ones whose expiry has passed (the backstop).
std::vector<reservation_view> live_holds(pg_connection& conn, bool overdue_only,
                                         const partition_filter& scope = {});

// HELD -> PAYING for a saga; true also when this saga already did it.
bool mark_paying(pg_connection& conn, int64_t reservation_id, int64_t saga_id);

// PAYING -> HELD when a payment saga gives up before any money moved.
bool unmark_paying(pg_connection& conn, int64_t reservation_id, int64_t saga_id);

// The API's answer to a completed payment; storage keeps it as given.
using payment_answer_fn = std::function<api_answer(const payment_view&)>;

// PAYING -> CONFIRMED, the payment row, RESERVATION_CONFIRMED and
// ORDER_COMPLETED, and the saga COMPLETED: the step that completes a payment.
// The Idempotency-Key's stored answer, `answer(payment)`, commits with it.
std::optional<payment_view> confirm_payment(pg_connection& conn, int64_t reservation_id,
                                            int64_t saga_id, const payment_answer_fn& answer);

// HELD -> EXPIRED once expires_at has passed, with RESERVATION_EXPIRED.
bool expire_hold(pg_connection& conn, int64_t reservation_id);

// HELD -> CANCELLED by its owner, with RESERVATION_CANCELLED.
bool cancel_hold(pg_connection& conn, int64_t reservation_id);

// What a cancellation saga's one transaction did.
struct booking_refund {
  bool refunded = false; // this transaction gave the points back
  int64_t user_id = 0;
  int64_t balance = 0;                         // the wallet's balance after it, when refunded
  std::optional<reservation_view> reservation; // the row as it is now
};

// The whole cancellation of a paid booking in one transaction, conditioned on
// the payment still being COMPLETED: payment REFUNDED, the points back in the
// wallet with a REFUND ledger row, CONFIRMED -> CANCELLED, RESERVATION_CANCELLED
// and ORDER_REFUNDED, and the saga finished. A payment already refunded (by
// this saga before a crash, or by any other) is never refunded again: the saga
// then just finishes, COMPLETED if the booking is cancelled, else FAILED.
booking_refund refund_booking(pg_connection& conn, int64_t reservation_id, int64_t saga_id);

std::optional<payment_view> payment_of(pg_connection& conn, int64_t reservation_id);
std::optional<payment_view> payment_of_saga(pg_connection& conn, int64_t saga_id);

// -- wallets ----------------------------------------------------------------

int64_t wallet_balance(pg_connection& conn, int64_t user_id);
// Idempotent on request_id (unique per charge request): a rerun of the same
// task after a lost COMMIT returns the balance instead of charging again.
int64_t charge_wallet(pg_connection& conn, int64_t user_id, int64_t amount,
                      const std::string& request_id);

// Nothing when the balance is too low. Idempotent per saga.
std::optional<int64_t> debit_wallet(pg_connection& conn, int64_t user_id, int64_t saga_id,
                                    int64_t amount);
// Idempotent per saga.
int64_t refund_wallet(pg_connection& conn, int64_t user_id, int64_t saga_id, int64_t amount);
ledger wallet_history(pg_connection& conn, int64_t user_id, int limit);

// -- sagas ------------------------------------------------------------------

struct saga_row {
  int64_t id = 0;
  std::string kind; // PAYMENT, CANCELLATION
  int64_t reservation_id = 0;
  int64_t user_id = 0;
  int64_t amount = 0;
  saga_state state = saga_state::running;
  std::string step;
  std::string idempotency_key;
};

int64_t create_saga(pg_connection& conn, const std::string& kind, int64_t reservation_id,
                    int64_t user_id, int64_t amount, const std::string& idempotency_key);
// Records progress: the step about to be taken or just taken, and its outcome;
// moves the saga to `state` if given.
void record_saga_step(pg_connection& conn, int64_t saga_id, const std::string& step,
                      const std::string& outcome, std::optional<saga_state> state);
// Ends a saga. COMPENSATED and FAILED end without effect, so the saga's
// Idempotency-Key (still in flight) is released in the same transaction.
void finish_saga(pg_connection& conn, int64_t saga_id, saga_state state, const std::string& error);
// RUNNING and COMPENSATING sagas not updated for idle_seconds (0: all).
std::vector<saga_row> unfinished_sagas(pg_connection& conn, int idle_seconds = 0,
                                       const partition_filter& scope = {});
// Payment sagas that ended (COMPENSATED/FAILED) while their reservation is
// still PAYING and no payment exists: put back to COMPENSATING so they are
// resumed and give back what they took. Returns how many.
int64_t reopen_stranded_sagas(pg_connection& conn);

// -- idempotency keys ---------------------------------------------------------

struct key_claim {
  enum { claimed, replay, in_flight, mismatch } outcome = claimed;
  api_answer stored;
};

key_claim claim_idempotency_key(pg_connection& conn, int64_t user_id, const std::string& key,
                                const std::string& request_hash);
void release_idempotency_key(pg_connection& conn, int64_t user_id, const std::string& key);
// Frees keys left in flight by a crash whose saga never started.
void release_orphaned_keys(pg_connection& conn);

// The user a queue token belongs to, in any state (also EXPIRED).
std::optional<int64_t> token_owner(pg_connection& conn, const std::string& token);

// Looks a key up without claiming it.
std::optional<key_claim> find_idempotency_key(pg_connection& conn, int64_t user_id,
                                              const std::string& key,
                                              const std::string& request_hash);

} // namespace boxoffice::storage
