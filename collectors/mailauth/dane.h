// DANE for SMTP (RFC 7672): whether a TLSA record at _25._tcp.MXHOST
// matches the certificate chain the host presented in STARTTLS. Pure (the
// chain and the records come in as bytes); the lookups and the probe are
// in mailauth_lookup.
#pragma once

#include <string>
#include <vector>

#include "collectors/resolve/dns_message.h"

namespace mailhealth::mailauth {

// "_25._tcp.mx.example.com" for port 25.
std::string TlsaName(const std::string& host, int port = 25);

// Whether `record` matches `chain` (DER certificates, leaf first, as
// presented). Usage 3 (DANE-EE) is compared with the leaf only, usage 2
// (DANE-TA) with every certificate of the chain (the trust anchor must be
// among the certificates the server sends, RFC 7672 3.1.2); usages 0 and 1
// (PKIX-TA, PKIX-EE) are not for SMTP (RFC 7672 3.1.3) and never match.
// Selector 0: the whole certificate; 1: its SubjectPublicKeyInfo. Matching
// type 0: the bytes themselves; 1: SHA-256; 2: SHA-512. Unknown values
// (and a certificate that does not decode) never match.
bool TlsaMatches(const TlsaRecord& record,
                 const std::vector<std::string>& chain);

// True when any record matches (RFC 7672 2.2: one usable match is enough).
bool AnyTlsaMatches(const std::vector<TlsaRecord>& records,
                    const std::vector<std::string>& chain);

}  // namespace mailhealth::mailauth
