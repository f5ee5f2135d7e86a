// The --web.config.file: TLS, basic auth and response headers for the HTTP
// server, in the format of Prometheus' exporter-toolkit, so that a file
// written for node_exporter or blackbox_exporter works unchanged:
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: to the file's folder
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12
//   http_server_config:
//     headers: { Strict-Transport-Security: max-age=31536000 }
//   basic_auth_users:
//     prometheus: $2y$10$...         # bcrypt hash
//
// Unknown keys are errors with file:line (like the toolkit's strict YAML).
// The file is read and checked once, at start: certificate, key and CA are
// loaded into an OpenSSL context then, so a bad file stops the exporter
// with exit 1 instead of failing the first scrape. SIGHUP does not re-read
// it (restart to rotate certificates).
//
// This file parses the YAML; web_tls.h builds the TLS context and
// basic_auth.h checks passwords. WebConfig is a value.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/basic_auth.h"
#include "daemon/http_server.h"
#include "exporter/status.h"
#include "daemon/web_tls.h"

namespace mailhealth {

struct WebConfig {
  std::string file;                                     // "" = no web config
  std::optional<TlsServerConfig> tls;                   // nullopt = plain HTTP
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt
  std::vector<std::pair<std::string, std::string>> headers;
};

// Parses and validates `yaml` (named `file` in errors); relative paths are
// resolved against `base_dir`. Does not touch the files it names.
Result<WebConfig> ParseWebConfig(const std::string& yaml,
                                 const std::string& file,
                                 const std::string& base_dir);

// Reads and parses `path`.
Result<WebConfig> LoadWebConfigFile(const std::string& path);

// Reads `path` (if not empty) and applies it to the server: TLS context and
// headers into `options`, a basic-auth filter on `server`. An error means
// the exporter must not start.
Status ApplyWebConfigFile(const std::string& path, HttpOptions* options,
                          HttpServer* server);

// Applies an already loaded config (TLS context is built here).
Status ApplyWebConfig(const WebConfig& config, HttpOptions* options,
                      HttpServer* server);

}  // namespace mailhealth
