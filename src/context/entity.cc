#include "context/entity.h"

#include <algorithm>
#include <atomic>

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

struct AttrRef::Node {
  explicit Node(Attribute a) : attr(std::move(a)) {}
  std::atomic<uint32_t> refs{1};
  Attribute attr;
};

AttrRef::AttrRef(Attribute a) : node_(new Node(std::move(a))) {}

AttrRef::AttrRef(const AttrRef& o) noexcept : node_(o.node_) {
  if (node_ != nullptr) node_->refs.fetch_add(1, std::memory_order_relaxed);
}

AttrRef::~AttrRef() {
  // acq_rel: the last owner sees every write made before other owners let go.
  if (node_ != nullptr && node_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete node_;
}

const Attribute& AttrRef::operator*() const {
  static const Attribute kEmpty;
  return node_ != nullptr ? node_->attr : kEmpty;
}

Attribute& AttrRef::Mutable() {
  if (node_ == nullptr) {
    node_ = new Node(Attribute{});
  } else if (node_->refs.load(std::memory_order_acquire) != 1) {
    // Shared: another handle may read it at any time, so change a copy. (A count of 1 cannot
    // grow behind our back: only a copy of this handle could add to it.)
    *this = AttrRef(node_->attr);
  }
  return node_->attr;
}

bool Entity::HasType(std::string_view t) const {
  return std::find(types.begin(), types.end(), t) != types.end();
}

const Attribute* Entity::Find(std::string_view name) const {
  for (const auto& a : attrs) {
    if (a.name == name) return &*a.attr;
  }
  return nullptr;
}

AttrRef* Entity::FindRef(std::string_view name) {
  for (auto& a : attrs) {
    if (a.name == name) return &a.attr;
  }
  return nullptr;
}

void Entity::Set(std::string name, AttrRef attr) {
  if (AttrRef* a = FindRef(name)) {
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
