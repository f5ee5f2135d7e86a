#include "daemon/landing_page.h"

#include <algorithm>
#include <ctime>

namespace mailhealth {

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string LandingPage(
    const std::string& version, const std::string& telemetry_path,
    const std::vector<std::shared_ptr<const Snapshot>>& in) {
  auto snaps = in;
  std::sort(snaps.begin(), snaps.end(), [](const auto& a, const auto& b) {
    return a->collector < b->collector;
  });
  std::string p = HtmlEscape(telemetry_path);
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
      "<title>mailhealth_exporter</title></head>\n<body>\n"
      "<h1>mailhealth_exporter</h1>\n<p>Version " +
      HtmlEscape(version) +
      ". Prometheus exporter for the health of a Postfix mail system.</p>\n"
      "<p><a href=\"" +
      p + "\">Metrics</a> (" + p +
      ")</p>\n"
      "<h2>Collectors</h2>\n<table border=\"1\" cellpadding=\"4\">\n"
      "<tr><th>collector</th><th>status</th><th>detail</th><th>last run</th>"
      "<th>duration</th><th>error</th></tr>\n";
  for (const auto& s : snaps) {
    std::string when = "never";
    if (s->finished.time_since_epoch().count() != 0) {
      std::time_t t = std::chrono::system_clock::to_time_t(s->finished);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
      when = buf;
    }
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3fs", s->duration_seconds);
    h += "<tr><td>" + HtmlEscape(s->collector) + "</td><td>" +
         (s->success ? "ok" : "failing") + "</td><td>" + HtmlEscape(s->detail) +
         "</td><td>" + when + "</td><td>" + dur + "</td><td>" +
         HtmlEscape(s->error) + "</td></tr>\n";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

}  // namespace mailhealth
