// The mailauth section: every key read, and each mistake named with its
// file, line and key.
#include "collectors/mailauth/mailauth_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <optional>

namespace mailhealth::mailauth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Loaded {
  ConfigErrors errors;
  std::optional<MailauthConfig> config;
};

std::unique_ptr<Loaded> Load(const std::string& yaml, bool enabled = true) {
  auto l = std::make_unique<Loaded>();
  ConfigNode node(YAML::Load(yaml), "collectors.mailauth", "ma.yml",
                  &l->errors);
  CollectorSettings settings;
  settings.enabled = enabled;
  settings.timeout = Millis(30000);
  settings.interval = Millis(600000);
  MailauthConfig c = ParseMailauthConfig(node, settings);
  node.Finish();
  if (l->errors.empty()) l->config = std::move(c);
  return l;
}

TEST(MailauthConfigTest, ReadsEveryKey) {
  auto l = Load(R"(resolvers: ["192.0.2.53", "[2001:db8::53]:5353"]
workers: 2
domains:
  - name: Example.COM.
    sending_addresses: ["192.0.2.25", "2001:DB8::25"]
    from_mx: true
    from_postfix: true
    dkim_selectors:
      - s1
      - {name: s2, private_key_file: /etc/opendkim/keys/s2.private}
    skip: [tlsrpt, mta_sts, dane]
  - name: example.net
)");
  ASSERT_TRUE(l->config) << l->errors.Joined();
  const MailauthConfig& c = *l->config;
  ASSERT_EQ(c.resolvers.size(), 2u);
  EXPECT_EQ(c.resolvers[1].port, 5353);
  EXPECT_EQ(c.workers, 2u);
  ASSERT_EQ(c.domains.size(), 2u);
  const DomainConfig& d = c.domains[0];
  EXPECT_EQ(d.name, "example.com");
  EXPECT_THAT(d.sending_addresses, ElementsAre("192.0.2.25", "2001:db8::25"));
  EXPECT_TRUE(d.from_mx);
  EXPECT_TRUE(d.from_postfix);
  EXPECT_FALSE(c.domains[1].from_mx);
  EXPECT_FALSE(c.domains[1].from_postfix);
  ASSERT_EQ(d.dkim_selectors.size(), 2u);
  EXPECT_EQ(d.dkim_selectors[0].name, "s1");
  EXPECT_EQ(d.dkim_selectors[0].private_key_file, "");
  EXPECT_EQ(d.dkim_selectors[1].private_key_file,
            "/etc/opendkim/keys/s2.private");
  EXPECT_TRUE(d.spf && d.dkim && d.dmarc);
  EXPECT_FALSE(d.tlsrpt);
  EXPECT_FALSE(d.mta_sts);
  EXPECT_FALSE(d.dane);
  const DomainConfig& n = c.domains[1];  // every check on by default
  EXPECT_TRUE(n.spf && n.dkim && n.dmarc && n.tlsrpt && n.mta_sts && n.dane);
  EXPECT_EQ(c.smtp_port, 25);
  EXPECT_EQ(c.interval, Millis(600000));
}

TEST(MailauthConfigTest, MistakesNameFileLineAndKey) {
  auto l = Load(R"(domains:
  - name: example.com
    sending_addresses: [mail.example.com]
    dkim_selectors: ["bad selector"]
    skip: [dane2]
  - name: example.com
  - sending_addresses: []
resolvers: [dns.example.com]
)");
  ASSERT_FALSE(l->config);
  const std::string e = l->errors.Joined();
  EXPECT_THAT(e, HasSubstr("ma.yml:3: collectors.mailauth.domains[0]."
                           "sending_addresses: \"mail.example.com\" is not an "
                           "IPv4 or IPv6 address"));
  EXPECT_THAT(e, HasSubstr("ma.yml:4: collectors.mailauth.domains[0]."
                           "dkim_selectors: invalid selector"));
  EXPECT_THAT(e, HasSubstr("ma.yml:5: collectors.mailauth.domains[0].skip: "
                           "unknown check \"dane2\""));
  EXPECT_THAT(e, HasSubstr("domains[1].name: domain \"example.com\" listed "
                           "twice"));
  EXPECT_THAT(e, HasSubstr("domains[2].name: missing"));
  EXPECT_THAT(e, HasSubstr("ma.yml:8: collectors.mailauth.resolvers:"));
}

// The same ip#port twice (the port written or not) is one error; the
// section stays without warnings.
TEST(MailauthConfigTest, ResolverListedTwice) {
  auto l = Load(R"(resolvers: ["192.0.2.53", "[2001:db8::53]", "192.0.2.53:53"]
domains:
  - name: example.com
)");
  ASSERT_FALSE(l->config);
  ASSERT_EQ(l->errors.list().size(), 1u) << l->errors.Joined();
  EXPECT_THAT(l->errors.list()[0],
              HasSubstr("ma.yml:1: collectors.mailauth.resolvers: resolver "
                        "\"192.0.2.53:53\" listed twice"));
  EXPECT_TRUE(l->errors.warnings().empty());
}

TEST(MailauthConfigTest, UnknownKeyAndEmptyWarning) {
  auto l = Load("domains:\n  - name: example.com\n    dkim_selector: [s1]\n");
  EXPECT_THAT(l->errors.Joined(), HasSubstr("dkim_selector"));
  auto w = Load("domains: []\n");
  ASSERT_TRUE(w->config);
  ASSERT_EQ(w->errors.warnings().size(), 1u);
  EXPECT_THAT(w->errors.warnings()[0], HasSubstr("lists no domains"));
}

}  // namespace
}  // namespace mailhealth::mailauth
