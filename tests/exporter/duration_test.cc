#include "exporter/duration.h"

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

struct DurationCase {
  const char* text;
  long long ms;  // -1 = invalid
};

class ParseDurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationTest, Parses) {
  const auto& c = GetParam();
  auto d = ParseDuration(c.text);
  if (c.ms < 0) {
    EXPECT_FALSE(d.has_value()) << c.text;
  } else {
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseDurationTest,
    ::testing::Values(DurationCase{"0", 0}, DurationCase{"0s", 0},
                      DurationCase{"500ms", 500}, DurationCase{"30s", 30000},
                      DurationCase{"5m", 300000}, DurationCase{"1h30m", 5400000},
                      DurationCase{"1d", 86400000}, DurationCase{"1w", 604800000},
                      DurationCase{"1y", 31536000000LL},
                      DurationCase{"1m30s500ms", 90500},
                      DurationCase{"", -1}, DurationCase{"30", -1},
                      DurationCase{"30x", -1}, DurationCase{"s", -1},
                      DurationCase{"-1s", -1}, DurationCase{"1.5s", -1},
                      DurationCase{"30m1h", -1}, DurationCase{"1s1s", -1},
                      DurationCase{" 1s", -1},
                      DurationCase{"99999999999999999999s", -1}));

TEST(FormatDurationTest, RoundTrips) {
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(FormatDuration(Millis(500)), "500ms");
  EXPECT_EQ(FormatDuration(Millis(90500)), "1m30s500ms");
  EXPECT_EQ(FormatDuration(Millis(5400000)), "1h30m");
  for (const char* s : {"30s", "5m", "1h30m", "2d", "250ms"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(s)), s);
  }
}

}  // namespace
}  // namespace mailhealth
