#include "context/subscriptions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "context/ngsi_json.h"
#include "store/store.h"

namespace cb::context {
namespace {

JsonValue J(std::string_view s) {
  auto r = ParseJson(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : JsonValue();
}

TimeMs T(std::string_view s) { return ParseIso8601(s).value(); }

const TimeMs kNow = T("2024-05-01T08:00:00Z");

Result<Subscription> Parse(std::string_view body, TimeMs now = kNow) {
  ParseSubscriptionOptions o;
  o.now = now;
  return ParseSubscription(J(body), o);
}

// A valid body with `extra` members spliced in (",\"k\":v" form).
std::string Body(
    std::string_view extra = "",
    std::string_view notification = R"({"endpoint":{"uri":"http://127.0.0.1:9/notify"}})") {
  return R"({"type":"Subscription","entities":[{"type":"Sensor"}],"notification":)" +
         std::string(notification) + std::string(extra) + "}";
}

EntityPtr E(std::string_view json) {
  auto e = ParseEntity(J(json), true);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::make_shared<const Entity>(std::move(e).value());
}

Change Upd(EntityPtr e, std::vector<std::string> attrs,
           Change::Kind kind = Change::Kind::kUpdated) {
  return Change{kind, std::move(e), std::move(attrs)};
}

// ------------------------------------------------------------------ validation

TEST(SubscriptionParse, AcceptsAFullBodyAndRendersItBack) {
  auto s = Parse(R"({
    "id": "urn:ngsi-ld:Subscription:s1", "type": "Subscription",
    "subscriptionName": "hot rooms", "description": "rooms over 30",
    "entities": [{"type": "Room", "idPattern": "^urn:ngsi-ld:Room:.*"},
                 {"type": "Room", "id": "urn:ngsi-ld:Room:x"}],
    "watchedAttributes": ["temperature"],
    "notificationTrigger": ["attributeUpdated", "entityDeleted"],
    "q": "temperature>30",
    "geoQ": {"geometry": "Point", "coordinates": [120.15, 30.28],
             "georel": "near;maxDistance==500", "geoproperty": "location"},
    "notification": {"attributes": ["temperature"], "format": "keyValues",
                     "endpoint": {"uri": "http://example.org:8080/n?x=1",
                                  "accept": "application/ld+json",
                                  "receiverInfo": [{"key": "X-Auth", "value": "t0k"}]}},
    "throttling": 5, "expiresAt": "2030-01-01T00:00:00Z", "isActive": false,
    "someFutureMember": {"ignored": true}
  })");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, "urn:ngsi-ld:Subscription:s1");
  EXPECT_EQ(s->entities.size(), 2u);
  EXPECT_EQ(s->entities[0].id_pattern, "^urn:ngsi-ld:Room:.*");
  EXPECT_EQ(s->triggers, kTriggerAttributeUpdated | kTriggerEntityDeleted);
  ASSERT_TRUE(s->q);
  ASSERT_TRUE(s->geo_q);
  EXPECT_EQ(s->geo_q->rel, GeoRel::kNear);
  EXPECT_EQ(*s->geo_q->max_distance, 500);
  EXPECT_EQ(s->format, NotificationFormat::kKeyValues);
  EXPECT_EQ(s->endpoint_accept, "application/ld+json");
  ASSERT_EQ(s->receiver_info.size(), 1u);
  EXPECT_EQ(s->throttling_s, 5);
  EXPECT_FALSE(s->is_active);
  EXPECT_EQ(SubscriptionStatus(*s, kNow), "paused");

  // Render → parse → render is stable.
  DeliveryStatus d;
  std::string doc = RenderSubscription(*s, d, kNow);
  ParseSubscriptionOptions o;
  o.check_expiry = false;
  auto again = ParseSubscription(J(doc), o);
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << doc;
  EXPECT_EQ(RenderSubscription(*again, d, kNow), doc);
  JsonValue v = J(doc);
  EXPECT_EQ(v.Find("status")->as_string(), "paused");
  EXPECT_EQ(v.Find("notification")->Find("timesSent")->as_int(), 0);
  EXPECT_EQ(v.Find("notification")->Find("status")->as_string(), "ok");
  EXPECT_EQ(v.Find("someFutureMember"), nullptr);
}

TEST(SubscriptionParse, WatchedAttributesAloneAreEnough) {
  auto s = Parse(R"({"type":"Subscription","watchedAttributes":["speed"],
                     "notification":{"endpoint":{"uri":"http://h/x"}}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->entities.empty());
  EXPECT_TRUE(s->id.empty());  // the manager assigns one
}

struct BadCase {
  std::string body;
  Code code;
  std::string message_part;
};

TEST(SubscriptionParse, RejectsBadBodiesWithClearErrors) {
  const std::string ok_n = R"({"endpoint":{"uri":"http://h/x"}})";
  auto n = [](std::string_view endpoint_and_more) {
    return "{\"endpoint\":" + std::string(endpoint_and_more) + "}";
  };
  std::vector<BadCase> cases = {
      {"[]", Code::kBadRequestData, "JSON object"},
      {R"({"type":"Subscription","notification":)" + ok_n + "}", Code::kBadRequestData,
       "entities or watchedAttributes"},
      {R"({"entities":[],"notification":)" + ok_n + "}", Code::kBadRequestData, "non-empty"},
      {R"({"entities":[{"id":"urn:a:b"}],"notification":)" + ok_n + "}", Code::kBadRequestData,
       "valid type"},
      {R"({"entities":[{"type":"A","id":"no uri"}],"notification":)" + ok_n + "}",
       Code::kBadRequestData, "URI"},
      {R"({"entities":[{"type":"A","idPattern":"(["}],"notification":)" + ok_n + "}",
       Code::kBadRequestData, "idPattern"},
      {R"({"watchedAttributes":[],"notification":)" + ok_n + "}", Code::kBadRequestData,
       "watchedAttributes"},
      {R"({"watchedAttributes":["a b"],"notification":)" + ok_n + "}", Code::kBadRequestData,
       "watchedAttributes"},
      {Body(R"(,"id":"not a uri")"), Code::kBadRequestData, "URI"},
      {R"({"type":"Entity","entities":[{"type":"A"}],"notification":)" + ok_n + "}",
       Code::kBadRequestData, "Subscription"},
      {Body(R"(,"q":"temperature>>3")"), Code::kInvalidRequest, "position"},
      {Body(R"(,"q":5)"), Code::kInvalidRequest, "q"},
      {R"({"entities":[{"type":"A"}]})", Code::kBadRequestData, "notification is required"},
      {Body("", R"({"format":"normalized"})"), Code::kBadRequestData, "endpoint"},
      {Body("", n(R"({"accept":"application/json"})")), Code::kBadRequestData, "uri"},
      {Body("", n(R"({"uri":"ftp://h/x"})")), Code::kBadRequestData, "http URL"},
      {Body("", n(R"({"uri":"not a url"})")), Code::kBadRequestData, "http URL"},
      {Body("", n(R"({"uri":"http:///x"})")), Code::kBadRequestData, "host"},
      {Body("", n(R"({"uri":"http://h:99999/x"})")), Code::kBadRequestData, "port"},
      {Body("", n(R"({"uri":"https://h/x"})")), Code::kUnsupported, "https"},
      {Body("", n(R"({"uri":"mqtt://h/x"})")), Code::kUnsupported, "MQTT"},
      {Body("", n(R"({"uri":"http://h/x","accept":"text/html"})")), Code::kBadRequestData,
       "accept"},
      {Body("", n(R"({"uri":"http://h/x","receiverInfo":[{"key":"X-A","value":"a\r\nB: c"}]})")),
       Code::kBadRequestData, "receiverInfo"},
      {Body("", R"({"endpoint":{"uri":"http://h/x"},"format":"concise"})"), Code::kUnsupported,
       "concise"},
      {Body("", R"({"endpoint":{"uri":"http://h/x"},"format":"xml"})"), Code::kBadRequestData,
       "format"},
      {Body("", R"({"endpoint":{"uri":"http://h/x"},"attributes":[]})"), Code::kBadRequestData,
       "notification.attributes"},
      {Body(R"(,"throttling":-1)"), Code::kBadRequestData, "throttling"},
      {Body(R"(,"throttling":"5")"), Code::kBadRequestData, "throttling"},
      {Body(R"(,"timeInterval":60)"), Code::kUnsupported, "timeInterval"},
      {Body(R"(,"expiresAt":"2020-01-01T00:00:00Z")"), Code::kBadRequestData, "future"},
      {Body(R"(,"expiresAt":"tomorrow")"), Code::kBadRequestData, "ISO 8601"},
      {Body(R"(,"isActive":"yes")"), Code::kBadRequestData, "isActive"},
      {Body(R"(,"notificationTrigger":["entityExploded"])"), Code::kBadRequestData,
       "notificationTrigger"},
      {Body(R"(,"geoQ":{"geometry":"Point","coordinates":[1,2],"georel":"near"})"),
       Code::kBadRequestData, "maxDistance"},
      {Body(R"(,"geoQ":{"geometry":"Point","coordinates":[1,2],"georel":"close"})"),
       Code::kBadRequestData, "georel"},
      {Body(R"(,"geoQ":{"geometry":"Point","coordinates":[500,2],"georel":"intersects"})"),
       Code::kBadRequestData, "geoQ"},
      {Body(R"(,"geoQ":{"geometry":"Point","coordinates":[1,2],"georel":"within"})"),
       Code::kBadRequestData, "Polygon"},
      {Body(R"(,"geoQ":{"geometry":"Point","georel":"intersects"})"), Code::kBadRequestData,
       "coordinates"},
  };
  for (const auto& c : cases) {
    auto s = Parse(c.body);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_EQ(s.status().code(), c.code) << c.body << " → " << s.status().ToString();
    EXPECT_NE(s.status().message().find(c.message_part), std::string::npos)
        << c.body << " → " << s.status().message();
  }
}

TEST(SubscriptionParse, GeoQCoordinatesMayBeAString) {
  auto s = Parse(Body(R"(,"geoQ":{"geometry":"Polygon","coordinates":"[[[0,0],[1,0],[1,1],[0,0]]]",
                                   "georel":"within"})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->geo_q->rel, GeoRel::kWithin);
}

TEST(HttpUrl, Parses) {
  auto u = ParseHttpUrl("http://example.org:8080/a/b?c=d#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?c=d");
  u = ParseHttpUrl("HTTP://[::1]/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  u = ParseHttpUrl("http://h?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->target, "/?x=1");
  EXPECT_FALSE(ParseHttpUrl("http://user:pw@h/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://h:0/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://h:80x/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://h/a b").ok());
}

// ------------------------------------------------------------------ notification payload

TEST(NotificationPayload, NormalizedProjectedAndDeleted) {
  auto s = std::make_shared<Subscription>(
      Parse(Body("", R"({"endpoint":{"uri":"http://h/x"},"attributes":["speed"]})")).value());
  s->id = "urn:ngsi-ld:Subscription:p";
  PendingNotification n;
  n.subscription = s;
  n.triggered_at = kNow;
  n.data.push_back({E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor",
                          "speed":{"type":"Property","value":42,"unitCode":"KMH"},
                          "name":{"type":"Property","value":"north"}})"),
                    false});
  n.data.push_back({E(R"({"id":"urn:ngsi-ld:Sensor:2","type":"Sensor"})"), true});
  std::string body = RenderNotification(n, "urn:ngsi-ld:Notification:1", kNow + 5);
  JsonValue v = J(body);
  EXPECT_EQ(v.Find("id")->as_string(), "urn:ngsi-ld:Notification:1");
  EXPECT_EQ(v.Find("type")->as_string(), "Notification");
  EXPECT_EQ(v.Find("subscriptionId")->as_string(), "urn:ngsi-ld:Subscription:p");
  EXPECT_EQ(v.Find("notifiedAt")->as_string(), "2024-05-01T08:00:00.005Z");
  EXPECT_EQ(v.Find("@context"), nullptr);
  const auto& data = v.Find("data")->as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].Find("id")->as_string(), "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(data[0].Find("speed")->Find("type")->as_string(), "Property");
  EXPECT_EQ(data[0].Find("speed")->Find("value")->as_int(), 42);
  EXPECT_EQ(data[0].Find("name"), nullptr);  // projected away
  EXPECT_EQ(data[1].Find("id")->as_string(), "urn:ngsi-ld:Sensor:2");
  EXPECT_EQ(data[1].Find("deletedAt")->as_string(), "2024-05-01T08:00:00.000Z");
}

TEST(NotificationPayload, KeyValuesAndJsonLd) {
  auto s = std::make_shared<Subscription>(
      Parse(Body("", R"({"endpoint":{"uri":"http://h/x","accept":"application/ld+json"},
                         "format":"keyValues"})"))
          .value());
  PendingNotification n;
  n.subscription = s;
  n.data.push_back({E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":7,
                          "location":{"type":"Point","coordinates":[1,2]}})"),
                    false});
  JsonValue v = J(RenderNotification(n, "urn:ngsi-ld:Notification:2", kNow));
  const JsonValue& e = v.Find("data")->as_array()[0];
  EXPECT_EQ(e.Find("speed")->as_int(), 7);
  EXPECT_EQ(e.Find("location")->Find("type")->as_string(), "Point");
  ASSERT_NE(v.Find("@context"), nullptr);
  EXPECT_EQ(v.Find("@context")->as_string(), kCoreContext);
}

TEST(NotificationPayload, RandomUrnsDiffer) {
  std::string a = NewRandomUrn("Notification");
  std::string b = NewRandomUrn("Notification");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("urn:ngsi-ld:Notification:", 0), 0u);
  EXPECT_EQ(a.size(), std::string("urn:ngsi-ld:Notification:").size() + 32);
  EXPECT_TRUE(IsValidEntityId(a));
}

// ------------------------------------------------------------------ manager

class RecordingSink : public NotificationSink {
 public:
  bool Offer(PendingNotification n) override {
    std::lock_guard l(mu);
    if (refuse) return false;
    got.push_back(std::move(n));
    return true;
  }
  std::mutex mu;
  bool refuse = false;
  std::vector<PendingNotification> got;
};

class SubscriptionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cb-subs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    mgr_.reset();
    if (store_) store_->Close();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store::StoreOptions o;
    o.path = (dir_ / "t.db").string();
    o.durability = store::Durability::kProcess;
    auto st = store::OpenSqliteStore(o);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    mgr_ = std::make_unique<SubscriptionManager>(store_.get(), &clock_);
    ASSERT_TRUE(mgr_->Load().ok());
    mgr_->SetSink(&sink_);
  }
  void Reopen() {
    mgr_.reset();
    store_->Close();
    store_.reset();
    Open();
  }

  Result<std::string> Create(std::string_view body) {
    std::promise<Result<std::string>> p;
    auto f = p.get_future();
    mgr_->Create(J(body), [&p](Result<std::string> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  std::string MustCreate(std::string_view body) {
    auto r = Create(body);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << body;
    return r.ok() ? *r : "";
  }
  Status Update(const std::string& id, std::string_view patch) {
    std::promise<Status> p;
    auto f = p.get_future();
    mgr_->Update(id, J(patch), [&p](Status s) { p.set_value(std::move(s)); });
    return f.get();
  }
  Status Delete(const std::string& id) {
    std::promise<Status> p;
    auto f = p.get_future();
    mgr_->Delete(id, [&p](Status s) { p.set_value(std::move(s)); });
    return f.get();
  }
  // Runs the changes through the manager; returns the notifications offered.
  std::vector<PendingNotification> Notify(std::vector<Change> changes) {
    sink_.got.clear();
    mgr_->OnChanges(changes);
    return std::move(sink_.got);
  }
  // Subscription ids notified, in order.
  std::vector<std::string> Who(std::vector<Change> changes) {
    std::vector<std::string> out;
    for (const auto& n : Notify(std::move(changes))) out.push_back(n.subscription->id);
    return out;
  }

  static std::string Sub(std::string_view id, std::string_view members) {
    return R"({"id":")" + std::string(id) + R"(","type":"Subscription",)" + std::string(members) +
           R"(,"notification":{"endpoint":{"uri":"http://127.0.0.1:9/n"}}})";
  }

  std::filesystem::path dir_;
  ManualClock clock_{kNow};
  RecordingSink sink_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SubscriptionManager> mgr_;
};

TEST_F(SubscriptionManagerTest, CreateAssignsIdsAndRefusesDuplicates) {
  std::string id = MustCreate(Body());
  EXPECT_EQ(id.rfind("urn:ngsi-ld:Subscription:", 0), 0u);
  auto doc = mgr_->Get(id);
  ASSERT_TRUE(doc.ok());
  JsonValue v = J(*doc);
  EXPECT_EQ(v.Find("id")->as_string(), id);
  EXPECT_EQ(v.Find("status")->as_string(), "active");
  EXPECT_EQ(v.Find("createdAt")->as_string(), "2024-05-01T08:00:00.000Z");

  MustCreate(Sub("urn:ngsi-ld:Subscription:fixed", R"("entities":[{"type":"A"}])"));
  auto dup = Create(Sub("urn:ngsi-ld:Subscription:fixed", R"("entities":[{"type":"B"}])"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(mgr_->size(), 2u);

  auto bad = Create(Body(R"(,"q":"((")"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidRequest);
  EXPECT_EQ(mgr_->Get("urn:ngsi-ld:Subscription:nope").status().code(), Code::kNotFound);
  EXPECT_EQ(Delete("urn:ngsi-ld:Subscription:nope").code(), Code::kNotFound);
  EXPECT_EQ(Update("urn:ngsi-ld:Subscription:nope", R"({"isActive":false})").code(),
            Code::kNotFound);
}

TEST_F(SubscriptionManagerTest, MatchesTypeIdPatternWatchedQAndGeo) {
  MustCreate(Sub("urn:s:type", R"("entities":[{"type":"Sensor"}])"));
  MustCreate(Sub("urn:s:id", R"("entities":[{"type":"Sensor","id":"urn:ngsi-ld:Sensor:1"}])"));
  MustCreate(Sub("urn:s:pattern", R"("entities":[{"type":"Sensor","idPattern":"Sensor:2$"}])"));
  MustCreate(Sub("urn:s:watch", R"("entities":[{"type":"Sensor"}],"watchedAttributes":["speed"])"));
  MustCreate(Sub("urn:s:q", R"("entities":[{"type":"Sensor"}],"q":"speed>50")"));
  MustCreate(Sub("urn:s:geo", R"("entities":[{"type":"Sensor"}],
      "geoQ":{"geometry":"Point","coordinates":[120.0,30.0],"georel":"near;maxDistance==1000"})"));
  MustCreate(Sub("urn:s:anytype", R"("watchedAttributes":["speed"])"));
  MustCreate(Sub("urn:s:other", R"("entities":[{"type":"Parking"}])"));

  auto s1 = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":60,
                  "location":{"type":"Point","coordinates":[120.001,30.001]}})");
  auto s2 = E(R"({"id":"urn:ngsi-ld:Sensor:2","type":"Sensor","speed":10,"name":"b",
                  "location":{"type":"Point","coordinates":[121.0,31.0]}})");

  using V = std::vector<std::string>;
  EXPECT_EQ(Who({Upd(s1, {"speed"})}),
            (V{"urn:s:anytype", "urn:s:geo", "urn:s:id", "urn:s:q", "urn:s:type", "urn:s:watch"}));
  EXPECT_EQ(Who({Upd(s2, {"speed"})}),
            (V{"urn:s:anytype", "urn:s:pattern", "urn:s:type", "urn:s:watch"}));
  // Not a watched attribute.
  EXPECT_EQ(Who({Upd(s2, {"name"})}), (V{"urn:s:pattern", "urn:s:type"}));
  // Creation notifies by default (attributes are created).
  EXPECT_EQ(Who({Upd(s2, {"speed", "name", "location"}, Change::Kind::kCreated)}),
            (V{"urn:s:anytype", "urn:s:pattern", "urn:s:type", "urn:s:watch"}));
  // Deletion does not, unless asked for.
  EXPECT_EQ(Who({Upd(s2, {}, Change::Kind::kDeleted)}), V{});

  // One notification per subscription per batch, with every matching entity in order.
  auto ns = Notify({Upd(s1, {"speed"}), Upd(s2, {"speed"}), Upd(s1, {"location"})});
  ASSERT_EQ(ns.size(), 7u);
  for (const auto& n : ns) {
    if (n.subscription->id == "urn:s:type") {
      ASSERT_EQ(n.data.size(), 3u);
      EXPECT_EQ(n.data[0].entity->id, "urn:ngsi-ld:Sensor:1");
      EXPECT_EQ(n.data[1].entity->id, "urn:ngsi-ld:Sensor:2");
      EXPECT_EQ(n.data[2].entity->id, "urn:ngsi-ld:Sensor:1");
      EXPECT_EQ(n.triggered_at, kNow);
    }
    if (n.subscription->id == "urn:s:watch") {
      EXPECT_EQ(n.data.size(), 2u);
    }
    if (n.subscription->id == "urn:s:q") {
      EXPECT_EQ(n.data.size(), 2u);
    }
  }
  EXPECT_EQ(mgr_->notifications_matched(), 6u + 4u + 2u + 4u + 7u);
}

TEST_F(SubscriptionManagerTest, TriggersForDeletions) {
  MustCreate(Sub("urn:s:del", R"("entities":[{"type":"Sensor"}],
      "notificationTrigger":["entityDeleted","attributeDeleted"])"));
  auto e = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":1})");
  EXPECT_TRUE(Who({Upd(e, {"speed"})}).empty());
  auto ns = Notify({Upd(e, {}, Change::Kind::kDeleted)});
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_TRUE(ns[0].data[0].deleted);
  // An attribute named in the change but gone from the entity was deleted.
  EXPECT_EQ(Who({Upd(e, {"colour"})}).size(), 1u);
}

TEST_F(SubscriptionManagerTest, PausedAndExpiredSubscriptionsAreSilent) {
  std::string id = MustCreate(Sub("urn:s:1", R"("entities":[{"type":"Sensor"}],
                                               "expiresAt":"2024-05-01T09:00:00Z")"));
  auto e = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":1})");
  EXPECT_EQ(Who({Upd(e, {"speed"})}).size(), 1u);

  ASSERT_TRUE(Update(id, R"({"isActive":false})").ok());
  EXPECT_EQ(J(*mgr_->Get(id)).Find("status")->as_string(), "paused");
  EXPECT_TRUE(Who({Upd(e, {"speed"})}).empty());
  ASSERT_TRUE(Update(id, R"({"isActive":true})").ok());
  EXPECT_EQ(Who({Upd(e, {"speed"})}).size(), 1u);

  clock_.Set(T("2024-05-01T09:00:00Z"));
  EXPECT_EQ(J(*mgr_->Get(id)).Find("status")->as_string(), "expired");
  EXPECT_TRUE(Who({Upd(e, {"speed"})}).empty());
  // Moving expiresAt into the future revives it; into the past is refused.
  EXPECT_EQ(Update(id, R"({"expiresAt":"2024-01-01T00:00:00Z"})").code(), Code::kBadRequestData);
  ASSERT_TRUE(Update(id, R"({"expiresAt":"2024-05-02T00:00:00Z"})").ok());
  EXPECT_EQ(Who({Upd(e, {"speed"})}).size(), 1u);
}

TEST_F(SubscriptionManagerTest, Throttling) {
  MustCreate(Sub("urn:s:slow", R"("entities":[{"type":"Sensor"}],"throttling":10)"));
  MustCreate(Sub("urn:s:fast", R"("entities":[{"type":"Sensor"}])"));
  auto e = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":1})");
  using V = std::vector<std::string>;
  EXPECT_EQ(Who({Upd(e, {"speed"})}), (V{"urn:s:fast", "urn:s:slow"}));
  clock_.Advance(5000);
  EXPECT_EQ(Who({Upd(e, {"speed"})}), (V{"urn:s:fast"}));
  clock_.Advance(4999);
  EXPECT_EQ(Who({Upd(e, {"speed"})}), (V{"urn:s:fast"}));
  clock_.Advance(1);  // 10 s after the last notification
  EXPECT_EQ(Who({Upd(e, {"speed"})}), (V{"urn:s:fast", "urn:s:slow"}));
  EXPECT_EQ(mgr_->notifications_throttled(), 2u);
}

TEST_F(SubscriptionManagerTest, DeliveryStatusAndRefusedOffers) {
  std::string id = MustCreate(Sub("urn:s:1", R"("entities":[{"type":"Sensor"}])"));
  mgr_->RecordDelivery(id, true, T("2024-05-01T08:00:01Z"));
  mgr_->RecordDelivery(id, false, T("2024-05-01T08:00:02Z"), "HTTP 500");
  JsonValue n = *J(*mgr_->Get(id)).Find("notification");
  EXPECT_EQ(n.Find("timesSent")->as_int(), 2);
  EXPECT_EQ(n.Find("timesFailed")->as_int(), 1);
  EXPECT_EQ(n.Find("status")->as_string(), "failed");
  EXPECT_EQ(n.Find("lastSuccess")->as_string(), "2024-05-01T08:00:01.000Z");
  EXPECT_EQ(n.Find("lastFailure")->as_string(), "2024-05-01T08:00:02.000Z");
  EXPECT_EQ(n.Find("lastNotification")->as_string(), "2024-05-01T08:00:02.000Z");
  EXPECT_EQ(n.Find("lastFailureReason")->as_string(), "HTTP 500");
  mgr_->RecordDelivery(id, true, T("2024-05-01T08:00:03Z"));
  EXPECT_EQ(J(*mgr_->Get(id)).Find("notification")->Find("status")->as_string(), "ok");

  sink_.refuse = true;
  Notify({Upd(E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":1})"), {"speed"})});
  auto d = mgr_->Delivery(id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->times_sent, 3u);
  EXPECT_EQ(d->times_failed, 2u);
  EXPECT_EQ(d->last_failure, kNow);
}

TEST_F(SubscriptionManagerTest, PatchMergesAndValidatesAsAWhole) {
  std::string id = MustCreate(Sub("urn:s:1", R"("entities":[{"type":"Sensor"}],"q":"speed>1",
                                               "description":"d")"));
  ASSERT_TRUE(Update(id, R"({"notification":{"format":"keyValues"},"description":null})").ok());
  auto s = mgr_->Find(id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->format, NotificationFormat::kKeyValues);
  EXPECT_EQ(s->endpoint_uri, "http://127.0.0.1:9/n");  // kept
  EXPECT_EQ(s->q_text, "speed>1");                     // kept
  EXPECT_TRUE(s->description.empty());                 // removed
  EXPECT_EQ(s->created_at, kNow);

  EXPECT_EQ(Update(id, R"({"q":"speed>>"})").code(), Code::kInvalidRequest);
  EXPECT_EQ(Update(id, R"({"entities":null})").code(), Code::kBadRequestData);
  EXPECT_EQ(Update(id, R"({"id":"urn:s:other"})").code(), Code::kBadRequestData);
  EXPECT_EQ(Update(id, R"({})").code(), Code::kBadRequestData);
  EXPECT_EQ(mgr_->Find(id)->q_text, "speed>1");  // failed patches changed nothing

  ASSERT_TRUE(Update(id, R"({"q":"speed>100","throttling":2})").ok());
  EXPECT_EQ(mgr_->Find(id)->q_text, "speed>100");
  EXPECT_TRUE(
      Who({Upd(E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":50})"), {"speed"})})
          .empty());
}

TEST_F(SubscriptionManagerTest, ListPages) {
  for (int i = 0; i < 5; ++i) {
    MustCreate(Sub("urn:s:" + std::to_string(i), R"("entities":[{"type":"Sensor"}])"));
  }
  auto page = mgr_->List(1, 2);
  EXPECT_EQ(page.total, 5u);
  ASSERT_EQ(page.docs.size(), 2u);
  EXPECT_EQ(J(page.docs[0]).Find("id")->as_string(), "urn:s:1");
  EXPECT_EQ(J(page.docs[1]).Find("id")->as_string(), "urn:s:2");
  EXPECT_EQ(mgr_->List(4, 10).docs.size(), 1u);
  EXPECT_EQ(mgr_->List(9, 10).docs.size(), 0u);
  EXPECT_EQ(mgr_->List(0, 0).total, 5u);
}

TEST_F(SubscriptionManagerTest, SurvivesARestart) {
  std::string a = MustCreate(Sub("urn:s:a", R"("entities":[{"type":"Sensor","idPattern":"1$"}],
      "q":"speed>5","throttling":3,"expiresAt":"2030-01-01T00:00:00Z",
      "geoQ":{"geometry":"Point","coordinates":[120,30],"georel":"near;maxDistance==10"})"));
  std::string b = MustCreate(Sub("urn:s:b", R"("watchedAttributes":["speed"])"));
  std::string c = MustCreate(Sub("urn:s:c", R"("entities":[{"type":"Sensor"}])"));
  ASSERT_TRUE(Update(b, R"({"isActive":false})").ok());
  ASSERT_TRUE(Delete(c).ok());
  mgr_->RecordDelivery(a, true, T("2024-05-01T08:00:01Z"));
  mgr_->RecordDelivery(a, false, T("2024-05-01T08:00:02Z"), "timeout");
  ASSERT_TRUE(mgr_->FlushSync().ok());
  std::string doc_a = *mgr_->Get(a);
  std::string doc_b = *mgr_->Get(b);

  Reopen();
  EXPECT_EQ(mgr_->size(), 2u);
  EXPECT_EQ(*mgr_->Get(a), doc_a);
  EXPECT_EQ(*mgr_->Get(b), doc_b);
  EXPECT_EQ(mgr_->Get(c).status().code(), Code::kNotFound);
  auto d = mgr_->Delivery(a);
  EXPECT_EQ(d->times_sent, 2u);
  EXPECT_EQ(d->times_failed, 1u);
  // The reloaded definition still matches (compiled pattern, q and geoQ restored).
  auto hit = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":6,
                   "location":{"type":"Point","coordinates":[120,30]}})");
  auto miss = E(R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","speed":4,
                    "location":{"type":"Point","coordinates":[120,30]}})");
  EXPECT_EQ(Who({Upd(hit, {"speed"})}), std::vector<std::string>{"urn:s:a"});
  clock_.Advance(10000);
  EXPECT_TRUE(Who({Upd(miss, {"speed"})}).empty());

  // Flushing with nothing changed writes nothing and succeeds.
  EXPECT_TRUE(mgr_->FlushSync().ok());
}

}  // namespace
}  // namespace cb::context
