// A small MQTT 3.1.1 publisher for the tools that act as devices (`citybrain sim`): connects
// to a broker, publishes with QoS 1 and waits until the broker has acknowledged each
// message. Built on Paho MQTT C++, as the server's bridge is.
// Thread-safety: one publisher per thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace mqtt {
class async_client;
}  // namespace mqtt

namespace cb::sim {

struct MqttMessage {
  std::string topic;
  std::string payload;
};

class MqttPublisher {
 public:
  // `url`: tcp://host:port. `client_id` must be unique on the broker. kInvalidRequest for a
  // bad URL, kUnavailable when the broker cannot be reached within `timeout_ms`.
  static Result<std::unique_ptr<MqttPublisher>> Connect(const std::string& url,
                                                        const std::string& client_id,
                                                        int timeout_ms = 5000);
  ~MqttPublisher();  // disconnects
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // Publishes every message (QoS 1, not retained) and waits until the broker acknowledged
  // them all. kUnavailable when the broker refuses or does not answer within the timeout.
  Status PublishAll(const std::vector<MqttMessage>& messages);

 private:
  MqttPublisher(std::unique_ptr<mqtt::async_client> client, std::string url, int timeout_ms);
  std::unique_ptr<mqtt::async_client> client_;
  std::string url_;
  int timeout_ms_;
};

}  // namespace cb::sim
