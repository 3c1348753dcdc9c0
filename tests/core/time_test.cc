#include "core/time.h"

#include <gtest/gtest.h>

namespace cb {
namespace {

struct Case {
  const char* text;
  TimeMs expected;
};

TEST(TimeTest, ParsesIso8601Forms) {
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.123Z", 123},
      {"1970-01-01T00:00:00.1234567Z", 123},
      {"2026-11-23T10:00:00Z", 1795428000000},
      {"2026-11-23T18:00:00+08:00", 1795428000000},
      {"2026-11-23T05:30:00-0430", 1795428000000},
      {"2026-11-23T10:00:00", 1795428000000},
      {"2026-11-23T10:00Z", 1795428000000},
      {"2026-11-23", 1795392000000},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"1969-12-31T23:59:59.999Z", -1},
  };
  for (const auto& c : cases) {
    auto t = ParseIso8601(c.text);
    ASSERT_TRUE(t.ok()) << c.text << " " << t.status().ToString();
    EXPECT_EQ(*t, c.expected) << c.text;
  }
}

TEST(TimeTest, RejectsMalformedDates) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2025-02-29T00:00:00Z",
                          "2026-11-23T25:00:00Z", "2026-11-23T10:61:00Z", "2026-11-23T10:00:00.Z",
                          "2026-11-23T10:00:00Zjunk", "2026-11-23T10:00:00+25:00", "2026/11/23",
                          "20261123"}) {
    auto t = ParseIso8601(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), Code::kBadRequestData);
    }
  }
}

TEST(TimeTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1795428000123), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59.999Z");
  for (TimeMs t : {TimeMs{0}, TimeMs{951782400000}, TimeMs{1795428000123}, TimeMs{-86400001}}) {
    EXPECT_EQ(*ParseIso8601(FormatIso8601(t)), t);
  }
}

TEST(TimeTest, ManualClockMovesOnlyWhenTold) {
  ManualClock c(1000);
  EXPECT_EQ(c.Now(), 1000);
  c.Advance(500);
  EXPECT_EQ(c.Now(), 1500);
  c.Set(7);
  EXPECT_EQ(c.Now(), 7);
  EXPECT_GT(SystemClock::Instance()->Now(), 1700000000000);
}

}  // namespace
}  // namespace cb
