// TLS server context from the web config's tls_server_config (see
// web_tls.h): certificates, client certificate policy, versions, ciphers,
// curves, on an OpenSSL context owned by a boost::asio::ssl::context.
#include "daemon/web_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <cstring>

namespace mailhealth {
namespace {

const std::vector<std::string> kTlsVersions = {"TLS10", "TLS11", "TLS12",
                                               "TLS13"};

int VersionIndex(const std::string& v) {
  auto it = std::find(kTlsVersions.begin(), kTlsVersions.end(), v);
  return static_cast<int>(it - kTlsVersions.begin());
}

int OpensslVersion(const std::string& v) {
  switch (VersionIndex(v)) {
    case 0:
      return TLS1_VERSION;
    case 1:
      return TLS1_1_VERSION;
    case 2:
      return TLS1_2_VERSION;
    default:
      return TLS1_3_VERSION;
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
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* sans = static_cast<std::vector<std::string>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), SansIndex()));
  if (sans == nullptr || sans->empty()) return 1;
  for (const std::string& have :
       CertSans(X509_STORE_CTX_get_current_cert(store))) {
    if (std::find(sans->begin(), sans->end(), have) != sans->end()) return 1;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

// RequestClientCert / RequireAnyClientCert: ask for a certificate but do
// not verify it (as Go's crypto/tls does).
int AcceptAny(int, X509_STORE_CTX*) { return 1; }

// "a:b:c", the form OpenSSL takes lists of ciphers and groups in.
std::string JoinColons(const std::vector<std::string>& items) {
  std::string list;
  for (const auto& c : items) list += (list.empty() ? "" : ":") + c;
  return list;
}

// The certificate chain and its private key, which must match.
Status LoadKeyPair(SSL_CTX* raw, const TlsServerConfig& t) {
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
  return Status::Ok();
}

Status SetCipherPreferences(SSL_CTX* raw, const TlsServerConfig& t) {
  // TLS 1.3 suites are not configurable (as in Go); the order is Go's for
  // hosts with AES instructions, AES-128-GCM first (OpenSSL's own puts
  // AES-256 first, a third more work per byte for no gain a scrape needs).
  if (SSL_CTX_set_ciphersuites(raw,
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256") != 1) {
    return Status::Error("TLS 1.3 cipher suites: " + OpensslError());
  }
  if (!t.cipher_suites.empty() &&
      SSL_CTX_set_cipher_list(raw, JoinColons(t.cipher_suites).c_str()) != 1) {
    return Status::Error("tls_server_config.cipher_suites: " + OpensslError());
  }
  if (!t.curve_preferences.empty() &&
      SSL_CTX_set1_groups_list(raw, JoinColons(t.curve_preferences).c_str()) !=
          1) {
    return Status::Error("tls_server_config.curve_preferences: " +
                         OpensslError());
  }
  return Status::Ok();
}

// The CAs client certificates are verified against, also sent to the
// client as the acceptable issuers.
Status LoadClientCa(SSL_CTX* raw, const TlsServerConfig& t) {
  if (t.client_ca_file.empty()) return Status::Ok();
  if (SSL_CTX_load_verify_locations(raw, t.client_ca_file.c_str(), nullptr) !=
      1) {
    return Status::Error("tls_server_config.client_ca_file " +
                         t.client_ca_file +
                         ": cannot load CA: " + OpensslError());
  }
  STACK_OF(X509_NAME)* names =
      SSL_load_client_CA_file(t.client_ca_file.c_str());
  if (names != nullptr) SSL_CTX_set_client_CA_list(raw, names);
  return Status::Ok();
}

void SetClientAuth(SSL_CTX* raw, const TlsServerConfig& t) {
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
}

}  // namespace

int TlsVersionIndex(const std::string& v) { return VersionIndex(v); }

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

Result<std::shared_ptr<boost::asio::ssl::context>> BuildTlsContext(
    const TlsServerConfig& t) {
  ERR_clear_error();
  std::shared_ptr<boost::asio::ssl::context> ctx;
  try {
    ctx = std::make_shared<boost::asio::ssl::context>(
        boost::asio::ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Status::Error(std::string("cannot create TLS context: ") + e.what());
  }
  Status st = ConfigureTlsContext(ctx->native_handle(), t);
  if (!st.ok()) return st;
  return ctx;
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

  if (Status st = LoadKeyPair(raw, t); !st.ok()) return st;
  if (Status st = SetCipherPreferences(raw, t); !st.ok()) return st;
  if (Status st = LoadClientCa(raw, t); !st.ok()) return st;
  SetClientAuth(raw, t);
  ERR_clear_error();
  return Status::Ok();
}

}  // namespace mailhealth
