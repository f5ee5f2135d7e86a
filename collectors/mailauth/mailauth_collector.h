// The mailauth collector: are the domain's SPF, DKIM, DMARC and TLS-RPT
// records what receivers need? SPF is evaluated as receivers evaluate it
// (RFC 7208 check_host() through the configured resolvers, lookups and
// void lookups counted), DKIM keys are decoded and compared with the local
// signing key. MTA-STS and DANE are not checked yet. See docs/mailauth.md.
#pragma once

#include <memory>

#include "collectors/mailauth/mailauth_config.h"
#include "exporter/collector_registry.h"

namespace mailhealth::mailauth {

CollectorInfo MailauthCollectorInfo();

// For tests and the benchmark: the collector without the config loader.
std::unique_ptr<Collector> MakeMailauthCollector(MailauthConfig config);

}  // namespace mailhealth::mailauth
