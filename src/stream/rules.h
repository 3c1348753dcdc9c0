// Rules: the hazards a city watches beyond crowd tiers, as configuration. A rule names an
// entity type, an optional zone (only entities located in the zone, or naming it or one of
// its sub-zones by `refZone`, are watched), and a condition on each entity's readings:
//
//   {"attribute": "waterLevel", "op": ">=", "value": 2.5}            threshold
//   {"rateOfChange": {"attribute": "peopleCount", "op": ">=",
//                     "value": 800, "withinSeconds": 300}}           rate of change
//   {"silentFor": 3}                       no reading for 3 × the device's learned interval
//   {"all": [...]}, {"any": [...]}         AND / OR, nested up to 8 deep
//
// with a severity (I–IV), a quiet period, texts and departments:
//
//   {"id": "metro-surge", "name": {"zh-CN": "…", "en": "…"},
//    "entityType": "CrowdFlowObserved", "zone": "urn:ngsi-ld:Zone:hubin-metro",
//    "when": {...}, "severity": "II", "category": "crowd",
//    "quietPeriodSeconds": 600, "deEscalateAfterSeconds": 0,
//    "actions": {"zh-CN": "…", "en": "…"}, "departments": ["…"], "caseCategory": "0701"}
//
// With caseCategory, the alert of each firing also opens a case of that category (see
// src/cases), dispatched to the first of `departments` the case catalog knows, else to the
// category's department.
//
// Semantics:
//  - A rule is evaluated for an entity when one of the attributes it reads changes (at
//    once, on the broker's completion thread: no cycle to wait for), and for silence and
//    quiet periods on a tick. A missing or non-numeric attribute makes its condition false.
//  - Rate of change: the latest reading minus the reading at the start of the window (the
//    last one at or before `latest − withinSeconds`, else the first one inside it); readings
//    are timed by observedAt (else arrival) and out-of-order ones are left out.
//  - An entity's condition turning true fires the rule for it (a RuleEvent with firing =
//    true); turning false clears it. Readings that keep it true change nothing, so a flood
//    of readings from one sensor raises one alert, not a storm.
//  - Quiet period: once a firing has cleared, the rule does not fire again for that entity
//    until the quiet period has passed; if the condition still holds then, it fires then.
//  - Silence uses DeviceHealth (learned interval, `silentFor` as its factor) per rule.
//
// Rules are defined from files at start (read-only) or through Define/Remove (the API),
// which checks them against the live city: the zone must exist, and when the broker holds
// entities of the type, every attribute the rule reads must be carried by at least one of
// them (a warning is returned when there are none yet to check against). Defined rules are
// stored (records of kind "rule") and read back at start.
//
// Thread-safety: RuleEngine is thread-safe (one mutex). RuleListeners are called outside
// it, on the thread that caused the event (the broker's completion thread, or the tick).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "context/broker.h"
#include "core/json.h"
#include "core/periodic_thread.h"
#include "core/status.h"
#include "core/time.h"
#include "store/store.h"
#include "stream/device_health.h"
#include "stream/tier_plan.h"

namespace cb::stream {

class SituationEngine;

enum class CompareOp { kLt, kLe, kGt, kGe, kEq, kNe };

struct RuleCondition {
  enum class Kind { kThreshold, kRateOfChange, kSilent, kAll, kAny };
  Kind kind = Kind::kThreshold;
  std::string attribute;       // threshold, rate of change
  CompareOp op = CompareOp::kGe;
  JsonValue value;             // a number; a string for == and != thresholds
  int64_t window_ms = 0;       // rate of change
  double silent_factor = 0;    // silence: k × the learned interval
  std::vector<RuleCondition> children;  // all, any
};

struct Rule {
  std::string id;
  LocalizedText name;
  std::string entity_type;
  std::string zone_id;          // empty: everywhere
  RuleCondition when;
  int severity = 3;             // 1 (I) … 4 (IV)
  std::string category = "other";
  int64_t quiet_period_ms = 0;
  int64_t deescalate_after_ms = 0;  // for the alerts it raises; 0: never
  LocalizedText actions;            // may be empty
  std::vector<std::string> departments;
  std::string case_category;        // "caseCategory": a case of this category is opened
                                    // for each firing's alert (empty: none)
  std::string source = "api";       // "file" or "api"

  // Parses and validates a rule (see the file comment). kBadRequestData naming the field.
  static Result<Rule> FromJson(const JsonValue& v);
  JsonValue ToJson() const;
  // The attributes the rule reads, sorted, each once.
  std::vector<std::string> Attributes() const;
  double SilentFactor() const;  // 0 when the rule has no silence condition
};

// A rule firing for an entity, or clearing.
struct RuleEvent {
  std::string rule_id;
  std::string entity_id;
  bool firing = false;
  TimeMs at = 0;
  std::string reason_en;   // what held (or that it cleared), e.g. "peopleCount 5210 >= 5000"
  std::string reason_zh;
  std::optional<geo::LonLat> location;  // the entity's, when known
};

class RuleListener {
 public:
  virtual ~RuleListener() = default;
  virtual void OnRuleEvent(const Rule& rule, const RuleEvent& event) = 0;
};

// One rule as it stands, for the API.
struct RuleStatus {
  Rule rule;
  struct Firing {
    std::string entity_id;
    TimeMs since = 0;
    std::string reason_en;
  };
  std::vector<Firing> firing;  // entities it fires for now, by id
  size_t watched = 0;          // entities of its type in its scope seen so far
  size_t held = 0;             // true, but held back by the quiet period
  uint64_t fired = 0, cleared = 0, suppressed = 0;
};

struct RuleStats {
  size_t rules = 0;
  size_t firing = 0;
  uint64_t evaluations = 0;
  uint64_t fired = 0;
  uint64_t suppressed = 0;  // firings held back by a quiet period
};

class RuleEngine final : public context::ChangeListener {
 public:
  // `situation` (may be null: then zone-scoped rules are refused) answers zone questions;
  // `store` (may be null) keeps API-defined rules.
  RuleEngine(context::ContextBroker* broker, const SituationEngine* situation,
             store::Store* store, const Clock* clock, int64_t tick_ms = 1000);
  ~RuleEngine() override;
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // Takes the rules from files, reads the stored ones, listens to the broker, evaluates
  // every rule on the entities of its type held now, and (with `run_thread`) starts the
  // tick thread. A file rule that is refused stops the start with its reason.
  Status Start(std::vector<Rule> file_rules, bool run_thread = true);
  void Stop();

  struct Defined {
    bool created = false;               // false: replaced
    std::vector<std::string> warnings;  // e.g. attributes that could not be checked yet
  };
  // Adds or replaces an API rule (see the file comment for the checks) and evaluates it on
  // the entities of its type held now. kConflict for a rule from a file. Replacing a rule
  // clears its firings first (each one a clearing event).
  Result<Defined> Define(Rule rule);
  // kNotFound, or kConflict for a rule from a file. Its firings clear.
  Status Remove(const std::string& id);
  std::vector<RuleStatus> List() const;
  std::optional<RuleStatus> Get(const std::string& id) const;
  RuleStats Stats() const;

  void OnChanges(const std::vector<context::Change>& changes) override;
  // Silence and the end of quiet periods (the tick thread calls it; tests may too).
  void Tick(TimeMs now);

  void AddListener(RuleListener* l);
  void RemoveListener(RuleListener* l);

 private:
  struct Reading {
    TimeMs at;
    double value;
  };
  struct Watch {
    context::EntityPtr entity;            // latest state seen
    std::map<std::string, std::deque<Reading>> series;  // rate-of-change attributes
    bool firing = false;
    TimeMs since = 0;
    std::string reason_en;
    TimeMs cleared_at = kNoTime;  // start of the quiet period
    bool held = false;            // true during the quiet period
    bool silent = false;
    // Scope cache: valid for this zones version and location.
    uint64_t scope_version = UINT64_MAX;
    const void* scope_geometry = nullptr;
    std::string scope_ref;
    bool in_scope = false;
  };
  struct Entry {
    Rule rule;
    std::vector<std::string> attrs;
    std::set<std::string> rate_attrs;
    int64_t max_window_ms = 0;
    std::unique_ptr<DeviceHealth> health;  // silence rules only
    std::map<std::string, Watch> watches;  // entity id -> state
    uint64_t fired = 0, cleared = 0, suppressed = 0;
  };
  using Events = std::vector<std::pair<std::shared_ptr<const Rule>, RuleEvent>>;

  Status CheckAgainstCity(const Rule& rule, std::vector<std::string>* warnings) const;
  Result<std::vector<context::EntityPtr>> EntitiesOf(const std::string& type) const;
  Entry& InstallLocked(Rule rule);
  // A new state of an entity of the rule's type (`attrs`: those written; null: all).
  void ObserveLocked(Entry& e, const context::EntityPtr& entity,
                     const std::vector<std::string>* attrs, TimeMs now, Events* events);
  void DropLocked(const std::string& id, TimeMs now, Events* events);
  bool InScopeLocked(const Entry& e, Watch& w);
  // Evaluates the rule for one watched entity and records a firing or clearing.
  void EvaluateLocked(Entry& e, const std::string& entity_id, Watch& w, TimeMs now,
                      Events* events);
  bool HoldsLocked(const Entry& e, const RuleCondition& c, const Watch& w, std::string* en,
                   std::string* zh) const;
  void Notify(const Events& events);

  context::ContextBroker* broker_;
  const SituationEngine* situation_;
  store::Store* store_;
  const Clock* clock_;
  const int64_t tick_ms_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> rules_;
  std::map<std::string, std::shared_ptr<const Rule>> shared_;  // for events
  std::map<std::string, std::vector<std::string>> by_type_;    // type -> rule ids
  uint64_t evaluations_ = 0;
  std::vector<RuleListener*> listeners_;

  std::atomic<bool> listening_{false};
  PeriodicThread ticker_;
};

}  // namespace cb::stream
