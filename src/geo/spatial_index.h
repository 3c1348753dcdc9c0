// SpatialIndex: a uniform grid over WGS84 mapping cells to item keys, for near/within/
// intersects candidate search and zone lookup. Each item is stored with its bounding box
// in every cell it touches (large items above a cell budget go to an overflow list that
// every query scans). Exact predicates are applied by the caller on the candidates.
// Longitudes and latitudes are clamped to the world; a box with min_lon > max_lon (crossing the
// antimeridian) is stored as spanning all longitudes, and such a query box is split in two.
// Thread-safety: none; callers synchronise (the context store holds it under its lock).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "geo/geometry.h"

namespace cb::geo {

class SpatialIndex {
 public:
  // cell_degrees: grid cell size; 0.005° ≈ 550 m at the equator.
  explicit SpatialIndex(double cell_degrees = 0.005);

  // Adds the key with its box; an existing key's box is replaced.
  void Insert(uint64_t key, const BoundingBox& box);
  // Removes the key (with the box it was inserted under); no-op when absent.
  void Remove(uint64_t key);
  // Replaces the key's box.
  void Update(uint64_t key, const BoundingBox& box);
  // Calls fn(key) once for each key whose box intersects `box`. Stop early by returning false.
  // fn must not modify the index.
  void Query(const BoundingBox& box, const std::function<bool(uint64_t)>& fn) const;
  // A key with the box it was inserted under (normalised: clamped to the world).
  struct Hit {
    uint64_t key;
    BoundingBox box;
  };
  // Appends to *out each key whose box intersects `box`, once, with its box: what Query
  // reports, without a call per key.
  void Collect(const BoundingBox& box, std::vector<Hit>* out) const;
  size_t size() const { return boxes_.size(); }

 private:
  using CellId = uint64_t;
  struct Entry {
    uint64_t key;
    BoundingBox box;
    int32_t col0, row0;  // the first cell of the item's range (it is reported from there)
  };
  // Calls report(key, box) for each key whose box intersects `box`, once; stops when it
  // returns false.
  template <typename F>
  void Visit(const BoundingBox& box, F&& report) const;
  // The cell range [x0, x1] × [y0, y1] of a normalised box; false when it covers more cells than
  // the per-item budget (the item then belongs to the overflow list).
  bool CellRange(const BoundingBox& box, int64_t* x0, int64_t* y0, int64_t* x1, int64_t* y1) const;
  CellId Cell(int64_t x, int64_t y) const;
  int64_t Col(double lon) const;
  int64_t Row(double lat) const;

  double cell_;
  int64_t max_col_, max_row_;
  std::unordered_map<CellId, std::vector<Entry>> cells_;
  std::unordered_map<uint64_t, BoundingBox> boxes_;
  std::vector<uint64_t> overflow_;
};

}  // namespace cb::geo
