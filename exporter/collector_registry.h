// CollectorRegistry: name -> factory and defaults.
//
// Built once in main() by RegisterBuiltinCollectors()
// (cmd/builtin_collectors.cc is the one place that lists the collectors: no
// static-init registration; nothing under exporter/ knows a collector).
// Read-only afterwards, so concurrent reads are safe.
#pragma once

#include <string>
#include <vector>

#include "exporter/collector.h"

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

 private:
  std::vector<CollectorInfo> infos_;
};

}  // namespace mailhealth
