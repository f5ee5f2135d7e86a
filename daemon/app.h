// The daemon: flags -> config -> collectors -> scheduler -> HTTP, and the
// signal loop (SIGHUP reload, SIGTERM/SIGINT stop). Returns the exit code.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/collector_registry.h"
#include "daemon/snapshot_store.h"

namespace mailhealth {

// What the landing page is built from: the latest snapshots and the
// families /metrics would serve now (no I/O at request time).
struct LandingInput {
  std::string version;
  std::string telemetry_path;
  std::vector<std::shared_ptr<const Snapshot>> snapshots;
  Families families;
  std::chrono::system_clock::time_point now;
};

// What the program above the daemon (cmd/) plugs in; every field optional.
struct AppOptions {
  // Renders "/" (HTML). Unset: the framework's plain collector table.
  std::function<std::string(const LandingInput&)> landing_page;
  // Sees every snapshot as it is published (see SnapshotStore::SetObserver).
  SnapshotStore::Observer on_snapshot;
};

// `registry` holds the collectors the binary was built with (main() fills
// it: the daemon knows no collector).
int RunExporter(int argc, char** argv, const CollectorRegistry& registry,
                const AppOptions& options = {});

// True when every collector in `snapshots` has finished a run (failed or
// not): what /-/ready answers 200 for.
bool AllCollectorsRan(
    const std::vector<std::shared_ptr<const Snapshot>>& snapshots);

}  // namespace mailhealth
