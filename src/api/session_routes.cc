// The dashboard's sign-in (/api/v1/session) and user administration (/admin/users).
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "core/json.h"
#include "core/work_queue.h"
#include "security/users.h"

namespace cb::api {
namespace {

using security::Permission;
using security::User;
using security::UserDirectory;

// A string for the log: JSON-quoted, so names and addresses cannot forge log lines.
std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

void WritePermissions(JsonWriter& w, const std::vector<Permission>& perms) {
  w.BeginArray();
  for (Permission p : perms) w.String(security::PermissionName(p));
  w.EndArray();
}

// {"name","displayName","department","locale","permissions"} (+ "source" for admins).
void WriteUser(JsonWriter& w, std::string_view name, std::string_view display_name,
               std::string_view department, std::string_view locale,
               const std::vector<Permission>& perms, const User* with_source = nullptr) {
  w.BeginObject().Key("name").String(name).Key("displayName").String(display_name);
  w.Key("department");
  if (department.empty()) {
    w.Null();
  } else {
    w.String(department);
  }
  w.Key("locale").String(locale).Key("permissions");
  WritePermissions(w, perms);
  if (with_source != nullptr) w.Key("source").String(security::UserSourceName(with_source->source));
  w.EndObject();
}

void WriteUser(JsonWriter& w, const User& u, bool with_source) {
  WriteUser(w, u.name, u.display_name, u.department, u.locale, u.permissions,
            with_source ? &u : nullptr);
}

HttpResponse UserResponse(int status, const User& u) {
  HttpResponse r;
  r.status = status;
  JsonWriter w(&r.body);
  WriteUser(w, u, true);
  return r;
}

// The JSON object body of a request: 415 unless application/json, 400 when not JSON.
Result<JsonValue> JsonObjectBody(const HttpRequest& req) {
  if (MediaType(req.Header("content-type")) != "application/json") {
    return Status(Code::kUnsupported, "Content-Type must be application/json");
  }
  auto body = ParseJson(req.body);
  if (!body.ok()) return body.status();
  if (!body->is_object()) return Status::BadRequestData("the body must be a JSON object");
  return body;
}

HttpResponse Busy() {
  HttpResponse r = ProblemResponse(Status::Unavailable(
      "too many sign-ins and password changes at once; try again in a moment"));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::string Actor(const HttpRequest& req) {
  if (req.principal == nullptr) return "-";
  return Quoted(req.principal->is_session() ? req.principal->user : req.principal->name) +
         " key=" + req.principal->key_id;
}

}  // namespace

void AddSessionRoutes(Router* router, UserDirectory* users, WorkQueue* password_work) {
  router->Add("POST", "/api/v1/session", Permission::kPublic,
              [users, password_work](HttpRequest& req, Responder respond) {
                auto body = JsonObjectBody(req);
                if (!body.ok()) return respond(Fail(body.status()));
                const JsonValue* user = body->Find("user");
                const JsonValue* password = body->Find("password");
                if (user == nullptr || !user->is_string() || password == nullptr ||
                    !password->is_string()) {
                  return respond(ProblemResponse(Status::BadRequestData(
                      "give {\"user\": \"<user name>\", \"password\": \"…\"}")));
                }
                auto job = [users, respond, name = user->as_string(),
                            pw = password->as_string(), remote = req.remote_address]() mutable {
                  int64_t retry_ms = 0;
                  auto s = users->SignIn(name, pw, &retry_ms);
                  sodium_memzero(pw.data(), pw.size());
                  if (!s.ok()) {
                    const bool limited = s.status().code() == Code::kTooManyRequests;
                    spdlog::warn("audit: sign-in failed user={} remote={} reason={}", Quoted(name),
                                 remote, limited ? "too-many-failures" : "wrong-credentials");
                    HttpResponse r = ProblemResponse(s.status());
                    if (limited) {
                      for (auto& [k, v] : r.headers) {
                        if (k == "Retry-After") v = std::to_string((retry_ms + 999) / 1000);
                      }
                    }
                    return respond(std::move(r));
                  }
                  spdlog::info("audit: sign-in user={} remote={} session={} expires={}",
                               Quoted(name), remote, s->key.id, FormatIso8601(s->expires_at));
                  HttpResponse r;
                  r.status = 201;
                  r.headers.emplace_back("Cache-Control", "no-store");
                  JsonWriter w(&r.body);
                  w.BeginObject().Key("token").String(s->key.key);
                  w.Key("expiresAt").String(FormatIso8601(s->expires_at)).Key("user");
                  WriteUser(w, s->user, false);
                  w.EndObject();
                  respond(std::move(r));
                };
                if (!password_work->Post(std::move(job))) respond(Busy());
              });

  router->Add("GET", "/api/v1/session", Permission::kSignedIn,
              [](HttpRequest& req, Responder respond) {
                const security::Principal& p = *req.principal;
                HttpResponse r;
                r.headers.emplace_back("Cache-Control", "no-store");
                JsonWriter w(&r.body);
                w.BeginObject().Key("user");
                if (p.is_session()) {
                  WriteUser(w, p.user, p.display_name, p.department, p.locale, p.permissions);
                } else {
                  w.Null();
                }
                w.Key("key").BeginObject().Key("id").String(p.key_id).Key("name").String(p.name);
                w.EndObject().Key("permissions");
                WritePermissions(w, p.permissions);
                w.Key("expiresAt");
                if (p.expires_at != 0) {
                  w.String(FormatIso8601(p.expires_at));
                } else {
                  w.Null();
                }
                w.EndObject();
                respond(std::move(r));
              });

  router->Add("DELETE", "/api/v1/session", Permission::kSignedIn,
              [users](HttpRequest& req, Responder respond) {
                Status st = users->SignOut(*req.principal);
                if (st.code() == Code::kConflict) {
                  return respond(ProblemResponse(409, Code::kUnsupported, st.message()));
                }
                if (!st.ok()) return respond(ProblemResponse(st));
                spdlog::info("audit: sign-out user={} remote={} session={}",
                             Quoted(req.principal->user), req.remote_address,
                             req.principal->key_id);
                HttpResponse r;
                r.status = 204;
                respond(std::move(r));
              });

  // ---- /admin/users

  router->Add("GET", "/admin/users", Permission::kAdmin, [users](HttpRequest&, Responder respond) {
    HttpResponse r;
    JsonWriter w(&r.body);
    w.BeginObject().Key("users").BeginArray();
    for (const User& u : users->List()) WriteUser(w, u, true);
    w.EndArray().EndObject();
    respond(std::move(r));
  });

  router->Add("GET", "/admin/users/{name}", Permission::kAdmin,
              [users](HttpRequest& req, Responder respond) {
                auto u = users->Get(req.params["name"]);
                respond(u.ok() ? UserResponse(200, *u) : ProblemResponse(u.status()));
              });

  // Creating and replacing hash the password: on password_work, like signing in.
  auto change = [users, password_work](bool create) {
    return [users, password_work, create](HttpRequest& req, Responder respond) {
      auto body = JsonObjectBody(req);
      if (!body.ok()) return respond(Fail(body.status()));
      auto spec = security::ParseUserSpec(
          *body, create ? security::UserInput::kCreate : security::UserInput::kReplace);
      if (!spec.ok()) return respond(ProblemResponse(spec.status()));
      auto job = [users, respond, create, spec = std::move(spec).value(),
                  path_name = req.params["name"], actor = Actor(req)]() mutable {
        auto u = create ? users->Create(spec) : users->Replace(path_name, spec);
        if (spec.password) sodium_memzero(spec.password->data(), spec.password->size());
        if (!u.ok()) return respond(ProblemResponse(u.status()));
        spdlog::info("audit: user {} name={} by={}{}", create ? "created" : "replaced",
                     Quoted(u->name), actor, spec.password ? " (new password)" : "");
        HttpResponse r = UserResponse(create ? 201 : 200, *u);
        if (create) r.headers.emplace_back("Location", "/admin/users/" + u->name);
        respond(std::move(r));
      };
      if (!password_work->Post(std::move(job))) respond(Busy());
    };
  };
  router->Add("POST", "/admin/users", Permission::kAdmin, change(true));
  router->Add("PUT", "/admin/users/{name}", Permission::kAdmin, change(false));

  router->Add("DELETE", "/admin/users/{name}", Permission::kAdmin,
              [users](HttpRequest& req, Responder respond) {
                const std::string& name = req.params["name"];
                Status st = users->Delete(name);
                if (!st.ok()) return respond(ProblemResponse(st));
                spdlog::info("audit: user deleted name={} by={} (sessions revoked)", Quoted(name),
                             Actor(req));
                HttpResponse r;
                r.status = 204;
                respond(std::move(r));
              });
}

}  // namespace cb::api
