// DnsBatch: many DNS queries in flight at once over c-ares, one channel per
// resolver slot, one poll() loop over all channels, one overall deadline.
//
//   auto batch = DnsBatch::Create({{r1}, {r2}}, options);   // two slots
//   batch->Query(0, "example.com", kTypeMx, [&](const LookupResult& r) {
//     ... may call batch->Query() again (follow-up A/AAAA lookups) ...
//   });
//   batch->Run(deadline);   // returns when all are done or at `deadline`
//
// Queries are sent at once up to DnsBatchOptions::max_in_flight per slot.
// Every callback runs exactly once, on the thread calling Run() (or inside
// Query() when the batch has already stopped), before Run() returns.
// Queries still running at the deadline are cancelled and reported as
// status timeout. Not thread-safe: one batch belongs to one thread; batches
// are independent (each owns its channels), so threads may each use their
// own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/resolver_address.h"
#include "exporter/collector.h"
#include "exporter/status.h"

namespace mailhealth {

struct LookupResult {
  DnsStatus status = DnsStatus::kTimeout;
  // True when a reply was received and parsed; `answer` is valid then.
  bool answered = false;
  DnsAnswer answer;
  double duration_seconds = 0;
  std::string error;  // why there is no answer (c-ares message, parse error)
};

struct DnsBatchOptions {
  // Timeout of the first try; c-ares doubles it for each retry.
  Millis try_timeout{1000};
  int tries = 2;
  // false: every reply (SERVFAIL, REFUSED too) is final and reported as
  //   such, so a slot with one server measures exactly that server (the
  //   dns collector's mode).
  // true: c-ares' default: a SERVFAIL/REFUSED reply makes it try the next
  //   server of the slot (mx_resolver's "first one that answers" mode).
  bool failover = false;
  // Queries in flight per slot at most; the rest wait their turn (FIFO).
  // A burst of a thousand UDP queries overflows socket buffers (BIND's
  // on loopback, measured) and turns into retries one try_timeout later;
  // public resolvers also rate-limit. When a slot's query times out before
  // the slot has answered anything at all in this batch, the slot is taken
  // as silent and its waiting queries are reported as timeout at once
  // rather than each waiting for its own timeout. 0: no limit.
  size_t max_in_flight = 100;
  // SO_RCVBUF of the UDP sockets (0: the system default), for bursts of
  // answers.
  int receive_buffer_bytes = 1 << 20;
  // true: queries are sent with the AD bit set (RFC 6840 5.7), asking a
  // validating resolver to report in the reply's AD bit whether it
  // validated the answer with DNSSEC (DnsAnswer::authenticated). No EDNS
  // and no DO bit: the signatures themselves are not wanted.
  bool request_ad = false;
};

class DnsBatch {
 public:
  using Callback = std::function<void(const LookupResult&)>;

  // One slot per entry of `slots`; an empty entry means the system's
  // resolvers (/etc/resolv.conf). Fails only when c-ares cannot be set up.
  static Result<std::unique_ptr<DnsBatch>> Create(
      const std::vector<std::vector<ResolverAddress>>& slots,
      const DnsBatchOptions& options);
  ~DnsBatch();
  DnsBatch(const DnsBatch&) = delete;
  DnsBatch& operator=(const DnsBatch&) = delete;

  // Starts a class IN query of `qtype` for `name` through slot `slot`.
  void Query(size_t slot, const std::string& name, uint16_t qtype,
             Callback callback);

  // Drives all queries until none is left or `deadline`; then cancels the
  // rest (their callbacks see status timeout, error "deadline").
  void Run(Clock::time_point deadline);

  size_t slots() const;
  size_t outstanding() const { return outstanding_; }

 private:
  struct Impl;
  struct Pending;
  explicit DnsBatch(std::unique_ptr<Impl> impl);
  static void OnReply(void* arg, int status, int timeouts, unsigned char* abuf,
                      int alen);

  void Send(Pending* p);
  void Pump(size_t slot);

  std::unique_ptr<Impl> impl_;
  size_t outstanding_ = 0;
  bool stopped_ = false;
  bool destroying_ = false;
};

}  // namespace mailhealth
