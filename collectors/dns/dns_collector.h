// The dns collector: MX/A/AAAA resolution of the mail domains through external
// resolvers.
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth::dns {

CollectorInfo DnsCollectorInfo();

}  // namespace mailhealth::dns
