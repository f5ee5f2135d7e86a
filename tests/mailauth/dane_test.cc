// The TLSA matcher (RFC 6698 / 7672) on a chain made here with the openssl
// tool (a CA and a leaf it signed); the association data is computed by
// the openssl tool too, not by the code under test.
#include "collectors/mailauth/dane.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "collectors/mailauth/mailauth_lookup.h"
#include "collectors/mailauth/mailauth_metrics.h"
#include "tests/mailauth/mailauth_test_util.h"
#include "tests/testutil/family_value.h"

namespace mailhealth::mailauth {
namespace {

using testutil::Output;

std::string Bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class DaneMatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/dane-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string cmds =
        "cd " + dir_ +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
        "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=dane-test-ca"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout leaf.key -out leaf.csr -subj /CN=mx.dane.test"
        " && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out leaf.pem -days 1"
        " && for c in ca leaf; do openssl x509 -in $c.pem -outform DER -out "
        "$c.der && openssl x509 -in $c.pem -noout -pubkey | openssl pkey "
        "-pubin -outform DER -out $c.spki; done";
    ASSERT_EQ(std::system(("(" + cmds + ") >/dev/null 2>&1").c_str()), 0);
    leaf_ = ReadFile(dir_ + "/leaf.der");
    ca_ = ReadFile(dir_ + "/ca.der");
    ASSERT_GT(leaf_.size(), 100u);
    ASSERT_GT(ca_.size(), 100u);
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // Association data for `who` (ca, leaf): selector 0 (der) or 1 (spki),
  // matching type 0 (the bytes), 1 (sha256), 2 (sha512).
  static std::string Data(const std::string& who, int selector, int mt) {
    const std::string file = dir_ + "/" + who + (selector ? ".spki" : ".der");
    if (mt == 0) return ReadFile(file);
    std::string out =
        Output("openssl dgst -" + std::string(mt == 1 ? "sha256" : "sha512") +
               " -hex < " + file);
    return Bytes(out.substr(out.rfind("= ") + 2));
  }
  static TlsaRecord R(int usage, int selector, int mt, const std::string& who) {
    return TlsaRecord{static_cast<uint8_t>(usage),
                      static_cast<uint8_t>(selector), static_cast<uint8_t>(mt),
                      Data(who, selector, mt)};
  }
  std::vector<std::string> Chain() const { return {leaf_, ca_}; }

  static std::string dir_, leaf_, ca_;
};
std::string DaneMatchTest::dir_, DaneMatchTest::leaf_, DaneMatchTest::ca_;

TEST_F(DaneMatchTest, DaneEeMatchesTheLeafWithEverySelectorAndMatchingType) {
  for (int sel : {0, 1})
    for (int mt : {0, 1, 2}) {
      EXPECT_TRUE(TlsaMatches(R(3, sel, mt, "leaf"), Chain()))
          << "3 " << sel << " " << mt;
      // Usage 3 is the leaf only: the CA's data does not match.
      EXPECT_FALSE(TlsaMatches(R(3, sel, mt, "ca"), Chain()))
          << "3 " << sel << " " << mt;
    }
}

TEST_F(DaneMatchTest, DaneTaMatchesAnyCertificateOfTheChain) {
  for (int sel : {0, 1})
    for (int mt : {0, 1, 2}) {
      EXPECT_TRUE(TlsaMatches(R(2, sel, mt, "ca"), Chain()))
          << "2 " << sel << " " << mt;
      // A trust anchor the server does not send is not found.
      EXPECT_FALSE(TlsaMatches(R(2, sel, mt, "ca"), {leaf_}))
          << "2 " << sel << " " << mt;
    }
}

TEST_F(DaneMatchTest, PkixUsagesAndUnknownValuesNeverMatch) {
  EXPECT_FALSE(TlsaMatches(R(0, 0, 1, "ca"), Chain()));
  EXPECT_FALSE(TlsaMatches(R(1, 1, 1, "leaf"), Chain()));
  TlsaRecord r = R(3, 1, 1, "leaf");
  r.usage = 4;
  EXPECT_FALSE(TlsaMatches(r, Chain()));
  r = R(3, 1, 1, "leaf");
  r.matching_type = 3;
  EXPECT_FALSE(TlsaMatches(r, Chain()));
  r = R(3, 1, 1, "leaf");
  r.selector = 2;
  EXPECT_FALSE(TlsaMatches(r, Chain()));
}

TEST_F(DaneMatchTest, StaleDataEmptyChainAndGarbageDoNotMatch) {
  TlsaRecord r = R(3, 1, 1, "leaf");
  EXPECT_FALSE(TlsaMatches(r, {}));
  EXPECT_FALSE(TlsaMatches(r, {"not a certificate"}));
  r.data[0] = static_cast<char>(r.data[0] ^ 1);  // one bit off
  EXPECT_FALSE(TlsaMatches(r, Chain()));
}

TEST_F(DaneMatchTest, AnyRecordMatchingIsEnough) {
  TlsaRecord stale = R(3, 1, 1, "leaf");
  stale.data[5] = static_cast<char>(stale.data[5] ^ 0x80);
  EXPECT_FALSE(AnyTlsaMatches({stale}, Chain()));
  EXPECT_TRUE(AnyTlsaMatches({stale, R(2, 0, 1, "ca")}, Chain()));
  EXPECT_FALSE(AnyTlsaMatches({}, Chain()));
}

// The families from a constructed run: the match series only for hosts
// with records and a completed handshake.
TEST(DaneFamiliesTest, MatchSeriesOnlyWithRecordsAndAHandshake) {
  MailauthRun run;
  DomainOutcome d;
  d.domain = "a.test";
  d.dane_checked = true;
  auto host = [](const char* n, size_t records, bool validated, size_t tls_done,
                 bool matches) {
    DaneHost h;
    h.exchange = n;
    h.records.resize(records);
    h.validated = validated;
    h.probed = records ? 1 : 0;
    h.tls_done = tls_done;
    h.matched = matches ? tls_done : 0;
    h.matches = matches;
    return h;
  };
  d.dane = {host("mx1.a.test", 2, true, 1, true),
            host("mx2.a.test", 1, true, 1, false),
            host("mx3.a.test", 0, true, 0, false),
            host("mx4.a.test", 1, false, 0, false)};
  run.domains.push_back(d);
  Families f = BuildMailauthFamilies(run, Millis(600000));
  auto v = [&](const char* m, const char* mx) {
    auto x = Value(f, m, {{"domain", "a.test"}, {"exchange", mx}});
    return x ? *x : -1;
  };
  EXPECT_EQ(v("mailhealth_dane_tlsa_records", "mx1.a.test"), 2);
  EXPECT_EQ(v("mailhealth_dane_dnssec_validated", "mx1.a.test"), 1);
  EXPECT_EQ(v("mailhealth_dane_tlsa_matches", "mx1.a.test"), 1);
  EXPECT_EQ(v("mailhealth_dane_tlsa_matches", "mx2.a.test"), 0);
  EXPECT_EQ(v("mailhealth_dane_tlsa_records", "mx3.a.test"), 0);
  EXPECT_EQ(v("mailhealth_dane_tlsa_matches", "mx3.a.test"), -1);
  EXPECT_EQ(v("mailhealth_dane_dnssec_validated", "mx4.a.test"), 0);
  EXPECT_EQ(v("mailhealth_dane_tlsa_matches", "mx4.a.test"), -1);
}

TEST(TlsaNameTest, PortAndProtocolLabels) {
  EXPECT_EQ(TlsaName("mx1.example.com"), "_25._tcp.mx1.example.com");
  EXPECT_EQ(TlsaName("mx1.example.com", 2525), "_2525._tcp.mx1.example.com");
}

}  // namespace
}  // namespace mailhealth::mailauth
