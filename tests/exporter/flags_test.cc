#include "daemon/flags.h"

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

TEST(FlagsTest, Defaults) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->config_file, "/etc/mailhealth/mailhealth.yml");
  EXPECT_FALSE(f->config_file_given);
  EXPECT_EQ(f->listen_addresses, std::vector<std::string>{":9732"});
  EXPECT_FALSE(f->systemd_socket);
  EXPECT_EQ(f->telemetry_path, "/metrics");
}

TEST(FlagsTest, EqualsAndSpaceForms) {
  auto f = ParseFlags({"--config.file=/a.yml", "--web.listen-address",
                       "127.0.0.1:1", "--log.level=debug", "--config.check"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->config_file, "/a.yml");
  EXPECT_TRUE(f->config_file_given);
  EXPECT_EQ(f->listen_addresses, std::vector<std::string>{"127.0.0.1:1"});
  EXPECT_EQ(f->log_level, "debug");
  EXPECT_TRUE(f->config_check);
}

TEST(FlagsTest, ListenAddressRepeatsAndSystemdSocket) {
  auto f =
      ParseFlags({"--web.listen-address=127.0.0.1:1", "--web.listen-address",
                  "[::1]:1", "--web.systemd-socket"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->listen_addresses,
            (std::vector<std::string>{"127.0.0.1:1", "[::1]:1"}));
  EXPECT_TRUE(f->systemd_socket);
}

TEST(FlagsTest, CollectorSwitches) {
  auto f = ParseFlags(
      {"--collector.dns", "--no-collector.log", "--collector.smtp=false"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->collector_overrides.at("dns"), true);
  EXPECT_EQ(f->collector_overrides.at("log"), false);
  EXPECT_EQ(f->collector_overrides.at("smtp"), false);
}

TEST(FlagsTest, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  } cases[] = {
      {{"--bogus"}, "unknown flag --bogus (see --help)"},
      {{"--config.file"}, "flag --config.file needs a value"},
      {{"--log.level=loud"},
       "--log.level: invalid level \"loud\" (debug, info, warn, error)"},
      {{"--log.format=xml"},
       "--log.format: invalid format \"xml\" (logfmt, json)"},
      {{"--web.telemetry-path=metrics"},
       "--web.telemetry-path: must start with / and not be /"},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--config.check=maybe"}, "flag --config.check takes true or false"},
  };
  for (const auto& c : cases) {
    auto f = ParseFlags(c.args);
    ASSERT_FALSE(f.ok()) << c.args[0];
    EXPECT_EQ(f.status().message(), c.error);
  }
}

}  // namespace
}  // namespace mailhealth
