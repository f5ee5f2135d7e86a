// The --web.config.file parser and the Authorization header decoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto config = mailhealth::ParseWebConfig(in, "fuzz.yml", "/nonexistent");
  (void)config;
  auto creds = mailhealth::ParseBasicAuthorization(in);
  if (creds) {
    // Round trip: what decodes must split at the first colon.
    if (creds->first.find(':') != std::string::npos) __builtin_trap();
  }
  (void)mailhealth::DecodeBase64(in);
  return 0;
}
