#include <gtest/gtest.h>

#include "api/http.h"
#include "api/problem.h"
#include "core/json.h"

namespace cb::api {
namespace {

using security::Permission;

struct RouteCase {
  const char* method;
  const char* path;
  const char* route;  // expected pattern, "" for none
  bool path_known;
  const char* param;  // expected entityId/attrId/rest, "" when none
};

TEST(RouterTest, MatchesPatternsAndDecodesSegments) {
  Router r;
  auto h = [](HttpRequest&, Responder) {};
  r.Add("GET", "/ngsi-ld/v1/entities", Permission::kContextRead, h);
  r.Add("GET", "/ngsi-ld/v1/entities/{entityId}", Permission::kContextRead, h);
  r.Add("DELETE", "/ngsi-ld/v1/entities/{entityId}", Permission::kContextWrite, h);
  r.Add("PATCH", "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}", Permission::kContextWrite, h);
  r.Add("GET", "/static/{rest...}", Permission::kPublic, h);
  const RouteCase cases[] = {
      {"GET", "/ngsi-ld/v1/entities", "/ngsi-ld/v1/entities", true, ""},
      {"GET", "/ngsi-ld/v1/entities/", "/ngsi-ld/v1/entities", true, ""},
      {"GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:A:1", "/ngsi-ld/v1/entities/{entityId}", true, "urn:ngsi-ld:A:1"},
      {"GET", "/ngsi-ld/v1/entities/urn%3Angsi-ld%3AA%3A%2F2", "/ngsi-ld/v1/entities/{entityId}", true, "urn:ngsi-ld:A:/2"},
      {"DELETE", "/ngsi-ld/v1/entities/x", "/ngsi-ld/v1/entities/{entityId}", true, "x"},
      {"PUT", "/ngsi-ld/v1/entities/x", "", true, ""},
      {"PATCH", "/ngsi-ld/v1/entities/x/attrs/speed", "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}", true, "speed"},
      {"GET", "/ngsi-ld/v1/entities/x/attrs", "", false, ""},
      {"GET", "/ngsi-ld/v2/entities", "", false, ""},
      {"GET", "/static/css/a.css", "/static/{rest...}", true, "css/a.css"},
      {"GET", "/static", "/static/{rest...}", true, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path);
    std::map<std::string, std::string> params;
    auto m = r.Find(c.method, c.path, &params);
    EXPECT_EQ(m.route, c.route);
    EXPECT_EQ(m.path_known, c.path_known);
    EXPECT_EQ(m.handler != nullptr, std::string(c.route) != "");
    std::string p;
    for (const char* k : {"attrId", "entityId", "rest"}) {
      if (params.count(k)) {
        p = params[k];
        break;
      }
    }
    EXPECT_EQ(p, c.param);
  }
}

TEST(RouterTest, ReportsAllowedMethods) {
  Router r;
  auto h = [](HttpRequest&, Responder) {};
  r.Add("GET", "/a", Permission::kPublic, h);
  r.Add("POST", "/a", Permission::kPublic, h);
  std::map<std::string, std::string> params;
  auto m = r.Find("PUT", "/a", &params);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "POST"}));
}

TEST(PercentDecodeTest, Cases) {
  EXPECT_EQ(*PercentDecode("a%20b", false), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("%E6%B9%96", false), "湖");
  for (const char* bad : {"%", "%2", "%zz", "a%g0"}) EXPECT_FALSE(PercentDecode(bad, false).ok()) << bad;
}

TEST(ProblemTest, EveryCodeMapsToAStatusAndAType) {
  const std::pair<Code, int> cases[] = {
      {Code::kInvalidRequest, 400}, {Code::kBadRequestData, 400}, {Code::kUnauthorized, 401},
      {Code::kForbidden, 403},      {Code::kNotFound, 404},       {Code::kAlreadyExists, 409},
      {Code::kConflict, 409},       {Code::kTooLarge, 413},       {Code::kUnsupported, 422},
      {Code::kTooManyRequests, 429}, {Code::kUnavailable, 503},   {Code::kInternal, 500}};
  for (auto [code, status] : cases) {
    HttpResponse r = ProblemResponse(Status(code, "why"));
    EXPECT_EQ(r.status, status);
    auto body = ParseJson(r.body);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->Find("status")->as_int(), status);
    EXPECT_EQ(body->Find("detail")->as_string(), "why");
    EXPECT_EQ(body->Find("type")->as_string(), ProblemTypeFor(code));
  }
  EXPECT_EQ(ProblemTypeFor(Code::kNotFound), "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound");
}

}  // namespace
}  // namespace cb::api
