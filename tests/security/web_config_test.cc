#include "daemon/web_config.h"

#include <gtest/gtest.h>

#include "tests/security/sec_util.h"

namespace mailhealth {
namespace {

// OpenBSD's bcrypt test vector: "U*U" with salt CCC...; verified
// independently of libxcrypt.
constexpr char kUUHash2a[] =
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

TEST(WebConfigParse, FullToolkitFileIsAccepted) {
  const std::string yaml = std::string(R"(
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [prometheus]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [CurveP256, X25519]
  prefer_server_cipher_suites: false
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: )") + kUUHash2a + "\n";
  auto c = ParseWebConfig(yaml, "web.yml", "/etc/mh");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->tls->cert_file, "/etc/mh/server.crt");
  EXPECT_EQ(c->tls->key_file, "/abs/server.key");
  EXPECT_EQ(c->tls->client_ca_file, "/etc/mh/ca.crt");
  EXPECT_EQ(c->tls->client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(c->tls->min_version, "TLS13");
  EXPECT_EQ(c->tls->cipher_suites,
            std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
  EXPECT_EQ(c->tls->curve_preferences,
            (std::vector<std::string>{"P-256", "X25519"}));
  EXPECT_FALSE(c->tls->prefer_server_cipher_suites);
  EXPECT_EQ(c->headers.size(), 2u);
  EXPECT_EQ(c->basic_auth_users.at("prometheus"), kUUHash2a);
}

TEST(WebConfigParse, EmptyFileMeansPlainHttpWithoutAuth) {
  auto c = ParseWebConfig("", "web.yml", ".");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->tls.has_value());
  EXPECT_TRUE(c->basic_auth_users.empty());
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::string want;  // substring of the error, with file:line
};

class WebConfigErrors : public testing::TestWithParam<BadCase> {};

TEST_P(WebConfigErrors, NamesFileLineAndProblem) {
  auto c = ParseWebConfig(GetParam().yaml, "web.yml", "/d");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(GetParam().want), std::string::npos)
      << c.status().message();
}

const std::string kTls = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";

INSTANTIATE_TEST_SUITE_P(
    All, WebConfigErrors,
    testing::Values(
        BadCase{"UnknownTopKey", "tls_config: {}\n",
                "web.yml:1: unknown key \"tls_config\""},
        BadCase{"UnknownTlsKey", kTls + "  certfile: x\n",
                "web.yml:4: tls_server_config: unknown key \"certfile\""},
        BadCase{"BadClientAuth", kTls + "  client_auth_type: Always\n",
                "web.yml:4: tls_server_config.client_auth_type: invalid value"},
        BadCase{"BadMinVersion", kTls + "  min_version: TLS14\n",
                "web.yml:4: tls_server_config.min_version: invalid value"},
        BadCase{"MinAboveMax",
                kTls + "  min_version: TLS13\n  max_version: TLS12\n",
                "tls_server_config.min_version: is above max_version"},
        BadCase{"MissingKey", "tls_server_config:\n  cert_file: a.crt\n",
                "web.yml:2: tls_server_config: missing key_file"},
        BadCase{"CaWithoutPolicy", kTls + "  client_ca_file: ca.crt\n",
                "web.yml:4: tls_server_config.client_ca_file: client CA"},
        BadCase{"VerifyWithoutCa",
                kTls + "  client_auth_type: RequireAndVerifyClientCert\n",
                "client_auth_type: RequireAndVerifyClientCert needs client_ca_file"},
        BadCase{"SansWithoutVerify",
                kTls + "  client_auth_type: RequireAnyClientCert\n"
                       "  client_allowed_sans: [a]\n",
                "client_allowed_sans: needs client_auth_type"},
        BadCase{"UnknownCipher", kTls + "  cipher_suites: [TLS_FOO]\n",
                "web.yml:4: tls_server_config.cipher_suites: unknown TLS 1.2 "
                "cipher suite \"TLS_FOO\""},
        BadCase{"Tls13CipherNotConfigurable",
                kTls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "unknown TLS 1.2 cipher suite"},
        BadCase{"UnknownCurve", kTls + "  curve_preferences: [P256]\n",
                "unknown curve \"P256\""},
        BadCase{"InlineCert", kTls + "  cert: \"-----BEGIN\"\n",
                "tls_server_config.cert: inline PEM is not supported"},
        BadCase{"NotBcrypt", "basic_auth_users:\n  alice: secret\n",
                "web.yml:2: basic_auth_users.alice: not a bcrypt hash"},
        BadCase{"ColonInUser",
                std::string("basic_auth_users:\n  \"a:b\": ") + kUUHash2a + "\n",
                "invalid user name"},
        BadCase{"HeaderNotAllowed",
                "http_server_config:\n  headers:\n    X-Powered-By: me\n",
                "web.yml:3: http_server_config.headers.X-Powered-By: HTTP header"},
        BadCase{"FrameOptionsValue",
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "must be deny or sameorigin"},
        BadCase{"HeaderInjection",
                "http_server_config:\n  headers:\n    Content-Security-Policy: "
                "\"a\\r\\nSet-Cookie: x\"\n",
                "control characters"},
        BadCase{"UnknownHttpKey", "http_server_config:\n  http3: true\n",
                "web.yml:2: http_server_config: unknown key \"http3\""},
        BadCase{"InvalidYaml", "tls_server_config: [\n", "web.yml:2: invalid YAML"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(WebConfigFile, MissingFileIsAClearError) {
  auto c = LoadWebConfigFile("/nonexistent/web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/web.yml: cannot read"),
            std::string::npos);
}

TEST(WebConfigFile, RelativePathsAreRelativeToTheFile) {
  sectest::TempDir dir;
  dir.Write("web.yml", kTls);
  auto c = LoadWebConfigFile(dir.File("web.yml"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->tls->cert_file, dir.File("a.crt"));
}

struct HashCase {
  const char* password;
  const char* hash;
  bool ok;
};

class CryptHash : public testing::TestWithParam<HashCase> {};

TEST_P(CryptHash, ChecksBcrypt) {
  EXPECT_EQ(CheckCryptHash(GetParam().password, GetParam().hash), GetParam().ok);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, CryptHash,
    testing::Values(
        HashCase{"U*U", kUUHash2a, true},
        HashCase{"U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
        HashCase{"U*U", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
        HashCase{"", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", true},
        HashCase{"U*V", kUUHash2a, false},
        HashCase{"", kUUHash2a, false},
        HashCase{"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeX", false},
        HashCase{"U*U", "not-a-hash", false},
        HashCase{"U*U", "", false}));

struct B64Case {
  std::string in;
  std::optional<std::string> out;
};

class Base64 : public testing::TestWithParam<B64Case> {};

TEST_P(Base64, Decodes) { EXPECT_EQ(DecodeBase64(GetParam().in), GetParam().out); }

INSTANTIATE_TEST_SUITE_P(
    Rfc4648, Base64,
    testing::Values(B64Case{"", ""}, B64Case{"Zg==", "f"}, B64Case{"Zm8=", "fo"},
                    B64Case{"Zm9v", "foo"}, B64Case{"Zm9vYg", "foob"},
                    B64Case{"Zm9vYmFy", "foobar"}, B64Case{"Zm9v!", std::nullopt},
                    B64Case{"Z", std::nullopt}, B64Case{"Zg=", std::nullopt},
                    B64Case{"Zg===", std::nullopt}));

TEST(BasicAuthorization, ParsesSchemeCaseInsensitively) {
  // "alice:pa:ss" -> the password may contain colons.
  auto c = ParseBasicAuthorization("bAsIc YWxpY2U6cGE6c3M=");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->first, "alice");
  EXPECT_EQ(c->second, "pa:ss");
}

TEST(BasicAuthorization, RejectsOtherSchemesAndGarbage) {
  for (const char* h : {"", "Bearer YWxpY2U6cA==", "Basic", "Basic ",
                        "BasicYWxpY2U6cA==", "Basic !!!", "Basic YWxpY2U="}) {
    EXPECT_FALSE(ParseBasicAuthorization(h).has_value()) << h;
  }
}

std::string Header(const std::string& user, const std::string& pass) {
  // Tiny encoder for the test only.
  static const char* t =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + pass, out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += t[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

TEST(BasicAuth, AcceptsRightPasswordAndCachesIt) {
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kUUHash2a}});
  EXPECT_TRUE(auth.Check(Header("prometheus", "U*U")));
  EXPECT_EQ(auth.cache_size(), 1u);
  EXPECT_TRUE(auth.Check(Header("prometheus", "U*U")));
  EXPECT_EQ(auth.cache_size(), 1u);
}

TEST(BasicAuth, RejectsWrongPasswordUnknownUserAndNoHeader) {
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kUUHash2a}});
  EXPECT_FALSE(auth.Check(Header("prometheus", "U*V")));
  EXPECT_FALSE(auth.Check(Header("grafana", "U*U")));
  EXPECT_FALSE(auth.Check(""));
  EXPECT_EQ(auth.cache_size(), 0u);
}

TEST(BasicAuth, CachedEntryDoesNotServeAnotherPassword) {
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kUUHash2a}});
  ASSERT_TRUE(auth.Check(Header("prometheus", "U*U")));
  EXPECT_FALSE(auth.Check(Header("prometheus", "U*U ")));
}

TEST(TlsContext, MissingCertificateIsAClearError) {
  TlsServerConfig t;
  t.cert_file = "/nonexistent/server.crt";
  t.key_file = "/nonexistent/server.key";
  auto ctx = BuildTlsContext(t);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find(
                "cert_file /nonexistent/server.crt: cannot load certificate"),
            std::string::npos)
      << ctx.status().message();
}

TEST(TlsContext, KeyNotMatchingCertificateIsAnError) {
  sectest::TempDir dir;
  ASSERT_TRUE(sectest::MakeTestPki(dir));
  TlsServerConfig t;
  t.cert_file = dir.File("server.crt");
  t.key_file = dir.File("client.key");
  auto ctx = BuildTlsContext(t);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("does not match cert_file"),
            std::string::npos)
      << ctx.status().message();
}

TEST(TlsContext, GoodCertificateAndKeyBuild) {
  sectest::TempDir dir;
  ASSERT_TRUE(sectest::MakeTestPki(dir));
  TlsServerConfig t;
  t.cert_file = dir.File("server.crt");
  t.key_file = dir.File("server.key");
  t.client_ca_file = dir.File("ca.crt");
  t.client_auth_type = "RequireAndVerifyClientCert";
  auto ctx = BuildTlsContext(t);
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  EXPECT_NE(ctx->get(), nullptr);
}

}  // namespace
}  // namespace mailhealth
