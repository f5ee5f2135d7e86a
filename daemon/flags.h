// Command-line flags, Prometheus style: --name=value or --name value,
// boolean flags bare, --collector.NAME / --no-collector.NAME.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.h"
#include "exporter/status.h"

namespace mailhealth {

struct Flags {
  std::string config_file = "/etc/mailhealth/mailhealth.yml";
  bool config_file_given = false;
  bool config_check = false;
  // --web.listen-address, repeatable; {":9732"} when never given.
  std::vector<std::string> listen_addresses;
  // --web.systemd-socket: serve on the sockets systemd passes instead.
  bool systemd_socket = false;
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool allow_root = false;
  std::string runas_user;  // --runas.user: drop to this user after binding
  bool version = false;
  bool help = false;
  CollectorOverrides collector_overrides;
};

// Parses argv (without argv[0]). Errors name the offending flag.
Result<Flags> ParseFlags(const std::vector<std::string>& args);

// --help text; lists the registered collectors and their defaults.
std::string UsageText(const CollectorRegistry& registry);

}  // namespace mailhealth
