#include "context/ngsi_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace cb::context {
namespace {

JsonValue J(const std::string& s) {
  auto r = ParseJson(s);
  EXPECT_TRUE(r.ok()) << s;
  return std::move(r).value();
}

struct AttrCase {
  const char* name;
  const char* json;
  AttrKind kind;
  const char* value;  // expected value/object/languageMap as JSON
};

TEST(NgsiJsonTest, AttributeFormsAreRecognised) {
  const AttrCase cases[] = {
      {"n", R"({"type":"Property","value":5})", AttrKind::kProperty, "5"},
      {"n", R"({"value":{"a":1}})", AttrKind::kProperty, R"({"a":1})"},
      {"n", "5", AttrKind::kProperty, "5"},
      {"n", R"("text")", AttrKind::kProperty, R"("text")"},
      {"n", "[1,2]", AttrKind::kProperty, "[1,2]"},
      {"address", R"({"type":"PostalAddress","streetAddress":"Pinghai Rd"})", AttrKind::kProperty,
       R"({"type":"PostalAddress","streetAddress":"Pinghai Rd"})"},
      {"location", R"({"type":"GeoProperty","value":{"type":"Point","coordinates":[120.16,30.25]}})",
       AttrKind::kGeoProperty, R"({"type":"Point","coordinates":[120.16,30.25]})"},
      {"location", R"({"type":"Point","coordinates":[120.16,30.25]})", AttrKind::kGeoProperty,
       R"({"type":"Point","coordinates":[120.16,30.25]})"},
      {"location", R"({"value":{"type":"Point","coordinates":[1,2]}})", AttrKind::kGeoProperty,
       R"({"type":"Point","coordinates":[1,2]})"},
      {"refZone", R"({"type":"Relationship","object":"urn:ngsi-ld:Zone:a"})", AttrKind::kRelationship,
       R"("urn:ngsi-ld:Zone:a")"},
      {"refZone", R"({"object":"urn:ngsi-ld:Zone:a"})", AttrKind::kRelationship, R"("urn:ngsi-ld:Zone:a")"},
      {"name", R"({"type":"LanguageProperty","languageMap":{"zh-CN":"湖滨","en":"Hubin"}})",
       AttrKind::kLanguageProperty, R"({"zh-CN":"湖滨","en":"Hubin"})"},
      {"name", R"({"languageMap":{"en":"Hubin"}})", AttrKind::kLanguageProperty, R"({"en":"Hubin"})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto a = ParseAttribute(c.name, J(c.json));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->kind, c.kind);
    EXPECT_EQ(a->value, J(c.value));
    EXPECT_EQ(a->geometry != nullptr, c.kind == AttrKind::kGeoProperty);
  }
}

TEST(NgsiJsonTest, AttributeMembers) {
  auto a = ParseAttribute("temperature", J(R"({"type":"Property","value":21.5,
      "observedAt":"2026-11-23T10:00:00Z","unitCode":"CEL","datasetId":"urn:ngsi-ld:Dataset:a",
      "accuracy":{"type":"Property","value":0.5},"sensor":{"object":"urn:ngsi-ld:Device:1"},
      "createdAt":"2020-01-01T00:00:00Z"})"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->observed_at, 1795428000000);
  EXPECT_EQ(a->unit_code, "CEL");
  EXPECT_EQ(a->dataset_id, "urn:ngsi-ld:Dataset:a");
  ASSERT_EQ(a->sub_attrs.size(), 2u);
  EXPECT_EQ(a->sub_attrs[0].second, J(R"({"type":"Property","value":0.5})"));
  EXPECT_EQ(a->sub_attrs[1].second, J(R"({"type":"Relationship","object":"urn:ngsi-ld:Device:1"})"));
  EXPECT_EQ(a->created_at, kNoTime);  // system members are not taken from input
}

struct BadAttr {
  const char* name;
  const char* json;
  const char* message_part;
};

TEST(NgsiJsonTest, BadAttributesAreRejectedWithReasons) {
  const BadAttr cases[] = {
      {"a", "null", "null"},
      {"a", R"({"type":"Property"})", "needs a \"value\""},
      {"a", R"({"type":"Property","value":null})", "null"},
      {"a", R"({"type":"GeoProperty","value":{"type":"Point","coordinates":[1]}})", ""},
      {"a", R"({"type":"GeoProperty","value":{"type":"Point","coordinates":[1,95]}})", "latitude"},
      {"a", R"({"type":"Relationship"})", "needs an \"object\""},
      {"a", R"({"type":"Relationship","object":5})", "URI"},
      {"a", R"({"type":"LanguageProperty","languageMap":{"en":5}})", "strings"},
      {"a", R"({"type":"LanguageProperty","languageMap":{}})", "non-empty"},
      {"a", R"({"type":"Property","value":1,"observedAt":"soon"})", "ISO 8601"},
      {"a", R"({"type":"Property","value":1,"observedAt":5})", "observedAt"},
      {"a", R"({"type":"Property","value":1,"unitCode":""})", "unitCode"},
      {"a", R"({"type":"Property","value":1,"datasetId":"no uri"})", "datasetId"},
      {"a", R"({"type":"Weird","value":1})", "unknown attribute type"},
      {"a", R"j({"type":"Property","value":1,"sub(x)":1})j", "sub-attribute name"},
      {"bad name", "1", "invalid attribute name"},
      {"location", R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})", "closed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto a = ParseAttribute(c.name, J(c.json));
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), Code::kBadRequestData);
    EXPECT_NE(a.status().message().find(c.message_part), std::string::npos) << a.status().message();
  }
}

TEST(NgsiJsonTest, EntityParsing) {
  auto e = ParseEntity(J(R"({"id":"urn:ngsi-ld:Zone:a","type":["Zone","Area"],"@context":"https://x.org/c",
      "capacity":{"type":"Property","value":100},"createdAt":"2020-01-01T00:00:00Z"})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id, "urn:ngsi-ld:Zone:a");
  EXPECT_EQ(e->types, (std::vector<std::string>{"Zone", "Area"}));
  ASSERT_EQ(e->attrs.size(), 1u);
  EXPECT_EQ(e->attrs[0].name, "capacity");

  for (const char* bad : {R"([])", R"({"type":"A"})", R"({"id":"urn:a:b"})", R"({"id":"x","type":"A"})",
                          R"({"id":"urn:a:b","type":5})", R"({"id":"urn:a:b","type":[]})",
                          R"({"id":"urn:a:b","type":"A","@context":5})",
                          R"({"id":"urn:a:b","type":"A","@context":[["x:y"]]})"}) {
    auto r = ParseEntity(J(bad));
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kBadRequestData) << bad;
    }
  }
  EXPECT_TRUE(ParseEntity(J(R"({"a":1})"), false).ok());
  // A type given twice is one type, in the order first given.
  auto twice = ParseEntity(J(R"({"id":"urn:a:b","type":["A","B","A","B"]})"));
  ASSERT_TRUE(twice.ok()) << twice.status().ToString();
  EXPECT_EQ(twice->types, (std::vector<std::string>{"A", "B"}));
}

TEST(NgsiJsonTest, FragmentsAndPatches) {
  auto f = ParseFragment(J(R"({"id":"urn:a:b","type":"T","a":1,"b":{"type":"Property","value":2}})"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size(), 2u);
  EXPECT_FALSE(ParseFragment(J(R"({"id":"urn:a:b"})")).ok());
  EXPECT_FALSE(ParseFragment(J("[1]")).ok());

  Attribute target = *ParseAttribute("n", J(R"({"type":"Property","value":1,"unitCode":"C62"})"));
  ASSERT_TRUE(MergeAttributePatch(J(R"({"value":2,"observedAt":"2026-11-23T10:00:00Z"})"), "n", &target).ok());
  EXPECT_EQ(target.value, J("2"));
  EXPECT_EQ(target.unit_code, "C62");
  EXPECT_EQ(target.observed_at, 1795428000000);
  ASSERT_TRUE(MergeAttributePatch(J("7"), "n", &target).ok());
  EXPECT_EQ(target.value, J("7"));
  Attribute before = target;
  EXPECT_FALSE(MergeAttributePatch(J(R"({"type":"Relationship","object":"urn:a:b"})"), "n", &target).ok());
  EXPECT_FALSE(MergeAttributePatch(J(R"({"value":null})"), "n", &target).ok());
  EXPECT_FALSE(MergeAttributePatch(J(R"({"value":1,"observedAt":"x"})"), "n", &target).ok());
  EXPECT_EQ(target.value, before.value);  // a refused patch changes nothing
  EXPECT_EQ(target.observed_at, before.observed_at);

  Attribute geo = *ParseAttribute("location", J(R"({"type":"Point","coordinates":[1,2]})"));
  EXPECT_FALSE(MergeAttributePatch(J(R"({"value":{"type":"Point","coordinates":[1,200]}})"), "location", &geo).ok());
  ASSERT_TRUE(MergeAttributePatch(J(R"({"value":{"type":"Point","coordinates":[3,4]}})"), "location", &geo).ok());
  EXPECT_EQ(geo.geometry->FirstPoint().lon, 3);
}

TEST(NgsiJsonTest, RenderingNormalizedKeyValuesAndProjection) {
  auto e = ParseEntity(J(R"({"id":"urn:ngsi-ld:P:1","type":"OffStreetParking",
      "availableSpotNumber":{"type":"Property","value":12,"observedAt":"2026-11-23T10:00:00Z"},
      "refZone":{"type":"Relationship","object":"urn:ngsi-ld:Zone:a"},
      "name":{"type":"LanguageProperty","languageMap":{"en":"A"}}})"));
  ASSERT_TRUE(e.ok());
  RenderOptions o;
  EXPECT_EQ(J(RenderEntity(*e, o)), J(R"({"id":"urn:ngsi-ld:P:1","type":"OffStreetParking",
      "availableSpotNumber":{"type":"Property","value":12,"observedAt":"2026-11-23T10:00:00.000Z"},
      "refZone":{"type":"Relationship","object":"urn:ngsi-ld:Zone:a"},
      "name":{"type":"LanguageProperty","languageMap":{"en":"A"}}})"));
  o.key_values = true;
  EXPECT_EQ(J(RenderEntity(*e, o)), J(R"({"id":"urn:ngsi-ld:P:1","type":"OffStreetParking",
      "availableSpotNumber":12,"refZone":"urn:ngsi-ld:Zone:a","name":{"en":"A"}})"));
  std::unordered_set<std::string> only = {"refZone"};
  o.attrs = &only;
  o.with_context = true;
  JsonValue projected = J(RenderEntity(*e, o));
  EXPECT_EQ(projected.Find("availableSpotNumber"), nullptr);
  EXPECT_NE(projected.Find("refZone"), nullptr);
  EXPECT_EQ(projected.Find("@context")->as_string(), kCoreContext);
}

TEST(NgsiJsonTest, StoreDocRoundTripKeepsSystemTimes) {
  auto e = ParseEntity(J(R"({"id":"urn:ngsi-ld:P:1","type":"T","a":{"type":"Property","value":1}})"));
  e->created_at = 1000;
  e->modified_at = 2000;
  e->attrs[0].attr.Mutable().created_at = 1000;
  e->attrs[0].attr.Mutable().modified_at = 1500;
  std::string doc = EntityToStoreDoc(*e);
  auto back = EntityFromStoreDoc(doc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->created_at, 1000);
  EXPECT_EQ(back->modified_at, 2000);
  EXPECT_EQ(back->attrs[0].attr->modified_at, 1500);
  EXPECT_EQ(EntityToStoreDoc(*back), doc);
  EXPECT_FALSE(EntityFromStoreDoc("{").ok());
}

// An entity with every kind of attribute, sub-attributes, a dataset id, two types and
// system times on everything (one attribute without modifiedAt).
Entity RichEntity() {
  auto e = ParseEntity(J(R"({"id":"urn:ngsi-ld:P:1","type":["T","U"],
    "a":{"type":"Property","value":21.5,"observedAt":"2026-11-23T10:00:00.123Z","unitCode":"CEL",
         "accuracy":{"type":"Property","value":0.5}},
    "b":{"type":"Relationship","object":"urn:ngsi-ld:D:1","datasetId":"urn:ds:1"},
    "c":{"type":"LanguageProperty","languageMap":{"en":"x \"quoted\"","zh":"湖滨"}},
    "location":{"type":"Point","coordinates":[120.1,30.2]},
    "d":{"type":"Property","value":{"nested":[1,-2,3.25,true,false,null,"",{"e":[]}]}}})"));
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  e->created_at = 1000;
  e->modified_at = 3000;
  for (size_t i = 0; i < e->attrs.size(); ++i) {
    Attribute& a = e->attrs[i].attr.Mutable();
    a.created_at = 1000 + static_cast<TimeMs>(i);
    if (i != 2) a.modified_at = 2000 + static_cast<TimeMs>(i);  // one without modifiedAt
  }
  return std::move(e).value();
}

// The entity as an API client would see every field of it: equal renderings, equal
// entities (geometry included, through the GeoJSON it is parsed from).
std::string Everything(const Entity& e) {
  RenderOptions sys;
  sys.sys_attrs = true;
  return RenderEntity(e, sys);
}

TEST(NgsiJsonTest, RenderForStoreGivesTheDocumentAndEachHistoryValue) {
  const Entity e = RichEntity();
  const std::string expected_doc = EntityToStoreDoc(e);
  auto history_of = [&](std::string_view name) {
    std::string s;
    JsonWriter w(&s);
    RenderAttribute(*e.Find(name), RenderOptions(), &w);
    return s;
  };
  // Several names, one given twice, one the entity lacks, none, and every one.
  const std::vector<std::vector<std::string>> cases = {
      {"a", "location"}, {"c", "missing", "a", "c"}, {}, {"a", "b", "c", "location", "d"}};
  for (const auto& names : cases) {
    std::string doc = "stale";
    std::vector<std::string> values = {"stale"};
    RenderForStore(e, names, &doc, &values);
    EXPECT_EQ(doc, expected_doc);
    ASSERT_EQ(values.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      EXPECT_EQ(values[i], names[i] == "missing" ? "" : history_of(names[i])) << names[i];
    }
  }
  auto back = EntityFromStoreDoc(expected_doc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Everything(*back), Everything(e));
  EXPECT_EQ(EntityToStoreDoc(*back), expected_doc);
  ASSERT_NE(back->Find("location")->geometry, nullptr);
  EXPECT_EQ(back->Find("location")->kind, AttrKind::kGeoProperty);
  // Smaller than the JSON it replaces.
  EXPECT_LT(expected_doc.size(), Everything(e).size());
}

// Documents the store kept before the binary format (normalized JSON with system
// attributes) still read back as the same entity.
TEST(NgsiJsonTest, JsonStoreDocumentsOfEarlierVersionsStillRead) {
  const Entity e = RichEntity();
  auto back = EntityFromStoreDoc(Everything(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Everything(*back), Everything(e));
  EXPECT_EQ(EntityToStoreDoc(*back), EntityToStoreDoc(e));
  EXPECT_FALSE(EntityFromStoreDoc("{").ok());
}

// Values and times at the edges keep their exact type and value: an integer stays an
// integer, a double a double, no time stays none, and times before 1970 and far after.
TEST(NgsiJsonTest, StoreDocumentsKeepValuesAndTimesExactly) {
  const std::vector<JsonValue> values = {JsonValue(int64_t{0}),
                                         JsonValue(int64_t{-1}),
                                         JsonValue(std::numeric_limits<int64_t>::max()),
                                         JsonValue(std::numeric_limits<int64_t>::min()),
                                         JsonValue(0.0),
                                         JsonValue(-0.0),
                                         JsonValue(1e-300),
                                         JsonValue(2.0),
                                         JsonValue(std::string(300, 'x')),
                                         JsonValue(std::string("\0nul", 4)),
                                         J(R"([[[[]]],{},"",0])")};
  const std::vector<TimeMs> times = {kNoTime,
                                     0,
                                     -1,
                                     1,
                                     -62135596800000,
                                     std::numeric_limits<int64_t>::max(),
                                     std::numeric_limits<int64_t>::min() + 1};
  for (const JsonValue& v : values) {
    for (const TimeMs t : times) {
      Entity e;
      e.id = "urn:x:1";
      e.types = {"T"};
      e.created_at = t;
      e.modified_at = kNoTime;
      Attribute a;
      a.value = v;
      a.observed_at = t;
      a.created_at = kNoTime;
      a.modified_at = t;
      a.sub_attrs.emplace_back("s", v);
      e.attrs.push_back({"p", AttrRef(std::move(a))});
      auto back = EntityFromStoreDoc(EntityToStoreDoc(e));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      const Attribute& b = *back->attrs.at(0).attr;
      EXPECT_EQ(b.value.type(), v.type());
      EXPECT_EQ(b.value.Dump(), v.Dump());
      EXPECT_EQ(b.sub_attrs.at(0).second.Dump(), v.Dump());
      if (v.type() == JsonValue::Type::kDouble) {
        EXPECT_EQ(std::signbit(b.value.as_double()), std::signbit(v.as_double()));
      }
      EXPECT_EQ(back->created_at, t);
      EXPECT_EQ(back->modified_at, kNoTime);
      EXPECT_EQ(b.observed_at, t);
      EXPECT_EQ(b.created_at, kNoTime);
      EXPECT_EQ(b.modified_at, t);
    }
  }
}

// A damaged document is refused with an error, never read past its end: every cut of one,
// every byte after it, and random byte changes (which may still decode, but must not
// crash).
TEST(NgsiJsonTest, DamagedStoreDocumentsAreRefused) {
  const std::string doc = EntityToStoreDoc(RichEntity());
  for (size_t cut = 1; cut < doc.size(); ++cut) {
    EXPECT_FALSE(EntityFromStoreDoc(doc.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(EntityFromStoreDoc(doc + "x").ok());
  EXPECT_FALSE(EntityFromStoreDoc(std::string(1, '\x01')).ok());
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = doc;
    bad[1 + rng() % (bad.size() - 1)] = static_cast<char>(rng());
    (void)EntityFromStoreDoc(bad);
  }
}

}  // namespace
}  // namespace cb::context
