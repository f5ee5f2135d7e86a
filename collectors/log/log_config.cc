#include "collectors/log/log_config.h"

#include <unistd.h>

#include <set>

#include "collectors/postconf/postfix_instances.h"

namespace mailhealth::log {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

bool ValidLabelValue(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
      return false;
  return true;
}

}  // namespace

LogConfig ParseLogConfig(ConfigNode& s, const CollectorSettings&) {
  LogConfig c;
  c.source = s.Enum("source", c.source, {"auto", "file", "journal"});
  c.path = s.String("path", c.path);
  c.from_beginning =
      s.Enum("start_at", "end", {"end", "beginning"}) == "beginning";
  if (c.path.empty() || c.path[0] != '/')
    s.Error("path", "must be an absolute path, got \"" + c.path + "\"");
  if (s.Has("journal_unit") && s.Has("journal_units"))
    s.Error("journal_units", "give journal_unit or journal_units, not both");
  if (s.Has("journal_unit")) {
    c.units = {s.String("journal_unit", "postfix.service")};
  } else {
    c.units = s.StringList("journal_units", c.units);
  }
  c.journal_directory = s.String("journal_directory", "");
  if (!c.journal_directory.empty() && c.journal_directory[0] != '/')
    s.Error("journal_directory",
            "must be an absolute path, got \"" + c.journal_directory + "\"");
  c.syslog_names = s.StringList("syslog_names", {});
  for (const std::string& n : c.syslog_names) {
    const size_t eq = n.find('=');
    const std::string name = n.substr(0, eq);
    if (name.empty() || name.find_first_of("/[] \t") != std::string::npos ||
        (eq != std::string::npos && !ValidLabelValue(n.substr(eq + 1)))) {
      s.Error("syslog_names", "\"" + n +
                                  "\" is not NAME or NAME=INSTANCE (a syslog "
                                  "name without '/', an instance name of "
                                  "[A-Za-z0-9_.-])");
    }
  }
  c.postconf = s.String("postconf", c.postconf);
  if (!c.postconf.empty() && c.postconf[0] != '/')
    s.Error("postconf",
            "must be empty or an absolute path, got \"" + c.postconf + "\"");
  postconf::ParseInstancesKey(s, &c.instances_auto, &c.instances);
  c.silence_threshold = s.Duration("silence_threshold", c.silence_threshold);
  if (c.silence_threshold.count() <= 0)
    s.Error("silence_threshold", "must be positive");
  c.probe_helos = s.StringList("probe_helo", {HostName()});
  std::vector<ConfigNode> rules = s.List("rules");
  if (static_cast<int64_t>(rules.size()) > kMaxRules)
    s.Error("rules", "at most " + std::to_string(kMaxRules) + " rules, got " +
                         std::to_string(rules.size()));
  std::set<std::string> names;
  for (auto& r : rules) {
    Rule rule;
    rule.name = r.String("name", "");
    rule.regex = r.String("regex", "");
    rule.process = r.String("process", "");
    if (!ValidLabelValue(rule.name)) {
      r.Error("name", "must be 1-64 characters of [A-Za-z0-9_.-], got \"" +
                          rule.name + "\"");
    } else if (!names.insert(rule.name).second) {
      r.Error("name", "duplicate rule name \"" + rule.name + "\"");
    }
    if (rule.regex.empty()) {
      r.Error("regex", "missing regular expression");
    } else if (std::string e = CheckRegex(rule.regex); !e.empty()) {
      r.Error("regex", "invalid regular expression: " + e);
    }
    r.Finish();
    c.rules.push_back(std::move(rule));
  }
  return c;
}

}  // namespace mailhealth::log
