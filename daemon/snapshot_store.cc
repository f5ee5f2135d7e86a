#include "daemon/snapshot_store.h"

#include <algorithm>

namespace mailhealth {

void SnapshotStore::Put(std::shared_ptr<const Snapshot> snapshot) {
  if (observer_) observer_(*snapshot);
  std::lock_guard<std::mutex> lock(mu_);
  snapshots_[snapshot->collector] = std::move(snapshot);
}

std::shared_ptr<const Snapshot> SnapshotStore::Get(
    const std::string& collector) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = snapshots_.find(collector);
  return it == snapshots_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Snapshot>> SnapshotStore::GetAll() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Snapshot>> out;
  out.reserve(snapshots_.size());
  for (const auto& [_, s] : snapshots_) out.push_back(s);
  return out;
}

void SnapshotStore::Retain(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = snapshots_.begin(); it != snapshots_.end();) {
    if (std::find(names.begin(), names.end(), it->first) == names.end()) {
      it = snapshots_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace mailhealth
