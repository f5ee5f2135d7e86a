#include "cmd/builtin_collectors.h"

#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_prober.h"
#include "collectors/log/log_collector.h"
#include "collectors/mailauth/mailauth_collector.h"
#include "collectors/queue/queue_collector.h"
#include "collectors/reputation/reputation_collector.h"
#include "collectors/smtp/smtp_collector.h"
#include "collectors/smtp/smtp_prober.h"
#include "exporter/collector_registry.h"

namespace mailhealth {

void RegisterBuiltinCollectors(CollectorRegistry& registry) {
  registry.Register(QueueCollectorInfo());
  registry.Register(LogCollectorInfo());
  registry.Register(dns::DnsCollectorInfo());
  registry.Register(smtp::SmtpCollectorInfo());
  registry.Register(reputation::ReputationCollectorInfo());
  registry.Register(mailauth::MailauthCollectorInfo());
  // The probers of /probe (the config's probe.modules).
  registry.RegisterProber(smtp::SmtpProberInfo());
  registry.RegisterProber(dns::DnsProberInfo());
}

}  // namespace mailhealth
