#include "core/time.h"

#include <chrono>
#include <cstdio>

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

void AppendIso8601(std::string* out, TimeMs t) {
  using namespace std::chrono;
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
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(rem / 3600),
                        static_cast<int>((rem / 60) % 60), static_cast<int>(rem % 60),
                        static_cast<int>(ms));
  out->append(buf, n);
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

}  // namespace cb
