// GeoJSON geometries: parsing and validation, distances, spatial predicates, area and the
// Chinese map datums.
//
// The predicates are hand-written here rather than delegated to GEOS, on purpose:
//  - They are PLANAR on (lon, lat) degrees. At city scale (zones, streets, districts a few tens
//    of kilometres across) the difference from geodesic edges is far below GPS noise, and it is
//    what NGSI-LD brokers commonly do. They are not meant for continent-sized shapes, nor for
//    shapes that cross the antimeridian or contain a pole (edges never wrap around ±180°).
//  - Distances are metric: haversine between points, and a local equirectangular projection
//    around the query point to find the nearest point of a segment (accurate at city scale).
//  - The hot path (bounding-box rejection, point in polygon, point/geometry distance,
//    Intersects, Within of points) is ALLOCATION-FREE and works directly on our Geometry value.
//    Converting both operands into GEOS objects on every call would allocate and copy each time
//    and cost more than the test itself. Within/Equals/Overlaps of lines and polygons use a small
//    scratch vector.
//  - Tolerance: a point closer than kEps degrees (about 0.1 mm) to an edge counts as on it.
#include "geo/geometry.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

namespace cb::geo {
namespace {

constexpr double kEarthRadiusM = 6371008.8;  // mean Earth radius (IUGG)
constexpr double kPi = std::numbers::pi;
constexpr double kRad = kPi / 180.0;
constexpr double kEps = 1e-9;  // degrees

int Dim(GeometryType t) {
  switch (t) {
    case GeometryType::kPoint:
    case GeometryType::kMultiPoint:
      return 0;
    case GeometryType::kLineString:
    case GeometryType::kMultiLineString:
      return 1;
    case GeometryType::kPolygon:
    case GeometryType::kMultiPolygon:
      return 2;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation

// Where in "coordinates" a problem lies, for error messages: coordinates[i][j][k].
struct Path {
  size_t idx[4] = {};
  int depth = 0;
  Path operator/(size_t i) const {
    Path p = *this;
    if (p.depth < 4) p.idx[p.depth++] = i;
    return p;
  }
  std::string Str() const {
    std::string s = "coordinates";
    for (int k = 0; k < depth; ++k) s += fmt::format("[{}]", idx[k]);
    return s;
  }
};

Status Bad(const Path& at, std::string_view what) {
  return Status::BadRequestData(fmt::format("{} at {}", what, at.Str()));
}

std::string_view JsonTypeName(const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return "a boolean";
    case JsonValue::Type::kInt:
    case JsonValue::Type::kDouble:
      return "a number";
    case JsonValue::Type::kString:
      return "a string";
    case JsonValue::Type::kArray:
      return "an array";
    case JsonValue::Type::kObject:
      return "an object";
  }
  return "?";
}

Status ParsePosition(const JsonValue& v, const Path& at, LonLat* out) {
  if (!v.is_array()) {
    return Bad(at, fmt::format("expected a position [lon, lat], got {}", JsonTypeName(v)));
  }
  const auto& a = v.as_array();
  if (a.size() < 2 || a.size() > 3) {
    return Bad(at, fmt::format("a position has 2 or 3 numbers, got {}", a.size()));
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) {
      return Bad(at / i, fmt::format("coordinate is not a number (got {})", JsonTypeName(a[i])));
    }
  }
  const double lon = a[0].as_double();
  const double lat = a[1].as_double();
  if (!std::isfinite(lon) || !std::isfinite(lat)) return Bad(at, "coordinate is not finite");
  if (lon < -180 || lon > 180) {
    return Bad(at, fmt::format("longitude {} out of range [-180, 180]", lon));
  }
  if (lat < -90 || lat > 90) return Bad(at, fmt::format("latitude {} out of range [-90, 90]", lat));
  *out = {lon, lat};
  return Status::Ok();
}

Status ParsePositions(const JsonValue& v, const Path& at, std::string_view what, Ring* out) {
  if (!v.is_array()) {
    return Bad(at, fmt::format("{} must be an array of positions, got {}", what, JsonTypeName(v)));
  }
  const auto& a = v.as_array();
  out->reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    LonLat p;
    CB_RETURN_IF_ERROR(ParsePosition(a[i], at / i, &p));
    out->push_back(p);
  }
  return Status::Ok();
}

Status ParseLine(const JsonValue& v, const Path& at, Ring* out) {
  CB_RETURN_IF_ERROR(ParsePositions(v, at, "a line string", out));
  if (out->size() < 2) {
    return Bad(at, fmt::format("line string has fewer than 2 positions ({})", out->size()));
  }
  return Status::Ok();
}

// Signed area of the triangle (o, a, b) times two, in degrees².
double Cross(LonLat o, LonLat a, LonLat b) {
  return (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon);
}

// Squared planar distance in degrees² from p to the segment ab.
double Dist2ToSegment(LonLat p, LonLat a, LonLat b) {
  const double dx = b.lon - a.lon, dy = b.lat - a.lat;
  const double len2 = dx * dx + dy * dy;
  double t = 0;
  if (len2 > 0) t = std::clamp(((p.lon - a.lon) * dx + (p.lat - a.lat) * dy) / len2, 0.0, 1.0);
  const double ex = a.lon + t * dx - p.lon, ey = a.lat + t * dy - p.lat;
  return ex * ex + ey * ey;
}

bool OnSegment(LonLat p, LonLat a, LonLat b) {
  if (p.lon < std::min(a.lon, b.lon) - kEps || p.lon > std::max(a.lon, b.lon) + kEps ||
      p.lat < std::min(a.lat, b.lat) - kEps || p.lat > std::max(a.lat, b.lat) + kEps) {
    return false;
  }
  return Dist2ToSegment(p, a, b) <= kEps * kEps;
}

bool Near(LonLat a, LonLat b) {
  return std::abs(a.lon - b.lon) <= kEps && std::abs(a.lat - b.lat) <= kEps;
}

// Whether the closed segments ab and cd share at least one point (touching counts).
bool SegmentsIntersect(LonLat a, LonLat b, LonLat c, LonLat d) {
  if (std::max(a.lon, b.lon) + kEps < std::min(c.lon, d.lon) ||
      std::max(c.lon, d.lon) + kEps < std::min(a.lon, b.lon) ||
      std::max(a.lat, b.lat) + kEps < std::min(c.lat, d.lat) ||
      std::max(c.lat, d.lat) + kEps < std::min(a.lat, b.lat)) {
    return false;
  }
  const double d1 = Cross(c, d, a), d2 = Cross(c, d, b);
  const double d3 = Cross(a, b, c), d4 = Cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) {
    return true;
  }
  return OnSegment(a, c, d) || OnSegment(b, c, d) || OnSegment(c, a, b) || OnSegment(d, a, b);
}

// A ring must not touch or cross itself: edges meet only their two neighbours, and only at the
// shared vertex. Plane sweep over edges sorted by min longitude.
Status CheckRingSimple(const Ring& r, const Path& at) {
  std::vector<LonLat> v;  // distinct consecutive vertices, without the closing repeat
  v.reserve(r.size());
  for (size_t i = 0; i + 1 < r.size(); ++i) {
    if (v.empty() || !(r[i] == v.back())) v.push_back(r[i]);
  }
  while (v.size() > 1 && v.back() == v.front()) v.pop_back();
  const size_t m = v.size();
  if (m < 3) return Bad(at, "polygon ring has fewer than 3 distinct positions");
  struct Edge {
    double min_lon, max_lon;
    size_t i;
  };
  std::vector<Edge> edges(m);
  for (size_t i = 0; i < m; ++i) {
    const LonLat a = v[i], b = v[(i + 1) % m];
    edges[i] = {std::min(a.lon, b.lon), std::max(a.lon, b.lon), i};
  }
  std::sort(edges.begin(), edges.end(),
            [](const Edge& x, const Edge& y) { return x.min_lon < y.min_lon; });
  for (size_t k = 0; k < m; ++k) {
    for (size_t l = k + 1; l < m && edges[l].min_lon <= edges[k].max_lon + kEps; ++l) {
      size_t i = edges[k].i, j = edges[l].i;
      if (i == (j + 1) % m) std::swap(i, j);  // so that "j follows i" when adjacent
      const LonLat a = v[i], b = v[(i + 1) % m], c = v[j], d = v[(j + 1) % m];
      bool bad;
      if (j == (i + 1) % m) {
        // Neighbours share b == c; they must not fold back over each other.
        bad = OnSegment(a, c, d) || OnSegment(d, a, b);
      } else {
        bad = SegmentsIntersect(a, b, c, d);
      }
      if (bad) {
        return Bad(at, fmt::format("polygon ring is self-intersecting (edges from [{}, {}] and "
                                   "from [{}, {}])",
                                   a.lon, a.lat, c.lon, c.lat));
      }
    }
  }
  return Status::Ok();
}

Status ParseRing(const JsonValue& v, const Path& at, Ring* out) {
  CB_RETURN_IF_ERROR(ParsePositions(v, at, "a polygon ring", out));
  if (out->size() < 4) {
    return Bad(at, fmt::format("polygon ring has fewer than 4 positions ({})", out->size()));
  }
  if (!(out->front() == out->back())) {
    return Bad(at, "polygon ring is not closed (first and last positions differ)");
  }
  return CheckRingSimple(*out, at);
}

// Where a point lies relative to a ring or polygon.
enum class Loc { kOutside, kBoundary, kInside };
Loc LocateInRing(const Ring& r, LonLat p);

// Whether segments ab and cd cross at a point inside both (touching does not count).
bool SegmentsCrossProperly(LonLat a, LonLat b, LonLat c, LonLat d) {
  const double d1 = Cross(c, d, a), d2 = Cross(c, d, b);
  const double d3 = Cross(a, b, c), d4 = Cross(a, b, d);
  return ((d1 > kEps && d2 < -kEps) || (d1 < -kEps && d2 > kEps)) &&
         ((d3 > kEps && d4 < -kEps) || (d3 < -kEps && d4 > kEps));
}

// The holes of a polygon (rings 1..n) must lie inside its outer ring (ring 0) and outside
// one another; rings may touch at points but not cross. Checks that no hole has a vertex
// outside the outer ring or inside another hole, and that no edges of two different rings
// cross (a plane sweep over all edges by min longitude, as in CheckRingSimple).
Status CheckHoles(const PolygonRings& rings, const Path& at) {
  if (rings.size() < 2) return Status::Ok();
  // Bounding boxes let most point-in-ring tests of many holes end at once.
  std::vector<std::array<double, 4>> boxes;  // min lon, min lat, max lon, max lat
  for (const Ring& r : rings) {
    std::array<double, 4> b{r[0].lon, r[0].lat, r[0].lon, r[0].lat};
    for (const LonLat& p : r) {
      b = {std::min(b[0], p.lon), std::min(b[1], p.lat), std::max(b[2], p.lon),
           std::max(b[3], p.lat)};
    }
    boxes.push_back(b);
  }
  auto in_box = [&](size_t r, LonLat p) {
    return p.lon >= boxes[r][0] && p.lat >= boxes[r][1] && p.lon <= boxes[r][2] &&
           p.lat <= boxes[r][3];
  };
  for (size_t h = 1; h < rings.size(); ++h) {
    for (const LonLat& p : rings[h]) {
      if (!in_box(0, p) || LocateInRing(rings[0], p) == Loc::kOutside) {
        return Bad(at / h, fmt::format("polygon hole has a position [{}, {}] outside the outer "
                                       "ring", p.lon, p.lat));
      }
      for (size_t o = 1; o < rings.size(); ++o) {
        if (o != h && in_box(o, p) && LocateInRing(rings[o], p) == Loc::kInside) {
          return Bad(at / h, fmt::format("polygon holes overlap (position [{}, {}] lies inside "
                                         "hole {})", p.lon, p.lat, o));
        }
      }
    }
  }
  struct Edge {
    double min_lon, max_lon;
    size_t ring;
    LonLat a, b;
  };
  std::vector<Edge> edges;
  for (size_t r = 0; r < rings.size(); ++r) {
    for (size_t i = 0; i + 1 < rings[r].size(); ++i) {
      const LonLat a = rings[r][i], b = rings[r][i + 1];
      edges.push_back({std::min(a.lon, b.lon), std::max(a.lon, b.lon), r, a, b});
    }
  }
  std::sort(edges.begin(), edges.end(),
            [](const Edge& x, const Edge& y) { return x.min_lon < y.min_lon; });
  for (size_t k = 0; k < edges.size(); ++k) {
    for (size_t l = k + 1; l < edges.size() && edges[l].min_lon <= edges[k].max_lon + kEps; ++l) {
      const Edge& e = edges[k];
      const Edge& f = edges[l];
      if (e.ring != f.ring && SegmentsCrossProperly(e.a, e.b, f.a, f.b)) {
        const size_t hole = std::max(e.ring, f.ring);
        return Bad(at / hole, fmt::format("polygon ring {} crosses ring {}",
                                          std::min(e.ring, f.ring), hole));
      }
    }
  }
  return Status::Ok();
}

Status ParsePolygon(const JsonValue& v, const Path& at, PolygonRings* out) {
  if (!v.is_array()) {
    return Bad(at, fmt::format("a polygon must be an array of rings, got {}", JsonTypeName(v)));
  }
  const auto& a = v.as_array();
  if (a.empty()) return Bad(at, "a polygon needs at least one ring");
  out->reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    Ring r;
    CB_RETURN_IF_ERROR(ParseRing(a[i], at / i, &r));
    out->push_back(std::move(r));
  }
  return CheckHoles(*out, at);
}

// The members of a Multi* coordinates array: a non-empty array.
Result<const JsonValue::Array*> MultiArray(const JsonValue& v, const Path& at,
                                           std::string_view type) {
  if (!v.is_array()) {
    return Bad(at, fmt::format("{} coordinates must be an array, got {}", type, JsonTypeName(v)));
  }
  if (v.as_array().empty()) return Bad(at, fmt::format("{} has no members", type));
  return &v.as_array();
}

Result<Geometry> FromCoordinates(GeometryType type, const JsonValue& coords) {
  const Path root;
  Geometry g;
  g.type = type;
  switch (type) {
    case GeometryType::kPoint: {
      LonLat p;
      CB_RETURN_IF_ERROR(ParsePosition(coords, root, &p));
      g.parts = {{{p}}};
      break;
    }
    case GeometryType::kMultiPoint: {
      auto a = MultiArray(coords, root, "MultiPoint");
      if (!a.ok()) return a.status();
      for (size_t i = 0; i < (*a)->size(); ++i) {
        LonLat p;
        CB_RETURN_IF_ERROR(ParsePosition((**a)[i], root / i, &p));
        g.parts.push_back({{p}});
      }
      break;
    }
    case GeometryType::kLineString: {
      Ring line;
      CB_RETURN_IF_ERROR(ParseLine(coords, root, &line));
      g.parts.push_back({std::move(line)});
      break;
    }
    case GeometryType::kMultiLineString: {
      auto a = MultiArray(coords, root, "MultiLineString");
      if (!a.ok()) return a.status();
      for (size_t i = 0; i < (*a)->size(); ++i) {
        Ring line;
        CB_RETURN_IF_ERROR(ParseLine((**a)[i], root / i, &line));
        g.parts.push_back({std::move(line)});
      }
      break;
    }
    case GeometryType::kPolygon: {
      PolygonRings poly;
      CB_RETURN_IF_ERROR(ParsePolygon(coords, root, &poly));
      g.parts.push_back(std::move(poly));
      break;
    }
    case GeometryType::kMultiPolygon: {
      auto a = MultiArray(coords, root, "MultiPolygon");
      if (!a.ok()) return a.status();
      for (size_t i = 0; i < (*a)->size(); ++i) {
        PolygonRings poly;
        CB_RETURN_IF_ERROR(ParsePolygon((**a)[i], root / i, &poly));
        g.parts.push_back(std::move(poly));
      }
      break;
    }
  }
  g.bbox = ComputeBoundingBox(g.parts);
  return g;
}

// ---------------------------------------------------------------------------------------------
// Iteration over the normalised parts

// Calls f(a, b) for each edge of a ring (closed or not); stops and returns true when f does.
template <typename F>
bool AnyRingEdge(const Ring& r, F&& f) {
  const size_t n = r.size();
  if (n == 0) return false;
  if (n == 1) return f(r[0], r[0]);
  for (size_t k = 0; k < n; ++k) {
    if (k + 1 == n && r[k] == r[0]) break;  // closing repeat: no edge back to itself
    if (f(r[k], r[k + 1 == n ? 0 : k + 1])) return true;
  }
  return false;
}

template <typename F>
bool AnyLineEdge(const Ring& l, F&& f) {
  if (l.size() == 1) return f(l[0], l[0]);
  for (size_t k = 0; k + 1 < l.size(); ++k) {
    if (f(l[k], l[k + 1])) return true;
  }
  return false;
}

// Edges of lines and polygon rings (points have none).
template <typename F>
bool AnyEdge(const Geometry& g, F&& f) {
  const int dim = Dim(g.type);
  if (dim == 0) return false;
  for (const auto& part : g.parts) {
    for (const auto& ring : part) {
      if (dim == 1 ? AnyLineEdge(ring, f) : AnyRingEdge(ring, f)) return true;
    }
  }
  return false;
}

template <typename F>
bool AnyVertex(const Geometry& g, F&& f) {
  for (const auto& part : g.parts) {
    for (const auto& ring : part) {
      for (const LonLat& p : ring) {
        if (f(p)) return true;
      }
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Point location

Loc LocateInRing(const Ring& r, LonLat p) {
  bool inside = false;
  const bool on_edge = AnyRingEdge(r, [&](LonLat a, LonLat b) {
    if (OnSegment(p, a, b)) return true;
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      const double x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < x) inside = !inside;
    }
    return false;
  });
  if (on_edge) return Loc::kBoundary;
  return inside ? Loc::kInside : Loc::kOutside;
}

Loc LocateInPolygon(const PolygonRings& poly, LonLat p) {
  if (poly.empty()) return Loc::kOutside;
  const Loc outer = LocateInRing(poly[0], p);
  if (outer != Loc::kInside) return outer;
  for (size_t h = 1; h < poly.size(); ++h) {
    const Loc l = LocateInRing(poly[h], p);
    if (l == Loc::kBoundary) return Loc::kBoundary;
    if (l == Loc::kInside) return Loc::kOutside;
  }
  return Loc::kInside;
}

// Location of p relative to the union of the polygons of g.
Loc LocateInPolygons(const Geometry& g, LonLat p) {
  Loc best = Loc::kOutside;
  for (const auto& part : g.parts) {
    const Loc l = LocateInPolygon(part, p);
    if (l == Loc::kInside) return l;
    if (l == Loc::kBoundary) best = l;
  }
  return best;
}

bool BoxContainsEps(const BoundingBox& b, LonLat p) {
  return p.lon >= b.min_lon - kEps && p.lon <= b.max_lon + kEps && p.lat >= b.min_lat - kEps &&
         p.lat <= b.max_lat + kEps;
}

bool BoxesIntersectEps(const BoundingBox& a, const BoundingBox& b) {
  return a.min_lon <= b.max_lon + kEps && b.min_lon <= a.max_lon + kEps &&
         a.min_lat <= b.max_lat + kEps && b.min_lat <= a.max_lat + kEps;
}

bool BoxWithinEps(const BoundingBox& a, const BoundingBox& b) {
  return a.min_lon >= b.min_lon - kEps && a.max_lon <= b.max_lon + kEps &&
         a.min_lat >= b.min_lat - kEps && a.max_lat <= b.max_lat + kEps;
}

// Whether p lies on or inside g.
bool Covers(const Geometry& g, LonLat p) {
  if (!BoxContainsEps(g.bbox, p)) return false;
  switch (Dim(g.type)) {
    case 0:
      return AnyVertex(g, [&](LonLat v) { return Near(v, p); });
    case 1:
      return AnyEdge(g, [&](LonLat a, LonLat b) { return OnSegment(p, a, b); });
    default:
      return LocateInPolygons(g, p) != Loc::kOutside;
  }
}

// A point strictly inside the polygon made of `rings` (outer first, then holes): the middle of
// the widest inside interval of a horizontal line that passes through no vertex.
bool InteriorPoint(const Ring* rings, size_t n, LonLat* out) {
  if (n == 0 || rings[0].empty()) return false;
  std::vector<double> lats;
  for (size_t r = 0; r < n; ++r) {
    for (const LonLat& p : rings[r]) lats.push_back(p.lat);
  }
  std::sort(lats.begin(), lats.end());
  double y = 0, gap = 0;
  for (size_t k = 0; k + 1 < lats.size(); ++k) {
    if (lats[k + 1] - lats[k] > gap) {
      gap = lats[k + 1] - lats[k];
      y = (lats[k] + lats[k + 1]) / 2;
    }
  }
  if (gap <= 0) return false;
  std::vector<double> xs;
  for (size_t r = 0; r < n; ++r) {
    AnyRingEdge(rings[r], [&](LonLat a, LonLat b) {
      if ((a.lat > y) != (b.lat > y)) {
        xs.push_back(a.lon + (y - a.lat) * (b.lon - a.lon) / (b.lat - a.lat));
      }
      return false;
    });
  }
  std::sort(xs.begin(), xs.end());
  double width = 0;
  for (size_t k = 0; k + 1 < xs.size(); k += 2) {
    if (xs[k + 1] - xs[k] > width) {
      width = xs[k + 1] - xs[k];
      *out = {(xs[k] + xs[k + 1]) / 2, y};
    }
  }
  return width > 0;
}

// Splits segment pq wherever it meets an edge of g and calls f(m) with the midpoint of each
// piece (no edge of g crosses a piece's interior, so the midpoint speaks for the whole piece).
// Returns false as soon as f does.
template <typename F>
bool AllPieceMidpoints(LonLat p, LonLat q, const Geometry& g, std::vector<double>* ts, F&& f) {
  const double dx = q.lon - p.lon, dy = q.lat - p.lat;
  const double len2 = dx * dx + dy * dy;
  if (len2 == 0) return f(p);
  ts->clear();
  ts->push_back(0);
  ts->push_back(1);
  auto param = [&](LonLat c) {
    return std::clamp(((c.lon - p.lon) * dx + (c.lat - p.lat) * dy) / len2, 0.0, 1.0);
  };
  AnyEdge(g, [&](LonLat c, LonLat d) {
    if (!SegmentsIntersect(p, q, c, d)) return false;
    if (OnSegment(c, p, q)) ts->push_back(param(c));
    if (OnSegment(d, p, q)) ts->push_back(param(d));
    const double ex = d.lon - c.lon, ey = d.lat - c.lat;
    const double den = dx * ey - dy * ex;
    if (std::abs(den) > 1e-12 * std::sqrt(len2 * (ex * ex + ey * ey))) {
      const double t = ((c.lon - p.lon) * ey - (c.lat - p.lat) * ex) / den;
      ts->push_back(std::clamp(t, 0.0, 1.0));
    }
    return false;
  });
  std::sort(ts->begin(), ts->end());
  for (size_t k = 0; k + 1 < ts->size(); ++k) {
    if ((*ts)[k + 1] - (*ts)[k] <= 1e-12) continue;
    const double t = ((*ts)[k] + (*ts)[k + 1]) / 2;
    if (!f(LonLat{p.lon + t * dx, p.lat + t * dy})) return false;
  }
  return true;
}

// Whether segments pq and cd share a piece of positive length.
bool CollinearOverlap(LonLat p, LonLat q, LonLat c, LonLat d) {
  const double dx = q.lon - p.lon, dy = q.lat - p.lat;
  const double len2 = dx * dx + dy * dy;
  if (len2 == 0) return false;
  const double len = std::sqrt(len2);
  if (std::abs(Cross(p, q, c)) > kEps * len || std::abs(Cross(p, q, d)) > kEps * len) return false;
  const double tc = ((c.lon - p.lon) * dx + (c.lat - p.lat) * dy) / len2;
  const double td = ((d.lon - p.lon) * dx + (d.lat - p.lat) * dy) / len2;
  const double lo = std::max(0.0, std::min(tc, td)), hi = std::min(1.0, std::max(tc, td));
  return (hi - lo) * len > kEps;
}

// ---------------------------------------------------------------------------------------------
// Predicates

// Intersects with Dim(a) <= Dim(b).
bool IntersectsOrdered(const Geometry& a, const Geometry& b) {
  const int da = Dim(a.type), db = Dim(b.type);
  if (da == 0) return AnyVertex(a, [&](LonLat p) { return Covers(b, p); });
  const bool edges_meet = AnyEdge(a, [&](LonLat p, LonLat q) {
    if (std::max(p.lon, q.lon) + kEps < b.bbox.min_lon ||
        std::min(p.lon, q.lon) - kEps > b.bbox.max_lon ||
        std::max(p.lat, q.lat) + kEps < b.bbox.min_lat ||
        std::min(p.lat, q.lat) - kEps > b.bbox.max_lat) {
      return false;
    }
    return AnyEdge(b, [&](LonLat c, LonLat d) { return SegmentsIntersect(p, q, c, d); });
  });
  if (edges_meet) return true;
  if (db < 2) return false;
  // No boundary crossings: each part of a lies wholly inside or outside b, and (for polygons)
  // each part of b wholly inside or outside a. One vertex per part decides.
  for (const auto& part : a.parts) {
    if (!part.empty() && !part[0].empty() && Covers(b, part[0][0])) return true;
  }
  if (da == 2) {
    for (const auto& part : b.parts) {
      if (!part.empty() && !part[0].empty() && Covers(a, part[0][0])) return true;
    }
  }
  return false;
}

// Some point of polygonal a lies in a bounded gap of polygonal b (a hole, or an area enclosed by
// several parts), given that a's boundary lies within b.
bool ReachesIntoGap(const Geometry& a, const Geometry& b) {
  if (b.parts.size() == 1) {
    const PolygonRings& poly = b.parts[0];
    for (size_t h = 1; h < poly.size(); ++h) {
      LonLat q;
      if (InteriorPoint(&poly[h], 1, &q) && LocateInPolygons(b, q) == Loc::kOutside &&
          Covers(a, q)) {
        return true;
      }
    }
    return false;
  }
  // Several parts: every bounded gap is crossed by a horizontal line halfway between two
  // consecutive vertex latitudes of b; probe the middle of each interval between crossings.
  std::vector<double> lats;
  AnyVertex(b, [&](LonLat p) {
    lats.push_back(p.lat);
    return false;
  });
  std::sort(lats.begin(), lats.end());
  lats.erase(std::unique(lats.begin(), lats.end()), lats.end());
  std::vector<double> xs;
  for (size_t k = 0; k + 1 < lats.size(); ++k) {
    const double y = (lats[k] + lats[k + 1]) / 2;
    if (y < a.bbox.min_lat || y > a.bbox.max_lat) continue;
    xs.clear();
    AnyEdge(b, [&](LonLat c, LonLat d) {
      if ((c.lat > y) != (d.lat > y)) {
        xs.push_back(c.lon + (y - c.lat) * (d.lon - c.lon) / (d.lat - c.lat));
      }
      return false;
    });
    std::sort(xs.begin(), xs.end());
    for (size_t i = 0; i + 1 < xs.size(); ++i) {
      const LonLat m{(xs[i] + xs[i + 1]) / 2, y};
      if (xs[i + 1] - xs[i] <= kEps || m.lon < a.bbox.min_lon || m.lon > a.bbox.max_lon) continue;
      if (LocateInPolygons(b, m) == Loc::kOutside && Covers(a, m)) return true;
    }
  }
  return false;
}

bool WithinImpl(const Geometry& a, const Geometry& b) {
  if (!BoxWithinEps(a.bbox, b.bbox)) return false;
  const int da = Dim(a.type), db = Dim(b.type);
  if (AnyVertex(a, [&](LonLat p) { return !Covers(b, p); })) return false;
  if (da == 0) return true;
  if (db < da) {
    // Only a degenerate line (all its points equal) fits inside points.
    return da == 1 && db == 0 && !AnyEdge(a, [](LonLat p, LonLat q) { return !Near(p, q); });
  }
  std::vector<double> ts;
  const bool piece_outside = AnyEdge(a, [&](LonLat p, LonLat q) {
    return !AllPieceMidpoints(p, q, b, &ts, [&](LonLat m) { return Covers(b, m); });
  });
  if (piece_outside) return false;
  if (da == 2) return !ReachesIntoGap(a, b);
  return true;
}

// For polygonal a and b: whether their interiors share an area.
bool InteriorsIntersect(const Geometry& a, const Geometry& b) {
  std::vector<double> ts;
  auto boundary_enters = [&ts](const Geometry& x, const Geometry& y) {
    return AnyEdge(x, [&](LonLat p, LonLat q) {
      return !AllPieceMidpoints(p, q, y, &ts,
                                [&](LonLat m) { return LocateInPolygons(y, m) != Loc::kInside; });
    });
  };
  if (boundary_enters(a, b) || boundary_enters(b, a)) return true;
  // No boundary enters the other's interior: parts are nested or apart; probe one interior
  // point of each part.
  auto part_inside = [](const Geometry& x, const Geometry& y) {
    for (const auto& part : x.parts) {
      LonLat q;
      if (InteriorPoint(part.data(), part.size(), &q) && LocateInPolygons(y, q) == Loc::kInside) {
        return true;
      }
    }
    return false;
  };
  return part_inside(a, b) || part_inside(b, a);
}

// ---------------------------------------------------------------------------------------------
// Distances

// Metres from p to segment ab: the nearest point is found in a local equirectangular projection
// centred on p, then measured with haversine.
double PointSegmentMeters(LonLat p, LonLat a, LonLat b) {
  const double k = std::cos(p.lat * kRad);
  if (k < 1e-9) return std::min(DistanceMeters(p, a), DistanceMeters(p, b));
  const double ax = (a.lon - p.lon) * k, ay = a.lat - p.lat;
  const double dx = (b.lon - a.lon) * k, dy = b.lat - a.lat;
  const double len2 = dx * dx + dy * dy;
  double t = 0;
  if (len2 > 0) t = std::clamp(-(ax * dx + ay * dy) / len2, 0.0, 1.0);
  const LonLat q{a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)};
  return DistanceMeters(p, q);
}

// Metres from p to the nearest vertex (points) or edge (lines, polygon rings) of g.
double DistanceToOutline(const Geometry& g, LonLat p) {
  double best = INFINITY;
  if (Dim(g.type) == 0) {
    AnyVertex(g, [&](LonLat v) {
      best = std::min(best, DistanceMeters(p, v));
      return false;
    });
  } else {
    AnyEdge(g, [&](LonLat a, LonLat b) {
      best = std::min(best, PointSegmentMeters(p, a, b));
      return false;
    });
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Datums

constexpr double kKrasovskyA = 6378245.0;
constexpr double kKrasovskyEe = 0.00669342162296594323;
constexpr double kBdXPi = kPi * 3000.0 / 180.0;

bool OutOfChina(LonLat p) {
  return p.lon < 72.004 || p.lon > 137.8347 || p.lat < 0.8293 || p.lat > 55.8271;
}

double GcjTransformLat(double x, double y) {
  double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(y * kPi) + 40.0 * std::sin(y / 3.0 * kPi)) * 2.0 / 3.0;
  r += (160.0 * std::sin(y / 12.0 * kPi) + 320.0 * std::sin(y * kPi / 30.0)) * 2.0 / 3.0;
  return r;
}

double GcjTransformLon(double x, double y) {
  double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(x * kPi) + 40.0 * std::sin(x / 3.0 * kPi)) * 2.0 / 3.0;
  r += (150.0 * std::sin(x / 12.0 * kPi) + 300.0 * std::sin(x / 30.0 * kPi)) * 2.0 / 3.0;
  return r;
}

// Solves forward(x) == target for x by fixed-point iteration from `start`.
template <typename F>
LonLat InvertIteratively(LonLat target, LonLat start, F&& forward) {
  LonLat x = start;
  for (int i = 0; i < 30; ++i) {
    const LonLat f = forward(x);
    const double ex = target.lon - f.lon, ey = target.lat - f.lat;
    x.lon += ex;
    x.lat += ey;
    if (std::abs(ex) < 1e-11 && std::abs(ey) < 1e-11) break;
  }
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

BoundingBox BoundingBox::Expanded(double meters) const {
  meters = std::max(0.0, meters);
  const double dlat = meters / kEarthRadiusM / kRad;
  BoundingBox b;
  b.min_lat = std::max(-90.0, min_lat - dlat);
  b.max_lat = std::min(90.0, max_lat + dlat);
  // Longitude degrees shrink towards the poles: use the widest latitude the box reaches.
  const double c = std::cos(std::max(std::abs(b.min_lat), std::abs(b.max_lat)) * kRad);
  const double dlon = c > 1e-9 ? dlat / c : 360.0;
  if (dlon >= 180.0) {
    b.min_lon = -180.0;
    b.max_lon = 180.0;
  } else {
    b.min_lon = std::max(-180.0, min_lon - dlon);
    b.max_lon = std::min(180.0, max_lon + dlon);
  }
  return b;
}

std::string_view GeometryTypeName(GeometryType t) {
  switch (t) {
    case GeometryType::kPoint:
      return "Point";
    case GeometryType::kMultiPoint:
      return "MultiPoint";
    case GeometryType::kLineString:
      return "LineString";
    case GeometryType::kMultiLineString:
      return "MultiLineString";
    case GeometryType::kPolygon:
      return "Polygon";
    case GeometryType::kMultiPolygon:
      return "MultiPolygon";
  }
  return "?";
}

Result<GeometryType> GeometryTypeFromName(std::string_view name) {
  for (GeometryType t :
       {GeometryType::kPoint, GeometryType::kMultiPoint, GeometryType::kLineString,
        GeometryType::kMultiLineString, GeometryType::kPolygon, GeometryType::kMultiPolygon}) {
    if (GeometryTypeName(t) == name) return t;
  }
  if (name == "GeometryCollection") {
    return Status::BadRequestData("geometry type GeometryCollection is not supported");
  }
  return Status::BadRequestData(
      fmt::format("unknown geometry type \"{}\" (expected Point, MultiPoint, LineString, "
                  "MultiLineString, Polygon or MultiPolygon)",
                  name));
}

BoundingBox ComputeBoundingBox(const std::vector<PolygonRings>& parts) {
  BoundingBox b{INFINITY, INFINITY, -INFINITY, -INFINITY};
  for (const auto& part : parts) {
    for (const auto& ring : part) {
      for (const LonLat& p : ring) {
        b.min_lon = std::min(b.min_lon, p.lon);
        b.min_lat = std::min(b.min_lat, p.lat);
        b.max_lon = std::max(b.max_lon, p.lon);
        b.max_lat = std::max(b.max_lat, p.lat);
      }
    }
  }
  if (b.min_lon > b.max_lon) return BoundingBox{};
  return b;
}

Geometry Geometry::MakePoint(LonLat p) {
  Geometry g;
  g.type = GeometryType::kPoint;
  g.parts = {{{p}}};
  g.bbox = {p.lon, p.lat, p.lon, p.lat};
  return g;
}

Geometry Geometry::Make(GeometryType type, std::vector<PolygonRings> parts) {
  Geometry g;
  g.type = type;
  g.parts = std::move(parts);
  g.bbox = ComputeBoundingBox(g.parts);
  return g;
}

Result<Geometry> GeometryFromGeoJson(const JsonValue& v) {
  if (!v.is_object()) {
    return Status::BadRequestData(
        fmt::format("a GeoJSON geometry must be an object, got {}", JsonTypeName(v)));
  }
  const JsonValue* type = v.Find("type");
  if (type == nullptr) return Status::BadRequestData("GeoJSON geometry has no \"type\" member");
  if (!type->is_string()) {
    return Status::BadRequestData(
        fmt::format("GeoJSON geometry \"type\" must be a string, got {}", JsonTypeName(*type)));
  }
  auto t = GeometryTypeFromName(type->as_string());
  if (!t.ok()) return t.status();
  const JsonValue* coords = v.Find("coordinates");
  if (coords == nullptr) {
    return Status::BadRequestData("GeoJSON geometry has no \"coordinates\" member");
  }
  return FromCoordinates(*t, *coords);
}

Result<Geometry> GeometryFromQuery(std::string_view type_name, std::string_view coordinates_json) {
  auto t = GeometryTypeFromName(type_name);
  if (!t.ok()) return t.status();
  auto coords = ParseJson(coordinates_json);
  if (!coords.ok()) {
    return Status::BadRequestData(
        fmt::format("coordinates are not valid JSON: {}", coords.status().message()));
  }
  return FromCoordinates(*t, *coords);
}

JsonValue GeometryToGeoJson(const Geometry& g) {
  auto pos = [](LonLat p) {
    return JsonValue(JsonValue::Array{JsonValue(p.lon), JsonValue(p.lat)});
  };
  auto line = [&](const Ring& r) {
    JsonValue::Array a;
    a.reserve(r.size());
    for (const LonLat& p : r) a.push_back(pos(p));
    return JsonValue(std::move(a));
  };
  auto polygon = [&](const PolygonRings& rings) {
    JsonValue::Array a;
    for (const Ring& r : rings) a.push_back(line(r));
    return JsonValue(std::move(a));
  };
  JsonValue coords = JsonValue::MakeArray();
  const bool has_first = !g.parts.empty() && !g.parts[0].empty();
  switch (g.type) {
    case GeometryType::kPoint:
      if (has_first && !g.parts[0][0].empty()) coords = pos(g.parts[0][0][0]);
      break;
    case GeometryType::kLineString:
      if (has_first) coords = line(g.parts[0][0]);
      break;
    case GeometryType::kPolygon:
      if (!g.parts.empty()) coords = polygon(g.parts[0]);
      break;
    case GeometryType::kMultiPoint:
      for (const auto& part : g.parts) {
        if (!part.empty() && !part[0].empty()) coords.Push(pos(part[0][0]));
      }
      break;
    case GeometryType::kMultiLineString:
      for (const auto& part : g.parts) {
        if (!part.empty()) coords.Push(line(part[0]));
      }
      break;
    case GeometryType::kMultiPolygon:
      for (const auto& part : g.parts) coords.Push(polygon(part));
      break;
  }
  JsonValue out = JsonValue::MakeObject();
  out.Set("type", JsonValue(GeometryTypeName(g.type)));
  out.Set("coordinates", std::move(coords));
  return out;
}

double DistanceMeters(LonLat a, LonLat b) {
  const double dlat = (b.lat - a.lat) * kRad;
  const double dlon = (b.lon - a.lon) * kRad;
  const double s1 = std::sin(dlat / 2), s2 = std::sin(dlon / 2);
  const double h = s1 * s1 + std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * s2 * s2;
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

// Within 0.05° of latitude of a centre at |lat| <= 80°, the cosine of the latitude changes by
// under 0.6 % (tan(80.05°) × 0.05° in radians), and over such short distances the flat
// approximation differs from the sphere by under (6 km / R)², about 1e-6: the distance is
// within 0.6 % of the projected one. The bounds allow 2 % and 1 m more.
NearbyDistance::NearbyDistance(LonLat center)
    : center_(center),
      lon_scale_(std::cos(center.lat * kRad) * kEarthRadiusM * kRad),
      usable_(std::isfinite(center.lon) && std::abs(center.lat) <= 80.0) {}

bool NearbyDistance::Bounds(LonLat p, double* lo, double* hi) const {
  constexpr double kMaxDLat = 0.05, kMaxDLon = 0.3;  // degrees; ~5.5 km, ~5.8 km at 80°
  const double dlat = p.lat - center_.lat, dlon = p.lon - center_.lon;
  if (!usable_ || !(std::abs(dlat) <= kMaxDLat) || !(std::abs(dlon) <= kMaxDLon)) return false;
  const double x = dlon * lon_scale_, y = dlat * (kEarthRadiusM * kRad);
  const double d = std::sqrt(x * x + y * y);
  *lo = d * 0.98 - 1.0;
  *hi = d * 1.02 + 1.0;
  return true;
}

double DistanceMeters(const Geometry& g, LonLat p) {
  if (Dim(g.type) == 2 && BoxContainsEps(g.bbox, p) && LocateInPolygons(g, p) != Loc::kOutside) {
    return 0;
  }
  return DistanceToOutline(g, p);
}

double DistanceMeters(const Geometry& a, const Geometry& b) {
  if (Intersects(a, b)) return 0;
  // Apart: the shortest link between two sets of segments ends at a vertex of one of them.
  double best = INFINITY;
  AnyVertex(a, [&](LonLat p) {
    best = std::min(best, DistanceToOutline(b, p));
    return false;
  });
  AnyVertex(b, [&](LonLat p) {
    best = std::min(best, DistanceToOutline(a, p));
    return false;
  });
  return best;
}

bool PolygonContains(const PolygonRings& poly, LonLat p) {
  return LocateInPolygon(poly, p) != Loc::kOutside;
}

bool Intersects(const Geometry& a, const Geometry& b) {
  if (!BoxesIntersectEps(a.bbox, b.bbox)) return false;
  return Dim(a.type) <= Dim(b.type) ? IntersectsOrdered(a, b) : IntersectsOrdered(b, a);
}

bool Within(const Geometry& a, const Geometry& b) { return WithinImpl(a, b); }

bool Contains(const Geometry& a, const Geometry& b) { return WithinImpl(b, a); }

bool Equals(const Geometry& a, const Geometry& b) {
  if (a == b) return true;
  if (!BoxWithinEps(a.bbox, b.bbox) || !BoxWithinEps(b.bbox, a.bbox)) return false;
  return WithinImpl(a, b) && WithinImpl(b, a);
}

bool Disjoint(const Geometry& a, const Geometry& b) { return !Intersects(a, b); }

bool Overlaps(const Geometry& a, const Geometry& b) {
  const int dim = Dim(a.type);
  if (dim != Dim(b.type) || !Intersects(a, b)) return false;
  if (WithinImpl(a, b) || WithinImpl(b, a)) return false;
  switch (dim) {
    case 0:
      return true;  // they share a point and each has a point the other lacks
    case 1:
      return AnyEdge(a, [&](LonLat p, LonLat q) {
        return AnyEdge(b, [&](LonLat c, LonLat d) { return CollinearOverlap(p, q, c, d); });
      });
    default:
      return InteriorsIntersect(a, b);
  }
}

double AreaSquareMeters(const Geometry& g) {
  if (Dim(g.type) != 2) return 0;
  // Spherical polygon area (Chamberlain & Duquette 2007, as used by common GeoJSON tools):
  // A = R²/2 · |Σ (λ₂ − λ₁)(2 + sin φ₁ + sin φ₂)|, exact for lat/lon rectangles.
  auto ring_area = [](const Ring& r) {
    double sum = 0;
    AnyRingEdge(r, [&](LonLat a, LonLat b) {
      sum += (b.lon - a.lon) * kRad * (2 + std::sin(a.lat * kRad) + std::sin(b.lat * kRad));
      return false;
    });
    return std::abs(sum) * kEarthRadiusM * kEarthRadiusM / 2;
  };
  double total = 0;
  for (const auto& part : g.parts) {
    if (part.empty()) continue;
    double area = ring_area(part[0]);
    for (size_t h = 1; h < part.size(); ++h) area -= ring_area(part[h]);
    total += std::max(0.0, area);
  }
  return total;
}

LonLat Wgs84ToGcj02(LonLat p) {
  if (OutOfChina(p)) return p;
  double dlat = GcjTransformLat(p.lon - 105.0, p.lat - 35.0);
  double dlon = GcjTransformLon(p.lon - 105.0, p.lat - 35.0);
  const double rad_lat = p.lat * kRad;
  double magic = std::sin(rad_lat);
  magic = 1 - kKrasovskyEe * magic * magic;
  const double sqrt_magic = std::sqrt(magic);
  dlat = (dlat * 180.0) / ((kKrasovskyA * (1 - kKrasovskyEe)) / (magic * sqrt_magic) * kPi);
  dlon = (dlon * 180.0) / (kKrasovskyA / sqrt_magic * std::cos(rad_lat) * kPi);
  return {p.lon + dlon, p.lat + dlat};
}

LonLat Gcj02ToWgs84(LonLat p) {
  if (OutOfChina(p)) return p;
  return InvertIteratively(p, p, Wgs84ToGcj02);
}

LonLat Gcj02ToBd09(LonLat p) {
  const double z = std::sqrt(p.lon * p.lon + p.lat * p.lat) + 0.00002 * std::sin(p.lat * kBdXPi);
  const double theta = std::atan2(p.lat, p.lon) + 0.000003 * std::cos(p.lon * kBdXPi);
  return {z * std::cos(theta) + 0.0065, z * std::sin(theta) + 0.006};
}

LonLat Bd09ToGcj02(LonLat p) {
  // The published closed-form inverse is approximate (a few decimetres); refine it.
  const double x = p.lon - 0.0065, y = p.lat - 0.006;
  const double z = std::sqrt(x * x + y * y) - 0.00002 * std::sin(y * kBdXPi);
  const double theta = std::atan2(y, x) - 0.000003 * std::cos(x * kBdXPi);
  return InvertIteratively(p, LonLat{z * std::cos(theta), z * std::sin(theta)}, Gcj02ToBd09);
}

LonLat Bd09ToWgs84(LonLat p) { return Gcj02ToWgs84(Bd09ToGcj02(p)); }

LonLat Wgs84ToBd09(LonLat p) { return Gcj02ToBd09(Wgs84ToGcj02(p)); }

}  // namespace cb::geo
