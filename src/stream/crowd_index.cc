#include "stream/crowd_index.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace cb::stream {

CrowdIndex::CrowdIndex(const ZoneIndex* zones, CrowdOptions options)
    : zones_(zones), options_(options) {}

void CrowdIndex::SetCounterZones(const std::string& counter_id, std::vector<std::string> zone_ids) {
  RemoveCounter(counter_id);  // keeps nothing of the old assignment but the reading
  Counter& c = counters_[counter_id];
  std::sort(zone_ids.begin(), zone_ids.end());
  zone_ids.erase(std::unique(zone_ids.begin(), zone_ids.end()), zone_ids.end());
  for (const std::string& z : zone_ids) zone_counters_[z].push_back(counter_id);
  c.zones = std::move(zone_ids);
}

void CrowdIndex::RemoveCounter(const std::string& counter_id) {
  auto it = counters_.find(counter_id);
  if (it == counters_.end()) return;
  for (const std::string& z : it->second.zones) {
    auto zc = zone_counters_.find(z);
    if (zc == zone_counters_.end()) continue;
    std::erase(zc->second, counter_id);
    if (zc->second.empty()) zone_counters_.erase(zc);
  }
  it->second.zones.clear();
}

ReadingOutcome CrowdIndex::Observe(const std::string& counter_id, TimeMs observed_at, double count,
                                   bool replaces_same_time) {
  auto outcome = [this](ReadingOutcome o) {
    ++outcomes_[static_cast<int>(o)];
    return o;
  };
  if (!std::isfinite(count) || count < 0) return outcome(ReadingOutcome::kInvalid);
  auto it = counters_.find(counter_id);
  if (it == counters_.end()) return outcome(ReadingOutcome::kUnknownCounter);
  Counter& c = it->second;
  if (c.observed_at != kNoTime) {
    if (observed_at == c.observed_at && !replaces_same_time) {
      return outcome(ReadingOutcome::kDuplicate);
    }
    if (observed_at < c.observed_at) return outcome(ReadingOutcome::kLate);
  }
  c.observed_at = observed_at;
  c.count = count;
  return outcome(ReadingOutcome::kAccepted);
}

ZoneCrowd CrowdIndex::Snapshot(const std::string& zone_id, TimeMs now) const {
  ZoneCrowd out;
  out.zone_id = zone_id;
  out.at = now;
  if (auto zc = zone_counters_.find(zone_id); zc != zone_counters_.end()) {
    for (const std::string& id : zc->second) {
      const Counter& c = counters_.at(id);
      ++out.counters;
      if (c.observed_at == kNoTime || c.observed_at > now + options_.max_clock_ahead_ms ||
          now - c.observed_at > options_.stale_after_ms) {
        continue;
      }
      ++out.fresh_counters;
      out.fresh_sum += c.count;
    }
  }
  out.coverage = out.counters == 0 ? 0 : double(out.fresh_counters) / double(out.counters);
  if (out.counters > 0 && out.coverage >= options_.min_coverage) out.count = out.fresh_sum;
  const Zone* zone = zones_ != nullptr ? zones_->Find(zone_id) : nullptr;
  if (out.count && zone != nullptr) {
    if (zone->area_m2 > 0) out.density_per_m2 = *out.count / zone->area_m2;
    if (zone->capacity) out.capacity_ratio = *out.count / *zone->capacity;
  }
  // The trend over the remembered cycles (and this one, when its count is known).
  std::vector<std::pair<TimeMs, double>> points;
  if (auto h = history_.find(zone_id); h != history_.end()) {
    points.assign(h->second.begin(), h->second.end());
  }
  if (out.count && (points.empty() || points.back().first < now)) points.emplace_back(now, *out.count);
  while (points.size() > static_cast<size_t>(std::max(2, options_.trend_cycles))) {
    points.erase(points.begin());
  }
  if (points.size() >= 2) {
    // Least squares on minutes relative to the first point (keeps the numbers small).
    const double t0 = static_cast<double>(points.front().first);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const auto& [t, y] : points) {
      const double x = (static_cast<double>(t) - t0) / 60000.0;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const double n = static_cast<double>(points.size());
    const double den = n * sxx - sx * sx;
    if (den > 0) out.trend_per_min = (n * sxy - sx * sy) / den;
  }
  return out;
}

ZoneCrowd CrowdIndex::Cycle(const std::string& zone_id, TimeMs now) {
  ZoneCrowd out = Snapshot(zone_id, now);
  if (out.count) {
    auto& h = history_[zone_id];
    if (h.empty() || h.back().first < now) h.emplace_back(now, *out.count);
    while (h.size() > static_cast<size_t>(std::max(2, options_.trend_cycles))) h.pop_front();
  }
  return out;
}

}  // namespace cb::stream
