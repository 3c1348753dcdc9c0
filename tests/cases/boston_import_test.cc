// The Boston 311 sample (5,000 real service requests of 2015, public domain; see
// ../shared/data/boston311_2015/SOURCE.txt) imported into a CaseBook through the shipped
// mapping: the statistics' close-step on-time rate and median close time must equal the
// figures computed here straight from the CSV, by a separate simple computation.
#include <gtest/gtest.h>

// Test cases name only the fields of a query or a fact they set (designated initializers);
// the rest keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

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
#include "../boston311.h"

namespace cb::cases {
namespace {

namespace boston = cb::testing::boston;

TEST(BostonImportTest, StatisticsMatchFiguresComputedFromTheCsv) {
  const std::string text = boston::ReadText(boston::kCsv);
  ASSERT_FALSE(text.empty()) << "no Boston sample at " << boston::kCsv;

  // The query's "now": midnight at the end of 2015 in Boston, while some open requests'
  // targets are still ahead (those are not counted).
  const TimeMs now = ParseIso8601("2016-01-01T05:00:00Z").value();
  const boston::Figures fig = boston::Compute(text, now / 1000);
  ASSERT_TRUE(fig.ok);
  ASSERT_EQ(fig.rows, 5000u);
  ASSERT_GT(fig.not_yet_due, 0u);  // the case the definition leaves out does occur

  // ---- Through the mapping, the import and the statistics.
  auto mapping = CsvMapping::FromJson(ParseJson(boston::ReadText(boston::kMapping)).value());
  ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
  CaseBook book(&Catalog::Default(), nullptr);
  auto reader = CsvReader::OpenFile(boston::kCsv);
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
  EXPECT_EQ(report.imported, fig.kept);
  EXPECT_EQ(report.skipped_by_reason,
            (std::map<std::string, uint64_t>{{"closed before it was opened", fig.closed_before_open}}));

  StatsQuery all;
  all.now = now;
  all.time_zone = TimeZone::Find("America/New_York").value();
  auto r = book.statistics().Query(all);
  ASSERT_TRUE(r.ok());
  const GroupStats& t = r->total;
  const StepStats& close_step = t.steps[static_cast<size_t>(Step::kClose)];
  EXPECT_EQ(t.volume, fig.kept);
  EXPECT_EQ(t.closed, fig.closed);
  EXPECT_EQ(t.backlog, fig.open_at_now);  // open, or closed only after `now`
  EXPECT_EQ(close_step.counted, fig.counted);
  EXPECT_EQ(close_step.on_time, fig.on_time);
  ASSERT_TRUE(close_step.on_time_rate.has_value());
  EXPECT_DOUBLE_EQ(*close_step.on_time_rate, static_cast<double>(fig.on_time) / static_cast<double>(fig.counted));
  ASSERT_TRUE(t.median_close_ms.has_value());
  EXPECT_DOUBLE_EQ(*t.median_close_ms / 3600000.0, fig.median_close_hours);
  // Imported closed requests count as resolved when they closed.
  EXPECT_EQ(t.resolved, fig.closed);
  EXPECT_DOUBLE_EQ(*t.median_handle_ms, *t.median_close_ms);

  std::printf("Boston 311 sample: %llu rows, %llu imported (%llu closed before opened skipped); "
              "close on time %.1f%% (%llu of %llu counted, %llu open and not yet due left out); "
              "median close %.2f h, p90 %.1f h; Boston's own OnTime_Status: ONTIME %.1f%% of %llu\n",
              static_cast<unsigned long long>(fig.rows), static_cast<unsigned long long>(fig.kept),
              static_cast<unsigned long long>(fig.closed_before_open), 100.0 * *close_step.on_time_rate,
              static_cast<unsigned long long>(fig.on_time), static_cast<unsigned long long>(fig.counted),
              static_cast<unsigned long long>(fig.not_yet_due), fig.median_close_hours,
              *t.p90_close_ms / 3600000.0, 100.0 * boston::BostonOnTimeShare(fig),
              static_cast<unsigned long long>(fig.boston_ontime + fig.boston_overdue));

  // By department: the groups add up to the total.
  StatsQuery by_department;
  by_department.group_by = GroupBy::kDepartment;
  by_department.now = now;
  auto by = book.statistics().Query(by_department);
  ASSERT_TRUE(by.ok());
  uint64_t volume = 0;
  for (const GroupStats& g : by->groups) volume += g.volume;
  EXPECT_EQ(volume, fig.kept);
  EXPECT_GE(by->groups.size(), 4u);
}

}  // namespace
}  // namespace cb::cases
