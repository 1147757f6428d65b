#pragma once
// Seat-map reads answered on the listener's own thread, from what the actors
// publish (active tokens, loaded schedules' boards): no mailbox, no actor
// hop, no request timeout. Anything this cannot decide (an unknown or
// waiting token, a schedule not loaded yet, a bad query) goes to the api
// actor, which answers it the long way, errors included.

#include "http/api/api_actor.hpp"

namespace boxoffice::http {

// True when the request was answered.
bool answer_directly(const api_services& services, const api_exchange_ptr& ex);

} // namespace boxoffice::http
