// The smtp collector's metrics: names, HELP texts, and one pure function
// from one run's probe results to the families (no I/O). See docs/smtp.md.
#pragma once

#include <string>
#include <vector>

#include "collectors/smtpprobe/smtp_probe.h"
#include "exporter/duration.h"
#include "exporter/metric_builder.h"

namespace mailhealth::smtp {

// One probed (or unresolvable) address of a target.
struct SmtpProbeRow {
  std::string target;   // the `target` label (the config string)
  std::string address;  // the `address` label
  SmtpProbeResult result;
};

// What one run found, in config order.
struct SmtpRun {
  std::vector<SmtpProbeRow> rows;
  // Per target (config order): its label and how many addresses were probed.
  std::vector<std::pair<std::string, size_t>> addresses_probed;
};

// Every family of the collector, also the empty ones (so a run without
// targets still shows the names).
Families BuildSmtpFamilies(const SmtpRun& run, Millis interval);

}  // namespace mailhealth::smtp
