#include "exporter/web_config.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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

int VersionIndex(const std::string& v) {
  auto it = std::find(kTlsVersions.begin(), kTlsVersions.end(), v);
  return static_cast<int>(it - kTlsVersions.begin());
}

int OpensslVersion(const std::string& v) {
  switch (VersionIndex(v)) {
    case 0: return TLS1_VERSION;
    case 1: return TLS1_1_VERSION;
    case 2: return TLS1_2_VERSION;
    default: return TLS1_3_VERSION;
  }
}

std::string OpensslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

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
std::optional<std::string> OpensslCipherName(const std::string& iana) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) return std::nullopt;
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL");
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
  for (const std::string& want : {iana, iana + "_SHA256"}) {
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
      const char* std_name = SSL_CIPHER_standard_name(c);
      if (std_name != nullptr && want == std_name &&
          std::strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0) {
        return std::string(SSL_CIPHER_get_name(c));
      }
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

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
  t.prefer_server_cipher_suites =
      tls.Bool("prefer_server_cipher_suites", true);
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
    tls.Error("client_auth_type",
              t.client_auth_type + " needs client_ca_file");
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

struct CryptDataDeleter {
  void operator()(crypt_data* d) const {
    // The buffer held the phrase; clear it before freeing.
    OPENSSL_cleanse(d, sizeof(crypt_data));
    delete d;
  }
};

std::string Sha256(const std::string& in) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

// Index of the allowed SANs attached to an SSL_CTX (a heap vector, freed
// with the context).
void FreeSans(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::vector<std::string>*>(ptr);
}
int SansIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeSans);
  return index;
}

std::vector<std::string> CertSans(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS || n->type == GEN_EMAIL || n->type == GEN_URI) {
      const ASN1_IA5STRING* s = n->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       ASN1_STRING_length(s));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = n->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(ip);
      if (len == 4 || len == 16) {
        inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buf,
                  sizeof buf);
        out.emplace_back(buf);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Verification for the "Verify*" policies, plus client_allowed_sans on the
// leaf certificate.
int VerifyWithSans(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(
      store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* sans = static_cast<std::vector<std::string>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), SansIndex()));
  if (sans == nullptr || sans->empty()) return 1;
  for (const std::string& have : CertSans(X509_STORE_CTX_get_current_cert(store))) {
    if (std::find(sans->begin(), sans->end(), have) != sans->end()) return 1;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

// RequestClientCert / RequireAnyClientCert: ask for a certificate but do
// not verify it (as Go's crypto/tls does).
int AcceptAny(int, X509_STORE_CTX*) { return 1; }

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& yaml,
                                 const std::string& file,
                                 const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::Error(file + ":" + std::to_string(e.mark.line + 1) +
                         ": invalid YAML: " + e.msg);
  }
  ConfigErrors errors;
  WebConfig out;
  out.file = file;
  ConfigNode top(root, "", file, &errors);

  ConfigNode tls = top.Child("tls_server_config");
  if (tls.present()) ParseTls(tls, base_dir, &out);

  ConfigNode http = top.Child("http_server_config");
  http.Bool("http2", true);  // accepted; civetweb serves HTTP/1.1 only
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
    return Status::Error(path + ": cannot read web config: " +
                         std::strerror(errno));
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

Result<std::shared_ptr<void>> BuildTlsContext(const TlsServerConfig& t) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) {
    return Status::Error("cannot create TLS context: " + OpensslError());
  }
  std::shared_ptr<void> holder(
      raw, [](void* p) { SSL_CTX_free(static_cast<SSL_CTX*>(p)); });
  Status st = ConfigureTlsContext(raw, t);
  if (!st.ok()) return st;
  return holder;
}

Status ConfigureTlsContext(void* ssl_ctx, const TlsServerConfig& t) {
  ERR_clear_error();
  auto* raw = static_cast<SSL_CTX*>(ssl_ctx);
  auto* old = SSL_CTX_get_ex_data(raw, SansIndex());
  delete static_cast<std::vector<std::string>*>(old);
  SSL_CTX_set_ex_data(raw, SansIndex(),
                      new std::vector<std::string>(t.client_allowed_sans));
  SSL_CTX_set_min_proto_version(raw, OpensslVersion(t.min_version));
  SSL_CTX_set_max_proto_version(raw, OpensslVersion(t.max_version));
  uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (t.prefer_server_cipher_suites) {
    opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  } else {
    SSL_CTX_clear_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  SSL_CTX_set_options(raw, opts);
  static const unsigned char kSessionContext[] = "mailhealth";
  SSL_CTX_set_session_id_context(raw, kSessionContext,
                                 sizeof kSessionContext - 1);

  if (SSL_CTX_use_certificate_chain_file(raw, t.cert_file.c_str()) != 1) {
    return Status::Error("tls_server_config.cert_file " + t.cert_file +
                         ": cannot load certificate: " + OpensslError());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, t.key_file.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Status::Error("tls_server_config.key_file " + t.key_file +
                           " does not match cert_file " + t.cert_file);
    }
    return Status::Error("tls_server_config.key_file " + t.key_file +
                         ": cannot load private key: " + OpensslError());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return Status::Error("tls_server_config.key_file " + t.key_file +
                         " does not match cert_file " + t.cert_file + ": " +
                         OpensslError());
  }
  if (!t.cipher_suites.empty()) {
    std::string list;
    for (const auto& c : t.cipher_suites) list += (list.empty() ? "" : ":") + c;
    if (SSL_CTX_set_cipher_list(raw, list.c_str()) != 1) {
      return Status::Error("tls_server_config.cipher_suites: " +
                           OpensslError());
    }
  }
  if (!t.curve_preferences.empty()) {
    std::string list;
    for (const auto& c : t.curve_preferences) {
      list += (list.empty() ? "" : ":") + c;
    }
    if (SSL_CTX_set1_groups_list(raw, list.c_str()) != 1) {
      return Status::Error("tls_server_config.curve_preferences: " +
                           OpensslError());
    }
  }
  if (!t.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, t.client_ca_file.c_str(),
                                      nullptr) != 1) {
      return Status::Error("tls_server_config.client_ca_file " +
                           t.client_ca_file +
                           ": cannot load CA: " + OpensslError());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(raw, names);
  }
  const std::string& a = t.client_auth_type;
  if (a == "RequestClientCert") {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, AcceptAny);
  } else if (a == "RequireAnyClientCert") {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       AcceptAny);
  } else if (a == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, VerifyWithSans);
  } else if (a == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       VerifyWithSans);
  } else {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  ERR_clear_error();
  return Status::Ok();
}

bool CheckCryptHash(const std::string& password, const std::string& hash) {
  if (password.find('\0') != std::string::npos || password.size() > 4096) {
    return false;
  }
  std::unique_ptr<crypt_data, CryptDataDeleter> data(new crypt_data());
  const char* out =
      crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return false;
  const size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

std::optional<std::string> DecodeBase64(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string s = in;
  size_t pad = 0;
  while (!s.empty() && s.back() == '=' && pad < 2) {
    s.pop_back();
    ++pad;
  }
  if (s.size() % 4 == 1) return std::nullopt;
  if (pad > 0 && (s.size() + pad) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(
    const std::string& header) {
  size_t start = header.find_first_not_of(" \t");
  if (start == std::string::npos || header.size() - start < 6) {
    return std::nullopt;
  }
  std::string scheme = header.substr(start, 5);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "basic" || (header[start + 5] != ' ' && header[start + 5] != '\t')) {
    return std::nullopt;
  }
  size_t b = header.find_first_not_of(" \t", start + 5);
  if (b == std::string::npos) return std::nullopt;
  size_t e = header.find_last_not_of(" \t");
  auto decoded = DecodeBase64(header.substr(b, e - b + 1));
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuth::Check(const std::string& authorization_header) {
  if (users_.empty()) return true;
  auto creds = ParseBasicAuthorization(authorization_header);
  if (!creds) return false;
  const auto& [user, password] = *creds;
  auto it = users_.find(user);
  const bool known = it != users_.end();
  // An unknown user is checked against a real hash too (same cost), so a
  // client cannot tell users that exist from the time a 401 takes.
  const std::string& hash = known ? it->second : users_.begin()->second;
  std::string key = user;
  key.push_back('\0');
  key += hash;
  key.push_back('\0');
  key += password;
  key = Sha256(key);
  if (known) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_cache_.count(key) != 0) return true;
  }
  const bool ok = CheckCryptHash(password, hash) && known;
  if (ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_cache_.size() >= kMaxCacheEntries) ok_cache_.clear();
    ok_cache_.insert(key);
  }
  return ok;
}

size_t BasicAuth::cache_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ok_cache_.size();
}

Status ApplyWebConfig(const WebConfig& config, HttpOptions* options,
                      HttpServer* server) {
  if (config.tls) {
    // Checked now on a context of our own, so a bad file stops the start;
    // civetweb then gets the same settings on the context it creates.
    auto ctx = BuildTlsContext(*config.tls);
    if (!ctx.ok()) return Status::Error(config.file + ": " + ctx.status().message());
    options->tls_setup = [tls = *config.tls](void* ssl_ctx) {
      Status st = ConfigureTlsContext(ssl_ctx, tls);
      if (!st.ok()) LogError("TLS setup failed", {{"err", st.message()}});
      return st.ok();
    };
  }
  options->headers = config.headers;
  if (!config.basic_auth_users.empty()) {
    auto auth = std::make_shared<BasicAuth>(config.basic_auth_users);
    server->SetFilter(
        [auth](const HttpRequest& req) -> std::optional<HttpResponse> {
          if (auth->Check(req.authorization)) return std::nullopt;
          return HttpResponse{401,
                              "text/plain; charset=utf-8",
                              {{"WWW-Authenticate",
                                "Basic realm=\"mailhealth_exporter\""}},
                              "Unauthorized\n"};
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
  LogInfo("web config loaded",
          {{"file", path},
           {"tls", config->tls ? "true" : "false"},
           {"basic_auth_users", std::to_string(config->basic_auth_users.size())}});
  return Status::Ok();
}

}  // namespace mailhealth
