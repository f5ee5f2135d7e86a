// The config's top-level `probe:` section: the modules /probe can run.
//
//   probe:
//     max_concurrent: 50     # probes in flight at once; 503 beyond
//     timeout_offset: 500ms  # taken off X-Prometheus-Scrape-Timeout-Seconds
//     modules:
//       smtp_outside: { prober: smtp, timeout: 10s, min_interval: 0s,
//                       allowed_targets: [example.com], ...prober keys }
//
// Parsed with the rest of the config (errors name file, line and key);
// no I/O. Immutable once built, shared by the threads of the probe service.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/config_node.h"
#include "exporter/probe.h"
#include "exporter/probe_fence.h"

namespace mailhealth {

struct ProbeModuleConfig {
  std::string name;
  std::string prober;
  Millis timeout{10000};
  Millis min_interval{0};
  ProbeFence fence;
  std::shared_ptr<const ProbeModule> module;
};

struct ProbeConfig {
  int max_concurrent = 50;
  Millis timeout_offset{500};
  std::map<std::string, ProbeModuleConfig> modules;
};

// Longest module timeout accepted.
inline constexpr Millis kMaxProbeTimeout{120000};

// Reads the `probe` section (absent: no modules). `probers` are the
// registered probers.
ProbeConfig ParseProbeConfig(ConfigNode& section,
                             const std::vector<ProberInfo>& probers);

}  // namespace mailhealth
