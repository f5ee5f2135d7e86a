#include "collectors/reputation/reputation_metrics.h"

namespace mailhealth::reputation {
namespace {

constexpr char kListed[] = "mailhealth_dnsbl_listed";
constexpr char kReturnCode[] = "mailhealth_dnsbl_return_code";
constexpr char kLookupStatus[] = "mailhealth_dnsbl_lookup_status";
constexpr char kListings[] = "mailhealth_dnsbl_listings";
constexpr char kPtrRecords[] = "mailhealth_reverse_dns_ptr_records";
constexpr char kForwardConfirmed[] = "mailhealth_reverse_dns_forward_confirmed";
constexpr char kMatchesExpected[] = "mailhealth_reverse_dns_matches_expected";

constexpr char kHelpListed[] =
    "1 when the zone lists the address (an answer among the zone's listed "
    "codes and no error code), 0 otherwise, also when the lookup failed.";
constexpr char kHelpReturnCode[] =
    "1 for each 127.x code the zone answered for the address (every A "
    "record, at most 16).";
constexpr char kHelpLookupStatus[] =
    "1 for the outcome of the zone's lookup of the address, 0 for the "
    "others: listed, not_listed, error_blocked_resolver, error_rate_limited, "
    "error_rewritten (an answer outside 127.0.0.0/8), timeout, servfail, "
    "refused, other.";
constexpr char kHelpListings[] =
    "Configured zones that list the address (or the domain, on domain "
    "lists).";
constexpr char kHelpPtr[] = "PTR records of the address (0 when none).";
constexpr char kHelpFcrdns[] =
    "1 when a PTR name of the address resolves back to the address "
    "(forward-confirmed reverse DNS).";
constexpr char kHelpMatches[] =
    "1 when a PTR name of the address is the expected name (expect_ptr, or "
    "Postfix's myhostname with from_postfix).";

enum FamilyIndex {
  kIdxListed,
  kIdxReturnCode,
  kIdxStatus,
  kIdxListings,
  kIdxPtr,
  kIdxFcrdns,
  kIdxMatches,
};

}  // namespace

size_t SeriesPerAddress(size_t zones) {
  return zones * (1 + kLookupStatusCount) + 4;
}

Families BuildReputationFamilies(const ReputationRun& run, Millis interval) {
  auto help = [interval](const char* h) { return SampledHelp(h, interval); };
  Families f;
  f.push_back(Gauge(kListed, help(kHelpListed)));
  f.push_back(Gauge(kReturnCode, help(kHelpReturnCode)));
  f.push_back(Gauge(kLookupStatus, help(kHelpLookupStatus)));
  f.push_back(Gauge(kListings, help(kHelpListings)));
  f.push_back(Gauge(kPtrRecords, help(kHelpPtr)));
  f.push_back(Gauge(kForwardConfirmed, help(kHelpFcrdns)));
  f.push_back(Gauge(kMatchesExpected, help(kHelpMatches)));
  for (const AddressOutcome& a : run.addresses) {
    int listings = 0;
    for (size_t z = 0; z < a.zones.size() && z < run.zones.size(); ++z) {
      if (!a.zones[z].applies) continue;
      const Classification& c = a.zones[z].result;
      const Labels base = {{"zone", run.zones[z]}, {"address", a.address}};
      AddSample(f[kIdxListed], base, c.listed ? 1 : 0);
      listings += c.listed ? 1 : 0;
      for (const std::string& code : c.codes) {
        Labels l = base;
        l.emplace_back("code", code);
        AddSample(f[kIdxReturnCode], l, 1);
      }
      for (LookupStatus s : kAllLookupStatuses) {
        Labels l = base;
        l.emplace_back("status", LookupStatusName(s));
        AddSample(f[kIdxStatus], l, s == c.status ? 1 : 0);
      }
    }
    const Labels addr = {{"address", a.address}};
    AddSample(f[kIdxListings], addr, listings);
    if (a.domain) continue;  // no reverse DNS for a domain name
    AddSample(f[kIdxPtr], addr, static_cast<double>(a.ptr_names.size()));
    AddSample(f[kIdxFcrdns], addr, a.forward_confirmed ? 1 : 0);
    if (a.matches_expected) {
      AddSample(f[kIdxMatches], addr, *a.matches_expected ? 1 : 0);
    }
  }
  return f;
}

}  // namespace mailhealth::reputation
