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

using RouteList = std::initializer_list<std::pair<const char*, const char*>>;

// A router with these (method, pattern) routes, in order; their handlers do nothing.
std::unique_ptr<Router> RouterWith(RouteList routes) {
  auto r = std::make_unique<Router>();
  for (auto [method, pattern] : routes) {
    r->Add(method, pattern, Permission::kPublic, [](HttpRequest&, Responder) {});
  }
  return r;
}

TEST(RouterTest, MatchesPatternsAndDecodesSegments) {
  auto r = RouterWith({{"GET", "/ngsi-ld/v1/entities"},
                       {"GET", "/ngsi-ld/v1/entities/{entityId}"},
                       {"DELETE", "/ngsi-ld/v1/entities/{entityId}"},
                       {"PATCH", "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}"},
                       {"GET", "/static/{rest...}"}});
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
    PathParams params;
    auto m = r->Find(c.method, c.path, &params);
    EXPECT_EQ(m.route, c.route);
    EXPECT_EQ(m.path_known, c.path_known);
    EXPECT_EQ(m.handler != nullptr, std::string(c.route) != "");
    std::string p;
    for (const char* k : {"attrId", "entityId", "rest"}) {
      if (params.contains(k)) {
        p = params[k];
        break;
      }
    }
    EXPECT_EQ(p, c.param);
  }
}

TEST(RouterTest, ReportsAllowedMethods) {
  auto r = RouterWith({{"GET", "/a"}, {"POST", "/a"}});
  PathParams params;
  auto m = r->Find("PUT", "/a", &params);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(params.size(), 0u);
}

TEST(RouterTest, OnlyTheMatchedRouteFillsParams) {
  auto r = RouterWith({{"GET", "/e/{entityId}/attrs/{attrId}"},
                       {"GET", "/e/{entityId}"},
                       {"DELETE", "/e/{entityId}"}});
  PathParams params;
  auto m = r->Find("DELETE", "/e/a%2Fb", &params);
  EXPECT_EQ(m.route, "/e/{entityId}");
  EXPECT_EQ(m.index, 2u);
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params["entityId"], "a/b");
  EXPECT_EQ(params["attrId"], "");
  EXPECT_FALSE(params.contains("attrId"));

  PathParams both;
  m = r->Find("GET", "//e//x/attrs/speed/", &both);
  EXPECT_EQ(m.index, 0u);
  EXPECT_EQ(both["entityId"], "x");
  EXPECT_EQ(both["attrId"], "speed");

  PathParams none;
  m = r->Find("GET", "/e/bad%zz", &none);  // a bad escape matches no route
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.path_known);
  EXPECT_EQ(m.index, Router::kNoRoute);
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(r->Patterns().size(), 3u);
}

TEST(HttpRequestTest, HeadersMatchWhateverCaseTheyWereSentIn) {
  HttpRequest req;
  req.headers = {{"Content-Type", "application/json"}, {"X-API-KEY", "k"}, {"link", "<l>"}};
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("x-api-key"), "k");
  EXPECT_EQ(req.Header("link"), "<l>");
  EXPECT_EQ(req.Header("accept"), "");
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
