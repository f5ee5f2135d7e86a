#include "collectors/queue/queue_stats.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "exporter/metric_builder.h"
#include "exporter/strings.h"

namespace mailhealth {
namespace {

constexpr char kMessages[] = "mailhealth_queue_messages";
constexpr char kBytes[] = "mailhealth_queue_size_bytes";
constexpr char kOldest[] = "mailhealth_queue_oldest_message_age_seconds";
constexpr char kAge[] = "mailhealth_queue_message_age_seconds";
constexpr char kByReason[] = "mailhealth_queue_deferred_messages_by_reason";
constexpr char kByDomain[] = "mailhealth_queue_deferred_messages_by_domain";

constexpr size_t kReasonCacheMax = 4096;


}  // namespace

const std::vector<double>& QueueAgeBuckets() {
  static const std::vector<double> kBuckets = {
      60, 300, 900, 1800, 3600, 14400, 43200, 86400, 172800, 432000};
  return kBuckets;
}

QueueStats::QueueStats(const std::vector<std::string>& domains,
                       const LocalServiceMatcher* local, int64_t now,
                       const LocalServiceMatcher* delivery)
    : local_(local), delivery_(delivery), now_(now) {
  for (const auto& d : domains) {
    std::string l = d;
    for (char& c : l)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    domains_.push_back(std::move(l));
  }
  by_domain_.assign(domains_.size() + 1, 0);
  seen_domain_.assign(domains_.size() + 1, 0);
  for (auto& q : queues_) q.age_counts.assign(QueueAgeBuckets().size() + 1, 0);
}

DeferralReason QueueStats::Classify(std::string_view reason) {
  std::string key(reason);
  auto it = reason_cache_.find(key);
  if (it != reason_cache_.end()) return it->second;
  DeferralReason r = delivery_ != nullptr
                         ? ClassifyDeferralReason(reason, *local_, *delivery_)
                         : ClassifyDeferralReason(reason, *local_);
  if (reason_cache_.size() >= kReasonCacheMax) reason_cache_.clear();
  reason_cache_.emplace(std::move(key), r);
  return r;
}

void QueueStats::OnMessage(const QueueMessage& m) {
  QueueCounts& q = queues_[static_cast<size_t>(m.queue)];
  ++q.messages;
  q.bytes += m.size > 0 ? static_cast<uint64_t>(m.size) : 0;
  if (m.arrival_time > 0 &&
      (q.oldest_arrival == 0 || m.arrival_time < q.oldest_arrival)) {
    q.oldest_arrival = m.arrival_time;
  }
  double age =
      m.arrival_time > 0
          ? static_cast<double>(std::max<int64_t>(0, now_ - m.arrival_time))
          : 0;
  const auto& bounds = QueueAgeBuckets();
  size_t b =
      std::lower_bound(bounds.begin(), bounds.end(), age) - bounds.begin();
  ++q.age_counts[b];
  q.age_sum += age;

  if (m.queue != QueueName::kDeferred) return;
  // A message counts once per reason class and once per domain bucket
  // among its recipients.
  std::array<bool, kDeferralReasonCount> seen_reason{};
  bool any_reason = false;
  std::fill(seen_domain_.begin(), seen_domain_.end(), 0);
  for (const QueueRecipient& r : m.recipients) {
    if (!r.delay_reason.empty()) {
      seen_reason[static_cast<size_t>(Classify(r.delay_reason))] = true;
      any_reason = true;
    }
    std::string_view domain;
    size_t at = r.address.rfind('@');
    if (at != std::string_view::npos) domain = r.address.substr(at + 1);
    size_t idx = domains_.size();
    for (size_t i = 0; i < domains_.size(); ++i) {
      if (EqualsI(domain, domains_[i])) {
        idx = i;
        break;
      }
    }
    seen_domain_[idx] = 1;
  }
  if (!any_reason)
    seen_reason[static_cast<size_t>(DeferralReason::kOther)] = true;
  if (m.recipients.empty()) seen_domain_.back() = 1;
  for (size_t i = 0; i < kDeferralReasonCount; ++i)
    by_reason_[i] += seen_reason[i];
  for (size_t i = 0; i < by_domain_.size(); ++i)
    by_domain_[i] += seen_domain_[i];
}

namespace {

std::string From(std::string_view text, std::string_view source) {
  return std::string(text) + " From " + std::string(source) + ".";
}

void AppendCounts(
    Families& out, Millis interval, std::string_view source,
    const std::function<void(QueueName, double*, double*, double*)>& get) {
  auto messages = Gauge(
      kMessages,
      SampledHelp(From("Messages in each Postfix queue.", source), interval));
  auto bytes = Gauge(
      kBytes,
      SampledHelp(
          From("Total size of the messages in each Postfix queue, in bytes.",
               source),
          interval));
  auto oldest = Gauge(
      kOldest,
      SampledHelp(From("Age of the oldest message in each Postfix queue (0 "
                       "when empty).",
                       source),
                  interval));
  for (QueueName qn : AllQueues()) {
    double n = 0, b = 0, age = 0;
    get(qn, &n, &b, &age);
    Labels l = {{"queue", std::string(QueueNameLabel(qn))}};
    AddSample(messages, l, n);
    AddSample(bytes, l, b);
    AddSample(oldest, l, age);
  }
  out.push_back(std::move(messages));
  out.push_back(std::move(bytes));
  out.push_back(std::move(oldest));
}

}  // namespace

void QueueStats::AppendCountFamilies(Families& out, Millis interval,
                                     std::string_view source) const {
  AppendCounts(out, interval, source,
               [&](QueueName qn, double* n, double* b, double* age) {
                 const QueueCounts& q = queue(qn);
                 *n = static_cast<double>(q.messages);
                 *b = static_cast<double>(q.bytes);
                 *age = q.oldest_arrival == 0
                            ? 0.0
                            : static_cast<double>(std::max<int64_t>(
                                  0, now_ - q.oldest_arrival));
               });
}

void QueueStats::AppendDetailFamilies(Families& out, Millis interval,
                                      std::string_view source) const {
  auto ages = Histogram(
      kAge,
      SampledHelp(From("Ages of the messages in each Postfix queue.", source),
                  interval));
  for (QueueName qn : AllQueues()) {
    const QueueCounts& q = queue(qn);
    Labels l = {{"queue", std::string(QueueNameLabel(qn))}};
    AddHistogram(ages, l, QueueAgeBuckets(), q.age_counts, q.age_sum);
  }
  auto by_reason = Gauge(
      kByReason,
      SampledHelp(
          From("Deferred messages by class of deferral reason (a message with "
               "recipients in several classes counts in each).",
               source),
          interval));
  for (DeferralReason r : AllDeferralReasons()) {
    AddSample(by_reason, {{"reason", std::string(DeferralReasonName(r))}},
              static_cast<double>(deferred_by_reason(r)));
  }
  auto by_domain = Gauge(
      kByDomain,
      SampledHelp(From("Deferred messages by recipient domain (the configured "
                       "domains, plus other).",
                       source),
                  interval));
  for (size_t i = 0; i < domains_.size(); ++i) {
    AddSample(by_domain, {{"domain", domains_[i]}},
              static_cast<double>(by_domain_[i]));
  }
  AddSample(by_domain, {{"domain", "other"}},
            static_cast<double>(by_domain_.back()));
  out.push_back(std::move(ages));
  out.push_back(std::move(by_reason));
  out.push_back(std::move(by_domain));
}

void QueueStats::AppendFamilies(Families& out, Millis interval) const {
  AppendCountFamilies(out, interval, kPostqueueSource);
  AppendDetailFamilies(out, interval, kPostqueueSource);
}

void AppendSpoolFamilies(Families& out, const SpoolWalkResult& walk,
                         int64_t now, Millis interval,
                         std::string_view source) {
  AppendCounts(
      out, interval, source,
      [&](QueueName qn, double* n, double* b, double* age) {
        const SpoolQueueCounts& q = walk.queues[static_cast<size_t>(qn)];
        *n = static_cast<double>(q.files);
        *b = static_cast<double>(q.bytes);
        *age = q.oldest == 0
                   ? 0.0
                   : static_cast<double>(std::max<int64_t>(0, now - q.oldest));
      });
}

}  // namespace mailhealth
