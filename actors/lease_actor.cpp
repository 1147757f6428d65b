#include "actors/lease_actor.hpp"

#include <caf/settings.hpp>
#include <spdlog/spdlog.h>

#include "actors/inspector_actor.hpp"
#include "storage/pg.hpp"
#include "util/clock.hpp"

namespace boxoffice {

namespace {

using lease_ptr = lease_actor::stateful_pointer<lease_state>;

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
    if (r.claimed > 0)
      spdlog::info("node '{}' claimed {} partition(s)", st.me.node_id, r.claimed);
    st.owned = r.owned;
    st.claimed_total += r.claimed;
    st.renewals++;
    st.last_renewed_ms = now_ms();
    st.last_error.clear();
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
                                            storage::node_identity me, storage::lease_terms terms,
                                            std::function<void()> on_superseded) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.me = std::move(me);
  st.terms = terms;
  st.on_superseded = std::move(on_superseded);
  register_inspectable(self, "lease", st.me.node_id);
  auto period = std::chrono::milliseconds(terms.lease_seconds * 1000 / 3);
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
