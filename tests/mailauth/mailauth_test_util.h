// Helpers shared by the mailauth tests.
#pragma once

#include <cstdio>
#include <string>

namespace mailhealth::mailauth::testutil {

// The standard output of a shell command (openssl, dig, date), without its
// trailing newlines; "" when it cannot be run.
inline std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

}  // namespace mailhealth::mailauth::testutil
