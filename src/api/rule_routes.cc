// /api/v1/rules: the hazard rules (stream::RuleEngine), their state, and their definition.

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "stream/rules.h"

namespace cb::api {
namespace {

void WriteRuleStatus(JsonWriter* w, const stream::RuleStatus& s,
                     const std::vector<std::string>* warnings = nullptr) {
  JsonValue rule = s.rule.ToJson();
  JsonValue status = JsonValue::MakeObject();
  JsonValue firing = JsonValue::MakeArray();
  for (const stream::RuleStatus::Firing& f : s.firing) {
    JsonValue o = JsonValue::MakeObject();
    o.Set("entity", f.entity_id);
    o.Set("since", FormatIso8601(f.since));
    o.Set("reason", f.reason_en);
    firing.Push(std::move(o));
  }
  status.Set("firing", std::move(firing));
  status.Set("watched", static_cast<int64_t>(s.watched));
  status.Set("held", static_cast<int64_t>(s.held));
  status.Set("fired", static_cast<int64_t>(s.fired));
  status.Set("cleared", static_cast<int64_t>(s.cleared));
  status.Set("suppressed", static_cast<int64_t>(s.suppressed));
  rule.Set("status", std::move(status));
  if (warnings != nullptr) {
    JsonValue list = JsonValue::MakeArray();
    for (const std::string& text : *warnings) list.Push(text);
    rule.Set("warnings", std::move(list));
  }
  w->Raw(rule.Dump());
}

// Defines the rule in the body; `path_id` (PUT) must match the body's id when it has one.
void DefineFromBody(stream::RuleEngine* engine, HttpRequest& req, const std::string& path_id,
                    bool create_only, Responder respond) {
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  if (!body->is_object()) {
    return respond(ProblemResponse(Status::BadRequestData("rule: a rule must be a JSON object")));
  }
  if (!path_id.empty()) {
    const JsonValue* id = body->Find("id");
    if (id == nullptr) {
      body->Set("id", path_id);
    } else if (!id->is_string() || id->as_string() != path_id) {
      return respond(ProblemResponse(
          Status::BadRequestData("rule: the id in the body differs from the one in the path")));
    }
  }
  auto rule = stream::Rule::FromJson(*body);
  if (!rule.ok()) return respond(ProblemResponse(rule.status()));
  const std::string id = rule->id;
  if (create_only && engine->Get(id)) {
    return respond(ProblemResponse(
        Status::AlreadyExists("rule " + id + " already exists; PUT /api/v1/rules/" + id + " replaces it")));
  }
  auto defined = engine->Define(std::move(rule).value());
  if (!defined.ok()) return respond(ProblemResponse(defined.status()));
  auto now = engine->Get(id);
  if (!now) return respond(ProblemResponse(Status::Internal("rule " + id + " vanished")));
  HttpResponse r;
  r.status = defined->created ? 201 : 200;
  JsonWriter w(&r.body);
  WriteRuleStatus(&w, *now, &defined->warnings);
  if (defined->created) r.headers.emplace_back("Location", "/api/v1/rules/" + id);
  respond(std::move(r));
}

}  // namespace

void AddRuleRoutes(Router* router, stream::RuleEngine* engine) {
  const std::string base = "/api/v1/rules";
  router->Add("GET", base, security::Permission::kContextRead,
              [engine](HttpRequest&, Responder respond) {
                std::string out;
                JsonWriter w(&out);
                w.BeginArray();
                for (const stream::RuleStatus& s : engine->List()) WriteRuleStatus(&w, s);
                w.EndArray();
                respond(JsonResponse(200, std::move(out), false));
              });
  router->Add("GET", base + "/{ruleId}", security::Permission::kContextRead,
              [engine](HttpRequest& req, Responder respond) {
                auto s = engine->Get(req.params["ruleId"]);
                if (!s) {
                  return respond(ProblemResponse(
                      Status::NotFound("rule " + req.params["ruleId"] + " is not defined")));
                }
                std::string out;
                JsonWriter w(&out);
                WriteRuleStatus(&w, *s);
                respond(JsonResponse(200, std::move(out), false));
              });
  router->Add("POST", base, security::Permission::kAdmin,
              [engine](HttpRequest& req, Responder respond) {
                DefineFromBody(engine, req, "", true, std::move(respond));
              });
  router->Add("PUT", base + "/{ruleId}", security::Permission::kAdmin,
              [engine](HttpRequest& req, Responder respond) {
                DefineFromBody(engine, req, req.params["ruleId"], false, std::move(respond));
              });
  router->Add("DELETE", base + "/{ruleId}", security::Permission::kAdmin,
              [engine](HttpRequest& req, Responder respond) {
                Status st = engine->Remove(req.params["ruleId"]);
                if (!st.ok()) return respond(ProblemResponse(st));
                HttpResponse r;
                r.status = 204;
                respond(std::move(r));
              });
}

}  // namespace cb::api
