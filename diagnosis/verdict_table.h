// The verdict table: one row per alert of deploy/prometheus/*.rules.yml,
// in the order an admin troubleshoots (Postfix running, port 25, MX and A
// records, the queue, the log, reputation, the exporter itself).
//
// `mailhealth_exporter check` and the landing page judge the latest
// metric families with these rows; Prometheus judges the same metrics with
// the alert rules. tests/diagnosis checks that every alert has a row whose
// condition (metric, label matchers, comparison, threshold) appears in the
// alert's expr, and that pages are FAIL and tickets WARN, so the report and
// the pages cannot drift apart: change a threshold in both places.
//
// Pure data, no I/O; the table is built once and read-only afterwards.
#pragma once

#include <string>
#include <vector>

namespace mailhealth::diagnosis {

enum class Verdict { kOk, kSkip, kWarn, kFail };  // by increasing weight
const char* VerdictName(Verdict v);  // "OK", "SKIP", "WARN", "FAIL"

// In troubleshooting order. kProbe is the hook for the /probe endpoint's
// modules (the outside view of port 25): no row uses it yet.
enum class Section {
  kPostfix,
  kPort25,
  kProbe,
  kDns,
  kQueue,
  kLog,
  kReputation,
  kMailauth,
  kExporter,
};
inline constexpr int kSectionCount = 9;
const char* SectionTitle(Section s);
// The collector whose data the section judges ("" for kExporter).
const char* SectionCollector(Section s);

struct Matcher {
  enum Op { kEq, kNe, kRe, kNre } op;
  std::string label;
  std::string value;  // a regex for kRe/kNre (fully anchored, as PromQL)
};

enum class Compare { kEq, kNe, kGt, kGe, kLt };
const char* CompareText(Compare c);  // "==", "!=", ">", ">=", "<"

// How a row turns the metric's samples into the values it compares.
enum class Reduce {
  kEach,            // every sample
  kMaxBy,           // max over samples grouped by `group` labels
  kMaxWithout,      // max over samples grouped by all labels but `group`
  kMinusNow,        // sample - now (seconds left), samples > 0 only
  kWindowIncrease,  // counter increase over the window, summed by `group`
  kRatePerMinute,   // that increase per minute
  kWindowRatio,     // increase of (metric+matchers) / increase of (metric),
                    // summed over everything; needs `min_total` events
  kAboveMetric,     // sample > the sample of `other_metric` (LogSilent)
  kPrometheusOnly,  // needs Prometheus' own data or history: not judged here
};

struct Rule {
  std::string alert;  // its name in deploy/prometheus/*.rules.yml
  Section section;
  Verdict verdict;  // FAIL for severity page, WARN for ticket
  // The alert's condition as fragments of its expr, in order (the test
  // finds each in the alert's expr, whitespace-normalised). The first
  // holds the metric and its matchers, the last ends in "OP THRESHOLD".
  std::vector<std::string> condition;
  std::string metric;
  std::vector<Matcher> matchers;
  Reduce reduce = Reduce::kEach;
  std::vector<std::string> group;  // labels for kMaxBy/kMaxWithout/sums
  Compare compare = Compare::kEq;
  std::string threshold;     // the literal as in the expr: "0", "12 * 3600"
  std::string window;        // "5m" for windowed counters (the alert's range)
  std::string min_total;     // kWindowRatio: at least this many events
  std::string other_metric;  // kAboveMetric
  // Also required: a sample of `and_metric` (with `and_matchers`) sharing
  // this sample's labels whose value compares `and_compare` to `and_value`
  // (StarttlsMissing needs a greeting).
  std::string and_metric;
  double and_value = 0;
  Compare and_compare = Compare::kEq;
  std::vector<Matcher> and_matchers;
  // Not judged while this row fires for a sample sharing its labels
  // (MxHostDown while the whole domain is unreachable).
  std::string unless_alert;
  // An smtpd fatal counts until smtpd answers every probe again (as the
  // alert's last `unless`).
  bool clears_when_smtpd_answers = false;
  std::string title;                  // "Postfix is not running"
  std::string evidence;               // template, see Expand() in diagnosis.cc
  std::vector<std::string> commands;  // first commands, templates too
};

const std::vector<Rule>& Rules();
const Rule* FindRule(const std::string& alert);

// Evaluates a threshold literal: a number, or a product ("12 * 3600").
// Returns false when `text` is neither.
bool ParseThreshold(const std::string& text, double* out);

// What a FAIL or WARN of `source` explains: Alertmanager's inhibit_rules
// of deploy/alertmanager/alertmanager.yml, the same rules in the same order
// (tests/diagnosis holds them equal). A finding of a target alert sharing
// the `equal` labels is shown as a consequence, its verdict at most WARN.
struct Inhibition {
  std::string source;                    // alert names, anchored regex
  std::vector<Matcher> source_matchers;  // on the source finding's labels
  std::string target_regex;              // alert names, anchored
  std::vector<Matcher> target_matchers;  // on the target finding's labels
  std::vector<std::string> equal;        // labels both must share (but
                                         // instance: one host here)
};
const std::vector<Inhibition>& Inhibitions();

}  // namespace mailhealth::diagnosis
