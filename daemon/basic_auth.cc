// Basic auth for the web config's basic_auth_users (see basic_auth.h):
// bcrypt via libxcrypt, a cache of successful checks.
#include "daemon/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace mailhealth {
namespace {

struct CryptDataDeleter {
  void operator()(crypt_data* d) const {
    // The buffer held the phrase; clear it before freeing.
    OPENSSL_cleanse(d, sizeof(crypt_data));
    delete d;
  }
};

std::string Sha256(const std::string& in) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up in
  // its providers on every call, half the cost of a cache hit.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_Digest(in.data(), in.size(), md, &len,
             sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

bool CheckCryptHash(const std::string& password, const std::string& hash) {
  if (password.find('\0') != std::string::npos || password.size() > 4096) {
    return false;
  }
  std::unique_ptr<crypt_data, CryptDataDeleter> data(new crypt_data());
  const char* out =
      crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return false;
  const size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

std::optional<std::string> DecodeBase64(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string s = in;
  size_t pad = 0;
  while (!s.empty() && s.back() == '=' && pad < 2) {
    s.pop_back();
    ++pad;
  }
  if (s.size() % 4 == 1) return std::nullopt;
  if (pad > 0 && (s.size() + pad) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(
    const std::string& header) {
  size_t start = header.find_first_not_of(" \t");
  if (start == std::string::npos || header.size() - start < 6) {
    return std::nullopt;
  }
  std::string scheme = header.substr(start, 5);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "basic" ||
      (header[start + 5] != ' ' && header[start + 5] != '\t')) {
    return std::nullopt;
  }
  size_t b = header.find_first_not_of(" \t", start + 5);
  if (b == std::string::npos) return std::nullopt;
  size_t e = header.find_last_not_of(" \t");
  auto decoded = DecodeBase64(header.substr(b, e - b + 1));
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

std::string BasicAuth::CacheKey(const std::string& user,
                                const std::string& hash,
                                const std::string& password) const {
  std::string key = user;
  key.push_back('\0');
  key += hash;
  key.push_back('\0');
  key += password;
  return Sha256(key);
}

bool BasicAuth::IsCheap(const std::string& authorization_header) const {
  if (users_.empty()) return true;
  auto creds = ParseBasicAuthorization(authorization_header);
  if (!creds) return true;  // refused without bcrypt
  auto it = users_.find(creds->first);
  if (it == users_.end()) return false;
  std::string key = CacheKey(creds->first, it->second, creds->second);
  std::lock_guard<std::mutex> lock(mu_);
  return ok_cache_.count(key) != 0;
}

bool BasicAuth::Check(const std::string& authorization_header) {
  if (users_.empty()) return true;
  auto creds = ParseBasicAuthorization(authorization_header);
  if (!creds) return false;
  const auto& [user, password] = *creds;
  auto it = users_.find(user);
  const bool known = it != users_.end();
  // An unknown user is checked against a real hash too (same cost), so a
  // client cannot tell users that exist from the time a 401 takes.
  const std::string& hash = known ? it->second : users_.begin()->second;
  const std::string key = CacheKey(user, hash, password);
  if (known) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_cache_.count(key) != 0) return true;
  }
  const bool ok = CheckCryptHash(password, hash) && known;
  if (ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_cache_.size() >= kMaxCacheEntries) ok_cache_.clear();
    ok_cache_.insert(key);
  }
  return ok;
}

size_t BasicAuth::cache_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ok_cache_.size();
}

}  // namespace mailhealth
