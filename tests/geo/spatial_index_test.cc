// Tests for geo/spatial_index.h: the grid against a brute-force scan, de-duplication, overflow
// items, updates and removals, the antimeridian and odd input.
#include "geo/spatial_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace cb::geo {
namespace {

std::vector<uint64_t> Keys(const SpatialIndex& index, const BoundingBox& q) {
  std::vector<uint64_t> out;
  index.Query(q, [&](uint64_t k) {
    out.push_back(k);
    return true;
  });
  return out;
}

std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool HasDuplicates(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) != v.end();
}

// Hangzhou-centred test area.
constexpr double kLon = 120.16, kLat = 30.26;

BoundingBox Box(double min_lon, double min_lat, double max_lon, double max_lat) {
  return BoundingBox{min_lon, min_lat, max_lon, max_lat};
}

TEST(SpatialIndex, SmallCases) {
  struct Item {
    uint64_t key;
    BoundingBox box;
  };
  const std::vector<Item> items = {
      {1, Box(kLon, kLat, kLon, kLat)},                              // a point sensor
      {2, Box(kLon + 0.001, kLat, kLon + 0.001, kLat)},              // next to it
      {3, Box(kLon - 0.02, kLat - 0.02, kLon + 0.02, kLat + 0.02)},  // a district (many cells)
      {4, Box(kLon + 1, kLat + 1, kLon + 1.001, kLat + 1.001)},      // far away
      {5, Box(-180, -90, 180, 90)},                                  // the world (overflow)
      {6, Box(kLon + 0.0049, kLat, kLon + 0.0051, kLat)},            // straddles a cell edge
  };
  struct Case {
    std::string_view name;
    BoundingBox query;
    std::vector<uint64_t> expected;
  };
  const Case cases[] = {
      {"the sensor point", Box(kLon, kLat, kLon, kLat), {1, 3, 5}},
      {"both sensors",
       Box(kLon - 0.0001, kLat - 0.0001, kLon + 0.0011, kLat + 0.0001),
       {1, 2, 3, 5}},
      {"edge-straddling item", Box(kLon + 0.005, kLat, kLon + 0.005, kLat), {3, 5, 6}},
      {"the far item", Box(kLon + 1.0005, kLat + 1.0005, kLon + 1.0006, kLat + 1.0006), {4, 5}},
      {"touching the far item's corner",
       Box(kLon + 1.001, kLat + 1.001, kLon + 2, kLat + 2),
       {4, 5}},
      {"empty sea", Box(0, 0, 0.1, 0.1), {5}},
      {"everything", Box(-180, -90, 180, 90), {1, 2, 3, 4, 5, 6}},
      {"a wide band", Box(100, 30, 140, 30.3), {1, 2, 3, 5, 6}},
      {"inside the district only",
       Box(kLon - 0.015, kLat - 0.015, kLon - 0.01, kLat - 0.01),
       {3, 5}},
      {"beyond the world is clamped", Box(170, 80, 200, 100), {5}},
  };
  SpatialIndex index;
  for (const auto& it : items) index.Insert(it.key, it.box);
  EXPECT_EQ(index.size(), items.size());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto got = Keys(index, c.query);
    EXPECT_FALSE(HasDuplicates(got));
    EXPECT_EQ(Sorted(got), c.expected);
  }
}

TEST(SpatialIndex, RemoveAndUpdate) {
  SpatialIndex index;
  index.Insert(1, Box(kLon, kLat, kLon, kLat));
  index.Insert(2, Box(kLon - 0.02, kLat - 0.02, kLon + 0.02, kLat + 0.02));
  index.Insert(3, Box(-180, -90, 180, 90));
  const BoundingBox here = Box(kLon, kLat, kLon, kLat);
  EXPECT_EQ(Sorted(Keys(index, here)), (std::vector<uint64_t>{1, 2, 3}));

  index.Remove(2);
  EXPECT_EQ(Sorted(Keys(index, here)), (std::vector<uint64_t>{1, 3}));
  index.Remove(3);
  EXPECT_EQ(Sorted(Keys(index, here)), (std::vector<uint64_t>{1}));
  index.Remove(42);  // absent: no-op
  index.Remove(3);   // twice: no-op
  EXPECT_EQ(index.size(), 1u);

  // A sensor that moves 1 km east.
  index.Update(1, Box(kLon + 0.01, kLat, kLon + 0.01, kLat));
  EXPECT_TRUE(Keys(index, here).empty());
  EXPECT_EQ(Keys(index, Box(kLon + 0.01, kLat, kLon + 0.01, kLat)), (std::vector<uint64_t>{1}));
  // Insert of an existing key replaces its box.
  index.Insert(1, here);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(Keys(index, here), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(Keys(index, Box(kLon + 0.01, kLat, kLon + 0.01, kLat)).empty());
  // A small item growing into an overflow item and back.
  index.Update(1, Box(0, 0, 90, 45));
  EXPECT_EQ(Keys(index, Box(10, 10, 10, 10)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(Keys(index, here).empty());
  index.Update(1, here);
  EXPECT_TRUE(Keys(index, Box(10, 10, 10, 10)).empty());
  EXPECT_EQ(Keys(index, here), (std::vector<uint64_t>{1}));
  index.Remove(1);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(Keys(index, Box(-180, -90, 180, 90)).empty());
}

TEST(SpatialIndex, ReportsMultiCellItemsOnce) {
  SpatialIndex index(0.001);  // ~110 m cells
  // 30 x 30 cells, below the overflow budget.
  index.Insert(7, Box(kLon, kLat, kLon + 0.0299, kLat + 0.0299));
  struct Case {
    std::string_view name;
    BoundingBox query;
  };
  const Case cases[] = {
      {"the whole item", Box(kLon, kLat, kLon + 0.03, kLat + 0.03)},
      {"its middle", Box(kLon + 0.01, kLat + 0.01, kLon + 0.02, kLat + 0.02)},
      {"its top-right corner", Box(kLon + 0.029, kLat + 0.029, kLon + 0.05, kLat + 0.05)},
      {"a strip through it", Box(kLon - 1, kLat + 0.015, kLon + 1, kLat + 0.0151)},
      {"a larger area", Box(kLon - 0.1, kLat - 0.1, kLon + 0.1, kLat + 0.1)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Keys(index, c.query), (std::vector<uint64_t>{7}));
  }
}

TEST(SpatialIndex, EarlyStop) {
  SpatialIndex index;
  for (uint64_t k = 0; k < 100; ++k) index.Insert(k, Box(kLon, kLat, kLon + 0.001, kLat + 0.001));
  index.Insert(1000, Box(-180, -90, 180, 90));
  int calls = 0;
  index.Query(Box(kLon, kLat, kLon, kLat), [&](uint64_t) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

TEST(SpatialIndex, Antimeridian) {
  SpatialIndex index;
  index.Insert(1, Box(179.9, -17, 179.95, -16.9));    // Fiji, east of the line
  index.Insert(2, Box(-179.95, -17, -179.9, -16.9));  // west of the line
  index.Insert(3, Box(179.99, -17, -179.99, -16.9));  // crosses it: stored as all longitudes
  index.Insert(4, Box(0, -17, 1, -16.9));             // elsewhere on the same latitude
  index.Insert(5, Box(179, 10, 181, 11));             // beyond 180: clamped
  struct Case {
    std::string_view name;
    BoundingBox query;
    std::vector<uint64_t> expected;
  };
  const Case cases[] = {
      {"query across the line", Box(179.5, -18, -179.5, -16), {1, 2, 3}},
      {"east side only", Box(179.5, -18, 180, -16), {1, 3}},
      {"west side only", Box(-180, -18, -179.5, -16), {2, 3}},
      {"elsewhere on the latitude", Box(0.5, -17, 0.5, -17), {3, 4}},
      {"world-wrapping query", Box(0.5, -18, 0.4, -16), {1, 2, 3, 4}},
      {"clamped item at 180", Box(180, 10.5, 180, 10.5), {5}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto got = Keys(index, c.query);
    EXPECT_FALSE(HasDuplicates(got));
    EXPECT_EQ(Sorted(got), c.expected);
  }
}

TEST(SpatialIndex, OddInput) {
  SpatialIndex bad_cell(-1);  // falls back to the default cell size
  bad_cell.Insert(1, Box(kLon, kLat, kLon, kLat));
  EXPECT_EQ(Keys(bad_cell, Box(kLon, kLat, kLon, kLat)), (std::vector<uint64_t>{1}));
  SpatialIndex nan_cell(NAN);
  nan_cell.Insert(1, Box(kLon, kLat, kLon, kLat));
  EXPECT_EQ(Keys(nan_cell, Box(kLon, kLat, kLon, kLat)), (std::vector<uint64_t>{1}));

  SpatialIndex index;
  index.Insert(1, Box(kLon, kLat, kLon, kLat));
  index.Insert(2, Box(NAN, kLat, kLon, kLat));          // never matches, but can be removed
  index.Insert(3, Box(kLon, kLat + 0.01, kLon, kLat));  // swapped latitudes are put in order
  index.Insert(4, Box(0, 90, 0, 90));                   // the north pole
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(Sorted(Keys(index, Box(-180, -90, 180, 90))), (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(Sorted(Keys(index, Box(kLon, kLat + 0.005, kLon, kLat + 0.005))),
            (std::vector<uint64_t>{3}));
  EXPECT_EQ(Keys(index, Box(-1, 89.99, 1, 90)), (std::vector<uint64_t>{4}));
  EXPECT_TRUE(Keys(index, Box(NAN, NAN, NAN, NAN)).empty());
  EXPECT_TRUE(Keys(index, Box(kLon, kLat, INFINITY, kLat)).empty());
  index.Remove(2);
  EXPECT_EQ(index.size(), 3u);
}

// The "near" query a broker runs: candidates from the index over the expanded box, then the
// exact distance; must match a brute-force distance scan.
TEST(SpatialIndex, NearQueryMatchesBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<LonLat> sensors;
  SpatialIndex index;
  for (uint64_t k = 0; k < 5000; ++k) {
    const LonLat p{kLon + (unit(rng) - 0.5) * 0.1, kLat + (unit(rng) - 0.5) * 0.1};
    sensors.push_back(p);
    index.Insert(k, Box(p.lon, p.lat, p.lon, p.lat));
  }
  for (int i = 0; i < 200; ++i) {
    const LonLat c{kLon + (unit(rng) - 0.5) * 0.1, kLat + (unit(rng) - 0.5) * 0.1};
    const double radius = 50 + unit(rng) * 1500;
    std::vector<uint64_t> got;
    index.Query(Box(c.lon, c.lat, c.lon, c.lat).Expanded(radius), [&](uint64_t k) {
      if (DistanceMeters(c, sensors[k]) <= radius) got.push_back(k);
      return true;
    });
    std::vector<uint64_t> expected;
    for (uint64_t k = 0; k < sensors.size(); ++k) {
      if (DistanceMeters(c, sensors[k]) <= radius) expected.push_back(k);
    }
    ASSERT_EQ(Sorted(got), expected) << "query " << i;
  }
}

// The grid must agree exactly with a brute-force scan.
struct RandomCase {
  std::string_view name;
  double cell;
  double area_deg;       // items and queries fall within kLon/kLat ± area_deg
  double max_item_deg;   // item sizes, uniformly up to this
  double max_query_deg;  // query sizes, uniformly up to this
  double big_fraction;   // share of items 100x larger (city-wide zones, overflow)
};

class SpatialIndexRandom : public testing::TestWithParam<RandomCase> {};

TEST_P(SpatialIndexRandom, MatchesBruteForce) {
  const RandomCase& rc = GetParam();
  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto random_box = [&](double max_size) {
    const double lon = kLon + (unit(rng) * 2 - 1) * rc.area_deg;
    const double lat = kLat + (unit(rng) * 2 - 1) * rc.area_deg;
    const bool point = unit(rng) < 0.3;
    const double w = point ? 0 : unit(rng) * max_size, h = point ? 0 : unit(rng) * max_size;
    return Box(lon, lat, lon + w, lat + h);
  };
  SpatialIndex index(rc.cell);
  std::map<uint64_t, BoundingBox> truth;
  constexpr int kItems = 10000;
  for (int i = 0; i < kItems; ++i) {
    const uint64_t key = rng();
    const double size = unit(rng) < rc.big_fraction ? rc.max_item_deg * 100 : rc.max_item_deg;
    const BoundingBox b = random_box(size);
    index.Insert(key, b);
    truth[key] = b;
  }
  auto check = [&](int queries) {
    ASSERT_EQ(index.size(), truth.size());
    for (int i = 0; i < queries; ++i) {
      const BoundingBox q = random_box(i % 10 == 0 ? rc.max_query_deg * 20 : rc.max_query_deg);
      std::vector<uint64_t> expected;
      for (const auto& [k, b] : truth) {
        if (b.Intersects(q)) expected.push_back(k);
      }
      const auto got = Keys(index, q);
      ASSERT_FALSE(HasDuplicates(got)) << "query " << i;
      ASSERT_EQ(Sorted(got), expected) << "query " << i;
      // Collect reports the same keys, each with the box it was inserted under.
      std::vector<SpatialIndex::Hit> hits;
      index.Collect(q, &hits);
      std::vector<uint64_t> collected;
      for (const auto& h : hits) {
        collected.push_back(h.key);
        const BoundingBox& b = truth.at(h.key);
        ASSERT_TRUE(h.box.min_lon == b.min_lon && h.box.min_lat == b.min_lat &&
                    h.box.max_lon == b.max_lon && h.box.max_lat == b.max_lat)
            << "query " << i;
      }
      ASSERT_EQ(Sorted(collected), expected) << "query " << i;
    }
  };
  check(300);
  // Move a third of the items, remove a third, then check again.
  int n = 0;
  for (auto it = truth.begin(); it != truth.end(); ++n) {
    if (n % 3 == 0) {
      const BoundingBox b = random_box(rc.max_item_deg);
      index.Update(it->first, b);
      it->second = b;
      ++it;
    } else if (n % 3 == 1) {
      index.Remove(it->first);
      it = truth.erase(it);
    } else {
      ++it;
    }
  }
  check(300);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, SpatialIndexRandom,
    testing::Values(
        // A city: 10k sensors and small zones over ±0.2° with the default 0.005° cells.
        RandomCase{"city", 0.005, 0.2, 0.01, 0.02, 0.02},
        // Dense: everything in ±0.02°, items spanning many cells.
        RandomCase{"dense", 0.001, 0.02, 0.01, 0.005, 0.05},
        // Coarse cells over a province.
        RandomCase{"province", 0.05, 3, 0.1, 0.5, 0.01}),
    [](const testing::TestParamInfo<RandomCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cb::geo
