// GeoJSON geometries on WGS84 and the spatial predicates NGSI-LD geo-queries need
// (near, within, contains, intersects, equals, disjoint, overlaps), plus GCJ-02/BD-09
// conversion for Chinese devices. Coordinates are [lon, lat] like GeoJSON.
// Thread-safety: all types are values; all functions are pure.
#pragma once

#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace cb::geo {

struct LonLat {
  double lon = 0;
  double lat = 0;
  bool operator==(const LonLat&) const = default;
};

struct BoundingBox {
  double min_lon = 0, min_lat = 0, max_lon = 0, max_lat = 0;
  bool operator==(const BoundingBox&) const = default;
  bool Intersects(const BoundingBox& o) const {
    return min_lon <= o.max_lon && o.min_lon <= max_lon && min_lat <= o.max_lat &&
           o.min_lat <= max_lat;
  }
  bool Contains(LonLat p) const {
    return p.lon >= min_lon && p.lon <= max_lon && p.lat >= min_lat && p.lat <= max_lat;
  }
  // The box grown by `meters` on every side (approximate, on the sphere).
  BoundingBox Expanded(double meters) const;
};

enum class GeometryType {
  kPoint,
  kMultiPoint,
  kLineString,
  kMultiLineString,
  kPolygon,
  kMultiPolygon
};

std::string_view GeometryTypeName(GeometryType t);
// Parses a GeoJSON type name ("Point", ...); error for anything else.
Result<GeometryType> GeometryTypeFromName(std::string_view name);

using Ring = std::vector<LonLat>;        // a closed ring repeats its first point last
using PolygonRings = std::vector<Ring>;  // outer ring first, then holes

// One geometry. Points, lines and polygons are normalised into `polygons`-shaped parts:
//  - Point: parts[0][0][0]; MultiPoint: parts[i][0][0]
//  - LineString: parts[0][0]; MultiLineString: parts[i][0]
//  - Polygon: parts[0] (rings); MultiPolygon: parts[i]
struct Geometry {
  GeometryType type = GeometryType::kPoint;
  std::vector<PolygonRings> parts;
  BoundingBox bbox;

  static Geometry MakePoint(LonLat p);
  // A geometry from already-normalised parts, with its bbox computed (no validation). The
  // predicates rely on bbox, so build geometries with these factories or GeometryFromGeoJson.
  static Geometry Make(GeometryType type, std::vector<PolygonRings> parts);
  // First coordinate (the point of a Point); used as a representative location.
  LonLat FirstPoint() const { return parts[0][0][0]; }
  bool operator==(const Geometry& o) const { return type == o.type && parts == o.parts; }
};

// The bounding box of all positions of `parts` (all zero when there are none).
BoundingBox ComputeBoundingBox(const std::vector<PolygonRings>& parts);

// Validates and converts a GeoJSON geometry object: known type, coordinates in range
// (lon −180..180, lat −90..90), lines of ≥ 2 points, rings closed with ≥ 4 points and not
// self-intersecting. Errors are kBadRequestData naming the problem.
Result<Geometry> GeometryFromGeoJson(const JsonValue& v);
// Same, from the two NGSI-LD query parameters `geometry` and `coordinates` (JSON text).
Result<Geometry> GeometryFromQuery(std::string_view type_name, std::string_view coordinates_json);
JsonValue GeometryToGeoJson(const Geometry& g);

// Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m).
double DistanceMeters(LonLat a, LonLat b);
// Shortest distance in metres from `p` to `g` (0 when p lies inside a polygon of g).
double DistanceMeters(const Geometry& g, LonLat p);
// Shortest distance in metres between two geometries (0 when they intersect).
double DistanceMeters(const Geometry& a, const Geometry& b);

// Bounds on the great-circle distance from a centre to nearby points, from a local flat
// projection: a few multiplications instead of DistanceMeters' trigonometry, so a near query
// can settle most candidates and test only those close to its radius exactly.
// Thread-safety: a value type.
class NearbyDistance {
 public:
  explicit NearbyDistance(LonLat center);
  // Sets [*lo, *hi] around DistanceMeters(center, p) and returns true; false when p is too far
  // from the centre (over ~5 km), or the centre too close to a pole, for the bounds to hold.
  // They also bound the distance to any geometry whose positions are all p.
  bool Bounds(LonLat p, double* lo, double* hi) const;

 private:
  LonLat center_;
  double lon_scale_;  // metres per degree of longitude at the centre
  bool usable_;
};

// Predicates are planar on (lon, lat) degrees: exact enough at city scale; shapes must not
// cross the antimeridian. Points within ~0.1 mm of an edge count as on it.
bool Intersects(const Geometry& a, const Geometry& b);  // they share at least one point
bool Within(const Geometry& a, const Geometry& b);      // every point of a is inside or on b
bool Contains(const Geometry& a, const Geometry& b);    // Within(b, a)
bool Equals(const Geometry& a, const Geometry& b);      // the same set of points
bool Disjoint(const Geometry& a, const Geometry& b);    // !Intersects(a, b)
// Same dimension, interiors share a piece of that dimension, and neither contains the other
// (OGC Simple Features). Touching polygons or crossing lines do not overlap.
bool Overlaps(const Geometry& a, const Geometry& b);
// Point in polygon (holes respected); points on the boundary count as inside.
bool PolygonContains(const PolygonRings& poly, LonLat p);
// Area in square metres of polygonal geometry (0 for points and lines).
double AreaSquareMeters(const Geometry& g);

// Chinese map datums. GCJ-02 is the obfuscated datum used by most Chinese maps; BD-09 is
// Baidu's on top of it. Conversions back to WGS84 are iterative (error < 0.5 m).
LonLat Wgs84ToGcj02(LonLat p);
LonLat Gcj02ToWgs84(LonLat p);
LonLat Gcj02ToBd09(LonLat p);
LonLat Bd09ToGcj02(LonLat p);
LonLat Bd09ToWgs84(LonLat p);
LonLat Wgs84ToBd09(LonLat p);

}  // namespace cb::geo
