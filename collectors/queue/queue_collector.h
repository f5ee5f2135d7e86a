// The queue collector: Postfix queue sizes, ages and deferral reasons
// (postqueue -j / -p), and whether Postfix runs at all.
//
// Each run spawns `postqueue` (through a ProcessRunner), parses its output
// as a stream into QueueStats, and builds the families; see docs/queue.md
// for the metrics, the config keys and the reason classes.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/queue/process_runner.h"
#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo QueueCollectorInfo();

struct QueueConfig {
  std::string postqueue = "/usr/sbin/postqueue";
  // Read each run for the local delivery endpoints (mailbox_transport,
  // virtual_transport, local_transport, mailbox_command); "" = do not.
  std::string postconf = "/usr/sbin/postconf";
  std::string format = "auto";   // auto | json | text
  std::string config_directory;  // "" or absolute: passed as -c DIR
  std::string queue_directory = "/var/spool/postfix";
  std::vector<std::string> domains;
  std::vector<std::string> local_services = {"127.0.0.1:10024"};
};

// Reads and validates the collector's keys (errors recorded on `section`);
// nullopt when there were errors. No I/O.
std::optional<QueueConfig> ReadQueueConfig(ConfigNode& section);

// For tests: a collector with an injected runner and wall clock (Unix
// seconds).
std::unique_ptr<Collector> MakeQueueCollector(
    QueueConfig config, Millis interval, std::unique_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock = nullptr);

}  // namespace mailhealth
