#include "diagnosis/check_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "diagnosis/diagnosis.h"
#include "diagnosis/report.h"
#include "daemon/config.h"
#include "daemon/exposition.h"
#include "daemon/flags.h"
#include "exporter/logging.h"
#include "daemon/scheduler.h"
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

}  // namespace

int RunCheck(const std::vector<std::string>& args,
             const CollectorRegistry& registry, const CheckHooks& hooks) {
  std::string format = "text", color = "auto";
  Millis window{15 * 60 * 1000};
  std::vector<std::string> rest;
  bool log_level_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& name, std::string* out) {
      if (a == "--" + name) {
        if (i + 1 >= args.size()) return false;
        *out = args[++i];
        return true;
      }
      if (a.rfind("--" + name + "=", 0) == 0) {
        *out = a.substr(name.size() + 3);
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (value("check.format", &v)) {
      if (v != "text" && v != "json") {
        std::fprintf(stderr,
                     "mailhealth_exporter check: --check.format: text or "
                     "json, got \"%s\"\n",
                     v.c_str());
        return kCouldNotRun;
      }
      format = v;
    } else if (value("check.color", &v)) {
      if (v != "auto" && v != "always" && v != "never") {
        std::fprintf(stderr,
                     "mailhealth_exporter check: --check.color: auto, always "
                     "or never, got \"%s\"\n",
                     v.c_str());
        return kCouldNotRun;
      }
      color = v;
    } else if (value("check.log-window", &v)) {
      auto d = ParseDuration(v);
      if (!d || d->count() <= 0) {
        std::fprintf(stderr,
                     "mailhealth_exporter check: --check.log-window: a "
                     "positive duration (15m), got \"%s\"\n",
                     v.c_str());
        return kCouldNotRun;
      }
      window = *d;
    } else if (a.rfind("--check.", 0) == 0) {
      std::fprintf(stderr,
                   "mailhealth_exporter check: unknown flag %s (see check "
                   "--help)\n",
                   a.c_str());
      return kCouldNotRun;
    } else {
      if (a.rfind("--log.level", 0) == 0) log_level_given = true;
      rest.push_back(a);
    }
  }
  auto parsed = ParseFlags(rest);
  if (!parsed.ok()) {
    std::fprintf(stderr, "mailhealth_exporter check: %s\n",
                 parsed.status().message().c_str());
    return kCouldNotRun;
  }
  const Flags& flags = *parsed;
  // The report is the output; the collectors' own log lines only when
  // asked for.
  SetLogLevel(log_level_given ? *ParseLogLevel(flags.log_level)
                              : LogLevel::kError);
  SetLogFormat(*ParseLogFormat(flags.log_format));

  RunMode mode;
  mode.once = true;
  mode.lookback = window;
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
  Millis longest{0};
  for (const auto& c : config->collectors)
    longest = std::max(longest, c.settings.timeout);

  SnapshotStore store;
  ConfigState config_state;
  Exposition exposition(&store, &config_state, MAILHEALTH_VERSION,
                        MAILHEALTH_REVISION);
  Families probe;
  {
    Scheduler scheduler(&store);
    scheduler.Start(std::move(config->collectors));
    const auto deadline = Clock::now() + longest + Millis(500);
    std::thread probe_thread;
    if (hooks.probe_modules) {
      probe_thread = std::thread(
          [&] { probe = hooks.probe_modules(Clock::now() + longest); });
    }
    // The scheduler publishes every run, or its timeout, by its deadline.
    while (!AllCollectorsRan(store.GetAll()) && Clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(20));
    }
    if (probe_thread.joinable()) probe_thread.join();
    scheduler.Stop();
  }

  EvalOptions eval;
  eval.now = std::chrono::system_clock::now();
  eval.once = true;
  eval.log_window = window;
  Families families = exposition.CollectAt(eval.now);
  for (auto& f : probe) families.push_back(std::move(f));
  Report report = Diagnose(families, store.GetAll(), eval);

  const bool use_color =
      color == "always" || (color == "auto" && ::isatty(STDOUT_FILENO) == 1);
  const std::string out =
      format == "json" ? RenderJson(report) : RenderText(report, use_color);
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
