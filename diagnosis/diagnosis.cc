#include "diagnosis/diagnosis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>

namespace mailhealth::diagnosis {
namespace {

// The /probe modules' metric prefix (#12), built so that the metrics
// contract does not take it for a metric name.
const std::string kProbePrefix = std::string("mailhealth_") + "probe_";

struct Sample {
  LabelMap labels;
  double value = 0;
};
using Index = std::map<std::string, std::vector<Sample>>;

Index BuildIndex(const Families& families) {
  Index idx;
  for (const auto& f : families) {
    auto& v = idx[f.name];
    for (const auto& m : f.metric) {
      Sample s;
      for (const auto& l : m.label) s.labels[l.name] = l.value;
      s.value = SampleValue(f, m);
      v.push_back(std::move(s));
    }
  }
  return idx;
}

std::string Label(const LabelMap& l, const std::string& k) {
  auto it = l.find(k);
  return it == l.end() ? std::string() : it->second;
}

bool Matches(const std::vector<Matcher>& ms, const LabelMap& labels) {
  for (const Matcher& m : ms) {
    const std::string v = Label(labels, m.label);
    switch (m.op) {
      case Matcher::kEq:
        if (v != m.value) return false;
        break;
      case Matcher::kNe:
        if (v == m.value) return false;
        break;
      case Matcher::kRe:
        if (!FullMatch(m.value, v)) return false;
        break;
      case Matcher::kNre:
        if (FullMatch(m.value, v)) return false;
        break;
    }
  }
  return true;
}

bool CompareValue(Compare c, double v, double t) {
  switch (c) {
    case Compare::kEq:
      return v == t;
    case Compare::kNe:
      return v != t;
    case Compare::kGt:
      return v > t;
    case Compare::kGe:
      return v >= t;
    case Compare::kLt:
      return v < t;
  }
  return false;
}

// Labels present in both with the same value (and at least one shared).
bool SharesLabels(const LabelMap& a, const LabelMap& b) {
  bool any = false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) continue;
    if (it->second != v) return false;
    any = true;
  }
  return any;
}

LabelMap Pick(const LabelMap& l, const std::vector<std::string>& keys) {
  LabelMap out;
  for (const auto& k : keys)
    if (auto it = l.find(k); it != l.end()) out[k] = it->second;
  return out;
}

LabelMap Drop(const LabelMap& l, const std::vector<std::string>& keys) {
  LabelMap out = l;
  for (const auto& k : keys) out.erase(k);
  return out;
}

std::string FormatDurationSeconds(double s) {
  const bool neg = s < 0;
  double a = std::fabs(s);
  char buf[64];
  if (a < 120) {
    std::snprintf(buf, sizeof buf, "%.0fs", a);
  } else if (a < 7200) {
    std::snprintf(buf, sizeof buf, "%.0fm", a / 60);
  } else if (a < 3 * 86400) {
    std::snprintf(buf, sizeof buf, "%.0fh%02.0fm", std::floor(a / 3600),
                  std::fmod(a, 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fd", a / 86400);
  }
  return (neg ? "-" : "") + std::string(buf);
}

std::string FormatNumber(double v) {
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  }
  return buf;
}

std::string FormatValue(const Rule& r, double v) {
  if (r.reduce == Reduce::kWindowRatio) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
    return buf;
  }
  if (r.reduce == Reduce::kMinusNow ||
      (r.metric.size() > 8 &&
       r.metric.compare(r.metric.size() - 8, 8, "_seconds") == 0)) {
    return FormatDurationSeconds(v);
  }
  return FormatNumber(v);
}

// "127.0.0.1:5300" -> "127.0.0.1 -p 5300"; "[::1]:53" -> "::1".
std::string DigServer(const std::string& resolver) {
  std::string host = resolver, port;
  if (!resolver.empty() && resolver[0] == '[') {
    size_t close = resolver.find(']');
    host = resolver.substr(1, close - 1);
    if (close + 1 < resolver.size() && resolver[close + 1] == ':')
      port = resolver.substr(close + 2);
  } else if (size_t c = resolver.rfind(':');
             c != std::string::npos && resolver.find(':') == c) {
    host = resolver.substr(0, c);
    port = resolver.substr(c + 1);
  }
  return port.empty() || port == "53" ? host : host + " -p " + port;
}

std::string TargetPort(const std::string& target) {
  size_t c = target.rfind(':');
  if (c == std::string::npos ||
      (target.rfind("mx:", 0) == 0 && target.find(':', 3) == std::string::npos))
    return "25";
  std::string p = target.substr(c + 1);
  if (p.empty() || !std::all_of(p.begin(), p.end(),
                                [](char ch) { return ch >= '0' && ch <= '9'; }))
    return "25";
  return p;
}

std::string ReversedIpv4(const std::string& a) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= a.size(); ++i) {
    if (i == a.size() || a[i] == '.') {
      parts.push_back(a.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 4) return a;  // a domain on a domain list: as is
  return parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0];
}

std::string DelistPage(const std::string& zone) {
  if (zone.find("spamhaus") != std::string::npos)
    return "https://check.spamhaus.org";
  if (zone.find("spamcop") != std::string::npos)
    return "https://www.spamcop.net/bl.shtml";
  if (zone.find("barracuda") != std::string::npos)
    return "https://www.barracudacentral.org/lookups";
  return "the lookup page of " + zone;
}

struct ExpandContext {
  const Index* index;
  const std::map<std::string, const Snapshot*>* snapshots;
  const EvalOptions* options;
};

std::string WindowText(const Rule& r, const EvalOptions& o) {
  if (o.once) return FormatDuration(o.log_window);
  return r.window;
}

// The keys of a Postfix instance (postfix_instance; "postfix" or none is
// the default one, which reads as a host without instances):
// {syslog_name} its syslog_name as postmulti sets it (its name),
// {postmulti_x} "postmulti -i NAME -x " before a command of a non-default
// instance (run with its MAIL_CONFIG), {postfix:CMD} "postfix CMD" or
// "postmulti -i NAME -p CMD". False for any other key.
bool ExpandInstanceKey(const std::string& key, const LabelMap& labels,
                       std::string* out) {
  const std::string pi = Label(labels, "postfix_instance");
  const bool other = !pi.empty() && pi != "postfix";
  if (key == "syslog_name") {
    *out += other ? pi : "postfix";
  } else if (key == "postmulti_x") {
    if (other) *out += "postmulti -i " + pi + " -x ";
  } else if (key.rfind("postfix:", 0) == 0) {
    *out += (other ? "postmulti -i " + pi + " -p " : std::string("postfix ")) +
            key.substr(8);
  } else {
    return false;
  }
  return true;
}

std::string Expand(const std::string& t, const Rule& r, const LabelMap& labels,
                   double value, const ExpandContext& ctx) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    size_t close = t.find('}', i);
    if (close == std::string::npos) {
      out += t.substr(i);
      break;
    }
    std::string key = t.substr(i + 1, close - i - 1);
    i = close;
    if (key == "value") {
      out += FormatValue(r, value);
    } else if (key == "window") {
      out += WindowText(r, *ctx.options);
    } else if (key == "dig_server") {
      out += DigServer(Label(labels, "resolver"));
    } else if (key == "port") {
      out += TargetPort(Label(labels, "target"));
    } else if (key == "reversed") {
      out += ReversedIpv4(Label(labels, "address"));
    } else if (key == "delist") {
      out += DelistPage(Label(labels, "zone"));
    } else if (ExpandInstanceKey(key, labels, &out)) {
      // {syslog_name}, {postmulti_x}, {postfix:CMD}
    } else if (key == "error") {
      auto it = ctx.snapshots->find(Label(labels, "collector"));
      out += it == ctx.snapshots->end() || it->second->error.empty()
                 ? std::string("no data")
                 : it->second->error;
    } else if (key.rfind("join:", 0) == 0 || key.rfind("list:", 0) == 0) {
      // join:METRIC:LABEL (samples that are 1), list:METRIC[=V]:L1 L2.
      const bool join = key[0] == 'j';
      std::string spec = key.substr(5);
      size_t c = spec.find(':');
      std::string metric = spec.substr(0, c);
      std::string fields = c == std::string::npos ? "" : spec.substr(c + 1);
      bool filter = join;
      double want = 1;
      if (size_t eq = metric.find('='); eq != std::string::npos) {
        filter = true;
        want = std::atof(metric.c_str() + eq + 1);
        metric = metric.substr(0, eq);
      }
      std::vector<std::string> names;
      for (size_t s = 0; s <= fields.size();) {
        size_t sp = fields.find(' ', s);
        if (sp == std::string::npos) sp = fields.size();
        if (sp > s) names.push_back(fields.substr(s, sp - s));
        s = sp + 1;
      }
      std::vector<std::string> items;
      if (auto it = ctx.index->find(metric); it != ctx.index->end()) {
        for (const Sample& s : it->second) {
          if (filter && s.value != want) continue;
          if (!SharesLabels(labels, s.labels)) continue;
          std::string item;
          for (const auto& n : names)
            item += (item.empty() ? "" : " ") + Label(s.labels, n);
          items.push_back(item);
        }
      }
      std::sort(items.begin(), items.end());
      items.erase(std::unique(items.begin(), items.end()), items.end());
      std::string joined;
      for (const auto& s : items) joined += (joined.empty() ? "" : ", ") + s;
      out += joined.empty() ? (join ? "unknown reason" : "none") : joined;
    } else {
      auto it = labels.find(key);
      out += it == labels.end() ? "{" + key + "}" : it->second;
    }
  }
  return out;
}

double Threshold(const Rule& r) {
  double t = 0;
  ParseThreshold(r.threshold, &t);
  return t;
}

double NowSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The row's window: the log window for one run of check, else the row's
// own (5m without one).
Millis RowWindow(const Rule& r, const EvalOptions& o) {
  if (o.once) return o.log_window;
  auto d = ParseDuration(r.window);
  return d ? *d : Millis(5 * 60 * 1000);
}

// A counter's increase over the window (its value as is for check, or
// without a history).
double Increase(const Rule& r, const Sample& s, Millis window,
                const EvalOptions& o) {
  if (o.once || o.history == nullptr) return s.value;
  return o.history->Increase(SeriesKey(r.metric, s.labels), s.value, window,
                             o.now);
}

// kMaxBy/kMaxWithout: the max of each group of the matching samples.
std::vector<Sample> MaxOfGroups(const Rule& r, const std::vector<Sample>& all) {
  std::vector<Sample> out;
  std::map<LabelMap, double> groups;
  for (const Sample& s : all) {
    if (!Matches(r.matchers, s.labels)) continue;
    LabelMap g = r.reduce == Reduce::kMaxBy ? Pick(s.labels, r.group)
                                            : Drop(s.labels, r.group);
    auto [g_it, fresh] = groups.emplace(g, s.value);
    if (!fresh) g_it->second = std::max(g_it->second, s.value);
  }
  for (auto& [g, v] : groups) {
    LabelMap l = g;
    // mx:DOMAIN targets carry their domain (as the alert's
    // label_replace), for the DNS inhibition.
    const std::string t = Label(l, "target");
    if (t.rfind("mx:", 0) == 0 && !l.count("domain"))
      l["domain"] = t.substr(3, t.find(':', 3) - 3);
    out.push_back({l, v});
  }
  return out;
}

// kWindowIncrease/kRatePerMinute: the matching counters' increase over the
// window (per minute for the rate), summed by `group`.
std::vector<Sample> SumOfIncreases(const Rule& r,
                                   const std::vector<Sample>& all,
                                   Millis window, const EvalOptions& o) {
  std::vector<Sample> out;
  std::map<LabelMap, double> sums;
  for (const Sample& s : all)
    if (Matches(r.matchers, s.labels))
      sums[Pick(s.labels, r.group)] += Increase(r, s, window, o);
  const double minutes = std::chrono::duration<double>(window).count() / 60.0;
  for (auto& [g, v] : sums)
    out.push_back({g, r.reduce == Reduce::kRatePerMinute && minutes > 0
                          ? v / minutes
                          : v});
  return out;
}

// kWindowRatio: the increase of the matching counters over that of all,
// summed by `group` (the Postfix instance, as the alert), with at least
// `min_total` events.
std::vector<Sample> WindowRatios(const Rule& r, const std::vector<Sample>& all,
                                 Millis window, const EvalOptions& o) {
  std::vector<Sample> out;
  std::map<LabelMap, std::pair<double, double>> sums;  // num, den
  for (const Sample& s : all) {
    const double inc = Increase(r, s, window, o);
    auto& [num, den] = sums[Pick(s.labels, r.group)];
    den += inc;
    if (Matches(r.matchers, s.labels)) num += inc;
  }
  double min_total = 0;
  ParseThreshold(r.min_total, &min_total);
  for (const auto& [g, nd] : sums)
    if (nd.second > 0 && nd.second >= min_total)
      out.push_back({g, nd.first / nd.second});
  return out;
}

// The values a row compares to its threshold: its samples after its
// reduction, in order (none for kAboveMetric and kPrometheusOnly).
std::vector<Sample> Reduced(const Rule& r, const std::vector<Sample>& all,
                            const EvalOptions& o) {
  const Millis window = RowWindow(r, o);
  std::vector<Sample> out;
  switch (r.reduce) {
    case Reduce::kEach:
      for (const Sample& s : all)
        if (Matches(r.matchers, s.labels)) out.push_back(s);
      break;
    case Reduce::kMaxBy:
    case Reduce::kMaxWithout:
      return MaxOfGroups(r, all);
    case Reduce::kMinusNow:
      for (const Sample& s : all)
        if (Matches(r.matchers, s.labels) && s.value > 0)
          out.push_back({s.labels, s.value - NowSeconds(o.now)});
      break;
    case Reduce::kWindowIncrease:
    case Reduce::kRatePerMinute:
      return SumOfIncreases(r, all, window, o);
    case Reduce::kWindowRatio:
      return WindowRatios(r, all, window, o);
    case Reduce::kAboveMetric:
    case Reduce::kPrometheusOnly:
      break;
  }
  return out;
}

// kAboveMetric: the matching samples above the (first) sample of
// `other_metric`, none without one.
std::vector<Sample> AboveMetric(const Rule& r, const std::vector<Sample>& all,
                                const Index& idx) {
  std::vector<Sample> out;
  auto other = idx.find(r.other_metric);
  if (other == idx.end() || other->second.empty()) return out;
  const double limit = other->second.front().value;
  for (const Sample& s : all)
    if (Matches(r.matchers, s.labels) && s.value > limit) out.push_back(s);
  return out;
}

// `and` another metric sharing the labels: keeps the samples with such a
// sample of `and_metric` (and `and_matchers`) that compares to `and_value`.
void KeepWithAndMetric(const Rule& r, const Index& idx,
                       std::vector<Sample>* out) {
  auto a = idx.find(r.and_metric);
  std::vector<Sample> kept;
  for (auto& s : *out) {
    bool ok = false;
    if (a != idx.end())
      for (const Sample& x : a->second)
        ok |= CompareValue(r.and_compare, x.value, r.and_value) &&
              Matches(r.and_matchers, x.labels) &&
              SharesLabels(s.labels, x.labels);
    if (ok) kept.push_back(std::move(s));
  }
  *out = std::move(kept);
}

// An smtpd fatal counts until smtpd answers every probe again.
void DropSmtpdOnceSmtpAnswers(const Index& idx, std::vector<Sample>* out) {
  auto p = idx.find("mailhealth_smtp_probe_success");
  bool all_up = p != idx.end() && !p->second.empty();
  if (p != idx.end())
    for (const Sample& x : p->second) all_up &= x.value == 1;
  if (!all_up) return;
  out->erase(std::remove_if(out->begin(), out->end(),
                            [](const Sample& s) {
                              return Label(s.labels, "process") == "smtpd";
                            }),
             out->end());
}

// Evaluates one row: the samples (after its reduction) that fire.
std::vector<Sample> Fire(const Rule& r, const Index& idx,
                         const EvalOptions& o) {
  std::vector<Sample> out;
  auto it = idx.find(r.metric);
  if (it == idx.end() || r.reduce == Reduce::kPrometheusOnly) return out;
  if (r.reduce == Reduce::kAboveMetric) {
    out = AboveMetric(r, it->second, idx);
  } else {
    const double thr = Threshold(r);
    for (Sample& s : Reduced(r, it->second, o))
      if (CompareValue(r.compare, s.value, thr)) out.push_back(std::move(s));
  }
  if (!r.and_metric.empty()) KeepWithAndMetric(r, idx, &out);
  if (r.clears_when_smtpd_answers) DropSmtpdOnceSmtpAnswers(idx, &out);
  return out;
}

// The sum of the samples of `m` that carry every label of `want`.
double SumOf(const Index& idx, const std::string& m, const LabelMap& want) {
  auto it = idx.find(m);
  if (it == idx.end()) return 0;
  double sum = 0;
  for (const Sample& x : it->second) {
    bool ok = true;
    for (const auto& [k, v] : want) ok &= Label(x.labels, k) == v;
    if (ok) sum += x.value;
  }
  return sum;
}

size_t CountOf(const Index& idx, const std::string& m) {
  auto it = idx.find(m);
  return it == idx.end() ? size_t{0} : it->second.size();
}

std::string Port25Summary(const Index& idx) {
  std::string out;
  auto it = idx.find("mailhealth_smtp_probe_success");
  if (it == idx.end() || it->second.empty()) return "no SMTP target";
  for (const Sample& x : it->second)
    out += (out.empty() ? "" : ", ") + Label(x.labels, "target") + " (" +
           Label(x.labels, "address") + ")";
  return out + " greet" + (it->second.size() == 1 ? "s" : "");
}

std::string DnsSummary(const Index& idx) {
  std::string out;
  auto it = idx.find("mailhealth_dns_mx_info");
  std::map<std::string, std::set<std::string>> mx;
  if (it != idx.end())
    for (const Sample& x : it->second)
      mx[Label(x.labels, "domain")].insert(Label(x.labels, "preference") + " " +
                                           Label(x.labels, "exchange"));
  for (const auto& [d, set] : mx) {
    std::string hosts;
    for (const auto& h : set) hosts += (hosts.empty() ? "" : ", ") + h;
    out += (out.empty() ? "" : "; ") + d + " MX " + hosts;
  }
  if (out.empty()) out = "no MX answer to show";
  return out + " (" +
         FormatNumber(static_cast<double>(
             CountOf(idx, "mailhealth_dns_lookup_success"))) +
         " lookups answered)";
}

std::string QueueSummary(const Index& idx) {
  std::string reasons;
  if (auto it = idx.find("mailhealth_queue_deferred_messages_by_reason");
      it != idx.end())
    for (const Sample& x : it->second)
      if (x.value > 0)
        reasons += (reasons.empty() ? "" : ", ") + Label(x.labels, "reason") +
                   " " + FormatNumber(x.value);
  auto queue = [&](const char* q) {
    return FormatNumber(
        SumOf(idx, "mailhealth_queue_messages", {{"queue", q}}));
  };
  return "active " + queue("active") + ", deferred " + queue("deferred") +
         ", hold " + queue("hold") + ", oldest deferred " +
         FormatDurationSeconds(
             SumOf(idx, "mailhealth_queue_oldest_message_age_seconds",
                   {{"queue", "deferred"}})) +
         (reasons.empty() ? "" : " (deferred by reason: " + reasons + ")");
}

std::string LogSummary(const Index& idx, const EvalOptions& o) {
  std::string w = o.once ? "last " + FormatDuration(o.log_window)
                         : "since the exporter started";
  auto severity = [&](const char* s) {
    return SumOf(idx, "mailhealth_log_messages_total", {{"severity", s}});
  };
  return "fatal " + FormatNumber(severity("fatal") + severity("panic")) +
         ", error " + FormatNumber(severity("error")) + ", warning " +
         FormatNumber(severity("warning")) + "; deliveries " +
         FormatNumber(SumOf(idx, "mailhealth_log_deliveries_total", {})) +
         " (deferred " +
         FormatNumber(SumOf(idx, "mailhealth_log_deliveries_total",
                            {{"status", "deferred"}})) +
         ") over the " + w;
}

std::string ReputationSummary(const Index& idx) {
  auto it = idx.find("mailhealth_dnsbl_listed");
  std::set<std::string> addrs, zones;
  if (it != idx.end())
    for (const Sample& x : it->second) {
      addrs.insert(Label(x.labels, "address"));
      zones.insert(Label(x.labels, "zone"));
    }
  return FormatNumber(static_cast<double>(addrs.size())) + " address(es) on " +
         FormatNumber(static_cast<double>(zones.size())) +
         " blocklist(s): not listed";
}

std::string MailauthSummary(const Index& idx) {
  std::set<std::string> domains;
  for (const char* m : {"mailhealth_spf_record_valid",
                        "mailhealth_dmarc_policy", "mailhealth_dkim_key_valid"})
    if (auto it = idx.find(m); it != idx.end())
      for (const Sample& x : it->second)
        domains.insert(Label(x.labels, "domain"));
  std::string d;
  for (const auto& x : domains) d += (d.empty() ? "" : ", ") + x;
  return d.empty() ? "nothing to check" : d + ": as published";
}

// The numbers of an OK section.
std::string Summary(Section s, const Index& idx, const EvalOptions& o) {
  switch (s) {
    case Section::kPostfix:
      return "the master runs and the queue can be read";
    case Section::kPort25:
      return Port25Summary(idx);
    case Section::kProbe:
      return "";
    case Section::kDns:
      return DnsSummary(idx);
    case Section::kQueue:
      return QueueSummary(idx);
    case Section::kLog:
      return LogSummary(idx, o);
    case Section::kReputation:
      return ReputationSummary(idx);
    case Section::kMailauth:
      return MailauthSummary(idx);
    case Section::kExporter:
      return "every collector works";
  }
  return "";
}

// How many Postfix instances (postfix_instance values) the families speak
// of.
size_t PostfixInstances(const Index& idx) {
  std::set<std::string> names;
  for (const auto& [metric, samples] : idx)
    for (const Sample& s : samples)
      if (auto it = s.labels.find("postfix_instance"); it != s.labels.end())
        names.insert(it->second);
  return names.size();
}

}  // namespace

double SampleValue(const prometheus::MetricFamily& f,
                   const prometheus::ClientMetric& m) {
  switch (f.type) {
    case prometheus::MetricType::Counter:
      return m.counter.value;
    case prometheus::MetricType::Gauge:
      return m.gauge.value;
    case prometheus::MetricType::Untyped:
      return m.untyped.value;
    case prometheus::MetricType::Histogram:
      return static_cast<double>(m.histogram.sample_count);
    default:
      return 0;
  }
}

bool FullMatch(const std::string& regex, const std::string& s) {
  std::string re = regex;
  auto flags = std::regex::ECMAScript;
  if (re.rfind("(?i)", 0) == 0) {
    re = re.substr(4);
    flags |= std::regex::icase;
  }
  // Compiled once per thread (the table's few patterns, the alert names).
  thread_local std::map<std::string, std::optional<std::regex>> cache;
  auto it = cache.find(regex);
  if (it == cache.end()) {
    std::optional<std::regex> compiled;
    try {
      compiled.emplace(re, flags);
    } catch (const std::regex_error&) {
    }
    it = cache.emplace(regex, std::move(compiled)).first;
  }
  return it->second && std::regex_match(s, *it->second);
}

std::string SeriesKey(const std::string& metric, const LabelMap& labels) {
  std::string k = metric + "{";
  bool first = true;
  for (const auto& [n, v] : labels) {
    k += (first ? "" : ",") + n + "=\"" + v + "\"";
    first = false;
  }
  return k + "}";
}

void CounterHistory::Record(WallTime t, const std::string& key, double value) {
  std::lock_guard<std::mutex> l(mu_);
  auto& d = series_[key];
  d.emplace_back(t, value);
  // Keep one value at or before t - keep as the baseline.
  while (d.size() > 2 && d[1].first <= t - keep_) d.pop_front();
}

void CounterHistory::Observe(const Snapshot& s) {
  if (s.data_time.time_since_epoch().count() == 0 || s.data_time != s.finished)
    return;  // no fresh data in this run
  static const std::set<std::string> windowed = [] {
    std::set<std::string> m;
    for (const Rule& r : Rules())
      if (!r.window.empty()) m.insert(r.metric);
    return m;
  }();
  for (const auto& f : s.families) {
    if (!windowed.count(f.name)) continue;
    for (const auto& m : f.metric) {
      LabelMap l;
      for (const auto& x : m.label) l[x.name] = x.value;
      Record(s.data_time, SeriesKey(f.name, l), SampleValue(f, m));
    }
  }
}

double CounterHistory::Increase(const std::string& key, double current,
                                Millis window, WallTime now) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) return current;
  double base = 0;
  for (const auto& [t, v] : it->second) {
    if (t > now - window) break;
    base = v;
  }
  return current >= base ? current - base : current;
}

const Finding* Report::First() const {
  for (Verdict want : {Verdict::kFail, Verdict::kWarn})
    for (const auto& s : sections)
      for (const auto& f : s.findings)
        if (f.verdict == want) return &f;
  return nullptr;
}

int Report::ExitCode() const {
  switch (overall) {
    case Verdict::kFail:
      return 2;
    case Verdict::kWarn:
      return 1;
    default:
      return 0;
  }
}

namespace {

using Snaps = std::map<std::string, const Snapshot*>;

// One line per collector, for the report's table.
std::vector<CollectorRun> CollectorRuns(const Snaps& snaps) {
  std::vector<CollectorRun> runs;
  for (const auto& [name, s] : snaps) {
    CollectorRun run;
    run.name = name;
    run.ran = s->finished.time_since_epoch().count() != 0;
    run.success = s->success;
    run.error = s->error;
    run.detail = s->detail;
    run.duration_seconds = s->duration_seconds;
    run.finished = s->finished;
    runs.push_back(run);
  }
  return runs;
}

// Every row's firing samples, as findings; the rows judged by Prometheus
// only go to `not_judged`.
std::vector<Finding> FireAll(const Index& idx, const EvalOptions& options,
                             std::vector<std::string>* not_judged) {
  const size_t instances = PostfixInstances(idx);
  std::vector<Finding> all;
  std::map<std::string, std::vector<LabelMap>> fired;
  for (const Rule& r : Rules()) {
    if (r.reduce == Reduce::kPrometheusOnly) {
      not_judged->push_back(r.alert);
      continue;
    }
    for (Sample& s : Fire(r, idx, options)) {
      Finding f;
      f.rule = &r;
      f.verdict = r.verdict;
      f.labels = std::move(s.labels);
      f.title = r.title;
      // With more than one Postfix instance, a finding of one names it.
      if (auto it = f.labels.find("postfix_instance");
          it != f.labels.end() && instances > 1)
        f.title += " (instance " + it->second + ")";
      f.value = s.value;
      fired[r.alert].push_back(f.labels);
      all.push_back(std::move(f));
    }
  }
  // MxHostDown is not judged while its domain is unreachable.
  all.erase(std::remove_if(all.begin(), all.end(),
                           [&](const Finding& f) {
                             if (f.rule->unless_alert.empty()) return false;
                             for (const auto& l : fired[f.rule->unless_alert])
                               if (SharesLabels(f.labels, l)) return true;
                             return false;
                           }),
            all.end());
  return all;
}

// Inhibition: a consequence is shown as such, at most WARN.
void ApplyInhibitions(std::vector<Finding>* findings) {
  std::vector<Finding>& all = *findings;
  for (Finding& f : all) {
    for (const Inhibition& in : Inhibitions()) {
      if (!FullMatch(in.target_regex, f.rule->alert) ||
          !Matches(in.target_matchers, f.labels))
        continue;
      for (const Finding& src : all) {
        if (&src == &f || !FullMatch(in.source, src.rule->alert)) continue;
        if (!Matches(in.source_matchers, src.labels)) continue;
        bool equal = true;
        for (const auto& k : in.equal)
          equal &= Label(src.labels, k) == Label(f.labels, k);
        if (!equal) continue;
        f.explained_by = src.rule->alert;
        if (f.verdict == Verdict::kFail) f.verdict = Verdict::kWarn;
        break;
      }
      if (!f.explained_by.empty()) break;
    }
  }
}

// The evidence and first commands of every finding.
void ExpandFindings(const ExpandContext& ctx, std::vector<Finding>* all) {
  for (Finding& f : *all) {
    f.evidence = Expand(f.rule->evidence, *f.rule, f.labels, f.value, ctx);
    if (!f.explained_by.empty()) {
      const Rule* by = FindRule(f.explained_by);
      f.evidence +=
          " (follows from: " + (by ? by->title : f.explained_by) + ")";
    }
    for (const auto& c : f.rule->commands)
      f.commands.push_back(Expand(c, *f.rule, f.labels, f.value, ctx));
  }
}

// One section's report; none for the /probe hook before a probe reports.
std::optional<SectionReport> JudgeSection(Section sec,
                                          const std::vector<Finding>& all,
                                          const Index& idx, const Snaps& snaps,
                                          const EvalOptions& options) {
  SectionReport sr;
  sr.section = sec;
  for (const Finding& f : all)
    if (f.rule->section == sec) sr.findings.push_back(f);
  std::stable_sort(
      sr.findings.begin(), sr.findings.end(),
      [](const Finding& a, const Finding& b) { return a.verdict > b.verdict; });
  const std::string collector = SectionCollector(sec);
  auto snap = collector.empty() ? snaps.end() : snaps.find(collector);
  if (sec == Section::kProbe) {
    // The hook for the /probe modules: shown once they report (a probe
    // snapshot, or mailhealth_probe_* families handed to check).
    bool any = snap != snaps.end();
    for (const auto& [name, _] : idx) any |= name.rfind(kProbePrefix, 0) == 0;
    if (!any) return std::nullopt;
  }
  if (!collector.empty() && snap == snaps.end() && sec != Section::kProbe) {
    sr.verdict = Verdict::kSkip;
    sr.summary = "the " + collector + " collector is not enabled";
  } else if (snap != snaps.end() &&
             snap->second->finished.time_since_epoch().count() == 0) {
    sr.verdict = Verdict::kSkip;
    sr.summary = "the " + collector + " collector has not run yet";
  } else {
    for (const Finding& f : sr.findings)
      sr.verdict = std::max(sr.verdict, f.verdict);
    if (snap != snaps.end() && !snap->second->success &&
        sr.verdict < Verdict::kWarn) {
      sr.verdict = Verdict::kWarn;
      sr.summary = "no data: the " + collector +
                   " collector failed: " + snap->second->error;
    } else if (sr.findings.empty()) {
      sr.summary = Summary(sec, idx, options);
    }
  }
  return sr;
}

}  // namespace

Report Diagnose(const Families& families,
                const std::vector<std::shared_ptr<const Snapshot>>& snapshots,
                const EvalOptions& options) {
  const Index idx = BuildIndex(families);
  Snaps snaps;
  for (const auto& s : snapshots) snaps[s->collector] = s.get();
  const ExpandContext ctx{&idx, &snaps, &options};

  Report rep;
  rep.runs = CollectorRuns(snaps);
  std::vector<Finding> all = FireAll(idx, options, &rep.not_judged);
  ApplyInhibitions(&all);
  ExpandFindings(ctx, &all);
  for (int i = 0; i < kSectionCount; ++i) {
    std::optional<SectionReport> sr =
        JudgeSection(static_cast<Section>(i), all, idx, snaps, options);
    if (!sr) continue;
    if (sr->verdict != Verdict::kSkip)
      rep.overall = std::max(rep.overall, sr->verdict);
    rep.sections.push_back(std::move(*sr));
  }
  return rep;
}

}  // namespace mailhealth::diagnosis
