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
// Thread-safety: WebConfig is a value; BasicAuth is safe to share between
// civetweb's worker threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "exporter/http_server.h"
#include "exporter/status.h"

namespace mailhealth {

struct TlsServerConfig {
  std::string cert_file;       // absolute after loading
  std::string key_file;
  std::string client_ca_file;  // "" = none
  // NoClientCert, RequestClientCert, RequireAnyClientCert,
  // VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type = "NoClientCert";
  std::vector<std::string> client_allowed_sans;
  std::string min_version = "TLS12";  // TLS10, TLS11, TLS12, TLS13
  std::string max_version = "TLS13";
  std::vector<std::string> cipher_suites;  // IANA (Go) names; TLS <= 1.2
  std::vector<std::string> curve_preferences;  // CurveP256, X25519, ...
  bool prefer_server_cipher_suites = true;
};

struct WebConfig {
  std::string file;                       // "" = no web config
  std::optional<TlsServerConfig> tls;     // nullopt = plain HTTP
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

// Configures an OpenSSL server context (`ssl_ctx` is an SSL_CTX*) from the
// TLS section: loads the certificate chain, the key (and checks they
// match), the client CA, versions, ciphers, curves and the client
// certificate policy. Errors name the file and OpenSSL's reason.
Status ConfigureTlsContext(void* ssl_ctx, const TlsServerConfig& tls);

// A fresh SSL_CTX (owned by the pointer) configured as above: used at load
// to reject a bad file before the server starts.
Result<std::shared_ptr<void>> BuildTlsContext(const TlsServerConfig& tls);

// True if the phrase matches the bcrypt (or any crypt(5)) `hash`, checked
// with libxcrypt and compared in constant time.
bool CheckCryptHash(const std::string& password, const std::string& hash);

// Decodes `Authorization: Basic base64(user:password)`. nullopt when the
// header is missing, of another scheme or malformed.
std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(
    const std::string& header);

// Standard base64 (RFC 4648, padding optional); nullopt on invalid input.
std::optional<std::string> DecodeBase64(const std::string& in);

// Basic-auth checker with a cache of successful checks, so that a scrape
// every few seconds costs one SHA-256 instead of one bcrypt (~50 ms at
// cost 10). Failures are never cached; an unknown user still costs one
// bcrypt, so timing does not reveal which users exist.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool Check(const std::string& authorization_header);
  size_t cache_size() const;

  static constexpr size_t kMaxCacheEntries = 256;

 private:
  std::map<std::string, std::string> users_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> ok_cache_;  // sha256(user, hash, password)
};

// Reads `path` (if not empty) and applies it to the server: TLS context and
// headers into `options`, a basic-auth filter on `server`. An error means
// the exporter must not start.
Status ApplyWebConfigFile(const std::string& path, HttpOptions* options,
                          HttpServer* server);

// Applies an already loaded config (TLS context is built here).
Status ApplyWebConfig(const WebConfig& config, HttpOptions* options,
                      HttpServer* server);

}  // namespace mailhealth
