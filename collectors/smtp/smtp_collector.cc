#include "collectors/smtp/smtp_collector.h"

namespace mailhealth {
namespace {

// Skeleton: the real collector is its own issue.
class SmtpCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override { return {}; }
};

}  // namespace

CollectorInfo SmtpCollectorInfo() {
  CollectorInfo info;
  info.name = "smtp";
  info.description = "Port 25/465/587 connectivity: connect, banner, EHLO, STARTTLS";
  info.default_enabled = false;
  info.default_interval = Millis(60000);
  info.default_timeout = Millis(10000);
  info.factory = [](const CollectorContext&, ConfigNode&) {
    return std::make_unique<SmtpCollector>();
  };
  return info;
}

}  // namespace mailhealth
