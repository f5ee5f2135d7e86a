// MTA-STS (RFC 8461): the _mta-sts TXT record, the policy fetched over
// HTTPS from https://mta-sts.DOMAIN/.well-known/mta-sts.txt (certificate
// and host name validated, no redirects followed, at most 64 KiB), and
// whether the domain's MX hosts match the policy's mx patterns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/mailauth/spf.h"

namespace mailhealth::mailauth {

inline constexpr size_t kMaxPolicyBytes = 64 * 1024;

enum class StsMode : uint8_t { kEnforce, kTesting, kNone, kMissing };
inline constexpr StsMode kAllStsModes[] = {StsMode::kEnforce, StsMode::kTesting,
                                           StsMode::kNone, StsMode::kMissing};
const char* StsModeName(StsMode m);

struct StsPolicy {
  bool valid = false;
  StsMode mode = StsMode::kMissing;
  int64_t max_age = 0;
  std::vector<std::string> mx;  // patterns, lower case
  std::string problem;
};

// The policy text (RFC 8461 3.2): version STSv1, mode, max_age (0 to
// 31557600), mx patterns (at least one unless mode is none).
StsPolicy ParseStsPolicy(std::string_view text);

// One TXT record "v=STSv1; id=..." among `records`; "" when valid, else why.
std::string CheckStsRecord(const std::vector<std::string>& records);

// RFC 8461 4.1: "mail.example.com" matches itself, "*.example.com" matches
// exactly one more label on the left.
bool StsMxMatches(std::string_view pattern, std::string_view host);

struct HttpsFetch {
  bool connected = false;
  bool cert_presented = false;
  bool cert_valid = false;     // chain and host name
  int64_t cert_not_after = 0;  // Unix seconds
  int status = 0;              // HTTP status
  std::string content_type;
  std::string body;
  std::string problem;  // "" when a 200 text/plain body within the cap came
};

struct FetchOptions {
  std::string ca_file;  // "": the system's CAs
  uint16_t port = 443;
};

// GET https://HOST/.well-known/mta-sts.txt at each address until one
// connects, by `deadline`.
HttpsFetch FetchStsPolicy(const std::string& host,
                          const std::vector<std::string>& addresses,
                          const FetchOptions& options,
                          Clock::time_point deadline);

}  // namespace mailhealth::mailauth
