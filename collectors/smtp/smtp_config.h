// The smtp collector's configuration: a typed struct and its parser, no
// I/O (so --config.check can build it). Errors are recorded on the
// section (file, line, key); the framework counts them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectors/smtpprobe/smtp_protocol.h"
#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace mailhealth::smtp {

// Upper bounds that keep the series count (and the file descriptors of one
// run) bounded whatever the config and the DNS say.
inline constexpr size_t kSmtpMaxTargets = 256;
inline constexpr size_t kSmtpMaxAddressesPerTarget = 16;
inline constexpr size_t kSmtpMaxProbes = 512;

struct SmtpConfig {
  std::string helo;  // "" = the machine's host name (gethostname, no DNS)
  bool starttls = true;
  std::vector<std::string> resolvers;
  std::vector<SmtpTarget> targets;
  std::string ca_file;  // not a config key: tests point it at their own CA
};

// Reads helo, starttls and resolvers (the keys the collector shares with a
// /probe smtp module) into `c`.
void ParseSmtpDialogKeys(ConfigNode& section, SmtpConfig& c);

// Reads every key of the smtp section. Errors go to `section`; a collector
// built from a config with errors is discarded by the framework.
SmtpConfig ParseSmtpConfig(ConfigNode& section,
                           const CollectorSettings& settings);

}  // namespace mailhealth::smtp
