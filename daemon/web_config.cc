#include "daemon/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporter/config_node.h"
#include "exporter/logging.h"

namespace mailhealth {
namespace {

const std::vector<std::string> kClientAuthTypes = {
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
    "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
const std::vector<std::string> kTlsVersions = {"TLS10", "TLS11", "TLS12",
                                               "TLS13"};
int VersionIndex(const std::string& v) { return TlsVersionIndex(v); }
// Go's curve names (crypto/tls) -> OpenSSL group names.
const std::vector<std::pair<std::string, std::string>> kCurves = {
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"}};
// The headers exporter-toolkit lets a web config set; anything else is an
// error there, and so here.
const std::vector<std::string> kAllowedHeaders = {
    "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
    "X-XSS-Protection", "Content-Security-Policy"};

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

bool IsBcrypt(const std::string& h) {
  // $2a$ / $2b$ / $2y$, two-digit cost 04..31, 53 characters of salt+hash.
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' ||
      h[6] != '$') {
    return false;
  }
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(h.begin() + 7, h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

// Go/IANA cipher suite name -> OpenSSL name, for TLS 1.2 and below.
bool HasControlChars(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

void ParseTls(ConfigNode& tls, const std::string& base_dir, WebConfig* out) {
  TlsServerConfig t;
  t.cert_file = tls.String("cert_file", "");
  t.key_file = tls.String("key_file", "");
  t.client_ca_file = tls.String("client_ca_file", "");
  t.client_auth_type =
      tls.Enum("client_auth_type", "NoClientCert", kClientAuthTypes);
  t.client_allowed_sans = tls.StringList("client_allowed_sans", {});
  t.min_version = tls.Enum("min_version", "TLS12", kTlsVersions);
  t.max_version = tls.Enum("max_version", "TLS13", kTlsVersions);
  t.prefer_server_cipher_suites = tls.Bool("prefer_server_cipher_suites", true);
  for (const char* inline_key : {"cert", "key", "client_ca"}) {
    if (tls.Has(inline_key)) {
      tls.String(inline_key, "");
      tls.Error(inline_key, std::string("inline PEM is not supported; use ") +
                                inline_key + "_file");
    }
  }
  for (const std::string& name : tls.StringList("cipher_suites", {})) {
    auto openssl = OpensslCipherName(name);
    if (!openssl) {
      tls.Error("cipher_suites", "unknown TLS 1.2 cipher suite \"" + name +
                                     "\" (use IANA names, e.g. "
                                     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    } else {
      t.cipher_suites.push_back(*openssl);
    }
  }
  for (const std::string& name : tls.StringList("curve_preferences", {})) {
    auto it = std::find_if(kCurves.begin(), kCurves.end(),
                           [&](const auto& c) { return c.first == name; });
    if (it == kCurves.end()) {
      tls.Error("curve_preferences",
                "unknown curve \"" + name +
                    "\" (one of: CurveP256, CurveP384, CurveP521, X25519)");
    } else {
      t.curve_preferences.push_back(it->second);
    }
  }
  tls.Finish();

  if (t.cert_file.empty() && t.key_file.empty()) {
    tls.Error("", "missing cert_file and key_file");
    return;
  }
  if (t.cert_file.empty()) tls.Error("", "missing cert_file");
  if (t.key_file.empty()) tls.Error("", "missing key_file");
  const bool verifies = t.client_auth_type == "VerifyClientCertIfGiven" ||
                        t.client_auth_type == "RequireAndVerifyClientCert";
  if (!t.client_ca_file.empty() && t.client_auth_type == "NoClientCert") {
    tls.Error("client_ca_file",
              "client CA configured without a client_auth_type that uses it");
  }
  if (verifies && t.client_ca_file.empty()) {
    tls.Error("client_auth_type", t.client_auth_type + " needs client_ca_file");
  }
  if (!t.client_allowed_sans.empty() &&
      t.client_auth_type != "RequireAndVerifyClientCert") {
    tls.Error("client_allowed_sans",
              "needs client_auth_type RequireAndVerifyClientCert");
  }
  if (VersionIndex(t.min_version) > VersionIndex(t.max_version)) {
    tls.Error("min_version", "is above max_version " + t.max_version);
  }
  t.cert_file = Resolve(base_dir, t.cert_file);
  t.key_file = Resolve(base_dir, t.key_file);
  t.client_ca_file = Resolve(base_dir, t.client_ca_file);
  out->tls = std::move(t);
}

void ParseHeaders(ConfigNode& headers, WebConfig* out) {
  for (const std::string& name : headers.Keys()) {
    std::string value = headers.String(name, "");
    if (std::find(kAllowedHeaders.begin(), kAllowedHeaders.end(), name) ==
        kAllowedHeaders.end()) {
      headers.Error(name, "HTTP header \"" + name +
                              "\" can not be configured (allowed: "
                              "Strict-Transport-Security, "
                              "X-Content-Type-Options, X-Frame-Options, "
                              "X-XSS-Protection, Content-Security-Policy)");
      continue;
    }
    std::string lower = value;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (name == "X-Content-Type-Options" && lower != "nosniff") {
      headers.Error(name, "must be nosniff");
      continue;
    }
    if (name == "X-Frame-Options" && lower != "deny" && lower != "sameorigin") {
      headers.Error(name, "must be deny or sameorigin");
      continue;
    }
    if (value.empty() || HasControlChars(value)) {
      headers.Error(name, "empty value or control characters");
      continue;
    }
    out->headers.emplace_back(name, value);
  }
}

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& yaml,
                                 const std::string& file,
                                 const std::string& base_dir) {
  Result<YAML::Node> parsed = ParseYamlDocument(yaml, file);
  if (!parsed.ok()) return parsed.status();
  const YAML::Node& root = *parsed;
  ConfigErrors errors;
  WebConfig out;
  out.file = file;
  ConfigNode top(root, "", file, &errors);

  ConfigNode tls = top.Child("tls_server_config");
  if (tls.present()) ParseTls(tls, base_dir, &out);

  ConfigNode http = top.Child("http_server_config");
  http.Bool("http2", true);  // accepted; the server speaks HTTP/1.1 only
  ConfigNode headers = http.Child("headers");
  ParseHeaders(headers, &out);
  http.Finish();

  ConfigNode users = top.Child("basic_auth_users");
  for (const std::string& user : users.Keys()) {
    std::string hash = users.String(user, "");
    if (user.empty() || user.find(':') != std::string::npos ||
        HasControlChars(user)) {
      users.Error(user, "invalid user name (no ':' or control characters)");
      continue;
    }
    if (!IsBcrypt(hash)) {
      users.Error(user,
                  "not a bcrypt hash (want $2y$/$2b$/$2a$ and 60 characters, "
                  "e.g. from `htpasswd -nBC 10 USER`)");
      continue;
    }
    out.basic_auth_users[user] = hash;
  }
  top.Finish();
  if (!errors.empty()) return Status::Error(errors.Joined());
  return out;
}

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::Error(path +
                         ": cannot read web config: " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir;
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = path.substr(0, slash);
    if (dir.empty()) dir = "/";
  } else {
    dir = ".";
  }
  return ParseWebConfig(ss.str(), path, dir);
}

Status ApplyWebConfig(const WebConfig& config, HttpOptions* options,
                      HttpServer* server) {
  if (config.tls) {
    // Built now, so a bad file stops the start before the port is opened.
    auto ctx = BuildTlsContext(*config.tls);
    if (!ctx.ok()) {
      return Status::Error(config.file + ": " + ctx.status().message());
    }
    options->tls_context = *ctx;
  }
  options->headers = config.headers;
  if (!config.basic_auth_users.empty()) {
    auto auth = std::make_shared<BasicAuth>(config.basic_auth_users);
    server->SetFilter(
        [auth](const HttpRequest& req) -> std::optional<HttpResponse> {
          if (auth->Check(req.authorization)) return std::nullopt;
          return HttpResponse{
              401,
              "text/plain; charset=utf-8",
              {{"WWW-Authenticate", "Basic realm=\"mailhealth_exporter\""}},
              "Unauthorized\n"};
        },
        // A bcrypt (~50 ms) runs on the slow pool, never on the I/O loop.
        [auth](const HttpRequest& req) {
          return auth->IsCheap(req.authorization);
        });
  }
  return Status::Ok();
}

Status ApplyWebConfigFile(const std::string& path, HttpOptions* options,
                          HttpServer* server) {
  if (path.empty()) return Status::Ok();
  auto config = LoadWebConfigFile(path);
  if (!config.ok()) return config.status();
  Status st = ApplyWebConfig(*config, options, server);
  if (!st.ok()) return st;
  LogInfo(
      "web config loaded",
      {{"file", path},
       {"tls", config->tls ? "true" : "false"},
       {"basic_auth_users", std::to_string(config->basic_auth_users.size())}});
  return Status::Ok();
}

}  // namespace mailhealth