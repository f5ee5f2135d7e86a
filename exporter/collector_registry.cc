#include "exporter/collector_registry.h"

namespace mailhealth {

bool CollectorRegistry::Register(CollectorInfo info) {
  if (Find(info.name) != nullptr) return false;
  infos_.push_back(std::move(info));
  return true;
}

const CollectorInfo* CollectorRegistry::Find(const std::string& name) const {
  for (const auto& i : infos_) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

bool CollectorRegistry::RegisterProber(ProberInfo info) {
  for (const auto& p : probers_) {
    if (p.name == info.name) return false;
  }
  probers_.push_back(std::move(info));
  return true;
}

}  // namespace mailhealth
