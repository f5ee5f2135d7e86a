// The reputation collector: are our sending addresses on DNS blocklists,
// and does their reverse DNS hold up (PTR, FCrDNS, the expected name)?
//
// Each run gathers the addresses (the configured literals, the addresses
// of the MX hosts of `from_mx` domains, Postfix's smtp_bind_address(6)
// with `from_postfix`), then queries every (zone, address) and the reverse
// DNS of every address in one batch through the collector's resolvers,
// answering from a cache where it can (answers are kept for their TTL, at
// least min_interval). See docs/reputation.md.
#pragma once

#include <memory>

#include "collectors/reputation/reputation_config.h"
#include "exporter/collector_registry.h"

namespace mailhealth::reputation {

CollectorInfo ReputationCollectorInfo();

// For tests and the benchmark: the collector without the config loader.
std::unique_ptr<Collector> MakeReputationCollector(ReputationConfig config);

}  // namespace mailhealth::reputation
