// The TLS half of the web config (tls_server_config in exporter-toolkit's
// format): an OpenSSL server context on a boost::asio::ssl::context, used
// by the HTTP server for every HTTPS connection. OpenSSL is linked
// directly (libssl3), nothing is loaded at run time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace mailhealth {

struct TlsServerConfig {
  std::string cert_file;  // absolute after loading
  std::string key_file;
  std::string client_ca_file;  // "" = none
  // NoClientCert, RequestClientCert, RequireAnyClientCert,
  // VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type = "NoClientCert";
  std::vector<std::string> client_allowed_sans;
  std::string min_version = "TLS12";  // TLS10, TLS11, TLS12, TLS13
  std::string max_version = "TLS13";
  std::vector<std::string> cipher_suites;      // OpenSSL names; TLS <= 1.2
  std::vector<std::string> curve_preferences;  // OpenSSL group names
  bool prefer_server_cipher_suites = true;
};

// Configures an OpenSSL server context (`ssl_ctx` is an SSL_CTX*) from the
// TLS section: loads the certificate chain, the key (and checks they
// match), the client CA, versions, ciphers, curves and the client
// certificate policy. Errors name the file and OpenSSL's reason.
Status ConfigureTlsContext(void* ssl_ctx, const TlsServerConfig& tls);

// A fresh server context configured as above; the HTTP server shares it
// between all connections (OpenSSL contexts are thread-safe once set up).
Result<std::shared_ptr<boost::asio::ssl::context>> BuildTlsContext(
    const TlsServerConfig& tls);

// Go/IANA cipher suite name -> OpenSSL name, for TLS 1.2 and below.
std::optional<std::string> OpensslCipherName(const std::string& iana);

// Index of "TLS10".."TLS13" (4 for anything else).
int TlsVersionIndex(const std::string& v);

}  // namespace mailhealth
