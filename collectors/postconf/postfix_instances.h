// The Postfix instances of a host (postmulti, issue #15), read through
// postconf every time it is called, so an instance created later appears
// on the next run. Shared by the queue and log collectors.
#pragma once

#include <string>
#include <vector>

#include "exporter/collector.h"
#include "exporter/config_node.h"
#include "exporter/status.h"

namespace mailhealth::postconf {

struct PostfixInstance {
  // "postfix" for the default instance; else its multi_instance_name (if
  // empty: the config dir's basename).
  std::string name;
  // "" for the default instance (postconf/postqueue without -c; the
  // default_config_dir given to DiscoverInstances when there is one), else
  // absolute.
  std::string config_directory;
  std::string queue_directory;  // postconf -h queue_directory
  std::string syslog_name;      // postconf -xh syslog_name ("postfix-out")
  bool enabled = true;          // multi_instance_enable (default: true)
  // Not empty when this instance's postconf failed (its message); the
  // other fields but name and config_directory are then empty.
  std::string error;
};

// config_directories empty = auto: the default instance (read with
// `-c default_config_dir` if given, else no -c) plus every directory in its
// `multi_instance_directories`. Non-empty = exactly those config dirs (the
// default config dir, if listed, is the "postfix" instance). An instance
// whose postconf fails is returned with `error` set, not dropped (when the
// default instance fails in auto mode, only it is returned). Fails only
// when postconf is not an absolute path.
Result<std::vector<PostfixInstance>> DiscoverInstances(
    const std::string& postconf, const std::string& default_config_dir,
    const std::vector<std::string>& config_directories,
    Clock::time_point deadline);

// multi_instance_directories' value split on blanks and commas.
std::vector<std::string> SplitDirectoryList(const std::string& value);

// The `instances` key of a collector section: `auto` (the default; *all
// true) or a non-empty list of absolute config directories, no duplicates
// (trailing slashes dropped). Errors go to the section.
void ParseInstancesKey(ConfigNode& section, bool* all,
                       std::vector<std::string>* dirs);

}  // namespace mailhealth::postconf
