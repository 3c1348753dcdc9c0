#include "stream/situation_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <iterator>
#include <utility>

namespace cb::stream {
namespace {

constexpr std::string_view kZoneType = "Zone";
constexpr std::string_view kCountAttr = "peopleCount";
constexpr std::string_view kPlanAttr = "tierPlan";
constexpr std::string_view kCarParkType = "OffStreetParking";

// The counter's place: its location (a Point; the first point of other shapes) and refZone.
bool CounterPlaceOf(const context::Entity& e, std::optional<geo::LonLat>* location,
                    std::string* ref_zone) {
  if (const context::Attribute* l = e.Find("location"); l != nullptr && l->geometry != nullptr) {
    *location = l->geometry->FirstPoint();
  }
  if (const context::Attribute* r = e.Find("refZone");
      r != nullptr && r->kind == context::AttrKind::kRelationship && r->value.is_string()) {
    *ref_zone = r->value.as_string();
  }
  return true;
}

std::string PlanOf(const context::Entity& e) {
  const context::Attribute* p = e.Find(kPlanAttr);
  return p != nullptr && p->value.is_string() ? p->value.as_string() : std::string();
}

}  // namespace

Result<std::unique_ptr<SituationEngine>> SituationEngine::Create(context::ContextBroker* broker,
                                                                 const Clock* clock,
                                                                 std::vector<TierPlan> plans,
                                                                 SituationOptions options) {
  std::map<std::string, TierPlan> by_id;
  for (TierPlan& p : plans) {
    if (p.measure() != kCountAttr) {
      return Status::BadRequestData("tier plan " + p.id() + ": measure " + p.measure() +
                                    " is not supported yet (supported: peopleCount)");
    }
    const std::string id = p.id();
    if (!by_id.emplace(id, std::move(p)).second) {
      return Status::BadRequestData("tier plan " + id + " is defined twice");
    }
  }
  return std::unique_ptr<SituationEngine>(
      new SituationEngine(broker, clock, std::move(by_id), options));
}

SituationEngine::SituationEngine(context::ContextBroker* broker, const Clock* clock,
                                 std::map<std::string, TierPlan> plans, SituationOptions options)
    : broker_(broker),
      clock_(clock),
      plans_(std::move(plans)),
      options_(options),
      crowd_(&zones_, options.crowd),
      parking_(options.parking),
      devices_(options.devices),
      ledger_(options.utc_offset_minutes) {}

SituationEngine::~SituationEngine() { Stop(); }

Status SituationEngine::ValidateZone(const context::Entity& e, const context::EntityLookup& lookup,
                                     const std::map<std::string, TierPlan>& plans) {
  auto zone = ZoneIndex::FromEntity(e);
  if (!zone.ok()) return zone.status();
  auto bad = [&](const std::string& what) {
    return Status::BadRequestData("zone " + e.id + ": " + what);
  };
  if (zone->area.type != geo::GeometryType::kPolygon &&
      zone->area.type != geo::GeometryType::kMultiPolygon) {
    return bad("location must be a Polygon or MultiPolygon");
  }
  if (zone->capacity && !(*zone->capacity > 0)) return bad("capacity must be a positive number");
  if (!zone->parent_id.empty()) {
    std::string up = zone->parent_id;
    for (int depth = 0; !up.empty(); ++depth) {
      if (up == e.id) return bad("refParent " + zone->parent_id + " lies inside this zone");
      const context::Entity* p = lookup(up);
      if (p == nullptr || !p->HasType(kZoneType)) {
        return bad(up == zone->parent_id ? "refParent " + up + " is not a defined Zone"
                                         : "an ancestor, " + up + ", is not a defined Zone");
      }
      if (depth > 64) return bad("the parent chain is longer than 64 zones");
      const context::Attribute* next = p->Find("refParent");
      up = next != nullptr && next->value.is_string() ? next->value.as_string() : std::string();
    }
  }
  if (const context::Attribute* p = e.Find(kPlanAttr)) {
    if (!p->value.is_string()) return bad("tierPlan must be the id of a tier plan");
    if (plans.count(p->value.as_string()) == 0) {
      std::string known;
      for (const auto& [id, plan] : plans) known += (known.empty() ? "" : ", ") + id;
      return bad("tierPlan " + p->value.as_string() + " is not loaded (loaded: " +
                 (known.empty() ? "none" : known) + ")");
    }
  }
  return Status::Ok();
}

Status SituationEngine::Start(bool run_thread) {
  broker_->SetValidator(std::string(kZoneType),
                        [plans = &plans_](const context::Entity& e, const context::EntityLookup& l) {
                          return ValidateZone(e, l, *plans);
                        });
  broker_->AddListener(this);
  listening_.store(true);
  // What the broker held before: zones (parents before children, in passes), then counters.
  context::EntityQuery zq;
  zq.types = {std::string(kZoneType)};
  zq.limit = SIZE_MAX;
  auto zones = broker_->Query(zq);
  if (!zones.ok()) return zones.status();
  context::EntityQuery cq;
  cq.attrs = {std::string(kCountAttr)};
  cq.limit = SIZE_MAX;
  auto counters = broker_->Query(cq);
  if (!counters.ok()) return counters.status();
  context::EntityQuery pq;
  pq.types = {std::string(kCarParkType)};
  pq.limit = SIZE_MAX;
  auto car_parks = broker_->Query(pq);
  if (!car_parks.ok()) return car_parks.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<context::EntityPtr> left = zones->entities;
    while (!left.empty()) {
      std::vector<context::EntityPtr> later;
      for (const context::EntityPtr& e : left) {
        auto z = ZoneIndex::FromEntity(*e);
        if (z.ok() && !z->parent_id.empty() && zones_.Find(z->parent_id) == nullptr) {
          later.push_back(e);
          continue;
        }
        ApplyEntityLocked(*e, false, nullptr);
      }
      if (later.size() == left.size()) {
        // Parents missing (removed while a child stayed): take them as top-level zones.
        for (const context::EntityPtr& e : later) {
          spdlog::warn("zone {}: its parent is not defined; counted as a top-level zone", e->id);
          auto z = ZoneIndex::FromEntity(*e);
          if (!z.ok()) continue;
          z->parent_id.clear();
          if (Status st = zones_.Put(std::move(z).value()); !st.ok()) {
            spdlog::warn("zone {} not loaded: {}", e->id, st.ToString());
          }
        }
        break;
      }
      left = std::move(later);
    }
    for (const context::EntityPtr& e : counters->entities) ApplyEntityLocked(*e, false, nullptr);
    for (const context::EntityPtr& e : car_parks->entities) ApplyEntityLocked(*e, false, nullptr);
  }
  spdlog::info("situation: {} zones, {} people counters, {} car parks, {} tier plans",
               zones->entities.size(), counters->entities.size(), car_parks->entities.size(),
               plans_.size());
  if (run_thread) cycler_.Start(options_.tick_ms, [this] { RunCycles(clock_->Now()); });
  return Status::Ok();
}

void SituationEngine::Stop() {
  cycler_.Stop();
  if (listening_.exchange(false)) {
    broker_->RemoveListener(this);
    broker_->SetValidator(std::string(kZoneType), nullptr);
  }
}

void SituationEngine::OnChanges(const std::vector<context::Change>& changes) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const context::Change& c : changes) {
    ApplyEntityLocked(*c.entity, c.kind == context::Change::Kind::kDeleted, &c.attrs);
  }
}

void SituationEngine::ApplyEntityLocked(const context::Entity& e, bool deleted,
                                        const std::vector<std::string>* attrs) {
  if (e.HasType(kZoneType)) {
    if (deleted) {
      // Its child zones stay, as top-level zones (their refParent names a zone gone).
      for (const Zone* child : zones_.All()) {
        if (child->parent_id != e.id) continue;
        Zone detached = *child;
        detached.parent_id.clear();
        (void)zones_.Put(std::move(detached));
      }
      (void)zones_.Remove(e.id);
      StopTrackingLocked(e.id);
      history_.erase(e.id);
    } else {
      auto zone = ZoneIndex::FromEntity(e);
      Status st = zone.ok() ? zones_.Put(std::move(zone).value()) : zone.status();
      if (!st.ok()) spdlog::warn("zone {} not taken: {}", e.id, st.ToString());
      const std::string plan = st.ok() ? PlanOf(e) : std::string();
      auto it = tracked_.find(e.id);
      if (plan.empty() || plans_.count(plan) == 0) {
        StopTrackingLocked(e.id);
      } else if (it == tracked_.end() || it->second.plan_id != plan) {
        // A new plan starts from no level (the old plan's level ends first).
        StopTrackingLocked(e.id);
        Tracked t;
        t.plan_id = plan;
        t.tracker = std::make_unique<TierTracker>(&plans_.at(plan), e.id);
        tracked_[e.id] = std::move(t);
      }
    }
    counters_dirty_ = true;
    zones_version_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (e.HasType(kCarParkType)) ApplyCarParkLocked(e, deleted, attrs);
  const bool counter = counters_.count(e.id) > 0 || e.Find(kCountAttr) != nullptr;
  if (!counter) return;
  if (deleted || e.Find(kCountAttr) == nullptr) {
    crowd_.RemoveCounter(e.id);
    counters_.erase(e.id);
    devices_.Remove(e.id);
    return;
  }
  CounterPlace place;
  CounterPlaceOf(e, &place.location, &place.ref_zone);
  auto it = counters_.find(e.id);
  if (it == counters_.end() || it->second.location != place.location ||
      it->second.ref_zone != place.ref_zone) {
    counters_[e.id] = std::move(place);
    PlaceCounterLocked(e.id);
  }
  const bool count_written =
      attrs == nullptr || std::find(attrs->begin(), attrs->end(), kCountAttr) != attrs->end();
  if (!count_written) return;
  const context::Attribute* a = e.Find(kCountAttr);
  if (!a->value.is_number()) return;
  const bool device_time = a->observed_at != kNoTime;  // else timed by arrival, as above
  crowd_.Observe(e.id, device_time ? a->observed_at : e.modified_at, a->value.as_double(),
                 /*replaces_same_time=*/!device_time);
  if (attrs != nullptr) devices_.Reading(e.id, clock_->Now());  // arrivals, not loads
}

void SituationEngine::StopTrackingLocked(const std::string& zone_id) {
  auto it = tracked_.find(zone_id);
  if (it == tracked_.end()) return;
  const int level = it->second.tracker->level();
  if (level != 0) {
    // The zone leaves its level with its plan: that is a change like any other (an alert
    // raised for the level resolves), told at the next cycle.
    const TimeMs now = clock_->Now();
    if (it->second.last_cycle != kNoTime) ledger_.Record(zone_id, level, it->second.last_cycle, now);
    LevelChange c{zone_id, it->second.plan_id, level, 0, now, 0, nullptr};
    changes_.push_back(c);
    ++level_changes_;
    while (changes_.size() > options_.kept_changes) changes_.pop_front();
    ended_.push_back(std::move(c));
  }
  tracked_.erase(it);
}

void SituationEngine::ApplyCarParkLocked(const context::Entity& e, bool deleted,
                                         const std::vector<std::string>* attrs) {
  if (deleted) {
    parking_.Remove(e.id);
    devices_.Remove(e.id);
    return;
  }
  auto number = [&](std::string_view name) -> const context::Attribute* {
    const context::Attribute* a = e.Find(name);
    return a != nullptr && a->value.is_number() ? a : nullptr;
  };
  const context::Attribute* total = number("totalSpotNumber");
  const context::Attribute* occupied = number("occupiedSpotNumber");
  const context::Attribute* available = number("availableSpotNumber");
  const context::Attribute* location = e.Find("location");
  if (total == nullptr || (occupied == nullptr && available == nullptr) || location == nullptr ||
      location->geometry == nullptr) {
    return;  // not enough to count it yet
  }
  const context::Attribute* reading = occupied != nullptr ? occupied : available;
  if (attrs != nullptr) {
    static constexpr std::string_view kRead[] = {"totalSpotNumber", "occupiedSpotNumber",
                                                 "availableSpotNumber", "location"};
    if (std::none_of(attrs->begin(), attrs->end(), [](const std::string& a) {
          return std::find(std::begin(kRead), std::end(kRead), a) != std::end(kRead);
        })) {
      return;
    }
  }
  const double spaces = total->value.as_double();
  const double taken =
      occupied != nullptr ? occupied->value.as_double() : spaces - available->value.as_double();
  // Without observedAt the reading is timed by its arrival: a later write at the same
  // millisecond is a new reading, not a repeat.
  const bool device_time = reading->observed_at != kNoTime;
  const TimeMs at = device_time ? reading->observed_at : e.modified_at;
  const ReadingOutcome o = parking_.Observe(e.id, location->geometry->FirstPoint(), spaces, taken,
                                            at, /*replaces_same_time=*/!device_time);
  if (attrs != nullptr) devices_.Reading(e.id, clock_->Now());
  if (o == ReadingOutcome::kInvalid) {
    spdlog::debug("car park {}: reading refused (total {}, occupied {})", e.id, spaces, taken);
  }
}

void SituationEngine::PlaceCounterLocked(const std::string& id) {
  const CounterPlace& p = counters_.at(id);
  auto zones = zones_.ZonesOfSensor(p.location, p.ref_zone);
  if (!zones.ok()) {
    spdlog::debug("people counter {}: {}", id, zones.status().ToString());
    crowd_.SetCounterZones(id, {});
    return;
  }
  crowd_.SetCounterZones(id, std::move(zones).value());
}

void SituationEngine::RunCycles(TimeMs now) {
  std::vector<LevelChange> decided;
  std::vector<LevelChangeListener*> listeners;
  std::vector<DeviceHealthChange> health;
  std::vector<DeviceHealthListener*> device_listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (counters_dirty_) {
      for (const auto& [id, place] : counters_) PlaceCounterLocked(id);
      counters_dirty_ = false;
    }
    decided.swap(ended_);  // levels that ended with their plan or zone
    std::map<std::string, std::optional<double>> cycle_counts;
    for (auto& [zone_id, t] : tracked_) {
      if (t.next_due == kNoTime) t.next_due = now;
      if (now < t.next_due) continue;
      const TierPlan& plan = plans_.at(t.plan_id);
      const ZoneCrowd c = crowd_.Cycle(zone_id, now);
      const int before = t.tracker->level();
      if (t.last_cycle != kNoTime) ledger_.Record(zone_id, before, t.last_cycle, now);
      std::optional<LevelChange> change = t.tracker->Decide(now, c.count);
      cycle_counts.emplace(zone_id, c.count);
      if (t.level_since == kNoTime || change) t.level_since = now;
      t.last_cycle = now;
      t.next_due += plan.cycle_ms();
      if (t.next_due <= now) t.next_due = now + plan.cycle_ms();  // after a stall: no burst
      if (change) {
        decided.push_back(*change);
        changes_.push_back(std::move(*change));
        ++level_changes_;
        while (changes_.size() > options_.kept_changes) changes_.pop_front();
      }
    }
    SampleHistoryLocked(now, cycle_counts);
    if (!decided.empty()) listeners = listeners_;
    health = devices_.Check(now);
    if (!health.empty()) device_listeners = device_listeners_;
  }
  for (const LevelChange& c : decided) {
    for (LevelChangeListener* l : listeners) l->OnLevelChange(c);
  }
  for (const DeviceHealthChange& c : health) {
    for (DeviceHealthListener* l : device_listeners) l->OnDeviceHealth(c);
  }
}

void SituationEngine::AddDeviceListener(DeviceHealthListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  device_listeners_.push_back(l);
}

void SituationEngine::RemoveDeviceListener(DeviceHealthListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(device_listeners_, l);
}

SituationStats SituationEngine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SituationStats s;
  s.zones = zones_.size();
  s.zones_with_plan = tracked_.size();
  s.counters = counters_.size();
  s.car_parks = parking_.size();
  for (const DeviceState& d : devices_.All()) s.silent_devices += d.silent ? 1 : 0;
  s.level_changes = level_changes_;
  for (int i = 0; i < 5; ++i) {
    const auto o = static_cast<ReadingOutcome>(i);
    s.readings[i] = crowd_.outcomes(o) + parking_.outcomes(o);
  }
  return s;
}

std::vector<DeviceState> SituationEngine::Devices() const {
  std::lock_guard<std::mutex> lock(mu_);
  return devices_.All();
}

void SituationEngine::AddListener(LevelChangeListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(l);
}

void SituationEngine::RemoveListener(LevelChangeListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(listeners_, l);
}

std::vector<const TierPlan*> SituationEngine::Plans() const {
  std::vector<const TierPlan*> out;
  for (const auto& [id, p] : plans_) out.push_back(&p);
  return out;
}

const TierPlan* SituationEngine::Plan(const std::string& id) const {
  auto it = plans_.find(id);
  return it == plans_.end() ? nullptr : &it->second;
}

ZoneStatus SituationEngine::StatusLocked(const Zone& z, TimeMs now) const {
  ZoneStatus s;
  s.zone = z;
  s.ancestors = zones_.Ancestors(z.id);
  s.crowd = crowd_.Snapshot(z.id, now);
  if (auto it = tracked_.find(z.id); it != tracked_.end()) {
    s.plan_id = it->second.plan_id;
    s.level = it->second.tracker->level();
    s.level_since = it->second.level_since;
    s.last_cycle = it->second.last_cycle;
  }
  return s;
}

std::optional<ZoneStatus> SituationEngine::ZoneState(const std::string& zone_id) const {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  const Zone* z = zones_.Find(zone_id);
  if (z == nullptr) return std::nullopt;
  return StatusLocked(*z, now);
}

bool SituationEngine::HasZone(const std::string& zone_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return zones_.Find(zone_id) != nullptr;
}

std::vector<std::string> SituationEngine::ZonesAt(geo::LonLat p) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<size_t, std::string>> by_depth;
  for (std::string& id : zones_.ZonesContaining(p)) {
    by_depth.emplace_back(zones_.Ancestors(id).size(), std::move(id));
  }
  std::stable_sort(by_depth.begin(), by_depth.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  auto add = [&out](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (const auto& [depth, id] : by_depth) {
    add(id);
    for (const std::string& a : zones_.Ancestors(id)) add(a);
  }
  return out;
}

bool SituationEngine::Covers(const std::string& zone_id, const std::optional<geo::LonLat>& location,
                             const std::string& ref_zone) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto zones = zones_.ZonesOfSensor(location, ref_zone);
  return zones.ok() && std::binary_search(zones->begin(), zones->end(), zone_id);
}

std::vector<ZoneStatus> SituationEngine::AllZones() const {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ZoneStatus> out;
  for (const Zone* z : zones_.All()) out.push_back(StatusLocked(*z, now));
  return out;
}

std::vector<LevelChange> SituationEngine::RecentChanges(const std::string& zone_id,
                                                        size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LevelChange> out;
  for (auto it = changes_.rbegin(); it != changes_.rend() && out.size() < limit; ++it) {
    if (zone_id.empty() || it->zone_id == zone_id) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

int64_t SituationEngine::DaysAtOrAbove(const std::string& zone_id, int level, int64_t first_day,
                                       int64_t last_day) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ledger_.DaysAtOrAbove(zone_id, level, first_day, last_day);
}

std::map<int, int64_t> SituationEngine::Day(const std::string& zone_id, int64_t day) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ledger_.Day(zone_id, day);
}

int64_t SituationEngine::DayOf(TimeMs t) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ledger_.DayOf(t);
}

void SituationEngine::SampleHistoryLocked(
    TimeMs now, const std::map<std::string, std::optional<double>>& decided) {
  const TimeMs keep_from = now - int64_t{options_.history_hours} * 3600000;
  for (const Zone* z : zones_.All()) {
    std::deque<ZoneHistoryPoint>& points = history_[z->id];
    auto t = tracked_.find(z->id);
    const int level = t == tracked_.end() ? 0 : t->second.tracker->level();
    const bool due = points.empty() || now - points.back().at >= options_.history_step_ms ||
                     points.back().level != level;
    if (due && (points.empty() || points.back().at < now)) {
      ZoneHistoryPoint p{now, std::nullopt, level};
      auto d = decided.find(z->id);
      p.count = d != decided.end() ? d->second : crowd_.Snapshot(z->id, now).count;
      points.push_back(p);
    }
    while (!points.empty() && points.front().at < keep_from) points.pop_front();
  }
}

std::optional<std::vector<ZoneHistoryPoint>> SituationEngine::History(const std::string& zone_id,
                                                                      TimeMs from,
                                                                      TimeMs to) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (zones_.Find(zone_id) == nullptr) return std::nullopt;
  std::vector<ZoneHistoryPoint> out;
  auto it = history_.find(zone_id);
  if (it == history_.end()) return out;
  const auto& points = it->second;
  auto first = std::lower_bound(points.begin(), points.end(), from,
                                [](const ZoneHistoryPoint& p, TimeMs t) { return p.at < t; });
  for (; first != points.end() && first->at <= to; ++first) out.push_back(*first);
  return out;
}

std::vector<std::pair<std::string, std::optional<ZoneHistoryPoint>>> SituationEngine::HistoryAt(
    TimeMs at) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::optional<ZoneHistoryPoint>>> out;
  for (const Zone* z : zones_.All()) {
    std::optional<ZoneHistoryPoint> point;
    if (auto it = history_.find(z->id); it != history_.end()) {
      const auto& points = it->second;
      auto after = std::upper_bound(points.begin(), points.end(), at,
                                    [](TimeMs t, const ZoneHistoryPoint& p) { return t < p.at; });
      if (after != points.begin()) point = *std::prev(after);
    }
    out.emplace_back(z->id, point);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<LevelChange> SituationEngine::ChangesBetween(TimeMs from, TimeMs to) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LevelChange> out;
  for (const LevelChange& c : changes_) {
    if (c.at > from && c.at <= to) out.push_back(c);
  }
  return out;
}

std::vector<ZoneHistoryPoint> ThinHistory(const std::vector<ZoneHistoryPoint>& points,
                                          size_t max_points) {
  const size_t n = points.size();
  if (n <= max_points) return points;
  std::vector<bool> keep(n, false);
  size_t kept = 0;
  for (size_t i = 1; i < n; ++i) {
    if (points[i].level != points[i - 1].level) {
      keep[i] = true;
      ++kept;
    }
  }
  // The rest of the budget, spread evenly by position (first and last included).
  const size_t budget = max_points > kept ? max_points - kept : 0;
  if (budget == 1) {
    keep[n - 1] = true;  // the latest point says the most about now
  } else if (budget > 1) {
    for (size_t j = 0; j < budget; ++j) keep[j * (n - 1) / (budget - 1)] = true;
  }
  std::vector<ZoneHistoryPoint> out;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i]) out.push_back(points[i]);
  }
  return out;
}

std::vector<LotState> SituationEngine::ParkingLots() const {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  return parking_.Lots(now);
}

DestinationParking SituationEngine::ParkingFor(geo::LonLat center, double radius_m) const {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  return parking_.ForDestination(center, radius_m, now);
}

std::vector<LotState> SituationEngine::ParkingGuidance(geo::LonLat center, double radius_m,
                                                       size_t limit) const {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  return parking_.Guidance(center, radius_m, now, limit);
}

}  // namespace cb::stream
