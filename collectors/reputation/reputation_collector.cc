#include "collectors/reputation/reputation_collector.h"

#include <algorithm>
#include <set>

#include "collectors/postconf/postconf_reader.h"
#include "collectors/reputation/reputation_lookup.h"
#include "collectors/reputation/reputation_metrics.h"
#include "collectors/resolve/mx_resolver.h"
#include "exporter/logging.h"

namespace mailhealth::reputation {
namespace {

// Gathering the addresses (MX resolution, postconf) gets at most this
// share of the run; the rest is for the lookups.
constexpr int kGatherShareDivisor = 3;

class ReputationCollector : public Collector {
 public:
  explicit ReputationCollector(ReputationConfig cfg)
      : cfg_(std::move(cfg)), cache_(cfg_.min_interval) {
    for (const auto& r : cfg_.resolvers) resolver_labels_.push_back(r.label);
  }

  CollectResult Collect(Clock::time_point deadline) override {
    const Clock::time_point start = Clock::now();
    const auto total = std::max(deadline - start, Clock::duration::zero());
    const auto margin =
        std::min<Clock::duration>(std::chrono::milliseconds(250), total / 10);
    const Clock::time_point lookup_deadline = deadline - margin;
    const Clock::time_point gather_deadline =
        start + (lookup_deadline - start) / kGatherShareDivisor;

    std::vector<std::string> problems;
    std::string expect = cfg_.expect_ptr;
    std::vector<std::string> addresses =
        Gather(gather_deadline, &expect, &problems);

    // Whole addresses fit under max_series (the framework would cut the
    // last one in the middle).
    const size_t per = SeriesPerAddress(cfg_.zones.size());
    const size_t cap = std::max<size_t>(
        1, static_cast<size_t>(std::max<int64_t>(cfg_.max_series, 0)) / per);
    if (addresses.size() > cap) {
      if (!warned_cap_) {
        LogWarn("too many addresses for max_series, some left out",
                {{"collector", "reputation"},
                 {"addresses", std::to_string(addresses.size())},
                 {"kept", std::to_string(cap)}});
        warned_cap_ = true;
      }
      problems.push_back(std::to_string(addresses.size() - cap) +
                         " addresses over max_series left out");
      addresses.resize(cap);
    }

    // Domain lists: the configured domains and the from_mx domains.
    std::vector<std::string> domains = cfg_.domains;
    for (const std::string& d : cfg_.from_mx) {
      if (std::find(domains.begin(), domains.end(), d) == domains.end())
        domains.push_back(d);
    }
    const bool domain_zone =
        std::any_of(cfg_.zones.begin(), cfg_.zones.end(),
                    [](const ZoneConfig& z) { return z.domains; });
    if (!domain_zone) domains.clear();
    ReputationRun run = RunReputationLookups(cfg_, addresses, expect, cache_,
                                             lookup_deadline, domains);
    for (const AddressOutcome& a : run.addresses) {
      for (size_t z = 0; z < a.zones.size(); ++z) {
        const ZoneOutcome& o = a.zones[z];
        if (o.result.status == LookupStatus::kListed ||
            o.result.status == LookupStatus::kNotListed)
          continue;
        LogDebug("blocklist lookup failed",
                 {{"collector", "reputation"},
                  {"zone", run.zones[z]},
                  {"address", a.address},
                  {"status", LookupStatusName(o.result.status)},
                  {"error", o.error}});
      }
    }
    CollectResult res{Status::Ok(),
                      BuildReputationFamilies(run, cfg_.interval)};
    res.detail =
        std::to_string(run.addresses.size() - domains.size()) + " addresses, " +
        (domains.empty() ? std::string()
                         : std::to_string(domains.size()) + " domains, ") +
        std::to_string(run.zones.size()) + " zones, " +
        std::to_string(run.queries_sent) + " queries sent, " +
        std::to_string(run.cache_hits) + " from cache";
    for (const std::string& p : problems) res.detail += "; " + p;
    return res;
  }

 private:
  std::vector<std::string> Gather(Clock::time_point deadline,
                                  std::string* expect,
                                  std::vector<std::string>* problems) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](const std::string& a) {
      if (seen.insert(a).second) out.push_back(a);
    };
    for (const std::string& a : cfg_.addresses) add(a);
    if (cfg_.from_postfix) {
      auto params = postconf::ReadPostconf(
          cfg_.postconf,
          {"smtp_bind_address", "smtp_bind_address6", "myhostname"}, deadline);
      if (!params.ok()) {
        problems->push_back("from_postfix: " + params.status().message());
        LogOnce(postconf_failed_, "cannot read Postfix parameters",
                params.status().message());
      } else {
        postconf_failed_ = false;
        std::vector<std::string> bind = postconf::BindAddresses(*params);
        if (bind.empty()) {
          problems->push_back(
              "from_postfix: smtp_bind_address and smtp_bind_address6 are "
              "empty");
        }
        for (const std::string& a : bind) add(a);
        if (expect->empty()) *expect = NormalizeHost((*params)["myhostname"]);
      }
    }
    for (const std::string& d : cfg_.from_mx) {
      MxResolution mx = ResolveMx(d, resolver_labels_, deadline);
      if (!mx.status.ok()) {
        problems->push_back("from_mx " + d + ": " + mx.status.message());
        continue;
      }
      for (const MxHostAddresses& h : mx.hosts) {
        for (const std::string& a : h.addresses) add(a);
      }
    }
    return out;
  }

  static std::string NormalizeHost(std::string s) {
    while (!s.empty() && s.back() == '.') s.pop_back();
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // Logs at error when `failed` turns true, not on every run.
  static void LogOnce(bool& failed, const char* msg, const std::string& why) {
    if (failed) return;
    failed = true;
    LogError(msg, {{"collector", "reputation"}, {"error", why}});
  }

  ReputationConfig cfg_;
  AnswerCache cache_;
  std::vector<std::string> resolver_labels_;
  bool warned_cap_ = false;
  bool postconf_failed_ = false;
};

std::unique_ptr<Collector> Factory(const CollectorContext& ctx, ConfigNode& s) {
  return MakeReputationCollector(ParseReputationConfig(s, ctx.settings));
}

}  // namespace

std::unique_ptr<Collector> MakeReputationCollector(ReputationConfig config) {
  return std::make_unique<ReputationCollector>(std::move(config));
}

CollectorInfo ReputationCollectorInfo() {
  CollectorInfo info;
  info.name = "reputation";
  info.description =
      "DNS blocklist listings and reverse DNS (PTR, FCrDNS) of our sending "
      "addresses";
  info.default_enabled = false;
  info.default_interval = Millis(5 * 60 * 1000);
  info.default_timeout = Millis(20000);
  info.factory = Factory;
  return info;
}

}  // namespace mailhealth::reputation
