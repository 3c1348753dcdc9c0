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

// An IANA time zone ("America/New_York", "Asia/Shanghai") from the system's tz database
// (Debian's tzdata, read by Howard Hinnant's date library): offsets that follow daylight
// saving time. A handle into the database, which lives as long as the process.
// Thread-safety: immutable; safe from any thread.
class TimeZone {
 public:
  // kBadRequestData naming it when the database has no such zone.
  static Result<TimeZone> Find(std::string_view name);

  std::string_view name() const;
  // The offset (minutes east of UTC) at the instant t, and the instants [from, until) it
  // holds for, so that a caller walking many times can skip the lookup.
  struct Offset {
    int minutes = 0;
    TimeMs from = 0, until = 0;
  };
  Offset OffsetAt(TimeMs t) const;
  // The instant a wall-clock reading names; `local` is the reading counted as if it were
  // UTC. In the hour the clocks repeat, the earlier instant; in the hour they skip, the
  // reading is taken at the offset before the change (02:30 on a spring-forward day is
  // 03:30 of summer time), as java.time and PostgreSQL do.
  TimeMs FromLocal(TimeMs local) const;

 private:
  explicit TimeZone(const void* zone) : zone_(zone) {}
  const void* zone_;  // const date::time_zone*
};

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
