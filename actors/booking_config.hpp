#pragma once
// The settings the booking actors need, handed down at spawn.

#include "actors/db_protocol.hpp"
#include "storage/booking_store.hpp"

namespace boxoffice {

class cluster_map;

struct booking_config {
  int hold_ttl_seconds = 300;
  int hold_max_per_user = 4;
  int admit_per_second = 100;
  int max_active = 1000;
  int active_ttl_seconds = 600;
  int idle_seconds = 60; // entity actors with nothing to do passivate after this
  // A WAITING user not seen (poll or token request) for this long is passed
  // over at admission, keeping their place, until they poll again.
  int poll_grace_seconds = 20;
  // Renders the answer to a completed payment (http/api/payment_answer.hpp, set at
  // start-up): actors choose no status codes and build no bodies.
  storage::payment_answer_fn payment_answer{};
  // Which partitions this node owns (null: all of them, one partition).
  std::shared_ptr<const cluster_map> cluster{};

  int partitions() const;
};

// Scans take only the rows of the partitions this node owns (null: all).
storage::partition_filter owned_scope(const std::shared_ptr<const cluster_map>& cluster);

} // namespace boxoffice
