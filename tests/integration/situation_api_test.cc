// The situation API against the real server: tier plans loaded from a directory, Zone
// definitions checked when written, counters posted over NGSI-LD moving a zone's level on
// the plan's cycle, the level changes and days at level, bad requests, and a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "core/time.h"
#include "../cap_schema_check.h"
#include "situation_fixtures.h"
#include "test_server.h"

namespace cb::testing {
namespace {

class SituationApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plans_ = MakeTempDir("citybrain-plans");
    std::ofstream(plans_ + "/fast.json") << kFastPlan;
    std::filesystem::copy_file(std::string(CITYBRAIN_SOURCE_DIR) + "/examples/tier-plans/hubin-fountain.json",
                               plans_ + "/hubin-fountain.json");
    server_ = std::make_unique<ServerProcess>(
        "", std::vector<std::string>{"--tier-plans", plans_, "--utc-offset", "480"});
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(plans_);
  }
  static int Level(const JsonValue& zone) {
    const JsonValue* tier = zone.Find("tier");
    return tier != nullptr && tier->is_object() ? static_cast<int>(tier->Find("level")->as_int()) : -1;
  }

  std::string plans_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SituationApiTest, CountersMoveAZoneThroughItsPlan) {
  HttpClient c = server_->Client();
  Response plans = c.Get("/api/v1/situation/tier-plans");
  ASSERT_EQ(plans.status, 200);
  ASSERT_EQ(Json(plans.body).as_array().size(), 2u);
  EXPECT_EQ(Json(plans.body).as_array()[0].Find("id")->as_string(), "fast");

  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 300) + "," + Counter("b", 350) + "]").status, 201);
  const std::string zone = "/api/v1/situation/zones/urn:ngsi-ld:Zone:plaza";
  JsonValue z = WaitForJson(c, zone, [](const JsonValue& v) { return Level(v) == 2; });
  EXPECT_EQ(z.Find("crowd")->Find("count")->as_double(), 650);
  EXPECT_EQ(z.Find("crowd")->Find("counters")->as_int(), 2);
  EXPECT_DOUBLE_EQ(z.Find("crowd")->Find("capacityRatio")->as_double(), 0.325);
  EXPECT_EQ(z.Find("tier")->Find("actions")->Find("en")->as_string(), "Barriers");
  EXPECT_EQ(z.Find("name")->as_string(), "Fountain plaza");
  EXPECT_TRUE(z.Find("parent")->is_null());

  // The square empties: one cycle below the line and the level goes.
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 10) + "," + Counter("b", 10) + "]").status, 204);
  WaitForJson(c, zone, [](const JsonValue& v) { return Level(v) == 0; });
  JsonValue changes = Json(c.Get(zone + "/level-changes").body);
  ASSERT_EQ(changes.as_array().size(), 2u);
  EXPECT_EQ(changes.as_array()[0].Find("to")->as_int(), 2);
  EXPECT_TRUE(changes.as_array()[0].Find("escalation")->as_bool());
  EXPECT_EQ(changes.as_array()[0].Find("departments")->as_array().size(), 2u);
  EXPECT_EQ(changes.as_array()[1].Find("to")->as_int(), 0);
  EXPECT_TRUE(changes.as_array()[1].Find("actions")->is_null());
  EXPECT_EQ(Json(c.Get("/api/v1/situation/level-changes?limit=1").body).as_array().size(), 1u);

  // Today (China time) had time at level 2.
  const std::string today =
      FormatIso8601(SystemClock::Instance()->Now() + 8 * 3600000).substr(0, 10);
  JsonValue days = Json(c.Get(zone + "/level-days?level=2&from=" + today + "&to=" + today).body);
  EXPECT_EQ(days.Find("days")->as_int(), 1) << days.Dump();
  EXPECT_GT(days.Find("perDay")->as_array()[0].Find("msAtLevel")->Find("2")->as_int(), 0);

  // Both counters are known devices, reporting.
  JsonValue devices = Json(c.Get("/api/v1/situation/devices").body);
  ASSERT_EQ(devices.as_array().size(), 2u) << devices.Dump();
  EXPECT_FALSE(devices.as_array()[0].Find("silent")->as_bool());
  EXPECT_TRUE(devices.as_array()[0].Find("intervalMs")->is_null());  // two readings: too few

  // All zones at once.
  JsonValue all = Json(c.Get("/api/v1/situation/zones").body);
  ASSERT_EQ(all.as_array().size(), 1u);

  // A restart keeps the zone, its counters and their readings.
  server_->Stop();
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient again = server_->Client();
  JsonValue after = WaitForJson(again, zone, [](const JsonValue& v) { return Level(v) == 0; });
  EXPECT_EQ(after.Find("crowd")->Find("counters")->as_int(), 2);
  EXPECT_EQ(after.Find("crowd")->Find("count")->as_double(), 20);
}

TEST_F(SituationApiTest, BadRequestsGetProblemDetailsAndChangeNothing) {
  HttpClient c = server_->Client();
  // A zone naming a plan that is not loaded is refused when written.
  std::string bad = kZone;
  bad.replace(bad.find("\"fast\""), 6, "\"nope\"");
  Response r = c.Post("/ngsi-ld/v1/entities", bad);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("tierPlan nope is not loaded (loaded: fast, hubin-fountain)"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(c.Get("/ngsi-ld/v1/entities/urn:ngsi-ld:Zone:plaza").status, 404);
  EXPECT_EQ(c.Get("/api/v1/situation/zones/urn:ngsi-ld:Zone:plaza").status, 404);

  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  const std::string days = "/api/v1/situation/zones/urn:ngsi-ld:Zone:plaza/level-days";
  const struct {
    std::string query;
    int status;
    std::string detail;
  } cases[] = {
      {"?level=1&to=2026-01-01", 400, "from is required"},
      {"?level=1&from=2026-1-1&to=2026-01-01", 400, "from must be a date"},
      {"?level=1&from=2026-02-30&to=2026-03-01", 400, "from must be a date"},
      {"?level=0&from=2026-01-01&to=2026-01-02", 400, "level must be"},
      {"?level=1&from=2026-01-02&to=2026-01-01", 400, "to is before from"},
      {"?level=1&from=2000-01-01&to=2026-01-01", 400, "at most ten years"},
  };
  for (const auto& k : cases) {
    Response e = c.Get(days + k.query);
    EXPECT_EQ(e.status, k.status) << k.query << " " << e.body;
    EXPECT_NE(e.body.find(k.detail), std::string::npos) << k.query << " " << e.body;
    EXPECT_EQ(e.Header("Content-Type"), "application/json");
  }
  EXPECT_EQ(c.Get("/api/v1/situation/zones/urn:ngsi-ld:Zone:nope/level-days?from=2026-01-01&to=2026-01-01").status, 404);
  EXPECT_EQ(c.Get("/api/v1/situation/zones/urn:ngsi-ld:Zone:nope/level-changes").status, 404);
  EXPECT_EQ(c.Get("/api/v1/situation/level-changes?limit=5000").status, 403);
  // Credentials are needed.
  EXPECT_EQ(c.Request(http::verb::get, "/api/v1/situation/zones", "", "application/json", {}, false)
                .status,
            401);
}

TEST_F(SituationApiTest, TierLevelsRaiseEscalateAndResolveAlerts) {
  // Restart with a one-second acknowledgement deadline and an area code for CAP.
  server_ = std::make_unique<ServerProcess>(
      "", std::vector<std::string>{"--tier-plans", plans_, "--alert-ack-deadline", "1",
                                   "--alert-area-code", "330102"});
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient c = server_->Client();
  // The dashboard's alert stream: a snapshot, then each change as it happens.
  WsClient ws(server_->port(), server_->admin_key(), "/ws/alerts");
  auto snapshot = ws.Read(std::chrono::seconds(5));
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(Json(*snapshot).Find("type")->as_string(), "snapshot");
  EXPECT_TRUE(Json(*snapshot).Find("alerts")->as_array().empty());
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 300) + "," + Counter("b", 350) + "]").status, 201);
  auto pushed = ws.Read(std::chrono::seconds(10));
  ASSERT_TRUE(pushed.has_value());
  JsonValue message = Json(*pushed);
  EXPECT_EQ(message.Find("type")->as_string(), "alert");
  EXPECT_EQ(message.Find("what")->as_string(), "raised at level II");
  EXPECT_EQ(message.Find("alert")->Find("color")->as_string(), "orange");
  EXPECT_THROW(WsClient(server_->port(), "", "/ws/alerts"), std::exception);  // a key is needed
  JsonValue open = WaitForJson(c, "/api/v1/alerts", [](const JsonValue& v) {
    return v.as_array().size() == 1 && v.as_array()[0].Find("escalation")->Find("step")->as_int() >= 1;
  });
  ASSERT_EQ(open.as_array().size(), 1u);
  const JsonValue& a = open.as_array()[0];
  const std::string id = a.Find("id")->as_string();
  EXPECT_EQ(a.Find("levelName")->as_string(), "II");
  EXPECT_EQ(a.Find("color")->as_string(), "orange");
  EXPECT_EQ(a.Find("state")->as_string(), "active");
  EXPECT_EQ(a.Find("headline")->Find("en")->as_string(), "Fountain plaza: Level 2");
  EXPECT_EQ(a.Find("instruction")->Find("zh-CN")->as_string(), "护栏");
  EXPECT_EQ(a.Find("identifier")->as_string().size(), 31u);
  EXPECT_EQ(a.Find("identifier")->as_string().substr(0, 15), "33010200000000_");
  EXPECT_EQ(a.Find("escalation")->Find("role")->Find("en")->as_string(), "shift leader");

  // Acknowledged once; again is a conflict.
  Response ack = c.Post("/api/v1/alerts/" + id + "/acknowledge", "");
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(Json(ack.body).Find("state")->as_string(), "acknowledged");
  Response again = c.Post("/api/v1/alerts/" + id + "/acknowledge", "");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Header("Content-Type"), "application/json");

  // Its CAP message validates against the OASIS schema; the feed carries it.
  Response cap = c.Get("/api/v1/alerts/" + id + "/cap");
  ASSERT_EQ(cap.status, 200);
  EXPECT_EQ(cap.Header("Content-Type"), "application/cap+xml");
  std::string out;
  EXPECT_EQ(CapSchemaCheck(cap.body, &out), 0) << out << cap.body;
  Response feed = c.Get("/api/v1/alerts/cap");
  EXPECT_EQ(feed.Header("Content-Type"), "application/atom+xml");
  EXPECT_NE(feed.body.find(a.Find("identifier")->as_string()), std::string::npos) << feed.body;

  // The square empties: the alert resolves itself, with a CAP Cancel.
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 10) + "," + Counter("b", 10) + "]").status, 204);
  WaitForJson(c, "/api/v1/alerts", [](const JsonValue& v) { return v.as_array().empty(); });
  JsonValue done = Json(c.Get("/api/v1/alerts/" + id).body);
  EXPECT_EQ(done.Find("state")->as_string(), "resolved");
  EXPECT_EQ(done.Find("resolvedBy")->as_string(), "auto");
  EXPECT_EQ(Json(c.Get("/api/v1/alerts?state=all").body).as_array().size(), 1u);
  Response cancel = c.Get("/api/v1/alerts/" + id + "/cap");
  EXPECT_NE(cancel.body.find("<msgType>Cancel</msgType>"), std::string::npos);
  out.clear();
  EXPECT_EQ(CapSchemaCheck(cancel.body, &out), 0) << out << cancel.body;
  EXPECT_EQ(c.Get("/api/v1/alerts/" + id + "/cap?message=0").body.find("<msgType>Alert</msgType>") !=
                std::string::npos,
            true);

  // The metrics count them.
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_EQ(Metric(metrics, "citybrain_zones"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_zones_with_tier_plan"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_people_counters"), 2);
  EXPECT_EQ(Metric(metrics, "citybrain_tier_level_changes_total"), 2);
  EXPECT_EQ(Metric(metrics, "citybrain_alerts_raised_total"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_alerts_open"), 0);
  EXPECT_GE(Metric(metrics, "citybrain_alert_escalations_total"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_readings_accepted_total"), 4);
  EXPECT_EQ(Metric(metrics, "citybrain_devices_silent"), 0);

  // Bad requests.
  EXPECT_EQ(c.Post("/api/v1/alerts/" + id + "/resolve", "").status, 409);
  EXPECT_EQ(c.Get("/api/v1/alerts?state=maybe").status, 400);
  EXPECT_EQ(c.Get("/api/v1/alerts/urn:ngsi-ld:Alert:nope").status, 404);
  EXPECT_EQ(c.Get("/api/v1/alerts/" + id + "/cap?message=7").status, 404);
  EXPECT_EQ(c.Post("/api/v1/alerts/urn:ngsi-ld:Alert:nope/acknowledge", "").status, 404);

  // Alerts and their history are kept across a restart.
  const size_t history = done.Find("history")->as_array().size();
  server_->Stop();
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient after = server_->Client();
  JsonValue kept = Json(after.Get("/api/v1/alerts/" + id).body);
  EXPECT_EQ(kept.Find("state")->as_string(), "resolved");
  EXPECT_EQ(kept.Find("history")->as_array().size(), history);
  EXPECT_TRUE(Json(after.Get("/api/v1/alerts").body).as_array().empty());
}

// The demo district loads as scripts/demo.sh loads it, and its plaza runs the Hubin plan.
TEST(SituationDemoTest, TheDemoDistrictLoadsWithTheExamplePlans) {
  ServerProcess server("", {"--tier-plans", std::string(CITYBRAIN_SOURCE_DIR) + "/examples/tier-plans",
                            "--utc-offset", "480"});
  ASSERT_TRUE(server.Start()) << server.Log();
  HttpClient c = server.Client();
  std::ifstream f(std::string(CITYBRAIN_SOURCE_DIR) + "/examples/demo-city.json");
  std::string city((std::istreambuf_iterator<char>(f)), {});
  Response r = c.Post("/ngsi-ld/v1/entityOperations/upsert?options=update", city);
  ASSERT_EQ(r.status, 201) << r.body;
  JsonValue zones = Json(c.Get("/api/v1/situation/zones").body);
  ASSERT_EQ(zones.as_array().size(), 4u);
  JsonValue plaza = Json(c.Get("/api/v1/situation/zones/urn:ngsi-ld:Zone:fountain-plaza").body);
  EXPECT_EQ(plaza.Find("tier")->Find("plan")->as_string(), "hubin-fountain");
  EXPECT_EQ(plaza.Find("name")->Find("en")->as_string(), "Lake-side fountain plaza");
  EXPECT_EQ(plaza.Find("crowd")->Find("counters")->as_int(), 2);

  // The hospital's parking: 4 car parks, 1,293 spaces within 500 m.
  const std::string hospital = "poi=urn:ngsi-ld:PointOfInterest:hubin-hospital";
  JsonValue d = Json(c.Get("/api/v1/situation/parking/destination?" + hospital).body);
  EXPECT_EQ(d.Find("lots")->as_array().size(), 4u) << d.Dump();
  EXPECT_EQ(d.Find("total")->as_double(), 1293);
  EXPECT_EQ(d.Find("index")->as_double(), 0);
  // Lot c fills up: it drops out of the guidance, and the index rises.
  ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:hubin-lot-c/attrs",
                    R"({"availableSpotNumber":{"type":"Property","value":0}})").status, 204);
  JsonValue g = Json(c.Get("/api/v1/situation/parking/guidance?" + hospital + "&limit=10").body);
  ASSERT_EQ(g.as_array().size(), 3u) << g.Dump();
  for (const JsonValue& lot : g.as_array()) {
    EXPECT_NE(lot.Find("id")->as_string(), "urn:ngsi-ld:OffStreetParking:hubin-lot-c");
  }
  EXPECT_EQ(g.as_array()[0].Find("id")->as_string(), "urn:ngsi-ld:OffStreetParking:hubin-lot-a");  // nearest
  d = Json(c.Get("/api/v1/situation/parking/destination?" + hospital).body);
  EXPECT_DOUBLE_EQ(d.Find("index")->as_double(), 305.0 / 1293);
  JsonValue lots = Json(c.Get("/api/v1/situation/parking/lots").body);
  ASSERT_EQ(lots.as_array().size(), 4u);
  EXPECT_EQ(lots.as_array()[2].Find("status")->as_string(), "full");
  // By coordinates and radius; bad destinations.
  EXPECT_EQ(Json(c.Get("/api/v1/situation/parking/destination?lon=120.17&lat=30.253&radius=100").body)
                .Find("lots")->as_array().size(), 1u);
  for (const char* bad : {"", "?lon=120.17", "?lon=200&lat=30", "?lon=x&lat=30",
                          "?poi=urn:ngsi-ld:PointOfInterest:hubin-hospital&radius=0",
                          "?poi=urn:ngsi-ld:PointOfInterest:hubin-hospital&radius=99999"}) {
    Response r = c.Get(std::string("/api/v1/situation/parking/guidance") + bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(c.Get("/api/v1/situation/parking/destination?poi=urn:ngsi-ld:PointOfInterest:nope").status, 404);
}

// `citybrain replay` sends a month of real Melbourne counts to the server through its API.
TEST(ReplayCommandTest, MelbourneCountsReachTheServer) {
  ServerProcess server;
  ASSERT_TRUE(server.Start()) << server.Log();
  CommandResult run = RunCitybrain("replay --url http://127.0.0.1:" + std::to_string(server.port()) +
                                   " --key-file " + server.data_dir() + "/admin.key --file " +
                                   CITYBRAIN_SOURCE_DIR + "/tests/data/melbourne/flinders_underpass_2023-07.csv");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::string out = run.output;
  EXPECT_NE(out.find("RESULT name=replay rows=598 observations=598 batches=572"), std::string::npos) << out;
  HttpClient c = server.Client();
  JsonValue e = Json(c.Get("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:melbourne-6").body);
  // The last hour comes twice in the source (218, then 253): the later write is the entity's.
  EXPECT_EQ(e.Find("peopleCount")->Find("value")->as_double(), 253) << e.Dump();
  EXPECT_EQ(e.Find("peopleCount")->Find("observedAt")->as_string(), "2023-07-31T13:00:00.000Z");
  // Without a key the server refuses, and the replay says so.
  run = RunCitybrain("replay --url http://127.0.0.1:" + std::to_string(server.port()) + " --file " +
                     CITYBRAIN_SOURCE_DIR + "/tests/data/melbourne/flinders_underpass_2023-07.csv");
  EXPECT_NE(run.exit_code, 0);
  out = run.output;
  EXPECT_NE(out.find("the server answered 401"), std::string::npos) << out;
}

TEST(SituationStartTest, ABrokenPlanFileStopsTheStartWithItsReason) {
  const std::string plans = MakeTempDir("citybrain-plans");
  std::ofstream(plans + "/broken.json") << R"({"id":"b","name":{"zh-CN":"a","en":"b"},"measure":"peopleCount","levels":[]})";
  ServerProcess server("", {"--tier-plans", plans});
  EXPECT_FALSE(server.Start());
  EXPECT_NE(server.Log().find("broken.json: tier plan: levels must be a non-empty array"),
            std::string::npos)
      << server.Log();
  std::filesystem::remove_all(plans);
}

}  // namespace
}  // namespace cb::testing
