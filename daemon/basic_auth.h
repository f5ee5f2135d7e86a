// The basic-auth half of the web config (basic_auth_users): bcrypt
// hashes checked with libxcrypt, a cache of successful checks.
//
// Thread-safety: BasicAuth is safe to share between threads.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

namespace mailhealth {

// True if the phrase matches the bcrypt (or any crypt(5)) `hash`, checked
// with libxcrypt and compared in constant time.
bool CheckCryptHash(const std::string& password, const std::string& hash);

// Decodes `Authorization: Basic base64(user:password)`. nullopt when the
// header is missing, of another scheme or malformed.
std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(
    const std::string& header);

// Standard base64 (RFC 4648, padding optional); nullopt on invalid input.
std::optional<std::string> DecodeBase64(const std::string& in);

// Basic-auth checker with a cache of successful checks, so that a scrape
// every few seconds costs one SHA-256 instead of one bcrypt (~50 ms at
// cost 10). Failures are never cached; an unknown user still costs one
// bcrypt, so timing does not reveal which users exist.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool Check(const std::string& authorization_header);
  // True when Check() would answer without running bcrypt: no users, or a
  // cached success. The HTTP server runs the other checks off its I/O
  // loop, so a flood of wrong passwords never delays a scrape.
  bool IsCheap(const std::string& authorization_header) const;
  size_t cache_size() const;

  static constexpr size_t kMaxCacheEntries = 256;

 private:
  std::string CacheKey(const std::string& user, const std::string& hash,
                       const std::string& password) const;

  std::map<std::string, std::string> users_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> ok_cache_;  // sha256(user, hash, password)
};

}  // namespace mailhealth
