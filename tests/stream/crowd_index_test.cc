// Tests of the crowd index (late, duplicate, missing and future readings; density, capacity
// and trend), and a replay of real Melbourne pedestrian counts through the crowd index and
// a tier plan whose thresholds come from the data's own percentiles.

#include "stream/crowd_index.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "stream/tier_plan.h"

namespace cb::stream {
namespace {

constexpr TimeMs kMin = 60000;

geo::Geometry Rect(double lon0, double lat0, double lon1, double lat1) {
  return geo::Geometry::Make(
      geo::GeometryType::kPolygon,
      {{{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}});
}

class CrowdIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Zone plaza;
    plaza.id = "urn:ngsi-ld:Zone:plaza";
    plaza.area = Rect(120.160, 30.250, 120.162, 30.252);
    plaza.capacity = 2000;
    ASSERT_TRUE(zones_.Put(plaza).ok());
    for (const char* c : {"c1", "c2", "c3", "c4"}) crowd_.SetCounterZones(c, {plaza.id});
  }
  ZoneIndex zones_;
  CrowdIndex crowd_{&zones_, CrowdOptions{.stale_after_ms = 5 * kMin, .min_coverage = 0.5,
                                          .max_clock_ahead_ms = kMin, .trend_cycles = 3}};
  const std::string plaza_ = "urn:ngsi-ld:Zone:plaza";
};

TEST_F(CrowdIndexTest, CountIsTheSumOfTheLatestFreshReadings) {
  EXPECT_EQ(crowd_.Observe("c1", 10 * kMin, 100), ReadingOutcome::kAccepted);
  EXPECT_EQ(crowd_.Observe("c2", 10 * kMin, 200), ReadingOutcome::kAccepted);
  EXPECT_EQ(crowd_.Observe("c3", 11 * kMin, 300), ReadingOutcome::kAccepted);
  ZoneCrowd z = crowd_.Snapshot(plaza_, 12 * kMin);
  EXPECT_EQ(z.counters, 4u);
  EXPECT_EQ(z.fresh_counters, 3u);
  EXPECT_DOUBLE_EQ(z.coverage, 0.75);
  ASSERT_TRUE(z.count.has_value());
  EXPECT_DOUBLE_EQ(*z.count, 600);
  EXPECT_DOUBLE_EQ(*z.capacity_ratio, 0.3);
  const double area = zones_.Find(plaza_)->area_m2;  // ~193 m × 222 m
  EXPECT_GT(area, 40000);
  EXPECT_LT(area, 46000);
  EXPECT_DOUBLE_EQ(*z.density_per_m2, 600 / area);
}

TEST_F(CrowdIndexTest, LateAndDuplicateReadingsChangeNothing) {
  ASSERT_EQ(crowd_.Observe("c1", 10 * kMin, 100), ReadingOutcome::kAccepted);
  ASSERT_EQ(crowd_.Observe("c2", 10 * kMin, 100), ReadingOutcome::kAccepted);
  EXPECT_EQ(crowd_.Observe("c1", 10 * kMin, 999), ReadingOutcome::kDuplicate);
  EXPECT_EQ(crowd_.Observe("c1", 9 * kMin, 999), ReadingOutcome::kLate);
  EXPECT_EQ(crowd_.Observe("c1", 11 * kMin, -1), ReadingOutcome::kInvalid);
  EXPECT_EQ(crowd_.Observe("c1", 11 * kMin, NAN), ReadingOutcome::kInvalid);
  EXPECT_EQ(crowd_.Observe("nobody", 11 * kMin, 5), ReadingOutcome::kUnknownCounter);
  EXPECT_DOUBLE_EQ(*crowd_.Snapshot(plaza_, 11 * kMin).count, 200);
  EXPECT_EQ(crowd_.outcomes(ReadingOutcome::kAccepted), 2u);
  // Timed by the server on arrival, a second reading in the same millisecond replaces it.
  EXPECT_EQ(crowd_.Observe("c2", 10 * kMin, 150, /*replaces_same_time=*/true),
            ReadingOutcome::kAccepted);
  EXPECT_DOUBLE_EQ(*crowd_.Snapshot(plaza_, 11 * kMin).count, 250);
  EXPECT_EQ(crowd_.Observe("c2", 10 * kMin, 100, /*replaces_same_time=*/true),
            ReadingOutcome::kAccepted);
  EXPECT_EQ(crowd_.outcomes(ReadingOutcome::kDuplicate), 1u);  // (the accepted count is now 4)
  EXPECT_EQ(crowd_.outcomes(ReadingOutcome::kLate), 1u);
  EXPECT_EQ(crowd_.outcomes(ReadingOutcome::kInvalid), 2u);
  EXPECT_EQ(crowd_.outcomes(ReadingOutcome::kUnknownCounter), 1u);
  // A flood from one counter only moves that counter's value.
  for (int i = 1; i <= 10000; ++i) crowd_.Observe("c1", 10 * kMin + i, 100 + i % 7);
  EXPECT_DOUBLE_EQ(*crowd_.Snapshot(plaza_, 11 * kMin).count, 100 + 10000 % 7 + 100);
}

TEST_F(CrowdIndexTest, SilentCountersLowerCoverageUntilTheCountIsUnknown) {
  for (const char* c : {"c1", "c2", "c3", "c4"}) crowd_.Observe(c, 0, 100);
  EXPECT_DOUBLE_EQ(*crowd_.Snapshot(plaza_, 5 * kMin).count, 400);  // 5 min old: still fresh
  crowd_.Observe("c1", 4 * kMin, 50);
  crowd_.Observe("c2", 4 * kMin, 50);
  ZoneCrowd half = crowd_.Snapshot(plaza_, 6 * kMin);  // c3, c4 silent for 6 minutes
  EXPECT_DOUBLE_EQ(half.coverage, 0.5);
  EXPECT_DOUBLE_EQ(*half.count, 100);
  crowd_.Observe("c1", 8 * kMin, 70);
  ZoneCrowd low = crowd_.Snapshot(plaza_, 9.5 * kMin);  // only c1 fresh
  EXPECT_DOUBLE_EQ(low.coverage, 0.25);
  EXPECT_FALSE(low.count.has_value());
  EXPECT_DOUBLE_EQ(low.fresh_sum, 70);
  EXPECT_FALSE(low.capacity_ratio.has_value());
  // A zone with no counters has no count.
  EXPECT_FALSE(crowd_.Snapshot("urn:ngsi-ld:Zone:empty", 0).count.has_value());
}

TEST_F(CrowdIndexTest, ReadingsFromTheFutureAreNotCounted) {
  crowd_.Observe("c1", 10 * kMin, 100);
  crowd_.Observe("c2", 10 * kMin, 100);
  crowd_.Observe("c3", 30 * kMin, 5000);  // a device clock 20 minutes ahead
  ZoneCrowd z = crowd_.Snapshot(plaza_, 10 * kMin);
  EXPECT_DOUBLE_EQ(*z.count, 200);
  EXPECT_EQ(z.fresh_counters, 2u);
  crowd_.Observe("c4", 10 * kMin + 30000, 1);  // 30 s ahead: tolerated
  EXPECT_DOUBLE_EQ(*crowd_.Snapshot(plaza_, 10 * kMin).count, 201);
}

TEST_F(CrowdIndexTest, TrendIsTheSlopeOverTheLastCycles) {
  crowd_.SetCounterZones("c2", {});  // leave c1 alone in the plaza... and c3, c4
  crowd_.RemoveCounter("c3");
  crowd_.RemoveCounter("c4");
  const double counts[] = {100, 130, 160, 250, 250};
  std::vector<std::optional<double>> trends;
  for (int i = 0; i < 5; ++i) {
    crowd_.Observe("c1", i * kMin, counts[i]);
    trends.push_back(crowd_.Cycle(plaza_, i * kMin).trend_per_min);
  }
  EXPECT_FALSE(trends[0].has_value());
  EXPECT_DOUBLE_EQ(*trends[1], 30);
  EXPECT_DOUBLE_EQ(*trends[2], 30);
  EXPECT_DOUBLE_EQ(*trends[3], 60);  // 130, 160, 250 over 2 minutes: slope 60
  EXPECT_DOUBLE_EQ(*trends[4], 45);  // 160, 250, 250
  EXPECT_EQ(crowd_.Snapshot(plaza_, 4 * kMin).counters, 1u);
}

// ---- real data ----

struct HourlyCount {
  TimeMs at;
  double count;
};

std::vector<HourlyCount> LoadMelbourne() {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) +
                   "/tests/data/melbourne/flinders_underpass_2023-07.csv");
  std::vector<HourlyCount> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    for (std::string x; std::getline(s, x, ',');) f.push_back(x);
    auto t = ParseIso8601(f.at(0));
    EXPECT_TRUE(t.ok()) << line;
    out.push_back({*t, std::stod(f.at(4))});
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// Each hour of July 2023 at the Flinders Street Station underpass, through the crowd index
// (one counter, readings fresh for 90 minutes, so an hour missing from the data is an
// unknown count) and a three-level plan at the data's own 50th, 90th and 98th percentiles,
// decided hourly. The timeline is checked against the rules stated as properties of the
// whole run, and its totals are pinned.
TEST(MelbourneReplayTest, TierTimelineFollowsTheRulesOnRealCounts) {
  const std::vector<HourlyCount> rows = LoadMelbourne();
  ASSERT_EQ(rows.size(), 598u);
  std::vector<double> counts;
  for (const HourlyCount& r : rows) counts.push_back(r.count);
  const double p50 = Percentile(counts, 0.50), p90 = Percentile(counts, 0.90),
               p98 = Percentile(counts, 0.98);
  EXPECT_EQ(p50, 755);
  EXPECT_EQ(p90, 1529);
  EXPECT_EQ(p98, 2218);
  std::ostringstream plan_text;
  plan_text << R"({"id":"melbourne","name":{"zh-CN":"墨尔本","en":"Melbourne"},)"
            << R"("measure":"peopleCount","cycleSeconds":3600,"exitCycles":2,"exitMarginRatio":0.1,"levels":[)";
  const int levels[] = {3, 2, 1};
  const double thresholds[] = {p50, p90, p98};
  for (int i = 0; i < 3; ++i) {
    plan_text << (i ? "," : "") << R"({"level":)" << levels[i] << R"(,"threshold":)" << thresholds[i]
              << R"(,"name":{"zh-CN":"级","en":"L"},"actions":{"zh-CN":"做","en":"Do"},"departments":["d"]})";
  }
  plan_text << "]}";
  auto plan = TierPlan::FromJson(*ParseJson(plan_text.str()));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();

  ZoneIndex zones;
  Zone z;
  z.id = "urn:ngsi-ld:Zone:flinders";
  z.area = Rect(144.9650, -37.8195, 144.9660, -37.8187);
  ASSERT_TRUE(zones.Put(z).ok());
  CrowdIndex crowd(&zones, CrowdOptions{.stale_after_ms = 90 * kMin});
  crowd.SetCounterZones("urn:ngsi-ld:CrowdFlowObserved:6", {z.id});
  TierTracker tracker(&*plan, z.id);
  LevelTimeLedger ledger(/*utc_offset_minutes=*/600);

  const TimeMs hour = 60 * kMin;
  const TimeMs first = rows.front().at, last = rows.back().at;
  size_t next = 0, changes = 0, escalations = 0, unknown_hours = 0;
  int below_run = 0;  // known cycles in a row below the current level's exit line
  int level = 0;
  for (TimeMs t = first; t <= last; t += hour) {
    // The hour's count arrives (observedAt = the hour), then the cycle decides.
    // The source repeats some hours with other counts: the first reading of an hour counts.
    for (bool first_of_hour = true; next < rows.size() && rows[next].at == t; ++next) {
      EXPECT_EQ(crowd.Observe("urn:ngsi-ld:CrowdFlowObserved:6", t, rows[next].count),
                first_of_hour ? ReadingOutcome::kAccepted : ReadingOutcome::kDuplicate);
      first_of_hour = false;
    }
    ZoneCrowd c = crowd.Cycle(z.id, t + 5 * kMin);
    if (!c.count) ++unknown_hours;
    const int before = level;
    auto change = tracker.Decide(t + 5 * kMin, c.count);
    level = tracker.level();
    ledger.Record(z.id, before, t - hour + 5 * kMin, t + 5 * kMin);
    // The rules, as properties of each step:
    if (!c.count) {
      EXPECT_EQ(level, before) << "no count, no change at " << FormatIso8601(t);
      below_run = 0;
      continue;
    }
    const int raw = plan->LevelFor(*c.count);
    if (TierPlan::MoreSevere(raw, before)) {
      EXPECT_EQ(level, raw) << "escalation is immediate at " << FormatIso8601(t);
    } else if (before != 0 && *c.count < plan->Find(before)->threshold * 0.9) {
      ++below_run;
      if (below_run < 2) {
        EXPECT_EQ(level, before) << FormatIso8601(t);
      } else {
        EXPECT_EQ(level, plan->LevelHeldBy(*c.count)) << FormatIso8601(t);
        below_run = 0;
      }
    } else {
      EXPECT_EQ(level, before) << "no drop without a run below the line at " << FormatIso8601(t);
      below_run = 0;
    }
    if (level != before) below_run = 0;
    EXPECT_EQ(change.has_value(), level != before);
    if (change) {
      ++changes;
      if (change->escalation()) ++escalations;
    }
  }
  EXPECT_EQ(next, rows.size());
  // Totals of this month, pinned (they follow from the data and the rules above): 679 hourly
  // cycles from 3 July 17:00 to 31 July 23:00; 26 repeated hours; 107 hours missing, of
  // which the first of the one long gap (13–18 July) is bridged by the 90-minute freshness.
  EXPECT_EQ((last - first) / hour + 1, 679);
  EXPECT_EQ(crowd.outcomes(ReadingOutcome::kDuplicate), 26u);
  EXPECT_EQ(unknown_hours, 106u);
  EXPECT_EQ(changes, 130u);
  EXPECT_EQ(escalations, 65u);
  // Days at level 1 (the top 2 % of hours) and at any level, of the 24 days with data.
  const int64_t jul4 = ledger.DayOf(*ParseIso8601("2023-07-04T12:00:00+10:00"));
  EXPECT_EQ(ledger.DaysAtOrAbove(z.id, 1, jul4, jul4 + 30), 11);
  EXPECT_EQ(ledger.DaysAtOrAbove(z.id, 2, jul4, jul4 + 30), 21);
  EXPECT_EQ(ledger.DaysAtOrAbove(z.id, 3, jul4, jul4 + 30), 24);
}

}  // namespace
}  // namespace cb::stream
