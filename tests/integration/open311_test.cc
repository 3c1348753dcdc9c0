// Open311 GeoReport v2 against the real server: a citizen's flow (discovery, services, a
// service definition, reports by lat/long and by address, following them by id, token and
// filters while the centre moves the case through the internal API, a duplicate linked to
// an open report), and bad input answered in the Open311 error format with nothing created.
// Every JSON response is validated against the shared GeoReport v2 schemas
// (tests/tools/validate_json.py); XML responses are parsed and compared with the JSON.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../xml_query.h"
#include "core/json.h"
#include "test_server.h"

namespace cb::testing {
namespace {

const std::string kSchemas = std::string(CITYBRAIN_SOURCE_DIR) + "/../shared/schemas/open311-georeport-v2";

// Runs tests/tools/validate_json.py on `body` against the named schema: a test failure,
// with the validator's output, when the document does not validate.
void ExpectValid(const std::string& schema, const std::string& body) {
  static int n = 0;
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("cb-open311-" + std::to_string(getpid()) + "-" + std::to_string(++n) + ".json"))
                               .string();
  std::ofstream(file) << body;
  const std::string cmd = "/usr/bin/python3 '" + std::string(CITYBRAIN_SOURCE_DIR) +
                          "/tests/tools/validate_json.py' '" + kSchemas + "' '" + schema + "' '" + file + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int st = p != nullptr ? pclose(p) : -1;
  std::filesystem::remove(file);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << schema << ": " << out << "\n" << body;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* s : {&k, &v}) {
      for (unsigned char c : *s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out += static_cast<char>(c);
        } else if (c == ' ') {
          out += '+';
        } else {
          char hex[4];
          std::snprintf(hex, sizeof hex, "%%%02X", c);
          out += hex;
        }
      }
      if (s == &k) out += '=';
    }
  }
  return out;
}

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
}

class Open311ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    HttpClient admin = server_->Client();
    auto issue = [&](const std::string& name, const std::string& perms) {
      Response r = admin.Post("/admin/keys", R"({"name":")" + name + R"(","permissions":[)" + perms + "]}");
      EXPECT_EQ(r.status, 201) << r.body;
      return Str(Json(r.body), "key");
    };
    *app_key_ = issue("citizen-app", R"("cases:report")");
    *operator_key_ = issue("dispatcher", R"("cases:report","cases:read","cases:write")");
    *reader_key_ = issue("wallboard", R"("context:read")");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Citizens' reads carry no key.
  HttpClient Public() const { return HttpClient(server_->port(), ""); }
  HttpClient Operator() const { return HttpClient(server_->port(), *operator_key_); }

  // POSTs a form to /open311/v2/requests.<fmt> (no key header: the api_key is in the form).
  Response PostRequest(std::vector<std::pair<std::string, std::string>> fields, const std::string& fmt = "json") {
    return Public().Request(http::verb::post, "/open311/v2/requests." + fmt, FormEncode(fields),
                            "application/x-www-form-urlencoded");
  }
  // GET of a JSON resource, validated against `schema`; the parsed body.
  JsonValue GetValid(const std::string& target, const std::string& schema) {
    Response r = Public().Get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json; charset=utf-8");
    ExpectValid(schema, r.body);
    return Json(r.body);
  }
  JsonValue GetRequest(const std::string& id) {
    JsonValue list = GetValid("/open311/v2/requests/" + id + ".json", "requests.json");
    EXPECT_EQ(list.as_array().size(), 1u);
    return list.as_array().empty() ? JsonValue() : list.as_array()[0];
  }
  // Moves a case through the internal API, as the operations centre does.
  void Move(const std::string& id, const std::string& body) {
    Response r = Operator().Post("/api/v1/cases/" + id + "/transitions", body);
    ASSERT_EQ(r.status, 200) << body << ": " << r.body;
  }
  size_t CountRequests() {
    Response r = Public().Get("/open311/v2/requests.json");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).as_array().size();
  }
  // An Open311 error answer: the status, and a list of {code, description} whose first
  // code is the status; XML answers as <errors><error>.
  void ExpectError(const Response& r, int status, const std::string& part, const std::string& fmt = "json") {
    EXPECT_EQ(r.status, status) << r.body;
    if (fmt == "json") {
      JsonValue e = Json(r.body);
      ASSERT_TRUE(e.is_array() && !e.as_array().empty()) << r.body;
      EXPECT_EQ(e.as_array()[0].Find("code")->as_int(), status);
      std::string all;
      for (const JsonValue& x : e.as_array()) all += Str(x, "description") + "\n";
      EXPECT_NE(all.find(part), std::string::npos) << r.body;
    } else {
      XmlQuery x(r.body);
      EXPECT_EQ(x.All("/errors/error/code").front(), std::to_string(status));
      EXPECT_NE(x.One("/errors/error[1]/description").find(part), std::string::npos) << r.body;
    }
  }

  static ServerProcess* server_;
  static std::string* app_key_;
  static std::string* operator_key_;
  static std::string* reader_key_;
};

ServerProcess* Open311ApiTest::server_ = nullptr;
std::string* Open311ApiTest::app_key_ = new std::string;
std::string* Open311ApiTest::operator_key_ = new std::string;
std::string* Open311ApiTest::reader_key_ = new std::string;

TEST_F(Open311ApiTest, DiscoveryServicesAndDefinitions) {
  HttpClient c = Public();
  Response d = c.Get("/open311/v2/discovery.json");
  ASSERT_EQ(d.status, 200) << d.body;
  JsonValue disc = Json(d.body);
  const JsonValue& endpoint = disc.Find("endpoints")->as_array().at(0);
  EXPECT_EQ(Str(endpoint, "url"), "http://127.0.0.1/open311/v2");
  EXPECT_EQ(Str(endpoint, "specification"), "http://wiki.open311.org/GeoReport_v2");
  XmlQuery dx(c.Get("/open311/v2/discovery.xml").body);
  EXPECT_EQ(dx.One("/discovery/endpoints/endpoint/url"), "http://127.0.0.1/open311/v2");

  JsonValue services = GetValid("/open311/v2/services.json", "services.json");
  std::vector<std::string> codes;
  for (const JsonValue& s : services.as_array()) codes.push_back(Str(s, "service_code"));
  EXPECT_NE(std::find(codes.begin(), codes.end(), "0106"), codes.end());
  EXPECT_EQ(std::find(codes.begin(), codes.end(), "01"), codes.end()) << "classes are groups, not services";
  Response sx = c.Get("/open311/v2/services.xml");
  EXPECT_EQ(sx.Header("Content-Type"), "text/xml; charset=utf-8");
  XmlQuery xs(sx.body);
  EXPECT_EQ(xs.All("/services/service/service_code"), codes);
  EXPECT_EQ(xs.All("/services/service/service_name").front(), Str(services.as_array()[0], "service_name"));

  // Languages: zh-CN by default, English when asked.
  auto name_of = [&](const JsonValue& list, const std::string& code) {
    for (const JsonValue& s : list.as_array()) {
      if (Str(s, "service_code") == code) return Str(s, "service_name") + " / " + Str(s, "group");
    }
    return std::string();
  };
  EXPECT_EQ(name_of(services, "0106"), "井盖缺失破损 / 市容环境");
  JsonValue en = GetValid("/open311/v2/services.json?locale=en", "services.json");
  EXPECT_EQ(name_of(en, "0106"), "Missing or broken manhole cover / City appearance and environment");
  Response accept = c.Request(http::verb::get, "/open311/v2/services.json", "", "", {{"Accept-Language", "en-US,en;q=0.9"}});
  EXPECT_EQ(name_of(Json(accept.body), "0106"), "Missing or broken manhole cover / City appearance and environment");

  JsonValue def = GetValid("/open311/v2/services/0106.json", "service-definition.json");
  EXPECT_EQ(Str(def, "service_code"), "0106");
  const JsonValue& attr = def.Find("attributes")->as_array().at(0);
  EXPECT_EQ(Str(attr, "code"), "cover_type");
  EXPECT_EQ(Str(attr, "datatype"), "singlevaluelist");
  XmlQuery dfx(c.Get("/open311/v2/services/0106.xml").body);
  EXPECT_EQ(dfx.One("/service_definition/attributes/attribute/code"), "cover_type");
  EXPECT_EQ(dfx.All("/service_definition/attributes/attribute/values/value/key").size(),
            attr.Find("values")->as_array().size());
  GetValid("/open311/v2/services/0503.json", "service-definition.json");
}

TEST_F(Open311ApiTest, ACitizenReportsAndFollowsTheCase) {
  // A report with lat/long, attributes and personal data.
  Response created = PostRequest({{"api_key", *app_key_}, {"service_code", "0106"}, {"lat", "30.2581"},
                                  {"long", "120.1651"}, {"description", "井盖不见了 & 很危险 <快来>"},
                                  {"attribute[cover_type]", "sewer"}, {"email", "li.si@example.cn"},
                                  {"first_name", "Si"}, {"last_name", "Li"}, {"phone", "13900139000"},
                                  {"account_id", "citizen-42"}, {"media_url", "https://img.example/cover.jpg"}});
  ASSERT_EQ(created.status, 200) << created.body;
  JsonValue answer = Json(created.body).as_array().at(0);
  const std::string id = Str(answer, "service_request_id");
  const std::string token = Str(answer, "token");
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(Str(answer, "account_id"), "citizen-42");
  EXPECT_EQ(Str(answer, "service_notice"), "已收到，由市政设施管理中心负责办理。");

  // A report with only an address, answered in XML.
  Response by_address = PostRequest({{"api_key", *app_key_}, {"service_code", "0503"},
                                     {"address_string", "湖滨路 12 号 东门"}, {"description", "车停在盲道上"}},
                                    "xml");
  ASSERT_EQ(by_address.status, 200) << by_address.body;
  XmlQuery ax(by_address.body);
  const std::string id2 = ax.One("/service_requests/request/service_request_id");
  ASSERT_FALSE(id2.empty());
  EXPECT_FALSE(ax.One("/service_requests/request/token").empty());

  // Following it: by id, in JSON and XML, and by token.
  JsonValue r = GetRequest(id);
  EXPECT_EQ(Str(r, "status"), "open");
  EXPECT_EQ(Str(r, "service_code"), "0106");
  EXPECT_EQ(Str(r, "service_name"), "井盖缺失破损");
  EXPECT_EQ(Str(r, "agency_responsible"), "市政设施管理中心");
  EXPECT_EQ(Str(r, "description"), "井盖不见了 & 很危险 <快来>");
  EXPECT_EQ(Str(r, "media_url"), "https://img.example/cover.jpg");
  EXPECT_EQ(Str(r, "status_notes"), "已收到，等待受理");
  EXPECT_DOUBLE_EQ(r.Find("lat")->as_double(), 30.2581);
  EXPECT_DOUBLE_EQ(r.Find("long")->as_double(), 120.1651);
  EXPECT_FALSE(Str(r, "expected_datetime").empty());
  const std::string body = Public().Get("/open311/v2/requests/" + id + ".json").body;
  for (const char* personal : {"li.si@example.cn", "13900139000", "Si Li", "citizen-42"}) {
    EXPECT_EQ(body.find(personal), std::string::npos) << personal << " is public: " << body;
  }
  XmlQuery rx(Public().Get("/open311/v2/requests/" + id + ".xml").body);
  for (const char* field : {"service_request_id", "status", "status_notes", "service_name", "description",
                            "agency_responsible", "requested_datetime", "updated_datetime", "media_url"}) {
    EXPECT_EQ(rx.One(std::string("/service_requests/request/") + field), Str(r, field)) << field;
  }
  JsonValue address_only = GetRequest(id2);
  EXPECT_EQ(Str(address_only, "address"), "湖滨路 12 号 东门");
  EXPECT_TRUE(address_only.Find("lat")->is_null());

  Response t = Public().Get("/open311/v2/tokens/" + token + ".json");
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(Str(Json(t.body).as_array().at(0), "service_request_id"), id);
  EXPECT_EQ(XmlQuery(Public().Get("/open311/v2/tokens/" + token + ".xml").body)
                .One("/service_requests/request/service_request_id"),
            id);

  // Filters.
  auto ids_of = [&](const std::string& query) {
    std::vector<std::string> ids;
    const JsonValue list = GetValid("/open311/v2/requests.json" + query, "requests.json");
    for (const JsonValue& x : list.as_array()) {
      ids.push_back(Str(x, "service_request_id"));
    }
    return ids;
  };
  auto has = [](const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  EXPECT_TRUE(has(ids_of(""), id));
  EXPECT_TRUE(has(ids_of("?service_code=0106"), id));
  EXPECT_FALSE(has(ids_of("?service_code=0106"), id2));
  EXPECT_TRUE(has(ids_of("?service_code=0106,0503"), id2));
  EXPECT_EQ(ids_of("?service_request_id=" + id + "," + id2).size(), 2u);
  EXPECT_TRUE(has(ids_of("?status=open"), id));
  EXPECT_FALSE(has(ids_of("?status=closed"), id));
  EXPECT_FALSE(has(ids_of("?end_date=2020-01-01T00:00:00Z"), id)) << "requested long after";
  EXPECT_TRUE(has(ids_of("?start_date=" + Str(r, "requested_datetime")), id));
  XmlQuery lx(Public().Get("/open311/v2/requests.xml?service_code=0106").body);
  EXPECT_EQ(lx.All("/service_requests/request/service_request_id"), ids_of("?service_code=0106"));

  // The centre moves the case; the citizen sees the notes change.
  Move(id, R"({"action":"accept"})");
  EXPECT_EQ(Str(GetRequest(id), "status_notes"), "已受理，等待派遣");
  Move(id, R"({"action":"dispatch","department":"szj"})");
  EXPECT_EQ(Str(GetRequest(id), "status_notes"), "已派遣至市政设施管理中心");
  Move(id, R"({"action":"start"})");
  Move(id, R"({"action":"resolve","result":"已更换新井盖"})");
  JsonValue resolved = GetRequest(id);
  EXPECT_EQ(Str(resolved, "status"), "open");
  EXPECT_EQ(Str(resolved, "status_notes"), "已更换新井盖");
  Move(id, R"({"action":"verify"})");
  Move(id, R"({"action":"close"})");
  JsonValue closed = GetRequest(id);
  EXPECT_EQ(Str(closed, "status"), "closed");
  EXPECT_EQ(Str(closed, "status_notes"), "已更换新井盖");
  EXPECT_TRUE(closed.Find("expected_datetime")->is_null());
  EXPECT_TRUE(has(ids_of("?status=closed"), id));
  EXPECT_FALSE(has(ids_of("?status=open"), id));
  JsonValue en = Json(Public().Get("/open311/v2/requests/" + id2 + ".json?locale=en").body).as_array().at(0);
  EXPECT_EQ(Str(en, "status_notes"), "Received, waiting to be accepted");

  // A rejected report is closed with the reason.
  Move(id2, R"({"action":"reject","note":"车辆已驶离，无法核实"})");
  JsonValue rejected = GetRequest(id2);
  EXPECT_EQ(Str(rejected, "status"), "closed");
  EXPECT_EQ(Str(rejected, "status_notes"), "车辆已驶离，无法核实");
}

TEST_F(Open311ApiTest, ADuplicateReportGetsItsOwnIdAndIsLinked) {
  auto report = [&](const std::string& lat) {
    Response r = PostRequest({{"api_key", *app_key_}, {"service_code", "0101"}, {"lat", lat},
                              {"long", "120.1702"}, {"description", "垃圾堆"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).as_array().at(0);
  };
  JsonValue first = report("30.2601");
  JsonValue second = report("30.26012");  // about 2 m away
  const std::string id1 = Str(first, "service_request_id"), id2 = Str(second, "service_request_id");
  ASSERT_NE(id1, id2);
  EXPECT_NE(Str(second, "service_notice").find("第" + id1 + "号诉求"), std::string::npos) << second.Dump();
  JsonValue linked = GetRequest(id2);
  EXPECT_EQ(Str(linked, "status"), "open");
  EXPECT_NE(Str(linked, "status_notes").find(id1), std::string::npos) << linked.Dump();
  // The master is rejected: the linked report closes with it.
  Move(id1, R"({"action":"reject","note":"已由环卫日常清扫处理"})");
  JsonValue after = GetRequest(id2);
  EXPECT_EQ(Str(after, "status"), "closed");
  EXPECT_NE(Str(after, "status_notes").find("已由环卫日常清扫处理"), std::string::npos) << after.Dump();
}

TEST_F(Open311ApiTest, BadInputGetsOpen311ErrorsAndCreatesNothing) {
  const size_t before = CountRequests();
  const std::pair<std::string, std::string> key{"api_key", *app_key_};
  const std::pair<std::string, std::string> here1{"lat", "30.25"}, here2{"long", "120.16"};
  ExpectError(PostRequest({key, {"service_code", "9999"}, here1, here2}), 400, "service_code '9999' not found");
  ExpectError(PostRequest({key, {"service_code", "9999"}, here1, here2}, "xml"), 400, "not found", "xml");
  ExpectError(PostRequest({key, {"service_code", "01"}, here1, here2}), 400, "group of services");
  ExpectError(PostRequest({key, {"service_code", "0503"}, {"description", "no place"}}), 400,
              "a location is required");
  ExpectError(PostRequest({key, {"service_code", "0503"}, here1, here2, {"description", std::string(4001, 'x')}}), 400,
              "longer than 4,000 characters");
  ExpectError(PostRequest({key, {"service_code", "0503"}, {"lat", "100"}, here2}), 400, "not a latitude");
  ExpectError(PostRequest({key, {"service_code", "0106"}, here1, here2, {"attribute[cover_type]", "gas"}}), 400,
              "not one of its values");
  ExpectError(PostRequest({{"api_key", "cbk_nope_secret"}, {"service_code", "0503"}, here1, here2}), 403,
              "invalid api_key");
  ExpectError(PostRequest({{"api_key", "cbk_nope_secret"}, {"service_code", "0503"}, here1, here2}, "xml"), 403,
              "invalid api_key", "xml");
  ExpectError(PostRequest({{"service_code", "0503"}, here1, here2}), 403, "api_key was not provided");
  ExpectError(PostRequest({{"api_key", *reader_key_}, {"service_code", "0503"}, here1, here2}), 403,
              "may not report");
  ExpectError(PostRequest({key, {"service_code", "0503"}, here1, here2, {"jurisdiction_id", "elsewhere"}}), 404,
              "jurisdiction_id 'elsewhere' not found");
  ExpectError(Public().Request(http::verb::post, "/open311/v2/requests.json",
                               R"({"service_code":"0503","lat":30.25,"long":120.16})", "application/json"),
              400, "x-www-form-urlencoded");
  ExpectError(Public().Request(http::verb::post, "/open311/v2/requests.json?api_key=" + *app_key_,
                               "service_code=0503&address_string=%zz", "application/x-www-form-urlencoded"),
              400, "percent-encoding");
  ExpectError(Public().Request(http::verb::post, "/open311/v2/services.json", "x=1",
                               "application/x-www-form-urlencoded"),
              404, "only requests.json takes a POST");
  EXPECT_EQ(CountRequests(), before) << "nothing was created";

  // A valid one with the key in the query string is accepted (and counted).
  Response ok = Public().Request(http::verb::post, "/open311/v2/requests.json?api_key=" + *app_key_,
                                 "service_code=0503&address_string=%E6%B9%96%E6%BB%A8%E8%B7%AF",
                                 "application/x-www-form-urlencoded");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(CountRequests(), before + 1);

  // Unknown things.
  HttpClient c = Public();
  ExpectError(c.Get("/open311/v2/requests/999999.json"), 404, "service_request_id '999999' not found");
  ExpectError(c.Get("/open311/v2/requests/abc.xml"), 404, "not found", "xml");
  ExpectError(c.Get("/open311/v2/tokens/no-such-token.json"), 404, "token 'no-such-token' not found");
  ExpectError(c.Get("/open311/v2/services/9999.json"), 404, "service_code '9999' not found");
  ExpectError(c.Get("/open311/v2/services/01.xml"), 404, "not found", "xml");
  ExpectError(c.Get("/open311/v2/requests.html"), 404, "use .json or .xml");
  ExpectError(c.Get("/open311/v2/widgets.json"), 404, "no such resource");
  ExpectError(c.Get("/open311/v2/services.json?jurisdiction_id=elsewhere"), 404, "jurisdiction_id");
  ExpectError(c.Get("/open311/v2/requests.json?status=pending"), 400, "neither open nor closed");
  ExpectError(c.Get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"), 400,
              "90 days");
  ExpectError(c.Get("/open311/v2/requests.xml?start_date=soon"), 400, "not an ISO 8601", "xml");
  EXPECT_EQ(CountRequests(), before + 1);
}

}  // namespace
}  // namespace cb::testing
