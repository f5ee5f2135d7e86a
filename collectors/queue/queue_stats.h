// QueueStats: folds the messages of one queue listing into the numbers the
// queue collector exports (per queue: messages, bytes, oldest age, age
// histogram; deferred mail by reason class and by configured domain).
//
// Constant memory: a few counters per queue, the configured domains, and a
// bounded cache of reason texts already classified. Pure (the clock is a
// parameter); not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collectors/queue/deferral_reason.h"
#include "collectors/queue/queue_parser.h"
#include "collectors/queue/spool_walk.h"
#include "exporter/collector.h"

namespace mailhealth {

// Upper bounds of mailhealth_queue_message_age_seconds (seconds): 1m, 5m,
// 15m, 30m, 1h, 4h, 12h, 1d, 2d, 5d (Postfix's default
// maximal_queue_lifetime).
const std::vector<double>& QueueAgeBuckets();

struct QueueCounts {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  int64_t oldest_arrival = 0;        // Unix seconds; 0 when empty
  std::vector<uint64_t> age_counts;  // per bucket + 1 for +Inf
  double age_sum = 0;
};

class QueueStats : public QueueMessageSink {
 public:
  // `domains`: the configured recipient domains (matched exactly,
  // case-insensitively). `now`: Unix seconds, for ages. `delivery`: the
  // local delivery endpoints read from postconf (may be null).
  QueueStats(const std::vector<std::string>& domains,
             const LocalServiceMatcher* local, int64_t now,
             const LocalServiceMatcher* delivery = nullptr);

  void OnMessage(const QueueMessage& m) override;

  const QueueCounts& queue(QueueName q) const {
    return queues_[static_cast<size_t>(q)];
  }
  uint64_t deferred_by_reason(DeferralReason r) const {
    return by_reason_[static_cast<size_t>(r)];
  }
  // Index i of the configured domains; domains().size() is `other`.
  const std::vector<std::string>& domains() const { return domains_; }
  uint64_t deferred_by_domain(size_t i) const { return by_domain_[i]; }
  uint64_t deferred_other_domain() const { return by_domain_.back(); }

  // Appends the queue families (not postfix_up / parse errors): the counts
  // (messages, bytes, oldest age) and the detail (age histogram, by reason,
  // by domain). HELP texts end "From SOURCE." and say the interval.
  void AppendFamilies(Families& out, Millis interval) const;
  void AppendCountFamilies(Families& out, Millis interval,
                           std::string_view source) const;
  void AppendDetailFamilies(Families& out, Millis interval,
                            std::string_view source) const;

 private:
  DeferralReason Classify(std::string_view reason);

  std::vector<std::string> domains_;  // lower case
  const LocalServiceMatcher* local_;
  const LocalServiceMatcher* delivery_;
  int64_t now_;
  std::array<QueueCounts, kQueueCount> queues_;
  std::array<uint64_t, kDeferralReasonCount> by_reason_{};
  std::vector<uint64_t> by_domain_;
  std::unordered_map<std::string, DeferralReason> reason_cache_;
  std::vector<char> seen_domain_;  // per message scratch
};

inline constexpr char kPostqueueSource[] = "postqueue";

// The count families (messages, bytes, oldest age per queue) from a spool
// walk: the files of each queue directory, their st_size, and the age of
// the oldest file (birth time) at `now` (Unix seconds).
void AppendSpoolFamilies(Families& out, const SpoolWalkResult& walk,
                         int64_t now, Millis interval, std::string_view source);

}  // namespace mailhealth
