#include "collectors/dns/dns_prober.h"

#include <algorithm>

#include "collectors/dns/dns_check.h"
#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/resolve/dns_message.h"
#include "collectors/resolve/domain_name.h"

namespace mailhealth::dns {
namespace {

// The URL parameters over the module's expectations.
Status ApplyParams(const ProbeParams& params, DnsDomainConfig& dc) {
  bool mx_reset = false;
  std::vector<std::string> reset_hosts;
  for (const auto& [key, value] : params) {
    if (key == "expect_mx") {
      if (!mx_reset) {
        dc.expect_mx.clear();
        dc.has_expect_mx = true;
        mx_reset = true;
      }
      Result<ExpectedMx> e = ParseExpectedMx(value);
      if (!e.ok()) return Status::Error("expect_mx: " + e.status().message());
      dc.expect_mx.push_back(std::move(*e));
    } else if (key == "expect_addresses") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
        return Status::Error("expect_addresses: \"" + value +
                             "\" is not HOST=IP[,IP...]");
      }
      std::vector<std::string> ips;
      std::string rest = value.substr(eq + 1);
      size_t pos = 0;
      while (pos <= rest.size()) {
        size_t comma = rest.find(',', pos);
        if (comma == std::string::npos) comma = rest.size();
        ips.push_back(rest.substr(pos, comma - pos));
        pos = comma + 1;
      }
      if (Status st = AddExpectedAddresses(value.substr(0, eq), ips, dc);
          !st.ok()) {
        return Status::Error("expect_addresses: " + st.message());
      }
    } else {
      return Status::Error("unknown parameter \"" + key +
                           "\" (the dns prober takes expect_mx and "
                           "expect_addresses)");
    }
  }
  return Status::Ok();
}

bool ResolverOk(const DnsDomainConfig& dom, const DomainResolverResult& res) {
  if (!res.mx.answered || res.mx.status != DnsStatus::kNoError) return false;
  if (dom.has_expect_mx && !MxMatchesExpected(res.mx.answer.mx, dom.expect_mx))
    return false;
  if (res.mx.answer.mx.empty()) return false;
  if (!IsNullMx(res.mx)) {
    for (const std::string& ex : CheckedExchanges(res.mx.answer.mx)) {
      auto h = res.hosts.find(ex);
      if (h == res.hosts.end() || SortedAddresses(h->second).empty())
        return false;
    }
  }
  for (const auto& [host, ips] : dom.expect_addresses) {
    auto h = res.hosts.find(host);
    if (h == res.hosts.end() || SortedAddresses(h->second) != ips) return false;
  }
  return true;
}

class DnsProbeModule : public ProbeModule {
 public:
  DnsProbeModule(DnsConfig base, DnsDomainConfig expectations)
      : base_(std::move(base)), expectations_(std::move(expectations)) {}

  Result<ProbeSubject> ParseTarget(const std::string& target) const override {
    std::string name = NormalizeName(target);
    if (!resolve::ValidDomainName(name)) {
      return Status::Error("not a domain name");
    }
    ProbeSubject s;
    s.kind = ProbeSubject::Kind::kName;
    s.host = name;
    s.port = -1;  // the resolvers are asked, not the target
    return s;
  }

  Status CheckParams(const ProbeParams& params) const override {
    DnsDomainConfig scratch = expectations_;
    return ApplyParams(params, scratch);
  }

  ProbeOutcome Run(const ProbeCall& call) const override {
    ProbeOutcome out;
    DnsConfig config = base_;
    DnsDomainConfig dom = expectations_;
    dom.name = NormalizeName(call.target);
    if (Status st = ApplyParams(call.params, dom); !st.ok()) {
      out.refused = st.message();  // checked by CheckParams already
      return out;
    }
    const Clock::time_point now = Clock::now();
    config.timeout = std::max(
        Millis(1), std::chrono::duration_cast<Millis>(call.deadline - now));
    config.interval = Millis(0);  // HELP: probed at this request
    config.domains = {dom};
    const auto margin = std::clamp(config.timeout / 20, Millis(1), Millis(100));
    Result<DnsRunResult> run = RunDnsChecks(config, call.deadline - margin);
    if (!run.ok()) return out;  // c-ares could not start: success 0
    out.success = true;
    for (const DomainResolverResult& res : run->results[0]) {
      if (!ResolverOk(dom, res)) out.success = false;
    }
    out.families = BuildDnsFamilies(config, *run);
    return out;
  }

 private:
  DnsConfig base_;
  DnsDomainConfig expectations_;
};

}  // namespace

ProberInfo DnsProberInfo() {
  ProberInfo info;
  info.name = "dns";
  info.description =
      "One mail domain: MX and the MX hosts' A/AAAA through the resolvers";
  info.default_timeout = Millis(5000);
  info.factory = [](const ProbeModuleContext& ctx,
                    ConfigNode& section) -> std::unique_ptr<ProbeModule> {
    DnsConfig base;
    base.timeout = ctx.timeout;
    ParseDnsResolvers(section, base);
    DnsDomainConfig expectations;
    ParseDomainExpectations(section, expectations);
    return std::make_unique<DnsProbeModule>(std::move(base),
                                            std::move(expectations));
  };
  return info;
}

}  // namespace mailhealth::dns
