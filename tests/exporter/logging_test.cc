#include "exporter/logging.h"

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

TEST(LoggingTest, LogfmtQuotesOnlyWhenNeeded) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, "", LogLevel::kError,
                          "collector failed",
                          {{"collector", "queue"}, {"err", "a \"b\"\nc"}}),
            "level=error msg=\"collector failed\" collector=queue "
            "err=\"a \\\"b\\\"\\nc\"\n");
}

TEST(LoggingTest, JsonEscapesControlBytes) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, "T", LogLevel::kInfo, "m",
                          {{"k", std::string("x\x01y")}}),
            "{\"ts\":\"T\",\"level\":\"info\",\"msg\":\"m\",\"k\":\"x\\u0001y\"}\n");
}

TEST(LoggingTest, LevelFilters) {
  std::string out;
  CaptureLogsForTest(&out);
  SetLogLevel(LogLevel::kWarn);
  LogInfo("hidden");
  LogWarn("shown", {{"collector", "log"}});
  SetLogLevel(LogLevel::kInfo);
  CaptureLogsForTest(nullptr);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("level=warn msg=shown collector=log"), std::string::npos);
}

TEST(LoggingTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose").has_value());
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").has_value());
}

}  // namespace
}  // namespace mailhealth
