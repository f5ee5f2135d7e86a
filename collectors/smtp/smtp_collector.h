// The smtp collector: port 25/465/587 (and LMTP / content filter)
// connectivity: connect, banner, EHLO, STARTTLS, TLS certificate.
//
// Each run resolves the configured targets (mx:DOMAIN expands to every
// address of every MX host, through collectors/resolve/mx_resolver.h), then
// probes every (target, address) concurrently (smtp_probe.h), all cut at
// the run's deadline. See docs/smtp.md.
#pragma once

#include <memory>

#include "collectors/smtp/smtp_config.h"
#include "exporter/collector_registry.h"

namespace mailhealth::smtp {

CollectorInfo SmtpCollectorInfo();

// For tests and the benchmark: the collector without the config loader.
std::unique_ptr<Collector> MakeSmtpCollector(SmtpConfig config,
                                             Millis interval);

}  // namespace mailhealth::smtp
