#include "collectors/mailauth/mailauth_lookup.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "collectors/postconf/postconf_reader.h"
#include "collectors/smtpprobe/smtp_probe.h"

namespace mailhealth::mailauth {

// A DnsBatch ends with its Run(): each lookup (SPF is sequential, every
// answer decides the next question) gets a batch of its own.
struct BatchDns::Impl {
  std::vector<ResolverAddress> resolvers;
  Clock::time_point deadline;
  std::map<std::pair<std::string, uint16_t>, LookupResult> cache;
};

BatchDns::BatchDns(const std::vector<ResolverAddress>& resolvers,
                   Clock::time_point deadline)
    : impl_(std::make_unique<Impl>()) {
  impl_->resolvers = resolvers;
  impl_->deadline = deadline;
}

BatchDns::~BatchDns() = default;

LookupResult BatchDns::Lookup(const std::string& name, uint16_t qtype) {
  auto key = std::make_pair(name, qtype);
  auto it = impl_->cache.find(key);
  if (it != impl_->cache.end()) return it->second;
  LookupResult out;
  if (Clock::now() >= impl_->deadline) {
    out.status = DnsStatus::kTimeout;
    out.error = "deadline";
    return out;
  }
  DnsBatchOptions o;
  o.failover = true;  // the first resolver that answers
  o.request_ad = qtype == kTypeTlsa;
  auto batch = DnsBatch::Create({impl_->resolvers}, o);
  if (!batch.ok()) {
    out.status = DnsStatus::kOther;
    out.error = batch.status().message();
    return out;
  }
  ++queries_;
  (*batch)->Query(0, name, qtype, [&out](const LookupResult& r) { out = r; });
  (*batch)->Run(impl_->deadline);
  impl_->cache.emplace(key, out);
  return out;
}

namespace {

// TXT records at `name`: false (with the error noted) when the lookup
// failed; NXDOMAIN is no records.
bool Txt(SpfDns& dns, const std::string& name, std::vector<std::string>* out,
         DomainOutcome* d) {
  LookupResult r = dns.Lookup(name, kTypeTxt);
  if (r.status == DnsStatus::kNxDomain) return true;
  if (r.status != DnsStatus::kNoError) {
    d->errors.push_back("TXT " + name + ": " + DnsStatusName(r.status));
    return false;
  }
  *out = r.answer.texts;
  return true;
}

}  // namespace

// The addresses of `host` (A and AAAA).
std::vector<std::string> Addresses(SpfDns& dns, const std::string& host) {
  std::vector<std::string> out;
  for (uint16_t t : {kTypeA, kTypeAaaa}) {
    LookupResult r = dns.Lookup(host, t);
    if (r.status == DnsStatus::kNoError)
      out.insert(out.end(), r.answer.addresses.begin(),
                 r.answer.addresses.end());
  }
  return out;
}

void CheckMtaSts(const DomainConfig& d, SpfDns& dns, const FetchOptions& fetch,
                 Clock::time_point deadline, DomainOutcome* o) {
  std::vector<std::string> txt;
  if (!Txt(dns, "_mta-sts." + d.name, &txt, o)) return;
  o->mta_sts_checked = true;
  o->sts_record_problem = CheckStsRecord(txt);
  if (o->sts_record_problem == "no v=STSv1 record") return;  // no policy
  const std::string host = "mta-sts." + d.name;
  o->sts_fetch = FetchStsPolicy(host, Addresses(dns, host), fetch, deadline);
  if (o->sts_fetch.problem.empty())
    o->sts_policy = ParseStsPolicy(o->sts_fetch.body);
  o->sts_valid = o->sts_record_problem.empty() &&
                 o->sts_fetch.problem.empty() && o->sts_policy.valid;
  if (!o->sts_policy.valid) return;
  LookupResult mx = dns.Lookup(d.name, kTypeMx);
  if (mx.status != DnsStatus::kNoError) {
    if (mx.status != DnsStatus::kNxDomain)
      o->errors.push_back("MX " + d.name + ": " + DnsStatusName(mx.status));
    return;
  }
  for (const MxRecord& m : mx.answer.mx) {
    if (m.exchange == ".") continue;
    bool covered = false;
    for (const std::string& p : o->sts_policy.mx)
      covered = covered || StsMxMatches(p, m.exchange);
    o->sts_mx.emplace_back(m.exchange, covered);
  }
}

// RFC 7672: per MX host, the TLSA records at _25._tcp.HOST (AD asked
// for), and with records the chain each of its addresses presents in
// STARTTLS, matched against them.
void CheckDane(const DomainConfig& d, SpfDns& dns, const DaneOptions& opt,
               Clock::time_point deadline, DomainOutcome* o) {
  LookupResult mx = dns.Lookup(d.name, kTypeMx);
  if (mx.status != DnsStatus::kNoError) {
    if (mx.status == DnsStatus::kNxDomain) {
      o->dane_checked = true;
      return;
    }
    // The MTA-STS check may have noted the same (cached) failure.
    const std::string e = "MX " + d.name + ": " + DnsStatusName(mx.status);
    if (std::find(o->errors.begin(), o->errors.end(), e) == o->errors.end())
      o->errors.push_back(e);
    return;
  }
  o->dane_checked = true;
  std::vector<smtp::SmtpProbeRequest> reqs;
  std::vector<size_t> owner;  // index into o->dane of each request
  for (const MxRecord& m : mx.answer.mx) {
    if (m.exchange == ".") continue;
    const std::string name = TlsaName(m.exchange);
    LookupResult t = dns.Lookup(name, kTypeTlsa);
    if (t.status != DnsStatus::kNoError && t.status != DnsStatus::kNxDomain) {
      // A validating resolver answers SERVFAIL for a bogus signature:
      // senders that do DANE defer mail to this host.
      o->errors.push_back("TLSA " + name + ": " + DnsStatusName(t.status));
      continue;
    }
    DaneHost h;
    h.exchange = m.exchange;
    h.records = t.answer.tlsa;
    h.validated = t.answered && t.answer.authenticated;
    o->dane.push_back(std::move(h));
    if (o->dane.back().records.empty()) continue;
    std::vector<std::string> addrs = Addresses(dns, m.exchange);
    if (addrs.empty()) o->dane.back().problem = "no address";
    for (const std::string& a : addrs) {
      smtp::SmtpProbeRequest r;
      r.address = a;
      r.port = opt.port;
      r.tls_name = m.exchange;
      reqs.push_back(std::move(r));
      owner.push_back(o->dane.size() - 1);
    }
  }
  if (reqs.empty()) return;
  smtp::SmtpProbeOptions po;
  po.helo = opt.helo;
  po.starttls = true;
  po.deadline = std::min(deadline, Clock::now() + opt.probe_timeout);
  std::vector<smtp::SmtpProbeResult> res = smtp::RunSmtpProbes(reqs, po);
  for (size_t i = 0; i < res.size(); ++i) {
    DaneHost& h = o->dane[owner[i]];
    ++h.probed;
    if (!res[i].tls.done) {
      h.problem = reqs[i].address + ": no TLS (" + res[i].detail + ")";
      continue;
    }
    ++h.tls_done;
    if (AnyTlsaMatches(h.records, res[i].tls.chain_der)) {
      ++h.matched;
    } else {
      h.problem = reqs[i].address + ": no TLSA record matches the chain";
    }
  }
  for (DaneHost& h : o->dane)
    h.matches = h.tls_done > 0 && h.matched == h.tls_done;
}

DomainOutcome CheckDomain(const DomainConfig& d, SpfDns& dns,
                          const FetchOptions& fetch, Clock::time_point deadline,
                          const DaneOptions& dane,
                          const std::vector<std::string>& postfix_addresses) {
  DomainOutcome o;
  o.domain = d.name;
  if (d.spf) {
    o.spf_checked = true;
    o.spf_walk = WalkPolicy(d.name, dns);
    // The configured addresses, then Postfix's bind addresses, then the
    // MX hosts' addresses; each once, at most kMaxSendingAddresses.
    std::vector<std::string> addrs;
    auto add = [&](const std::string& a) {
      if (addrs.size() < kMaxSendingAddresses &&
          std::find(addrs.begin(), addrs.end(), a) == addrs.end())
        addrs.push_back(a);
    };
    for (const std::string& a : d.sending_addresses) add(a);
    if (d.from_postfix)
      for (const std::string& a : postfix_addresses) add(a);
    if (d.from_mx) {
      LookupResult mx = dns.Lookup(d.name, kTypeMx);
      if (mx.status != DnsStatus::kNoError && mx.status != DnsStatus::kNxDomain)
        o.errors.push_back("MX " + d.name + ": " + DnsStatusName(mx.status));
      for (const MxRecord& m : mx.answer.mx)
        if (m.exchange != ".")
          for (const std::string& a : Addresses(dns, m.exchange)) add(a);
    }
    for (const std::string& ip : addrs) {
      SpfRequest req;
      req.ip = ip;
      req.domain = d.name;
      o.spf.emplace_back(ip, CheckHost(req, dns));
    }
  }
  if (d.dkim) {
    for (const SelectorConfig& s : d.dkim_selectors) {
      SelectorOutcome so;
      so.selector = s.name;
      std::vector<std::string> txt;
      if (Txt(dns, s.name + "._domainkey." + d.name, &txt, &o)) {
        so.key = ParseDkimRecords(txt);
      } else {
        so.key.problem = "lookup failed";
      }
      if (!s.private_key_file.empty()) {
        auto pub =
            PublicKeyOfPrivateKeyFile(s.private_key_file, &so.local_error);
        so.matches_local = pub && so.key.valid && *pub == so.key.public_der;
      }
      o.dkim.push_back(std::move(so));
    }
  }
  if (d.dmarc) {
    std::vector<std::string> txt;
    o.dmarc_checked = Txt(dns, "_dmarc." + d.name, &txt, &o);
    if (o.dmarc_checked) o.dmarc = ParseDmarcRecords(txt);
  }
  if (d.tlsrpt) {
    std::vector<std::string> txt;
    o.tlsrpt_checked = Txt(dns, "_smtp._tls." + d.name, &txt, &o);
    if (o.tlsrpt_checked) o.tlsrpt = ParseTlsRptRecords(txt);
  }
  if (d.mta_sts) CheckMtaSts(d, dns, fetch, deadline, &o);
  if (d.dane) CheckDane(d, dns, dane, deadline, &o);
  return o;
}

MailauthRun RunMailauth(const MailauthConfig& cfg, Clock::time_point deadline) {
  MailauthRun run;
  run.domains.resize(cfg.domains.size());
  // Postfix's sending addresses, read once for the domains that use them,
  // with at most a quarter of the run.
  std::vector<std::string> postfix_addresses;
  std::string postfix_error;
  if (std::any_of(
          cfg.domains.begin(), cfg.domains.end(),
          [](const DomainConfig& d) { return d.from_postfix && d.spf; })) {
    const Clock::time_point now = Clock::now();
    auto params = postconf::ReadPostconf(
        cfg.postconf, {"smtp_bind_address", "smtp_bind_address6"},
        now + std::max(deadline - now, Clock::duration::zero()) / 4);
    if (!params.ok()) {
      postfix_error = "from_postfix: " + params.status().message();
    } else {
      postfix_addresses = postconf::BindAddresses(*params);
      if (postfix_addresses.empty())
        postfix_error =
            "from_postfix: smtp_bind_address and smtp_bind_address6 are empty";
    }
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&] {
    BatchDns dns(cfg.resolvers, deadline);
    FetchOptions fetch;
    fetch.ca_file = cfg.ca_file;
    fetch.port = cfg.mta_sts_port;
    DaneOptions dane;
    dane.port = cfg.smtp_port;
    for (size_t i = next++; i < cfg.domains.size(); i = next++) {
      run.domains[i] = CheckDomain(cfg.domains[i], dns, fetch, deadline, dane,
                                   postfix_addresses);
      if (cfg.domains[i].from_postfix && !postfix_error.empty())
        run.domains[i].errors.push_back(postfix_error);
    }
    std::lock_guard<std::mutex> l(mu);
    run.queries += dns.queries();
  };
  const size_t n = std::min(cfg.workers, cfg.domains.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  if (n > 0) worker();
  for (auto& t : threads) t.join();
  return run;
}

}  // namespace mailhealth::mailauth
