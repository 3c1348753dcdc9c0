// Tests of zones: definition and validation, the parent hierarchy, point-in-zone lookup
// (against a brute-force scan), and which zones a sensor counts toward.

#include "stream/zones.h"

#include <random>
#include <string>
#include <vector>

#include "context/ngsi_json.h"
#include "gtest/gtest.h"

namespace cb::stream {
namespace {

// An axis-aligned rectangle as a Polygon geometry.
geo::Geometry Rect(double lon0, double lat0, double lon1, double lat1) {
  return geo::Geometry::Make(
      geo::GeometryType::kPolygon,
      {{{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}});
}

Zone MakeZone(std::string id, geo::Geometry area, std::string parent = "") {
  Zone z;
  z.id = std::move(id);
  z.area = std::move(area);
  z.parent_id = std::move(parent);
  return z;
}

// A district with a street inside it and a grid cell inside the street, plus a zone
// elsewhere (Hangzhou, around the West Lake's east shore).
class ZoneIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:district", Rect(120.15, 30.24, 120.18, 30.27))).ok());
    ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:street", Rect(120.16, 30.25, 120.17, 30.26),
                                    "urn:ngsi-ld:Zone:district")).ok());
    ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:grid", Rect(120.162, 30.252, 120.164, 30.254),
                                    "urn:ngsi-ld:Zone:street")).ok());
    ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:elsewhere", Rect(121.0, 31.0, 121.1, 31.1))).ok());
  }
  ZoneIndex zones_;
};

TEST_F(ZoneIndexTest, PointsFallInTheirZones) {
  const struct {
    geo::LonLat p;
    std::vector<std::string> zones;
  } cases[] = {
      {{120.163, 30.253}, {"urn:ngsi-ld:Zone:district", "urn:ngsi-ld:Zone:grid", "urn:ngsi-ld:Zone:street"}},
      {{120.165, 30.255}, {"urn:ngsi-ld:Zone:district", "urn:ngsi-ld:Zone:street"}},
      {{120.151, 30.241}, {"urn:ngsi-ld:Zone:district"}},
      {{120.16, 30.255}, {"urn:ngsi-ld:Zone:district", "urn:ngsi-ld:Zone:street"}},  // on the border
      {{120.10, 30.20}, {}},
      {{121.05, 31.05}, {"urn:ngsi-ld:Zone:elsewhere"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(zones_.ZonesContaining(c.p), c.zones) << c.p.lon << "," << c.p.lat;
  }
  EXPECT_EQ(zones_.Ancestors("urn:ngsi-ld:Zone:grid"),
            (std::vector<std::string>{"urn:ngsi-ld:Zone:street", "urn:ngsi-ld:Zone:district"}));
  EXPECT_TRUE(zones_.Ancestors("urn:ngsi-ld:Zone:district").empty());
  EXPECT_GT(zones_.Find("urn:ngsi-ld:Zone:grid")->area_m2, 35000);  // ~193 m × 222 m
  EXPECT_LT(zones_.Find("urn:ngsi-ld:Zone:grid")->area_m2, 50000);
}

TEST_F(ZoneIndexTest, SensorsCountTowardContainingZonesOrTheirRefZone) {
  // By location: the zones containing it (their ancestors are among them here).
  auto by_location = zones_.ZonesOfSensor(geo::LonLat{120.163, 30.253}, "");
  ASSERT_TRUE(by_location.ok());
  EXPECT_EQ(*by_location, (std::vector<std::string>{"urn:ngsi-ld:Zone:district",
                                                    "urn:ngsi-ld:Zone:grid",
                                                    "urn:ngsi-ld:Zone:street"}));
  // refZone wins over the location, and brings its ancestors.
  auto by_ref = zones_.ZonesOfSensor(geo::LonLat{121.05, 31.05}, "urn:ngsi-ld:Zone:street");
  ASSERT_TRUE(by_ref.ok());
  EXPECT_EQ(*by_ref,
            (std::vector<std::string>{"urn:ngsi-ld:Zone:district", "urn:ngsi-ld:Zone:street"}));
  // A zone whose polygon does not nest in its parent's still counts toward the parent.
  ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:annex", Rect(120.20, 30.20, 120.21, 30.21),
                                  "urn:ngsi-ld:Zone:district")).ok());
  EXPECT_EQ(*zones_.ZonesOfSensor(geo::LonLat{120.205, 30.205}, ""),
            (std::vector<std::string>{"urn:ngsi-ld:Zone:annex", "urn:ngsi-ld:Zone:district"}));
  EXPECT_TRUE(zones_.ZonesOfSensor(std::nullopt, "")->empty());
  EXPECT_EQ(zones_.ZonesOfSensor(std::nullopt, "urn:ngsi-ld:Zone:nope").status().code(),
            Code::kNotFound);
}

TEST_F(ZoneIndexTest, BadZonesAreRefusedAndChangeNothing) {
  const struct {
    Zone zone;
    std::string reason;
  } cases[] = {
      {MakeZone("urn:ngsi-ld:Zone:x", Rect(0, 0, 1, 1), "urn:ngsi-ld:Zone:missing"),
       "the parent zone urn:ngsi-ld:Zone:missing is not defined"},
      {MakeZone("urn:ngsi-ld:Zone:x", Rect(0, 0, 1, 1), "urn:ngsi-ld:Zone:x"), "its own parent"},
      // district under grid: grid is inside district's subtree.
      {MakeZone("urn:ngsi-ld:Zone:district", Rect(0, 0, 1, 1), "urn:ngsi-ld:Zone:grid"),
       "inside this zone's own subtree"},
      {MakeZone("urn:ngsi-ld:Zone:x", geo::Geometry::MakePoint({1, 1})),
       "must be a Polygon or MultiPolygon, not a Point"},
      {MakeZone("not a uri", Rect(0, 0, 1, 1)), "the id must be a URI"},
  };
  for (const auto& c : cases) {
    Status st = zones_.Put(c.zone);
    ASSERT_FALSE(st.ok()) << c.reason;
    EXPECT_EQ(st.code(), Code::kBadRequestData);
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << st.message();
  }
  Zone no_room = MakeZone("urn:ngsi-ld:Zone:x", Rect(0, 0, 1, 1));
  no_room.capacity = 0;
  EXPECT_EQ(zones_.Put(no_room).code(), Code::kBadRequestData);
  EXPECT_EQ(zones_.size(), 4u);
  EXPECT_EQ(zones_.Find("urn:ngsi-ld:Zone:district")->parent_id, "");
  EXPECT_EQ(zones_.Find("urn:ngsi-ld:Zone:x"), nullptr);
}

TEST_F(ZoneIndexTest, ReplacingAndRemovingZones) {
  // Moving the grid cell moves its lookups.
  ASSERT_TRUE(zones_.Put(MakeZone("urn:ngsi-ld:Zone:grid", Rect(120.166, 30.256, 120.168, 30.258),
                                  "urn:ngsi-ld:Zone:street")).ok());
  EXPECT_EQ(zones_.ZonesContaining({120.163, 30.253}).size(), 2u);
  EXPECT_EQ(zones_.ZonesContaining({120.167, 30.257}).size(), 3u);
  EXPECT_EQ(zones_.size(), 4u);
  // A parent goes only once its children have.
  EXPECT_EQ(zones_.Remove("urn:ngsi-ld:Zone:street").code(), Code::kConflict);
  EXPECT_TRUE(zones_.Remove("urn:ngsi-ld:Zone:grid").ok());
  EXPECT_TRUE(zones_.Remove("urn:ngsi-ld:Zone:street").ok());
  EXPECT_EQ(zones_.Remove("urn:ngsi-ld:Zone:street").code(), Code::kNotFound);
  EXPECT_EQ(zones_.ZonesContaining({120.167, 30.257}),
            std::vector<std::string>{"urn:ngsi-ld:Zone:district"});
}

TEST(ZoneFromEntityTest, NgsiLdZonesAndTheirErrors) {
  auto parse = [](const std::string& text) -> Result<Zone> {
    auto json = ParseJson(text);
    if (!json.ok()) return json.status();
    auto e = context::ParseEntity(*json);
    if (!e.ok()) return e.status();
    return ZoneIndex::FromEntity(*e);
  };
  auto z = parse(R"({"id":"urn:ngsi-ld:Zone:plaza","type":"Zone",
      "name":{"type":"Property","value":"喷泉广场 Fountain plaza"},
      "capacity":{"type":"Property","value":12000},
      "refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"},
      "location":{"type":"GeoProperty","value":{"type":"MultiPolygon","coordinates":
        [[[[120.16,30.25],[120.17,30.25],[120.17,30.26],[120.16,30.25]]],
         [[[120.18,30.25],[120.19,30.25],[120.19,30.26],[120.18,30.25]]]]}}})");
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_EQ(z->name, JsonValue("喷泉广场 Fountain plaza"));
  EXPECT_EQ(z->parent_id, "urn:ngsi-ld:Zone:hubin");
  EXPECT_EQ(z->capacity, 12000);
  EXPECT_EQ(z->area.type, geo::GeometryType::kMultiPolygon);
  auto named = parse(R"({"id":"urn:ngsi-ld:Zone:hubin","type":"Zone",
      "name":{"type":"LanguageProperty","languageMap":{"zh-CN":"湖滨街道","en":"Hubin sub-district"}},
      "location":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}})");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->name.Find("zh-CN")->as_string(), "湖滨街道");
  EXPECT_NE(parse(R"({"id":"urn:ngsi-ld:Zone:a","type":"Zone","name":5,
      "location":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}})").status().message().find(
                "name must be a text or a LanguageProperty"),
            std::string::npos);
  // Polygons are validated when the entity is parsed: unclosed and self-intersecting rings.
  EXPECT_EQ(parse(R"({"id":"urn:ngsi-ld:Zone:a","type":"Zone","location":{"type":"GeoProperty",
      "value":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}})").status().code(),
            Code::kBadRequestData);
  auto bowtie = parse(R"({"id":"urn:ngsi-ld:Zone:a","type":"Zone","location":{"type":"GeoProperty",
      "value":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}})");
  ASSERT_FALSE(bowtie.ok());
  EXPECT_NE(bowtie.status().message().find("intersect"), std::string::npos)
      << bowtie.status().message();
  EXPECT_NE(parse(R"({"id":"urn:ngsi-ld:Zone:a","type":"Zone"})").status().message().find(
                "location must be a GeoProperty"),
            std::string::npos);
  EXPECT_NE(parse(R"({"id":"urn:ngsi-ld:Zone:a","type":"Zone","refParent":"urn:x:y",
      "location":{"type":"Point","coordinates":[1,1]}})").status().message().find(
                "refParent must be a Relationship"),
            std::string::npos);
}

// Many small zones: the index answers exactly what a scan of every polygon answers.
TEST(ZoneIndexScaleTest, LookupMatchesABruteForceScan) {
  ZoneIndex zones;
  std::vector<Zone> all;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> lon(120.0, 120.4), lat(30.1, 30.4), size(0.001, 0.03);
  for (int i = 0; i < 1000; ++i) {
    const double x = lon(rng), y = lat(rng), w = size(rng), h = size(rng);
    // Triangles as well as rectangles, so the exact test matters inside the boxes.
    geo::Geometry g = i % 2 == 0 ? Rect(x, y, x + w, y + h)
                                 : geo::Geometry::Make(geo::GeometryType::kPolygon,
                                                       {{{{x, y}, {x + w, y}, {x, y + h}, {x, y}}}});
    all.push_back(MakeZone("urn:ngsi-ld:Zone:z" + std::to_string(i), g));
    ASSERT_TRUE(zones.Put(all.back()).ok());
  }
  size_t hits = 0;
  for (int k = 0; k < 2000; ++k) {
    const geo::LonLat p{lon(rng), lat(rng)};
    std::vector<std::string> want;
    for (const Zone& z : all) {
      if (geo::PolygonContains(z.area.parts[0], p)) want.push_back(z.id);
    }
    std::sort(want.begin(), want.end());
    hits += want.size();
    ASSERT_EQ(zones.ZonesContaining(p), want) << p.lon << "," << p.lat;
  }
  EXPECT_GT(hits, 100u);  // the points did land in zones
}

}  // namespace
}  // namespace cb::stream
