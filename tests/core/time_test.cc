#include "core/time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

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

// An independent reference: std::chrono's calendar (floor to days, then hh_mm_ss) and
// snprintf, as the formatter was once written. The allocation-free one must agree wherever
// std::chrono's year is defined (-32767..32767).
std::string ReferenceFormat(TimeMs t) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds{t}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{tp - day};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()),
                        static_cast<int>(hms.subseconds().count()));
  return std::string(buf, n);
}

constexpr TimeMs kDayMs = 86400000;
constexpr TimeMs kYear0 = -62167219200000;     // 0000-01-01T00:00:00.000Z
constexpr TimeMs kYear10000 = 253402300800000;  // 10000-01-01T00:00:00.000Z

// Formats t, compares with the reference and parses it back.
void CheckRoundTrip(TimeMs t) {
  std::string s = FormatIso8601(t);
  ASSERT_EQ(s, ReferenceFormat(t)) << t;
  auto back = ParseIso8601(s);
  ASSERT_TRUE(back.ok()) << s;
  ASSERT_EQ(*back, t) << s;
}

TEST(TimeTest, FormatsEveryDayAndParsesItBack) {
  // Every day of 1890–2109 at midnight, at its last millisecond and at a moving time of day;
  // then every 7th day of 0000–9999 (so every weekday of every month of every year).
  constexpr TimeMs k1890 = -2524521600000, k2110 = 4417977600000;
  size_t days = 0;
  for (TimeMs day = k1890; day < k2110; day += kDayMs, ++days) {
    const TimeMs moving = (day / kDayMs * 7919 % kDayMs + kDayMs) % kDayMs;
    for (TimeMs t : {day, day + kDayMs - 1, day + moving}) {
      ASSERT_NO_FATAL_FAILURE(CheckRoundTrip(t));
    }
  }
  EXPECT_EQ(days, 80353u);  // 220 years, 53 of them leap years
  for (TimeMs day = kYear0; day < kYear10000; day += 7 * kDayMs) {
    ASSERT_NO_FATAL_FAILURE(CheckRoundTrip(day + (day / kDayMs * 104729 % kDayMs + kDayMs) % kDayMs));
  }
}

TEST(TimeTest, FormatsCalendarEdges) {
  const Case cases[] = {
      {"0000-01-01T00:00:00.000Z", kYear0},
      {"0000-02-29T00:00:00.000Z", kYear0 + 59 * kDayMs},  // 0000 is a leap year (÷400)
      {"1900-02-28T23:59:59.999Z", -2203891200001},        // 1900 is not (÷100)
      {"1900-03-01T00:00:00.000Z", -2203891200000},
      {"1969-12-31T23:59:59.999Z", -1},
      {"1970-01-01T00:00:00.001Z", 1},
      {"1999-12-31T23:59:59.999Z", 946684799999},
      {"2000-01-01T00:00:00.000Z", 946684800000},
      {"2000-02-29T12:00:00.500Z", 951825600500},  // 2000 is (÷400)
      {"2024-02-29T00:00:00.000Z", 1709164800000},
      {"2024-12-31T23:59:59.999Z", 1735689599999},
      {"2100-02-28T00:00:00.000Z", 4107456000000},  // 2100 is not
      {"2100-03-01T00:00:00.000Z", 4107542400000},
      {"9999-12-31T23:59:59.999Z", kYear10000 - 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatIso8601(c.expected), c.text);
    auto t = ParseIso8601(c.text);
    ASSERT_TRUE(t.ok()) << c.text;
    EXPECT_EQ(*t, c.expected) << c.text;
  }
}

TEST(TimeTest, FormatsYearsBeyondFourDigitsLikePrintf) {
  // printf's "%04d" of the year: a sign counts towards the four characters.
  EXPECT_EQ(FormatIso8601(kYear10000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(kYear0 - 1), "-001-12-31T23:59:59.999Z");
  std::mt19937_64 rng(7);
  // std::chrono's year holds -32767..32767: compare across that span, milliseconds random.
  std::uniform_int_distribution<TimeMs> any(-1096000000000000, 971000000000000);
  for (int i = 0; i < 200000; ++i) {
    TimeMs t = any(rng);
    ASSERT_EQ(FormatIso8601(t), ReferenceFormat(t)) << t;
  }
  // Far beyond it only the shape is checked: the text is bounded and ends with the time.
  for (TimeMs t : {INT64_MIN, INT64_MIN + 1, INT64_MAX, kNoTime}) {
    char buf[kIso8601MaxLength];
    size_t n = FormatIso8601(t, buf);
    ASSERT_LE(n, kIso8601MaxLength);
    EXPECT_EQ(buf[n - 1], 'Z');
    EXPECT_EQ(std::string(buf, n), FormatIso8601(t));
  }
}

TEST(TimeTest, RoundTripsRandomMillisecondsWithAndWithoutAllocating) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<TimeMs> any(kYear0, kYear10000 - 1);
  std::string appended = "prefix:";
  for (int i = 0; i < 300000; ++i) {
    TimeMs t = any(rng);
    char buf[kIso8601MaxLength];
    std::string_view text(buf, FormatIso8601(t, buf));
    ASSERT_EQ(text.size(), 24u);
    auto back = ParseIso8601(text);
    ASSERT_TRUE(back.ok()) << text;
    ASSERT_EQ(*back, t) << text;
    appended.resize(7);
    AppendIso8601(&appended, t);
    ASSERT_EQ(appended.substr(7), text);
  }
}

// Each thread keeps the last four times it formatted: repeats, cycles and new times pushing
// the oldest out all give the text of the time asked for.
TEST(TimeTest, FormatsRepeatedAndAlternatingTimesCorrectly) {
  const TimeMs a = 1795428000000, b = a + 1, c = a - kDayMs, d = kYear0 + 17, e = -1, f = 0;
  for (TimeMs t : {a, a, b, a, b, b, c, a, c, b, d, a, d, d, c, b, a, e, f,
                   a, e, c, d, b, f, e, a, b, c, d, e, f, a, b, c, d, e, f}) {
    ASSERT_EQ(FormatIso8601(t), ReferenceFormat(t)) << t;
    char buf[kIso8601MaxLength];
    ASSERT_EQ(std::string(buf, FormatIso8601(t, buf)), ReferenceFormat(t)) << t;
  }
  // Another thread has its own: it formats correctly from the start, whatever this one holds.
  std::string other;
  std::thread([&] { other = FormatIso8601(c); }).join();
  EXPECT_EQ(other, ReferenceFormat(c));
}

TimeMs At(const char* iso) { return ParseIso8601(iso).value(); }

TEST(TimeZoneTest, OffsetsFollowDaylightSavingAndSayHowLongTheyHold) {
  auto ny = TimeZone::Find("America/New_York");
  ASSERT_TRUE(ny.ok()) << ny.status().ToString();
  EXPECT_EQ(ny->name(), "America/New_York");
  EXPECT_EQ(ny->OffsetAt(At("2015-01-15T12:00:00Z")).minutes, -300);
  EXPECT_EQ(ny->OffsetAt(At("2015-07-15T12:00:00Z")).minutes, -240);
  // 2015-03-08 02:00 EST = 07:00Z the clocks went forward; 2015-11-01 02:00 EDT = 06:00Z back.
  const TimeMs spring = At("2015-03-08T07:00:00Z"), autumn = At("2015-11-01T06:00:00Z");
  const TimeZone::Offset before = ny->OffsetAt(spring - 1), summer = ny->OffsetAt(spring);
  EXPECT_EQ(before.minutes, -300);
  EXPECT_EQ(before.until, spring);
  EXPECT_EQ(summer.minutes, -240);
  EXPECT_EQ(summer.from, spring);
  EXPECT_EQ(summer.until, autumn);
  auto shanghai = TimeZone::Find("Asia/Shanghai");
  ASSERT_TRUE(shanghai.ok());
  EXPECT_EQ(shanghai->OffsetAt(At("2015-07-15T12:00:00Z")).minutes, 480);
}

TEST(TimeZoneTest, WallClockReadingsToInstants) {
  const TimeZone ny = TimeZone::Find("America/New_York").value();
  struct Case {
    const char* local;  // the reading, written as if UTC
    const char* utc;
  };
  for (const Case& c : {
           Case{"2015-01-01T12:00:00Z", "2015-01-01T17:00:00.000Z"},  // EST
           Case{"2015-07-01T12:00:00Z", "2015-07-01T16:00:00.000Z"},  // EDT
           Case{"2015-11-01T01:30:00Z", "2015-11-01T05:30:00.000Z"},  // repeated hour: the earlier
           Case{"2015-11-01T02:30:00Z", "2015-11-01T07:30:00.000Z"},  // after it: EST
           Case{"2015-03-08T02:30:00Z", "2015-03-08T07:30:00.000Z"},  // skipped hour: EST, = 03:30 EDT
           Case{"2015-03-08T03:30:00Z", "2015-03-08T07:30:00.000Z"},
       }) {
    EXPECT_EQ(FormatIso8601(ny.FromLocal(At(c.local))), c.utc) << c.local;
  }
}

TEST(TimeZoneTest, AnUnknownZoneIsABadRequestNamingIt) {
  for (const char* name : {"America/Nowhere", "", "EST5EDT/../../etc/passwd", "+05:00"}) {
    auto z = TimeZone::Find(name);
    EXPECT_EQ(z.status().code(), Code::kBadRequestData) << name;
  }
  EXPECT_NE(TimeZone::Find("Mars/Olympus").status().message().find("Mars/Olympus"), std::string::npos);
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
