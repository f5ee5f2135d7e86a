// Limits of the HTTP server: slow clients, oversized requests, many
// connections. The real server, raw sockets on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "daemon/http_server.h"
#include "tests/testutil/loopback_http.h"

namespace mailhealth {
namespace {

using Clock = std::chrono::steady_clock;

using testing::ReadAll;
using testing::SendAll;

int Connect(int port) { return testing::ConnectLoopback(port, false, 3); }

std::string Get(int port, const std::string& extra_headers = "") {
  int fd = Connect(port);
  if (fd < 0) return "";
  SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
                  "Connection: close\r\n\r\n");
  std::string r = ReadAll(fd);
  close(fd);
  return r;
}

class LimitsTest : public ::testing::Test {
 protected:
  void Start(HttpOptions opts) {
    opts.listen_addresses = {"127.0.0.1:0"};
    server_.Handle("/metrics", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", {}, "up 1\n"};
    });
    ASSERT_TRUE(server_.Start(opts).ok());
    port_ = server_.ListeningPorts().at(0);
  }
  HttpServer server_;
  int port_ = 0;
};

// Slowloris: clients that open a request and send one header byte at a
// time. They hold no thread, so they must not delay a scrape at all
// (tests/exporter/http_server_test.cc holds 300 of them; bench/load 5000).
TEST_F(LimitsTest, SlowClientsDoNotDelayAScrape) {
  HttpOptions opts;  // defaults
  Start(opts);
  constexpr int kSlow = 48;
  std::vector<int> fds;
  for (int i = 0; i < kSlow; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: "));
    fds.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    while (!stop) {
      for (int fd : fds) SendAll(fd, "a");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    std::string r = Get(port_);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
            .count();
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    EXPECT_LT(ms, 500) << "scrape " << i << " took " << ms << " ms";
  }
  stop = true;
  dribble.join();
  for (int fd : fds) close(fd);
}

TEST_F(LimitsTest, SlowClientIsCutOffAtRequestTimeout) {
  HttpOptions opts;
  opts.request_timeout_ms = 800;
  Start(opts);
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: "));
  auto t0 = Clock::now();
  bool open = true;
  // One byte every 100 ms: never idle long enough for a per-read timeout,
  // so only a deadline on the whole request head stops it.
  while (open && Clock::now() - t0 < std::chrono::seconds(3)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    open = SendAll(fd, "a");
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      open = false;
    if (n > 0) open = false;  // an error response also ends it
  }
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
          .count();
  close(fd);
  EXPECT_FALSE(open) << "slow client still connected after " << ms << " ms";
  EXPECT_LT(ms, 2500);
}

TEST_F(LimitsTest, OversizedRequestHeadIsRefused) {
  Start(HttpOptions{});
  std::string big = "X-Big: " + std::string(20000, 'a') + "\r\n";
  std::string r = Get(port_, big);
  EXPECT_EQ(r.find("HTTP/1.1 200"), std::string::npos) << r.substr(0, 200);
  EXPECT_EQ(Get(port_).rfind("HTTP/1.1 200", 0), 0u);  // still serving
}

// A flood of headers hits max_header_count (and max_request_size): 431.
TEST_F(LimitsTest, HeaderFloodIsRefusedWith431) {
  Start(HttpOptions{});
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  std::string r = Get(port_, many);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 200);
  EXPECT_EQ(Get(port_).rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LimitsTest, ManyIdleConnectionsDoNotBlockAScrape) {
  // Idle connections (no byte sent) beyond the cap: the oldest idle ones
  // are closed to make room for the scrape.
  HttpOptions opts;
  opts.max_connections = 4;
  opts.request_timeout_ms = 500;
  Start(opts);
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) fds.push_back(Connect(port_));
  auto t0 = Clock::now();
  std::string r = Get(port_);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
          .count();
  for (int fd : fds) close(fd);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_LT(ms, 2900);
  EXPECT_LE(server_.OpenConnections(), 4u);
}

}  // namespace
}  // namespace mailhealth
