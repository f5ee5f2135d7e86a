// The queue collector: Postfix queue sizes, ages and deferral reasons (postqueue).
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo QueueCollectorInfo();

}  // namespace mailhealth
