// Cases: the closed loop of a city's case handling (有报必接、有接必处、有处必果、有果必复).
// A problem reported by a citizen (Open311), a grid worker, an operator, a sensor rule or a
// hotline import becomes a Case; it moves through a fixed state machine
//
//   reported ─accept→ accepted ─dispatch→ dispatched ─start→ in_progress ─resolve→ resolved
//      │                 ▲  ▲                │   ▲              │                   │
//    reject          return  └── return ─────┘   └─ reassign ───┘        verify / rework
//      ▼                                                                             ▼
//   rejected                      rated ◀─rate── verified ─close→ closed
//
// with suspension (suspend/resume) of accepted, dispatched and in-progress cases, escalation
// (a louder step, any open state), reopening of finished cases, and merging of duplicate
// reports into one case (the merged case follows its master and closes with it).
// Every transition is recorded (actor, time, note) and bumps the case's version, so a
// client that read version v can ask for a change "if still v" (optimistic concurrency).
//
// This header is the pure part: the types, the transition table and the stored JSON form.
// CaseBook (case_book.h) keeps the cases.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::cases {

enum class CaseState : uint8_t {
  kReported,
  kAccepted,
  kRejected,
  kDispatched,
  kInProgress,
  kSuspended,
  kResolved,
  kVerified,
  kRated,
  kClosed,
  kMerged,  // a duplicate report folded into another (open) case: its master
};
inline constexpr int kCaseStateCount = 11;
std::string_view CaseStateName(CaseState s);  // "reported", "in_progress", …
Result<CaseState> CaseStateFromName(std::string_view name);
// Whether the case is finished: rejected or closed. (A merged case is not: it closes with
// its master.)
bool IsFinished(CaseState s);

enum class CaseAction : uint8_t {
  kAccept,    // reported → accepted
  kReject,    // reported → rejected (reason)
  kDispatch,  // accepted → dispatched (department, optional handler)
  kAssign,    // dispatched → dispatched (a named handler of the department)
  kStart,     // dispatched → in_progress (the actor becomes the handler when none)
  kReturn,    // dispatched | in_progress → accepted (back to the dispatcher, reason)
  kReassign,  // dispatched | in_progress → dispatched (another department or handler)
  kEscalate,  // any open state → itself, one escalation step up (to the supervisor)
  kSuspend,   // accepted | dispatched | in_progress → suspended (reason)
  kResume,    // suspended → the state it was suspended from
  kResolve,   // in_progress → resolved (result text, photos)
  kRework,    // resolved → in_progress (the verifier found it not fixed; reason)
  kVerify,    // resolved → verified (grid worker or reporter)
  kRate,      // resolved | verified → rated (1–5, comment); ≤ the reopen threshold reopens
  kClose,     // verified | rated → closed
  kReopen,    // resolved | verified | rated | closed | rejected → accepted (reason)
  kMerge,     // reported | accepted → merged (into an open master case)
  kSplit,     // merged → accepted (out of its master again)
};
inline constexpr int kCaseActionCount = 18;
std::string_view CaseActionName(CaseAction a);  // "accept", "dispatch", …
Result<CaseAction> CaseActionFromName(std::string_view name);

// The state `action` leads to from `from`, or nullopt when the action is not allowed there.
// kResume and kRate are special: resume returns to the case's suspended_from, and a low
// rating reopens (CaseBook decides); this gives their ordinary target.
std::optional<CaseState> NextState(CaseState from, CaseAction action);
// The actions allowed in a state, in enum order (what a 409 lists as possible next steps).
std::vector<CaseAction> AllowedActions(CaseState from);

// Where a case came from.
enum class CaseSource : uint8_t { kCitizen, kGridWorker, kOperator, kSensor, kHotline, kImport };
std::string_view CaseSourceName(CaseSource s);  // "citizen", "grid_worker", …
Result<CaseSource> CaseSourceFromName(std::string_view name);

// The steps whose deadlines the SLA watches. A step starts when the case enters the state
// that needs it and is done when the case leaves that state forward:
//   accept   reported → accepted            dispatch  accepted → dispatched
//   handle   dispatched → resolved          verify    resolved → verified
//   close    reported → closed (the whole case; imported hotline cases carry only this one)
enum class Step : uint8_t { kAccept, kDispatch, kHandle, kVerify, kClose };
inline constexpr int kStepCount = 5;
std::string_view StepName(Step s);  // "accept", "dispatch", "handle", "verify", "close"
Result<Step> StepFromName(std::string_view name);

// One step's clock on a case.
struct StepClock {
  Step step = Step::kAccept;
  TimeMs started_at = 0;
  TimeMs deadline = 0;   // 0: no deadline for this step
  TimeMs warn_at = 0;    // 0: no warning
  TimeMs done_at = 0;    // 0: not done yet
  bool warned = false;
  bool escalated = false;  // the deadline passed and the case went to the supervisor
  // Done by its deadline (or still running and not yet past it).
  bool OnTime(TimeMs now) const;
};

// The person who reported; personal data, masked in what the API shows by default.
struct Reporter {
  std::string id;     // account, device id, or email: whom credit and notices go to
  std::string name;
  std::string phone;
  std::string email;
  bool empty() const { return id.empty() && name.empty() && phone.empty() && email.empty(); }
};

// One recorded transition (or event: created, sla warning, linked duplicate, …).
struct Transition {
  uint64_t version = 0;  // the case's version after it
  TimeMs at = 0;
  std::string action;    // a CaseActionName, or "create", "warn", "link", "credit"
  CaseState from = CaseState::kReported;
  CaseState to = CaseState::kReported;
  std::string actor;     // who (a key name, "system", "reporter")
  std::string note;
};

struct Case {
  uint64_t id = 0;             // 1, 2, … (the Open311 service_request_id)
  uint64_t version = 0;        // bumped by every change
  std::string token;           // Open311 token (GET /tokens/{token})
  CaseState state = CaseState::kReported;
  CaseState suspended_from = CaseState::kReported;  // while suspended
  TimeMs suspended_at = 0;     // while suspended: the step clocks are paused since then
  CaseSource source = CaseSource::kOperator;
  std::string category;        // category code (= Open311 service_code)
  std::string title;           // at most kMaxTitle characters
  std::string description;     // at most kMaxDescription characters
  std::string address;
  std::optional<double> lon, lat;
  std::string zone_id;         // the zone (grid) that covers the location, when known
  int priority = 3;            // 1 (most urgent) … 4
  std::string department;      // owning department (after dispatch)
  std::string unit;            // the department's unit (grid team) that covers the location
  std::string handler;         // named handler, when assigned
  int escalation = 0;          // escalation steps taken (0: none)
  std::string escalated_to;    // the last supervisor told
  Reporter reporter;
  std::vector<std::string> photos;         // photo ids taken with the report
  std::string result;                      // resolution text
  std::vector<std::string> result_photos;  // photo ids taken with the result
  std::optional<int> rating;               // 1–5
  std::string rating_comment;
  int reopen_count = 0;
  int return_count = 0;
  uint64_t master_id = 0;                  // when merged: the case it is folded into
  std::vector<uint64_t> linked;            // cases merged into this one
  std::string alert_id;                    // the alert that opened it (sensor cases)
  std::string external_id;                 // id in the system it came from (hotline import)
  JsonValue attributes;                    // Open311 attribute answers (object) or null
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  TimeMs closed_at = 0;                    // last close (0 while open)
  std::vector<StepClock> clocks;           // running and finished step clocks, in start order
  std::vector<Transition> history;

  static constexpr size_t kMaxTitle = 200;
  static constexpr size_t kMaxDescription = 4000;

  // The latest clock of a step, or nullptr.
  const StepClock* Clock(Step s) const;
  StepClock* Clock(Step s);
  bool finished() const { return IsFinished(state); }
};

// The stored form (everything), and back. CaseFromJson checks what it reads.
JsonValue CaseToJson(const Case& c);
Result<Case> CaseFromJson(const JsonValue& v);

}  // namespace cb::cases
