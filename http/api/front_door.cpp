#include "http/api/front_door.hpp"

#include <nlohmann/json.hpp>

#include "actors/cluster_map.hpp"
#include "http/api/routes.hpp"

namespace boxoffice::http {

namespace {

// A positive id field of a JSON body; nullopt when absent or malformed
// (then this node serves the request, which answers 400).
std::optional<int64_t> body_id(const std::string& body, const char* field) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  auto i = j.find(field);
  if (i == j.end() || !i->is_number_integer() || i->get<int64_t>() <= 0)
    return std::nullopt;
  return i->get<int64_t>();
}

// The key whose partition decides which node serves the request; nullopt:
// any node does (health, the catalogue, malformed requests).
std::optional<int64_t> partition_key(const route_match& m, const api_request& req) {
  switch (m.id) {
    case route_id::seats:
    case route_id::seat_stream:
      return m.ids[1]; // schedule
    case route_id::queue_token:
    case route_id::queue_status:
      return 0; // the coordinator's waiting room
    case route_id::reservations:
      return body_id(req.body, "scheduleId");
    case route_id::reservation:
    case route_id::points:
    case route_id::points_history:
      return m.ids[0]; // reservation (its id encodes the partition), user
    case route_id::payments:
      return body_id(req.body, "reservationId");
    case route_id::points_charge:
      return body_id(req.body, "userId");
    default:
      return std::nullopt;
  }
}

forwarded_request to_wire(const api_request& r) {
  return {r.method,          r.path,          r.query,         r.body,           r.token,
          r.idempotency_key, r.authorization, r.if_none_match, r.client_address, 1};
}

api_request from_wire(forwarded_request& r) {
  api_request out;
  out.method = std::move(r.method);
  out.path = std::move(r.path);
  out.query = std::move(r.query);
  out.body = std::move(r.body);
  out.token = std::move(r.token);
  out.idempotency_key = std::move(r.idempotency_key);
  out.authorization = std::move(r.authorization);
  out.if_none_match = std::move(r.if_none_match);
  out.client_address = std::move(r.client_address);
  out.forwarded = true;
  return out;
}

forwarded_response to_wire(api_response r) {
  forwarded_response out;
  out.status = r.status;
  out.body = r.shared_body ? *r.shared_body : std::move(r.body);
  for (auto& [name, value] : r.headers) {
    out.headers.push_back(name);
    out.headers.push_back(value);
  }
  out.content_type = std::move(r.content_type);
  return out;
}

api_response from_wire(forwarded_response& r) {
  api_response out;
  out.status = r.status;
  out.body = std::move(r.body);
  for (size_t i = 0; i + 1 < r.headers.size(); i += 2)
    out.headers.emplace_back(std::move(r.headers[i]), std::move(r.headers[i + 1]));
  out.content_type = std::move(r.content_type);
  return out;
}

api_response unavailable(int64_t partition, const std::string& why) {
  return error_response(503, "PARTITION_UNAVAILABLE",
                        "partition " + std::to_string(partition) + " " + why + "; retry");
}

} // namespace

bool forward_if_foreign(api_ptr self, const route_match& m, const api_exchange_ptr& ex) {
  auto& map = self->state.services.cluster;
  if (!map)
    return false;
  auto key = partition_key(m, ex->request);
  if (!key)
    return false;
  auto owner = map->owner_of(*key);
  if (owner == map->me())
    return false;
  auto partition = map->partition_of(*key);
  if (owner.empty()) {
    ex->respond(unavailable(partition, "has no owner right now (a node is joining or has died)"));
    return true;
  }
  auto peer = map->find_peer(owner);
  // A forwarded request whose partition moved on the way is not sent on:
  // two nodes with different maps for a moment must not bounce it.
  if (!peer || ex->request.forwarded) {
    ex->respond(
      unavailable(partition, "is owned by node '" + owner + "', not reachable from here"));
    return true;
  }
  if (m.id == route_id::seat_stream) {
    // A live stream cannot travel as one answer: the client goes there.
    auto r = error_response(307, "MOVED", "this schedule is served by node '" + owner + "'");
    auto query = ex->request.query.empty() ? "" : "?" + ex->request.query;
    r.headers.emplace_back("Location", peer->api_url + ex->request.path + query);
    ex->respond(std::move(r));
    return true;
  }
  self->request(peer->node, ask_timeout, forward_atom_v, to_wire(ex->request))
    .then([ex](forwarded_response& r) { ex->respond(from_wire(r)); },
          [ex](caf::error& err) { ex->respond(error_response(err)); });
  return true;
}

node_actor::behavior_type node_actor_impl(node_actor::stateful_pointer<node_state> self,
                                          std::shared_ptr<const cluster_map> map,
                                          std::function<void(api_exchange_ptr)> submit) {
  self->state.map = std::move(map);
  self->state.submit = std::move(submit);
  return {
    [=](forward_atom, forwarded_request& req) -> caf::result<forwarded_response> {
      auto& st = self->state;
      auto id = ++st.next_id;
      auto rp = self->make_response_promise<forwarded_response>();
      st.pending.emplace(id, rp);
      auto ex = std::make_shared<api_exchange>();
      ex->request = from_wire(req);
      // Called on whichever thread answers: back into this actor by message.
      ex->respond = [me = caf::actor_cast<node_actor>(self), id](api_response r) {
        caf::anon_send(me, forward_atom_v, id, to_wire(std::move(r)));
      };
      st.submit(std::move(ex));
      return rp;
    },
    [=](forward_atom, uint64_t id, forwarded_response& r) {
      auto& st = self->state;
      auto i = st.pending.find(id);
      if (i == st.pending.end())
        return;
      i->second.deliver(std::move(r));
      st.pending.erase(i);
      st.served++;
    },
    [=](caf::get_atom) {
      auto h = self->state.map->local();
      h.node_id = self->state.map->me();
      return h;
    },
    [=](status_atom) {
      auto& st = self->state;
      caf::settings out;
      out["type"] = "node";
      out["node"] = st.map->me();
      out["served"] = st.served;
      out["pending"] = static_cast<uint64_t>(st.pending.size());
      out["ownedPartitions"] = st.map->owned_count();
      return out;
    },
  };
}

} // namespace boxoffice::http
