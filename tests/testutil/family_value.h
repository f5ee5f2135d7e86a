// Test helper: the gauge value of the first sample of `name` whose labels
// include all of `labels`, or nullopt when there is none.
#pragma once

#include <optional>
#include <string>

#include "exporter/collector.h"
#include "exporter/metric_builder.h"

namespace mailhealth {

inline std::optional<double> Value(const Families& fs, const std::string& name,
                                   const Labels& labels) {
  for (const auto& f : fs) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      bool all = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found |= l.name == k && l.value == v;
        all &= found;
      }
      if (all) return m.gauge.value;
    }
  }
  return std::nullopt;
}

}  // namespace mailhealth
