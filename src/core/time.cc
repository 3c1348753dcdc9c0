#include "core/time.h"

#include <date/tz.h>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace cb {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

Status Bad(std::string_view text) {
  return Status::BadRequestData("invalid ISO 8601 date-time: \"" + std::string(text.substr(0, 64)) +
                                "\"");
}

// Days since 1970-01-01 to a proleptic Gregorian civil date (H. Hinnant's days_from_civil
// inverse), in 64-bit arithmetic so that no TimeMs overflows.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint64_t doe = static_cast<uint64_t>(z - era * 146097);               // [0, 146096]
  const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 // [0, 365]
  const uint64_t mp = (5 * doy + 2) / 153;                                      // [0, 11]
  *d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

char* Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

}  // namespace

Result<TimeMs> ParseIso8601(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return Bad(s);
  }
  size_t pos = 10;
  int64_t frac_ms = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return Bad(s);
    if (!Digits(s, pos + 1, 2, &h) || s.size() < pos + 6 || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &mi)) {
      return Bad(s);
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, &se)) return Bad(s);
      pos += 3;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        size_t start = pos;
        int64_t scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          frac_ms += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return Bad(s);
      }
    }
  }
  int64_t offset_min = 0;
  if (pos < s.size()) {
    char z = s[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      int oh, om = 0;
      if (!Digits(s, pos + 1, 2, &oh)) return Bad(s);
      size_t p = pos + 3;
      if (p < s.size() && s[p] == ':') ++p;
      if (p < s.size()) {
        if (!Digits(s, p, 2, &om)) return Bad(s);
        p += 2;
      }
      if (oh > 23 || om > 59) return Bad(s);
      offset_min = (oh * 60 + om) * (z == '+' ? 1 : -1);
      pos = p;
    } else {
      return Bad(s);
    }
  }
  if (pos != s.size()) return Bad(s);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60) return Bad(s);
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return Bad(s);
  int64_t days = sys_days(ymd).time_since_epoch().count();
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  return secs * 1000 + frac_ms;
}

namespace {

size_t FormatIso8601Uncached(TimeMs t, char (&buf)[kIso8601MaxLength]) {
  // Floor division: times before 1970 have a negative day and a positive time of day.
  int64_t ms = t % 1000;
  int64_t secs = t / 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  char* p = buf;
  // The year as printf's "%04d": at least four characters, a sign counting as one.
  if (year >= 0 && year <= 9999) {
    p = Put2(p, static_cast<unsigned>(year / 100));
    p = Put2(p, static_cast<unsigned>(year % 100));
  } else {
    uint64_t mag = year < 0 ? 0 - static_cast<uint64_t>(year) : static_cast<uint64_t>(year);
    if (year < 0) *p++ = '-';
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, mag);
    for (ptrdiff_t pad = (year < 0 ? 3 : 4) - (r.ptr - digits); pad > 0; --pad) *p++ = '0';
    for (const char* d = digits; d != r.ptr; ++d) *p++ = *d;
  }
  *p++ = '-';
  p = Put2(p, month);
  *p++ = '-';
  p = Put2(p, day);
  *p++ = 'T';
  p = Put2(p, static_cast<unsigned>(rem / 3600));
  *p++ = ':';
  p = Put2(p, static_cast<unsigned>(rem / 60 % 60));
  *p++ = ':';
  p = Put2(p, static_cast<unsigned>(rem % 60));
  *p++ = '.';
  *p++ = static_cast<char>('0' + ms / 100);
  p = Put2(p, static_cast<unsigned>(ms % 100));
  *p++ = 'Z';
  return static_cast<size_t>(p - buf);
}

// The last four times each thread formatted. A document repeats a few times over and over
// (each attribute's observedAt, createdAt and modifiedAt in turn: a stored FIWARE entity has
// 23 timestamps of three or four values), so most calls copy the text instead of computing
// it. Four, because the three of a cycle would push each other out of fewer.
struct FormattedTime {
  TimeMs t = 0;
  size_t size = 0;  // 0: nothing kept yet
  char text[kIso8601MaxLength];
};
constexpr size_t kFormattedKept = 4;
thread_local FormattedTime formatted[kFormattedKept];
thread_local size_t formatted_next = 0;  // the slot the next new time takes

}  // namespace

size_t FormatIso8601(TimeMs t, char (&buf)[kIso8601MaxLength]) {
  for (const FormattedTime& f : formatted) {
    if (f.size != 0 && f.t == t) {
      std::memcpy(buf, f.text, f.size);
      return f.size;
    }
  }
  const size_t n = FormatIso8601Uncached(t, buf);
  FormattedTime& f = formatted[formatted_next];
  formatted_next = (formatted_next + 1) % kFormattedKept;
  f.t = t;
  f.size = n;
  std::memcpy(f.text, buf, n);
  return n;
}

void AppendIso8601(std::string* out, TimeMs t) {
  char buf[kIso8601MaxLength];
  out->append(buf, FormatIso8601(t, buf));
}

std::string FormatIso8601(TimeMs t) {
  std::string s;
  AppendIso8601(&s, t);
  return s;
}

TimeMs SystemClock::Now() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock* SystemClock::Instance() {
  static SystemClock clock;
  return &clock;
}

// ---- TimeZone

namespace {
const date::time_zone* Zone(const void* z) { return static_cast<const date::time_zone*>(z); }
constexpr TimeMs kForever = INT64_MAX;
}  // namespace

Result<TimeZone> TimeZone::Find(std::string_view name) {
  try {
    return TimeZone(date::locate_zone(name));
  } catch (const std::exception&) {  // (thrown for an unknown name, or when there is no database)
    return Status::BadRequestData("unknown time zone '" + std::string(name.substr(0, 64)) +
                                  "' (an IANA name such as America/New_York; is tzdata installed?)");
  }
}

std::string_view TimeZone::name() const { return Zone(zone_)->name(); }

TimeZone::Offset TimeZone::OffsetAt(TimeMs t) const {
  using namespace std::chrono;
  const date::sys_info i = Zone(zone_)->get_info(date::sys_time<milliseconds>(milliseconds(t)));
  Offset o;
  o.minutes = static_cast<int>(duration_cast<minutes>(i.offset).count());
  // (The first and last intervals reach far past and future: kept within TimeMs.)
  auto to_ms = [](date::sys_seconds s) {
    const int64_t secs = s.time_since_epoch().count();
    return secs <= INT64_MIN / 1000 ? INT64_MIN : secs >= kForever / 1000 ? kForever : secs * 1000;
  };
  o.from = to_ms(i.begin);
  o.until = to_ms(i.end);
  return o;
}

TimeMs TimeZone::FromLocal(TimeMs local) const {
  using namespace std::chrono;
  const date::local_info i =
      Zone(zone_)->get_info(date::local_time<seconds>(floor<seconds>(milliseconds(local))));
  // unique and ambiguous: the first (the earlier instant, before the clocks went back);
  // nonexistent: the first too (the offset before the clocks went forward).
  const auto offset_ms = duration_cast<milliseconds>(i.first.offset).count();
  return local - offset_ms;
}

}  // namespace cb
