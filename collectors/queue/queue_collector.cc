#include "collectors/queue/queue_collector.h"

namespace mailhealth {
namespace {

// Skeleton: the real collector is its own issue.
class QueueCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override { return {}; }
};

}  // namespace

CollectorInfo QueueCollectorInfo() {
  CollectorInfo info;
  info.name = "queue";
  info.description = "Postfix queue sizes, ages and deferral reasons (postqueue)";
  info.default_enabled = true;
  info.default_interval = Millis(30000);
  info.default_timeout = Millis(20000);
  info.factory = [](const CollectorContext&, ConfigNode&) {
    return std::make_unique<QueueCollector>();
  };
  return info;
}

}  // namespace mailhealth
