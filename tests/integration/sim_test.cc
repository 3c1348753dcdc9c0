// `citybrain sim` end to end, set up as the demo is: a real Mosquitto, the server with the
// demo devices and the Hubin tier plan, and the sim run at high speed over the 19:00
// fountain show. What arrived is checked through the public API against the model: the
// counters' values came over MQTT, the car parks' over HTTP, and the plaza's crowd passed
// 10,000. Also: everything over HTTP (--no-mqtt), and the refusals a user can meet.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/json.h"
#include "sim/district.h"
#include "test_server.h"

namespace cb::testing {
namespace {

using sim::DistrictReadings;
using sim::HubinDistrict;

struct SimRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

SimRun RunSim(const std::string& args) {
  SimRun run;
  FILE* p = popen((std::string(CITYBRAIN_BINARY) + " sim " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return run;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) run.output += buf;
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

int64_t IntAttr(const JsonValue& keyvalues, const std::string& attr) {
  const JsonValue* v = keyvalues.Find(attr);
  return v != nullptr && v->is_number() ? static_cast<int64_t>(v->as_double()) : -1;
}

// The server now holds every device's reading of `expected`, and the plaza's crowd and the
// hospital's parking add up to it.
void ExpectDistrictHolds(HttpClient& c, const DistrictReadings& expected) {
  for (const sim::CounterReading& r : expected.counters) {
    JsonValue e = WaitForJson(
        c, "/ngsi-ld/v1/entities/" + r.counter->entity_id + "?options=keyValues",
        [&](const JsonValue& v) { return IntAttr(v, "peopleCount") == r.people; });
    EXPECT_EQ(IntAttr(e, "peopleCount"), r.people) << r.counter->entity_id;
  }
  for (const sim::LotReading& r : expected.lots) {
    JsonValue e = WaitForJson(
        c, "/ngsi-ld/v1/entities/" + r.lot->entity_id + "?options=keyValues",
        [&](const JsonValue& v) { return IntAttr(v, "availableSpotNumber") == r.available; });
    EXPECT_EQ(IntAttr(e, "availableSpotNumber"), r.available) << r.lot->entity_id;
    EXPECT_EQ(IntAttr(e, "totalSpotNumber"), r.lot->total_spots) << r.lot->entity_id;
  }
  const std::string plaza = HubinDistrict().plaza_zone_id;
  JsonValue zone = Json(c.Get("/api/v1/situation/zones/" + plaza).body);
  const JsonValue* crowd = zone.Find("crowd");
  ASSERT_NE(crowd, nullptr) << zone.Dump();
  EXPECT_EQ(crowd->Find("counters")->as_int(), 2);
  EXPECT_EQ(crowd->Find("freshCounters")->as_int(), 2);
  EXPECT_EQ(crowd->Find("count")->as_double(), static_cast<double>(expected.PeopleIn(plaza)));
  EXPECT_EQ(zone.Find("tier")->Find("plan")->as_string(), "hubin-fountain");
  JsonValue parking = Json(c.Get("/api/v1/situation/parking/destination?poi=" +
                                 HubinDistrict().hospital_poi_id).body);
  EXPECT_EQ(parking.Find("total")->as_int(), 1293) << parking.Dump();
  EXPECT_EQ(parking.Find("occupied")->as_int(), expected.SpotsOccupied()) << parking.Dump();
  EXPECT_EQ(parking.Find("staleLots")->as_int(), 0);
}

// The attribute updates the server accepted (the devices' PATCHes).
const std::string kAttrsUpdated =
    "citybrain_http_requests_total{route=\"/ngsi-ld/v1/entities/{entityId}/attrs\",code=\"2xx\"}";

class SimTest : public ::testing::Test {
 protected:
  const std::string src_ = CITYBRAIN_SOURCE_DIR;
  const std::string district_ = "--district " + src_ + "/examples/demo-city.json";
  const std::string plans_ = src_ + "/examples/tier-plans";
};

TEST_F(SimTest, DrivesTheShowThroughMqttAndHttp) {
  if (system("command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto") != 0) {
    GTEST_SKIP() << "mosquitto not installed (scripts/setup.sh installs it)";
  }
  const std::string dir = MakeTempDir("citybrain-sim");
  ASSERT_EQ(system((src_ + "/scripts/mosquitto.sh start " + dir + "/mqtt >/dev/null").c_str()), 0);
  std::string mqtt_port;
  std::ifstream(dir + "/mqtt/mosquitto.port") >> mqtt_port;
  ASSERT_FALSE(mqtt_port.empty());
  const std::string broker = "tcp://127.0.0.1:" + mqtt_port;
  {
    ServerProcess server(dir, {"--mqtt", broker, "--mqtt-devices",
                               src_ + "/examples/demo-devices.json", "--tier-plans", plans_,
                               "--utc-offset", "480"});
    ASSERT_TRUE(server.Start()) << server.Log();
    // 18:50 to 19:10 of the evening, a reading a simulated minute: 21 rounds.
    SimRun run = RunSim("--url http://127.0.0.1:" + std::to_string(server.port()) + " --key-file " +
                     dir + "/admin.key --mqtt " + broker + " " + district_ +
                     " --start 18:50 --end 19:10 --interval 60 --speed 1200 --seed 7 --once");
    ASSERT_EQ(run.exit_code, 0) << run.output << server.Log();
    EXPECT_NE(run.output.find("RESULT name=sim rounds=21 evenings=1 counters_mqtt=126 "
                              "counters_http=0 lots_http=84 stopped=0"),
              std::string::npos)
        << run.output;
    EXPECT_NE(run.output.find("evening 1  19:10  plaza  "), std::string::npos) << run.output;

    const DistrictReadings last = sim::ReadingsAt(HubinDistrict(), 19 * 3600 + 10 * 60, 7);
    ASSERT_GT(last.PeopleIn(HubinDistrict().plaza_zone_id), 10000);
    HttpClient c = server.Client();
    ExpectDistrictHolds(c, last);

    // Counters came over MQTT (6 × 21 messages written), car parks over HTTP (4 × 21
    // PATCHes; the only other write is the district's one upsert).
    const std::string metrics = c.Get("/metrics").body;
    EXPECT_EQ(Metric(metrics, "citybrain_mqtt_messages_total{result=\"written\"}"), 126)
        << metrics;
    EXPECT_EQ(Metric(metrics, kAttrsUpdated), 84);
    EXPECT_EQ(Metric(metrics, "citybrain_http_requests_total{route=\"/ngsi-ld/v1/"
                              "entityOperations/upsert\",code=\"2xx\"}"),
              1);
    EXPECT_EQ(WEXITSTATUS(server.Stop(SIGTERM)), 0);
  }
  system((src_ + "/scripts/mosquitto.sh stop " + dir + "/mqtt").c_str());
  std::filesystem::remove_all(dir);
}

TEST_F(SimTest, NoMqttSendsEverythingOverHttp) {
  ServerProcess server("", {"--tier-plans", plans_});
  ASSERT_TRUE(server.Start()) << server.Log();
  // 20:00 to 20:10, a reading every two simulated minutes: 6 rounds.
  SimRun run = RunSim("--url http://127.0.0.1:" + std::to_string(server.port()) + " --key-file " +
                   server.data_dir() + "/admin.key --no-mqtt " + district_ +
                   " --start 20:00 --end 20:10 --interval 120 --speed 2400 --seed 3");
  ASSERT_EQ(run.exit_code, 0) << run.output << server.Log();
  EXPECT_NE(run.output.find("rounds=6 evenings=1 counters_mqtt=0 counters_http=36 lots_http=24"),
            std::string::npos)
      << run.output;
  HttpClient c = server.Client();
  const DistrictReadings last = sim::ReadingsAt(HubinDistrict(), 20 * 3600 + 10 * 60, 3);
  EXPECT_GT(last.PeopleIn(HubinDistrict().plaza_zone_id), 10000);
  ExpectDistrictHolds(c, last);
  EXPECT_EQ(Metric(c.Get("/metrics").body, kAttrsUpdated), 60);
}

TEST_F(SimTest, RefusesWhatCannotWorkWithTheReason) {
  ServerProcess no_plans;  // started without --tier-plans
  ASSERT_TRUE(no_plans.Start()) << no_plans.Log();
  const std::string url = "--url http://127.0.0.1:" + std::to_string(no_plans.port());
  const std::string key = " --key-file " + no_plans.data_dir() + "/admin.key";
  std::ofstream(no_plans.data_dir() + "/wrong.key") << "not-a-key\n";
  const struct {
    const char* what;
    std::string args;
    int exit_code;
    std::string says;
  } cases[] = {
      {"plan not loaded", url + key + " --no-mqtt " + district_, 1,
       "urn:ngsi-ld:Zone:fountain-plaza: tierPlan hubin-fountain is not loaded"},
      {"wrong key", url + " --key-file " + no_plans.data_dir() + "/wrong.key --no-mqtt " + district_,
       1, "the server answered 401"},
      {"no key file", url + " --key-file /nonexistent/admin.key --no-mqtt " + district_, 1,
       "cannot read the key file /nonexistent/admin.key"},
      {"no district", url + key + " --no-mqtt --district /nonexistent/city.json", 1,
       "cannot read the district /nonexistent/city.json"},
      {"no broker", url + key + " --mqtt tcp://127.0.0.1:" + std::to_string(FreePort()) + " " +
                        district_, 1,
       "cannot connect to the MQTT broker"},
      {"no server", "--url http://127.0.0.1:" + std::to_string(FreePort()) + key + " " + district_,
       1, "cannot connect to http://127.0.0.1:"},
      {"bad start", url + key + " --start 7pm", 2, "--start: a time of day is HH:MM"},
      {"too slow", url + key + " --speed 1 --interval 300", 2, "at most 60"},
      {"once and loop", url + key + " --once --loop", 108, "--once excludes --loop"},
  };
  for (const auto& c : cases) {
    SimRun run = RunSim(c.args);
    EXPECT_EQ(run.exit_code, c.exit_code) << c.what << ": " << run.output;
    EXPECT_NE(run.output.find(c.says), std::string::npos) << c.what << ": " << run.output;
  }
  // The zone the server refused was not created.
  HttpClient c = no_plans.Client();
  EXPECT_EQ(c.Get("/api/v1/situation/zones/urn:ngsi-ld:Zone:fountain-plaza").status, 404);
}

}  // namespace
}  // namespace cb::testing
