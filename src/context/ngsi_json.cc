#include "context/ngsi_json.h"

#include <algorithm>

namespace cb::context {
namespace {

constexpr size_t kMaxSubAttrDepth = 4;

bool IsGeoName(std::string_view n) {
  return n == "location" || n == "observationSpace" || n == "operationSpace";
}

bool IsGeoJsonGeometry(const JsonValue& v) {
  if (!v.is_object()) return false;
  const JsonValue* t = v.Find("type");
  if (t == nullptr || !t->is_string() || v.Find("coordinates") == nullptr) return false;
  return geo::GeometryTypeFromName(t->as_string()).ok();
}

Status AttrError(std::string_view name, std::string_view what) {
  return Status::BadRequestData("attribute '" + std::string(name) + "': " + std::string(what));
}

bool IsSystemMember(std::string_view k) {
  return k == "createdAt" || k == "modifiedAt" || k == "deletedAt" || k == "instanceId";
}

Result<Attribute> ParseAttributeAt(std::string_view name, const JsonValue& v, size_t depth);

// Renders a parsed sub-attribute back to normalized JSON for storage.
JsonValue NormalizedJson(const Attribute& a) {
  std::string s;
  JsonWriter w(&s);
  RenderOptions o;
  RenderAttribute(a, o, &w);
  return ParseJson(s).value();
}

// Writes t with JsonWriter::String, without allocating.
void TimeString(JsonWriter* w, TimeMs t) {
  char buf[kIso8601MaxLength];
  w->String(std::string_view(buf, FormatIso8601(t, buf)));
}

// The system attributes as the next members of the object being written (RenderOptions::
// sys_attrs).
void RenderSysTimes(TimeMs created_at, TimeMs modified_at, JsonWriter* w) {
  if (created_at != kNoTime) TimeString(&w->RawKey(R"("createdAt":)"), created_at);
  if (modified_at != kNoTime) TimeString(&w->RawKey(R"("modifiedAt":)"), modified_at);
}

Status SetGeometry(std::string_view name, Attribute* a) {
  auto g = geo::GeometryFromGeoJson(a->value);
  if (!g.ok()) return AttrError(name, g.status().message());
  a->geometry = std::make_shared<const geo::Geometry>(std::move(g).value());
  return Status::Ok();
}

Status ParseRelationshipObject(std::string_view name, const JsonValue& obj) {
  auto check = [&](const JsonValue& o) {
    return o.is_string() && IsValidEntityId(o.as_string());
  };
  bool ok = check(obj);
  if (!ok && obj.is_array() && !obj.as_array().empty()) {
    ok = std::all_of(obj.as_array().begin(), obj.as_array().end(), check);
  }
  if (!ok) return AttrError(name, "Relationship object must be an entity id (URI)");
  return Status::Ok();
}

Status ParseLanguageMap(std::string_view name, const JsonValue& map) {
  if (!map.is_object() || map.as_object().empty()) {
    return AttrError(name, "languageMap must be a non-empty object of language tags");
  }
  for (const auto& [lang, text] : map.as_object()) {
    bool ok = text.is_string();
    if (text.is_array()) {
      ok = std::all_of(text.as_array().begin(), text.as_array().end(),
                       [](const JsonValue& e) { return e.is_string(); });
    }
    if (!ok || lang.empty()) return AttrError(name, "languageMap entries must be strings");
  }
  return Status::Ok();
}

// The members every attribute form may carry: observedAt, unitCode, datasetId and
// sub-attributes. `skip` lists the form's own members.
Status ParseCommonMembers(std::string_view name, const JsonValue& v,
                          std::initializer_list<std::string_view> skip, size_t depth,
                          Attribute* a) {
  for (const auto& [k, m] : v.as_object()) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end() || IsSystemMember(k)) continue;
    if (k == "observedAt") {
      if (!m.is_string()) return AttrError(name, "observedAt must be an ISO 8601 string");
      auto t = ParseIso8601(m.as_string());
      if (!t.ok()) return AttrError(name, t.status().message());
      a->observed_at = *t;
    } else if (k == "unitCode") {
      if (!m.is_string() || m.as_string().empty()) {
        return AttrError(name, "unitCode must be a non-empty string");
      }
      a->unit_code = m.as_string();
    } else if (k == "datasetId") {
      if (!m.is_string() || !IsValidEntityId(m.as_string())) {
        return AttrError(name, "datasetId must be a URI");
      }
      a->dataset_id = m.as_string();
    } else if (k == "@context" || k == "type") {
      continue;
    } else {
      if (!IsValidName(k)) return AttrError(name, "invalid sub-attribute name '" + k + "'");
      if (depth >= kMaxSubAttrDepth) return AttrError(name, "sub-attributes nested too deep");
      auto sub = ParseAttributeAt(k, m, depth + 1);
      if (!sub.ok()) return AttrError(name, sub.status().message());
      JsonValue norm = NormalizedJson(*sub);
      bool replaced = false;
      for (auto& [sk, sv] : a->sub_attrs) {
        if (sk == k) {
          sv = std::move(norm);
          replaced = true;
        }
      }
      if (!replaced) a->sub_attrs.emplace_back(k, std::move(norm));
    }
  }
  return Status::Ok();
}

Result<Attribute> ParseAttributeAt(std::string_view name, const JsonValue& v, size_t depth) {
  Attribute a;
  if (v.is_null()) return AttrError(name, "value must not be null");
  if (!v.is_object()) {  // keyValues: the value itself
    a.value = v;
    return a;
  }
  const JsonValue* type = v.Find("type");
  std::string_view t;
  if (type != nullptr && type->is_string()) t = type->as_string();
  if (t == "Property") {
    const JsonValue* value = v.Find("value");
    if (value == nullptr) return AttrError(name, "a Property needs a \"value\"");
    if (value->is_null()) return AttrError(name, "value must not be null");
    a.value = *value;
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"value"}, depth, &a));
    return a;
  }
  if (t == "GeoProperty") {
    const JsonValue* value = v.Find("value");
    if (value == nullptr) return AttrError(name, "a GeoProperty needs a \"value\"");
    a.kind = AttrKind::kGeoProperty;
    a.value = *value;
    CB_RETURN_IF_ERROR(SetGeometry(name, &a));
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"value"}, depth, &a));
    return a;
  }
  if (t == "Relationship") {
    const JsonValue* object = v.Find("object");
    if (object == nullptr) return AttrError(name, "a Relationship needs an \"object\"");
    CB_RETURN_IF_ERROR(ParseRelationshipObject(name, *object));
    a.kind = AttrKind::kRelationship;
    a.value = *object;
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"object"}, depth, &a));
    return a;
  }
  if (t == "LanguageProperty") {
    const JsonValue* map = v.Find("languageMap");
    if (map == nullptr) return AttrError(name, "a LanguageProperty needs a \"languageMap\"");
    CB_RETURN_IF_ERROR(ParseLanguageMap(name, *map));
    a.kind = AttrKind::kLanguageProperty;
    a.value = *map;
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"languageMap"}, depth, &a));
    return a;
  }
  if (IsGeoJsonGeometry(v)) {  // concise GeoProperty: bare GeoJSON
    a.kind = AttrKind::kGeoProperty;
    a.value = v;
    CB_RETURN_IF_ERROR(SetGeometry(name, &a));
    return a;
  }
  if (type != nullptr && !t.empty() && v.Find("value") != nullptr) {
    return AttrError(name, "unknown attribute type '" + std::string(t) + "'");
  }
  if (const JsonValue* value = v.Find("value")) {  // concise Property
    if (value->is_null()) return AttrError(name, "value must not be null");
    if (IsGeoName(name) && IsGeoJsonGeometry(*value)) {
      a.kind = AttrKind::kGeoProperty;
      a.value = *value;
      CB_RETURN_IF_ERROR(SetGeometry(name, &a));
    } else {
      a.value = *value;
    }
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"value"}, depth, &a));
    return a;
  }
  if (const JsonValue* object = v.Find("object")) {  // concise Relationship
    CB_RETURN_IF_ERROR(ParseRelationshipObject(name, *object));
    a.kind = AttrKind::kRelationship;
    a.value = *object;
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"object"}, depth, &a));
    return a;
  }
  if (const JsonValue* map = v.Find("languageMap")) {  // concise LanguageProperty
    CB_RETURN_IF_ERROR(ParseLanguageMap(name, *map));
    a.kind = AttrKind::kLanguageProperty;
    a.value = *map;
    CB_RETURN_IF_ERROR(ParseCommonMembers(name, v, {"languageMap"}, depth, &a));
    return a;
  }
  if (IsGeoName(name) && v.Find("type") != nullptr) {
    // Looks like GeoJSON under a geo name but did not validate: say why.
    auto g = geo::GeometryFromGeoJson(v);
    if (!g.ok()) return AttrError(name, g.status().message());
  }
  a.value = v;  // keyValues object value (e.g. an address)
  return a;
}

Status ParseTypes(const JsonValue& t, std::vector<std::string>* out) {
  auto add = [&](const JsonValue& one) -> Status {
    if (!one.is_string() || !IsValidName(one.as_string())) {
      return Status::BadRequestData("entity type must be a valid name");
    }
    // A type given twice is one type (every index of the broker keeps an entity once per
    // type).
    if (std::find(out->begin(), out->end(), one.as_string()) == out->end()) {
      out->push_back(one.as_string());
    }
    return Status::Ok();
  };
  if (t.is_array()) {
    if (t.as_array().empty()) return Status::BadRequestData("entity type list is empty");
    for (const auto& e : t.as_array()) CB_RETURN_IF_ERROR(add(e));
    return Status::Ok();
  }
  return add(t);
}

}  // namespace

Status ValidateContext(const JsonValue& context) {
  if (context.is_string()) {
    if (context.as_string().find(':') == std::string::npos) {
      return Status::BadRequestData("@context entry is not a URI: " + context.as_string());
    }
    return Status::Ok();
  }
  if (context.is_object()) return Status::Ok();
  if (context.is_array()) {
    for (const auto& e : context.as_array()) {
      if (e.is_array()) return Status::BadRequestData("@context arrays cannot be nested");
      CB_RETURN_IF_ERROR(ValidateContext(e));
    }
    return Status::Ok();
  }
  return Status::BadRequestData("@context must be a URI, an object or an array");
}

Result<Attribute> ParseAttribute(std::string_view name, const JsonValue& v) {
  if (!IsValidName(name)) {
    return Status::BadRequestData("invalid attribute name '" + std::string(name) + "'");
  }
  return ParseAttributeAt(name, v, 0);
}

Result<Entity> ParseEntity(const JsonValue& body, bool require_id_type) {
  if (!body.is_object()) return Status::BadRequestData("an entity must be a JSON object");
  Entity e;
  for (const auto& [k, v] : body.as_object()) {
    if (k == "id" || k == "@id") {
      if (!v.is_string() || !IsValidEntityId(v.as_string())) {
        return Status::BadRequestData("entity id must be a URI, e.g. urn:ngsi-ld:Type:local-id");
      }
      e.id = v.as_string();
    } else if (k == "type" || k == "@type") {
      CB_RETURN_IF_ERROR(ParseTypes(v, &e.types));
    } else if (k == "@context") {
      CB_RETURN_IF_ERROR(ValidateContext(v));
    } else if (k == "scope" || IsSystemMember(k)) {
      continue;
    } else {
      if (e.Find(k) != nullptr) return AttrError(k, "given twice");
      auto a = ParseAttribute(k, v);
      if (!a.ok()) return a.status();
      e.attrs.push_back({k, std::move(a).value()});
    }
  }
  if (require_id_type) {
    if (e.id.empty()) return Status::BadRequestData("entity has no id");
    if (e.types.empty()) return Status::BadRequestData("entity has no type");
  }
  return e;
}

Result<std::vector<NamedAttribute>> ParseFragment(const JsonValue& body) {
  if (!body.is_object()) return Status::BadRequestData("attributes must be a JSON object");
  std::vector<NamedAttribute> out;
  for (const auto& [k, v] : body.as_object()) {
    if (k == "id" || k == "type" || k == "@id" || k == "@type" || k == "scope" ||
        IsSystemMember(k)) {
      continue;
    }
    if (k == "@context") {
      CB_RETURN_IF_ERROR(ValidateContext(v));
      continue;
    }
    auto a = ParseAttribute(k, v);
    if (!a.ok()) return a.status();
    out.push_back({k, std::move(a).value()});
  }
  if (out.empty()) return Status::BadRequestData("no attributes given");
  return out;
}

Status MergeAttributePatch(const JsonValue& patch, std::string_view name, Attribute* target) {
  if (!patch.is_object() || patch.Find("type") == nullptr) {
    // A bare value, or a concise fragment without a type: parse, then merge by kind.
    auto parsed = ParseAttribute(name, patch);
    if (!parsed.ok()) return parsed.status();
    if (!patch.is_object()) {
      if (target->kind != AttrKind::kProperty) {
        return AttrError(name, "a bare value can only update a Property");
      }
      target->value = parsed->value;
      return Status::Ok();
    }
  }
  if (const JsonValue* t = patch.Find("type")) {
    if (!t->is_string() || t->as_string() != AttrKindName(target->kind)) {
      return AttrError(name, "cannot change the attribute type to " + t->Dump());
    }
  }
  Attribute updated = *target;
  if (const JsonValue* value = patch.Find("value")) {
    if (value->is_null()) return AttrError(name, "value must not be null");
    if (target->kind == AttrKind::kRelationship || target->kind == AttrKind::kLanguageProperty) {
      return AttrError(name, "use \"object\"/\"languageMap\" for this attribute");
    }
    updated.value = *value;
    if (target->kind == AttrKind::kGeoProperty) CB_RETURN_IF_ERROR(SetGeometry(name, &updated));
  }
  if (const JsonValue* object = patch.Find("object")) {
    if (target->kind != AttrKind::kRelationship) return AttrError(name, "not a Relationship");
    CB_RETURN_IF_ERROR(ParseRelationshipObject(name, *object));
    updated.value = *object;
  }
  if (const JsonValue* map = patch.Find("languageMap")) {
    if (target->kind != AttrKind::kLanguageProperty) {
      return AttrError(name, "not a LanguageProperty");
    }
    CB_RETURN_IF_ERROR(ParseLanguageMap(name, *map));
    updated.value = *map;
  }
  CB_RETURN_IF_ERROR(
      ParseCommonMembers(name, patch, {"value", "object", "languageMap"}, 0, &updated));
  *target = std::move(updated);
  return Status::Ok();
}

void RenderAttribute(const Attribute& a, const RenderOptions& o, JsonWriter* w) {
  if (o.key_values) {
    w->Value(a.value);
    return;
  }
  w->BeginObject();
  w->RawKey(R"("type":)").String(AttrKindName(a.kind));
  switch (a.kind) {
    case AttrKind::kRelationship: w->RawKey(R"("object":)"); break;
    case AttrKind::kLanguageProperty: w->RawKey(R"("languageMap":)"); break;
    default: w->RawKey(R"("value":)");
  }
  w->Value(a.value);
  if (a.observed_at != kNoTime) TimeString(&w->RawKey(R"("observedAt":)"), a.observed_at);
  if (!a.unit_code.empty()) w->RawKey(R"("unitCode":)").String(a.unit_code);
  if (!a.dataset_id.empty()) w->RawKey(R"("datasetId":)").String(a.dataset_id);
  for (const auto& [k, v] : a.sub_attrs) w->Key(k).Value(v);
  if (o.sys_attrs) RenderSysTimes(a.created_at, a.modified_at, w);
  w->EndObject();
}

namespace {

void RenderIdAndType(const Entity& e, JsonWriter* w) {
  w->RawKey(R"("id":)").String(e.id);
  w->RawKey(R"("type":)");
  if (e.types.size() == 1) {
    w->String(e.types[0]);
  } else {
    w->BeginArray();
    for (const auto& t : e.types) w->String(t);
    w->EndArray();
  }
}

}  // namespace

void RenderEntity(const Entity& e, const RenderOptions& o, JsonWriter* w) {
  w->BeginObject();
  RenderIdAndType(e, w);
  for (const auto& na : e.attrs) {
    if (o.attrs != nullptr && o.attrs->count(na.name) == 0) continue;
    w->Key(na.name);
    RenderAttribute(na.attr, o, w);
  }
  if (o.sys_attrs && !o.key_values) RenderSysTimes(e.created_at, e.modified_at, w);
  if (o.with_context) w->RawKey(R"("@context":)").String(kCoreContext);
  w->EndObject();
}

std::string RenderEntity(const Entity& e, const RenderOptions& o) {
  std::string s;
  s.reserve(kRenderedEntityBytes);  // grown once, not by doubling from nothing
  JsonWriter w(&s);
  RenderEntity(e, o, &w);
  return s;
}

}  // namespace cb::context
