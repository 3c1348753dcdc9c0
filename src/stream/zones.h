// Zones: the areas the operations centre watches (a district, a street, a grid cell, the
// fountain plaza), each a polygon with an optional parent zone (district → street → grid),
// and the assignment of sensors to the zones they count toward.
//
// A sensor counts toward every zone whose polygon contains its location, or, when it names
// one by an explicit `refZone` relationship, toward that zone; in both cases also toward the
// ancestors of those zones. Point-in-polygon goes through a spatial grid index over the
// zones' bounding boxes, then the exact test on the few candidates.
//
// Thread-safety: ZoneIndex is not thread-safe; the stream engine owns it and serialises
// calls (readers and writers alike).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "context/entity.h"
#include "core/json.h"
#include "core/status.h"
#include "geo/geometry.h"
#include "geo/spatial_index.h"

namespace cb::stream {

struct Zone {
  std::string id;         // e.g. urn:ngsi-ld:Zone:hubin-fountain
  JsonValue name;          // a text, or a languageMap {"zh-CN": …, "en": …}; null when unnamed
  std::string parent_id;  // empty for a top-level zone
  geo::Geometry area;     // Polygon or MultiPolygon, validated
  double area_m2 = 0;
  std::optional<double> capacity;  // people the zone holds safely, when known
};

// The zone's name in `lang` ("zh-CN", "en"): its text name, or that entry of its
// languageMap; its id when it has neither.
std::string ZoneName(const Zone& zone, std::string_view lang);

class ZoneIndex {
 public:
  ZoneIndex();

  // Adds or replaces a zone. kBadRequestData when the area is not a valid Polygon or
  // MultiPolygon (unclosed or self-intersecting rings, coordinates out of range: see
  // geo::GeometryFromGeoJson), the capacity is not positive, the parent is unknown, or the
  // parent chain would loop back to the zone. Nothing changes on error.
  Status Put(Zone zone);
  // A zone from its NGSI-LD entity (type Zone): location (GeoProperty, Polygon or
  // MultiPolygon), name (a text Property or a LanguageProperty, optional), refParent (Relationship, optional), capacity
  // (Property, a positive number, optional); the area is computed. kBadRequestData naming
  // the attribute otherwise.
  static Result<Zone> FromEntity(const context::Entity& entity);
  // Removes a zone. kNotFound when absent; kConflict while other zones name it as parent.
  Status Remove(const std::string& id);

  const Zone* Find(const std::string& id) const;
  // Every zone, in id order.
  std::vector<const Zone*> All() const;
  size_t size() const { return zones_.size(); }
  // The zone's parent, grandparent, ... (nearest first); empty for unknown zones.
  std::vector<std::string> Ancestors(const std::string& id) const;
  // Ids of the zones whose area contains p (points on the border count), in id order.
  std::vector<std::string> ZonesContaining(geo::LonLat p) const;
  // The zones a sensor counts toward: `ref_zone` and its ancestors when given (kNotFound for
  // an unknown zone), else the zones containing `location` and their ancestors; sorted,
  // each once.
  Result<std::vector<std::string>> ZonesOfSensor(const std::optional<geo::LonLat>& location,
                                                 const std::string& ref_zone) const;

 private:
  struct Slot {
    Zone zone;
    uint64_t key;
  };
  std::map<std::string, Slot> zones_;
  std::unordered_map<uint64_t, const Zone*> by_key_;
  geo::SpatialIndex index_;
  uint64_t next_key_ = 1;
};

}  // namespace cb::stream
