// SituationEngine: the live picture of the city's zones, fed by the context broker. It
// keeps the zones (NGSI-LD entities of type Zone) in a ZoneIndex, the people counters
// (entities with a `peopleCount` Property) in a CrowdIndex, the car parks
// (OffStreetParking: totalSpotNumber, availableSpotNumber or occupiedSpotNumber, location)
// in a ParkingIndex, and runs each zone's tier plan
// (the Zone's `tierPlan` Property names it) on the plan's decision cycle. Every level
// change is kept (the most recent ones) and handed to the LevelChangeListeners; the time
// spent at each level is accounted per zone and local day. Counters and car parks that stop
// reporting are found by DeviceHealth and handed to the DeviceHealthListeners. Each zone's
// crowd count and level are also sampled into a bounded in-memory series (ZoneHistoryPoint),
// for charts and for replaying the city as it was.
//
// Flow: the broker calls OnChanges after each commit (zones and counters update at once);
// a thread calls RunCycles every tick (one second), which decides the zones whose cycle is
// due. Tests may instead drive RunCycles themselves with their own clock.
//
// Definition errors are refused before the broker takes the entity (SetValidator): a Zone
// needs a Polygon or MultiPolygon location, a positive capacity if any, a parent that is an
// existing Zone and not itself or one of its descendants, and a tierPlan that is loaded.
//
// Thread-safety: all public methods are thread-safe (one mutex). LevelChangeListeners are
// called on the cycle thread, outside the lock, in the order the changes were decided.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "context/broker.h"
#include "core/periodic_thread.h"
#include "core/time.h"
#include "stream/crowd_index.h"
#include "stream/device_health.h"
#include "stream/parking_index.h"
#include "stream/tier_plan.h"
#include "stream/zones.h"

namespace cb::stream {

class LevelChangeListener {
 public:
  virtual ~LevelChangeListener() = default;
  virtual void OnLevelChange(const LevelChange& change) = 0;
};

class DeviceHealthListener {
 public:
  virtual ~DeviceHealthListener() = default;
  virtual void OnDeviceHealth(const DeviceHealthChange& change) = 0;
};

struct SituationOptions {
  CrowdOptions crowd;
  ParkingOptions parking;
  DeviceHealthOptions devices;
  int utc_offset_minutes = 0;  // where local days begin, for the time-at-level figures
  int64_t tick_ms = 1000;      // how often the cycle thread looks for due cycles
  size_t kept_changes = 1000;  // level changes kept for GET …/level-changes
  // Each zone's history: a point at most every history_step_ms (and at every level change),
  // kept for history_hours.
  int64_t history_step_ms = 10000;
  int history_hours = 24;
};

// One sample of a zone's history: its count (unknown when coverage was too low) and its
// tier level (0 for zones without a plan) at `at`.
struct ZoneHistoryPoint {
  TimeMs at = 0;
  std::optional<double> count;
  int level = 0;
  bool operator==(const ZoneHistoryPoint&) const = default;
};

// Thins `points` (oldest first) to about `max_points`: every point whose level differs from
// the point before it is kept (even past max_points), and the rest of the budget goes to
// points picked evenly through the series, the first and the last included. A series of at
// most max_points comes back whole. max_points must be positive.
std::vector<ZoneHistoryPoint> ThinHistory(const std::vector<ZoneHistoryPoint>& points,
                                          size_t max_points);

// Counts for /metrics.
struct SituationStats {
  size_t zones = 0;
  size_t zones_with_plan = 0;
  size_t counters = 0;
  size_t car_parks = 0;
  size_t silent_devices = 0;
  uint64_t level_changes = 0;
  // Readings of counters and car parks by outcome (ReadingOutcome order).
  uint64_t readings[5] = {};
};

// What the engine knows of one zone now.
struct ZoneStatus {
  Zone zone;
  std::vector<std::string> ancestors;  // parent first
  ZoneCrowd crowd;                     // at the time asked
  std::string plan_id;                 // empty: no plan
  int level = 0;
  TimeMs level_since = kNoTime;        // when the current level began (kNoTime: never decided)
  TimeMs last_cycle = kNoTime;
};

class SituationEngine final : public context::ChangeListener {
 public:
  // `plans`: the tier plans zones may name. Only plans on `peopleCount` are supported yet.
  static Result<std::unique_ptr<SituationEngine>> Create(context::ContextBroker* broker,
                                                         const Clock* clock,
                                                         std::vector<TierPlan> plans,
                                                         SituationOptions options = {});
  ~SituationEngine() override;
  SituationEngine(const SituationEngine&) = delete;
  SituationEngine& operator=(const SituationEngine&) = delete;

  // Installs the Zone validator, listens to the broker, reads the zones and counters it
  // already holds, and (with `run_thread`) starts the cycle thread.
  Status Start(bool run_thread = true);
  // Stops the thread and the listening. Idempotent.
  void Stop();

  void OnChanges(const std::vector<context::Change>& changes) override;
  // Decides every zone whose cycle is due at `now`.
  void RunCycles(TimeMs now);

  void AddListener(LevelChangeListener* l);
  void RemoveListener(LevelChangeListener* l);
  // Counters and car parks going silent or reporting again (DeviceHealth), decided with the
  // cycles; called on the cycle thread.
  void AddDeviceListener(DeviceHealthListener* l);
  void RemoveDeviceListener(DeviceHealthListener* l);
  std::vector<DeviceState> Devices() const;
  SituationStats Stats() const;

  std::vector<const TierPlan*> Plans() const;
  const TierPlan* Plan(const std::string& id) const;
  std::optional<ZoneStatus> ZoneState(const std::string& zone_id) const;
  std::vector<ZoneStatus> AllZones() const;
  // The most recent level changes, newest last; `zone_id` empty: every zone.
  std::vector<LevelChange> RecentChanges(const std::string& zone_id, size_t limit) const;
  // The kept level changes of every zone with `from` < at <= `to`, oldest first.
  std::vector<LevelChange> ChangesBetween(TimeMs from, TimeMs to) const;

  // The zone's kept history points with `from` <= at <= `to`, oldest first; nullopt when
  // the zone is not defined.
  std::optional<std::vector<ZoneHistoryPoint>> History(const std::string& zone_id, TimeMs from,
                                                       TimeMs to) const;
  // Every defined zone (in id order) with its last point at or before `at` (nullopt when it
  // has none that old).
  std::vector<std::pair<std::string, std::optional<ZoneHistoryPoint>>> HistoryAt(TimeMs at) const;
  const SituationOptions& options() const { return options_; }
  TimeMs Now() const { return clock_->Now(); }  // the engine's clock
  // Local days in [first_day, last_day] the zone spent at `level` or worse, and the
  // milliseconds per level of one day (LevelTimeLedger).
  int64_t DaysAtOrAbove(const std::string& zone_id, int level, int64_t first_day,
                        int64_t last_day) const;
  std::map<int, int64_t> Day(const std::string& zone_id, int64_t day) const;
  int64_t DayOf(TimeMs t) const;

  // Zone questions for the rules: whether zone `zone_id` is defined; whether a sensor at
  // `location` (or naming `ref_zone`) counts toward it (lies in it or one of its sub-zones);
  // and a number that changes whenever any zone does, for caching such answers.
  bool HasZone(const std::string& zone_id) const;
  bool Covers(const std::string& zone_id, const std::optional<geo::LonLat>& location,
              const std::string& ref_zone) const;
  // The zones containing `p`, most specific first (deepest in the zone tree), then their
  // ancestors nearest first; each once. Cases are routed by it.
  std::vector<std::string> ZonesAt(geo::LonLat p) const;
  uint64_t ZonesVersion() const { return zones_version_.load(std::memory_order_acquire); }

  // Car parks (ParkingIndex) as of now.
  std::vector<LotState> ParkingLots() const;
  DestinationParking ParkingFor(geo::LonLat center, double radius_m) const;
  std::vector<LotState> ParkingGuidance(geo::LonLat center, double radius_m, size_t limit) const;

  // The Zone rules, as the broker's validator applies them.
  static Status ValidateZone(const context::Entity& e, const context::EntityLookup& lookup,
                                 const std::map<std::string, TierPlan>& plans);

 private:
  struct Tracked {
    std::string plan_id;
    std::unique_ptr<TierTracker> tracker;
    TimeMs next_due = kNoTime;
    TimeMs last_cycle = kNoTime;
    TimeMs level_since = kNoTime;
  };
  struct CounterPlace {
    std::optional<geo::LonLat> location;
    std::string ref_zone;
  };
  SituationEngine(context::ContextBroker* broker, const Clock* clock,
                  std::map<std::string, TierPlan> plans, SituationOptions options);
  void ApplyEntityLocked(const context::Entity& e, bool deleted, const std::vector<std::string>* attrs);
  void PlaceCounterLocked(const std::string& id);
  // Drops the zone's tracker; a level it held ends (a change to 0, told at the next cycle).
  void StopTrackingLocked(const std::string& zone_id);
  void ApplyCarParkLocked(const context::Entity& e, bool deleted,
                          const std::vector<std::string>* attrs);
  ZoneStatus StatusLocked(const Zone& z, TimeMs now) const;
  // Samples every zone's history at `now`; `decided` holds the counts of the zones whose
  // cycle ran at `now` (their level is already the one decided).
  void SampleHistoryLocked(TimeMs now, const std::map<std::string, std::optional<double>>& decided);

  context::ContextBroker* broker_;
  const Clock* clock_;
  const std::map<std::string, TierPlan> plans_;
  const SituationOptions options_;

  mutable std::mutex mu_;
  ZoneIndex zones_;
  CrowdIndex crowd_;
  ParkingIndex parking_;
  DeviceHealth devices_;
  std::vector<DeviceHealthListener*> device_listeners_;
  std::map<std::string, CounterPlace> counters_;
  std::atomic<uint64_t> zones_version_{0};
  bool counters_dirty_ = false;  // zones changed: counters' zones are recomputed next cycle
  std::map<std::string, Tracked> tracked_;  // zone id -> its plan's tracker
  LevelTimeLedger ledger_;
  std::deque<LevelChange> changes_;
  uint64_t level_changes_ = 0;
  std::vector<LevelChange> ended_;  // levels ended outside a cycle, for the next one
  std::vector<LevelChangeListener*> listeners_;
  std::map<std::string, std::deque<ZoneHistoryPoint>> history_;  // zone id -> oldest first

  std::atomic<bool> listening_{false};
  PeriodicThread cycler_;
};

}  // namespace cb::stream
