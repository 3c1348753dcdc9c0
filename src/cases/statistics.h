// CaseStatistics: what leaders ask of the case loop, per department, category, zone and
// period: volume, on-time rate per step, median and p90 handling and closing time, backlog,
// reopen rate and satisfaction. It keeps one compact row of facts per case (kept current by
// CaseBook at every change, or filled directly by an import or a benchmark) and answers a
// query by one pass over the rows that match, so a query over a million cases takes tens of
// milliseconds, not a database scan of the case documents.
//
// Definitions (docs/cases.md):
//   volume        cases created in [from, to)
//   closed        of those, closed (closed_at set)
//   backlog       of those, not finished at `now`
//   on-time rate  per step: steps done by their deadline / steps with a deadline that are
//                 done or already past it (a running step not yet due is not counted)
//   handle time   created → resolved (first resolution), cases resolved
//   close time    created → closed, closed cases
//   reopen rate   cases reopened at least once / cases resolved at least once
//   satisfaction  mean rating and share of ratings ≥ 4, rated cases
//
// Thread-safety: CaseStatistics is thread-safe (a shared mutex: queries run in parallel,
// changes exclusively).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cases/case.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::cases {

// The facts of one case that statistics need.
struct CaseFacts {
  uint64_t id = 0;
  std::string department;
  std::string category;
  std::string zone;
  CaseState state = CaseState::kReported;
  TimeMs created_at = 0;
  TimeMs resolved_at = 0;  // first resolution; 0: never resolved
  TimeMs closed_at = 0;    // 0: not closed
  int reopen_count = 0;
  std::optional<int> rating;
  struct StepFacts {
    TimeMs deadline = 0;  // 0: no deadline (or the step never started)
    TimeMs done_at = 0;   // 0: not done
  };
  std::array<StepFacts, kStepCount> steps{};  // by Step: the latest clock of each step
};
// The facts of a case (latest clock per step).
CaseFacts FactsOf(const Case& c);

enum class GroupBy : uint8_t { kNone, kDepartment, kCategory, kZone, kDay, kWeek, kMonth };
Result<GroupBy> GroupByFromName(std::string_view name);  // none department category zone day week month
std::string_view GroupByName(GroupBy g);

struct StatsQuery {
  GroupBy group_by = GroupBy::kNone;
  std::optional<TimeMs> from;  // created at or after
  std::optional<TimeMs> to;    // created before
  std::string department, category, zone;  // filters; empty: any
  TimeMs now = 0;                          // for backlog and overdue running steps
  int utc_offset_minutes = 480;            // local days, weeks (from Monday), months
  std::optional<TimeZone> time_zone;       // ... or these, in a zone (daylight saving included)
};

struct StepStats {
  uint64_t counted = 0;  // done, or running past the deadline
  uint64_t on_time = 0;
  std::optional<double> on_time_rate;  // on_time / counted; none when counted == 0
};

struct GroupStats {
  std::string key;  // department id, category code, zone id, or period start (YYYY-MM-DD);
                    // "" for the total and for cases without one
  uint64_t volume = 0, closed = 0, backlog = 0, resolved = 0, reopened = 0, rated = 0;
  std::array<StepStats, kStepCount> steps{};
  std::optional<double> median_handle_ms, p90_handle_ms;
  std::optional<double> median_close_ms, p90_close_ms;
  std::optional<double> reopen_rate;   // reopened / resolved
  std::optional<double> mean_rating;
  std::optional<double> satisfaction;  // share of ratings ≥ 4
};

struct StatsResult {
  std::vector<GroupStats> groups;  // ordered by key
  GroupStats total;
};

class CaseStatistics {
 public:
  CaseStatistics();
  ~CaseStatistics();
  // Adds or replaces the row of facts.id.
  void Upsert(const CaseFacts& facts);
  void Remove(uint64_t id);
  size_t size() const;
  // kBadRequestData when from >= to.
  Result<StatsResult> Query(const StatsQuery& q) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

JsonValue StatsToJson(const StatsResult& r, GroupBy group_by);
// One line per group and a last "total" line; durations in hours, rates as fractions.
std::string StatsToCsv(const StatsResult& r, GroupBy group_by);

}  // namespace cb::cases
