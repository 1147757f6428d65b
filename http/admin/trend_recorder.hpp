#pragma once
// The console's sampler: once a second it reads the HTTP histograms, the
// public server's shed counter, the waiting room's and the dispatcher's
// status and the inspector's counts by type, turns the difference from the
// previous reading into one sample, and keeps the last 15 minutes of them.
// It lives in the server (not in the browser), so a console opened in the
// middle of an on-sale sees how it began.
//
// Everything it asks is asynchronous with a deadline: it never blocks a
// scheduler thread, and it takes no lock on booking state (the only lock it
// touches is the metrics registry's, for the time of one copy).

#include <caf/typed_event_based_actor.hpp>
#include <memory>

#include "http/admin/metrics.hpp"
#include "http/admin/trend_window.hpp"
#include "messages/interfaces.hpp"

namespace boxoffice::http {

class server;

// get(seconds): the newest `seconds` samples (0: the whole window) as JSON.
using trend_recorder_actor =
  caf::typed_actor<caf::replies_to<caf::get_atom, int64_t>::with<std::string>,
                   caf::reacts_to<tick_atom>>;

struct trend_sources {
  inspector_actor inspector;
  waiting_room_actor waiting_room;
  dispatcher_actor dispatcher; // invalid when no data platform is configured
  std::shared_ptr<http_metrics> metrics;
  const server* public_server = nullptr;
};

struct trend_recorder_state {
  static inline const char* name = "trend-recorder";
  trend_sources sources;
  trend_window window;
  std::optional<trend_reading> previous;
  bool gathering = false; // a tick's requests are still out: the next tick skips
};

using trend_recorder_ptr = trend_recorder_actor::stateful_pointer<trend_recorder_state>;

trend_recorder_actor::behavior_type trend_recorder_impl(trend_recorder_ptr self,
                                                        trend_sources sources);

} // namespace boxoffice::http
