// The NGSI-LD information model as CityBrain holds it: an Entity (id, type, attributes)
// whose attributes are Properties, GeoProperties, Relationships or LanguageProperties, each
// with optional observedAt, unitCode, datasetId and sub-attributes.
// Thread-safety: value types.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/time.h"
#include "geo/geometry.h"

namespace cb::context {

enum class AttrKind : uint8_t { kProperty, kGeoProperty, kRelationship, kLanguageProperty };
std::string_view AttrKindName(AttrKind k);

struct Attribute {
  AttrKind kind = AttrKind::kProperty;
  // Property: the value (any JSON). GeoProperty: the GeoJSON geometry object.
  // Relationship: the target URI as a string. LanguageProperty: the languageMap object.
  JsonValue value;
  TimeMs observed_at = kNoTime;
  TimeMs created_at = kNoTime;
  TimeMs modified_at = kNoTime;
  std::string unit_code;
  std::string dataset_id;
  // Sub-attributes (properties of properties) in normalized form, kept as given.
  JsonValue::Object sub_attrs;
  // Parsed geometry, for GeoProperties only.
  std::shared_ptr<const geo::Geometry> geometry;
};

struct NamedAttribute {
  std::string name;
  Attribute attr;
};

struct Entity {
  std::string id;
  std::vector<std::string> types;  // at least one
  std::vector<NamedAttribute> attrs;
  TimeMs created_at = kNoTime;
  TimeMs modified_at = kNoTime;

  const std::string& type() const { return types.front(); }
  bool HasType(std::string_view t) const;
  const Attribute* Find(std::string_view name) const;
  Attribute* Find(std::string_view name);
  // Sets (replaces or appends) an attribute.
  void Set(std::string name, Attribute attr);
  bool Erase(std::string_view name);
};

// Is `id` a valid NGSI-LD entity id (an absolute URI: scheme ":" rest, no spaces or
// control characters, at most 256 bytes)?
bool IsValidEntityId(std::string_view id);
// Is `name` a valid attribute/type name (NGSI-LD forbids some characters)?
bool IsValidName(std::string_view name);

}  // namespace cb::context
