// The demo district for `citybrain sim`: a scenario model of an evening in a lake-side
// district modelled on Hangzhou's Hubin — a fountain plaza, a pedestrian street, a metro
// station (people counters) and a hospital with four car parks (1,293 spaces). For a
// simulated time of day it gives every counter's peopleCount and every car park's
// availableSpotNumber.
//
// Each modelled quantity is a Series: a daily base curve (linear between points), the
// fountain shows' effect on it (a smooth pulse around each show), and a little noise. All
// parameters live in one table, HubinDistrict() in district.cc.
//
// The model is pure and deterministic: the same model, time and seed always give the same
// readings (the noise is a hash of seed, device and time, not a random stream), so a run
// can be repeated and tests can check exact values. Counts only: nothing about people but
// how many.
//
// Thread-safety: value types and pure functions; HubinDistrict() is immutable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace cb::sim {

inline constexpr int64_t kSecondsPerDay = 86400;

// A point of a daily curve: at `minute` of the day (0–1440) the curve is `value`.
struct CurvePoint {
  int minute = 0;
  double value = 0;
};

// How a fountain show moves a series, in minutes relative to the show's start: from
// `begin_min` (negative: before the show) the effect rises over `rise_min` to `gain` (times
// the show's draw), holds for `hold_min`, then falls back to nothing over `fall_min`.
// Rise and fall are smooth steps. gain 0: the series ignores the shows.
struct ShowEffect {
  int begin_min = 0;
  int rise_min = 1;
  int hold_min = 0;
  int fall_min = 1;
  double gain = 0;
};

// One modelled quantity over the day.
struct Series {
  std::vector<CurvePoint> base;  // from minute 0 to minute 1440, rising minutes
  ShowEffect show;
  double noise = 0;  // each reading is the value × (1 ± up to this)
};

// A fountain show: its start (minute of the day) and the crowd it draws (1 = usual).
struct FountainShow {
  int minute = 0;
  double draw = 1;
};

// A people counter (CrowdFlowObserved) and the share of its zone's people it counts.
struct CounterSpec {
  std::string device_id;  // MQTT device id (examples/demo-devices.json)
  std::string entity_id;
  double share = 0;
};

// A zone watched by people counters; its counters' shares add up to 1.
struct SiteSpec {
  std::string zone_id;
  std::string name;
  Series people;  // people in the zone
  std::vector<CounterSpec> counters;
};

// A car park (OffStreetParking).
struct LotSpec {
  std::string device_id;
  std::string entity_id;
  std::string name;
  int64_t total_spots = 0;
  Series occupancy;  // occupied share of the spaces, 0–1
};

struct DistrictModel {
  std::string mqtt_api_key;    // the devices' apiKey in their MQTT topics
  std::string plaza_zone_id;   // the zone the progress lines follow
  std::string hospital_poi_id; // the PointOfInterest the car parks serve
  std::vector<FountainShow> shows;
  std::vector<SiteSpec> sites;
  std::vector<LotSpec> lots;
};

// The Hubin demo district (the entities of examples/demo-city.json, the devices of
// examples/demo-devices.json).
const DistrictModel& HubinDistrict();

// Checks a model's table: curves cover the day in rising minutes, shares of each site add
// up to 1, totals are positive, ids are set. kBadRequestData naming the first fault.
Status ValidateModel(const DistrictModel& model);

// Readings point into the model they came from, which must outlive them.
struct CounterReading {
  const SiteSpec* site = nullptr;
  const CounterSpec* counter = nullptr;
  int64_t people = 0;
};
struct LotReading {
  const LotSpec* lot = nullptr;
  int64_t occupied = 0;
  int64_t available = 0;
};

struct DistrictReadings {
  int64_t second = 0;  // the simulated time these are for (seconds since the first midnight)
  std::vector<CounterReading> counters;
  std::vector<LotReading> lots;

  // The people the counters of `zone_id` count (what the server sums for the zone).
  int64_t PeopleIn(std::string_view zone_id) const;
  int64_t SpotsOccupied() const;
  int64_t SpotsTotal() const;
};

// The readings at `second` (seconds since midnight; later days wrap) for `seed`.
DistrictReadings ReadingsAt(const DistrictModel& model, int64_t second, uint64_t seed);

// "HH:MM" (00:00–24:00) → seconds since midnight. kBadRequestData otherwise.
Result<int64_t> ParseTimeOfDay(std::string_view text);
// Seconds since midnight → "HH:MM" (later days wrap).
std::string FormatTimeOfDay(int64_t second);

// Checks that a district definition (a JSON array of NGSI-LD entities, as for a batch
// upsert) holds the model's zones (Zone), counters (CrowdFlowObserved), car parks
// (OffStreetParking, with the model's totalSpotNumber) and hospital (PointOfInterest).
// kBadRequestData naming the first entity missing or different.
Status CheckDistrictDefinition(const DistrictModel& model, const JsonValue& entities);

}  // namespace cb::sim
