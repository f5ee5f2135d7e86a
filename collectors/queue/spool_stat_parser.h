// Parser of mailhealth-spool-stat's output (the format of FormatSpoolStat in
// spool_walk.h), as the queue collector reads it from the helper's stdout.
//
// Pure, no I/O. The output is trusted no more than any child's: every line
// is checked, numbers must be plain unsigned decimals, each of the six
// queues must appear exactly once, and the listing must start with the
// version line and end with `end` (a helper killed at its timeout leaves a
// truncated listing, which is an error, not a smaller queue). Unknown line
// kinds are counted in parse_errors and skipped, so a newer helper can add
// lines.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "collectors/queue/spool_walk.h"

namespace mailhealth {

struct SpoolStatReport {
  bool ok = false;
  std::string error;  // when !ok: what was wrong (first problem)
  std::string queue_directory;
  SpoolWalkResult walk;       // queues, skipped, vanished, all_btime
  uint64_t parse_errors = 0;  // unknown lines, skipped
};

SpoolStatReport ParseSpoolStat(std::string_view text);

}  // namespace mailhealth
