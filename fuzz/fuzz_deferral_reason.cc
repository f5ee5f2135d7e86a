// The deferral reason classifier (free text from remote servers).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/queue/deferral_reason.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mailhealth::LocalServiceMatcher* local =
      new mailhealth::LocalServiceMatcher({"127.0.0.1:10024", "[::1]:10025"});
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = mailhealth::ClassifyDeferralReason(in, *local);
  (void)mailhealth::DeferralReasonName(r);
  return 0;
}
