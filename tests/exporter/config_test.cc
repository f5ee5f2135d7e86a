#include "daemon/config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace mailhealth {
namespace {

class NopCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override { return {}; }
};

// A registry with two collectors whose sections have known keys, so the
// framework's checks are tested apart from the real collectors.
CollectorRegistry TestRegistry() {
  CollectorRegistry r;
  CollectorInfo a;
  a.name = "alpha";
  a.default_enabled = true;
  a.default_interval = Millis(30000);
  a.default_timeout = Millis(20000);
  a.factory = [](const CollectorContext&,
                 ConfigNode& s) -> std::unique_ptr<Collector> {
    s.AbsolutePath("path", "/var/log/mail.log");
    s.AbsolutePath("dir", "", /*allow_empty=*/true);
    s.Int("count", 1, 1, 10);
    s.StringList("items", {});
    return std::make_unique<NopCollector>();
  };
  r.Register(a);
  CollectorInfo b = a;
  b.name = "beta";
  b.default_enabled = false;
  r.Register(b);
  return r;
}

struct Loaded {
  bool ok;
  std::string error;
  std::vector<std::string> names;
};

Loaded Load(const std::string& yaml, CollectorOverrides o = {}) {
  auto reg = TestRegistry();
  auto r = LoadConfigFromString(reg, yaml, "x.yml", o);
  Loaded l{r.ok(), r.ok() ? "" : r.status().message(), {}};
  if (r.ok()) {
    for (const auto& c : r->collectors) l.names.push_back(c.name);
  }
  return l;
}

TEST(ConfigTest, EmptyConfigRunsDefaults) {
  auto l = Load("");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_EQ(l.names, std::vector<std::string>{"alpha"});
}

TEST(ConfigTest, EnabledAndOverrides) {
  auto l = Load("collectors:\n  beta: {enabled: true}\n");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_EQ(l.names, (std::vector<std::string>{"alpha", "beta"}));
  l = Load("collectors:\n  beta: {enabled: true}\n",
           {{"alpha", false}, {"beta", false}});
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_TRUE(l.names.empty());
}

TEST(ConfigTest, SettingsParsed) {
  auto reg = TestRegistry();
  auto r = LoadConfigFromString(
      reg, "collectors:\n  alpha:\n    interval: 1m\n    timeout: 500ms\n",
      "x.yml", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->collectors[0].settings.interval, Millis(60000));
  EXPECT_EQ(r->collectors[0].settings.timeout, Millis(500));
}

struct BadCase {
  const char* yaml;
  const char* error;
};

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ExactMessage) {
  auto l = Load(GetParam().yaml);
  ASSERT_FALSE(l.ok);
  EXPECT_EQ(l.error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadCase{"collectors:\n  alpha:\n    pathh: /x\n",
                "x.yml:3: collectors.alpha: unknown key \"pathh\""},
        BadCase{"collector:\n  alpha: {}\n",
                "x.yml:1: unknown key \"collector\""},
        BadCase{"collectors:\n  gamma: {}\n",
                "x.yml:2: collectors: unknown key \"gamma\""},
        BadCase{"collectors:\n  alpha:\n    interval: 30x\n",
                "x.yml:3: collectors.alpha.interval: invalid duration \"30x\" "
                "(use a Prometheus duration such as 500ms, 30s, 5m)"},
        BadCase{"collectors:\n  alpha:\n    interval: 10s\n    timeout: 10s\n",
                "x.yml:4: collectors.alpha.timeout: timeout (10s) must be "
                "greater than 0 and less than interval (10s)"},
        BadCase{
            "collectors:\n  alpha:\n    interval: 500ms\n    timeout: 100ms\n",
            "x.yml:3: collectors.alpha.interval: must be between 1s and "
            "24h, got 500ms"},
        BadCase{"collectors:\n  alpha:\n    enabled: maybe\n",
                "x.yml:3: collectors.alpha.enabled: expected true or false, "
                "got \"maybe\""},
        BadCase{"collectors:\n  alpha:\n    path: relative/mail.log\n",
                "x.yml:3: collectors.alpha.path: must be an absolute path, "
                "got \"relative/mail.log\""},
        BadCase{"collectors:\n  alpha:\n    path: \"\"\n",
                "x.yml:3: collectors.alpha.path: must be an absolute path, "
                "got \"\""},
        BadCase{"collectors:\n  alpha:\n    dir: spool\n",
                "x.yml:3: collectors.alpha.dir: must be empty or an absolute "
                "path, got \"spool\""},
        BadCase{"collectors:\n  alpha:\n    count: 11\n",
                "x.yml:3: collectors.alpha.count: must be between 1 and 10, "
                "got 11"},
        BadCase{"collectors:\n  alpha:\n    count: ten\n",
                "x.yml:3: collectors.alpha.count: expected an integer, got "
                "\"ten\""},
        BadCase{"collectors:\n  alpha:\n    items: a\n",
                "x.yml:3: collectors.alpha.items: expected a list of strings"},
        BadCase{"collectors:\n  alpha: [1, 2]\n",
                "x.yml:2: collectors.alpha: expected a mapping"},
        BadCase{"collectors: {alpha: {path: [}\n",
                "x.yml:1: invalid YAML: illegal flow end"},
        // A typo in a disabled section is still an error.
        BadCase{"collectors:\n  beta:\n    pathh: /x\n",
                "x.yml:3: collectors.beta: unknown key \"pathh\""}));

TEST(ConfigTest, ReportsEveryErrorOnce) {
  auto l = Load("collectors:\n  alpha:\n    pathh: 1\n  beta:\n    count: 0\n");
  ASSERT_FALSE(l.ok);
  EXPECT_EQ(l.error,
            "x.yml:3: collectors.alpha: unknown key \"pathh\"\n"
            "x.yml:5: collectors.beta.count: must be between 1 and 10, got 0");
}

TEST(ConfigTest, UnknownCollectorFlag) {
  auto l = Load("", {{"nosuch", true}});
  ASSERT_FALSE(l.ok);
  EXPECT_EQ(l.error, "--collector.nosuch: unknown collector \"nosuch\"");
}

TEST(ConfigTest, MissingFileUsesDefaultsOnlyWhenNotGiven) {
  auto reg = TestRegistry();
  auto r = LoadConfigFile(reg, "/nonexistent/mailhealth.yml", false, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->collectors.size(), 1u);
  r = LoadConfigFile(reg, "/nonexistent/mailhealth.yml", true, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/nonexistent/mailhealth.yml: cannot read config file: No such "
            "file or directory");
}

}  // namespace
}  // namespace mailhealth
