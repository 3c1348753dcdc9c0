#include "stream/tier_plan.h"

#include "stream/config_json.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace cb::stream {
namespace {

constexpr std::string_view kWhat = "tier plan";
Status Bad(const std::string& message) { return config::Bad(kWhat, message); }

}  // namespace

Result<TierPlan> TierPlan::FromJson(const JsonValue& v) {
  if (!v.is_object()) return Bad("a plan must be a JSON object");
  TierPlan p;
  auto id = config::RequiredString(kWhat, v, "id", "");
  if (!id.ok()) return id.status();
  p.id_ = std::move(id).value();
  auto name = config::RequiredText(kWhat, v, "name", "");
  if (!name.ok()) return name.status();
  p.name_ = std::move(name).value();
  auto measure = config::RequiredString(kWhat, v, "measure", "");
  if (!measure.ok()) return measure.status();
  p.measure_ = std::move(measure).value();

  double cycle_s = 60, exit_cycles = 3, margin = 0.1;
  CB_RETURN_IF_ERROR(config::OptionalNumber(kWhat, v, "cycleSeconds", 1, 86400, &cycle_s));
  CB_RETURN_IF_ERROR(config::OptionalNumber(kWhat, v, "exitCycles", 1, 1000, &exit_cycles));
  CB_RETURN_IF_ERROR(config::OptionalNumber(kWhat, v, "exitMarginRatio", 0, 0.99, &margin));
  if (exit_cycles != std::floor(exit_cycles)) return Bad("exitCycles must be a whole number");
  p.cycle_ms_ = static_cast<int64_t>(std::llround(cycle_s * 1000));
  p.exit_cycles_ = static_cast<int>(exit_cycles);
  p.exit_margin_ratio_ = margin;

  const JsonValue* levels = v.Find("levels");
  if (levels == nullptr || !levels->is_array() || levels->as_array().empty()) {
    return Bad("levels must be a non-empty array");
  }
  std::set<int> seen;
  for (size_t i = 0; i < levels->as_array().size(); ++i) {
    const JsonValue& l = levels->as_array()[i];
    const std::string where = "levels[" + std::to_string(i) + "].";
    if (!l.is_object()) return Bad(where + " must be an object");
    TierLevel level;
    const JsonValue* n = l.Find("level");
    if (n == nullptr || !n->is_int() || n->as_int() < 1 || n->as_int() > 99) {
      return Bad(where + "level must be a whole number from 1 (most severe) to 99");
    }
    level.level = static_cast<int>(n->as_int());
    if (!seen.insert(level.level).second) {
      return Bad("level " + std::to_string(level.level) + " is given twice");
    }
    const JsonValue* t = l.Find("threshold");
    if (t == nullptr || !t->is_number() || !std::isfinite(t->as_double())) {
      return Bad(where + "threshold must be a finite number");
    }
    level.threshold = t->as_double();
    auto lname = config::RequiredText(kWhat, l, "name", where);
    if (!lname.ok()) return lname.status();
    level.name = std::move(lname).value();
    auto actions = config::RequiredText(kWhat, l, "actions", where);
    if (!actions.ok()) return actions.status();
    level.actions = std::move(actions).value();
    if (l.Find("departments") == nullptr) {
      return Bad(where + "departments must be a non-empty array of names");
    }
    CB_RETURN_IF_ERROR(config::OptionalNames(kWhat, l, "departments", where, &level.departments));
    p.levels_.push_back(std::move(level));
  }
  std::sort(p.levels_.begin(), p.levels_.end(),
            [](const TierLevel& a, const TierLevel& b) { return a.level > b.level; });
  for (size_t i = 1; i < p.levels_.size(); ++i) {
    const TierLevel& less = p.levels_[i - 1];
    const TierLevel& more = p.levels_[i];
    if (more.threshold <= less.threshold) {
      return Bad("thresholds must rise with severity: level " + std::to_string(more.level) +
                 " (" + JsonValue(more.threshold).Dump() + ") is not above level " +
                 std::to_string(less.level) + " (" + JsonValue(less.threshold).Dump() + ")");
    }
  }
  return p;
}

const TierLevel* TierPlan::Find(int level) const {
  for (const TierLevel& l : levels_) {
    if (l.level == level) return &l;
  }
  return nullptr;
}

int TierPlan::LevelFor(double value) const {
  int found = 0;
  for (const TierLevel& l : levels_) {
    if (value >= l.threshold) found = l.level;
  }
  return found;
}

int TierPlan::LevelHeldBy(double value) const {
  int found = 0;
  for (const TierLevel& l : levels_) {
    if (value >= l.threshold * (1 - exit_margin_ratio_)) found = l.level;
  }
  return found;
}

JsonValue TierPlan::ToJson() const {
  JsonValue o = JsonValue::MakeObject();
  o.Set("id", id_);
  o.Set("name", config::TextToJson(name_));
  o.Set("measure", measure_);
  o.Set("cycleSeconds", static_cast<double>(cycle_ms_) / 1000.0);
  o.Set("exitCycles", exit_cycles_);
  o.Set("exitMarginRatio", exit_margin_ratio_);
  JsonValue levels = JsonValue::MakeArray();
  for (const TierLevel& l : levels_) {
    JsonValue e = JsonValue::MakeObject();
    e.Set("level", l.level);
    e.Set("threshold", l.threshold);
    e.Set("name", config::TextToJson(l.name));
    e.Set("actions", config::TextToJson(l.actions));
    e.Set("departments", config::NamesToJson(l.departments));
    levels.Push(std::move(e));
  }
  o.Set("levels", std::move(levels));
  return o;
}

std::optional<LevelChange> TierTracker::Decide(TimeMs now, std::optional<double> value) {
  if (!value) {
    cycles_below_ = 0;  // missing data does not confirm a drop
    return std::nullopt;
  }
  const int from = level_;
  const int target = plan_->LevelFor(*value);
  if (TierPlan::MoreSevere(target, level_)) {
    level_ = target;
    cycles_below_ = 0;
  } else if (level_ != 0) {
    const TierLevel* current = plan_->Find(level_);
    const double exit_line = current->threshold * (1 - plan_->exit_margin_ratio());
    if (*value < exit_line) {
      if (++cycles_below_ >= plan_->exit_cycles()) {
        level_ = plan_->LevelHeldBy(*value);
        cycles_below_ = 0;
      }
    } else {
      cycles_below_ = 0;
    }
  }
  if (level_ == from) return std::nullopt;
  return LevelChange{zone_id_, plan_->id(), from, level_, now, *value, plan_->Find(level_)};
}

int64_t LevelTimeLedger::DayOf(TimeMs t) const {
  constexpr int64_t kDay = 86400000;
  const int64_t local = t + offset_ms_;
  return local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
}

void LevelTimeLedger::Record(const std::string& zone_id, int level, TimeMs from, TimeMs to) {
  constexpr int64_t kDay = 86400000;
  if (to <= from) return;
  auto& days = days_[zone_id];
  TimeMs t = from;
  while (t < to) {
    const int64_t day = DayOf(t);
    const TimeMs day_end = (day + 1) * kDay - offset_ms_;  // next local midnight, in UTC
    const TimeMs end = std::min(to, day_end);
    days[day][level] += end - t;
    t = end;
  }
}

std::map<int, int64_t> LevelTimeLedger::Day(const std::string& zone_id, int64_t day) const {
  auto z = days_.find(zone_id);
  if (z == days_.end()) return {};
  auto d = z->second.find(day);
  if (d == z->second.end()) return {};
  return d->second;
}

int64_t LevelTimeLedger::DaysAtOrAbove(const std::string& zone_id, int level, int64_t first_day,
                                       int64_t last_day) const {
  auto z = days_.find(zone_id);
  if (z == days_.end()) return 0;
  int64_t n = 0;
  for (auto it = z->second.lower_bound(first_day); it != z->second.end() && it->first <= last_day;
       ++it) {
    for (const auto& [l, ms] : it->second) {
      if (ms > 0 && l != 0 && (l == level || TierPlan::MoreSevere(l, level))) {
        ++n;
        break;
      }
    }
  }
  return n;
}

}  // namespace cb::stream
