#pragma once

#include <caf/actor_clock.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "actors/delivery_policy.hpp"
#include "actors/outbox_access.hpp"

namespace boxoffice {

// One HTTP attempt as the dispatcher wants it sent; the transport (wired in
// app/) adds the signature and does the I/O.
struct outbound_event {
  std::string path;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using delivery_callback =
  std::function<void(int status, std::string error, std::optional<int> retry_after)>;
using event_transport = std::function<void(outbound_event, delivery_callback)>;

struct dispatcher_config {
  std::string reservation_path = "/events/reservations";
  std::string order_path = "/events/orders";
  int max_age_seconds = 86400;
  int max_in_flight = 32;
  int scan_interval_ms = 1000;
  int retain_delivered_seconds = 3600;
  int max_in_memory = 10000;
  circuit_breaker_config breaker;
};

struct dispatcher_state {
  static inline const char* name = "dispatcher";
  outbox_runner outbox;
  dispatcher_config cfg;
  event_transport transport;
  circuit_breaker breaker;
  backoff retry_backoff{std::chrono::milliseconds(200), std::chrono::seconds(60), 42};

  // Pending events per aggregate, in sequence order: only the head of an
  // aggregate is ever in flight, so order holds per aggregate while
  // different aggregates go in parallel.
  std::map<std::string, std::map<int64_t, outbox_row>> queues;
  std::unordered_map<int64_t, std::string> aggregate_of; // row id -> aggregate (loaded rows)
  std::deque<std::string> ready;                         // heads due now
  std::multimap<int64_t, std::string> waiting;           // heads due later (epoch ms)
  std::set<std::string> scheduled;                       // in ready, waiting or in flight
  int in_flight = 0;

  // How far each aggregate is settled (delivered or dead), as far as this
  // dispatcher saw: a handed row goes at once only after its settled or
  // queued predecessor. Bounded: the oldest entries go first (a scan then
  // decides, as before).
  std::unordered_map<std::string, int64_t> settled_through;
  std::deque<std::string> settled_order;
  uint64_t handed_total = 0;   // rows adopted straight from their commit
  uint64_t handed_skipped = 0; // handed rows left to a scan

  int64_t cursor = 0;
  bool scanning = false;
  bool rescan = false;
  std::unordered_set<int64_t> settled_while_scanning; // row ids
  uint64_t ticks = 0;
  caf::actor_clock::time_point next_backstop{};
  std::vector<int64_t> delivered_batch;
  // Delivered but not yet marked so in the database: a scan must not load
  // them again meanwhile.
  std::unordered_set<int64_t> unflushed;
  bool flush_pending = false;

  uint64_t delivered_total = 0;
  uint64_t retried_total = 0;
  uint64_t dead_total = 0;
  std::string last_error;
  int64_t last_error_ms = 0;
  storage::outbox_counts counts;
};

dispatcher_actor::behavior_type
dispatcher_actor_impl(dispatcher_actor::stateful_pointer<dispatcher_state> self,
                      outbox_runner outbox, dispatcher_config cfg, event_transport transport);

} // namespace boxoffice
