#include "collectors/queue/queue_metrics.h"

#include <algorithm>

#include "exporter/metric_builder.h"

namespace mailhealth {

void AppendPostfixUp(Families& out, bool up, Millis interval, UpSource how) {
  auto f = Gauge(
      kPostfixUp,
      SampledHelp(how == UpSource::kSpoolWalk
                      ? "1 when the Postfix master process runs and its queue "
                        "can be read (the spool walk, and the master's pid)."
                      : "1 when the Postfix master process runs and its queue "
                        "can be read.",
                  interval));
  AddSample(f, {}, up ? 1 : 0);
  out.push_back(std::move(f));
}

void AppendDetailTimestamp(Families& out, std::time_t last_success) {
  auto ts = Gauge(kQueueDetailLastSuccess,
                  "Unix time of the last successful postqueue run, whose "
                  "listing gives the age histogram and the by_reason and "
                  "by_domain series (0: none yet).");
  AddSample(ts, {}, static_cast<double>(last_success));
  out.push_back(std::move(ts));
}

void AppendParseErrors(Families& out, uint64_t errors) {
  auto f = Counter(kQueueParseErrors,
                   "Lines of postqueue (or mailhealth-spool-stat) output that "
                   "could not be parsed and were skipped.");
  AddSample(f, {}, static_cast<double>(errors));
  out.push_back(std::move(f));
}

void MergeInstanceFamilies(Families& out, Families fams,
                           const std::string& instance) {
  for (prometheus::MetricFamily& f : fams) {
    for (prometheus::ClientMetric& m : f.metric) {
      m.label.insert(m.label.begin(), {"postfix_instance", instance});
    }
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const auto& o) { return o.name == f.name; });
    if (it == out.end()) {
      out.push_back(std::move(f));
    } else {
      for (auto& m : f.metric) it->metric.push_back(std::move(m));
    }
  }
}

}  // namespace mailhealth
