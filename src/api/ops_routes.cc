#include "api/api.h"

namespace cb::api {

void AddOperationsRoutes(Router* router, metrics::Registry* registry,
                         std::function<std::string()> health_json) {
  router->Add("GET", "/health", security::Permission::kPublic,
              [health_json](HttpRequest&, Responder respond) {
                HttpResponse r;
                r.body = health_json();
                respond(std::move(r));
              });
  router->Add("GET", "/metrics", security::Permission::kMetrics,
              [registry](HttpRequest&, Responder respond) {
                HttpResponse r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = registry->Render();
                respond(std::move(r));
              });
}

}  // namespace cb::api
