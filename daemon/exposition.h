// Exposition: turns the snapshot store into what /metrics serves.
//
// Collect() merges every collector's latest families and adds the
// exporter's own metrics (build info, per-collector success, duration and
// last success time, config reload state). It does no I/O, takes the store
// mutex only to copy pointers, and never throws (prometheus-cpp would
// terminate the process): on any internal error it returns what it has.
// Thread-safe.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/snapshot_store.h"

namespace mailhealth {

// Set by main() on each (re)load; read at every scrape.
struct ConfigState {
  std::atomic<bool> last_reload_successful{true};
  std::atomic<double> last_reload_success_seconds{0};
};

class Exposition : public prometheus::Collectable {
 public:
  Exposition(const SnapshotStore* store, const ConfigState* config,
             std::string version, std::string revision)
      : store_(store),
        config_(config),
        version_(std::move(version)),
        revision_(std::move(revision)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

  // As Collect(), at a given wall-clock time (for tests of staleness).
  std::vector<prometheus::MetricFamily> CollectAt(
      std::chrono::system_clock::time_point now) const;

  // Serialises Collect() in the text format 0.0.4.
  std::string Render() const;

  // The rendered body (gzip-compressed when `gzip`), at `now`. Rendered
  // once per change of what the body is made of: which snapshot each
  // collector has, whether it is still fresh, and the reload state. Until
  // one of those changes every scrape gets the same bytes, so a scrape
  // costs a copy, not a serialisation (and a hundred scrapers cost one).
  std::shared_ptr<const std::string> RenderCached(
      bool gzip, std::chrono::system_clock::time_point now) const;
  // How many times RenderCached() serialised (for tests).
  uint64_t renders() const;

 private:
  // What the body depends on besides the snapshots' contents (which never
  // change: a new run publishes a new snapshot).
  struct RenderKey {
    std::vector<std::shared_ptr<const Snapshot>> snapshots;  // held: no reuse
    std::vector<bool> fresh;
    bool reload_ok = true;
    double reload_seconds = 0;
    bool operator==(const RenderKey&) const = default;
  };
  RenderKey KeyAt(std::chrono::system_clock::time_point now) const;

  const SnapshotStore* store_;
  const ConfigState* config_;
  std::string version_;
  std::string revision_;

  mutable std::mutex cache_mu_;
  mutable bool cached_ = false;
  mutable RenderKey cache_key_;
  mutable std::shared_ptr<const std::string> cache_text_, cache_gzip_;
  mutable uint64_t renders_ = 0;
};

// Content-Type of the text exposition format (Prometheus 3 wants the
// version parameter).
inline constexpr char kTextContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mailhealth
