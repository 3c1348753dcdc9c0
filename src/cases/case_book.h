// CaseBook: the cases of the city and their workflow. It creates cases (linking duplicate
// reports to the open case they repeat), applies transitions by the state machine of
// case.h (refusing impossible or stale ones), routes by category and location, keeps each
// step's SLA clock (warning before the deadline, escalation to the department's supervisor
// after it, on business-hours calendars), awards reporters credit, keeps the statistics
// current, and writes every change to the store (records of kind "case", "credit").
//
// Timers survive restarts: deadlines are part of each stored case, and Load() rebuilds the
// timer queue from them; a deadline that passed while the server was down fires at the
// first Tick after the start.
//
// Durability: the Async calls answer once the change is durable in the store; the plain
// ones wait for that. Changes are visible to readers at once (before they are durable),
// in the order they were made, and are written in that order.
//
// Thread-safety: CaseBook is thread-safe (one mutex). Listeners are called outside it, in
// change order, on the thread that made the change (or the one calling Tick).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cases/case.h"
#include "cases/catalog.h"
#include "cases/statistics.h"
#include "core/status.h"
#include "core/time.h"
#include "geo/spatial_index.h"
#include "store/store.h"

namespace cb::cases {

// What a reporter hands in.
struct NewCase {
  CaseSource source = CaseSource::kOperator;
  std::string category;
  std::string title;
  std::string description;
  std::string address;
  std::optional<double> lon, lat;
  std::string zone_id;           // empty: found from the location by the ZoneLocator
  Reporter reporter;
  std::vector<std::string> photos;
  JsonValue attributes;          // Open311 attribute answers, or null
  std::string alert_id;          // sensor cases
  std::string external_id;
  std::string actor;             // who files it (key name); the reporter id when empty
  bool accept = false;           // file it accepted at once (operators, sensor rules)
  std::string department;        // with accept: dispatch at once to this department
  bool link_duplicates = true;   // link to an open case it repeats
};

// A finished or running case from another system (hotline export), with its own times.
struct ImportedCase {
  NewCase report;
  TimeMs opened_at = 0;
  TimeMs target_at = 0;   // the whole case's deadline (0: none)
  TimeMs closed_at = 0;   // 0: still open
  std::string department; // owning department (may be one not in the catalog)
  std::string note;       // closure reason
};

struct TransitionRequest {
  CaseAction action = CaseAction::kAccept;
  std::string actor;
  std::string note;                  // the reason for reject, return, suspend, rework, reopen
  std::optional<uint64_t> if_version;  // refuse (kConflict) when the case moved on
  std::string department;            // dispatch, reassign
  std::string handler;               // dispatch, assign, reassign
  std::string result;                // resolve
  std::vector<std::string> photos;   // resolve (result photos)
  std::optional<int> rating;         // rate: 1–5
  uint64_t master_id = 0;            // merge: the case to fold into
};

// Why a transition was refused, for a 409 that lists the possible next steps.
struct TransitionError {
  Status status;
  std::optional<CaseState> state;     // the case's state, when it exists
  std::vector<CaseAction> allowed;    // the actions allowed in it
  uint64_t version = 0;
};

struct CreditEntry {
  TimeMs at = 0;
  uint64_t case_id = 0;
  int points = 0;
  std::string reason;  // validReport, duplicateReport, rejectedReport, ratedCase
};
struct ReporterCredit {
  std::string reporter_id;
  int points = 0;
  std::vector<CreditEntry> entries;  // most recent last
};

// The JSON form of a reporter's credit (stored and served alike).
JsonValue CreditToJson(const ReporterCredit& c);

struct CaseFilter {
  std::optional<CaseState> state;
  bool open_only = false;   // not finished
  std::string department, category, zone, handler, reporter_id;
  std::optional<CaseSource> source;
  std::optional<TimeMs> from, to;  // created in [from, to)
  std::vector<uint64_t> ids;       // when given: only these
  size_t offset = 0;
  size_t limit = 100;
};

struct CaseBookOptions {
  // How long a verified or rated case waits before closing by itself (0: never).
  int64_t auto_close_ms = 72 * 3600 * 1000LL;
};

class CaseListener {
 public:
  virtual ~CaseListener() = default;
  // `c` as it is after the change; `t` the transition (or event) recorded.
  virtual void OnCaseChange(const Case& c, const Transition& t) = 0;
};

// The zones covering a point, most specific first (a grid, then its street, its district),
// or none (the app answers from the situation engine's zones).
using ZoneLocator = std::function<std::vector<std::string>(double lon, double lat)>;

class CaseBook {
 public:
  // `catalog` and `store` must outlive the book; `store` may be null (nothing persisted).
  CaseBook(const Catalog* catalog, store::Store* store, CaseBookOptions options = {});
  ~CaseBook();

  void SetZoneLocator(ZoneLocator locator);
  // Reads the stored cases and credits (call once, before use).
  Status Load();

  using CaseCallback = std::function<void(Result<Case>)>;
  // Files a report. A report of the same category within the catalog's duplicate radius
  // and window of an open case is linked to it: it is created in state merged with
  // master_id set (the caller tells the reporter). kBadRequestData for an unknown or
  // non-leaf category, a description over 4,000 characters, coordinates out of range, or
  // neither a location nor an address.
  void CreateAsync(NewCase report, TimeMs now, CaseCallback done);
  Result<Case> Create(NewCase report, TimeMs now);

  using TransitionCallback = std::function<void(Result<Case>, const TransitionError&)>;
  // Applies a transition. Errors: kNotFound (no such case), kConflict (not allowed in the
  // current state, or if_version is stale: TransitionError lists what is allowed),
  // kBadRequestData (a missing reason, department, result or rating, an unknown
  // department or handler).
  void ApplyAsync(uint64_t id, TransitionRequest req, TimeMs now, TransitionCallback done);
  Result<Case> Apply(uint64_t id, TransitionRequest req, TimeMs now,
                     TransitionError* error = nullptr);
  // Adds photos to a case's report (stage "report") or its result ("result").
  Result<Case> AddPhotos(uint64_t id, const std::string& stage, std::vector<std::string> photos,
                         const std::string& actor, TimeMs now);

  // Imports cases from another system as they were (no duplicate linking, no credit).
  // Returns the ids given, in order; stops at the first invalid row (kBadRequestData
  // naming its index) having imported none of them.
  Result<std::vector<uint64_t>> Import(std::vector<ImportedCase> rows, TimeMs now);

  // Fires due timers: warnings before step deadlines, escalation after them, auto-close.
  // Returns the number of cases changed.
  size_t Tick(TimeMs now);
  // The earliest pending timer (0: none).
  TimeMs NextTimer() const;

  std::optional<Case> Get(uint64_t id) const;
  std::optional<Case> GetByToken(const std::string& token) const;
  // Cases matching, newest first; *total (when given) counts all that match.
  std::vector<Case> List(const CaseFilter& filter, size_t* total = nullptr) const;
  ReporterCredit Credit(const std::string& reporter_id) const;

  const Catalog& catalog() const { return *catalog_; }
  CaseStatistics& statistics() { return stats_; }
  const CaseStatistics& statistics() const { return stats_; }

  struct Stats {
    size_t cases = 0, open = 0;
    uint64_t created = 0, transitions = 0, linked = 0, warnings = 0, escalations = 0;
    std::array<size_t, kCaseStateCount> by_state{};
  };
  Stats GetStats() const;

  void AddListener(CaseListener* l);
  void RemoveListener(CaseListener* l);

 private:
  struct Pending;  // changes made under the lock, to persist and announce outside it
  Result<Case> CreateLocked(NewCase& report, TimeMs now, Pending* p);
  Result<Case> ApplyLocked(uint64_t id, TransitionRequest& req, TimeMs now, Pending* p,
                           TransitionError* error);
  // Records a transition on `c` (version, history, updated_at) and queues it.
  void RecordLocked(Case& c, std::string action, CaseState from, const std::string& actor,
                    std::string note, TimeMs now, Pending* p);
  void StartClockLocked(Case& c, Step step, TimeMs now);
  void StopClockLocked(Case& c, Step step, TimeMs now);
  void ScheduleLocked(const Case& c);
  void UnscheduleLocked(uint64_t id);
  void CreditLocked(const Case& c, int points, const char* reason, TimeMs now, Pending* p);
  void IndexLocked(const Case& c);  // duplicate index and stats
  void CloseLinkedLocked(Case& master, TimeMs now, Pending* p);
  // Writes and announces; calls done(status) once durable.
  void Finish(Pending&& p, std::function<void(const Status&)> done);
  // Finish, then waits (without holding mu_, which must be held on entry and is again on
  // return) until the change is durable.
  Status FinishAndWait(Pending&& p);

  const Catalog* catalog_;
  store::Store* store_;
  const CaseBookOptions options_;
  ZoneLocator zone_locator_;
  mutable std::mutex mu_;
  std::map<uint64_t, Case> cases_;
  std::unordered_map<std::string, uint64_t> by_token_;
  uint64_t next_id_ = 1;
  // Open cases by location, for duplicate linking (key: case id).
  geo::SpatialIndex open_index_{0.005};
  std::multimap<TimeMs, uint64_t> timers_;   // due time → case
  std::unordered_map<uint64_t, TimeMs> timer_of_;  // case → its due time in timers_
  std::unordered_map<std::string, ReporterCredit> credit_;
  CaseStatistics stats_;
  Stats counters_;
  std::vector<CaseListener*> listeners_;
  std::mutex listeners_mu_;
};

// Stored photos under a directory: checked by size and content type (JPEG, PNG or WebP by
// their magic bytes, not by what the client claims), named by their content's hash.
// Thread-safety: thread-safe (files are written to a temporary name, then renamed).
class PhotoStore {
 public:
  PhotoStore(std::string dir, size_t max_bytes = 5 * 1024 * 1024);
  // Stores the bytes; returns the photo id ("<sha256 hex>.jpg"). kTooLarge over the limit,
  // kBadRequestData when empty or not an image of an accepted type.
  Result<std::string> Put(std::string_view bytes);
  // The bytes and the content type of a stored photo; kNotFound.
  struct Photo {
    std::string bytes;
    std::string content_type;
  };
  Result<Photo> Get(const std::string& photo_id) const;
  bool Exists(const std::string& photo_id) const;
  size_t max_bytes() const { return max_bytes_; }

 private:
  std::string dir_;
  size_t max_bytes_;
};

}  // namespace cb::cases
