// The log collector: follows the mail log and counts what it says.
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo LogCollectorInfo();

}  // namespace mailhealth
