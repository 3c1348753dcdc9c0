#include "sim/mqtt_publisher.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <chrono>

namespace cb::sim {

MqttPublisher::MqttPublisher(std::unique_ptr<mqtt::async_client> client, std::string url,
                             int timeout_ms)
    : client_(std::move(client)), url_(std::move(url)), timeout_ms_(timeout_ms) {}

MqttPublisher::~MqttPublisher() {
  try {
    if (client_->is_connected()) {
      client_->disconnect()->wait_for(std::chrono::milliseconds(timeout_ms_));
    }
  } catch (const std::exception&) {
    // Disconnecting from a broker already gone: nothing left to do.
  }
}

Result<std::unique_ptr<MqttPublisher>> MqttPublisher::Connect(const std::string& url,
                                                              const std::string& client_id,
                                                              int timeout_ms) {
  std::unique_ptr<mqtt::async_client> client;
  try {
    client = std::make_unique<mqtt::async_client>(url, client_id,
                                                  static_cast<mqtt::iclient_persistence*>(nullptr));
  } catch (const std::exception& e) {
    return Status::InvalidRequest("MQTT broker URL '" + url + "': " + e.what());
  }
  const auto timeout = std::chrono::milliseconds(std::max(1, timeout_ms));
  auto options = mqtt::connect_options_builder()
                     .clean_session(true)
                     .keep_alive_interval(std::chrono::seconds(20))
                     .connect_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout) +
                                      std::chrono::seconds(1))
                     .finalize();
  try {
    if (!client->connect(options)->wait_for(timeout + std::chrono::seconds(1))) {
      return Status::Unavailable("cannot connect to the MQTT broker at " + url + ": timed out");
    }
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot connect to the MQTT broker at " + url + ": " + e.what());
  }
  return std::unique_ptr<MqttPublisher>(new MqttPublisher(std::move(client), url, timeout_ms));
}

Status MqttPublisher::PublishAll(const std::vector<MqttMessage>& messages) {
  std::vector<mqtt::delivery_token_ptr> tokens;
  tokens.reserve(messages.size());
  try {
    for (const MqttMessage& m : messages) {
      tokens.push_back(client_->publish(m.topic, m.payload.data(), m.payload.size(), 1, false));
    }
    for (const mqtt::delivery_token_ptr& t : tokens) {
      if (!t->wait_for(std::chrono::milliseconds(timeout_ms_))) {
        return Status::Unavailable("the MQTT broker at " + url_ + " did not acknowledge a message");
      }
    }
  } catch (const std::exception& e) {
    return Status::Unavailable("publishing to the MQTT broker at " + url_ + " failed: " + e.what());
  }
  return Status::Ok();
}

}  // namespace cb::sim
