// Test helpers over a collector's families: every sample as
// "name{label=value,...}" (labels in their order) -> its value, the
// counter's for counters and the gauge's for the others.
#pragma once

#include <map>
#include <string>

#include "exporter/collector.h"

namespace mailhealth {

using Samples = std::map<std::string, double>;

inline Samples Flatten(const Families& fams) {
  Samples out;
  for (const auto& f : fams) {
    for (const auto& m : f.metric) {
      std::string key = f.name + "{";
      for (size_t i = 0; i < m.label.size(); ++i) {
        key += (i ? "," : "") + m.label[i].name + "=" + m.label[i].value;
      }
      out[key + "}"] = f.type == prometheus::MetricType::Counter
                           ? m.counter.value
                           : m.gauge.value;
    }
  }
  return out;
}

}  // namespace mailhealth
