// The parser of mailhealth-spool-stat's output (what the queue collector
// reads from the helper's stdout): any bytes must give ok or an error,
// never a crash, and an ok report must format back to a listing that
// parses to the same counts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/queue/spool_stat_parser.h"
#include "collectors/queue/spool_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mailhealth::SpoolStatReport r = mailhealth::ParseSpoolStat(in);
  if (!r.ok) return 0;
  std::string again = mailhealth::FormatSpoolStat(
      r.walk, r.queue_directory.empty() ? "/q" : r.queue_directory);
  mailhealth::SpoolStatReport r2 = mailhealth::ParseSpoolStat(again);
  if (!r2.ok) std::abort();
  for (size_t i = 0; i < r.walk.queues.size(); ++i) {
    if (r.walk.queues[i].files != r2.walk.queues[i].files ||
        r.walk.queues[i].bytes != r2.walk.queues[i].bytes ||
        r.walk.queues[i].oldest != r2.walk.queues[i].oldest) {
      std::abort();
    }
  }
  return 0;
}
