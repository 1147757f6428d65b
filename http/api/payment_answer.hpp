#pragma once
// The API's answer to a completed payment. Rendered here, in http/, but also
// handed (through booking_config) to the actors, because the Idempotency-Key's
// stored answer is written in the transaction that confirms the payment.

#include "messages/types.hpp"

namespace boxoffice::http {

// 201 with the payment as JSON, as first sent and as replayed.
api_answer payment_answer(const payment_view& p);

} // namespace boxoffice::http
