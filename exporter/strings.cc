#include "exporter/strings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mailhealth {

bool ContainsI(std::string_view hay, std::string_view needle_lower) {
  if (needle_lower.size() > hay.size()) return false;
  auto it = std::search(hay.begin(), hay.end(), needle_lower.begin(),
                        needle_lower.end(),
                        [](char a, char b) { return AsciiLower(a) == b; });
  return it != hay.end();
}

bool ValidDomainName(std::string_view n) {
  if (n.empty() || n == "." || n.size() > 253) return false;
  size_t label = 0;
  for (char c : n) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_')) {
      return false;
    }
    if (++label > 63) return false;
  }
  return label > 0;
}

bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace mailhealth
