// The smtp collector: Port 25/465/587 connectivity: connect, banner, EHLO, STARTTLS.
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo SmtpCollectorInfo();

}  // namespace mailhealth
