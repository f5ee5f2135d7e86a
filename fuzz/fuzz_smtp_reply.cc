// SMTP reply parser and EHLO capability parser (bytes from any server the
// exporter probes), plus the target syntax from the config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/smtpprobe/smtp_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mailhealth::smtp::SmtpReplyLimits limits;
  limits.max_line = 512;
  limits.max_lines = 16;
  // Read replies one after another, as the probe does on a pipelined stream.
  size_t off = 0;
  while (off <= in.size()) {
    auto p = mailhealth::smtp::ParseSmtpReply(in.substr(off), limits);
    if (p.state != mailhealth::smtp::SmtpReplyParse::State::kComplete) break;
    if (p.consumed == 0 || p.consumed > in.size() - off) __builtin_trap();
    (void)mailhealth::smtp::ParseEhloCapabilities(p.reply);
    off += p.consumed;
  }
  (void)mailhealth::smtp::ParseSmtpTarget(in);
  return 0;
}
