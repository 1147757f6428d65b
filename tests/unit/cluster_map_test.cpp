// The partition map the front doors and routers read: ownership by key, the
// scan filter of the owned partitions, and the coordinator's handles.
#include <catch2/catch.hpp>

#include "actors/booking_config.hpp"
#include "actors/cluster_map.hpp"

using namespace boxoffice;

TEST_CASE("a node alone owns every key and filters no scan", "[cluster]") {
  cluster_map map{"node-1", 4};
  CHECK(map.mine(0));
  CHECK(map.mine(123457));
  CHECK(map.coordinating());
  CHECK_FALSE(map.owned_literal());
  CHECK(map.owned_count() == 4);
  CHECK_FALSE(owned_scope(std::make_shared<cluster_map>(map.me(), 4)).owned);
}

TEST_CASE("keys route by their partition to the owner the renewal published", "[cluster]") {
  auto map = std::make_shared<cluster_map>("node-2", 4);
  map->set_owners({"node-1", "node-2", "", "node-2"});
  CHECK(map->owner_of(8) == "node-1"); // 8 mod 4 = 0
  CHECK(map->mine(5));
  CHECK(map->owner_of(6).empty()); // no live lease: nobody serves it now
  CHECK(map->mine(7));
  CHECK_FALSE(map->coordinating());
  CHECK(map->owned_literal() == std::optional<std::string>{"{1,3}"});
  auto scope = owned_scope(map);
  CHECK(scope.partitions == 4);
  CHECK(scope.owned == std::optional<std::string>{"{1,3}"});
  map->set_owners({"node-1"}); // a map of another size is not taken
  CHECK(map->owner_of(3) == "node-2");
}

TEST_CASE("the coordinator's handles come from the peer that owns partition 0", "[cluster]") {
  cluster_map map{"node-2", 2};
  map.set_owners({"node-1", "node-2"});
  CHECK_FALSE(map.coordinator().waiting_room); // not met yet
  cluster_map::peer p;
  p.node_id = "node-1";
  p.handles.node_id = "node-1";
  map.set_peer(p);
  CHECK(map.find_peer("node-1"));
  CHECK(map.peer_ids() == std::vector<std::string>{"node-1"});
  CHECK(map.coordinator().node_id == "node-1");
  map.drop_peer("node-1"); // its down message: never routed to again
  CHECK_FALSE(map.find_peer("node-1"));
  CHECK(map.coordinator().node_id.empty());
}
