#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporter/config_node.h"

namespace mailhealth {
namespace {

constexpr Millis kMinInterval{1000};
constexpr Millis kMaxInterval{24LL * 3600 * 1000};

}  // namespace

Result<LoadedConfig> LoadConfigFromString(const CollectorRegistry& registry,
                                          const std::string& yaml,
                                          const std::string& file,
                                          const CollectorOverrides& overrides,
                                          const RunMode& mode) {
  ConfigErrors errors;
  Result<YAML::Node> parsed = ParseYamlDocument(yaml, file);
  if (!parsed.ok()) return parsed.status();
  const YAML::Node& root = *parsed;

  for (const auto& [name, on] : overrides) {
    if (registry.Find(name) == nullptr) {
      errors.Add("--" + std::string(on ? "" : "no-") + "collector." + name +
                 ": unknown collector \"" + name + "\"");
    }
  }

  LoadedConfig out;
  out.file = file;
  ConfigNode top(root, "", file, &errors);
  ConfigNode collectors = top.Child("collectors");
  for (const CollectorInfo& info : registry.all()) {
    ConfigNode section = collectors.Child(info.name);
    CollectorContext ctx;
    ctx.name = info.name;
    ctx.mode = mode;
    CollectorSettings& s = ctx.settings;
    s.enabled = section.Bool("enabled", info.default_enabled);
    if (auto it = overrides.find(info.name); it != overrides.end()) {
      s.enabled = it->second;
    }
    s.interval = section.Duration("interval", info.default_interval);
    s.timeout = section.Duration("timeout", info.default_timeout);
    s.max_series = section.Int("max_series", s.max_series, 1, 1000000);
    if (s.interval < kMinInterval || s.interval > kMaxInterval) {
      section.Error("interval", "must be between 1s and 24h, got " +
                                    FormatDuration(s.interval));
    }
    if (s.timeout <= Millis(0) || s.timeout >= s.interval) {
      section.Error(section.Has("timeout") ? "timeout" : "interval",
                    "timeout (" + FormatDuration(s.timeout) +
                        ") must be greater than 0 and less than interval (" +
                        FormatDuration(s.interval) + ")");
    }
    // Validate the section even when disabled: a typo in a disabled
    // section is still a typo.
    const size_t before = errors.list().size();
    std::unique_ptr<Collector> c = info.factory(ctx, section);
    section.Finish();
    if (s.enabled && c && errors.list().size() == before) {
      out.collectors.push_back({info.name, s, std::move(c)});
    }
  }
  collectors.Finish();
  ConfigNode probe = top.Child("probe");
  out.probe = std::make_shared<const ProbeConfig>(
      ParseProbeConfig(probe, registry.probers()));
  probe.Finish();
  top.Finish();

  if (!errors.empty()) return Status::Error(errors.Joined());
  out.warnings = errors.warnings();
  return out;
}

Result<LoadedConfig> LoadConfigFile(const CollectorRegistry& registry,
                                    const std::string& path, bool must_exist,
                                    const CollectorOverrides& overrides,
                                    const RunMode& mode) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    if (err == ENOENT && !must_exist) {
      return LoadConfigFromString(registry, "", "", overrides, mode);
    }
    return Status::Error(path +
                         ": cannot read config file: " + std::strerror(err));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigFromString(registry, ss.str(), path, overrides, mode);
}

}  // namespace mailhealth
