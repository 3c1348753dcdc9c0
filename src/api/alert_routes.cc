// /api/v1/alerts: the alert list, acknowledgement and resolution, and CAP 1.2 output;
// /api/v1/warnings: CAP warnings from outside taken in.

#include <algorithm>

#include "alerts/alerts.h"
#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"

namespace cb::api {
namespace {

using alerts::Alert;
using alerts::AlertBook;

void WriteStrings(JsonWriter* w, std::string_view key, const std::vector<std::string>& v) {
  w->Key(key).BeginArray();
  for (const std::string& s : v) w->String(s);
  w->EndArray();
}

void WriteTexts(JsonWriter* w, std::string_view key, const alerts::Texts& t) {
  w->Key(key).BeginObject().Key("zh-CN").String(t.zh_cn).Key("en").String(t.en).EndObject();
}

void WriteAlert(JsonWriter* w, const Alert& a, const AlertBook& book) {
  const alerts::AlertSpec& s = a.spec;
  w->BeginObject()
      .Key("id").String(a.id)
      .Key("identifier").String(a.identifier)
      .Key("key").String(s.key)
      .Key("category").String(s.category)
      .Key("event").String(s.event)
      .Key("level").Int(s.level)
      .Key("levelName").String(alerts::LevelName(s.level))
      .Key("color").String(alerts::LevelColor(s.level))
      .Key("state").String(alerts::AlertStateName(a.state))
      .Key("zone").String(s.zone_id);
  WriteTexts(w, "headline", s.headline);
  WriteTexts(w, "description", s.description);
  WriteTexts(w, "instruction", s.instruction);
  WriteStrings(w, "departments", s.departments);
  w->Key("raisedAt").String(FormatIso8601(a.raised_at))
      .Key("updatedAt").String(FormatIso8601(a.updated_at))
      .Key("ackDeadline").String(FormatIso8601(a.ack_deadline))
      .Key("occurrences").Int(static_cast<int64_t>(a.occurrences));
  const auto& chain = book.options().escalation;
  w->Key("escalation").BeginObject().Key("step").Int(a.escalation_step);
  if (a.escalation_step < static_cast<int>(chain.size())) {
    const alerts::EscalationStep& step = chain[static_cast<size_t>(a.escalation_step)];
    WriteTexts(w, "role", step.role);
    w->Key("channel").String(step.channel);
  }
  w->EndObject();
  w->Key("acknowledgedBy").String(a.acknowledged_by).Key("resolvedBy").String(a.resolved_by);
  w->Key("history").BeginArray();
  for (const alerts::AlertEvent& e : a.history) {
    w->BeginObject().Key("at").String(FormatIso8601(e.at)).Key("what").String(e.what).EndObject();
  }
  w->EndArray().Key("capMessages").Int(static_cast<int64_t>(a.cap_messages.size())).EndObject();
}

HttpResponse AlertJson(const Alert& a, const AlertBook& book) {
  std::string out;
  JsonWriter w(&out);
  WriteAlert(&w, a, book);
  return JsonResponse(200, std::move(out), false);
}

HttpResponse Xml(std::string body, std::string content_type) {
  HttpResponse r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string Who(const HttpRequest& req) {
  return req.principal != nullptr && !req.principal->name.empty() ? req.principal->name : "operator";
}

}  // namespace

void AddAlertRoutes(Router* router, AlertBook* book, const Clock* clock) {
  const std::string base = "/api/v1/alerts";
  router->Add("GET", base, security::Permission::kContextRead,
              [book](HttpRequest& req, Responder respond) {
                const std::string* state = req.Query("state");
                if (state != nullptr && *state != "open" && *state != "all") {
                  return respond(ProblemResponse(Status::BadRequestData("state must be open or all")));
                }
                std::string out;
                JsonWriter w(&out);
                w.BeginArray();
                for (const Alert& a : book->List(state == nullptr || *state == "open")) {
                  WriteAlert(&w, a, *book);
                }
                w.EndArray();
                respond(JsonResponse(200, std::move(out), false));
              });
  router->Add("GET", base + "/cap", security::Permission::kContextRead,
              [book](HttpRequest&, Responder respond) {
                // An Atom feed of every alert's latest CAP message, newest first (at most 100).
                std::vector<Alert> all = book->List(false);
                std::sort(all.begin(), all.end(), [](const Alert& a, const Alert& b) {
                  return a.updated_at > b.updated_at;
                });
                if (all.size() > 100) all.resize(100);
                std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
                                "  <id>urn:citybrain:alerts</id>\n  <title>CityBrain alerts</title>\n";
                x += "  <updated>" +
                     FormatIso8601(all.empty() ? 0 : all.front().cap_messages.back().sent) +
                     "</updated>\n";
                for (const Alert& a : all) {
                  const Alert::CapMessage& m = a.cap_messages.back();
                  std::string cap = alerts::RenderCap(a, book->options());
                  cap.erase(0, cap.find('\n') + 1);  // the XML declaration
                  x += "  <entry>\n    <id>urn:cap:" + m.identifier + "</id>\n    <title>" +
                       std::string(alerts::LevelName(a.spec.level)) + " " + m.msg_type +
                       "</title>\n    <updated>" + FormatIso8601(m.sent) +
                       "</updated>\n    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"/api/v1/alerts/" +
                       a.id + "/cap\"/>\n    <content type=\"text/xml\">\n" + cap +
                       "    </content>\n  </entry>\n";
                }
                x += "</feed>\n";
                respond(Xml(std::move(x), "application/atom+xml"));
              });
  router->Add("GET", base + "/{alertId}", security::Permission::kContextRead,
              [book](HttpRequest& req, Responder respond) {
                auto a = book->Get(req.params["alertId"]);
                if (!a) return respond(ProblemResponse(Status::NotFound("alert " + req.params["alertId"] + " not found")));
                respond(AlertJson(*a, *book));
              });
  router->Add("GET", base + "/{alertId}/cap", security::Permission::kContextRead,
              [book](HttpRequest& req, Responder respond) {
                auto a = book->Get(req.params["alertId"]);
                if (!a) return respond(ProblemResponse(Status::NotFound("alert " + req.params["alertId"] + " not found")));
                auto n = ParseCount(req.Query("message"), "message", a->cap_messages.size() - 1, 1000);
                if (!n.ok()) return respond(Fail(n.status()));
                if (*n >= a->cap_messages.size()) {
                  return respond(ProblemResponse(Status::NotFound(
                      "alert " + a->id + " has " + std::to_string(a->cap_messages.size()) + " CAP messages")));
                }
                respond(Xml(alerts::RenderCap(*a, book->options(), *n), "application/cap+xml"));
              });
  router->Add("POST", base + "/{alertId}/acknowledge", security::Permission::kContextWrite,
              [book, clock](HttpRequest& req, Responder respond) {
                auto a = book->Acknowledge(req.params["alertId"], Who(req), clock->Now());
                if (!a.ok()) return respond(ProblemResponse(a.status()));
                respond(AlertJson(*a, *book));
              });
  router->Add("POST", base + "/{alertId}/resolve", security::Permission::kContextWrite,
              [book, clock](HttpRequest& req, Responder respond) {
                auto a = book->Resolve(req.params["alertId"], Who(req), clock->Now());
                if (!a.ok()) return respond(ProblemResponse(a.status()));
                respond(AlertJson(*a, *book));
              });
}

namespace {

void WriteReport(JsonWriter* w, const alerts::CapIntakeReport& r) {
  w->BeginObject()
      .Key("identifier").String(r.identifier)
      .Key("sender").String(r.sender)
      .Key("sent").String(r.sent)
      .Key("status").String(r.status)
      .Key("msgType").String(r.msg_type)
      .Key("via").String(r.via)
      .Key("receivedAt").String(FormatIso8601(r.received_at))
      .Key("outcome").String(r.outcome)
      .Key("reason").String(r.reason);
  WriteStrings(w, "zones", r.zones);
  w->Key("alerts").BeginObject();
  WriteStrings(w, "raised", r.raised);
  WriteStrings(w, "updated", r.updated);
  WriteStrings(w, "resolved", r.resolved);
  w->EndObject().EndObject();
}

}  // namespace

void AddWarningRoutes(Router* router, alerts::CapWarningSink* sink) {
  const std::string base = "/api/v1/warnings";
  router->Add("POST", base, security::Permission::kContextWrite,
              [sink](HttpRequest& req, Responder respond) {
                const std::string_view ct = MediaType(req.Header("content-type"));
                if (!req.body.empty() && ct != "application/cap+xml" && ct != "application/xml" &&
                    ct != "text/xml") {
                  return respond(Fail(Status(
                      Code::kUnsupported,
                      "Content-Type must be application/cap+xml, application/xml or text/xml")));
                }
                auto cap = alerts::ParseCap(req.body);
                if (!cap.ok()) return respond(ProblemResponse(cap.status()));
                auto report = sink->Receive(*cap, "post");
                if (!report.ok()) return respond(ProblemResponse(report.status()));
                std::string out;
                JsonWriter w(&out);
                WriteReport(&w, *report);
                respond(JsonResponse(report->raised.empty() ? 200 : 201, std::move(out), false));
              });
  router->Add("GET", base, security::Permission::kContextRead,
              [sink](HttpRequest& req, Responder respond) {
                auto limit = ParseCount(req.Query("limit"), "limit", 100, 1000);
                if (!limit.ok()) return respond(Fail(limit.status()));
                std::string out;
                JsonWriter w(&out);
                w.BeginArray();
                for (const alerts::CapIntakeReport& r : sink->Recent(*limit)) WriteReport(&w, r);
                w.EndArray();
                respond(JsonResponse(200, std::move(out), false));
              });
}

AlertStream::AlertStream(alerts::AlertBook* book) : book_(book) { book_->AddListener(this); }

AlertStream::~AlertStream() { Stop(); }

void AlertStream::Stop() {
  if (fanout_.Stop()) book_->RemoveListener(this);
}

void AlertStream::OnAlert(const Alert& a, const std::string& what) {
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject().Key("type").String("alert").Key("what").String(what).Key("alert");
  WriteAlert(&w, a, *book_);
  w.EndObject();
  fanout_.Broadcast(msg);
}

void AlertStream::Open(std::shared_ptr<WebSocketSession> session) {
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject().Key("type").String("snapshot").Key("alerts").BeginArray();
  for (const Alert& a : book_->List(true)) WriteAlert(&w, a, *book_);
  w.EndArray().EndObject();
  fanout_.Open(std::move(session), std::move(msg));
}

void AlertStream::Close(const WebSocketSession* session) { fanout_.Close(session); }

size_t AlertStream::clients() const { return fanout_.size(); }

void AddAlertStreamRoutes(Router* router, AlertStream* stream) {
  AddFanoutRoute(router, "/ws/alerts", security::Permission::kContextRead, stream);
}

}  // namespace cb::api
