#pragma once
// What the listener's own thread answers from what the actors publish (active
// tokens, loaded schedules' boards), with no mailbox, actor hop or request
// timeout: seat-map reads, live seat maps opened, and holds of seats the board
// shows taken (the schedule would refuse them from the same board). Anything this cannot
// decide (an unknown or waiting token, a schedule not loaded yet, a bad query
// or body, a free seat) goes to the api actor, which answers it the long way,
// errors included. The per-address limit of the routes that name no user is
// applied here too, before anything else.

#include "http/api/api_actor.hpp"

namespace boxoffice::http {

// True when the request was answered.
bool answer_directly(const api_services& services, const api_exchange_ptr& ex);

} // namespace boxoffice::http
