// Subscriptions, HTTP notifications and the WebSocket entity stream against the real
// server: a tiny HTTP receiver on loopback stands in for the subscribers.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "core/json.h"
#include "core/time.h"
#include "receiver.h"
#include "test_server.h"

namespace cb::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string SubscriptionBody(const std::string& id, const std::string& members,
                             const std::string& endpoint, const std::string& notification = "") {
  return R"({"id":")" + id + R"(","type":"Subscription",)" + members +
         R"(,"notification":{"endpoint":{"uri":")" + endpoint +
         R"(","accept":"application/json"})" + notification + "}}";
}

class SubscriptionsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    client_.emplace(server_->Client());
  }
  void TearDown() override {
    client_.reset();
    std::string dir = server_->data_dir();
    server_.reset();
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
  }
  HttpClient& c() { return *client_; }

  std::unique_ptr<ServerProcess> server_;
  std::optional<HttpClient> client_;
};

// 50 subscriptions of five kinds, 2,000 updates in 50 batch upserts: every expected
// (subscription, entity, update) triple must arrive exactly once, in order per entity.
TEST_F(SubscriptionsIT, FiftySubscriptionsTwoThousandUpdatesZeroLoss) {
  Receiver rx;
  constexpr int kSubs = 50;
  constexpr int kEntities = 20;
  constexpr int kUpdates = 2000;
  constexpr int kBatch = 40;  // each entity twice per batch
  auto sub_id = [](int i) { return "urn:ngsi-ld:Subscription:it-" + std::to_string(i); };
  for (int i = 0; i < kSubs; ++i) {
    std::string members;
    std::string notification;
    switch (i % 5) {
      case 0:
        members = R"("entities":[{"type":"Sensor"}],"watchedAttributes":["seq"])";
        break;
      case 1:
        members = R"("entities":[{"type":"Sensor","id":"urn:ngsi-ld:Sensor:)" +
                  std::to_string(i % kEntities) + R"("}])";
        break;
      case 2:
        members = R"("entities":[{"type":"Sensor","idPattern":"Sensor:1[0-9]$"}])";
        break;
      case 3:
        members = R"("entities":[{"type":"Sensor"}],"q":"group==2")";
        break;
      case 4:
        members = R"("entities":[{"type":"Sensor"}],"q":"seq>1000")";
        notification = R"(,"format":"keyValues","attributes":["seq"])";
        break;
    }
    auto r = c().Post(
        "/ngsi-ld/v1/subscriptions",
        SubscriptionBody(sub_id(i), members, rx.Url("/notify/" + std::to_string(i)), notification));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Header("Location"), "/ngsi-ld/v1/subscriptions/" + sub_id(i));
  }

  auto matches = [](int i, int k, int seq) {
    switch (i % 5) {
      case 0:
        return true;
      case 1:
        return k == i % kEntities;
      case 2:
        return k >= 10;
      case 3:
        return k % 5 == 2;
      default:
        return seq > 1000;
    }
  };
  std::multiset<std::string> expected;
  for (int j = 0; j < kUpdates; ++j) {
    for (int i = 0; i < kSubs; ++i) {
      if (matches(i, j % kEntities, j)) {
        expected.insert(sub_id(i) + "|urn:ngsi-ld:Sensor:" + std::to_string(j % kEntities) + "|" +
                        std::to_string(j));
      }
    }
  }

  auto start = Clock::now();
  for (int b = 0; b < kUpdates / kBatch; ++b) {
    std::string body = "[";
    for (int j = b * kBatch; j < (b + 1) * kBatch; ++j) {
      int k = j % kEntities;
      if (j != b * kBatch) body += ",";
      body += R"({"id":"urn:ngsi-ld:Sensor:)" + std::to_string(k) +
              R"(","type":"Sensor","seq":{"type":"Property","value":)" + std::to_string(j) +
              R"(},"group":{"type":"Property","value":)" + std::to_string(k % 5) + "}}";
    }
    body += "]";
    auto r = c().Post("/ngsi-ld/v1/entityOperations/upsert", body);
    ASSERT_TRUE(r.status == 201 || r.status == 204) << r.status << " " << r.body;
  }
  auto acked = Clock::now();

  // Count data items as they come; stop when all expected arrived.
  size_t want = expected.size();
  bool all = rx.WaitForItems(want, std::chrono::seconds(120));
  auto done = Clock::now();
  // Anything extra would show up now.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto got = rx.Received();

  std::multiset<std::string> seen;
  std::map<std::string, int> last_seq;  // per subscription|entity: order check
  int out_of_order = 0;
  for (const auto& g : got) {
    EXPECT_EQ(g.content_type, "application/json");
    EXPECT_NE(g.link.find("ngsi-ld-core-context"), std::string::npos);
    JsonValue n = Json(g.body);
    ASSERT_TRUE(n.is_object());
    EXPECT_EQ(n.Find("type")->as_string(), "Notification");
    EXPECT_EQ(n.Find("id")->as_string().rfind("urn:ngsi-ld:Notification:", 0), 0u);
    EXPECT_TRUE(ParseIso8601(n.Find("notifiedAt")->as_string()).ok());
    const std::string& sid = n.Find("subscriptionId")->as_string();
    int i = std::stoi(sid.substr(sid.rfind('-') + 1));
    EXPECT_EQ(g.target, "/notify/" + std::to_string(i));
    for (const auto& e : n.Find("data")->as_array()) {
      const JsonValue* seq = e.Find("seq");
      ASSERT_NE(seq, nullptr) << g.body;
      int v;
      if (i % 5 == 4) {
        ASSERT_TRUE(seq->is_int()) << "keyValues expected: " << g.body;
        v = static_cast<int>(seq->as_int());
        EXPECT_EQ(e.Find("group"), nullptr) << "projected to seq only";
      } else {
        v = static_cast<int>(seq->Find("value")->as_int());
        EXPECT_NE(e.Find("group"), nullptr);
      }
      std::string key = sid + "|" + e.Find("id")->as_string();
      auto it = last_seq.find(key);
      if (it != last_seq.end() && it->second >= v) ++out_of_order;
      last_seq[key] = v;
      seen.insert(key + "|" + std::to_string(v));
    }
  }
  size_t missing = 0;
  size_t duplicated = 0;
  size_t unexpected = 0;
  for (auto it = expected.begin(); it != expected.end(); it = expected.upper_bound(*it)) {
    size_t n = seen.count(*it);
    if (n == 0) ++missing;
    if (n > 1) duplicated += n - 1;
  }
  for (auto it = seen.begin(); it != seen.end(); it = seen.upper_bound(*it)) {
    if (expected.count(*it) == 0) unexpected += seen.count(*it);
  }
  double ingest_s = std::chrono::duration<double>(acked - start).count();
  double total_s = std::chrono::duration<double>(done - start).count();
  std::printf(
      "[ zero-loss ] %d updates, %d subscriptions: %zu expected entity notifications "
      "in %zu HTTP notifications over %d connections; ingest %.2f s, all delivered "
      "after %.2f s; missing %zu, duplicated %zu, unexpected %zu, out of order %d\n",
      kUpdates, kSubs, want, got.size(), rx.connections(), ingest_s, total_s, missing, duplicated,
      unexpected, out_of_order);
  std::fflush(stdout);
  EXPECT_TRUE(all) << "timed out";
  EXPECT_EQ(seen.size(), want);
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(unexpected, 0u);
  EXPECT_EQ(out_of_order, 0);

  // Metrics: the queue gauge and the counters, consistent with what the receiver saw.
  auto m = c().Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(Metric(m.body, "citybrain_notification_queue"), 0) << m.body;
  EXPECT_EQ(Metric(m.body, "citybrain_notifications_sent_total"), static_cast<double>(got.size()));
  EXPECT_EQ(Metric(m.body, "citybrain_notifications_failed_total"), 0);
  EXPECT_EQ(Metric(m.body, "citybrain_notifications_dropped_total"), 0);
  EXPECT_GE(Metric(m.body, "citybrain_notification_retries_total"), 0);

  // Delivery status per subscription.
  auto list = c().Get("/ngsi-ld/v1/subscriptions?limit=100&count=true");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Header("NGSILD-Results-Count"), "50");
  JsonValue subs = Json(list.body);
  ASSERT_EQ(subs.as_array().size(), 50u);
  std::map<std::string, int64_t> sent_before;
  int64_t total_sent = 0;
  for (const auto& s : subs.as_array()) {
    EXPECT_EQ(s.Find("status")->as_string(), "active");
    const JsonValue* n = s.Find("notification");
    EXPECT_GT(n->Find("timesSent")->as_int(), 0) << s.Dump();
    EXPECT_EQ(n->Find("timesFailed")->as_int(), 0);
    EXPECT_EQ(n->Find("status")->as_string(), "ok");
    EXPECT_NE(n->Find("lastSuccess"), nullptr);
    sent_before[s.Find("id")->as_string()] = n->Find("timesSent")->as_int();
    total_sent += n->Find("timesSent")->as_int();
  }
  EXPECT_EQ(total_sent, static_cast<int64_t>(got.size()));

  // Subscriptions and their delivery counters survive a restart.
  client_.reset();
  ASSERT_TRUE(WIFEXITED(server_->Stop(SIGTERM))) << server_->Log();
  ASSERT_TRUE(server_->Start(server_->port())) << server_->Log();
  client_.emplace(server_->Client());
  list = c().Get("/ngsi-ld/v1/subscriptions?limit=100");
  ASSERT_EQ(list.status, 200);
  subs = Json(list.body);
  ASSERT_EQ(subs.as_array().size(), 50u);
  for (const auto& s : subs.as_array()) {
    EXPECT_EQ(s.Find("notification")->Find("timesSent")->as_int(),
              sent_before[s.Find("id")->as_string()]);
  }
}

TEST_F(SubscriptionsIT, SubscriptionCrudAndErrors) {
  const std::string base = "/ngsi-ld/v1/subscriptions";
  std::string ok = SubscriptionBody("urn:ngsi-ld:Subscription:crud",
                                    R"("entities":[{"type":"Sensor"}],"futureMember":1)",
                                    "http://127.0.0.1:9/n");
  auto r = c().Post(base, ok);
  ASSERT_EQ(r.status, 201) << r.body;
  r = c().Post(base, ok);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("AlreadyExists"), std::string::npos);

  // A generated id.
  r = c().Post(base, R"({"type":"Subscription","watchedAttributes":["speed"],
                        "notification":{"endpoint":{"uri":"http://127.0.0.1:9/n"}}})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string loc = r.Header("Location");
  EXPECT_EQ(loc.rfind(base + "/urn:ngsi-ld:Subscription:", 0), 0u) << loc;
  EXPECT_EQ(c().Get(loc).status, 200);

  struct Bad {
    std::string body;
    int status;
    std::string type;
  };
  std::vector<Bad> bad = {
      {R"({"type":"Subscription","entities":[{"type":"A"}]})", 400, "BadRequestData"},
      {R"({"type":"Subscription","notification":{"endpoint":{"uri":"http://h/"}}})", 400,
       "BadRequestData"},
      {SubscriptionBody("urn:x:1", R"("entities":[{"type":"A"}],"q":"a>>")", "http://h/"), 400,
       "InvalidRequest"},
      {SubscriptionBody("urn:x:2", R"("entities":[{"type":"A"}])", "https://h/"), 422,
       "OperationNotSupported"},
      {SubscriptionBody("urn:x:3", R"("entities":[{"type":"A"}])", "gopher://h/"), 400,
       "BadRequestData"},
      {SubscriptionBody("not a uri", R"("entities":[{"type":"A"}])", "http://h/"), 400,
       "BadRequestData"},
      {"{not json", 400, "InvalidRequest"},
  };
  for (const auto& b : bad) {
    r = c().Post(base, b.body);
    EXPECT_EQ(r.status, b.status) << b.body << " → " << r.body;
    EXPECT_NE(r.body.find(b.type), std::string::npos) << b.body << " → " << r.body;
  }
  r = c().Post(base, ok, "text/plain");
  EXPECT_EQ(r.status, 415) << r.body;

  std::string one = base + "/urn:ngsi-ld:Subscription:crud";
  r = c().Get(one);
  ASSERT_EQ(r.status, 200);
  JsonValue s = Json(r.body);
  EXPECT_EQ(s.Find("status")->as_string(), "active");
  EXPECT_EQ(s.Find("futureMember"), nullptr);
  EXPECT_EQ(s.Find("notification")->Find("timesSent")->as_int(), 0);

  r = c().Patch(one, R"({"isActive":false,"q":"speed>3"})");
  EXPECT_EQ(r.status, 204) << r.body;
  s = Json(c().Get(one).body);
  EXPECT_EQ(s.Find("status")->as_string(), "paused");
  EXPECT_EQ(s.Find("q")->as_string(), "speed>3");
  r = c().Patch(one, R"({"q":"speed>>"})");
  EXPECT_EQ(r.status, 400);
  r = c().Patch(base + "/urn:ngsi-ld:Subscription:none", R"({"isActive":true})");
  EXPECT_EQ(r.status, 404);

  r = c().Get(base + "?limit=1&offset=1&count=true");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("NGSILD-Results-Count"), "2");
  EXPECT_EQ(Json(r.body).as_array().size(), 1u);
  EXPECT_EQ(c().Get(base + "?limit=5000").status, 403);
  EXPECT_EQ(c().Get(base + "?limit=x").status, 400);

  EXPECT_EQ(c().Delete(one).status, 204);
  EXPECT_EQ(c().Get(one).status, 404);
  EXPECT_EQ(c().Delete(one).status, 404);
  EXPECT_EQ(c().Get(base + "/not%20a%20uri").status, 400);

  // Without a key: refused.
  r = c().Request(http::verb::get, base, "", "application/json", {}, false);
  EXPECT_EQ(r.status, 401);
}

TEST_F(SubscriptionsIT, RetriesThenSucceedsAndCountsFailures) {
  Receiver flaky(/*fail_first=*/2);
  int dead_port = FreePort();  // nothing listens there
  auto r = c().Post("/ngsi-ld/v1/subscriptions",
                    SubscriptionBody("urn:ngsi-ld:Subscription:flaky",
                                     R"("entities":[{"type":"Probe"}])", flaky.Url("/n")));
  ASSERT_EQ(r.status, 201) << r.body;
  r = c().Post("/ngsi-ld/v1/subscriptions",
               SubscriptionBody("urn:ngsi-ld:Subscription:dead", R"("entities":[{"type":"Probe"}])",
                                "http://127.0.0.1:" + std::to_string(dead_port) + "/n"));
  ASSERT_EQ(r.status, 201) << r.body;
  r = c().Post(
      "/ngsi-ld/v1/entityOperations/upsert",
      R"([{"id":"urn:ngsi-ld:Probe:1","type":"Probe","v":{"type":"Property","value":1}}])");
  ASSERT_EQ(r.status, 201) << r.body;

  ASSERT_TRUE(
      flaky.WaitFor([](const auto& got) { return got.size() >= 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(flaky.requests(), 3);  // two 503s, then delivered

  // The dead endpoint fails after its retries (back-off 200 + 400 + 800 ms).
  JsonValue dead;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    dead = Json(c().Get("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:dead").body);
    if (dead.Find("notification")->Find("timesFailed")->as_int() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const JsonValue* n = dead.Find("notification");
  EXPECT_EQ(n->Find("timesFailed")->as_int(), 1) << dead.Dump();
  EXPECT_EQ(n->Find("timesSent")->as_int(), 1);
  EXPECT_EQ(n->Find("status")->as_string(), "failed");
  EXPECT_NE(n->Find("lastFailure"), nullptr);

  JsonValue flaky_sub =
      Json(c().Get("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:flaky").body);
  EXPECT_EQ(flaky_sub.Find("notification")->Find("timesSent")->as_int(), 1);
  EXPECT_EQ(flaky_sub.Find("notification")->Find("timesFailed")->as_int(), 0);
  EXPECT_EQ(flaky_sub.Find("notification")->Find("status")->as_string(), "ok");

  auto m = c().Get("/metrics");
  EXPECT_EQ(Metric(m.body, "citybrain_notifications_sent_total"), 1);
  EXPECT_EQ(Metric(m.body, "citybrain_notifications_failed_total"), 1);
  EXPECT_EQ(Metric(m.body, "citybrain_notification_retries_total"), 2 + 3);
}

// ------------------------------------------------------------------ WebSocket stream


TEST_F(SubscriptionsIT, EntityStreamPushesFilteredChanges) {
  WsClient ws(server_->port(), server_->admin_key(),
              "/ws/entities?type=Sensor&q=seq%3E5&options=keyValues");
  auto hello = ws.Read(std::chrono::seconds(10));
  ASSERT_TRUE(hello);
  JsonValue h = Json(*hello);
  EXPECT_EQ(h.Find("type")->as_string(), "subscribed");
  EXPECT_EQ(h.Find("filter")->Find("q")->as_string(), "seq>5");

  auto upsert = [&](const std::string& id, const std::string& type, int seq) {
    auto r = c().Post("/ngsi-ld/v1/entityOperations/upsert",
                      R"([{"id":")" + id + R"(","type":")" + type +
                          R"(","seq":{"type":"Property","value":)" + std::to_string(seq) + "}}]");
    ASSERT_TRUE(r.status == 201 || r.status == 204) << r.body;
  };
  upsert("urn:ngsi-ld:Parking:1", "Parking", 9);  // other type
  upsert("urn:ngsi-ld:Sensor:1", "Sensor", 3);    // q does not match
  upsert("urn:ngsi-ld:Sensor:1", "Sensor", 7);    // this one
  auto msg = ws.Read(std::chrono::seconds(10));
  ASSERT_TRUE(msg);
  JsonValue m = Json(*msg);
  EXPECT_EQ(m.Find("type")->as_string(), "changes");
  const auto& changes = m.Find("changes")->as_array();
  ASSERT_EQ(changes.size(), 1u) << *msg;
  EXPECT_EQ(changes[0].Find("change")->as_string(), "updated");
  EXPECT_EQ(changes[0].Find("entity")->Find("id")->as_string(), "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(changes[0].Find("entity")->Find("seq")->as_int(), 7);  // keyValues

  // Deletions are streamed too.
  EXPECT_EQ(c().Delete("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1").status, 204);
  msg = ws.Read(std::chrono::seconds(10));
  ASSERT_TRUE(msg);
  m = Json(*msg);
  EXPECT_EQ(m.Find("changes")->as_array()[0].Find("change")->as_string(), "deleted");

  // Many updates in a burst all arrive (the client keeps up), in order.
  std::string batch = "[";
  for (int i = 0; i < 200; ++i) {
    batch += std::string(i ? "," : "") + R"({"id":"urn:ngsi-ld:Sensor:b)" + std::to_string(i) +
             R"(","type":"Sensor","seq":{"type":"Property","value":)" + std::to_string(10 + i) +
             "}}";
  }
  batch += "]";
  for (int k = 0; k < 5; ++k) {
    ASSERT_EQ(c().Post("/ngsi-ld/v1/entityOperations/upsert", batch).status, k ? 204 : 201);
  }
  int entities = 0;
  while (entities < 1000) {
    auto next = ws.Read(std::chrono::seconds(10));
    ASSERT_TRUE(next) << "after " << entities;
    entities += static_cast<int>(Json(*next).Find("changes")->as_array().size());
  }
  EXPECT_EQ(entities, 1000);

  // Without a key the upgrade is refused; a bad q is reported, then the server closes.
  EXPECT_ANY_THROW({ WsClient anonymous(server_->port(), "", "/ws/entities"); });
  WsClient bad(server_->port(), server_->admin_key(), "/ws/entities?q=seq%3E%3E");
  auto err = bad.Read(std::chrono::seconds(10));
  ASSERT_TRUE(err);
  EXPECT_EQ(Json(*err).Find("type")->as_string(), "error");
  EXPECT_FALSE(bad.Read(std::chrono::seconds(10)));

  auto metrics = c().Get("/metrics");
  EXPECT_NE(metrics.body.find("citybrain_stream_clients"), std::string::npos);
}

// Browsers cannot set headers on an upgrade: they offer the key as a subprotocol, and the
// server must answer with the protocol it speaks (never echo the key).
TEST_F(SubscriptionsIT, EntityStreamTakesTheKeyAsASubprotocol) {
  const std::string key = server_->admin_key();
  WsClient browser(server_->port(), "", "/ws/entities?type=Sensor",
                   "citybrain.v1, citybrain.key." + key);
  EXPECT_EQ(browser.accepted_protocol(), "citybrain.v1");
  auto hello = browser.Read(std::chrono::seconds(10));
  ASSERT_TRUE(hello);
  EXPECT_EQ(Json(*hello).Find("type")->as_string(), "subscribed");

  // A wrong key, or our protocol without any key, is refused.
  EXPECT_ANY_THROW({
    WsClient wrong(server_->port(), "", "/ws/entities", "citybrain.v1, citybrain.key.cbk_x_y");
  });
  EXPECT_ANY_THROW({ WsClient none(server_->port(), "", "/ws/entities", "citybrain.v1"); });
}

}  // namespace
}  // namespace cb::testing
