#include "cases/statistics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace cb::cases {
namespace {

constexpr int64_t kDayMs = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 → civil date (Howard Hinnant's days_from_civil inverse).
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

std::string DayText(int64_t day) {
  int y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

// Median (the mean of the two middle values for an even count) and p90 (nearest rank) of
// `v`, reordering it.
void Percentiles(std::vector<int64_t>& v, std::optional<double>* median, std::optional<double>* p90) {
  if (v.empty()) return;
  const size_t n = v.size();
  auto nth = [&v](size_t k) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  const size_t rank90 = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1;
  *p90 = static_cast<double>(nth(rank90));
  if (n % 2 == 1) {
    *median = static_cast<double>(nth(n / 2));
  } else {
    const int64_t hi = nth(n / 2);
    // The lower middle is the largest of the elements before position n/2.
    const int64_t lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2));
    *median = (static_cast<double>(lo) + static_cast<double>(hi)) / 2.0;
  }
}

}  // namespace

CaseFacts FactsOf(const Case& c) {
  CaseFacts f;
  f.id = c.id;
  f.department = c.department;
  f.category = c.category;
  f.zone = c.zone_id;
  f.state = c.state;
  f.created_at = c.created_at;
  f.closed_at = c.closed_at;
  f.reopen_count = c.reopen_count;
  f.rating = c.rating;
  for (const Transition& t : c.history) {
    if (t.action == "resolve") {
      f.resolved_at = t.at;
      break;
    }
  }
  // An imported case closed in its own system counts as resolved when it closed.
  if (f.resolved_at == 0 && c.closed_at != 0 && !c.history.empty() && c.history.front().action == "import") {
    f.resolved_at = c.closed_at;
  }
  for (const StepClock& k : c.clocks) {  // in start order: the last one of a step wins
    CaseFacts::StepFacts& s = f.steps[static_cast<size_t>(k.step)];
    s.deadline = k.deadline;
    s.done_at = k.done_at;
  }
  return f;
}

Result<GroupBy> GroupByFromName(std::string_view name) {
  for (GroupBy g : {GroupBy::kNone, GroupBy::kDepartment, GroupBy::kCategory, GroupBy::kZone,
                    GroupBy::kDay, GroupBy::kWeek, GroupBy::kMonth}) {
    if (GroupByName(g) == name) return g;
  }
  return Status::BadRequestData("groupBy is one of none, department, category, zone, day, week, month; not '" +
                                std::string(name) + "'");
}

std::string_view GroupByName(GroupBy g) {
  switch (g) {
    case GroupBy::kNone: return "none";
    case GroupBy::kDepartment: return "department";
    case GroupBy::kCategory: return "category";
    case GroupBy::kZone: return "zone";
    case GroupBy::kDay: return "day";
    case GroupBy::kWeek: return "week";
    case GroupBy::kMonth: return "month";
  }
  return "none";
}

// One compact row per case: interned keys, times, and the step clocks. A query is one
// pass over these rows (about 120 bytes each), not over the case documents.
struct CaseStatistics::Impl {
  struct Row {
    uint32_t department, category, zone;
    bool finished, merged;
    int8_t rating;  // 0: none
    int32_t reopen_count;
    TimeMs created_at, resolved_at, closed_at;
    std::array<CaseFacts::StepFacts, kStepCount> steps;
  };
  mutable std::shared_mutex mu;
  std::vector<Row> rows;
  std::unordered_map<uint64_t, size_t> slot;  // case id → index in rows
  std::vector<uint64_t> ids;                  // index → case id
  std::vector<std::string> names{""};         // interned keys; 0 is ""
  std::unordered_map<std::string, uint32_t> name_index{{"", 0}};

  uint32_t Intern(const std::string& s) {
    auto [it, inserted] = name_index.emplace(s, static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(s);
    return it->second;
  }
  // The interned id of `s`, or UINT32_MAX when no row has it.
  uint32_t Lookup(const std::string& s) const {
    auto it = name_index.find(s);
    return it == name_index.end() ? UINT32_MAX : it->second;
  }
};

namespace {

struct Acc {
  GroupStats g;
  std::vector<int64_t> handle, close;
  int64_t rating_sum = 0;
  uint64_t satisfied = 0;
};

}  // namespace

CaseStatistics::CaseStatistics() : impl_(std::make_unique<Impl>()) {}
CaseStatistics::~CaseStatistics() = default;

void CaseStatistics::Upsert(const CaseFacts& f) {
  std::unique_lock lock(impl_->mu);
  Impl::Row r;
  r.department = impl_->Intern(f.department);
  r.category = impl_->Intern(f.category);
  r.zone = impl_->Intern(f.zone);
  r.finished = IsFinished(f.state);
  r.merged = f.state == CaseState::kMerged;
  r.rating = static_cast<int8_t>(f.rating.value_or(0));
  r.reopen_count = f.reopen_count;
  r.created_at = f.created_at;
  r.resolved_at = f.resolved_at;
  r.closed_at = f.closed_at;
  r.steps = f.steps;
  auto [it, inserted] = impl_->slot.emplace(f.id, impl_->rows.size());
  if (inserted) {
    impl_->rows.push_back(r);
    impl_->ids.push_back(f.id);
  } else {
    impl_->rows[it->second] = r;
  }
}

void CaseStatistics::Remove(uint64_t id) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->slot.find(id);
  if (it == impl_->slot.end()) return;
  const size_t i = it->second, last = impl_->rows.size() - 1;
  if (i != last) {
    impl_->rows[i] = impl_->rows[last];
    impl_->ids[i] = impl_->ids[last];
    impl_->slot[impl_->ids[i]] = i;
  }
  impl_->rows.pop_back();
  impl_->ids.pop_back();
  impl_->slot.erase(it);
}

size_t CaseStatistics::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->rows.size();
}

Result<StatsResult> CaseStatistics::Query(const StatsQuery& q) const {
  if (q.from && q.to && *q.from >= *q.to) return Status::BadRequestData("from must be before to");
  std::shared_lock lock(impl_->mu);
  const Impl& im = *impl_;
  // Filters as interned ids: a name no row has matches nothing.
  const uint32_t dep = q.department.empty() ? 0 : im.Lookup(q.department);
  const uint32_t cat = q.category.empty() ? 0 : im.Lookup(q.category);
  const uint32_t zone = q.zone.empty() ? 0 : im.Lookup(q.zone);
  const bool by_name = q.group_by == GroupBy::kDepartment || q.group_by == GroupBy::kCategory ||
                       q.group_by == GroupBy::kZone;
  const int64_t off = static_cast<int64_t>(q.utc_offset_minutes) * 60000;
  std::vector<Acc> named(by_name ? im.names.size() : 0);
  std::map<int64_t, Acc> periods;
  Acc total;
  const TimeMs from = q.from.value_or(INT64_MIN), to = q.to.value_or(INT64_MAX);
  auto add = [&q](Acc& a, const Impl::Row& r) {
    GroupStats& g = a.g;
    g.volume += 1;
    if (r.closed_at != 0) {
      g.closed += 1;
      a.close.push_back(r.closed_at - r.created_at);
    }
    if (!r.finished && !r.merged) g.backlog += 1;
    if (r.resolved_at != 0) {
      g.resolved += 1;
      a.handle.push_back(r.resolved_at - r.created_at);
      if (r.reopen_count > 0) g.reopened += 1;
    }
    if (r.rating != 0) {
      g.rated += 1;
      a.rating_sum += r.rating;
      a.satisfied += r.rating >= 4;
    }
    for (size_t s = 0; s < static_cast<size_t>(kStepCount); ++s) {
      const CaseFacts::StepFacts& k = r.steps[s];
      if (k.deadline == 0) continue;
      if (k.done_at != 0) {
        g.steps[s].counted += 1;
        g.steps[s].on_time += k.done_at <= k.deadline;
      } else if (q.now > k.deadline) {
        g.steps[s].counted += 1;
      }
    }
  };
  for (const Impl::Row& r : im.rows) {
    if (r.created_at < from || r.created_at >= to) continue;
    if (dep != 0 && r.department != dep) continue;
    if (cat != 0 && r.category != cat) continue;
    if (zone != 0 && r.zone != zone) continue;
    add(total, r);
    switch (q.group_by) {
      case GroupBy::kNone: break;
      case GroupBy::kDepartment: add(named[r.department], r); break;
      case GroupBy::kCategory: add(named[r.category], r); break;
      case GroupBy::kZone: add(named[r.zone], r); break;
      case GroupBy::kDay: add(periods[FloorDiv(r.created_at + off, kDayMs)], r); break;
      case GroupBy::kWeek: {
        const int64_t day = FloorDiv(r.created_at + off, kDayMs);
        add(periods[day - ((day + 3) % 7 + 7) % 7], r);  // back to Monday (1970-01-01 was a Thursday)
        break;
      }
      case GroupBy::kMonth: {
        const int64_t day = FloorDiv(r.created_at + off, kDayMs);
        int y;
        unsigned m, d;
        CivilFromDays(day, &y, &m, &d);
        add(periods[day - (d - 1)], r);
        break;
      }
    }
  }
  auto finish = [](Acc& a, std::string key) {
    GroupStats& g = a.g;
    g.key = std::move(key);
    for (StepStats& s : g.steps) {
      if (s.counted > 0) s.on_time_rate = static_cast<double>(s.on_time) / static_cast<double>(s.counted);
    }
    Percentiles(a.handle, &g.median_handle_ms, &g.p90_handle_ms);
    Percentiles(a.close, &g.median_close_ms, &g.p90_close_ms);
    if (g.resolved > 0) g.reopen_rate = static_cast<double>(g.reopened) / static_cast<double>(g.resolved);
    if (g.rated > 0) {
      g.mean_rating = static_cast<double>(a.rating_sum) / static_cast<double>(g.rated);
      g.satisfaction = static_cast<double>(a.satisfied) / static_cast<double>(g.rated);
    }
    return std::move(g);
  };
  StatsResult out;
  if (by_name) {
    std::vector<size_t> order;
    for (size_t i = 0; i < named.size(); ++i) {
      if (named[i].g.volume > 0) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&im](size_t a, size_t b) { return im.names[a] < im.names[b]; });
    for (size_t i : order) out.groups.push_back(finish(named[i], im.names[i]));
  } else {
    for (auto& [day, acc] : periods) out.groups.push_back(finish(acc, DayText(day)));
  }
  out.total = finish(total, "");
  return out;
}

namespace {

JsonValue Opt(const std::optional<double>& v, double scale = 1) {
  return v ? JsonValue(*v / scale) : JsonValue();
}

JsonValue GroupJson(const GroupStats& g) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("key", g.key);
  for (auto [name, v] : {std::pair{"volume", g.volume}, std::pair{"closed", g.closed},
                         std::pair{"backlog", g.backlog}, std::pair{"resolved", g.resolved},
                         std::pair{"reopened", g.reopened}, std::pair{"rated", g.rated}}) {
    o.Set(name, static_cast<int64_t>(v));
  }
  JsonValue steps = JsonValue::MakeObject();
  for (int s = 0; s < kStepCount; ++s) {
    const StepStats& st = g.steps[static_cast<size_t>(s)];
    JsonValue j = JsonValue::MakeObject();
    j.Set("counted", static_cast<int64_t>(st.counted));
    j.Set("onTime", static_cast<int64_t>(st.on_time));
    j.Set("rate", Opt(st.on_time_rate));
    steps.Set(StepName(static_cast<Step>(s)), std::move(j));
  }
  o.Set("onTimeRate", std::move(steps));
  constexpr double kHour = 3600000.0;
  o.Set("medianHandleHours", Opt(g.median_handle_ms, kHour));
  o.Set("p90HandleHours", Opt(g.p90_handle_ms, kHour));
  o.Set("medianCloseHours", Opt(g.median_close_ms, kHour));
  o.Set("p90CloseHours", Opt(g.p90_close_ms, kHour));
  o.Set("reopenRate", Opt(g.reopen_rate));
  o.Set("meanRating", Opt(g.mean_rating));
  o.Set("satisfaction", Opt(g.satisfaction));
  return o;
}

void CsvNumber(std::string* out, const std::optional<double>& v, double scale = 1) {
  out->push_back(',');
  if (!v) return;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *v / scale);
  out->append(buf);
}

void CsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

JsonValue StatsToJson(const StatsResult& r, GroupBy group_by) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("groupBy", GroupByName(group_by));
  JsonValue groups = JsonValue::MakeArray();
  for (const GroupStats& g : r.groups) groups.Push(GroupJson(g));
  o.Set("groups", std::move(groups));
  o.Set("total", GroupJson(r.total));
  return o;
}

std::string StatsToCsv(const StatsResult& r, GroupBy group_by) {
  std::string out(GroupByName(group_by));
  out += ",volume,closed,backlog,resolved,reopened,rated";
  for (int s = 0; s < kStepCount; ++s) out += ",on_time_" + std::string(StepName(static_cast<Step>(s)));
  out += ",median_handle_hours,p90_handle_hours,median_close_hours,p90_close_hours,reopen_rate,"
         "mean_rating,satisfaction\r\n";
  auto line = [&out](const GroupStats& g, std::string_view key) {
    CsvField(&out, key);
    for (uint64_t v : {g.volume, g.closed, g.backlog, g.resolved, g.reopened, g.rated}) {
      out += "," + std::to_string(v);
    }
    for (const StepStats& s : g.steps) CsvNumber(&out, s.on_time_rate);
    constexpr double kHour = 3600000.0;
    CsvNumber(&out, g.median_handle_ms, kHour);
    CsvNumber(&out, g.p90_handle_ms, kHour);
    CsvNumber(&out, g.median_close_ms, kHour);
    CsvNumber(&out, g.p90_close_ms, kHour);
    CsvNumber(&out, g.reopen_rate);
    CsvNumber(&out, g.mean_rating);
    CsvNumber(&out, g.satisfaction);
    out += "\r\n";
  };
  for (const GroupStats& g : r.groups) line(g, g.key);
  line(r.total, "total");
  return out;
}

}  // namespace cb::cases
