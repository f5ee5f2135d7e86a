// The syslog line parser and classifier of the log collector, with two
// user rules (one filtered by process) so RE2::Set matching runs too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/log/log_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mailhealth::log;
  static LineProcessor* processor = new LineProcessor(
      {{"spam", "(?i)blocked using", ""},
       {"sasl", "SASL [A-Z]+ authentication failed", "smtpd"}},
      {"mx-out"});
  std::string_view in(reinterpret_cast<const char*>(data), size);
  LogCounters c;
  c.rule_matches.resize(processor->rule_count());
  size_t used = processor->ProcessBlock(in, &c);
  if (used > size) __builtin_trap();
  processor->ProcessLine(in.substr(used), &c, /*truncated=*/false);
  SyslogLine line;
  ParseSyslogPrefix(in, &line);
  if (size > 2) {
    size_t cut = data[0] % size;
    processor->ProcessEntry(in.substr(1, cut), in.substr(cut), &c);
  }
  return 0;
}
