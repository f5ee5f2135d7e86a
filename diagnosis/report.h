// The diagnosis as text (the terminal), JSON (scripts, Nagios wrappers)
// and HTML (the landing page). Pure functions of a Report.
#pragma once

#include <string>

#include "diagnosis/diagnosis.h"

namespace mailhealth::diagnosis {

// One section a line ("FAIL  Postfix running: ..."), each WARN and FAIL
// below it with its evidence and first commands ("    $ postfix status").
// `color`: ANSI colours for the verdicts (only on a terminal).
std::string RenderText(const Report& report, bool color);

// {"verdict":"FAIL","exit_code":2,"first":{...},"sections":[...],
//  "collectors":[...]}.
std::string RenderJson(const Report& report);

struct PageInfo {
  std::string version;
  std::string telemetry_path = "/metrics";
  WallTime now{};
  // Links shown beside /metrics (the probe endpoint's modules, later).
  std::vector<std::pair<std::string, std::string>> links;
};

// The landing page: the verdicts, evidence and commands, the collectors'
// last runs and errors, links. Plain HTML and CSS, no script; readable on
// a phone (one column under 40em).
std::string RenderHtml(const Report& report, const PageInfo& page);

}  // namespace mailhealth::diagnosis
