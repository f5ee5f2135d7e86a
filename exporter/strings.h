// Small string helpers shared by the framework and the collectors (one home,
// so they are not written again in every parser). Pure, no allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailhealth {

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// ASCII lower case of `s` (allocates: for keys and names, not hot paths).
inline std::string AsciiLower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

// `s` without leading and trailing ASCII white space.
inline std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// ASCII lower case of one character.
inline char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive comparison (either side in any case).
inline bool EqualsI(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  return true;
}

inline bool StartsWithI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsI(s.substr(0, prefix.size()), prefix);
}

// ASCII case-insensitive substring search; `needle_lower` must be lower case.
bool ContainsI(std::string_view hay, std::string_view needle_lower);

// A domain name as written in a config (a mail domain, an MX host, a
// blocklist zone, a fence entry): dot-separated labels of letters, digits,
// '-' and '_', each 1 to 63 characters, 253 at most in all, without the
// trailing root dot. The one such check of the framework and the collectors.
bool ValidDomainName(std::string_view name);

// A TCP/UDP port, 1-65535, decimal digits only ("25", not "+25" or "025x").
bool ParsePort(std::string_view s, uint16_t* port);

}  // namespace mailhealth
