// The engine of `citybrain sim`: runs the district model (district.h) through an evening on
// an accelerated clock and hands each round of readings to a ReadingSink. DeviceSink sends
// them to a CityBrain server the way the district's devices would: people counters over
// MQTT (FIWARE IoT Agent JSON topics, see docs/mqtt.md) or HTTP, car parks over HTTP
// (NGSI-LD PATCH of their attributes).
//
// Only the scenario's time of day is accelerated. Readings carry the real time they are
// sent at: the server judges freshness, future readings and its tier plans' decision cycles
// on its own wall clock.
//
// Thread-safety: RunDistrict runs on the caller's thread; `stop` may be set from any other
// thread (or a signal handler). A DeviceSink is used by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "core/time.h"
#include "sim/district.h"
#include "sim/http_client.h"
#include "sim/mqtt_publisher.h"

namespace cb::sim {

// The longest real time allowed between two rounds of readings: well inside the server's
// five minutes of freshness, and no coarser than a tier plan's one-minute cycle.
inline constexpr double kMaxRealSecondsBetweenRounds = 60;

struct SimOptions {
  double speed = 10;                // simulated seconds per real second
  int64_t start_second = 17 * 3600; // the evening's first reading (seconds since midnight)
  int64_t end_second = 23 * 3600;   // its last (before the start: the next day's)
  int64_t interval_seconds = 60;    // simulated seconds between rounds of readings
  uint64_t seed = 1;                // the noise's seed
  bool loop = false;                // run the evening again and again, until stopped
};

// kBadRequestData with what to change: a speed that is not positive, an interval below one
// second or over an hour, an evening of no length, or rounds further apart in real time
// than kMaxRealSecondsBetweenRounds.
Status ValidateSimOptions(const SimOptions& options);

// The simulated times of one evening's rounds: start, start + interval, … up to the end.
int64_t RoundsPerEvening(const SimOptions& options);

// Where a round of readings goes.
class ReadingSink {
 public:
  virtual ~ReadingSink() = default;
  // Sends one round; `now` is the real time of sending. An error stops the run.
  virtual Status Send(const DistrictReadings& readings, TimeMs now) = 0;
};

struct SimStats {
  int64_t rounds = 0;    // rounds sent
  int64_t evenings = 0;  // evenings begun
};

// Called after each round is sent; `evening` counts from 1.
using RoundObserver = std::function<void(const DistrictReadings& readings, int64_t evening)>;

// Runs the evening (again and again with options.loop) in real time divided by the speed:
// round n is sent n × interval / speed real seconds after the first, stamped with
// clock->Now(). Returns when the evening is over, when `stop` is set (checked at least every
// 100 ms), or with the sink's error. `stop` may be null.
Result<SimStats> RunDistrict(const DistrictModel& model, const SimOptions& options,
                             ReadingSink* sink, const Clock* clock, const RoundObserver& observer,
                             const std::atomic<bool>* stop);

// Sends readings like the district's devices: car parks over HTTP, people counters over
// MQTT when a publisher is given, else over HTTP as well.
class DeviceSink final : public ReadingSink {
 public:
  struct Counts {
    int64_t counters_mqtt = 0;  // counter readings acknowledged by the MQTT broker
    int64_t counters_http = 0;  // counter readings accepted by the server
    int64_t lots_http = 0;      // car-park readings accepted by the server
  };
  // `http` and `mqtt` (may be null) must outlive the sink.
  DeviceSink(HttpClient* http, MqttPublisher* mqtt, std::string mqtt_api_key);
  Status Send(const DistrictReadings& readings, TimeMs now) override;
  const Counts& counts() const { return counts_; }

 private:
  // PATCH /ngsi-ld/v1/entities/{id}/attrs with one Property observed at `now`.
  Status Patch(const std::string& entity_id, const char* attr, int64_t value, TimeMs now);

  HttpClient* http_;
  MqttPublisher* mqtt_;
  std::string api_key_;
  Counts counts_;
};

// Makes sure the district exists on the server: a batch upsert (update mode) of
// `entities_json`, a JSON array of NGSI-LD entities. An entity the server refuses fails
// with the server's reason.
Status UpsertDistrict(HttpClient* http, const std::string& entities_json);

// What the server says of one zone now (GET /api/v1/situation/zones/{id}).
struct ZoneView {
  bool count_known = false;
  double count = 0;
  int level = 0;  // 0: no level (or no plan)
};
Result<ZoneView> FetchZone(HttpClient* http, const std::string& zone_id);

}  // namespace cb::sim
