// ProbeService: GET /probe?module=NAME&target=TARGET[&param=...].
//
// Handle() is called on the HTTP I/O loop and returns at once: it answers
// 400 (unknown module, missing or malformed target, bad parameter), 403
// (the target is outside the module's allowed_targets: nothing is sent),
// 503 (max_concurrent probes in flight) or a cached answer (the same
// module, target and parameters within the module's min_interval; a
// request for a probe still running waits for its answer) without
// probing; else the probe runs on a worker thread of the service (at most
// max_concurrent, started when needed), never on the I/O loop, and the
// answer comes through the Responder. A resolved address outside the
// fence is also 403, before any packet to the target.
//
// The deadline of a probe: the smaller of the module's timeout and
// X-Prometheus-Scrape-Timeout-Seconds minus probe.timeout_offset.
//
// The answer: mailhealth_probe_success, mailhealth_probe_duration_seconds
// and the prober's own series, in the text format. Thread-safe; the
// config may be swapped (SIGHUP) while probes run.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http_server.h"
#include "daemon/probe_config.h"

namespace mailhealth {

inline constexpr char kProbeSuccess[] = "mailhealth_probe_success";
inline constexpr char kProbeDuration[] = "mailhealth_probe_duration_seconds";

// Splits a query string into decoded key/value pairs ('+' is a space,
// %XX a byte); false when an escape is malformed.
bool ParseQuery(const std::string& query,
                std::vector<std::pair<std::string, std::string>>* out);

class ProbeService {
 public:
  using NowFn = std::function<Clock::time_point()>;
  explicit ProbeService(std::shared_ptr<const ProbeConfig> config,
                        NowFn now = Clock::now);
  // Waits for the probes that run (each ends by its deadline).
  ~ProbeService();
  ProbeService(const ProbeService&) = delete;
  ProbeService& operator=(const ProbeService&) = delete;

  void SetConfig(std::shared_ptr<const ProbeConfig> config);
  void Handle(const HttpRequest& request, HttpServer::Responder respond);

  // For tests: probes started so far, and running now.
  uint64_t probes_started() const;
  int probes_running() const;

 private:
  struct Pending;  // a probe running, and who waits for its answer
  struct Cached {
    Clock::time_point at;
    HttpResponse response;
  };
  // Answers from the cache, joins the same probe running, refuses (503)
  // beyond max_concurrent, or submits the probe.
  void StartProbe(std::shared_ptr<const ProbeConfig> config,
                  const ProbeModuleConfig* module, std::string key,
                  ProbeCall call, Clock::time_point now,
                  HttpServer::Responder respond);
  void Submit(std::function<void()> job, int max_threads);
  void Work();
  void RunProbe(std::shared_ptr<const ProbeConfig> config,
                const ProbeModuleConfig* module, std::string key,
                std::shared_ptr<Pending> pending, ProbeCall call,
                Clock::time_point started);

  NowFn now_;
  mutable std::mutex mu_;
  std::shared_ptr<const ProbeConfig> config_;
  std::map<std::string, Cached> cache_;
  std::map<std::string, std::shared_ptr<Pending>> pending_;
  int running_ = 0;
  uint64_t started_ = 0;

  // Worker threads (grown up to max_concurrent) and their queue.
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  bool stopping_ = false;
};

}  // namespace mailhealth
