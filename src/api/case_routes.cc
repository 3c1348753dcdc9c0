// /api/v1/cases: the internal case API for operators, departments and grid workers (filing
// reports with photos, the workflow's transitions, the catalog, reporters' credit).

#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "cases/case_book.h"

namespace cb::api {
namespace {

using cases::Case;
using cases::CaseBook;

std::string Who(const HttpRequest& req) {
  return req.principal != nullptr && !req.principal->name.empty() ? req.principal->name : "operator";
}

bool Can(const HttpRequest& req, security::Permission p) {
  return req.principal != nullptr && req.principal->Has(p);
}

// A reporter (a key with cases:report but not cases:read: citizens' apps, grid workers)
// sees and acts on its own reports only; Forbidden for anyone else's case.
Status MayTouch(const HttpRequest& req, const Case& c) {
  if (Can(req, security::Permission::kCasesRead) || c.reporter.id == Who(req)) return Status::Ok();
  return Status::Forbidden("case " + std::to_string(c.id) + " was reported by someone else; reading it needs cases:read");
}

// Personal data shown masked: the first character of a name, the first three and last
// four digits of a phone number, the first letter of an e-mail's local part.
std::string MaskName(const std::string& s) {
  if (s.empty()) return s;
  size_t first = 1;
  while (first < s.size() && (static_cast<unsigned char>(s[first]) & 0xC0) == 0x80) ++first;
  return s.substr(0, first) + "**";
}
std::string MaskPhone(const std::string& s) {
  if (s.size() <= 7) return std::string(s.size(), '*');
  return s.substr(0, 3) + std::string(s.size() - 7, '*') + s.substr(s.size() - 4);
}
std::string MaskEmail(const std::string& s) {
  const size_t at = s.find('@');
  if (at == std::string::npos || at == 0) return s.empty() ? s : "***";
  return s.substr(0, 1) + "***" + s.substr(at);
}

// The API form of a case: its stored form, reporter masked unless `unmask`, plus what the
// dashboard needs at a glance (allowed next actions, the SLA state of running steps).
JsonValue CaseView(const Case& c, bool unmask, TimeMs now) {
  JsonValue v = cases::CaseToJson(c);
  if (!unmask) {
    JsonValue* rep = v.Find("reporter");
    rep->Set("name", MaskName(c.reporter.name));
    rep->Set("phone", MaskPhone(c.reporter.phone));
    rep->Set("email", MaskEmail(c.reporter.email));
    rep->Set("masked", true);
  }
  JsonValue allowed = JsonValue::MakeArray();
  for (cases::CaseAction a : cases::AllowedActions(c.state)) allowed.Push(cases::CaseActionName(a));
  v.Set("allowedActions", std::move(allowed));
  JsonValue sla = JsonValue::MakeArray();
  for (const cases::StepClock& k : c.clocks) {
    if (k.done_at != 0 || k.deadline == 0) continue;
    JsonValue s = JsonValue::MakeObject();
    s.Set("step", cases::StepName(k.step));
    s.Set("deadline", FormatIso8601(k.deadline));
    const bool paused = c.state == cases::CaseState::kSuspended;
    s.Set("status", paused ? "paused" : now > k.deadline ? "overdue" : (k.warn_at != 0 && now >= k.warn_at) ? "warning" : "ok");
    s.Set("remainingSeconds", (k.deadline - now) / 1000);
    sla.Push(std::move(s));
  }
  v.Set("sla", std::move(sla));
  return v;
}

HttpResponse CaseResponse(int status, const Case& c, bool unmask, TimeMs now) {
  HttpResponse r = JsonResponse(status, CaseView(c, unmask, now).Dump(), false);
  r.headers.emplace_back("ETag", "\"" + std::to_string(c.version) + "\"");
  return r;
}

// Whether the caller asked to see personal data and may: admins only, and each such read is
// written to the audit log.
Result<bool> Unmask(const HttpRequest& req, const std::string& what) {
  const std::string* u = req.Query("unmask");
  if (u == nullptr || *u == "false") return false;
  if (*u != "true") return Status::BadRequestData("unmask is true or false");
  if (!Can(req, security::Permission::kAdmin)) {
    return Status::Forbidden("only an admin may read reporters' personal data (unmask=true)");
  }
  spdlog::info("audit: unmasked read of {} by {} (key {})", what, Who(req),
               req.principal != nullptr ? req.principal->key_id : "");
  return true;
}

Result<JsonValue> JsonBody(const HttpRequest& req) {
  const std::string_view ct = MediaType(req.Header("content-type"));
  if (ct != "application/json") {
    return Status(Code::kUnsupported, "Content-Type must be application/json");
  }
  Result<JsonValue> v = ParseJson(req.body);
  if (!v.ok()) return v.status();
  if (!v->is_object()) return Status::InvalidRequest("the body must be a JSON object");
  return v;
}

// Reads an optional text member; kBadRequestData when present but not a text.
Status Text(const JsonValue& v, std::string_view key, std::string* out) {
  const JsonValue* m = v.Find(key);
  if (m == nullptr || m->is_null()) return Status::Ok();
  if (!m->is_string()) return Status::BadRequestData(std::string(key) + " must be a text");
  *out = m->as_string();
  return Status::Ok();
}

Status Texts(const JsonValue& v, std::string_view key, std::vector<std::string>* out) {
  const JsonValue* m = v.Find(key);
  if (m == nullptr || m->is_null()) return Status::Ok();
  if (!m->is_array()) return Status::BadRequestData(std::string(key) + " must be an array of texts");
  for (const JsonValue& e : m->as_array()) {
    if (!e.is_string()) return Status::BadRequestData(std::string(key) + " must be an array of texts");
    out->push_back(e.as_string());
  }
  return Status::Ok();
}

Status PhotosExist(const std::vector<std::string>& photos, const cases::PhotoStore* store) {
  if (photos.size() > 20) return Status::BadRequestData("at most 20 photos");
  for (const std::string& p : photos) {
    if (!store->Exists(p)) return Status::BadRequestData("no uploaded photo " + p + " (POST /api/v1/photos first)");
  }
  return Status::Ok();
}

Result<cases::NewCase> ParseNewCase(const JsonValue& v, const HttpRequest& req,
                                    const cases::PhotoStore* photos) {
  static constexpr std::string_view kKnown[] = {"category", "title", "description", "address",
                                                "location", "zone", "reporter", "photos",
                                                "source", "accept", "department", "attributes",
                                                "linkDuplicates"};
  for (const auto& [k, _] : v.as_object()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      return Status::BadRequestData("unknown member '" + k + "'");
    }
  }
  cases::NewCase n;
  CB_RETURN_IF_ERROR(Text(v, "category", &n.category));
  if (n.category.empty()) return Status::BadRequestData("category is required");
  CB_RETURN_IF_ERROR(Text(v, "title", &n.title));
  CB_RETURN_IF_ERROR(Text(v, "description", &n.description));
  CB_RETURN_IF_ERROR(Text(v, "address", &n.address));
  CB_RETURN_IF_ERROR(Text(v, "zone", &n.zone_id));
  CB_RETURN_IF_ERROR(Text(v, "department", &n.department));
  if (const JsonValue* loc = v.Find("location"); loc != nullptr && !loc->is_null()) {
    Result<geo::Geometry> g = geo::GeometryFromGeoJson(*loc);
    if (!g.ok()) return Status::BadRequestData("location: " + g.status().message());
    if (g->type != geo::GeometryType::kPoint) return Status::BadRequestData("location must be a GeoJSON Point");
    n.lon = g->FirstPoint().lon;
    n.lat = g->FirstPoint().lat;
  }
  if (const JsonValue* rep = v.Find("reporter"); rep != nullptr && !rep->is_null()) {
    if (!rep->is_object()) return Status::BadRequestData("reporter must be an object");
    CB_RETURN_IF_ERROR(Text(*rep, "id", &n.reporter.id));
    CB_RETURN_IF_ERROR(Text(*rep, "name", &n.reporter.name));
    CB_RETURN_IF_ERROR(Text(*rep, "phone", &n.reporter.phone));
    CB_RETURN_IF_ERROR(Text(*rep, "email", &n.reporter.email));
  }
  CB_RETURN_IF_ERROR(Texts(v, "photos", &n.photos));
  CB_RETURN_IF_ERROR(PhotosExist(n.photos, photos));
  const bool writer = Can(req, security::Permission::kCasesWrite);
  n.source = writer ? cases::CaseSource::kOperator : cases::CaseSource::kGridWorker;
  if (const JsonValue* s = v.Find("source"); s != nullptr && !s->is_null()) {
    if (!s->is_string()) return Status::BadRequestData("source must be a text");
    Result<cases::CaseSource> src = cases::CaseSourceFromName(s->as_string());
    if (!src.ok()) return src.status();
    n.source = *src;
  }
  for (auto [key, field] : {std::pair{"accept", &n.accept}, std::pair{"linkDuplicates", &n.link_duplicates}}) {
    if (const JsonValue* b = v.Find(key); b != nullptr && !b->is_null()) {
      if (!b->is_bool()) return Status::BadRequestData(std::string(key) + " must be true or false");
      *field = b->as_bool();
    }
  }
  if ((n.accept || !n.department.empty()) && !writer) {
    return Status::Forbidden("accepting or dispatching while filing needs cases:write");
  }
  if (!n.department.empty()) n.accept = true;
  if (const JsonValue* a = v.Find("attributes"); a != nullptr && !a->is_null()) {
    if (!a->is_object()) return Status::BadRequestData("attributes must be an object");
    n.attributes = *a;
  }
  if (n.reporter.id.empty() && n.source == cases::CaseSource::kGridWorker) n.reporter.id = Who(req);
  n.actor = Who(req);
  return n;
}

Result<cases::TransitionRequest> ParseTransition(const JsonValue& v, const cases::PhotoStore* photos) {
  static constexpr std::string_view kKnown[] = {"action", "version", "note", "department",
                                                "handler", "result", "photos", "rating", "into"};
  for (const auto& [k, _] : v.as_object()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      return Status::BadRequestData("unknown member '" + k + "'");
    }
  }
  cases::TransitionRequest t;
  std::string action;
  CB_RETURN_IF_ERROR(Text(v, "action", &action));
  if (action.empty()) return Status::BadRequestData("action is required");
  Result<cases::CaseAction> a = cases::CaseActionFromName(action);
  if (!a.ok()) return a.status();
  t.action = *a;
  if (const JsonValue* ver = v.Find("version"); ver != nullptr && !ver->is_null()) {
    if (!ver->is_int() || ver->as_int() < 0) return Status::BadRequestData("version must be a whole number");
    t.if_version = static_cast<uint64_t>(ver->as_int());
  }
  CB_RETURN_IF_ERROR(Text(v, "note", &t.note));
  CB_RETURN_IF_ERROR(Text(v, "department", &t.department));
  CB_RETURN_IF_ERROR(Text(v, "handler", &t.handler));
  CB_RETURN_IF_ERROR(Text(v, "result", &t.result));
  CB_RETURN_IF_ERROR(Texts(v, "photos", &t.photos));
  CB_RETURN_IF_ERROR(PhotosExist(t.photos, photos));
  if (const JsonValue* r = v.Find("rating"); r != nullptr && !r->is_null()) {
    if (!r->is_int()) return Status::BadRequestData("rating must be a whole number 1–5");
    t.rating = static_cast<int>(std::clamp<int64_t>(r->as_int(), -1, 6));
  }
  std::string into;
  CB_RETURN_IF_ERROR(Text(v, "into", &into));
  if (!into.empty()) t.master_id = std::strtoull(into.c_str(), nullptr, 10);
  return t;
}

Result<uint64_t> CaseId(const HttpRequest& req) {
  const std::string& s = req.params["caseId"];
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::NotFound("case " + s + " not found");
  }
  return std::strtoull(s.c_str(), nullptr, 10);
}

Result<std::optional<TimeMs>> TimeParam(const HttpRequest& req, std::string_view name) {
  const std::string* v = req.Query(name);
  if (v == nullptr) return std::optional<TimeMs>();
  Result<TimeMs> t = ParseIso8601(*v);
  if (!t.ok()) return Status::BadRequestData(std::string(name) + " must be an ISO 8601 time");
  return std::optional<TimeMs>(*t);
}

}  // namespace

void AddCaseRoutes(Router* router, CaseBook* book, cases::PhotoStore* photos, const Clock* clock) {
  const std::string base = "/api/v1/cases";
  router->Add("POST", base, security::Permission::kCasesReport,
              [book, photos, clock](HttpRequest& req, Responder respond) {
                Result<JsonValue> body = JsonBody(req);
                if (!body.ok()) return respond(Fail(body.status()));
                Result<cases::NewCase> n = ParseNewCase(*body, req, photos);
                if (!n.ok()) return respond(Fail(n.status()));
                const TimeMs now = clock->Now();
                book->CreateAsync(std::move(n).value(), now, [respond, now](Result<Case> c) {
                  if (!c.ok()) return respond(ProblemResponse(c.status()));
                  const bool linked = c->state == cases::CaseState::kMerged;
                  HttpResponse r = CaseResponse(linked ? 200 : 201, *c, false, now);
                  r.headers.emplace_back("Location", "/api/v1/cases/" + std::to_string(c->id));
                  if (linked) {
                    // Say plainly that no new work was created.
                    JsonValue v = CaseView(*c, false, now);
                    v.Set("linkedTo", std::to_string(c->master_id));
                    r.body = v.Dump();
                  }
                  respond(std::move(r));
                });
              });
  router->Add("GET", base, security::Permission::kCasesReport,
              [book, clock](HttpRequest& req, Responder respond) {
                cases::CaseFilter f;
                if (const std::string* s = req.Query("state")) {
                  Result<cases::CaseState> st = cases::CaseStateFromName(*s);
                  if (!st.ok()) return respond(Fail(st.status()));
                  f.state = *st;
                }
                if (const std::string* s = req.Query("source")) {
                  Result<cases::CaseSource> src = cases::CaseSourceFromName(*s);
                  if (!src.ok()) return respond(Fail(src.status()));
                  f.source = *src;
                }
                if (const std::string* o = req.Query("open")) {
                  if (*o != "true" && *o != "false") return respond(Fail(Status::BadRequestData("open is true or false")));
                  f.open_only = *o == "true";
                }
                for (auto [name, field] : {std::pair{"department", &f.department}, std::pair{"category", &f.category},
                                           std::pair{"zone", &f.zone}, std::pair{"handler", &f.handler},
                                           std::pair{"reporter", &f.reporter_id}}) {
                  if (const std::string* s = req.Query(name)) *field = *s;
                }
                if (!Can(req, security::Permission::kCasesRead)) {
                  // A reporter lists its own reports.
                  if (!f.reporter_id.empty() && f.reporter_id != Who(req)) {
                    return respond(Fail(Status::Forbidden("listing others' reports needs cases:read")));
                  }
                  f.reporter_id = Who(req);
                }
                auto from = TimeParam(req, "from");
                auto to = TimeParam(req, "to");
                if (!from.ok()) return respond(Fail(from.status()));
                if (!to.ok()) return respond(Fail(to.status()));
                f.from = *from;
                f.to = *to;
                auto limit = ParseCount(req.Query("limit"), "limit", 100, 1000);
                auto offset = ParseCount(req.Query("offset"), "offset", 0, SIZE_MAX);
                if (!limit.ok()) return respond(Fail(limit.status()));
                if (!offset.ok()) return respond(Fail(offset.status()));
                f.limit = *limit;
                f.offset = *offset;
                Result<bool> unmask = Unmask(req, "the case list");
                if (!unmask.ok()) return respond(Fail(unmask.status()));
                size_t total = 0;
                const TimeMs now = clock->Now();
                JsonValue out = JsonValue::MakeArray();
                for (const Case& c : book->List(f, &total)) out.Push(CaseView(c, *unmask, now));
                HttpResponse r = JsonResponse(200, out.Dump(), false);
                r.headers.emplace_back("X-Total-Count", std::to_string(total));
                respond(std::move(r));
              });
  router->Add("GET", base + "/{caseId}", security::Permission::kCasesReport,
              [book, clock](HttpRequest& req, Responder respond) {
                Result<uint64_t> id = CaseId(req);
                if (!id.ok()) return respond(Fail(id.status()));
                std::optional<Case> c = book->Get(*id);
                if (!c) return respond(Fail(Status::NotFound("case " + std::to_string(*id) + " not found")));
                if (Status may = MayTouch(req, *c); !may.ok()) return respond(Fail(may));
                Result<bool> unmask = Unmask(req, "case " + std::to_string(*id));
                if (!unmask.ok()) return respond(Fail(unmask.status()));
                respond(CaseResponse(200, *c, *unmask, clock->Now()));
              });
  router->Add("POST", base + "/{caseId}/transitions", security::Permission::kCasesReport,
              [book, photos, clock](HttpRequest& req, Responder respond) {
                Result<uint64_t> id = CaseId(req);
                if (!id.ok()) return respond(Fail(id.status()));
                Result<JsonValue> body = JsonBody(req);
                if (!body.ok()) return respond(Fail(body.status()));
                Result<cases::TransitionRequest> t = ParseTransition(*body, photos);
                if (!t.ok()) return respond(Fail(t.status()));
                // Reporters and grid workers verify and rate; the rest is the centre's work.
                if (t->action != cases::CaseAction::kVerify && t->action != cases::CaseAction::kRate &&
                    !Can(req, security::Permission::kCasesWrite)) {
                  return respond(Fail(Status::Forbidden(std::string(cases::CaseActionName(t->action)) +
                                                        " needs cases:write")));
                }
                if (!Can(req, security::Permission::kCasesRead)) {
                  std::optional<Case> c = book->Get(*id);
                  if (!c) return respond(Fail(Status::NotFound("case " + std::to_string(*id) + " not found")));
                  if (Status may = MayTouch(req, *c); !may.ok()) return respond(Fail(may));
                }
                t->actor = Who(req);
                const TimeMs now = clock->Now();
                book->ApplyAsync(*id, std::move(t).value(), now,
                                 [respond, now](Result<Case> c, const cases::TransitionError& e) {
                  if (c.ok()) return respond(CaseResponse(200, *c, false, now));
                  HttpResponse r = ProblemResponse(c.status());
                  if (e.state) {
                    // The problem names the state and what can be done from it.
                    Result<JsonValue> p = ParseJson(r.body);
                    if (p.ok()) {
                      p->Set("state", cases::CaseStateName(*e.state));
                      p->Set("version", static_cast<int64_t>(e.version));
                      JsonValue allowed = JsonValue::MakeArray();
                      for (cases::CaseAction a : e.allowed) allowed.Push(cases::CaseActionName(a));
                      p->Set("allowedActions", std::move(allowed));
                      r.body = p->Dump();
                    }
                  }
                  respond(std::move(r));
                });
              });
  router->Add("POST", "/api/v1/photos", security::Permission::kCasesReport,
              [photos](HttpRequest& req, Responder respond) {
                Result<std::string> id = photos->Put(req.body);
                if (!id.ok()) return respond(Fail(id.status()));
                JsonValue v = JsonValue::MakeObject();
                v.Set("id", *id);
                v.Set("url", "/api/v1/photos/" + *id);
                HttpResponse r = JsonResponse(201, v.Dump(), false);
                r.headers.emplace_back("Location", "/api/v1/photos/" + *id);
                respond(std::move(r));
              });
  router->Add("GET", "/api/v1/photos/{photoId}", security::Permission::kCasesRead,
              [photos](HttpRequest& req, Responder respond) {
                Result<cases::PhotoStore::Photo> p = photos->Get(req.params["photoId"]);
                if (!p.ok()) return respond(Fail(p.status()));
                HttpResponse r;
                r.content_type = p->content_type;
                r.body = std::move(p->bytes);
                r.headers.emplace_back("Cache-Control", "private, max-age=86400, immutable");
                respond(std::move(r));
              });
  router->Add("POST", base + "/{caseId}/photos", security::Permission::kCasesReport,
              [book, photos, clock](HttpRequest& req, Responder respond) {
                Result<uint64_t> id = CaseId(req);
                if (!id.ok()) return respond(Fail(id.status()));
                const std::string* stage = req.Query("stage");
                const std::string st = stage == nullptr ? "report" : *stage;
                if (st != "report" && st != "result") {
                  return respond(Fail(Status::BadRequestData("stage is report or result")));
                }
                std::optional<Case> existing = book->Get(*id);
                if (!existing) return respond(Fail(Status::NotFound("case " + std::to_string(*id) + " not found")));
                if (Status may = MayTouch(req, *existing); !may.ok()) return respond(Fail(may));
                if (st == "result" && !Can(req, security::Permission::kCasesWrite)) {
                  return respond(Fail(Status::Forbidden("result photos need cases:write")));
                }
                Result<std::string> photo = photos->Put(req.body);
                if (!photo.ok()) return respond(Fail(photo.status()));
                const TimeMs now = clock->Now();
                Result<Case> c = book->AddPhotos(*id, st, {*photo}, Who(req), now);
                if (!c.ok()) return respond(Fail(c.status()));
                HttpResponse r = CaseResponse(201, *c, false, now);
                r.headers.emplace_back("Location", "/api/v1/photos/" + *photo);
                respond(std::move(r));
              });
  // Reporters need the catalog to file cases (its categories are public through Open311).
  router->Add("GET", "/api/v1/case-catalog", security::Permission::kCasesReport,
              [book](HttpRequest&, Responder respond) {
                respond(JsonResponse(200, book->catalog().ToJson().Dump(), false));
              });
  router->Add("GET", "/api/v1/reporters/{reporterId}/credit", security::Permission::kCasesRead,
              [book](HttpRequest& req, Responder respond) {
                Result<std::string> rid = PercentDecode(req.params["reporterId"], false);
                if (!rid.ok()) return respond(Fail(rid.status()));
                respond(JsonResponse(200, cases::CreditToJson(book->Credit(*rid)).Dump(), false));
              });
}

CaseStream::CaseStream(CaseBook* book, const Clock* clock) : book_(book), clock_(clock) {
  book_->AddListener(this);
}

CaseStream::~CaseStream() { Stop(); }

void CaseStream::Stop() {
  if (fanout_.Stop()) book_->RemoveListener(this);
}

void CaseStream::OnCaseChange(const Case& c, const cases::Transition& t) {
  JsonValue msg = JsonValue::MakeObject();
  msg.Set("type", "case");
  msg.Set("action", t.action);
  msg.Set("case", CaseView(c, false, clock_->Now()));
  fanout_.Broadcast(msg.Dump());
}

void CaseStream::Open(std::shared_ptr<WebSocketSession> session) {
  cases::CaseFilter open;
  open.open_only = true;
  open.limit = 1000;
  const TimeMs now = clock_->Now();
  JsonValue list = JsonValue::MakeArray();
  for (const Case& c : book_->List(open)) list.Push(CaseView(c, false, now));
  JsonValue msg = JsonValue::MakeObject();
  msg.Set("type", "snapshot");
  msg.Set("cases", std::move(list));
  fanout_.Open(std::move(session), msg.Dump());
}

void AddCaseStreamRoutes(Router* router, CaseStream* stream) {
  AddFanoutRoute(router, "/ws/cases", security::Permission::kCasesRead, stream);
}

}  // namespace cb::api
