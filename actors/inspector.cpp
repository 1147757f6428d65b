#include "actors/inspector.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

namespace boxoffice {

namespace {

using inspector_ptr = inspector_actor::stateful_pointer<inspector_state>;

constexpr auto status_deadline = std::chrono::milliseconds(500);
constexpr size_t deepest_listed = 10;

// Gathers status replies; the last reference delivers the summary, so a
// member that never answers only costs the deadline.
struct summary_collector {
  caf::typed_response_promise<std::string> rp;
  std::map<std::string, int64_t> by_type;
  std::vector<nlohmann::json> replies;
  size_t asked = 0;

  ~summary_collector() {
    std::sort(replies.begin(), replies.end(), [](auto& a, auto& b) {
      return a.value("mailbox", 0) > b.value("mailbox", 0);
    });
    if (replies.size() > deepest_listed)
      replies.resize(deepest_listed);
    nlohmann::json j{{"actors", by_type},
                     {"total", asked},
                     {"answered", answered},
                     {"deepestMailboxes", replies}};
    rp.deliver(j.dump());
  }
  size_t answered = 0;
};

caf::result<std::string> summary(inspector_ptr self) {
  auto collector = std::make_shared<summary_collector>();
  collector->rp = self->make_response_promise<std::string>();
  for (auto& [addr, m] : self->state.members) {
    collector->by_type[m.type]++;
    collector->asked++;
    self->request<caf::message_priority::high>(m.handle, status_deadline, status_atom_v)
      .then(
        [collector](std::string& json) {
          auto j = nlohmann::json::parse(json, nullptr, false);
          if (!j.is_discarded()) {
            collector->answered++;
            collector->replies.push_back(std::move(j));
          }
        },
        // Past the deadline or gone: the summary counts it as asked, not answered.
        [collector](caf::error&) {});
  }
  return collector->rp;
}

caf::result<std::string> one(inspector_ptr self, const std::string& type, const std::string& id) {
  auto i = self->state.by_key.find({type, id});
  if (i == self->state.by_key.end())
    return std::string{"null"};
  auto rp = self->make_response_promise<std::string>();
  self->request<caf::message_priority::high>(i->second, status_deadline, status_atom_v)
    .then([rp](std::string& json) mutable { rp.deliver(json); },
          [rp](caf::error&) mutable { rp.deliver(std::string{"null"}); });
  return rp;
}

} // namespace

inspector_actor::behavior_type
inspector_impl(inspector_actor::stateful_pointer<inspector_state> self) {
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.members.find(msg.source); i != st.members.end()) {
      st.by_key.erase({i->second.type, i->second.id});
      st.members.erase(i);
    }
  });
  return {
    [=](caf::put_atom, std::string type, std::string id, caf::actor handle) {
      self->monitor(handle);
      self->state.by_key[{type, id}] = handle;
      self->state.members[handle.address()] = {std::move(type), std::move(id), handle};
    },
    [=](caf::get_atom) { return summary(self); },
    [=](caf::get_atom, std::string type, std::string id) { return one(self, type, id); },
  };
}

void register_inspectable(caf::local_actor* self, const std::string& type, const std::string& id) {
  auto inspector = self->home_system().registry().get(inspector_name);
  if (inspector)
    caf::anon_send(caf::actor_cast<inspector_actor>(inspector), caf::put_atom_v, type, id,
                   caf::actor_cast<caf::actor>(self));
}

} // namespace boxoffice
