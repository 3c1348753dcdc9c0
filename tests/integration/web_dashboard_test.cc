// What the web dashboard needs of the real server: its built files served from --web DIR
// (index, caching, ETag, gzip siblings, its own routes, nothing outside DIR, the API's 404s
// as before), the live situation over /ws/situation, and the zones' crowd history.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "core/time.h"
#include "situation_fixtures.h"
#include "test_server.h"

namespace cb::testing {
namespace {

namespace fs = std::filesystem;

// One request on its own connection, the target sent exactly as given (a HEAD reads no
// body).
Response Send(int port, http::verb method, const std::string& target,
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(1 << 26);
  if (method == http::verb::head) p.skip(true);
  http::read(s, buf, p);
  auto res = p.release();
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.headers = res.base();
  return out;
}

Response Get(int port, const std::string& target,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return Send(port, http::verb::get, target, headers);
}

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

const char* kCsp =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; child-src blob:; connect-src 'self' ws: wss:; font-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'";

const std::string kIndex = "<!doctype html><title>CityBrain</title><div id=app></div>";
const std::string kScript = "console.log('city brain');\n";
const std::string kScriptGz = std::string("\x1f\x8b\x08\x00gzipped-bytes", 17);
const std::string kSecret = "TOP SECRET: outside the dashboard";

class WebFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir("citybrain-web");
    dist_ = root_ + "/dist";
    Write(dist_ + "/index.html", kIndex);
    Write(dist_ + "/assets/index-4f3a9c.js", kScript);
    Write(dist_ + "/assets/index-4f3a9c.js.gz", kScriptGz);
    Write(dist_ + "/basemap/roads.geojson", R"({"type":"FeatureCollection","features":[]})");
    Write(dist_ + "/favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    Write(dist_ + "/.env", kSecret);
    Write(root_ + "/secret.txt", kSecret);
    fs::create_symlink(root_ + "/secret.txt", dist_ + "/leak.txt");
    fs::create_directory_symlink(root_, dist_ + "/up");
    server_ = std::make_unique<ServerProcess>("", std::vector<std::string>{"--web", dist_});
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(root_);
  }
  int port() const { return server_->port(); }
  static void ExpectSecured(const Response& r, const std::string& what) {
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer") << what;
    EXPECT_EQ(r.Header("Content-Security-Policy"), kCsp) << what;
  }

  std::string root_, dist_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(WebFilesTest, IndexAssetsAndTheDashboardsOwnRoutesWithoutAKey) {
  EXPECT_NE(server_->Log().find("web dashboard: serving " + dist_), std::string::npos);
  Response index = Get(port(), "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("Cache-Control"), "no-cache");
  EXPECT_FALSE(index.Header("ETag").empty());
  EXPECT_EQ(index.Header("Vary"), "");
  ExpectSecured(index, "/");
  EXPECT_EQ(Get(port(), "/index.html").body, kIndex);
  // HEAD: the same header, no body.
  Response head = Send(port(), http::verb::head, "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(kIndex.size()));
  EXPECT_EQ(head.Header("ETag"), index.Header("ETag"));
  EXPECT_TRUE(head.body.empty());

  // The dashboard's own routes are index.html; a missing file with an extension is not.
  for (const char* route : {"/cases/42", "/map", "/zones/urn:ngsi-ld:Zone:plaza/", "/a/b/c"}) {
    Response r = Get(port(), route);
    EXPECT_EQ(r.status, 200) << route;
    EXPECT_EQ(r.body, kIndex) << route;
  }
  for (const char* missing : {"/missing.js", "/assets/gone-123.css", "/basemap/none.geojson", "/.env"}) {
    Response r = Get(port(), missing);
    EXPECT_EQ(r.status, 404) << missing;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << missing;
    EXPECT_NE(r.body.find("no such resource: " + std::string(missing)), std::string::npos) << r.body;
  }

  const struct {
    const char* path;
    const char* type;
  } types[] = {{"/basemap/roads.geojson", "application/geo+json; charset=utf-8"},
               {"/favicon.svg", "image/svg+xml; charset=utf-8"},
               {"/assets/index-4f3a9c.js", "text/javascript; charset=utf-8"}};
  for (const auto& t : types) {
    Response r = Get(port(), t.path);
    EXPECT_EQ(r.status, 200) << t.path;
    EXPECT_EQ(r.Header("Content-Type"), t.type) << t.path;
    ExpectSecured(r, t.path);
  }
  // A rebuilt dashboard is served at once.
  Write(dist_ + "/index.html", "<!doctype html><title>rebuilt</title>");
  EXPECT_EQ(Get(port(), "/").body, "<!doctype html><title>rebuilt</title>");
  // Writes are not served.
  EXPECT_EQ(Send(port(), http::verb::post, "/index.html").status, 404);
}

TEST_F(WebFilesTest, AssetsAreImmutableOthersRevalidateAndGzipSiblingsGoToWhoAccepts) {
  Response plain = Get(port(), "/assets/index-4f3a9c.js");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, kScript);
  EXPECT_EQ(plain.Header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.Header("Vary"), "Accept-Encoding");
  EXPECT_EQ(plain.Header("Content-Encoding"), "");
  Response gz = Get(port(), "/assets/index-4f3a9c.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.body, kScriptGz);
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(gz.Header("Vary"), "Accept-Encoding");
  EXPECT_NE(gz.Header("ETag"), plain.Header("ETag"));
  EXPECT_EQ(Get(port(), "/assets/index-4f3a9c.js", {{"Accept-Encoding", "gzip;q=0"}}).body, kScript);

  // ETag and If-None-Match: 304 with no body, still cacheable and secured.
  Response not_modified =
      Get(port(), "/assets/index-4f3a9c.js", {{"If-None-Match", plain.Header("ETag")}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(not_modified.Header("ETag"), plain.Header("ETag"));
  EXPECT_EQ(not_modified.Header("Cache-Control"), "public, max-age=31536000, immutable");
  ExpectSecured(not_modified, "304");
  Response index = Get(port(), "/");
  EXPECT_EQ(Get(port(), "/", {{"If-None-Match", "\"other\", " + index.Header("ETag")}}).status, 304);
  EXPECT_EQ(Get(port(), "/", {{"If-None-Match", "\"other\""}}).status, 200);
  // The gzip variant's tag does not validate the plain one.
  EXPECT_EQ(Get(port(), "/assets/index-4f3a9c.js", {{"If-None-Match", gz.Header("ETag")}}).status, 200);
  // A changed file has a new tag.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Write(dist_ + "/index.html", kIndex + "<!-- v2 -->");
  Response changed = Get(port(), "/", {{"If-None-Match", index.Header("ETag")}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.Header("ETag"), index.Header("ETag"));
}

TEST_F(WebFilesTest, NothingOutsideTheDirectoryIsServed) {
  const char* attempts[] = {
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/%2e%2e/secret.txt",
      "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/..%2fsecret.txt",
      "/index.html%00.js",
      "/%00",
      "/a\\..\\..\\secret.txt",
      "/%5c..%5csecret.txt",
      "/%",
      "/leak.txt",            // a symlink out
      "/up/secret.txt",       // through a directory symlink out
  };
  for (const char* target : attempts) {
    Response r = Get(port(), target);
    EXPECT_GE(r.status, 400) << target;
    EXPECT_LT(r.status, 500) << target;
    EXPECT_EQ(r.body.find("TOP SECRET"), std::string::npos) << target;
  }
  EXPECT_EQ(Get(port(), "/../secret.txt").status, 400);
  EXPECT_EQ(Get(port(), "/%2e%2e/secret.txt").status, 400);
  EXPECT_EQ(Get(port(), "/index.html%00.js").status, 400);
  EXPECT_EQ(Get(port(), "/leak.txt").status, 404);
}

TEST_F(WebFilesTest, TheApisNotFoundAnswersAreUnchanged) {
  ServerProcess plain;  // no dashboard
  ASSERT_TRUE(plain.Start()) << plain.Log();
  EXPECT_NE(plain.Log().find("web dashboard: none served"), std::string::npos);
  for (const char* target : {"/api/v1/nothing", "/api/x.js", "/ngsi-ld/v1/nothing", "/admin/nothing",
                             "/ws/nothing", "/open311/nothing", "/health/x", "/metrics/x", "/api",
                             "/api%2fv1%2fnothing"}) {
    Response before = Get(plain.port(), target);
    Response now = Get(port(), target);
    EXPECT_EQ(now.status, before.status) << target;
    EXPECT_EQ(now.status, 404) << target;
    EXPECT_EQ(now.body, before.body) << target;
    EXPECT_EQ(now.Header("Content-Type"), before.Header("Content-Type")) << target;
  }
  // Without a dashboard, its paths are unknown like any other.
  EXPECT_EQ(Get(plain.port(), "/").status, 404);
  EXPECT_EQ(Get(plain.port(), "/cases/42").status, 404);
  // Known API paths still need their key and answer 405 for other methods.
  EXPECT_EQ(Get(port(), "/api/v1/situation/zones").status, 401);
  EXPECT_EQ(Send(port(), http::verb::head, "/api/v1/situation/zones").status, 405);
  EXPECT_EQ(Get(port(), "/health").status, 200);
}

TEST(WebFilesStartTest, AMissingDirectoryStopsTheStart) {
  ServerProcess server("", {"--web", "/nonexistent/citybrain-dist"});
  EXPECT_FALSE(server.Start());
  EXPECT_NE(server.Log().find("/nonexistent/citybrain-dist is not a directory"), std::string::npos)
      << server.Log();
}

// ---- The live situation and the zones' history.

const char* kCarPark = R"({"id":"urn:ngsi-ld:OffStreetParking:p1","type":"OffStreetParking",
  "totalSpotNumber":400,"availableSpotNumber":100,
  "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[120.17,30.25]}}})";

// A zone item without the figures that move with the clock alone.
JsonValue Steady(JsonValue zone) {
  JsonValue::Object& z = zone.as_object();
  for (auto& [k, v] : z) {
    if (k == "crowd") std::erase_if(v.as_object(), [](const auto& m) { return m.first == "at"; });
    if (k == "tier" && v.is_object()) {
      std::erase_if(v.as_object(), [](const auto& m) { return m.first == "lastCycle"; });
    }
  }
  return zone;
}

class SituationLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plans_ = MakeTempDir("citybrain-plans");
    std::ofstream(plans_ + "/fast.json") << kFastPlan;
    fs::copy_file(std::string(CITYBRAIN_SOURCE_DIR) + "/examples/tier-plans/hubin-fountain.json",
                  plans_ + "/hubin-fountain.json");
    server_ = std::make_unique<ServerProcess>(
        "", std::vector<std::string>{"--tier-plans", plans_, "--situation-history-step-seconds", "1",
                                     "--situation-history-hours", "2"});
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(plans_);
  }
  // Reads messages until one satisfies `done` (at most 40 messages, 10 s each).
  static std::optional<JsonValue> ReadUntil(WsClient& ws,
                                            const std::function<bool(const JsonValue&)>& done) {
    for (int i = 0; i < 40; ++i) {
      auto m = ws.Read(std::chrono::seconds(10));
      if (!m) return std::nullopt;
      JsonValue v = Json(*m);
      if (done(v)) return v;
    }
    return std::nullopt;
  }
  static const JsonValue* PlazaIn(const JsonValue& message) {
    const JsonValue* zones = message.Find("zones");
    if (zones == nullptr) return nullptr;
    for (const JsonValue& z : zones->as_array()) {
      if (z.Find("id")->as_string() == "urn:ngsi-ld:Zone:plaza") return &z;
    }
    return nullptr;
  }

  std::string plans_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SituationLiveTest, ASnapshotThenTheCityAsItChanges) {
  HttpClient c = server_->Client();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kCarPark).status, 201);
  // A browser offers its key as a subprotocol.
  WsClient ws(server_->port(), "", "/ws/situation",
              "citybrain.v1, citybrain.key." + server_->admin_key());
  EXPECT_EQ(ws.accepted_protocol(), "citybrain.v1");
  auto first = ws.Read(std::chrono::seconds(10));
  ASSERT_TRUE(first.has_value());
  JsonValue snapshot = Json(*first);
  EXPECT_EQ(snapshot.Find("type")->as_string(), "snapshot");
  EXPECT_TRUE(ParseIso8601(snapshot.Find("at")->as_string()).ok());
  EXPECT_TRUE(snapshot.Find("zones")->as_array().empty());
  EXPECT_EQ(*snapshot.Find("parking"), Json(c.Get("/api/v1/situation/parking/lots").body));
  EXPECT_EQ(*snapshot.Find("devices"), Json(c.Get("/api/v1/situation/devices").body));
  EXPECT_THROW(WsClient(server_->port(), "", "/ws/situation"), std::exception);  // a key is needed

  // A zone and 650 people in it: the zones are pushed, and the rise to level 2 at once.
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 300) + "," + Counter("b", 350) + "]").status, 201);
  bool pushed = false, level = false;
  std::optional<JsonValue> change;
  for (int i = 0; i < 40 && !(pushed && level); ++i) {
    auto m = ws.Read(std::chrono::seconds(10));
    ASSERT_TRUE(m.has_value()) << "no message; pushed " << pushed << ", level " << level;
    JsonValue v = Json(*m);
    const std::string type = v.Find("type")->as_string();
    if (type == "situation") {
      EXPECT_NE(v.Find("parking"), nullptr);
      const JsonValue* plaza = PlazaIn(v);
      pushed = pushed || (plaza != nullptr && plaza->Find("crowd")->Find("count")->is_number() &&
                          plaza->Find("crowd")->Find("count")->as_double() == 650);
    } else if (type == "levelChange" && !level) {
      level = true;
      change = *v.Find("change");
    }
  }
  EXPECT_TRUE(pushed);
  ASSERT_TRUE(level);
  EXPECT_EQ(change->Find("to")->as_int(), 2);
  JsonValue changes = Json(c.Get("/api/v1/situation/level-changes").body);
  ASSERT_GE(changes.as_array().size(), 1u);
  EXPECT_EQ(*change, changes.as_array()[0]);

  // A second client's snapshot holds exactly the routes' items.
  WsClient second(server_->port(), server_->admin_key(), "/ws/situation");
  auto s2 = second.Read(std::chrono::seconds(10));
  ASSERT_TRUE(s2.has_value());
  JsonValue snap2 = Json(*s2);
  JsonValue zones = Json(c.Get("/api/v1/situation/zones").body);
  ASSERT_EQ(snap2.Find("zones")->as_array().size(), 1u);
  EXPECT_EQ(Steady(snap2.Find("zones")->as_array()[0]), Steady(zones.as_array()[0]));
  EXPECT_EQ(*snap2.Find("parking"), Json(c.Get("/api/v1/situation/parking/lots").body));
  EXPECT_EQ(*snap2.Find("devices"), Json(c.Get("/api/v1/situation/devices").body));
  EXPECT_EQ(snap2.Find("devices")->as_array().size(), 3u);

  // A car park's reading reaches both.
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert?options=update",
                   R"([{"id":"urn:ngsi-ld:OffStreetParking:p1","type":"OffStreetParking","availableSpotNumber":7}])")
                .status,
            204);
  for (WsClient* client : {&ws, &second}) {
    auto lots = ReadUntil(*client, [](const JsonValue& v) {
      const JsonValue* p = v.Find("parking");
      return v.Find("type")->as_string() == "situation" && p != nullptr && p->as_array().size() == 1 &&
             p->as_array()[0].Find("available")->as_double() == 7;
    });
    EXPECT_TRUE(lots.has_value());
  }
  const std::string metrics = c.Get("/metrics").body;
  EXPECT_EQ(Metric(metrics, "citybrain_situation_stream_clients"), 2);
  EXPECT_GE(Metric(metrics, "citybrain_situation_stream_messages_total"), 6);
  EXPECT_EQ(Metric(metrics, "citybrain_situation_stream_dropped_total"), 0);
}

TEST_F(SituationLiveTest, TheZonesHistoryAndTheCityAtAMoment) {
  HttpClient c = server_->Client();
  const TimeMs start = SystemClock::Instance()->Now();
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entities", kZone).status, 201);
  ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert",
                   "[" + Counter("a", 300) + "," + Counter("b", 350) + "]").status, 201);
  const std::string base = "/api/v1/situation/zones/urn:ngsi-ld:Zone:plaza/history";
  JsonValue h = WaitForJson(c, base, [](const JsonValue& v) {
    const auto& points = v.Find("points")->as_array();
    return points.size() >= 3 && points.back().Find("level")->as_int() == 2;
  });
  EXPECT_EQ(h.Find("zone")->as_string(), "urn:ngsi-ld:Zone:plaza");
  EXPECT_EQ(h.Find("stepMs")->as_int(), 1000);
  const TimeMs from = *ParseIso8601(h.Find("from")->as_string());
  const TimeMs to = *ParseIso8601(h.Find("to")->as_string());
  EXPECT_EQ(to - from, 3 * 3600000);  // the last three hours by default
  TimeMs last = 0;
  for (const JsonValue& p : h.Find("points")->as_array()) {
    const TimeMs at = *ParseIso8601(p.Find("at")->as_string());
    EXPECT_GT(at, last);  // oldest first
    last = at;
    EXPECT_TRUE(p.Find("count")->is_null() || p.Find("count")->is_number());
  }
  EXPECT_EQ(h.Find("points")->as_array().back().Find("count")->as_double(), 650);

  // Thinned: the level change is kept.
  JsonValue thin = Json(c.Get(base + "?maxPoints=1").body);
  ASSERT_EQ(thin.Find("points")->as_array().size(), 1u);
  EXPECT_EQ(thin.Find("points")->as_array()[0].Find("level")->as_int(), 2);
  // A window before anything happened.
  const std::string early = FormatIso8601(start - 7200000), earlier = FormatIso8601(start - 9000000);
  JsonValue none = Json(c.Get(base + "?from=" + earlier + "&to=" + early).body);
  EXPECT_EQ(none.Find("from")->as_string(), earlier);
  EXPECT_TRUE(none.Find("points")->as_array().empty());

  // The city now, and before the zone had a point.
  JsonValue now = WaitForJson(c, "/api/v1/situation/history?at=" + FormatIso8601(SystemClock::Instance()->Now() + 1000),
                              [](const JsonValue& v) { return !v.Find("levelChanges")->as_array().empty(); });
  ASSERT_EQ(now.Find("zones")->as_array().size(), 1u);
  const JsonValue& z = now.Find("zones")->as_array()[0];
  EXPECT_EQ(z.Find("id")->as_string(), "urn:ngsi-ld:Zone:plaza");
  EXPECT_EQ(z.Find("count")->as_double(), 650);
  EXPECT_EQ(z.Find("level")->as_int(), 2);
  EXPECT_EQ(now.Find("levelChanges")->as_array()[0],
            Json(c.Get("/api/v1/situation/level-changes").body).as_array()[0]);
  JsonValue before = Json(c.Get("/api/v1/situation/history?at=" + early).body);
  EXPECT_EQ(before.Find("at")->as_string(), early);
  EXPECT_TRUE(before.Find("zones")->as_array()[0].Find("count")->is_null());
  EXPECT_EQ(before.Find("zones")->as_array()[0].Find("level")->as_int(), 0);
  EXPECT_TRUE(before.Find("levelChanges")->as_array().empty());

  // Bad requests: a ProblemDetails each.
  const struct {
    std::string target;
    int status;
    const char* detail;
  } bad[] = {
      {base + "?from=yesterday", 400, "from must be an ISO 8601 time"},
      {base + "?to=noon", 400, "to must be an ISO 8601 time"},
      {base + "?from=" + early + "&to=" + earlier, 400, "from must be before to"},
      {base + "?from=" + early + "&to=" + early, 400, "from must be before to"},
      {base + "?maxPoints=0", 400, "maxPoints must be a whole number from 1 to 5000"},
      {base + "?maxPoints=5001", 400, "maxPoints must be a whole number from 1 to 5000"},
      {base + "?maxPoints=2.5", 400, "maxPoints must be a whole number from 1 to 5000"},
      {base + "?maxPoints=many", 400, "maxPoints must be a whole number from 1 to 5000"},
      {"/api/v1/situation/zones/urn:ngsi-ld:Zone:nowhere/history", 404,
       "zone urn:ngsi-ld:Zone:nowhere is not defined"},
      {"/api/v1/situation/history?at=noon", 400, "at must be an ISO 8601 time"},
  };
  for (const auto& b : bad) {
    Response r = c.Get(b.target);
    EXPECT_EQ(r.status, b.status) << b.target << " " << r.body;
    EXPECT_NE(r.body.find(b.detail), std::string::npos) << b.target << " " << r.body;
  }
  EXPECT_EQ(Get(server_->port(), base).status, 401);  // a key is needed
  EXPECT_EQ(Get(server_->port(), "/api/v1/situation/history").status, 401);
}

}  // namespace
}  // namespace cb::testing
