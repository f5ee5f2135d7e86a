// One run of the reputation collector's lookups: every (zone, address)
// DNSBL query and the reverse DNS of every address (PTR, then A/AAAA of
// each PTR name for FCrDNS), all in one DnsBatch (one c-ares channel per
// resolver set), cut at one deadline, through an answer cache.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/reputation/dnsbl.h"
#include "collectors/reputation/reputation_config.h"
#include "collectors/resolve/dns_client.h"
#include "exporter/collector.h"

namespace mailhealth::reputation {

// DNS answers by (resolver set, name, type), kept for their TTL but at
// least `min_ttl` (the config's min_interval), so a short scrape interval
// never raises the query rate. Only NOERROR and NXDOMAIN replies are kept:
// a timeout, SERVFAIL or REFUSED is asked again on the next run. Owned by
// one collector and used from its thread only.
class AnswerCache {
 public:
  explicit AnswerCache(Millis min_ttl) : min_ttl_(min_ttl) {}
  // The entry of `key` if it has not expired at `now`.
  const LookupResult* Get(const std::string& key, Clock::time_point now) const;
  void Put(const std::string& key, const LookupResult& r,
           Clock::time_point now);
  // Drops entries expired at `now` (called once per run).
  void Expire(Clock::time_point now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    LookupResult result;
    Clock::time_point expires;
  };
  Millis min_ttl_;
  std::map<std::string, Entry> entries_;
};

// PTR names of one address are capped here (each costs an A/AAAA query).
inline constexpr size_t kMaxPtrNames = 8;

struct ZoneOutcome {
  Classification result;
  std::string error;  // the DNS error, for the log
  // False for a zone of the other kind (an address on a domain list, a
  // domain on an IP list): not asked, not exported.
  bool applies = true;
};

struct AddressOutcome {
  std::string address;  // an IP literal, or a domain name when `domain`
  bool domain = false;  // checked on domain lists only, no reverse DNS
  std::vector<ZoneOutcome> zones;  // config order
  DnsStatus ptr_status = DnsStatus::kTimeout;
  std::vector<std::string> ptr_names;  // sorted
  bool forward_confirmed = false;
  // Set when an expected PTR name is known (expect_ptr, or Postfix's
  // myhostname with from_postfix): whether one of the PTR names is it.
  std::optional<bool> matches_expected;
};

struct ReputationRun {
  std::vector<std::string> zones;  // the `zone` label values, config order
  std::vector<AddressOutcome> addresses;
  size_t queries_sent = 0;  // questions that went to a resolver
  size_t cache_hits = 0;    // questions answered from the cache
};

// Looks up every address of `addresses` in every address zone of `config`
// and their reverse DNS, and every domain of `domains` in every domain
// zone (after the addresses in `addresses` order of the run). `expect_ptr`
// empty: no expectation. Returns by `deadline` (what is unanswered then is
// a timeout).
ReputationRun RunReputationLookups(
    const ReputationConfig& config, const std::vector<std::string>& addresses,
    const std::string& expect_ptr, AnswerCache& cache,
    Clock::time_point deadline, const std::vector<std::string>& domains = {});

}  // namespace mailhealth::reputation
