// Reads Postfix parameters with `postconf -h NAME...` and master.cf
// service settings with `postconf -P` (no shell, argv[0]
// an absolute path), killed at `deadline`. A library shared by the
// collectors that read Postfix's sending addresses (reputation, mailauth);
// it does not link the queue collector's process runner (collectors do not
// depend on each other).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exporter/collector.h"
#include "exporter/status.h"

namespace mailhealth::postconf {

// How to call postconf: `-c config_dir` when not empty (another Postfix
// instance), `-x` to expand `$name` references (syslog_name's default is
// `${multi_instance_name?{$multi_instance_name}:{postfix}}`).
struct PostconfOptions {
  std::string config_dir;
  bool expand = false;
};

// name -> value ("" for an empty parameter). Fails when postconf cannot be
// run, exits non-zero (its stderr in the message) or misses the deadline.
// Runs `postconf [-c DIR] [-x] -h NAME...`.
Result<std::map<std::string, std::string>> ReadPostconf(
    const std::string& postconf, const std::vector<std::string>& names,
    Clock::time_point deadline, const PostconfOptions& options = {});

// One master.cf service's setting of a parameter (`-o NAME=VALUE`).
struct ServiceParameter {
  std::string service;  // "submission"
  std::string type;     // "inet"
  std::string value;    // "postfix/submission"
};

// Every master.cf service's own setting of PARAMETER, in master.cf order:
// `postconf [-c DIR] [-x] -P '*/*/PARAMETER'`. Fails as ReadPostconf.
Result<std::vector<ServiceParameter>> ReadServiceParameter(
    const std::string& postconf, const std::string& parameter,
    Clock::time_point deadline, const PostconfOptions& options = {});

// The addresses of smtp_bind_address / smtp_bind_address6 values
// (Postfix allows one address each; a value that is not an IP literal is
// skipped), canonical, IPv4 first.
std::vector<std::string> BindAddresses(
    const std::map<std::string, std::string>& params);

}  // namespace mailhealth::postconf
