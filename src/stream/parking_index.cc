#include "stream/parking_index.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace cb::stream {

std::string_view LotStatusName(LotStatus s) {
  switch (s) {
    case LotStatus::kFull: return "full";
    case LotStatus::kAlmostFull: return "almostFull";
    case LotStatus::kSpacesAvailable: break;
  }
  return "spacesAvailable";
}

ParkingIndex::ParkingIndex(ParkingOptions options) : options_(options), index_(0.005) {}

LotStatus ParkingIndex::StatusOf(double occupied, double total) const {
  const double ratio = occupied / total;
  if (ratio >= 1) return LotStatus::kFull;
  if (ratio >= options_.almost_full_ratio) return LotStatus::kAlmostFull;
  return LotStatus::kSpacesAvailable;
}

ReadingOutcome ParkingIndex::Observe(const std::string& id, geo::LonLat location, double total,
                                     double occupied, TimeMs at, bool replaces_same_time) {
  auto outcome = [this](ReadingOutcome o) {
    ++outcomes_[static_cast<int>(o)];
    return o;
  };
  if (!std::isfinite(total) || !std::isfinite(occupied) || total <= 0 || occupied < 0 ||
      !std::isfinite(location.lon) || !std::isfinite(location.lat)) {
    return outcome(ReadingOutcome::kInvalid);
  }
  auto it = lots_.find(id);
  if (it != lots_.end()) {
    if (at == it->second.state.at && !replaces_same_time) {
      return outcome(ReadingOutcome::kDuplicate);
    }
    if (at < it->second.state.at) return outcome(ReadingOutcome::kLate);
  }
  if (occupied > total) {
    ++over_capacity_;
    occupied = total;
  }
  if (it == lots_.end()) {
    const uint64_t key = next_key_++;
    it = lots_.emplace(id, Entry{key, LotState{}}).first;
    by_key_[key] = &it->second;
  }
  LotState& s = it->second.state;
  const bool moved = s.at == kNoTime || !(s.location == location);
  s.id = id;
  s.location = location;
  s.total = total;
  s.occupied = occupied;
  s.status = StatusOf(occupied, total);
  s.at = at;
  if (moved) {
    index_.Insert(it->second.key, geo::BoundingBox{location.lon, location.lat, location.lon,
                                                   location.lat});
  }
  return outcome(ReadingOutcome::kAccepted);
}

void ParkingIndex::Remove(const std::string& id) {
  auto it = lots_.find(id);
  if (it == lots_.end()) return;
  index_.Remove(it->second.key);
  by_key_.erase(it->second.key);
  lots_.erase(it);
}

LotState ParkingIndex::StateAt(const Entry& lot, TimeMs now) const {
  LotState s = lot.state;
  s.fresh = s.at <= now + 60000 && now - s.at <= options_.stale_after_ms;
  return s;
}

std::optional<LotState> ParkingIndex::Lot(const std::string& id, TimeMs now) const {
  auto it = lots_.find(id);
  if (it == lots_.end()) return std::nullopt;
  return StateAt(it->second, now);
}

std::vector<LotState> ParkingIndex::Lots(TimeMs now) const {
  std::vector<LotState> out;
  out.reserve(lots_.size());
  for (const auto& [id, lot] : lots_) out.push_back(StateAt(lot, now));
  return out;
}

DestinationParking ParkingIndex::ForDestination(geo::LonLat center, double radius_m,
                                                TimeMs now) const {
  DestinationParking d;
  d.center = center;
  d.radius_m = radius_m > 0 ? radius_m : options_.default_radius_m;
  const geo::BoundingBox box =
      geo::BoundingBox{center.lon, center.lat, center.lon, center.lat}.Expanded(d.radius_m);
  std::vector<geo::SpatialIndex::Hit> hits;
  index_.Collect(box, &hits);
  for (const geo::SpatialIndex::Hit& h : hits) {
    const Entry* lot = by_key_.at(h.key);
    const double dist = geo::DistanceMeters(center, lot->state.location);
    if (dist > d.radius_m) continue;
    LotState s = StateAt(*lot, now);
    if (!s.fresh) {
      ++d.stale_lots;
      continue;
    }
    s.distance_m = dist;
    d.total += s.total;
    d.occupied += s.occupied;
    d.lots.push_back(std::move(s));
  }
  std::sort(d.lots.begin(), d.lots.end(), [](const LotState& a, const LotState& b) {
    return std::tie(a.distance_m, a.id) < std::tie(b.distance_m, b.id);
  });
  return d;
}

std::vector<LotState> ParkingIndex::Guidance(geo::LonLat center, double radius_m, TimeMs now,
                                             size_t limit) const {
  std::vector<LotState> out = ForDestination(center, radius_m, now).lots;
  std::erase_if(out, [](const LotState& s) { return s.status == LotStatus::kFull; });
  std::sort(out.begin(), out.end(), [](const LotState& a, const LotState& b) {
    return std::make_tuple(a.status, a.distance_m, -a.available(), a.id) <
           std::make_tuple(b.status, b.distance_m, -b.available(), b.id);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace cb::stream
