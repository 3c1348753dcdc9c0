// Tests for geo/geometry.h: GeoJSON validation, distances, predicates, area, datums.
// Reference distances were computed independently of the code under test: north-south
// distances are R·Δφ exactly; the others use the spherical Vincenty (atan2) formula, not
// haversine. GCJ-02 references come from a separate implementation of the published formula
// and agree with widely published values (Tiananmen 116.3913,39.9075 → 116.39754,39.90890).
#include "geo/geometry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"

namespace cb::geo {
namespace {

constexpr double kR = 6371008.8;
constexpr double kMetrePerDegLat = kR * std::numbers::pi / 180.0;  // 111195.08 m

// Near the West Lake music fountain, Hangzhou.
constexpr LonLat kFountain{120.1630, 30.2590};
constexpr double kDLat500 = 0.00449660181862269;   // 500 m north-south
constexpr double kDLon500 = 0.005205868248132647;  // 500 m east-west at the fountain

Geometry Geo(std::string_view type, std::string_view coords) {
  auto g = GeometryFromQuery(type, coords);
  EXPECT_TRUE(g.ok()) << type << " " << coords << ": " << g.status().message();
  return g.ok() ? std::move(g).value() : Geometry::MakePoint({0, 0});
}

Result<Geometry> FromText(std::string_view json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << json;
  if (!v.ok()) return v.status();
  return GeometryFromGeoJson(*v);
}

std::string Square(double x0, double y0, double x1, double y1) {
  return "[[[" + std::to_string(x0) + "," + std::to_string(y0) + "],[" + std::to_string(x1) + "," +
         std::to_string(y0) + "],[" + std::to_string(x1) + "," + std::to_string(y1) + "],[" +
         std::to_string(x0) + "," + std::to_string(y1) + "],[" + std::to_string(x0) + "," +
         std::to_string(y0) + "]]]";
}

// ---------------------------------------------------------------------------------------------
// Type names

TEST(GeometryType, NamesRoundTrip) {
  for (GeometryType t :
       {GeometryType::kPoint, GeometryType::kMultiPoint, GeometryType::kLineString,
        GeometryType::kMultiLineString, GeometryType::kPolygon, GeometryType::kMultiPolygon}) {
    auto r = GeometryTypeFromName(GeometryTypeName(t));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, t);
  }
}

TEST(GeometryType, UnknownNames) {
  struct Case {
    std::string_view name;
    std::string_view message;
  };
  const Case cases[] = {
      {"point", "unknown geometry type \"point\""},
      {"Circle", "unknown geometry type \"Circle\""},
      {"", "unknown geometry type \"\""},
      {"GeometryCollection", "GeometryCollection is not supported"},
  };
  for (const auto& c : cases) {
    auto r = GeometryTypeFromName(c.name);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), Code::kBadRequestData);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(GeometryFromGeoJson, ValidGeometries) {
  struct Case {
    std::string_view json;
    GeometryType type;
    size_t parts;
    BoundingBox bbox;
  };
  const Case cases[] = {
      {R"({"type":"Point","coordinates":[120.163,30.259]})",
       GeometryType::kPoint,
       1,
       {120.163, 30.259, 120.163, 30.259}},
      {R"({"type":"Point","coordinates":[8,40,120.5]})", GeometryType::kPoint, 1, {8, 40, 8, 40}},
      {R"({"type":"Point","coordinates":[-180,-90]})",
       GeometryType::kPoint,
       1,
       {-180, -90, -180, -90}},
      {R"({"type":"Point","coordinates":[180,90]})", GeometryType::kPoint, 1, {180, 90, 180, 90}},
      {R"({"type":"MultiPoint","coordinates":[[1,2],[3,-4],[0,0,5]]})",
       GeometryType::kMultiPoint,
       3,
       {0, -4, 3, 2}},
      {R"({"type":"LineString","coordinates":[[1,1],[2,3]]})",
       GeometryType::kLineString,
       1,
       {1, 1, 2, 3}},
      {R"({"type":"LineString","coordinates":[[1,1],[1,1]]})",
       GeometryType::kLineString,
       1,
       {1, 1, 1, 1}},
      {R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[5,5],[6,4],[7,9]]]})",
       GeometryType::kMultiLineString,
       2,
       {0, 0, 7, 9}},
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]})",
       GeometryType::kPolygon,
       1,
       {0, 0, 10, 10}},
      // Clockwise, with a hole, with altitudes and a repeated vertex.
      {R"({"type":"Polygon","coordinates":[[[0,0,1],[0,10,1],[10,10,1],[10,0],[10,0],[0,0]],
           [[3,3],[7,3],[7,7],[3,7],[3,3]]]})",
       GeometryType::kPolygon,
       1,
       {0, 0, 10, 10}},
      // A hole touching the outer ring at a vertex, and two holes touching each other.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
           [[0,5],[3,4],[3,6],[0,5]],[[5,5],[7,5],[7,7],[5,7],[5,5]],
           [[7,7],[9,7],[9,9],[7,7]]]})",
       GeometryType::kPolygon,
       1,
       {0, 0, 10, 10}},
      {R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],
           [[[5,5],[6,5],[6,6],[5,5]]]]})",
       GeometryType::kMultiPolygon,
       2,
       {0, 0, 6, 6}},
      // Extra members (bbox, properties) are ignored.
      {R"({"type":"Point","bbox":[1,2,1,2],"coordinates":[1,2],"x":null})",
       GeometryType::kPoint,
       1,
       {1, 2, 1, 2}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto g = FromText(c.json);
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(g->type, c.type);
    EXPECT_EQ(g->parts.size(), c.parts);
    EXPECT_EQ(g->bbox.min_lon, c.bbox.min_lon);
    EXPECT_EQ(g->bbox.min_lat, c.bbox.min_lat);
    EXPECT_EQ(g->bbox.max_lon, c.bbox.max_lon);
    EXPECT_EQ(g->bbox.max_lat, c.bbox.max_lat);
  }
}

TEST(GeometryFromGeoJson, NormalisedLayout) {
  auto mp = FromText(R"({"type":"MultiPoint","coordinates":[[1,2],[3,4]]})");
  ASSERT_TRUE(mp.ok());
  EXPECT_EQ(mp->parts[1][0][0], (LonLat{3, 4}));
  EXPECT_EQ(mp->FirstPoint(), (LonLat{1, 2}));
  auto ml = FromText(R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[5,5],[6,4]]]})");
  ASSERT_TRUE(ml.ok());
  EXPECT_EQ(ml->parts[1][0], (Ring{{5, 5}, {6, 4}}));
  auto p = FromText(R"({"type":"Point","coordinates":[8,40,99]})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, Geometry::MakePoint({8, 40}));  // altitude dropped
}

TEST(GeometryFromGeoJson, ValidationErrors) {
  struct Case {
    std::string_view json;
    std::string_view message;
  };
  const Case cases[] = {
      // Shape of the object.
      {R"([1,2])", "must be an object, got an array"},
      {R"("Point")", "must be an object, got a string"},
      {R"({"coordinates":[1,2]})", "no \"type\" member"},
      {R"({"type":5,"coordinates":[1,2]})", "\"type\" must be a string, got a number"},
      {R"({"type":"Point"})", "no \"coordinates\" member"},
      {R"({"type":"Circle","coordinates":[1,2]})", "unknown geometry type \"Circle\""},
      {R"({"type":"point","coordinates":[1,2]})", "unknown geometry type \"point\""},
      {R"({"type":"GeometryCollection","geometries":[]})", "GeometryCollection is not supported"},
      {R"({"type":"Feature","geometry":null})", "unknown geometry type \"Feature\""},
      // Positions.
      {R"({"type":"Point","coordinates":[200,30]})", "longitude 200 out of range [-180, 180]"},
      {R"({"type":"Point","coordinates":[-180.5,30]})", "longitude -180.5 out of range"},
      {R"({"type":"Point","coordinates":[120,95]})", "latitude 95 out of range [-90, 90]"},
      {R"({"type":"Point","coordinates":[120,-90.01]})", "latitude -90.01 out of range"},
      {R"({"type":"Point","coordinates":["8",40]})",
       "coordinate is not a number (got a string) at coordinates[0]"},
      {R"({"type":"Point","coordinates":[8,null]})", "coordinate is not a number (got null)"},
      {R"({"type":"Point","coordinates":[8,true]})", "coordinate is not a number (got a boolean)"},
      {R"({"type":"Point","coordinates":[8,40,"high"]})", "coordinate is not a number"},
      {R"({"type":"Point","coordinates":[8]})", "a position has 2 or 3 numbers, got 1"},
      {R"({"type":"Point","coordinates":[]})", "a position has 2 or 3 numbers, got 0"},
      {R"({"type":"Point","coordinates":[1,2,3,4]})", "a position has 2 or 3 numbers, got 4"},
      {R"({"type":"Point","coordinates":null})", "expected a position [lon, lat], got null"},
      {R"({"type":"Point","coordinates":{"lon":1}})",
       "expected a position [lon, lat], got an object"},
      {R"({"type":"Point","coordinates":[[8,40]]})",
       "a position has 2 or 3 numbers, got 1 at coordinates"},
      {R"({"type":"Point","coordinates":[[8,40],[1,2]]})",
       "coordinate is not a number (got an array)"},
      // Multi points and lines.
      {R"({"type":"MultiPoint","coordinates":[]})", "MultiPoint has no members"},
      {R"({"type":"MultiPoint","coordinates":[1,2]})",
       "expected a position [lon, lat], got a number"},
      {R"({"type":"MultiPoint","coordinates":[[1,2],[1,200]]})",
       "latitude 200 out of range [-90, 90] at coordinates[1]"},
      {R"({"type":"LineString","coordinates":[[1,2]]})", "line string has fewer than 2 positions"},
      {R"({"type":"LineString","coordinates":[]})", "line string has fewer than 2 positions (0)"},
      {R"({"type":"LineString","coordinates":[1,2]})",
       "expected a position [lon, lat], got a number at coordinates[0]"},
      {R"({"type":"LineString","coordinates":"abc"})",
       "must be an array of positions, got a string"},
      {R"({"type":"LineString","coordinates":[[1,2],[3,"4"]]})",
       "coordinate is not a number (got a string) at coordinates[1][1]"},
      {R"({"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6]]]})",
       "line string has fewer than 2 positions (1) at coordinates[1]"},
      {R"({"type":"MultiLineString","coordinates":[]})", "MultiLineString has no members"},
      {R"({"type":"MultiLineString","coordinates":[[1,2],[3,4]]})",
       "expected a position [lon, lat], got a number at coordinates[0][0]"},
      // Polygons.
      {R"({"type":"Polygon","coordinates":[]})", "a polygon needs at least one ring"},
      {R"({"type":"Polygon","coordinates":5})",
       "a polygon must be an array of rings, got a number"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]})",
       "polygon ring has fewer than 4 positions (3) at coordinates[0]"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]})",
       "polygon ring is not closed"},
      {R"({"type":"Polygon","coordinates":[[0,0],[1,0],[1,1],[0,0]]})",
       "expected a position [lon, lat], got a number at coordinates[0][0]"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0,0],[1,1]]]})",
       "polygon ring has fewer than 4 positions (2) at coordinates[1]"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[0,0],[0,0],[0,0]]]})",
       "polygon ring has fewer than 3 distinct positions"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0],[0,0]]]})",
       "polygon ring has fewer than 3 distinct positions"},
      // Bow tie: edges cross.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,10],[10,0],[0,10],[0,0]]]})",
       "polygon ring is self-intersecting"},
      // Figure eight touching itself at one vertex.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[5,5],[10,10],[0,10],[5,5],[0,0]]]})",
       "polygon ring is self-intersecting"},
      // A spike folding back over the previous edge.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[5,0],[5,5],[0,0]]]})",
       "polygon ring is self-intersecting"},
      // All collinear: zero area.
      {R"({"type":"Polygon","coordinates":[[[0,0],[1,0],[2,0],[0,0]]]})",
       "polygon ring is self-intersecting"},
      // A vertex touching a non-adjacent edge.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[5,0],[0,10],[0,0]]]})",
       "polygon ring is self-intersecting"},
      // Self-intersecting hole.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
           [[2,2],[4,4],[4,2],[2,4],[2,2]]]})",
       "polygon ring is self-intersecting"},
      // Holes outside the outer ring, sticking out of it, crossing it, or overlapping.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
           [[20,20],[22,20],[22,22],[20,22],[20,20]]]})",
       "polygon hole has a position [20, 20] outside the outer ring at coordinates[1]"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
           [[8,2],[12,2],[12,4],[8,4],[8,2]]]})",
       "outside the outer ring at coordinates[1]"},
      // Every vertex of the hole inside or on the outer ring, but an edge crosses it.
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[5,5],[0,10],[0,0]],
           [[2,6.5],[8,6.5],[8,7],[2,7],[2,6.5]]]})",
       "polygon ring 0 crosses ring 1 at coordinates[1]"},
      {R"({"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
           [[2,2],[6,2],[6,6],[2,6],[2,2]],[[4,4],[8,4],[8,8],[4,8],[4,4]]]})",
       "polygon holes overlap"},
      {R"({"type":"MultiPolygon","coordinates":[]})", "MultiPolygon has no members"},
      {R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],
           [[[0,0],[1,0],[1,1],[0,1]]]]})",
       "polygon ring is not closed (first and last positions differ) at coordinates[1][0]"},
      {R"({"type":"MultiPolygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]})",
       "expected a position [lon, lat], got a number at coordinates[0][0][0]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    auto g = FromText(c.json);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), Code::kBadRequestData);
    EXPECT_NE(g.status().message().find(c.message), std::string::npos) << g.status().message();
  }
}

TEST(GeometryFromQuery, Cases) {
  struct Case {
    std::string_view type, coords;
    bool ok;
    std::string_view message;
  };
  const Case cases[] = {
      {"Point", "[8,40]", true, ""},
      {"Point", " [ 120.163 , 30.259 ] ", true, ""},
      {"LineString", "[[8,40],[9,41]]", true, ""},
      {"Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]", true, ""},
      {"MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,1],[0,0]]]]", true, ""},
      {"Point", "[8,", false, "coordinates are not valid JSON"},
      {"Point", "", false, "coordinates are not valid JSON"},
      {"Point", "[200,40]", false, "longitude 200 out of range"},
      {"Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]", false, "polygon ring is not closed"},
      {"Cirlce", "[8,40]", false, "unknown geometry type \"Cirlce\""},
      {"GeometryCollection", "[]", false, "not supported"},
      {"LineString", "[8,40]", false, "expected a position"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.type) + " " + std::string(c.coords));
    auto g = GeometryFromQuery(c.type, c.coords);
    ASSERT_EQ(g.ok(), c.ok) << g.status().message();
    if (!c.ok) {
      EXPECT_EQ(g.status().code(), Code::kBadRequestData);
      EXPECT_NE(g.status().message().find(c.message), std::string::npos) << g.status().message();
    }
  }
  auto q = GeometryFromQuery("Point", "[8,40]");
  auto j = FromText(R"({"type":"Point","coordinates":[8,40]})");
  ASSERT_TRUE(q.ok() && j.ok());
  EXPECT_EQ(*q, *j);
}

TEST(GeometryToGeoJson, RoundTrips) {
  const std::string_view cases[] = {
      R"({"type":"Point","coordinates":[120.163,30.259]})",
      R"({"type":"MultiPoint","coordinates":[[1,2],[3,-4.5]]})",
      R"({"type":"LineString","coordinates":[[1,1],[2,3],[4,4]]})",
      R"({"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[5,5],[6,4],[7,9]]]})",
      R"({"type":"Polygon",)"
      R"("coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[3,3],[7,3],[7,7],[3,7],[3,3]]]})",
      R"({"type":"MultiPolygon",)"
      R"("coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]})",
  };
  for (std::string_view json : cases) {
    SCOPED_TRACE(json);
    auto g = FromText(json);
    ASSERT_TRUE(g.ok()) << g.status().message();
    JsonValue out = GeometryToGeoJson(*g);
    auto in = ParseJson(json);
    ASSERT_TRUE(in.ok());
    EXPECT_EQ(out, *in) << out.Dump();
    auto again = GeometryFromGeoJson(out);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *g);
  }
  // Altitudes are dropped.
  auto g = FromText(R"({"type":"Point","coordinates":[8,40,100]})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(GeometryToGeoJson(*g).Dump(), R"({"type":"Point","coordinates":[8,40]})");
}

// ---------------------------------------------------------------------------------------------
// Distances

TEST(Distance, Haversine) {
  struct Case {
    std::string_view name;
    LonLat a, b;
    double meters, tolerance;
  };
  const Case cases[] = {
      {"same point", kFountain, kFountain, 0, 1e-9},
      {"500 m north", kFountain, {kFountain.lon, kFountain.lat + kDLat500}, 500.0, 1e-6},
      {"500 m south", kFountain, {kFountain.lon, kFountain.lat - kDLat500}, 500.0, 1e-6},
      {"500 m east", kFountain, {kFountain.lon + kDLon500, kFountain.lat}, 500.0, 1e-4},
      {"500 m west", kFountain, {kFountain.lon - kDLon500, kFountain.lat}, 500.0, 1e-4},
      {"north-east diagonal",
       kFountain,
       {kFountain.lon + kDLon500, kFountain.lat + kDLat500},
       707.0986870245455,
       1e-4},
      {"Hangzhou to Shanghai", {120.1551, 30.2741}, {121.4737, 31.2304}, 164874.43778570753, 1e-3},
      {"Beijing to Shanghai", {116.4074, 39.9042}, {121.4737, 31.2304}, 1067311.645158726, 1e-2},
      {"1 degree on the equator", {0, 0}, {1, 0}, 111195.0802335329, 1e-4},
      {"1 degree of latitude", {30, 10}, {30, 11}, kMetrePerDegLat, 1e-6},
      {"half the equator", {0, 0}, {180, 0}, 20015114.442035925, 1e-3},
      {"across the antimeridian", {179.5, 0}, {-179.5, 0}, 111195.0802335329, 1e-4},
      {"pole to pole", {0, 90}, {0, -90}, 20015114.442035925, 1e-3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(DistanceMeters(c.a, c.b), c.meters, c.tolerance);
    EXPECT_NEAR(DistanceMeters(c.b, c.a), c.meters, c.tolerance);
  }
}

TEST(Distance, PointToGeometry) {
  const double lon = kFountain.lon, lat = kFountain.lat;
  // An east-west street 1 km long centred on the fountain.
  const Geometry street =
      Geometry::Make(GeometryType::kLineString, {{{{lon - kDLon500, lat}, {lon + kDLon500, lat}}}});
  // A 1 km square around the fountain with a 400 m square hole in its middle.
  const double h = 0.4;  // hole half-size as a fraction of 500 m
  const Geometry plaza =
      Geometry::Make(GeometryType::kPolygon, {{{{lon - kDLon500, lat - kDLat500},
                                                {lon + kDLon500, lat - kDLat500},
                                                {lon + kDLon500, lat + kDLat500},
                                                {lon - kDLon500, lat + kDLat500},
                                                {lon - kDLon500, lat - kDLat500}},
                                               {{lon - h * kDLon500, lat - h * kDLat500},
                                                {lon + h * kDLon500, lat - h * kDLat500},
                                                {lon + h * kDLon500, lat + h * kDLat500},
                                                {lon - h * kDLon500, lat + h * kDLat500},
                                                {lon - h * kDLon500, lat - h * kDLat500}}}});
  const Geometry kiosks = Geometry::Make(
      GeometryType::kMultiPoint,
      {{{{lon, lat + kDLat500}}}, {{{lon + kDLon500, lat}}}, {{{lon, lat - 2 * kDLat500}}}});

  struct Case {
    std::string_view name;
    const Geometry* g;
    LonLat p;
    double meters, tolerance;
  };
  const Case cases[] = {
      {"on the street", &street, {lon + 0.001, lat}, 0, 1e-6},
      {"300 m north of the street", &street, {lon, lat + 0.6 * kDLat500}, 300, 0.01},
      {"300 m south of the street", &street, {lon + 0.002, lat - 0.6 * kDLat500}, 300, 0.01},
      {"500 m beyond the east end", &street, {lon + 2 * kDLon500, lat}, 500, 0.01},
      {"beyond the west end, 300 m up", &street, {lon - kDLon500, lat + 0.6 * kDLat500}, 300, 0.01},
      {"street end vertex", &street, {lon + kDLon500, lat}, 0, 1e-6},
      {"inside the plaza", &plaza, {lon + 0.6 * kDLon500, lat}, 0, 0},
      {"on the plaza edge", &plaza, {lon + kDLon500, lat}, 0, 0},
      {"on the hole edge", &plaza, {lon + h * kDLon500, lat}, 0, 0},
      {"in the hole, 100 m from its edge", &plaza, {lon + 0.2 * kDLon500, lat}, 100, 0.01},
      {"300 m north of the plaza", &plaza, {lon, lat + 1.6 * kDLat500}, 300, 0.01},
      {"the fountain to the nearest kiosk", &kiosks, kFountain, 500, 1e-3},
      {"a kiosk itself", &kiosks, {lon + kDLon500, lat}, 0, 1e-9},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(DistanceMeters(*c.g, c.p), c.meters, c.tolerance);
  }
  const Geometry point = Geometry::MakePoint(kFountain);
  EXPECT_NEAR(DistanceMeters(point, {lon, lat + kDLat500}), 500, 1e-6);
}

TEST(Distance, GeometryToGeometry) {
  const double lon = kFountain.lon, lat = kFountain.lat;
  auto box = [&](double x0, double y0, double x1, double y1) {  // in units of 500 m
    return Geometry::Make(GeometryType::kPolygon, {{{{lon + x0 * kDLon500, lat + y0 * kDLat500},
                                                     {lon + x1 * kDLon500, lat + y0 * kDLat500},
                                                     {lon + x1 * kDLon500, lat + y1 * kDLat500},
                                                     {lon + x0 * kDLon500, lat + y1 * kDLat500},
                                                     {lon + x0 * kDLon500, lat + y0 * kDLat500}}}});
  };
  auto line = [&](double x0, double y0, double x1, double y1) {
    return Geometry::Make(GeometryType::kLineString,
                          {{{{lon + x0 * kDLon500, lat + y0 * kDLat500},
                             {lon + x1 * kDLon500, lat + y1 * kDLat500}}}});
  };
  auto point = [&](double x, double y) {
    return Geometry::MakePoint({lon + x * kDLon500, lat + y * kDLat500});
  };
  struct Case {
    std::string_view name;
    Geometry a, b;
    double meters, tolerance;
  };
  const Case cases[] = {
      {"boxes 500 m apart", box(0, 0, 1, 1), box(2, 0, 3, 1), 500, 0.05},
      {"boxes 500 m apart north", box(0, 0, 1, 1), box(0, 2, 1, 3), 500, 0.05},
      {"overlapping boxes", box(0, 0, 2, 2), box(1, 1, 3, 3), 0, 0},
      {"box inside box", box(0, 0, 4, 4), box(1, 1, 2, 2), 0, 0},
      {"line 250 m from box", box(0, 0, 1, 1), line(1.5, -1, 1.5, 2), 250, 0.05},
      {"line crossing box", box(0, 0, 1, 1), line(-1, 0.5, 2, 0.5), 0, 0},
      {"parallel lines 500 m apart", line(0, 0, 2, 0), line(0, 1, 2, 1), 500, 0.01},
      {"crossing lines", line(0, 0, 2, 2), line(0, 2, 2, 0), 0, 0},
      {"point to box", point(0.5, 2), box(0, 0, 1, 1), 500, 0.01},
      {"point in box", point(0.5, 0.5), box(0, 0, 1, 1), 0, 0},
      {"point to point", point(0, 0), point(0, 1), 500, 1e-6},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(DistanceMeters(c.a, c.b), c.meters, c.tolerance);
    EXPECT_NEAR(DistanceMeters(c.b, c.a), c.meters, c.tolerance);
  }
}

// ---------------------------------------------------------------------------------------------
// Point in polygon

// NearbyDistance's bounds hold the haversine distance for random points around centres at
// many latitudes, including at its reach; it declines far points and polar centres.
TEST(Distance, NearbyBoundsHoldTheHaversineDistance) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (double lat : {-80.0, -60.0, -30.0, 0.0, 0.3, 30.25, 45.0, 66.0, 79.9, 80.0}) {
    for (double lon : {-179.9, -20.0, 0.0, 120.16, 179.9}) {
      const LonLat c{lon, lat};
      NearbyDistance nd(c);
      for (int i = 0; i < 2000; ++i) {
        // Mostly within a few hundred metres, some up to and past the reach.
        const double scale = i % 4 == 0 ? 0.35 : 0.01;
        const LonLat p{std::clamp(lon + unit(rng) * scale, -180.0, 180.0),
                       std::clamp(lat + unit(rng) * scale / 5, -90.0, 90.0)};
        double lo = 0, hi = 0;
        if (!nd.Bounds(p, &lo, &hi)) continue;
        const double d = DistanceMeters(c, p);
        ASSERT_LE(lo, d) << lat << "," << lon << " to " << p.lat << "," << p.lon;
        ASSERT_GE(hi, d) << lat << "," << lon << " to " << p.lat << "," << p.lon;
        // And they are tight enough to settle most candidates.
        ASSERT_LE(hi - lo, 0.05 * d + 2.0);
      }
      double lo, hi;
      EXPECT_TRUE(nd.Bounds(c, &lo, &hi));
      EXPECT_LE(lo, 0);
      EXPECT_GE(hi, 0);
      EXPECT_FALSE(nd.Bounds({lon, lat + (lat > 0 ? -0.06 : 0.06)}, &lo, &hi));  // too far
    }
  }
  double lo, hi;
  EXPECT_FALSE(NearbyDistance({0, 85}).Bounds({0, 85.001}, &lo, &hi));  // near a pole
  EXPECT_FALSE(NearbyDistance({0, -80.01}).Bounds({0, -80.01}, &lo, &hi));
  EXPECT_FALSE(NearbyDistance({0, 30}).Bounds({NAN, 30}, &lo, &hi));
}

TEST(PolygonContains, WithHolesAndBoundary) {
  // 10 x 10 square with a 4 x 4 hole in the middle, and a concave "U" shape.
  const PolygonRings donut = {{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}},
                              {{3, 3}, {7, 3}, {7, 7}, {3, 7}, {3, 3}}};
  const PolygonRings u = {
      {{0, 0}, {10, 0}, {10, 10}, {7, 10}, {7, 3}, {3, 3}, {3, 10}, {0, 10}, {0, 0}}};
  const PolygonRings triangle = {
      {{120.10, 30.20}, {120.20, 30.20}, {120.15, 30.30}, {120.10, 30.20}}};
  struct Case {
    std::string_view name;
    const PolygonRings* poly;
    LonLat p;
    bool inside;
  };
  const Case cases[] = {
      {"interior", &donut, {1, 1}, true},
      {"interior near hole", &donut, {2.999, 5}, true},
      {"in the hole", &donut, {5, 5}, false},
      {"just inside the hole", &donut, {3.001, 5}, false},
      {"on the outer edge", &donut, {10, 5}, true},
      {"on the bottom edge", &donut, {5, 0}, true},
      {"outer corner", &donut, {0, 0}, true},
      {"opposite corner", &donut, {10, 10}, true},
      {"on the hole edge", &donut, {3, 5}, true},
      {"hole corner", &donut, {7, 7}, true},
      {"outside left", &donut, {-0.001, 5}, false},
      {"outside above", &donut, {5, 10.001}, false},
      {"far away", &donut, {100, 50}, false},
      {"level with vertices, outside", &donut, {-5, 3}, false},
      {"level with vertices, inside", &donut, {1, 3}, true},
      {"U left arm", &u, {1, 9}, true},
      {"U notch", &u, {5, 9}, false},
      {"U notch bottom edge", &u, {5, 3}, true},
      {"U base", &u, {5, 1}, true},
      {"U inner corner", &u, {3, 3}, true},
      {"U notch top (open)", &u, {5, 10}, false},
      {"triangle centre", &triangle, {120.15, 30.23}, true},
      {"triangle apex", &triangle, {120.15, 30.30}, true},
      {"triangle slanted edge", &triangle, {120.125, 30.25}, true},
      {"beside the apex", &triangle, {120.16, 30.29}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(PolygonContains(*c.poly, c.p), c.inside);
  }
}

// ---------------------------------------------------------------------------------------------
// Predicates

struct PredicateCase {
  std::string_view expected;  // "IWCEO" flags, "." for false
  std::string_view name;
  std::string_view a_type, a_coords, b_type, b_coords;
};

constexpr std::string_view kSquare = "[[[0,0],[10,0],[10,10],[0,10],[0,0]]]";
constexpr std::string_view kDonut =
    "[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[3,3],[7,3],[7,7],[3,7],[3,3]]]";
constexpr std::string_view kU = "[[[0,0],[10,0],[10,10],[7,10],[7,3],[3,3],[3,10],[0,10],[0,0]]]";
// Four bars framing an empty 1 x 1 gap at [1,2] x [1,2].
constexpr std::string_view kFrame =
    "[[[[0,0],[3,0],[3,1],[0,1],[0,0]]],[[[0,2],[3,2],[3,3],[0,3],[0,2]]],"
    "[[[0,1],[1,1],[1,2],[0,2],[0,1]]],[[[2,1],[3,1],[3,2],[2,2],[2,1]]]]";

// clang-format off
// Expected results as "IWCEO": Intersects, Within(a, b), Contains(a, b), Equals, Overlaps;
// "." for false.
const PredicateCase kPredicateCases[] = {
    // Point / point.
    {"IWCE.", "same point", "Point", "[5,5]", "Point", "[5,5]"},
    {".....", "different points", "Point", "[5,5]", "Point", "[5,6]"},
    {"IW...", "point in multipoint", "Point", "[5,5]", "MultiPoint", "[[5,5],[6,6]]"},
    {"I...O", "multipoints sharing one",
     "MultiPoint", "[[5,5],[7,7]]", "MultiPoint", "[[5,5],[6,6]]"},
    {"IWCE.", "multipoints, same set",
     "MultiPoint", "[[5,5],[6,6]]", "MultiPoint", "[[6,6],[5,5],[5,5]]"},
    {"IWCE.", "point equals one-point multipoint", "Point", "[1,2]", "MultiPoint", "[[1,2]]"},
    // Point / line.
    {"IW...", "point on line", "Point", "[5,5]", "LineString", "[[0,0],[10,10]]"},
    {".....", "point off line", "Point", "[5,6]", "LineString", "[[0,0],[10,10]]"},
    {"IW...", "point at line end", "Point", "[10,10]", "LineString", "[[0,0],[10,10]]"},
    {".....", "point beyond line end", "Point", "[11,11]", "LineString", "[[0,0],[10,10]]"},
    {"IW...", "point on second line",
     "Point", "[6,0]", "MultiLineString", "[[[0,1],[1,1]],[[5,0],[7,0]]]"},
    {"I.C..", "line contains its vertex", "LineString", "[[0,0],[5,0],[10,5]]", "Point", "[5,0]"},
    {"IWCE.", "zero-length line equals point", "LineString", "[[3,3],[3,3]]", "Point", "[3,3]"},
    // Point / polygon.
    {"IW...", "point in square", "Point", "[5,5]", "Polygon", kSquare},
    {"IW...", "point on square edge", "Point", "[0,5]", "Polygon", kSquare},
    {"IW...", "point at square corner", "Point", "[10,10]", "Polygon", kSquare},
    {".....", "point outside square", "Point", "[11,5]", "Polygon", kSquare},
    {".....", "point in the hole", "Point", "[5,5]", "Polygon", kDonut},
    {"IW...", "point on the hole edge", "Point", "[3,5]", "Polygon", kDonut},
    {".....", "point in the U notch", "Point", "[5,8]", "Polygon", kU},
    {"IW...", "point in second polygon", "Point", "[1.5,2.5]", "MultiPolygon", kFrame},
    {".....", "point in the frame gap", "Point", "[1.5,1.5]", "MultiPolygon", kFrame},
    {"I....", "multipoint half inside", "MultiPoint", "[[5,5],[15,5]]", "Polygon", kSquare},
    {"I.C..", "square contains multipoint", "Polygon", kSquare, "MultiPoint", "[[5,5],[10,5]]"},
    // Line / line.
    {"I....", "crossing lines", "LineString", "[[0,0],[10,10]]", "LineString", "[[0,10],[10,0]]"},
    {"I...O", "collinear overlap",
     "LineString", "[[0,0],[10,10]]", "LineString", "[[5,5],[15,15]]"},
    {"IWCE.", "same line, extra vertex",
     "LineString", "[[0,0],[10,10]]", "LineString", "[[0,0],[5,5],[10,10]]"},
    {"IWCE.", "reversed line", "LineString", "[[0,0],[10,10]]", "LineString", "[[10,10],[0,0]]"},
    {"IW...", "sub-line", "LineString", "[[2,2],[4,4]]", "LineString", "[[0,0],[10,10]]"},
    {".....", "parallel lines", "LineString", "[[0,0],[10,0]]", "LineString", "[[0,1],[10,1]]"},
    {"I....", "lines touching at ends",
     "LineString", "[[0,0],[5,0]]", "LineString", "[[5,0],[10,5]]"},
    {"I....", "T junction", "LineString", "[[0,0],[10,0]]", "LineString", "[[5,0],[5,5]]"},
    {"IWCE.", "line equals its two halves",
     "LineString", "[[0,0],[10,0]]", "MultiLineString", "[[[0,0],[5,0]],[[5,0],[10,0]]]"},
    {"I.C..", "line vs halves with a gap",
     "LineString", "[[0,0],[10,0]]", "MultiLineString", "[[[0,0],[4,0]],[[6,0],[10,0]]]"},
    {"I...O", "bent lines sharing a leg",
     "LineString", "[[0,0],[5,0],[5,5]]", "LineString", "[[0,5],[0,0],[5,0]]"},
    // Line / polygon.
    {"IW...", "line inside square", "LineString", "[[1,1],[9,9]]", "Polygon", kSquare},
    {"IW...", "line along square edge", "LineString", "[[0,0],[10,0]]", "Polygon", kSquare},
    {"I....", "line leaving square", "LineString", "[[5,5],[15,5]]", "Polygon", kSquare},
    {".....", "line beside square", "LineString", "[[11,0],[11,10]]", "Polygon", kSquare},
    {"I....", "line through square", "LineString", "[[-1,5],[11,5]]", "Polygon", kSquare},
    {"I....", "line touching a corner", "LineString", "[[10,10],[12,12]]", "Polygon", kSquare},
    {".....", "line in the hole", "LineString", "[[4,5],[6,5]]", "Polygon", kDonut},
    {"I....", "line across the hole", "LineString", "[[1,5],[9,5]]", "Polygon", kDonut},
    {"IW...", "line beside the hole", "LineString", "[[1,1],[2,1]]", "Polygon", kDonut},
    {"I....", "line across the U notch", "LineString", "[[1,9],[9,9]]", "Polygon", kU},
    {"I....", "line across the notch mouth", "LineString", "[[3,10],[7,10]]", "Polygon", kU},
    {"IW...", "line along the notch bottom", "LineString", "[[1,3],[9,3]]", "Polygon", kU},
    {"IW...", "line across the U base", "LineString", "[[1,2],[9,2]]", "Polygon", kU},
    {"I....", "line across the frame gap",
     "LineString", "[[0.5,1.5],[2.5,1.5]]", "MultiPolygon", kFrame},
    {"IW...", "line along frame bars",
     "LineString", "[[0.5,0.5],[2.5,0.5],[2.5,2.5]]", "MultiPolygon", kFrame},
    {"I.C..", "square contains line", "Polygon", kSquare, "LineString", "[[1,1],[9,1]]"},
    // Polygon / polygon.
    {"IWCE.", "same square", "Polygon", kSquare, "Polygon", kSquare},
    {"IWCE.", "same square, reversed from another corner",
     "Polygon", kSquare, "Polygon", "[[[10,10],[10,0],[0,0],[0,10],[10,10]]]"},
    {"IW...", "small square inside",
     "Polygon", "[[[2,2],[4,2],[4,4],[2,4],[2,2]]]", "Polygon", kSquare},
    {"I...O", "overlapping squares",
     "Polygon", kSquare, "Polygon", "[[[5,5],[15,5],[15,15],[5,15],[5,5]]]"},
    {"I....", "squares sharing an edge",
     "Polygon", kSquare, "Polygon", "[[[10,0],[20,0],[20,10],[10,10],[10,0]]]"},
    {"I....", "squares sharing a corner",
     "Polygon", kSquare, "Polygon", "[[[10,10],[20,10],[20,20],[10,20],[10,10]]]"},
    {".....", "squares apart",
     "Polygon", kSquare, "Polygon", "[[[11,0],[20,0],[20,10],[11,10],[11,0]]]"},
    {"I.C..", "strip along an edge inside",
     "Polygon", kSquare, "Polygon", "[[[0,0],[2,0],[2,10],[0,10],[0,0]]]"},
    {"I...O", "overlap with collinear edges",
     "Polygon", "[[[0,0],[2,0],[2,2],[0,2],[0,0]]]",
     "Polygon", "[[[1,0],[3,0],[3,2],[1,2],[1,0]]]"},
    {".....", "square in the hole",
     "Polygon", "[[[4,4],[6,4],[6,6],[4,6],[4,4]]]", "Polygon", kDonut},
    {"I...O", "square covering the hole",
     "Polygon", "[[[2,2],[8,2],[8,8],[2,8],[2,2]]]", "Polygon", kDonut},
    {"IW...", "donut within square", "Polygon", kDonut, "Polygon", kSquare},
    {"IW...", "square beside the hole",
     "Polygon", "[[[1,1],[2,1],[2,2],[1,2],[1,1]]]", "Polygon", kDonut},
    {"I....", "polygon filling the hole",
     "Polygon", "[[[3,3],[7,3],[7,7],[3,7],[3,3]]]", "Polygon", kDonut},
    {"I....", "polygon filling the notch",
     "Polygon", "[[[3,3],[7,3],[7,10],[3,10],[3,3]]]", "Polygon", kU},
    {".....", "square in the notch", "Polygon", "[[[4,5],[6,5],[6,9],[4,9],[4,5]]]", "Polygon", kU},
    {"I...O", "square over the notch",
     "Polygon", "[[[2,1],[8,1],[8,5],[2,5],[2,1]]]", "Polygon", kU},
    {"IW...", "two squares within a strip",
     "MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,1],[0,0]]]," "[[[2,0],[3,0],[3,1],[2,1],[2,0]]]]",
     "Polygon", "[[[0,0],[3,0],[3,1],[0,1],[0,0]]]"},
    {"I.C..", "square over the frame gap",
     "Polygon", "[[[0,0],[3,0],[3,3],[0,3],[0,0]]]", "MultiPolygon", kFrame},
    {"IW...", "small square in a frame bar",
     "Polygon", "[[[0.2,0.2],[0.8,0.2],[0.8,0.8],[0.2,0.8],[0.2,0.2]]]", "MultiPolygon", kFrame},
    {"I...O", "multipolygons sharing one part",
     "MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,6],[5,5]]]]",
     "MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[8,8],[9,8],[9,9],[8,9],[8,8]]]]"},
    // Mixed dimensions never overlap.
    {"I....", "polygon vs line", "Polygon", kSquare, "LineString", "[[5,5],[15,5]]"},
    {"I.C..", "triangle contains its edge",
     "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "LineString", "[[0,0],[1,0]]"},
};
// clang-format on

TEST(Predicates, Table) {
  for (const auto& c : kPredicateCases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.expected.size(), 5u);
    const bool intersects = c.expected[0] == 'I', within = c.expected[1] == 'W';
    const bool contains = c.expected[2] == 'C', equals = c.expected[3] == 'E';
    const bool overlaps = c.expected[4] == 'O';
    const Geometry a = Geo(c.a_type, c.a_coords);
    const Geometry b = Geo(c.b_type, c.b_coords);
    EXPECT_EQ(Intersects(a, b), intersects) << "Intersects(a, b)";
    EXPECT_EQ(Intersects(b, a), intersects) << "Intersects(b, a)";
    EXPECT_EQ(Disjoint(a, b), !intersects) << "Disjoint(a, b)";
    EXPECT_EQ(Disjoint(b, a), !intersects) << "Disjoint(b, a)";
    EXPECT_EQ(Within(a, b), within) << "Within(a, b)";
    EXPECT_EQ(Contains(b, a), within) << "Contains(b, a)";
    EXPECT_EQ(Contains(a, b), contains) << "Contains(a, b)";
    EXPECT_EQ(Within(b, a), contains) << "Within(b, a)";
    EXPECT_EQ(Equals(a, b), equals) << "Equals(a, b)";
    EXPECT_EQ(Equals(b, a), equals) << "Equals(b, a)";
    EXPECT_EQ(Overlaps(a, b), overlaps) << "Overlaps(a, b)";
    EXPECT_EQ(Overlaps(b, a), overlaps) << "Overlaps(b, a)";
    // Consistency with distances.
    if (intersects) {
      EXPECT_EQ(DistanceMeters(a, b), 0);
    } else {
      EXPECT_GT(DistanceMeters(a, b), 0);
    }
  }
}

TEST(Predicates, EveryGeometryEqualsItself) {
  for (const auto& c : kPredicateCases) {
    SCOPED_TRACE(c.name);
    const Geometry a = Geo(c.a_type, c.a_coords);
    EXPECT_TRUE(Equals(a, a));
    EXPECT_TRUE(Within(a, a));
    EXPECT_TRUE(Intersects(a, a));
    EXPECT_FALSE(Overlaps(a, a));
  }
}

TEST(Predicates, CityScaleZones) {
  // Two district-sized zones near West Lake (about 1 km across) and sensors around them.
  const Geometry lake_zone = Geo("Polygon",
                                 "[[[120.140,30.240],[120.160,30.240],[120.160,30.260],"
                                 "[120.140,30.260],[120.140,30.240]]]");
  const Geometry station_zone = Geo("Polygon",
                                    "[[[120.155,30.255],[120.175,30.255],[120.175,30.275],"
                                    "[120.155,30.275],[120.155,30.255]]]");
  const Geometry sensor = Geo("Point", "[120.150,30.250]");
  const Geometry both = Geo("Point", "[120.158,30.258]");
  EXPECT_TRUE(Within(sensor, lake_zone));
  EXPECT_FALSE(Within(sensor, station_zone));
  EXPECT_TRUE(Within(both, lake_zone));
  EXPECT_TRUE(Within(both, station_zone));
  EXPECT_TRUE(Overlaps(lake_zone, station_zone));
  EXPECT_NEAR(DistanceMeters(station_zone, sensor.FirstPoint()),
              DistanceMeters(LonLat{120.150, 30.250}, LonLat{120.155, 30.255}), 0.5);
}

TEST(Predicates, LargeCircularZone) {
  // A 1 km-radius zone around the fountain drawn with 20,000 vertices.
  constexpr int kN = 20000;
  Ring ring;
  for (int i = 0; i < kN; ++i) {
    const double a = 2 * std::numbers::pi * i / kN;
    ring.push_back(
        {kFountain.lon + 2 * kDLon500 * std::cos(a), kFountain.lat + 2 * kDLat500 * std::sin(a)});
  }
  ring.push_back(ring.front());
  JsonValue coords = JsonValue::MakeArray();
  JsonValue json_ring = JsonValue::MakeArray();
  for (const LonLat& p : ring) json_ring.Push(JsonValue(JsonValue::Array{p.lon, p.lat}));
  coords.Push(json_ring);
  JsonValue geojson = JsonValue::MakeObject();
  geojson.Set("type", "Polygon");
  geojson.Set("coordinates", coords);
  auto zone = GeometryFromGeoJson(geojson);
  ASSERT_TRUE(zone.ok()) << zone.status().message();
  EXPECT_NEAR(AreaSquareMeters(*zone), std::numbers::pi * 1000 * 1000, 1000);
  EXPECT_TRUE(Intersects(*zone, Geometry::MakePoint(kFountain)));
  EXPECT_TRUE(Within(Geometry::MakePoint({kFountain.lon, kFountain.lat + 1.9 * kDLat500}), *zone));
  EXPECT_FALSE(Within(Geometry::MakePoint({kFountain.lon, kFountain.lat + 2.1 * kDLat500}), *zone));
  EXPECT_NEAR(DistanceMeters(*zone, {kFountain.lon, kFountain.lat + 3 * kDLat500}), 500, 0.1);

  // Swap two vertices far apart: the ring now crosses itself.
  std::swap(json_ring.as_array()[100], json_ring.as_array()[10100]);
  geojson.Set("coordinates", JsonValue(JsonValue::Array{json_ring}));
  auto bad = GeometryFromGeoJson(geojson);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("self-intersecting"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Area and boxes

TEST(Area, Cases) {
  const double lon = kFountain.lon, lat = kFountain.lat;
  struct Case {
    std::string_view name;
    Geometry g;
    double m2, tolerance;
  };
  const Case cases[] = {
      {"point", Geometry::MakePoint(kFountain), 0, 0},
      {"line", Geo("LineString", "[[0,0],[1,1]]"), 0, 0},
      // R²·Δλ·(sin φ₂ − sin φ₁) for latitude/longitude rectangles.
      {"0.01 degree cell at 30N", Geo("Polygon", Square(120, 30, 120.01, 30.01)),
       1070729.8072269696, 1e-3},
      {"1 degree cell at the equator", Geo("Polygon", Square(0, 0, 1, 1)), 12363718145.180046, 10},
      {"clockwise ring", Geo("Polygon", "[[[0,0],[0,1],[1,1],[1,0],[0,0]]]"), 12363718145.180046,
       10},
      {"1 km square at the fountain",
       Geometry::Make(GeometryType::kPolygon, {{{{lon - kDLon500, lat - kDLat500},
                                                 {lon + kDLon500, lat - kDLat500},
                                                 {lon + kDLon500, lat + kDLat500},
                                                 {lon - kDLon500, lat + kDLat500},
                                                 {lon - kDLon500, lat - kDLat500}}}}),
       1e6, 1.0},
      {"two cells",
       Geo("MultiPolygon",
           // (append, not "[" + …: GCC 12 warns falsely, -Wrestrict, on that prepend)
           std::string("[").append(Square(120, 30, 120.01, 30.01)).append(",")
               .append(Square(121, 30, 121.01, 30.01)).append("]")),
       2 * 1070729.8072269696, 2e-3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(AreaSquareMeters(c.g), c.m2, c.tolerance);
  }
  const double donut = AreaSquareMeters(Geo("Polygon", kDonut));
  const double square = AreaSquareMeters(Geo("Polygon", kSquare));
  const double hole = AreaSquareMeters(Geo("Polygon", "[[[3,3],[7,3],[7,7],[3,7],[3,3]]]"));
  EXPECT_NEAR(donut, square - hole, 1);
  EXPECT_NEAR(hole / square, 0.16, 0.01);
}

TEST(BoundingBox, Expanded) {
  struct Case {
    std::string_view name;
    BoundingBox in;
    double meters;
    BoundingBox out;
    double tolerance;
  };
  const Case cases[] = {
      {"500 m around the fountain",
       {kFountain.lon, kFountain.lat, kFountain.lon, kFountain.lat},
       500,
       {kFountain.lon - kDLon500, kFountain.lat - kDLat500, kFountain.lon + kDLon500,
        kFountain.lat + kDLat500},
       2e-6},  // longitude uses the latitude 500 m further from the equator
      {"zero", {1, 2, 3, 4}, 0, {1, 2, 3, 4}, 0},
      {"negative is zero", {1, 2, 3, 4}, -10, {1, 2, 3, 4}, 0},
      {"one degree at the equator", {0, 0, 0, 0}, kMetrePerDegLat, {-1, -1, 1, 1}, 1e-3},
      {"clamped at the north pole", {10, 89.999, 11, 90}, 1000, {-180, 89.99, 180, 90}, 1e-4},
      {"clamped at the antimeridian",
       {179.999, 0, 180, 1},
       1000,
       {179.99, -0.009, 180, 1.009},
       1e-3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const BoundingBox b = c.in.Expanded(c.meters);
    EXPECT_NEAR(b.min_lon, c.out.min_lon, c.tolerance);
    EXPECT_NEAR(b.min_lat, c.out.min_lat, c.tolerance);
    EXPECT_NEAR(b.max_lon, c.out.max_lon, c.tolerance);
    EXPECT_NEAR(b.max_lat, c.out.max_lat, c.tolerance);
  }
  // Every point within 500 m of the fountain falls in its expanded box.
  const BoundingBox box =
      BoundingBox{kFountain.lon, kFountain.lat, kFountain.lon, kFountain.lat}.Expanded(500);
  for (int deg = 0; deg < 360; deg += 15) {
    const double a = deg * std::numbers::pi / 180;
    const LonLat p{kFountain.lon + 0.999 * kDLon500 * std::cos(a),
                   kFountain.lat + 0.999 * kDLat500 * std::sin(a)};
    EXPECT_LT(DistanceMeters(kFountain, p), 500);
    EXPECT_TRUE(box.Contains(p)) << deg;
  }
}

// ---------------------------------------------------------------------------------------------
// Datums

TEST(Datum, Gcj02KnownValues) {
  struct Case {
    std::string_view name;
    LonLat wgs, gcj;
    double offset_m;
  };
  const Case cases[] = {
      {"West Lake fountain, Hangzhou", kFountain, {120.16767005896922, 30.256655473766937}, 518.80},
      {"Tiananmen, Beijing", {116.3913, 39.9075}, {116.39754118159271, 39.90890127616531}, 554.68},
      {"People's Square, Shanghai",
       {121.4737, 31.2304},
       {121.47822305927693, 31.22845773757727},
       481.25},
      {"Shenzhen", {114.0579, 22.5431}, {114.06301399856547, 22.54038281422246}, 605.91},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const LonLat g = Wgs84ToGcj02(c.wgs);
    EXPECT_NEAR(g.lon, c.gcj.lon, 1e-9);
    EXPECT_NEAR(g.lat, c.gcj.lat, 1e-9);
    // The famous "several hundred metres" shift.
    EXPECT_NEAR(DistanceMeters(c.wgs, g), c.offset_m, 0.01);
    EXPECT_GT(DistanceMeters(c.wgs, g), 100);
    EXPECT_LT(DistanceMeters(c.wgs, g), 1000);
  }
}

TEST(Datum, Bd09KnownValue) {
  const LonLat bd = Wgs84ToBd09(kFountain);
  EXPECT_NEAR(bd.lon, 120.17425741032204, 1e-9);
  EXPECT_NEAR(bd.lat, 30.26237126361145, 1e-9);
  EXPECT_EQ(bd, Gcj02ToBd09(Wgs84ToGcj02(kFountain)));
}

TEST(Datum, RoundTripsAcrossChina) {
  // A grid over mainland China, plus Hangzhou.
  std::vector<LonLat> points = {
      kFountain, {120.2, 30.3}, {87.6, 43.8}, {126.6, 45.8}, {110.3, 20.0}};
  for (double lon = 75; lon <= 134; lon += 7.3) {
    for (double lat = 19; lat <= 53; lat += 4.1) points.push_back({lon, lat});
  }
  for (const LonLat p : points) {
    SCOPED_TRACE(testing::Message() << p.lon << "," << p.lat);
    const LonLat gcj = Wgs84ToGcj02(p);
    EXPECT_GT(DistanceMeters(p, gcj), 1);
    EXPECT_LT(DistanceMeters(Gcj02ToWgs84(gcj), p), 0.5);
    EXPECT_LT(DistanceMeters(Gcj02ToWgs84(gcj), p), 0.001);  // in practice far better
    const LonLat bd = Gcj02ToBd09(gcj);
    EXPECT_LT(DistanceMeters(Bd09ToGcj02(bd), gcj), 0.5);
    EXPECT_LT(DistanceMeters(Bd09ToWgs84(bd), p), 0.5);
    EXPECT_LT(DistanceMeters(Bd09ToWgs84(Wgs84ToBd09(p)), p), 0.5);
  }
}

TEST(Datum, UnchangedOutsideChina) {
  const LonLat cases[] = {
      {139.6917, 35.6895},   // Tokyo
      {-0.1276, 51.5072},    // London
      {-74.0060, 40.7128},   // New York
      {151.2093, -33.8688},  // Sydney
      {8.5417, 47.3769},     // Zurich
      {71.9, 30.0},          // just west of the box
      {120.0, 56.0},         // just north of the box
      {180, 0},
  };
  for (const LonLat p : cases) {
    SCOPED_TRACE(testing::Message() << p.lon << "," << p.lat);
    EXPECT_EQ(Wgs84ToGcj02(p), p);
    EXPECT_EQ(Gcj02ToWgs84(p), p);
    // BD-09 is defined on top of GCJ-02 and still shifts, but round-trips.
    EXPECT_LT(DistanceMeters(Bd09ToWgs84(Wgs84ToBd09(p)), p), 0.5);
  }
}

}  // namespace
}  // namespace cb::geo
