// CollectorRegistry: name -> factory and defaults, for collectors and for
// the probers of /probe.
//
// Built once in main() by RegisterBuiltinCollectors()
// (cmd/builtin_collectors.cc is the one place that lists the collectors: no
// static-init registration; nothing under exporter/ knows a collector).
// Read-only afterwards, so concurrent reads are safe.
#pragma once

#include <string>
#include <vector>

#include "exporter/collector.h"
#include "exporter/probe.h"

namespace mailhealth {

struct CollectorInfo {
  std::string name;         // YAML key, `collector` label value
  std::string description;  // one line, for --help and the landing page
  bool default_enabled = false;
  Millis default_interval{30000};
  Millis default_timeout{20000};
  CollectorFactory factory;
};

class CollectorRegistry {
 public:
  // Returns false (and changes nothing) for a duplicate name.
  bool Register(CollectorInfo info);
  const CollectorInfo* Find(const std::string& name) const;
  const std::vector<CollectorInfo>& all() const { return infos_; }

  // The probers /probe modules may name (`prober: smtp`). Returns false
  // (and changes nothing) for a duplicate name.
  bool RegisterProber(ProberInfo info);
  const std::vector<ProberInfo>& probers() const { return probers_; }

 private:
  std::vector<CollectorInfo> infos_;
  std::vector<ProberInfo> probers_;
};

}  // namespace mailhealth
