// Tiered response plans (分级响应): per zone, an ordered list of levels with thresholds on
// a measure (people in the zone, a parking index, ...), each with the actions to take
// (zh-CN and en) and the departments responsible. Hangzhou's Hubin fountain plan is the
// model: ≥ 1,000 people → level 3, ≥ 5,000 → level 2, ≥ 10,000 → level 1, decided every
// minute (examples/tier-plans/hubin-fountain.json).
//
// Levels count down in severity as in Chinese emergency plans: level 1 is the most severe;
// level 0 means "no level". A plan's thresholds rise as its levels become more severe.
//
//   TierPlan         the plan, parsed from configuration (JSON) and validated
//   TierTracker      one zone's current level, decided once per cycle with hysteresis
//   LevelTimeLedger  time spent at each level per zone and local day ("days a year at
//                    level 1" is the figure leaders ask for)
//
// Thread-safety: TierPlan is an immutable value once parsed. TierTracker and
// LevelTimeLedger are not thread-safe; the stream engine owns each and calls it from one
// thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::stream {

// A text in the languages the operations centre works in; zh-CN and en are required.
struct LocalizedText {
  std::string zh_cn;
  std::string en;
};

struct TierLevel {
  int level = 0;           // 1 = most severe
  double threshold = 0;    // the level applies when the measure is >= threshold
  LocalizedText name;      // e.g. 三级管控 / Level 3 control
  LocalizedText actions;   // what to do on entering the level
  std::vector<std::string> departments;  // who is responsible
};

class TierPlan {
 public:
  // Parses and validates a plan:
  //   {"id": "...", "name": {"zh-CN": "...", "en": "..."}, "measure": "peopleCount",
  //    "cycleSeconds": 60, "exitCycles": 3, "exitMarginRatio": 0.1,
  //    "levels": [{"level": 3, "threshold": 1000, "name": {...}, "actions": {...},
  //                "departments": ["..."]}, ...]}
  // cycleSeconds (default 60), exitCycles (default 3) and exitMarginRatio (default 0.1) are
  // optional. Errors are kBadRequestData naming the field: levels missing or repeated,
  // thresholds not rising with severity, texts missing a language, and so on.
  static Result<TierPlan> FromJson(const JsonValue& v);

  const std::string& id() const { return id_; }
  const LocalizedText& name() const { return name_; }
  const std::string& measure() const { return measure_; }
  int64_t cycle_ms() const { return cycle_ms_; }
  // A level is left only after this many consecutive cycles below its exit line.
  int exit_cycles() const { return exit_cycles_; }
  // The exit line of a level is threshold × (1 − exit_margin_ratio).
  double exit_margin_ratio() const { return exit_margin_ratio_; }
  // Least severe first (rising thresholds).
  const std::vector<TierLevel>& levels() const { return levels_; }
  // The level entry, or nullptr for 0 and unknown levels.
  const TierLevel* Find(int level) const;
  // The most severe level whose threshold `value` reaches; 0 when none.
  int LevelFor(double value) const;
  // The most severe level whose exit line `value` reaches (where a zone already at that
  // level or above would stay); 0 when none.
  int LevelHeldBy(double value) const;
  // Whether level a is more severe than level b (0 is the least severe of all).
  static bool MoreSevere(int a, int b) { return a != 0 && (b == 0 || a < b); }

  JsonValue ToJson() const;

 private:
  std::string id_;
  LocalizedText name_;
  std::string measure_;
  int64_t cycle_ms_ = 60000;
  int exit_cycles_ = 3;
  double exit_margin_ratio_ = 0.1;
  std::vector<TierLevel> levels_;
};

// A change of a zone's level, with what the plan says to do.
struct LevelChange {
  std::string zone_id;
  std::string plan_id;
  int from = 0;
  int to = 0;
  TimeMs at = 0;
  double value = 0;                 // the measure that decided it
  const TierLevel* level = nullptr;  // the plan's entry for `to` (nullptr for 0)
  bool escalation() const { return TierPlan::MoreSevere(to, from); }
};

// One zone under one plan. Decide() is called once per cycle with the zone's measure (or
// nothing when no reading covers the cycle):
//  - a value reaching a more severe level's threshold raises the level at once;
//  - the level is left only after exit_cycles consecutive cycles below its exit line, and
//    then drops to the most severe level the value still holds (LevelHeldBy);
//  - a cycle without a value keeps the level and breaks a run of cycles below the line
//    (a drop is not confirmed by missing data).
class TierTracker {
 public:
  TierTracker(const TierPlan* plan, std::string zone_id) : plan_(plan), zone_id_(std::move(zone_id)) {}

  // The change this cycle made, if any.
  std::optional<LevelChange> Decide(TimeMs now, std::optional<double> value);

  int level() const { return level_; }
  // Cycles in a row below the current level's exit line so far.
  int cycles_below() const { return cycles_below_; }
  const std::string& zone_id() const { return zone_id_; }

 private:
  const TierPlan* plan_;
  std::string zone_id_;
  int level_ = 0;
  int cycles_below_ = 0;
};

// Time spent at each level, per zone and local day. Record() is told each interval the
// zone spent at one level; intervals crossing midnight (in the configured UTC offset) are
// split between the days.
class LevelTimeLedger {
 public:
  explicit LevelTimeLedger(int utc_offset_minutes = 0) : offset_ms_(int64_t{utc_offset_minutes} * 60000) {}

  // The zone was at `level` during [from, to). Level 0 is recorded too (time with no level).
  void Record(const std::string& zone_id, int level, TimeMs from, TimeMs to);

  // A local day as days since 1970-01-01 in the ledger's offset.
  int64_t DayOf(TimeMs t) const;
  // Milliseconds the zone spent at each level on local day `day`.
  std::map<int, int64_t> Day(const std::string& zone_id, int64_t day) const;
  // Local days in [first_day, last_day] on which the zone spent any time at `level` or a
  // more severe one.
  int64_t DaysAtOrAbove(const std::string& zone_id, int level, int64_t first_day,
                        int64_t last_day) const;

 private:
  int64_t offset_ms_;
  // zone -> day -> level -> ms
  std::map<std::string, std::map<int64_t, std::map<int, int64_t>>> days_;
};

}  // namespace cb::stream
