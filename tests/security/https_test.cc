// HTTPS, mutual TLS and basic auth against the real server,
// checked with the real curl.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <thread>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "daemon/http_server.h"
#include "daemon/web_config.h"
#include "tests/security/sec_util.h"

namespace mailhealth {
namespace {

constexpr char kUUHash[] =
    "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";  // "U*U"
constexpr char kMetrics[] = "mailhealth_up 1\n";

class HttpsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sectest::TempDir();
    ASSERT_TRUE(sectest::MakeTestPki(*dir_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // Starts a server configured by the web config `yaml` (paths relative
  // to the PKI dir). Returns the error of loading/applying it.
  Status Start(const std::string& yaml, HttpOptions opts = {}) {
    dir_->Write("web.yml", yaml);
    opts.listen_addresses = {"127.0.0.1:0"};
    Status st = ApplyWebConfigFile(dir_->File("web.yml"), &opts, &server_);
    if (!st.ok()) return st;
    server_.Handle("/metrics", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain; version=0.0.4", {}, kMetrics};
    });
    st = server_.Start(opts);
    if (st.ok()) port_ = server_.ListeningPorts().at(0);
    return st;
  }

  // curl exit code and "<status>\n<body>" (status 000 if no response).
  sectest::CommandResult Curl(const std::string& args,
                              const std::string& scheme = "https") {
    return sectest::Run("cd '" + dir_->path() +
                        "' && curl -sS --max-time 5 -o body.out " +
                        "-w '%{http_code}' " + args + " " + scheme +
                        "://127.0.0.1:" + std::to_string(port_) +
                        "/metrics 2>/dev/null; echo; cat body.out "
                        "2>/dev/null; rm -f body.out");
  }

  static std::string Code(const sectest::CommandResult& r) {
    return r.out.substr(0, r.out.find('\n'));
  }
  static std::string Body(const sectest::CommandResult& r) {
    size_t nl = r.out.find('\n');
    return nl == std::string::npos ? "" : r.out.substr(nl + 1);
  }

  static sectest::TempDir* dir_;
  HttpServer server_;
  int port_ = 0;
};

sectest::TempDir* HttpsTest::dir_ = nullptr;

const std::string kServerTls =
    "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

TEST_F(HttpsTest, ServesMetricsOverTlsVerifiedByCurl) {
  ASSERT_TRUE(Start(kServerTls).ok());
  auto r = Curl("--cacert ca.crt");
  EXPECT_EQ(Code(r), "200");
  EXPECT_EQ(Body(r), kMetrics);
}

// Bodies larger than one TLS record (16 KiB) arrive whole, also with
// keep-alive (Boost 1.74's beast::ssl_stream cut such writes short).
TEST_F(HttpsTest, LargeBodyArrivesWhole) {
  server_.Handle("/big", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, std::string(100000, 'b')};
  });
  ASSERT_TRUE(Start(kServerTls).ok());
  const std::string url = "https://127.0.0.1:" + std::to_string(port_) + "/big";
  auto r = sectest::Run("cd '" + dir_->path() +
                        "' && curl -sS --max-time 5 --cacert ca.crt " + url +
                        " " + url + " | wc -c");
  EXPECT_EQ(r.out, "200000\n");
}

// A Python TLS client (the real ssl module, OpenSSL underneath) that
// sends `requests` on one connection, in one write or one byte per TLS
// record, and prints the number of "HTTP/1.1 200" answers and the bytes
// received until the server closes.
std::string PythonTlsClient(const std::string& dir, int port,
                            const std::string& version, bool byte_records,
                            int requests) {
  const std::string script =
      "import socket, ssl, sys\n"
      "ctx = ssl.create_default_context(cafile='" + dir + "/ca.crt')\n"
      "ctx.check_hostname = False\n"
      "v = ssl.TLSVersion." + version + "\n"
      "ctx.minimum_version = ctx.maximum_version = v\n"
      "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', " +
      std::to_string(port) + ")))\n"
      "n = " + std::to_string(requests) + "\n"
      "req = b''.join(b'GET /big HTTP/1.1\\r\\nHost: x\\r\\n' + "
      "(b'Connection: close\\r\\n' if i == n - 1 else b'') + b'\\r\\n' "
      "for i in range(n))\n"
      "if " + (byte_records ? "True" : "False") + ":\n"
      "    for i in range(len(req)): s.sendall(req[i:i + 1])\n"
      "else:\n"
      "    s.sendall(req)\n"
      "got = b''\n"
      "while True:\n"
      "    try:\n"
      "        b = s.recv(65536)\n"
      "    except (ssl.SSLError, OSError):\n"
      "        break\n"
      "    if not b: break\n"
      "    got += b\n"
      "print(got.count(b'HTTP/1.1 200 '), got.count(b'b' * 100000))\n";
  return sectest::Run("python3 -c \"$(cat <<'PYEOF'\n" + script +
                      "PYEOF\n)\" 2>&1")
      .out;
}

// Keep-alive, pipelining and a request head spread over one TLS record
// per byte, with TLS 1.2 and 1.3: the server's own TLS stream
// (daemon/tls_stream.h) reassembles and answers each in order.
TEST_F(HttpsTest, KeepAlivePipelinedAndByteRecordsOverTls12And13) {
  server_.Handle("/big", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, std::string(100000, 'b')};
  });
  ASSERT_TRUE(Start(kServerTls).ok());
  for (const char* v : {"TLSv1_2", "TLSv1_3"}) {
    EXPECT_EQ(PythonTlsClient(dir_->path(), port_, v, false, 3), "3 3\n")
        << v << ": three pipelined requests in one write";
    EXPECT_EQ(PythonTlsClient(dir_->path(), port_, v, true, 2), "2 2\n")
        << v << ": two requests, one byte per TLS record";
  }
}

// TLS 1.3 takes AES-128-GCM first, as Go's servers (exporter-toolkit) do
// on hosts with AES instructions, though the client (Python's OpenSSL)
// lists AES-256 first.
TEST_F(HttpsTest, Tls13PrefersAes128GcmAsGoDoes) {
  ASSERT_TRUE(Start(kServerTls).ok());
  auto r = sectest::Run(
      "python3 -c \"import socket, ssl; "
      "ctx = ssl.create_default_context(cafile='" + dir_->path() +
      "/ca.crt'); ctx.check_hostname = False; "
      "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', " +
      std::to_string(port_) + "))); print(s.version(), s.cipher()[0])\" 2>&1");
  EXPECT_EQ(r.out, "TLSv1.3 TLS_AES_128_GCM_SHA256\n");
}

// A client that never reads a large answer is cut at the write deadline,
// over TLS as over plain HTTP, and does not get the whole body.
TEST_F(HttpsTest, UnreadAnswerIsCutAtTheWriteDeadline) {
  constexpr size_t kHuge = 64u << 20;
  server_.Handle("/huge", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, std::string(kHuge, 'h')};
  });
  HttpOptions opts;
  opts.write_timeout_ms = 300;
  ASSERT_TRUE(Start(kServerTls, opts).ok());
  const std::string script =
      "import socket, ssl, time\n"
      "ctx = ssl.create_default_context(cafile='" + dir_->path() +
      "/ca.crt')\n"
      "ctx.check_hostname = False\n"
      "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', " +
      std::to_string(port_) + ")))\n"
      "s.sendall(b'GET /huge HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
      "time.sleep(1.5)\n"
      "got = 0\n"
      "while True:\n"
      "    try:\n"
      "        b = s.recv(1 << 20)\n"
      "    except (ssl.SSLError, OSError):\n"
      "        break\n"
      "    if not b: break\n"
      "    got += len(b)\n"
      "print('whole' if got > " + std::to_string(kHuge) +
      " else 'cut' if got > 0 else 'nothing')\n";
  auto r = sectest::Run("python3 -c \"$(cat <<'PYEOF'\n" + script +
                        "PYEOF\n)\" 2>&1");
  EXPECT_EQ(r.out, "cut\n");
  // And the server still answers others at once.
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "200");
}

TEST_F(HttpsTest, PlainHttpOnTheTlsPortGetsNoMetrics) {
  ASSERT_TRUE(Start(kServerTls).ok());
  auto r = Curl("", "http");
  EXPECT_NE(Code(r), "200");
  EXPECT_EQ(Body(r).find("mailhealth_up"), std::string::npos);
}

TEST_F(HttpsTest, MinVersionTls13RefusesTls12Client) {
  ASSERT_TRUE(Start(kServerTls + "  min_version: TLS13\n").ok());
  EXPECT_EQ(Code(Curl("--cacert ca.crt --tls-max 1.2")), "000");
  EXPECT_EQ(Code(Curl("--cacert ca.crt --tlsv1.3")), "200");
  // The refused client is told why: the server's alert is sent before the
  // connection closes, so curl names it.
  auto r = sectest::Run("cd '" + dir_->path() +
                        "' && curl -sS --max-time 5 --cacert ca.crt "
                        "--tls-max 1.2 https://127.0.0.1:" +
                        std::to_string(port_) + "/metrics 2>&1");
  EXPECT_NE(r.out.find("alert protocol version"), std::string::npos) << r.out;
}

TEST_F(HttpsTest, BasicAuthRightPasswordGetsMetrics) {
  ASSERT_TRUE(
      Start(kServerTls + "basic_auth_users:\n  prometheus: " + kUUHash + "\n")
          .ok());
  auto r = Curl("--cacert ca.crt -u 'prometheus:U*U'");
  EXPECT_EQ(Code(r), "200");
  EXPECT_EQ(Body(r), kMetrics);
}

TEST_F(HttpsTest, BasicAuthWrongPasswordGets401AndNoMetrics) {
  ASSERT_TRUE(
      Start(kServerTls + "basic_auth_users:\n  prometheus: " + kUUHash + "\n")
          .ok());
  for (const char* creds : {"-u 'prometheus:wrong'", "-u 'nobody:U*U'", ""}) {
    auto r = Curl(std::string("--cacert ca.crt -D - ") + creds);
    EXPECT_NE(r.out.find("401"), std::string::npos) << creds;
    EXPECT_NE(r.out.find("WWW-Authenticate: Basic"), std::string::npos)
        << creds;
    EXPECT_EQ(r.out.find("mailhealth_up"), std::string::npos) << creds;
  }
}

TEST_F(HttpsTest, ConfiguredHeadersAreSent) {
  ASSERT_TRUE(Start(kServerTls +
                    "http_server_config:\n  headers:\n"
                    "    Strict-Transport-Security: max-age=31536000\n")
                  .ok());
  auto r = Curl("--cacert ca.crt -D -");
  EXPECT_NE(r.out.find("Strict-Transport-Security: max-age=31536000"),
            std::string::npos)
      << r.out;
}

const std::string kMutual = kServerTls +
                            "  client_auth_type: RequireAndVerifyClientCert\n"
                            "  client_ca_file: ca.crt\n";

TEST_F(HttpsTest, MutualTlsAcceptsCertificateFromTheClientCa) {
  ASSERT_TRUE(Start(kMutual).ok());
  auto r = Curl("--cacert ca.crt --cert client.crt --key client.key");
  EXPECT_EQ(Code(r), "200");
}

TEST_F(HttpsTest, MutualTlsRefusesMissingOrForeignCertificate) {
  ASSERT_TRUE(Start(kMutual).ok());
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "000");
  EXPECT_EQ(Code(Curl("--cacert ca.crt --cert other.crt --key other.key")),
            "000");
}

TEST_F(HttpsTest, AllowedSansRestrictVerifiedClients) {
  ASSERT_TRUE(Start(kMutual + "  client_allowed_sans: [prometheus]\n").ok());
  EXPECT_EQ(Code(Curl("--cacert ca.crt --cert client.crt --key client.key")),
            "200");
  EXPECT_EQ(Code(Curl("--cacert ca.crt --cert client2.crt --key client2.key")),
            "000");
}

TEST_F(HttpsTest, RequireAnyClientCertTakesUnverifiedButNotNone) {
  ASSERT_TRUE(
      Start(kServerTls + "  client_auth_type: RequireAnyClientCert\n").ok());
  EXPECT_EQ(Code(Curl("--cacert ca.crt --cert other.crt --key other.key")),
            "200");
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "000");
}

TEST_F(HttpsTest, VerifyClientCertIfGivenAllowsNoneButRefusesForeign) {
  ASSERT_TRUE(Start(kServerTls + "  client_auth_type: VerifyClientCertIfGiven\n"
                                 "  client_ca_file: ca.crt\n")
                  .ok());
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "200");
  EXPECT_EQ(Code(Curl("--cacert ca.crt --cert other.crt --key other.key")),
            "000");
}

// A client that connects and never sends its ClientHello is cut at the
// handshake deadline, and does not keep others from being served.
TEST_F(HttpsTest, StalledHandshakeIsCutAtItsDeadline) {
  HttpOptions opts;
  opts.tls_handshake_timeout_ms = 1000;
  ASSERT_TRUE(Start(kServerTls, opts).ok());
  std::vector<int> stalled;
  for (int i = 0; i < 20; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    stalled.push_back(fd);
  }
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "200");
  for (int fd : stalled) {
    char c;
    EXPECT_LE(recv(fd, &c, 1, 0), 0);  // closed by the server, no byte
    close(fd);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(900));  // at the deadline, not before
}

// The TLS session is made at the client's first byte, but the handshake
// deadline still runs from the connect: a client that sends one byte of a
// ClientHello late and then stalls is cut at the deadline counted from
// its connect, not a full deadline after that byte.
TEST_F(HttpsTest, HandshakeDeadlineRunsFromTheConnectNotTheFirstByte) {
  HttpOptions opts;
  opts.tls_handshake_timeout_ms = 1000;
  ASSERT_TRUE(Start(kServerTls, opts).ok());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const char handshake_record = 0x16;  // a TLS record's first byte
  ASSERT_EQ(send(fd, &handshake_record, 1, 0), 1);
  char c;
  EXPECT_LE(recv(fd, &c, 1, 0), 0);  // closed by the server
  const auto cut = std::chrono::steady_clock::now() - t0;
  close(fd);
  EXPECT_GE(cut, std::chrono::milliseconds(900));
  EXPECT_LT(cut, std::chrono::milliseconds(1500));  // not 700 ms + 1 s
  EXPECT_EQ(Code(Curl("--cacert ca.crt")), "200");
}

TEST_F(HttpsTest, BadWebConfigFailsBeforeListening) {
  Status st = Start(
      "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing.crt: cannot load certificate"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace mailhealth
