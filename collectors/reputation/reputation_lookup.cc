#include "collectors/reputation/reputation_lookup.h"

#include <algorithm>
#include <memory>

#include "collectors/resolve/resolver_address.h"
#include "exporter/logging.h"

namespace mailhealth::reputation {
namespace {

// The key of a resolver set in the cache: "system" or the labels joined.
std::string SlotKey(const std::vector<ResolverAddress>& rs) {
  if (rs.empty()) return kSystemResolverLabel;
  std::string k;
  for (const auto& r : rs) k += r.ip + "#" + std::to_string(r.port) + ",";
  return k;
}

std::string ErrorText(const LookupResult& r) {
  std::string s = DnsStatusName(r.status);
  if (!r.error.empty()) s += " (" + r.error + ")";
  return s;
}

// Queries through the cache: a fresh entry answers at once (the callback
// runs inside this call), anything else goes to the batch.
class CachedResolver {
 public:
  CachedResolver(DnsBatch& batch, AnswerCache& cache,
                 std::vector<std::string> slot_keys, ReputationRun& run)
      : batch_(batch),
        cache_(cache),
        slot_keys_(std::move(slot_keys)),
        run_(run) {}

  void Query(size_t slot, const std::string& name, uint16_t qtype,
             DnsBatch::Callback cb) {
    std::string key = slot_keys_[slot] + "|" + name + "|" + QTypeName(qtype);
    if (const LookupResult* hit = cache_.Get(key, Clock::now())) {
      ++run_.cache_hits;
      cb(*hit);
      return;
    }
    ++run_.queries_sent;
    batch_.Query(slot, name, qtype,
                 [this, key = std::move(key),
                  cb = std::move(cb)](const LookupResult& r) {
                   cache_.Put(key, r, Clock::now());
                   cb(r);
                 });
  }

 private:
  DnsBatch& batch_;
  AnswerCache& cache_;
  std::vector<std::string> slot_keys_;
  ReputationRun& run_;
};

// One outcome per address and per domain, every zone timed out until its
// answer comes; a zone applies to domains or to addresses, not both.
ReputationRun InitialRun(const ReputationConfig& config,
                         const std::vector<std::string>& addresses,
                         const std::vector<std::string>& domains) {
  ReputationRun run;
  for (const ZoneConfig& z : config.zones) run.zones.push_back(z.name);
  run.addresses.resize(addresses.size() + domains.size());
  for (size_t i = 0; i < run.addresses.size(); ++i) {
    AddressOutcome& a = run.addresses[i];
    a.domain = i >= addresses.size();
    a.address = a.domain ? domains[i - addresses.size()] : addresses[i];
    a.zones.resize(config.zones.size());
    for (size_t z = 0; z < a.zones.size(); ++z) {
      a.zones[z].result.status = LookupStatus::kTimeout;
      a.zones[z].applies = config.zones[z].domains == a.domain;
    }
  }
  return run;
}

// The resolver sets of one run. Slot 0: the collector's resolvers; one more
// slot per zone that has resolvers of its own.
struct ResolverSlots {
  std::vector<std::vector<ResolverAddress>> slots;
  std::vector<size_t> zone_slot;  // per zone, its slot
  std::vector<std::string> keys;  // per slot, its SlotKey
  size_t max_servers = 1;         // the most servers of any slot
};

ResolverSlots BuildResolverSlots(const ReputationConfig& config) {
  ResolverSlots s;
  s.slots = {config.resolvers};
  s.zone_slot.assign(config.zones.size(), 0);
  for (size_t z = 0; z < config.zones.size(); ++z) {
    if (!config.zones[z].resolvers.empty()) {
      s.zone_slot[z] = s.slots.size();
      s.slots.push_back(config.zones[z].resolvers);
    }
  }
  for (const auto& slot : s.slots) {
    s.keys.push_back(SlotKey(slot));
    s.max_servers = std::max(s.max_servers, slot.size());
  }
  return s;
}

DnsBatchOptions BatchOptions(size_t max_servers, Clock::time_point deadline) {
  DnsBatchOptions o;
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
  // c-ares doubles the timeout on the second try: one round over every
  // server of a slot, then a second, both inside the deadline.
  o.tries = 2;
  o.try_timeout =
      std::max(Millis(50), left / static_cast<int64_t>(3 * max_servers));
  o.failover = true;
  return o;
}

// Every lookup of the run failed with the same error (no batch).
void FailEveryLookup(ReputationRun& run, const std::string& error) {
  for (AddressOutcome& a : run.addresses) {
    for (ZoneOutcome& z : a.zones) {
      z.result.status = LookupStatus::kOther;
      z.error = error;
    }
    a.ptr_status = DnsStatus::kOther;
  }
}

// The TXT record of a listing, logged at debug level.
void LogListingReason(CachedResolver& resolver, size_t slot,
                      const std::string& qname, const std::string& address,
                      const std::string& zone_name) {
  // The reason text is for the log only, never a label value.
  resolver.Query(slot, qname, kTypeTxt,
                 [addr = address, zname = zone_name](const LookupResult& t) {
                   std::string reason;
                   for (const auto& s : t.answer.texts) {
                     if (!reason.empty()) reason += " | ";
                     reason += s;
                   }
                   LogDebug("address listed", {{"collector", "reputation"},
                                               {"zone", zname},
                                               {"address", addr},
                                               {"reason", reason}});
                 });
}

// The A query of every zone that applies to `a`.
void QueryZones(CachedResolver& resolver, const ReputationConfig& config,
                const std::vector<size_t>& zone_slot, AddressOutcome* a) {
  for (size_t z = 0; z < config.zones.size(); ++z) {
    if (!a->zones[z].applies) continue;
    const ZoneConfig* zone = &config.zones[z];
    const std::string qname = a->domain
                                  ? a->address + "." + zone->name
                                  : DnsblQueryName(a->address, zone->name);
    ZoneOutcome* out = &a->zones[z];
    const size_t slot = zone_slot[z];
    resolver.Query(slot, qname, kTypeA, [=, &resolver](const LookupResult& r) {
      static const std::vector<std::string> kNone;
      const bool have = r.answered && r.status == DnsStatus::kNoError;
      out->result =
          ClassifyAnswer(r.status, have ? r.answer.addresses : kNone, *zone);
      if (!r.answered || (r.status != DnsStatus::kNoError &&
                          r.status != DnsStatus::kNxDomain)) {
        out->error = ErrorText(r);
      }
      if (!out->result.listed || !LogEnabled(LogLevel::kDebug)) return;
      LogListingReason(resolver, slot, qname, a->address, zone->name);
    });
  }
}

// Reverse DNS of an address: PTR, then the forward lookup of every PTR name.
void QueryReverse(CachedResolver& resolver, const std::string& expect_ptr,
                  AddressOutcome* a) {
  const std::string rname = ReverseName(a->address);
  const bool v6 = a->address.find(':') != std::string::npos;
  resolver.Query(0, rname, kTypePtr, [=, &resolver](const LookupResult& r) {
    a->ptr_status = r.status;
    if (!r.answered || r.status != DnsStatus::kNoError) return;
    std::vector<std::string> names = r.answer.names;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names.size() > kMaxPtrNames) names.resize(kMaxPtrNames);
    a->ptr_names = names;
    if (!expect_ptr.empty()) {
      a->matches_expected =
          std::find(names.begin(), names.end(), expect_ptr) != names.end();
    }
    for (const std::string& n : names) {
      resolver.Query(0, n, v6 ? kTypeAaaa : kTypeA, [a](const LookupResult& f) {
        if (!f.answered || f.status != DnsStatus::kNoError) return;
        for (const std::string& ip : f.answer.addresses) {
          if (CanonicalIp(ip) == a->address) a->forward_confirmed = true;
        }
      });
    }
  });
  if (!expect_ptr.empty() && !a->matches_expected) {
    a->matches_expected = false;  // replaced when the PTR answer comes
  }
}

}  // namespace

const LookupResult* AnswerCache::Get(const std::string& key,
                                     Clock::time_point now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.expires) return nullptr;
  return &it->second.result;
}

void AnswerCache::Put(const std::string& key, const LookupResult& r,
                      Clock::time_point now) {
  if (!r.answered ||
      (r.status != DnsStatus::kNoError && r.status != DnsStatus::kNxDomain)) {
    return;
  }
  const auto ttl = std::max<Clock::duration>(
      std::chrono::seconds(r.answer.min_ttl), min_ttl_);
  entries_[key] = Entry{r, now + ttl};
}

void AnswerCache::Expire(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now >= it->second.expires) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

ReputationRun RunReputationLookups(const ReputationConfig& config,
                                   const std::vector<std::string>& addresses,
                                   const std::string& expect_ptr,
                                   AnswerCache& cache,
                                   Clock::time_point deadline,
                                   const std::vector<std::string>& domains) {
  ReputationRun run = InitialRun(config, addresses, domains);
  cache.Expire(Clock::now());

  ResolverSlots slots = BuildResolverSlots(config);
  auto batch_or =
      DnsBatch::Create(slots.slots, BatchOptions(slots.max_servers, deadline));
  if (!batch_or.ok()) {
    FailEveryLookup(run, batch_or.status().message());
    return run;
  }
  DnsBatch& batch = **batch_or;
  CachedResolver resolver(batch, cache, slots.keys, run);

  for (size_t i = 0; i < run.addresses.size(); ++i) {
    AddressOutcome* a = &run.addresses[i];
    QueryZones(resolver, config, slots.zone_slot, a);
    if (a->domain) continue;
    QueryReverse(resolver, expect_ptr, a);
  }
  batch.Run(deadline);
  return run;
}

}  // namespace mailhealth::reputation
