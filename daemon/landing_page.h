// The HTML page served at "/": name, version, each collector's last
// status (with its detail and error), and a link to the metrics.
#pragma once

#include <string>
#include <vector>

#include "daemon/snapshot_store.h"

namespace mailhealth {

std::string LandingPage(
    const std::string& version, const std::string& telemetry_path,
    const std::vector<std::shared_ptr<const Snapshot>>& snaps);

std::string HtmlEscape(const std::string& s);

}  // namespace mailhealth
