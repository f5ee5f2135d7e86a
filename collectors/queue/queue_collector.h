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
#include "exporter/collector_registry.h"

namespace mailhealth {

CollectorInfo QueueCollectorInfo();

struct QueueConfig {
  std::string postqueue = "/usr/sbin/postqueue";
  // Read each run for the local delivery endpoints (mailbox_transport,
  // virtual_transport, local_transport, mailbox_command); "" = do not.
  std::string postconf = "/usr/sbin/postconf";
  std::string format = "auto";  // auto | json | text
  // The default instance: "" or absolute (passed as -c DIR), and its
  // queue directory. Other instances' come from postconf.
  std::string config_directory;
  std::string queue_directory = "/var/spool/postfix";
  // `instances: auto` (true): the default instance plus every directory in
  // its multi_instance_directories, read every run. A list: exactly those
  // config directories (the default one, if listed, is "postfix").
  bool instances_auto = true;
  std::vector<std::string> instances;
  // Not a key: the postfix_instance this config is collected as (in the
  // log lines of its instance).
  std::string instance_name = "postfix";
  std::vector<std::string> domains;
  std::vector<std::string> local_services = {"127.0.0.1:10024"};
  std::string method = "auto";  // auto | postqueue | spool
  Millis detail_interval{300000};
  // "" = no helper: walk the spool directly (needs read access to it).
  std::string spool_stat = "/usr/lib/mailhealth/mailhealth-spool-stat";
  // The same helper behind systemd's socket activation
  // (deploy/systemd/mailhealth-spool-stat.socket), used when it exists;
  // "" = never.
  std::string spool_stat_socket = "/run/mailhealth-spool-stat.sock";
};

// Reads and validates the collector's keys (errors recorded on `section`);
// nullopt when there were errors. No I/O.
std::optional<QueueConfig> ReadQueueConfig(ConfigNode& section);

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

// Adds postfix_instance="NAME" (first) to every sample of `fams` and
// appends them to `out`, into the family of the same name when `out` has
// one. Pure.
void MergeInstanceFamilies(Families& out, Families fams,
                           const std::string& instance);

}  // namespace mailhealth
