#include <gtest/gtest.h>

#include "exporter/collector_registry.h"
#include "exporter/config.h"

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

}  // namespace
}  // namespace mailhealth
