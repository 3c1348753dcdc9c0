// Tests of the zones' crowd history kept by the situation engine: a point every step and
// at each level change, counts unknown without coverage, level 0 without a plan, the window
// kept, the city at a past moment, and ThinHistory keeping level changes.

#include <optional>
#include <string>
#include <vector>

#include "../fast_plan.h"
#include "broker_fixture.h"
#include "stream/situation_engine.h"

namespace cb::stream {
namespace {

using testing::kT0;

constexpr TimeMs kSec = 1000;
constexpr TimeMs kHour = 3600 * kSec;

const char* kPlaza = "urn:ngsi-ld:Zone:plaza";     // the fast plan
const char* kDistrict = "urn:ngsi-ld:Zone:hubin";  // no plan; holds the plaza
const char* kEmpty = "urn:ngsi-ld:Zone:empty";     // no plan, no counter
const char* kCounter = "urn:ngsi-ld:CrowdFlowObserved:a";

class SituationHistoryTest : public testing::BrokerTest {
 protected:
  void CloseUsers() override { engine_.reset(); }
  void SetUp() override {
    BrokerTest::SetUp();
    std::vector<TierPlan> plans;
    plans.push_back(*TierPlan::FromJson(*ParseJson(::cb::testing::kFastPlan)));
    SituationOptions options;
    options.history_step_ms = 10 * kSec;
    options.history_hours = 1;
    auto e = SituationEngine::Create(broker_.get(), &clock_, std::move(plans), options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_TRUE(engine_->Start(/*run_thread=*/false).ok());
    ASSERT_TRUE(Upsert({ZoneJson(kDistrict, 120.15, 30.24, 120.18, 30.27),
                        ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252, R"(,"tierPlan":"fast")"),
                        ZoneJson(kEmpty, 121.0, 31.0, 121.1, 31.1)})[1]
                    .ok());
  }
  // Ticks every second from `from` to `to` (seconds after kT0), as the cycle thread does,
  // with the counter's readings {second, count} written when their second comes.
  void Run(int from, int to, const std::vector<std::pair<int, double>>& readings) {
    for (int s = from; s <= to; ++s) {
      const TimeMs now = kT0 + s * kSec;
      clock_.Set(now);
      for (const auto& [at, count] : readings) {
        if (at == s) {
          ASSERT_TRUE(Upsert({Counter(kCounter, 120.161, 30.251, count, now)})[0].ok());
        }
      }
      engine_->RunCycles(now);
    }
  }
  static ZoneHistoryPoint P(int second, std::optional<double> count, int level) {
    return {kT0 + second * kSec, count, level};
  }
  std::vector<ZoneHistoryPoint> All(const char* zone) {
    auto h = engine_->History(zone, 0, kT0 + 100 * kHour);
    EXPECT_TRUE(h.has_value()) << zone;
    return h.value_or(std::vector<ZoneHistoryPoint>{});
  }
  std::unique_ptr<SituationEngine> engine_;
};

TEST_F(SituationHistoryTest, APointEveryStepAndAtEachLevelChange) {
  // 50 people, 600 from second 13 (level 2 at once), 50 again from second 20 (level 0 after
  // one cycle below).
  Run(0, 40, {{0, 50}, {13, 600}, {20, 50}});
  using V = std::vector<ZoneHistoryPoint>;
  EXPECT_EQ(All(kPlaza), (V{P(0, 50, 0), P(10, 50, 0), P(13, 600, 2), P(20, 50, 0), P(30, 50, 0),
                            P(40, 50, 0)}));
  // No plan: level 0, sampled on the step only (600 fell between two samples).
  EXPECT_EQ(All(kDistrict), (V{P(0, 50, 0), P(10, 50, 0), P(20, 50, 0), P(30, 50, 0), P(40, 50, 0)}));
  // No counter: the count is unknown.
  EXPECT_EQ(All(kEmpty), (V{P(0, std::nullopt, 0), P(10, std::nullopt, 0), P(20, std::nullopt, 0),
                            P(30, std::nullopt, 0), P(40, std::nullopt, 0)}));

  // A window, both ends included.
  EXPECT_EQ(*engine_->History(kPlaza, kT0 + 10 * kSec, kT0 + 20 * kSec),
            (V{P(10, 50, 0), P(13, 600, 2), P(20, 50, 0)}));
  EXPECT_TRUE(engine_->History(kPlaza, kT0 + 41 * kSec, kT0 + kHour)->empty());
  EXPECT_FALSE(engine_->History("urn:ngsi-ld:Zone:nowhere", 0, kT0 + kHour).has_value());

  // The level changes between two moments (the first excluded).
  std::vector<LevelChange> changes = engine_->ChangesBetween(kT0, kT0 + 20 * kSec);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].at, kT0 + 13 * kSec);
  EXPECT_EQ(changes[0].to, 2);
  EXPECT_EQ(changes[1].to, 0);
  EXPECT_EQ(engine_->ChangesBetween(kT0 + 13 * kSec, kT0 + 19 * kSec).size(), 0u);
}

TEST_F(SituationHistoryTest, TheCityAtAMomentIsEachZonesLastPointBeforeIt) {
  Run(0, 40, {{0, 50}, {13, 600}, {20, 50}});
  const struct {
    int second;  // the moment asked, after kT0
    std::vector<std::pair<std::string, std::optional<ZoneHistoryPoint>>> expected;
  } cases[] = {
      {-1, {{kEmpty, std::nullopt}, {kDistrict, std::nullopt}, {kPlaza, std::nullopt}}},
      {0, {{kEmpty, P(0, std::nullopt, 0)}, {kDistrict, P(0, 50, 0)}, {kPlaza, P(0, 50, 0)}}},
      {15, {{kEmpty, P(10, std::nullopt, 0)}, {kDistrict, P(10, 50, 0)}, {kPlaza, P(13, 600, 2)}}},
      {3600, {{kEmpty, P(40, std::nullopt, 0)}, {kDistrict, P(40, 50, 0)}, {kPlaza, P(40, 50, 0)}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(engine_->HistoryAt(kT0 + c.second * kSec), c.expected) << "at second " << c.second;
  }
}

TEST_F(SituationHistoryTest, OnlyTheLastHoursAreKeptAndDeletedZonesLoseTheirs) {
  Run(0, 40, {{0, 50}});
  // An hour and 25 seconds later: the points older than an hour go.
  const TimeMs later = kT0 + kHour + 25 * kSec;
  clock_.Set(later);
  engine_->RunCycles(later);
  std::vector<ZoneHistoryPoint> district = All(kDistrict);
  ASSERT_EQ(district.size(), 3u);
  EXPECT_EQ(district[0].at, kT0 + 30 * kSec);
  EXPECT_EQ(district[1].at, kT0 + 40 * kSec);
  EXPECT_EQ(district[2].at, later);
  EXPECT_FALSE(district[2].count.has_value());  // the reading is stale by now
  Delete(kEmpty);
  EXPECT_FALSE(engine_->History(kEmpty, 0, later).has_value());
  EXPECT_EQ(engine_->HistoryAt(later).size(), 2u);
}

TEST_F(SituationHistoryTest, ALevelEndedWithItsPlanIsAPoint) {
  Run(0, 5, {{0, 600}});
  ASSERT_EQ(All(kPlaza).back().level, 2);
  // The plaza loses its plan at second 7: its level ends, sampled at the next tick.
  clock_.Set(kT0 + 7 * kSec);
  context::WriteOp drop;
  drop.kind = context::WriteOp::Kind::kDeleteAttr;
  drop.entity.id = kPlaza;
  drop.attr_name = "tierPlan";
  std::vector<context::WriteOp> ops;
  ops.push_back(std::move(drop));
  ASSERT_TRUE(broker_->WriteSync(std::move(ops)).second[0].status.ok());
  engine_->RunCycles(kT0 + 7 * kSec);
  EXPECT_EQ(All(kPlaza).back(), P(7, 600, 0));
}

// ThinHistory on series written one character per point: the level, at = its position.
std::vector<ZoneHistoryPoint> Series(const std::string& levels) {
  std::vector<ZoneHistoryPoint> out;
  for (size_t i = 0; i < levels.size(); ++i) {
    out.push_back({static_cast<TimeMs>(i), 1.0, levels[i] - '0'});
  }
  return out;
}

TEST(ThinHistoryTest, KeepsLevelChangesAndSpreadsTheRest) {
  const struct {
    std::string levels;
    size_t max_points;
    std::vector<TimeMs> kept;  // positions
  } cases[] = {
      {"0000000000", 20, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},  // short enough: whole
      {"0000000000", 10, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
      {"0000000000", 4, {0, 3, 6, 9}},                      // evenly, both ends
      {"0000000000", 1, {9}},                               // the latest
      {"0000022000", 4, {0, 5, 7, 9}},                      // changes at 5 and 7, then ends
      {"0000022000", 2, {5, 7}},                            // changes only
      {"0101010101", 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}},       // changes even past the budget
      {"", 5, {}},
  };
  for (const auto& c : cases) {
    std::vector<TimeMs> kept;
    for (const ZoneHistoryPoint& p : ThinHistory(Series(c.levels), c.max_points)) kept.push_back(p.at);
    EXPECT_EQ(kept, c.kept) << c.levels << " to " << c.max_points;
  }
}

}  // namespace
}  // namespace cb::stream
