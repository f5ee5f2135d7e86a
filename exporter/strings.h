// Small string helpers shared by the framework and the collectors (one home,
// so they are not written again in every parser). Pure, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace mailhealth {

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// ASCII case-insensitive substring search; `needle_lower` must be lower case.
bool ContainsI(std::string_view hay, std::string_view needle_lower);

// A TCP/UDP port, 1-65535, decimal digits only ("25", not "+25" or "025x").
bool ParsePort(std::string_view s, uint16_t* port);

}  // namespace mailhealth
