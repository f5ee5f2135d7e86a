#include "exporter/metric_builder.h"

#include <limits>

namespace mailhealth {
namespace {

prometheus::MetricFamily Make(std::string name, std::string help,
                              prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

prometheus::ClientMetric WithLabels(const Labels& labels) {
  prometheus::ClientMetric m;
  m.label.reserve(labels.size());
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  return m;
}

}  // namespace

prometheus::MetricFamily Gauge(std::string name, std::string help) {
  return Make(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}
prometheus::MetricFamily Counter(std::string name, std::string help) {
  return Make(std::move(name), std::move(help),
              prometheus::MetricType::Counter);
}
prometheus::MetricFamily Histogram(std::string name, std::string help) {
  return Make(std::move(name), std::move(help),
              prometheus::MetricType::Histogram);
}

void AddSample(prometheus::MetricFamily& family, const Labels& labels,
               double value) {
  prometheus::ClientMetric m = WithLabels(labels);
  switch (family.type) {
    case prometheus::MetricType::Counter:
      m.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      m.gauge.value = value;
      break;
    default:
      m.untyped.value = value;
      break;
  }
  family.metric.push_back(std::move(m));
}

void AddHistogram(prometheus::MetricFamily& family, const Labels& labels,
                  const std::vector<double>& bounds,
                  const std::vector<uint64_t>& counts, double sum) {
  prometheus::ClientMetric m = WithLabels(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  family.metric.push_back(std::move(m));
}

std::string SampledHelp(const std::string& help, Millis interval) {
  if (interval <= Millis(0)) return help + " Probed at this request.";
  return help + " Sampled every " + FormatDuration(interval) + ".";
}

}  // namespace mailhealth
