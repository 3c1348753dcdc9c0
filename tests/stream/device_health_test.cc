// Tests of device health: learned intervals, silence after three of them, recovery, and
// floods that cannot shrink the interval to nothing.

#include "stream/device_health.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cb::stream {
namespace {

constexpr TimeMs kMin = 60000;

std::string Show(const std::vector<DeviceHealthChange>& changes) {
  std::string s;
  for (const auto& c : changes) {
    s += c.device_id + (c.silent ? " silent" : " back") + "@" + std::to_string(c.at / kMin) +
         " interval " + std::to_string(c.interval_ms / 1000) + "s; ";
  }
  return s;
}

TEST(DeviceHealthTest, SilentAfterThreeIntervalsAndBackOnTheNextReading) {
  DeviceHealth h;
  for (int i = 0; i <= 4; ++i) h.Reading("counter", i * kMin);  // every minute
  h.Reading("young", 0);                                          // too few readings to judge
  h.Reading("young", kMin);
  EXPECT_EQ(Show(h.Check(7 * kMin)), "");               // 3 minutes since the last: not yet
  EXPECT_EQ(Show(h.Check(7 * kMin + 1)), "counter silent@7 interval 60s; ");
  EXPECT_EQ(Show(h.Check(30 * kMin)), "");              // reported once
  std::vector<DeviceState> all = h.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].silent);
  EXPECT_EQ(*all[0].interval_ms, kMin);
  EXPECT_FALSE(all[1].interval_ms.has_value());
  h.Reading("counter", 31 * kMin);
  EXPECT_EQ(Show(h.Check(31 * kMin)), "counter back@31 interval 60s; ");
  EXPECT_FALSE(h.All()[0].silent);
  h.Remove("counter");
  EXPECT_EQ(h.All().size(), 1u);
}

TEST(DeviceHealthTest, TheIntervalIsTheMedianGapAndHasAFloor) {
  DeviceHealth h;
  // Every 2 minutes, with one 20-minute outage: the median ignores it.
  for (TimeMs t : {0, 2, 4, 24, 26, 28}) h.Reading("a", t * kMin);
  EXPECT_EQ(*h.All()[0].interval_ms, 2 * kMin);
  // A flood of deliveries 1 ms apart: the interval stays at the 5 s floor.
  for (int i = 0; i < 100; ++i) h.Reading("flood", 1000 + i);
  EXPECT_EQ(*h.All()[1].interval_ms, 5000);
  EXPECT_EQ(Show(h.Check(1099 + 15000)), "");
  EXPECT_EQ(Show(h.Check(1099 + 15001)), "flood silent@0 interval 5s; ");
  // Readings out of order do not make negative gaps.
  h.Reading("a", 27 * kMin);
  EXPECT_EQ(*h.All()[0].interval_ms, 2 * kMin);
}

}  // namespace
}  // namespace cb::stream
