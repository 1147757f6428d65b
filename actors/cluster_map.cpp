#include "actors/cluster_map.hpp"

#include <mutex>

#include "actors/booking_config.hpp"

namespace boxoffice {

cluster_map::cluster_map(std::string me, int partitions)
    : me_(std::move(me)), partitions_(partitions > 0 ? partitions : 1),
      owners_(static_cast<size_t>(partitions_), me_) {}

std::string cluster_map::owner_of(int64_t key) const {
  auto p = static_cast<size_t>(partition_of(key));
  std::shared_lock lock{mutex_};
  if (!lease_ends_.empty() && lease_ends_[p] <= std::chrono::steady_clock::now())
    return {};
  return owners_[p];
}

std::optional<std::string> cluster_map::owned_literal() const {
  std::shared_lock lock{mutex_};
  std::string out;
  bool all = true;
  for (size_t p = 0; p < owners_.size(); ++p) {
    if (owners_[p] != me_) {
      all = false;
      continue;
    }
    out += (out.empty() ? "" : ",") + std::to_string(p);
  }
  if (all)
    return std::nullopt;
  return "{" + out + "}";
}

int cluster_map::owned_count() const {
  std::shared_lock lock{mutex_};
  int n = 0;
  for (auto& owner : owners_)
    n += owner == me_ ? 1 : 0;
  return n;
}

std::optional<cluster_map::peer> cluster_map::find_peer(const std::string& node_id) const {
  std::shared_lock lock{mutex_};
  auto i = peers_.find(node_id);
  if (i == peers_.end())
    return std::nullopt;
  return i->second;
}

std::vector<std::string> cluster_map::peer_ids() const {
  std::shared_lock lock{mutex_};
  std::vector<std::string> out;
  for (auto& [id, p] : peers_)
    out.push_back(id);
  return out;
}

node_handles cluster_map::coordinator() const {
  std::shared_lock lock{mutex_};
  auto& owner = owners_[0];
  if (owner == me_)
    return local_;
  auto i = peers_.find(owner);
  return i == peers_.end() ? node_handles{} : i->second.handles;
}

void cluster_map::set_owners(std::vector<std::string> owners,
                             const std::vector<int64_t>& lease_left_ms) {
  auto n = static_cast<size_t>(partitions_);
  if (owners.size() != n || (!lease_left_ms.empty() && lease_left_ms.size() != n))
    return;
  std::vector<std::chrono::steady_clock::time_point> ends;
  auto now = std::chrono::steady_clock::now();
  for (auto left : lease_left_ms)
    ends.push_back(now + std::chrono::milliseconds(left));
  std::unique_lock lock{mutex_};
  owners_ = std::move(owners);
  lease_ends_ = std::move(ends);
}

void cluster_map::set_peer(peer p) {
  std::unique_lock lock{mutex_};
  auto id = p.node_id;
  peers_[id] = std::move(p);
}

void cluster_map::drop_peer(const std::string& node_id) {
  std::unique_lock lock{mutex_};
  peers_.erase(node_id);
}

void cluster_map::set_local(node_handles h) {
  std::unique_lock lock{mutex_};
  local_ = std::move(h);
}

node_handles cluster_map::local() const {
  std::shared_lock lock{mutex_};
  return local_;
}

int booking_config::partitions() const {
  return cluster ? cluster->partitions() : 1;
}

storage::partition_filter owned_scope(const std::shared_ptr<const cluster_map>& cluster) {
  if (!cluster)
    return {};
  return {cluster->partitions(), cluster->owned_literal()};
}

} // namespace boxoffice
