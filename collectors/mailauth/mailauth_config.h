// The mailauth collector's configuration: a typed struct and its parser,
// no I/O (so --config.check can build it; private key files are read at
// run time). Errors are recorded on the section (file, line, key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectors/resolve/resolver_address.h"
#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace mailhealth::mailauth {

inline constexpr size_t kMaxDomains = 256;
inline constexpr size_t kMaxSendingAddresses = 64;
inline constexpr size_t kMaxSelectors = 16;

struct SelectorConfig {
  std::string name;              // "s1" (the DNS label before _domainkey)
  std::string private_key_file;  // "": no local comparison
};

struct DomainConfig {
  std::string name;  // lower case, no trailing dot
  // Addresses SPF is evaluated for (canonical text).
  std::vector<std::string> sending_addresses;
  // Also these (as the reputation collector's address sources): the
  // addresses of the domain's MX hosts, resolved each run; Postfix's
  // smtp_bind_address / smtp_bind_address6 (`postconf -h`).
  bool from_mx = false;
  bool from_postfix = false;
  std::vector<SelectorConfig> dkim_selectors;
  // Checks to run (the `skip` list turns them off).
  bool spf = true, dkim = true, dmarc = true, tlsrpt = true, mta_sts = true,
       dane = true;
};

struct MailauthConfig {
  std::vector<DomainConfig> domains;
  std::vector<ResolverAddress> resolvers;  // empty: the system's
  // CA bundle for the MTA-STS policy hosts ("": the system's CAs).
  std::string ca_file;
  Millis interval{10 * 60 * 1000};
  Millis timeout{30000};
  int64_t max_series = 10000;
  // Domains checked at once (each with a DNS batch of its own).
  size_t workers = 4;
  // Not a config key: tests serve the MTA-STS policy on another port.
  uint16_t mta_sts_port = 443;
  // Not a config key: tests probe the MX hosts' SMTP (DANE) on another port.
  uint16_t smtp_port = 25;
  // Not a config key: tests point it elsewhere.
  std::string postconf = "/usr/sbin/postconf";
};

MailauthConfig ParseMailauthConfig(ConfigNode& section,
                                   const CollectorSettings& settings);

}  // namespace mailhealth::mailauth
