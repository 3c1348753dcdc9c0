// The crowd index of each zone: how many people are in it now, from the people counters
// that count toward it (CrowdFlowObserved `peopleCount`, or any counter reading), with the
// density per m², the ratio to the zone's capacity and the trend.
//
// Aggregation rules (docs/situational-awareness.md, "Crowd index"):
//  - A zone's count is the sum, over its counters, of each counter's latest reading.
//  - A reading is fresh for `stale_after_ms` after its observedAt; a counter whose latest
//    reading is older (a silent device) adds nothing, and the zone's coverage (fresh
//    counters / counters) drops. Below `min_coverage` the zone's count is unknown for the
//    cycle, so that a dead counter is not mistaken for an emptying square (the tier
//    tracker then holds its level instead of stepping down).
//  - Late readings (older than the counter's latest) and duplicates (the same observedAt
//    again) change nothing, so out-of-order and repeated delivery give the same figures.
//  - A reading dated more than `max_clock_ahead_ms` after the cycle time is not counted
//    (a device clock running ahead would otherwise stay fresh for ever).
//  - The trend is the least-squares slope of the zone's known counts over its last
//    `trend_cycles` cycles, in people per minute.
// A flood of readings from one counter only overwrites that counter's latest value: it
// costs the others nothing and cannot multiply the zone's figures.
//
// Thread-safety: not thread-safe; the stream engine owns it and serialises calls.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/time.h"
#include "stream/zones.h"

namespace cb::stream {

struct CrowdOptions {
  int64_t stale_after_ms = 5 * 60000;
  double min_coverage = 0.5;
  int64_t max_clock_ahead_ms = 60000;
  int trend_cycles = 5;
};

// A zone's figures at one time.
struct ZoneCrowd {
  std::string zone_id;
  TimeMs at = 0;
  std::optional<double> count;  // unknown when coverage < min_coverage
  double fresh_sum = 0;         // the sum over the fresh counters, whatever the coverage
  size_t counters = 0;
  size_t fresh_counters = 0;
  double coverage = 0;                  // fresh_counters / counters (0 with no counters)
  std::optional<double> density_per_m2;  // count / area
  std::optional<double> capacity_ratio;  // count / capacity, when the zone has a capacity
  std::optional<double> trend_per_min;   // needs two known counts
};

enum class ReadingOutcome {
  kAccepted,
  kDuplicate,      // the counter already has a reading at this time: ignored
  kLate,           // older than the counter's latest: ignored
  kUnknownCounter, // not registered with SetCounterZones
  kInvalid,        // negative or not finite
};

class CrowdIndex {
 public:
  CrowdIndex(const ZoneIndex* zones, CrowdOptions options = {});

  // Registers a counter, or moves it, with the zones it counts toward
  // (ZoneIndex::ZonesOfSensor). Its latest reading is kept.
  void SetCounterZones(const std::string& counter_id, std::vector<std::string> zone_ids);
  void RemoveCounter(const std::string& counter_id);
  // `replaces_same_time`: a reading at the time of the counter's latest replaces it instead
  // of being a duplicate (for readings timed by the server on arrival, not by the device).
  ReadingOutcome Observe(const std::string& counter_id, TimeMs observed_at, double count,
                         bool replaces_same_time = false);

  // The zone's figures at `now`.
  ZoneCrowd Snapshot(const std::string& zone_id, TimeMs now) const;
  // Snapshot, and remembers the count for the trend: call once per decision cycle.
  ZoneCrowd Cycle(const std::string& zone_id, TimeMs now);

  // Counts of the readings taken and ignored, by outcome.
  uint64_t outcomes(ReadingOutcome o) const { return outcomes_[static_cast<int>(o)]; }

 private:
  struct Counter {
    std::vector<std::string> zones;
    TimeMs observed_at = kNoTime;
    double count = 0;
  };
  const ZoneIndex* zones_;
  CrowdOptions options_;
  std::unordered_map<std::string, Counter> counters_;
  std::map<std::string, std::vector<std::string>> zone_counters_;  // zone -> counter ids
  std::map<std::string, std::deque<std::pair<TimeMs, double>>> history_;  // known counts
  uint64_t outcomes_[5] = {};
};

}  // namespace cb::stream
