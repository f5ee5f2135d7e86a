// MTA-STS: the TXT record, the policy text and the mx patterns (pure).
#include "collectors/mailauth/mta_sts.h"

#include <gtest/gtest.h>

namespace mailhealth::mailauth {
namespace {

TEST(MtaStsTest, PolicyVariants) {
  StsPolicy p = ParseStsPolicy(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: "
      "*.Example.NET\r\nmax_age: 604800\r\n");
  ASSERT_TRUE(p.valid) << p.problem;
  EXPECT_EQ(p.mode, StsMode::kEnforce);
  EXPECT_EQ(p.max_age, 604800);
  ASSERT_EQ(p.mx.size(), 2u);
  EXPECT_EQ(p.mx[1], "*.example.net");
  EXPECT_TRUE(
      ParseStsPolicy("version: STSv1\nmode: none\nmax_age: 86400\n").valid);
  EXPECT_EQ(ParseStsPolicy("version: STSv1\nmode: testing\nmx: a.example\n"
                           "max_age: 1\nextension: ignored\n")
                .mode,
            StsMode::kTesting);
  for (const char* bad :
       {"mode: enforce\nmx: a.example\nmax_age: 1\n",  // version
        "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmax_age: 1\n",     // no mx
        "version: STSv1\nmode: enforce\nmx: a.example\n",  // no max_age
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
        "<html>not a policy</html>"})
    EXPECT_FALSE(ParseStsPolicy(bad).valid) << bad;
}

TEST(MtaStsTest, TxtRecord) {
  EXPECT_EQ(CheckStsRecord({"v=STSv1; id=20240101T000000"}), "");
  EXPECT_EQ(CheckStsRecord({"v=STSv1;id=abc", "other"}), "");
  EXPECT_EQ(CheckStsRecord({}), "no v=STSv1 record");
  EXPECT_EQ(CheckStsRecord({"v=STSv1; id=1", "v=STSv1; id=2"}),
            "2 v=STSv1 records");
  EXPECT_EQ(CheckStsRecord({"v=STSv1;"}), "no id= tag");
  EXPECT_NE(CheckStsRecord({"v=STSv1; id=has-dash"}), "");
}

TEST(MtaStsTest, MxPatterns) {
  EXPECT_TRUE(StsMxMatches("mail.example.com", "MAIL.example.com."));
  EXPECT_FALSE(StsMxMatches("mail.example.com", "mx.example.com"));
  EXPECT_TRUE(StsMxMatches("*.example.com", "mx1.example.com"));
  EXPECT_FALSE(StsMxMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(StsMxMatches("*.example.com", "example.com"));
}

}  // namespace
}  // namespace mailhealth::mailauth
