// The reputation collector's metrics: names, HELP texts, and one pure
// function from one run's outcome to the families (no I/O). See
// docs/reputation.md.
#pragma once

#include "collectors/reputation/reputation_lookup.h"
#include "exporter/duration.h"
#include "exporter/metric_builder.h"

namespace mailhealth::reputation {

// Series one address costs at most, without return codes: per zone
// listed + every status; listings, PTR records, FCrDNS, matches expected.
size_t SeriesPerAddress(size_t zones);

// Every family of the collector, also the empty ones (so a run without
// addresses still shows the names). Every status value of every
// (zone, address) is exported, 1 for the current one.
Families BuildReputationFamilies(const ReputationRun& run, Millis interval);

}  // namespace mailhealth::reputation
