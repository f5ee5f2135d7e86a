#include "collectors/postconf/postfix_instances.h"

#include <algorithm>
#include <cctype>

#include "collectors/postconf/postconf_reader.h"

namespace mailhealth::postconf {
namespace {

constexpr const char* kDefaultName = "postfix";

std::string StripSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string Basename(const std::string& dir) {
  const size_t slash = dir.rfind('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

bool IsYes(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return v == "yes" || v == "true";
}

// One instance: postconf [-c dir] -x -h of its parameters.
PostfixInstance ReadInstance(const std::string& postconf,
                             const std::string& dir, bool is_default,
                             Clock::time_point deadline,
                             std::string* directories = nullptr) {
  PostfixInstance inst;
  inst.config_directory = dir;
  std::vector<std::string> names = {"queue_directory", "syslog_name",
                                    "multi_instance_name",
                                    "multi_instance_enable"};
  if (directories != nullptr) names.push_back("multi_instance_directories");
  auto values = ReadPostconf(postconf, names, deadline, {dir, true});
  if (!values.ok()) {
    inst.name = is_default ? kDefaultName : Basename(dir);
    inst.error = values.status().message();
    return inst;
  }
  const auto& v = *values;
  const std::string& mi_name = v.at("multi_instance_name");
  inst.name = is_default        ? kDefaultName
              : mi_name.empty() ? Basename(dir)
                                : mi_name;
  inst.queue_directory = v.at("queue_directory");
  inst.syslog_name = v.at("syslog_name");
  inst.enabled = is_default || IsYes(v.at("multi_instance_enable"));
  if (directories != nullptr) *directories = v.at("multi_instance_directories");
  return inst;
}

// The default instance's config directory as a path to compare listed
// directories with: default_config_dir, else what postconf without -c
// reports (the compiled-in /etc/postfix on Debian).
std::string DefaultDirectory(const std::string& postconf,
                             const std::string& default_config_dir,
                             Clock::time_point deadline) {
  if (!default_config_dir.empty()) return StripSlashes(default_config_dir);
  auto v = ReadPostconf(postconf, {"config_directory"}, deadline);
  if (!v.ok()) return "/etc/postfix";
  return StripSlashes(v->at("config_directory"));
}

}  // namespace

std::vector<std::string> SplitDirectoryList(const std::string& value) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : value + " ") {
    if (c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(StripSlashes(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

Result<std::vector<PostfixInstance>> DiscoverInstances(
    const std::string& postconf, const std::string& default_config_dir,
    const std::vector<std::string>& config_directories,
    Clock::time_point deadline) {
  if (postconf.empty() || postconf.front() != '/') {
    return Status::Error("postconf must be an absolute path");
  }
  std::vector<PostfixInstance> out;
  if (config_directories.empty()) {
    std::string directories;
    out.push_back(ReadInstance(postconf, default_config_dir, true, deadline,
                               &directories));
    for (const std::string& dir : SplitDirectoryList(directories)) {
      out.push_back(ReadInstance(postconf, dir, false, deadline));
    }
    return out;
  }
  const std::string default_dir =
      DefaultDirectory(postconf, default_config_dir, deadline);
  for (const std::string& listed : config_directories) {
    const std::string dir = StripSlashes(listed);
    const bool is_default = dir == default_dir;
    out.push_back(ReadInstance(postconf, is_default ? default_config_dir : dir,
                               is_default, deadline));
  }
  return out;
}

// `instances: auto` or a list of absolute config directories.
void ParseInstancesKey(ConfigNode& s, bool* all,
                       std::vector<std::string>* dirs) {
  if (!s.IsSequence("instances")) {
    std::string v = s.String("instances", "auto");
    if (v != "auto") {
      s.Error("instances",
              "must be auto or a list of absolute config directories, got \"" +
                  v + "\"");
    }
    return;
  }
  *all = false;
  *dirs = s.StringList("instances", {});
  if (dirs->empty()) {
    s.Error("instances", "must be auto or a non-empty list");
  }
  std::vector<std::string> seen;
  for (std::string d : *dirs) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    if (d.empty() || d[0] != '/') {
      s.Error("instances", "\"" + d + "\" is not an absolute path");
    } else if (std::find(seen.begin(), seen.end(), d) != seen.end()) {
      s.Error("instances", "duplicate config directory \"" + d + "\"");
    }
    seen.push_back(d);
  }
}

}  // namespace mailhealth::postconf
