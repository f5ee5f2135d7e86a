#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon/exposition.h"
#include "daemon/http_server.h"
#include "tests/testutil/loopback_http.h"

namespace mailhealth {
namespace {

using testing::Body;
using testing::Gunzip;

// A minimal HTTP/1.0 client: sends `request`, returns everything read.
std::string Fetch(int port, const std::string& request) {
  return testing::Fetch(port, request, false, 5);
}

std::string Get(int port, const std::string& path,
                const std::string& extra = "") {
  return Fetch(port,
               "GET " + path + " HTTP/1.0\r\nHost: x\r\n" + extra + "\r\n");
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Handle("/metrics", [](const HttpRequest& req) {
      HttpResponse r;
      r.content_type = kTextContentType;
      r.body = std::string(2000, 'x') + "\n";
      if (AcceptsGzip(req.accept_encoding)) {
        r.body = Gzip(r.body);
        r.headers.push_back({"Content-Encoding", "gzip"});
      }
      return r;
    });
    HttpOptions o;
    o.listen_addresses = {"127.0.0.1:0"};
    ASSERT_TRUE(server_.Start(o).ok());
    ASSERT_FALSE(server_.ListeningPorts().empty());
    port_ = server_.ListeningPorts()[0];
  }
  HttpServer server_;
  int port_ = 0;
};

TEST_F(HttpTest, ServesMetricsWithVersionedContentType) {
  std::string r = Get(port_, "/metrics");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.substr(0, 200);
  EXPECT_NE(
      r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
      std::string::npos);
  EXPECT_EQ(Body(r), std::string(2000, 'x') + "\n");
}

TEST_F(HttpTest, GzipWhenAsked) {
  std::string r = Get(port_, "/metrics", "Accept-Encoding: deflate, gzip\r\n");
  EXPECT_NE(r.find("Content-Encoding: gzip\r\n"), std::string::npos);
  EXPECT_EQ(Gunzip(Body(r)), std::string(2000, 'x') + "\n");
}

TEST_F(HttpTest, UnknownPathIs404AndPostIs405) {
  EXPECT_EQ(Get(port_, "/nope").rfind("HTTP/1.1 404", 0), 0u);
  std::string r =
      Fetch(port_, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
}

TEST_F(HttpTest, PortInUseIsAnError) {
  HttpServer second;
  HttpOptions o;
  o.listen_addresses = {"127.0.0.1:" + std::to_string(port_)};
  Status st = second.Start(o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(
                "cannot listen on 127.0.0.1:" + std::to_string(port_), 0),
            0u)
      << st.message();
}

TEST(HttpHelpersTest, ParseListenAddress) {
  auto a = ParseListenAddress(":9732");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "");
  EXPECT_EQ(a->port, 9732);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:9732")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("[::1]:9732")->host, "::1");
  EXPECT_EQ(ParseListenAddress("[::]:1")->host, "::");
  EXPECT_EQ(ParseListenAddress("localhost:1")->host, "localhost");
  EXPECT_FALSE(ParseListenAddress("9732").ok());
  EXPECT_FALSE(ParseListenAddress(":99999").ok());
  EXPECT_FALSE(ParseListenAddress("::1:80").ok());
  EXPECT_FALSE(ParseListenAddress("[zz]:80").ok());
}

TEST(HttpHelpersTest, AcceptsGzip) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=0.5"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip(""));
}

}  // namespace
}  // namespace mailhealth
