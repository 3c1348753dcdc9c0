// The NGSI-LD information model as CityBrain holds it: an Entity (id, type, attributes)
// whose attributes are Properties, GeoProperties, Relationships or LanguageProperties, each
// with optional observedAt, unitCode, datasetId and sub-attributes.
// An Entity holds its attributes through AttrRef, a copy-on-write handle: copying an Entity
// (each update makes a new version) copies pointers, not the attributes' JSON values.
// Thread-safety: value types; AttrRef copies may be used from different threads (see AttrRef).
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

// A shared, copy-on-write handle to an Attribute. Copies share one attribute (an atomic
// reference count, no deep copy); Mutable() first copies the attribute when it is shared, so
// a change through one handle is never seen through another. A default-constructed handle
// reads as an empty Property.
// Thread-safety: as for shared_ptr: handles sharing an attribute may be copied and
// destroyed concurrently, and the shared attribute is immutable; one handle is not
// thread-safe against concurrent Mutable() or assignment.
class AttrRef {
 public:
  AttrRef() = default;
  AttrRef(Attribute a);  // NOLINT(google-explicit-constructor): {name, attribute} literals
  AttrRef(const AttrRef& o) noexcept;
  AttrRef(AttrRef&& o) noexcept : node_(o.node_) { o.node_ = nullptr; }
  AttrRef& operator=(AttrRef o) noexcept {
    std::swap(node_, o.node_);
    return *this;
  }
  ~AttrRef();

  const Attribute& operator*() const;
  const Attribute* operator->() const { return &**this; }
  operator const Attribute&() const { return **this; }  // NOLINT: reads like an Attribute
  // The attribute for changing, copied first when another handle shares it.
  Attribute& Mutable();
  // Whether both handles share one attribute (the same version of it).
  bool SharesWith(const AttrRef& o) const { return node_ != nullptr && node_ == o.node_; }

 private:
  struct Node;
  Node* node_ = nullptr;
};

struct NamedAttribute {
  std::string name;
  AttrRef attr;
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
  // The attribute's handle, to share or change it; nullptr when absent.
  AttrRef* FindRef(std::string_view name);
  // Sets (replaces or appends) an attribute.
  void Set(std::string name, AttrRef attr);
  bool Erase(std::string_view name);
};

// Is `id` a valid NGSI-LD entity id (an absolute URI: scheme ":" rest, no spaces or
// control characters, at most 256 bytes)?
bool IsValidEntityId(std::string_view id);
// Is `name` a valid attribute/type name (NGSI-LD forbids some characters)?
bool IsValidName(std::string_view name);

}  // namespace cb::context
