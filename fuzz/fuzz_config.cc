// The config loader with the real collector registry: YAML -> validated,
// built collectors (factories do no I/O).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cmd/builtin_collectors.h"
#include "exporter/collector_registry.h"
#include "daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mailhealth::CollectorRegistry* registry = [] {
    auto* r = new mailhealth::CollectorRegistry();
    mailhealth::RegisterBuiltinCollectors(*r);
    return r;
  }();
  std::string yaml(reinterpret_cast<const char*>(data), size);
  auto loaded =
      mailhealth::LoadConfigFromString(*registry, yaml, "fuzz.yml", {});
  (void)loaded;
  return 0;
}
