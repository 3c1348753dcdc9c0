// The case API against the real server: a grid worker reports with a photo, the centre
// dispatches, the department resolves with a photo, the reporter rates; refused transitions
// (409 with the allowed next steps), stale versions, bad photos and bad reports change
// nothing; personal data is masked; a rule's alert opens a dispatched case; cases survive a
// kill -9.

#include <csignal>
#include <string>

#include "gtest/gtest.h"
#include "test_server.h"

namespace cb::testing {
namespace {

// The smallest JPEG header a sniffer accepts, then filler: a photo as far as type checks go.
std::string FakeJpeg(size_t size, char fill = 'x') {
  std::string b = "\xFF\xD8\xFF\xE0";
  b.resize(size, fill);
  return b;
}

class CasesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>("", std::vector<std::string>{"--max-photo-bytes", "65536"});
    ASSERT_TRUE(server_->Start()) << server_->Log();
    admin_.emplace(server_->Client());
    grid_ = Key("grid-7", R"(["cases:report"])");
    operator_ = Key("dispatcher", R"(["cases:read","cases:write"])");
  }
  std::string Key(const std::string& name, const std::string& permissions) {
    Response r = admin_->Post("/admin/keys", R"({"name":")" + name + R"(","permissions":)" + permissions + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Find("key")->as_string();
  }
  static std::string Report(const std::string& extra = "") {
    return R"({"category":"0106","description":"井盖缺失，有行人跌落危险","location":{"type":"Point","coordinates":[120.1631,30.2591]},)"
           R"("reporter":{"name":"王五","phone":"13800138000"})" + extra + "}";
  }
  int CaseCount() { return std::stoi(admin_->Get("/api/v1/cases?limit=0").Header("X-Total-Count")); }
  Response Move(HttpClient& who, const std::string& id, const std::string& body) {
    return who.Post("/api/v1/cases/" + id + "/transitions", body);
  }

  std::unique_ptr<ServerProcess> server_;
  std::optional<HttpClient> admin_;
  std::string grid_, operator_;
};

TEST_F(CasesApiTest, AReportWalksTheWholeLoop) {
  HttpClient grid(server_->port(), grid_), op(server_->port(), operator_);
  // The grid worker takes a photo and reports with it.
  Response photo = grid.Post("/api/v1/photos", FakeJpeg(2000), "image/jpeg");
  ASSERT_EQ(photo.status, 201) << photo.body;
  const std::string photo_id = Json(photo.body).Find("id")->as_string();
  Response made = grid.Post("/api/v1/cases", Report(R"(,"photos":[")" + photo_id + R"("])"));
  ASSERT_EQ(made.status, 201) << made.body;
  JsonValue c = Json(made.body);
  const std::string id = c.Find("id")->as_string();
  EXPECT_EQ(made.Header("Location"), "/api/v1/cases/" + id);
  EXPECT_EQ(c.Find("state")->as_string(), "reported");
  EXPECT_EQ(c.Find("source")->as_string(), "grid_worker");
  EXPECT_EQ(c.Find("department")->as_string(), "szj");
  EXPECT_EQ(c.Find("reporter")->Find("id")->as_string(), "grid-7");
  EXPECT_EQ(c.Find("reporter")->Find("name")->as_string(), "王**") << "masked";
  EXPECT_EQ(c.Find("reporter")->Find("phone")->as_string(), "138****8000");
  EXPECT_EQ(c.Find("sla")->as_array()[0].Find("status")->as_string(), "ok");
  EXPECT_EQ(op.Get("/api/v1/photos/" + photo_id).body, FakeJpeg(2000));
  // The grid worker may not dispatch.
  EXPECT_EQ(Move(grid, id, R"({"action":"accept"})").status, 403);
  // The centre accepts and dispatches; the department starts and resolves with a photo.
  ASSERT_EQ(Move(op, id, R"({"action":"accept","version":1})").status, 200);
  Response d = Move(op, id, R"({"action":"dispatch","handler":"szj-zhao"})");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Json(d.body).Find("handler")->as_string(), "szj-zhao");
  ASSERT_EQ(Move(op, id, R"({"action":"start"})").status, 200);
  Response after = op.Request(http::verb::post, "/api/v1/cases/" + id + "/photos?stage=result", FakeJpeg(3000, 'y'),
                              "image/jpeg");
  ASSERT_EQ(after.status, 201) << after.body;
  Response resolved = Move(op, id, R"({"action":"resolve","result":"已补装井盖"})");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(Json(resolved.body).Find("resultPhotos")->as_array().size(), 1u);
  // The reporter verifies and rates; the centre closes.
  ASSERT_EQ(Move(grid, id, R"({"action":"verify"})").status, 200);
  ASSERT_EQ(Move(grid, id, R"({"action":"rate","rating":5,"note":"很及时"})").status, 200);
  Response closed = Move(op, id, R"({"action":"close"})");
  ASSERT_EQ(closed.status, 200) << closed.body;
  JsonValue end = Json(closed.body);
  EXPECT_EQ(end.Find("state")->as_string(), "closed");
  std::vector<std::string> actions;
  for (const JsonValue& t : end.Find("history")->as_array()) actions.push_back(t.Find("action")->as_string());
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "accept", "dispatch", "start", "photo", "resolve",
                                               "verify", "rate", "close"}));
  Response credit = op.Get("/api/v1/reporters/grid-7/credit");
  EXPECT_EQ(Json(credit.body).Find("points")->as_int(), 6);
  // The list filters by state and department.
  EXPECT_EQ(Json(op.Get("/api/v1/cases?state=closed&department=szj").body).as_array().size(), 1u);
  EXPECT_EQ(Json(op.Get("/api/v1/cases?open=true").body).as_array().size(), 0u);
  Response m = admin_->Get("/metrics");
  EXPECT_EQ(Metric(m.body, "citybrain_cases"), 1);
  EXPECT_EQ(Metric(m.body, "citybrain_case_transitions_total"), 9);
}

TEST_F(CasesApiTest, AReporterSeesAndActsOnItsOwnReportsOnly) {
  HttpClient grid(server_->port(), grid_), op(server_->port(), operator_);
  HttpClient other(server_->port(), Key("grid-8", R"(["cases:report"])"));
  const std::string mine = Json(grid.Post("/api/v1/cases", Report()).body).Find("id")->as_string();
  const std::string theirs =
      Json(other.Post("/api/v1/cases", R"({"category":"0106","location":{"type":"Point","coordinates":[120.1702,30.2655]}})")
               .body)
          .Find("id")
          ->as_string();
  ASSERT_NE(mine, theirs);
  // The list holds one's own reports only; asking for someone else's is refused.
  JsonValue list = Json(grid.Get("/api/v1/cases").body);
  ASSERT_EQ(list.as_array().size(), 1u);
  EXPECT_EQ(list.as_array()[0].Find("id")->as_string(), mine);
  EXPECT_EQ(grid.Get("/api/v1/cases?reporter=grid-7").status, 200);
  EXPECT_EQ(grid.Get("/api/v1/cases?reporter=grid-8").status, 403);
  EXPECT_EQ(grid.Get("/api/v1/cases/" + mine).status, 200);
  EXPECT_EQ(grid.Get("/api/v1/cases/" + theirs).status, 403);
  // The catalog is open to reporters (they choose a category from it).
  EXPECT_EQ(grid.Get("/api/v1/case-catalog").status, 200);
  // Verify and rate: only one's own report, and nothing changes otherwise.
  for (const char* a : {"accept", "dispatch", "start"}) {
    ASSERT_EQ(Move(op, theirs, std::string(R"({"action":")") + a + R"("})").status, 200) << a;
  }
  ASSERT_EQ(Move(op, theirs, R"({"action":"resolve","result":"ok"})").status, 200);
  EXPECT_EQ(Move(grid, theirs, R"({"action":"verify"})").status, 403);
  EXPECT_EQ(Move(grid, theirs, R"({"action":"rate","rating":1})").status, 403);
  EXPECT_EQ(grid.Request(http::verb::post, "/api/v1/cases/" + theirs + "/photos", FakeJpeg(500), "image/jpeg").status,
            403);
  EXPECT_EQ(Json(op.Get("/api/v1/cases/" + theirs).body).Find("state")->as_string(), "resolved");
  EXPECT_EQ(Move(other, theirs, R"({"action":"verify"})").status, 200);
}

TEST_F(CasesApiTest, RefusedTransitionsNameTheAllowedNextSteps) {
  HttpClient op(server_->port(), operator_);
  const std::string id = Json(op.Post("/api/v1/cases", Report()).body).Find("id")->as_string();
  Response r = Move(op, id, R"({"action":"resolve","result":"x"})");
  EXPECT_EQ(r.status, 409);
  JsonValue p = Json(r.body);
  EXPECT_EQ(p.Find("state")->as_string(), "reported");
  EXPECT_EQ(p.Find("allowedActions")->Dump(), R"(["accept","reject","escalate","merge"])");
  EXPECT_NE(p.Find("type"), nullptr);
  // A stale version: 409, nothing changed.
  ASSERT_EQ(Move(op, id, R"({"action":"accept","version":1})").status, 200);
  Response stale = Move(op, id, R"({"action":"dispatch","version":1})");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(Json(stale.body).Find("version")->as_int(), 2);
  EXPECT_EQ(Json(op.Get("/api/v1/cases/" + id).body).Find("state")->as_string(), "accepted");
  // Bad transition bodies.
  EXPECT_EQ(Move(op, id, R"({"action":"teleport"})").status, 400);
  EXPECT_EQ(Move(op, id, R"({"action":"dispatch","department":"nasa"})").status, 400);
  EXPECT_EQ(Move(op, id, R"({"action":"dispatch","colour":"red"})").status, 400);
  EXPECT_EQ(Move(op, id, "{nope").status, 400);
  EXPECT_EQ(Move(op, "999", R"({"action":"accept"})").status, 404);
  EXPECT_EQ(Json(op.Get("/api/v1/cases/" + id).body).Find("version")->as_int(), 2);
}

TEST_F(CasesApiTest, BadReportsAndPhotosAreRefusedAndChangeNothing) {
  HttpClient grid(server_->port(), grid_);
  struct Bad {
    std::string body;
    int status;
  };
  const Bad cases[] = {
      {R"({"category":"9999","address":"湖滨路"})", 400},
      {R"({"category":"01","address":"湖滨路"})", 400},
      {R"({"category":"0101"})", 400},
      {R"({"category":"0101","location":{"type":"Point","coordinates":[200,30]}})", 400},
      {R"({"category":"0101","address":"x","description":")" + std::string(4001, 'a') + R"("})", 400},
      {R"({"category":"0101","address":"x","photos":["0000.jpg"]})", 400},
      {R"({"category":"0101","address":"x","accept":true})", 403},
      {R"({"category":"0101","address":"x","mood":"sad"})", 400},
      {R"(["not an object"])", 400},
  };
  for (const Bad& b : cases) {
    Response r = grid.Post("/api/v1/cases", b.body);
    EXPECT_EQ(r.status, b.status) << b.body.substr(0, 120) << "\n" << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << "ProblemDetails";
  }
  EXPECT_EQ(grid.Post("/api/v1/cases", Report(), "text/plain").status, 415);
  // Photos: wrong type, empty, too large.
  EXPECT_EQ(grid.Post("/api/v1/photos", "GIF89a....", "image/jpeg").status, 400);
  EXPECT_EQ(grid.Post("/api/v1/photos", "", "image/jpeg").status, 400);
  EXPECT_EQ(grid.Post("/api/v1/photos", FakeJpeg(70000), "image/jpeg").status, 413);
  EXPECT_EQ(CaseCount(), 0);
  EXPECT_EQ(grid.Get("/api/v1/cases?reporter=grid-9").status, 403) << "a grid worker key cannot list others' cases";
}

TEST_F(CasesApiTest, TheCaseStreamPushesEveryChange) {
  HttpClient op(server_->port(), operator_);
  const std::string first = Json(op.Post("/api/v1/cases", Report()).body).Find("id")->as_string();
  WsClient ws(server_->port(), operator_, "/ws/cases");
  std::optional<std::string> snapshot = ws.Read(std::chrono::seconds(5));
  ASSERT_TRUE(snapshot.has_value());
  JsonValue snap = Json(*snapshot);
  EXPECT_EQ(snap.Find("type")->as_string(), "snapshot");
  ASSERT_EQ(snap.Find("cases")->as_array().size(), 1u);
  EXPECT_EQ(snap.Find("cases")->as_array()[0].Find("reporter")->Find("phone")->as_string(), "138****8000");
  ASSERT_EQ(Move(op, first, R"({"action":"accept"})").status, 200);
  std::optional<std::string> msg = ws.Read(std::chrono::seconds(5));
  ASSERT_TRUE(msg.has_value());
  JsonValue m = Json(*msg);
  EXPECT_EQ(m.Find("type")->as_string(), "case");
  EXPECT_EQ(m.Find("action")->as_string(), "accept");
  EXPECT_EQ(m.Find("case")->Find("state")->as_string(), "accepted");
  // A grid worker's list holds its own reports only (none here), and the stream is closed to it.
  EXPECT_EQ(HttpClient(server_->port(), grid_).Get("/api/v1/cases").body, "[]");
  EXPECT_EQ(HttpClient(server_->port(), grid_).Get("/ws/cases").status, 403);
}

TEST_F(CasesApiTest, UnmaskingIsForAdminsOnly) {
  HttpClient op(server_->port(), operator_);
  const std::string id = Json(op.Post("/api/v1/cases", Report()).body).Find("id")->as_string();
  EXPECT_EQ(op.Get("/api/v1/cases/" + id + "?unmask=true").status, 403);
  Response r = admin_->Get("/api/v1/cases/" + id + "?unmask=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r.body).Find("reporter")->Find("phone")->as_string(), "13800138000");
  EXPECT_NE(server_->Log().find("audit: unmasked read of case " + id), std::string::npos);
}

TEST_F(CasesApiTest, ADuplicateReportIsLinkedNotNewWork) {
  HttpClient grid(server_->port(), grid_);
  const std::string first = Json(grid.Post("/api/v1/cases", Report()).body).Find("id")->as_string();
  Response again = grid.Post("/api/v1/cases", Report());
  ASSERT_EQ(again.status, 200) << again.body;
  JsonValue d = Json(again.body);
  EXPECT_EQ(d.Find("state")->as_string(), "merged");
  EXPECT_EQ(d.Find("linkedTo")->as_string(), first);
}

TEST_F(CasesApiTest, ARuleAlertOpensADispatchedCase) {
  HttpClient c = server_->Client();
  ASSERT_EQ(c.Post("/api/v1/rules", R"({"id":"hydrant-pressure","name":{"zh-CN":"消防栓水压低","en":"Hydrant pressure low"},
      "entityType":"WaterPressureObserved","severity":"II","category":"fire",
      "when":{"attribute":"pressure","op":"<","value":0.15},
      "departments":["xfj"],"caseCategory":"0704"})").status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:WaterPressureObserved:h1","type":"WaterPressureObserved",
      "pressure":{"type":"Property","value":0.08},
      "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[120.1625,30.2588]}}})").status, 201);
  JsonValue cases = WaitForJson(c, "/api/v1/cases?source=sensor", [](const JsonValue& v) {
    return v.is_array() && !v.as_array().empty();
  });
  ASSERT_TRUE(cases.is_array() && !cases.as_array().empty());
  const JsonValue& k = cases.as_array()[0];
  EXPECT_EQ(k.Find("category")->as_string(), "0704");
  EXPECT_EQ(k.Find("state")->as_string(), "dispatched");
  EXPECT_EQ(k.Find("department")->as_string(), "xfj");
  EXPECT_EQ(k.Find("title")->as_string(),
            "消防栓水压低：urn:ngsi-ld:WaterPressureObserved:h1 / "
            "Hydrant pressure low: urn:ngsi-ld:WaterPressureObserved:h1");
  EXPECT_NE(k.Find("alertId")->as_string().find("urn:ngsi-ld:Alert:"), std::string::npos);
  EXPECT_EQ(k.Find("location")->Find("coordinates")->as_array()[0].as_double(), 120.1625);
}

TEST_F(CasesApiTest, AcknowledgedCasesSurviveKill9) {
  HttpClient op(server_->port(), operator_);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    Response r = op.Post("/api/v1/cases", R"({"category":"0201","address":"湖滨路 )" + std::to_string(i) + R"( 号"})");
    ASSERT_EQ(r.status, 201);
    ids.push_back(Json(r.body).Find("id")->as_string());
    ASSERT_EQ(Move(op, ids.back(), R"({"action":"accept"})").status, 200);
  }
  server_->Stop(SIGKILL);
  ASSERT_TRUE(server_->Start()) << server_->Log();
  HttpClient again(server_->port(), operator_);
  for (const std::string& id : ids) {
    Response r = again.Get("/api/v1/cases/" + id);
    ASSERT_EQ(r.status, 200) << id;
    EXPECT_EQ(Json(r.body).Find("state")->as_string(), "accepted");
  }
  // Ids continue after the restart.
  Response next = again.Post("/api/v1/cases", R"({"category":"0201","address":"湖滨路"})");
  EXPECT_EQ(Json(next.body).Find("id")->as_string(), "21");
}

}  // namespace
}  // namespace cb::testing

namespace cb::testing {
namespace {

TEST(Open311ConfigTest, FlagsSetTheJurisdictionAndDiscovery) {
  ServerProcess server("", {"--open311-jurisdiction", "hangzhou.gov.cn", "--open311-base-url",
                            "https://311.example.org/open311/v2", "--open311-contact", "12345 热线"});
  ASSERT_TRUE(server.Start()) << server.Log();
  HttpClient anon(server.port(), "");
  EXPECT_EQ(anon.Get("/open311/v2/services.json?jurisdiction_id=hangzhou.gov.cn").status, 200);
  EXPECT_EQ(anon.Get("/open311/v2/services.json?jurisdiction_id=citybrain").status, 404);
  Response d = anon.Get("/open311/v2/discovery.json");
  ASSERT_EQ(d.status, 200);
  EXPECT_NE(d.body.find("https://311.example.org/open311/v2"), std::string::npos) << d.body;
  EXPECT_NE(d.body.find("12345 热线"), std::string::npos) << d.body;
}

}  // namespace
}  // namespace cb::testing
