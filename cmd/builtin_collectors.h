// The collectors this binary is built with: the one list (no static-init
// registration). Adding a collector adds one line here.
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth {

// Registers queue, log, dns and smtp.
void RegisterBuiltinCollectors(CollectorRegistry& registry);

}  // namespace mailhealth
