#include "daemon/probe_service.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "daemon/exposition.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

// Cached answers kept at most; expired ones are dropped first.
constexpr size_t kMaxCacheEntries = 4096;
// A probe whose scrape timeout minus the offset leaves less than this gets
// this much anyway.
constexpr Millis kMinProbeTime{100};

HttpResponse Text(int status, const std::string& line) {
  HttpResponse r;
  r.status = status;
  r.body = line + "\n";
  return r;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

// The scrape's own timeout minus the offset, if the header gives one.
std::optional<Millis> ScrapeBudget(const std::string& header, Millis offset) {
  if (header.empty()) return std::nullopt;
  char* end = nullptr;
  const double s = std::strtod(header.c_str(), &end);
  if (end == header.c_str() || *end != '\0' || !(s > 0) || s > 86400) {
    return std::nullopt;
  }
  const Millis total(static_cast<int64_t>(s * 1000));
  const Millis budget = total - offset;
  return std::max(budget > Millis(0) ? budget : total, kMinProbeTime);
}

std::string CacheKey(const std::string& module, const std::string& target,
                     const ProbeParams& params) {
  std::string k = module + '\n' + target;
  for (const auto& [key, value] : params) k += '\n' + key + '=' + value;
  return k;
}

// What a /probe request asks for.
struct ProbeRequest {
  std::string module;
  std::string target;
  ProbeParams params;  // every parameter but module and target
};

// Reads the query into `out`; the 400 answer when it is malformed, names
// module or target twice, or lacks either.
std::optional<HttpResponse> ParseProbeRequest(const std::string& query_string,
                                              ProbeRequest* out) {
  std::vector<std::pair<std::string, std::string>> query;
  if (!ParseQuery(query_string, &query)) {
    return Text(400, "malformed query string");
  }
  bool have_module = false, have_target = false;
  for (auto& [k, v] : query) {
    if (k == "module" || k == "target") {
      bool& have = k == "module" ? have_module : have_target;
      if (have) return Text(400, "parameter \"" + k + "\" given twice");
      have = true;
      (k == "module" ? out->module : out->target) = v;
    } else {
      out->params.emplace(k, v);
    }
  }
  if (!have_module || out->module.empty()) {
    return Text(400, "missing parameter \"module\"");
  }
  if (!have_target || out->target.empty()) {
    return Text(400, "missing parameter \"target\"");
  }
  return std::nullopt;
}

// Finds the request's module in `config` (into *module) and checks the
// target's syntax, the parameters and the fence; the 400 or 403 answer
// when one fails.
std::optional<HttpResponse> CheckProbeRequest(
    const ProbeConfig& config, const ProbeRequest& req,
    const ProbeModuleConfig** module) {
  auto it = config.modules.find(req.module);
  if (it == config.modules.end()) {
    return Text(
        400, "unknown module \"" + req.module + "\"" +
                 (config.modules.empty() ? " (the config has no probe modules)"
                                         : ""));
  }
  const ProbeModuleConfig& m = it->second;
  Result<ProbeSubject> subject = m.module->ParseTarget(req.target);
  if (!subject.ok()) {
    return Text(400, "invalid target \"" + req.target +
                         "\": " + subject.status().message());
  }
  if (Status st = m.module->CheckParams(req.params); !st.ok()) {
    return Text(400, st.message());
  }
  if (Status st = m.fence.AllowsSubject(*subject); !st.ok()) {
    LogDebug("probe refused", {{"module", req.module},
                               {"target", req.target},
                               {"reason", st.message()}});
    return Text(403, "forbidden: " + st.message() + " of module \"" +
                         req.module + "\"");
  }
  *module = &m;
  return std::nullopt;
}

// The call for the module: its deadline is the smaller of the module's
// timeout and the scrape's own budget, from `now`.
ProbeCall MakeProbeCall(const ProbeRequest& req, const ProbeModuleConfig& m,
                        const ProbeConfig& config,
                        const std::string& scrape_timeout,
                        Clock::time_point now) {
  Millis budget = m.timeout;
  if (auto scrape = ScrapeBudget(scrape_timeout, config.timeout_offset)) {
    budget = std::min(budget, *scrape);
  }
  ProbeCall call;
  call.target = req.target;
  call.params = req.params;
  call.deadline = now + budget;
  call.fence = &m.fence;
  return call;
}

HttpResponse Render(const ProbeOutcome& outcome, double seconds) {
  Families families;
  auto success = Gauge(kProbeSuccess,
                       "1 when the probe succeeded (smtp: every address of "
                       "the target completed the dialog; dns: every "
                       "resolver answered as expected).");
  AddSample(success, {}, outcome.success ? 1 : 0);
  auto duration =
      Gauge(kProbeDuration, "Seconds the probe took, from the request.");
  AddSample(duration, {}, seconds);
  families.push_back(std::move(success));
  families.push_back(std::move(duration));
  for (const auto& f : outcome.families) families.push_back(f);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  HttpResponse r;
  r.content_type = kTextContentType;
  r.body = os.str();
  return r;
}

}  // namespace

bool ParseQuery(const std::string& query,
                std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string item = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    std::string k, v;
    if (!Decode(item.substr(0, eq), &k)) return false;
    if (eq != std::string::npos && !Decode(item.substr(eq + 1), &v)) {
      return false;
    }
    out->emplace_back(std::move(k), std::move(v));
  }
  return true;
}

struct ProbeService::Pending {
  std::vector<HttpServer::Responder> waiters;
};

ProbeService::ProbeService(std::shared_ptr<const ProbeConfig> config, NowFn now)
    : now_(std::move(now)), config_(std::move(config)) {
  if (!config_) config_ = std::make_shared<const ProbeConfig>();
}

ProbeService::~ProbeService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ProbeService::SetConfig(std::shared_ptr<const ProbeConfig> config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config ? std::move(config) : std::make_shared<const ProbeConfig>();
  cache_.clear();
}

uint64_t ProbeService::probes_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

int ProbeService::probes_running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void ProbeService::Handle(const HttpRequest& request,
                          HttpServer::Responder respond) {
  ProbeRequest req;
  if (auto error = ParseProbeRequest(request.query, &req)) {
    return respond(std::move(*error));
  }
  std::shared_ptr<const ProbeConfig> config;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config = config_;
  }
  const ProbeModuleConfig* m = nullptr;
  if (auto error = CheckProbeRequest(*config, req, &m)) {
    return respond(std::move(*error));
  }
  const Clock::time_point now = now_();
  ProbeCall call = MakeProbeCall(req, *m, *config, request.scrape_timeout, now);
  std::string key = CacheKey(req.module, req.target, req.params);
  StartProbe(std::move(config), m, std::move(key), std::move(call), now,
             std::move(respond));
}

void ProbeService::StartProbe(std::shared_ptr<const ProbeConfig> config,
                              const ProbeModuleConfig* mp, std::string key,
                              ProbeCall call, Clock::time_point now,
                              HttpServer::Responder respond) {
  const ProbeModuleConfig& m = *mp;
  const bool cacheable = m.min_interval > Millis(0);
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (cacheable) {
      auto c = cache_.find(key);
      if (c != cache_.end()) {
        if (now - c->second.at < m.min_interval) {
          HttpResponse r = c->second.response;
          lock.unlock();
          return respond(std::move(r));
        }
        cache_.erase(c);
      }
      auto p = pending_.find(key);
      if (p != pending_.end()) {
        p->second->waiters.push_back(std::move(respond));
        return;
      }
    }
    if (running_ >= config->max_concurrent) {
      lock.unlock();
      HttpResponse r =
          Text(503, "too many probes in flight (max_concurrent " +
                        std::to_string(config->max_concurrent) + ")");
      r.headers.push_back({"Retry-After", "1"});
      return respond(std::move(r));
    }
    ++running_;
    ++started_;
    auto pending = std::make_shared<Pending>();
    pending->waiters.push_back(std::move(respond));
    if (cacheable) pending_[key] = pending;
    Submit(
        [this, config, mp, key, pending, call = std::move(call),
         now]() mutable {
          RunProbe(config, mp, key, pending, std::move(call), now);
        },
        config->max_concurrent);
  }
}

void ProbeService::RunProbe(std::shared_ptr<const ProbeConfig> config,
                            const ProbeModuleConfig* module, std::string key,
                            std::shared_ptr<Pending> pending, ProbeCall call,
                            Clock::time_point started) {
  HttpResponse response;
  try {
    ProbeOutcome outcome = module->module->Run(call);
    const double seconds = Seconds(now_() - started);
    if (!outcome.refused.empty()) {
      LogDebug("probe refused", {{"module", module->name},
                                 {"target", call.target},
                                 {"reason", outcome.refused}});
      response = Text(403, "forbidden: " + outcome.refused + " of module \"" +
                               module->name + "\"");
    } else {
      response = Render(outcome, seconds);
    }
  } catch (...) {
    LogError("probe failed",
             {{"module", module->name}, {"target", call.target}});
    response = Text(500, "probe failed");
  }
  std::vector<HttpServer::Responder> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    waiters = std::move(pending->waiters);
    auto p = pending_.find(key);
    if (p != pending_.end() && p->second == pending) pending_.erase(p);
    if (module->min_interval > Millis(0) && response.status == 200 &&
        config == config_) {
      if (cache_.size() >= kMaxCacheEntries) {
        const Clock::time_point now = now_();
        for (auto c = cache_.begin(); c != cache_.end();) {
          c = now - c->second.at >= module->min_interval ? cache_.erase(c)
                                                         : std::next(c);
        }
        if (cache_.size() >= kMaxCacheEntries) cache_.erase(cache_.begin());
      }
      cache_[key] = Cached{started, response};
    }
  }
  for (auto& w : waiters) w(response);
}

void ProbeService::Submit(std::function<void()> job, int max_threads) {
  // Called with mu_ held.
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && static_cast<int>(threads_.size()) < max_threads) {
    threads_.emplace_back([this] { Work(); });
  } else {
    cv_.notify_one();
  }
}

void ProbeService::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping, nothing left
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace mailhealth
