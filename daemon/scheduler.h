// Scheduler: runs each enabled collector in the background, every
// `interval`, bounded by `timeout`, and publishes the outcome in the
// SnapshotStore.
//
// Each collector gets a tick thread and a runner thread. The tick thread
// asks the runner for a run, waits at most `timeout`, and publishes either
// the result or a failure ("timed out after 20s") on time; a run that
// overruns is not started again until it returns (its late result is
// dropped), so a hung collector can never pile up threads. Everything a
// collector throws is caught and becomes a failed run.
//
// When a run fails without families, the previous families stay exposed
// (with their original timestamp) until they are older than 3 intervals;
// the exposition then drops them, so stale data never looks fresh.
//
// Start()/Stop() are called from one thread (main). Stop() returns within
// about `kStopGrace` even if a collector is stuck in I/O: such a runner is
// detached and keeps the collector alive through a shared_ptr.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "exporter/collector.h"
#include "daemon/snapshot_store.h"

namespace mailhealth {

struct ScheduledCollector {
  std::string name;
  CollectorSettings settings;
  std::shared_ptr<Collector> collector;
};

class Scheduler {
 public:
  static constexpr Millis kStopGrace{1500};

  explicit Scheduler(SnapshotStore* store) : store_(store) {}
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts all collectors; their first run begins at once. Publishes a
  // "not run yet" snapshot for each so they show from the first scrape.
  void Start(std::vector<ScheduledCollector> collectors);
  void Stop();

  struct Job;  // opaque, shared with the threads

 private:
  SnapshotStore* store_;
  std::vector<std::shared_ptr<Job>> jobs_;
};

}  // namespace mailhealth
