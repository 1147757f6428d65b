#pragma once
// Owns every long-lived part of a running server and the order in which they
// start and stop: database first, then actors, then HTTP; the reverse to stop.

#include <memory>

#include "app/settings.hpp"

namespace boxoffice {

class runtime {
public:
  // Connects, migrates and seeds; throws with a clear message on failure.
  explicit runtime(const settings& cfg);
  ~runtime();
  // Spawns the actors and opens the listeners.
  void start();
  // Idempotent; also run by the destructor.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace boxoffice
