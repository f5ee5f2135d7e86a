// DNS responses as the dns collector sees them (c-ares hands over the raw
// packet): MX, A and AAAA, chosen by the first byte.
#include <cstddef>
#include <cstdint>

#include "collectors/resolve/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const uint16_t kTypes[] = {15, 1, 28, 5};  // MX, A, AAAA, CNAME
  uint16_t qtype = kTypes[data[0] % 4];
  auto answer = mailhealth::ParseDnsResponse(data + 1, size - 1, qtype);
  if (answer.ok()) {
    for (const auto& mx : answer->mx) (void)mailhealth::NormalizeName(mx.exchange);
  }
  return 0;
}
