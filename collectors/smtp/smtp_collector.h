// The smtp collector: port 25/465/587 (and LMTP / content filter)
// connectivity: connect, banner, EHLO, STARTTLS, TLS certificate.
//
// Each run resolves the configured targets (mx:DOMAIN expands to every
// address of every MX host, through collectors/resolve/mx_resolver.h), then
// probes every (target, address) concurrently (smtp_probe.h), all cut at
// the run's deadline. See docs/smtp.md.
#pragma once

#include <string>
#include <vector>

#include "collectors/smtp/smtp_probe.h"
#include "collectors/smtp/smtp_protocol.h"
#include "exporter/collector_registry.h"

namespace mailhealth {

// Upper bounds that keep the series count (and the file descriptors of one
// run) bounded whatever the config and the DNS say.
inline constexpr size_t kSmtpMaxTargets = 256;
inline constexpr size_t kSmtpMaxAddressesPerTarget = 16;
inline constexpr size_t kSmtpMaxProbes = 512;

struct SmtpConfig {
  std::string helo;  // "" = the machine's host name (gethostname, no DNS)
  bool starttls = true;
  std::vector<std::string> resolvers;
  std::vector<SmtpTarget> targets;
  std::string ca_file;  // not a config key: tests point it at their own CA
};

CollectorInfo SmtpCollectorInfo();

// For tests and the benchmark: the collector without the config loader.
std::unique_ptr<Collector> MakeSmtpCollector(SmtpConfig config,
                                             Millis interval);

}  // namespace mailhealth
