// The Boston 311 sample (5,000 real service requests of 2015, public domain; see
// ../shared/data/boston311_2015/SOURCE.txt) imported into a CaseBook through the shipped
// mapping: the statistics' close-step on-time rate and median close time must equal the
// figures computed here straight from the CSV, by a separate simple computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cases/case_book.h"
#include "cases/catalog.h"
#include "cases/csv_import.h"
#include "cases/statistics.h"

namespace cb::cases {
namespace {

const std::string kCsv = CITYBRAIN_SOURCE_DIR "/../shared/data/boston311_2015/boston311_2015_sample5000.csv";
const std::string kMapping = CITYBRAIN_SOURCE_DIR "/examples/cases/boston-mapping.json";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The independent side: the file has no line breaks inside fields, so a line is a row; a
// field is either quoted (up to a quote that is not doubled) or runs to the next comma.
std::vector<std::string> SplitLine(std::string_view line) {
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

// "MM/DD/YYYY hh:mm:ss AM" as seconds, at Boston's standard offset (UTC−5), or -1 when empty.
int64_t Seconds(const std::string& s) {
  if (s.empty()) return -1;
  int mo, d, y, h, mi, se;
  char ampm[3] = {};
  if (std::sscanf(s.c_str(), "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &se, ampm) != 7) return -2;
  if (h == 12) h = 0;
  if (ampm[0] == 'P') h += 12;
  // Days from civil (H. Hinnant).
  y -= mo <= 2;
  const int64_t era = y / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + mi * 60 + se + 5 * 3600;
}

double Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2]) : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

TEST(BostonImportTest, StatisticsMatchFiguresComputedFromTheCsv) {
  const std::string text = ReadText(kCsv);
  if (text.empty()) GTEST_SKIP() << "no Boston sample at " << kCsv;

  // The query's "now": midnight at the end of 2015 in Boston, while some open requests'
  // targets are still ahead (those are not counted).
  const TimeMs now = ParseIso8601("2016-01-01T05:00:00Z").value();
  const int64_t now_s = now / 1000;

  // ---- Straight from the CSV.
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  const std::vector<std::string> header = SplitLine(line);
  auto col = [&](const char* name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t c_open = col("OPEN_DT"), c_target = col("TARGET_DT"), c_closed = col("CLOSED_DT"),
               c_status = col("CASE_STATUS"), c_ontime = col("OnTime_Status");
  ASSERT_LT(c_ontime, header.size());
  uint64_t rows = 0, kept = 0, closed = 0, counted = 0, on_time = 0, not_yet_due = 0;
  uint64_t open_at_now = 0, boston_ontime = 0, boston_overdue = 0, closed_before_open = 0;
  std::vector<int64_t> close_seconds;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = SplitLine(line);
    ASSERT_EQ(f.size(), header.size()) << line;
    ++rows;
    const int64_t open = Seconds(f[c_open]), target = Seconds(f[c_target]);
    const bool is_closed = f[c_status] == "Closed";
    const int64_t close = is_closed ? Seconds(f[c_closed]) : -1;
    ASSERT_GE(open, 0);
    if (f[c_ontime] == "ONTIME") ++boston_ontime;
    if (f[c_ontime] == "OVERDUE") ++boston_overdue;
    // The one rule shared with the import: a request closed before it was opened is skipped.
    if (is_closed && close < open) {
      ++closed_before_open;
      continue;
    }
    ++kept;
    if (!is_closed || close > now_s) ++open_at_now;
    if (is_closed) {
      ++closed;
      close_seconds.push_back(close - open);
    }
    if (target < 0) continue;  // no target: not counted
    if (is_closed) {
      ++counted;
      on_time += close <= target;
    } else if (now_s > target) {
      ++counted;  // open and past its target
    } else {
      ++not_yet_due;
    }
  }
  ASSERT_EQ(rows, 5000u);
  ASSERT_GT(not_yet_due, 0u);  // the case the definition leaves out does occur
  const double median_close_hours = Median(close_seconds) / 3600.0;

  // ---- Through the mapping, the import and the statistics.
  auto mapping = CsvMapping::FromJson(ParseJson(ReadText(kMapping)).value());
  ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
  CaseBook book(&Catalog::Default(), nullptr);
  auto reader = CsvReader::OpenFile(kCsv);
  ASSERT_TRUE(reader.ok());
  ImportReport report;
  Status st = ImportCsv(
      reader->get(), *mapping, 1000,
      [&](std::vector<ImportedCase> batch) -> Result<size_t> {
        auto ids = book.Import(std::move(batch), now);
        if (!ids.ok()) return ids.status();
        return ids->size();
      },
      &report);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(report.rows_read, 5000u);
  EXPECT_EQ(report.imported, kept);
  EXPECT_EQ(report.skipped_by_reason,
            (std::map<std::string, uint64_t>{{"closed before it was opened", closed_before_open}}));

  StatsQuery all;
  all.now = now;
  all.utc_offset_minutes = -300;
  auto r = book.statistics().Query(all);
  ASSERT_TRUE(r.ok());
  const GroupStats& t = r->total;
  const StepStats& close_step = t.steps[static_cast<size_t>(Step::kClose)];
  EXPECT_EQ(t.volume, kept);
  EXPECT_EQ(t.closed, closed);
  EXPECT_EQ(t.backlog, open_at_now);  // open, or closed only after `now`
  EXPECT_EQ(close_step.counted, counted);
  EXPECT_EQ(close_step.on_time, on_time);
  ASSERT_TRUE(close_step.on_time_rate.has_value());
  EXPECT_DOUBLE_EQ(*close_step.on_time_rate, static_cast<double>(on_time) / static_cast<double>(counted));
  ASSERT_TRUE(t.median_close_ms.has_value());
  EXPECT_DOUBLE_EQ(*t.median_close_ms / 3600000.0, median_close_hours);
  // Imported closed requests count as resolved when they closed.
  EXPECT_EQ(t.resolved, closed);
  EXPECT_DOUBLE_EQ(*t.median_handle_ms, *t.median_close_ms);

  std::printf("Boston 311 sample: %llu rows, %llu imported (%llu closed before opened skipped); "
              "close on time %.1f%% (%llu of %llu counted, %llu open and not yet due left out); "
              "median close %.2f h, p90 %.1f h; Boston's own OnTime_Status: ONTIME %.1f%% of %llu\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(kept),
              static_cast<unsigned long long>(closed_before_open), 100.0 * *close_step.on_time_rate,
              static_cast<unsigned long long>(on_time), static_cast<unsigned long long>(counted),
              static_cast<unsigned long long>(not_yet_due), median_close_hours,
              *t.p90_close_ms / 3600000.0,
              100.0 * static_cast<double>(boston_ontime) / static_cast<double>(boston_ontime + boston_overdue),
              static_cast<unsigned long long>(boston_ontime + boston_overdue));

  // By department: the groups add up to the total.
  StatsQuery by_department;
  by_department.group_by = GroupBy::kDepartment;
  by_department.now = now;
  auto by = book.statistics().Query(by_department);
  ASSERT_TRUE(by.ok());
  uint64_t volume = 0;
  for (const GroupStats& g : by->groups) volume += g.volume;
  EXPECT_EQ(volume, kept);
  EXPECT_GE(by->groups.size(), 4u);
}

}  // namespace
}  // namespace cb::cases
