#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cmd/builtin_collectors.h"
#include "diagnosis/check_command.h"
#include "daemon/app.h"

// `mailhealth_exporter [flags]` runs the daemon (its "/" is the
// diagnosis); `mailhealth_exporter check [flags]` runs every collector once
// and prints the diagnosis.
int main(int argc, char** argv) {
  mailhealth::CollectorRegistry registry;
  mailhealth::RegisterBuiltinCollectors(registry);
  if (argc > 1 && std::strcmp(argv[1], "check") == 0) {
    const int rc = mailhealth::diagnosis::RunCheck(
        std::vector<std::string>(argv + 2, argv + argc), registry);
    // A collector stuck past its timeout may still hold a detached thread
    // (Scheduler::Stop): no static destructors under it.
    std::fflush(nullptr);
    _exit(rc);
  }
  return mailhealth::RunExporter(argc, argv, registry,
                                 mailhealth::diagnosis::DiagnosisAppOptions());
}
