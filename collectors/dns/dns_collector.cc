#include "collectors/dns/dns_collector.h"

namespace mailhealth {
namespace {

// Skeleton: the real collector is its own issue.
class DnsCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override { return {}; }
};

}  // namespace

CollectorInfo DnsCollectorInfo() {
  CollectorInfo info;
  info.name = "dns";
  info.description = "MX/A/AAAA resolution of the mail domains through external resolvers";
  info.default_enabled = false;
  info.default_interval = Millis(60000);
  info.default_timeout = Millis(5000);
  info.factory = [](const CollectorContext&, ConfigNode&) {
    return std::make_unique<DnsCollector>();
  };
  return info;
}

}  // namespace mailhealth
