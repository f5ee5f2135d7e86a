// The daemon: flags -> config -> collectors -> scheduler -> HTTP, and the
// signal loop (SIGHUP reload, SIGTERM/SIGINT stop). Returns the exit code.
#pragma once

#include "exporter/collector_registry.h"

namespace mailhealth {

// `registry` holds the collectors the binary was built with (main() fills
// it: the daemon knows no collector).
int RunExporter(int argc, char** argv, const CollectorRegistry& registry);

}  // namespace mailhealth
