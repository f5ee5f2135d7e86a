#include "collectors/queue/queue_config.h"

#include <algorithm>
#include <cctype>

#include "collectors/postconf/postfix_instances.h"

namespace mailhealth {
namespace {

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

QueueConfig ParseQueueConfig(ConfigNode& s) {
  QueueConfig c;
  c.postqueue = s.String("postqueue", c.postqueue);
  c.postconf = s.String("postconf", c.postconf);
  c.format = s.Enum("format", c.format, {"auto", "json", "text"});
  c.config_directory = s.String("config_directory", c.config_directory);
  c.queue_directory = s.String("queue_directory", c.queue_directory);
  postconf::ParseInstancesKey(s, &c.instances_auto, &c.instances);
  c.domains = s.StringList("domains", c.domains);
  c.local_services = s.StringList("local_services", c.local_services);
  c.method = s.Enum("method", c.method, {"auto", "postqueue", "spool"});
  c.detail_interval = s.Duration("detail_interval", c.detail_interval);
  c.spool_stat = s.String("spool_stat", c.spool_stat);
  c.spool_stat_socket = s.String("spool_stat_socket", c.spool_stat_socket);
  if (!c.spool_stat_socket.empty() && !IsAbsolute(c.spool_stat_socket)) {
    s.Error("spool_stat_socket", "must be empty or an absolute path, got \"" +
                                     c.spool_stat_socket + "\"");
  }
  if (c.detail_interval < Millis(1000)) {
    s.Error("detail_interval", "must be at least 1s");
  }
  if (!c.spool_stat.empty() && !IsAbsolute(c.spool_stat)) {
    s.Error("spool_stat",
            "must be empty or an absolute path, got \"" + c.spool_stat + "\"");
  }
  if (c.method == "postqueue" && s.Has("detail_interval")) {
    s.Warning("detail_interval",
              "has no effect with method postqueue (postqueue runs every "
              "interval)");
  }
  if (!IsAbsolute(c.postqueue)) {
    s.Error("postqueue",
            "must be an absolute path, got \"" + c.postqueue + "\"");
  }
  if (!c.postconf.empty() && !IsAbsolute(c.postconf)) {
    s.Error("postconf",
            "must be empty or an absolute path, got \"" + c.postconf + "\"");
  }
  if (!c.config_directory.empty() && !IsAbsolute(c.config_directory)) {
    s.Error("config_directory", "must be empty or an absolute path, got \"" +
                                    c.config_directory + "\"");
  }
  if (!IsAbsolute(c.queue_directory)) {
    s.Error("queue_directory",
            "must be an absolute path, got \"" + c.queue_directory + "\"");
  }
  std::vector<std::string> seen;
  for (std::string& d : c.domains) {
    for (char& ch : d)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (d.empty() || d.find_first_of("@ \t") != std::string::npos) {
      s.Error("domains", "\"" + d + "\" is not a domain name");
    } else if (d == "other") {
      s.Error("domains", "\"other\" is reserved for the remaining domains");
    } else if (std::find(seen.begin(), seen.end(), d) != seen.end()) {
      s.Error("domains", "duplicate domain \"" + d + "\"");
    }
    seen.push_back(d);
  }
  for (const std::string& e : c.local_services) {
    if (e.empty() || e.find_first_of(" \t") != std::string::npos) {
      s.Error("local_services",
              "\"" + e + "\" is not an endpoint (host:port or a socket path)");
    }
  }
  return c;
}

}  // namespace mailhealth
