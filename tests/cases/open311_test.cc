// Open311 GeoReport v2 adapter: services and definitions, the projection of cases (through
// a real CaseBook without a store), form parsing with every kind of bad input, the GET
// query, and the JSON and XML renderings (XML parsed back with libxml2).

#include "cases/open311.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cases/case_book.h"
#include "cases/catalog.h"
#include "../xml_query.h"

namespace cb::cases {
namespace {

constexpr TimeMs kT0 = 1780000000000;  // 2026-05-28T20:26:40Z
constexpr TimeMs kMinute = 60 * 1000;

// A small catalog: one class with attributes that its children inherit, one child with its
// own attributes of every datatype, and a second department.
const char* kCatalogJson = R"({
  "timeZone": "+08:00",
  "departments": [
    {"id": "cgj", "name": {"zh-CN": "城市管理局", "en": "City Management <&> Bureau"}, "supervisor": "chief"},
    {"id": "szj", "name": {"zh-CN": "市政设施管理中心", "en": "Municipal Facilities Centre"}, "supervisor": "chief2"}
  ],
  "categories": [
    {"code": "01", "name": {"zh-CN": "市容环境", "en": "City appearance"}, "department": "cgj",
     "sla": {"accept": {"minutes": 30}, "dispatch": {"minutes": 60}, "handle": {"minutes": 480},
             "close": {"minutes": 10080}},
     "attributes": [{"code": "size", "datatype": "singlevaluelist", "required": false, "order": 1,
                     "description": "How big?", "values": [{"key": "s", "name": "Small"}, {"key": "l", "name": "Large"}]}],
     "children": [
       {"code": "0101", "name": {"zh-CN": "暴露垃圾", "en": "Exposed rubbish"}, "keywords": "垃圾,rubbish"},
       {"code": "0106", "name": {"zh-CN": "井盖缺失破损", "en": "Missing manhole cover"}, "department": "szj",
        "attributes": [
          {"code": "cover_type", "datatype": "singlevaluelist", "required": true, "order": 2,
           "description": "Cover type", "values": [{"key": "water", "name": "Water"}, {"key": "sewer", "name": "Sewer"}]},
          {"code": "hazards", "datatype": "multivaluelist", "order": 3, "description": "Hazards",
           "values": [{"key": "hole", "name": "Open hole"}, {"key": "traffic", "name": "In traffic"}]},
          {"code": "depth", "datatype": "number", "order": 4, "description": "Depth in metres"},
          {"code": "seen_at", "datatype": "datetime", "order": 5, "description": "When seen"},
          {"code": "landmark", "datatype": "string", "order": 6, "description": "Nearby landmark"},
          {"code": "details", "datatype": "text", "order": 7, "description": "Details"},
          {"code": "notice", "datatype": "string", "variable": false, "order": 0,
           "description": "Keep away from the hole"}]}
     ]},
    {"code": "05", "name": {"zh-CN": "街面秩序", "en": "Street order"}, "department": "cgj",
     "children": [{"code": "0503", "name": {"zh-CN": "违章停车", "en": "Illegal parking"}}]}
  ],
  "duplicates": {"radiusMeters": 50, "hours": 24}
})";

const Catalog& TestCatalog() {
  static const Catalog* c = [] {
    auto j = ParseJson(kCatalogJson);
    EXPECT_TRUE(j.ok());
    auto cat = Catalog::FromJson(*j);
    EXPECT_TRUE(cat.ok()) << cat.status().ToString();
    return new Catalog(std::move(cat).value());
  }();
  return *c;
}

JsonValue Parse(const std::string& s) {
  auto r = ParseJson(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? std::move(r).value() : JsonValue();
}

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  return m != nullptr && m->is_string() ? m->as_string() : std::string();
}

using Xml = cb::testing::XmlQuery;

// ---------------------------------------------------------------- services

TEST(Open311Services, EveryLeafCategoryIsAServiceInTheRequestedLanguage) {
  const Catalog& cat = TestCatalog();
  JsonValue zh = Parse(RenderServices(cat, "zh-CN", Open311Format::kJson));
  ASSERT_TRUE(zh.is_array());
  std::vector<std::string> codes;
  for (const JsonValue& s : zh.as_array()) codes.push_back(Str(s, "service_code"));
  EXPECT_EQ(codes, (std::vector<std::string>{"0101", "0106", "0503"}));
  const JsonValue& rubbish = zh.as_array()[0];
  EXPECT_EQ(Str(rubbish, "service_name"), "暴露垃圾");
  EXPECT_EQ(Str(rubbish, "group"), "市容环境");
  EXPECT_EQ(Str(rubbish, "keywords"), "垃圾,rubbish");
  EXPECT_EQ(Str(rubbish, "type"), "realtime");
  EXPECT_EQ(Str(rubbish, "description"), "Exposed rubbish");  // the other language
  EXPECT_TRUE(rubbish.Find("metadata")->as_bool()) << "0101 inherits its class's attributes";
  EXPECT_FALSE(zh.as_array()[2].Find("metadata")->as_bool());
  EXPECT_TRUE(zh.as_array()[2].Find("keywords")->is_null());

  JsonValue en = Parse(RenderServices(cat, "en", Open311Format::kJson));
  EXPECT_EQ(Str(en.as_array()[1], "service_name"), "Missing manhole cover");
  EXPECT_EQ(Str(en.as_array()[1], "group"), "City appearance");

  Xml x(RenderServices(cat, "en", Open311Format::kXml));
  EXPECT_EQ(x.All("/services/service/service_code"), codes);
  EXPECT_EQ(x.One("/services/service[2]/service_name"), "Missing manhole cover");
  EXPECT_EQ(x.One("/services/service[1]/metadata"), "true");
  EXPECT_EQ(x.One("/services/service[3]/metadata"), "false");
  EXPECT_EQ(x.One("/services/service[3]/type"), "realtime");
}

TEST(Open311Services, TheDefaultCatalogOffersItsLeaves) {
  const Catalog& cat = Catalog::Default();
  size_t leaves = 0;
  for (const Category& c : cat.categories()) leaves += c.leaf ? 1 : 0;
  JsonValue s = Parse(RenderServices(cat, "zh-CN", Open311Format::kJson));
  EXPECT_EQ(s.as_array().size(), leaves);
  EXPECT_GT(leaves, 20u);
}

TEST(Open311Services, DefinitionListsAttributesInOrderWithTheirValues) {
  const Catalog& cat = TestCatalog();
  auto def = RenderServiceDefinition(cat, "0106", Open311Format::kJson);
  ASSERT_TRUE(def.ok());
  JsonValue d = Parse(*def);
  EXPECT_EQ(Str(d, "service_code"), "0106");
  const auto& attrs = d.Find("attributes")->as_array();
  ASSERT_EQ(attrs.size(), 7u);
  std::vector<std::string> order;
  for (const JsonValue& a : attrs) order.push_back(Str(a, "code"));
  EXPECT_EQ(order, (std::vector<std::string>{"notice", "cover_type", "hazards", "depth", "seen_at",
                                             "landmark", "details"}));
  EXPECT_FALSE(attrs[0].Find("variable")->as_bool());
  EXPECT_TRUE(attrs[1].Find("required")->as_bool());
  EXPECT_EQ(attrs[1].Find("order")->as_int(), 2);
  EXPECT_EQ(Str(attrs[1].Find("values")->as_array()[1], "key"), "sewer");
  EXPECT_EQ(attrs[3].Find("values"), nullptr) << "only lists have values";
  EXPECT_TRUE(attrs[3].Find("datatype_description")->is_null());

  // Inherited from the class.
  JsonValue inherited = Parse(*RenderServiceDefinition(cat, "0101", Open311Format::kJson));
  ASSERT_EQ(inherited.Find("attributes")->as_array().size(), 1u);
  EXPECT_EQ(Str(inherited.Find("attributes")->as_array()[0], "code"), "size");
  // None at all.
  JsonValue none = Parse(*RenderServiceDefinition(cat, "0503", Open311Format::kJson));
  EXPECT_TRUE(none.Find("attributes")->as_array().empty());

  Xml x(*RenderServiceDefinition(cat, "0106", Open311Format::kXml));
  EXPECT_EQ(x.One("/service_definition/service_code"), "0106");
  EXPECT_EQ(x.All("/service_definition/attributes/attribute/code"), order);
  EXPECT_EQ(x.All("/service_definition/attributes/attribute[code='cover_type']/values/value/key"),
            (std::vector<std::string>{"water", "sewer"}));
  EXPECT_EQ(x.One("/service_definition/attributes/attribute[code='cover_type']/required"), "true");
}

TEST(Open311Services, UnknownServicesAndClassesHaveNoDefinition) {
  for (const char* code : {"9999", "01", "", "0101 "}) {
    auto def = RenderServiceDefinition(TestCatalog(), code, Open311Format::kJson);
    ASSERT_FALSE(def.ok()) << code;
    EXPECT_EQ(def.status().code(), Code::kNotFound);
    EXPECT_EQ(Open311ErrorFor(def.status()).code, 404);
  }
}

// ---------------------------------------------------------------- projection

class Open311Projection : public ::testing::Test {
 protected:
  CaseBook book_{&TestCatalog(), nullptr};
  Open311Config config_;

  Case File(std::string category, double lon, double lat, std::string description = "垃圾堆在路边") {
    NewCase n;
    n.source = CaseSource::kCitizen;
    n.category = std::move(category);
    n.lon = lon;
    n.lat = lat;
    n.description = std::move(description);
    n.reporter = Reporter{"acct-77", "Zhang San", "13800138000", "zhang@example.cn"};
    n.address = "湖滨路 1 号";
    auto c = book_.Create(std::move(n), now_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Case();
  }
  Case Move(uint64_t id, CaseAction action, std::string note = "", std::string result = "") {
    TransitionRequest t;
    t.action = action;
    t.actor = "operator";
    t.note = std::move(note);
    t.result = std::move(result);
    if (action == CaseAction::kDispatch) t.department = "cgj";
    now_ += kMinute;
    auto c = book_.Apply(id, t, now_);
    EXPECT_TRUE(c.ok()) << CaseActionName(action) << ": " << c.status().ToString();
    return c.ok() ? *c : Case();
  }
  Open311Request Project(const Case& c) {
    std::optional<Case> master = c.master_id != 0 ? book_.Get(c.master_id) : std::nullopt;
    return ProjectCase(c, master ? &*master : nullptr, TestCatalog(), config_);
  }
  TimeMs now_ = kT0;
};

TEST_F(Open311Projection, ANewReportIsOpenWithItsServiceAgencyAndTimes) {
  Case c = File("0106", 120.16, 30.25);
  Open311Request r = Project(c);
  EXPECT_EQ(r.service_request_id, std::to_string(c.id));
  EXPECT_EQ(r.status, "open");
  EXPECT_EQ(r.service_code, "0106");
  EXPECT_EQ(r.service_name, "井盖缺失破损");
  EXPECT_EQ(r.agency_responsible, "市政设施管理中心");
  EXPECT_EQ(r.description, "垃圾堆在路边");
  EXPECT_EQ(r.address, "湖滨路 1 号");
  EXPECT_EQ(r.requested_datetime, kT0);
  EXPECT_EQ(r.updated_datetime, kT0);
  EXPECT_DOUBLE_EQ(*r.lat, 30.25);
  EXPECT_DOUBLE_EQ(*r.lon, 120.16);
  EXPECT_EQ(r.status_notes, "已收到，等待受理");
  // Running: the accept step (30 min) and the whole case (7 days): the step is expected.
  EXPECT_EQ(r.expected_datetime, kT0 + 30 * kMinute);
  EXPECT_TRUE(r.service_notice.empty());
  EXPECT_EQ(r.token, c.token);

  config_.locale = "en";
  Open311Request en = Project(c);
  EXPECT_EQ(en.service_name, "Missing manhole cover");
  EXPECT_EQ(en.agency_responsible, "Municipal Facilities Centre");
  EXPECT_EQ(en.status_notes, "Received, waiting to be accepted");
}

TEST_F(Open311Projection, StatusNotesFollowTheWorkflowAndHideInternalNotes) {
  Case c = File("0101", 120.16, 30.25);
  EXPECT_EQ(Project(Move(c.id, CaseAction::kAccept)).status_notes, "已受理，等待派遣");
  Case d = Move(c.id, CaseAction::kDispatch);
  Open311Request r = Project(d);
  EXPECT_EQ(r.status, "open");
  EXPECT_EQ(r.status_notes, "已派遣至城市管理局");
  EXPECT_EQ(r.expected_datetime, d.Clock(Step::kHandle)->deadline) << "the handling step's deadline";
  // An escalation note is internal: the notes stay as they were.
  TransitionRequest esc;
  esc.action = CaseAction::kEscalate;
  esc.actor = "system";
  esc.note = "supervisor chief told; handler wang is late";
  ASSERT_TRUE(book_.Apply(c.id, esc, now_ += kMinute).ok());
  EXPECT_EQ(Project(*book_.Get(c.id)).status_notes, "已派遣至城市管理局");
  Move(c.id, CaseAction::kStart);
  EXPECT_EQ(Project(*book_.Get(c.id)).status_notes, "城市管理局正在处置");
  Case s = Move(c.id, CaseAction::kSuspend, "等待雨停后施工");
  r = Project(s);
  EXPECT_EQ(r.status_notes, "等待雨停后施工");
  EXPECT_EQ(r.expected_datetime, 0) << "clocks are paused while suspended";
  Move(c.id, CaseAction::kResume);
  Case res = Move(c.id, CaseAction::kResolve, "", "已清运垃圾 2 吨");
  r = Project(res);
  EXPECT_EQ(r.status, "open");
  EXPECT_EQ(r.status_notes, "已清运垃圾 2 吨") << "the result text";
  Move(c.id, CaseAction::kVerify);
  Case closed = Move(c.id, CaseAction::kClose);
  r = Project(closed);
  EXPECT_EQ(r.status, "closed");
  EXPECT_EQ(r.status_notes, "已清运垃圾 2 吨");
  EXPECT_EQ(r.updated_datetime, closed.closed_at);
  EXPECT_EQ(r.expected_datetime, 0);
}

TEST_F(Open311Projection, ARejectedReportIsClosedWithTheReason) {
  Case c = File("0503", 120.2, 30.3);
  Case rej = Move(c.id, CaseAction::kReject, "不属于本市管辖范围");
  Open311Request r = Project(rej);
  EXPECT_EQ(r.status, "closed");
  EXPECT_EQ(r.status_notes, "不属于本市管辖范围");
  EXPECT_EQ(r.updated_datetime, rej.updated_at);
  Case reopened = Move(c.id, CaseAction::kReopen, "复核后予以受理");
  EXPECT_EQ(Project(reopened).status, "open");
  EXPECT_EQ(Project(reopened).status_notes, "复核后予以受理");
}

TEST_F(Open311Projection, ALinkedDuplicateFollowsItsMaster) {
  Case first = File("0101", 120.16, 30.25);
  now_ += kMinute;
  Case dup = File("0101", 120.16001, 30.25001, "same rubbish");
  ASSERT_EQ(dup.state, CaseState::kMerged);
  ASSERT_EQ(dup.master_id, first.id);
  const std::string id = std::to_string(first.id);
  Open311Request r = Project(dup);
  EXPECT_EQ(r.service_request_id, std::to_string(dup.id)) << "its own id";
  EXPECT_EQ(r.status, "open");
  EXPECT_NE(r.status_notes.find(id), std::string::npos) << r.status_notes;
  EXPECT_NE(r.service_notice.find(id), std::string::npos) << r.service_notice;
  EXPECT_NE(CreatedNotice(dup, TestCatalog(), "en").find("service request " + id), std::string::npos);
  EXPECT_EQ(CreatedNotice(first, TestCatalog(), "en"), "Received; City Management <&> Bureau is responsible.");

  // The master is rejected: the duplicate closes with it and says so.
  Move(first.id, CaseAction::kReject, "重复上报");
  r = Project(*book_.Get(dup.id));
  EXPECT_EQ(r.status, "closed");
  EXPECT_NE(r.status_notes.find("重复上报"), std::string::npos) << r.status_notes;
  EXPECT_NE(r.status_notes.find(id), std::string::npos) << r.status_notes;
}

TEST_F(Open311Projection, MediaUrlComesFromTheReportOrTheFirstPhoto) {
  NewCase n;
  n.category = "0101";
  n.address = "somewhere";
  n.photos = {"abc.jpg", "def.png"};
  Case c = *book_.Create(n, now_);
  EXPECT_EQ(Project(c).media_url, "") << "no base URL, no link";
  config_.media_base_url = "https://city.example/api/v1/photos/";
  EXPECT_EQ(Project(c).media_url, "https://city.example/api/v1/photos/abc.jpg");
  n.attributes = JsonValue::MakeObject();
  n.attributes.Set(kOpen311MediaUrlKey, "https://img.example/x.jpg");
  n.attributes.Set(kOpen311AddressIdKey, "A-17");
  Case d = *book_.Create(n, now_);
  EXPECT_EQ(Project(d).media_url, "https://img.example/x.jpg");
  EXPECT_EQ(Project(d).address_id, "A-17");
}

TEST_F(Open311Projection, RenderedRequestsCarryNoPersonalData) {
  Case c = File("0106", 120.16, 30.25);
  const std::vector<Open311Request> list = {Project(c)};
  for (Open311Format f : {Open311Format::kJson, Open311Format::kXml}) {
    const std::string out = RenderRequests(list, f);
    for (const char* personal : {"Zhang San", "13800138000", "zhang@example.cn", "acct-77"}) {
      EXPECT_EQ(out.find(personal), std::string::npos) << personal << " in " << out;
    }
    EXPECT_EQ(out.find(c.token), std::string::npos) << "tokens are not listed";
  }
}

TEST_F(Open311Projection, JsonAndXmlCarryTheSameValues) {
  Case c = File("0106", 120.16, 30.25, "Tom & Jerry's <hole> \"deep\"\x01 here");
  Open311Request r = Project(c);
  JsonValue j = Parse(RenderRequests({r}, Open311Format::kJson));
  ASSERT_EQ(j.as_array().size(), 1u);
  const JsonValue& o = j.as_array()[0];
  Xml x(RenderRequests({r}, Open311Format::kXml));
  ASSERT_TRUE(x.ok());
  for (const char* field : {"service_request_id", "status", "status_notes", "service_name", "service_code",
                            "agency_responsible", "requested_datetime", "updated_datetime",
                            "expected_datetime", "address"}) {
    EXPECT_EQ(x.One(std::string("/service_requests/request/") + field), Str(o, field)) << field;
  }
  EXPECT_EQ(Str(o, "description"), "Tom & Jerry's <hole> \"deep\"\x01 here");
  EXPECT_EQ(x.One("/service_requests/request/description"), "Tom & Jerry's <hole> \"deep\" here")
      << "a control character XML cannot carry is dropped";
  EXPECT_DOUBLE_EQ(std::stod(x.One("/service_requests/request/lat")), o.Find("lat")->as_double());
  EXPECT_DOUBLE_EQ(std::stod(x.One("/service_requests/request/long")), o.Find("long")->as_double());
  EXPECT_TRUE(o.Find("media_url")->is_null());
  EXPECT_EQ(x.One("/service_requests/request/media_url"), "");
  EXPECT_EQ(Str(o, "requested_datetime"), FormatIso8601(kT0));
}

// ---------------------------------------------------------------- POST /requests

ParsedServiceRequest ParseForm(FormFields f) { return ParseServiceRequest(f, TestCatalog()); }

TEST(Open311Form, AReportWithLatLongBecomesACitizenCase) {
  ParsedServiceRequest p = ParseForm({{"api_key", "ignored"}, {"service_code", "0101"}, {"lat", "30.25"},
                                      {"long", "120.16"}, {"description", "rubbish"},
                                      {"email", "a@b.cn"}, {"device_id", "dev-1"},
                                      {"first_name", "San"}, {"last_name", "Zhang"},
                                      {"phone", "+86 138-0013-8000"},
                                      {"media_url", "https://img.example/p.jpg?x=1"}});
  ASSERT_TRUE(p.ok()) << p.errors.front().description;
  const NewCase& n = p.report;
  EXPECT_EQ(n.source, CaseSource::kCitizen);
  EXPECT_EQ(n.category, "0101");
  EXPECT_DOUBLE_EQ(*n.lat, 30.25);
  EXPECT_DOUBLE_EQ(*n.lon, 120.16);
  EXPECT_EQ(n.description, "rubbish");
  EXPECT_EQ(n.reporter.id, "a@b.cn") << "no account: the email";
  EXPECT_EQ(n.reporter.email, "a@b.cn");
  EXPECT_EQ(n.reporter.name, "San Zhang");
  EXPECT_EQ(n.reporter.phone, "+86 138-0013-8000");
  EXPECT_EQ(Str(n.attributes, kOpen311MediaUrlKey), "https://img.example/p.jpg?x=1");
  EXPECT_TRUE(p.account_id.empty());
}

TEST(Open311Form, ReporterIdIsTheAccountThenEmailThenDevice) {
  EXPECT_EQ(ParseForm({{"service_code", "0503"}, {"address_string", "x"}, {"account_id", "u1"},
                       {"email", "a@b.cn"}, {"device_id", "d"}}).report.reporter.id, "u1");
  EXPECT_EQ(ParseForm({{"service_code", "0503"}, {"address_string", "x"}, {"device_id", "d"}})
                .report.reporter.id, "d");
  EXPECT_EQ(ParseForm({{"service_code", "0503"}, {"address_string", "x"}, {"account_id", "u1"}}).account_id, "u1");
  EXPECT_TRUE(ParseForm({{"service_code", "0503"}, {"address_string", "x"}}).report.reporter.empty());
}

TEST(Open311Form, AnAddressOrAnAddressIdIsALocation) {
  ParsedServiceRequest a = ParseForm({{"service_code", "0503"}, {"address_string", "湖滨路 1 号"}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.report.address, "湖滨路 1 号");
  EXPECT_FALSE(a.report.lat.has_value());
  EXPECT_TRUE(a.report.attributes.is_null());
  ParsedServiceRequest b = ParseForm({{"service_code", "0503"}, {"address_id", "A-17"}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.report.address, "A-17");
  EXPECT_EQ(Str(b.report.attributes, kOpen311AddressIdKey), "A-17");
}

TEST(Open311Form, AttributeAnswersAreCheckedAndTyped) {
  ParsedServiceRequest p = ParseForm({{"service_code", "0106"}, {"lat", "30"}, {"long", "120"},
                                      {"attribute[cover_type]", "sewer"},
                                      {"attribute[hazards][]", "hole"}, {"attribute[hazards][]", "traffic"},
                                      {"attribute[depth]", "1.5"},
                                      {"attribute[seen_at]", "2026-05-01T08:00:00+08:00"},
                                      {"attribute[landmark]", "bank"}, {"attribute[details]", "deep"}});
  ASSERT_TRUE(p.ok()) << p.errors.front().description;
  const JsonValue& a = p.report.attributes;
  EXPECT_EQ(Str(a, "cover_type"), "sewer");
  ASSERT_TRUE(a.Find("hazards")->is_array());
  EXPECT_EQ(a.Find("hazards")->as_array().size(), 2u);
  EXPECT_DOUBLE_EQ(a.Find("depth")->as_double(), 1.5);
  EXPECT_EQ(Str(a, "seen_at"), "2026-05-01T00:00:00.000Z");
  EXPECT_EQ(Str(a, "landmark"), "bank");
  EXPECT_EQ(Str(a, "details"), "deep");
  // A multivaluelist also takes a single attribute[code].
  EXPECT_TRUE(ParseForm({{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                         {"attribute[hazards]", "hole"}}).ok());
  // Inherited attributes are checked too.
  EXPECT_TRUE(ParseForm({{"service_code", "0101"}, {"address_string", "x"}, {"attribute[size]", "l"}}).ok());
}

struct BadForm {
  const char* name;
  FormFields fields;
  const char* error;  // a part of the (first) error's description
};

class Open311BadForm : public ::testing::TestWithParam<BadForm> {};

TEST_P(Open311BadForm, IsRefusedWithA400NamingTheProblem) {
  ParsedServiceRequest p = ParseForm(GetParam().fields);
  ASSERT_FALSE(p.ok());
  bool found = false;
  for (const Open311Error& e : p.errors) {
    EXPECT_EQ(e.code, 400);
    found = found || e.description.find(GetParam().error) != std::string::npos;
  }
  EXPECT_TRUE(found) << "no error mentions '" << GetParam().error << "'; first: " << p.errors.front().description;
}

const std::string kLong4001(4001, 'x');
const std::string kChinese4001 = [] {
  std::string s;
  for (int i = 0; i < 4001; ++i) s += "字";
  return s;
}();

INSTANTIATE_TEST_SUITE_P(
    Cases, Open311BadForm,
    ::testing::Values(
        BadForm{"NoServiceCode", {{"lat", "30"}, {"long", "120"}}, "service_code was not provided"},
        BadForm{"UnknownService", {{"service_code", "9999"}, {"lat", "30"}, {"long", "120"}}, "'9999' not found"},
        BadForm{"AClassIsNoService", {{"service_code", "01"}, {"lat", "30"}, {"long", "120"}}, "group of services"},
        BadForm{"NoLocation", {{"service_code", "0503"}, {"description", "x"}}, "a location is required"},
        BadForm{"EmptyLocation", {{"service_code", "0503"}, {"address_string", ""}}, "a location is required"},
        BadForm{"LatWithoutLong", {{"service_code", "0503"}, {"lat", "30"}}, "lat and long must be given together"},
        BadForm{"LatOutOfRange", {{"service_code", "0503"}, {"lat", "91"}, {"long", "120"}}, "not a latitude"},
        BadForm{"LongOutOfRange", {{"service_code", "0503"}, {"lat", "30"}, {"long", "-180.5"}}, "not a longitude"},
        BadForm{"LatNotANumber", {{"service_code", "0503"}, {"lat", "30N"}, {"long", "120"}}, "not a latitude"},
        BadForm{"LatNaN", {{"service_code", "0503"}, {"lat", "nan"}, {"long", "120"}}, "not a latitude"},
        BadForm{"DescriptionTooLong", {{"service_code", "0503"}, {"address_string", "x"}, {"description", kLong4001}},
                "longer than 4,000 characters"},
        BadForm{"DescriptionTooLongInCharacters",
                {{"service_code", "0503"}, {"address_string", "x"}, {"description", kChinese4001}},
                "longer than 4,000 characters"},
        BadForm{"NotUtf8", {{"service_code", "0503"}, {"address_string", "x"}, {"description", "caf\xE9"}},
                "not valid UTF-8"},
        BadForm{"Twice", {{"service_code", "0503"}, {"service_code", "0101"}, {"address_string", "x"}},
                "service_code is given more than once"},
        BadForm{"BadEmail", {{"service_code", "0503"}, {"address_string", "x"}, {"email", "not-an-address"}},
                "not an e-mail address"},
        BadForm{"BadPhone", {{"service_code", "0503"}, {"address_string", "x"}, {"phone", "call me"}},
                "not a phone number"},
        BadForm{"BadMediaUrl", {{"service_code", "0503"}, {"address_string", "x"}, {"media_url", "javascript:alert(1)"}},
                "not an http or https URL"},
        BadForm{"MediaUrlWithSpace", {{"service_code", "0503"}, {"address_string", "x"}, {"media_url", "http://a b/"}},
                "not an http or https URL"},
        BadForm{"RequiredAttributeMissing", {{"service_code", "0106"}, {"address_string", "x"}},
                "attribute cover_type is required"},
        BadForm{"UnknownListValue",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "gas"}},
                "'gas' is not one of its values"},
        BadForm{"UnknownMultiValue",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[hazards][]", "hole"}, {"attribute[hazards][]", "fire"}},
                "'fire' is not one of its values"},
        BadForm{"TwoValuesForASingleList",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type][]", "water"},
                 {"attribute[cover_type][]", "sewer"}},
                "attribute cover_type takes one value"},
        BadForm{"NotANumber",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[depth]", "deep"}},
                "'deep' is not a number"},
        BadForm{"NotADatetime",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[seen_at]", "yesterday"}},
                "not an ISO 8601 date and time"},
        BadForm{"UnknownAttribute",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[colour]", "red"}},
                "attribute 'colour' is not part of service 0106"},
        BadForm{"InformationOnlyAttribute",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[notice]", "ok"}},
                "information only"},
        BadForm{"AttributeOfAnotherService",
                {{"service_code", "0503"}, {"address_string", "x"}, {"attribute[size]", "s"}},
                "attribute 'size' is not part of service 0503"},
        BadForm{"LongText",
                {{"service_code", "0106"}, {"address_string", "x"}, {"attribute[cover_type]", "water"},
                 {"attribute[details]", kLong4001}},
                "attribute details is longer than 4000 characters"}),
    [](const ::testing::TestParamInfo<BadForm>& i) { return std::string(i.param.name); });

TEST(Open311Form, EveryProblemIsReportedAtOnce) {
  ParsedServiceRequest p = ParseForm({{"service_code", "0106"}, {"lat", "95"}, {"long", "500"},
                                      {"email", "x"}, {"description", kLong4001}});
  EXPECT_EQ(p.errors.size(), 5u);  // lat, long, description, email, cover_type
  const std::string out = RenderOpen311Errors(p.errors, Open311Format::kJson);
  JsonValue j = Parse(out);
  ASSERT_EQ(j.as_array().size(), p.errors.size());
  EXPECT_EQ(j.as_array()[0].Find("code")->as_int(), 400);
}

TEST(Open311Form, QuotedInputIsShortened) {
  ParsedServiceRequest p = ParseForm({{"service_code", std::string(500, 'z')}, {"address_string", "x"}});
  ASSERT_FALSE(p.ok());
  EXPECT_LT(p.errors.front().description.size(), 120u);
}

TEST(Open311Form, AValidReportIsAcceptedByTheCaseBook) {
  CaseBook book(&TestCatalog(), nullptr);
  ParsedServiceRequest p = ParseForm({{"service_code", "0106"}, {"lat", "30.25"}, {"long", "120.16"},
                                      {"attribute[cover_type]", "water"}, {"account_id", "u9"}});
  ASSERT_TRUE(p.ok());
  auto c = book.Create(std::move(p.report), kT0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source, CaseSource::kCitizen);
  EXPECT_EQ(c->reporter.id, "u9");
  EXPECT_EQ(Str(c->attributes, "cover_type"), "water");
}

// ---------------------------------------------------------------- GET /requests

TEST(Open311Query, DefaultsToTheLast90Days) {
  auto q = ParseRequestQuery({}, kT0);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->to, kT0);
  EXPECT_EQ(q->from, kT0 - kOpen311DefaultSpanMs);
  EXPECT_EQ(q->limit, 1000u);
  EXPECT_TRUE(q->open && q->closed);
  EXPECT_TRUE(q->ids.empty() && q->codes.empty());
}

TEST(Open311Query, ReadsListsDatesAndStatuses) {
  auto q = ParseRequestQuery({{"service_request_id", "3, 5"}, {"service_request_id", "9"},
                              {"service_code", "0101,0106"}, {"status", "closed"},
                              {"start_date", "2026-05-01T00:00:00Z"}, {"jurisdiction_id", "x"}},
                             kT0);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->ids, (std::vector<uint64_t>{3, 5, 9}));
  EXPECT_EQ(q->codes, (std::vector<std::string>{"0101", "0106"}));
  EXPECT_FALSE(q->open);
  EXPECT_TRUE(q->closed);
  EXPECT_EQ(q->from, *ParseIso8601("2026-05-01T00:00:00Z"));
  EXPECT_EQ(q->to, q->from + kOpen311DefaultSpanMs);

  auto e = ParseRequestQuery({{"end_date", "2026-05-01T00:00:00+08:00"}}, kT0);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->to, *ParseIso8601("2026-04-30T16:00:00Z"));
  EXPECT_EQ(e->from, e->to - kOpen311DefaultSpanMs);

  Open311Request r;
  r.service_code = "0106";
  r.status = "closed";
  EXPECT_TRUE(MatchesQuery(*q, r));
  r.status = "open";
  EXPECT_FALSE(MatchesQuery(*q, r));
  r.status = "closed";
  r.service_code = "0503";
  EXPECT_FALSE(MatchesQuery(*q, r));
}

TEST(Open311Query, RefusesBadArguments) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> bad = {
      {{"status", "pending"}},
      {{"service_request_id", "abc"}},
      {{"service_request_id", "0"}},
      {{"service_request_id", "99999999999999999999999"}},
      {{"start_date", "yesterday"}},
      {{"end_date", "2026-13-01T00:00:00Z"}},
      {{"start_date", "2026-05-01T00:00:00Z"}, {"end_date", "2026-04-01T00:00:00Z"}},
      {{"start_date", "2026-01-01T00:00:00Z"}, {"end_date", "2026-05-01T00:00:00Z"}},  // > 90 days
  };
  for (const auto& query : bad) {
    auto q = ParseRequestQuery(query, kT0);
    EXPECT_FALSE(q.ok()) << query.front().first << "=" << query.front().second;
    if (!q.ok()) {
      EXPECT_EQ(Open311ErrorFor(q.status()).code, 400);
    }
  }
}

// ---------------------------------------------------------------- rendering

TEST(Open311Render, XmlEscapesMarkupAndDropsWhatXmlCannotCarry) {
  std::string out;
  AppendXmlEscaped(&out, "a&b<c>d\"e'f");
  EXPECT_EQ(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  out.clear();
  constexpr char kControls[] = "tab\there\nnul\0bell\x07 end";
  AppendXmlEscaped(&out, std::string(kControls, sizeof kControls - 1));
  EXPECT_EQ(out, "tab\there\nnulbell end");
  out.clear();
  AppendXmlEscaped(&out, "bad \xC3\x28 byte, 字 ok, \xEF\xBF\xBE gone");
  EXPECT_EQ(out, "bad \xEF\xBF\xBD( byte, 字 ok,  gone");
  out.clear();
  AppendXmlEscaped(&out, "]]><!-- x -->");
  EXPECT_EQ(out, "]]&gt;&lt;!-- x --&gt;");
}

TEST(Open311Render, ErrorsInJsonAndXml) {
  std::vector<Open311Error> errors = {{403, "invalid api_key"}, {400, "a <b> & c"}};
  JsonValue j = Parse(RenderOpen311Errors(errors, Open311Format::kJson));
  ASSERT_EQ(j.as_array().size(), 2u);
  EXPECT_EQ(j.as_array()[0].Find("code")->as_int(), 403);
  EXPECT_EQ(Str(j.as_array()[1], "description"), "a <b> & c");
  const std::string xml = RenderOpen311Errors(errors, Open311Format::kXml);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"utf-8\"?>", 0), 0u);
  Xml x(xml);
  EXPECT_EQ(x.All("/errors/error/code"), (std::vector<std::string>{"403", "400"}));
  EXPECT_EQ(x.One("/errors/error[2]/description"), "a <b> & c");
}

TEST(Open311Render, ErrorCodesFollowTheStatus) {
  EXPECT_EQ(Open311HttpStatus(Code::kBadRequestData), 400);
  EXPECT_EQ(Open311HttpStatus(Code::kInvalidRequest), 400);
  EXPECT_EQ(Open311HttpStatus(Code::kForbidden), 403);
  EXPECT_EQ(Open311HttpStatus(Code::kUnauthorized), 403);
  EXPECT_EQ(Open311HttpStatus(Code::kNotFound), 404);
  EXPECT_EQ(Open311HttpStatus(Code::kInternal), 500);
}

TEST(Open311Render, CreatedAndTokenAnswers) {
  Open311Request r;
  r.service_request_id = "12";
  r.token = "tok-abc";
  r.service_notice = "Received; x is responsible.";
  JsonValue created = Parse(RenderCreated(r, "u1", Open311Format::kJson));
  ASSERT_EQ(created.as_array().size(), 1u);
  EXPECT_EQ(Str(created.as_array()[0], "service_request_id"), "12");
  EXPECT_EQ(Str(created.as_array()[0], "token"), "tok-abc");
  EXPECT_EQ(Str(created.as_array()[0], "account_id"), "u1");
  EXPECT_TRUE(Parse(RenderCreated(r, "", Open311Format::kJson)).as_array()[0].Find("account_id")->is_null());
  Xml x(RenderCreated(r, "u1", Open311Format::kXml));
  EXPECT_EQ(x.One("/service_requests/request/service_notice"), "Received; x is responsible.");
  Xml t(RenderToken(r, Open311Format::kXml));
  EXPECT_EQ(t.One("/service_requests/request/token"), "tok-abc");
  EXPECT_EQ(t.One("/service_requests/request/service_request_id"), "12");
}

TEST(Open311Render, Discovery) {
  Open311Discovery d{"https://city.example/open311/v2", "call 12345", "ask the centre", kT0};
  JsonValue j = Parse(RenderDiscovery(d, Open311Format::kJson));
  EXPECT_EQ(Str(j, "contact"), "call 12345");
  const JsonValue& e = j.Find("endpoints")->as_array()[0];
  EXPECT_EQ(Str(e, "specification"), "http://wiki.open311.org/GeoReport_v2");
  EXPECT_EQ(Str(e, "url"), "https://city.example/open311/v2");
  EXPECT_EQ(e.Find("formats")->as_array().size(), 2u);
  Xml x(RenderDiscovery(d, Open311Format::kXml));
  EXPECT_EQ(x.All("/discovery/endpoints/endpoint/formats/format"),
            (std::vector<std::string>{"text/xml", "application/json"}));
  EXPECT_EQ(x.One("/discovery/endpoints/endpoint/url"), "https://city.example/open311/v2");
}

TEST(Open311Render, FormatsAndLocales) {
  EXPECT_EQ(*Open311FormatFromExtension("json"), Open311Format::kJson);
  EXPECT_EQ(*Open311FormatFromExtension("xml"), Open311Format::kXml);
  EXPECT_EQ(Open311FormatFromExtension("html").status().code(), Code::kNotFound);
  EXPECT_EQ(PickOpen311Locale("", ""), "zh-CN");
  EXPECT_EQ(PickOpen311Locale("en", "zh-CN"), "en");
  EXPECT_EQ(PickOpen311Locale("en_US", ""), "en");
  EXPECT_EQ(PickOpen311Locale("fr", "en"), "en") << "an unknown locale= falls back to the header";
  EXPECT_EQ(PickOpen311Locale("", "en-GB,en;q=0.9"), "en");
  EXPECT_EQ(PickOpen311Locale("", "fr-FR, en;q=0.5, zh;q=0.8"), "zh-CN");
  EXPECT_EQ(PickOpen311Locale("", "fr, de"), "zh-CN");
  EXPECT_EQ(PickOpen311Locale("", "zh-TW;q=0.2, EN;q=0.3"), "en");
}

}  // namespace
}  // namespace cb::cases
