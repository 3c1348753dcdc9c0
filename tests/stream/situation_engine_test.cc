// Tests of the situation engine on a real broker and store: Zone definitions refused with
// reasons, counters placed in zones, the Hubin plan deciding levels on a manual clock,
// restart from stored entities, and zones or counters moving and going.

#include "stream/situation_engine.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker_fixture.h"

namespace cb::stream {
namespace {

using testing::Hubin;
using testing::kMin;
using testing::kT0;

class Recorder : public LevelChangeListener {
 public:
  void OnLevelChange(const LevelChange& c) override { seen.push_back(c); }
  std::vector<LevelChange> seen;
};

class SituationEngineTest : public testing::BrokerTest {
 protected:
  void CloseUsers() override { engine_.reset(); }
  void StartEngine() {
    std::vector<TierPlan> plans;
    plans.push_back(Hubin());
    SituationOptions options;
    options.utc_offset_minutes = 480;
    auto e = SituationEngine::Create(broker_.get(), &clock_, std::move(plans), options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_TRUE(engine_->Start(/*run_thread=*/false).ok());
    engine_->AddListener(&recorder_);
  }
  std::unique_ptr<SituationEngine> engine_;
  Recorder recorder_;
};

const char* kPlaza = "urn:ngsi-ld:Zone:fountain-plaza";
const char* kHubin = "urn:ngsi-ld:Zone:hubin";

TEST_F(SituationEngineTest, BadZonesAreRefusedWhenDefined) {
  StartEngine();
  // A parent and its child in one batch: the child sees the parent.
  auto ok = Upsert({ZoneJson(kHubin, 120.15, 30.24, 120.18, 30.27),
                    ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252,
                             R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"},"tierPlan":"hubin-fountain","capacity":12000)")});
  EXPECT_TRUE(ok[0].ok()) << ok[0].ToString();
  EXPECT_TRUE(ok[1].ok()) << ok[1].ToString();
  const struct {
    std::string entity;
    std::string reason;
  } cases[] = {
      {ZoneJson("urn:ngsi-ld:Zone:x", 0, 0, 1, 1, R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:nope"})"),
       "refParent urn:ngsi-ld:Zone:nope is not a defined Zone"},
      {ZoneJson(kHubin, 120.15, 30.24, 120.18, 30.27, R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:fountain-plaza"})"),
       "refParent urn:ngsi-ld:Zone:fountain-plaza lies inside this zone"},
      {ZoneJson("urn:ngsi-ld:Zone:x", 0, 0, 1, 1, R"(,"tierPlan":"no-such-plan")"),
       "tierPlan no-such-plan is not loaded (loaded: hubin-fountain)"},
      {ZoneJson("urn:ngsi-ld:Zone:x", 0, 0, 1, 1, R"(,"capacity":0)"), "capacity must be a positive number"},
      {R"({"id":"urn:ngsi-ld:Zone:x","type":"Zone","location":{"type":"Point","coordinates":[1,1]}})",
       "must be a Polygon or MultiPolygon"},
      {R"({"id":"urn:ngsi-ld:Zone:x","type":"Zone"})", "location must be a GeoProperty"},
  };
  for (const auto& c : cases) {
    auto st = Upsert({c.entity});
    ASSERT_FALSE(st[0].ok()) << c.reason;
    EXPECT_EQ(st[0].code(), Code::kBadRequestData);
    EXPECT_NE(st[0].message().find(c.reason), std::string::npos) << st[0].message();
  }
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:Zone:x"), nullptr);
  EXPECT_EQ(broker_->Get(kHubin)->Find("refParent"), nullptr);  // unchanged
  EXPECT_EQ(engine_->AllZones().size(), 2u);
}

TEST_F(SituationEngineTest, CountersDriveTheHubinPlan) {
  StartEngine();
  ASSERT_TRUE(Upsert({ZoneJson(kHubin, 120.15, 30.24, 120.18, 30.27),
                      ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252,
                               R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"},"tierPlan":"hubin-fountain","capacity":12000)")})[1]
                  .ok());
  // Two counters in the plaza, one elsewhere in the district, one placed by refZone.
  auto counts = [&](double a, double b, double c, double d, TimeMs at) {
    auto st = Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:a", 120.1605, 30.2505, a, at),
                      Counter("urn:ngsi-ld:CrowdFlowObserved:b", 120.1615, 30.2515, b, at),
                      Counter("urn:ngsi-ld:CrowdFlowObserved:c", 120.17, 30.26, c, at),
                      Counter("urn:ngsi-ld:CrowdFlowObserved:d", 121.0, 31.0, d, at,
                              R"(,"refZone":{"type":"Relationship","object":"urn:ngsi-ld:Zone:fountain-plaza"})")});
    for (const Status& s : st) ASSERT_TRUE(s.ok()) << s.ToString();
  };
  std::vector<int> levels;
  // The evening: a surge past 10,000, then the square empties.
  const double plaza_a[] = {300, 2000, 4000, 6000, 6000, 3000, 1000, 200, 100, 100, 100};
  for (int i = 0; i < 11; ++i) {
    const TimeMs at = kT0 + i * kMin;
    clock_.Set(at + 1000);
    counts(plaza_a[i], plaza_a[i] / 2, 50, plaza_a[i] / 2, at);
    engine_->RunCycles(at + 1000);
    levels.push_back(engine_->ZoneState(kPlaza)->level);
  }
  // plaza = a + b + d = 2a: 600, 4000, 8000, 12000, 12000, 6000, 2000, 400, 200, 200, 200
  EXPECT_EQ(levels, (std::vector<int>{0, 3, 2, 1, 1, 1, 1, 0, 0, 0, 0}));  // 400 < 900: straight to 0
  ASSERT_EQ(recorder_.seen.size(), 4u);
  EXPECT_EQ(recorder_.seen[2].to, 1);
  EXPECT_EQ(recorder_.seen[2].level->actions.en.substr(0, 14), "Hard isolation");
  EXPECT_EQ(recorder_.seen[3].from, 1);
  EXPECT_EQ(recorder_.seen[3].to, 0);
  EXPECT_EQ(engine_->RecentChanges(kPlaza, 10).size(), 4u);
  EXPECT_EQ(engine_->RecentChanges(kPlaza, 1)[0].to, 0);
  EXPECT_TRUE(engine_->RecentChanges(kHubin, 10).empty());  // no plan there

  ZoneStatus plaza = *engine_->ZoneState(kPlaza);
  EXPECT_EQ(plaza.crowd.counters, 3u);
  EXPECT_DOUBLE_EQ(*plaza.crowd.count, 200);
  EXPECT_NEAR(*plaza.crowd.capacity_ratio, 200.0 / 12000, 1e-12);
  EXPECT_EQ(plaza.ancestors, std::vector<std::string>{kHubin});
  EXPECT_EQ(plaza.plan_id, "hubin-fountain");
  ZoneStatus hubin = *engine_->ZoneState(kHubin);
  EXPECT_EQ(hubin.crowd.counters, 4u);  // the district counts its plaza's counters too
  EXPECT_DOUBLE_EQ(*hubin.crowd.count, 250);
  EXPECT_EQ(hubin.level, 0);
  // Level 1 lasted 4 cycles (minutes 3–7) today, local time.
  const int64_t today = engine_->DayOf(kT0);
  EXPECT_EQ(engine_->Day(kPlaza, today).at(1), 4 * kMin);
  EXPECT_EQ(engine_->DaysAtOrAbove(kPlaza, 1, today, today), 1);
  EXPECT_EQ(engine_->DaysAtOrAbove(kPlaza, 1, today + 1, today + 9), 0);
}

TEST_F(SituationEngineTest, RestartPicksUpStoredZonesAndCounters) {
  {
    StartEngine();
    // Ids chosen so the child sorts before its parent.
    ASSERT_TRUE(Upsert({ZoneJson("urn:ngsi-ld:Zone:b-parent", 120.15, 30.24, 120.18, 30.27)})[0].ok());
    ASSERT_TRUE(Upsert({ZoneJson("urn:ngsi-ld:Zone:a-child", 120.160, 30.250, 120.162, 30.252,
                                 R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:b-parent"},"tierPlan":"hubin-fountain")")})[0]
                    .ok());
    ASSERT_TRUE(Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:a", 120.161, 30.251, 7000, kT0)})[0].ok());
  }
  OpenBroker();
  StartEngine();
  engine_->RunCycles(kT0 + 1000);
  ZoneStatus child = *engine_->ZoneState("urn:ngsi-ld:Zone:a-child");
  EXPECT_EQ(child.ancestors, std::vector<std::string>{"urn:ngsi-ld:Zone:b-parent"});
  EXPECT_DOUBLE_EQ(*child.crowd.count, 7000);
  EXPECT_EQ(child.level, 2);
}

TEST_F(SituationEngineTest, ZonesAndCountersMoveAndGo) {
  StartEngine();
  ASSERT_TRUE(Upsert({ZoneJson(kHubin, 120.15, 30.24, 120.18, 30.27),
                      ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252,
                               R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"})")})[1]
                  .ok());
  ASSERT_TRUE(Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:a", 120.161, 30.251, 10, kT0)})[0].ok());
  engine_->RunCycles(kT0);
  EXPECT_EQ(engine_->ZoneState(kPlaza)->crowd.counters, 1u);
  // The plaza moves away from the counter: it is counted elsewhere from the next cycle.
  ASSERT_TRUE(Upsert({ZoneJson(kPlaza, 120.170, 30.260, 120.172, 30.262,
                               R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"})")})[0]
                  .ok());
  engine_->RunCycles(kT0 + kMin);
  EXPECT_EQ(engine_->ZoneState(kPlaza)->crowd.counters, 0u);
  EXPECT_EQ(engine_->ZoneState(kHubin)->crowd.counters, 1u);
  // The counter moves into the plaza.
  ASSERT_TRUE(Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:a", 120.171, 30.261, 20, kT0 + kMin)})[0].ok());
  EXPECT_DOUBLE_EQ(*engine_->ZoneState(kPlaza)->crowd.count, 20);
  // The district goes: the plaza stays, as a top-level zone.
  Delete(kHubin);
  EXPECT_FALSE(engine_->ZoneState(kHubin).has_value());
  EXPECT_TRUE(engine_->ZoneState(kPlaza)->ancestors.empty());
  // The counter goes.
  Delete("urn:ngsi-ld:CrowdFlowObserved:a");
  EXPECT_EQ(engine_->ZoneState(kPlaza)->crowd.counters, 0u);
}

TEST_F(SituationEngineTest, CarParksFeedTheParkingIndex) {
  StartEngine();
  auto lot = [](const std::string& id, double lon, const std::string& spaces) {
    return R"({"id":"urn:ngsi-ld:OffStreetParking:)" + id + R"(","type":"OffStreetParking",)" + spaces +
           R"(,"location":{"type":"Point","coordinates":[)" + std::to_string(lon) + R"(,30.25]}})";
  };
  auto st = Upsert({lot("a", 120.1701, R"("totalSpotNumber":400,"availableSpotNumber":100)"),
                    lot("b", 120.1702, R"("totalSpotNumber":100,"occupiedSpotNumber":95)"),
                    lot("partial", 120.1703, R"("totalSpotNumber":100)")});
  for (const Status& s : st) ASSERT_TRUE(s.ok()) << s.ToString();
  const geo::LonLat here{120.17, 30.25};
  DestinationParking d = engine_->ParkingFor(here, 500);
  ASSERT_EQ(d.lots.size(), 2u);  // "partial" has no reading yet
  EXPECT_EQ(d.occupied, 300 + 95);
  EXPECT_EQ(d.lots[1].status, LotStatus::kAlmostFull);
  ASSERT_TRUE(Upsert({lot("a", 120.1701, R"("availableSpotNumber":0)")})[0].ok());
  EXPECT_EQ(engine_->ParkingLots()[0].status, LotStatus::kFull);
  EXPECT_EQ(engine_->ParkingGuidance(here, 500, 5).size(), 1u);  // only b has room
  Delete("urn:ngsi-ld:OffStreetParking:b");
  EXPECT_TRUE(engine_->ParkingGuidance(here, 500, 5).empty());
  // A restart reads the car parks back.
  engine_.reset();
  StartEngine();
  EXPECT_EQ(engine_->ParkingLots().size(), 1u);
}

TEST_F(SituationEngineTest, ALevelEndsWithItsPlanOrItsZone) {
  StartEngine();
  auto plaza_at = [&](const std::string& id, int count) {
    ASSERT_TRUE(Upsert({ZoneJson(id, 120.160, 30.250, 120.162, 30.252, R"(,"tierPlan":"hubin-fountain")"),
                        Counter("urn:ngsi-ld:CrowdFlowObserved:" + id.substr(18), 120.161, 30.251,
                                count, kT0)})[1]
                    .ok());
  };
  plaza_at("urn:ngsi-ld:Zone:p1", 6000);
  plaza_at("urn:ngsi-ld:Zone:p2", 6000);
  engine_->RunCycles(kT0);
  ASSERT_EQ(recorder_.seen.size(), 2u);
  EXPECT_EQ(recorder_.seen[0].to, 1);  // the same square: both counters count in both zones
  // p1 loses its plan, p2 goes: each level ends as a change to no level.
  context::WriteOp drop;
  drop.kind = context::WriteOp::Kind::kDeleteAttr;
  drop.entity.id = "urn:ngsi-ld:Zone:p1";
  drop.attr_name = "tierPlan";
  std::vector<context::WriteOp> ops;
  ops.push_back(std::move(drop));
  ASSERT_TRUE(broker_->WriteSync(std::move(ops)).second[0].status.ok());
  Delete("urn:ngsi-ld:Zone:p2");
  engine_->RunCycles(kT0 + kMin);
  ASSERT_EQ(recorder_.seen.size(), 4u);
  EXPECT_EQ(recorder_.seen[2].zone_id, "urn:ngsi-ld:Zone:p1");
  EXPECT_EQ(recorder_.seen[2].from, 1);
  EXPECT_EQ(recorder_.seen[2].to, 0);
  EXPECT_EQ(recorder_.seen[3].zone_id, "urn:ngsi-ld:Zone:p2");
  EXPECT_EQ(recorder_.seen[3].to, 0);
  EXPECT_EQ(engine_->ZoneState("urn:ngsi-ld:Zone:p1")->plan_id, "");
  EXPECT_EQ(engine_->RecentChanges("", 10).size(), 4u);
}

class HealthRecorder : public DeviceHealthListener {
 public:
  void OnDeviceHealth(const DeviceHealthChange& c) override {
    seen.push_back(c.device_id + (c.silent ? " silent" : " back"));
  }
  std::vector<std::string> seen;
};

TEST_F(SituationEngineTest, SilentCountersAreReportedAndRecover) {
  StartEngine();
  HealthRecorder health;
  engine_->AddDeviceListener(&health);
  auto reading = [&](int minute) {
    clock_.Set(kT0 + minute * kMin);
    ASSERT_TRUE(Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:a", 120.161, 30.251, 10,
                                kT0 + minute * kMin)})[0].ok());
    engine_->RunCycles(kT0 + minute * kMin);
  };
  for (int m = 0; m <= 4; ++m) reading(m);  // every minute
  EXPECT_EQ(engine_->Devices().at(0).interval_ms, kMin);
  engine_->RunCycles(kT0 + 7 * kMin);
  EXPECT_TRUE(health.seen.empty());
  engine_->RunCycles(kT0 + 7 * kMin + 1);
  EXPECT_EQ(health.seen, std::vector<std::string>{"urn:ngsi-ld:CrowdFlowObserved:a silent"});
  EXPECT_TRUE(engine_->Devices().at(0).silent);
  reading(20);
  EXPECT_EQ(health.seen.back(), "urn:ngsi-ld:CrowdFlowObserved:a back");
  Delete("urn:ngsi-ld:CrowdFlowObserved:a");
  EXPECT_TRUE(engine_->Devices().empty());
}

TEST(SituationEngineCreateTest, UnsupportedMeasuresAndRepeatedPlansAreRefused) {
  auto plan = [](const std::string& id, const std::string& measure) {
    return *TierPlan::FromJson(*ParseJson(
        R"({"id":")" + id + R"(","name":{"zh-CN":"a","en":"b"},"measure":")" + measure +
        R"(","levels":[{"level":1,"threshold":1,"name":{"zh-CN":"a","en":"b"},"actions":{"zh-CN":"a","en":"b"},"departments":["d"]}]})"));
  };
  std::vector<TierPlan> twice{plan("p", "peopleCount"), plan("p", "peopleCount")};
  EXPECT_NE(SituationEngine::Create(nullptr, nullptr, twice).status().message().find(
                "tier plan p is defined twice"),
            std::string::npos);
  std::vector<TierPlan> other{plan("q", "parkingIndex")};
  EXPECT_NE(SituationEngine::Create(nullptr, nullptr, other).status().message().find(
                "measure parkingIndex is not supported yet"),
            std::string::npos);
}

}  // namespace
}  // namespace cb::stream
