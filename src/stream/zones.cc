#include "stream/zones.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace cb::stream {
namespace {

Status Bad(const std::string& zone_id, const std::string& what) {
  return Status::BadRequestData("zone " + zone_id + ": " + what);
}

}  // namespace

std::string ZoneName(const Zone& zone, std::string_view lang) {
  if (zone.name.is_string()) return zone.name.as_string();
  const JsonValue* v = zone.name.is_object() ? zone.name.Find(lang) : nullptr;
  return v != nullptr && v->is_string() ? v->as_string() : zone.id;
}

ZoneIndex::ZoneIndex() : index_(0.005) {}

Status ZoneIndex::Put(Zone zone) {
  if (!context::IsValidEntityId(zone.id)) return Bad(zone.id, "the id must be a URI");
  if (zone.area.type != geo::GeometryType::kPolygon &&
      zone.area.type != geo::GeometryType::kMultiPolygon) {
    return Bad(zone.id, "the area must be a Polygon or MultiPolygon, not a " +
                            std::string(geo::GeometryTypeName(zone.area.type)));
  }
  if (zone.capacity && !(std::isfinite(*zone.capacity) && *zone.capacity > 0)) {
    return Bad(zone.id, "the capacity must be a positive number");
  }
  if (!zone.parent_id.empty()) {
    if (zone.parent_id == zone.id) return Bad(zone.id, "a zone cannot be its own parent");
    if (zones_.count(zone.parent_id) == 0) {
      return Bad(zone.id, "the parent zone " + zone.parent_id + " is not defined");
    }
    for (const std::string& a : Ancestors(zone.parent_id)) {
      if (a == zone.id) {
        return Bad(zone.id, "the parent " + zone.parent_id + " is inside this zone's own subtree");
      }
    }
  }
  zone.area_m2 = geo::AreaSquareMeters(zone.area);
  auto it = zones_.find(zone.id);
  if (it == zones_.end()) {
    std::string id = zone.id;  // (the zone is moved from before emplace reads its key)
    it = zones_.emplace(std::move(id), Slot{std::move(zone), next_key_++}).first;
  } else {
    it->second.zone = std::move(zone);
  }
  by_key_[it->second.key] = &it->second.zone;
  index_.Insert(it->second.key, it->second.zone.area.bbox);
  return Status::Ok();
}

Result<Zone> ZoneIndex::FromEntity(const context::Entity& e) {
  Zone z;
  z.id = e.id;
  const context::Attribute* location = e.Find("location");
  if (location == nullptr || location->kind != context::AttrKind::kGeoProperty ||
      location->geometry == nullptr) {
    return Bad(e.id, "location must be a GeoProperty with the zone's Polygon or MultiPolygon");
  }
  z.area = *location->geometry;
  if (const context::Attribute* name = e.Find("name")) {
    const bool language_map = name->kind == context::AttrKind::kLanguageProperty;
    if (!name->value.is_string() && !language_map) {
      return Bad(e.id, "name must be a text or a LanguageProperty");
    }
    z.name = name->value;
  }
  if (const context::Attribute* parent = e.Find("refParent")) {
    if (parent->kind != context::AttrKind::kRelationship || !parent->value.is_string()) {
      return Bad(e.id, "refParent must be a Relationship to the parent zone");
    }
    z.parent_id = parent->value.as_string();
  }
  if (const context::Attribute* cap = e.Find("capacity")) {
    if (!cap->value.is_number()) return Bad(e.id, "capacity must be a number of people");
    z.capacity = cap->value.as_double();
  }
  return z;
}

Status ZoneIndex::Remove(const std::string& id) {
  auto it = zones_.find(id);
  if (it == zones_.end()) return Status::NotFound("zone " + id + " is not defined");
  for (const auto& [other_id, slot] : zones_) {
    if (slot.zone.parent_id == id) {
      return Status::Conflict("zone " + id + " is the parent of " + other_id +
                              "; remove or move its child zones first");
    }
  }
  index_.Remove(it->second.key);
  by_key_.erase(it->second.key);
  zones_.erase(it);
  return Status::Ok();
}

const Zone* ZoneIndex::Find(const std::string& id) const {
  auto it = zones_.find(id);
  return it == zones_.end() ? nullptr : &it->second.zone;
}

std::vector<const Zone*> ZoneIndex::All() const {
  std::vector<const Zone*> out;
  out.reserve(zones_.size());
  for (const auto& [id, slot] : zones_) out.push_back(&slot.zone);
  return out;
}

std::vector<std::string> ZoneIndex::Ancestors(const std::string& id) const {
  std::vector<std::string> out;
  const Zone* z = Find(id);
  // Put() refuses loops, so the walk ends; the bound guards against a bug all the same.
  while (z != nullptr && !z->parent_id.empty() && out.size() < zones_.size()) {
    out.push_back(z->parent_id);
    z = Find(z->parent_id);
  }
  return out;
}

std::vector<std::string> ZoneIndex::ZonesContaining(geo::LonLat p) const {
  std::vector<std::string> out;
  const geo::BoundingBox point{p.lon, p.lat, p.lon, p.lat};
  thread_local std::vector<geo::SpatialIndex::Hit> hits;
  hits.clear();
  index_.Collect(point, &hits);
  for (const geo::SpatialIndex::Hit& h : hits) {
    const Zone* z = by_key_.at(h.key);
    for (const geo::PolygonRings& poly : z->area.parts) {
      if (geo::PolygonContains(poly, p)) {
        out.push_back(z->id);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::string>> ZoneIndex::ZonesOfSensor(
    const std::optional<geo::LonLat>& location, const std::string& ref_zone) const {
  std::vector<std::string> direct;
  if (!ref_zone.empty()) {
    if (Find(ref_zone) == nullptr) {
      return Status::NotFound("zone " + ref_zone + " (refZone) is not defined");
    }
    direct.push_back(ref_zone);
  } else if (location) {
    direct = ZonesContaining(*location);
  }
  std::set<std::string> all(direct.begin(), direct.end());
  for (const std::string& z : direct) {
    for (std::string& a : Ancestors(z)) all.insert(std::move(a));
  }
  return std::vector<std::string>(all.begin(), all.end());
}

}  // namespace cb::stream
