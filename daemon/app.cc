#include "daemon/app.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "exporter/collector_registry.h"
#include "daemon/config.h"
#include "daemon/exposition.h"
#include "daemon/flags.h"
#include "daemon/http_server.h"
#include "daemon/landing_page.h"
#include "exporter/logging.h"
#include "daemon/privileges.h"
#include "daemon/probe_service.h"
#include "daemon/scheduler.h"
#include "exporter/version.h"
#include "daemon/web_config.h"

namespace mailhealth {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<LoadedConfig> Load(const CollectorRegistry& registry, const Flags& f) {
  return LoadConfigFile(registry, f.config_file, f.config_file_given,
                        f.collector_overrides);
}

std::string CollectorNames(const LoadedConfig& c) {
  std::string s;
  for (const auto& sc : c.collectors) s += (s.empty() ? "" : ",") + sc.name;
  return s.empty() ? "none" : s;
}

std::string ModuleNames(const LoadedConfig& c) {
  std::string s;
  if (c.probe) {
    for (const auto& [name, m] : c.probe->modules) {
      s += (s.empty() ? "" : ",") + name;
    }
  }
  return s.empty() ? "none" : s;
}

std::string ListenDescription(const Flags& f) {
  if (f.systemd_socket) return "systemd socket";
  std::string s;
  for (const auto& a : f.listen_addresses) s += (s.empty() ? "" : ",") + a;
  return s;
}

// --config.check: prints the verdict (and the warnings), returns the exit
// code.
int CheckConfig(Result<LoadedConfig>& config, const Flags& flags) {
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  for (const auto& w : config->warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  std::printf("%s: config OK (collectors: %s; probe modules: %s)\n",
              config->file.empty() ? "built-in defaults" : config->file.c_str(),
              CollectorNames(*config).c_str(), ModuleNames(*config).c_str());
  if (!flags.web_config_file.empty()) {  // also loads TLS files
    auto web = LoadWebConfigFile(flags.web_config_file);
    Status st = !web.ok()  ? web.status()
                : web->tls ? BuildTlsContext(*web->tls).status()
                           : Status::Ok();
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    std::printf("%s: web config OK\n", flags.web_config_file.c_str());
  }
  return 0;
}

// Socket activation: the sockets systemd (or systemd-socket-activate)
// opened for us, checked against LISTEN_PID.
Status AddSystemdSockets(HttpOptions* http) {
  const int n = sd_listen_fds(1);
  if (n <= 0) {
    return Status::Error(n < 0 ? std::string("sd_listen_fds: ") +
                                     std::strerror(-n)
                               : std::string("--web.systemd-socket given but "
                                             "systemd passed no socket"));
  }
  for (int i = 0; i < n; ++i) {
    if (sd_is_socket(SD_LISTEN_FDS_START + i, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      return Status::Error("systemd socket " +
                           std::to_string(SD_LISTEN_FDS_START + i) +
                           " is not a listening stream socket");
    }
    http->listen_fds.push_back(SD_LISTEN_FDS_START + i);
  }
  return Status::Ok();
}

// /metrics (or --web.telemetry-path), the landing page, /-/healthy and
// /probe.
void AddHandlers(HttpServer& server, const Flags& flags, Exposition& exposition,
                 SnapshotStore& store, const AppOptions& options,
                 ProbeService& probes) {
  server.HandleAsync("/probe", [&probes](const HttpRequest& req,
                                         HttpServer::Responder respond) {
    probes.Handle(req, std::move(respond));
  });
  server.Handle(flags.telemetry_path, [&](const HttpRequest& req) {
    // Rendered (and gzipped) once per change of the snapshots, not per
    // scrape: see Exposition::RenderCached.
    const bool gzip = AcceptsGzip(req.accept_encoding);
    HttpResponse r;
    r.content_type = kTextContentType;
    r.body = *exposition.RenderCached(gzip, std::chrono::system_clock::now());
    r.headers.push_back({"Vary", "Accept-Encoding"});
    if (gzip) r.headers.push_back({"Content-Encoding", "gzip"});
    return r;
  });
  server.Handle("/", [&](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    if (options.landing_page) {
      LandingInput in;
      in.version = MAILHEALTH_VERSION;
      in.telemetry_path = flags.telemetry_path;
      in.snapshots = store.GetAll();
      in.now = std::chrono::system_clock::now();
      in.families = exposition.CollectAt(in.now);
      r.body = options.landing_page(in);
    } else {
      r.body =
          LandingPage(MAILHEALTH_VERSION, flags.telemetry_path, store.GetAll());
    }
    return r;
  });
  // The process answers: 200 always.
  server.Handle("/-/healthy", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain; charset=utf-8", {}, "Healthy\n"};
  });
  // 503 until every enabled collector has finished its first run (after a
  // reload, until the new ones have), then 200.
  server.Handle("/-/ready", [&](const HttpRequest&) {
    if (AllCollectorsRan(store.GetAll())) {
      return HttpResponse{200, "text/plain; charset=utf-8", {}, "Ready\n"};
    }
    return HttpResponse{503,
                        "text/plain; charset=utf-8",
                        {},
                        "Not ready: a collector has not run yet\n"};
  });
}

// Blocks the signals we handle before any thread starts, so that every
// thread inherits the mask and only sigwait() sees them.
sigset_t BlockHandledSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return sigs;
}

// Listens (addresses, or systemd's sockets), with the handlers and
// --web.config.file (TLS, basic auth, headers: security.md). Logs why not.
bool StartHttp(HttpServer& server, const Flags& flags, Exposition& exposition,
               SnapshotStore& store, const AppOptions& options,
               ProbeService& probes) {
  HttpOptions http;
  http.listen_addresses = flags.listen_addresses;
  http.telemetry_path = flags.telemetry_path;
  if (flags.systemd_socket) {
    if (Status sd = AddSystemdSockets(&http); !sd.ok()) {
      LogError("cannot start HTTP server", {{"err", sd.message()}});
      return false;
    }
  }
  AddHandlers(server, flags, exposition, store, options, probes);
  if (Status web = ApplyWebConfigFile(flags.web_config_file, &http, &server);
      !web.ok()) {
    LogError("cannot load web config", {{"err", web.message()}});
    return false;
  }
  if (Status st = server.Start(http); !st.ok()) {
    LogError("cannot start HTTP server", {{"err", st.message()}});
    return false;
  }
  return true;
}

// --runas.user: drops to that user after the ports are bound.
Status DropPrivilegesIfAsked(const Flags& flags) {
  if (flags.runas_user.empty()) return Status::Ok();
  if (Status drop = DropPrivileges(flags.runas_user); !drop.ok()) return drop;
  std::string groups;
  for (const auto& g : CurrentGroupNames())
    groups += (groups.empty() ? "" : ",") + g;
  LogInfo("dropped privileges",
          {{"user", flags.runas_user}, {"groups", groups}});
  return Status::Ok();
}

// Waits for signals: SIGHUP reloads the config (a failed reload keeps the
// running one), SIGTERM and SIGINT return.
void ServeUntilStopped(const sigset_t& sigs, const CollectorRegistry& registry,
                       const Flags& flags, SnapshotStore& store,
                       ConfigState& config_state,
                       std::unique_ptr<Scheduler>& scheduler,
                       ProbeService& probes) {
  std::vector<std::string> names;
  while (true) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto next = Load(registry, flags);
      if (!next.ok()) {
        config_state.last_reload_successful = false;
        LogError("config reload failed; keeping the running config",
                 {{"err", next.status().message()}});
        continue;
      }
      LogInfo("reloading config", {{"collectors", CollectorNames(*next)},
                                   {"probe_modules", ModuleNames(*next)}});
      probes.SetConfig(next->probe);
      scheduler->Stop();
      names.clear();
      for (const auto& c : next->collectors) names.push_back(c.name);
      store.Retain(names);
      scheduler = std::make_unique<Scheduler>(&store);
      scheduler->Start(std::move(next->collectors));
      config_state.last_reload_successful = true;
      config_state.last_reload_success_seconds = NowSeconds();
      continue;
    }
    LogInfo("shutting down",
            {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
}

}  // namespace

bool AllCollectorsRan(
    const std::vector<std::shared_ptr<const Snapshot>>& snapshots) {
  for (const auto& s : snapshots) {
    if (s->finished.time_since_epoch().count() == 0) return false;
  }
  return true;
}

int RunExporter(int argc, char** argv, const CollectorRegistry& registry,
                const AppOptions& options) {
  auto parsed = ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "mailhealth_exporter: %s\n",
                 parsed.status().message().c_str());
    return 2;
  }
  Flags flags = *parsed;
  if (flags.help) {
    std::cout << UsageText(registry);
    return 0;
  }
  if (flags.version) {
    std::cout << "mailhealth_exporter, version " << MAILHEALTH_VERSION
              << " (revision: " << MAILHEALTH_REVISION << ")\n";
    return 0;
  }
  SetLogLevel(*ParseLogLevel(flags.log_level));
  SetLogFormat(*ParseLogFormat(flags.log_format));

  auto config = Load(registry, flags);
  if (flags.config_check) return CheckConfig(config, flags);
  if (!config.ok()) {
    LogError("cannot load config", {{"err", config.status().message()}});
    return 1;
  }
  if (Status root =
          CheckRootPolicy(flags.allow_root, flags.runas_user, geteuid());
      !root.ok()) {
    LogError("not starting", {{"err", root.message()}});
    return 1;
  }

  const sigset_t sigs = BlockHandledSignals();

  SnapshotStore store;
  if (options.on_snapshot) store.SetObserver(options.on_snapshot);
  ConfigState config_state;
  config_state.last_reload_successful = true;
  config_state.last_reload_success_seconds = NowSeconds();
  Exposition exposition(&store, &config_state, MAILHEALTH_VERSION,
                        MAILHEALTH_REVISION);

  // Declared before the server, so destroyed after it (on an early
  // return); on the normal path _exit below ends the probes still running.
  auto probes = std::make_unique<ProbeService>(config->probe);
  HttpServer server;
  if (!StartHttp(server, flags, exposition, store, options, *probes)) return 1;
  if (Status drop = DropPrivilegesIfAsked(flags); !drop.ok()) {
    LogError("cannot drop privileges", {{"err", drop.message()}});
    return 1;
  }
  auto scheduler = std::make_unique<Scheduler>(&store);
  LogInfo(
      "starting mailhealth_exporter",
      {{"version", MAILHEALTH_VERSION},
       {"revision", MAILHEALTH_REVISION},
       {"config", config->file.empty() ? "built-in defaults" : config->file},
       {"collectors", CollectorNames(*config)},
       {"probe_modules", ModuleNames(*config)},
       {"address", ListenDescription(flags)}});
  for (const auto& w : config->warnings) LogWarn("config", {{"warning", w}});
  scheduler->Start(std::move(config->collectors));

  ServeUntilStopped(sigs, registry, flags, store, config_state, scheduler,
                    *probes);
  server.Stop();
  scheduler->Stop();
  LogInfo("stopped");
  std::fflush(nullptr);
  // A collector stuck in uninterruptible I/O may still hold a detached
  // thread; _exit avoids running static destructors under it.
  _exit(0);
}

}  // namespace mailhealth
