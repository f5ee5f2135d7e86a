// The queue collector's configuration: a typed struct with defaults and
// its parser (no I/O: --config.check builds every collector without
// running it). Errors go to the section (file, line, key); the framework
// discards the collector of a section with errors.
#pragma once

#include <string>
#include <vector>

#include "exporter/config_node.h"
#include "exporter/duration.h"

namespace mailhealth {

struct QueueConfig {
  std::string postqueue = "/usr/sbin/postqueue";
  // Read each run for the local delivery endpoints (mailbox_transport,
  // virtual_transport, local_transport, mailbox_command); "" = do not.
  std::string postconf = "/usr/sbin/postconf";
  std::string format = "auto";  // auto | json | text
  // The default instance: "" or absolute (passed as -c DIR), and its
  // queue directory. Other instances' come from postconf.
  std::string config_directory;
  std::string queue_directory = "/var/spool/postfix";
  // `instances: auto` (true): the default instance plus every directory in
  // its multi_instance_directories, read every run. A list: exactly those
  // config directories (the default one, if listed, is "postfix").
  bool instances_auto = true;
  std::vector<std::string> instances;
  // Not a key: the postfix_instance this config is collected as (in the
  // log lines of its instance).
  std::string instance_name = "postfix";
  std::vector<std::string> domains;
  std::vector<std::string> local_services = {"127.0.0.1:10024"};
  std::string method = "auto";  // auto | postqueue | spool
  Millis detail_interval{300000};
  // "" = no helper: walk the spool directly (needs read access to it).
  std::string spool_stat = "/usr/lib/mailhealth/mailhealth-spool-stat";
  // The same helper behind systemd's socket activation
  // (deploy/systemd/mailhealth-spool-stat.socket), used when it exists;
  // "" = never.
  std::string spool_stat_socket = "/run/mailhealth-spool-stat.sock";
};

QueueConfig ParseQueueConfig(ConfigNode& section);

}  // namespace mailhealth
