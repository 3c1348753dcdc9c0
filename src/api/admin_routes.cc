// API key administration: issue and revoke keys (permission admin).
#include "api/api.h"
#include "api/problem.h"
#include "core/json.h"

namespace cb::api {

void AddAdminRoutes(Router* router, security::ApiKeyAuthority* auth) {
  router->Add("POST", "/admin/keys", security::Permission::kAdmin,
              [auth](HttpRequest& req, Responder respond) {
                auto body = ParseJson(req.body);
                if (!body.ok()) return respond(ProblemResponse(body.status()));
                const JsonValue* name = body->Find("name");
                const JsonValue* perms = body->Find("permissions");
                if (name == nullptr || !name->is_string() || name->as_string().empty() ||
                    perms == nullptr || !perms->is_array() || perms->as_array().empty()) {
                  return respond(ProblemResponse(Status::BadRequestData(
                      "give {\"name\": \"…\", \"permissions\": [\"context:read\", …]}")));
                }
                std::vector<security::Permission> granted;
                for (const auto& p : perms->as_array()) {
                  auto perm = p.is_string() ? security::PermissionFromName(p.as_string())
                                            : Result<security::Permission>(Status::BadRequestData(
                                                  "permissions must be strings"));
                  if (!perm.ok()) return respond(ProblemResponse(perm.status()));
                  granted.push_back(*perm);
                }
                auto issued = auth->Issue(name->as_string(), granted);
                if (!issued.ok()) return respond(ProblemResponse(issued.status()));
                HttpResponse r;
                r.status = 201;
                JsonWriter w(&r.body);
                w.BeginObject().Key("id").String(issued->id).Key("key").String(issued->key);
                w.EndObject();
                r.headers.emplace_back("Location", "/admin/keys/" + issued->id);
                respond(std::move(r));
              });
  router->Add("DELETE", "/admin/keys/{keyId}", security::Permission::kAdmin,
              [auth](HttpRequest& req, Responder respond) {
                Status st = auth->Revoke(req.params["keyId"]);
                if (!st.ok()) return respond(ProblemResponse(st));
                HttpResponse r;
                r.status = 204;
                respond(std::move(r));
              });
}

}  // namespace cb::api
