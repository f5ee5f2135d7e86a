// The Collector interface and what the framework hands to a collector.
//
// A collector measures one thing (the queue, the log, DNS, SMTP). The
// scheduler calls Collect() on one dedicated thread every `interval`; the
// object is never touched by any other thread, so it may keep private state
// (offsets, counters) without locks. Collect() does the blocking I/O, must
// return by `deadline` (the scheduler reports it as failed if it does not),
// and returns freshly built metric families. A failed *target* (an SMTP host
// that refuses) is data inside an OK result; a non-OK status means the
// collector itself could not work (postqueue missing, log unreadable), and
// its families, if any, are still exposed.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/config_node.h"
#include "exporter/duration.h"
#include "exporter/status.h"

namespace mailhealth {

using Clock = std::chrono::steady_clock;
using Families = std::vector<prometheus::MetricFamily>;

struct CollectResult {
  Status status;
  Families families;
  // A short human-readable state beside the status, shown on the landing
  // page (e.g. "missing: /var/log/mail.log does not exist" while an OK
  // collector waits for its source); empty when there is nothing to say.
  std::string detail;
};

class Collector {
 public:
  virtual ~Collector() = default;
  virtual CollectResult Collect(Clock::time_point deadline) = 0;
  // Called once, from the thread that stops the scheduler, before the
  // collector is destroyed; a collector that runs threads of its own (a log
  // follower) stops them here. Must be safe to call while Collect() runs.
  virtual void Stop() {}
};

// The settings every collector has, parsed by the framework.
struct CollectorSettings {
  bool enabled = false;
  Millis interval{30000};
  Millis timeout{20000};
  // Cardinality guard: at most this many series (samples, histograms
  // counting as one) are exposed per run; the rest are dropped and
  // mailhealth_collector_series_limit_reached says so.
  int64_t max_series = 10000;
};

// What a factory receives: the common settings (already parsed) and the
// collector's YAML section. The factory reads its own keys from `section`,
// validates them (recording errors on `section`), and returns the collector.
// It need not count its errors: the framework compares the error count
// around every factory and discards the collector of a section with errors
// (nullptr is also accepted). It must not do I/O beyond validation:
// --config.check builds every collector without running it.
// How the collectors will be run: by the daemon, every interval, or once
// by `mailhealth_exporter check`. A collector that reads history (the log)
// reads the last `lookback` of it in a once run instead of following new
// lines; the others ignore the mode.
struct RunMode {
  bool once = false;
  Millis lookback{15 * 60 * 1000};
};

struct CollectorContext {
  std::string name;
  CollectorSettings settings;
  RunMode mode;
};
using CollectorFactory = std::function<std::unique_ptr<Collector>(
    const CollectorContext& ctx, ConfigNode& section)>;

}  // namespace mailhealth
