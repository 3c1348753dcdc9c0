// CaseStatistics on hand-built facts whose answers are known: on-time per step, median and
// p90, backlog, reopen rate, satisfaction, grouping by every key and period, filters.
#include "cases/statistics.h"

#include <gtest/gtest.h>

// Test cases name only the fields of a query or a fact they set (designated initializers);
// the rest keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <string>
#include <vector>

namespace cb::cases {
namespace {

constexpr TimeMs kHour = 3600 * 1000LL;

TimeMs At(const char* iso) { return ParseIso8601(iso).value(); }

const TimeMs kT0 = At("2026-03-02T00:00:00Z");  // a Monday

CaseFacts Facts(uint64_t id, std::string dept = "cgj", std::string cat = "0101",
                std::string zone = "urn:ngsi-ld:Zone:hubin", TimeMs created = kT0) {
  CaseFacts f;
  f.id = id;
  f.department = std::move(dept);
  f.category = std::move(cat);
  f.zone = std::move(zone);
  f.created_at = created;
  return f;
}

void SetStep(CaseFacts* f, Step s, TimeMs deadline, TimeMs done_at) {
  f->steps[static_cast<size_t>(s)] = {deadline, done_at};
}

StatsResult Ask(const CaseStatistics& stats, StatsQuery q) {
  auto r = stats.Query(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : StatsResult{};
}

const StepStats& StepOf(const GroupStats& g, Step s) { return g.steps[static_cast<size_t>(s)]; }

TEST(StatisticsTest, OnTimePerStepCountsDoneStepsAndOverdueRunningOnes) {
  CaseStatistics stats;
  CaseFacts a = Facts(1);
  SetStep(&a, Step::kAccept, kT0 + kHour, kT0 + kHour);          // on time (at the deadline)
  SetStep(&a, Step::kHandle, kT0 + 2 * kHour, kT0 + 3 * kHour);  // late
  CaseFacts b = Facts(2);
  SetStep(&b, Step::kAccept, kT0 + kHour, kT0 + kHour + 1);      // late by a millisecond
  SetStep(&b, Step::kHandle, kT0 + 10 * kHour, 0);               // running, not yet due
  CaseFacts c = Facts(3);
  SetStep(&c, Step::kAccept, 0, kT0 + kHour);                    // no deadline: not counted
  SetStep(&c, Step::kHandle, kT0 + 4 * kHour, 0);                // running, past due at now
  SetStep(&c, Step::kClose, kT0 + 5 * kHour, kT0 + 5 * kHour - 1);
  for (const CaseFacts& f : {a, b, c}) stats.Upsert(f);

  StatsQuery q;
  q.now = kT0 + 5 * kHour;
  StatsResult r = Ask(stats, q);
  EXPECT_TRUE(r.groups.empty());
  const GroupStats& t = r.total;
  EXPECT_EQ(t.volume, 3u);
  EXPECT_EQ(StepOf(t, Step::kAccept).counted, 2u);
  EXPECT_EQ(StepOf(t, Step::kAccept).on_time, 1u);
  EXPECT_DOUBLE_EQ(*StepOf(t, Step::kAccept).on_time_rate, 0.5);
  EXPECT_EQ(StepOf(t, Step::kHandle).counted, 2u);  // a (late) and c (overdue); b not yet due
  EXPECT_EQ(StepOf(t, Step::kHandle).on_time, 0u);
  EXPECT_DOUBLE_EQ(*StepOf(t, Step::kHandle).on_time_rate, 0.0);
  EXPECT_EQ(StepOf(t, Step::kClose).counted, 1u);
  EXPECT_EQ(StepOf(t, Step::kClose).on_time, 1u);
  EXPECT_EQ(StepOf(t, Step::kDispatch).counted, 0u);
  EXPECT_FALSE(StepOf(t, Step::kDispatch).on_time_rate.has_value());

  // Later, b's handle step is overdue too.
  q.now = kT0 + 11 * kHour;
  EXPECT_EQ(StepOf(Ask(stats, q).total, Step::kHandle).counted, 3u);
  // At its deadline exactly it is not yet past it.
  q.now = kT0 + 10 * kHour;
  EXPECT_EQ(StepOf(Ask(stats, q).total, Step::kHandle).counted, 2u);
}

TEST(StatisticsTest, MedianIsTheMiddleOrTheMeanOfTheTwoMiddlesAndP90IsNearestRank) {
  struct Sample {
    std::vector<int> hours;
    double median, p90;
  };
  const std::vector<Sample> samples = {
      {{7}, 7, 7},
      {{1, 2}, 1.5, 2},
      {{3, 1, 2}, 2, 3},
      {{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 9},            // rank ceil(9.0) = 9
      {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10},         // rank ceil(9.9) = 10
      {{5, 5, 5, 1, 100}, 5, 100},                          // rank ceil(4.5) = 5
  };
  for (const Sample& tc : samples) {
    CaseStatistics stats;
    uint64_t id = 1;
    for (int h : tc.hours) {
      CaseFacts f = Facts(id++);
      f.resolved_at = kT0 + h * kHour;
      f.closed_at = kT0 + 2 * h * kHour;
      f.state = CaseState::kClosed;
      stats.Upsert(f);
    }
    StatsResult r = Ask(stats, StatsQuery{.now = kT0});
    SCOPED_TRACE(::testing::PrintToString(tc.hours));
    EXPECT_EQ(r.total.resolved, tc.hours.size());
    EXPECT_DOUBLE_EQ(*r.total.median_handle_ms, tc.median * kHour);
    EXPECT_DOUBLE_EQ(*r.total.p90_handle_ms, tc.p90 * kHour);
    EXPECT_DOUBLE_EQ(*r.total.median_close_ms, 2 * tc.median * kHour);
    EXPECT_DOUBLE_EQ(*r.total.p90_close_ms, 2 * tc.p90 * kHour);
  }
}

TEST(StatisticsTest, BacklogReopenRateAndSatisfaction) {
  CaseStatistics stats;
  CaseFacts open = Facts(1);
  open.state = CaseState::kInProgress;
  CaseFacts rejected = Facts(2);
  rejected.state = CaseState::kRejected;
  CaseFacts closed = Facts(3);  // resolved, reopened once, then closed; rated 5
  closed.state = CaseState::kClosed;
  closed.resolved_at = kT0 + kHour;
  closed.closed_at = kT0 + 3 * kHour;
  closed.reopen_count = 1;
  closed.rating = 5;
  CaseFacts rated = Facts(4);  // resolved and rated 4, not yet closed
  rated.state = CaseState::kRated;
  rated.resolved_at = kT0 + kHour;
  rated.rating = 4;
  CaseFacts poor = Facts(5);  // rated 2: reopened, in progress again
  poor.state = CaseState::kAccepted;
  poor.resolved_at = kT0 + kHour;
  poor.reopen_count = 2;
  poor.rating = 2;
  CaseFacts reopened_unresolved = Facts(6);  // reopened from rejected, never resolved
  reopened_unresolved.state = CaseState::kAccepted;
  reopened_unresolved.reopen_count = 1;
  CaseFacts merged = Facts(7);  // follows its master: not in the backlog
  merged.state = CaseState::kMerged;
  for (const CaseFacts& f : {open, rejected, closed, rated, poor, reopened_unresolved, merged}) {
    stats.Upsert(f);
  }
  StatsResult r = Ask(stats, StatsQuery{.now = kT0 + 10 * kHour});
  const GroupStats& t = r.total;
  EXPECT_EQ(t.volume, 7u);
  EXPECT_EQ(t.closed, 1u);
  EXPECT_EQ(t.backlog, 4u);  // open, rated, poor, reopened_unresolved
  EXPECT_EQ(t.resolved, 3u);
  EXPECT_EQ(t.reopened, 2u);  // of the resolved ones
  EXPECT_DOUBLE_EQ(*t.reopen_rate, 2.0 / 3.0);
  EXPECT_EQ(t.rated, 3u);
  EXPECT_DOUBLE_EQ(*t.mean_rating, 11.0 / 3.0);
  EXPECT_DOUBLE_EQ(*t.satisfaction, 2.0 / 3.0);

  // Asked as of a time before the close, the closed case was still in the backlog.
  r = Ask(stats, StatsQuery{.now = kT0 + 2 * kHour});
  EXPECT_EQ(r.total.backlog, 5u);
}

TEST(StatisticsTest, NothingMatchingGivesZerosAndNoFigures) {
  CaseStatistics stats;
  StatsResult r = Ask(stats, StatsQuery{});
  EXPECT_EQ(r.total.volume, 0u);
  EXPECT_FALSE(r.total.median_handle_ms.has_value());
  EXPECT_FALSE(r.total.reopen_rate.has_value());
  EXPECT_FALSE(r.total.mean_rating.has_value());
  EXPECT_FALSE(r.total.satisfaction.has_value());
}

TEST(StatisticsTest, GroupsByDepartmentCategoryAndZoneInKeyOrder) {
  CaseStatistics stats;
  stats.Upsert(Facts(1, "szj", "0106", "urn:ngsi-ld:Zone:b"));
  stats.Upsert(Facts(2, "cgj", "0101", "urn:ngsi-ld:Zone:a"));
  stats.Upsert(Facts(3, "szj", "0107", "urn:ngsi-ld:Zone:a"));
  stats.Upsert(Facts(4, "cgj", "0101", ""));
  struct Want {
    GroupBy by;
    std::vector<std::pair<std::string, uint64_t>> groups;
  };
  const std::vector<Want> wants = {
      {GroupBy::kDepartment, {{"cgj", 2}, {"szj", 2}}},
      {GroupBy::kCategory, {{"0101", 2}, {"0106", 1}, {"0107", 1}}},
      {GroupBy::kZone, {{"", 1}, {"urn:ngsi-ld:Zone:a", 2}, {"urn:ngsi-ld:Zone:b", 1}}},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(std::string(GroupByName(w.by)));
    StatsResult r = Ask(stats, StatsQuery{.group_by = w.by});
    ASSERT_EQ(r.groups.size(), w.groups.size());
    for (size_t i = 0; i < w.groups.size(); ++i) {
      EXPECT_EQ(r.groups[i].key, w.groups[i].first);
      EXPECT_EQ(r.groups[i].volume, w.groups[i].second);
    }
    EXPECT_EQ(r.total.volume, 4u);
  }
}

// Periods are local: days, weeks from Monday, months, at the query's UTC offset.
TEST(StatisticsTest, GroupsByLocalPeriods) {
  struct Row {
    const char* created;
    GroupBy by;
    int offset_min;
    const char* key;
  };
  const std::vector<Row> rows = {
      {"2026-03-01T17:00:00Z", GroupBy::kDay, 480, "2026-03-02"},    // 01:00 local next day
      {"2026-03-01T17:00:00Z", GroupBy::kDay, 0, "2026-03-01"},
      {"2026-03-01T03:00:00Z", GroupBy::kDay, -300, "2026-02-28"},   // Boston, 22:00 local
      {"2026-03-01T17:00:00Z", GroupBy::kWeek, 480, "2026-03-02"},   // Monday
      {"2026-03-01T15:00:00Z", GroupBy::kWeek, 480, "2026-02-23"},   // Sunday 23:00 local
      {"2026-03-08T23:59:59Z", GroupBy::kWeek, 0, "2026-03-02"},     // Sunday
      {"1970-01-01T00:00:00Z", GroupBy::kWeek, 0, "1969-12-29"},     // a Thursday
      {"2026-02-28T20:00:00Z", GroupBy::kMonth, 480, "2026-03-01"},
      {"2026-02-28T20:00:00Z", GroupBy::kMonth, 0, "2026-02-01"},
      {"2025-12-31T23:00:00Z", GroupBy::kMonth, 60, "2026-01-01"},
      {"1969-12-15T00:00:00Z", GroupBy::kMonth, 0, "1969-12-01"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(row.created) + " " + std::string(GroupByName(row.by)));
    CaseStatistics stats;
    stats.Upsert(Facts(1, "cgj", "0101", "", At(row.created)));
    StatsResult r = Ask(stats, StatsQuery{.group_by = row.by, .utc_offset_minutes = row.offset_min});
    ASSERT_EQ(r.groups.size(), 1u);
    EXPECT_EQ(r.groups[0].key, row.key);
  }
}

// In a time zone, each case falls in the period of its own date's offset.
TEST(StatisticsTest, GroupsByPeriodsOfATimeZone) {
  const TimeZone ny = TimeZone::Find("America/New_York").value();
  struct Row {
    const char* created;
    GroupBy by;
    const char* key;
  };
  const std::vector<Row> rows = {
      {"2015-07-01T04:30:00Z", GroupBy::kMonth, "2015-07-01"},  // 00:30 EDT (at -05:00: June)
      {"2015-07-01T03:30:00Z", GroupBy::kMonth, "2015-06-01"},  // 23:30 EDT
      {"2015-01-01T04:30:00Z", GroupBy::kMonth, "2014-12-01"},  // 23:30 EST
      {"2015-03-08T06:30:00Z", GroupBy::kDay, "2015-03-08"},    // 01:30 EST, the clocks go forward at 07:00Z
      {"2015-03-09T03:30:00Z", GroupBy::kDay, "2015-03-08"},    // 23:30 EDT
      {"2015-11-02T04:30:00Z", GroupBy::kDay, "2015-11-01"},    // 23:30 EST, the day after they went back
  };
  CaseStatistics all;
  uint64_t id = 1;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.created);
    CaseStatistics stats;
    stats.Upsert(Facts(1, "cgj", "0101", "", At(row.created)));
    all.Upsert(Facts(id++, "cgj", "0101", "", At(row.created)));
    StatsQuery q{.group_by = row.by};
    q.time_zone = ny;
    StatsResult r = Ask(stats, q);
    ASSERT_EQ(r.groups.size(), 1u);
    EXPECT_EQ(r.groups[0].key, row.key);
  }
  // Many at once (the zone's offset is looked up per stretch between changes).
  StatsQuery q{.group_by = GroupBy::kMonth};
  q.time_zone = ny;
  StatsResult r = Ask(all, q);
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& g : r.groups) got.emplace_back(g.key, g.volume);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, uint64_t>>{
                     {"2014-12-01", 1}, {"2015-03-01", 2}, {"2015-06-01", 1}, {"2015-07-01", 1},
                     {"2015-11-01", 1}}));
}

TEST(StatisticsTest, PeriodGroupsAreOrderedAndAddUpToTheTotal) {
  CaseStatistics stats;
  const char* times[] = {"2026-05-01T10:00:00Z", "2026-01-15T10:00:00Z", "2026-03-01T10:00:00Z",
                         "2026-01-02T10:00:00Z", "2026-05-31T10:00:00Z"};
  uint64_t id = 1;
  for (const char* t : times) {
    CaseFacts f = Facts(id, "cgj", "0101", "", At(t));
    f.resolved_at = f.created_at + static_cast<TimeMs>(id) * kHour;
    stats.Upsert(f);
    ++id;
  }
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kMonth, .utc_offset_minutes = 0});
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[0].key, "2026-01-01");
  EXPECT_EQ(r.groups[0].volume, 2u);
  EXPECT_DOUBLE_EQ(*r.groups[0].median_handle_ms, 3 * kHour);  // (2 + 4) / 2
  EXPECT_EQ(r.groups[1].key, "2026-03-01");
  EXPECT_EQ(r.groups[2].key, "2026-05-01");
  EXPECT_EQ(r.groups[2].volume, 2u);
  EXPECT_EQ(r.total.volume, 5u);
  EXPECT_DOUBLE_EQ(*r.total.median_handle_ms, 3 * kHour);  // of 1..5 hours
  EXPECT_DOUBLE_EQ(*r.total.p90_handle_ms, 5 * kHour);
}

TEST(StatisticsTest, PeriodsFarApartStillGroup) {
  // Creation times centuries apart do not fit a table of periods: the sparse path.
  CaseStatistics stats;
  stats.Upsert(Facts(1, "cgj", "0101", "", At("0100-01-01T00:00:00Z")));
  stats.Upsert(Facts(2, "cgj", "0101", "", At("2026-03-02T00:00:00Z")));
  stats.Upsert(Facts(3, "cgj", "0101", "", At("2026-03-02T05:00:00Z")));
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kDay, .utc_offset_minutes = 0});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].key, "0100-01-01");
  EXPECT_EQ(r.groups[1].key, "2026-03-02");
  EXPECT_EQ(r.groups[1].volume, 2u);
}

TEST(StatisticsTest, FiltersByDepartmentCategoryZoneAndTime) {
  CaseStatistics stats;
  stats.Upsert(Facts(1, "cgj", "0101", "z1", kT0));
  stats.Upsert(Facts(2, "cgj", "0102", "z2", kT0 + kHour));
  stats.Upsert(Facts(3, "szj", "0106", "z1", kT0 + 2 * kHour));
  stats.Upsert(Facts(4, "szj", "0106", "z2", kT0 + 3 * kHour));
  struct Filter {
    StatsQuery q;
    uint64_t volume;
  };
  const std::vector<Filter> filters = {
      {StatsQuery{.department = "cgj"}, 2},
      {StatsQuery{.category = "0106"}, 2},
      {StatsQuery{.zone = "z1"}, 2},
      {StatsQuery{.department = "szj", .zone = "z2"}, 1},
      {StatsQuery{.department = "nobody"}, 0},
      {StatsQuery{.from = kT0 + kHour}, 3},
      {StatsQuery{.to = kT0 + kHour}, 1},  // created before `to`
      {StatsQuery{.from = kT0 + kHour, .to = kT0 + 3 * kHour}, 2},
      {StatsQuery{.group_by = GroupBy::kZone, .from = kT0 + 10 * kHour}, 0},
  };
  for (size_t i = 0; i < filters.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(Ask(stats, filters[i].q).total.volume, filters[i].volume);
  }
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kZone, .department = "szj"});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].volume, 1u);
}

TEST(StatisticsTest, FromNotBeforeToIsRefused) {
  CaseStatistics stats;
  for (TimeMs to : {kT0, kT0 - 1}) {
    auto r = stats.Query(StatsQuery{.from = kT0, .to = to});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kBadRequestData);
  }
}

TEST(StatisticsTest, UpsertReplacesAndRemoveForgets) {
  CaseStatistics stats;
  for (uint64_t id = 1; id <= 3; ++id) stats.Upsert(Facts(id, "d" + std::to_string(id)));
  EXPECT_EQ(stats.size(), 3u);
  stats.Upsert(Facts(1, "d3"));  // moves to another department
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kDepartment});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[1].key, "d3");
  EXPECT_EQ(r.groups[1].volume, 2u);
  stats.Remove(1);  // the first row: the last one moves into its place
  stats.Remove(42);
  EXPECT_EQ(stats.size(), 2u);
  stats.Upsert(Facts(3, "d2"));  // the moved row is still found by its id
  EXPECT_EQ(stats.size(), 2u);
  r = Ask(stats, StatsQuery{.group_by = GroupBy::kDepartment});
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0].key, "d2");
  EXPECT_EQ(r.groups[0].volume, 2u);
}

TEST(StatisticsTest, FactsOfReadsTheLatestClockAndTheFirstResolution) {
  Case c;
  c.id = 9;
  c.department = "szj";
  c.category = "0106";
  c.zone_id = "z";
  c.state = CaseState::kClosed;
  c.created_at = kT0;
  c.closed_at = kT0 + 9 * kHour;
  c.reopen_count = 1;
  c.rating = 4;
  c.clocks = {
      {.step = Step::kHandle, .started_at = kT0, .deadline = kT0 + kHour, .done_at = kT0 + 2 * kHour},
      {.step = Step::kClose, .started_at = kT0, .deadline = kT0 + 10 * kHour, .done_at = kT0 + 9 * kHour},
      {.step = Step::kHandle, .started_at = kT0 + 3 * kHour, .deadline = kT0 + 5 * kHour,
       .done_at = kT0 + 4 * kHour},
  };
  c.history = {
      {.version = 1, .at = kT0, .action = "create"},
      {.version = 2, .at = kT0 + 2 * kHour, .action = "resolve"},
      {.version = 3, .at = kT0 + 3 * kHour, .action = "reopen"},
      {.version = 4, .at = kT0 + 4 * kHour, .action = "resolve"},
  };
  CaseFacts f = FactsOf(c);
  EXPECT_EQ(f.id, 9u);
  EXPECT_EQ(f.department, "szj");
  EXPECT_EQ(f.zone, "z");
  EXPECT_EQ(f.resolved_at, kT0 + 2 * kHour);
  EXPECT_EQ(f.closed_at, kT0 + 9 * kHour);
  EXPECT_EQ(f.reopen_count, 1);
  EXPECT_EQ(f.rating, 4);
  EXPECT_EQ(f.steps[static_cast<size_t>(Step::kHandle)].deadline, kT0 + 5 * kHour);
  EXPECT_EQ(f.steps[static_cast<size_t>(Step::kHandle)].done_at, kT0 + 4 * kHour);
  EXPECT_EQ(f.steps[static_cast<size_t>(Step::kClose)].done_at, kT0 + 9 * kHour);
  EXPECT_EQ(f.steps[static_cast<size_t>(Step::kAccept)].deadline, 0);

  // An imported closed case never resolved here: resolved when its close clock stopped.
  Case imported;
  imported.id = 10;
  imported.state = CaseState::kClosed;
  imported.created_at = kT0;
  imported.closed_at = kT0 + 7 * kHour;
  imported.clocks = {{.step = Step::kClose, .started_at = kT0, .deadline = kT0 + 8 * kHour,
                      .done_at = kT0 + 7 * kHour}};
  imported.history = {{.version = 1, .at = kT0, .action = "import"}};
  EXPECT_EQ(FactsOf(imported).resolved_at, kT0 + 7 * kHour);
  imported.clocks.clear();
  EXPECT_EQ(FactsOf(imported).resolved_at, kT0 + 7 * kHour);
  // A case closed here without a resolution (a duplicate closing with its master) is not.
  imported.history.front().action = "create";
  EXPECT_EQ(FactsOf(imported).resolved_at, 0);
  imported.history.front().action = "import";
  imported.closed_at = 0;
  imported.state = CaseState::kDispatched;
  EXPECT_EQ(FactsOf(imported).resolved_at, 0);
}

TEST(StatisticsTest, GroupByNamesRoundTrip) {
  for (GroupBy g : {GroupBy::kNone, GroupBy::kDepartment, GroupBy::kCategory, GroupBy::kZone,
                    GroupBy::kDay, GroupBy::kWeek, GroupBy::kMonth}) {
    auto back = GroupByFromName(GroupByName(g));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, g);
  }
  EXPECT_EQ(GroupByFromName("year").status().code(), Code::kBadRequestData);
}

TEST(StatisticsTest, JsonHasCamelCaseFiguresInHoursAndNullsWhenAbsent) {
  CaseStatistics stats;
  CaseFacts f = Facts(1, "cgj");
  f.state = CaseState::kClosed;
  f.resolved_at = kT0 + 2 * kHour;
  f.closed_at = kT0 + 3 * kHour;
  SetStep(&f, Step::kClose, kT0 + 4 * kHour, kT0 + 3 * kHour);
  stats.Upsert(f);
  stats.Upsert(Facts(2, "szj"));
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kDepartment, .now = kT0 + 10 * kHour});
  JsonValue j = StatsToJson(r, GroupBy::kDepartment);
  EXPECT_EQ(j.Find("groupBy")->as_string(), "department");
  const JsonValue::Array& groups = j.Find("groups")->as_array();
  ASSERT_EQ(groups.size(), 2u);
  const JsonValue& cgj = groups[0];
  EXPECT_EQ(cgj.Find("key")->as_string(), "cgj");
  EXPECT_EQ(cgj.Find("volume")->as_int(), 1);
  EXPECT_EQ(cgj.Find("closed")->as_int(), 1);
  EXPECT_EQ(cgj.Find("backlog")->as_int(), 0);
  EXPECT_DOUBLE_EQ(cgj.Find("medianHandleHours")->as_double(), 2.0);
  EXPECT_DOUBLE_EQ(cgj.Find("p90CloseHours")->as_double(), 3.0);
  const JsonValue* close = cgj.Find("onTimeRate")->Find("close");
  EXPECT_DOUBLE_EQ(close->Find("rate")->as_double(), 1.0);
  EXPECT_EQ(close->Find("counted")->as_int(), 1);
  EXPECT_EQ(close->Find("onTime")->as_int(), 1);
  EXPECT_TRUE(cgj.Find("onTimeRate")->Find("accept")->Find("rate")->is_null());
  EXPECT_TRUE(cgj.Find("meanRating")->is_null());
  EXPECT_TRUE(cgj.Find("satisfaction")->is_null());
  EXPECT_TRUE(groups[1].Find("medianHandleHours")->is_null());
  const JsonValue* total = j.Find("total");
  EXPECT_EQ(total->Find("key"), nullptr);
  EXPECT_EQ(total->Find("volume")->as_int(), 2);
  EXPECT_EQ(total->Find("backlog")->as_int(), 1);
}

TEST(StatisticsTest, CsvHasOneLinePerGroupAndATotal) {
  CaseStatistics stats;
  CaseFacts f = Facts(1, "a,b");  // a key that needs quoting
  f.state = CaseState::kClosed;
  f.resolved_at = kT0 + kHour / 2;
  f.closed_at = kT0 + kHour;
  f.rating = 5;
  stats.Upsert(f);
  StatsResult r = Ask(stats, StatsQuery{.group_by = GroupBy::kDepartment, .now = kT0 + kHour});
  std::string csv = StatsToCsv(r, GroupBy::kDepartment);
  const std::string header =
      "department,volume,closed,backlog,resolved,reopened,rated,"
      "accept_counted,accept_on_time,accept_on_time_rate,dispatch_counted,dispatch_on_time,"
      "dispatch_on_time_rate,handle_counted,handle_on_time,handle_on_time_rate,verify_counted,"
      "verify_on_time,verify_on_time_rate,close_counted,close_on_time,close_on_time_rate,"
      "median_handle_hours,p90_handle_hours,median_close_hours,p90_close_hours,reopen_rate,"
      "mean_rating,satisfaction\r\n";
  const std::string line = "1,1,0,1,0,1,0,0,,0,0,,0,0,,0,0,,0,0,,0.5,0.5,1,1,0,5,1\r\n";
  EXPECT_EQ(csv, header + "\"a,b\"," + line + "total," + line);
}

}  // namespace
}  // namespace cb::cases
