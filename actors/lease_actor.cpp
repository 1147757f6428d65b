#include "actors/lease_actor.hpp"

#include <algorithm>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>
#include <spdlog/spdlog.h>

#include "actors/inspector_actor.hpp"
#include "storage/pg.hpp"
#include "util/clock.hpp"

namespace boxoffice {

namespace {

using lease_ptr = lease_actor::stateful_pointer<lease_state>;

// Asks a node for its handles; nullopt when it does not answer in time.
std::optional<node_handles> handles_of(lease_ptr self, const node_actor& node) {
  std::optional<node_handles> out;
  caf::scoped_actor blocking{self->home_system()};
  blocking->request(node, std::chrono::seconds(2), caf::get_atom_v)
    .receive(
      [&](node_handles& h) { out = std::move(h); },
      [&](caf::error& err) { spdlog::warn("node handles: {}", self->home_system().render(err)); });
  return out;
}

// Connects to a node through the middleman, or fails with a log line.
std::optional<node_actor> connect(lease_ptr self, const storage::partition_map::node& n) {
  auto colon = n.cluster_address.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  auto host = n.cluster_address.substr(0, colon);
  auto port = static_cast<uint16_t>(std::stoi(n.cluster_address.substr(colon + 1)));
  auto node = self->home_system().middleman().remote_actor<node_actor>(host, port);
  if (!node) {
    spdlog::warn("cannot reach node '{}' at {}: {}", n.node_id, n.cluster_address,
                 self->home_system().render(node.error()));
    return std::nullopt;
  }
  self->monitor(*node);
  return *node;
}

bool owns_any(const storage::partition_map& m, const std::string& node_id) {
  return std::find(m.owners.begin(), m.owners.end(), node_id) != m.owners.end();
}

// Reaches every node that owns partitions. A coordinator's handles are asked
// again until they carry its waiting room: it may have taken partition 0
// after this node first met it.
void connect_peers(lease_ptr self, const storage::partition_map& m) {
  auto& st = self->state;
  for (auto& n : m.nodes) {
    if (n.node_id == st.me.node_id || n.cluster_address.empty() || !owns_any(m, n.node_id))
      continue;
    auto known = st.map->find_peer(n.node_id);
    bool coordinator = !m.owners.empty() && m.owners[0] == n.node_id;
    if (known && (!coordinator || known->handles.waiting_room))
      continue;
    auto node = known ? std::optional<node_actor>{known->node} : connect(self, n);
    auto handles = node ? handles_of(self, *node) : std::nullopt;
    if (!handles) {
      st.peer_failures++;
      continue;
    }
    st.map->set_peer({n.node_id, n.api_url, *node, std::move(*handles)});
    if (!known)
      spdlog::info("connected to node '{}' at {}", n.node_id, n.cluster_address);
  }
}

void renew(lease_ptr self) {
  auto& st = self->state;
  try {
    st.conn->reconnect_if_broken();
    auto r = storage::renew_leases(*st.conn, st.me, st.terms);
    if (r.superseded) {
      st.superseded = true;
      spdlog::error("node '{}' has a newer incarnation: this process stops and writes nothing more",
                    st.me.node_id);
      if (st.on_superseded)
        st.on_superseded();
      return;
    }
    if (!r.takeover_error.empty()) {
      // A stalled node's transaction holds its row: the next renewal tries
      // again (the database ends that transaction after half a lease).
      st.failures++;
      spdlog::warn("node '{}' could not expel or claim this time: {}", st.me.node_id,
                   r.takeover_error);
    }
    if (r.expelled > 0)
      spdlog::warn("node '{}' expelled {} node(s) whose leases ran out", st.me.node_id, r.expelled);
    if (r.claimed > 0)
      spdlog::info("node '{}' claimed {} partition(s)", st.me.node_id, r.claimed);
    st.owned = r.owned;
    st.claimed_total += r.claimed;
    st.expelled_total += r.expelled;
    st.map->set_owners(r.map.owners, r.map.lease_left_ms);
    if (!st.me.cluster_address.empty())
      connect_peers(self, r.map);
    if (st.on_renewed)
      st.on_renewed();
    st.renewals++;
    st.last_renewed_ms = now_ms();
    st.last_error = r.takeover_error.empty() ? "" : "taking over: " + r.takeover_error;
  } catch (const std::exception& e) {
    // The leases run out if this lasts; nobody else can take them while the
    // node's row still names this incarnation.
    st.failures++;
    st.last_error = e.what();
    spdlog::warn("renewing the leases of node '{}' failed: {}", st.me.node_id, e.what());
  }
}

} // namespace

lease_actor::behavior_type lease_actor_impl(lease_ptr self,
                                            std::shared_ptr<storage::pg_connection> conn,
                                            lease_duties duties) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.me = std::move(duties.me);
  st.terms = duties.terms;
  st.map = std::move(duties.map);
  st.on_superseded = std::move(duties.on_superseded);
  st.on_renewed = std::move(duties.on_renewed);
  register_inspectable(self, "lease", st.me.node_id);
  // A node that went down is dropped at once: nothing is routed to its
  // handles until it is met again.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& map = *self->state.map;
    for (auto& id : map.peer_ids())
      if (auto p = map.find_peer(id); p && p->node.address() == down.source) {
        spdlog::warn("node '{}' went down", id);
        map.drop_peer(id);
      }
  });
  auto period = std::chrono::milliseconds(st.terms.lease_seconds * 1000 / 3);
  self->send(self, tick_atom_v);
  return {
    [=](tick_atom) {
      renew(self);
      if (!self->state.superseded)
        self->delayed_send(self, period, tick_atom_v);
    },
    [=](status_atom) {
      auto& s = self->state;
      caf::settings out;
      out["node"] = s.me.node_id;
      out["incarnation"] = s.me.incarnation;
      out["partitions"] = s.terms.partitions;
      out["leaseSeconds"] = s.terms.lease_seconds;
      out["owned"] = s.owned;
      out["claimedTotal"] = s.claimed_total;
      out["expelledTotal"] = s.expelled_total;
      out["clusterAddress"] = s.me.cluster_address;
      out["peers"] = static_cast<int64_t>(s.map->peer_ids().size());
      out["peerFailures"] = s.peer_failures;
      out["renewals"] = s.renewals;
      out["failures"] = s.failures;
      out["lastRenewedAgoMs"] = s.last_renewed_ms ? now_ms() - s.last_renewed_ms : -1;
      out["lastError"] = s.last_error;
      out["superseded"] = s.superseded;
      return out;
    },
  };
}

} // namespace boxoffice
