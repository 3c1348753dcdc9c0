// Integration tests of MqttBridge against a real Mosquitto broker (started by each test on a
// free loopback port) and a real ContextBroker on an SQLite store in a temp directory.

#include "ingest/mqtt_bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mqtt/async_client.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "context/broker.h"
#include "core/metrics.h"
#include "geo/geometry.h"
#include "gtest/gtest.h"
#include "store/store.h"

namespace cb::ingest {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// Polls `done` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, milliseconds timeout = milliseconds(30000)) {
  auto end = Steady::now() + timeout;
  while (Steady::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

// A private mosquitto: `listener <port> 127.0.0.1`, anonymous, no persistence.
class Mosquitto {
 public:
  Mosquitto(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  ~Mosquitto() { Kill(); }

  // Starts it and waits until it accepts connections; "" or the reason it did not.
  std::string Start() {
    std::string conf = dir_ + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << "allow_anonymous true\npersistence false\nlog_dest stderr\n"
                        << "max_queued_messages 100000\n";
    std::string log = dir_ + "/mosquitto.log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(kMosquitto, "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ < 0) return "fork failed";
    for (int i = 0; i < 500; ++i) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        return "mosquitto exited: " + ss.str();
      }
      if (Accepts(port_)) return "";
      std::this_thread::sleep_for(milliseconds(10));
    }
    return "mosquitto did not accept connections on port " + std::to_string(port_);
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

// Publishes with QoS 1 and waits for every PUBACK.
class Publisher {
 public:
  explicit Publisher(const std::string& url, const std::string& id = "cb-test-publisher")
      : client_(url, id, 1000000, static_cast<mqtt::iclient_persistence*>(nullptr)) {
    // (Connecting takes up to a second when another Paho client runs in the process: the
    // library's receive thread notices the new socket on its next poll.)
    client_.connect(mqtt::connect_options_builder().clean_session(true).finalize())->wait();
  }
  ~Publisher() {
    try {
      client_.disconnect()->wait();
    } catch (const mqtt::exception&) {
    }
  }
  void Publish(const std::string& topic, const std::string& payload, bool retained = false) {
    tokens_.push_back(client_.publish(topic, payload.data(), payload.size(), 1, retained));
    if (tokens_.size() >= 500) Flush();
  }
  void Flush() {
    for (auto& t : tokens_) t->wait();
    tokens_.clear();
  }

 private:
  mqtt::async_client client_;
  std::vector<mqtt::delivery_token_ptr> tokens_;
};

constexpr const char* kDevices = R"({"devices": [
  {"apiKey": "hz", "deviceId": "cam1", "entityType": "CrowdFlowObserved",
   "entityId": "urn:ngsi-ld:CrowdFlowObserved:hubin-1",
   "attributes": {"c": "peopleCount", "t": {"name": "temperature", "unitCode": "CEL"}},
   "staticAttributes": {"location": {"type": "Point", "coordinates": [120.15, 30.25]},
                        "name": "Hubin"}},
  {"apiKey": "hz", "deviceId": "lot1", "entityType": "OffStreetParking", "strict": true,
   "attributes": {"a": "availableSpotNumber", "n": "totalSpotNumber"}},
  {"apiKey": "hz", "deviceId": "gps1", "entityType": "Vehicle", "datum": "gcj02"},
  {"apiKey": "hz", "deviceId": "victim", "entityType": "Device"}
]})";

// The burst devices: hz/burst-0 .. hz/burst-49.
constexpr int kBurstDevices = 50;

DeviceTable TestDevices() {
  auto doc = ParseJson(kDevices);
  EXPECT_TRUE(doc.ok());
  for (int i = 0; i < kBurstDevices; ++i) {
    JsonValue d = JsonValue::MakeObject();
    d.Set("apiKey", "hz");
    d.Set("deviceId", "burst-" + std::to_string(i));
    d.Set("entityType", "CrowdFlowObserved");
    d.Set("attributes", JsonValue(JsonValue::Object{{"c", JsonValue("peopleCount")}}));
    doc->Find("devices")->Push(std::move(d));
  }
  auto t = ParseDeviceTable(*doc);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

class MqttBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kMosquitto, X_OK) != 0) {
      GTEST_SKIP() << kMosquitto << " is not installed (apt-get install mosquitto, or run "
                   << "scripts/setup.sh); skipping the MQTT integration tests";
    }
    char tmpl[] = "/tmp/cb_mqtt_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string err;
    for (int attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile
      mosquitto_ = std::make_unique<Mosquitto>(dir_, FreePort());
      err = mosquitto_->Start();
      if (err.empty()) break;
    }
    ASSERT_EQ(err, "");
    OpenBroker();
  }

  void OpenBroker(context::BrokerOptions options = {}) {
    bridge_.reset();
    broker_.reset();
    if (store_) store_->Close();
    store::StoreOptions so;
    so.path = dir_ + "/citybrain.db";
    auto s = store::OpenSqliteStore(so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    broker_ =
        std::make_unique<context::ContextBroker>(store_.get(), SystemClock::Instance(), options);
    ASSERT_TRUE(broker_->Load().ok());
  }

  void TearDown() override {
    bridge_.reset();
    broker_.reset();
    if (store_) store_->Close();
    store_.reset();
    mosquitto_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  MqttBridge* StartBridge(MqttBridgeOptions o = {}) {
    o.url = mosquitto_->url();
    o.client_id = "citybrain-test";
    bridge_ = std::make_unique<MqttBridge>(o, TestDevices(), broker_.get(), &metrics_);
    Status st = bridge_->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return bridge_.get();
  }

  // Waits until `n` messages have reached a final result (written, rejected, ...).
  bool WaitSettled(uint64_t n) {
    return WaitFor([&] {
      MqttStats s = bridge_->Stats();
      return s.written + s.rejected + s.dropped + s.failed + s.by_result["retained"] >= n &&
             s.queue_depth == 0;
    });
  }

  JsonValue Value(const std::string& id, const std::string& attr) {
    context::EntityPtr e = broker_->Get(id);
    if (e == nullptr) return JsonValue("<no entity>");
    const context::Attribute* a = e->Find(attr);
    return a != nullptr ? a->value : JsonValue("<no attribute>");
  }

  std::string dir_;
  std::unique_ptr<Mosquitto> mosquitto_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<context::ContextBroker> broker_;
  metrics::Registry metrics_;
  std::unique_ptr<MqttBridge> bridge_;
};

TEST_F(MqttBridgeTest, EveryFormEndToEnd) {
  MqttBridge* bridge = StartBridge();
  EXPECT_TRUE(bridge->Stats().connected);
  const geo::LonLat wgs{120.1551, 30.2741};
  const geo::LonLat gcj = geo::Wgs84ToGcj02(wgs);
  {
    Publisher pub(mosquitto_->url());
    pub.Publish("/json/hz/cam1/attrs", R"({"c": 120, "t": 21.5})");
    pub.Publish("json/hz/lot1/attrs", R"({"a": 40, "n": 412})");
    pub.Publish("/json/hz/lot1/attrs/a", "39");
    pub.Publish("json/hz/cam1/attrs/status", "crowded");
    pub.Publish("/json/hz/cam1/attrs",
                R"([{"ts": 1700000000000, "values": {"c": 130}},
                    {"ts": 1700000060000, "values": {"c": 140}}])");
    pub.Publish("/json/hz/gps1/attrs",
                R"({"ts": 1700000000000, "values": {"location": {"type": "Point",
                    "coordinates": [)" +
                    std::to_string(gcj.lon) + ", " + std::to_string(gcj.lat) + "]}}}");
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(6));
  MqttStats s = bridge->Stats();
  EXPECT_EQ(s.received, 6u);
  EXPECT_EQ(s.written, 6u);
  EXPECT_EQ(s.rejected, 0u);

  context::EntityPtr cam = broker_->Get("urn:ngsi-ld:CrowdFlowObserved:hubin-1");
  ASSERT_NE(cam, nullptr);
  EXPECT_EQ(cam->type(), "CrowdFlowObserved");
  EXPECT_EQ(cam->Find("peopleCount")->value, JsonValue(140));
  EXPECT_EQ(cam->Find("peopleCount")->observed_at, 1700000060000);
  EXPECT_EQ(cam->Find("temperature")->value, JsonValue(21.5));
  EXPECT_EQ(cam->Find("temperature")->unit_code, "CEL");
  EXPECT_EQ(cam->Find("status")->value, JsonValue("crowded"));
  ASSERT_NE(cam->Find("location"), nullptr);
  EXPECT_EQ(cam->Find("location")->kind, context::AttrKind::kGeoProperty);
  EXPECT_EQ(cam->Find("name")->value, JsonValue("Hubin"));

  EXPECT_EQ(Value("urn:ngsi-ld:OffStreetParking:lot1", "availableSpotNumber"), JsonValue(39));
  EXPECT_EQ(Value("urn:ngsi-ld:OffStreetParking:lot1", "totalSpotNumber"), JsonValue(412));

  context::EntityPtr gps = broker_->Get("urn:ngsi-ld:Vehicle:gps1");
  ASSERT_NE(gps, nullptr);
  ASSERT_NE(gps->Find("location"), nullptr);
  ASSERT_NE(gps->Find("location")->geometry, nullptr);
  geo::LonLat got = gps->Find("location")->geometry->FirstPoint();
  EXPECT_NEAR(got.lon, wgs.lon, 1e-5);
  EXPECT_NEAR(got.lat, wgs.lat, 1e-5);

  // Both ThingsBoard readings are in the history, at their own times.
  store::HistoryQuery hq;
  hq.entity_id = "urn:ngsi-ld:CrowdFlowObserved:hubin-1";
  hq.attrs = {"peopleCount"};
  auto h = broker_->History(hq);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<TimeMs> times;
  for (const auto& r : *h) times.push_back(r.observed_at);
  EXPECT_EQ(times.size(), 3u);
  EXPECT_NE(std::find(times.begin(), times.end(), 1700000000000), times.end());
  EXPECT_NE(std::find(times.begin(), times.end(), 1700000060000), times.end());

  // The static attributes are written once, when the entity is created.
  hq.attrs = {"name"};
  auto hn = broker_->History(hq);
  ASSERT_TRUE(hn.ok());
  EXPECT_EQ(hn->size(), 1u);

  std::string text = metrics_.Render();
  EXPECT_NE(text.find("citybrain_mqtt_messages_total{result=\"written\"} 6"), std::string::npos)
      << text;
}

TEST_F(MqttBridgeTest, BurstWithMalformedMessagesInBetween) {
  MqttBridge* bridge = StartBridge();
  constexpr int kMessages = 5000;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/json/hz/burst-0/attrs", R"({"c": 999999, "t": null})"},
      {"/json/hz/burst-1/attrs", R"({"c": 999999,)"},
      {"/json/hz/burst-2/attrs", "[1, 2, 3]"},
      {"/json/hz/burst-3/attrs", R"({"c": 999999, "location": {"type": "Point",
                                   "coordinates": [500, 0]}})"},
      {"/json/hz/burst-4/attrs", R"([{"c": 999999}, {"ts": "now", "values": {"c": 1}}])"},
      {"/json/hz/lot1/attrs", R"({"a": 999999, "unknown": 1})"},
      {"/json/hz/victim/attrs", R"({"c": null})"},
      {"/json/hz/victim/attrs", R"({"location": {"type": "Point", "coordinates": [0, 91]}})"},
      {"/json/hz/nobody/attrs", R"({"c": 999999})"},
      {"/json/nokey/burst-0/attrs", R"({"c": 999999})"},
      {"/json/hz/burst-5/attrs/c", "null"},
      {"/json/hz/burst-6/attrs", "{\"c\": " + std::string(40, '[') + std::string(40, ']') + "}"},
  };
  std::vector<int> last(kBurstDevices, -1);
  std::vector<int> sent(kBurstDevices, 0);
  size_t bad_sent = 0;
  Steady::time_point start;
  {
    Publisher pub(mosquitto_->url());
    start = Steady::now();
    for (int i = 0; i < kMessages; ++i) {
      int dev = i % kBurstDevices;
      pub.Publish("/json/hz/burst-" + std::to_string(dev) + "/attrs",
                  R"({"c": )" + std::to_string(i) + "}");
      last[dev] = i;
      ++sent[dev];
      if (i % 100 == 50) {
        const auto& b = bad[bad_sent % bad.size()];
        pub.Publish(b.first, b.second);
        ++bad_sent;
      }
    }
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(kMessages + bad_sent)) << bridge->Stats().written;
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  MqttStats s = bridge->Stats();
  std::printf(
      "[ burst    ] %d messages (+%zu malformed) written in %.2f s: %.0f messages/s, "
      "%lu broker writes\n",
      kMessages, bad_sent, secs, kMessages / secs, static_cast<unsigned long>(s.batches));
  EXPECT_EQ(s.written, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(s.rejected, bad_sent);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.received, kMessages + bad_sent);
  EXPECT_LT(s.batches, static_cast<uint64_t>(kMessages));  // writes were grouped
  EXPECT_GE(s.by_result["invalid_json"], 1u);
  EXPECT_GE(s.by_result["null_value"], 1u);
  EXPECT_GE(s.by_result["bad_coordinates"], 1u);
  EXPECT_GE(s.by_result["unknown_device"], 1u);
  EXPECT_GE(s.by_result["unknown_api_key"], 1u);
  EXPECT_GE(s.by_result["unknown_attribute"], 1u);
  EXPECT_GE(s.by_result["too_deep"], 1u);

  for (int dev = 0; dev < kBurstDevices; ++dev) {
    std::string id = "urn:ngsi-ld:CrowdFlowObserved:burst-" + std::to_string(dev);
    // In order: the last value published is the one kept.
    EXPECT_EQ(Value(id, "peopleCount"), JsonValue(last[dev])) << id;
    context::EntityPtr e = broker_->Get(id);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->Find("t"), nullptr) << id;
    EXPECT_EQ(e->Find("location"), nullptr) << id;
    store::HistoryQuery hq;
    hq.entity_id = id;
    auto h = broker_->History(hq);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->size(), static_cast<size_t>(sent[dev])) << id;  // nothing from bad messages
    for (const auto& r : *h) EXPECT_EQ(r.value.find("999999"), std::string::npos) << id;
  }
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:Device:victim"), nullptr);
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:OffStreetParking:lot1"), nullptr);
}

// The bridge's MQTT session outlives a restart (clean_session=false): what devices publish
// while it is down is delivered when it comes back. This also measures how fast the bridge
// drains a backlog, without a publisher in the loop.
TEST_F(MqttBridgeTest, MessagesPublishedWhileStoppedArriveOnRestart) {
  MqttBridge* bridge = StartBridge();
  bridge->Stop();
  constexpr int kMessages = 5000;
  {
    Publisher pub(mosquitto_->url());
    for (int i = 0; i < kMessages; ++i) {
      pub.Publish("/json/hz/burst-" + std::to_string(i % kBurstDevices) + "/attrs",
                  R"({"c": )" + std::to_string(i) + "}");
    }
    pub.Flush();
  }
  auto start = Steady::now();
  ASSERT_TRUE(bridge->Start().ok());
  ASSERT_TRUE(WaitSettled(kMessages)) << bridge->Stats().written;
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  MqttStats s = bridge->Stats();
  std::printf(
      "[ backlog  ] %d queued messages drained in %.2f s: %.0f messages/s, "
      "%lu broker writes\n",
      kMessages, secs, kMessages / secs, static_cast<unsigned long>(s.batches));
  EXPECT_EQ(s.written, static_cast<uint64_t>(kMessages));
  for (int dev = 0; dev < kBurstDevices; ++dev) {
    EXPECT_EQ(Value("urn:ngsi-ld:CrowdFlowObserved:burst-" + std::to_string(dev), "peopleCount"),
              JsonValue(kMessages - kBurstDevices + dev));
  }
}

TEST_F(MqttBridgeTest, RetriesWhenTheStoreIsBehind) {
  context::BrokerOptions bo;
  bo.max_pending_rows = 1;  // refuse writes whenever anything is waiting for a commit
  OpenBroker(bo);
  MqttBridgeOptions o;
  o.max_batch = 50;
  MqttBridge* bridge = StartBridge(o);
  constexpr int kMessages = 2000;
  {
    Publisher pub(mosquitto_->url());
    for (int i = 0; i < kMessages; ++i) {
      pub.Publish("/json/hz/burst-" + std::to_string(i % kBurstDevices) + "/attrs",
                  R"({"c": )" + std::to_string(i) + "}");
    }
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(kMessages));
  MqttStats s = bridge->Stats();
  EXPECT_EQ(s.written, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(s.failed, 0u);
  for (int dev = 0; dev < kBurstDevices; ++dev) {
    int last = kMessages - kBurstDevices + dev;
    EXPECT_EQ(Value("urn:ngsi-ld:CrowdFlowObserved:burst-" + std::to_string(dev), "peopleCount"),
              JsonValue(last));
  }
}

TEST_F(MqttBridgeTest, StopWritesEverythingQueued) {
  MqttBridgeOptions o;
  o.linger_ms = 200;  // keep messages in the queue for a while
  o.max_batch = 100000;
  MqttBridge* bridge = StartBridge(o);
  constexpr int kMessages = 1000;
  {
    Publisher pub(mosquitto_->url());
    for (int i = 0; i < kMessages; ++i) {
      pub.Publish("/json/hz/burst-" + std::to_string(i % kBurstDevices) + "/attrs",
                  R"({"c": )" + std::to_string(i) + "}");
    }
    pub.Flush();
  }
  ASSERT_TRUE(WaitFor([&] { return bridge->Stats().received == kMessages; }));
  bridge->Stop();
  MqttStats s = bridge->Stats();
  EXPECT_EQ(s.written, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_FALSE(s.connected);
  // Committed: a fresh broker on the same store file sees it all.
  bridge_.reset();
  OpenBroker();
  EXPECT_EQ(Value("urn:ngsi-ld:CrowdFlowObserved:burst-7", "peopleCount"),
            JsonValue(kMessages - kBurstDevices + 7));
}

TEST_F(MqttBridgeTest, FullQueueDropsAndCounts) {
  MqttBridgeOptions o;
  o.max_queue = 1;
  o.linger_ms = 100;
  MqttBridge* bridge = StartBridge(o);
  constexpr int kMessages = 300;
  {
    Publisher pub(mosquitto_->url());
    for (int i = 0; i < kMessages; ++i) {
      pub.Publish("/json/hz/burst-0/attrs", R"({"c": )" + std::to_string(i) + "}");
    }
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(kMessages));
  MqttStats s = bridge->Stats();
  EXPECT_GT(s.dropped, 0u);
  EXPECT_GT(s.written, 0u);
  EXPECT_EQ(s.written + s.dropped, static_cast<uint64_t>(kMessages));
  std::string text = metrics_.Render();
  EXPECT_NE(
      text.find("citybrain_mqtt_messages_total{result=\"dropped\"} " + std::to_string(s.dropped)),
      std::string::npos);
}

TEST_F(MqttBridgeTest, ReconnectsAndSubscribesAgain) {
  MqttBridge* bridge = StartBridge();
  {
    Publisher pub(mosquitto_->url());
    pub.Publish("/json/hz/burst-0/attrs", R"({"c": 1})");
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(1));
  int port = mosquitto_->port();
  mosquitto_->Kill();
  ASSERT_TRUE(WaitFor([&] { return !bridge->Stats().connected; }, milliseconds(10000)));
  // A new broker process on the same port knows nothing of our subscriptions.
  mosquitto_ = std::make_unique<Mosquitto>(dir_, port);
  ASSERT_EQ(mosquitto_->Start(), "");
  ASSERT_TRUE(WaitFor([&] { return bridge->Stats().connected; }, milliseconds(60000)));
  EXPECT_GE(bridge->Stats().reconnects, 1u);
  // Subscribed again? Publish until a message arrives (the SUBACK may still be on its way).
  ASSERT_TRUE(WaitFor(
      [&] {
        Publisher pub(mosquitto_->url());
        pub.Publish("/json/hz/burst-0/attrs", R"({"c": 2})");
        pub.Flush();
        return WaitFor([&] { return bridge->Stats().written >= 2; }, milliseconds(500));
      },
      milliseconds(20000)));
  EXPECT_EQ(Value("urn:ngsi-ld:CrowdFlowObserved:burst-0", "peopleCount"), JsonValue(2));
}

TEST_F(MqttBridgeTest, RetainedMessagesAreIgnored) {
  {
    Publisher pub(mosquitto_->url());
    pub.Publish("/json/hz/burst-0/attrs", R"({"c": 5})", /*retained=*/true);
    pub.Flush();
  }
  MqttBridge* bridge = StartBridge();
  ASSERT_TRUE(WaitFor([&] { return bridge->Stats().by_result["retained"] == 1; }));
  EXPECT_EQ(bridge->Stats().written, 0u);
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:CrowdFlowObserved:burst-0"), nullptr);
}

TEST_F(MqttBridgeTest, StartFailsClearly) {
  MqttBridgeOptions o;
  o.url = "tcp://127.0.0.1:" + std::to_string(FreePort());  // nobody listens
  o.connect_timeout_ms = 2000;
  MqttBridge unreachable(o, TestDevices(), broker_.get(), nullptr);
  auto t0 = Steady::now();
  Status st = unreachable.Start();
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find(o.url), std::string::npos) << st.ToString();
  EXPECT_LT(Steady::now() - t0, std::chrono::seconds(5));
  unreachable.Stop();

  o.url = "bogus://nowhere";
  MqttBridge bad_url(o, TestDevices(), broker_.get(), nullptr);
  Status st2 = bad_url.Start();
  EXPECT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("bogus://nowhere"), std::string::npos) << st2.ToString();
}

TEST_F(MqttBridgeTest, StartStopStartAgain) {
  MqttBridge* bridge = StartBridge();
  bridge->Stop();
  bridge->Stop();
  ASSERT_TRUE(bridge->Start().ok());
  {
    Publisher pub(mosquitto_->url());
    pub.Publish("/json/hz/burst-9/attrs", R"({"c": 9})");
    pub.Flush();
  }
  ASSERT_TRUE(WaitSettled(1));
  EXPECT_EQ(Value("urn:ngsi-ld:CrowdFlowObserved:burst-9", "peopleCount"), JsonValue(9));
}

}  // namespace
}  // namespace cb::ingest
