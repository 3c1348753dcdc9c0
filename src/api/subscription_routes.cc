// NGSI-LD subscription routes (ETSI GS CIM 009, 5.8): request parsing and response shaping
// only. Validation, persistence and matching live in context::SubscriptionManager.
#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "context/subscriptions.h"

namespace cb::api {
namespace {

using context::SubscriptionManager;
using security::Permission;

constexpr std::string_view kBase = "/ngsi-ld/v1/subscriptions";

// 406 unless the client accepts JSON.
Status CheckAccept(const HttpRequest& req) {
  std::string_view accept = req.Header("accept");
  if (accept.empty() || accept.find("json") != std::string_view::npos ||
      accept.find("*/*") != std::string_view::npos ||
      accept.find("application/*") != std::string_view::npos) {
    return Status::Ok();
  }
  return Status(Code::kUnsupported,
                "406: can only produce application/json or application/ld+json");
}

// The {subscriptionId} path parameter, checked.
Result<std::string> SubscriptionId(HttpRequest& req) {
  const std::string& id = req.params["subscriptionId"];
  if (!context::IsValidEntityId(id)) {
    return Status::BadRequestData("subscription id must be a URI");
  }
  return id;
}

void Create(SubscriptionManager* subs, HttpRequest& req, Responder respond) {
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  if (body->is_object()) body->Erase("@context");
  subs->Create(*body, [respond = std::move(respond)](Result<std::string> id) {
    if (!id.ok()) return respond(Fail(id.status()));
    HttpResponse r;
    r.status = 201;
    r.headers.emplace_back("Location", std::string(kBase) + "/" + *id);
    respond(std::move(r));
  });
}

void List(SubscriptionManager* subs, const SubscriptionLimits& limits, HttpRequest& req,
          Responder respond) {
  if (Status st = CheckAccept(req); !st.ok()) return respond(Fail(st));
  auto limit = ParseCount(req.Query("limit"), "limit", limits.default_page, limits.max_page);
  if (!limit.ok()) return respond(Fail(limit.status()));
  auto offset = ParseCount(req.Query("offset"), "offset", 0, SIZE_MAX);
  if (!offset.ok()) return respond(Fail(offset.status()));
  const std::string* count = req.Query("count");
  bool with_count = count != nullptr && *count == "true";
  if (*limit == 0 && !with_count) {
    return respond(ProblemResponse(Status::BadRequestData("limit=0 needs count=true")));
  }
  context::SubscriptionPage page = subs->List(*offset, *limit);
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const auto& doc : page.docs) w.Raw(doc);
  w.EndArray();
  HttpResponse r = JsonResponse(200, std::move(out), false);
  if (with_count) r.headers.emplace_back("NGSILD-Results-Count", std::to_string(page.total));
  respond(std::move(r));
}

void Get(SubscriptionManager* subs, HttpRequest& req, Responder respond) {
  if (Status st = CheckAccept(req); !st.ok()) return respond(Fail(st));
  auto id = SubscriptionId(req);
  if (!id.ok()) return respond(Fail(id.status()));
  auto doc = subs->Get(*id);
  if (!doc.ok()) return respond(Fail(doc.status()));
  respond(JsonResponse(200, std::move(doc).value(), false));
}

void Patch(SubscriptionManager* subs, HttpRequest& req, Responder respond) {
  auto id = SubscriptionId(req);
  if (!id.ok()) return respond(Fail(id.status()));
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  if (body->is_object()) body->Erase("@context");
  subs->Update(*id, *body, [respond = std::move(respond)](Status st) {
    respond(st.ok() ? NoContent() : Fail(st));
  });
}

void Delete(SubscriptionManager* subs, HttpRequest& req, Responder respond) {
  auto id = SubscriptionId(req);
  if (!id.ok()) return respond(Fail(id.status()));
  subs->Delete(*id, [respond = std::move(respond)](Status st) {
    respond(st.ok() ? NoContent() : Fail(st));
  });
}

}  // namespace

void AddSubscriptionRoutes(Router* router, SubscriptionManager* subs, SubscriptionLimits limits) {
  const std::string base(kBase);
  const std::string one = base + "/{subscriptionId}";
  auto bind = [subs](auto fn) {
    return [subs, fn](HttpRequest& req, Responder respond) { fn(subs, req, std::move(respond)); };
  };
  router->Add("POST", base, Permission::kSubscriptions, bind(Create));
  router->Add("GET", base, Permission::kSubscriptions,
              [subs, limits](HttpRequest& req, Responder respond) {
                List(subs, limits, req, std::move(respond));
              });
  router->Add("GET", one, Permission::kSubscriptions, bind(Get));
  router->Add("PATCH", one, Permission::kSubscriptions, bind(Patch));
  router->Add("DELETE", one, Permission::kSubscriptions, bind(Delete));
}

}  // namespace cb::api
