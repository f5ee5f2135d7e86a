// The /probe interface: what a prober (smtp, dns) implements so that the
// probe service (probe_service.h) can run it for one target on request.
//
// A module is one entry of the config's `probe.modules`: a prober and its
// settings. The framework reads the keys every module has (`prober`,
// `timeout`, `min_interval`, `allowed_targets`); the prober's factory reads
// the rest from the same section, as a collector factory does. Like
// collectors, probers are registered in cmd/builtin_collectors.cc; nothing
// under exporter/ knows one.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "exporter/collector.h"
#include "exporter/config_node.h"
#include "exporter/probe_fence.h"
#include "exporter/status.h"

namespace mailhealth {

// URL parameters of a /probe request besides `module` and `target`
// (`expect_mx=...`); a key may repeat.
using ProbeParams = std::multimap<std::string, std::string>;

struct ProbeCall {
  std::string target;
  ProbeParams params;
  Clock::time_point deadline;  // the probe must have returned by then
  // The module's fence, for the addresses a name resolves to: a prober
  // checks every address before it sends a packet to it.
  const ProbeFence* fence = nullptr;
};

struct ProbeOutcome {
  // Not empty: an address the target resolved to is outside the fence;
  // nothing was sent to the target and the answer is 403 with this line.
  std::string refused;
  bool success = false;
  // The prober's own series, with the collector's names and labels.
  Families families;
};

// One configured module. Built once per config load; Run() is called from
// several threads at once and must be thread-safe (it keeps no state).
class ProbeModule {
 public:
  virtual ~ProbeModule() = default;
  // Syntax of the target only, no I/O. The error (400) says what is wrong.
  virtual Result<ProbeSubject> ParseTarget(const std::string& target) const = 0;
  // The extra URL parameters; an error (400) names the bad one.
  virtual Status CheckParams(const ProbeParams& params) const {
    if (params.empty()) return Status::Ok();
    return Status::Error("unknown parameter \"" + params.begin()->first + "\"");
  }
  // Runs one probe of a target that passed ParseTarget, CheckParams and
  // the fence. Returns by call.deadline; never throws.
  virtual ProbeOutcome Run(const ProbeCall& call) const = 0;
};

// What a prober factory receives besides its YAML section.
struct ProbeModuleContext {
  std::string name;  // the module's name
  Millis timeout{10000};
};
using ProberFactory = std::function<std::unique_ptr<ProbeModule>(
    const ProbeModuleContext& ctx, ConfigNode& section)>;

struct ProberInfo {
  std::string name;  // the `prober:` value
  std::string description;
  Millis default_timeout{10000};
  ProberFactory factory;
};

}  // namespace mailhealth
