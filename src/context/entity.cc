#include "context/entity.h"

#include <algorithm>

namespace cb::context {

std::string_view AttrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::kProperty: return "Property";
    case AttrKind::kGeoProperty: return "GeoProperty";
    case AttrKind::kRelationship: return "Relationship";
    case AttrKind::kLanguageProperty: return "LanguageProperty";
  }
  return "Property";
}

bool Entity::HasType(std::string_view t) const {
  return std::find(types.begin(), types.end(), t) != types.end();
}

const Attribute* Entity::Find(std::string_view name) const {
  for (const auto& a : attrs) {
    if (a.name == name) return &a.attr;
  }
  return nullptr;
}

Attribute* Entity::Find(std::string_view name) {
  return const_cast<Attribute*>(static_cast<const Entity*>(this)->Find(name));
}

void Entity::Set(std::string name, Attribute attr) {
  if (Attribute* a = Find(name)) {
    *a = std::move(attr);
    return;
  }
  attrs.push_back({std::move(name), std::move(attr)});
}

bool Entity::Erase(std::string_view name) {
  auto it = std::find_if(attrs.begin(), attrs.end(), [&](const auto& a) { return a.name == name; });
  if (it == attrs.end()) return false;
  attrs.erase(it);
  return true;
}

bool IsValidEntityId(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  size_t colon = id.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == id.size()) return false;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(id[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = id[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  for (char c : id) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '{' || c == '}' ||
        c == '|' || c == '\\' || c == '^' || c == '`') {
      return false;
    }
  }
  return true;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    // Characters NGSI-LD forbids in names (ETSI GS CIM 009 4.6.2), plus whitespace.
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\'' || c == '=' ||
        c == ';' || c == '(' || c == ')') {
      return false;
    }
  }
  return true;
}

}  // namespace cb::context
