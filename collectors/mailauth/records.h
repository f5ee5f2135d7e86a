// DKIM key records (RFC 6376 3.6.1, RFC 8463), DMARC records (RFC 7489
// 6.3) and TLS-RPT records (RFC 8460 3): pure parsing of the TXT strings
// (already joined per record), no I/O. Keys are decoded with OpenSSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailhealth::mailauth {

// "k=rsa; p=MIIB..." -> {"k": "rsa", "p": "MIIB..."}: tag names lower
// case, values with folding whitespace removed. nullopt on a syntax error
// or a duplicate tag.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseTagList(
    std::string_view text, bool strip_value_whitespace);

struct DkimKey {
  bool valid = false;      // parsed, key decoded, not revoked
  bool revoked = false;    // p= empty
  std::string key_type;    // "rsa", "ed25519"
  int bits = 0;            // RSA modulus bits; 256 for ed25519
  std::string public_der;  // SubjectPublicKeyInfo DER (rsa) or raw (ed25519)
  std::string problem;     // why not valid
};

// Of the TXT records at SELECTOR._domainkey.DOMAIN (0 records: "no key
// record"; more than one: ambiguous, invalid).
DkimKey ParseDkimRecords(const std::vector<std::string>& records);

// The public half of a private key file (PEM, as opendkim-genkey or
// `openssl genrsa` write it), in the form of DkimKey::public_der; nullopt
// with `error` set when the file cannot be read or parsed.
std::optional<std::string> PublicKeyOfPrivateKeyFile(const std::string& path,
                                                     std::string* error);

enum class DmarcPolicy : uint8_t { kNone, kQuarantine, kReject, kMissing };
inline constexpr DmarcPolicy kAllDmarcPolicies[] = {
    DmarcPolicy::kNone, DmarcPolicy::kQuarantine, DmarcPolicy::kReject,
    DmarcPolicy::kMissing};
const char* DmarcPolicyName(DmarcPolicy p);

struct Dmarc {
  bool valid = false;
  DmarcPolicy policy = DmarcPolicy::kMissing;
  int pct = 100;
  bool rua = false;  // aggregate reports requested (rua= with a URI)
  std::string problem;
};

// Of the TXT records at _dmarc.DOMAIN: exactly one starting "v=DMARC1".
Dmarc ParseDmarcRecords(const std::vector<std::string>& records);

struct TlsRpt {
  bool valid = false;
  std::string problem;
};

// Of the TXT records at _smtp._tls.DOMAIN: exactly one "v=TLSRPTv1" with
// rua= of mailto: or https: URIs.
TlsRpt ParseTlsRptRecords(const std::vector<std::string>& records);

}  // namespace mailhealth::mailauth
