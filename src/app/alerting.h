// Alerting wiring: tier level changes become alerts, and unacknowledged alerts escalate on
// a clock. Lives in app/ because it joins two modules (stream → alerts) that know nothing
// of each other.
// Thread-safety: TierAlertBridge is called on the situation engine's cycle thread and is
// safe from any thread; AlertEscalationClock runs its own thread between Start and Stop.
#pragma once

#include "alerts/alerts.h"
#include "core/periodic_thread.h"
#include "core/time.h"
#include "stream/situation_engine.h"

namespace cb::app {

// A zone's tier level I–III (or worse, as IV) raises or updates its crowd alert; back to no
// level resolves it. The alert carries the level's actions, departments and the zone's
// polygon and names.
class TierAlertBridge final : public stream::LevelChangeListener {
 public:
  TierAlertBridge(const stream::SituationEngine* engine, alerts::AlertBook* book)
      : engine_(engine), book_(book) {}
  void OnLevelChange(const stream::LevelChange& change) override;
  // The alert a level change raises (for tests and the bridge).
  static alerts::AlertSpec SpecFor(const stream::LevelChange& change, const stream::Zone* zone,
                                   const stream::TierPlan* plan);

 private:
  const stream::SituationEngine* engine_;
  alerts::AlertBook* book_;
};

// A counter or car park going silent raises a device-fault alert (level IV, blue); its
// next reading resolves it.
class DeviceAlertBridge final : public stream::DeviceHealthListener {
 public:
  explicit DeviceAlertBridge(alerts::AlertBook* book) : book_(book) {}
  void OnDeviceHealth(const stream::DeviceHealthChange& change) override;
  // The alert a device going silent raises.
  static alerts::AlertSpec SpecFor(const stream::DeviceHealthChange& change);

 private:
  alerts::AlertBook* book_;
};

// Calls AlertBook::EscalateDue and DeescalateDue every `tick_ms`.
class AlertEscalationClock {
 public:
  AlertEscalationClock(alerts::AlertBook* book, const Clock* clock, int64_t tick_ms = 1000)
      : book_(book), clock_(clock), tick_ms_(tick_ms) {}
  void Start() {
    thread_.Start(tick_ms_, [this] {
      book_->EscalateDue(clock_->Now());
      book_->DeescalateDue(clock_->Now());
    });
  }
  void Stop() { thread_.Stop(); }

 private:
  alerts::AlertBook* book_;
  const Clock* clock_;
  int64_t tick_ms_;
  PeriodicThread thread_;
};

}  // namespace cb::app
