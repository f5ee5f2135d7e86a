#include <gtest/gtest.h>

#include "cmd/builtin_collectors.h"
#include "exporter/collector_registry.h"
#include "daemon/config.h"

namespace mailhealth {
namespace {

// The real collectors: built-in defaults are queue and log on, dns and
// smtp off; the shipped example config is valid.
TEST(ConfigTest, BuiltinDefaults) {
  CollectorRegistry reg;
  RegisterBuiltinCollectors(reg);
  auto r = LoadConfigFromString(reg, "", "", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  for (const auto& c : r->collectors) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"queue", "log"}));
}

TEST(ConfigTest, ShippedExampleConfigIsValid) {
  CollectorRegistry reg;
  RegisterBuiltinCollectors(reg);
  auto r = LoadConfigFile(reg, MAILHEALTH_SOURCE_DIR "/deploy/mailhealth.yml",
                          true, {});
  EXPECT_TRUE(r.ok()) << r.status().message();
}

TEST(ConfigTest, RealCollectorTypoNamesFileLineKey) {
  CollectorRegistry reg;
  RegisterBuiltinCollectors(reg);
  auto r = LoadConfigFromString(
      reg, "collectors:\n  log:\n    enabled: true\n    pathh: /x\n",
      "deploy/x.yml", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "deploy/x.yml:4: collectors.log: unknown key \"pathh\"");
}

// Enabled with nothing to do is valid, but warned about (--config.check
// prints the warnings and still exits 0).
TEST(ConfigTest, EnabledDnsAndSmtpWithEmptyListsWarn) {
  CollectorRegistry reg;
  RegisterBuiltinCollectors(reg);
  auto r = LoadConfigFromString(reg,
                                "collectors:\n  dns:\n    domains: []\n"
                                "  smtp:\n    helo: probe.example\n",
                                "m.yml", {{"dns", true}, {"smtp", true}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->warnings,
            (std::vector<std::string>{
                "m.yml:3: collectors.dns.domains: dns is enabled but lists no "
                "domains: it checks nothing",
                "m.yml:5: collectors.smtp.targets: smtp is enabled but lists "
                "no targets: it probes nothing"}));
  // Off, or with something to do: no warning.
  auto off = LoadConfigFromString(reg, "", "", {});
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->warnings.empty());
  auto busy = LoadConfigFromString(
      reg,
      "collectors:\n  dns:\n    enabled: true\n    resolvers: "
      "[127.0.0.1]\n    domains: [{name: example.com}]\n",
      "b.yml", {});
  ASSERT_TRUE(busy.ok()) << busy.status().message();
  EXPECT_TRUE(busy->warnings.empty());
}

}  // namespace
}  // namespace mailhealth
