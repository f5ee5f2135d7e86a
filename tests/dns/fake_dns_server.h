// Misbehaving UDP DNS servers on 127.0.0.1 for the fault tests (the real
// server for everything else is tests/testutil/dns_server.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace mailhealth::testing {

class FakeDnsServer {
 public:
  enum class Mode {
    kSilent,   // reads every query, never answers
    kGarbage,  // answers every query twice: random bytes, then a reply with
               // the right ID and question but an answer section that runs
               // past the end of the packet
    kDies,     // answers MX queries with "10 mx.<name>" until it has
               // answered `answers_before_death` queries, then closes its
               // socket (later queries get ICMP port unreachable)
  };
  explicit FakeDnsServer(Mode mode, int answers_before_death = 1);
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  uint16_t port() const { return port_; }
  std::string resolver() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_.load(); }

 private:
  void Serve();
  Mode mode_;
  int answers_before_death_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace mailhealth::testing
