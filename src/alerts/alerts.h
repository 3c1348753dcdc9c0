// Alerts: what the operations centre must act on, with a lifecycle (active → acknowledged →
// resolved), deduplication, escalation when nobody acknowledges in time, and OASIS CAP 1.2
// output for public warning channels.
//
// Levels follow Chinese emergency practice: I (most severe, red), II (orange), III
// (yellow), IV (blue). A source raises an alert under a key (one per condition, e.g.
// "tier:<zone>"): raising it again while it is open updates that alert (its level, texts
// and a count of occurrences) instead of opening another, so a flapping or flooding source
// cannot raise an alert storm. When the condition clears the source resolves the key
// (auto-resolve); an operator may also resolve by hand.
//
// Escalation: an alert not acknowledged within its deadline moves to the next role of the
// escalation chain (duty operator → shift leader → commander by default) with a louder
// channel, and its deadline starts again; acknowledging stops it. De-escalation: a source
// may ask that its alert's level step down over time while it is not raised again (a
// long-standing condition is no longer news), down to IV; it stays open until resolved.
//
// CAP 1.2: each alert renders as a CAP <alert> with one <info> per language (zh-CN and en),
// its area as a <polygon>, and an identifier and sender following GB/T 35965.1 when an
// administrative area code is configured (ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, Beijing time).
// Updates and cancellations are CAP messages of their own that reference the first one.
//
// Alerts are kept in the store (records of kind "alert"), written at every change in
// change order, and read back at start.
//
// Thread-safety: AlertBook is thread-safe (one mutex); listeners are called outside it, in
// the order of the changes. RenderCap is a pure function.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"
#include "geo/geometry.h"
#include "store/store.h"

namespace cb::alerts {

enum class AlertState { kActive, kAcknowledged, kResolved };
std::string_view AlertStateName(AlertState s);  // "active", "acknowledged", "resolved"

// Levels I–IV as 1–4; anything beyond 4 counts as IV.
std::string_view LevelName(int level);   // "I" … "IV"
std::string_view LevelColor(int level);  // "red", "orange", "yellow", "blue"

struct Texts {
  std::string zh_cn;
  std::string en;
};

// What a source raises.
struct AlertSpec {
  std::string key;        // deduplication key: one open alert per key
  std::string category;   // crowd, parking, device, weather, …
  std::string event;      // short event name, e.g. "Crowd level 1"
  int level = 4;          // 1 (I) … 4 (IV)
  std::string zone_id;    // may be empty
  Texts headline;
  Texts description;
  Texts instruction;
  std::vector<std::string> departments;
  std::optional<geo::Geometry> area;  // polygons go into CAP <area>
  Texts area_desc;
  // De-escalation over time: while the source does not raise the alert again, its level
  // steps down one (toward IV) every this many ms; 0: never.
  int64_t deescalate_after_ms = 0;
  // A case to open for the alert when it is raised (a case category code; empty: none),
  // and where (the entity's location, when known).
  std::string case_category;
  std::optional<geo::LonLat> location;
};

struct AlertEvent {
  TimeMs at = 0;
  std::string what;  // raised, updated, acknowledged by …, escalated to …, resolved (auto|by …)
};

struct Alert {
  std::string id;          // urn:ngsi-ld:Alert:<identifier>
  std::string identifier;  // CAP identifier of its first message
  AlertSpec spec;
  AlertState state = AlertState::kActive;
  TimeMs raised_at = 0;
  TimeMs updated_at = 0;
  TimeMs level_since = 0;    // last raise or level change (de-escalation counts from it)
  TimeMs ack_deadline = 0;   // escalates when unacknowledged past this
  int escalation_step = 0;   // index into the escalation chain
  uint64_t occurrences = 1;  // raises folded into this alert
  std::string acknowledged_by;
  std::string resolved_by;   // "auto" or who
  std::vector<AlertEvent> history;
  // CAP messages so far: [0] is the Alert, later ones Updates or the Cancel.
  struct CapMessage {
    std::string identifier;
    TimeMs sent = 0;
    std::string msg_type;  // Alert, Update, Cancel
    AlertSpec spec;        // as it was when sent
  };
  std::vector<CapMessage> cap_messages;
};

struct EscalationStep {
  Texts role;     // who is told
  std::string channel;  // how: dashboard, sms, phone, …
};

struct AlertOptions {
  int64_t ack_deadline_ms = 10 * 60000;
  std::vector<EscalationStep> escalation = {
      {{"值班员", "duty operator"}, "dashboard"},
      {{"值班长", "shift leader"}, "sms"},
      {{"指挥长", "commander"}, "phone"},
  };
  // CAP sender and GB/T 35965.1 identifiers: a 6-digit administrative area code (GB/T 2260)
  // and 3-digit industry code; empty area code: "citybrain" identifiers.
  std::string area_code;
  std::string industry_code = "000";
  std::string sender_name = "CityBrain";
};

class AlertListener {
 public:
  virtual ~AlertListener() = default;
  // `alert` as it is after the change; `what` as in its history.
  virtual void OnAlert(const Alert& alert, const std::string& what) = 0;
};

class AlertBook {
 public:
  // With a store, every change is written to it (records of kind "alert") and Load() reads
  // the alerts back, so alerts and their history survive a restart.
  explicit AlertBook(AlertOptions options = {}, store::Store* store = nullptr);

  // Reads the stored alerts (call once, before use). Open alerts stay open with their
  // deadlines; identifiers continue after the last one used.
  Status Load();

  // Opens an alert for spec.key, or updates the open one (level, texts, occurrences). A
  // spec with an empty key or category, or a level outside 1..4, is kBadRequestData.
  Result<Alert> Raise(const AlertSpec& spec, TimeMs now);
  // kNotFound for an unknown id, kConflict when it is not active.
  Result<Alert> Acknowledge(const std::string& id, const std::string& who, TimeMs now);
  // kNotFound for an unknown id, kConflict when already resolved.
  Result<Alert> Resolve(const std::string& id, const std::string& who, TimeMs now);
  // Resolves the open alert of `key`, if any ("auto").
  std::optional<Alert> ResolveKey(const std::string& key, TimeMs now);
  // Escalates the active alerts past their deadline; returns them.
  std::vector<Alert> EscalateDue(TimeMs now);
  // Lowers by one level the open alerts whose spec asks for de-escalation and whose level
  // has stood for deescalate_after_ms without a new raise (a CAP Update each); returns them.
  std::vector<Alert> DeescalateDue(TimeMs now);

  // Counts for /metrics.
  struct Stats {
    size_t open = 0;            // not resolved
    size_t unacknowledged = 0;  // active
    uint64_t raised = 0;        // alerts opened since start
    uint64_t escalations = 0;   // escalation steps since start
  };
  Stats GetStats() const;

  std::optional<Alert> Get(const std::string& id) const;
  // Alerts in the order raised; `open_only`: not resolved.
  std::vector<Alert> List(bool open_only) const;
  const AlertOptions& options() const { return options_; }

  void AddListener(AlertListener* l);
  void RemoveListener(AlertListener* l);

 private:
  // A new CAP identifier for a message sent at `at` (GB/T 35965.1 form when configured).
  std::string NextIdentifierLocked(TimeMs at);
  Alert& Record(Alert& a, TimeMs now, std::string what);
  // Finds alert `id` and applies `change` to it under the lock; notifies on success.
  Result<Alert> ChangeOne(const std::string& id, const std::function<Status(Alert&)>& change);
  void ResolveLocked(Alert& a, const std::string& who, std::string what, TimeMs now);
  void Notify(const std::vector<std::pair<Alert, std::string>>& changes);
  // Queues the alert's new state for the store (under mu_, so writes keep the change order).
  void PersistLocked(const Alert& a);

  const AlertOptions options_;
  store::Store* store_;
  mutable std::mutex mu_;
  std::vector<Alert> alerts_;                   // in the order raised
  std::map<std::string, size_t> by_id_;         // id -> index
  std::map<std::string, size_t> open_by_key_;   // key -> index of its open alert
  TimeMs last_id_second_ = 0;                   // for the sequence number N
  uint64_t raised_ = 0, escalations_ = 0;
  int id_sequence_ = 0;
  std::vector<AlertListener*> listeners_;
};

// The stored form of an alert (everything, including its CAP messages), and back.
JsonValue AlertToJson(const Alert& a);
Result<Alert> AlertFromJson(const JsonValue& v);

// The CAP 1.2 XML of an alert's latest message (or message `index` of cap_messages).
std::string RenderCap(const Alert& alert, const AlertOptions& options, size_t index = SIZE_MAX);

}  // namespace cb::alerts
