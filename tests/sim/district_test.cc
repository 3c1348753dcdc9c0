// Tests of the demo district model (`citybrain sim`): the shape of the evening (the fountain
// plaza's surge past 10,000 at the shows, the metro's wave after them, the hospital's
// parking peak), the car parks' 1,293 spaces, determinism per seed, the model table's own
// checks, the shipped example files agreeing with the model, the options' checks, and the
// runner's rounds.

#include "sim/district.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "gtest/gtest.h"
#include "sim/district_runner.h"

namespace cb::sim {
namespace {

constexpr int64_t At(int hour, int minute = 0) { return hour * 3600 + minute * 60; }

const std::string kPlaza = "urn:ngsi-ld:Zone:fountain-plaza";
const std::string kStreet = "urn:ngsi-ld:Zone:pedestrian-street";
const std::string kMetro = "urn:ngsi-ld:Zone:metro-station";

JsonValue ExampleJson(const std::string& name) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/examples/" + name);
  std::stringstream s;
  s << in.rdbuf();
  auto doc = ParseJson(s.str());
  EXPECT_TRUE(doc.ok()) << name << ": " << doc.status().ToString();
  return doc.ok() ? std::move(doc).value() : JsonValue();
}

double Occupancy(const DistrictReadings& r) {
  return static_cast<double>(r.SpotsOccupied()) / static_cast<double>(r.SpotsTotal());
}

TEST(DistrictModelTest, TheHubinTableIsValid) {
  EXPECT_TRUE(ValidateModel(HubinDistrict()).ok()) << ValidateModel(HubinDistrict()).ToString();
}

// The plaza's people (the sum of its counters) at times of the evening, for many seeds.
TEST(DistrictModelTest, PlazaBuildsSurgesPastTenThousandAtTheShowsAndDisperses) {
  const struct {
    int64_t at;
    int64_t at_least;
    int64_t below;
  } cases[] = {
      {At(17), 500, 1500},         // early evening: a few hundred to a thousand
      {At(18), 1500, 5000},        // building up
      {At(18, 55), 10000, 15000},  // the crowd has gathered for the 19:00 show
      {At(19, 5), 10000, 15000},   // the 19:00 show
      {At(19, 15), 10000, 15000},
      {At(19, 40), 5000, 10000},   // between the shows
      {At(20, 5), 10000, 15000},   // the 20:00 show
      {At(20, 15), 10000, 15000},
      {At(21), 1000, 5000},        // dispersed
      {At(22, 30), 0, 1000},
      {At(23), 0, 1000},
  };
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    for (const auto& c : cases) {
      const int64_t people = ReadingsAt(HubinDistrict(), c.at, seed).PeopleIn(kPlaza);
      EXPECT_GE(people, c.at_least) << FormatTimeOfDay(c.at) << " seed " << seed;
      EXPECT_LT(people, c.below) << FormatTimeOfDay(c.at) << " seed " << seed;
    }
  }
}

TEST(DistrictModelTest, TheTwentyOClockShowDrawsMoreThanTheFirst) {
  const DistrictModel& m = HubinDistrict();
  int64_t peak19 = 0, peak20 = 0;
  for (int64_t s = At(18, 30); s <= At(19, 30); s += 60) {
    peak19 = std::max(peak19, ReadingsAt(m, s, 3).PeopleIn(kPlaza));
  }
  for (int64_t s = At(19, 45); s <= At(20, 45); s += 60) {
    peak20 = std::max(peak20, ReadingsAt(m, s, 3).PeopleIn(kPlaza));
  }
  EXPECT_GT(peak19, 10000);
  EXPECT_GT(peak20, peak19);
}

TEST(DistrictModelTest, LeavingCrowdsReachTheMetroAndTheStreetAfterEachShow) {
  const DistrictModel& m = HubinDistrict();
  const struct {
    int64_t during, after;
  } shows[] = {{At(19, 5), At(19, 35)}, {At(20, 5), At(20, 35)}};
  for (const auto& s : shows) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      const DistrictReadings during = ReadingsAt(m, s.during, seed);
      const DistrictReadings after = ReadingsAt(m, s.after, seed);
      EXPECT_GT(after.PeopleIn(kMetro), 2 * during.PeopleIn(kMetro)) << FormatTimeOfDay(s.after);
      EXPECT_GT(after.PeopleIn(kStreet), during.PeopleIn(kStreet) + 1000) << FormatTimeOfDay(s.after);
      EXPECT_LT(after.PeopleIn(kPlaza), during.PeopleIn(kPlaza)) << FormatTimeOfDay(s.after);
    }
  }
}

TEST(DistrictModelTest, FourCarParksWith1293SpacesForTheHospital) {
  const DistrictModel& m = HubinDistrict();
  ASSERT_EQ(m.lots.size(), 4u);
  int64_t total = 0;
  for (const LotSpec& lot : m.lots) total += lot.total_spots;
  EXPECT_EQ(total, 1293);
  EXPECT_EQ(ReadingsAt(m, At(19), 1).SpotsTotal(), 1293);
  EXPECT_EQ(m.hospital_poi_id, "urn:ngsi-ld:PointOfInterest:hubin-hospital");
}

TEST(DistrictModelTest, HospitalParkingIsNearFullAtTheVisitingHoursPeak) {
  const DistrictModel& m = HubinDistrict();
  const struct {
    int64_t at;
    double at_least, below;
  } cases[] = {
      {At(17), 0.6, 0.9},
      {At(19, 15), 0.93, 1.0001},  // visiting hours and show-goers
      {At(19, 30), 0.93, 1.0001},
      {At(23), 0.3, 0.6},
  };
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    for (const auto& c : cases) {
      const double occupancy = Occupancy(ReadingsAt(m, c.at, seed));
      EXPECT_GE(occupancy, c.at_least) << FormatTimeOfDay(c.at) << " seed " << seed;
      EXPECT_LT(occupancy, c.below) << FormatTimeOfDay(c.at) << " seed " << seed;
    }
  }
  // The hospital's own car park is the fullest at the peak.
  const DistrictReadings peak = ReadingsAt(m, At(19, 15), 1);
  EXPECT_EQ(peak.lots[0].lot->entity_id, "urn:ngsi-ld:OffStreetParking:hubin-lot-a");
  EXPECT_LE(peak.lots[0].available, 412 * 5 / 100);
}

TEST(DistrictModelTest, EveryReadingIsACountWithinItsCarPark) {
  const DistrictModel& m = HubinDistrict();
  for (uint64_t seed : {1u, 2u, 99u}) {
    for (int64_t s = 0; s < kSecondsPerDay; s += 60) {
      const DistrictReadings r = ReadingsAt(m, s, seed);
      ASSERT_EQ(r.counters.size(), 6u);
      ASSERT_EQ(r.lots.size(), 4u);
      for (const CounterReading& c : r.counters) ASSERT_GE(c.people, 0) << s;
      for (const LotReading& l : r.lots) {
        ASSERT_GE(l.available, 0) << s;
        ASSERT_LE(l.available, l.lot->total_spots) << s;
        ASSERT_EQ(l.available + l.occupied, l.lot->total_spots) << s;
      }
    }
  }
}

TEST(DistrictModelTest, SameSeedSameEveningOtherSeedOtherNoise) {
  const DistrictModel& m = HubinDistrict();
  auto counts = [&](uint64_t seed) {
    std::vector<int64_t> out;
    for (int64_t s = At(17); s <= At(23); s += 300) {
      const DistrictReadings r = ReadingsAt(m, s, seed);
      for (const CounterReading& c : r.counters) out.push_back(c.people);
      for (const LotReading& l : r.lots) out.push_back(l.available);
    }
    return out;
  };
  EXPECT_EQ(counts(7), counts(7));
  EXPECT_NE(counts(7), counts(8));
  // Noise is small: the same time under two seeds differs by a few percent at most.
  const int64_t a = ReadingsAt(m, At(19, 5), 7).PeopleIn(kPlaza);
  const int64_t b = ReadingsAt(m, At(19, 5), 8).PeopleIn(kPlaza);
  EXPECT_LT(std::abs(a - b), a / 10);
}

TEST(DistrictModelTest, TheNextDayRepeatsTheDay) {
  const DistrictModel& m = HubinDistrict();
  for (int64_t s : {At(0), At(19, 5), At(23, 59)}) {
    const DistrictReadings today = ReadingsAt(m, s, 5);
    const DistrictReadings tomorrow = ReadingsAt(m, s + kSecondsPerDay, 5);
    EXPECT_EQ(tomorrow.second, s + kSecondsPerDay);
    EXPECT_EQ(today.PeopleIn(kPlaza), tomorrow.PeopleIn(kPlaza));
    EXPECT_EQ(today.SpotsOccupied(), tomorrow.SpotsOccupied());
  }
}

TEST(DistrictModelTest, TheCountersSplitTheirZone) {
  const DistrictReadings r = ReadingsAt(HubinDistrict(), At(19, 5), 1);
  std::map<std::string, int64_t> by_zone;
  for (const CounterReading& c : r.counters) by_zone[c.site->zone_id] += c.people;
  EXPECT_EQ(by_zone.size(), 3u);
  EXPECT_EQ(by_zone[kPlaza], r.PeopleIn(kPlaza));
  // counter-1 watches the plaza's bigger entrance (55 %).
  EXPECT_EQ(r.counters[0].counter->device_id, "counter-1");
  EXPECT_GT(r.counters[0].people, r.counters[1].people);
}

TEST(DistrictModelTest, BrokenTablesAreRefusedWithTheReason) {
  const struct {
    const char* what;
    void (*edit)(DistrictModel*);
    const char* reason;
  } cases[] = {
      {"shares", [](DistrictModel* m) { m->sites[0].counters[0].share = 0.5; },
       "shares must add up to 1"},
      {"curve start", [](DistrictModel* m) { m->sites[1].people.base.front().minute = 5; },
       "from minute 0 to minute 1440"},
      {"curve end", [](DistrictModel* m) { m->lots[2].occupancy.base.pop_back(); },
       "from minute 0 to minute 1440"},
      {"curve order", [](DistrictModel* m) { m->sites[0].people.base[3].minute = 1; },
       "minutes must rise"},
      {"negative", [](DistrictModel* m) { m->sites[2].people.base[2].value = -1; },
       "must not be negative"},
      {"noise", [](DistrictModel* m) { m->sites[0].people.noise = 1; }, "noise"},
      {"rise", [](DistrictModel* m) { m->sites[0].people.show.rise_min = 0; },
       "positive rise and fall"},
      {"spaces", [](DistrictModel* m) { m->lots[1].total_spots = 0; }, "spaces"},
      {"device", [](DistrictModel* m) { m->sites[0].counters[1].device_id.clear(); },
       "needs ids"},
      {"show", [](DistrictModel* m) { m->shows[0].draw = 0; }, "positive draw"},
      {"api key", [](DistrictModel* m) { m->mqtt_api_key.clear(); }, "apiKey"},
  };
  for (const auto& c : cases) {
    DistrictModel m = HubinDistrict();
    c.edit(&m);
    Status st = ValidateModel(m);
    EXPECT_EQ(st.code(), Code::kBadRequestData) << c.what;
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << c.what << ": " << st.message();
  }
}

TEST(DistrictModelTest, TimesOfDay) {
  const struct {
    const char* text;
    int64_t second;  // -1: refused
  } cases[] = {
      {"00:00", 0},  {"17:00", At(17)}, {"19:30", At(19, 30)}, {"23:59", At(23, 59)},
      {"24:00", At(24)}, {"24:01", -1}, {"25:00", -1},         {"19:60", -1},
      {"7:30", -1},  {"19:30:00", -1}, {"1930", -1},           {"ab:cd", -1},
      {"", -1},      {"-1:00", -1},    {"19.30", -1},
  };
  for (const auto& c : cases) {
    auto r = ParseTimeOfDay(c.text);
    if (c.second < 0) {
      EXPECT_EQ(r.status().code(), Code::kBadRequestData) << c.text;
      EXPECT_NE(r.status().message().find(c.text), std::string::npos) << r.status().message();
    } else {
      ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
      EXPECT_EQ(*r, c.second) << c.text;
    }
  }
  EXPECT_EQ(FormatTimeOfDay(At(19, 30)), "19:30");
  EXPECT_EQ(FormatTimeOfDay(At(19, 30) + 59), "19:30");
  EXPECT_EQ(FormatTimeOfDay(At(24, 1)), "00:01");
}

TEST(DistrictModelTest, TheExampleCityHoldsTheModelsEntities) {
  const DistrictModel& m = HubinDistrict();
  const JsonValue city = ExampleJson("demo-city.json");
  EXPECT_TRUE(CheckDistrictDefinition(m, city).ok()) << CheckDistrictDefinition(m, city).ToString();

  auto without = [&](const std::string& id) {
    JsonValue copy = city;
    auto& a = copy.as_array();
    a.erase(std::remove_if(a.begin(), a.end(),
                           [&](const JsonValue& e) { return e.Find("id")->as_string() == id; }),
            a.end());
    return copy;
  };
  auto edited = [&](const std::string& id, const std::string& attr, JsonValue value) {
    JsonValue copy = city;
    for (JsonValue& e : copy.as_array()) {
      if (e.Find("id")->as_string() == id) e.Set(attr, std::move(value));
    }
    return copy;
  };
  const std::string lot_c = "urn:ngsi-ld:OffStreetParking:hubin-lot-c";
  const struct {
    const char* what;
    JsonValue doc;
    std::string reason;
  } cases[] = {
      {"no counter", without("urn:ngsi-ld:CrowdFlowObserved:hubin-counter-4"),
       "no entity urn:ngsi-ld:CrowdFlowObserved:hubin-counter-4"},
      {"no zone", without(kMetro), "no entity " + kMetro},
      {"no hospital", without(m.hospital_poi_id), "no entity " + m.hospital_poi_id},
      {"other spaces", edited(lot_c, "totalSpotNumber", JsonValue(300)),
       lot_c + " must have totalSpotNumber 305"},
      {"other type", edited(kPlaza, "type", JsonValue("Building")), kPlaza + " must be of type Zone"},
      {"not an array", JsonValue::MakeObject(), "JSON array"},
  };
  for (const auto& c : cases) {
    Status st = CheckDistrictDefinition(m, c.doc);
    EXPECT_EQ(st.code(), Code::kBadRequestData) << c.what;
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << c.what << ": " << st.message();
  }
  // keyValues form is read too.
  EXPECT_TRUE(CheckDistrictDefinition(m, edited(lot_c, "totalSpotNumber", JsonValue(305))).ok());
}

TEST(DistrictModelTest, TheExampleDevicesAreTheModelsDevices) {
  const DistrictModel& m = HubinDistrict();
  const JsonValue devices = ExampleJson("demo-devices.json");
  // (apiKey, deviceId) → (entityId, what its peopleCount / availableSpotNumber map to).
  std::map<std::string, std::pair<std::string, std::string>> provisioned;
  for (const JsonValue& d : devices.Find("devices")->as_array()) {
    const JsonValue* attrs = d.Find("attributes");
    std::string mapped;
    for (const char* name : {"peopleCount", "availableSpotNumber"}) {
      if (const JsonValue* a = attrs->Find(name); a != nullptr) mapped = name + std::string("=") + a->as_string();
    }
    provisioned[d.Find("apiKey")->as_string() + "/" + d.Find("deviceId")->as_string()] = {
        d.Find("entityId")->as_string(), mapped};
  }
  for (const SiteSpec& site : m.sites) {
    for (const CounterSpec& c : site.counters) {
      auto it = provisioned.find(m.mqtt_api_key + "/" + c.device_id);
      ASSERT_NE(it, provisioned.end()) << c.device_id;
      EXPECT_EQ(it->second.first, c.entity_id);
      EXPECT_EQ(it->second.second, "peopleCount=peopleCount");
    }
  }
  for (const LotSpec& lot : m.lots) {
    auto it = provisioned.find(m.mqtt_api_key + "/" + lot.device_id);
    ASSERT_NE(it, provisioned.end()) << lot.device_id;
    EXPECT_EQ(it->second.first, lot.entity_id);
    EXPECT_EQ(it->second.second, "availableSpotNumber=availableSpotNumber");
  }
}

TEST(SimOptionsTest, BadOptionsAreRefusedWithWhatToChange) {
  const struct {
    const char* what;
    SimOptions options;
    const char* reason;  // null: accepted
  } cases[] = {
      {"defaults", SimOptions{}, nullptr},
      {"over midnight", {.start_second = At(23), .end_second = At(1)}, nullptr},
      {"a whole day", {.speed = 3600, .start_second = 0, .end_second = At(24)}, nullptr},
      {"fast", {.speed = 100000, .interval_seconds = 1}, nullptr},
      {"speed 0", {.speed = 0}, "--speed must be a positive number"},
      {"speed negative", {.speed = -10}, "--speed must be a positive number"},
      {"speed NaN", {.speed = std::numeric_limits<double>::quiet_NaN()}, "--speed"},
      {"speed infinite", {.speed = std::numeric_limits<double>::infinity()}, "--speed"},
      {"interval 0", {.interval_seconds = 0}, "--interval must be 1 to 3600"},
      {"interval long", {.speed = 100, .interval_seconds = 3601}, "--interval must be 1 to 3600"},
      {"no evening", {.start_second = At(19), .end_second = At(19)}, "--start and --end must differ"},
      {"24:00 to 00:00", {.start_second = At(24), .end_second = 0}, "--start and --end must differ"},
      {"stale", {.speed = 1, .interval_seconds = 61}, "at most 60"},
      {"slow", {.speed = 0.5, .interval_seconds = 60}, "120 real seconds"},
  };
  for (const auto& c : cases) {
    Status st = ValidateSimOptions(c.options);
    if (c.reason == nullptr) {
      EXPECT_TRUE(st.ok()) << c.what << ": " << st.ToString();
    } else {
      EXPECT_EQ(st.code(), Code::kBadRequestData) << c.what;
      EXPECT_NE(st.message().find(c.reason), std::string::npos) << c.what << ": " << st.message();
    }
  }
}

TEST(SimOptionsTest, RoundsOfAnEvening) {
  const struct {
    int64_t start, end, interval, rounds;
  } cases[] = {
      {At(17), At(23), 60, 361},
      {At(18, 50), At(19, 10), 60, 21},
      {At(18, 50), At(19, 10), 7 * 60, 3},  // 18:50, 18:57, 19:04
      {At(23), At(1), 600, 13},
      {0, At(24), 3600, 25},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RoundsPerEvening({.start_second = c.start, .end_second = c.end,
                                .interval_seconds = c.interval}),
              c.rounds)
        << FormatTimeOfDay(c.start) << "-" << FormatTimeOfDay(c.end);
  }
}

// Keeps what it is sent; fails at round `fail_at` (counting from 1) when set.
class RecordingSink final : public ReadingSink {
 public:
  Status Send(const DistrictReadings& r, TimeMs now) override {
    if (++calls == fail_at) return Status::Unavailable("the server answered 503");
    seconds.push_back(r.second);
    plaza.push_back(r.PeopleIn(kPlaza));
    stamps.push_back(now);
    return Status::Ok();
  }
  int64_t calls = 0;
  int64_t fail_at = -1;
  std::vector<int64_t> seconds, plaza;
  std::vector<TimeMs> stamps;
};

// Speed high enough that pacing takes no noticeable time.
SimOptions FastSlice(int64_t start, int64_t end, uint64_t seed = 4) {
  return {.speed = 1e7, .start_second = start, .end_second = end, .interval_seconds = 60,
          .seed = seed};
}

TEST(DistrictRunnerTest, SendsEachRoundOfTheEveningInOrderStampedWithTheRealClock) {
  ManualClock clock(1'700'000'000'000);
  RecordingSink sink;
  int64_t observed = 0;
  auto stats = RunDistrict(HubinDistrict(), FastSlice(At(18, 50), At(19, 10)), &sink, &clock,
                           [&](const DistrictReadings&, int64_t evening) {
                             ++observed;
                             EXPECT_EQ(evening, 1);
                             clock.Advance(1000);
                           },
                           nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rounds, 21);
  EXPECT_EQ(stats->evenings, 1);
  EXPECT_EQ(observed, 21);
  ASSERT_EQ(sink.seconds.size(), 21u);
  for (size_t i = 0; i < sink.seconds.size(); ++i) {
    EXPECT_EQ(sink.seconds[i], At(18, 50) + 60 * static_cast<int64_t>(i));
    EXPECT_EQ(sink.stamps[i], 1'700'000'000'000 + 1000 * static_cast<int64_t>(i));
    EXPECT_EQ(sink.plaza[i], ReadingsAt(HubinDistrict(), sink.seconds[i], 4).PeopleIn(kPlaza));
  }
  EXPECT_GT(sink.plaza.back(), 10000);  // 19:10, the show
}

TEST(DistrictRunnerTest, LoopsTheEveningUntilStopped) {
  RecordingSink sink;
  std::atomic<bool> stop{false};
  SimOptions o = FastSlice(At(22, 58), At(23, 1));  // 4 rounds an evening
  o.loop = true;
  auto stats = RunDistrict(HubinDistrict(), o, &sink, SystemClock::Instance(),
                           [&](const DistrictReadings&, int64_t) {
                             if (sink.seconds.size() == 10) stop.store(true);
                           },
                           &stop);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rounds, 10);
  EXPECT_EQ(stats->evenings, 3);
  const std::vector<int64_t> expected = {At(22, 58), At(22, 59), At(23), At(23, 1),
                                         At(22, 58), At(22, 59), At(23), At(23, 1),
                                         At(22, 58), At(22, 59)};
  EXPECT_EQ(sink.seconds, expected);
}

TEST(DistrictRunnerTest, AStopBeforeTheFirstRoundSendsNothing) {
  RecordingSink sink;
  std::atomic<bool> stop{true};
  auto stats = RunDistrict(HubinDistrict(), FastSlice(At(17), At(23)), &sink,
                           SystemClock::Instance(), nullptr, &stop);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rounds, 0);
  EXPECT_EQ(sink.calls, 0);
}

TEST(DistrictRunnerTest, ARefusedRoundStopsTheRunSayingWhen) {
  RecordingSink sink;
  sink.fail_at = 3;
  auto stats = RunDistrict(HubinDistrict(), FastSlice(At(18, 50), At(19, 10)), &sink,
                           SystemClock::Instance(), nullptr, nullptr);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Code::kUnavailable);
  EXPECT_EQ(stats.status().message(), "sim stopped at 18:52: the server answered 503");
  EXPECT_EQ(sink.seconds.size(), 2u);
}

TEST(DistrictRunnerTest, BadOptionsSendNothing) {
  RecordingSink sink;
  SimOptions o = FastSlice(At(19), At(19));
  auto stats = RunDistrict(HubinDistrict(), o, &sink, SystemClock::Instance(), nullptr, nullptr);
  EXPECT_EQ(stats.status().code(), Code::kBadRequestData);
  EXPECT_EQ(sink.calls, 0);
}

}  // namespace
}  // namespace cb::sim
