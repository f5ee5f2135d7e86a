// Helpers to build prometheus::MetricFamily values for a snapshot.
//
//   auto f = Gauge("mailhealth_queue_messages", Help("Messages in each queue.",
//   interval)); AddSample(f, {{"queue", "deferred"}}, 12);
//
// Pure value construction: no registry, no locks, nothing long-lived.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "exporter/duration.h"

namespace mailhealth {

using Labels = std::vector<std::pair<std::string, std::string>>;

prometheus::MetricFamily Gauge(std::string name, std::string help);
prometheus::MetricFamily Counter(std::string name, std::string help);
prometheus::MetricFamily Histogram(std::string name, std::string help);

// Appends a sample; sets the gauge, counter or untyped value per the
// family's type.
void AddSample(prometheus::MetricFamily& family, const Labels& labels,
               double value);

// Appends a histogram sample. `bounds` are the upper bounds (without +Inf),
// `counts` the non-cumulative count per bound plus one for +Inf
// (counts.size() == bounds.size() + 1).
void AddHistogram(prometheus::MetricFamily& family, const Labels& labels,
                  const std::vector<double>& bounds,
                  const std::vector<uint64_t>& counts, double sum);

// HELP text that says the value is sampled in the background (an interval
// of 0: measured for this request, as /probe does).
std::string SampledHelp(const std::string& help, Millis interval);

}  // namespace mailhealth
