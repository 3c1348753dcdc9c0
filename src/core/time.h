// Time in CityBrain: int64 milliseconds since the Unix epoch (UTC) inside, ISO 8601 UTC
// outside. Clock is an interface so tests and simulations can drive time themselves.
// Thread-safety: the free functions are pure; SystemClock is thread-safe; ManualClock is
// thread-safe (atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cb {

using TimeMs = int64_t;
inline constexpr TimeMs kNoTime = INT64_MIN;

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]". A missing zone means UTC.
Result<TimeMs> ParseIso8601(std::string_view text);
// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ" (proleptic Gregorian; years outside 0000–9999 print
// with more digits or a leading '-', and do not parse back).
std::string FormatIso8601(TimeMs t);
void AppendIso8601(std::string* out, TimeMs t);
// The same text written into `buf` without allocating; returns its length.
inline constexpr size_t kIso8601MaxLength = 32;
size_t FormatIso8601(TimeMs t, char (&buf)[kIso8601MaxLength]);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs Now() const override;
  static SystemClock* Instance();
};

// A clock that moves only when told. For tests and accelerated simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 0) : now_(start) {}
  TimeMs Now() const override { return now_.load(); }
  void Set(TimeMs t) { now_.store(t); }
  void Advance(TimeMs d) { now_.fetch_add(d); }

 private:
  std::atomic<TimeMs> now_;
};

}  // namespace cb
