// The parking index (停车指数): per car park, occupied spaces / total spaces, and per
// destination (a point of interest and a radius, default 500 m) across the car parks in
// range, as Hangzhou Hubin ran it for its hospital (4 lots, 1,293 spaces within 500 m).
// A guidance query ranks the car parks with room for a destination now.
//
// Readings: a car park reports its total and its available (or occupied) spaces. As with
// people counters (crowd_index.h), late and duplicate readings change nothing, a reading
// is fresh for `stale_after_ms`, and a stale car park is left out of destination figures
// and guidance. Counting systems over-count: occupancy above capacity is taken as full
// (and counted in over_capacity()); negative occupancy or a non-positive total is refused.
//
// Status per Smart Data Models OffStreetParking (DATEX II): `full` at index >= 1,
// `almostFull` at index >= almost_full_ratio (default 0.9), else `spacesAvailable`.
//
// Thread-safety: not thread-safe; the owner serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "geo/geometry.h"
#include "geo/spatial_index.h"
#include "stream/crowd_index.h"

namespace cb::stream {

enum class LotStatus { kSpacesAvailable, kAlmostFull, kFull };
// "spacesAvailable", "almostFull", "full".
std::string_view LotStatusName(LotStatus s);

struct ParkingOptions {
  double almost_full_ratio = 0.9;
  int64_t stale_after_ms = 30 * 60000;
  double default_radius_m = 500;
};

struct LotState {
  std::string id;
  geo::LonLat location;
  double total = 0;
  double occupied = 0;  // clamped to [0, total]
  double available() const { return total - occupied; }
  double index() const { return total > 0 ? occupied / total : 0; }
  LotStatus status = LotStatus::kSpacesAvailable;
  TimeMs at = kNoTime;
  bool fresh = false;           // as of the time asked
  double distance_m = 0;        // from the destination, in destination answers
};

struct DestinationParking {
  geo::LonLat center;
  double radius_m = 0;
  std::vector<LotState> lots;  // fresh car parks in range, nearest first
  size_t stale_lots = 0;       // car parks in range left out as stale
  double total = 0, occupied = 0;
  double available() const { return total - occupied; }
  std::optional<double> index() const {
    return total > 0 ? std::optional<double>(occupied / total) : std::nullopt;
  }
};

class ParkingIndex {
 public:
  explicit ParkingIndex(ParkingOptions options = {});

  // A reading of car park `id`: its location, total spaces and occupied spaces.
  // `replaces_same_time`: a reading at the time of the latest replaces it instead of being a
  // duplicate (for readings timed by the server on arrival, not by the device).
  ReadingOutcome Observe(const std::string& id, geo::LonLat location, double total,
                         double occupied, TimeMs at, bool replaces_same_time = false);
  void Remove(const std::string& id);

  std::optional<LotState> Lot(const std::string& id, TimeMs now) const;
  std::vector<LotState> Lots(TimeMs now) const;  // in id order
  // The car parks within radius_m of `center` (0: the default radius).
  DestinationParking ForDestination(geo::LonLat center, double radius_m, TimeMs now) const;
  // The car parks with room for the destination, best first: those with spaces available
  // before those almost full, then the nearest, then the most free spaces; full and stale
  // car parks are left out.
  std::vector<LotState> Guidance(geo::LonLat center, double radius_m, TimeMs now,
                                 size_t limit) const;

  uint64_t outcomes(ReadingOutcome o) const { return outcomes_[static_cast<int>(o)]; }
  uint64_t over_capacity() const { return over_capacity_; }
  size_t size() const { return lots_.size(); }
  const ParkingOptions& options() const { return options_; }

 private:
  struct Entry {
    uint64_t key;
    LotState state;
  };
  LotState StateAt(const Entry& lot, TimeMs now) const;
  LotStatus StatusOf(double occupied, double total) const;

  ParkingOptions options_;
  std::map<std::string, Entry> lots_;
  std::unordered_map<uint64_t, const Entry*> by_key_;
  geo::SpatialIndex index_;
  uint64_t next_key_ = 1;
  uint64_t outcomes_[5] = {};
  uint64_t over_capacity_ = 0;
};

}  // namespace cb::stream
