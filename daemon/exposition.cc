#include "daemon/exposition.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>

#include "daemon/http_server.h"  // Gzip
#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

// Data older than 3 intervals is dropped: stale must not look fresh.
bool Fresh(const Snapshot& s, std::chrono::system_clock::time_point now) {
  return s.data_time.time_since_epoch().count() != 0 &&
         now - s.data_time <= 3 * s.interval;
}

double ToSeconds(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return 0;
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::vector<prometheus::MetricFamily> Exposition::Collect() const {
  return CollectAt(std::chrono::system_clock::now());
}

std::vector<prometheus::MetricFamily> Exposition::CollectAt(
    std::chrono::system_clock::time_point now) const {
  std::vector<prometheus::MetricFamily> out;
  try {
    auto build = Gauge("mailhealth_build_info",
                       "A metric with a constant '1' value labeled by the "
                       "version and revision of mailhealth_exporter.");
    AddSample(build, {{"version", version_}, {"revision", revision_}}, 1);
    out.push_back(std::move(build));

    auto success = Gauge("mailhealth_scrape_collector_success",
                         "1 if the collector's last background run succeeded "
                         "and its data is fresh, 0 otherwise.");
    auto duration = Gauge("mailhealth_scrape_collector_duration_seconds",
                          "Duration of the collector's last background run.");
    auto last_ok = Gauge(
        "mailhealth_collector_last_success_timestamp_seconds",
        "Unix time of the collector's last successful run (0 if none yet).");

    auto snaps = store_->GetAll();
    std::sort(snaps.begin(), snaps.end(), [](const auto& a, const auto& b) {
      return a->collector < b->collector;
    });
    auto series = Gauge("mailhealth_collector_series",
                        "Series the collector produced in its last run "
                        "(before the max_series cap).");
    auto limit = Gauge("mailhealth_collector_series_limit_reached",
                       "1 if the collector produced more series than its "
                       "max_series and the rest were dropped.");
    std::vector<prometheus::MetricFamily> data;
    for (const auto& s : snaps) {
      const Labels l = {{"collector", s->collector}};
      const bool fresh = Fresh(*s, now);
      AddSample(success, l, s->success && fresh ? 1 : 0);
      AddSample(duration, l, s->duration_seconds);
      AddSample(last_ok, l, ToSeconds(s->last_success));
      AddSample(series, l, static_cast<double>(s->series));
      AddSample(limit, l, s->series_limit_reached ? 1 : 0);
      if (fresh) {
        data.insert(data.end(), s->families.begin(), s->families.end());
      }
    }
    out.push_back(std::move(success));
    out.push_back(std::move(duration));
    out.push_back(std::move(last_ok));
    out.push_back(std::move(series));
    out.push_back(std::move(limit));

    auto reload_ok = Gauge("mailhealth_config_last_reload_successful",
                           "1 if the last configuration (re)load succeeded.");
    AddSample(reload_ok, {}, config_->last_reload_successful.load() ? 1 : 0);
    out.push_back(std::move(reload_ok));
    auto reload_ts = Gauge(
        "mailhealth_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful configuration (re)load.");
    AddSample(reload_ts, {}, config_->last_reload_success_seconds.load());
    out.push_back(std::move(reload_ts));

    for (auto& f : data) out.push_back(std::move(f));
  } catch (...) {
    // Never let an exception reach the HTTP layer; serve what we have.
  }
  return out;
}

std::string Exposition::Render() const {
  std::ostringstream os;
  try {
    prometheus::TextSerializer().Serialize(os, Collect());
  } catch (...) {
  }
  return os.str();
}

Exposition::RenderKey Exposition::KeyAt(
    std::chrono::system_clock::time_point now) const {
  RenderKey k;
  k.snapshots = store_->GetAll();
  std::sort(k.snapshots.begin(), k.snapshots.end(),
            [](const auto& a, const auto& b) {
              return a->collector < b->collector;
            });
  for (const auto& s : k.snapshots) k.fresh.push_back(Fresh(*s, now));
  k.reload_ok = config_->last_reload_successful.load();
  k.reload_seconds = config_->last_reload_success_seconds.load();
  return k;
}

std::shared_ptr<const std::string> Exposition::RenderCached(
    bool gzip, std::chrono::system_clock::time_point now) const {
  RenderKey key = KeyAt(now);
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (!cached_ || !(key == cache_key_)) {
    std::ostringstream os;
    try {
      prometheus::TextSerializer().Serialize(os, CollectAt(now));
    } catch (...) {
    }
    cache_text_ = std::make_shared<const std::string>(os.str());
    cache_gzip_.reset();
    cache_key_ = std::move(key);
    cached_ = true;
    ++renders_;
  }
  if (!gzip) return cache_text_;
  if (!cache_gzip_) {
    cache_gzip_ = std::make_shared<const std::string>(Gzip(*cache_text_));
  }
  return cache_gzip_;
}

uint64_t Exposition::renders() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return renders_;
}

}  // namespace mailhealth
