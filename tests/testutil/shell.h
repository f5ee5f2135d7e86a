// Test helper: what a shell command prints on stdout (stderr goes to the
// test's log), for tests that drive the real Postfix tools.
#pragma once

#include <cstdio>
#include <string>

namespace mailhealth {

inline std::string ShellOutput(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace mailhealth
