#include "actors/inspector_actor.hpp"

#include <algorithm>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/collect_status.hpp"

namespace boxoffice {

namespace {

using inspector_ptr = inspector_actor::stateful_pointer<inspector_state>;

constexpr auto status_deadline = std::chrono::milliseconds(500);
constexpr size_t deepest_listed = 10;

int64_t mailbox_of(const caf::settings& status) {
  return caf::get_or(status, "mailbox", int64_t{0});
}

std::vector<caf::settings> answered(collected_status collected) {
  std::vector<caf::settings> statuses;
  for (auto& [name, status] : collected)
    if (!status.contains("error"))
      statuses.push_back(std::move(status));
  return statuses;
}

// The deepest mailboxes first: where an operator looks for a bottleneck.
caf::config_value::list deepest_mailboxes(std::vector<caf::settings> statuses) {
  std::stable_sort(statuses.begin(), statuses.end(),
                   [](auto& a, auto& b) { return mailbox_of(a) > mailbox_of(b); });
  if (statuses.size() > deepest_listed)
    statuses.resize(deepest_listed);
  return caf::config_value::list(std::make_move_iterator(statuses.begin()),
                                 std::make_move_iterator(statuses.end()));
}

// Counts by type come from the directory, so members that did not answer in
// time still count; "answered" says how many did.
caf::settings summary_of(std::map<std::string, int64_t> by_type, collected_status collected) {
  auto total = collected.size();
  auto statuses = answered(std::move(collected));
  caf::settings s;
  s["actors"] = std::move(by_type);
  s["total"] = total;
  s["answered"] = statuses.size();
  s["deepestMailboxes"] = deepest_mailboxes(std::move(statuses));
  return s;
}

// Members are named by actor id: two registrations under one type/id stay
// two entries.
std::vector<status_target> member_targets(const inspector_state& st) {
  std::vector<status_target> targets;
  for (auto& [addr, m] : st.members)
    targets.push_back({std::to_string(m.handle.id()), caf::actor_cast<status_iface>(m.handle)});
  return targets;
}

std::map<std::string, int64_t> counts_by_type(const inspector_state& st) {
  std::map<std::string, int64_t> by_type;
  for (auto& [addr, m] : st.members)
    by_type[m.type]++;
  return by_type;
}

caf::result<caf::settings> summary(inspector_ptr self) {
  auto by_type = counts_by_type(self->state);
  auto rp = self->make_response_promise<caf::settings>();
  collect_status(self, member_targets(self->state), status_deadline,
                 [rp, by_type = std::move(by_type)](collected_status collected) mutable {
                   rp.deliver(summary_of(std::move(by_type), std::move(collected)));
                 });
  return rp;
}

caf::result<caf::settings> one(inspector_ptr self, const std::string& type, const std::string& id) {
  auto i = self->state.by_key.find({type, id});
  if (i == self->state.by_key.end())
    return caf::settings{};
  auto rp = self->make_response_promise<caf::settings>();
  collect_status(
    self, {{type + "/" + id, caf::actor_cast<status_iface>(i->second)}}, status_deadline,
    [rp](collected_status collected) mutable { rp.deliver(std::move(collected.begin()->second)); });
  return rp;
}

} // namespace

inspector_actor::behavior_type
inspector_actor_impl(inspector_actor::stateful_pointer<inspector_state> self) {
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.members.find(msg.source); i != st.members.end()) {
      // A passivated entity's successor may already be listed under the same
      // type/id: only the departed actor's own listing goes.
      auto key = std::make_pair(i->second.type, i->second.id);
      if (auto k = st.by_key.find(key); k != st.by_key.end() && k->second.address() == msg.source)
        st.by_key.erase(k);
      st.members.erase(i);
    }
  });
  return {
    [=](caf::put_atom, std::string type, std::string id, caf::actor handle) {
      self->monitor(handle);
      self->state.by_key[{type, id}] = handle;
      self->state.members[handle.address()] = {std::move(type), std::move(id), handle};
    },
    [=](caf::get_atom, std::string type, std::string id) { return one(self, type, id); },
    [=](caf::get_atom) {
      caf::settings s;
      for (auto& [type, n] : counts_by_type(self->state))
        s[type] = n;
      return s;
    },
    [=](status_atom) { return summary(self); },
  };
}

void register_inspectable(caf::local_actor* self, const std::string& type, const std::string& id) {
  auto inspector = self->home_system().registry().get(inspector_name);
  if (inspector)
    caf::anon_send(caf::actor_cast<inspector_actor>(inspector), caf::put_atom_v, type, id,
                   caf::actor_cast<caf::actor>(self));
}

} // namespace boxoffice
