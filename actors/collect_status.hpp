#pragma once
// Asks many actors for their status at once and hands back one combined
// result when all answered or the deadline passed (Tenzir's collect_status):
// a slow or dead actor costs the deadline, never the whole answer.

#include <caf/error.hpp>
#include <caf/message_priority.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "messages/interfaces.hpp"

namespace boxoffice {

// One actor to ask (a valid handle), and the distinct name its entry gets.
struct status_target {
  std::string name;
  status_iface handle;
};

// Name -> that actor's status, or {"error": "timeout"} when it did not answer
// in time, or {"error": <message>} when its request failed otherwise.
using collected_status = std::map<std::string, caf::settings>;

using collected_handler = std::function<void(collected_status)>;

// One collection's bookkeeping, shared by its reply handlers: the last reply
// or failure in hands the result on.
class status_collection {
public:
  status_collection(size_t expected, collected_handler done);
  void add(const std::string& name, caf::settings status);
  void add_failure(const std::string& name, const caf::error& err);

private:
  void settle_one();

  size_t expected_;
  size_t missing_;
  size_t failed_ = 0;
  std::string first_failed_;
  caf::error first_error_;
  collected_status collected_;
  collected_handler done_;
};

// Calls `done` exactly once, from within `self`, with one entry per target.
// The requests go out at high priority: a deep mailbox must not hide the
// status that reports its depth.
template <class Self>
void collect_status(Self* self, const std::vector<status_target>& targets, caf::timespan deadline,
                    collected_handler done) {
  if (targets.empty())
    return done(collected_status{});
  auto collection = std::make_shared<status_collection>(targets.size(), std::move(done));
  for (auto& target : targets)
    self->template request<caf::message_priority::high>(target.handle, deadline, status_atom_v)
      .then(
        [collection, name = target.name](caf::settings& status) {
          collection->add(name, std::move(status));
        },
        [collection, name = target.name](caf::error& err) { collection->add_failure(name, err); });
}

} // namespace boxoffice
