// The Beast server's behaviour over real sockets on loopback: IPv4/IPv6
// listening, keep-alive, limits (405/413/431), gzip, slow clients cut at
// their deadlines, shedding at the connection cap, the slow-handler pool.
// The assertions are about correctness (what is answered, what is closed),
// not about how fast.
#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/exposition.h"
#include "tests/testutil/loopback_http.h"

namespace mailhealth {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using testing::Body;
using testing::Fetch;
using testing::Gunzip;
using testing::ReadAll;
using testing::SendAll;

int Connect(int port, bool v6 = false) {
  return testing::ConnectLoopback(port, v6);
}

// Reads one response (head + Content-Length bytes) from a kept-alive
// connection.
std::string ReadResponse(int fd, bool head_request = false) {
  std::string out;
  char buf[4096];
  size_t want = std::string::npos;
  while (true) {
    size_t end = out.find("\r\n\r\n");
    if (end != std::string::npos && want == std::string::npos) {
      size_t cl = out.find("Content-Length: ");
      size_t len = cl == std::string::npos || cl > end
                       ? 0
                       : std::stoul(out.substr(cl + 16));
      want = end + 4 + (head_request ? 0 : len);
    }
    if (want != std::string::npos && out.size() >= want) return out;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, n);
  }
}

std::string Get(int port, const std::string& path, bool v6 = false,
                const std::string& extra = "") {
  return Fetch(port,
               "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra +
                   "Connection: close\r\n\r\n",
               v6);
}

bool Is200(const std::string& r) {
  return r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0;
}

// True once the server closed `fd` (EOF or reset) within `limit`.
bool ClosedByPeer(int fd, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        return true;
      }
    }
  }
  return false;
}

// Waits until `pred` holds (polling), up to `limit`.
template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

HttpResponse Metrics(const HttpRequest&) {
  return HttpResponse{200, kTextContentType, {}, "up 1\n"};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpOptions o = {}, bool set_address = true) {
    if (set_address) o.listen_addresses = {"127.0.0.1:0"};
    server_.Handle("/metrics", Metrics);
    server_.Handle("/big", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", {}, std::string(5000, 'b')};
    });
    Status st = server_.Start(o);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_FALSE(server_.ListeningPorts().empty());
    port_ = server_.ListeningPorts()[0];
  }
  HttpServer server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, HeadAnswersLengthWithoutBody) {
  Start();
  int fd = Connect(port_);
  SendAll(fd,
          "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\n"
          "Host: x\r\nConnection: close\r\n\r\n");
  std::string all = ReadAll(fd);
  close(fd);
  size_t end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << all;
  std::string head = all.substr(0, end + 4);
  EXPECT_TRUE(Is200(head)) << head;
  EXPECT_NE(head.find("Content-Length: 5000\r\n"), std::string::npos) << head;
  // The next response follows at once: no body bytes were sent for HEAD.
  std::string next = all.substr(end + 4);
  EXPECT_TRUE(Is200(next)) << next;
  EXPECT_EQ(Body(next), "up 1\n");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  int fd = Connect(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string r = ReadResponse(fd);
    EXPECT_TRUE(Is200(r)) << i << ": " << r;
    EXPECT_EQ(Body(r), "up 1\n");
    EXPECT_EQ(r.find("Connection: close"), std::string::npos);
  }
  close(fd);
  // HTTP/1.0 without keep-alive: answered, then closed.
  std::string r = Fetch(port_, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
}

TEST_F(HttpServerTest, KeepAliveIdleConnectionIsClosedAfterItsTimeout) {
  HttpOptions o;
  o.keep_alive_timeout_ms = 300;
  Start(o);
  int fd = Connect(port_);
  ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(Is200(ReadResponse(fd)));
  auto t0 = Clock::now();
  EXPECT_TRUE(ClosedByPeer(fd, 10s));
  EXPECT_GE(Clock::now() - t0, 250ms);  // not before its deadline
  close(fd);
}

TEST_F(HttpServerTest, OtherMethodsGet405WithAllow) {
  Start();
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    std::string r =
        Fetch(port_, std::string(m) +
                         " /metrics HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << m << r;
    EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos) << m;
  }
}

TEST_F(HttpServerTest, OversizedHeadAndTooManyHeadersGet431) {
  HttpOptions o;
  o.max_request_size = 4096;
  o.max_header_count = 50;
  Start(o);
  std::string r = Get(port_, "/metrics", false,
                      "X-Big: " + std::string(6000, 'a') + "\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 200);
  std::string many;
  for (int i = 0; i < 60; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  r = Get(port_, "/metrics", false, many);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 200);
  EXPECT_EQ(r.find("up 1"), std::string::npos);
  EXPECT_TRUE(Is200(Get(port_, "/metrics")));  // still serving
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  HttpOptions o;
  o.max_body_size = 1000;
  Start(o);
  std::string r = Fetch(port_,
                        "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 100000\r\n\r\n" +
                            std::string(2000, 'z'));
  EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r.substr(0, 200);
  // A small body is read and ignored.
  r = Fetch(port_,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Connection: close\r\n\r\nhello");
  EXPECT_TRUE(Is200(r)) << r;
}

TEST_F(HttpServerTest, GzipsLargeBodiesWhenAsked) {
  Start();
  std::string r = Get(port_, "/big", false, "Accept-Encoding: gzip\r\n");
  EXPECT_NE(r.find("Content-Encoding: gzip\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Vary: Accept-Encoding\r\n"), std::string::npos);
  EXPECT_EQ(Gunzip(Body(r)), std::string(5000, 'b'));
  r = Get(port_, "/big");
  EXPECT_EQ(r.find("Content-Encoding"), std::string::npos);
  EXPECT_EQ(Body(r), std::string(5000, 'b'));
  // Small bodies are not worth it.
  r = Get(port_, "/metrics", false, "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(Body(r), "up 1\n");
}

TEST_F(HttpServerTest, QueryStringIsNotPartOfThePath) {
  Start();
  EXPECT_TRUE(Is200(Get(port_, "/metrics?x=1")));
}

TEST(HttpListenTest, Ipv6Loopback) {
  HttpServer s;
  s.Handle("/metrics", Metrics);
  HttpOptions o;
  o.listen_addresses = {"[::1]:0"};
  Status st = s.Start(o);
  ASSERT_TRUE(st.ok()) << st.message();
  int port = s.ListeningPorts().at(0);
  EXPECT_TRUE(Is200(Get(port, "/metrics", true)));
  EXPECT_EQ(Connect(port, false), -1);  // not on IPv4
}

TEST(HttpListenTest, AllAddressesServeIpv4AndIpv6) {
  for (const char* addr : {"[::]:0", ":0"}) {
    HttpServer s;
    s.Handle("/metrics", Metrics);
    HttpOptions o;
    o.listen_addresses = {addr};
    Status st = s.Start(o);
    ASSERT_TRUE(st.ok()) << addr << ": " << st.message();
    ASSERT_EQ(s.ListeningPorts().size(), 1u);
    int port = s.ListeningPorts()[0];
    EXPECT_TRUE(Is200(Get(port, "/metrics", false))) << addr;
    EXPECT_TRUE(Is200(Get(port, "/metrics", true))) << addr;
  }
}

TEST(HttpListenTest, TwoListenAddressesAtOnce) {
  HttpServer s;
  s.Handle("/metrics", Metrics);
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0", "[::1]:0"};
  ASSERT_TRUE(s.Start(o).ok());
  auto ports = s.ListeningPorts();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_TRUE(Is200(Get(ports[0], "/metrics", false)));
  EXPECT_TRUE(Is200(Get(ports[1], "/metrics", true)));
}

TEST(HttpListenTest, SecondAddressInUseNamesIt) {
  HttpServer first;
  HttpOptions o;
  o.listen_addresses = {"[::1]:0"};
  ASSERT_TRUE(first.Start(o).ok());
  const std::string taken =
      "[::1]:" + std::to_string(first.ListeningPorts()[0]);
  HttpServer second;
  o.listen_addresses = {"127.0.0.1:0", taken};
  Status st = second.Start(o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "cannot listen on " + taken + ": Address already in use");
  EXPECT_TRUE(second.ListeningPorts().empty());
}

TEST(HttpListenTest, ListensOnAGivenSocket) {
  // What --web.systemd-socket hands over: an already listening socket.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  HttpServer s;
  s.Handle("/metrics", Metrics);
  HttpOptions o;
  o.listen_fds = {fd};
  ASSERT_TRUE(s.Start(o).ok());
  EXPECT_EQ(s.ListeningPorts(), std::vector<int>{ntohs(a.sin_port)});
  EXPECT_TRUE(Is200(Get(ntohs(a.sin_port), "/metrics")));
}

// Slowloris: many connections sending their head a byte at a time. Scrapes
// are answered while all of them are open, and each slow one is cut at
// the head deadline (not before), although it never goes idle.
TEST_F(HttpServerTest, ScrapesAnswerWhileSlowClientsAreCutAtTheirDeadline) {
  HttpOptions o;
  o.request_timeout_ms = 3000;
  o.io_threads = 1;  // even one loop thread serves everybody
  Start(o);
  constexpr int kSlow = 300;
  std::vector<int> fds;
  for (int i = 0; i < kSlow; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: "));
    fds.push_back(fd);
  }
  const auto started = Clock::now();
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    while (!stop) {
      for (int fd : fds) SendAll(fd, "a");
      std::this_thread::sleep_for(100ms);
    }
  });
  ASSERT_TRUE(WaitFor([&] { return server_.OpenConnections() >= kSlow; }));
  for (int i = 0; i < 5; ++i) {
    std::string r = Get(port_, "/metrics");
    EXPECT_TRUE(Is200(r)) << r;
    EXPECT_EQ(Body(r), "up 1\n");
  }
  // The scrapes did not need any slow connection to go away.
  const bool all_open_during_scrapes = Clock::now() - started < 2500ms
                                           ? server_.OpenConnections() >= kSlow
                                           : true;
  EXPECT_TRUE(all_open_during_scrapes);
  int closed = 0;
  for (int fd : fds) closed += ClosedByPeer(fd, 15s) ? 1 : 0;
  const auto cut_after = Clock::now() - started;
  stop = true;
  dribble.join();
  for (int fd : fds) close(fd);
  EXPECT_EQ(closed, kSlow);
  EXPECT_GE(cut_after, 2900ms);  // at the deadline, not before
  EXPECT_TRUE(WaitFor([&] { return server_.OpenConnections() == 0; }));
}

// At the cap, a new connection closes the oldest idle one: a scrape is
// never refused because other clients hold the slots.
TEST_F(HttpServerTest, AtTheCapTheOldestIdleConnectionIsShed) {
  HttpOptions o;
  o.max_connections = 8;
  o.request_timeout_ms = 30000;  // only shedding closes them here
  Start(o);
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(Connect(port_));
    ASSERT_TRUE(WaitFor([&] {
      return server_.OpenConnections() == static_cast<size_t>(i + 1);
    }));
  }
  std::string r = Get(port_, "/metrics");
  EXPECT_TRUE(Is200(r)) << r;
  EXPECT_TRUE(ClosedByPeer(idle[0], 5s));
  EXPECT_FALSE(ClosedByPeer(idle[7], 200ms));
  for (int fd : idle) close(fd);
}

TEST_F(HttpServerTest, AtTheCapSlowHeadsAreShedWhenNoneIsIdle) {
  HttpOptions o;
  o.max_connections = 4;
  o.request_timeout_ms = 30000;
  Start(o);
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(Connect(port_));
    SendAll(slow.back(), "GET /metrics HTTP/1.1\r\nX-Slow: a");
  }
  ASSERT_TRUE(WaitFor([&] { return server_.OpenConnections() == 4; }));
  EXPECT_TRUE(Is200(Get(port_, "/metrics")));
  int closed = 0;
  for (int fd : slow) closed += ClosedByPeer(fd, 2s) ? 1 : 0;
  EXPECT_GE(closed, 1);
  for (int fd : slow) close(fd);
}

// A gate the slow handlers wait at.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  void Enter() {
    std::unique_lock<std::mutex> lock(mu);
    ++entered;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return entered >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(HttpPoolTest, SlowHandlersDoNotBlockMetrics) {
  Gate gate;
  HttpServer s;
  s.Handle("/metrics", Metrics);
  s.HandleSlow("/probe", [&](const HttpRequest&) {
    gate.Enter();
    return HttpResponse{200, "text/plain", {}, "probed\n"};
  });
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.io_threads = 1;
  o.slow_pool_threads = 4;
  ASSERT_TRUE(s.Start(o).ok());
  int port = s.ListeningPorts()[0];
  std::vector<std::future<std::string>> probes;
  for (int i = 0; i < 4; ++i) {
    probes.push_back(
        std::async(std::launch::async, [port] { return Get(port, "/probe"); }));
  }
  ASSERT_TRUE(gate.WaitEntered(4));
  // Every pool thread is busy, the only loop thread is free: scrapes work.
  for (int i = 0; i < 3; ++i) {
    std::string r = Get(port, "/metrics");
    EXPECT_TRUE(Is200(r)) << r;
  }
  for (auto& p : probes) {
    EXPECT_EQ(p.wait_for(0s), std::future_status::timeout);
  }
  gate.Open();
  for (auto& p : probes) EXPECT_EQ(Body(p.get()), "probed\n");
}

TEST(HttpPoolTest, FullQueueAnswers503) {
  Gate gate;
  HttpServer s;
  s.HandleSlow("/probe", [&](const HttpRequest&) {
    gate.Enter();
    return HttpResponse{200, "text/plain", {}, "probed\n"};
  });
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.slow_pool_threads = 1;
  o.slow_pool_queue = 1;
  ASSERT_TRUE(s.Start(o).ok());
  int port = s.ListeningPorts()[0];
  auto a =
      std::async(std::launch::async, [port] { return Get(port, "/probe"); });
  ASSERT_TRUE(gate.WaitEntered(1));
  // One waits in the queue, the other finds it full: exactly one 503.
  auto b =
      std::async(std::launch::async, [port] { return Get(port, "/probe"); });
  auto c =
      std::async(std::launch::async, [port] { return Get(port, "/probe"); });
  std::future<std::string>* first_done = nullptr;
  while (first_done == nullptr) {
    if (b.wait_for(10ms) == std::future_status::ready) first_done = &b;
    if (c.wait_for(10ms) == std::future_status::ready) first_done = &c;
  }
  std::string refused = first_done->get();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503 ", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1\r\n"), std::string::npos);
  gate.Open();
  EXPECT_TRUE(Is200(a.get()));
  std::string other = first_done == &b ? c.get() : b.get();
  EXPECT_TRUE(Is200(other)) << other;
}

TEST(HttpPoolTest, ExpensiveFilterRunsOnThePool) {
  Gate gate;
  HttpServer s;
  s.Handle("/metrics", Metrics);
  s.SetFilter(
      [&](const HttpRequest& req) -> std::optional<HttpResponse> {
        if (req.authorization == "slow") gate.Enter();
        return std::nullopt;
      },
      [](const HttpRequest& req) { return req.authorization != "slow"; });
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.io_threads = 1;
  ASSERT_TRUE(s.Start(o).ok());
  int port = s.ListeningPorts()[0];
  auto slow = std::async(std::launch::async, [port] {
    return Get(port, "/metrics", false, "Authorization: slow\r\n");
  });
  ASSERT_TRUE(gate.WaitEntered(1));
  EXPECT_TRUE(Is200(Get(port, "/metrics")));
  gate.Open();
  EXPECT_TRUE(Is200(slow.get()));
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsPromptly) {
  Start();
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(Connect(port_));
  SendAll(fds[0], "GET /metrics HTTP/1.1\r\nX-Slow: a");
  ASSERT_TRUE(WaitFor([&] { return server_.OpenConnections() == 20; }));
  auto t0 = Clock::now();
  server_.Stop();
  EXPECT_LT(Clock::now() - t0, 1s);
  for (int fd : fds) {
    EXPECT_TRUE(ClosedByPeer(fd, 2s));
    close(fd);
  }
}

}  // namespace
}  // namespace mailhealth

namespace mailhealth {
namespace {

// HandleAsync: the handler returns at once, the connection waits parked
// (no thread held), the answer comes later from any thread.
TEST(HttpAsyncTest, ParkedRequestsHoldNoThreadAndAnswerLater) {
  std::mutex mu;
  std::vector<std::pair<HttpServer::Responder, std::string>> parked;
  HttpServer s;
  s.Handle("/metrics", Metrics);
  s.HandleAsync("/probe",
                [&](const HttpRequest& req, HttpServer::Responder respond) {
                  std::lock_guard<std::mutex> lock(mu);
                  parked.emplace_back(std::move(respond),
                                      req.query + " " + req.scrape_timeout);
                });
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.io_threads = 1;
  o.slow_pool_threads = 1;
  ASSERT_TRUE(s.Start(o).ok());
  int port = s.ListeningPorts()[0];
  constexpr int kParked = 50;
  std::vector<std::future<std::string>> probes;
  for (int i = 0; i < kParked; ++i) {
    probes.push_back(std::async(std::launch::async, [port, i] {
      return Fetch(port, "GET /probe?n=" + std::to_string(i) +
                             " HTTP/1.1\r\nHost: x\r\n"
                             "X-Prometheus-Scrape-Timeout-Seconds: 9\r\n"
                             "Connection: close\r\n\r\n");
    }));
  }
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return parked.size() == kParked;
  }));
  // More parked requests than loop and pool threads: scrapes still work.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Is200(Get(port, "/metrics")));
  std::thread answerer([&] {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [respond, what] : parked) {
      respond(HttpResponse{200, "text/plain", {}, what + "\n"});
      respond(HttpResponse{500, "text/plain", {}, "twice\n"});  // ignored
    }
  });
  answerer.join();
  std::set<std::string> bodies;
  for (auto& p : probes) {
    std::string r = p.get();
    EXPECT_TRUE(Is200(r)) << r;
    bodies.insert(Body(r));
  }
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kParked));
  EXPECT_EQ(bodies.count("n=7 9\n"), 1u);
}

TEST(HttpAsyncTest, AnswersAfterStopAreDropped) {
  std::mutex mu;
  std::vector<HttpServer::Responder> parked;
  auto s = std::make_unique<HttpServer>();
  s->HandleAsync("/probe", [&](const HttpRequest&, HttpServer::Responder r) {
    std::lock_guard<std::mutex> lock(mu);
    parked.push_back(std::move(r));
  });
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:0"};
  ASSERT_TRUE(s->Start(o).ok());
  int port = s->ListeningPorts()[0];
  auto probe =
      std::async(std::launch::async, [port] { return Get(port, "/probe"); });
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return parked.size() == 1;
  }));
  const auto t0 = Clock::now();
  s->Stop();
  EXPECT_LT(Clock::now() - t0, 1s);
  probe.get();  // the connection was closed
  s.reset();
  std::lock_guard<std::mutex> lock(mu);
  parked[0](HttpResponse{200, "text/plain", {}, "late\n"});  // no effect
}

}  // namespace
}  // namespace mailhealth
