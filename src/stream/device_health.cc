#include "stream/device_health.h"

#include <algorithm>
#include <cmath>

namespace cb::stream {

void DeviceHealth::Reading(const std::string& device_id, TimeMs at) {
  Device& d = devices_[device_id];
  if (d.last != kNoTime && at > d.last) {
    d.gaps.push_back(at - d.last);
    while (d.gaps.size() > options_.gap_window) d.gaps.pop_front();
  }
  d.last = std::max(d.last, at);
  if (d.silent) {
    d.silent = false;
    d.recovered = true;
  }
}

void DeviceHealth::Remove(const std::string& device_id) { devices_.erase(device_id); }

std::optional<int64_t> DeviceHealth::IntervalOf(const Device& d) const {
  if (d.gaps.size() < options_.min_gaps) return std::nullopt;
  std::vector<int64_t> g(d.gaps.begin(), d.gaps.end());
  std::nth_element(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(g.size() / 2), g.end());
  return std::max(options_.min_interval_ms, g[g.size() / 2]);
}

std::vector<DeviceHealthChange> DeviceHealth::Check(TimeMs now) {
  std::vector<DeviceHealthChange> out;
  for (auto& [id, d] : devices_) {
    const std::optional<int64_t> interval = IntervalOf(d);
    if (d.recovered) {
      d.recovered = false;
      out.push_back({id, false, now, d.last, interval.value_or(0)});
    }
    if (d.silent || !interval) continue;
    if (static_cast<double>(now - d.last) > options_.silent_factor * static_cast<double>(*interval)) {
      d.silent = true;
      out.push_back({id, true, now, d.last, *interval});
    }
  }
  return out;
}

std::vector<DeviceState> DeviceHealth::All() const {
  std::vector<DeviceState> out;
  for (const auto& [id, d] : devices_) out.push_back({id, d.last, IntervalOf(d), d.silent});
  return out;
}

}  // namespace cb::stream
