// DKIM, DMARC and TLS-RPT record parsing; DKIM keys made with OpenSSL's
// command line, compared with their private halves.
#include "collectors/mailauth/records.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/mailauth/mailauth_test_util.h"

namespace mailhealth::mailauth {
namespace {

using testutil::Output;

class DkimKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mailauth-keys-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ASSERT_TRUE(testutil::MakeRsaKeys(dir_, {"a", "b"}));
    ASSERT_EQ(std::system(("openssl genpkey -algorithm ed25519 -out " + dir_ +
                           "/e.pem 2>/dev/null")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  // The base64 SubjectPublicKeyInfo of a key file: DKIM's p= for RSA.
  static std::string P(const std::string& k) {
    return testutil::PublicKeyBase64(dir_, k);
  }
  static std::string dir_;
};
std::string DkimKeyTest::dir_;

TEST_F(DkimKeyTest, RsaKeyParsesWithItsSizeAndMatchesItsPrivateHalf) {
  DkimKey k = ParseDkimRecords({"v=DKIM1; k=rsa; p=" + P("a")});
  ASSERT_TRUE(k.valid) << k.problem;
  EXPECT_EQ(k.bits, 2048);
  std::string err;
  auto a = PublicKeyOfPrivateKeyFile(dir_ + "/a.pem", &err);
  auto b = PublicKeyOfPrivateKeyFile(dir_ + "/b.pem", &err);
  ASSERT_TRUE(a && b) << err;
  EXPECT_EQ(*a, k.public_der);
  EXPECT_NE(*b, k.public_der);  // the rotation mistake
  EXPECT_FALSE(PublicKeyOfPrivateKeyFile(dir_ + "/none.pem", &err));
  EXPECT_NE(err.find("cannot open"), std::string::npos);
}

TEST_F(DkimKeyTest, Ed25519RawKey) {
  // RFC 8463: p= is the raw 32-byte key (the last 32 bytes of the DER).
  std::string raw =
      Output("openssl pkey -in " + dir_ +
             "/e.pem -pubout -outform DER 2>/dev/null | tail -c 32 "
             "| base64 -w0");
  DkimKey k = ParseDkimRecords({"v=DKIM1; k=ed25519; p=" + raw});
  ASSERT_TRUE(k.valid) << k.problem;
  EXPECT_EQ(k.bits, 256);
  std::string err;
  auto pub = PublicKeyOfPrivateKeyFile(dir_ + "/e.pem", &err);
  ASSERT_TRUE(pub) << err;
  EXPECT_EQ(*pub, k.public_der);
}

TEST_F(DkimKeyTest, BrokenRecords) {
  EXPECT_EQ(ParseDkimRecords({}).problem, "no key record");
  EXPECT_FALSE(
      ParseDkimRecords({"v=DKIM1; p=" + P("a"), "v=DKIM1; p=" + P("b")}).valid);
  DkimKey revoked = ParseDkimRecords({"v=DKIM1; k=rsa; p="});
  EXPECT_FALSE(revoked.valid);
  EXPECT_TRUE(revoked.revoked);
  EXPECT_FALSE(ParseDkimRecords({"v=DKIM1; k=rsa; p=notbase64!"}).valid);
  EXPECT_FALSE(ParseDkimRecords({"v=DKIM2; p=" + P("a")}).valid);
  EXPECT_FALSE(ParseDkimRecords({"k=rsa; v=DKIM1; p=" + P("a")}).valid);
  EXPECT_FALSE(ParseDkimRecords({"v=DKIM1; k=dsa; p=" + P("a")}).valid);
  // Folding whitespace inside p= (long keys split over strings) is fine.
  std::string p = P("a");
  DkimKey folded = ParseDkimRecords(
      {"v=DKIM1; k=rsa; p=" + p.substr(0, 100) + " " + p.substr(100)});
  EXPECT_TRUE(folded.valid) << folded.problem;
}

TEST(DmarcTest, Variants) {
  Dmarc d = ParseDmarcRecords(
      {"v=DMARC1; p=reject; pct=50; rua=mailto:dmarc@example.com"});
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.policy, DmarcPolicy::kReject);
  EXPECT_EQ(d.pct, 50);
  EXPECT_TRUE(d.rua);
  d = ParseDmarcRecords({"v=DMARC1;p=quarantine", "unrelated"});
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.policy, DmarcPolicy::kQuarantine);
  EXPECT_EQ(d.pct, 100);
  EXPECT_FALSE(d.rua);
  EXPECT_EQ(ParseDmarcRecords({"v=DMARC1; p=none"}).policy, DmarcPolicy::kNone);
  EXPECT_FALSE(ParseDmarcRecords({}).valid);
  EXPECT_FALSE(
      ParseDmarcRecords({"v=DMARC1; p=none", "v=DMARC1; p=reject"}).valid);
  EXPECT_FALSE(ParseDmarcRecords({"v=DMARC1; rua=mailto:x@example.com"}).valid);
  EXPECT_FALSE(ParseDmarcRecords({"v=DMARC1; p=block"}).valid);
  EXPECT_FALSE(ParseDmarcRecords({"v=DMARC1; p=reject; pct=150"}).valid);
  EXPECT_EQ(ParseDmarcRecords({"v=DMARC1; p=reject; pct=150"}).policy,
            DmarcPolicy::kMissing);
  EXPECT_FALSE(ParseDmarcRecords({"v=DMARC2; p=reject"}).valid);
}

TEST(TlsRptTest, Variants) {
  EXPECT_TRUE(
      ParseTlsRptRecords({"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"}).valid);
  EXPECT_TRUE(ParseTlsRptRecords({"v=TLSRPTv1;rua=mailto:a@example.com,https://"
                                  "report.example.com/tlsrpt"})
                  .valid);
  EXPECT_FALSE(ParseTlsRptRecords({"v=TLSRPTv1"}).valid);
  EXPECT_FALSE(ParseTlsRptRecords({"v=TLSRPTv1; rua=ftp://x.example"}).valid);
  EXPECT_FALSE(ParseTlsRptRecords({}).valid);
  EXPECT_FALSE(ParseTlsRptRecords({"v=TLSRPTv1; rua=mailto:a@example.com",
                                   "v=TLSRPTv1; rua=mailto:b@example.com"})
                   .valid);
}

// DMARC and TLS-RPT pick their one record the same way; each failure says
// which of the three ways it failed.
TEST(VersionedRecordTest, ProblemNamesTheFailure) {
  EXPECT_EQ(ParseDmarcRecords({"unrelated"}).problem, "no v=DMARC1 record");
  EXPECT_EQ(ParseDmarcRecords({"v=DMARC1; p=none", "v=DMARC1; p=reject",
                               "v=DMARC1; p=quarantine"})
                .problem,
            "3 v=DMARC1 records");
  EXPECT_EQ(ParseDmarcRecords({"v=DMARC1; p=none; junk"}).problem,
            "not a tag list starting with v=DMARC1");
  EXPECT_EQ(ParseDmarcRecords({"v=DMARC1; p=reject"}).problem, "");
  EXPECT_EQ(ParseTlsRptRecords({}).problem, "no v=TLSRPTv1 record");
  EXPECT_EQ(ParseTlsRptRecords({"v=TLSRPTv1; rua=mailto:a@example.com",
                                "v=TLSRPTv1; rua=mailto:b@example.com"})
                .problem,
            "2 v=TLSRPTv1 records");
  EXPECT_EQ(
      ParseTlsRptRecords({"v=TLSRPTv1; rua=mailto:a@example.com; x"}).problem,
      "not a tag list starting with v=TLSRPTv1");
  EXPECT_EQ(ParseTlsRptRecords({"v=TLSRPTv1"}).problem, "no rua= tag");
}

TEST(TagListTest, DuplicatesAndSyntax) {
  EXPECT_TRUE(ParseTagList("a=1; b=2;", false));
  EXPECT_FALSE(ParseTagList("a=1; a=2", false));
  EXPECT_FALSE(ParseTagList("a=1; junk", false));
  auto t = ParseTagList(" A = x y ; b=", true);
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)[0].first, "a");
  EXPECT_EQ((*t)[0].second, "xy");
  EXPECT_EQ((*t)[1].second, "");
}

}  // namespace
}  // namespace mailhealth::mailauth
