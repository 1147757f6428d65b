#pragma once
// Keeps a throw inside a bridge actor (api, admin) from leaving a client
// without an answer or the listener without an actor.
//
// A throw while an exchange is dispatched is caught here: the exchange gets a
// 500 in the error model and the actor carries on. A throw in a continuation
// (`.then`) reaches CAF instead; CAF 0.17 always stops an actor after running
// its exception handler, so the handler logs and answers what it can, the
// bridge's supervisor spawns a fresh one, and every exchange the dead actor
// held is answered 503 by the server's reply guard (http/reply_guard.hpp).

#include <caf/scheduled_actor.hpp>
#include <exception>
#include <string>

#include "http/api.hpp"

namespace boxoffice::http {

// What a bridge remembers while it dispatches an exchange.
struct bridge_guard {
  api_exchange_ptr current;
};

// Logs the exception and answers `ex` with 500 INTERNAL (ignored when it was
// answered already).
void answer_internal_error(const char* bridge, const api_exchange_ptr& ex,
                           const std::exception_ptr& failure) noexcept;

// Runs `dispatch()` for `ex`; a throw answers `ex` with 500 and returns.
template <class Dispatch>
void dispatch_guarded(const char* bridge, bridge_guard& guard, const api_exchange_ptr& ex,
                      Dispatch&& dispatch) {
  guard.current = ex;
  try {
    dispatch();
  } catch (...) {
    answer_internal_error(bridge, ex, std::current_exception());
  }
  guard.current.reset();
}

// The handler CAF runs when a message handler or continuation of `self`
// throws past dispatch_guarded. `guard` must live as long as the actor.
void install_exception_handler(caf::scheduled_actor* self, const char* bridge, bridge_guard* guard);

} // namespace boxoffice::http
