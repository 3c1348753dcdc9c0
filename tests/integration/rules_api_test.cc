// Rules, Alert entities and alert webhooks against the real server: rules defined through
// /api/v1/rules (checked against the city), a firing raising an alert pushed on
// /ws/alerts, written as an NGSI-LD Alert entity and POSTed to webhooks, clearing
// resolving it, rules from a file, and defined rules kept across a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "../cap_schema_check.h"
#include "core/json.h"
#include "core/time.h"
#include "receiver.h"
#include "test_server.h"

namespace cb::testing {
namespace {

const char* kZone = R"({"id":"urn:ngsi-ld:Zone:metro","type":"Zone","name":{"type":"LanguageProperty","languageMap":{"zh-CN":"地铁站","en":"Metro station"}},
  "location":{"type":"GeoProperty","value":{"type":"Polygon","coordinates":
  [[[120.160,30.250],[120.162,30.250],[120.162,30.252],[120.160,30.252],[120.160,30.250]]]}}})";

std::string Counter(const std::string& id, double count, double lon = 120.161) {
  return R"({"id":"urn:ngsi-ld:CrowdFlowObserved:)" + id +
         R"(","type":"CrowdFlowObserved","peopleCount":{"type":"Property","value":)" +
         std::to_string(count) + R"(},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[)" +
         std::to_string(lon) + R"(,30.251]}}})";
}

const char* kRule = R"({"id":"metro-crowd","name":{"zh-CN":"地铁站客流过大","en":"Metro station crowded"},
  "entityType":"CrowdFlowObserved","zone":"urn:ngsi-ld:Zone:metro","severity":"II","category":"crowd",
  "when":{"any":[{"attribute":"peopleCount","op":">=","value":3000},
                 {"all":[{"attribute":"peopleCount","op":">=","value":2000},
                         {"rateOfChange":{"attribute":"peopleCount","op":">=","value":1500,"withinSeconds":60}}]}]},
  "quietPeriodSeconds":60,"actions":{"zh-CN":"限流进站","en":"Meter the entrances"},"departments":["地铁 Metro"]})";

class RulesApiTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {}, const std::string& data = "") {
    server_ = std::make_unique<ServerProcess>(data, std::move(extra));
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  static std::string Str(const JsonValue& entity, const char* attr) {
    const JsonValue* a = entity.Find(attr);
    const JsonValue* v = a != nullptr ? a->Find("value") : nullptr;
    return v != nullptr && v->is_string() ? v->as_string() : std::string();
  }
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RulesApiTest, BadRulesGetProblemDetailsAndChangeNothing) {
  StartServer();
  HttpClient c = server_->Client();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", Counter("a", 10)).status, 201);
  const struct {
    std::string body;
    int status;
    std::string detail;
  } cases[] = {
      {"{", 400, ""},
      {R"({"id":"x"})", 400, "rule: name must be an object"},
      {std::string(kRule).replace(std::string(kRule).find("\"II\""), 4, "\"VI\""), 400, "severity must be"},
      {std::string(kRule).replace(std::string(kRule).find(">=\",\"value\":3000"), 16, "=>\",\"value\":3000"), 400, "op must be one of"},
      {std::string(kRule).replace(std::string(kRule).find("Zone:metro"), 10, "Zone:nope"), 400, "zone urn:ngsi-ld:Zone:nope is not a defined Zone"},
      {std::string(kRule).replace(std::string(kRule).find("\"peopleCount\",\"op\":\">=\",\"value\":3000"), 13, "\"peopleCnt\""), 400,
       "no CrowdFlowObserved entity has the attribute peopleCnt"},
  };
  for (const auto& k : cases) {
    Response r = c.Post("/api/v1/rules", k.body);
    EXPECT_EQ(r.status, k.status) << k.body << "\n" << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    JsonValue p = Json(r.body);
    ASSERT_TRUE(p.is_object()) << r.body;
    EXPECT_NE(p.Find("type"), nullptr);
    if (!k.detail.empty()) {
      EXPECT_NE(p.Find("detail")->as_string().find(k.detail), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(c.Request(http::verb::post, "/api/v1/rules", kRule, "text/plain").status, 415);
  EXPECT_EQ(c.Get("/api/v1/rules").body, "[]");
  EXPECT_EQ(c.Get("/api/v1/rules/metro-crowd").status, 404);
  EXPECT_EQ(c.Delete("/api/v1/rules/metro-crowd").status, 404);

  // Defined; again with POST is a conflict; PUT replaces; the id must match the path.
  Response made = c.Post("/api/v1/rules", kRule);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.Header("Location"), "/api/v1/rules/metro-crowd");
  EXPECT_TRUE(Json(made.body).Find("warnings")->as_array().empty());
  EXPECT_EQ(c.Post("/api/v1/rules", kRule).status, 409);
  EXPECT_EQ(c.Request(http::verb::put, "/api/v1/rules/other", kRule).status, 400);
  Response put = c.Request(http::verb::put, "/api/v1/rules/metro-crowd", kRule);
  EXPECT_EQ(put.status, 200) << put.body;
  // A rule on a type nothing has yet: accepted, with a warning.
  Response early = c.Request(http::verb::put, "/api/v1/rules/river",
                             R"({"name":{"zh-CN":"水位","en":"River level"},"entityType":"WaterObserved","severity":3,
                                 "when":{"attribute":"waterLevel","op":">","value":2.5}})");
  ASSERT_EQ(early.status, 201) << early.body;
  EXPECT_NE(Json(early.body).Find("warnings")->as_array()[0].as_string().find("no WaterObserved entity exists yet"),
            std::string::npos);
  EXPECT_EQ(Json(c.Get("/api/v1/rules").body).as_array().size(), 2u);
  EXPECT_EQ(c.Delete("/api/v1/rules/river").status, 204);
  EXPECT_EQ(Json(c.Get("/api/v1/rules").body).as_array().size(), 1u);
  // Reading needs a key; defining needs the admin permission.
  EXPECT_EQ(HttpClient(server_->port(), "").Get("/api/v1/rules").status, 401);
}

TEST_F(RulesApiTest, AFiringBecomesAnAlertAnAlertEntityAndAWebhookCall) {
  Receiver all, sms;
  StartServer({"--alert-webhook", all.Url("/all"), "--alert-webhook", "sms=" + sms.Url("/sms"),
               "--alert-ack-deadline", "1"});
  HttpClient c = server_->Client();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("in", 100) + "," + Counter("out", 100, 121.5) + "]").status, 201);
  ASSERT_EQ(c.Post("/api/v1/rules", kRule).status, 201);
  WsClient ws(server_->port(), server_->admin_key(), "/ws/alerts");
  ASSERT_TRUE(ws.Read(std::chrono::seconds(5)).has_value());  // the snapshot

  // Outside the zone: nothing. Inside: the rule fires at once (no decision cycle).
  ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:out/attrs",
                    R"({"peopleCount":{"type":"Property","value":9000}})").status, 204);
  ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:in/attrs",
                    R"({"peopleCount":{"type":"Property","value":3500}})").status, 204);
  auto pushed = ws.Read(std::chrono::seconds(5));
  ASSERT_TRUE(pushed.has_value());
  JsonValue m = Json(*pushed);
  EXPECT_EQ(m.Find("what")->as_string(), "raised at level II");
  const JsonValue* alert = m.Find("alert");
  EXPECT_EQ(alert->Find("key")->as_string(), "rule:metro-crowd:urn:ngsi-ld:CrowdFlowObserved:in");
  EXPECT_EQ(alert->Find("headline")->Find("en")->as_string(),
            "Metro station crowded: urn:ngsi-ld:CrowdFlowObserved:in");
  EXPECT_EQ(alert->Find("description")->Find("en")->as_string(), "peopleCount 3500 >= 3000");
  EXPECT_EQ(alert->Find("instruction")->Find("zh-CN")->as_string(), "限流进站");
  const std::string id = alert->Find("id")->as_string();

  // The rule's state shows the firing.
  JsonValue rule = Json(c.Get("/api/v1/rules/metro-crowd").body);
  ASSERT_EQ(rule.Find("status")->Find("firing")->as_array().size(), 1u);
  EXPECT_EQ(rule.Find("status")->Find("watched")->as_int(), 1);

  // The alert is an NGSI-LD Alert entity (Smart Data Models names).
  JsonValue entity = WaitForJson(c, "/ngsi-ld/v1/entities/" + id, [](const JsonValue& v) {
    return v.Find("alertState") != nullptr;
  });
  EXPECT_EQ(Str(entity, "category"), "security");
  EXPECT_EQ(Str(entity, "subCategory"), "crowdRisk");
  EXPECT_EQ(Str(entity, "severity"), "high");
  EXPECT_EQ(Str(entity, "alertLevel"), "II");
  EXPECT_EQ(Str(entity, "alertColor"), "orange");
  EXPECT_EQ(Str(entity, "alertSource"), "urn:ngsi-ld:Zone:metro");
  EXPECT_EQ(entity.Find("refZone")->Find("object")->as_string(), "urn:ngsi-ld:Zone:metro");
  EXPECT_EQ(entity.Find("location")->Find("value")->Find("type")->as_string(), "Polygon");
  EXPECT_EQ(entity.Find("headline")->Find("languageMap")->Find("zh-CN")->as_string(),
            "地铁站客流过大：urn:ngsi-ld:CrowdFlowObserved:in");
  Response listed = c.Get("/ngsi-ld/v1/entities?type=Alert&q=alertLevel==%22II%22&options=keyValues");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(listed.body).as_array().size(), 1u);

  // Its CAP message still validates.
  std::string out;
  EXPECT_EQ(CapSchemaCheck(c.Get("/api/v1/alerts/" + id + "/cap").body, &out), 0) << out;

  // Webhooks: every change to /all; to /sms once it has escalated to the shift leader's
  // channel (deadline 1 s).
  ASSERT_TRUE(all.WaitFor([&](const auto& got) { return !got.empty(); }, std::chrono::seconds(10)));
  EXPECT_NE(all.Received()[0].body.find(id), std::string::npos);
  ASSERT_TRUE(sms.WaitFor([&](const auto& got) { return !got.empty(); }, std::chrono::seconds(10)));
  EXPECT_NE(sms.Received()[0].body.find("\"sms\""), std::string::npos) << sms.Received()[0].body;
  Response subs = c.Get("/ngsi-ld/v1/subscriptions");
  EXPECT_NE(subs.body.find("urn:ngsi-ld:Subscription:alert-webhook-2"), std::string::npos);

  // The reading drops: the alert resolves, and so does the entity.
  ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:in/attrs",
                    R"({"peopleCount":{"type":"Property","value":200}})").status, 204);
  WaitForJson(c, "/api/v1/alerts/" + id, [](const JsonValue& v) {
    return v.Find("state")->as_string() == "resolved";
  });
  entity = WaitForJson(c, "/ngsi-ld/v1/entities/" + id, [](const JsonValue& v) {
    const JsonValue* s = v.Find("alertState");
    return s != nullptr && s->Find("value")->as_string() == "resolved";
  });
  EXPECT_NE(entity.Find("validTo"), nullptr);
  ASSERT_TRUE(all.WaitFor([&](const auto& got) {
    for (const auto& g : got) {
      if (g.body.find("\"resolved\"") != std::string::npos) return true;
    }
    return false;
  }, std::chrono::seconds(10)));
  // A burst within the quiet period raises nothing new.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:in/attrs",
                      std::string(R"({"peopleCount":{"type":"Property","value":)") +
                          (i % 2 == 0 ? "5000" : "100") + "}}").status, 204);
  }
  rule = WaitForJson(c, "/api/v1/rules/metro-crowd", [](const JsonValue& v) {
    return v.Find("status")->Find("suppressed")->as_int() == 10;
  });
  EXPECT_EQ(rule.Find("status")->Find("fired")->as_int(), 1);
  EXPECT_EQ(Json(c.Get("/api/v1/alerts?state=all").body).as_array().size(), 1u);
  std::string metrics = c.Get("/metrics").body;
  EXPECT_EQ(Metric(metrics, "citybrain_rules"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_rule_firings_total"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_rule_firings_suppressed_total"), 10);
}

TEST_F(RulesApiTest, RulesFromAFileAndDefinedRulesSurviveARestart) {
  const std::string dir = MakeTempDir("citybrain-rules");
  std::ofstream(dir + "/silent.json")
      << R"([{"id":"counter-silent","name":{"zh-CN":"计数器无数据","en":"Counter silent"},
             "entityType":"CrowdFlowObserved","severity":"IV","category":"device","when":{"silentFor":3}}])";
  StartServer({"--rules", dir});
  HttpClient c = server_->Client();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", Counter("in", 100)).status, 201);
  ASSERT_EQ(c.Post("/api/v1/rules", kRule).status, 201);
  JsonValue file_rule = Json(c.Get("/api/v1/rules/counter-silent").body);
  EXPECT_EQ(file_rule.Find("source")->as_string(), "file");
  EXPECT_EQ(c.Delete("/api/v1/rules/counter-silent").status, 409);
  ASSERT_EQ(c.Patch("/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:in/attrs",
                    R"({"peopleCount":{"type":"Property","value":4000}})").status, 204);
  WaitForJson(c, "/api/v1/alerts", [](const JsonValue& v) { return v.as_array().size() == 1; });

  // Restart without the file: the defined rule is back and looks at the city again; it
  // still fires, so its alert stays open (the same one, not a second).
  const std::string data = server_->data_dir();
  server_->Stop();
  StartServer({}, data);
  HttpClient c2 = server_->Client();
  JsonValue rules = Json(c2.Get("/api/v1/rules").body);
  ASSERT_EQ(rules.as_array().size(), 1u);
  EXPECT_EQ(rules.as_array()[0].Find("id")->as_string(), "metro-crowd");
  EXPECT_EQ(rules.as_array()[0].Find("status")->Find("firing")->as_array().size(), 1u);
  EXPECT_EQ(Json(c2.Get("/api/v1/alerts").body).as_array().size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cb::testing
