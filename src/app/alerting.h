// Alerting wiring: tier level changes, rule firings and silent devices become alerts;
// alerts become NGSI-LD Alert entities (so subscriptions and webhooks see them); and
// unacknowledged alerts escalate on a clock. Lives in app/ because it joins modules
// (stream → alerts → context) that know nothing of each other.
// Thread-safety: the bridges are safe from any thread (they are called on the situation
// engine's cycle thread, the broker's completion thread and the rules' tick);
// AlertEscalationClock runs its own thread between Start and Stop.
#pragma once

#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "core/periodic_thread.h"
#include "core/time.h"
#include "context/broker.h"
#include "context/subscriptions.h"
#include "stream/rules.h"
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

// A rule firing for an entity raises an alert under "rule:<rule>:<entity>" with the rule's
// severity, texts, departments and de-escalation; its clearing resolves it.
class RuleAlertBridge final : public stream::RuleListener {
 public:
  RuleAlertBridge(const stream::SituationEngine* situation, alerts::AlertBook* book)
      : situation_(situation), book_(book) {}
  void OnRuleEvent(const stream::Rule& rule, const stream::RuleEvent& event) override;
  static std::string KeyFor(const std::string& rule_id, const std::string& entity_id);
  // The alert a firing raises; `zone`: the rule's zone, when it has one.
  static alerts::AlertSpec SpecFor(const stream::Rule& rule, const stream::RuleEvent& event,
                                   const stream::Zone* zone);
  // After a restart: resolves the open rule alerts whose rule no longer fires for their
  // entity (the condition cleared, or the rule went, while the server was down).
  void Reconcile(const stream::RuleEngine& rules, TimeMs now);

 private:
  const stream::SituationEngine* situation_;
  alerts::AlertBook* book_;
};

// Keeps an NGSI-LD entity of type Alert (Smart Data Models Alert, plus CityBrain's level,
// state and escalation) for every alert, written through the broker at every change, so
// subscriptions, webhooks, the temporal API and the entity stream see alerts like any
// other entity. Writes are asynchronous: a failure is logged, never blocks the caller.
class AlertEntityWriter final : public alerts::AlertListener {
 public:
  AlertEntityWriter(context::ContextBroker* broker, const alerts::AlertBook* book)
      : broker_(broker), book_(book) {}
  void OnAlert(const alerts::Alert& alert, const std::string& what) override;
  // Writes the open alerts (at start, so the entities match the book).
  void WriteOpen();
  // The entity of an alert, normalized NGSI-LD.
  static JsonValue EntityFor(const alerts::Alert& alert, const alerts::AlertOptions& options);

 private:
  void Write(const alerts::Alert& alert);
  context::ContextBroker* broker_;
  const alerts::AlertBook* book_;
};

// Webhooks for alerts: each "[channel=]URL" becomes a subscription (id
// urn:ngsi-ld:Subscription:alert-webhook-<n>) to Alert entities, notifying URL of every
// change, or with a channel only of alerts whose current escalation channel it is (e.g.
// "sms=http://gateway/…" once an alert has escalated to the shift leader). Delivery,
// retries with back-off and failure counts are the subscription notifier's. Subscriptions
// of webhooks no longer configured are removed.
Status EnsureAlertWebhooks(context::SubscriptionManager* subscriptions,
                           const std::vector<std::string>& webhooks);

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
