#include "diagnosis/report.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "daemon/landing_page.h"

namespace mailhealth::diagnosis {
namespace {

const char* Colour(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "\033[32m";
    case Verdict::kSkip:
      return "\033[2m";
    case Verdict::kWarn:
      return "\033[33m";
    case Verdict::kFail:
      return "\033[1;31m";
  }
  return "";
}

std::string Tag(Verdict v, bool color) {
  std::string t = VerdictName(v);
  t.resize(5, ' ');
  if (!color) return t;
  return Colour(v) + t + "\033[0m";
}

std::string Utc(WallTime t) {
  if (t.time_since_epoch().count() == 0) return "never";
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string Seconds3(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

std::string Lower(const char* s) {
  std::string o = s;
  for (char& c : o) c = static_cast<char>(std::tolower(c));
  return o;
}

}  // namespace

std::string RenderText(const Report& rep, bool color) {
  const std::string overall = VerdictName(rep.overall);
  std::string out =
      "mailhealth_exporter check: " +
      (color ? Colour(rep.overall) + overall + "\033[0m" : overall) +
      " (exit " + std::to_string(rep.ExitCode()) + ")\n";
  if (const Finding* f = rep.First()) {
    out += "first: " + std::string(VerdictName(f->verdict)) + " " + f->title +
           ": " + f->evidence + "\n";
  }
  out += "\n";
  for (const SectionReport& s : rep.sections) {
    out += Tag(s.verdict, color) + " " + SectionTitle(s.section);
    if (!s.summary.empty()) out += ": " + s.summary;
    out += "\n";
    for (const Finding& f : s.findings) {
      out += "      " + Tag(f.verdict, color) + " " + f.title + ": " +
             f.evidence + "\n";
      for (const auto& c : f.commands) out += "            $ " + c + "\n";
    }
  }
  out += "\ncollectors:";
  for (const CollectorRun& r : rep.runs) {
    out += " " + r.name + " " +
           (!r.ran      ? "not run"
            : r.success ? "ok"
                        : "failed: " + r.error) +
           " (" + Seconds3(r.duration_seconds) + ");";
  }
  if (!out.empty() && out.back() == ';') out.pop_back();
  out += "\n";
  if (!rep.not_judged.empty()) {
    out += "judged by Prometheus only (history or its own scrape):";
    for (const auto& a : rep.not_judged) out += " " + a;
    out += "\n";
  }
  return out;
}

std::string RenderJson(const Report& rep) {
  using nlohmann::json;
  auto finding = [](const Finding& f) {
    json j = {{"verdict", VerdictName(f.verdict)},
              {"alert", f.rule->alert},
              {"title", f.title},
              {"evidence", f.evidence},
              {"value", f.value},
              {"labels", f.labels},
              {"commands", f.commands}};
    if (!f.explained_by.empty()) j["explained_by"] = f.explained_by;
    return j;
  };
  json j;
  j["verdict"] = VerdictName(rep.overall);
  j["exit_code"] = rep.ExitCode();
  if (const Finding* f = rep.First()) j["first"] = finding(*f);
  j["sections"] = json::array();
  for (const SectionReport& s : rep.sections) {
    json js = {{"section", SectionTitle(s.section)},
               {"collector", SectionCollector(s.section)},
               {"verdict", VerdictName(s.verdict)},
               {"summary", s.summary},
               {"findings", json::array()}};
    for (const Finding& f : s.findings) js["findings"].push_back(finding(f));
    j["sections"].push_back(js);
  }
  j["collectors"] = json::array();
  for (const CollectorRun& r : rep.runs) {
    j["collectors"].push_back({{"collector", r.name},
                               {"ran", r.ran},
                               {"success", r.success},
                               {"error", r.error},
                               {"detail", r.detail},
                               {"duration_seconds", r.duration_seconds},
                               {"finished", Utc(r.finished)}});
  }
  j["not_judged"] = rep.not_judged;
  return j.dump(2) + "\n";
}

namespace {

// The page head (style sheet) and its heading with the overall verdict.
std::string HtmlHead(const Report& rep) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\">\n"
         "<title>mailhealth: " +
         std::string(VerdictName(rep.overall)) +
         "</title>\n<style>\n"
         "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60em;"
         "padding:0.5em 1em;line-height:1.4;color:#222;background:#fafafa}\n"
         "h1{font-size:1.4em;margin:0.3em 0}h2{font-size:1.1em;margin:1.2em 0 "
         "0.4em}\n"
         ".v{display:inline-block;min-width:3.2em;text-align:center;"
         "font-weight:bold;border-radius:4px;padding:0 0.3em;color:#fff}\n"
         ".OK{background:#2e7d32}.WARN{background:#ef8f00}.FAIL{background:"
         "#c62828}.SKIP{background:#888}\n"
         ".sec{background:#fff;border:1px solid #ddd;border-radius:6px;"
         "margin:0.5em 0;padding:0.5em 0.7em}\n"
         ".sec.FAILs{border-left:6px solid #c62828}.sec.WARNs{border-left:6px "
         "solid #ef8f00}\n"
         ".f{margin:0.4em 0 0.2em 0.5em}.ev{overflow-wrap:anywhere}\n"
         "pre{background:#272822;color:#f8f8f2;padding:0.4em 0.6em;"
         "border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;"
         "margin:0.3em 0;font-size:0.9em}\n"
         "table{border-collapse:collapse;width:100%;font-size:0.9em;"
         "background:#fff}td,th{border:1px solid #ddd;padding:0.25em "
         "0.4em;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n"
         "th{white-space:nowrap;overflow-wrap:normal}\n"
         "@media (max-width:40em){table,tr,td,th{display:block;width:auto}"
         "tr{margin-bottom:0.5em}th{display:none}td{border:none;"
         "padding:0.1em 0.3em}}\n"
         ".first{font-size:1.05em;background:#fff3f3;border:1px solid "
         "#e0b4b4;border-radius:6px;padding:0.5em 0.7em}\n"
         "</style></head>\n<body>\n<h1>mailhealth: <span class=\"v " +
         std::string(VerdictName(rep.overall)) + "\">" +
         VerdictName(rep.overall) + "</span></h1>\n";
}

// The line under the heading (time, version, links to `p`, the escaped
// telemetry path, and the page's own) and the first finding.
std::string HtmlIntro(const Report& rep, const PageInfo& page,
                      const std::string& p) {
  std::string h;
  h += "<p>Diagnosis of this mail host from the collectors' latest runs, at " +
       Utc(page.now) + " (mailhealth_exporter " + HtmlEscape(page.version) +
       "). <a href=\"" + p + "\">Metrics</a>";
  for (const auto& [href, text] : page.links)
    h += " &middot; <a href=\"" + HtmlEscape(href) + "\">" + HtmlEscape(text) +
         "</a>";
  h += "</p>\n";
  if (const Finding* f = rep.First()) {
    h += "<p class=\"first\" id=\"first\">First: <span class=\"v " +
         std::string(VerdictName(f->verdict)) + "\">" +
         VerdictName(f->verdict) + "</span> <b>" + HtmlEscape(f->title) +
         "</b>: " + HtmlEscape(f->evidence) + "</p>\n";
  }
  return h;
}

// One box per troubleshooting section, with its findings and commands.
std::string HtmlSections(const Report& rep) {
  std::string h;
  for (const SectionReport& s : rep.sections) {
    const std::string v = VerdictName(s.verdict);
    h += "<div class=\"sec " + v + "s\" id=\"" +
         Lower(SectionCollector(s.section)) + "-" +
         std::to_string(static_cast<int>(s.section)) + "\"><span class=\"v " +
         v + "\">" + v + "</span> <b>" + HtmlEscape(SectionTitle(s.section)) +
         "</b>";
    if (!s.summary.empty()) h += ": " + HtmlEscape(s.summary);
    for (const Finding& f : s.findings) {
      const std::string fv = VerdictName(f.verdict);
      h += "\n<div class=\"f\"><span class=\"v " + fv + "\">" + fv +
           "</span> <b>" + HtmlEscape(f.title) + "</b>: <span class=\"ev\">" +
           HtmlEscape(f.evidence) + "</span>";
      if (!f.commands.empty()) {
        h += "\n<pre>";
        for (const auto& c : f.commands) h += "$ " + HtmlEscape(c) + "\n";
        h += "</pre>";
      }
      h += "</div>";
    }
    h += "</div>\n";
  }
  return h;
}

// The collectors' table, the alerts not judged here and the footer (`p`:
// the escaped telemetry path).
std::string HtmlRunsAndFooter(const Report& rep, const std::string& p) {
  std::string h;
  h += "<h2>Collectors</h2>\n<table>\n<tr><th>collector</th><th>last "
       "run</th><th>status</th><th>duration</th><th>detail / error</th></tr>\n";
  for (const CollectorRun& r : rep.runs) {
    const std::string st = !r.ran ? "not run yet" : r.success ? "ok" : "failed";
    h += "<tr><td>" + HtmlEscape(r.name) + "</td><td>" + Utc(r.finished) +
         "</td><td>" + st + "</td><td>" + Seconds3(r.duration_seconds) +
         "</td><td>" + HtmlEscape(r.detail) +
         (r.error.empty() ? "" : " <b>" + HtmlEscape(r.error) + "</b>") +
         "</td></tr>\n";
  }
  h += "</table>\n";
  if (!rep.not_judged.empty()) {
    h += "<p><small>Judged by Prometheus only (history or its own scrape):";
    for (const auto& a : rep.not_judged) h += " " + HtmlEscape(a);
    h += ".</small></p>\n";
  }
  h += "<p><small>The same verdicts as <code>mailhealth_exporter "
       "check</code>; <a href=\"" +
       p + "\">" + p +
       "</a>, <a href=\"/-/healthy\">/-/healthy</a>, <a "
       "href=\"/-/ready\">/-/ready</a>.</small></p>\n</body></html>\n";
  return h;
}

}  // namespace

std::string RenderHtml(const Report& rep, const PageInfo& page) {
  const std::string p = HtmlEscape(page.telemetry_path);
  return HtmlHead(rep) + HtmlIntro(rep, page, p) + HtmlSections(rep) +
         HtmlRunsAndFooter(rep, p);
}

}  // namespace mailhealth::diagnosis
