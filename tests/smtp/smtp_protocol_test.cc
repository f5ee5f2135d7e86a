#include "collectors/smtpprobe/smtp_protocol.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mailhealth::smtp {
namespace {

struct TargetCase {
  const char* text;
  SmtpTarget::Kind kind;
  const char* host;
  uint16_t port;
  bool lmtp;
  bool implicit_tls;
  bool host_is_ip;
};

class TargetParseTest : public ::testing::TestWithParam<TargetCase> {};

TEST_P(TargetParseTest, Parses) {
  const TargetCase& c = GetParam();
  Result<SmtpTarget> t = ParseSmtpTarget(c.text);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->text, c.text);
  EXPECT_EQ(t->kind, c.kind);
  EXPECT_EQ(t->host, c.host);
  EXPECT_EQ(t->port, c.port);
  EXPECT_EQ(t->lmtp, c.lmtp);
  EXPECT_EQ(t->implicit_tls, c.implicit_tls);
  EXPECT_EQ(t->host_is_ip, c.host_is_ip);
}

using K = SmtpTarget::Kind;
INSTANTIATE_TEST_SUITE_P(
    Targets, TargetParseTest,
    ::testing::Values(TargetCase{"mx1.example.com:25", K::kHost,
                                 "mx1.example.com", 25, false, false, false},
                      TargetCase{"mx1.example.com.:587", K::kHost,
                                 "mx1.example.com", 587, false, false, false},
                      TargetCase{"192.0.2.1:25", K::kHost, "192.0.2.1", 25,
                                 false, false, true},
                      TargetCase{"[2001:db8::1]:25", K::kHost, "2001:db8::1",
                                 25, false, false, true},
                      TargetCase{"mail.example.com:465", K::kHost,
                                 "mail.example.com", 465, false, true, false},
                      TargetCase{"smtps:mail.example.com:4650", K::kHost,
                                 "mail.example.com", 4650, false, true, false},
                      TargetCase{"mx:example.com", K::kMx, "example.com", 25,
                                 false, false, false},
                      TargetCase{"mx:example.com:587", K::kMx, "example.com",
                                 587, false, false, false},
                      TargetCase{"mx:example.com:465", K::kMx, "example.com",
                                 465, false, true, false},
                      TargetCase{"lmtp:127.0.0.1:24", K::kHost, "127.0.0.1", 24,
                                 true, false, true},
                      TargetCase{"lmtp:[::1]:2003", K::kHost, "::1", 2003, true,
                                 false, true},
                      TargetCase{"127.0.0.1:10024", K::kHost, "127.0.0.1",
                                 10024, false, false, true}));

class TargetRejectTest
    : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(TargetRejectTest, RejectsWithMessage) {
  Result<SmtpTarget> t = ParseSmtpTarget(GetParam().first);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(GetParam().second), std::string::npos)
      << t.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Targets, TargetRejectTest,
    ::testing::Values(std::make_pair("", "empty"),
                      std::make_pair("mx1.example.com", "missing port"),
                      std::make_pair("mx1.example.com:0", "invalid port"),
                      std::make_pair("mx1.example.com:65536", "invalid port"),
                      std::make_pair("mx1.example.com:smtp", "invalid port"),
                      std::make_pair("2001:db8::1:25", "brackets"),
                      std::make_pair("[2001:db8::zz]:25", "not an IPv6"),
                      std::make_pair("[2001:db8::1]25", "[IPv6]:PORT"),
                      std::make_pair("mx:", "invalid domain"),
                      std::make_pair("mx:192.0.2.1", "invalid domain"),
                      std::make_pair("mx:example.com:x", "invalid port"),
                      std::make_pair("smtp:mx1.example.com:25",
                                     "unknown prefix"),
                      std::make_pair("bad host:25", "space"),
                      std::make_pair("bad!host:25", "invalid host name"),
                      std::make_pair("lmtp:127.0.0.1", "missing port")));

TEST(ValidateHeloNameTest, AcceptsNamesAndAddressLiterals) {
  for (const char* n :
       {"mail.example.com", "localhost", "[192.0.2.1]", "[IPv6:2001:db8::1]"}) {
    EXPECT_TRUE(ValidateHeloName(n).ok()) << n;
  }
  for (const char* n : {"bad_helo!", "two words", "[999.1.1.1]", ""}) {
    EXPECT_FALSE(ValidateHeloName(n).ok()) << n;
  }
}

// ---- replies ----

using State = SmtpReplyParse::State;

struct ReplyCase {
  const char* name;
  std::string input;
  State state;
  int code;
  size_t lines;
};

class ReplyParseTest : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ReplyParseTest, Parses) {
  const ReplyCase& c = GetParam();
  SmtpReplyParse p = ParseSmtpReply(c.input);
  EXPECT_EQ(p.state, c.state);
  if (c.state == State::kComplete) {
    EXPECT_EQ(p.reply.code, c.code);
    EXPECT_EQ(p.reply.lines.size(), c.lines);
  }
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Replies, ReplyParseTest,
    ::testing::Values(
        ReplyCase{"single", "220 mail.example.com ESMTP Postfix\r\n",
                  State::kComplete, 220, 1},
        ReplyCase{"bare_lf", "220 mail.example.com ESMTP\n", State::kComplete,
                  220, 1},
        ReplyCase{"code_only", "250\r\n", State::kComplete, 250, 1},
        ReplyCase{
            "postscreen_multiline",
            "220-mail.example.com ESMTP\r\n220 mail.example.com ESMTP\r\n",
            State::kComplete, 220, 2},
        ReplyCase{"partial_line", "220 mail.exa", State::kIncomplete, 0, 0},
        ReplyCase{"multiline_unfinished", "220-first\r\n", State::kIncomplete,
                  0, 0},
        ReplyCase{"empty", "", State::kIncomplete, 0, 0},
        ReplyCase{"rejection", "554 5.7.1 Go away\r\n", State::kComplete, 554,
                  1},
        ReplyCase{"garbage", std::string("\x16\x03\x01\x02\x00\x01\r\n", 8),
                  State::kMalformed, 0, 0},
        ReplyCase{"text", "hello there\r\n", State::kMalformed, 0, 0},
        ReplyCase{"bad_separator", "220_mail\r\n", State::kMalformed, 0, 0},
        ReplyCase{"code_out_of_range", "620 x\r\n", State::kMalformed, 0, 0},
        ReplyCase{"codes_differ", "250-a\r\n251 b\r\n", State::kMalformed, 0,
                  0},
        ReplyCase{"nul_byte", std::string("220 a\0b\r\n", 9), State::kMalformed,
                  0, 0},
        ReplyCase{"long_partial", "220 " + std::string(5000, 'x'),
                  State::kLineTooLong, 0, 0},
        ReplyCase{"long_complete", "220 " + std::string(5000, 'x') + "\r\n",
                  State::kLineTooLong, 0, 0},
        ReplyCase{"too_many_lines", Repeat("250-x\r\n", 64) + "250 x\r\n",
                  State::kTooManyLines, 0, 0},
        ReplyCase{"max_lines", Repeat("250-x\r\n", 63) + "250 x\r\n",
                  State::kComplete, 250, 64}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ReplyParseTest, ReportsBytesConsumed) {
  std::string in = "220 hi\r\n250 next\r\n";
  SmtpReplyParse p = ParseSmtpReply(in);
  ASSERT_EQ(p.state, State::kComplete);
  EXPECT_EQ(p.consumed, 8u);
  EXPECT_EQ(p.reply.lines[0], "hi");
}

TEST(ReplyParseTest, HonoursCustomLimits) {
  SmtpReplyLimits lim{16, 2};
  EXPECT_EQ(ParseSmtpReply("220 0123456789abcdef\r\n", lim).state,
            State::kLineTooLong);
  EXPECT_EQ(ParseSmtpReply("250-a\r\n250-b\r\n250 c\r\n", lim).state,
            State::kTooManyLines);
}

// ---- capabilities ----

SmtpReply Reply(std::vector<std::string> lines) {
  SmtpReply r;
  r.code = 250;
  r.lines = std::move(lines);
  return r;
}

size_t Cap(const char* name) {
  for (size_t i = 0; i < kSmtpCapabilityCount; ++i) {
    if (std::string(kSmtpCapabilityNames[i]) == name) return i;
  }
  ADD_FAILURE() << name;
  return 0;
}

TEST(EhloCapabilitiesTest, ParsesPostfixReply) {
  // A real Postfix 3.7 EHLO reply (smtpd_tls_security_level = may).
  SmtpCapabilities c = ParseEhloCapabilities(
      Reply({"mail.mailhealth.test", "PIPELINING", "SIZE 10240000", "VRFY",
             "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
             "SMTPUTF8", "CHUNKING"}));
  for (const char* n : {"starttls", "size", "pipelining", "8bitmime",
                        "smtputf8", "chunking", "dsn", "enhancedstatuscodes"}) {
    EXPECT_TRUE(c.has[Cap(n)]) << n;
  }
  EXPECT_FALSE(c.has[Cap("auth")]);
  EXPECT_TRUE(c.starttls());
}

TEST(EhloCapabilitiesTest, CaseInsensitiveAndOldAuthSyntax) {
  SmtpCapabilities c = ParseEhloCapabilities(
      Reply({"mx", "auth=LOGIN PLAIN", "starttls", "Size"}));
  EXPECT_TRUE(c.has[Cap("auth")]);
  EXPECT_TRUE(c.has[Cap("starttls")]);
  EXPECT_TRUE(c.has[Cap("size")]);
}

TEST(EhloCapabilitiesTest, IgnoresTheGreetingLine) {
  SmtpCapabilities c = ParseEhloCapabilities(Reply({"STARTTLS"}));
  EXPECT_FALSE(c.starttls());
}

// ---- fixtures (tests/fixtures/smtp) ----

std::string ReadFixture(const std::string& name) {
  std::ifstream in(
      std::string(MAILHEALTH_SOURCE_DIR) + "/tests/fixtures/smtp/" + name,
      std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct FixtureCase {
  const char* file;
  int code;
  size_t lines;
  std::vector<const char*> capabilities;  // exactly these, for a 250 reply
};

class ReplyFixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(ReplyFixtureTest, ParsesCompletely) {
  const FixtureCase& c = GetParam();
  const std::string data = ReadFixture(c.file);
  SmtpReplyParse p = ParseSmtpReply(data);
  ASSERT_EQ(p.state, State::kComplete);
  EXPECT_EQ(p.consumed, data.size());
  EXPECT_EQ(p.reply.code, c.code);
  EXPECT_EQ(p.reply.lines.size(), c.lines);
  if (c.code == 250) {
    SmtpCapabilities caps = ParseEhloCapabilities(p.reply);
    std::vector<std::string> got;
    for (size_t i = 0; i < kSmtpCapabilityCount; ++i) {
      if (caps.has[i]) got.emplace_back(kSmtpCapabilityNames[i]);
    }
    std::vector<std::string> want(c.capabilities.begin(), c.capabilities.end());
    EXPECT_EQ(got, want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ReplyFixtureTest,
    ::testing::Values(
        FixtureCase{"postfix37_banner.txt", 220, 1, {}},
        FixtureCase{"postfix37_ehlo.txt",
                    250,
                    11,
                    {"starttls", "size", "pipelining", "8bitmime", "smtputf8",
                     "chunking", "dsn", "enhancedstatuscodes"}},
        FixtureCase{"postscreen_multiline_banner.txt", 220, 2, {}},
        FixtureCase{"submission_ehlo_auth.txt",
                    250,
                    9,
                    {"size", "pipelining", "8bitmime", "auth", "dsn",
                     "enhancedstatuscodes"}},
        FixtureCase{"amavis_banner.txt", 220, 1, {}},
        FixtureCase{
            "amavis_ehlo.txt",
            250,
            7,
            {"size", "pipelining", "8bitmime", "dsn", "enhancedstatuscodes"}},
        FixtureCase{"rbl_554_banner.txt", 554, 1, {}}));

}  // namespace
}  // namespace mailhealth::smtp
