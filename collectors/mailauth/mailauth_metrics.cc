#include "collectors/mailauth/mailauth_metrics.h"

#include "exporter/metric_builder.h"

namespace mailhealth::mailauth {
namespace {

constexpr char kSpfResult[] = "mailhealth_spf_result";
constexpr char kSpfRecordValid[] = "mailhealth_spf_record_valid";
constexpr char kSpfRecords[] = "mailhealth_spf_records";
constexpr char kSpfLookups[] = "mailhealth_spf_dns_lookups";
constexpr char kSpfVoid[] = "mailhealth_spf_void_lookups";
constexpr char kDkimValid[] = "mailhealth_dkim_key_valid";
constexpr char kDkimBits[] = "mailhealth_dkim_key_bits";
constexpr char kDkimLocal[] = "mailhealth_dkim_key_matches_local";
constexpr char kDmarcValid[] = "mailhealth_dmarc_record_valid";
constexpr char kDmarcPolicy[] = "mailhealth_dmarc_policy";
constexpr char kDmarcPct[] = "mailhealth_dmarc_pct";
constexpr char kDmarcRua[] = "mailhealth_dmarc_rua_configured";
constexpr char kTlsRptValid[] = "mailhealth_tlsrpt_record_valid";
constexpr char kStsValid[] = "mailhealth_mta_sts_policy_valid";
constexpr char kStsMode[] = "mailhealth_mta_sts_mode";
constexpr char kStsMx[] = "mailhealth_mta_sts_mx_covered";
constexpr char kStsNotAfter[] =
    "mailhealth_mta_sts_cert_not_after_timestamp_seconds";
constexpr char kDaneRecords[] = "mailhealth_dane_tlsa_records";
constexpr char kDaneValidated[] = "mailhealth_dane_dnssec_validated";
constexpr char kDaneMatches[] = "mailhealth_dane_tlsa_matches";

double B(bool b) { return b ? 1 : 0; }

// One function per record group, each appending its families in the
// contract's order; the samples of every family follow the run's domain
// order, as one loop over the domains gave them.
void AddSpfFamilies(const MailauthRun& run, Millis interval, Families* f) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  auto spf_result = Gauge(
      kSpfResult,
      help("1 for the SPF result (RFC 7208 check_host) of mail from the "
           "sending address for the domain, 0 for the others: pass, fail, "
           "softfail, neutral, none, permerror, temperror."));
  auto spf_valid =
      Gauge(kSpfRecordValid,
            help("1 when the domain publishes exactly one v=spf1 record that "
                 "parses and stays within the lookup limits on every path."));
  auto spf_records = Gauge(
      kSpfRecords, help("v=spf1 TXT records at the domain (1 is right)."));
  auto spf_lookups = Gauge(
      kSpfLookups,
      help("DNS-querying terms (include, a, mx, ptr, exists, redirect) the "
           "policy uses on its longest path, includes counted; over 10 is a "
           "permerror for every receiver."));
  auto spf_void = Gauge(
      kSpfVoid,
      help("Void lookups (NXDOMAIN or no answer) of the policy's terms on "
           "its longest path; over 2 is a permerror."));
  for (const DomainOutcome& d : run.domains) {
    if (!d.spf_checked) continue;
    const Labels dl = {{"domain", d.domain}};
    const SpfResult w = d.spf_walk.result;
    AddSample(spf_valid, dl,
              B(d.spf_walk.records == 1 && w != SpfResult::kPermError &&
                w != SpfResult::kTempError && w != SpfResult::kNone));
    AddSample(spf_records, dl, d.spf_walk.records);
    AddSample(spf_lookups, dl, d.spf_walk.dns_lookups);
    AddSample(spf_void, dl, d.spf_walk.void_lookups);
    for (const auto& [ip, o] : d.spf)
      for (size_t r = 0; r < kSpfResultCount; ++r)
        AddSample(spf_result,
                  {{"domain", d.domain},
                   {"address", ip},
                   {"result", SpfResultName(SpfResult(r))}},
                  B(static_cast<size_t>(o.result) == r));
  }
  for (auto* fam :
       {&spf_result, &spf_valid, &spf_records, &spf_lookups, &spf_void})
    f->push_back(std::move(*fam));
}

void AddDkimFamilies(const MailauthRun& run, Millis interval, Families* f) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  auto dkim_valid =
      Gauge(kDkimValid,
            help("1 when SELECTOR._domainkey.DOMAIN holds one DKIM key record "
                 "that parses, with a key that decodes and is not revoked."));
  auto dkim_bits =
      Gauge(kDkimBits, help("Size of the DKIM public key in bits (0 when "
                            "there is no valid key)."));
  auto dkim_local = Gauge(
      kDkimLocal,
      help("1 when the published DKIM key is the public half of the "
           "selector's private_key_file (0: the signer and DNS disagree)."));
  for (const DomainOutcome& d : run.domains)
    for (const SelectorOutcome& s : d.dkim) {
      const Labels sl = {{"domain", d.domain}, {"selector", s.selector}};
      AddSample(dkim_valid, sl, B(s.key.valid));
      AddSample(dkim_bits, sl, s.key.valid ? s.key.bits : 0);
      if (s.matches_local) AddSample(dkim_local, sl, B(*s.matches_local));
    }
  for (auto* fam : {&dkim_valid, &dkim_bits, &dkim_local})
    f->push_back(std::move(*fam));
}

void AddDmarcFamilies(const MailauthRun& run, Millis interval, Families* f) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  auto dmarc_valid =
      Gauge(kDmarcValid,
            help("1 when _dmarc.DOMAIN holds exactly one v=DMARC1 record that "
                 "parses with a valid p=."));
  auto dmarc_policy =
      Gauge(kDmarcPolicy,
            help("1 for the domain's DMARC policy p=, 0 for the others: none, "
                 "quarantine, reject, missing (no valid record)."));
  auto dmarc_pct =
      Gauge(kDmarcPct, help("The DMARC record's pct= (100 when absent; 0 when "
                            "there is no valid record)."));
  auto dmarc_rua =
      Gauge(kDmarcRua,
            help("1 when the DMARC record asks for aggregate reports (rua=)."));
  auto tlsrpt =
      Gauge(kTlsRptValid,
            help("1 when _smtp._tls.DOMAIN holds exactly one v=TLSRPTv1 record "
                 "with rua= of mailto: or https: URIs."));
  for (const DomainOutcome& d : run.domains) {
    const Labels dl = {{"domain", d.domain}};
    if (d.dmarc_checked) {
      AddSample(dmarc_valid, dl, B(d.dmarc.valid));
      for (DmarcPolicy p : kAllDmarcPolicies)
        AddSample(dmarc_policy,
                  {{"domain", d.domain}, {"policy", DmarcPolicyName(p)}},
                  B(d.dmarc.policy == p));
      AddSample(dmarc_pct, dl, d.dmarc.valid ? d.dmarc.pct : 0);
      AddSample(dmarc_rua, dl, B(d.dmarc.valid && d.dmarc.rua));
    }
    if (d.tlsrpt_checked) AddSample(tlsrpt, dl, B(d.tlsrpt.valid));
  }
  for (auto* fam :
       {&dmarc_valid, &dmarc_policy, &dmarc_pct, &dmarc_rua, &tlsrpt})
    f->push_back(std::move(*fam));
}

void AddStsFamilies(const MailauthRun& run, Millis interval, Families* f) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  auto sts_valid = Gauge(
      kStsValid,
      help("1 when the domain's _mta-sts TXT record is valid and its policy "
           "was fetched over HTTPS (valid certificate, 200, text/plain, no "
           "redirect, at most 64 KiB) and parses."));
  auto sts_mode = Gauge(
      kStsMode, help("1 for the MTA-STS policy's mode, 0 for the others: "
                     "enforce, testing, none, missing (no valid policy)."));
  auto sts_mx = Gauge(
      kStsMx,
      help("1 when an mx pattern of the MTA-STS policy matches the MX host "
           "(0 under enforce: senders that honour the policy defer mail "
           "to it)."));
  auto sts_not_after =
      Gauge(kStsNotAfter,
            help("notAfter (Unix seconds) of the certificate mta-sts.DOMAIN "
                 "presented, exported also when it does not validate."));
  for (const DomainOutcome& d : run.domains) {
    if (!d.mta_sts_checked) continue;
    const Labels dl = {{"domain", d.domain}};
    AddSample(sts_valid, dl, B(d.sts_valid));
    const StsMode mode = d.sts_valid ? d.sts_policy.mode : StsMode::kMissing;
    for (StsMode m : kAllStsModes)
      AddSample(sts_mode, {{"domain", d.domain}, {"mode", StsModeName(m)}},
                B(m == mode));
    for (const auto& [mx, covered] : d.sts_mx)
      AddSample(sts_mx, {{"domain", d.domain}, {"exchange", mx}}, B(covered));
    if (d.sts_fetch.cert_presented)
      AddSample(sts_not_after, dl,
                static_cast<double>(d.sts_fetch.cert_not_after));
  }
  for (auto* fam : {&sts_valid, &sts_mode, &sts_mx, &sts_not_after})
    f->push_back(std::move(*fam));
}

void AddDaneFamilies(const MailauthRun& run, Millis interval, Families* f) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  auto dane_records = Gauge(
      kDaneRecords,
      help("TLSA records at _25._tcp.EXCHANGE of the domain's MX host (DANE, "
           "RFC 7672)."));
  auto dane_validated = Gauge(
      kDaneValidated,
      help("1 when the resolver validated the TLSA answer (or its denial) "
           "with DNSSEC (the AD bit); without it senders ignore the "
           "records."));
  auto dane_matches = Gauge(
      kDaneMatches,
      help("Only with TLSA records and a completed STARTTLS handshake: 1 "
           "when the chain every such address of the MX host presents "
           "matches a record (usage 2 or 3, selector 0 or 1, matching type "
           "0, 1 or 2); 0: DANE senders defer mail to it."));
  for (const DomainOutcome& d : run.domains)
    for (const DaneHost& h : d.dane) {
      const Labels hl = {{"domain", d.domain}, {"exchange", h.exchange}};
      AddSample(dane_records, hl, static_cast<double>(h.records.size()));
      AddSample(dane_validated, hl, B(h.validated));
      if (!h.records.empty() && h.tls_done > 0)
        AddSample(dane_matches, hl, B(h.matches));
    }
  for (auto* fam : {&dane_records, &dane_validated, &dane_matches})
    f->push_back(std::move(*fam));
}

}  // namespace

Families BuildMailauthFamilies(const MailauthRun& run, Millis interval) {
  Families f;
  AddSpfFamilies(run, interval, &f);
  AddDkimFamilies(run, interval, &f);
  AddDmarcFamilies(run, interval, &f);
  AddStsFamilies(run, interval, &f);
  AddDaneFamilies(run, interval, &f);
  return f;
}

}  // namespace mailhealth::mailauth
