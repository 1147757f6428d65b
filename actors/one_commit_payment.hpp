#pragma once
// A payment's happy path in one transaction (storage::pay_booking): the
// reservation is marked PAYING in its actor's memory only, the wallet actor
// runs the one transaction, and the reservation and seat learn the outcome.
// Nothing durable happens before that commit, so a crash at any point leaves
// the booking either paid in full or untouched. Whatever does not fit (a key
// seen before, a reservation not HELD, too few points, a schedule not loaded)
// is handed, with nothing written, to the saga path, which answers it.

#include <functional>
#include <string>

#include "actors/saga_manager_actor.hpp"

namespace boxoffice {

// The answer to a payment of the same user for a reservation that a payment
// in one transaction holds right now (no error: none holds it). Given before
// the Idempotency-Key is claimed, so a concurrent retry cannot claim the key
// under the running transaction and make both give up.
caf::error concurrent_with_one_commit(saga_manager_actor::stateful_pointer<saga_manager_state> self,
                                      const payment_request& req);

// True when the request may try the one transaction: its token is active and
// this user's (checked without the waiting room), and the manager has what
// the transaction needs.
bool one_commit_possible(saga_manager_actor::stateful_pointer<saga_manager_state> self,
                         const payment_request& req);

// Answers `rp` with the payment, or runs `saga_path` when the one transaction
// cannot decide the request.
void pay_in_one_commit(saga_manager_actor::stateful_pointer<saga_manager_state> self,
                       payment_request req, std::string hash,
                       caf::typed_response_promise<api_answer> rp, std::function<void()> saga_path);

} // namespace boxoffice
