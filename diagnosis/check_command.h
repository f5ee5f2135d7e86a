// `mailhealth_exporter check`: every enabled collector once, now (each
// bounded by its timeout), the diagnosis, the report; the exit status
// 0 OK, 1 WARN, 2 FAIL, 3 could not run (a Nagios/Icinga check).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "daemon/app.h"
#include "exporter/collector_registry.h"

namespace mailhealth::diagnosis {

struct CheckHooks {
  // The /probe endpoint's modules (#12) join here: given the deadline,
  // their families (mailhealth_probe_*), judged in Section::kProbe.
  std::function<Families(Clock::time_point deadline)> probe_modules;
};

// `args` without the program name and without "check". Prints the report
// on stdout, errors on stderr; returns the exit status.
int RunCheck(const std::vector<std::string>& args,
             const CollectorRegistry& registry, const CheckHooks& hooks = {});

// The options that make the daemon's "/" the diagnosis (and keep the log
// counters' history for its windows).
AppOptions DiagnosisAppOptions();

}  // namespace mailhealth::diagnosis
