#include "collectors/mailauth/dane.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace mailhealth::mailauth {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};

// The selected bytes of one DER certificate; false when it does not
// decode or the selector is unknown.
bool Selected(const std::string& der, uint8_t selector, std::string* out) {
  if (selector == 0) {
    *out = der;
    return true;
  }
  if (selector != 1) return false;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, X509Deleter> cert(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return false;
  unsigned char* spki = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki);
  if (n <= 0) return false;
  out->assign(reinterpret_cast<char*>(spki), static_cast<size_t>(n));
  OPENSSL_free(spki);
  return true;
}

bool Digest(const EVP_MD* md, const std::string& in, std::string* out) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(in.data(), in.size(), buf, &n, md, nullptr) != 1) return false;
  out->assign(reinterpret_cast<char*>(buf), n);
  return true;
}

bool MatchesCert(const TlsaRecord& r, const std::string& der) {
  std::string sel;
  if (!Selected(der, r.selector, &sel)) return false;
  switch (r.matching_type) {
    case 0:
      return sel == r.data;
    case 1: {
      std::string d;
      return Digest(EVP_sha256(), sel, &d) && d == r.data;
    }
    case 2: {
      std::string d;
      return Digest(EVP_sha512(), sel, &d) && d == r.data;
    }
    default:
      return false;
  }
}

}  // namespace

std::string TlsaName(const std::string& host, int port) {
  return "_" + std::to_string(port) + "._tcp." + host;
}

bool TlsaMatches(const TlsaRecord& record,
                 const std::vector<std::string>& chain) {
  if (chain.empty()) return false;
  if (record.usage == 3) return MatchesCert(record, chain.front());
  if (record.usage != 2) return false;
  for (const std::string& der : chain)
    if (MatchesCert(record, der)) return true;
  return false;
}

bool AnyTlsaMatches(const std::vector<TlsaRecord>& records,
                    const std::vector<std::string>& chain) {
  for (const TlsaRecord& r : records)
    if (TlsaMatches(r, chain)) return true;
  return false;
}

}  // namespace mailhealth::mailauth
