// One run over a list of SMTP targets: resolve (mx:DOMAIN expands to every
// address of every MX host, through collectors/resolve/mx_resolver.h),
// then probe every (target, address) concurrently (smtp_probe.h), all cut
// at the deadline. The one code path of the smtp collector and of the
// /probe smtp prober (smtp_prober.h).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/smtp/smtp_metrics.h"
#include "collectors/smtpprobe/smtp_protocol.h"
#include "exporter/metric_builder.h"
#include "exporter/status.h"

namespace mailhealth::smtp {

struct SmtpRunOptions {
  std::string helo;  // must be set (DefaultHeloName() for the default)
  bool starttls = true;
  std::vector<std::string> resolvers;
  std::string ca_file;
  // The first field of the debug line logged for each failed probe
  // (collector=smtp, or module=NAME for /probe).
  std::pair<std::string, std::string> log_source{"collector", "smtp"};
};

// Called for each address a target resolved to, before any packet is sent
// to any target of the run; a non-OK status refuses the whole run.
using SmtpAddressGate =
    std::function<Status(const SmtpTarget& target, const std::string& address,
                         const std::string& name)>;

struct SmtpRunOutcome {
  Status refused;  // non-OK: the gate refused an address, nothing was probed
  SmtpRun run;
  size_t dropped = 0;  // probes left out over kSmtpMaxProbes
};

// Blocks until every probe ended (by `deadline`, plus closing). Name
// resolution gets at most half of the time.
SmtpRunOutcome RunSmtpTargets(const std::vector<SmtpTarget>& targets,
                              const SmtpRunOptions& options,
                              Clock::time_point deadline,
                              const SmtpAddressGate& gate = nullptr);

// The machine's host name (gethostname, no DNS) when it is a valid EHLO
// name, else "localhost".
std::string DefaultHeloName();

}  // namespace mailhealth::smtp
