// Helpers shared by the mailauth tests.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>

#include "tests/testutil/shell.h"

namespace mailhealth::mailauth::testutil {

// The standard output of a shell command (openssl, dig, date), without its
// trailing newlines; "" when it cannot be run.
inline std::string Output(const std::string& cmd) {
  std::string out = ShellOutput(cmd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

// DIR/NAME.pem for each of NAMES: a 2048-bit RSA key made by openssl;
// false when openssl fails.
inline bool MakeRsaKeys(const std::string& dir,
                        std::initializer_list<const char*> names) {
  for (const char* k : names) {
    const std::string cmd =
        "openssl genrsa -out " + dir + "/" + k + ".pem 2048 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return false;
  }
  return true;
}

// The base64 SubjectPublicKeyInfo of DIR/NAME.pem: DKIM's p= for RSA.
inline std::string PublicKeyBase64(const std::string& dir,
                                   const std::string& name) {
  return Output("openssl pkey -in " + dir + "/" + name +
                ".pem -pubout -outform DER 2>/dev/null | base64 -w0");
}

}  // namespace mailhealth::mailauth::testutil
