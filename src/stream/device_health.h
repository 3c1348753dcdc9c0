// Device health: a sensor that stops reporting is a device fault. Field studies find about
// 15 % of urban sensors faulty at any time, so the operations centre must see which
// counters and car parks have gone silent, rather than read their silence as an empty
// square or a free car park.
//
// Each device's reporting interval is learned from its readings: the median of its last
// `gap_window` gaps between arrivals (at least `min_gaps` of them, and never below
// `min_interval_ms`, so a burst of repeated deliveries cannot shrink it to nothing). A
// device is silent once nothing has arrived for `silent_factor` × its interval; its next
// reading recovers it. Check() reports each change once.
//
// Thread-safety: not thread-safe; the owner serialises calls.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"

namespace cb::stream {

struct DeviceHealthOptions {
  double silent_factor = 3;
  size_t min_gaps = 3;
  size_t gap_window = 8;
  int64_t min_interval_ms = 5000;
};

struct DeviceHealthChange {
  std::string device_id;
  bool silent = false;            // true: went silent; false: reporting again
  TimeMs at = 0;                  // when it was noticed
  TimeMs last_reading = 0;        // arrival of its last reading
  int64_t interval_ms = 0;        // the learned interval
};

struct DeviceState {
  std::string device_id;
  TimeMs last_reading = 0;
  std::optional<int64_t> interval_ms;  // unknown until enough readings
  bool silent = false;
};

class DeviceHealth {
 public:
  explicit DeviceHealth(DeviceHealthOptions options = {}) : options_(options) {}

  // A reading of the device arrived at `at`.
  void Reading(const std::string& device_id, TimeMs at);
  void Remove(const std::string& device_id);
  // The devices that went silent or recovered since the last call.
  std::vector<DeviceHealthChange> Check(TimeMs now);
  std::vector<DeviceState> All() const;  // in id order

 private:
  struct Device {
    TimeMs last = kNoTime;
    std::deque<int64_t> gaps;
    bool silent = false;
    bool recovered = false;  // a reading came while silent: report at the next Check
  };
  std::optional<int64_t> IntervalOf(const Device& d) const;

  DeviceHealthOptions options_;
  std::map<std::string, Device> devices_;
};

}  // namespace cb::stream
