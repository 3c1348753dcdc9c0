// Warnings from outside against the real server with zones loaded: CAP documents posted to
// /api/v1/warnings raise alerts for exactly the zones they cover (their CAP output still
// valid), duplicates and bad posts change nothing, a Cancel or the expiry resolves them; and
// feeds polled from a small HTTP server in this process (Atom with embedded and linked CAP
// documents), failing feeds counted in /metrics, and a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "core/json.h"
#include "core/time.h"
#include "../cap_schema_check.h"
#include "../cap_test_messages.h"
#include "../zone_json.h"
#include "receiver.h"
#include "test_server.h"

namespace cb::testing {
namespace {

constexpr TimeMs kMin = 60000;
constexpr TimeMs kHour = 3600000;

const char* kPlaza = "urn:ngsi-ld:Zone:plaza";
const char* kWestLake = "urn:ngsi-ld:Zone:westlake";
const char* kBinjiang = "urn:ngsi-ld:Zone:binjiang";

std::string Zone(const std::string& id, const std::string& name, double lon0, double lat0,
                 double lon1, double lat1) {
  return ZoneJson(id, lon0, lat0, lon1, lat1, R"(,"name":")" + name + "\"");
}

// The plaza and the West Lake lie in the city centre; Binjiang south of the river.
const std::string kZones = "[" + Zone(kPlaza, "Fountain plaza", 120.160, 30.250, 120.162, 30.252) +
                           "," + Zone(kWestLake, "West Lake", 120.13, 30.24, 120.15, 30.26) +
                           "," + Zone(kBinjiang, "Binjiang", 120.20, 30.19, 120.22, 30.21) + "]";

TimeMs Now() { return SystemClock::Instance()->Now(); }

std::string BinjiangArea() { return CapArea("滨江区", CapBox(120.19, 30.18, 120.23, 30.22)); }

// A warning over Binjiang only, in English.
CapMessageText BinjiangWarning(const std::string& identifier, TimeMs sent) {
  CapMessageText m;
  m.identifier = identifier;
  m.sent = sent;
  m.infos = {EnglishInfo(BinjiangArea(), "Moderate", sent + 6 * kHour)};
  return m;
}

CapMessageText CancelOf(const CapMessageText& m, const std::string& identifier, TimeMs sent) {
  CapMessageText c;
  c.identifier = identifier;
  c.sent = sent;
  c.msg_type = "Cancel";
  c.references = CapRef(m);
  return c;
}

// The zones of the alerts listed at `target`.
std::set<std::string> AlertZones(const JsonValue& alerts) {
  std::set<std::string> out;
  for (const JsonValue& a : alerts.as_array()) out.insert(a.Find("zone")->as_string());
  return out;
}

class WarningServerTest : public ::testing::Test {
 protected:
  // Starts a server, loads the zones, and restarts it with `extra` flags (so a feed's first
  // poll already finds the zones).
  void StartWithZones(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    HttpClient c = server_->Client();
    ASSERT_EQ(c.Post("/ngsi-ld/v1/entityOperations/upsert", kZones).status, 201);
    if (extra.empty()) return;
    server_->Stop();
    server_ = std::make_unique<ServerProcess>(server_->data_dir(), std::move(extra));
    ASSERT_TRUE(server_->Start()) << server_->Log();
  }
  Response PostCap(const std::string& xml, const std::string& type = "application/cap+xml") {
    return server_->Client().Post("/api/v1/warnings", xml, type);
  }
  JsonValue Alerts(const std::string& state = "open") {
    Response r = server_->Client().Get("/api/v1/alerts?state=" + state);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  // Polls the open alerts until `done` holds.
  JsonValue WaitForAlerts(const std::function<bool(const JsonValue&)>& done) {
    HttpClient c = server_->Client();
    return WaitForJson(c, "/api/v1/alerts?state=open", done);
  }
  std::string Metrics() { return server_->Client().Get("/metrics").body; }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(WarningServerTest, APostedWarningRaisesAlertsForExactlyTheZonesItCovers) {
  StartWithZones();
  const TimeMs t = Now() - kMin;
  const CapMessageText warning = RainstormWarning("33010041600000_A1", t, t + 6 * kHour);
  Response r = PostCap(CapXml(warning));
  ASSERT_EQ(r.status, 201) << r.body;
  JsonValue report = Json(r.body);
  EXPECT_EQ(report.Find("outcome")->as_string(), "applied");
  EXPECT_EQ(report.Find("identifier")->as_string(), "33010041600000_A1");
  EXPECT_EQ(report.Find("msgType")->as_string(), "Alert");
  EXPECT_EQ(report.Find("via")->as_string(), "post");
  ASSERT_EQ(report.Find("zones")->as_array().size(), 2u);
  EXPECT_EQ(report.Find("alerts")->Find("raised")->as_array().size(), 2u);

  JsonValue alerts = Alerts();
  ASSERT_EQ(alerts.as_array().size(), 2u) << alerts.Dump();
  EXPECT_EQ(AlertZones(alerts), (std::set<std::string>{kPlaza, kWestLake}));
  for (const JsonValue& a : alerts.as_array()) {
    EXPECT_EQ(a.Find("category")->as_string(), "weather");
    EXPECT_EQ(a.Find("level")->as_int(), 2);
    EXPECT_EQ(a.Find("color")->as_string(), "orange");
    EXPECT_EQ(a.Find("headline")->Find("zh-CN")->as_string(), "杭州市气象台发布暴雨橙色预警");
    EXPECT_EQ(a.Find("headline")->Find("en")->as_string(), "Rainstorm orange warning");
    EXPECT_EQ(a.Find("key")->as_string(),
              "cap:33010041600000:33010041600000_A1:" + a.Find("zone")->as_string());
    // Its CAP output is still valid CAP 1.2, with the zone's polygon and category Met.
    Response cap = server_->Client().Get("/api/v1/alerts/" + a.Find("id")->as_string() + "/cap");
    ASSERT_EQ(cap.status, 200);
    std::string out;
    EXPECT_EQ(CapSchemaCheck(cap.body, &out), 0) << out << cap.body;
    EXPECT_NE(cap.body.find("<category>Met</category>"), std::string::npos);
    EXPECT_NE(cap.body.find("<polygon>"), std::string::npos);
  }

  // Posted again (or polled after being posted): nothing new.
  Response again = PostCap(CapXml(warning));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).Find("outcome")->as_string(), "duplicate");
  JsonValue after = Alerts();
  ASSERT_EQ(after.as_array().size(), 2u);
  EXPECT_EQ(after.as_array()[0].Find("occurrences")->as_int(), 1);

  // A test message is accepted and ignored.
  CapMessageText drill = warning;
  drill.identifier = "33010041600000_DRILL";
  drill.status = "Exercise";
  Response ignored = PostCap(CapXml(drill), "application/xml");
  ASSERT_EQ(ignored.status, 200);
  EXPECT_EQ(Json(ignored.body).Find("outcome")->as_string(), "ignored");
  EXPECT_EQ(Alerts().as_array().size(), 2u);

  // The list of warnings taken in, newest first.
  JsonValue recent = Json(server_->Client().Get("/api/v1/warnings?limit=2").body);
  ASSERT_EQ(recent.as_array().size(), 2u);
  EXPECT_EQ(recent.as_array()[0].Find("outcome")->as_string(), "ignored");
  EXPECT_EQ(recent.as_array()[1].Find("outcome")->as_string(), "duplicate");

  // The Cancel resolves both; its CAP message validates too.
  Response cancel = PostCap(CapXml(CancelOf(warning, "33010041600000_A1C", t + kMin)), "text/xml");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(Json(cancel.body).Find("alerts")->Find("resolved")->as_array().size(), 2u);
  EXPECT_TRUE(Alerts().as_array().empty());
  JsonValue all = Alerts("all");
  ASSERT_EQ(all.as_array().size(), 2u);
  Response cap = server_->Client().Get("/api/v1/alerts/" +
                                       all.as_array()[0].Find("id")->as_string() + "/cap");
  EXPECT_NE(cap.body.find("<msgType>Cancel</msgType>"), std::string::npos);
  std::string out;
  EXPECT_EQ(CapSchemaCheck(cap.body, &out), 0) << out << cap.body;

  const std::string metrics = Metrics();
  EXPECT_EQ(Metric(metrics, "citybrain_warnings_received_total{outcome=\"applied\"}"), 2);
  EXPECT_EQ(Metric(metrics, "citybrain_warnings_received_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_warnings_received_total{outcome=\"ignored\"}"), 1);
  EXPECT_EQ(Metric(metrics, "citybrain_warnings_active"), 0);
}

struct BadPost {
  const char* name;
  std::string body;
  std::string content_type;
  int status;
  const char* detail;
};

TEST_F(WarningServerTest, BadPostsAreRefusedAndChangeNothing) {
  StartWithZones();
  const TimeMs t = Now() - kMin;
  ASSERT_EQ(PostCap(CapXml(RainstormWarning("W-GOOD", t, t + 6 * kHour))).status, 201);
  const std::string before = server_->Client().Get("/api/v1/alerts?state=all").body;
  const std::string good = CapXml(RainstormWarning("W-BAD", t, t + 6 * kHour));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const BadPost cases[] = {
      {"empty", "", "application/cap+xml", 400, "empty"},
      {"not XML", "rainstorm!", "application/cap+xml", 400, "not well-formed XML"},
      {"JSON", R"({"identifier":"W-BAD"})", "application/cap+xml", 400, "not well-formed XML"},
      {"CAP 1.1", replace("cap:1.2", "cap:1.1"), "application/cap+xml", 400, "cap:1.1"},
      {"Atom feed", "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>", "application/xml", 400,
       "not a CAP 1.2 <alert>"},
      {"no sender", replace("<sender>33010041600000</sender>", ""), "application/cap+xml", 400,
       "has no <sender>"},
      {"bad date", replace("<sent>", "<sent>x"), "application/cap+xml", 400, "is not a CAP date"},
      {"bad severity", replace("<severity>Severe", "<severity>Orange"), "application/cap+xml",
       400, "<severity> \\\"Orange\\\""},
      {"open polygon", replace("30.22,120.1</polygon>", "30.23,120.1</polygon>"),
       "application/cap+xml", 400, "is not closed"},
      {"latitude 95", replace("<polygon>30.22,", "<polygon>95.22,"), "application/cap+xml", 400,
       "out of range"},
      {"schema", replace("<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>"),
       "application/cap+xml", 400, "CAP 1.2 schema"},
      {"JSON type", good, "application/json", 415, "Content-Type"},
  };
  for (const BadPost& c : cases) {
    Response r = PostCap(c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type").rfind("application/", 0), 0u) << c.name;
    EXPECT_NE(r.body.find(c.detail), std::string::npos) << c.name << ": " << r.body;
    EXPECT_NE(Json(r.body).Find("type"), nullptr) << c.name;
  }
  EXPECT_EQ(server_->Client().Get("/api/v1/alerts?state=all").body, before);

  // Permissions: posting needs context:write.
  HttpClient nobody(server_->port(), "");
  EXPECT_EQ(nobody.Post("/api/v1/warnings", good, "application/cap+xml").status, 401);
  Response issued = server_->Client().Post("/admin/keys", R"({"name":"wall","permissions":["context:read"]})");
  ASSERT_EQ(issued.status, 201);
  HttpClient reader(server_->port(), Json(issued.body).Find("key")->as_string());
  EXPECT_EQ(reader.Post("/api/v1/warnings", good, "application/cap+xml").status, 403);
  EXPECT_EQ(reader.Get("/api/v1/warnings").status, 200);
  EXPECT_EQ(server_->Client().Get("/api/v1/alerts?state=all").body, before);
}

TEST_F(WarningServerTest, AWarningResolvesWhenItExpires) {
  StartWithZones();
  const TimeMs t = Now();
  ASSERT_EQ(PostCap(CapXml(BinjiangWarning("W-SHORT", t - kMin))).status, 201);
  CapMessageText shortly = BinjiangWarning("W-SHORTER", t - kMin);
  shortly.msg_type = "Update";
  shortly.references = CapRef(BinjiangWarning("W-SHORT", t - kMin));
  shortly.infos[0].expires = t + 5000;  // CAP times are whole seconds: 4–5 s from now
  Response r = PostCap(CapXml(shortly));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).Find("alerts")->Find("updated")->as_array().size(), 1u);
  EXPECT_EQ(AlertZones(Alerts()), (std::set<std::string>{kBinjiang}));
  WaitForAlerts([](const JsonValue& a) { return a.as_array().empty(); });
  JsonValue all = Alerts("all");
  ASSERT_EQ(all.as_array().size(), 1u);
  EXPECT_EQ(all.as_array()[0].Find("resolvedBy")->as_string(), "auto");
}

// Waits until `rx` was asked for `path` `n` times (at most 20 s).
bool WaitForHits(Receiver& rx, const std::string& path, int n) {
  return rx.WaitFor([&](const std::vector<Receiver::Got>& got) {
    return std::count_if(got.begin(), got.end(), [&](const auto& g) { return g.target == path; }) >= n;
  }, std::chrono::seconds(20));
}

// An Atom feed of entries: (id, updated, inner XML: a CAP alert or links).
std::string AtomFeed(const std::vector<std::tuple<std::string, std::string, std::string>>& entries) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:test:feed</id>"
                  "<title>Warnings</title><updated>2026-07-01T00:00:00Z</updated>";
  for (const auto& [id, updated, inner] : entries) {
    x += "<entry><id>" + id + "</id><title>" + id + "</title><updated>" + updated +
         "</updated>" + inner + "</entry>";
  }
  return x + "</feed>";
}

// A CAP document as an Atom entry's content (its XML declaration dropped).
std::string Content(const std::string& cap) {
  return "<content type=\"text/xml\">" + cap.substr(cap.find('\n') + 1) + "</content>";
}

TEST_F(WarningServerTest, PolledFeedsRaiseAndCancelAlerts) {
  Receiver feeds;
  const TimeMs t = Now() - kMin;
  const CapMessageText rainstorm = RainstormWarning("33010041600000_P1", t, t + 6 * kHour);
  const CapMessageText binjiang = BinjiangWarning("33010041600000_P2", t);
  // One entry carries its alert; the other links to it (relative link, then a redirect).
  feeds.Serve("/warnings/feed.atom", 200, "application/atom+xml",
            AtomFeed({{"urn:cap:P1", "2026-07-01T00:30:00Z", Content(CapXml(rainstorm))},
                      {"urn:cap:P2", "2026-07-01T00:31:00Z",
                       "<link rel=\"alternate\" type=\"application/cap+xml\" href=\"cap/P2.xml\"/>"}}));
  feeds.Serve("/warnings/cap/P2.xml", 302, "text/plain", "/moved/P2.xml");
  feeds.Serve("/moved/P2.xml", 200, "application/cap+xml", CapXml(binjiang));
  StartWithZones({"--warning-feed", feeds.Url("/warnings/feed.atom"), "--warning-poll-seconds", "1"});

  JsonValue alerts = WaitForAlerts([](const JsonValue& a) { return a.as_array().size() == 3; });
  EXPECT_EQ(AlertZones(alerts), (std::set<std::string>{kPlaza, kWestLake, kBinjiang}));
  JsonValue recent = Json(server_->Client().Get("/api/v1/warnings").body);
  ASSERT_GE(recent.as_array().size(), 2u);
  EXPECT_EQ(recent.as_array()[0].Find("via")->as_string(), feeds.Url("/warnings/feed.atom"));

  // Later polls find the entries unchanged: the linked document is not fetched again, and
  // nothing is raised twice.
  const int polls = feeds.Hits("/warnings/feed.atom");
  ASSERT_TRUE(WaitForHits(feeds, "/warnings/feed.atom", polls + 2));
  EXPECT_EQ(feeds.Hits("/moved/P2.xml"), 1);
  EXPECT_EQ(Metric(Metrics(), "citybrain_alerts_raised_total"), 3);

  // The bureau cancels the rainstorm warning: its entry is replaced by the Cancel.
  const CapMessageText cancel = CancelOf(rainstorm, "33010041600000_P1C", t + kMin);
  feeds.Serve("/warnings/feed.atom", 200, "application/atom+xml",
            AtomFeed({{"urn:cap:P1C", "2026-07-01T00:40:00Z", Content(CapXml(cancel))},
                      {"urn:cap:P2", "2026-07-01T00:31:00Z",
                       "<link rel=\"alternate\" type=\"application/cap+xml\" href=\"cap/P2.xml\"/>"}}));
  alerts = WaitForAlerts([](const JsonValue& a) { return a.as_array().size() == 1; });
  EXPECT_EQ(AlertZones(alerts), (std::set<std::string>{kBinjiang}));

  const std::string feed_label = "{feed=\"" + feeds.Url("/warnings/feed.atom") + "\"}";
  const std::string metrics = Metrics();
  EXPECT_GE(Metric(metrics, "citybrain_warning_polls_total" + feed_label), 4);
  EXPECT_EQ(Metric(metrics, "citybrain_warning_poll_failures_total" + feed_label), 0);
  EXPECT_EQ(Metric(metrics, "citybrain_warning_feed_failing" + feed_label), 0);

  // After a restart, the feed polled again raises nothing new.
  server_->Stop();
  const int before = feeds.Hits("/warnings/feed.atom");
  ASSERT_TRUE(server_->Start()) << server_->Log();
  ASSERT_TRUE(WaitForHits(feeds, "/warnings/feed.atom", before + 2));
  EXPECT_EQ(Metric(Metrics(), "citybrain_alerts_raised_total"), 0);  // counted since start
  EXPECT_EQ(AlertZones(Alerts()), (std::set<std::string>{kBinjiang}));
  EXPECT_EQ(Alerts("all").as_array().size(), 3u);
}

TEST_F(WarningServerTest, FailingFeedsAreCountedAndNeverStopTheServer) {
  Receiver feeds;
  feeds.Serve("/html", 200, "text/html", "<html><body>Service unavailable</body></html>");
  feeds.Serve("/missing", 404, "text/plain", "not here");
  feeds.Serve("/cap.xml", 200, "application/cap+xml",
            CapXml(BinjiangWarning("33010041600000_F1", Now() - kMin)));
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort()) + "/feed";
  // Comma-separated and repeated flags; one CAP document served bare, not in a feed.
  StartWithZones({"--warning-feed", dead + "," + feeds.Url("/html"), "--warning-feed",
                  feeds.Url("/missing"), "--warning-feed", feeds.Url("/cap.xml"),
                  "--warning-poll-seconds", "1"});
  // Three polls each (the second 2 s after the first, the third 4 s after that): the first
  // two failures are counted by then.
  ASSERT_TRUE(WaitForHits(feeds, "/html", 3));
  ASSERT_TRUE(WaitForHits(feeds, "/missing", 3));
  WaitForAlerts([](const JsonValue& a) { return a.as_array().size() == 1; });
  const std::string metrics = Metrics();
  auto metric = [&](const std::string& name, const std::string& url) {
    return Metric(metrics, name + "{feed=\"" + url + "\"}");
  };
  EXPECT_GE(metric("citybrain_warning_poll_failures_total", dead), 1);
  EXPECT_GE(metric("citybrain_warning_feed_failing", dead), 1);
  EXPECT_GE(metric("citybrain_warning_poll_failures_total", feeds.Url("/html")), 2);
  EXPECT_GE(metric("citybrain_warning_documents_refused_total", feeds.Url("/html")), 2);
  EXPECT_GE(metric("citybrain_warning_poll_failures_total", feeds.Url("/missing")), 2);
  EXPECT_EQ(metric("citybrain_warning_poll_failures_total", feeds.Url("/cap.xml")), 0);
  EXPECT_EQ(server_->Client().Get("/health").status, 200);
  const std::string log = server_->Log();
  EXPECT_NE(log.find("warning feed " + feeds.Url("/missing") + " failing"), std::string::npos) << log;
  EXPECT_NE(log.find("HTTP 404"), std::string::npos);
  EXPECT_NE(log.find("neither CAP 1.2 nor an Atom feed"), std::string::npos);
}

TEST_F(WarningServerTest, AFeedThatIsNotHttpStopsTheStart) {
  for (const char* url : {"https://example.org/warnings.atom", "ftp://example.org/w", "http://"}) {
    ServerProcess s("", {"--warning-feed", url});
    EXPECT_FALSE(s.Start()) << url;
    EXPECT_NE(s.Log().find("warning feed"), std::string::npos) << s.Log();
  }
}

}  // namespace
}  // namespace cb::testing
