// A real DNS server for tests: BIND 9 (`named`, Debian package bind9)
// started on 127.0.0.1 at a free port, serving the zones you give it
// authoritatively with `recursion no` (so a name outside them is REFUSED),
// in a private temporary directory that is removed again.
//
//   auto srv = mailhealth::testing::DnsServer::Start({
//       {"example.test", "@ MX 10 mx1\nmx1 A 127.0.0.1\n"}});
//   ASSERT_TRUE(srv) << DnsServer::last_error();
//   srv->resolver();   // "127.0.0.1:PORT", for a `resolvers:` list
//
// Zone bodies are ordinary zone-file lines; $TTL, SOA and NS are added
// in front of them. A zone with `broken = true` gets an unloadable file,
// so named answers SERVFAIL for it. It also listens on [::1] at the same
// port when the host has IPv6 loopback. Startup takes about 1.5 s (named's own
// initialisation): start servers once per test suite (SetUpTestSuite), not
// per test. Nothing listens beyond loopback.
//
// Built as the library target `mailhealth_testutil_dns_server`
// (tests/dns/CMakeLists.txt); include "tests/testutil/dns_server.h".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mailhealth::testing {

struct TestZone {
  std::string name;  // "example.test"
  std::string body;  // zone file lines, relative names allowed
  bool broken = false;
  // A complete zone file (with its own SOA and NS, e.g. one signed by
  // dnssec-signzone), served as it is; `body` is then ignored.
  std::string file;
};

class DnsServer {
 public:
  // nullptr on failure; last_error() then says why (named's log included).
  // With `query_log`, named logs every query it receives (to its log
  // file, read by QueryCount()).
  static std::unique_ptr<DnsServer> Start(const std::vector<TestZone>& zones,
                                          bool query_log = false);
  static const std::string& last_error();
  ~DnsServer();  // stops named (SIGTERM, then SIGKILL) and removes the dir

  uint16_t port() const { return port_; }
  std::string resolver() const { return "127.0.0.1:" + std::to_string(port_); }
  // The same server over IPv6 loopback (when ::1 exists): "[::1]:PORT".
  std::string resolver6() const { return "[::1]:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  // With query_log: how many queries for `qname` (any type, as sent,
  // case-insensitive) named has logged so far.
  int QueryCount(const std::string& qname) const;
  // Stops the server now (to simulate a resolver that goes away).
  void Stop();

 private:
  DnsServer() = default;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// A loopback port that was free a moment ago (UDP and TCP).
uint16_t FreeLoopbackPort();

}  // namespace mailhealth::testing
