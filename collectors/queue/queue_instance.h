// Internal to the queue collector: one Postfix instance's collector
// (queue_collector.cc), which the multi-instance QueueCollector
// (queue_instances.cc) runs once per instance.
#pragma once

#include <ctime>
#include <functional>
#include <memory>

#include "collectors/queue/process_runner.h"
#include "collectors/queue/queue_collector.h"

namespace mailhealth {

// `config`'s config_directory and queue_directory name the instance.
std::unique_ptr<Collector> MakeInstanceCollector(
    QueueConfig config, Millis interval, std::shared_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock);

}  // namespace mailhealth
