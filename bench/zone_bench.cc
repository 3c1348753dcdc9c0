// cb_zone_bench: the cost of assigning sensors to zones (issue 3's benchmark): 10,000 zones
// — 100 districts, each split into 99 grid cells of irregular (triangle or rectangle)
// shape — over a 40 km × 40 km city, and 1,000,000 sensors at random points; each sensor
// gets the zones containing it and their ancestors (ZoneIndex::ZonesOfSensor).
// Baseline, same run: a scan of every zone's polygon per sensor (what a store without a
// spatial index does), timed on a sample and given per sensor.
//
// Prints one "RESULT name=... key=value ..." line, like the other benchmark tools.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "stream/zones.h"

namespace {

using Clock = std::chrono::steady_clock;
using cb::geo::Geometry;
using cb::geo::GeometryType;
using cb::geo::LonLat;

Geometry Rect(double x0, double y0, double x1, double y1) {
  return Geometry::Make(GeometryType::kPolygon, {{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}});
}

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t sensors = 1000000, sample = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--sensors") sensors = std::strtoul(argv[i + 1], nullptr, 10);
    if (a == "--sample") sample = std::strtoul(argv[i + 1], nullptr, 10);
  }
  if (argc > 1 && std::string(argv[1]) == "--help") {
    std::cout << "usage: cb_zone_bench [--sensors N (1000000)] [--sample N (2000)]\n";
    return 0;
  }
  // Hangzhou-sized: 40 km × 40 km from (120.0, 30.1).
  const double lon0 = 120.0, lat0 = 30.1, w = 0.41, h = 0.36;
  std::vector<cb::stream::Zone> zones;
  for (int d = 0; d < 100; ++d) {  // 10 × 10 districts
    const double x = lon0 + (d % 10) * w / 10, y = lat0 + (d / 10) * h / 10;
    cb::stream::Zone district;
    district.id = "urn:ngsi-ld:Zone:d" + std::to_string(d);
    district.area = Rect(x, y, x + w / 10, y + h / 10);
    zones.push_back(district);
    for (int c = 0; c < 99; ++c) {  // 11 × 9 cells, every third a triangle
      const double cx = x + (c % 11) * w / 110, cy = y + (c / 11) * h / 90;
      const double cw = w / 110, ch = h / 90;
      cb::stream::Zone cell;
      cell.id = district.id + "-c" + std::to_string(c);
      cell.parent_id = district.id;
      cell.area = c % 3 == 0 ? Geometry::Make(GeometryType::kPolygon,
                                              {{{{cx, cy}, {cx + cw, cy}, {cx, cy + ch}, {cx, cy}}}})
                             : Rect(cx, cy, cx + cw, cy + ch);
      zones.push_back(cell);
    }
  }
  cb::stream::ZoneIndex index;
  auto t0 = Clock::now();
  for (const cb::stream::Zone& z : zones) {
    if (auto st = index.Put(z); !st.ok()) {
      std::cerr << st.ToString() << "\n";
      return 1;
    }
  }
  const double build_s = Seconds(t0);

  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lon(lon0, lon0 + w), lat(lat0, lat0 + h);
  std::vector<LonLat> points(sensors);
  for (LonLat& p : points) p = {lon(rng), lat(rng)};

  t0 = Clock::now();
  size_t assignments = 0;
  for (const LonLat& p : points) assignments += index.ZonesOfSensor(p, "")->size();
  const double index_s = Seconds(t0);

  // Baseline: every zone's polygon tested per sensor, on a sample.
  t0 = Clock::now();
  size_t scan_hits = 0;
  for (size_t i = 0; i < sample && i < points.size(); ++i) {
    for (const cb::stream::Zone& z : zones) {
      if (cb::geo::PolygonContains(z.area.parts[0], points[i])) ++scan_hits;
    }
  }
  const double scan_s = Seconds(t0);
  const double scan_per = scan_s / static_cast<double>(std::min(sample, points.size()));
  const double index_per = index_s / static_cast<double>(points.size());
  std::cout << "RESULT name=zone_assign zones=" << zones.size() << " sensors=" << points.size()
            << " build_s=" << build_s << " seconds=" << index_s
            << " sensors_per_s=" << static_cast<int64_t>(points.size() / index_s)
            << " ns_per_sensor=" << static_cast<int64_t>(index_per * 1e9)
            << " assignments=" << assignments
            << " scan_sample=" << std::min(sample, points.size())
            << " scan_ns_per_sensor=" << static_cast<int64_t>(scan_per * 1e9)
            << " scan_hits=" << scan_hits << " speedup=" << static_cast<int64_t>(scan_per / index_per)
            << std::endl;
  return 0;
}
