// SpatialIndex: a uniform lon/lat grid with an overflow list for large items.
//
// Each query reports a key once: an item sits in every cell of its range, and it is reported
// only from the cell at (max(query col0, item col0), max(query row0, item row0)), the first cell
// the two ranges share. Queries that would visit more cells than there are items scan the item
// table instead.
#include "geo/spatial_index.h"

#include <algorithm>
#include <cmath>

namespace cb::geo {
namespace {

constexpr int64_t kMaxCellsPerItem = 1024;

bool Finite(const BoundingBox& b) {
  return std::isfinite(b.min_lon) && std::isfinite(b.min_lat) && std::isfinite(b.max_lon) &&
         std::isfinite(b.max_lat);
}

// Clamped to the world; a box crossing the antimeridian (min_lon > max_lon) spans all
// longitudes; swapped latitudes are put in order.
BoundingBox Normalised(BoundingBox b) {
  if (b.min_lon > b.max_lon) {
    b.min_lon = -180;
    b.max_lon = 180;
  }
  if (b.min_lat > b.max_lat) std::swap(b.min_lat, b.max_lat);
  b.min_lon = std::clamp(b.min_lon, -180.0, 180.0);
  b.max_lon = std::clamp(b.max_lon, -180.0, 180.0);
  b.min_lat = std::clamp(b.min_lat, -90.0, 90.0);
  b.max_lat = std::clamp(b.max_lat, -90.0, 90.0);
  return b;
}

}  // namespace

SpatialIndex::SpatialIndex(double cell_degrees)
    : cell_(std::isfinite(cell_degrees) && cell_degrees > 0 ? std::clamp(cell_degrees, 1e-6, 360.0)
                                                            : 0.005),
      max_col_(static_cast<int64_t>(std::ceil(360.0 / cell_)) - 1),
      max_row_(static_cast<int64_t>(std::ceil(180.0 / cell_)) - 1) {}

SpatialIndex::CellId SpatialIndex::Cell(int64_t x, int64_t y) const {
  return (static_cast<uint64_t>(y) << 32) | static_cast<uint64_t>(x);
}

int64_t SpatialIndex::Col(double lon) const {
  const auto c = static_cast<int64_t>(std::floor((std::clamp(lon, -180.0, 180.0) + 180.0) / cell_));
  return std::clamp<int64_t>(c, 0, max_col_);
}

int64_t SpatialIndex::Row(double lat) const {
  const auto r = static_cast<int64_t>(std::floor((std::clamp(lat, -90.0, 90.0) + 90.0) / cell_));
  return std::clamp<int64_t>(r, 0, max_row_);
}

bool SpatialIndex::CellRange(const BoundingBox& box, int64_t* x0, int64_t* y0, int64_t* x1,
                             int64_t* y1) const {
  if (!Finite(box)) return false;
  *x0 = Col(box.min_lon);
  *x1 = Col(box.max_lon);
  *y0 = Row(box.min_lat);
  *y1 = Row(box.max_lat);
  return (*x1 - *x0 + 1) * (*y1 - *y0 + 1) <= kMaxCellsPerItem;
}

void SpatialIndex::Insert(uint64_t key, const BoundingBox& box) {
  if (boxes_.count(key) != 0) Remove(key);
  const BoundingBox b = Finite(box) ? Normalised(box) : box;
  boxes_.emplace(key, b);
  int64_t x0, y0, x1, y1;
  if (!CellRange(b, &x0, &y0, &x1, &y1)) {
    overflow_.push_back(key);
    return;
  }
  const Entry entry{key, b, static_cast<int32_t>(x0), static_cast<int32_t>(y0)};
  for (int64_t y = y0; y <= y1; ++y) {
    for (int64_t x = x0; x <= x1; ++x) cells_[Cell(x, y)].push_back(entry);
  }
}

void SpatialIndex::Remove(uint64_t key) {
  auto it = boxes_.find(key);
  if (it == boxes_.end()) return;
  int64_t x0, y0, x1, y1;
  if (!CellRange(it->second, &x0, &y0, &x1, &y1)) {
    auto o = std::find(overflow_.begin(), overflow_.end(), key);
    if (o != overflow_.end()) {
      *o = overflow_.back();
      overflow_.pop_back();
    }
  } else {
    for (int64_t y = y0; y <= y1; ++y) {
      for (int64_t x = x0; x <= x1; ++x) {
        auto c = cells_.find(Cell(x, y));
        if (c == cells_.end()) continue;
        auto& v = c->second;
        auto e = std::find_if(v.begin(), v.end(), [key](const Entry& en) { return en.key == key; });
        if (e != v.end()) {
          *e = v.back();
          v.pop_back();
        }
        if (v.empty()) cells_.erase(c);
      }
    }
  }
  boxes_.erase(it);
}

void SpatialIndex::Update(uint64_t key, const BoundingBox& box) { Insert(key, box); }

template <typename F>
void SpatialIndex::Visit(const BoundingBox& box, F&& fn) const {
  if (!Finite(box) || boxes_.empty()) return;
  // One rectangle; keys whose box also meets `skip` were reported by an earlier piece.
  auto run = [&](const BoundingBox& q, const BoundingBox* skip) {
    auto report = [&](uint64_t key, const BoundingBox& b) {
      if (!b.Intersects(q) || (skip != nullptr && b.Intersects(*skip))) return true;
      return fn(key, b);
    };
    const int64_t x0 = Col(q.min_lon), x1 = Col(q.max_lon);
    const int64_t y0 = Row(q.min_lat), y1 = Row(q.max_lat);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) >= static_cast<int64_t>(boxes_.size())) {
      for (const auto& [key, b] : boxes_) {
        if (!report(key, b)) return false;
      }
      return true;
    }
    for (uint64_t key : overflow_) {
      if (!report(key, boxes_.at(key))) return false;
    }
    for (int64_t y = y0; y <= y1; ++y) {
      for (int64_t x = x0; x <= x1; ++x) {
        auto c = cells_.find(Cell(x, y));
        if (c == cells_.end()) continue;
        for (const Entry& e : c->second) {
          if (!e.box.Intersects(q)) continue;
          if (x != std::max<int64_t>(x0, e.col0) || y != std::max<int64_t>(y0, e.row0)) {
            continue;  // reported from another cell
          }
          if (!report(e.key, e.box)) return false;
        }
      }
    }
    return true;
  };
  if (box.min_lon > box.max_lon) {  // crosses the antimeridian: east piece, then west piece
    BoundingBox east = box, west = box;
    east.max_lon = 180;
    west.min_lon = -180;
    east = Normalised(east);
    west = Normalised(west);
    if (run(east, nullptr)) run(west, &east);
    return;
  }
  run(Normalised(box), nullptr);
}

void SpatialIndex::Query(const BoundingBox& box, const std::function<bool(uint64_t)>& fn) const {
  Visit(box, [&](uint64_t key, const BoundingBox&) { return fn(key); });
}

void SpatialIndex::Collect(const BoundingBox& box, std::vector<Hit>* out) const {
  Visit(box, [out](uint64_t key, const BoundingBox& b) {
    out->push_back(Hit{key, b});
    return true;
  });
}

}  // namespace cb::geo
