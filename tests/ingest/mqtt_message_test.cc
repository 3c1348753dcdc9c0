// Tests of MQTT message decoding (MessageToWriteOps) and of the device provisioning table.

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "geo/geometry.h"
#include "gtest/gtest.h"
#include "ingest/mqtt_bridge.h"

namespace cb::ingest {
namespace {

using context::AttrKind;
using context::WriteOp;

constexpr TimeMs kNow = 1717200000000;  // 2024-06-01T00:00:00Z

constexpr const char* kTable = R"({
  "_comment": "test devices",
  "devices": [
    {"apiKey": "k1", "deviceId": "cam1", "entityType": "CrowdFlowObserved",
     "entityId": "urn:ngsi-ld:CrowdFlowObserved:hubin-1",
     "attributes": {"c": "peopleCount", "t": {"name": "temperature", "unitCode": "CEL"},
                    "humidity": {"unitCode": "P1"}},
     "staticAttributes": {"location": {"type": "Point", "coordinates": [120.15, 30.25]},
                          "name": "Hubin"}},
    {"apiKey": "k1", "deviceId": "strict1", "entityType": "OffStreetParking", "strict": true,
     "attributes": {"a": "availableSpotNumber", "loc": "location"}},
    {"apiKey": "k2", "deviceId": "gcj", "entityType": "Device", "datum": "gcj02",
     "staticAttributes": {"origin": {"type": "Point", "coordinates": [120.16, 30.26]}}},
    {"apiKey": "k2", "deviceId": "bd", "entityType": "Device", "datum": "bd09"}
  ]
})";

const DeviceTable& Table() {
  static const DeviceTable* t = [] {
    auto doc = ParseJson(kTable);
    EXPECT_TRUE(doc.ok()) << doc.status().ToString();
    auto table = ParseDeviceTable(*doc);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return new DeviceTable(std::move(table).value());
  }();
  return *t;
}

MqttWrite Decode(std::string_view topic, std::string_view payload) {
  MessageResult why = MessageResult::kCount;
  auto w = MessageToWriteOps(Table(), topic, payload, kNow, &why);
  EXPECT_TRUE(w.ok()) << topic << " " << payload << ": " << w.status().ToString();
  EXPECT_EQ(why, MessageResult::kWritten);
  if (!w.ok()) return {};
  return std::move(w).value();
}

const context::Attribute& Attr(const WriteOp& op, std::string_view name) {
  const context::Attribute* a = op.entity.Find(name);
  EXPECT_NE(a, nullptr) << "missing attribute " << name;
  static const context::Attribute kNone;
  return a != nullptr ? *a : kNone;
}

std::vector<std::string> Names(const WriteOp& op) {
  std::vector<std::string> n;
  for (const auto& a : op.entity.attrs) n.push_back(a.name);
  return n;
}

// --- accepted forms ---

TEST(MqttMessageTest, FlatObjectMapsNamesAddsStaticsAndUnits) {
  for (std::string_view topic : {"/json/k1/cam1/attrs", "json/k1/cam1/attrs"}) {
    MqttWrite w = Decode(topic, R"({"c": 120, "t": 21.5, "extra": "x"})");
    ASSERT_EQ(w.ops.size(), 1u);
    const WriteOp& op = w.ops[0];
    EXPECT_EQ(op.kind, WriteOp::Kind::kUpsertUpdate);
    EXPECT_EQ(op.entity.id, "urn:ngsi-ld:CrowdFlowObserved:hubin-1");
    EXPECT_EQ(op.entity.types, std::vector<std::string>{"CrowdFlowObserved"});
    EXPECT_EQ(Names(op), (std::vector<std::string>{"location", "name", "peopleCount", "temperature",
                                                   "extra"}));
    EXPECT_EQ(w.static_attrs, 2u);
    EXPECT_EQ(w.device->device_id, "cam1");
    EXPECT_EQ(Attr(op, "peopleCount").value, JsonValue(120));
    EXPECT_EQ(Attr(op, "peopleCount").observed_at, kNow);
    EXPECT_EQ(Attr(op, "peopleCount").unit_code, "");
    EXPECT_EQ(Attr(op, "temperature").value, JsonValue(21.5));
    EXPECT_EQ(Attr(op, "temperature").unit_code, "CEL");
    EXPECT_EQ(Attr(op, "extra").value, JsonValue("x"));
    EXPECT_EQ(Attr(op, "location").kind, AttrKind::kGeoProperty);
    ASSERT_NE(Attr(op, "location").geometry, nullptr);
    EXPECT_EQ(Attr(op, "location").observed_at, kNoTime);  // static: no observation time
    EXPECT_EQ(Attr(op, "name").value, JsonValue("Hubin"));
  }
}

TEST(MqttMessageTest, UnitCodeForUnrenamedAttribute) {
  MqttWrite w = Decode("/json/k1/cam1/attrs", R"({"humidity": 40})");
  EXPECT_EQ(Attr(w.ops[0], "humidity").unit_code, "P1");
}

TEST(MqttMessageTest, SingleAttributeRawValues) {
  struct Case {
    const char* attr;
    const char* payload;
    const char* name;
    JsonValue want;
  };
  const Case cases[] = {
      {"c", "120", "peopleCount", JsonValue(120)},
      {"c", " 120\n", "peopleCount", JsonValue(120)},
      {"t", "21.5", "temperature", JsonValue(21.5)},
      {"status", "on fire", "status", JsonValue("on fire")},
      {"status", "21,5", "status", JsonValue("21,5")},
      {"status", "\"quoted\"", "status", JsonValue("quoted")},
      {"status", "\xe6\xb8\xa9\xe5\xba\xa6", "status", JsonValue("\xe6\xb8\xa9\xe5\xba\xa6")},
      {"flag", "true", "flag", JsonValue(true)},
      {"cfg", R"({"a": 1})", "cfg", JsonValue(JsonValue::Object{{"a", JsonValue(1)}})},
      {"list", "[1, 2]", "list", JsonValue(JsonValue::Array{JsonValue(1), JsonValue(2)})},
  };
  for (const auto& c : cases) {
    for (std::string prefix : {"/json/k1/cam1/attrs/", "json/k1/cam1/attrs/"}) {
      MqttWrite w = Decode(prefix + c.attr, c.payload);
      ASSERT_EQ(w.ops.size(), 1u) << c.payload;
      EXPECT_EQ(Attr(w.ops[0], c.name).value, c.want) << c.payload;
      EXPECT_EQ(Attr(w.ops[0], c.name).observed_at, kNow);
    }
  }
  MqttWrite t = Decode("/json/k1/cam1/attrs/t", "19");
  EXPECT_EQ(Attr(t.ops[0], "temperature").unit_code, "CEL");
}

TEST(MqttMessageTest, ThingsBoardTimestamp) {
  MqttWrite w = Decode("/json/k1/cam1/attrs", R"({"ts": 1700000000000, "values": {"c": 5}})");
  ASSERT_EQ(w.ops.size(), 1u);
  EXPECT_EQ(Attr(w.ops[0], "peopleCount").value, JsonValue(5));
  EXPECT_EQ(Attr(w.ops[0], "peopleCount").observed_at, 1700000000000);
}

TEST(MqttMessageTest, ThingsBoardArrayGivesOneOpPerTimestamp) {
  MqttWrite w = Decode("/json/k1/cam1/attrs",
                       R"([{"ts": 1700000000000, "values": {"c": 1}},
                           {"ts": 1700000060000, "values": {"c": 2, "t": 20}},
                           {"c": 3}])");
  ASSERT_EQ(w.ops.size(), 3u);
  EXPECT_EQ(Names(w.ops[0]), (std::vector<std::string>{"location", "name", "peopleCount"}));
  EXPECT_EQ(Names(w.ops[1]), (std::vector<std::string>{"peopleCount", "temperature"}));
  EXPECT_EQ(Attr(w.ops[0], "peopleCount").observed_at, 1700000000000);
  EXPECT_EQ(Attr(w.ops[1], "temperature").observed_at, 1700000060000);
  EXPECT_EQ(Attr(w.ops[2], "peopleCount").observed_at, kNow);
  EXPECT_EQ(Attr(w.ops[2], "peopleCount").value, JsonValue(3));
  for (const auto& op : w.ops) EXPECT_EQ(op.kind, WriteOp::Kind::kUpsertUpdate);
}

TEST(MqttMessageTest, TimeInstantSetsObservedAt) {
  MqttWrite w = Decode("/json/k1/cam1/attrs", R"({"c": 3, "TimeInstant": "2024-01-01T00:00:00Z"})");
  EXPECT_EQ(Attr(w.ops[0], "peopleCount").observed_at, 1704067200000);
  EXPECT_EQ(w.ops[0].entity.Find("TimeInstant"), nullptr);
}

TEST(MqttMessageTest, AttributeOwnObservedAtWins) {
  MqttWrite w = Decode("/json/k1/cam1/attrs",
                       R"({"ts": 1700000000000, "values": {"c": {"type": "Property", "value": 7,
                           "observedAt": "2024-01-01T00:00:00Z", "unitCode": "C62"}}})");
  const auto& a = Attr(w.ops[0], "peopleCount");
  EXPECT_EQ(a.value, JsonValue(7));
  EXPECT_EQ(a.observed_at, 1704067200000);
  EXPECT_EQ(a.unit_code, "C62");
}

TEST(MqttMessageTest, MessageLocationReplacesStaticOne) {
  MqttWrite w = Decode("/json/k1/cam1/attrs",
                       R"({"location": {"type": "Point", "coordinates": [120.2, 30.3]}})");
  EXPECT_EQ(w.static_attrs, 1u);
  EXPECT_EQ(Names(w.ops[0]), (std::vector<std::string>{"name", "location"}));
  const auto& loc = Attr(w.ops[0], "location");
  EXPECT_EQ(loc.kind, AttrKind::kGeoProperty);
  ASSERT_NE(loc.geometry, nullptr);
  EXPECT_EQ(loc.geometry->FirstPoint(), (geo::LonLat{120.2, 30.3}));
  EXPECT_EQ(loc.observed_at, kNow);
}

TEST(MqttMessageTest, StrictDeviceAcceptsMappedNames) {
  MqttWrite w = Decode("/json/k1/strict1/attrs", R"({"a": 12})");
  EXPECT_EQ(w.ops[0].entity.id, "urn:ngsi-ld:OffStreetParking:strict1");  // default id
  EXPECT_EQ(Attr(w.ops[0], "availableSpotNumber").value, JsonValue(12));
  EXPECT_EQ(w.static_attrs, 0u);
}

geo::LonLat PointOf(const context::Attribute& a) {
  EXPECT_NE(a.geometry, nullptr);
  return a.geometry != nullptr ? a.geometry->FirstPoint() : geo::LonLat{};
}

TEST(MqttMessageTest, Gcj02AndBd09PointsAreConvertedToWgs84) {
  const geo::LonLat wgs{120.1551, 30.2741};  // West Lake, Hangzhou
  struct Case {
    const char* device;
    geo::LonLat sent;
  };
  const Case cases[] = {{"gcj", geo::Wgs84ToGcj02(wgs)}, {"bd", geo::Wgs84ToBd09(wgs)}};
  for (const auto& c : cases) {
    // The datums differ by hundreds of metres here: make sure a conversion happened.
    ASSERT_GT(std::abs(c.sent.lon - wgs.lon) + std::abs(c.sent.lat - wgs.lat), 1e-3);
    JsonValue point = JsonValue::MakeObject();
    point.Set("type", "Point");
    point.Set("coordinates", JsonValue::Array{JsonValue(c.sent.lon), JsonValue(c.sent.lat)});
    for (std::string payload :
         {R"({"location": )" + point.Dump() + "}",
          R"({"location": {"type": "GeoProperty", "value": )" + point.Dump() + "}}",
          R"({"ts": 1700000000000, "values": {"location": )" + point.Dump() + "}}"}) {
      MqttWrite w = Decode(std::string("/json/k2/") + c.device + "/attrs", payload);
      geo::LonLat got = PointOf(Attr(w.ops[0], "location"));
      EXPECT_NEAR(got.lon, wgs.lon, 1e-5) << c.device << " " << payload;
      EXPECT_NEAR(got.lat, wgs.lat, 1e-5) << c.device << " " << payload;
    }
    // The single-attribute topic too.
    MqttWrite w = Decode(std::string("/json/k2/") + c.device + "/attrs/location", point.Dump());
    geo::LonLat got = PointOf(Attr(w.ops[0], "location"));
    EXPECT_NEAR(got.lon, wgs.lon, 1e-5);
    EXPECT_NEAR(got.lat, wgs.lat, 1e-5);
  }
}

TEST(MqttMessageTest, Gcj02PolygonStaysClosedAndIsConverted) {
  MqttWrite w = Decode("/json/k2/gcj/attrs", R"({"area": {"type": "Polygon", "coordinates":
      [[[120.15, 30.25], [120.16, 30.25], [120.16, 30.26], [120.15, 30.25]]]}})");
  const auto& a = Attr(w.ops[0], "area");
  ASSERT_NE(a.geometry, nullptr);
  const auto& ring = a.geometry->parts[0][0];
  EXPECT_EQ(ring.front(), ring.back());
  geo::LonLat want = geo::Gcj02ToWgs84({120.15, 30.25});
  EXPECT_NEAR(ring.front().lon, want.lon, 1e-9);
  EXPECT_NEAR(ring.front().lat, want.lat, 1e-9);
}

TEST(MqttMessageTest, StaticAttributesAreConvertedFromTheDeviceDatum) {
  const DeviceProvisioning* d = Table().Find("k2", "gcj");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->static_attrs.size(), 1u);
  geo::LonLat got = PointOf(d->static_attrs[0].attr);
  geo::LonLat want = geo::Gcj02ToWgs84({120.16, 30.26});
  EXPECT_NEAR(got.lon, want.lon, 1e-9);
  EXPECT_NEAR(got.lat, want.lat, 1e-9);
  // And a WGS84 device's static location is kept as given.
  EXPECT_EQ(PointOf(Table().Find("k1", "cam1")->static_attrs[0].attr),
            (geo::LonLat{120.15, 30.25}));
}

// --- malformed messages: rejected with a reason, nothing returned ---

struct BadCase {
  std::string topic;
  std::string payload;
  MessageResult want;
};

std::string Nested(int depth) {
  return R"({"c": )" + std::string(depth, '[') + "1" + std::string(depth, ']') + "}";
}

std::string ManyItems(size_t n, bool array) {
  std::string s = array ? "[" : "{";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += ",";
    s += array ? R"({"c": 1})" : "\"a" + std::to_string(i) + "\": 1";
  }
  return s + (array ? "]" : "}");
}

TEST(MqttMessageTest, MalformedMessagesAreRejectedByReason) {
  using R = MessageResult;
  const std::string a = "/json/k1/cam1/attrs";
  const std::string s = "/json/k1/strict1/attrs";
  const BadCase cases[] = {
      // topics
      {"/json/k1/cam1/cmd", "{}", R::kBadTopic},
      {"/json/k1/cam1", R"({"c": 1})", R::kBadTopic},
      {"/json//cam1/attrs", R"({"c": 1})", R::kBadTopic},
      {"/json/k1//attrs", R"({"c": 1})", R::kBadTopic},
      {"/json/k1/cam1/attrs/", "1", R::kBadTopic},
      {"/json/k1/cam1/attrs/c/x", "1", R::kBadTopic},
      {"/ul/k1/cam1/attrs", R"({"c": 1})", R::kBadTopic},
      {"//json/k1/cam1/attrs", R"({"c": 1})", R::kBadTopic},
      {"", R"({"c": 1})", R::kBadTopic},
      // provisioning
      {"/json/nokey/cam1/attrs", R"({"c": 1})", R::kUnknownApiKey},
      {"/json/k1/nodev/attrs", R"({"c": 1})", R::kUnknownDevice},
      {"/json/k2/cam1/attrs", R"({"c": 1})", R::kUnknownDevice},
      // empty
      {a, "", R::kEmpty},
      {a, "  \n", R::kEmpty},
      {a, "{}", R::kEmpty},
      {a, "[]", R::kEmpty},
      {a, R"({"ts": 1700000000000, "values": {}})", R::kEmpty},
      {a, R"({"TimeInstant": "2024-01-01T00:00:00Z"})", R::kEmpty},
      {a + "/c", "", R::kEmpty},
      // invalid JSON
      {a, "{", R::kInvalidJson},
      {a, R"({"c": 1,})", R::kInvalidJson},
      {a, R"({"c": 1, "c": 2})", R::kInvalidJson},
      {a, "{\"c\": \"\xff\xfe\"}", R::kInvalidJson},
      {a, "peopleCount=5", R::kInvalidJson},
      {a + "/c", "{bad", R::kInvalidJson},
      {a + "/c", "[1, 2", R::kInvalidJson},
      {a + "/c", "\"unterminated", R::kInvalidJson},
      {a + "/c", "\xff\xfe", R::kInvalidJson},
      {a + "/c", "ab\xc3", R::kInvalidJson},
      // too deep
      {a, Nested(static_cast<int>(kMaxJsonDepth) + 1), R::kTooDeep},
      {a + "/c", std::string(40, '[') + std::string(40, ']'), R::kTooDeep},
      // not an object
      {a, "42", R::kNotObject},
      {a, "\"text\"", R::kNotObject},
      {a, "[1, 2]", R::kNotObject},
      {a, R"([{"c": 1}, 2])", R::kNotObject},
      {a, R"({"ts": 1700000000000, "values": 5})", R::kNotObject},
      // null values
      {a, R"({"c": null})", R::kNullValue},
      {a, R"({"c": 1, "t": null})", R::kNullValue},
      {a, R"([{"c": 1}, {"c": null}])", R::kNullValue},
      {a, R"({"ts": 1700000000000, "values": {"c": null}})", R::kNullValue},
      {a + "/c", "null", R::kNullValue},
      {a, R"({"c": {"type": "Property", "value": null}})", R::kBadValue},
      // strict mapping
      {s, R"({"a": 1, "zzz": 2})", R::kUnknownAttribute},
      {s, R"({"availableSpotNumber": 1})", R::kUnknownAttribute},
      {s + "/zzz", "1", R::kUnknownAttribute},
      // attribute names
      {a, R"({"id": "urn:x:y"})", R::kBadAttributeName},
      {a, R"({"type": "Thing"})", R::kBadAttributeName},
      {a, R"({"@context": "x"})", R::kBadAttributeName},
      {a, R"({"a b": 1})", R::kBadAttributeName},
      {a, R"({"x=y": 1})", R::kBadAttributeName},
      {a, R"({"": 1})", R::kBadAttributeName},
      {a + "/createdAt", "1", R::kBadAttributeName},
      // timestamps
      {a, R"({"ts": "1700000000000", "values": {"c": 1}})", R::kBadTimestamp},
      {a, R"({"ts": -5, "values": {"c": 1}})", R::kBadTimestamp},
      {a, R"({"ts": 1e20, "values": {"c": 1}})", R::kBadTimestamp},
      {a, R"([{"ts": 1700000000000, "values": {"c": 1}}, {"ts": true, "values": {"c": 1}}])",
       R::kBadTimestamp},
      {a, R"({"c": 1, "TimeInstant": "yesterday"})", R::kBadTimestamp},
      {a, R"({"c": 1, "TimeInstant": 1700000000000})", R::kBadTimestamp},
      // coordinates
      {a, R"({"location": {"type": "Point", "coordinates": [200, 10]}})", R::kBadCoordinates},
      {a, R"({"location": {"type": "Point", "coordinates": [10, 95]}})", R::kBadCoordinates},
      {a, R"({"location": {"type": "Point", "coordinates": [10]}})", R::kBadCoordinates},
      {a, R"({"location": {"type": "Point", "coordinates": "x"}})", R::kBadCoordinates},
      {a, R"({"location": {"type": "Point", "coordinates": [1, "2"]}})", R::kBadCoordinates},
      {a, R"({"where": {"type": "LineString", "coordinates": [[1, 2], [1, -91]]}})",
       R::kBadCoordinates},
      {a, R"({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}})",
       R::kBadCoordinates},
      {a, R"({"location": {"type": "GeoProperty", "value": {"type": "Point",
            "coordinates": [0, 100]}}})",
       R::kBadCoordinates},
      {"/json/k2/gcj/attrs", R"({"location": {"type": "Point", "coordinates": [181, 0]}})",
       R::kBadCoordinates},
      {a + "/location", R"({"type": "Point", "coordinates": [-181, 0]})", R::kBadCoordinates},
      // other bad values
      {a, R"({"c": {"type": "Property"}})", R::kBadValue},
      {a, R"({"r": {"type": "Relationship", "object": "not a uri"}})", R::kBadValue},
      {a, R"({"c": {"type": "Relationship", "value": 1}})", R::kBadValue},
      {a, R"({"c": {"value": 1, "observedAt": "never"}})", R::kBadValue},
      // limits
      {a, R"({"c": ")" + std::string(kMaxPayloadBytes, 'x') + "\"}", R::kTooLarge},
      {a, ManyItems(kMaxArrayItems + 1, true), R::kTooLarge},
      {a, ManyItems(kMaxAttrsPerMessage + 1, false), R::kTooLarge},
  };
  for (const auto& c : cases) {
    MessageResult why = MessageResult::kWritten;
    auto w = MessageToWriteOps(Table(), c.topic, c.payload, kNow, &why);
    std::string shown = c.payload.substr(0, 80);
    EXPECT_FALSE(w.ok()) << c.topic << " " << shown;
    EXPECT_EQ(MessageResultName(why), MessageResultName(c.want))
        << c.topic << " " << shown << ": " << w.status().ToString();
    if (!w.ok()) {
      bool syntax = why == MessageResult::kInvalidJson || why == MessageResult::kTooDeep;
      EXPECT_EQ(w.status().code(), syntax ? Code::kInvalidRequest : Code::kBadRequestData)
          << c.topic << " " << shown << ": " << w.status().ToString();
      EXPECT_FALSE(w.status().message().empty());
    }
  }
}

TEST(MqttMessageTest, WhyIsOptional) {
  EXPECT_FALSE(MessageToWriteOps(Table(), "/json/k1/cam1/attrs", "{", kNow).ok());
  EXPECT_TRUE(MessageToWriteOps(Table(), "/json/k1/cam1/attrs", R"({"c": 1})", kNow).ok());
}

TEST(MqttMessageTest, ResultNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int i = 0; i < static_cast<int>(MessageResult::kCount); ++i) {
    names.insert(MessageResultName(static_cast<MessageResult>(i)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(MessageResult::kCount));
  EXPECT_EQ(names.count("unknown"), 0u);
}

// --- provisioning ---

TEST(DeviceTableTest, ParsesTheDocumentedFormat) {
  const DeviceTable& t = Table();
  EXPECT_EQ(t.size(), 4u);
  const DeviceProvisioning* d = t.Find("k1", "cam1");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->entity_type, "CrowdFlowObserved");
  EXPECT_EQ(d->attributes.at("c").name, "peopleCount");
  EXPECT_EQ(d->attributes.at("t").unit_code, "CEL");
  EXPECT_EQ(d->attributes.at("humidity").name, "humidity");
  EXPECT_FALSE(d->strict);
  EXPECT_EQ(d->datum, Datum::kWgs84);
  EXPECT_TRUE(t.Find("k1", "strict1")->strict);
  EXPECT_EQ(t.Find("k2", "gcj")->datum, Datum::kGcj02);
  EXPECT_EQ(t.Find("k2", "gcj")->entity_id, "urn:ngsi-ld:Device:gcj");
  EXPECT_EQ(t.Find("k2", "bd")->datum, Datum::kBd09);
  EXPECT_EQ(t.Find("k1", "gcj"), nullptr);
  EXPECT_TRUE(t.HasApiKey("k2"));
  EXPECT_FALSE(t.HasApiKey("k3"));
  EXPECT_EQ(DatumName(Datum::kBd09), "bd09");
}

TEST(DeviceTableTest, RejectsBadProvisioning) {
  struct Case {
    std::string json;
    std::string want;  // part of the error message
  };
  auto dev = [](const std::string& members) {
    return R"({"devices": [{"apiKey": "k", "deviceId": "d", "entityType": "T")" +
           (members.empty() ? "" : ", " + members) + "}]}";
  };
  const Case cases[] = {
      {"[]", "expected an object"},
      {"{}", "\"devices\" must be an array"},
      {R"({"devices": {}})", "\"devices\" must be an array"},
      {R"({"devices": [], "extra": 1})", "unknown member \"extra\""},
      {R"({"devices": [5]})", "devices[0]: must be an object"},
      {R"({"devices": [{"deviceId": "d", "entityType": "T"}]})", "missing \"apiKey\""},
      {R"({"devices": [{"apiKey": "k", "entityType": "T"}]})", "missing \"deviceId\""},
      {R"({"devices": [{"apiKey": "k", "deviceId": "d"}]})", "missing \"entityType\""},
      {R"({"devices": [{"apiKey": "", "deviceId": "d", "entityType": "T"}]})",
       "apiKey: must be a non-empty string"},
      {R"({"devices": [{"apiKey": "a/b", "deviceId": "d", "entityType": "T"}]})", "apiKey"},
      {R"({"devices": [{"apiKey": "k", "deviceId": "+", "entityType": "T"}]})", "deviceId"},
      {R"({"devices": [{"apiKey": "k", "deviceId": "d#", "entityType": "T"}]})", "deviceId"},
      {R"({"devices": [{"apiKey": "k", "deviceId": "d", "entityType": "a b"}]})",
       "invalid entity type"},
      {R"({"devices": [{"apiKey": "k", "deviceId": 7, "entityType": "T"}]})",
       "deviceId: must be a non-empty string"},
      {dev(R"("entityId": "no-scheme")"), "invalid entity id"},
      {dev(R"("entityid": "urn:x:y")"), "devices[0]: unknown member \"entityid\""},
      {dev(R"("datum": "utm")"), "devices[0].datum"},
      {dev(R"("strict": "yes")"), "devices[0].strict: must be true or false"},
      {dev(R"("attributes": [])"), "attributes: must be an object"},
      {dev(R"("attributes": {"t": 5})"), "devices[0].attributes.t"},
      {dev(R"("attributes": {"t": "id"})"), "maps to a name not allowed"},
      {dev(R"("attributes": {"t": "a b"})"), "maps to a name not allowed"},
      {dev(R"("attributes": {"t": {"name": "x", "unit": "CEL"}})"), "unknown member \"unit\""},
      {dev(R"("attributes": {"t": {"unitCode": ""}})"), "unitCode: must be a non-empty"},
      {dev(R"("staticAttributes": [])"), "staticAttributes: must be an object"},
      {dev(R"("staticAttributes": {"name": null})"), "devices[0].staticAttributes.name"},
      {dev(R"("staticAttributes": {"type": "x"})"), "attribute name not allowed"},
      {dev(R"("staticAttributes": {"location": {"type": "Point", "coordinates": [0, 91]}})"),
       "out of range"},
      {R"({"devices": [{"apiKey": "k", "deviceId": "d", "entityType": "T"},
                       {"apiKey": "k", "deviceId": "d", "entityType": "U"}]})",
       "devices[1]: device 'd' of apiKey 'k' is provisioned twice"},
  };
  for (const auto& c : cases) {
    auto doc = ParseJson(c.json);
    ASSERT_TRUE(doc.ok()) << c.json;
    auto t = ParseDeviceTable(*doc);
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_NE(t.status().message().find(c.want), std::string::npos)
        << c.json << " -> " << t.status().ToString();
  }
  // Comments (members starting with '_') are fine anywhere.
  auto ok = ParseJson(dev(R"("_note": "x", "attributes": {"t": {"name": "temp", "_u": 1}})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ParseDeviceTable(*ok).ok());
}

TEST(DeviceTableTest, AddValidatesAndRejectsDuplicates) {
  DeviceTable t;
  DeviceProvisioning d;
  d.api_key = "k";
  d.device_id = "d";
  d.entity_type = "T";
  EXPECT_TRUE(t.Add(d).ok());
  EXPECT_EQ(t.Find("k", "d")->entity_id, "urn:ngsi-ld:T:d");
  EXPECT_EQ(t.Add(d).code(), Code::kAlreadyExists);
  d.device_id = "e";
  d.static_attrs = {{"x", {}}, {"x", {}}};
  EXPECT_EQ(t.Add(d).code(), Code::kBadRequestData);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Find("k/d", ""), nullptr);
  EXPECT_EQ(t.Find(std::string(400, 'k'), std::string(400, 'd')), nullptr);
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char tmpl[] = "/tmp/cb_mqtt_devices_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    path_ = tmpl;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DeviceTableTest, LoadsFromFile) {
  TempFile good(kTable);
  auto t = LoadDeviceTable(good.path());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->size(), 4u);

  auto missing = LoadDeviceTable("/nonexistent/devices.json");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/devices.json"), std::string::npos);

  TempFile bad_json("{\"devices\": [");
  auto b = LoadDeviceTable(bad_json.path());
  EXPECT_EQ(b.status().code(), Code::kInvalidRequest);
  EXPECT_NE(b.status().message().find(bad_json.path()), std::string::npos);

  TempFile bad_content(R"({"devices": [{"apiKey": "k"}]})");
  auto c = LoadDeviceTable(bad_content.path());
  EXPECT_EQ(c.status().code(), Code::kBadRequestData);
  EXPECT_NE(c.status().message().find(bad_content.path() + ": devices[0]"), std::string::npos)
      << c.status().ToString();
}

// The provisioning example in docs/mqtt.md (its first ```json block) is valid.
TEST(DeviceTableTest, DocumentedExampleParses) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/docs/mqtt.md");
  ASSERT_TRUE(in) << "docs/mqtt.md is missing";
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t begin = doc.find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  size_t end = doc.find("```", begin);
  ASSERT_NE(end, std::string::npos);
  auto json = ParseJson(doc.substr(begin, end - begin));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto t = ParseDeviceTable(*json);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_GE(t->size(), 2u);
}

}  // namespace
}  // namespace cb::ingest
