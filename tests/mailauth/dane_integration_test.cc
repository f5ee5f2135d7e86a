// DANE (RFC 7672) against real servers on loopback, inside
// tests/tools/isolate: a zone signed here with dnssec-keygen and
// dnssec-signzone and an unsigned one, both served by BIND
// (tests/testutil/dns_server.h), behind a real unbound on a free loopback
// port that holds the signed zone's key as its trust anchor (so it answers
// AD=1 for the signed zone and AD=0 for the other), and the real Postfix on
// 127.0.0.1:25 (scripts/setup-postfix: STARTTLS with the snakeoil
// certificate). The TLSA records are computed here from that certificate
// with openssl: matching ones (3 1 1, 3 0 2, 2 0 1, 3 1 0), a stale one, a
// host without records, one whose signature is broken (bogus); and a
// python STARTTLS server on 127.0.0.2:25 presenting a leaf and the test CA
// that signed it (2 0 1 of the CA matches, 3 0 1 of it does not). Exact values
// for every case. RESOURCE_LOCK postfix.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "collectors/mailauth/mailauth_collector.h"
#include "collectors/mailauth/mailauth_lookup.h"
#include "exporter/metric_builder.h"
#include "tests/mailauth/mailauth_test_util.h"
#include "tests/testutil/dns_server.h"
#include "tests/testutil/family_value.h"
#include "tests/testutil/isolation.h"

namespace mailhealth::mailauth {
namespace {

using mailhealth::testing::DnsServer;
using namespace std::chrono_literals;

constexpr char kSnakeoil[] = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

using testutil::Output;

// "SHA2-256(stdin)= ab12..." -> "ab12..."
std::string Digest(const std::string& cmd) {
  std::string out = Output(cmd);
  size_t eq = out.rfind("= ");
  return eq == std::string::npos ? "" : out.substr(eq + 2);
}

// A minimal ESMTP server with STARTTLS on 127.0.0.2:25 that presents a
// leaf signed by a test CA and the CA certificate after it (Postfix
// presents a self-signed certificate alone).
const char* kCaServer = R"(import socketserver, ssl, sys
d = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/chain.pem", d + "/leaf.key")
class H(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        f = s.makefile("rb")
        s.sendall(b"220 ca.signed.test ESMTP\r\n")
        tls = False
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                s.sendall(b"250-ca.signed.test\r\n" + (b"" if tls else b"250-STARTTLS\r\n") + b"250 8BITMIME\r\n")
            elif cmd == b"STARTTLS" and not tls:
                s.sendall(b"220 2.0.0 ready\r\n")
                s = ctx.wrap_socket(s, server_side=True)
                f = s.makefile("rb")
                tls = True
            elif cmd == b"QUIT":
                s.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                s.sendall(b"502 5.5.2 no\r\n")
class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
srv = S(("127.0.0.2", 25), H)
print("ready", flush=True)
srv.serve_forever()
)";

class DaneIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!IsolatedFromMachine()) GTEST_SKIP() << kNotIsolated;
  }
  static void SetUpTestSuite() {
    if (!IsolatedFromMachine()) return;
    was_running_ = std::system("postfix status >/dev/null 2>&1") == 0;
    const std::string setup =
        std::string(MAILHEALTH_SOURCE_DIR) + "/scripts/setup-postfix start";
    ASSERT_EQ(std::system((setup + " >/dev/null 2>&1").c_str()), 0) << setup;
    char tmpl[] = "/tmp/dane-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string d = dir_;
    const std::string cert = kSnakeoil;
    // The association data, from the certificate Postfix presents.
    spki_sha256_ = Digest("openssl x509 -in " + cert +
                          " -noout -pubkey | openssl pkey -pubin -outform DER"
                          " | openssl dgst -sha256");
    spki_hex_ = Output("openssl x509 -in " + cert +
                       " -noout -pubkey | openssl pkey -pubin -outform DER"
                       " | od -An -v -tx1 | tr -d ' \\n'");
    cert_sha256_ = Digest("openssl x509 -in " + cert +
                          " -outform DER | openssl dgst -sha256");
    cert_sha512_ = Digest("openssl x509 -in " + cert +
                          " -outform DER | openssl dgst -sha512");
    // A key Postfix does not have: the record left behind by a rotation.
    stale_sha256_ = Digest(
        "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 "
        "2>/dev/null | openssl pkey -pubout -outform DER | openssl dgst "
        "-sha256");
    ASSERT_EQ(spki_sha256_.size(), 64u);
    ASSERT_EQ(stale_sha256_.size(), 64u);
    ASSERT_EQ(cert_sha512_.size(), 128u);
    ASSERT_GT(spki_hex_.size(), 100u);
    // A test CA and a leaf it signed, for the server on 127.0.0.2.
    const std::string pki =
        "cd " + d +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
        "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=dane-test-ca"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout leaf.key -out leaf.csr -subj /CN=mx8.signed.test"
        " && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out leaf.pem -days 1 && cat leaf.pem ca.pem > "
        "chain.pem";
    ASSERT_EQ(std::system(("(" + pki + ") >/dev/null 2>&1").c_str()), 0);
    ca_sha256_ = Digest("openssl x509 -in " + d +
                        "/ca.pem -outform DER | openssl dgst -sha256");
    ASSERT_EQ(ca_sha256_.size(), 64u);
    std::ofstream(d + "/ca_server.py") << kCaServer;
    ca_server_pid_ = fork();
    if (ca_server_pid_ == 0) {
      const std::string out = d + "/ca_server.out";
      FILE* o = std::freopen(out.c_str(), "w", stdout);
      if (o == nullptr || !std::freopen(out.c_str(), "a", stderr)) _exit(126);
      const std::string py = d + "/ca_server.py";
      execlp("python3", "python3", py.c_str(), d.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (Output("cat " + d + "/ca_server.out").find("ready") !=
          std::string::npos)
        break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_NE(Output("cat " + d + "/ca_server.out").find("ready"),
              std::string::npos)
        << Output("cat " + d + "/ca_server.out");

    std::string z =
        "$TTL 300\n$ORIGIN signed.test.\n"
        "@ IN SOA ns hostmaster 1 3600 600 86400 300\n"
        "@ IN NS ns\nns IN A 127.0.0.1\n"
        "@ MX 10 mx1\n@ MX 20 mx2\n@ MX 30 mx3\n@ MX 40 mx4\n@ MX 50 mx5\n"
        "@ MX 60 mx6\n@ MX 70 mx7\n@ MX 80 mx8\n@ MX 90 mx9\n";
    for (int i = 1; i <= 7; ++i)
      z += "mx" + std::to_string(i) + " A 127.0.0.1\n";
    z += "mx8 A 127.0.0.2\nmx9 A 127.0.0.2\n";  // the CA-signed server
    // mx10: a matching record, but nothing listens on 127.0.0.3:25.
    z += "@ MX 100 mx10\nmx10 A 127.0.0.3\n";
    z += "_25._tcp.mx10 TLSA 3 1 1 " + spki_sha256_ + "\n";
    z += "_25._tcp.mx8 TLSA 2 0 1 " + ca_sha256_ + "\n";     // the CA: matches
    z += "_25._tcp.mx9 TLSA 3 0 1 " + ca_sha256_ + "\n";     // not the leaf
    z += "_25._tcp.mx1 TLSA 3 1 1 " + spki_sha256_ + "\n";   // matches
    z += "_25._tcp.mx2 TLSA 3 1 1 " + stale_sha256_ + "\n";  // stale
    z += "_25._tcp.mx3 TLSA 3 1 1 " + stale_sha256_ + "\n";  // rotated:
    z += "_25._tcp.mx3 TLSA 3 0 2 " + cert_sha512_ + "\n";   // new one too
    z += "_25._tcp.mx4 TLSA 2 0 1 " + cert_sha256_ + "\n";   // TA in chain
    z += "_25._tcp.mx6 TLSA 3 1 0 " + spki_hex_ + "\n";      // exact SPKI
    z += "_25._tcp.mx7 TLSA 3 1 1 " + spki_sha256_ + "\n";   // bogus: below
    // mx5: no TLSA records (a securely denied name).
    std::ofstream(d + "/signed.test.zone") << z;
    const std::string sign =
        "cd " + d +
        " && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK signed.test > "
        "ksk.name && dnssec-keygen -q -a ECDSAP256SHA256 signed.test > "
        "zsk.name && cat $(cat ksk.name).key $(cat zsk.name).key >> "
        "signed.test.zone && dnssec-signzone -q -o signed.test -k $(cat "
        "ksk.name) -O full -f signed.test.zone.full signed.test.zone $(cat "
        "zsk.name) && cp $(cat ksk.name).key anchor.key"
        // The signature over mx7's TLSA records broken (its first bytes
        // zeroed): a validating resolver answers SERVFAIL (bogus).
        " && awk '$1 == \"_25._tcp.mx7.signed.test.\" && $4 == \"RRSIG\" && "
        "$5 == \"TLSA\" { $NF = \"AAAAAAAA\" substr($NF, 9) } { print }' "
        "signed.test.zone.full > signed.test.zone.signed"
        " && test $(diff signed.test.zone.full signed.test.zone.signed | "
        "grep -c '^>') = 1";
    ASSERT_EQ(std::system(("(" + sign + ") >" + d + "/sign.log 2>&1").c_str()),
              0)
        << Output("cat " + d + "/sign.log");

    std::string u = "@ MX 10 mx1\nmx1 A 127.0.0.1\n";
    u += "_25._tcp.mx1 TLSA 3 1 1 " + spki_sha256_ + "\n";  // matches
    bind_ = DnsServer::Start(
                {{"signed.test", "", false, d + "/signed.test.zone.signed"},
                 {"unsigned.test", u}})
                .release();
    ASSERT_NE(bind_, nullptr) << DnsServer::last_error();

    unbound_port_ = testing::FreeLoopbackPort();
    std::ofstream conf(d + "/unbound.conf");
    const std::string stub =
        "  stub-addr: 127.0.0.1@" + std::to_string(bind_->port()) + "\n";
    conf << "server:\n"
         << "  interface: 127.0.0.1\n  port: " << unbound_port_ << "\n"
         << "  do-ip6: no\n  do-daemonize: no\n  use-syslog: no\n"
         << "  username: \"\"\n  chroot: \"\"\n  directory: \"" << d << "\"\n"
         << "  pidfile: \"" << d << "/unbound.pid\"\n"
         << "  logfile: \"" << d << "/unbound.log\"\n"
         << "  verbosity: 1\n  val-log-level: 2\n"
         << "  access-control: 127.0.0.0/8 allow\n"
         << "  do-not-query-localhost: no\n"
         << "  module-config: \"validator iterator\"\n"
         << "  trust-anchor-file: \"" << d << "/anchor.key\"\n"
         << "  local-zone: \"test.\" nodefault\n"
         // Every other name to BIND too (which refuses it): unbound never
         // primes from the public root servers.
         << "stub-zone:\n  name: \".\"\n"
         << stub << "stub-zone:\n  name: \"signed.test\"\n"
         << stub << "stub-zone:\n  name: \"unsigned.test\"\n"
         << stub;
    conf.close();
    unbound_pid_ = fork();
    if (unbound_pid_ == 0) {
      const std::string c = d + "/unbound.conf";
      execlp("unbound", "unbound", "-d", "-c", c.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when it answers (and validates) the signed zone's SOA.
    for (int i = 0; i < 50; ++i) {
      std::string r =
          Output("dig +tries=1 +time=1 -p " + std::to_string(unbound_port_) +
                 " @127.0.0.1 signed.test SOA +adflag 2>/dev/null");
      if (r.find("status: NOERROR") != std::string::npos) break;
      std::this_thread::sleep_for(100ms);
    }
  }
  static void TearDownTestSuite() {
    if (ca_server_pid_ > 0) {
      ::kill(ca_server_pid_, SIGTERM);
      ::waitpid(ca_server_pid_, nullptr, 0);
    }
    if (unbound_pid_ > 0) {
      ::kill(unbound_pid_, SIGTERM);
      ::waitpid(unbound_pid_, nullptr, 0);
    }
    delete bind_;
    if (IsolatedFromMachine() && !was_running_)
      std::system("postfix stop >/dev/null 2>&1");
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  static MailauthConfig Config() {
    MailauthConfig c;
    c.resolvers = {
        *ParseResolverAddress("127.0.0.1:" + std::to_string(unbound_port_))};
    c.smtp_port = 25;
    for (const char* n : {"signed.test", "unsigned.test"}) {
      DomainConfig d;
      d.name = n;
      d.spf = d.dkim = d.dmarc = d.tlsrpt = d.mta_sts = false;
      c.domains.push_back(d);
    }
    return c;
  }

  static std::string dir_, spki_sha256_, spki_hex_, cert_sha256_, cert_sha512_,
      stale_sha256_;
  static DnsServer* bind_;
  static uint16_t unbound_port_;
  static pid_t unbound_pid_;
  static pid_t ca_server_pid_;
  static std::string ca_sha256_;
  static bool was_running_;
};
bool DaneIntegrationTest::was_running_ = false;
pid_t DaneIntegrationTest::ca_server_pid_ = -1;
std::string DaneIntegrationTest::ca_sha256_;
std::string DaneIntegrationTest::dir_, DaneIntegrationTest::spki_sha256_,
    DaneIntegrationTest::spki_hex_, DaneIntegrationTest::cert_sha256_,
    DaneIntegrationTest::cert_sha512_, DaneIntegrationTest::stale_sha256_;
DnsServer* DaneIntegrationTest::bind_ = nullptr;
uint16_t DaneIntegrationTest::unbound_port_ = 0;
pid_t DaneIntegrationTest::unbound_pid_ = -1;

// The resolver path itself, checked with dig: unbound validates the
// signed zone (AD) and not the unsigned one, and BIND alone never sets AD.
TEST_F(DaneIntegrationTest, UnboundValidatesOnlyTheSignedZone) {
  auto flags = [](uint16_t port, const char* name) {
    std::string r = Output("dig +tries=1 +time=2 -p " + std::to_string(port) +
                           " @127.0.0.1 " + name + " TLSA +adflag");
    size_t f = r.find(";; flags:");
    return f == std::string::npos ? r : r.substr(f, r.find(';', f + 3) - f);
  };
  EXPECT_NE(flags(unbound_port_, "_25._tcp.mx1.signed.test").find(" ad"),
            std::string::npos)
      << Output("cat " + dir_ + "/unbound.log");
  EXPECT_EQ(flags(unbound_port_, "_25._tcp.mx1.unsigned.test").find(" ad"),
            std::string::npos);
  EXPECT_EQ(flags(bind_->port(), "_25._tcp.mx1.signed.test").find(" ad"),
            std::string::npos);
}

TEST_F(DaneIntegrationTest, ExactValuesForEveryCase) {
  auto col = MakeMailauthCollector(Config());
  CollectResult r = col->Collect(Clock::now() + 20s);
  ASSERT_TRUE(r.status.ok());
  const Families& f = r.families;
  auto v = [&](const char* metric, const char* domain, const char* mx) {
    auto x = Value(f, metric, {{"domain", domain}, {"exchange", mx}});
    return x ? *x : -1;
  };
  auto records = [&](const char* d, const char* mx) {
    return v("mailhealth_dane_tlsa_records", d, mx);
  };
  auto validated = [&](const char* d, const char* mx) {
    return v("mailhealth_dane_dnssec_validated", d, mx);
  };
  auto matches = [&](const char* d, const char* mx) {
    return v("mailhealth_dane_tlsa_matches", d, mx);
  };
  const char* s = "signed.test";
  // mx1: 3 1 1 of Postfix's key.
  EXPECT_EQ(records(s, "mx1.signed.test"), 1) << r.detail;
  EXPECT_EQ(validated(s, "mx1.signed.test"), 1)
      << Output("cat " + dir_ + "/unbound.log");
  EXPECT_EQ(matches(s, "mx1.signed.test"), 1);
  // mx2: only a stale record: the page.
  EXPECT_EQ(records(s, "mx2.signed.test"), 1);
  EXPECT_EQ(validated(s, "mx2.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx2.signed.test"), 0);
  // mx3: the stale record and 3 0 2 (SHA-512 of the whole certificate).
  EXPECT_EQ(records(s, "mx3.signed.test"), 2);
  EXPECT_EQ(validated(s, "mx3.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx3.signed.test"), 1);
  // mx4: 2 0 1, the (self-signed) snakeoil certificate as trust anchor.
  EXPECT_EQ(records(s, "mx4.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx4.signed.test"), 1);
  // mx5: no records, the denial validated; no match series.
  EXPECT_EQ(records(s, "mx5.signed.test"), 0);
  EXPECT_EQ(validated(s, "mx5.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx5.signed.test"), -1);
  // mx6: 3 1 0, the SubjectPublicKeyInfo itself.
  EXPECT_EQ(records(s, "mx6.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx6.signed.test"), 1);
  // The unsigned zone: a matching record, but not validated.
  EXPECT_EQ(records("unsigned.test", "mx1.unsigned.test"), 1);
  EXPECT_EQ(validated("unsigned.test", "mx1.unsigned.test"), 0);
  EXPECT_EQ(matches("unsigned.test", "mx1.unsigned.test"), 1);
  // mx8: 2 0 1 of the test CA, which the server sends after its leaf.
  EXPECT_EQ(records(s, "mx8.signed.test"), 1);
  EXPECT_EQ(validated(s, "mx8.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx8.signed.test"), 1);
  // mx9: the same data as 3 0 1: usage 3 is the leaf only.
  EXPECT_EQ(records(s, "mx9.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx9.signed.test"), 0);
  // mx10: records, validated, but no handshake: no match series (port 25
  // filtered is not a mismatch).
  EXPECT_EQ(records(s, "mx10.signed.test"), 1);
  EXPECT_EQ(validated(s, "mx10.signed.test"), 1);
  EXPECT_EQ(matches(s, "mx10.signed.test"), -1);
  // mx7: the signature is bogus: unbound answers SERVFAIL, as it does to
  // every DANE sender; no series, one failed lookup in the detail.
  EXPECT_EQ(records(s, "mx7.signed.test"), -1);
  EXPECT_EQ(validated(s, "mx7.signed.test"), -1);
  EXPECT_EQ(matches(s, "mx7.signed.test"), -1);
  EXPECT_NE(r.detail.find(", 1 lookups failed"), std::string::npos) << r.detail;
}

// The same records straight from BIND (not a validating resolver): found,
// never validated, matched all the same.
TEST_F(DaneIntegrationTest, WithoutAValidatingResolverNothingIsValidated) {
  MailauthConfig c = Config();
  c.resolvers = {*ParseResolverAddress(bind_->resolver())};
  MailauthRun run = RunMailauth(c, Clock::now() + 20s);
  ASSERT_EQ(run.domains.size(), 2u);
  const DomainOutcome& d = run.domains[0];
  ASSERT_TRUE(d.dane_checked);
  ASSERT_EQ(d.dane.size(), 10u);  // BIND serves mx7's records as they are
  std::map<std::string, const DaneHost*> by;
  for (const DaneHost& h : d.dane) {
    EXPECT_FALSE(h.validated) << h.exchange;
    by[h.exchange] = &h;
  }
  ASSERT_EQ(by.size(), 10u);
  EXPECT_EQ(by["mx10.signed.test"]->probed, 1u);
  EXPECT_EQ(by["mx10.signed.test"]->tls_done, 0u);
  EXPECT_FALSE(by["mx10.signed.test"]->matches);
  EXPECT_TRUE(by["mx7.signed.test"]->matches);
  EXPECT_TRUE(by["mx1.signed.test"]->matches);
  EXPECT_EQ(by["mx1.signed.test"]->probed, 1u);
  EXPECT_FALSE(by["mx2.signed.test"]->matches);
  EXPECT_EQ(by["mx2.signed.test"]->probed, 1u);
  EXPECT_EQ(by["mx2.signed.test"]->matched, 0u);
  EXPECT_EQ(by["mx5.signed.test"]->probed, 0u);  // no records: no probe
}

// skip: [dane] turns the check off: no lookups, no series.
TEST_F(DaneIntegrationTest, SkipDaneExportsNothing) {
  MailauthConfig c = Config();
  for (DomainConfig& d : c.domains) d.dane = false;
  auto col = MakeMailauthCollector(c);
  CollectResult r = col->Collect(Clock::now() + 20s);
  ASSERT_TRUE(r.status.ok());
  for (const auto& fam : r.families)
    if (fam.name.rfind("mailhealth_dane_", 0) == 0) {
      EXPECT_TRUE(fam.metric.empty()) << fam.name;
    }
}

}  // namespace
}  // namespace mailhealth::mailauth
