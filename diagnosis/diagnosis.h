// The diagnosis: the verdict table (verdict_table.h) applied to metric
// families, giving one verdict per section in troubleshooting order, with
// the evidence and the first commands of each WARN and FAIL.
//
// Pure: it reads the families and snapshots it is given and nothing else.
// `mailhealth_exporter check` gives it one run of every collector; the
// landing page gives it the latest snapshots and the counter history
// (CounterHistory) that windows the log counters.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "diagnosis/verdict_table.h"
#include "exporter/collector.h"
#include "daemon/snapshot_store.h"

namespace mailhealth::diagnosis {

using WallTime = std::chrono::system_clock::time_point;

// Counter values of the windowed rows (the log counters), as the log
// collector published them, for the last `keep`. Thread-safe: Observe()
// runs on a collector's thread, Increase() on the HTTP thread.
class CounterHistory {
 public:
  explicit CounterHistory(Millis keep = Millis(16 * 60 * 1000)) : keep_(keep) {}
  void Observe(const Snapshot& snapshot);
  // The increase of the series `key` (SeriesKey) over `window` before `now`,
  // given its current value: the current value minus the last one seen at
  // or before now - window (0 when the exporter is younger than the
  // window: its counters started at 0); a reset counts from 0.
  double Increase(const std::string& key, double current, Millis window,
                  WallTime now) const;
  // For tests: record a value directly.
  void Record(WallTime t, const std::string& key, double value);

 private:
  mutable std::mutex mu_;
  Millis keep_;
  std::map<std::string, std::deque<std::pair<WallTime, double>>> series_;
};

using LabelMap = std::map<std::string, std::string>;
// "metric{a=\"1\",b=\"2\"}" with labels sorted: the history's key.
std::string SeriesKey(const std::string& metric, const LabelMap& labels);

struct EvalOptions {
  WallTime now{};
  // true: one run of `check`; counters cover `log_window` (the log was
  // read over it), so windowed rows use the counter values as they are
  // and the log window instead of the rows' own windows.
  bool once = false;
  Millis log_window{15 * 60 * 1000};
  const CounterHistory* history = nullptr;  // daemon: windows the counters
};

struct Finding {
  const Rule* rule = nullptr;
  Verdict verdict = Verdict::kOk;  // WARN or FAIL (after inhibition)
  LabelMap labels;
  // The row's title; with more than one Postfix instance on the host, a
  // finding of one instance adds it: "Postfix is not running (instance
  // postfix-out)".
  std::string title;
  double value = 0;
  std::string evidence;
  std::vector<std::string> commands;
  std::string explained_by;  // the alert that explains it (inhibited)
};

struct SectionReport {
  Section section;
  Verdict verdict = Verdict::kOk;
  std::string summary;            // the numbers when OK, the reason when SKIP
  std::vector<Finding> findings;  // FAIL first, then WARN
};

struct CollectorRun {
  std::string name;
  bool ran = false;  // finished at least one run
  bool success = false;
  std::string error, detail;
  double duration_seconds = 0;
  WallTime finished{};
};

struct Report {
  std::vector<SectionReport> sections;  // troubleshooting order
  std::vector<CollectorRun> runs;
  Verdict overall = Verdict::kOk;
  // Prometheus-only rows (not judged here), for the report's footnote.
  std::vector<std::string> not_judged;
  // The first FAIL (or WARN when none) in troubleshooting order.
  const Finding* First() const;
  // 0 all OK (or SKIP), 1 a WARN, 2 a FAIL.
  int ExitCode() const;
};

Report Diagnose(const Families& families,
                const std::vector<std::shared_ptr<const Snapshot>>& snapshots,
                const EvalOptions& options);

// A sample's value of any family type (histograms: their count).
double SampleValue(const prometheus::MetricFamily& f,
                   const prometheus::ClientMetric& m);
// PromQL-style regex match, fully anchored; "(?i)" prefix for no case.
bool FullMatch(const std::string& regex, const std::string& s);

}  // namespace mailhealth::diagnosis
