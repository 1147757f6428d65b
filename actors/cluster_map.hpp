#pragma once
// Which node owns which partition now, and how to reach the other nodes:
// published by the lease actor after every renewal, read on any thread by the
// front doors (http/) and the routers (actors/cluster_routers.hpp). A node
// alone (clustering off) owns every partition and knows no peers.

#include <chrono>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/interfaces.hpp"

namespace boxoffice {

class cluster_map {
public:
  struct peer {
    std::string node_id;
    std::string api_url;
    node_actor node;
    node_handles handles;
  };

  // Owns every partition until the first renewal says otherwise.
  cluster_map(std::string me, int partitions);

  const std::string& me() const { return me_; }
  int partitions() const { return partitions_; }
  int partition_of(int64_t key) const { return static_cast<int>(key % partitions_); }

  // The owner's node id of the key's partition; empty while it has none,
  // including once its lease has run out as far as this node knows (a
  // stalled owner, this node too, serves nothing then).
  std::string owner_of(int64_t key) const;
  bool mine(int64_t key) const { return owner_of(key) == me_; }
  // The coordinator owns partition 0: it runs the waiting room and the
  // dispatcher for the whole cluster.
  bool coordinating() const { return mine(0); }
  // The owned partitions as a PostgreSQL array literal; nullopt when this
  // node owns them all (no filter needed).
  std::optional<std::string> owned_literal() const;
  int owned_count() const;

  // Another node, once connected; nullopt when unknown or gone.
  std::optional<peer> find_peer(const std::string& node_id) const;
  std::vector<std::string> peer_ids() const;
  // What the coordinator lends: this node's own duties or a peer's handles;
  // invalid handles while it is unknown.
  node_handles coordinator() const;

  // The owners and how long their leases still run (empty: forever, as
  // for a node alone).
  void set_owners(std::vector<std::string> owners, const std::vector<int64_t>& lease_left_ms = {});
  void set_peer(peer p);
  void drop_peer(const std::string& node_id);
  // This node's own handles (coordinator duties are filled in once taken).
  void set_local(node_handles h);
  node_handles local() const;

private:
  const std::string me_;
  const int partitions_;
  mutable std::shared_mutex mutex_;
  std::vector<std::string> owners_;
  std::vector<std::chrono::steady_clock::time_point> lease_ends_; // empty: no end
  std::unordered_map<std::string, peer> peers_;
  node_handles local_;
};

} // namespace boxoffice
