// The log collector's metric names and HELP texts, and the one pure
// function from the counters (and the collector's own state: rules,
// silence, source) to its families.
#pragma once

#include <string>
#include <vector>

#include "collectors/log/log_parser.h"
#include "exporter/collector.h"

namespace mailhealth::log {

struct LogMetricsInput {
  Millis interval{5000};
  std::vector<std::string> rule_names;
  double silence_seconds = 0;
  Millis silence_threshold{30 * 60 * 1000};
  bool available = false;  // the file or journal is open
};

Families BuildLogFamilies(const LogCounters& c, const LogMetricsInput& in);

}  // namespace mailhealth::log
