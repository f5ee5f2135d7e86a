#include "daemon/probe_config.h"

#include <cctype>

namespace mailhealth {
namespace {

bool ValidModuleName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

void ParseModule(ConfigNode& modules, const std::string& name,
                 const std::vector<ProberInfo>& probers, ProbeConfig& out) {
  ConfigNode m = modules.Child(name);
  if (!ValidModuleName(name)) {
    modules.Error(name, "invalid module name \"" + name +
                            "\" (letters, digits, _ - . only)");
  }
  std::vector<std::string> names;
  for (const ProberInfo& p : probers) names.push_back(p.name);
  ProbeModuleConfig mc;
  mc.name = name;
  if (!m.Has("prober")) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    m.Error("", "missing key \"prober\" (one of " + list + ")");
    m.Finish();
    return;
  }
  mc.prober = m.Enum("prober", names.empty() ? "" : names.front(), names);
  const ProberInfo* info = nullptr;
  for (const ProberInfo& p : probers) {
    if (p.name == mc.prober) info = &p;
  }
  if (info == nullptr) {
    m.Finish();
    return;
  }
  mc.timeout = m.Duration("timeout", info->default_timeout);
  if (mc.timeout <= Millis(0) || mc.timeout > kMaxProbeTimeout) {
    m.Error("timeout", "must be greater than 0 and at most " +
                           FormatDuration(kMaxProbeTimeout) + ", got " +
                           FormatDuration(mc.timeout));
  }
  mc.min_interval = m.Duration("min_interval", Millis(0));
  if (mc.min_interval < Millis(0) || mc.min_interval > Millis(86400000)) {
    m.Error("min_interval", "must be between 0s and 1d");
  }
  const bool has_allowed = m.Has("allowed_targets");
  const std::vector<std::string> allowed = m.StringList("allowed_targets", {});
  for (const std::string& a : allowed) {
    if (auto e = ParseFenceEntry(a); !e.ok()) {
      m.Error("allowed_targets", e.status().message());
    }
  }
  if (auto f = ProbeFence::Parse(allowed); f.ok()) mc.fence = std::move(*f);
  if (allowed.empty()) {
    m.Warning(has_allowed ? "allowed_targets" : "",
              "module \"" + name +
                  "\" has no allowed_targets: every target is refused (403)");
  }
  ProbeModuleContext ctx{name, mc.timeout};
  std::unique_ptr<ProbeModule> module = info->factory(ctx, m);
  m.Finish();
  mc.module = std::move(module);
  if (mc.module) out.modules[name] = std::move(mc);
}

}  // namespace

ProbeConfig ParseProbeConfig(ConfigNode& section,
                             const std::vector<ProberInfo>& probers) {
  ProbeConfig c;
  c.max_concurrent = static_cast<int>(
      section.Int("max_concurrent", c.max_concurrent, 1, 10000));
  c.timeout_offset = section.Duration("timeout_offset", c.timeout_offset);
  if (c.timeout_offset < Millis(0) || c.timeout_offset > Millis(60000)) {
    section.Error("timeout_offset", "must be between 0s and 1m");
  }
  ConfigNode modules = section.Child("modules");
  if (modules.present()) {
    for (const std::string& name : modules.Keys()) {
      ParseModule(modules, name, probers, c);
    }
  }
  modules.Finish();
  return c;
}

}  // namespace mailhealth
