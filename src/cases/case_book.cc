#include "cases/case_book.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <utility>

#include "geo/geometry.h"

namespace cb::cases {
namespace {

using S = CaseState;
using A = CaseAction;

constexpr size_t kMaxNote = 4000;
constexpr size_t kMaxCreditEntries = 200;

// Characters (code points) of UTF-8 text: the 4,000-character limit counts what people
// typed, not bytes (a Chinese character is three bytes).
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string NewToken() {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

bool InRange(std::optional<double> lon, std::optional<double> lat) {
  return lon && lat && std::isfinite(*lon) && std::isfinite(*lat) && *lon >= -180 &&
         *lon <= 180 && *lat >= -90 && *lat <= 90;
}

geo::BoundingBox PointBox(double lon, double lat) { return {lon, lat, lon, lat}; }

Result<ReporterCredit> CreditFromJson(const JsonValue& v) {
  ReporterCredit c;
  const JsonValue* id = v.Find("reporterId");
  const JsonValue* points = v.Find("points");
  if (id == nullptr || !id->is_string() || points == nullptr || !points->is_int()) {
    return Status::Internal("stored credit: reporterId or points missing");
  }
  c.reporter_id = id->as_string();
  c.points = static_cast<int>(points->as_int());
  if (const JsonValue* entries = v.Find("entries"); entries != nullptr && entries->is_array()) {
    for (const JsonValue& e : entries->as_array()) {
      CreditEntry ce;
      const JsonValue* at = e.Find("at");
      if (at != nullptr && at->is_string()) {
        Result<TimeMs> t = ParseIso8601(at->as_string());
        if (t.ok()) ce.at = *t;
      }
      if (const JsonValue* cid = e.Find("caseId"); cid != nullptr && cid->is_string()) {
        ce.case_id = std::strtoull(cid->as_string().c_str(), nullptr, 10);
      }
      if (const JsonValue* p = e.Find("points"); p != nullptr && p->is_int()) {
        ce.points = static_cast<int>(p->as_int());
      }
      if (const JsonValue* r = e.Find("reason"); r != nullptr && r->is_string()) ce.reason = r->as_string();
      c.entries.push_back(std::move(ce));
    }
  }
  return c;
}

}  // namespace

JsonValue CreditToJson(const ReporterCredit& c) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("reporterId", c.reporter_id);
  o.Set("points", c.points);
  JsonValue entries = JsonValue::MakeArray();
  for (const CreditEntry& e : c.entries) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("at", FormatIso8601(e.at));
    j.Set("caseId", std::to_string(e.case_id));
    j.Set("points", e.points);
    j.Set("reason", e.reason);
    entries.Push(std::move(j));
  }
  o.Set("entries", std::move(entries));
  return o;
}

// Changes made under mu_: the records to write and the transitions to announce.
struct CaseBook::Pending {
  std::vector<uint64_t> dirty_cases;         // in the order first changed
  std::vector<std::string> dirty_credit;
  std::vector<std::pair<uint64_t, Transition>> announce;
};

CaseBook::CaseBook(const Catalog* catalog, store::Store* store, CaseBookOptions options)
    : catalog_(catalog), store_(store), options_(options) {
  if (sodium_init() < 0) spdlog::critical("libsodium failed to initialise");
}

CaseBook::~CaseBook() = default;

void CaseBook::SetZoneLocator(ZoneLocator locator) {
  std::lock_guard<std::mutex> lock(mu_);
  zone_locator_ = std::move(locator);
}

// Reads every stored record of `kind` through `from_json`; kInternal naming the first bad one.
template <typename T>
Status ReadStored(store::Store* store, std::string_view kind,
                  Result<T> (*from_json)(const JsonValue&), std::vector<T>* out) {
  Status failed;
  CB_RETURN_IF_ERROR(store->ScanRecords(kind, [&](store::Record&& r) {
    if (!failed.ok()) return;
    Result<JsonValue> json = ParseJson(r.doc);
    Result<T> v = json.ok() ? from_json(*json) : Result<T>(json.status());
    if (!v.ok()) {
      failed = Status::Internal(std::string(kind) + " " + r.key + ": " + v.status().message());
      return;
    }
    out->push_back(std::move(v).value());
  }));
  return failed;
}

Status CaseBook::Load() {
  if (store_ == nullptr) return Status::Ok();
  std::vector<Case> loaded;
  CB_RETURN_IF_ERROR(ReadStored<Case>(store_, "case", &CaseFromJson, &loaded));
  std::vector<ReporterCredit> credits;
  CB_RETURN_IF_ERROR(ReadStored<ReporterCredit>(store_, "credit", &CreditFromJson, &credits));
  std::lock_guard<std::mutex> lock(mu_);
  for (Case& c : loaded) {
    next_id_ = std::max(next_id_, c.id + 1);
    if (!c.token.empty()) by_token_[c.token] = c.id;
    const uint64_t id = c.id;
    auto [it, inserted] = cases_.insert_or_assign(id, std::move(c));
    IndexLocked(it->second);
    ScheduleLocked(it->second);
  }
  for (ReporterCredit& c : credits) credit_[c.reporter_id] = std::move(c);
  spdlog::info("cases: loaded {} cases ({} open timers), {} reporters with credit", cases_.size(),
               timers_.size(), credit_.size());
  return Status::Ok();
}

// ---- Writing and announcing

void CaseBook::Finish(Pending&& p, std::function<void(const Status&)> done) {
  // Called with mu_ held: the write is queued in change order. The listeners lock is taken
  // before mu_ is released so announcements keep that order too.
  store::WriteBatch batch;
  std::vector<std::pair<Case, Transition>> announce;
  for (uint64_t id : p.dirty_cases) {
    auto it = cases_.find(id);
    if (it == cases_.end()) continue;
    batch.put_records.push_back({"case", std::to_string(id), CaseToJson(it->second).Dump()});
  }
  for (const std::string& r : p.dirty_credit) {
    auto it = credit_.find(r);
    if (it != credit_.end()) batch.put_records.push_back({"credit", r, CreditToJson(it->second).Dump()});
  }
  for (auto& [id, t] : p.announce) {
    auto it = cases_.find(id);
    if (it != cases_.end()) announce.emplace_back(it->second, std::move(t));
  }
  const bool submitted = store_ != nullptr && !batch.empty();
  if (submitted) {
    store_->Submit(std::move(batch), [done](const Status& st) {
      if (done) done(st);
    });
  }
  std::unique_lock<std::mutex> listeners(listeners_mu_);
  mu_.unlock();
  for (auto& [c, t] : announce) {
    for (CaseListener* l : listeners_) l->OnCaseChange(c, t);
  }
  listeners.unlock();
  // Nothing to wait for: answer now, outside the book's lock (the callback may use the book).
  if (!submitted && done) done(Status::Ok());
  mu_.lock();  // the caller's lock_guard releases it
}

void CaseBook::RecordLocked(Case& c, std::string action, CaseState from, const std::string& actor,
                            std::string note, TimeMs now, Pending* p) {
  c.version += 1;
  c.updated_at = now;
  Transition t;
  t.version = c.version;
  t.at = now;
  t.action = std::move(action);
  t.from = from;
  t.to = c.state;
  t.actor = actor.empty() ? "system" : actor;
  t.note = std::move(note);
  c.history.push_back(t);
  if (std::find(p->dirty_cases.begin(), p->dirty_cases.end(), c.id) == p->dirty_cases.end()) {
    p->dirty_cases.push_back(c.id);
  }
  p->announce.emplace_back(c.id, std::move(t));
  counters_.transitions += 1;
  IndexLocked(c);
  ScheduleLocked(c);
}

void CaseBook::StartClockLocked(Case& c, Step step, TimeMs now) {
  StepClock k;
  k.step = step;
  k.started_at = now;
  const Catalog::Deadline d = catalog_->DeadlineFor(c.category, step, now);
  k.deadline = d.deadline;
  k.warn_at = d.warn_at;
  c.clocks.push_back(k);
}

void CaseBook::StopClockLocked(Case& c, Step step, TimeMs now) {
  StepClock* k = c.Clock(step);
  if (k != nullptr && k->done_at == 0) k->done_at = now;
}

namespace {
// Drops the running clock of a step (its work was abandoned: returned, rework, merged).
void DropRunningClock(Case& c, Step step) {
  for (auto it = c.clocks.rbegin(); it != c.clocks.rend(); ++it) {
    if (it->step == step && it->done_at == 0) {
      c.clocks.erase(std::next(it).base());
      return;
    }
  }
}
}  // namespace

void CaseBook::UnscheduleLocked(uint64_t id) {
  auto it = timer_of_.find(id);
  if (it == timer_of_.end()) return;
  auto [b, e] = timers_.equal_range(it->second);
  for (auto t = b; t != e; ++t) {
    if (t->second == id) {
      timers_.erase(t);
      break;
    }
  }
  timer_of_.erase(it);
}

void CaseBook::ScheduleLocked(const Case& c) {
  UnscheduleLocked(c.id);
  if (c.finished() || c.state == S::kMerged || c.state == S::kSuspended) return;
  TimeMs due = 0;
  auto consider = [&due](TimeMs t) {
    if (t > 0 && (due == 0 || t < due)) due = t;
  };
  for (const StepClock& k : c.clocks) {
    if (k.done_at != 0) continue;
    if (!k.warned && k.warn_at > 0) consider(k.warn_at);
    if (!k.escalated && k.deadline > 0) consider(k.deadline);
  }
  if (options_.auto_close_ms > 0 && (c.state == S::kVerified || c.state == S::kRated) &&
      !c.history.empty()) {
    consider(c.history.back().at + options_.auto_close_ms);
  }
  if (due == 0) return;
  timers_.emplace(due, c.id);
  timer_of_[c.id] = due;
}

void CaseBook::IndexLocked(const Case& c) {
  const bool open = !c.finished() && c.state != S::kMerged;
  if (open && c.lon && c.lat) {
    open_index_.Insert(c.id, PointBox(*c.lon, *c.lat));
  } else {
    open_index_.Remove(c.id);
  }
  stats_.Upsert(FactsOf(c));
}

void CaseBook::CreditLocked(const Case& c, int points, const char* reason, TimeMs now, Pending* p) {
  if (c.reporter.id.empty() || points == 0) return;
  ReporterCredit& rc = credit_[c.reporter.id];
  rc.reporter_id = c.reporter.id;
  rc.points += points;
  rc.entries.push_back({now, c.id, points, reason});
  if (rc.entries.size() > kMaxCreditEntries) rc.entries.erase(rc.entries.begin());
  if (std::find(p->dirty_credit.begin(), p->dirty_credit.end(), c.reporter.id) == p->dirty_credit.end()) {
    p->dirty_credit.push_back(c.reporter.id);
  }
}

void CaseBook::CloseLinkedLocked(Case& master, TimeMs now, Pending* p) {
  for (uint64_t id : master.linked) {
    auto it = cases_.find(id);
    if (it == cases_.end() || it->second.state != S::kMerged) continue;
    Case& d = it->second;
    d.state = S::kClosed;
    d.closed_at = now;
    d.result = master.result;
    StopClockLocked(d, Step::kClose, now);
    RecordLocked(d, "close", S::kMerged, "system",
                 "closed with case " + std::to_string(master.id) +
                     (master.result.empty() ? std::string() : ": " + master.result),
                 now, p);
  }
}

// ---- Creating

Result<Case> CaseBook::CreateLocked(NewCase& r, TimeMs now, Pending* p) {
  const Category* cat = catalog_->FindCategory(r.category);
  if (cat == nullptr) return Status::BadRequestData("unknown category '" + r.category + "'");
  if (!cat->leaf) {
    return Status::BadRequestData("category '" + r.category +
                                  "' is a class; report one of its sub-categories");
  }
  if (CodePoints(r.description) > Case::kMaxDescription) {
    return Status::BadRequestData("description is longer than 4,000 characters");
  }
  if (CodePoints(r.title) > Case::kMaxTitle) return Status::BadRequestData("title is longer than 200 characters");
  if (r.lon.has_value() != r.lat.has_value()) {
    return Status::BadRequestData("a location needs both longitude and latitude");
  }
  if (r.lon && !InRange(r.lon, r.lat)) {
    return Status::BadRequestData("coordinates out of range (longitude −180…180, latitude −90…90)");
  }
  if (!r.lon && r.address.empty() && r.zone_id.empty()) {
    return Status::BadRequestData("a report needs a location (longitude and latitude), an address or a zone");
  }
  if (!r.department.empty() && catalog_->FindDepartment(r.department) == nullptr) {
    return Status::BadRequestData("unknown department '" + r.department + "'");
  }
  std::vector<std::string> zones;
  if (r.zone_id.empty() && r.lon && zone_locator_) {
    zones = zone_locator_(*r.lon, *r.lat);
    if (!zones.empty()) r.zone_id = zones.front();
  } else if (!r.zone_id.empty()) {
    zones.push_back(r.zone_id);
  }
  std::optional<geo::LonLat> point;
  if (r.lon) point = geo::LonLat{*r.lon, *r.lat};
  Result<Route> route = catalog_->RouteFor(r.category, zones, point);
  if (!route.ok()) return Status::BadRequestData(route.status().message());

  // A repeat of an open case nearby?
  Case* master = nullptr;
  const DuplicatePolicy& dup = catalog_->duplicates();
  if (r.link_duplicates && point && dup.window_ms > 0 && dup.radius_m > 0) {
    double best = dup.radius_m;
    open_index_.Query(PointBox(point->lon, point->lat).Expanded(dup.radius_m), [&](uint64_t id) {
      auto it = cases_.find(id);
      if (it == cases_.end()) return true;
      Case& o = it->second;
      if (o.category != r.category || o.created_at < now - dup.window_ms || !o.lon) return true;
      const double d = geo::DistanceMeters(*point, geo::LonLat{*o.lon, *o.lat});
      if (d <= best && (master == nullptr || d < best || o.id < master->id)) {
        best = d;
        master = &o;
      }
      return true;
    });
  }

  Case c;
  c.id = next_id_++;
  c.token = NewToken();
  c.source = r.source;
  c.category = r.category;
  c.title = r.title.empty() ? cat->name.zh_cn : r.title;
  c.description = std::move(r.description);
  c.address = std::move(r.address);
  c.lon = r.lon;
  c.lat = r.lat;
  c.zone_id = r.zone_id;
  c.priority = cat->priority;
  c.department = r.department.empty() ? route->department : r.department;
  c.unit = route->unit;
  c.reporter = std::move(r.reporter);
  c.photos = std::move(r.photos);
  c.attributes = std::move(r.attributes);
  c.alert_id = std::move(r.alert_id);
  c.external_id = std::move(r.external_id);
  c.created_at = now;
  const std::string actor = !r.actor.empty() ? r.actor : !c.reporter.id.empty() ? c.reporter.id : "reporter";
  by_token_[c.token] = c.id;
  counters_.created += 1;
  if (master != nullptr) {
    c.state = S::kMerged;
    c.master_id = master->id;
    Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
    RecordLocked(stored, "create", S::kMerged, actor,
                 "linked to open case " + std::to_string(master->id) + " (same category within " +
                     std::to_string(static_cast<int>(dup.radius_m)) + " m)",
                 now, p);
    master->linked.push_back(stored.id);
    RecordLocked(*master, "link", master->state, "system",
                 "report " + std::to_string(stored.id) + " of the same problem linked", now, p);
    CreditLocked(stored, catalog_->credit().duplicate_report, "duplicateReport", now, p);
    counters_.linked += 1;
    return stored;
  }
  c.state = S::kReported;
  StartClockLocked(c, Step::kAccept, now);
  StartClockLocked(c, Step::kClose, now);
  Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
  RecordLocked(stored, "create", S::kReported, actor,
               std::string("reported by ") + std::string(CaseSourceName(stored.source)), now, p);
  if (r.accept) {
    TransitionRequest accept;
    accept.action = A::kAccept;
    accept.actor = actor;
    Result<Case> a = ApplyLocked(stored.id, accept, now, p, nullptr);
    if (a.ok() && !r.department.empty()) {
      TransitionRequest dispatch;
      dispatch.action = A::kDispatch;
      dispatch.actor = actor;
      dispatch.department = r.department;
      a = ApplyLocked(stored.id, dispatch, now, p, nullptr);
    }
    if (!a.ok()) return a.status();
  }
  return cases_.at(stored.id);
}

void CaseBook::CreateAsync(NewCase report, TimeMs now, CaseCallback done) {
  std::unique_lock<std::mutex> lock(mu_);
  Pending p;
  Result<Case> c = CreateLocked(report, now, &p);
  if (!c.ok()) {
    lock.unlock();  // the callback may use the book
    done(c.status());
    return;
  }
  Finish(std::move(p), [done, c = std::move(c).value()](const Status& st) {
    if (st.ok()) {
      done(c);
    } else {
      done(st);
    }
  });
}

namespace {
// Waits for an Async call's answer.
template <typename T>
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> value;
  void Set(T v) {
    std::lock_guard<std::mutex> lock(mu);
    value.emplace(std::move(v));
    cv.notify_all();
  }
  T Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return value.has_value(); });
    return std::move(*value);
  }
};
}  // namespace

Status CaseBook::FinishAndWait(Pending&& p) {
  auto w = std::make_shared<Waiter<Status>>();
  Finish(std::move(p), [w](const Status& st) { w->Set(st); });
  mu_.unlock();  // the write completes without the book's lock
  Status st = w->Wait();
  mu_.lock();
  return st;
}

Result<Case> CaseBook::Create(NewCase report, TimeMs now) {
  auto w = std::make_shared<Waiter<Result<Case>>>();
  CreateAsync(std::move(report), now, [w](Result<Case> c) { w->Set(std::move(c)); });
  return w->Wait();
}

// ---- Transitions

Result<Case> CaseBook::ApplyLocked(uint64_t id, TransitionRequest& req, TimeMs now, Pending* p,
                                   TransitionError* error) {
  auto it = cases_.find(id);
  if (it == cases_.end()) return Status::NotFound("no case " + std::to_string(id));
  Case& c = it->second;
  auto refuse = [&](Status st) -> Result<Case> {
    if (error != nullptr) {
      error->status = st;
      error->state = c.state;
      error->allowed = AllowedActions(c.state);
      error->version = c.version;
    }
    return st;
  };
  if (req.if_version && *req.if_version != c.version) {
    return refuse(Status::Conflict("case " + std::to_string(id) + " is at version " +
                                   std::to_string(c.version) + ", not " +
                                   std::to_string(*req.if_version) + ": reload it and try again"));
  }
  const std::optional<CaseState> next = NextState(c.state, req.action);
  if (!next) {
    return refuse(Status::Conflict("cannot " + std::string(CaseActionName(req.action)) + " a case that is " +
                                   std::string(CaseStateName(c.state))));
  }
  if (CodePoints(req.note) > kMaxNote) return refuse(Status::BadRequestData("note is longer than 4,000 characters"));
  auto need = [&](bool ok, const char* what) -> Status {
    return ok ? Status::Ok()
              : Status::BadRequestData(std::string(CaseActionName(req.action)) + " needs " + what);
  };
  const Department* dep = nullptr;
  auto check_handler = [&](const Department* d, const std::string& handler) -> Status {
    if (handler.empty() || d == nullptr) return Status::Ok();
    bool any_list = false;
    for (const Unit& u : d->units) {
      if (u.handlers.empty()) continue;
      any_list = true;
      if (std::find(u.handlers.begin(), u.handlers.end(), handler) != u.handlers.end()) return Status::Ok();
    }
    return any_list ? Status::BadRequestData("'" + handler + "' is not a handler of " + d->id)
                    : Status::Ok();
  };
  // Checks first (nothing changes on a bad request).
  switch (req.action) {
    case A::kReject: case A::kReturn: case A::kSuspend: case A::kRework: case A::kReopen: {
      Status st = need(!req.note.empty(), "a reason (note)");
      if (!st.ok()) return refuse(st);
      break;
    }
    case A::kDispatch: case A::kReassign: {
      const std::string& d = req.department.empty() ? c.department : req.department;
      if (req.action == A::kReassign && req.department.empty() && req.handler.empty()) {
        return refuse(need(false, "a department or a handler"));
      }
      dep = catalog_->FindDepartment(d);
      if (dep == nullptr) {
        return refuse(d.empty() ? need(false, "a department")
                                : Status::BadRequestData("unknown department '" + d + "'"));
      }
      Status st = check_handler(dep, req.handler);
      if (!st.ok()) return refuse(st);
      break;
    }
    case A::kAssign: {
      Status st = need(!req.handler.empty(), "a handler");
      if (st.ok()) st = check_handler(catalog_->FindDepartment(c.department), req.handler);
      if (!st.ok()) return refuse(st);
      break;
    }
    case A::kResolve: {
      Status st = need(!req.result.empty(), "a result");
      if (st.ok() && CodePoints(req.result) > kMaxNote) {
        st = Status::BadRequestData("result is longer than 4,000 characters");
      }
      if (!st.ok()) return refuse(st);
      break;
    }
    case A::kRate: {
      Status st = need(req.rating.has_value(), "a rating (1–5)");
      if (st.ok() && (*req.rating < 1 || *req.rating > 5)) st = Status::BadRequestData("a rating is 1 to 5");
      if (!st.ok()) return refuse(st);
      break;
    }
    case A::kMerge: {
      auto m = cases_.find(req.master_id);
      if (req.master_id == 0 || m == cases_.end()) return refuse(need(false, "the id of an existing case to merge into"));
      if (req.master_id == id) return refuse(Status::BadRequestData("a case cannot be merged into itself"));
      if (m->second.finished() || m->second.state == S::kMerged) {
        return refuse(Status::Conflict("case " + std::to_string(req.master_id) + " is " +
                                       std::string(CaseStateName(m->second.state)) +
                                       ": merge into an open case"));
      }
      if (!c.linked.empty()) {
        return refuse(Status::Conflict("case " + std::to_string(id) + " has reports linked to it: split them first"));
      }
      break;
    }
    default:
      break;
  }

  const CaseState from = c.state;
  const std::string actor = req.actor.empty() ? "system" : req.actor;
  std::string note = req.note;
  c.state = *next;
  switch (req.action) {
    case A::kAccept:
      StopClockLocked(c, Step::kAccept, now);
      StartClockLocked(c, Step::kDispatch, now);
      CreditLocked(c, catalog_->credit().valid_report, "validReport", now, p);
      break;
    case A::kReject:
      StopClockLocked(c, Step::kAccept, now);
      StopClockLocked(c, Step::kClose, now);
      c.closed_at = now;
      CreditLocked(c, catalog_->credit().rejected_report, "rejectedReport", now, p);
      break;
    case A::kDispatch:
    case A::kReassign: {
      const std::string old = c.department;
      if (!req.department.empty()) c.department = req.department;
      c.handler = req.handler;
      std::vector<std::string> zones;
      if (!c.zone_id.empty()) zones.push_back(c.zone_id);
      if (c.lon && zone_locator_) zones = zone_locator_(*c.lon, *c.lat);
      std::optional<geo::LonLat> point;
      if (c.lon) point = geo::LonLat{*c.lon, *c.lat};
      Result<Route> route = catalog_->RouteFor(c.category, zones, point, c.department);
      c.unit = route.ok() ? route->unit : std::string();
      if (req.action == A::kDispatch) {
        StopClockLocked(c, Step::kDispatch, now);
        StartClockLocked(c, Step::kHandle, now);
      }
      if (note.empty()) {
        note = (req.action == A::kDispatch ? "to " : (old == c.department ? "within " : "to ")) + c.department +
               (c.unit.empty() ? "" : " / " + c.unit) + (c.handler.empty() ? "" : " / " + c.handler);
      }
      break;
    }
    case A::kAssign:
      c.handler = req.handler;
      if (note.empty()) note = "to " + c.handler;
      break;
    case A::kStart:
      if (c.handler.empty()) c.handler = actor;
      break;
    case A::kReturn:
      c.return_count += 1;
      c.handler.clear();
      DropRunningClock(c, Step::kHandle);
      StartClockLocked(c, Step::kDispatch, now);
      break;
    case A::kEscalate: {
      c.escalation += 1;
      const Department* d = catalog_->FindDepartment(c.department);
      c.escalated_to = d != nullptr && !d->supervisor.empty() ? d->supervisor : "centre-supervisor";
      if (note.empty()) note = "to " + c.escalated_to;
      counters_.escalations += 1;
      break;
    }
    case A::kSuspend:
      c.suspended_from = from;
      c.suspended_at = now;
      break;
    case A::kResume: {
      c.state = c.suspended_from;
      // The clocks stood still while the case was suspended.
      const TimeMs paused = now - c.suspended_at;
      for (StepClock& k : c.clocks) {
        if (k.done_at != 0) continue;
        if (k.deadline > 0) k.deadline += paused;
        if (k.warn_at > 0) k.warn_at += paused;
      }
      c.suspended_at = 0;
      break;
    }
    case A::kResolve:
      c.result = req.result;
      for (std::string& ph : req.photos) c.result_photos.push_back(std::move(ph));
      StopClockLocked(c, Step::kHandle, now);
      StartClockLocked(c, Step::kVerify, now);
      if (note.empty()) note = req.result;
      break;
    case A::kRework:
      DropRunningClock(c, Step::kVerify);
      StartClockLocked(c, Step::kHandle, now);
      break;
    case A::kVerify:
      StopClockLocked(c, Step::kVerify, now);
      break;
    case A::kRate:
      StopClockLocked(c, Step::kVerify, now);
      c.rating = *req.rating;
      c.rating_comment = req.note;
      if (note.empty()) note = std::to_string(*req.rating) + "/5";
      CreditLocked(c, catalog_->credit().rated_case, "ratedCase", now, p);
      break;
    case A::kClose:
      StopClockLocked(c, Step::kClose, now);
      c.closed_at = now;
      break;
    case A::kReopen:
      c.reopen_count += 1;
      c.closed_at = 0;
      c.handler.clear();
      if (c.Clock(Step::kClose) == nullptr || c.Clock(Step::kClose)->done_at != 0) {
        StartClockLocked(c, Step::kClose, now);
      }
      StartClockLocked(c, Step::kDispatch, now);
      break;
    case A::kMerge: {
      Case& m = cases_.at(req.master_id);
      c.master_id = m.id;
      c.clocks.erase(std::remove_if(c.clocks.begin(), c.clocks.end(),
                                    [](const StepClock& k) { return k.done_at == 0; }),
                     c.clocks.end());
      m.linked.push_back(c.id);
      if (note.empty()) note = "into case " + std::to_string(m.id);
      RecordLocked(c, "merge", from, actor, note, now, p);
      RecordLocked(m, "link", m.state, actor, "case " + std::to_string(c.id) + " merged into it", now, p);
      return c;
    }
    case A::kSplit: {
      auto m = cases_.find(c.master_id);
      if (m != cases_.end()) {
        auto& l = m->second.linked;
        l.erase(std::remove(l.begin(), l.end(), c.id), l.end());
        RecordLocked(m->second, "unlink", m->second.state, actor,
                     "case " + std::to_string(c.id) + " split out", now, p);
      }
      c.master_id = 0;
      StartClockLocked(c, Step::kDispatch, now);
      StartClockLocked(c, Step::kClose, now);
      if (note.empty()) note = "out of case " + std::to_string(m != cases_.end() ? m->first : 0);
      break;
    }
  }
  RecordLocked(c, std::string(CaseActionName(req.action)), from, actor, note, now, p);
  if (req.action == A::kClose || req.action == A::kReject) CloseLinkedLocked(c, now, p);
  if (req.action == A::kRate && *req.rating <= catalog_->reopen_rating()) {
    // A poor rating sends the case back for review.
    const CaseState rated = c.state;
    c.state = S::kAccepted;
    c.reopen_count += 1;
    c.handler.clear();
    StartClockLocked(c, Step::kDispatch, now);
    RecordLocked(c, "reopen", rated, "system",
                 "rated " + std::to_string(*req.rating) + "/5: reopened for review", now, p);
  }
  return c;
}

void CaseBook::ApplyAsync(uint64_t id, TransitionRequest req, TimeMs now, TransitionCallback done) {
  std::unique_lock<std::mutex> lock(mu_);
  Pending p;
  TransitionError error;
  Result<Case> c = ApplyLocked(id, req, now, &p, &error);
  if (!c.ok()) {
    if (error.status.ok()) error.status = c.status();
    lock.unlock();  // the callback may use the book
    done(c.status(), error);
    return;
  }
  Finish(std::move(p), [done, c = std::move(c).value()](const Status& st) {
    if (st.ok()) {
      done(c, TransitionError{});
    } else {
      done(st, TransitionError{st, std::nullopt, {}, 0});
    }
  });
}

Result<Case> CaseBook::Apply(uint64_t id, TransitionRequest req, TimeMs now, TransitionError* error) {
  struct Answer {
    Result<Case> c;
    TransitionError e;
  };
  auto w = std::make_shared<Waiter<Answer>>();
  ApplyAsync(id, std::move(req), now, [w](Result<Case> c, const TransitionError& e) {
    w->Set(Answer{std::move(c), e});
  });
  Answer a = w->Wait();
  if (error != nullptr) *error = a.e;
  return std::move(a.c);
}

Result<Case> CaseBook::AddPhotos(uint64_t id, const std::string& stage,
                                 std::vector<std::string> photos, const std::string& actor,
                                 TimeMs now) {
  if (stage != "report" && stage != "result") {
    return Status::BadRequestData("stage is report or result, not '" + stage + "'");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cases_.find(id);
  if (it == cases_.end()) return Status::NotFound("no case " + std::to_string(id));
  Case& c = it->second;
  if (c.finished()) return Status::Conflict("case " + std::to_string(id) + " is " + std::string(CaseStateName(c.state)));
  auto& list = stage == "report" ? c.photos : c.result_photos;
  if (list.size() + photos.size() > 20) return Status::BadRequestData("at most 20 photos per stage");
  std::string note = std::to_string(photos.size()) + " photo(s) added to the " + stage;
  for (std::string& ph : photos) list.push_back(std::move(ph));
  Pending p;
  RecordLocked(c, "photo", c.state, actor, std::move(note), now, &p);
  Case copy = c;
  Status st = FinishAndWait(std::move(p));
  if (!st.ok()) return st;
  return copy;
}

// ---- Import

Result<std::vector<uint64_t>> CaseBook::Import(std::vector<ImportedCase> rows, TimeMs now) {
  // Check every row first: nothing is imported when one is bad.
  for (size_t i = 0; i < rows.size(); ++i) {
    const ImportedCase& r = rows[i];
    auto bad = [&](const std::string& m) {
      return Status::BadRequestData("row " + std::to_string(i) + ": " + m);
    };
    const Category* cat = catalog_->FindCategory(r.report.category);
    if (cat == nullptr || !cat->leaf) return bad("unknown category '" + r.report.category + "'");
    if (r.opened_at <= 0) return bad("no opening time");
    if (r.closed_at != 0 && r.closed_at < r.opened_at) return bad("closed before it was opened");
    if (r.report.lon.has_value() != r.report.lat.has_value() ||
        (r.report.lon && !InRange(r.report.lon, r.report.lat))) {
      return bad("coordinates out of range");
    }
    if (CodePoints(r.report.description) > Case::kMaxDescription) return bad("description over 4,000 characters");
  }
  std::vector<uint64_t> ids;
  ids.reserve(rows.size());
  std::lock_guard<std::mutex> lock(mu_);
  Pending p;
  for (ImportedCase& r : rows) {
    NewCase& n = r.report;
    Case c;
    c.id = next_id_++;
    c.token = NewToken();
    c.source = n.source;
    c.category = n.category;
    const Category* cat = catalog_->FindCategory(n.category);
    c.title = n.title.empty() ? cat->name.zh_cn : std::move(n.title);
    c.description = std::move(n.description);
    c.address = std::move(n.address);
    c.lon = n.lon;
    c.lat = n.lat;
    c.zone_id = n.zone_id;
    if (c.zone_id.empty() && c.lon && zone_locator_) {
      std::vector<std::string> zones = zone_locator_(*c.lon, *c.lat);
      if (!zones.empty()) c.zone_id = zones.front();
    }
    c.priority = cat->priority;
    c.department = !r.department.empty() ? r.department : cat->department;
    c.reporter = std::move(n.reporter);
    c.external_id = std::move(n.external_id);
    c.attributes = std::move(n.attributes);
    c.created_at = r.opened_at;
    StepClock close;
    close.step = Step::kClose;
    close.started_at = r.opened_at;
    close.deadline = r.target_at;
    close.done_at = r.closed_at;
    close.warned = close.escalated = true;  // history: no timers fire for it
    c.clocks.push_back(close);
    c.state = r.closed_at != 0 ? S::kClosed : S::kDispatched;
    c.closed_at = r.closed_at;
    if (r.closed_at != 0) c.result = r.note;
    if (!c.token.empty()) by_token_[c.token] = c.id;
    Case& stored = cases_.emplace(c.id, std::move(c)).first->second;
    counters_.created += 1;
    RecordLocked(stored, "import", S::kReported, n.actor.empty() ? "import" : n.actor,
                 "imported" + (stored.external_id.empty() ? std::string() : " (" + stored.external_id + ")") +
                     (r.closed_at != 0 ? ", closed " + FormatIso8601(r.closed_at) : std::string()),
                 now, &p);
    // The history tells when it happened, not when it was imported.
    stored.history.back().at = r.opened_at;
    stored.updated_at = r.closed_at != 0 ? r.closed_at : r.opened_at;
    ids.push_back(stored.id);
  }
  Status st = FinishAndWait(std::move(p));
  if (!st.ok()) return st;
  return ids;
}

// ---- Timers

size_t CaseBook::Tick(TimeMs now) {
  std::lock_guard<std::mutex> lock(mu_);
  Pending p;
  std::vector<uint64_t> due;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    due.push_back(timers_.begin()->second);
    timer_of_.erase(timers_.begin()->second);
    timers_.erase(timers_.begin());
  }
  size_t changed = 0;
  for (uint64_t id : due) {
    auto it = cases_.find(id);
    if (it == cases_.end()) continue;
    Case& c = it->second;
    const uint64_t before = c.version;
    for (size_t i = 0; i < c.clocks.size(); ++i) {
      StepClock& k = c.clocks[i];
      if (k.done_at != 0) continue;
      if (!k.escalated && k.deadline > 0 && k.deadline <= now) {
        k.escalated = k.warned = true;
        const Step step = k.step;
        const TimeMs deadline = k.deadline;
        c.escalation += 1;
        const Department* d = catalog_->FindDepartment(c.department);
        c.escalated_to = d != nullptr && !d->supervisor.empty() ? d->supervisor : "centre-supervisor";
        counters_.escalations += 1;
        RecordLocked(c, "escalate", c.state, "system",
                     std::string(StepName(step)) + " overdue since " + FormatIso8601(deadline) +
                         ": escalated to " + c.escalated_to,
                     now, &p);
      } else if (!k.warned && k.warn_at > 0 && k.warn_at <= now) {
        k.warned = true;
        const Step step = k.step;
        const TimeMs deadline = k.deadline;
        counters_.warnings += 1;
        RecordLocked(c, "warn", c.state, "system",
                     std::string(StepName(step)) + " due by " + FormatIso8601(deadline), now, &p);
      }
    }
    if (options_.auto_close_ms > 0 && (c.state == S::kVerified || c.state == S::kRated) &&
        c.history.back().at + options_.auto_close_ms <= now) {
      TransitionRequest close;
      close.action = A::kClose;
      close.actor = "system";
      close.note = "closed automatically after " + std::to_string(options_.auto_close_ms / 3600000) + " h";
      ApplyLocked(id, close, now, &p, nullptr);
    }
    if (c.version != before) ++changed;
    ScheduleLocked(c);
  }
  if (!p.dirty_cases.empty() || !p.dirty_credit.empty()) Finish(std::move(p), nullptr);
  return changed;
}

TimeMs CaseBook::NextTimer() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timers_.empty() ? 0 : timers_.begin()->first;
}

// ---- Reading

std::optional<Case> CaseBook::Get(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cases_.find(id);
  if (it == cases_.end()) return std::nullopt;
  return it->second;
}

std::optional<Case> CaseBook::GetByToken(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto t = by_token_.find(token);
  if (t == by_token_.end()) return std::nullopt;
  auto it = cases_.find(t->second);
  if (it == cases_.end()) return std::nullopt;
  return it->second;
}

std::vector<Case> CaseBook::List(const CaseFilter& f, size_t* total) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Case> out;
  size_t matched = 0;
  auto visit = [&](const Case& c) {
    if (f.state && c.state != *f.state) return;
    if (f.open_only && (c.finished() || c.state == S::kMerged)) return;
    if (!f.department.empty() && c.department != f.department) return;
    if (!f.category.empty() && c.category != f.category) return;
    if (!f.zone.empty() && c.zone_id != f.zone) return;
    if (!f.handler.empty() && c.handler != f.handler) return;
    if (!f.reporter_id.empty() && c.reporter.id != f.reporter_id) return;
    if (f.source && c.source != *f.source) return;
    if (f.from && c.created_at < *f.from) return;
    if (f.to && c.created_at >= *f.to) return;
    if (matched >= f.offset && out.size() < f.limit) out.push_back(c);
    ++matched;
  };
  if (!f.ids.empty()) {
    std::vector<uint64_t> ids = f.ids;
    std::sort(ids.rbegin(), ids.rend());
    for (uint64_t id : ids) {
      auto it = cases_.find(id);
      if (it != cases_.end()) visit(it->second);
    }
  } else {
    for (auto it = cases_.rbegin(); it != cases_.rend(); ++it) visit(it->second);
  }
  if (total != nullptr) *total = matched;
  return out;
}

ReporterCredit CaseBook::Credit(const std::string& reporter_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = credit_.find(reporter_id);
  if (it == credit_.end()) return ReporterCredit{reporter_id, 0, {}};
  return it->second;
}

CaseBook::Stats CaseBook::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = counters_;
  s.cases = cases_.size();
  for (const auto& [id, c] : cases_) {
    s.by_state[static_cast<size_t>(c.state)] += 1;
    if (!c.finished() && c.state != S::kMerged) s.open += 1;
  }
  return s;
}

void CaseBook::AddListener(CaseListener* l) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.push_back(l);
}

void CaseBook::RemoveListener(CaseListener* l) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

}  // namespace cb::cases
