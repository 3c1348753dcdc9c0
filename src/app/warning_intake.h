// WarningIntake: warnings from outside (a weather bureau's CAP 1.2 messages, posted or
// polled) become alerts for the zones their areas cover. Lives in app/ because it joins
// the zones (stream) to the alert book (alerts), which know nothing of each other.
//
// A zone is covered when its polygon shares a point with one of a warning's <polygon>s,
// lies within or touches one of its <circle>s, or carries an `areaCode` Property (GB/T 2260)
// that one of its <geocode> values names — exactly, or as the city (code ending in 00) or
// province (0000) the zone lies in. Each covered zone gets one alert under the key
// cap:<sender>:<identifier of the warning's first message>:<zone id>, so the same warning
// taken in again (posted and polled, or polled twice) raises nothing new; its level comes
// from the most severe <info> covering the zone (Extreme I, Severe II, Moderate III,
// Minor and Unknown IV), its category from the CAP category (Met is "weather", the others
// lower-cased), its texts from the zh-CN and en infos (either stands in for the other), its
// area is the zone's polygon.
//
// A warning is its first message and the Updates and Cancels that reference it. An Update
// raises or updates the alerts of the zones it covers and resolves those it no longer
// covers; a Cancel resolves them all; a message older than one already taken in for the same
// warning changes nothing (superseded). When the latest message's <expires> has passed
// (every info's, when they differ) the warning's alerts resolve, on a clock. Messages that
// are not actual warnings (status Test, Exercise, System, Draft; msgType Ack, Error) are
// accepted and reported as ignored; a warning covering no zone is accepted and reported as
// covering none.
//
// The warnings taken in (the identifiers of their messages, the zones covered, the expiry)
// are kept in the store (records of kind "cap-warning") and read back at start, so
// duplicates stay duplicates and expiries still fire after a restart. A warning that has
// ended (cancelled or expired) is forgotten `keep_ended_ms` later.
//
// Metrics: citybrain_warnings_received_total{outcome}, citybrain_warnings_active.
//
// Thread-safety: thread-safe (one mutex, held while a message is applied so that two
// copies arriving at once apply once). Start/Stop from one thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alerts.h"
#include "alerts/cap_intake.h"
#include "context/broker.h"
#include "core/metrics.h"
#include "core/periodic_thread.h"
#include "core/time.h"
#include "store/store.h"
#include "stream/situation_engine.h"

namespace cb::app {

struct WarningIntakeOptions {
  int64_t tick_ms = 1000;                      // how often expiries are looked for
  int64_t keep_ended_ms = 30LL * 24 * 3600000;  // how long an ended warning is remembered
  size_t recent_reports = 200;                 // reports kept for Recent()
};

class WarningIntake final : public alerts::CapWarningSink {
 public:
  // `broker` (may be null) gives the zones' areaCode for <geocode>s; `store` (may be null)
  // keeps the warnings; `metrics` (may be null) gets the counters.
  WarningIntake(const stream::SituationEngine* engine, const context::ContextBroker* broker,
                alerts::AlertBook* book, store::Store* store, const Clock* clock,
                metrics::Registry* metrics, WarningIntakeOptions options = {});
  ~WarningIntake() override;
  WarningIntake(const WarningIntake&) = delete;
  WarningIntake& operator=(const WarningIntake&) = delete;

  // Reads the stored warnings (call once, before use).
  Status Load();
  // Starts and stops the expiry clock (ExpireDue every tick_ms on the clock's time).
  void Start();
  void Stop();

  Result<alerts::CapIntakeReport> Receive(const alerts::CapAlert& alert,
                                          std::string_view via) override;
  std::vector<alerts::CapIntakeReport> Recent(size_t limit) const override;
  // Resolves the alerts of warnings past their expiry, and forgets warnings ended more than
  // keep_ended_ms ago. Returns how many warnings expired.
  size_t ExpireDue(TimeMs now);

  // The alerts one message asks for: one per zone its areas cover, keyed under the warning
  // of `sender` and `root` (the identifier of the warning's first message). `area_codes`:
  // zone id → its areaCode, for zones that have one.
  static std::vector<alerts::AlertSpec> SpecsFor(
      const alerts::CapAlert& alert, const std::string& sender, const std::string& root,
      const std::vector<stream::ZoneStatus>& zones,
      const std::map<std::string, std::string>& area_codes);
  // The deduplication key of a warning's alert for one zone.
  static std::string AlertKey(std::string_view sender, std::string_view root,
                              std::string_view zone_id);
  // Whether a <geocode> value names a zone's area code (exactly, or as its city/province).
  static bool AreaCodeCovers(std::string_view geocode, std::string_view zone_code);

  struct Warning {  // one warning: its first message and every later one about it
    std::string sender;
    std::string root;                   // identifier of its first message
    std::vector<std::string> messages;  // identifiers taken in, in arrival order
    TimeMs latest_sent = kNoTime;       // of the latest message applied
    std::vector<std::string> zones;     // covered by the latest message (alerts open)
    TimeMs expires = kNoTime;           // of the latest message; kNoTime: none
    std::string state = "active";       // active, cancelled, expired
    TimeMs ended_at = kNoTime;
  };

 private:
  // "sender,identifier": how messages and warnings are looked up.
  static std::string MessageKey(std::string_view sender, std::string_view identifier);
  // The warning a message belongs to (its own for an Alert; else the first referenced one
  // that is known, or failing that its first reference), created when new.
  Warning& WarningForLocked(const alerts::CapAlert& alert);
  // Applies an Alert or Update to `w` (raise, update, resolve the uncovered zones).
  Status ApplyLocked(const alerts::CapAlert& alert, Warning& w, TimeMs now,
                     alerts::CapIntakeReport* report);
  // Resolves w's alerts for `zones`; their ids go to `resolved`.
  void ResolveLocked(const Warning& w, const std::vector<std::string>& zones, TimeMs now,
                     std::vector<std::string>* resolved);
  // Resolves every open alert of `w` and ends it in `state`.
  void EndLocked(Warning& w, const std::string& state, TimeMs now,
                 std::vector<std::string>* resolved);
  // The areaCode of those `zones` that have one (from their entities in the broker).
  std::map<std::string, std::string> AreaCodes(const std::vector<stream::ZoneStatus>& zones) const;
  void PersistLocked(const Warning& w);
  void ForgetLocked(const std::string& key);
  void Report(alerts::CapIntakeReport report);

  const stream::SituationEngine* engine_;
  const context::ContextBroker* broker_;
  alerts::AlertBook* book_;
  store::Store* store_;
  const Clock* clock_;
  const WarningIntakeOptions options_;
  std::map<std::string, metrics::Counter*> outcomes_;  // by outcome name

  mutable std::mutex mu_;
  std::map<std::string, Warning> warnings_;          // by MessageKey(sender, root)
  std::map<std::string, std::string> message_index_;  // MessageKey of a message → its warning
  mutable std::mutex recent_mu_;  // guards recent_ (taken with or without mu_, never before it)
  std::deque<alerts::CapIntakeReport> recent_;  // newest first
  PeriodicThread expiry_clock_;
};

}  // namespace cb::app
