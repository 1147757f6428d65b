#pragma once
// The server's promise to every client: each request gets exactly one answer.
// A guarded responder delivers the first answer and drops any later one, and
// when the last copy of it is destroyed unanswered (the actor holding the
// exchange died, or the message never reached a live actor) it delivers
// a 503 in the error model instead, so a client is never left waiting.

#include "http/api.hpp"

namespace boxoffice::http {

// Wraps `deliver`, which sends a response to the client; `deliver` must not throw.
responder guard_responder(responder deliver);

// What an exchange that lost its actor is answered with.
api_response abandoned_response();

} // namespace boxoffice::http
