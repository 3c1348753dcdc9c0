// The NGSI-LD API against the real server: every route, its errors, and that bad input
// changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/json.h"
#include "test_server.h"

namespace cb::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string SharedSchema(const std::string& rel) {
  return std::string(CITYBRAIN_SOURCE_DIR) + "/../shared/schemas/smart-data-models/" + rel;
}

class NgsiApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess("", {"--max-body", "1048576", "--request-timeout", "2"});
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { client_.emplace(server_->port(), server_->admin_key()); }

  HttpClient& c() { return *client_; }
  int Count(const std::string& type) {
    auto r = c().Get("/ngsi-ld/v1/entities?type=" + type + "&count=true&limit=0");
    EXPECT_EQ(r.status, 200) << r.body;
    return std::stoi(r.Header("NGSILD-Results-Count"));
  }
  static std::string Entity(const std::string& id, const std::string& type, double count,
                            double lon = 120.16, double lat = 30.25) {
    return R"({"id":")" + id + R"(","type":")" + type +
           R"(","peopleCount":{"type":"Property","value":)" + std::to_string(count) +
           R"(,"observedAt":"2026-11-23T10:00:00Z"},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[)" +
           std::to_string(lon) + "," + std::to_string(lat) + "]}}}";
  }

  static ServerProcess* server_;
  std::optional<HttpClient> client_;
};

ServerProcess* NgsiApiTest::server_ = nullptr;

TEST_F(NgsiApiTest, HealthIsPublicAndMetricsNeedAKey) {
  HttpClient anon(server_->port(), "");
  EXPECT_EQ(anon.Get("/health").status, 200);
  auto m = anon.Get("/metrics");
  EXPECT_EQ(m.status, 401);
  EXPECT_NE(m.body.find("Unauthorized"), std::string::npos);
  auto ok = c().Get("/metrics");
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("citybrain_http_requests_total"), std::string::npos);
  EXPECT_NE(ok.body.find("citybrain_store_queue_rows"), std::string::npos);
  EXPECT_NE(ok.body.find("\ncitybrain_store_entity_doc_log_rows "), std::string::npos);
  EXPECT_NE(ok.body.find("\ncitybrain_store_entity_docs_moved_total "), std::string::npos);
}

TEST_F(NgsiApiTest, DenyByDefault) {
  HttpClient anon(server_->port(), "");
  EXPECT_EQ(anon.Get("/ngsi-ld/v1/entities?type=X").status, 401);
  HttpClient wrong(server_->port(), "cbk_0000_bad");
  EXPECT_EQ(wrong.Get("/ngsi-ld/v1/entities?type=X").status, 401);
  EXPECT_EQ(wrong.Get("/health").status, 401);  // a bad key is never ignored
  EXPECT_EQ(c().Get("/no/such/route").status, 404);
  auto r = c().Request(http::verb::put, "/ngsi-ld/v1/entities");
  EXPECT_EQ(r.status, 405);
}

TEST_F(NgsiApiTest, KeysCarryOnlyTheirPermissions) {
  auto r = c().Post("/admin/keys", R"({"name":"wallboard","permissions":["context:read"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  JsonValue issued = Json(r.body);
  HttpClient reader(server_->port(), issued.Find("key")->as_string());
  EXPECT_EQ(reader.Get("/ngsi-ld/v1/entities?type=Nothing").status, 200);
  auto denied = reader.Post("/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:K:1","type":"K"})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("context:write"), std::string::npos);
  EXPECT_EQ(reader.Post("/admin/keys", R"({"name":"x","permissions":["admin"]})").status, 403);
  EXPECT_EQ(c().Post("/admin/keys", R"({"name":"x","permissions":["root"]})").status, 400);
  EXPECT_EQ(c().Post("/admin/keys", R"({"name":"x"})").status, 400);
  EXPECT_EQ(c().Delete("/admin/keys/" + issued.Find("id")->as_string()).status, 204);
  EXPECT_EQ(reader.Get("/ngsi-ld/v1/entities?type=Nothing").status, 401);
  EXPECT_EQ(c().Delete("/admin/keys/" + issued.Find("id")->as_string()).status, 404);
}

TEST_F(NgsiApiTest, SmartDataModelExamplesRoundTrip) {
  for (const char* model : {"OffStreetParking", "CrowdFlowObserved", "Alert", "ParkingSpot"}) {
    SCOPED_TRACE(model);
    JsonValue doc = Json(ReadFile(SharedSchema(std::string(model) + "/example-normalized.jsonld")));
    ASSERT_TRUE(doc.is_object());
    bool has_ctx = doc.Find("@context") != nullptr;
    auto r = c().Post("/ngsi-ld/v1/entities", doc.Dump(),
                      has_ctx ? "application/ld+json" : "application/json");
    ASSERT_EQ(r.status, 201) << r.body;
    std::string id = doc.Find("id")->as_string();
    EXPECT_EQ(r.Header("Location"), "/ngsi-ld/v1/entities/" + id);
    auto g = c().Get("/ngsi-ld/v1/entities/" + id);
    ASSERT_EQ(g.status, 200);
    JsonValue back = Json(g.body);
    for (const auto& [k, v] : doc.as_object()) {
      if (k == "@context") continue;
      const JsonValue* got = back.Find(k);
      ASSERT_NE(got, nullptr) << k;
      if (v.is_object() && v.Find("value")) {
        EXPECT_EQ(*got->Find("value"), *v.Find("value")) << k;
      }
    }
    // keyValues form of the same entity.
    JsonValue kv = Json(c().Get("/ngsi-ld/v1/entities/" + id + "?options=keyValues").body);
    EXPECT_EQ(kv.Find("type")->as_string(), model);
  }
}

TEST_F(NgsiApiTest, CreateGetDelete) {
  const std::string id = "urn:ngsi-ld:CrowdFlowObserved:cgd";
  auto r = c().Post("/ngsi-ld/v1/entities", Entity(id, "CrowdFlowObserved", 12));
  ASSERT_EQ(r.status, 201) << r.body;
  auto dup = c().Post("/ngsi-ld/v1/entities", Entity(id, "CrowdFlowObserved", 13));
  EXPECT_EQ(dup.status, 409);
  EXPECT_NE(dup.body.find("https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"), std::string::npos);

  JsonValue e = Json(c().Get("/ngsi-ld/v1/entities/" + id).body);
  EXPECT_EQ(e.Find("peopleCount")->Find("value")->as_double(), 12);
  EXPECT_EQ(e.Find("peopleCount")->Find("observedAt")->as_string(), "2026-11-23T10:00:00.000Z");
  EXPECT_EQ(e.Find("location")->Find("type")->as_string(), "GeoProperty");
  EXPECT_EQ(e.Find("createdAt"), nullptr);

  JsonValue sys = Json(c().Get("/ngsi-ld/v1/entities/" + id + "?options=sysAttrs").body);
  EXPECT_NE(sys.Find("createdAt"), nullptr);
  EXPECT_NE(sys.Find("peopleCount")->Find("modifiedAt"), nullptr);

  JsonValue kv = Json(c().Get("/ngsi-ld/v1/entities/" + id + "?format=simplified&attrs=peopleCount").body);
  EXPECT_EQ(kv.Find("peopleCount")->as_double(), 12);
  EXPECT_EQ(kv.Find("location"), nullptr);

  auto ld = c().Request(http::verb::get, "/ngsi-ld/v1/entities/" + id, "", "",
                        {{"Accept", "application/ld+json"}});
  EXPECT_EQ(ld.Header("Content-Type"), "application/ld+json");
  EXPECT_NE(Json(ld.body).Find("@context"), nullptr);
  auto plain = c().Get("/ngsi-ld/v1/entities/" + id);
  EXPECT_NE(plain.Header("Link").find("ngsi-ld-core-context"), std::string::npos);
  auto xml = c().Request(http::verb::get, "/ngsi-ld/v1/entities/" + id, "", "",
                         {{"Accept", "application/xml"}});
  EXPECT_EQ(xml.status, 406);

  EXPECT_EQ(c().Delete("/ngsi-ld/v1/entities/" + id).status, 204);
  EXPECT_EQ(c().Get("/ngsi-ld/v1/entities/" + id).status, 404);
  EXPECT_EQ(c().Delete("/ngsi-ld/v1/entities/" + id).status, 404);
}

TEST_F(NgsiApiTest, AttributeOperations) {
  const std::string id = "urn:ngsi-ld:OffStreetParking:attrs";
  const std::string base = "/ngsi-ld/v1/entities/" + id;
  ASSERT_EQ(c().Post("/ngsi-ld/v1/entities",
                     R"({"id":")" + id + R"(","type":"OffStreetParking","totalSpotNumber":{"type":"Property","value":300},"availableSpotNumber":{"type":"Property","value":120}})")
                .status,
            201);
  // Append: new attribute + overwrite.
  EXPECT_EQ(c().Post(base + "/attrs", R"({"status":{"type":"Property","value":"open"},"availableSpotNumber":{"type":"Property","value":100}})").status, 204);
  // Append with noOverwrite: existing attribute reported as not updated.
  auto r = c().Post(base + "/attrs?options=noOverwrite",
                    R"({"availableSpotNumber":{"type":"Property","value":1},"refZone":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"}})");
  EXPECT_EQ(r.status, 207) << r.body;
  JsonValue res = Json(r.body);
  EXPECT_EQ(res.Find("notUpdated")->as_array().at(0).Find("attributeName")->as_string(),
            "availableSpotNumber");
  // Update existing only.
  r = c().Patch(base + "/attrs", R"({"availableSpotNumber":{"type":"Property","value":90},"nope":{"type":"Property","value":1}})");
  EXPECT_EQ(r.status, 207);
  // Partial attribute update keeps the other members.
  EXPECT_EQ(c().Patch(base + "/attrs/totalSpotNumber", R"({"value":310,"unitCode":"C62"})").status, 204);
  EXPECT_EQ(c().Patch(base + "/attrs/nope", R"({"value":1})").status, 404);
  EXPECT_EQ(c().Patch(base + "/attrs/totalSpotNumber", R"({"type":"Relationship","object":"urn:a:b"})").status, 400);
  JsonValue e = Json(c().Get(base).body);
  EXPECT_EQ(e.Find("availableSpotNumber")->Find("value")->as_double(), 90);
  EXPECT_EQ(e.Find("totalSpotNumber")->Find("value")->as_double(), 310);
  EXPECT_EQ(e.Find("totalSpotNumber")->Find("unitCode")->as_string(), "C62");
  EXPECT_EQ(e.Find("refZone")->Find("object")->as_string(), "urn:ngsi-ld:Zone:hubin");
  EXPECT_EQ(e.Find("nope"), nullptr);
  // Delete attribute.
  EXPECT_EQ(c().Delete(base + "/attrs/status").status, 204);
  EXPECT_EQ(c().Delete(base + "/attrs/status").status, 404);
  EXPECT_EQ(Json(c().Get(base).body).Find("status"), nullptr);
}

TEST_F(NgsiApiTest, BatchOperationsReportPerEntity) {
  std::string a = "urn:ngsi-ld:CrowdFlowObserved:b1", b = "urn:ngsi-ld:CrowdFlowObserved:b2";
  auto r = c().Post("/ngsi-ld/v1/entityOperations/create",
                    "[" + Entity(a, "CrowdFlowObserved", 1) + "," + Entity(b, "CrowdFlowObserved", 2) + "]");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json(r.body).as_array().size(), 2u);
  // Create again with one new and one bad entity: 207 with per-entity errors.
  std::string c3 = "urn:ngsi-ld:CrowdFlowObserved:b3";
  r = c().Post("/ngsi-ld/v1/entityOperations/create",
               "[" + Entity(a, "CrowdFlowObserved", 1) + "," + Entity(c3, "CrowdFlowObserved", 3) +
                   R"(,{"id":"not a uri","type":"X"}])");
  ASSERT_EQ(r.status, 207) << r.body;
  JsonValue res = Json(r.body);
  EXPECT_EQ(res.Find("success")->as_array().size(), 1u);
  ASSERT_EQ(res.Find("errors")->as_array().size(), 2u);
  EXPECT_EQ(res.Find("errors")->as_array()[0].Find("error")->Find("status")->as_int(), 400);
  EXPECT_EQ(res.Find("errors")->as_array()[1].Find("entityId")->as_string(), a);
  EXPECT_EQ(res.Find("errors")->as_array()[1].Find("error")->Find("status")->as_int(), 409);
  // Upsert: update of existing entities → 204.
  r = c().Post("/ngsi-ld/v1/entityOperations/upsert?options=update",
               "[" + Entity(a, "CrowdFlowObserved", 10) + "]");
  EXPECT_EQ(r.status, 204) << r.body;
  // Upsert creating one → 201 with that id.
  std::string d = "urn:ngsi-ld:CrowdFlowObserved:b4";
  r = c().Post("/ngsi-ld/v1/entityOperations/upsert", "[" + Entity(d, "CrowdFlowObserved", 4) + "]");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(Json(r.body).as_array()[0].as_string(), d);
  // Update of a missing entity → 207.
  r = c().Post("/ngsi-ld/v1/entityOperations/update",
               "[" + Entity("urn:ngsi-ld:CrowdFlowObserved:missing", "CrowdFlowObserved", 4) + "]");
  EXPECT_EQ(r.status, 207);
  EXPECT_EQ(Json(c().Get("/ngsi-ld/v1/entities/" + a).body).Find("peopleCount")->Find("value")->as_double(), 10);
  // Delete.
  r = c().Post("/ngsi-ld/v1/entityOperations/delete",
               "[\"" + a + "\",\"" + b + "\",\"" + c3 + "\",\"" + d + "\"]");
  EXPECT_EQ(r.status, 204) << r.body;
  r = c().Post("/ngsi-ld/v1/entityOperations/delete", "[\"" + a + "\"]");
  EXPECT_EQ(r.status, 207);
}

TEST_F(NgsiApiTest, QueriesByTypeQGeoAndPaging) {
  // 30 counters along a line eastwards from the West Lake fountain, ~100 m apart.
  std::string batch = "[";
  for (int i = 0; i < 30; ++i) {
    if (i) batch += ",";
    batch += Entity("urn:ngsi-ld:QCounter:" + std::to_string(100 + i), "QCounter", i * 100,
                    120.1600 + i * 0.00104, 30.2500);
  }
  batch += "]";
  ASSERT_EQ(c().Post("/ngsi-ld/v1/entityOperations/upsert", batch).status, 201);
  EXPECT_EQ(Count("QCounter"), 30);

  auto q = [&](const std::string& query) {
    auto r = c().Get("/ngsi-ld/v1/entities?type=QCounter&count=true&limit=100&" + query);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    return std::stoi(r.Header("NGSILD-Results-Count"));
  };
  EXPECT_EQ(q("q=peopleCount>=1000"), 20);
  EXPECT_EQ(q("q=peopleCount>=1000;peopleCount<2000"), 10);
  EXPECT_EQ(q("q=peopleCount==100..500"), 5);
  EXPECT_EQ(q("q=peopleCount<100|peopleCount>2800"), 2);
  EXPECT_EQ(q("idPattern=QCounter:10[0-4]$"), 5);
  // Within 500 m of the first counter: itself plus ~4-5 neighbours at 100 m steps.
  EXPECT_EQ(q("georel=near;maxDistance==450&geometry=Point&coordinates=[120.16,30.25]"), 5);
  EXPECT_EQ(q("georel=near;minDistance==2450&geometry=Point&coordinates=[120.16,30.25]"), 5);
  EXPECT_EQ(q("georel=within&geometry=Polygon&coordinates=[[[120.159,30.249],[120.1655,30.249],[120.1655,30.251],[120.159,30.251],[120.159,30.249]]]"), 6);
  // Paging is stable and complete.
  std::set<std::string> seen;
  for (int off = 0; off < 30; off += 7) {
    auto r = c().Get("/ngsi-ld/v1/entities?type=QCounter&limit=7&offset=" + std::to_string(off));
    JsonValue page = Json(r.body);
    for (const auto& e : page.as_array()) seen.insert(e.Find("id")->as_string());
  }
  EXPECT_EQ(seen.size(), 30u);
  // attrs projection in query results.
  JsonValue one = Json(c().Get("/ngsi-ld/v1/entities?type=QCounter&limit=1&attrs=peopleCount&options=keyValues").body);
  EXPECT_EQ(one.as_array()[0].Find("location"), nullptr);
}

TEST_F(NgsiApiTest, TemporalHistory) {
  const std::string id = "urn:ngsi-ld:CrowdFlowObserved:hist";
  for (int i = 0; i < 5; ++i) {
    std::string body = R"([{"id":")" + id + R"(","type":"CrowdFlowObserved","peopleCount":{"type":"Property","value":)" +
                       std::to_string(i * 10) + R"(,"observedAt":"2026-11-23T10:0)" + std::to_string(i) + R"(:00Z"}}])";
    ASSERT_EQ(c().Post("/ngsi-ld/v1/entityOperations/upsert?options=update", body).status / 100, 2);
  }
  JsonValue all = Json(c().Get("/ngsi-ld/v1/temporal/entities/" + id).body);
  ASSERT_NE(all.Find("peopleCount"), nullptr);
  EXPECT_EQ(all.Find("peopleCount")->as_array().size(), 5u);
  JsonValue last2 = Json(c().Get("/ngsi-ld/v1/temporal/entities/" + id + "?lastN=2").body);
  ASSERT_EQ(last2.Find("peopleCount")->as_array().size(), 2u);
  EXPECT_EQ(last2.Find("peopleCount")->as_array()[1].Find("value")->as_double(), 40);
  JsonValue between = Json(c().Get("/ngsi-ld/v1/temporal/entities/" + id +
                                   "?timerel=between&timeAt=2026-11-23T10:01:00Z&endTimeAt=2026-11-23T10:03:00Z").body);
  EXPECT_EQ(between.Find("peopleCount")->as_array().size(), 2u);
  JsonValue before = Json(c().Get("/ngsi-ld/v1/temporal/entities/" + id +
                                  "?timerel=before&timeAt=2026-11-23T10:02:00Z&options=temporalValues").body);
  ASSERT_EQ(before.Find("peopleCount")->Find("values")->as_array().size(), 2u);
  EXPECT_EQ(c().Get("/ngsi-ld/v1/temporal/entities/" + id + "?timerel=between&timeAt=2026-11-23T10:01:00Z").status, 400);
  EXPECT_EQ(c().Get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:none").status, 404);
}

// Every bad request gets a ProblemDetails 4xx with the right type, and writes nothing.
struct BadCase {
  const char* name;
  http::verb method;
  const char* target;
  const char* body;
  const char* content_type;
  int status;
  const char* type;  // suffix of the problem type
};

TEST_F(NgsiApiTest, BadInputIsRejectedAndChangesNothing) {
  ASSERT_EQ(c().Post("/ngsi-ld/v1/entities", Entity("urn:ngsi-ld:Bad:keep", "Bad", 5)).status, 201);
  const BadCase cases[] = {
      {"invalid json", http::verb::post, "/ngsi-ld/v1/entities", "{\"id\":", "application/json", 400, "InvalidRequest"},
      {"not an object", http::verb::post, "/ngsi-ld/v1/entities", "[1,2]", "application/json", 400, "BadRequestData"},
      {"bad id", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"no uri","type":"Bad"})", "application/json", 400, "BadRequestData"},
      {"no type", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:1"})", "application/json", 400, "BadRequestData"},
      {"property without value", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:2","type":"Bad","a":{"type":"Property"}})", "application/json", 400, "BadRequestData"},
      {"longitude out of range", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:3","type":"Bad","location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[200,30]}}})", "application/json", 400, "BadRequestData"},
      {"unclosed polygon", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:4","type":"Bad","location":{"type":"GeoProperty","value":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}})", "application/json", 400, "BadRequestData"},
      {"relationship without uri", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:5","type":"Bad","r":{"type":"Relationship","object":"x y"}})", "application/json", 400, "BadRequestData"},
      {"bad observedAt", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:6","type":"Bad","a":{"type":"Property","value":1,"observedAt":"yesterday"}})", "application/json", 400, "BadRequestData"},
      {"context needs ld+json", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:7","type":"Bad","@context":"https://x.org/c.jsonld"})", "application/json", 400, "BadRequestData"},
      {"wrong content type", http::verb::post, "/ngsi-ld/v1/entities", "id=1", "text/plain", 415, "OperationNotSupported"},
      {"unknown q operator", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&q=peopleCount%3C%3E5", "", "", 400, "InvalidRequest"},
      {"unknown georel", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&georel=around&geometry=Point&coordinates=[1,2]", "", "", 400, "BadRequestData"},
      {"bad coordinates", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&georel=near;maxDistance==5&geometry=Point&coordinates=[1,", "", "", 400, ""},
      {"no filter", http::verb::get, "/ngsi-ld/v1/entities", "", "", 400, "BadRequestData"},
      {"unknown parameter", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&colour=red", "", "", 400, "BadRequestData"},
      {"limit too large", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&limit=5000", "", "", 403, "TooManyResults"},
      {"negative limit", http::verb::get, "/ngsi-ld/v1/entities?type=Bad&limit=-1", "", "", 400, "BadRequestData"},
      {"batch not array", http::verb::post, "/ngsi-ld/v1/entityOperations/upsert", "{}", "application/json", 400, "BadRequestData"},
      {"patch null value", http::verb::patch, "/ngsi-ld/v1/entities/urn:ngsi-ld:Bad:keep/attrs/peopleCount", R"({"value":null})", "application/json", 400, "BadRequestData"},
      {"bad percent encoding", http::verb::get, "/ngsi-ld/v1/entities?type=%zz", "", "", 400, "InvalidRequest"},
      {"deep nesting", http::verb::post, "/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:Bad:8","type":"Bad","a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})", "application/json", 400, "InvalidRequest"},
  };
  for (const auto& bc : cases) {
    SCOPED_TRACE(bc.name);
    auto r = c().Request(bc.method, bc.target, bc.body, bc.content_type);
    EXPECT_EQ(r.status, bc.status) << r.body;
    JsonValue p = Json(r.body);
    ASSERT_TRUE(p.is_object()) << r.body;
    EXPECT_EQ(p.Find("status")->as_int(), bc.status);
    EXPECT_FALSE(p.Find("detail")->as_string().empty());
    EXPECT_NE(p.Find("type")->as_string().find(bc.type), std::string::npos) << r.body;
  }
  EXPECT_EQ(Count("Bad"), 1);
  EXPECT_EQ(Json(c().Get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bad:keep").body)
                .Find("peopleCount")->Find("value")->as_double(), 5);
}

TEST_F(NgsiApiTest, OversizedBodyIs413) {
  // The server answers as soon as it sees the declared length, before the body is sent.
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  std::string head = "POST /ngsi-ld/v1/entityOperations/upsert HTTP/1.1\r\nHost: x\r\n"
                     "X-Api-Key: " + server_->admin_key() +
                     "\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n[";
  net::write(s, net::buffer(head));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_NE(res.body().find("PayloadTooLarge"), std::string::npos);
  EXPECT_EQ(c().Get("/health").status, 200);
}

TEST_F(NgsiApiTest, SlowAndHalfOpenConnectionsDoNotStopService) {
  net::io_context ioc;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 20; ++i) {  // half-open: partial request line, then silence
    idle.emplace_back(ioc);
    idle.back().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(idle.back(), net::buffer(std::string("GET /health HTTP/1.1\r\nHo")));
  }
  EXPECT_EQ(c().Get("/health").status, 200);
  // With --request-timeout 2 the server closes them.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  char buf[16];
  boost::system::error_code ec;
  idle[0].read_some(net::buffer(buf), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  EXPECT_EQ(c().Get("/health").status, 200);
}

// The request timeout (2 s here) bounds each read and each write, not the connection: a
// keep-alive connection in use for longer stays open, and is closed once it idles.
TEST_F(NgsiApiTest, RequestTimeoutBoundsEachRequestNotTheConnection) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  beast::flat_buffer buf;
  const std::string get = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  auto start = std::chrono::steady_clock::now();
  int answered = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3500)) {
    net::write(s, net::buffer(get));
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(s, buf, res, ec);
    ASSERT_FALSE(ec) << "after " << answered << " answers: " << ec.message();
    EXPECT_EQ(res.result_int(), 200u);
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_GE(answered, 8);
  // Idle past the timeout (and the sweep's tick): the server closes it.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  char one[1];
  boost::system::error_code ec;
  s.read_some(net::buffer(one), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST(ServerLifecycle, SigtermDrainsAndExitsCleanly) {
  ServerProcess s;
  ASSERT_TRUE(s.Start()) << s.Log();
  auto c = s.Client();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", R"({"id":"urn:ngsi-ld:T:1","type":"T","a":1})").status, 201);
  int st = s.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st)) << s.Log();
  EXPECT_EQ(WEXITSTATUS(st), 0) << s.Log();
  ServerProcess again(s.data_dir());
  ASSERT_TRUE(again.Start()) << again.Log();
  EXPECT_EQ(again.Client().Get("/ngsi-ld/v1/entities/urn:ngsi-ld:T:1").status, 200);
  // A second server on the same data directory is refused.
  ServerProcess second(s.data_dir());
  EXPECT_FALSE(second.Start());
}

}  // namespace
}  // namespace cb::testing
