// Tests of tiered response plans: parsing and validation (the Hubin example and broken
// plans), the per-cycle decision with hysteresis as timelines, and time-at-level accounting.

#include "stream/tier_plan.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cb::stream {
namespace {

JsonValue LoadJson(const std::string& relative) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  auto v = ParseJson(text.str());
  EXPECT_TRUE(v.ok()) << relative << ": " << v.status().ToString();
  return v.ok() ? std::move(v).value() : JsonValue();
}

TierPlan Hubin() {
  auto plan = TierPlan::FromJson(LoadJson("examples/tier-plans/hubin-fountain.json"));
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : TierPlan();
}

TEST(TierPlanTest, HubinExampleParses) {
  TierPlan p = Hubin();
  EXPECT_EQ(p.id(), "hubin-fountain");
  EXPECT_EQ(p.measure(), "peopleCount");
  EXPECT_EQ(p.cycle_ms(), 60000);
  EXPECT_EQ(p.exit_cycles(), 3);
  EXPECT_DOUBLE_EQ(p.exit_margin_ratio(), 0.1);
  ASSERT_EQ(p.levels().size(), 3u);
  EXPECT_EQ(p.levels()[0].level, 3);  // least severe first
  EXPECT_EQ(p.levels()[2].level, 1);
  EXPECT_EQ(p.Find(1)->name.zh_cn, "一级管控");
  EXPECT_FALSE(p.Find(1)->actions.en.empty());
  EXPECT_EQ(p.Find(0), nullptr);
  // The plan round-trips through its JSON form.
  auto again = TierPlan::FromJson(p.ToJson());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ToJson(), p.ToJson());
}

TEST(TierPlanTest, LevelForAValue) {
  TierPlan p = Hubin();
  const struct {
    double value;
    int level, held;
  } cases[] = {
      {0, 0, 0},        {899, 0, 0},      {900, 0, 3},       {999, 0, 3},
      {1000, 3, 3},     {4499, 3, 3},     {4500, 3, 2},      {5000, 2, 2},
      {8999, 2, 2},     {9000, 2, 1},     {10000, 1, 1},     {1e9, 1, 1},
      {-5, 0, 0},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(p.LevelFor(c.value), c.level) << c.value;
    EXPECT_EQ(p.LevelHeldBy(c.value), c.held) << c.value;
  }
  EXPECT_TRUE(TierPlan::MoreSevere(1, 3));
  EXPECT_TRUE(TierPlan::MoreSevere(3, 0));
  EXPECT_FALSE(TierPlan::MoreSevere(0, 3));
  EXPECT_FALSE(TierPlan::MoreSevere(2, 2));
}

// A valid plan as text, with one part replaced per case.
std::string PlanText(const std::string& top, const std::string& levels) {
  return R"({"id":"p","name":{"zh-CN":"预案","en":"Plan"},"measure":"peopleCount")" + top +
         R"(,"levels":)" + levels + "}";
}
std::string Level(int level, const std::string& threshold, const std::string& extra = "") {
  return R"({"level":)" + std::to_string(level) + R"(,"threshold":)" + threshold +
         R"(,"name":{"zh-CN":"级","en":"L"},"actions":{"zh-CN":"做","en":"Do"},"departments":["d"])" +
         extra + "}";
}

TEST(TierPlanTest, BrokenPlansAreRefusedWithTheReason) {
  const std::string ok_levels = "[" + Level(2, "10") + "," + Level(1, "20") + "]";
  ASSERT_TRUE(TierPlan::FromJson(*ParseJson(PlanText("", ok_levels))).ok());
  const struct {
    std::string text;
    std::string reason;
  } cases[] = {
      {"[]", "a plan must be a JSON object"},
      {R"({"name":{"zh-CN":"a","en":"b"},"measure":"m","levels":[]})", "id must be"},
      {R"({"id":"p","name":{"zh-CN":"a"},"measure":"m","levels":[]})", "name.en must be"},
      {R"({"id":"p","name":{"zh-CN":"a","en":"b"},"levels":[]})", "measure must be"},
      {PlanText("", "[]"), "levels must be a non-empty array"},
      {PlanText("", "[" + Level(2, "10") + "," + Level(2, "20") + "]"), "level 2 is given twice"},
      {PlanText("", "[" + Level(2, "20") + "," + Level(1, "10") + "]"),
       "thresholds must rise with severity: level 1 (10) is not above level 2 (20)"},
      {PlanText("", "[" + Level(2, "10") + "," + Level(1, "10") + "]"), "thresholds must rise"},
      {PlanText("", "[" + Level(0, "10") + "]"), "levels[0].level must be a whole number"},
      {PlanText("", "[" + Level(1, "\"x\"") + "]"), "levels[0].threshold must be a finite number"},
      {PlanText("", R"([{"level":1,"threshold":1,"name":{"zh-CN":"a","en":"b"},"actions":{"zh-CN":"a","en":"b"},"departments":[]}])"),
       "levels[0].departments must be"},
      {PlanText("", R"([{"level":1,"threshold":1,"name":{"zh-CN":"a","en":"b"},"departments":["d"]}])"),
       "levels[0].actions must be"},
      {PlanText(R"(,"cycleSeconds":0)", ok_levels), "cycleSeconds must be a number from 1"},
      {PlanText(R"(,"exitMarginRatio":1.5)", ok_levels), "exitMarginRatio must be"},
      {PlanText(R"(,"exitCycles":2.5)", ok_levels), "exitCycles must be a whole number"},
      {PlanText(R"(,"exitCycles":"3")", ok_levels), "exitCycles must be"},
  };
  for (const auto& c : cases) {
    auto json = ParseJson(c.text);
    ASSERT_TRUE(json.ok()) << c.text;
    auto plan = TierPlan::FromJson(*json);
    ASSERT_FALSE(plan.ok()) << c.text;
    EXPECT_EQ(plan.status().code(), Code::kBadRequestData);
    EXPECT_NE(plan.status().message().find(c.reason), std::string::npos)
        << plan.status().message() << "\n  wanted: " << c.reason;
  }
}

// A timeline: the measure per cycle (nullopt: no reading) and the level after each cycle.
struct Timeline {
  const char* what;
  std::vector<std::optional<double>> values;
  std::vector<int> levels;
};

TEST(TierTrackerTest, TimelinesWithHysteresis) {
  TierPlan p = Hubin();  // exit after 3 cycles below threshold × 0.9
  const std::optional<double> none;
  const Timeline cases[] = {
      {"rises, stays above the exit line", {500, 1200, 1200, 950, 950, 950}, {0, 3, 3, 3, 3, 3}},
      {"leaves after three cycles below", {1200, 850, 850, 850}, {3, 3, 3, 0}},
      {"a missing reading breaks the run", {1200, 850, 850, none, 850, 850, 850},
       {3, 3, 3, 3, 3, 3, 0}},
      {"a reading above the line breaks the run", {1200, 850, 950, 850, 850, 850},
       {3, 3, 3, 3, 3, 0}},
      {"no flapping around a threshold", {1000, 990, 1010, 980, 1000, 995}, {3, 3, 3, 3, 3, 3}},
      {"straight to the most severe level", {500, 11000}, {0, 1}},
      {"drops to the level the value still holds", {11000, 8000, 8000, 8000}, {1, 1, 1, 2}},
      {"drops past several levels at once", {11000, 800, 800, 800}, {1, 1, 1, 0}},
      {"steps down one level at a time when it falls slowly",
       {11000, 8800, 8800, 8800, 4400, 4400, 4400}, {1, 1, 1, 2, 2, 2, 3}},
      {"escalates during a run below the line", {6000, 4000, 4000, 12000}, {2, 2, 2, 1}},
      {"escalation needs the threshold itself, not the exit line", {1000, 4900, 5000},
       {3, 3, 2}},
      {"nothing without readings", {none, none}, {0, 0}},
  };
  for (const Timeline& c : cases) {
    ASSERT_EQ(c.values.size(), c.levels.size()) << c.what;
    TierTracker t(&p, "urn:ngsi-ld:Zone:fountain");
    std::vector<int> got;
    TimeMs now = 0;
    for (const auto& v : c.values) {
      t.Decide(now += p.cycle_ms(), v);
      got.push_back(t.level());
    }
    EXPECT_EQ(got, c.levels) << c.what;
  }
}

TEST(TierTrackerTest, EachChangeIsOneEventWithThePlansActions) {
  TierPlan p = Hubin();
  TierTracker t(&p, "urn:ngsi-ld:Zone:fountain");
  EXPECT_FALSE(t.Decide(60000, 400).has_value());
  auto up = t.Decide(120000, 5200);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->zone_id, "urn:ngsi-ld:Zone:fountain");
  EXPECT_EQ(up->plan_id, "hubin-fountain");
  EXPECT_EQ(up->from, 0);
  EXPECT_EQ(up->to, 2);
  EXPECT_EQ(up->at, 120000);
  EXPECT_DOUBLE_EQ(up->value, 5200);
  EXPECT_TRUE(up->escalation());
  ASSERT_NE(up->level, nullptr);
  EXPECT_EQ(up->level->name.en, "Level 2 control");
  EXPECT_EQ(up->level->departments.size(), 3u);
  EXPECT_FALSE(t.Decide(180000, 5200).has_value());  // same level: no event
  for (TimeMs at : {240000, 300000}) EXPECT_FALSE(t.Decide(at, 100).has_value());
  auto down = t.Decide(360000, 100);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->from, 2);
  EXPECT_EQ(down->to, 0);
  EXPECT_FALSE(down->escalation());
  EXPECT_EQ(down->level, nullptr);
}

TEST(LevelTimeLedgerTest, TimeIsSplitAtLocalMidnight) {
  LevelTimeLedger ledger(/*utc_offset_minutes=*/480);  // China Standard Time
  auto at = [](const char* iso) { return *ParseIso8601(iso); };
  // 23:00–01:30 local on the night of 2026-07-01 (15:00–17:30 UTC).
  ledger.Record("z", 1, at("2026-07-01T15:00:00Z"), at("2026-07-01T17:30:00Z"));
  const int64_t jul1 = ledger.DayOf(at("2026-07-01T12:00:00+08:00"));
  EXPECT_EQ(ledger.DayOf(at("2026-07-01T15:59:59.999Z")), jul1);
  EXPECT_EQ(ledger.DayOf(at("2026-07-01T16:00:00Z")), jul1 + 1);
  EXPECT_EQ(ledger.Day("z", jul1), (std::map<int, int64_t>{{1, 3600000}}));
  EXPECT_EQ(ledger.Day("z", jul1 + 1), (std::map<int, int64_t>{{1, 5400000}}));
  EXPECT_TRUE(ledger.Day("z", jul1 + 2).empty());
  EXPECT_TRUE(ledger.Day("other", jul1).empty());
  ledger.Record("z", 3, at("2026-07-05T10:00:00+08:00"), at("2026-07-05T11:00:00+08:00"));
  ledger.Record("z", 0, at("2026-07-06T10:00:00+08:00"), at("2026-07-06T11:00:00+08:00"));
  ledger.Record("z", 2, at("2026-07-07T10:00:00+08:00"), at("2026-07-07T10:00:00+08:00"));  // empty
  // "Days at level 1" and "days at level 3 or worse" over the week.
  EXPECT_EQ(ledger.DaysAtOrAbove("z", 1, jul1, jul1 + 6), 2);
  EXPECT_EQ(ledger.DaysAtOrAbove("z", 2, jul1, jul1 + 6), 2);
  EXPECT_EQ(ledger.DaysAtOrAbove("z", 3, jul1, jul1 + 6), 3);
  EXPECT_EQ(ledger.DaysAtOrAbove("z", 3, jul1 + 1, jul1 + 3), 1);
  EXPECT_EQ(ledger.DaysAtOrAbove("nobody", 3, jul1, jul1 + 6), 0);
  // Before 1970 the days still split at local midnight.
  EXPECT_EQ(ledger.DayOf(at("1969-12-31T16:00:00Z")), 0);
  EXPECT_EQ(ledger.DayOf(at("1969-12-31T15:59:59.999Z")), -1);
}

}  // namespace
}  // namespace cb::stream
