// The Boston 311 sample's figures computed straight from its CSV, by a simple computation
// of its own (no CityBrain code), for the tests that import the sample and check what the
// statistics say against them. Data: ../shared/data/boston311_2015 (5,000 real service
// requests of 2015; City of Boston, public domain, ODC PDDL; see its SOURCE.txt).
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace cb::testing::boston {

inline const std::string kCsv =
    CITYBRAIN_SOURCE_DIR "/../shared/data/boston311_2015/boston311_2015_sample5000.csv";
inline const std::string kMapping = CITYBRAIN_SOURCE_DIR "/examples/cases/boston-mapping.json";

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The independent side: the file has no line breaks inside fields, so a line is a row; a
// field is either quoted (up to a quote that is not doubled) or runs to the next comma.
inline std::vector<std::string> SplitLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t end;
    if (i < line.size() && line[i] == '"') {
      std::string field;
      size_t q = i + 1;
      for (size_t next; (next = line.find('"', q)) != std::string_view::npos; q = next + 2) {
        field.append(line.substr(q, next - q));
        if (next + 1 >= line.size() || line[next + 1] != '"') {
          q = next + 1;
          break;
        }
        field.push_back('"');
      }
      out.push_back(std::move(field));
      end = q;
    } else {
      end = std::min(line.find(',', i), line.size());
      out.emplace_back(line.substr(i, end - i));
    }
    if (end >= line.size()) return out;
    i = end + 1;
  }
}

// Days from civil (H. Hinnant's algorithm).
inline int64_t DaysFromCivil(int64_t y, int64_t mo, int64_t d) {
  y -= mo <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The day of the month of the n-th Sunday of a month.
inline int NthSunday(int64_t y, int mo, int n) {
  const int64_t first = DaysFromCivil(y, mo, 1);
  const int weekday = static_cast<int>(((first % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday (4)
  return 1 + (7 - weekday) % 7 + 7 * (n - 1);
}

// "MM/DD/YYYY hh:mm:ss AM" in Boston as seconds since the epoch, or -1 when empty. Written
// here from the US rule (since 2007: summer time from the second Sunday of March at 02:00
// to the first Sunday of November at 02:00), independently of the tz database the import
// uses. A time in the repeated hour of November is taken as the earlier (summer time); one
// in the skipped hour of March at standard time.
inline int64_t Seconds(const std::string& s) {
  if (s.empty()) return -1;
  int mo, d, y, h, mi, se;
  char ampm[3] = {};
  if (std::sscanf(s.c_str(), "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &se, ampm) != 7) return -2;
  if (h == 12) h = 0;
  if (ampm[0] == 'P') h += 12;
  const int64_t local = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  const int64_t summer_from = DaysFromCivil(y, 3, NthSunday(y, 3, 2)) * 86400 + 3 * 3600;  // 03:00 EDT
  const int64_t summer_until = DaysFromCivil(y, 11, NthSunday(y, 11, 1)) * 86400 + 2 * 3600;  // 02:00 EDT
  const bool summer = local >= summer_from && local < summer_until;
  return local + (summer ? 4 : 5) * 3600;
}

inline double Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2]) : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// What the CSV says, as of `now_s` (seconds since the epoch). Requests closed before they
// were opened are left out (the one rule shared with the import, which skips them). On time
// (the close step): closed by TARGET_DT; an open request past its target counts as late; an
// open one not yet due, and any without a target, are not counted.
struct Figures {
  uint64_t rows = 0, kept = 0, closed = 0, closed_before_open = 0;
  uint64_t counted = 0, on_time = 0, not_yet_due = 0, open_at_now = 0;
  uint64_t boston_ontime = 0, boston_overdue = 0;  // the export's own OnTime_Status
  double median_close_hours = 0;
  bool ok = false;  // the file was there and every line had the header's fields
};

inline Figures Compute(const std::string& text, int64_t now_s) {
  Figures fig;
  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line)) return fig;
  const std::vector<std::string> header = SplitLine(line);
  auto col = [&](const char* name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t c_open = col("OPEN_DT"), c_target = col("TARGET_DT"), c_closed = col("CLOSED_DT"),
               c_status = col("CASE_STATUS"), c_ontime = col("OnTime_Status");
  if (c_ontime >= header.size()) return fig;
  std::vector<int64_t> close_seconds;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = SplitLine(line);
    if (f.size() != header.size()) return fig;
    ++fig.rows;
    const int64_t open = Seconds(f[c_open]), target = Seconds(f[c_target]);
    const bool is_closed = f[c_status] == "Closed";
    const int64_t close = is_closed ? Seconds(f[c_closed]) : -1;
    if (open < 0) return fig;
    if (f[c_ontime] == "ONTIME") ++fig.boston_ontime;
    if (f[c_ontime] == "OVERDUE") ++fig.boston_overdue;
    if (is_closed && close < open) {
      ++fig.closed_before_open;
      continue;
    }
    ++fig.kept;
    if (!is_closed || close > now_s) ++fig.open_at_now;
    if (is_closed) {
      ++fig.closed;
      close_seconds.push_back(close - open);
    }
    if (target < 0) continue;
    if (is_closed) {
      ++fig.counted;
      fig.on_time += close <= target;
    } else if (now_s > target) {
      ++fig.counted;
    } else {
      ++fig.not_yet_due;
    }
  }
  fig.median_close_hours = Median(close_seconds) / 3600.0;
  fig.ok = true;
  return fig;
}

inline double BostonOnTimeShare(const Figures& f) {
  return static_cast<double>(f.boston_ontime) / static_cast<double>(f.boston_ontime + f.boston_overdue);
}

}  // namespace cb::testing::boston
