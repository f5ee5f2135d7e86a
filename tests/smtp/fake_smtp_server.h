// Fake SMTP peers on 127.0.0.1 (ephemeral ports) for the fault cases a real
// Postfix cannot show: tarpits, odd greetings, garbage, dropped connections,
// broken or expired TLS. Shared by the smtp tests and bench/smtp.
//
// FakeSmtpServer runs a script per accepted connection, each on its own
// thread (blocking POSIX sockets, OpenSSL for the server side of TLS). The
// destructor unblocks and joins every thread, so a script may block forever
// (a tarpit) without hanging the test.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mailhealth::testing {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// A key and certificate made with the OpenSSL API at test time (so an
// expired certificate needs no faketime). Offsets are seconds from now.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  int64_t not_after = 0;  // Unix seconds
};
// Self-signed when `issuer` is null, else signed by `issuer` (a CA made with
// is_ca = true). `dns_name` goes into CN and subjectAltName.
TestCert MakeTestCert(const std::string& dns_name, long not_before_offset,
                      long not_after_offset, const TestCert* issuer = nullptr,
                      bool is_ca = false);
SslCtxPtr MakeServerCtx(const TestCert& cert);
// Writes `content` to a fresh file under the test temp dir; returns its path.
std::string WriteTempFile(const std::string& name, const std::string& content);

class FakeConn {
 public:
  FakeConn(int fd, const std::atomic<bool>* stopping, std::mutex* mu,
           std::condition_variable* cv, std::vector<std::string>* log);
  ~FakeConn();
  bool Send(std::string_view s);
  // One line without its CRLF; nullopt on EOF, error or stop.
  std::optional<std::string> ReadLine();
  bool AcceptTls(SSL_CTX* ctx);
  // Sleeps up to `d`; false when the server is stopping.
  bool Wait(std::chrono::milliseconds d);
  // Blocks until the server stops (a tarpit).
  void Hold();
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
  const std::atomic<bool>* stopping_;
  std::mutex* mu_;
  std::condition_variable* cv_;
  std::vector<std::string>* log_;
  std::string buf_;
};

class FakeSmtpServer {
 public:
  using Script = std::function<void(FakeConn&)>;
  explicit FakeSmtpServer(Script script, int backlog = 128);
  ~FakeSmtpServer();
  FakeSmtpServer(const FakeSmtpServer&) = delete;
  FakeSmtpServer& operator=(const FakeSmtpServer&) = delete;

  uint16_t port() const { return port_; }
  // Every line the scripts read (all connections), in order.
  std::vector<std::string> Commands() const;

 private:
  void AcceptLoop();

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::vector<std::string> log_;
  std::thread accept_thread_;
};

// A port whose accept queue is full, so SYNs are dropped and connect()
// times out (listen(0) plus pre-filled queue; see bench-anchors.md).
class Blackhole {
 public:
  Blackhole();
  ~Blackhole();
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

// A loopback port nothing listens on (bound, then closed).
uint16_t ClosedPort();

// A well-behaved server: `banner_lines` (sent with `line_delay` between
// them, like postscreen's multi-line greeting), then EHLO/LHLO answered
// with `ehlo_reply` (raw, CRLFs included); STARTTLS (when `tls` is set)
// answered 220 and followed by the handshake; QUIT answered 221.
struct GoodServerOptions {
  std::vector<std::string> banner_lines = {"220 fake.test ESMTP"};
  std::chrono::milliseconds line_delay{0};
  std::string ehlo_reply =
      "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 "
      "8BITMIME\r\n";
  SSL_CTX* tls = nullptr;     // STARTTLS advertised when set
  bool implicit_tls = false;  // handshake before the banner (port 465)
};
FakeSmtpServer::Script GoodServer(GoodServerOptions o);

}  // namespace mailhealth::testing
