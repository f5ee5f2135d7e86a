// Helpers for the security tests: temp dirs, shell commands, test PKI.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace mailhealth::sectest {

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs `cmd` with /bin/sh, capturing stdout (stderr goes to the test log).
inline CommandResult Run(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mhsec.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(File(name)) << text;
  }

 private:
  std::string path_;
};

// Creates in `dir`: ca.crt/ca.key, server.crt/.key (SAN IP:127.0.0.1,
// DNS:localhost), client.crt/.key (CA-signed, SAN DNS:prometheus),
// other.crt/.key (SAN DNS:intruder, signed by other-ca). EC P-256, 1 day.
inline bool MakeTestPki(const TempDir& dir) {
  const std::string d = dir.path();
  std::string s =
      "set -e; cd '" + d + "'; "
      "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key 2>/dev/null; }; "
      "ca() { key $1; openssl req -x509 -new -key $1.key -out $1.crt -days 1 -subj /CN=$1 2>/dev/null; }; "
      "leaf() { key $1; openssl req -new -key $1.key -out $1.csr -subj /CN=$1 2>/dev/null; "
      "  printf 'subjectAltName=%s\\n' \"$3\" > $1.ext; "
      "  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -out $1.crt -days 1 -extfile $1.ext 2>/dev/null; }; "
      "ca ca; ca other-ca; "
      "leaf server ca 'IP:127.0.0.1,DNS:localhost'; "
      "leaf client ca 'DNS:prometheus'; "
      "leaf client2 ca 'DNS:somebody-else'; "
      "leaf other other-ca 'DNS:intruder'";
  return Run(s).exit_code == 0;
}

}  // namespace mailhealth::sectest
