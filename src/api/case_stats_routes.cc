// /api/v1/case-stats: the case loop's statistics as JSON or CSV; /api/v1/cases/import: cases
// from another system (a hotline export mapped by `citybrain import-cases`).

#include <spdlog/spdlog.h>

#include <charconv>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "cases/case_book.h"
#include "cases/csv_import.h"
#include "cases/statistics.h"
#include "core/work_queue.h"

namespace cb::api {
namespace {

constexpr size_t kMaxImportRows = 10000;  // per request

std::string Who(const HttpRequest& req) {
  return req.principal != nullptr && !req.principal->actor().empty() ? req.principal->actor() : "import";
}

// An optional ISO 8601 time query parameter.
Status TimeParam(const HttpRequest& req, std::string_view name, std::optional<TimeMs>* out) {
  const std::string* v = req.Query(name);
  if (v == nullptr || v->empty()) return Status::Ok();
  auto t = ParseIso8601(*v);
  if (!t.ok()) {
    return Status::BadRequestData(std::string(name) + " must be an ISO 8601 time, not '" + v->substr(0, 40) + "'");
  }
  *out = *t;
  return Status::Ok();
}

Result<cases::StatsQuery> QueryFrom(const HttpRequest& req, const cases::CaseBook& book, TimeMs now) {
  cases::StatsQuery q;
  q.now = now;
  q.utc_offset_minutes = book.catalog().utc_offset_minutes();
  if (const std::string* g = req.Query("groupBy"); g != nullptr && !g->empty()) {
    auto by = cases::GroupByFromName(*g);
    if (!by.ok()) return by.status();
    q.group_by = *by;
  }
  CB_RETURN_IF_ERROR(TimeParam(req, "from", &q.from));
  CB_RETURN_IF_ERROR(TimeParam(req, "to", &q.to));
  if (const std::string* v = req.Query("department")) q.department = *v;
  if (const std::string* v = req.Query("category")) q.category = *v;
  if (const std::string* v = req.Query("zone")) q.zone = *v;
  if (const std::string* v = req.Query("utcOffset"); v != nullptr && !v->empty()) {
    // Minutes east of UTC for local days, weeks and months (default: the catalog's zone).
    int minutes = 0;
    auto r = std::from_chars(v->data(), v->data() + v->size(), minutes);
    if (r.ec != std::errc() || r.ptr != v->data() + v->size() || minutes < -840 || minutes > 840) {
      return Status::BadRequestData("utcOffset is minutes east of UTC, -840 to 840");
    }
    q.utc_offset_minutes = minutes;
  }
  if (const std::string* v = req.Query("timeZone"); v != nullptr && !v->empty()) {
    // An IANA zone instead (daylight saving included).
    if (req.Query("utcOffset") != nullptr) return Status::BadRequestData("give timeZone or utcOffset, not both");
    auto zone = TimeZone::Find(*v);
    if (!zone.ok()) return zone.status();
    q.time_zone = *zone;
  }
  return q;
}

// A batch of cases from another system: all of them, or none when a row is bad. Runs on
// the import queue (parsing and the durable commit of up to kMaxImportRows cases).
HttpResponse Import(cases::CaseBook* book, const Clock* clock, const std::string& text,
                    const std::string& actor) {
  auto body = ParseJson(text);
  if (!body.ok()) return ProblemResponse(body.status());
  const JsonValue* list = body->Find("cases");
  if (list == nullptr || !list->is_array()) {
    return ProblemResponse(Status::BadRequestData("the body must be {\"cases\": [...]}"));
  }
  const JsonValue::Array& items = list->as_array();
  if (items.size() > kMaxImportRows) {
    return ProblemResponse(Status::TooLarge("at most " + std::to_string(kMaxImportRows) +
                                            " cases per request, not " + std::to_string(items.size())));
  }
  std::vector<cases::ImportedCase> rows;
  rows.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto c = cases::ImportedCaseFromJson(items[i]);
    if (!c.ok()) {
      return ProblemResponse(
          Status::BadRequestData("row " + std::to_string(i) + ": " + c.status().message()));
    }
    c->report.actor = actor;
    rows.push_back(std::move(c).value());
  }
  auto ids = book->Import(std::move(rows), clock->Now());
  if (!ids.ok()) return ProblemResponse(ids.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("imported").Int(static_cast<int64_t>(ids->size())).Key("ids").BeginArray();
  for (uint64_t id : *ids) w.String(std::to_string(id));
  w.EndArray().EndObject();
  spdlog::info("cases: {} imported {} cases", actor, ids->size());
  return JsonResponse(201, std::move(out), false);
}

}  // namespace

void AddCaseStatsRoutes(Router* router, cases::CaseBook* book, const Clock* clock,
                        WorkQueue* import_work) {
  router->Add("GET", "/api/v1/case-stats", security::Permission::kCasesRead,
              [book, clock](HttpRequest& req, Responder respond) {
                const std::string* format = req.Query("format");
                const bool csv = format != nullptr && *format == "csv";
                if (format != nullptr && !csv && *format != "json") {
                  return respond(ProblemResponse(Status::BadRequestData("format must be json or csv")));
                }
                auto q = QueryFrom(req, *book, clock->Now());
                if (!q.ok()) return respond(ProblemResponse(q.status()));
                auto r = book->statistics().Query(*q);
                if (!r.ok()) return respond(ProblemResponse(r.status()));
                if (!csv) {
                  return respond(JsonResponse(200, cases::StatsToJson(*r, q->group_by).Dump(), false));
                }
                HttpResponse out;
                out.content_type = "text/csv; charset=utf-8";
                out.body = cases::StatsToCsv(*r, q->group_by);
                out.headers.emplace_back(
                    "Content-Disposition",
                    "attachment; filename=\"case-stats-" + std::string(cases::GroupByName(q->group_by)) + ".csv\"");
                respond(std::move(out));
              });

  router->Add("POST", "/api/v1/cases/import", security::Permission::kAdmin,
              [book, clock, import_work](HttpRequest& req, Responder respond) {
                auto job = [book, clock, respond, body = std::move(req.body), actor = Who(req)]() {
                  respond(Import(book, clock, body, actor));
                };
                if (!import_work->Post(std::move(job))) {
                  HttpResponse r = ProblemResponse(Status::Unavailable(
                      "other case imports are running; try again in a moment"));
                  r.headers.emplace_back("Retry-After", "2");
                  respond(std::move(r));
                }
              });
}

}  // namespace cb::api
