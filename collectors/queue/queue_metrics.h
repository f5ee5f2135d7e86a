// The queue collector's own families beside QueueStats' (queue_stats.h):
// mailhealth_postfix_up, the postqueue detail's last success and the parse
// errors, and the merge of the instances' families under postfix_instance.
// Pure.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "exporter/collector.h"
#include "exporter/duration.h"

namespace mailhealth {

inline constexpr char kPostfixUp[] = "mailhealth_postfix_up";
inline constexpr char kQueueParseErrors[] =
    "mailhealth_queue_parse_errors_total";
inline constexpr char kQueueDetailLastSuccess[] =
    "mailhealth_queue_detail_last_success_timestamp_seconds";

// How postfix_up was judged: by the spool walk and the master's pid, or by
// postqueue and the pid file (the HELP text says which).
enum class UpSource { kSpoolWalk, kPostqueue };

void AppendPostfixUp(Families& out, bool up, Millis interval, UpSource how);
void AppendDetailTimestamp(Families& out, std::time_t last_success);
void AppendParseErrors(Families& out, uint64_t errors);

// Adds postfix_instance="NAME" (first) to every sample of `fams` and
// appends them to `out`, into the family of the same name when `out` has
// one. Pure.
void MergeInstanceFamilies(Families& out, Families fams,
                           const std::string& instance);

}  // namespace mailhealth
