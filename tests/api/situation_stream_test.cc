// SituationStream on a real engine, broker and store with a manual clock, its sessions
// fakes: the snapshot, a push only when zones or car parks changed, level changes and
// device health as they happen, slow clients counted, and the stop.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../fast_plan.h"
#include "../stream/broker_fixture.h"
#include "api/api.h"
#include "api/situation_json.h"
#include "core/metrics.h"

namespace cb::api {
namespace {

using stream::testing::kT0;

constexpr TimeMs kSec = 1000;

const char* kPlaza = "urn:ngsi-ld:Zone:plaza";
const char* kCounter = "urn:ngsi-ld:CrowdFlowObserved:a";

// A session that keeps what it is sent; `full` refuses messages like a full queue.
class FakeSession : public WebSocketSession {
 public:
  bool Send(std::string text) override {
    if (closed || full) return false;
    sent.push_back(ParseJson(text).value());
    return true;
  }
  void Close() override { closed = true; }
  std::vector<JsonValue> sent;
  bool full = false;
  bool closed = false;
};

class SituationStreamTest : public stream::testing::BrokerTest {
 protected:
  void CloseUsers() override {
    stream_.reset();
    engine_.reset();
  }
  void SetUp() override {
    BrokerTest::SetUp();
    std::vector<stream::TierPlan> plans;
    plans.push_back(*stream::TierPlan::FromJson(*ParseJson(::cb::testing::kFastPlan)));
    auto e = stream::SituationEngine::Create(broker_.get(), &clock_, std::move(plans));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_TRUE(engine_->Start(/*run_thread=*/false).ok());
    ASSERT_TRUE(Upsert({ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252, R"(,"tierPlan":"fast")"),
                        R"({"id":"urn:ngsi-ld:OffStreetParking:p1","type":"OffStreetParking",)"
                        R"("totalSpotNumber":400,"availableSpotNumber":100,)"
                        R"("location":{"type":"Point","coordinates":[120.17,30.25]}})"})[1]
                    .ok());
    stream_ = std::make_unique<SituationStream>(engine_.get(), &registry_);
  }
  void Count(double n) {
    ASSERT_TRUE(Upsert({Counter(kCounter, 120.161, 30.251, n, clock_.Now())})[0].ok());
  }
  // The GET routes' items, rendered by the shared writers.
  JsonValue Zones() {
    std::string out;
    JsonWriter w(&out);
    w.BeginArray();
    WriteSituationZones(&w, *engine_, engine_->AllZones());
    w.EndArray();
    return *ParseJson(out);
  }
  JsonValue Lots() {
    std::string out;
    JsonWriter w(&out);
    w.BeginArray();
    WriteParkingLots(&w, engine_->ParkingLots());
    w.EndArray();
    return *ParseJson(out);
  }
  double Metric(const char* name) { return static_cast<double>(registry_.GetCounter(name, "")->Value()); }

  metrics::Registry registry_;
  std::unique_ptr<stream::SituationEngine> engine_;
  std::unique_ptr<SituationStream> stream_;
};

TEST_F(SituationStreamTest, ASnapshotThenOnlyWhatChanged) {
  Count(50);
  auto a = std::make_shared<FakeSession>();
  stream_->Open(a);
  ASSERT_EQ(a->sent.size(), 1u);
  const JsonValue& snap = a->sent[0];
  EXPECT_EQ(snap.Find("type")->as_string(), "snapshot");
  EXPECT_EQ(snap.Find("at")->as_string(), FormatIso8601(kT0));
  EXPECT_EQ(*snap.Find("zones"), Zones());
  EXPECT_EQ(*snap.Find("parking"), Lots());
  ASSERT_EQ(snap.Find("devices")->as_array().size(), 2u);  // the counter and the car park
  EXPECT_EQ(snap.Find("devices")->as_array()[0].Find("id")->as_string(), kCounter);
  EXPECT_EQ(registry_.GetGauge("citybrain_situation_stream_clients", "")->Value(), 1);

  // The first comparison pushes everything; nothing changed: nothing more, even later.
  stream_->Poll();
  ASSERT_EQ(a->sent.size(), 2u);
  EXPECT_EQ(a->sent[1].Find("type")->as_string(), "situation");
  EXPECT_EQ(*a->sent[1].Find("zones"), Zones());
  EXPECT_EQ(*a->sent[1].Find("parking"), Lots());
  EXPECT_EQ(a->sent[1].Find("devices"), nullptr);
  clock_.Set(kT0 + 3 * kSec);
  stream_->Poll();
  EXPECT_EQ(a->sent.size(), 2u);

  // A counter's reading: the zones are pushed again, with the new count.
  Count(120);
  stream_->Poll();
  ASSERT_EQ(a->sent.size(), 3u);
  EXPECT_EQ(a->sent[2].Find("zones")->as_array()[0].Find("crowd")->Find("count")->as_double(), 120);
  EXPECT_EQ(a->sent[2].Find("at")->as_string(), FormatIso8601(kT0 + 3 * kSec));
  // A car park's reading.
  ASSERT_TRUE(Upsert({R"({"id":"urn:ngsi-ld:OffStreetParking:p1","type":"OffStreetParking","availableSpotNumber":5})"})[0].ok());
  stream_->Poll();
  ASSERT_EQ(a->sent.size(), 4u);
  EXPECT_EQ(a->sent[3].Find("parking")->as_array()[0].Find("available")->as_double(), 5);
  EXPECT_EQ(Metric("citybrain_situation_stream_messages_total"), 4);
}

TEST_F(SituationStreamTest, TierCyclesThatDecideNothingNewPushNothing) {
  Count(50);  // below the plan's first threshold: level 0 throughout
  auto a = std::make_shared<FakeSession>();
  stream_->Open(a);
  // The first two cycles change what the zone shows: the level's "since", then the trend.
  for (int s = 1; s <= 2; ++s) {
    clock_.Set(kT0 + s * kSec);
    engine_->RunCycles(kT0 + s * kSec);
    stream_->Poll();
  }
  const size_t before = a->sent.size();
  ASSERT_EQ(before, 3u);
  const JsonValue* tier = a->sent.back().Find("zones")->as_array()[0].Find("tier");
  EXPECT_EQ(tier->Find("lastCycle")->as_string(), FormatIso8601(kT0 + 2 * kSec));
  // Every cycle after them moves lastCycle alone: nothing is pushed.
  for (int s = 3; s <= 6; ++s) {
    clock_.Set(kT0 + s * kSec);
    engine_->RunCycles(kT0 + s * kSec);
    stream_->Poll();
  }
  EXPECT_EQ(a->sent.size(), before);
  // A reading that changes the count goes out, with the latest lastCycle.
  Count(60);
  stream_->Poll();
  ASSERT_EQ(a->sent.size(), before + 1);
  tier = a->sent.back().Find("zones")->as_array()[0].Find("tier");
  EXPECT_EQ(tier->Find("lastCycle")->as_string(), FormatIso8601(kT0 + 6 * kSec));
}

TEST_F(SituationStreamTest, LevelChangesAndDeviceHealthAtOnce) {
  auto a = std::make_shared<FakeSession>();
  stream_->Open(a);
  // Readings every 10 s teach the counter's interval; 600 people raise the plaza to level 2.
  for (int s = 0; s <= 30; s += 10) {
    clock_.Set(kT0 + s * kSec);
    Count(s == 30 ? 600 : 50);
  }
  engine_->RunCycles(kT0 + 30 * kSec);
  ASSERT_EQ(a->sent.size(), 2u);
  const JsonValue& level = a->sent[1];
  EXPECT_EQ(level.Find("type")->as_string(), "levelChange");
  std::string change;
  JsonWriter w(&change);
  WriteLevelChange(&w, engine_->RecentChanges(kPlaza, 1)[0]);
  EXPECT_EQ(*level.Find("change"), *ParseJson(change));
  EXPECT_EQ(level.Find("change")->Find("to")->as_int(), 2);

  // Silent for three intervals: the counter alone is pushed, as GET …/devices shows it.
  clock_.Set(kT0 + 61 * kSec);
  engine_->RunCycles(kT0 + 61 * kSec);
  ASSERT_EQ(a->sent.size(), 3u);
  const JsonValue& devices = a->sent[2];
  EXPECT_EQ(devices.Find("type")->as_string(), "devices");
  ASSERT_EQ(devices.Find("devices")->as_array().size(), 1u);
  std::string item;
  JsonWriter d(&item);
  for (const stream::DeviceState& s : engine_->Devices()) {
    if (s.device_id == kCounter) WriteDeviceState(&d, s);
  }
  EXPECT_EQ(devices.Find("devices")->as_array()[0], *ParseJson(item));
  EXPECT_TRUE(devices.Find("devices")->as_array()[0].Find("silent")->as_bool());
  // Reporting again.
  Count(50);
  engine_->RunCycles(kT0 + 62 * kSec);
  ASSERT_GE(a->sent.size(), 4u);
  EXPECT_EQ(a->sent.back().Find("type")->as_string(), "devices");
  EXPECT_FALSE(a->sent.back().Find("devices")->as_array()[0].Find("silent")->as_bool());
}

TEST_F(SituationStreamTest, ASlowClientLosesMessagesAloneAndStopCloses) {
  auto fast = std::make_shared<FakeSession>();
  auto slow = std::make_shared<FakeSession>();
  stream_->Open(fast);
  stream_->Open(slow);
  slow->full = true;
  Count(50);
  stream_->Poll();
  EXPECT_EQ(fast->sent.size(), 2u);
  EXPECT_EQ(slow->sent.size(), 1u);
  EXPECT_EQ(Metric("citybrain_situation_stream_dropped_total"), 1);
  EXPECT_EQ(Metric("citybrain_situation_stream_messages_total"), 3);  // two snapshots, one push
  stream_->Close(slow.get());
  EXPECT_EQ(stream_->clients(), 1u);
  stream_->Stop();
  EXPECT_TRUE(fast->closed);
  EXPECT_EQ(stream_->clients(), 0u);
  // The engine no longer calls the stream: a level change reaches nobody.
  Count(600);
  engine_->RunCycles(kT0 + kSec);
  EXPECT_EQ(fast->sent.size(), 2u);
  auto late = std::make_shared<FakeSession>();
  stream_->Open(late);
  EXPECT_TRUE(late->closed);
}

}  // namespace
}  // namespace cb::api
