// The verdict table and the alert rules agree: every alert of
// deploy/prometheus/*.rules.yml has a row whose condition fragments appear
// in the alert's expr (whitespace-normalised), whose metric, matchers,
// comparison, threshold and window are those fragments, and whose verdict
// is FAIL for a page and WARN for a ticket; every row has its alert.
#include "diagnosis/verdict_table.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "diagnosis/diagnosis.h"

namespace mailhealth::diagnosis {
namespace {

std::string Normalise(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string MatcherText(const Matcher& m) {
  const char* op = m.op == Matcher::kEq   ? "="
                   : m.op == Matcher::kNe ? "!="
                   : m.op == Matcher::kRe ? "=~"
                                          : "!~";
  return m.label + op + "\"" + m.value + "\"";
}

// What is wrong between `doc` (one rules file) and the table; `seen`
// collects the alerts found.
std::vector<std::string> Mismatches(const YAML::Node& doc,
                                    std::set<std::string>* seen) {
  std::vector<std::string> out;
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule["alert"]) continue;
      const std::string name = rule["alert"].as<std::string>();
      seen->insert(name);
      const Rule* row = FindRule(name);
      if (row == nullptr) {
        out.push_back(name + ": no row in the verdict table");
        continue;
      }
      const std::string expr = Normalise(rule["expr"].as<std::string>());
      size_t pos = 0;
      for (const auto& frag : row->condition) {
        const size_t at = expr.find(Normalise(frag), pos);
        if (at == std::string::npos) {
          out.push_back(name + ": condition \"" + frag +
                        "\" not in (or not in order in) its expr: " + expr);
          break;
        }
        pos = at + frag.size();
      }
      if (row->condition.empty()) {
        out.push_back(name + ": row without condition");
        continue;
      }
      // The structured fields are the fragments' own.
      const std::string first = Normalise(row->condition.front());
      if (first.find(row->metric) == std::string::npos)
        out.push_back(name + ": metric " + row->metric + " not in \"" + first +
                      "\"");
      std::string joined;
      for (const auto& f : row->condition) joined += Normalise(f) + " ";
      for (const Matcher& m : row->matchers)
        if (joined.find(MatcherText(m)) == std::string::npos)
          out.push_back(name + ": matcher " + MatcherText(m) +
                        " not in the condition");
      // The threshold: "OP THRESHOLD" at the end of the fragment that
      // compares (the last one, or the one before a ratio's minimum).
      const std::string cmp =
          std::string(" ") + CompareText(row->compare) + " " + row->threshold;
      bool found = false;
      if (row->reduce == Reduce::kAboveMetric) {  // "> on (...) METRIC"
        const std::string n = Normalise(row->condition.back());
        found = n.find(std::string(" ") + CompareText(row->compare) + " ") !=
                    std::string::npos &&
                n.size() > row->threshold.size() &&
                n.compare(n.size() - row->threshold.size(),
                          row->threshold.size(), row->threshold) == 0 &&
                row->threshold == row->other_metric;
      }
      for (const auto& f : row->condition) {
        const std::string n = Normalise(f);
        found |= n.size() >= cmp.size() &&
                 n.compare(n.size() - cmp.size(), cmp.size(), cmp) == 0;
      }
      if (!found)
        out.push_back(name + ": \"" + cmp + "\" does not end a fragment");
      double t;
      if (row->reduce != Reduce::kAboveMetric &&
          !ParseThreshold(row->threshold, &t))
        out.push_back(name + ": threshold \"" + row->threshold +
                      "\" is not a number");
      if (!row->window.empty() &&
          joined.find("[" + row->window + "]") == std::string::npos)
        out.push_back(name + ": window [" + row->window +
                      "] not in the condition");
      if (!row->min_total.empty() &&
          joined.find(">= " + row->min_total) == std::string::npos)
        out.push_back(name + ": minimum \">= " + row->min_total +
                      "\" not in the condition");
      const std::string severity =
          rule["labels"]["severity"]
              ? rule["labels"]["severity"].as<std::string>()
              : "";
      const Verdict want = severity == "page" ? Verdict::kFail : Verdict::kWarn;
      if (row->verdict != want)
        out.push_back(name + ": severity " + severity + " but verdict " +
                      VerdictName(row->verdict));
    }
  }
  return out;
}

std::vector<std::filesystem::path> AlertRuleFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(
           MAILHEALTH_SOURCE_DIR "/deploy/prometheus")) {
    const std::string n = e.path().filename().string();
    if (n.size() > 10 && n.compare(n.size() - 10, 10, ".rules.yml") == 0)
      files.push_back(e.path());
  }
  return files;
}

TEST(VerdictTable, EveryShippedAlertHasTheSameConditionInTheTable) {
  std::set<std::string> seen;
  std::vector<std::string> all;
  const auto files = AlertRuleFiles();
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    auto problems = Mismatches(YAML::LoadFile(f.string()), &seen);
    all.insert(all.end(), problems.begin(), problems.end());
  }
  for (const auto& p : all) ADD_FAILURE() << p;
  EXPECT_GE(seen.size(), 30u);
  for (const Rule& r : Rules())
    EXPECT_TRUE(seen.count(r.alert)) << r.alert << ": row without an alert";
}

TEST(VerdictTable, AMissingAlertOrAChangedThresholdIsCaught) {
  std::set<std::string> seen;
  auto doc = YAML::Load(R"(
groups:
  - name: g
    rules:
      - alert: MailhealthSomethingNew
        expr: mailhealth_new == 0
        labels: {severity: page}
      - alert: MailhealthQueueDeferredTooOld
        expr: mailhealth_queue_oldest_message_age_seconds{queue="deferred"} > 6 * 3600
        labels: {severity: ticket}
      - alert: MailhealthPostfixDown
        expr: mailhealth_postfix_up == 0
        labels: {severity: ticket}
)");
  auto problems = Mismatches(doc, &seen);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("MailhealthSomethingNew: no row"),
            std::string::npos);
  EXPECT_NE(problems[1].find("MailhealthQueueDeferredTooOld: condition"),
            std::string::npos);
  EXPECT_NE(problems[2].find("severity ticket but verdict FAIL"),
            std::string::npos);
}

TEST(VerdictTable, Thresholds) {
  double v = 0;
  EXPECT_TRUE(ParseThreshold("12 * 3600", &v));
  EXPECT_EQ(v, 43200);
  EXPECT_TRUE(ParseThreshold("0.2", &v));
  EXPECT_EQ(v, 0.2);
  EXPECT_FALSE(ParseThreshold("", &v));
  EXPECT_FALSE(ParseThreshold("12 +", &v));
  EXPECT_FALSE(ParseThreshold("mailhealth_x", &v));
}

TEST(VerdictTable, RowsAreInTroubleshootingOrder) {
  int last = 0;
  for (const Rule& r : Rules()) {
    EXPECT_GE(static_cast<int>(r.section), last) << r.alert;
    last = static_cast<int>(r.section);
    if (r.verdict == Verdict::kFail || r.verdict == Verdict::kWarn) {
      EXPECT_FALSE(r.commands.empty()) << r.alert << ": no first command";
    }
  }
}

}  // namespace
}  // namespace mailhealth::diagnosis

namespace mailhealth::diagnosis {
namespace {

// "label=\"v\"" / "label=~\"v\"" of an Alertmanager matcher list.
std::pair<std::string, std::vector<std::string>> SplitMatchers(
    const YAML::Node& list) {
  std::string alert;
  std::vector<std::string> rest;
  for (const auto& m : list) {
    std::string t = m.as<std::string>();
    const size_t op = t.find('=');
    const bool re = t.compare(op, 2, "=~") == 0;
    const std::string label = t.substr(0, op);
    std::string value = t.substr(op + (re ? 2 : 1));
    if (value.size() >= 2 && value.front() == '"')
      value = value.substr(1, value.size() - 2);
    if (label == "alertname") {
      alert = value;
    } else {
      rest.push_back(label + (re ? "=~" : "=") + value);
    }
  }
  return {alert, rest};
}

std::vector<std::string> Text(const std::vector<Matcher>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms)
    out.push_back(m.label + (m.op == Matcher::kRe ? "=~" : "=") + m.value);
  return out;
}

TEST(VerdictTable, InhibitionsAreAlertmanagersInhibitRules) {
  auto am = YAML::LoadFile(MAILHEALTH_SOURCE_DIR
                           "/deploy/alertmanager/alertmanager.yml");
  const auto& rules = am["inhibit_rules"];
  ASSERT_TRUE(rules.IsSequence());
  ASSERT_EQ(rules.size(), Inhibitions().size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const Inhibition& in = Inhibitions()[i];
    auto [src, src_rest] = SplitMatchers(rules[i]["source_matchers"]);
    auto [dst, dst_rest] = SplitMatchers(rules[i]["target_matchers"]);
    EXPECT_EQ(in.source, src) << "rule " << i;
    EXPECT_EQ(Text(in.source_matchers), src_rest) << "rule " << i;
    EXPECT_EQ(in.target_regex, dst) << "rule " << i;
    EXPECT_EQ(Text(in.target_matchers), dst_rest) << "rule " << i;
    std::vector<std::string> equal;
    for (const auto& e : rules[i]["equal"])
      if (e.as<std::string>() != "instance")
        equal.push_back(e.as<std::string>());
    EXPECT_EQ(in.equal, equal) << "rule " << i;
    // The patterns name alerts of the table.
    for (const std::string& pattern : {in.source, in.target_regex}) {
      bool any = false;
      for (const Rule& r : Rules()) any |= FullMatch(pattern, r.alert);
      EXPECT_TRUE(any) << pattern << " names no alert of the table";
    }
  }
}

}  // namespace
}  // namespace mailhealth::diagnosis
