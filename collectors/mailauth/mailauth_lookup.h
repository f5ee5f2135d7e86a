// One run of the mailauth collector: for each domain, SPF (the policy walk
// and check_host() per sending address), each DKIM selector's key record
// (and the local private key), DMARC and TLS-RPT, over the shared
// resolver library with one overall deadline. Domains run on up to
// `workers` threads, each with a DNS batch and an answer cache of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collectors/mailauth/dane.h"
#include "collectors/mailauth/mailauth_config.h"
#include "collectors/mailauth/mta_sts.h"
#include "collectors/mailauth/records.h"
#include "collectors/mailauth/spf.h"

namespace mailhealth::mailauth {

struct SelectorOutcome {
  std::string selector;
  DkimKey key;
  std::optional<bool> matches_local;  // only with private_key_file
  std::string local_error;            // the key file could not be used
};

// DANE state of one MX host.
struct DaneHost {
  std::string exchange;
  std::vector<TlsaRecord> records;  // at _25._tcp.EXCHANGE
  bool validated = false;           // AD bit of the TLSA answer
  // Only with records: addresses probed, those that completed the TLS
  // handshake after STARTTLS, and those whose chain matched a record.
  // matches = tls_done > 0 && matched == tls_done; with no handshake at all
  // (port 25 filtered, no STARTTLS) nothing is known about a match.
  size_t probed = 0;
  size_t tls_done = 0;
  size_t matched = 0;
  bool matches = false;
  std::string problem;  // why not all matched, for the debug log
};

struct DaneOptions {
  uint16_t port = 25;  // tests probe another port
  std::string helo = "localhost";
  // Each domain's STARTTLS probes end by then at the latest (and by the
  // run's deadline): where outbound port 25 is filtered a probe would
  // otherwise hold the worker until the run's deadline.
  Millis probe_timeout{10000};
};

struct DomainOutcome {
  std::string domain;
  bool spf_checked = false;
  SpfOutcome spf_walk;
  std::vector<std::pair<std::string, SpfOutcome>> spf;  // per address
  std::vector<SelectorOutcome> dkim;
  bool dmarc_checked = false;
  Dmarc dmarc;
  bool tlsrpt_checked = false;
  TlsRpt tlsrpt;
  bool mta_sts_checked = false;
  std::string sts_record_problem;  // "" when the TXT record is valid
  HttpsFetch sts_fetch;
  StsPolicy sts_policy;
  bool sts_valid = false;
  // Each MX host of the domain and whether a policy mx pattern matches it
  // (only when a valid policy was fetched).
  std::vector<std::pair<std::string, bool>> sts_mx;
  bool dane_checked = false;
  std::vector<DaneHost> dane;  // per MX host whose TLSA lookup answered
  // Records looked up but not answered (timeout, SERVFAIL...): "TXT
  // _dmarc.example.com: timeout".
  std::vector<std::string> errors;
};

struct MailauthRun {
  std::vector<DomainOutcome> domains;
  size_t queries = 0;  // DNS queries sent (cache hits not counted)
};

// An SpfDns over a DnsBatch of `resolvers`, answering repeated questions
// from a cache for the life of the object. Lookups after `deadline`
// report a timeout. TLSA queries are sent with the AD bit set
// (DnsBatchOptions::request_ad) so that a validating resolver says whether
// it validated the answer.
class BatchDns : public SpfDns {
 public:
  BatchDns(const std::vector<ResolverAddress>& resolvers,
           Clock::time_point deadline);
  ~BatchDns() override;
  LookupResult Lookup(const std::string& name, uint16_t qtype) override;
  size_t queries() const { return queries_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t queries_ = 0;
};

MailauthRun RunMailauth(const MailauthConfig& config,
                        Clock::time_point deadline);

// The checks of one domain over `dns` (exposed for tests).
DomainOutcome CheckDomain(
    const DomainConfig& d, SpfDns& dns, const FetchOptions& fetch = {},
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(10),
    const DaneOptions& dane = {},
    const std::vector<std::string>& postfix_addresses = {});

}  // namespace mailhealth::mailauth
