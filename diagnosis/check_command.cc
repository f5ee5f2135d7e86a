#include "diagnosis/check_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "daemon/config.h"
#include "daemon/exposition.h"
#include "daemon/flags.h"
#include "daemon/scheduler.h"
#include "diagnosis/diagnosis.h"
#include "diagnosis/report.h"
#include "exporter/logging.h"
#include "exporter/version.h"

namespace mailhealth::diagnosis {
namespace {

constexpr int kCouldNotRun = 3;

constexpr char kUsage[] =
    "usage: mailhealth_exporter check [<flags>]\n"
    "\n"
    "Runs every enabled collector once, now (each bounded by its timeout),\n"
    "and prints the diagnosis in troubleshooting order: Postfix running,\n"
    "port 25, MX and A records, the queue, the log, reputation. Exit status\n"
    "0 all OK, 1 a WARN, 2 a FAIL, 3 could not run.\n"
    "\n"
    "Flags (besides the daemon's --config.file, --collector.NAME, ...):\n"
    "  --check.format=FORMAT        text (default) or json.\n"
    "  --check.log-window=DURATION  How much of the log to judge, read from\n"
    "                               the end of the file or journal (default\n"
    "                               15m).\n"
    "  --check.color=WHEN           auto (default: on a terminal), always,\n"
    "                               never.\n";

// The check's own flags; the rest go to the daemon's ParseFlags.
struct CheckArgs {
  std::string format = "text";
  std::string color = "auto";
  Millis window{15 * 60 * 1000};
  std::vector<std::string> rest;
  bool log_level_given = false;
};

int BadValue(const char* flag, const char* want, const std::string& got) {
  std::fprintf(stderr, "mailhealth_exporter check: %s: %s, got \"%s\"\n", flag,
               want, got.c_str());
  return kCouldNotRun;
}

// ARGS into OUT, or the exit status to end with (-1: go on).
int ParseCheckArgs(const std::vector<std::string>& args, CheckArgs* out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name, std::string* v) {
      if (a == "--" + name) {
        if (i + 1 >= args.size()) return false;
        *v = args[++i];
        return true;
      }
      if (a.rfind("--" + name + "=", 0) == 0) {
        *v = a.substr(name.size() + 3);
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (value("check.format", &v)) {
      if (v != "text" && v != "json")
        return BadValue("--check.format", "text or json", v);
      out->format = v;
    } else if (value("check.color", &v)) {
      if (v != "auto" && v != "always" && v != "never")
        return BadValue("--check.color", "auto, always or never", v);
      out->color = v;
    } else if (value("check.log-window", &v)) {
      auto d = ParseDuration(v);
      if (!d || d->count() <= 0)
        return BadValue("--check.log-window", "a positive duration (15m)", v);
      out->window = *d;
    } else if (a.rfind("--check.", 0) == 0) {
      std::fprintf(stderr,
                   "mailhealth_exporter check: unknown flag %s (see check "
                   "--help)\n",
                   a.c_str());
      return kCouldNotRun;
    } else {
      if (a.rfind("--log.level", 0) == 0) out->log_level_given = true;
      out->rest.push_back(a);
    }
  }
  return -1;
}

// Every collector of CONFIG once, and the probe modules beside them, each
// bounded by the longest timeout; their snapshots land in STORE, the
// probes' families in PROBE.
void RunOnce(LoadedConfig* config, const CheckHooks& hooks,
             SnapshotStore* store, Families* probe) {
  Millis longest{0};
  for (const auto& c : config->collectors)
    longest = std::max(longest, c.settings.timeout);
  Scheduler scheduler(store);
  scheduler.Start(std::move(config->collectors));
  const auto deadline = Clock::now() + longest + Millis(500);
  std::thread probe_thread;
  if (hooks.probe_modules) {
    probe_thread = std::thread(
        [&] { *probe = hooks.probe_modules(Clock::now() + longest); });
  }
  // The scheduler publishes every run, or its timeout, by its deadline.
  while (!AllCollectorsRan(store->GetAll()) && Clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(20));
  }
  if (probe_thread.joinable()) probe_thread.join();
  scheduler.Stop();
}

}  // namespace

int RunCheck(const std::vector<std::string>& args,
             const CollectorRegistry& registry, const CheckHooks& hooks) {
  CheckArgs check;
  if (int status = ParseCheckArgs(args, &check); status >= 0) return status;
  auto parsed = ParseFlags(check.rest);
  if (!parsed.ok()) {
    std::fprintf(stderr, "mailhealth_exporter check: %s\n",
                 parsed.status().message().c_str());
    return kCouldNotRun;
  }
  const Flags& flags = *parsed;
  // The report is the output; the collectors' own log lines only when
  // asked for.
  SetLogLevel(check.log_level_given ? *ParseLogLevel(flags.log_level)
                                    : LogLevel::kError);
  SetLogFormat(*ParseLogFormat(flags.log_format));

  RunMode mode;
  mode.once = true;
  mode.lookback = check.window;
  auto config =
      LoadConfigFile(registry, flags.config_file, flags.config_file_given,
                     flags.collector_overrides, mode);
  if (!config.ok()) {
    std::fprintf(stderr, "mailhealth_exporter check: %s\n",
                 config.status().message().c_str());
    return kCouldNotRun;
  }
  if (config->collectors.empty() && !hooks.probe_modules) {
    std::fprintf(
        stderr, "mailhealth_exporter check: no collector is enabled in %s\n",
        config->file.empty() ? "the built-in defaults" : config->file.c_str());
    return kCouldNotRun;
  }

  SnapshotStore store;
  ConfigState config_state;
  Exposition exposition(&store, &config_state, MAILHEALTH_VERSION,
                        MAILHEALTH_REVISION);
  Families probe;
  RunOnce(&*config, hooks, &store, &probe);

  EvalOptions eval;
  eval.now = std::chrono::system_clock::now();
  eval.once = true;
  eval.log_window = check.window;
  Families families = exposition.CollectAt(eval.now);
  for (auto& f : probe) families.push_back(std::move(f));
  Report report = Diagnose(families, store.GetAll(), eval);

  const bool use_color =
      check.color == "always" ||
      (check.color == "auto" && ::isatty(STDOUT_FILENO) == 1);
  const std::string out = check.format == "json"
                              ? RenderJson(report)
                              : RenderText(report, use_color);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return report.ExitCode();
}

AppOptions DiagnosisAppOptions() {
  auto history = std::make_shared<CounterHistory>();
  AppOptions o;
  o.on_snapshot = [history](const Snapshot& s) { history->Observe(s); };
  o.landing_page = [history](const LandingInput& in) {
    EvalOptions eval;
    eval.now = in.now;
    eval.history = history.get();
    Report report = Diagnose(in.families, in.snapshots, eval);
    PageInfo page;
    page.version = in.version;
    page.telemetry_path = in.telemetry_path;
    page.now = in.now;
    return RenderHtml(report, page);
  };
  return o;
}

}  // namespace mailhealth::diagnosis
