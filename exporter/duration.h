// Prometheus-style durations: "500ms", "30s", "5m", "1h30m", "1d", "1w", "1y".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mailhealth {

using Millis = std::chrono::milliseconds;

// Parses a Prometheus duration (units y, w, d, h, m, s, ms; largest first;
// "0" alone is allowed). Returns nullopt on any malformed input.
std::optional<Millis> ParseDuration(std::string_view text);

// Formats a duration the way Prometheus prints it ("1m30s", "500ms", "0s").
std::string FormatDuration(Millis d);

// Seconds as a double, for metric values.
inline double Seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace mailhealth
