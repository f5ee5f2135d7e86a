// MTA-STS against real servers on loopback: BIND (tests/testutil/
// dns_server.h) serving the _mta-sts records, the mta-sts hosts (127.0.0.1)
// and the MX records, and an HTTPS server (python3's http.server with ssl)
// with a certificate from a test CA made here with openssl, answering per
// Host: a valid policy whose mx patterns cover two of three MX hosts, a
// testing policy, a redirect, an oversized policy, and, through SNI, a
// certificate for the wrong name. Exact values for every case.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "collectors/mailauth/mailauth_collector.h"
#include "exporter/metric_builder.h"
#include "tests/mailauth/mailauth_test_util.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::mailauth {
namespace {

using mailhealth::testing::DnsServer;

using testutil::Output;

const char* kServer = R"(import http.server, socketserver, ssl, sys
port, d = int(sys.argv[1]), sys.argv[2]
policy = {
  "mta-sts.ok.sts.test": "version: STSv1\r\nmode: enforce\r\nmx: mx1.ok.sts.test\r\nmx: *.backup.sts.test\r\nmax_age: 604800\r\n",
  "mta-sts.testing.sts.test": "version: STSv1\nmode: testing\nmx: mx.testing.sts.test\nmax_age: 86400\n",
  "mta-sts.big.sts.test": "version: STSv1\nmode: enforce\nmx: mx.big.sts.test\nmax_age: 86400\n" + "#" * 70000 + "\n",
  "mta-sts.wrongcert.sts.test": "version: STSv1\nmode: enforce\nmx: mx.wrongcert.sts.test\nmax_age: 86400\n",
}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.headers.get("Host", "")
        if host == "mta-sts.redirect.sts.test":
            self.send_response(301)
            self.send_header("Location", "https://mta-sts.ok.sts.test" + self.path)
            self.end_headers()
            return
        body = policy.get(host)
        if body is None or self.path != "/.well-known/mta-sts.txt":
            self.send_error(404)
            return
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/srv.pem", d + "/srv.key")
wrong = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
wrong.load_cert_chain(d + "/wrong.pem", d + "/wrong.key")
def sni(sock, name, c):
    if name == "mta-sts.wrongcert.sts.test":
        sock.context = wrong
ctx.sni_callback = sni
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
srv = S(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
)";

class MtaStsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mta-sts-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string d = dir_;
    // A test CA, a server certificate for the policy hosts, and one for a
    // name nobody asks for.
    const std::string san =
        "subjectAltName=DNS:mta-sts.ok.sts.test,DNS:mta-sts.testing.sts.test,"
        "DNS:mta-sts.big.sts.test,DNS:mta-sts.redirect.sts.test";
    const std::string cmds =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "
        "ca.pem -days 30 -subj /CN=mailhealth-test-ca"
        " && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
        "-subj /CN=mta-sts.ok.sts.test"
        " && printf '" +
        san +
        "\\n' > srv.ext"
        " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out srv.pem -days 10 -extfile srv.ext"
        " && openssl req -newkey rsa:2048 -nodes -keyout wrong.key -out "
        "wrong.csr -subj /CN=wrong.sts.test"
        " && printf 'subjectAltName=DNS:wrong.sts.test\\n' > wrong.ext"
        " && openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out wrong.pem -days 20 -extfile wrong.ext";
    ASSERT_EQ(std::system(("(" + cmds + ") >/dev/null 2>&1").c_str()), 0);
    port_ = testing::FreeLoopbackPort();
    std::ofstream(d + "/server.py") << kServer;
    server_ =
        ::popen(("exec /usr/bin/python3 " + d + "/server.py " +
                 std::to_string(port_) + " " + d + " 2>" + d + "/server.err")
                    .c_str(),
                "r");
    ASSERT_NE(server_, nullptr);
    char line[64] = {};
    ASSERT_NE(std::fgets(line, sizeof line, server_), nullptr)
        << Output("cat " + d + "/server.err");
    std::string z;
    for (const char* n : {"ok", "testing", "big", "redirect", "wrongcert"}) {
      z += std::string("_mta-sts.") + n + " TXT \"v=STSv1; id=20261207\"\n";
      z += std::string("mta-sts.") + n + " A 127.0.0.1\n";
      z += std::string(n) + " MX 10 mx." + n + ".sts.test.\n";
    }
    z += "ok MX 20 mx1.ok.sts.test.\nok MX 30 mx2.backup.sts.test.\n";
    z += "_mta-sts.twotxt TXT \"v=STSv1; id=1\"\n_mta-sts.twotxt TXT "
         "\"v=STSv1; id=2\"\nmta-sts.twotxt A 127.0.0.1\n";
    z += "none MX 10 mx.none.sts.test.\n";  // no _mta-sts record
    dns_ = DnsServer::Start({{"sts.test", z}}).release();
    ASSERT_NE(dns_, nullptr) << DnsServer::last_error();
  }
  static void TearDownTestSuite() {
    delete dns_;
    if (server_) {
      std::system(("pkill -f '" + dir_ + "/server.py' 2>/dev/null").c_str());
      ::pclose(server_);
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  static std::string dir_;
  static DnsServer* dns_;
  static FILE* server_;
  static uint16_t port_;
};
std::string MtaStsIntegrationTest::dir_;
DnsServer* MtaStsIntegrationTest::dns_ = nullptr;
FILE* MtaStsIntegrationTest::server_ = nullptr;
uint16_t MtaStsIntegrationTest::port_ = 0;

TEST_F(MtaStsIntegrationTest, ExactValuesForEveryCase) {
  MailauthConfig c;
  c.resolvers = {*ParseResolverAddress(dns_->resolver())};
  c.ca_file = dir_ + "/ca.pem";
  c.mta_sts_port = port_;
  for (const char* n :
       {"ok", "testing", "big", "redirect", "wrongcert", "twotxt", "none"}) {
    DomainConfig d;
    d.name = std::string(n) + ".sts.test";
    d.spf = d.dkim = d.dmarc = d.tlsrpt = false;
    c.domains.push_back(d);
  }
  auto col = MakeMailauthCollector(c);
  CollectResult r = col->Collect(Clock::now() + std::chrono::seconds(20));
  ASSERT_TRUE(r.status.ok());
  const Families& f = r.families;
  auto v = [&](const char* name, const Labels& l) {
    auto x = Value(f, name, l);
    return x ? *x : -1;
  };
  auto mode = [&](const std::string& d) {
    std::string m;
    for (const char* n : {"enforce", "testing", "none", "missing"})
      if (v("mailhealth_mta_sts_mode", {{"domain", d}, {"mode", n}}) == 1)
        m += n;
    return m;
  };
  auto valid = [&](const std::string& d) {
    return v("mailhealth_mta_sts_policy_valid", {{"domain", d}});
  };
  EXPECT_EQ(valid("ok.sts.test"), 1);
  EXPECT_EQ(mode("ok.sts.test"), "enforce");
  auto covered = [&](const char* mx) {
    return v("mailhealth_mta_sts_mx_covered",
             {{"domain", "ok.sts.test"}, {"exchange", mx}});
  };
  EXPECT_EQ(covered("mx1.ok.sts.test"), 1);      // exact pattern
  EXPECT_EQ(covered("mx2.backup.sts.test"), 1);  // *.backup.sts.test
  EXPECT_EQ(covered("mx.ok.sts.test"), 0);       // the outage under enforce
  EXPECT_EQ(valid("testing.sts.test"), 1);
  EXPECT_EQ(mode("testing.sts.test"), "testing");
  EXPECT_EQ(
      v("mailhealth_mta_sts_mx_covered",
        {{"domain", "testing.sts.test"}, {"exchange", "mx.testing.sts.test"}}),
      1);
  for (const char* d :
       {"big.sts.test", "redirect.sts.test", "wrongcert.sts.test",
        "twotxt.sts.test", "none.sts.test"}) {
    EXPECT_EQ(valid(d), 0) << d;
    EXPECT_EQ(mode(d), "missing") << d;
  }
  // No mx coverage without a valid policy.
  EXPECT_EQ(v("mailhealth_mta_sts_mx_covered",
              {{"domain", "big.sts.test"}, {"exchange", "mx.big.sts.test"}}),
            -1);
  // The certificates' notAfter, also the one that does not validate.
  auto not_after = [&](const char* file) {
    return std::stod(Output("date -d \"$(openssl x509 -enddate -noout -in " +
                            dir_ + "/" + file + " | cut -d= -f2)\" +%s"));
  };
  EXPECT_EQ(v("mailhealth_mta_sts_cert_not_after_timestamp_seconds",
              {{"domain", "ok.sts.test"}}),
            not_after("srv.pem"));
  EXPECT_EQ(v("mailhealth_mta_sts_cert_not_after_timestamp_seconds",
              {{"domain", "wrongcert.sts.test"}}),
            not_after("wrong.pem"));
  // Never fetched: no TXT record (none), or no policy host reached.
  EXPECT_EQ(v("mailhealth_mta_sts_cert_not_after_timestamp_seconds",
              {{"domain", "none.sts.test"}}),
            -1);
}

// Without the test CA the same valid policy host does not validate.
TEST_F(MtaStsIntegrationTest, SystemCasDoNotKnowTheTestCa) {
  MailauthConfig c;
  c.resolvers = {*ParseResolverAddress(dns_->resolver())};
  c.mta_sts_port = port_;
  DomainConfig d;
  d.name = "ok.sts.test";
  d.spf = d.dkim = d.dmarc = d.tlsrpt = false;
  c.domains.push_back(d);
  CollectResult r = MakeMailauthCollector(c)->Collect(Clock::now() +
                                                      std::chrono::seconds(10));
  auto x = Value(r.families, "mailhealth_mta_sts_policy_valid",
                 {{"domain", "ok.sts.test"}});
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, 0);
}

}  // namespace
}  // namespace mailhealth::mailauth
