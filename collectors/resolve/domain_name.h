// Domain names as written in the config: resolve::ValidDomainName is the
// framework's ValidDomainName (exporter/strings.h), the one check every
// collector that resolves names and the /probe fence use.
#pragma once

#include "exporter/strings.h"

namespace mailhealth::resolve {

using ::mailhealth::ValidDomainName;

}  // namespace mailhealth::resolve
