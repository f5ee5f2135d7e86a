// The queue collector: Postfix queue sizes, ages and deferral reasons, and
// whether Postfix runs at all.
//
// Two sources (docs/queue.md): with method postqueue each run spawns
// `postqueue -j` (or -p) through a ProcessRunner and parses its output as a
// stream into QueueStats. With method spool each run walks the queue
// directories (the helper mailhealth-spool-stat through the same runner, or
// directly when the exporter may read the spool) for the counts, bytes and
// oldest ages, and `postqueue -j` runs on its own detail_interval, on a
// worker thread, at most one at a time, for the reasons, the domains and
// the age histogram. method auto (the default) picks spool when a walk
// works and postqueue otherwise, and logs its choice once.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/postconf/postfix_instances.h"
#include "collectors/queue/process_runner.h"
#include "collectors/queue/queue_config.h"
#include "collectors/queue/queue_metrics.h"
#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo QueueCollectorInfo();


// The Postfix instances to collect, asked every run (the deadline bounds
// it).
using InstanceDiscovery =
    std::function<Result<std::vector<postconf::PostfixInstance>>(
        Clock::time_point deadline)>;

// postconf::DiscoverInstances with the config's postconf, config_directory
// and instances; null when postconf is "" (then only the default instance
// is collected).
InstanceDiscovery PostconfDiscovery(const QueueConfig& config);

// For tests: a collector with an injected runner, wall clock (Unix
// seconds) and discovery (null: the default instance only, from the
// config's config_directory and queue_directory).
std::unique_ptr<Collector> MakeQueueCollector(
    QueueConfig config, Millis interval, std::unique_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock = nullptr,
    InstanceDiscovery discover = nullptr);

}  // namespace mailhealth
