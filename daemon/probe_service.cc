#include "daemon/probe_service.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdlib>
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
  std::vector<std::pair<std::string, std::string>> query;
  if (!ParseQuery(request.query, &query)) {
    return respond(Text(400, "malformed query string"));
  }
  std::string module_name, target;
  bool have_module = false, have_target = false;
  ProbeParams params;
  for (auto& [k, v] : query) {
    if (k == "module" || k == "target") {
      bool& have = k == "module" ? have_module : have_target;
      if (have)
        return respond(Text(400, "parameter \"" + k + "\" given twice"));
      have = true;
      (k == "module" ? module_name : target) = v;
    } else {
      params.emplace(k, v);
    }
  }
  if (!have_module || module_name.empty()) {
    return respond(Text(400, "missing parameter \"module\""));
  }
  if (!have_target || target.empty()) {
    return respond(Text(400, "missing parameter \"target\""));
  }

  std::shared_ptr<const ProbeConfig> config;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config = config_;
  }
  auto it = config->modules.find(module_name);
  if (it == config->modules.end()) {
    return respond(Text(
        400, "unknown module \"" + module_name + "\"" +
                 (config->modules.empty() ? " (the config has no probe modules)"
                                          : "")));
  }
  const ProbeModuleConfig& m = it->second;
  Result<ProbeSubject> subject = m.module->ParseTarget(target);
  if (!subject.ok()) {
    return respond(Text(400, "invalid target \"" + target +
                                 "\": " + subject.status().message()));
  }
  if (Status st = m.module->CheckParams(params); !st.ok()) {
    return respond(Text(400, st.message()));
  }
  if (Status st = m.fence.AllowsSubject(*subject); !st.ok()) {
    LogDebug("probe refused", {{"module", module_name},
                               {"target", target},
                               {"reason", st.message()}});
    return respond(Text(403, "forbidden: " + st.message() + " of module \"" +
                                 module_name + "\""));
  }

  const Clock::time_point now = now_();
  Millis budget = m.timeout;
  if (auto scrape =
          ScrapeBudget(request.scrape_timeout, config->timeout_offset)) {
    budget = std::min(budget, *scrape);
  }
  ProbeCall call;
  call.target = target;
  call.params = params;
  call.deadline = now + budget;
  call.fence = &m.fence;

  std::string key = CacheKey(module_name, target, params);
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
    const ProbeModuleConfig* mp = &m;
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
