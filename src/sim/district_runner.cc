#include "sim/district_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/json.h"

namespace cb::sim {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t EveningLength(const SimOptions& o) {
  const int64_t length = o.end_second - o.start_second;
  return length >= 0 ? length : length + kSecondsPerDay;
}

// Sleeps until `due`, waking every 100 ms to look at `stop`. False when stopped.
bool SleepUntil(SteadyClock::time_point due, const std::atomic<bool>* stop) {
  constexpr auto kSlice = std::chrono::milliseconds(100);
  while (true) {
    if (stop != nullptr && stop->load()) return false;
    const auto now = SteadyClock::now();
    if (now >= due) return true;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(due - now, kSlice));
  }
}

// The server's answer to a write, as a Status: 2xx without errors is OK.
Status WriteAnswer(const Result<HttpReply>& reply, const std::string& what) {
  if (!reply.ok()) return reply.status();
  if (reply->status == 201 || reply->status == 204) return Status::Ok();
  return Status(reply->status == 401 || reply->status == 403 ? Code::kUnauthorized
                                                             : Code::kUnavailable,
                what + ": the server answered " + std::to_string(reply->status) + ": " +
                    reply->body.substr(0, 500));
}

}  // namespace

Status ValidateSimOptions(const SimOptions& o) {
  if (!(o.speed > 0) || !std::isfinite(o.speed)) {
    return Status::BadRequestData("--speed must be a positive number of simulated seconds per "
                                  "real second (e.g. 10)");
  }
  if (o.interval_seconds < 1 || o.interval_seconds > 3600) {
    return Status::BadRequestData("--interval must be 1 to 3600 simulated seconds");
  }
  if (EveningLength(o) <= 0) {
    return Status::BadRequestData("--start and --end must differ (an end before the start is "
                                  "the next day's)");
  }
  const double real_gap = static_cast<double>(o.interval_seconds) / o.speed;
  if (real_gap > kMaxRealSecondsBetweenRounds) {
    return Status::BadRequestData(
        "--interval / --speed is " + std::to_string(static_cast<int64_t>(real_gap)) +
        " real seconds between readings; keep it at most 60, so readings stay fresh on the "
        "server (5 minutes) and every one-minute decision cycle sees new ones");
  }
  return Status::Ok();
}

int64_t RoundsPerEvening(const SimOptions& options) {
  return EveningLength(options) / options.interval_seconds + 1;
}

Result<SimStats> RunDistrict(const DistrictModel& model, const SimOptions& options,
                             ReadingSink* sink, const Clock* clock, const RoundObserver& observer,
                             const std::atomic<bool>* stop) {
  CB_RETURN_IF_ERROR(ValidateSimOptions(options));
  const int64_t rounds_per_evening = RoundsPerEvening(options);
  const double real_gap_s = static_cast<double>(options.interval_seconds) / options.speed;
  const auto first = SteadyClock::now();
  SimStats stats;
  for (int64_t n = 0;; ++n) {
    const int64_t in_evening = n % rounds_per_evening;
    if (in_evening == 0) {
      if (n > 0 && !options.loop) break;
      ++stats.evenings;
    }
    const auto due = first + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(real_gap_s * static_cast<double>(n)));
    if (!SleepUntil(due, stop)) break;
    const int64_t second = options.start_second + in_evening * options.interval_seconds;
    const DistrictReadings readings = ReadingsAt(model, second, options.seed);
    Status st = sink->Send(readings, clock->Now());
    if (!st.ok()) {
      return Status(st.code(), "sim stopped at " + FormatTimeOfDay(second) + ": " + st.message());
    }
    ++stats.rounds;
    if (observer) observer(readings, stats.evenings);
  }
  return stats;
}

DeviceSink::DeviceSink(HttpClient* http, MqttPublisher* mqtt, std::string mqtt_api_key)
    : http_(http), mqtt_(mqtt), api_key_(std::move(mqtt_api_key)) {}

Status DeviceSink::Patch(const std::string& entity_id, const char* attr, int64_t value,
                         TimeMs now) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key(attr).BeginObject();
  w.Key("type").String("Property").Key("value").Int(value);
  w.Key("observedAt").String(FormatIso8601(now));
  w.EndObject().EndObject();
  return WriteAnswer(http_->Patch("/ngsi-ld/v1/entities/" + entity_id + "/attrs", body),
                     entity_id);
}

Status DeviceSink::Send(const DistrictReadings& readings, TimeMs now) {
  if (mqtt_ != nullptr) {
    // The IoT Agent JSON measure of a counter: {"peopleCount": N}, timed by its arrival.
    std::vector<MqttMessage> messages;
    for (const CounterReading& r : readings.counters) {
      messages.push_back({"/json/" + api_key_ + "/" + r.counter->device_id + "/attrs",
                          "{\"peopleCount\":" + std::to_string(r.people) + "}"});
    }
    CB_RETURN_IF_ERROR(mqtt_->PublishAll(messages));
    counts_.counters_mqtt += static_cast<int64_t>(messages.size());
  } else {
    for (const CounterReading& r : readings.counters) {
      CB_RETURN_IF_ERROR(Patch(r.counter->entity_id, "peopleCount", r.people, now));
      ++counts_.counters_http;
    }
  }
  for (const LotReading& r : readings.lots) {
    CB_RETURN_IF_ERROR(Patch(r.lot->entity_id, "availableSpotNumber", r.available, now));
    ++counts_.lots_http;
  }
  return Status::Ok();
}

Status UpsertDistrict(HttpClient* http, const std::string& entities_json) {
  auto reply = http->Post("/ngsi-ld/v1/entityOperations/upsert?options=update", entities_json);
  if (reply.ok() && reply->status == 207) {
    // Some entities were refused: say which and why.
    std::string why;
    auto doc = ParseJson(reply->body);
    const JsonValue* errors = doc.ok() ? doc->Find("errors") : nullptr;
    if (errors != nullptr && errors->is_array()) {
      for (const JsonValue& e : errors->as_array()) {
        const JsonValue* id = e.Find("entityId");
        const JsonValue* error = e.Find("error");
        const JsonValue* detail = error != nullptr ? error->Find("detail") : nullptr;
        why += "\n  " + (id != nullptr && id->is_string() ? id->as_string() : "?") + ": " +
               (detail != nullptr && detail->is_string() ? detail->as_string() : e.Dump());
      }
    }
    return Status::BadRequestData("the server refused part of the district:" +
                                  (why.empty() ? " " + reply->body.substr(0, 500) : why));
  }
  return WriteAnswer(reply, "creating the district");
}

Result<ZoneView> FetchZone(HttpClient* http, const std::string& zone_id) {
  auto reply = http->Get("/api/v1/situation/zones/" + zone_id);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return Status::Unavailable("GET zone " + zone_id + ": " + std::to_string(reply->status));
  }
  auto doc = ParseJson(reply->body);
  if (!doc.ok()) return doc.status();
  ZoneView view;
  const JsonValue* crowd = doc->Find("crowd");
  const JsonValue* count = crowd != nullptr ? crowd->Find("count") : nullptr;
  if (count != nullptr && count->is_number()) {
    view.count_known = true;
    view.count = count->as_double();
  }
  const JsonValue* tier = doc->Find("tier");
  const JsonValue* level = tier != nullptr ? tier->Find("level") : nullptr;
  if (level != nullptr && level->is_int()) view.level = static_cast<int>(level->as_int());
  return view;
}

}  // namespace cb::sim
