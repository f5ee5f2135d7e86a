// Loading the YAML config into built, validated collectors.
//
// Layout:
//   collectors:
//     queue: { enabled: true, interval: 30s, timeout: 20s, ... }
//     log:   { ... }
//   probe:                 # /probe modules (probe_config.h)
//     modules: { ... }
//
// The framework reads `enabled`, `interval` and `timeout` of every section;
// each collector's factory reads the rest. Every error names the file, the
// line and the key; one load reports all of them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exporter/collector_registry.h"
#include "daemon/probe_config.h"
#include "daemon/scheduler.h"
#include "exporter/status.h"

namespace mailhealth {

// --collector.NAME (true) / --no-collector.NAME (false), applied over the
// config file's `enabled`.
using CollectorOverrides = std::map<std::string, bool>;

struct LoadedConfig {
  std::string file;  // what was loaded ("" = built-in defaults)
  std::vector<ScheduledCollector> collectors;  // enabled ones, built
  // The `probe:` section: the /probe modules (none when absent).
  std::shared_ptr<const ProbeConfig> probe;
  // `file:line: key: message` for what is valid but does nothing (a
  // collector enabled with nothing to check); not errors.
  std::vector<std::string> warnings;
};

// Parses `yaml` (named `file` in errors) and builds the enabled collectors.
Result<LoadedConfig> LoadConfigFromString(const CollectorRegistry& registry,
                                          const std::string& yaml,
                                          const std::string& file,
                                          const CollectorOverrides& overrides,
                                          const RunMode& mode = {});

// Reads `path`. When the file does not exist and `must_exist` is false,
// runs on built-in defaults (an empty config).
Result<LoadedConfig> LoadConfigFile(const CollectorRegistry& registry,
                                    const std::string& path, bool must_exist,
                                    const CollectorOverrides& overrides,
                                    const RunMode& mode = {});

}  // namespace mailhealth
