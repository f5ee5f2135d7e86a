// Sample helpers of the log collector's families (log_metrics,
// log_signals): per Postfix instance, {postfix_instance} first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/metric_builder.h"

namespace mailhealth::log {

// `instances`, or the default instance "postfix" alone (in *seeded) while
// there is none: its series are there from the first run.
template <typename T>
const std::vector<T>& OrDefaultInstance(const std::vector<T>& instances,
                                        std::vector<T>* seeded) {
  if (!instances.empty()) return instances;
  seeded->emplace_back();
  seeded->back().name = "postfix";
  return *seeded;
}

// One sample per value of E ({label}): row[e].
template <typename E, size_t kE>
void AddRow(prometheus::MetricFamily& f, const std::string& instance,
            const char* label, const std::array<uint64_t, kE>& row) {
  for (size_t e = 0; e < kE; ++e)
    AddSample(
        f, {{"postfix_instance", instance}, {label, std::string(Name(E(e)))}},
        static_cast<double>(row[e]));
}

// One sample per pair of values of A ({a_label}) and B ({b_label}):
// grid[a][b].
template <typename A, typename B, size_t kA, size_t kB>
void AddGrid(prometheus::MetricFamily& f, const std::string& instance,
             const char* a_label, const char* b_label,
             const std::array<std::array<uint64_t, kB>, kA>& grid) {
  for (size_t a = 0; a < kA; ++a)
    for (size_t b = 0; b < kB; ++b)
      AddSample(f,
                {{"postfix_instance", instance},
                 {a_label, std::string(Name(A(a)))},
                 {b_label, std::string(Name(B(b)))}},
                static_cast<double>(grid[a][b]));
}

}  // namespace mailhealth::log
