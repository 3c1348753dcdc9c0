// libFuzzer entry point for the NGSI-LD q parser: every input must either parse or fail with
// InvalidRequest, never crash or hang; what parses is evaluated against a small entity.
// Seed corpus: tests/fuzz/corpus/q/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "context/entity.h"
#include "context/q_query.h"

namespace {

using cb::JsonValue;
using cb::context::Attribute;
using cb::context::AttrKind;
using cb::context::Entity;

Attribute Prop(JsonValue v, AttrKind kind = AttrKind::kProperty) {
  Attribute a;
  a.kind = kind;
  a.value = std::move(v);
  return a;
}

const Entity& FixedEntity() {
  static const Entity e = [] {
    Entity e;
    e.id = "urn:ngsi-ld:Fuzz:1";
    e.types = {"Fuzz"};
    Attribute temp = Prop(21.5);
    temp.observed_at = 1709287200000;  // 2024-03-01T10:00:00Z
    temp.unit_code = "CEL";
    temp.dataset_id = "urn:ngsi-ld:Dataset:a";
    temp.sub_attrs = JsonValue::Object{
        {"accuracy",
         JsonValue::Object{
             {"type", "Property"}, {"value", 0.5}, {"observedAt", "2024-03-01T09:00:00Z"}}},
        {"sensor", JsonValue::Object{{"type", "Relationship"}, {"object", "urn:ngsi-ld:D:7"}}}};
    e.attrs.push_back({"temperature", temp});
    e.attrs.push_back({"count", Prop(42)});
    e.attrs.push_back({"a", Prop("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")});
    e.attrs.push_back({"name", Prop("Plaza Mayor Café\n你好")});
    e.attrs.push_back({"active", Prop(true)});
    e.attrs.push_back({"tags", Prop(JsonValue::Array{"red", "green", 3, nullptr})});
    e.attrs.push_back({"ref", Prop("urn:ngsi-ld:Parking:7", AttrKind::kRelationship)});
    e.attrs.push_back({"when", Prop(JsonValue::Object{{"@type", "DateTime"},
                                                      {"@value", "2018-12-04T12:00:00Z"}})});
    e.attrs.push_back({"at", Prop("08:00:00")});
    e.attrs.push_back(
        {"address", Prop(JsonValue::Object{{"city", "Madrid"},
                                           {"postal", JsonValue::Object{{"code", 28001}}}})});
    e.attrs.push_back({"label", Prop(JsonValue::Object{{"en", "Hello"}, {"es", "Hola"}},
                                     AttrKind::kLanguageProperty)});
    e.attrs.push_back({"nothing", Prop(nullptr)});
    return e;
  }();
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view q(reinterpret_cast<const char*>(data), size);
  auto r = cb::context::ParseQ(q);
  if (!r.ok()) {
    if (r.status().code() != cb::Code::kInvalidRequest || r.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  volatile bool m = cb::context::Matches(**r, FixedEntity());
  (void)m;
  if (cb::context::QAttributes(**r).empty()) __builtin_trap();  // a query names attributes
  return 0;
}
