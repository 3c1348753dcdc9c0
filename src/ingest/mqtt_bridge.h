// MQTT ingestion: MqttBridge subscribes to a Mosquitto (or any MQTT 3.1.1) broker and turns
// device telemetry into NGSI-LD upserts on the ContextBroker.
//
// Topics (the FIWARE IoT Agent JSON family, with or without the leading slash):
//   /json/<apiKey>/<deviceId>/attrs          payload: {"t": 21.5, "c": 120}       (flat)
//                                                     {"ts": <ms>, "values": {...}} (ThingsBoard)
//                                                     [ {...}, {...} ]              (either, many)
//   /json/<apiKey>/<deviceId>/attrs/<attr>   payload: one raw value (JSON, or plain text)
// A DeviceTable (the provisioning file, see ParseDeviceTable and docs/mqtt.md) maps each
// (apiKey, deviceId) to an entity id and type, renames the device's short attribute names,
// adds static attributes and unit codes, and declares the datum of its coordinates (WGS84,
// GCJ-02 or BD-09; stored coordinates are always WGS84).
//
// A message is validated as a whole before anything is written: a bad message writes
// nothing and is counted under its reason in citybrain_mqtt_messages_total{result=...}.
//
// Thread-safety: DeviceTable is immutable once built and safe to read from any thread.
// MessageToWriteOps is a pure function. MqttBridge's methods may be called from any thread;
// Start and Stop must not race with each other.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "context/broker.h"
#include "context/entity.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/status.h"
#include "core/time.h"

namespace mqtt {
class async_client;
}  // namespace mqtt

namespace cb::ingest {

// The datum a device reports coordinates in. Stored coordinates are always WGS84.
enum class Datum : uint8_t { kWgs84, kGcj02, kBd09 };
std::string_view DatumName(Datum d);

struct AttrMapping {
  std::string name;       // the NGSI-LD attribute name
  std::string unit_code;  // UN/CEFACT code added to Properties that carry none; may be empty
};

struct DeviceProvisioning {
  std::string api_key;
  std::string device_id;
  std::string entity_id;  // empty: "urn:ngsi-ld:<entity_type>:<device_id>"
  std::string entity_type;
  // The device's attribute names → attribute. Names not listed pass through unchanged
  // unless `strict` is set, in which case the whole message is rejected.
  std::map<std::string, AttrMapping, std::less<>> attributes;
  bool strict = false;
  // Written when the entity is created (and whenever the entity lacks one of them).
  // Coordinates here are WGS84 (ParseDeviceTable converts them from the device's datum).
  std::vector<context::NamedAttribute> static_attrs;
  Datum datum = Datum::kWgs84;
};

// Provisioned devices by (apiKey, deviceId).
class DeviceTable {
 public:
  // Validates and adds a device (filling in a default entity id). Errors are
  // kBadRequestData, or kAlreadyExists for a duplicate (apiKey, deviceId).
  Status Add(DeviceProvisioning device);
  const DeviceProvisioning* Find(std::string_view api_key, std::string_view device_id) const;
  bool HasApiKey(std::string_view api_key) const;
  size_t size() const { return devices_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, DeviceProvisioning, Hash, std::equal_to<>> devices_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> api_keys_;
};

// Provisioning file format (JSON; unknown members are errors, to catch typos):
// {
//   "devices": [
//     {
//       "apiKey": "hz-crowd",                       required; no '/', '+', '#'
//       "deviceId": "cam-001",                      required; no '/', '+', '#'
//       "entityType": "CrowdFlowObserved",          required
//       "entityId": "urn:ngsi-ld:CrowdFlowObserved:hubin-1",   optional
//       "datum": "gcj02",                           optional: "wgs84" (default), "gcj02", "bd09"
//       "strict": true,                             optional: only listed attributes accepted
//       "attributes": {                             optional: device name → attribute
//         "c": "peopleCount",
//         "t": {"name": "temperature", "unitCode": "CEL"},
//         "humidity": {"unitCode": "P1"}            name defaults to the key
//       },
//       "staticAttributes": {                       optional: NGSI-LD attributes, any form;
//         "location": {"type": "Point", "coordinates": [120.15, 30.25]}   in the device datum
//       }
//     }
//   ]
// }
// Errors are kBadRequestData naming the device and member ("devices[2].entityType: ...").
Result<DeviceTable> ParseDeviceTable(const JsonValue& doc);
// Reads and parses a provisioning file. A missing or unreadable file is kNotFound.
Result<DeviceTable> LoadDeviceTable(const std::string& path);

// What became of one MQTT message; the `result` label of citybrain_mqtt_messages_total.
enum class MessageResult : uint8_t {
  kWritten,           // committed to the store
  kDropped,           // the bridge's queue was full
  kFailed,            // the broker refused or failed the write (after retries)
  kRetained,          // a retained message replayed on subscribe: stale, ignored
  kBadTopic,          // not /json/<apiKey>/<deviceId>/attrs[/<attr>]
  kUnknownApiKey,     // apiKey not provisioned
  kUnknownDevice,     // apiKey known, deviceId not provisioned
  kTooLarge,          // payload, array or attribute count over the limits
  kInvalidJson,       // not parseable (or invalid UTF-8, duplicate keys)
  kTooDeep,           // JSON nested deeper than kMaxJsonDepth
  kNotObject,         // /attrs payload is not an object (or array of objects)
  kEmpty,             // empty payload, object or array
  kNullValue,         // an attribute value is null
  kUnknownAttribute,  // attribute not in a strict device's mapping
  kBadAttributeName,  // attribute name not allowed in NGSI-LD, or reserved
  kBadTimestamp,      // ts / TimeInstant missing the expected type or out of range
  kBadCoordinates,    // coordinates out of range or invalid GeoJSON geometry
  kBadValue,          // any other invalid attribute value
  kCount,
};
std::string_view MessageResultName(MessageResult r);

// Limits on one message.
inline constexpr size_t kMaxPayloadBytes = 256 * 1024;
inline constexpr size_t kMaxJsonDepth = 16;
inline constexpr size_t kMaxArrayItems = 1000;  // ThingsBoard-style arrays
inline constexpr size_t kMaxAttrsPerMessage = 1000;

// One accepted message: one kUpsertUpdate per timestamp (one, except for arrays).
struct MqttWrite {
  const DeviceProvisioning* device = nullptr;  // points into the DeviceTable
  std::vector<context::WriteOp> ops;
  // The first `static_attrs` attributes of ops[0] are the device's static attributes
  // (those the message did not itself carry).
  size_t static_attrs = 0;
};

// Turns one MQTT message into the upserts it asks for, or says why not (and sets `why`,
// when given, to the rejection reason). `now` is the receive time: observedAt for values
// that carry no timestamp. Pure: validates the whole message, writes nothing.
Result<MqttWrite> MessageToWriteOps(const DeviceTable& table, std::string_view topic,
                                    std::string_view payload, TimeMs now,
                                    MessageResult* why = nullptr);

struct MqttBridgeOptions {
  std::string url;  // e.g. tcp://127.0.0.1:1883
  std::string client_id = "citybrain";
  size_t max_queue = 100000;      // messages waiting to be written; beyond: dropped
  size_t max_batch = 1000;        // messages per broker write
  int linger_ms = 5;              // wait this long for a batch to fill
  size_t max_in_flight = 4;       // broker writes awaiting their commit
  int connect_timeout_ms = 5000;  // Start fails after this
  int write_retry_ms = 10000;     // keep retrying writes refused as TooManyRequests
  bool clean_session = false;     // false: the MQTT broker keeps QoS 1 messages for us
  std::string username;           // optional credentials
  std::string password;
  const Clock* clock = nullptr;  // receive times; the system clock when null
};

struct MqttStats {
  uint64_t received = 0;
  uint64_t written = 0;   // messages committed
  uint64_t rejected = 0;  // sum of by_result over the rejection reasons
  uint64_t dropped = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> by_result;  // every MessageResult name → count
  size_t queue_depth = 0;                     // messages waiting
  uint64_t batches = 0;                       // broker writes made
  uint64_t reconnects = 0;
  bool connected = false;
};

// Bridges an MQTT broker to the ContextBroker. Messages are queued on Paho's callback
// thread (bounded: when full they are dropped and counted, since Paho has already
// acknowledged them); one worker thread decodes them and writes them in batches of up to
// max_batch messages, with up to max_in_flight writes awaiting their group commit.
// Reconnects automatically and subscribes again on every (re)connection.
// Thread-safety: see the file comment.
class MqttBridge {
 public:
  // `metrics` may be null. `broker` must outlive the bridge.
  MqttBridge(MqttBridgeOptions options, DeviceTable devices, context::ContextBroker* broker,
             metrics::Registry* metrics);
  ~MqttBridge();  // calls Stop()
  MqttBridge(const MqttBridge&) = delete;
  MqttBridge& operator=(const MqttBridge&) = delete;

  // Connects and subscribes with QoS 1, waiting up to connect_timeout_ms. Errors:
  // kInvalidRequest for a bad URL, kUnavailable when the broker cannot be reached.
  // May be called again after Stop.
  Status Start();
  // Disconnects, writes everything queued, and waits for the outstanding writes to commit.
  void Stop();
  MqttStats Stats() const;
  const DeviceTable& devices() const { return devices_; }

 private:
  struct Queued {
    std::string topic;
    std::string payload;  // kept to decode again if a write must be retried
    TimeMs received = 0;
    MqttWrite write;
  };
  struct Batch;
  class SubscribeListener;
  class LogLimiter;

  void OnMessage(const std::string& topic, const std::string& payload, bool retained);
  // Decodes the batch's messages (on the worker); drops, counts and logs the bad ones.
  void Decode(Batch* batch);
  void OnConnected();
  void Subscribe();
  void Count(MessageResult r, uint64_t n = 1);
  void WorkerLoop();
  std::vector<context::WriteOp> BuildOps(Batch* batch, bool decode_again);
  void WriteBatch(Batch batch);
  void Finish(const Batch& batch, const Status& commit,
              const std::vector<context::WriteOutcome>& outcomes);
  void Log(MessageResult r, std::string_view topic, const Status& st);

  const MqttBridgeOptions options_;
  const DeviceTable devices_;
  context::ContextBroker* const broker_;
  const Clock* const clock_;
  std::unique_ptr<metrics::Registry> own_metrics_;
  metrics::Registry* const metrics_;
  std::array<metrics::Counter*, static_cast<size_t>(MessageResult::kCount)> counters_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(MessageResult::kCount)> counts_{};
  metrics::Gauge* queue_gauge_ = nullptr;
  metrics::Gauge* connected_gauge_ = nullptr;
  metrics::Counter* reconnects_counter_ = nullptr;
  metrics::Histogram* batch_ops_ = nullptr;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<bool> connected_{false};

  std::unique_ptr<mqtt::async_client> client_;
  std::unique_ptr<SubscribeListener> subscribe_listener_;
  std::unique_ptr<LogLimiter> log_limiter_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;  // queue non-empty, or stopping
  std::condition_variable state_cv_;  // subscribed (or refused), or a write finished
  std::deque<Queued> queue_;
  bool subscribed_ = false;
  bool subscribe_failed_ = false;
  bool stopping_ = false;
  bool running_ = false;
  size_t in_flight_ = 0;
  std::thread worker_;
};

}  // namespace cb::ingest
