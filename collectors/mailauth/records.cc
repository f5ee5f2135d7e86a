#include "collectors/mailauth/records.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <memory>

#include "exporter/strings.h"

namespace mailhealth::mailauth {
namespace {

using std::string;
using std::string_view;

const string* Tag(const std::vector<std::pair<string, string>>& tags,
                  const char* name) {
  for (const auto& [k, v] : tags)
    if (k == name) return &v;
  return nullptr;
}

std::optional<string> Base64Decode(const string& in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

bool StartsWithTag(string_view rec, string_view v) {
  // "v=DMARC1" then ';' or the end, spaces allowed around '='.
  rec = TrimSpace(rec);
  if (rec.size() < 2 || (rec[0] != 'v' && rec[0] != 'V')) return false;
  rec.remove_prefix(1);
  rec = TrimSpace(rec);
  if (rec.empty() || rec[0] != '=') return false;
  rec.remove_prefix(1);
  rec = TrimSpace(rec);
  if (rec.substr(0, v.size()) != v) return false;
  rec.remove_prefix(v.size());
  rec = TrimSpace(rec);
  return rec.empty() || rec[0] == ';';
}

}  // namespace

std::optional<std::vector<std::pair<string, string>>> ParseTagList(
    string_view text, bool strip_value_whitespace) {
  std::vector<std::pair<string, string>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    if (semi == string_view::npos) semi = text.size();
    string_view spec = TrimSpace(text.substr(pos, semi - pos));
    pos = semi + 1;
    if (spec.empty()) {
      if (semi >= text.size()) break;
      continue;
    }
    size_t eq = spec.find('=');
    if (eq == string_view::npos) return std::nullopt;
    string name = AsciiLower(TrimSpace(spec.substr(0, eq)));
    if (name.empty()) return std::nullopt;
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
        return std::nullopt;
    string value(TrimSpace(spec.substr(eq + 1)));
    if (strip_value_whitespace) {
      string v;
      for (char c : value)
        if (!std::isspace(static_cast<unsigned char>(c))) v += c;
      value = v;
    }
    for (const auto& [k, v] : out)
      if (k == name) return std::nullopt;  // duplicate tag
    out.emplace_back(std::move(name), std::move(value));
    if (semi >= text.size()) break;
  }
  return out;
}

DkimKey ParseDkimRecords(const std::vector<string>& records) {
  DkimKey k;
  if (records.empty()) {
    k.problem = "no key record";
    return k;
  }
  if (records.size() > 1) {
    k.problem = std::to_string(records.size()) + " TXT records at the selector";
    return k;
  }
  auto tags = ParseTagList(records[0], true);
  if (!tags) {
    k.problem = "not a tag list";
    return k;
  }
  if (!tags->empty() && (*tags)[0].first == "v" &&
      (*tags)[0].second != "DKIM1") {
    k.problem = "v= is not DKIM1";
    return k;
  }
  for (size_t i = 1; i < tags->size(); ++i) {
    if ((*tags)[i].first == "v") {
      k.problem = "v= is not the first tag";
      return k;
    }
  }
  const string* kt = Tag(*tags, "k");
  k.key_type = kt ? AsciiLower(*kt) : "rsa";
  const string* p = Tag(*tags, "p");
  if (!p) {
    k.problem = "no p= tag";
    return k;
  }
  if (p->empty()) {
    k.revoked = true;
    k.problem = "key revoked (empty p=)";
    return k;
  }
  auto der = Base64Decode(*p);
  if (!der) {
    k.problem = "p= is not base64";
    return k;
  }
  if (k.key_type == "ed25519") {
    if (der->size() != 32) {
      k.problem = "ed25519 key is not 32 bytes";
      return k;
    }
    k.bits = 256;
    k.public_der = *der;
    k.valid = true;
    return k;
  }
  if (k.key_type != "rsa") {
    k.problem = "unknown key type k=" + k.key_type;
    return k;
  }
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      d2i_PUBKEY(nullptr, &q, static_cast<long>(der->size())));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    k.problem = "p= is not an RSA public key";
    return k;
  }
  k.bits = EVP_PKEY_get_bits(key.get());
  k.public_der = *der;
  k.valid = true;
  return k;
}

std::optional<string> PublicKeyOfPrivateKeyFile(const string& path,
                                                string* error) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!key) {
    *error = path + " is not a PEM private key";
    return std::nullopt;
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_ED25519) {
    string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(
            key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) !=
        1) {
      *error = "cannot derive the ed25519 public key of " + path;
      return std::nullopt;
    }
    raw.resize(len);
    return raw;
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key.get(), &der);
  if (n <= 0) {
    *error = "cannot derive the public key of " + path;
    return std::nullopt;
  }
  string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

namespace {

// The tags of the one record among `records` that starts "v=VERSION";
// nullopt with `problem` when there is none, more than one, or it is not a
// tag list starting with v=.
std::optional<std::vector<std::pair<string, string>>> OneVersionedRecord(
    const std::vector<string>& records, const char* version, string* problem) {
  const string v = string("v=") + version;
  std::vector<const string*> found;
  for (const string& r : records)
    if (StartsWithTag(r, version)) found.push_back(&r);
  if (found.empty()) {
    *problem = "no " + v + " record";
    return std::nullopt;
  }
  if (found.size() > 1) {
    *problem = std::to_string(found.size()) + " " + v + " records";
    return std::nullopt;
  }
  auto tags = ParseTagList(*found[0], false);
  if (!tags || tags->empty() || (*tags)[0].first != "v") {
    *problem = "not a tag list starting with " + v;
    return std::nullopt;
  }
  return tags;
}

}  // namespace

const char* DmarcPolicyName(DmarcPolicy p) {
  switch (p) {
    case DmarcPolicy::kNone:
      return "none";
    case DmarcPolicy::kQuarantine:
      return "quarantine";
    case DmarcPolicy::kReject:
      return "reject";
    case DmarcPolicy::kMissing:
      break;
  }
  return "missing";
}

Dmarc ParseDmarcRecords(const std::vector<string>& records) {
  Dmarc d;
  auto tags = OneVersionedRecord(records, "DMARC1", &d.problem);
  if (!tags) return d;
  const string* p = Tag(*tags, "p");
  if (!p) {
    d.problem = "no p= tag";
    return d;
  }
  const string pl = AsciiLower(*p);
  if (pl == "none") {
    d.policy = DmarcPolicy::kNone;
  } else if (pl == "quarantine") {
    d.policy = DmarcPolicy::kQuarantine;
  } else if (pl == "reject") {
    d.policy = DmarcPolicy::kReject;
  } else {
    d.problem = "p=" + *p + " is not none, quarantine or reject";
    return d;
  }
  if (const string* pct = Tag(*tags, "pct")) {
    int v = -1;
    auto [ptr, ec] = std::from_chars(pct->data(), pct->data() + pct->size(), v);
    if (ec != std::errc() || ptr != pct->data() + pct->size() || v < 0 ||
        v > 100) {
      d.problem = "pct=" + *pct + " is not 0-100";
      d.policy = DmarcPolicy::kMissing;
      return d;
    }
    d.pct = v;
  }
  if (const string* rua = Tag(*tags, "rua")) d.rua = !TrimSpace(*rua).empty();
  d.valid = true;
  return d;
}

TlsRpt ParseTlsRptRecords(const std::vector<string>& records) {
  TlsRpt t;
  auto tags = OneVersionedRecord(records, "TLSRPTv1", &t.problem);
  if (!tags) return t;
  const string* rua = Tag(*tags, "rua");
  if (!rua || TrimSpace(*rua).empty()) {
    t.problem = "no rua= tag";
    return t;
  }
  // rua = URI *("," URI), each mailto: or https:.
  string_view v = *rua;
  while (!v.empty()) {
    size_t comma = v.find(',');
    string uri = AsciiLower(TrimSpace(v.substr(0, comma)));
    if (uri.rfind("mailto:", 0) != 0 && uri.rfind("https:", 0) != 0) {
      t.problem = "rua URI \"" + uri + "\" is neither mailto: nor https:";
      return t;
    }
    if (comma == string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  t.valid = true;
  return t;
}

}  // namespace mailhealth::mailauth
