// The binary's MQTT path end to end: a real Mosquitto, `citybrain serve --mqtt`, and
// devices publishing with mosquitto_pub, as in the demo.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/json.h"
#include "test_server.h"

namespace cb::testing {
namespace {

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return out;
}

TEST(MqttServerTest, DevicesPublishThroughMosquittoIntoEntities) {
  if (system("command -v mosquitto_pub >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "mosquitto-clients not installed (scripts/setup.sh installs it)";
  }
  std::string src = CITYBRAIN_SOURCE_DIR;
  std::string dir = MakeTempDir("citybrain-mqtt");
  ASSERT_EQ(system((src + "/scripts/mosquitto.sh start " + dir + "/mqtt >/dev/null").c_str()), 0);
  std::string port;
  std::ifstream(dir + "/mqtt/mosquitto.port") >> port;
  ASSERT_FALSE(port.empty());
  {
    ServerProcess server(dir, {"--mqtt", "tcp://127.0.0.1:" + port, "--mqtt-devices",
                               src + "/examples/demo-devices.json"});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto c = server.Client();
    std::string pub = "mosquitto_pub -h 127.0.0.1 -p " + port + " -q 1 ";
    ASSERT_EQ(system((pub + "-t /json/hubin-demo/counter-3/attrs -m '{\"peopleCount\": 5200}'").c_str()), 0);
    ASSERT_EQ(system((pub + "-t json/hubin-demo/lot-b/attrs/free -m 17").c_str()), 0);
    ASSERT_EQ(system((pub + "-t /json/hubin-demo/counter-3/attrs -m '{\"peopleCount\": '").c_str()), 0);
    ASSERT_EQ(system((pub + "-t /json/nobody/counter-3/attrs -m '{\"peopleCount\": 1}'").c_str()), 0);
    std::string counter = "/ngsi-ld/v1/entities/urn:ngsi-ld:CrowdFlowObserved:hubin-counter-3?options=keyValues";
    std::string lot = "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:hubin-lot-b?options=keyValues";
    Response a, b;
    for (int i = 0; i < 100; ++i) {
      a = c.Get(counter);
      b = c.Get(lot);
      if (a.status == 200 && b.status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(a.status, 200) << server.Log();
    ASSERT_EQ(b.status, 200) << server.Log();
    EXPECT_EQ(ParseJson(a.body)->Find("peopleCount")->as_int(), 5200);
    EXPECT_EQ(ParseJson(b.body)->Find("availableSpotNumber")->as_int(), 17);
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
      metrics = c.Get("/metrics").body;
      if (metrics.find("result=\"unknown_api_key\"} 1") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(metrics.find("citybrain_mqtt_messages_total{result=\"written\"} 2"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("result=\"invalid_json\"} 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("result=\"unknown_api_key\"} 1"), std::string::npos) << metrics;
    EXPECT_EQ(WEXITSTATUS(server.Stop(SIGTERM)), 0);
  }
  RunCommand(src + "/scripts/mosquitto.sh stop " + dir + "/mqtt");
  std::filesystem::remove_all(dir);
}

TEST(MqttServerTest, UnreachableBrokerFailsStartupClearly) {
  ServerProcess server("", {"--mqtt", "tcp://127.0.0.1:" + std::to_string(FreePort())});
  EXPECT_FALSE(server.Start());
  EXPECT_NE(server.Log().find("cannot start"), std::string::npos) << server.Log();
}

}  // namespace
}  // namespace cb::testing
