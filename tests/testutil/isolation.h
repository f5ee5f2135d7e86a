// Test helper: whether this process runs inside tests/tools/isolate, the
// private namespaces in which a test may configure, start and stop "the"
// Postfix (scripts/setup-postfix) without touching the machine's own.
// Outside them such a test skips instead of rewriting /etc/postfix.
#pragma once

#include <cstdlib>
#include <cstring>

namespace mailhealth {

inline constexpr const char* kNotIsolated =
    "needs its own Postfix: run through tests/tools/isolate (scripts/test "
    "does), which keeps the machine's /etc/postfix and mail system untouched";

inline bool IsolatedFromMachine() {
  const char* v = std::getenv("MAILHEALTH_ISOLATED");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace mailhealth
