// SnapshotStore: the latest result of every collector, the one structure
// shared between the scheduler threads and the scrape path.
//
// Thread-safe. Put() replaces a collector's snapshot atomically; GetAll()
// copies the shared_ptrs under the mutex and returns, so a scrape never
// holds the lock while it serialises.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/collector.h"

namespace mailhealth {

struct Snapshot {
  std::string collector;
  bool success = false;
  std::string error;            // empty on success
  std::string detail;           // CollectResult::detail of this run
  double duration_seconds = 0;  // of the run that produced this snapshot
  Millis interval{0};
  // Wall-clock end of this run and of the last successful run (0 = never).
  std::chrono::system_clock::time_point finished{};
  std::chrono::system_clock::time_point last_success{};
  // When `families` were produced (a failed run may carry older data).
  std::chrono::system_clock::time_point data_time{};
  Families families;
  // Series the collector produced, and whether max_series cut them.
  int64_t series = 0;
  bool series_limit_reached = false;
};

class SnapshotStore {
 public:
  using Observer = std::function<void(const Snapshot&)>;
  // Called by Put() with every new snapshot, on the publishing collector's
  // thread, outside the store's mutex (the landing page's diagnosis keeps
  // counter history with it). Set before the scheduler starts.
  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  void Put(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> Get(const std::string& collector) const;
  std::vector<std::shared_ptr<const Snapshot>> GetAll() const;
  // Forget collectors not in `names` (after a reload disabled them).
  void Retain(const std::vector<std::string>& names);

 private:
  Observer observer_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Snapshot>> snapshots_;
};

}  // namespace mailhealth
