// The daemon: flags -> config -> collectors -> scheduler -> HTTP, and the
// signal loop (SIGHUP reload, SIGTERM/SIGINT stop). Returns the exit code.
#pragma once

namespace mailhealth {

int RunExporter(int argc, char** argv);

}  // namespace mailhealth
