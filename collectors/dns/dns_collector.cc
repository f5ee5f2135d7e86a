#include "collectors/dns/dns_collector.h"

#include <algorithm>

#include "collectors/dns/dns_check.h"
#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_metrics.h"

namespace mailhealth::dns {
namespace {

// Time kept back from the scheduler's deadline to build the families.
Millis Margin(Millis timeout) {
  return std::clamp(timeout / 20, Millis(5), Millis(250));
}

class DnsCollector : public Collector {
 public:
  explicit DnsCollector(DnsConfig config) : config_(std::move(config)) {}

  CollectResult Collect(Clock::time_point deadline) override {
    CollectResult r;
    auto run = RunDnsChecks(config_, deadline - Margin(config_.timeout));
    if (!run.ok()) {
      r.status = run.status();
      return r;
    }
    r.families = BuildDnsFamilies(config_, *run);
    return r;
  }

 private:
  DnsConfig config_;
};

}  // namespace

CollectorInfo DnsCollectorInfo() {
  CollectorInfo info;
  info.name = "dns";
  info.description =
      "MX/A/AAAA resolution of the mail domains through external resolvers";
  info.default_enabled = false;
  info.default_interval = Millis(60000);
  info.default_timeout = Millis(5000);
  info.factory = [](const CollectorContext& ctx,
                    ConfigNode& section) -> std::unique_ptr<Collector> {
    DnsConfig config = ParseDnsConfig(section, ctx.settings);
    if (ctx.settings.enabled && config.domains.empty()) {
      section.Warning("domains",
                      "dns is enabled but lists no domains: it checks nothing");
    }
    return std::make_unique<DnsCollector>(std::move(config));
  };
  return info;
}

}  // namespace mailhealth::dns
