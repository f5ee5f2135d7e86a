// The log collector's configuration: a typed struct with defaults and its
// parser (no I/O: --config.check builds every collector without running
// it). Errors go to the section (file, line, key); the framework discards
// the collector of a section with errors.
#pragma once

#include <string>
#include <vector>

#include "collectors/log/log_parser.h"
#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace mailhealth::log {

inline constexpr int64_t kMaxRules = 100;

struct LogConfig {
  std::string source = "auto";  // auto | file | journal
  std::string path = "/var/log/mail.log";
  bool from_beginning = false;
  std::vector<std::string> units{"postfix.service", "postfix@-.service"};
  std::string journal_directory;
  // Extra syslog names of Postfix: "NAME" (its own instance name) or
  // "NAME=INSTANCE" (lines of NAME/... count for postfix_instance INSTANCE).
  std::vector<std::string> syslog_names;
  // Which syslog name is which Postfix instance, from the live
  // configuration (postconf, at the first run and every
  // kInstanceRefresh): `instances: auto` (the default instance and its
  // multi_instance_directories) or a list of config directories; postconf
  // "" = never ask (then NAME/... is instance NAME).
  std::string postconf = "/usr/sbin/postconf";
  bool instances_auto = true;
  std::vector<std::string> instances;
  std::vector<Rule> rules;
  Millis silence_threshold{30 * 60 * 1000};
  std::vector<std::string> probe_helos;  // default: the host name
};

LogConfig ParseLogConfig(ConfigNode& section,
                         const CollectorSettings& settings);

}  // namespace mailhealth::log
