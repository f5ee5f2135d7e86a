#include "exporter/duration.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace mailhealth {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Order matters: Prometheus requires units from largest to smallest, each at
// most once. "ms" is listed before "m" so that the longest suffix wins.
constexpr Unit kUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},       {"h", 3600LL * 1000},
    {"m", 60LL * 1000},              {"s", 1000},
    {"ms", 1},
};

}  // namespace

std::optional<Millis> ParseDuration(std::string_view text) {
  if (text == "0") return Millis(0);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int last_unit = -1;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > std::numeric_limits<int64_t>::max() / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t start = i;
    while (i < text.size() && (text[i] < '0' || text[i] > '9')) ++i;
    std::string_view suffix = text.substr(start, i - start);
    int unit = -1;
    for (int u = 0; u < static_cast<int>(std::size(kUnits)); ++u) {
      if (kUnits[u].name == suffix) unit = u;
    }
    // Units must appear once each, largest first ("1h30m", not "30m1h").
    if (unit < 0 || unit <= last_unit) return std::nullopt;
    last_unit = unit;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[unit].ms) {
      return std::nullopt;
    }
    int64_t add = n * kUnits[unit].ms;
    if (total > std::numeric_limits<int64_t>::max() - add) return std::nullopt;
    total += add;
  }
  return Millis(total);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace mailhealth
