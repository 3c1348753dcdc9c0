// CaseStatistics: one row of facts per case kept column by column (struct of arrays), with
// department, category and zone interned to small integers, so that a query streams a few
// tens of bytes per case and groups by indexing an array instead of hashing strings.
//
// A row keeps what a query needs in its cheapest form: the creation time, the handle and
// close durations (flags say whether they exist), the rating, and per step a 2-bit code
// (no deadline / done on time / done late / running) with, for running steps, the
// deadline to compare with the query's `now`.
//
// A query makes two passes: the first finds each matching row's group and adds up the
// counts, the second gathers each group's durations into its own segment of two flat
// buffers, where std::nth_element finds the medians and p90s (the total's over the whole
// buffers). The buffers are kept per thread between queries (thread_local: about 20 bytes
// per case on each thread that queries), so a query does not fault in fresh memory.
#include "cases/statistics.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace cb::cases {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr double kHourMs = 3600000.0;

// Per-step codes, two bits each in a row's uint16.
enum StepCode : uint16_t { kNoDeadline = 0, kDoneOnTime = 1, kDoneLate = 2, kRunning = 3 };

// Row flags.
enum : uint8_t {
  kFinished = 1,  // rejected or closed
  kClosed = 2,
  kResolved = 4,
  kReopened = 8,  // resolved and reopened at least once
  kMerged = 16,   // folded into another case: follows its master, not in the backlog
};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Local day number (days since 1970-01-01) of an instant.
// Local day numbers of instants: at the query's fixed offset, or in its time zone, whose
// offset is looked up once per stretch between two clock changes.
class LocalDays {
 public:
  explicit LocalDays(const StatsQuery& q)
      : fixed_ms_(static_cast<int64_t>(q.utc_offset_minutes) * 60000),
        zone_(q.time_zone ? &*q.time_zone : nullptr) {}
  int64_t operator()(TimeMs t) {
    int64_t offset_ms = fixed_ms_;
    if (zone_ != nullptr) {
      if (t < span_.from || t >= span_.until) span_ = zone_->OffsetAt(t);
      offset_ms = static_cast<int64_t>(span_.minutes) * 60000;
    }
    return FloorDiv(t + offset_ms, kDayMs);
  }

 private:
  int64_t fixed_ms_;
  const TimeZone* zone_;
  TimeZone::Offset span_{0, 1, 0};  // (empty: the first call looks up)
};

std::chrono::year_month_day Civil(int64_t day) {
  return std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(day)));
}

// The period a local day falls in, as a number that orders periods: the day itself, the
// week (weeks start on Monday; 1970-01-01 was a Thursday) or the month (year * 12 + month).
int64_t PeriodOf(int64_t day, GroupBy g) {
  switch (g) {
    case GroupBy::kWeek:
      return FloorDiv(day + 3, 7);
    case GroupBy::kMonth: {
      auto ymd = Civil(day);
      return static_cast<int64_t>(static_cast<int>(ymd.year())) * 12 +
             static_cast<unsigned>(ymd.month()) - 1;
    }
    default:
      return day;
  }
}

// The first local day of a period, as YYYY-MM-DD.
std::string PeriodKey(int64_t period, GroupBy g) {
  int64_t day = period;
  if (g == GroupBy::kWeek) {
    day = period * 7 - 3;
  } else if (g == GroupBy::kMonth) {
    std::chrono::year_month_day first{std::chrono::year(static_cast<int>(FloorDiv(period, 12))),
                                      std::chrono::month(static_cast<unsigned>(period - FloorDiv(period, 12) * 12 + 1)),
                                      std::chrono::day(1)};
    day = std::chrono::sys_days(first).time_since_epoch().count();
  }
  auto ymd = Civil(day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// What one group adds up while the rows are scanned: the counts go straight into `g`;
// its durations are gathered afterwards into one segment of the query's duration buffers.
struct Acc {
  GroupStats g;
  uint64_t rating_sum = 0, satisfied = 0;
  size_t handle_at = 0, close_at = 0;  // the start of its segments, then the fill position

  void Merge(const Acc& o) {
    g.volume += o.g.volume;
    g.closed += o.g.closed;
    g.backlog += o.g.backlog;
    g.resolved += o.g.resolved;
    g.reopened += o.g.reopened;
    g.rated += o.g.rated;
    rating_sum += o.rating_sum;
    satisfied += o.satisfied;
    for (int s = 0; s < kStepCount; ++s) {
      g.steps[s].counted += o.g.steps[s].counted;
      g.steps[s].on_time += o.g.steps[s].on_time;
    }
  }
};

// A query's working memory, kept per thread between queries so that a query over a million
// cases does not fault in fresh pages each time.
struct Scratch {
  std::vector<uint32_t> group_of;  // per row: its acc, or kNoGroup
  std::vector<int64_t> handle, close;
};
thread_local Scratch scratch;

std::optional<double> Ratio(uint64_t num, uint64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

// The median (mean of the two middle values when the count is even) and the p90 (nearest
// rank: the value at rank ceil(0.9 n)), in ms. Reorders `v`.
void Percentiles(int64_t* v, size_t n, std::optional<double>* median, std::optional<double>* p90) {
  if (n == 0) return;
  const size_t mid = n / 2;
  std::nth_element(v, v + mid, v + n);
  const int64_t upper = v[mid];
  if (n % 2 == 1) {
    *median = static_cast<double>(upper);
  } else {
    const int64_t lower = *std::max_element(v, v + mid);
    *median = (static_cast<double>(lower) + static_cast<double>(upper)) / 2.0;
  }
  const size_t rank = (9 * n + 9) / 10;  // ceil(0.9 n), 1-based
  const size_t idx = rank - 1;           // >= mid
  if (idx > mid) std::nth_element(v + mid + 1, v + idx, v + n);
  *p90 = static_cast<double>(v[idx]);
}

// The group's figures: rates, percentiles and means from what was added up.
// `handle` and `close`: the group's durations (reordered).
GroupStats Finish(std::string key, Acc& a, int64_t* handle, int64_t* close) {
  GroupStats g = std::move(a.g);
  g.key = std::move(key);
  for (StepStats& st : g.steps) st.on_time_rate = Ratio(st.on_time, st.counted);
  Percentiles(handle, g.resolved, &g.median_handle_ms, &g.p90_handle_ms);
  Percentiles(close, g.closed, &g.median_close_ms, &g.p90_close_ms);
  g.reopen_rate = Ratio(g.reopened, g.resolved);
  if (g.rated > 0) g.mean_rating = static_cast<double>(a.rating_sum) / static_cast<double>(g.rated);
  g.satisfaction = Ratio(a.satisfied, g.rated);
  return g;
}

constexpr uint32_t kNoId = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kNoGroup = std::numeric_limits<uint32_t>::max();

}  // namespace

struct CaseStatistics::Impl {
  mutable std::shared_mutex mu;

  // Interned names; id 0 is "".
  std::vector<std::string> names{""};
  std::unordered_map<std::string, uint32_t> name_ids{{"", 0}};

  std::unordered_map<uint64_t, uint32_t> row_of;  // case id → row
  // Columns, one entry per row.
  std::vector<uint64_t> id;
  std::vector<uint32_t> department, category, zone;
  std::vector<TimeMs> created;
  std::vector<int64_t> handle_ms, close_ms;  // meaningful when kResolved / kClosed
  std::vector<uint8_t> flags;
  std::vector<uint8_t> rating;  // 0: none
  std::vector<uint16_t> step_codes;
  std::array<std::vector<TimeMs>, kStepCount> running_deadline;  // when kRunning
  // Bounds of every creation time ever added (not narrowed by removals), to size the
  // period table of a query.
  TimeMs min_created = std::numeric_limits<TimeMs>::max();
  TimeMs max_created = std::numeric_limits<TimeMs>::min();

  uint32_t Intern(const std::string& s) {
    auto [it, inserted] = name_ids.try_emplace(s, static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(s);
    return it->second;
  }
  uint32_t Lookup(const std::string& s) const {
    auto it = name_ids.find(s);
    return it == name_ids.end() ? kNoId : it->second;
  }

  void Write(uint32_t r, const CaseFacts& f) {
    id[r] = f.id;
    department[r] = Intern(f.department);
    category[r] = Intern(f.category);
    zone[r] = Intern(f.zone);
    created[r] = f.created_at;
    uint8_t fl = 0;
    if (IsFinished(f.state)) fl |= kFinished;
    if (f.state == CaseState::kMerged) fl |= kMerged;
    if (f.closed_at != 0) fl |= kClosed;
    if (f.resolved_at != 0) {
      fl |= kResolved;
      if (f.reopen_count > 0) fl |= kReopened;
    }
    flags[r] = fl;
    handle_ms[r] = f.resolved_at != 0 ? f.resolved_at - f.created_at : 0;
    close_ms[r] = f.closed_at != 0 ? f.closed_at - f.created_at : 0;
    rating[r] = f.rating ? static_cast<uint8_t>(std::clamp(*f.rating, 1, 5)) : 0;
    uint16_t codes = 0;
    for (int s = 0; s < kStepCount; ++s) {
      const CaseFacts::StepFacts& sf = f.steps[s];
      uint16_t code = kNoDeadline;
      running_deadline[s][r] = 0;
      if (sf.deadline != 0) {
        if (sf.done_at != 0) {
          code = sf.done_at <= sf.deadline ? kDoneOnTime : kDoneLate;
        } else {
          code = kRunning;
          running_deadline[s][r] = sf.deadline;
        }
      }
      codes |= static_cast<uint16_t>(code << (2 * s));
    }
    step_codes[r] = codes;
    min_created = std::min(min_created, f.created_at);
    max_created = std::max(max_created, f.created_at);
  }

  template <typename F>
  void ForEachColumn(F&& f) {
    f(id);
    f(department);
    f(category);
    f(zone);
    f(created);
    f(handle_ms);
    f(close_ms);
    f(flags);
    f(rating);
    f(step_codes);
    for (auto& c : running_deadline) f(c);
  }
};

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
  TimeMs close_done = 0;
  for (const StepClock& k : c.clocks) {  // in start order: the latest clock of a step wins
    auto& s = f.steps[static_cast<size_t>(k.step)];
    s.deadline = k.deadline;
    s.done_at = k.done_at;
    if (k.step == Step::kClose) close_done = k.done_at;
  }
  for (const Transition& t : c.history) {
    if (t.action == CaseActionName(CaseAction::kResolve)) {
      f.resolved_at = t.at;
      break;
    }
  }
  // An imported case closed in the system it came from (a hotline export) counts as
  // resolved when it closed: its close clock's end, which is its closing time.
  if (f.resolved_at == 0 && c.closed_at != 0 && !c.history.empty() && c.history.front().action == "import") {
    f.resolved_at = close_done != 0 ? close_done : c.closed_at;
  }
  return f;
}

namespace {
constexpr std::array<std::string_view, 7> kGroupByNames = {"none", "department", "category", "zone",
                                                           "day",  "week",       "month"};
}  // namespace

Result<GroupBy> GroupByFromName(std::string_view name) {
  for (size_t i = 0; i < kGroupByNames.size(); ++i) {
    if (kGroupByNames[i] == name) return static_cast<GroupBy>(i);
  }
  return Status::BadRequestData("groupBy must be one of none, department, category, zone, day, "
                                "week, month; not \"" + std::string(name.substr(0, 40)) + "\"");
}

std::string_view GroupByName(GroupBy g) { return kGroupByNames[static_cast<size_t>(g)]; }

CaseStatistics::CaseStatistics() : impl_(std::make_unique<Impl>()) {}
CaseStatistics::~CaseStatistics() = default;

void CaseStatistics::Upsert(const CaseFacts& facts) {
  std::unique_lock lock(impl_->mu);
  Impl& m = *impl_;
  auto [it, inserted] = m.row_of.try_emplace(facts.id, static_cast<uint32_t>(m.id.size()));
  if (inserted) {
    m.ForEachColumn([](auto& col) { col.emplace_back(); });
  }
  m.Write(it->second, facts);
}

void CaseStatistics::Remove(uint64_t id) {
  std::unique_lock lock(impl_->mu);
  Impl& m = *impl_;
  auto it = m.row_of.find(id);
  if (it == m.row_of.end()) return;
  const uint32_t r = it->second;
  const uint32_t last = static_cast<uint32_t>(m.id.size() - 1);
  m.row_of.erase(it);
  if (r != last) {
    m.ForEachColumn([r, last](auto& col) { col[r] = col[last]; });
    m.row_of[m.id[r]] = r;
  }
  m.ForEachColumn([](auto& col) { col.pop_back(); });
}

size_t CaseStatistics::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->id.size();
}

Result<StatsResult> CaseStatistics::Query(const StatsQuery& q) const {
  if (q.from && q.to && *q.from >= *q.to) {
    return Status::BadRequestData("from must be before to");
  }
  std::shared_lock lock(impl_->mu);
  const Impl& m = *impl_;
  StatsResult result;

  // Filters by interned id; a name never seen matches nothing.
  uint32_t f_dept = kNoId, f_cat = kNoId, f_zone = kNoId;
  bool none_match = false;
  auto filter = [&](const std::string& name, uint32_t* out) {
    if (name.empty()) return;
    *out = m.Lookup(name);
    if (*out == kNoId) none_match = true;
  };
  filter(q.department, &f_dept);
  filter(q.category, &f_cat);
  filter(q.zone, &f_zone);
  const size_t n = m.id.size();
  if (none_match || n == 0) {
    Acc empty;
    result.total = Finish("", empty, nullptr, nullptr);
    return result;
  }
  const TimeMs from = q.from.value_or(std::numeric_limits<TimeMs>::min());
  const TimeMs to = q.to.value_or(std::numeric_limits<TimeMs>::max());

  // Group slots: an interned id for department, category and zone; a period number minus
  // the smallest possible one for periods (a dense table), or a hash map when the creation
  // times span too many periods for a table.
  const GroupBy g = q.group_by;
  const bool by_period = g == GroupBy::kDay || g == GroupBy::kWeek || g == GroupBy::kMonth;
  const std::vector<uint32_t>* key_col = g == GroupBy::kDepartment ? &m.department
                                       : g == GroupBy::kCategory   ? &m.category
                                       : g == GroupBy::kZone       ? &m.zone
                                                                   : nullptr;
  LocalDays local_day(q);
  std::vector<Acc> accs;
  std::vector<int64_t> acc_key;  // interned id or period number, per acc
  std::vector<uint32_t> slot;    // dense: slot → acc index
  std::unordered_map<int64_t, uint32_t> sparse;
  int64_t period_base = 0;
  bool dense = true;
  if (key_col != nullptr) {
    slot.assign(m.names.size(), kNoGroup);
  } else if (by_period) {
    period_base = PeriodOf(local_day(std::max(m.min_created, from)), g);
    const int64_t last = PeriodOf(local_day(std::min(m.max_created, to)), g);
    const int64_t span = last - period_base + 1;
    dense = span > 0 && span <= (1 << 20);
    if (dense) slot.assign(static_cast<size_t>(span), kNoGroup);
  } else {
    accs.emplace_back();
    acc_key.push_back(0);
  }
  auto acc_for = [&](int64_t key, uint32_t* s) -> uint32_t {
    if (*s == kNoGroup) {
      *s = static_cast<uint32_t>(accs.size());
      accs.emplace_back();
      acc_key.push_back(key);
    }
    return *s;
  };

  // Pass 1: which group each row falls in, and the counts.
  std::vector<uint32_t>& group_of = scratch.group_of;
  group_of.resize(n);
  const TimeMs now = q.now;
  for (size_t i = 0; i < n; ++i) {
    group_of[i] = kNoGroup;
    const TimeMs c = m.created[i];
    if (c < from || c >= to) continue;
    if (f_dept != kNoId && m.department[i] != f_dept) continue;
    if (f_cat != kNoId && m.category[i] != f_cat) continue;
    if (f_zone != kNoId && m.zone[i] != f_zone) continue;
    uint32_t gi = 0;
    if (key_col != nullptr) {
      const uint32_t k = (*key_col)[i];
      gi = acc_for(k, &slot[k]);
    } else if (by_period) {
      const int64_t p = PeriodOf(local_day(c), g);
      gi = dense ? acc_for(p, &slot[static_cast<size_t>(p - period_base)])
                 : acc_for(p, &sparse.try_emplace(p, kNoGroup).first->second);
    }
    group_of[i] = gi;
    Acc* a = &accs[gi];
    const uint8_t fl = m.flags[i];
    GroupStats& gs = a->g;
    ++gs.volume;
    if (fl & kClosed) ++gs.closed;
    if ((!(fl & (kFinished | kMerged))) || ((fl & kClosed) && c + m.close_ms[i] > now)) ++gs.backlog;
    if (fl & kResolved) {
      ++gs.resolved;
      if (fl & kReopened) ++gs.reopened;
    }
    if (const uint8_t r = m.rating[i]; r != 0) {
      ++gs.rated;
      a->rating_sum += r;
      if (r >= 4) ++a->satisfied;
    }
    if (uint16_t codes = m.step_codes[i]; codes != 0) {
      for (int s = 0; s < kStepCount; ++s, codes >>= 2) {
        StepStats& st = gs.steps[s];
        switch (codes & 3) {
          case kDoneOnTime:
            ++st.counted;
            ++st.on_time;
            break;
          case kDoneLate:
            ++st.counted;
            break;
          case kRunning:
            if (now > m.running_deadline[s][i]) ++st.counted;
            break;
          default:
            break;
        }
      }
    }
  }

  // Pass 2: each group's durations into its own segment of two flat buffers (reused between
  // queries), so the total's percentiles are taken over the whole buffers, unconcatenated.
  size_t handles = 0, closes = 0;
  for (Acc& a : accs) {
    a.handle_at = handles;
    a.close_at = closes;
    handles += a.g.resolved;
    closes += a.g.closed;
  }
  std::vector<int64_t>& handle = scratch.handle;
  std::vector<int64_t>& close = scratch.close;
  handle.resize(handles);
  close.resize(closes);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t gi = group_of[i];
    if (gi == kNoGroup) continue;
    const uint8_t fl = m.flags[i];
    if (fl & kResolved) handle[accs[gi].handle_at++] = m.handle_ms[i];
    if (fl & kClosed) close[accs[gi].close_at++] = m.close_ms[i];
  }

  if (key_col == nullptr && !by_period) {
    result.total = Finish("", accs[0], handle.data(), close.data());
    return result;
  }
  std::vector<uint32_t> order(accs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (by_period) {
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return acc_key[a] < acc_key[b]; });
  } else {
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return m.names[static_cast<size_t>(acc_key[a])] < m.names[static_cast<size_t>(acc_key[b])];
    });
  }
  Acc total;
  for (const Acc& a : accs) total.Merge(a);
  result.groups.reserve(order.size());
  for (uint32_t i : order) {
    Acc& a = accs[i];
    // After pass 2 the fill positions stand at the segments' ends.
    int64_t* h = handle.data() + (a.handle_at - a.g.resolved);
    int64_t* cl = close.data() + (a.close_at - a.g.closed);
    std::string key = by_period ? PeriodKey(acc_key[i], g) : m.names[static_cast<size_t>(acc_key[i])];
    result.groups.push_back(Finish(std::move(key), a, h, cl));
  }
  // The total: the groups' counts added up, percentiles over every group's durations
  // (reordering within a segment leaves the whole buffer the same multiset).
  result.total = Finish("", total, handle.data(), close.data());
  return result;
}

// ---- Output.

namespace {

JsonValue Optional(const std::optional<double>& v, double divisor = 1.0) {
  return v ? JsonValue(*v / divisor) : JsonValue();
}

JsonValue GroupJson(const GroupStats& g, bool with_key) {
  JsonValue o = JsonValue::MakeObject();
  if (with_key) o.Set("key", g.key);
  o.Set("volume", static_cast<int64_t>(g.volume));
  o.Set("closed", static_cast<int64_t>(g.closed));
  o.Set("backlog", static_cast<int64_t>(g.backlog));
  o.Set("resolved", static_cast<int64_t>(g.resolved));
  o.Set("reopened", static_cast<int64_t>(g.reopened));
  o.Set("rated", static_cast<int64_t>(g.rated));
  JsonValue steps = JsonValue::MakeObject();
  for (int s = 0; s < kStepCount; ++s) {
    const StepStats& st = g.steps[s];
    JsonValue step = JsonValue::MakeObject();
    step.Set("rate", Optional(st.on_time_rate));
    step.Set("counted", static_cast<int64_t>(st.counted));
    step.Set("onTime", static_cast<int64_t>(st.on_time));
    steps.Set(StepName(static_cast<Step>(s)), std::move(step));
  }
  o.Set("onTimeRate", std::move(steps));
  o.Set("medianHandleHours", Optional(g.median_handle_ms, kHourMs));
  o.Set("p90HandleHours", Optional(g.p90_handle_ms, kHourMs));
  o.Set("medianCloseHours", Optional(g.median_close_ms, kHourMs));
  o.Set("p90CloseHours", Optional(g.p90_close_ms, kHourMs));
  o.Set("reopenRate", Optional(g.reopen_rate));
  o.Set("meanRating", Optional(g.mean_rating));
  o.Set("satisfaction", Optional(g.satisfaction));
  return o;
}

void CsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
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

void CsvNumber(std::string* out, const std::optional<double>& v, double divisor = 1.0) {
  out->push_back(',');
  if (v) AppendJsonNumber(out, *v / divisor);
}

void CsvLine(std::string* out, std::string_view key, const GroupStats& g) {
  CsvField(out, key);
  for (uint64_t v : {g.volume, g.closed, g.backlog, g.resolved, g.reopened, g.rated}) {
    out->push_back(',');
    out->append(std::to_string(v));
  }
  for (const StepStats& st : g.steps) {
    // (Appended piece by piece: GCC 12 warns, wrongly, about `"," + std::to_string(n)`.)
    out->push_back(',');
    out->append(std::to_string(st.counted));
    out->push_back(',');
    out->append(std::to_string(st.on_time));
    CsvNumber(out, st.on_time_rate);
  }
  CsvNumber(out, g.median_handle_ms, kHourMs);
  CsvNumber(out, g.p90_handle_ms, kHourMs);
  CsvNumber(out, g.median_close_ms, kHourMs);
  CsvNumber(out, g.p90_close_ms, kHourMs);
  CsvNumber(out, g.reopen_rate);
  CsvNumber(out, g.mean_rating);
  CsvNumber(out, g.satisfaction);
  out->append("\r\n");
}

}  // namespace

JsonValue StatsToJson(const StatsResult& r, GroupBy group_by) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("groupBy", GroupByName(group_by));
  JsonValue groups = JsonValue::MakeArray();
  for (const GroupStats& g : r.groups) groups.Push(GroupJson(g, true));
  o.Set("groups", std::move(groups));
  o.Set("total", GroupJson(r.total, false));
  return o;
}

std::string StatsToCsv(const StatsResult& r, GroupBy group_by) {
  std::string out;
  out.append(group_by == GroupBy::kNone ? "key" : GroupByName(group_by));
  out.append(",volume,closed,backlog,resolved,reopened,rated");
  for (int s = 0; s < kStepCount; ++s) {
    const std::string n(StepName(static_cast<Step>(s)));
    out.append("," + n + "_counted," + n + "_on_time," + n + "_on_time_rate");
  }
  out.append(",median_handle_hours,p90_handle_hours,median_close_hours,p90_close_hours,"
             "reopen_rate,mean_rating,satisfaction\r\n");
  for (const GroupStats& g : r.groups) CsvLine(&out, g.key, g);
  CsvLine(&out, "total", r.total);
  return out;
}

}  // namespace cb::cases
