#include "cases/case.h"

#include <array>
#include <utility>

namespace cb::cases {
namespace {

constexpr std::array<std::string_view, kCaseStateCount> kStateNames = {
    "reported", "accepted", "rejected", "dispatched", "in_progress", "suspended",
    "resolved", "verified", "rated",    "closed",     "merged"};
constexpr std::array<std::string_view, kCaseActionCount> kActionNames = {
    "accept", "reject",  "dispatch", "assign", "start",  "return", "reassign", "escalate", "suspend",
    "resume", "resolve", "rework",   "verify", "rate",   "close",  "reopen",   "merge",    "split"};
constexpr std::array<std::string_view, 6> kSourceNames = {"citizen", "grid_worker", "operator",
                                                          "sensor",  "hotline",     "import"};
constexpr std::array<std::string_view, kStepCount> kStepNames = {"accept", "dispatch", "handle",
                                                                 "verify", "close"};

template <typename E, size_t N>
Result<E> FromName(const std::array<std::string_view, N>& names, std::string_view name,
                   std::string_view what) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  std::string known;
  for (std::string_view n : names) known.append(known.empty() ? "" : ", ").append(n);
  return Status::BadRequestData("unknown " + std::string(what) + " '" + std::string(name) +
                                "' (known: " + known + ")");
}

using S = CaseState;
using A = CaseAction;

// Lenient readers of the stored form: absent members read as empty.
std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
}
int64_t Int(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  return m != nullptr && m->is_number() ? static_cast<int64_t>(m->as_double()) : 0;
}
// Times are ISO 8601 in the JSON form; absent or null is 0.
Result<TimeMs> Time(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  if (m == nullptr || m->is_null()) return TimeMs{0};
  if (!m->is_string()) return Status::Internal("case: " + std::string(key) + " is not a time");
  return ParseIso8601(m->as_string());
}
JsonValue TimeJson(TimeMs t) { return t == 0 ? JsonValue() : JsonValue(FormatIso8601(t)); }
JsonValue Strings(const std::vector<std::string>& v) {
  JsonValue a = JsonValue::MakeArray();
  for (const std::string& s : v) a.Push(s);
  return a;
}
std::vector<std::string> StringsOf(const JsonValue& v, std::string_view key) {
  std::vector<std::string> out;
  const JsonValue* m = v.Find(key);
  if (m != nullptr && m->is_array()) {
    for (const JsonValue& e : m->as_array()) {
      if (e.is_string()) out.push_back(e.as_string());
    }
  }
  return out;
}

}  // namespace

std::string_view CaseStateName(CaseState s) { return kStateNames[static_cast<size_t>(s)]; }
Result<CaseState> CaseStateFromName(std::string_view name) {
  return FromName<CaseState>(kStateNames, name, "case state");
}
bool IsFinished(CaseState s) { return s == S::kRejected || s == S::kClosed; }

std::string_view CaseActionName(CaseAction a) { return kActionNames[static_cast<size_t>(a)]; }
Result<CaseAction> CaseActionFromName(std::string_view name) {
  return FromName<CaseAction>(kActionNames, name, "action");
}

std::string_view CaseSourceName(CaseSource s) { return kSourceNames[static_cast<size_t>(s)]; }
Result<CaseSource> CaseSourceFromName(std::string_view name) {
  return FromName<CaseSource>(kSourceNames, name, "source");
}

std::string_view StepName(Step s) { return kStepNames[static_cast<size_t>(s)]; }
Result<Step> StepFromName(std::string_view name) { return FromName<Step>(kStepNames, name, "step"); }

std::optional<CaseState> NextState(CaseState from, CaseAction action) {
  const bool open_work = from == S::kAccepted || from == S::kDispatched || from == S::kInProgress;
  switch (action) {
    case A::kAccept:
      if (from == S::kReported) return S::kAccepted;
      break;
    case A::kReject:
      if (from == S::kReported) return S::kRejected;
      break;
    case A::kDispatch:
      if (from == S::kAccepted) return S::kDispatched;
      break;
    case A::kAssign:
      if (from == S::kDispatched) return S::kDispatched;
      break;
    case A::kStart:
      if (from == S::kDispatched) return S::kInProgress;
      break;
    case A::kReturn:
      if (from == S::kDispatched || from == S::kInProgress) return S::kAccepted;
      break;
    case A::kReassign:
      if (from == S::kDispatched || from == S::kInProgress) return S::kDispatched;
      break;
    case A::kEscalate:
      if (from == S::kReported || open_work || from == S::kSuspended || from == S::kResolved) {
        return from;
      }
      break;
    case A::kSuspend:
      if (open_work) return S::kSuspended;
      break;
    case A::kResume:
      if (from == S::kSuspended) return S::kAccepted;  // CaseBook returns to suspended_from
      break;
    case A::kResolve:
      if (from == S::kInProgress) return S::kResolved;
      break;
    case A::kRework:
      if (from == S::kResolved) return S::kInProgress;
      break;
    case A::kVerify:
      if (from == S::kResolved) return S::kVerified;
      break;
    case A::kRate:
      if (from == S::kResolved || from == S::kVerified) return S::kRated;
      break;
    case A::kClose:
      if (from == S::kVerified || from == S::kRated) return S::kClosed;
      break;
    case A::kReopen:
      if (from == S::kResolved || from == S::kVerified || from == S::kRated ||
          from == S::kClosed || from == S::kRejected) {
        return S::kAccepted;
      }
      break;
    case A::kMerge:
      if (from == S::kReported || from == S::kAccepted) return S::kMerged;
      break;
    case A::kSplit:
      if (from == S::kMerged) return S::kAccepted;
      break;
  }
  return std::nullopt;
}

std::vector<CaseAction> AllowedActions(CaseState from) {
  std::vector<CaseAction> out;
  for (int i = 0; i < kCaseActionCount; ++i) {
    if (NextState(from, static_cast<CaseAction>(i))) out.push_back(static_cast<CaseAction>(i));
  }
  return out;
}

bool StepClock::OnTime(TimeMs now) const {
  if (deadline == 0) return true;
  return (done_at != 0 ? done_at : now) <= deadline;
}

const StepClock* Case::Clock(Step s) const {
  for (auto it = clocks.rbegin(); it != clocks.rend(); ++it) {
    if (it->step == s) return &*it;
  }
  return nullptr;
}
StepClock* Case::Clock(Step s) {
  return const_cast<StepClock*>(static_cast<const Case*>(this)->Clock(s));
}

JsonValue CaseToJson(const Case& c) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("id", std::to_string(c.id));
  o.Set("version", static_cast<int64_t>(c.version));
  o.Set("token", c.token);
  o.Set("state", CaseStateName(c.state));
  if (c.state == S::kSuspended) {
    o.Set("suspendedFrom", CaseStateName(c.suspended_from));
    o.Set("suspendedAt", TimeJson(c.suspended_at));
  }
  o.Set("source", CaseSourceName(c.source));
  o.Set("category", c.category);
  o.Set("title", c.title);
  o.Set("description", c.description);
  o.Set("address", c.address);
  if (c.lon && c.lat) {
    JsonValue loc = JsonValue::MakeObject();
    loc.Set("type", "Point");
    loc.Set("coordinates", JsonValue::Array{*c.lon, *c.lat});
    o.Set("location", std::move(loc));
  }
  o.Set("zone", c.zone_id);
  o.Set("priority", c.priority);
  o.Set("department", c.department);
  o.Set("unit", c.unit);
  o.Set("handler", c.handler);
  o.Set("escalation", c.escalation);
  o.Set("escalatedTo", c.escalated_to);
  JsonValue rep = JsonValue::MakeObject();
  rep.Set("id", c.reporter.id);
  rep.Set("name", c.reporter.name);
  rep.Set("phone", c.reporter.phone);
  rep.Set("email", c.reporter.email);
  o.Set("reporter", std::move(rep));
  o.Set("photos", Strings(c.photos));
  o.Set("result", c.result);
  o.Set("resultPhotos", Strings(c.result_photos));
  o.Set("rating", c.rating ? JsonValue(*c.rating) : JsonValue());
  o.Set("ratingComment", c.rating_comment);
  o.Set("reopenCount", c.reopen_count);
  o.Set("returnCount", c.return_count);
  o.Set("masterId", c.master_id == 0 ? JsonValue() : JsonValue(std::to_string(c.master_id)));
  JsonValue linked = JsonValue::MakeArray();
  for (uint64_t id : c.linked) linked.Push(std::to_string(id));
  o.Set("linked", std::move(linked));
  o.Set("alertId", c.alert_id);
  o.Set("externalId", c.external_id);
  o.Set("attributes", c.attributes);
  o.Set("createdAt", TimeJson(c.created_at));
  o.Set("updatedAt", TimeJson(c.updated_at));
  o.Set("closedAt", TimeJson(c.closed_at));
  JsonValue clocks = JsonValue::MakeArray();
  for (const StepClock& k : c.clocks) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("step", StepName(k.step));
    j.Set("startedAt", TimeJson(k.started_at));
    j.Set("deadline", TimeJson(k.deadline));
    j.Set("warnAt", TimeJson(k.warn_at));
    j.Set("doneAt", TimeJson(k.done_at));
    j.Set("warned", k.warned);
    j.Set("escalated", k.escalated);
    clocks.Push(std::move(j));
  }
  o.Set("clocks", std::move(clocks));
  JsonValue history = JsonValue::MakeArray();
  for (const Transition& t : c.history) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("version", static_cast<int64_t>(t.version));
    j.Set("at", FormatIso8601(t.at));
    j.Set("action", t.action);
    j.Set("from", CaseStateName(t.from));
    j.Set("to", CaseStateName(t.to));
    j.Set("actor", t.actor);
    j.Set("note", t.note);
    history.Push(std::move(j));
  }
  o.Set("history", std::move(history));
  return o;
}

Result<Case> CaseFromJson(const JsonValue& v) {
  if (!v.is_object()) return Status::Internal("stored case: not a JSON object");
  Case c;
  const std::string id = Str(v, "id");
  c.id = id.empty() ? 0 : std::strtoull(id.c_str(), nullptr, 10);
  if (c.id == 0) return Status::Internal("stored case: no id");
  auto fail = [&](const Status& st) {
    return Status::Internal("stored case " + id + ": " + st.message());
  };
  c.version = static_cast<uint64_t>(Int(v, "version"));
  c.token = Str(v, "token");
  Result<CaseState> state = CaseStateFromName(Str(v, "state"));
  if (!state.ok()) return fail(state.status());
  c.state = *state;
  if (c.state == S::kSuspended) {
    Result<CaseState> from = CaseStateFromName(Str(v, "suspendedFrom"));
    if (!from.ok()) return fail(from.status());
    c.suspended_from = *from;
    Result<TimeMs> at = Time(v, "suspendedAt");
    if (!at.ok()) return fail(at.status());
    c.suspended_at = *at;
  }
  Result<CaseSource> source = CaseSourceFromName(Str(v, "source"));
  if (!source.ok()) return fail(source.status());
  c.source = *source;
  c.category = Str(v, "category");
  c.title = Str(v, "title");
  c.description = Str(v, "description");
  c.address = Str(v, "address");
  if (const JsonValue* loc = v.Find("location"); loc != nullptr && loc->is_object()) {
    const JsonValue* coords = loc->Find("coordinates");
    if (coords == nullptr || !coords->is_array() || coords->as_array().size() != 2 ||
        !coords->as_array()[0].is_number() || !coords->as_array()[1].is_number()) {
      return fail(Status::Internal("bad location"));
    }
    c.lon = coords->as_array()[0].as_double();
    c.lat = coords->as_array()[1].as_double();
  }
  c.zone_id = Str(v, "zone");
  c.priority = static_cast<int>(Int(v, "priority"));
  c.department = Str(v, "department");
  c.unit = Str(v, "unit");
  c.handler = Str(v, "handler");
  c.escalation = static_cast<int>(Int(v, "escalation"));
  c.escalated_to = Str(v, "escalatedTo");
  if (const JsonValue* rep = v.Find("reporter"); rep != nullptr && rep->is_object()) {
    c.reporter = {Str(*rep, "id"), Str(*rep, "name"), Str(*rep, "phone"), Str(*rep, "email")};
  }
  c.photos = StringsOf(v, "photos");
  c.result = Str(v, "result");
  c.result_photos = StringsOf(v, "resultPhotos");
  if (const JsonValue* r = v.Find("rating"); r != nullptr && r->is_number()) {
    c.rating = static_cast<int>(r->as_double());
  }
  c.rating_comment = Str(v, "ratingComment");
  c.reopen_count = static_cast<int>(Int(v, "reopenCount"));
  c.return_count = static_cast<int>(Int(v, "returnCount"));
  const std::string master = Str(v, "masterId");
  c.master_id = master.empty() ? 0 : std::strtoull(master.c_str(), nullptr, 10);
  for (const std::string& l : StringsOf(v, "linked")) {
    c.linked.push_back(std::strtoull(l.c_str(), nullptr, 10));
  }
  c.alert_id = Str(v, "alertId");
  c.external_id = Str(v, "externalId");
  if (const JsonValue* a = v.Find("attributes")) c.attributes = *a;
  for (auto [key, field] : {std::pair{"createdAt", &c.created_at},
                            std::pair{"updatedAt", &c.updated_at},
                            std::pair{"closedAt", &c.closed_at}}) {
    Result<TimeMs> t = Time(v, key);
    if (!t.ok()) return fail(t.status());
    *field = *t;
  }
  if (const JsonValue* clocks = v.Find("clocks"); clocks != nullptr && clocks->is_array()) {
    for (const JsonValue& j : clocks->as_array()) {
      StepClock k;
      Result<Step> step = StepFromName(Str(j, "step"));
      if (!step.ok()) return fail(step.status());
      k.step = *step;
      for (auto [key, field] :
           {std::pair{"startedAt", &k.started_at}, std::pair{"deadline", &k.deadline},
            std::pair{"warnAt", &k.warn_at}, std::pair{"doneAt", &k.done_at}}) {
        Result<TimeMs> t = Time(j, key);
        if (!t.ok()) return fail(t.status());
        *field = *t;
      }
      const JsonValue* w = j.Find("warned");
      k.warned = w != nullptr && w->is_bool() && w->as_bool();
      const JsonValue* e = j.Find("escalated");
      k.escalated = e != nullptr && e->is_bool() && e->as_bool();
      c.clocks.push_back(k);
    }
  }
  if (const JsonValue* history = v.Find("history"); history != nullptr && history->is_array()) {
    for (const JsonValue& j : history->as_array()) {
      Transition t;
      t.version = static_cast<uint64_t>(Int(j, "version"));
      Result<TimeMs> at = Time(j, "at");
      Result<CaseState> from = CaseStateFromName(Str(j, "from"));
      Result<CaseState> to = CaseStateFromName(Str(j, "to"));
      if (!at.ok() || !from.ok() || !to.ok()) return fail(Status::Internal("bad history entry"));
      t.at = *at;
      t.from = *from;
      t.to = *to;
      t.action = Str(j, "action");
      t.actor = Str(j, "actor");
      t.note = Str(j, "note");
      c.history.push_back(std::move(t));
    }
  }
  return c;
}

}  // namespace cb::cases
