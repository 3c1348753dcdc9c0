// Decoding MQTT device messages (IoT Agent JSON and ThingsBoard forms) into NGSI-LD upserts,
// and the device provisioning table.

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "context/ngsi_json.h"
#include "geo/geometry.h"
#include "ingest/mqtt_bridge.h"

namespace cb::ingest {
namespace {

using context::Attribute;
using context::AttrKind;
using context::NamedAttribute;
using context::WriteOp;

// Latest accepted timestamp: 3000-01-01T00:00:00Z.
constexpr TimeMs kMaxTimestamp = 32503680000000;

// Attribute names NGSI-LD reserves for the entity itself or for system members.
bool IsReservedName(std::string_view n) {
  return n == "id" || n == "type" || n == "@context" || n == "createdAt" || n == "modifiedAt" ||
         n == "deletedAt" || n == "observedAt" || n == "scope";
}

bool IsValidTopicLevel(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || c == '+' || c == '#' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// A decoding failure: the reason label and a human-readable status.
struct Reject {
  MessageResult why;
  Status status;
};

Reject Fail(MessageResult why, std::string message) {
  return {why, Status::BadRequestData(std::move(message))};
}

// Is `v` shaped like a GeoJSON geometry (a known type name and coordinates)?
bool IsGeoJsonLike(const JsonValue& v) {
  if (!v.is_object()) return false;
  const JsonValue* t = v.Find("type");
  return t != nullptr && t->is_string() && v.Find("coordinates") != nullptr &&
         geo::GeometryTypeFromName(t->as_string()).ok();
}

// The GeoJSON geometry inside an attribute value in any form: bare GeoJSON, or the "value"
// of a (concise or normalized) attribute. Null when there is none.
JsonValue* FindGeometry(JsonValue* v) {
  if (IsGeoJsonLike(*v)) return v;
  if (v->is_object()) {
    JsonValue* inner = v->Find("value");
    if (inner != nullptr && IsGeoJsonLike(*inner)) return inner;
  }
  return nullptr;
}

bool HasGeometry(const JsonValue& v) {
  if (IsGeoJsonLike(v)) return true;
  const JsonValue* inner = v.is_object() ? v.Find("value") : nullptr;
  return inner != nullptr && IsGeoJsonLike(*inner);
}

geo::LonLat ConvertPoint(Datum d, geo::LonLat p) {
  switch (d) {
    case Datum::kWgs84:
      return p;
    case Datum::kGcj02:
      return geo::Gcj02ToWgs84(p);
    case Datum::kBd09:
      return geo::Bd09ToWgs84(p);
  }
  return p;
}

// Checks the range of every position of a GeoJSON "coordinates" tree and converts it to
// WGS84 in place.
Status ConvertPositions(Datum d, JsonValue* c) {
  if (!c->is_array() || c->as_array().empty()) {
    return Status::BadRequestData("coordinates must be non-empty arrays");
  }
  JsonValue::Array& arr = c->as_array();
  if (arr[0].is_number()) {  // a position
    if (arr.size() < 2 || arr.size() > 3) {
      return Status::BadRequestData("a position has 2 or 3 numbers");
    }
    for (const auto& x : arr) {
      if (!x.is_number() || !std::isfinite(x.as_double())) {
        return Status::BadRequestData("a position has 2 or 3 numbers");
      }
    }
    geo::LonLat p{arr[0].as_double(), arr[1].as_double()};
    if (p.lon < -180 || p.lon > 180 || p.lat < -90 || p.lat > 90) {
      return Status::BadRequestData("coordinates out of range: [" + std::to_string(p.lon) + ", " +
                                    std::to_string(p.lat) + "]");
    }
    if (d != Datum::kWgs84) {
      geo::LonLat w = ConvertPoint(d, p);
      arr[0] = JsonValue(w.lon);
      arr[1] = JsonValue(w.lat);
    }
    return Status::Ok();
  }
  for (auto& sub : arr) CB_RETURN_IF_ERROR(ConvertPositions(d, &sub));
  return Status::Ok();
}

// Parses one attribute value in the device's datum; coordinate problems come back as
// kBadCoordinates, other problems as kBadValue.
std::optional<Reject> ParseDeviceAttribute(Datum datum, std::string_view name,
                                           const JsonValue& value, Attribute* out) {
  const bool geo = HasGeometry(value);
  const JsonValue* src = &value;
  JsonValue converted;  // a copy only for geometries
  if (geo) {
    converted = value;
    Status st = ConvertPositions(datum, FindGeometry(&converted)->Find("coordinates"));
    if (!st.ok()) {
      return Fail(MessageResult::kBadCoordinates,
                  "attribute '" + std::string(name) + "': " + st.message());
    }
    src = &converted;
  }
  auto a = context::ParseAttribute(name, *src);
  if (!a.ok()) {
    return Reject{geo ? MessageResult::kBadCoordinates : MessageResult::kBadValue, a.status()};
  }
  *out = std::move(a).value();
  return std::nullopt;
}

struct Topic {
  std::string_view api_key;
  std::string_view device_id;
  std::string_view attr;  // set for /attrs/<attr>
  bool single = false;
};

bool ParseTopic(std::string_view topic, Topic* t) {
  if (!topic.empty() && topic.front() == '/') topic.remove_prefix(1);
  std::vector<std::string_view> parts;
  while (true) {
    size_t slash = topic.find('/');
    parts.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
    if (parts.size() > 5) return false;
  }
  if (parts.size() != 4 && parts.size() != 5) return false;
  if (parts[0] != "json" || parts[3] != "attrs") return false;
  for (const auto& p : parts) {
    if (p.empty()) return false;
  }
  t->api_key = parts[1];
  t->device_id = parts[2];
  t->single = parts.size() == 5;
  if (t->single) t->attr = parts[4];
  return true;
}

Result<JsonValue> ParsePayloadJson(std::string_view payload, MessageResult* why) {
  JsonLimits limits;
  limits.max_depth = kMaxJsonDepth;
  auto v = ParseJson(payload, limits);
  if (!v.ok()) {
    // json.cc words its depth error "JSON nested deeper than N" (tested in mqtt_message_test).
    *why = v.status().message().starts_with("JSON nested deeper") ? MessageResult::kTooDeep
                                                                  : MessageResult::kInvalidJson;
  }
  return v;
}

// A ThingsBoard telemetry object: exactly {"ts": <ms>, "values": {...}}.
bool IsThingsBoard(const JsonValue& v) {
  return v.is_object() && v.as_object().size() == 2 && v.Find("ts") != nullptr &&
         v.Find("values") != nullptr;
}

// One group of attribute values sharing a timestamp.
struct Group {
  TimeMs observed_at;
  const JsonValue::Object* values;
};

std::optional<Reject> ParseTs(const JsonValue& ts, TimeMs* out) {
  if (!ts.is_number()) return Fail(MessageResult::kBadTimestamp, "ts must be a number (ms)");
  double d = ts.as_double();
  if (!std::isfinite(d) || d < 0 || d >= static_cast<double>(kMaxTimestamp)) {
    return Fail(MessageResult::kBadTimestamp, "ts out of range: " + ts.Dump());
  }
  *out = ts.is_int() ? ts.as_int() : static_cast<TimeMs>(std::llround(d));
  return std::nullopt;
}

// Splits a decoded /attrs payload object into a group.
std::optional<Reject> ToGroup(const JsonValue& obj, TimeMs now, Group* g) {
  if (!obj.is_object()) {
    return Fail(MessageResult::kNotObject, "expected a JSON object of attribute values");
  }
  if (IsThingsBoard(obj)) {
    if (auto r = ParseTs(*obj.Find("ts"), &g->observed_at)) return r;
    const JsonValue* values = obj.Find("values");
    if (!values->is_object()) {
      return Fail(MessageResult::kNotObject, "\"values\" must be an object of attribute values");
    }
    g->values = &values->as_object();
  } else {
    g->observed_at = now;
    g->values = &obj.as_object();
  }
  if (g->values->empty()) return Fail(MessageResult::kEmpty, "no attribute values");
  return std::nullopt;
}

// Builds the attributes of one group. `TimeInstant` (IoT Agent convention) sets observedAt.
std::optional<Reject> BuildAttrs(const DeviceProvisioning& dev, const Group& g,
                                 context::Entity* e) {
  TimeMs observed = g.observed_at;
  if (const JsonValue* ti = [&]() -> const JsonValue* {
        for (const auto& [k, v] : *g.values) {
          if (k == "TimeInstant") return &v;
        }
        return nullptr;
      }()) {
    if (!ti->is_string()) {
      return Fail(MessageResult::kBadTimestamp, "TimeInstant must be an ISO 8601 string");
    }
    auto t = ParseIso8601(ti->as_string());
    if (!t.ok()) return Fail(MessageResult::kBadTimestamp, "TimeInstant: " + t.status().message());
    if (*t < 0 || *t >= kMaxTimestamp) {
      return Fail(MessageResult::kBadTimestamp, "TimeInstant out of range");
    }
    observed = *t;
  }
  for (const auto& [key, value] : *g.values) {
    if (key == "TimeInstant") continue;
    const AttrMapping* m = nullptr;
    if (auto it = dev.attributes.find(key); it != dev.attributes.end()) m = &it->second;
    if (m == nullptr && dev.strict) {
      return Fail(MessageResult::kUnknownAttribute,
                  "attribute '" + key + "' is not provisioned for device " + dev.device_id);
    }
    const std::string& name = m != nullptr ? m->name : key;
    if (!context::IsValidName(name) || IsReservedName(name)) {
      return Fail(MessageResult::kBadAttributeName, "attribute name not allowed: '" + name + "'");
    }
    if (value.is_null()) {
      return Fail(MessageResult::kNullValue, "attribute '" + name + "': value is null");
    }
    Attribute a;
    if (auto r = ParseDeviceAttribute(dev.datum, name, value, &a)) return r;
    if (a.observed_at == kNoTime) a.observed_at = observed;
    if (m != nullptr && !m->unit_code.empty() && a.unit_code.empty() &&
        a.kind == AttrKind::kProperty) {
      a.unit_code = m->unit_code;
    }
    e->Set(name, std::move(a));
  }
  if (e->attrs.empty()) return Fail(MessageResult::kEmpty, "no attribute values");
  return std::nullopt;
}

WriteOp NewOp(const DeviceProvisioning& dev) {
  WriteOp op;
  op.kind = WriteOp::Kind::kUpsertUpdate;
  op.entity.id = dev.entity_id;
  op.entity.types = {dev.entity_type};
  return op;
}

std::optional<Reject> Decode(const DeviceTable& table, std::string_view topic,
                             std::string_view payload, TimeMs now, MqttWrite* out) {
  Topic t;
  if (!ParseTopic(topic, &t)) {
    return Fail(MessageResult::kBadTopic, "topic is not json/<apiKey>/<deviceId>/attrs[/<attr>]");
  }
  const DeviceProvisioning* dev = table.Find(t.api_key, t.device_id);
  if (dev == nullptr) {
    if (!table.HasApiKey(t.api_key)) {
      return Fail(MessageResult::kUnknownApiKey, "apiKey not provisioned");
    }
    return Fail(MessageResult::kUnknownDevice,
                "device not provisioned: " + std::string(t.device_id));
  }
  out->device = dev;
  if (payload.size() > kMaxPayloadBytes) {
    return Fail(MessageResult::kTooLarge, "payload of " + std::to_string(payload.size()) +
                                              " bytes is over " + std::to_string(kMaxPayloadBytes));
  }
  size_t first = payload.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Fail(MessageResult::kEmpty, "empty payload");

  if (t.single) {
    // One raw value: JSON when it parses, else (unless it looks like broken JSON) text.
    JsonValue value;
    MessageResult why = MessageResult::kInvalidJson;
    auto v = ParsePayloadJson(payload, &why);
    if (v.ok()) {
      value = std::move(v).value();
    } else {
      char c = payload[first];
      if (why == MessageResult::kTooDeep || c == '{' || c == '[' || c == '"') {
        return Reject{why, v.status()};
      }
      if (!IsValidUtf8(payload)) {
        return Reject{MessageResult::kInvalidJson,
                      Status::InvalidRequest("payload is not valid UTF-8")};
      }
      value = JsonValue(payload);
    }
    JsonValue::Object obj;
    obj.emplace_back(std::string(t.attr), std::move(value));
    WriteOp op = NewOp(*dev);
    if (auto r = BuildAttrs(*dev, Group{now, &obj}, &op.entity)) return r;
    out->ops.push_back(std::move(op));
  } else {
    MessageResult why = MessageResult::kInvalidJson;
    auto v = ParsePayloadJson(payload, &why);
    if (!v.ok()) return Reject{why, v.status()};
    std::vector<Group> groups;
    if (v->is_array()) {
      const auto& arr = v->as_array();
      if (arr.empty()) return Fail(MessageResult::kEmpty, "empty array");
      if (arr.size() > kMaxArrayItems) {
        return Fail(MessageResult::kTooLarge,
                    "more than " + std::to_string(kMaxArrayItems) + " items in one message");
      }
      for (const auto& item : arr) {
        Group g;
        if (auto r = ToGroup(item, now, &g)) return r;
        groups.push_back(g);
      }
    } else {
      Group g;
      if (auto r = ToGroup(*v, now, &g)) return r;
      groups.push_back(g);
    }
    size_t total = 0;
    for (const auto& g : groups) total += g.values->size();
    if (total > kMaxAttrsPerMessage) {
      return Fail(MessageResult::kTooLarge, "more than " + std::to_string(kMaxAttrsPerMessage) +
                                                " attribute values in one message");
    }
    for (const auto& g : groups) {
      WriteOp op = NewOp(*dev);
      if (auto r = BuildAttrs(*dev, g, &op.entity)) return r;
      out->ops.push_back(std::move(op));
    }
  }

  // Static attributes go first in the first operation, unless the message sets them.
  auto& first_attrs = out->ops.front().entity.attrs;
  std::vector<NamedAttribute> statics;
  for (const auto& s : dev->static_attrs) {
    if (out->ops.front().entity.Find(s.name) == nullptr) statics.push_back(s);
  }
  out->static_attrs = statics.size();
  if (!statics.empty()) {
    statics.insert(statics.end(), std::make_move_iterator(first_attrs.begin()),
                   std::make_move_iterator(first_attrs.end()));
    first_attrs = std::move(statics);
  }
  return std::nullopt;
}

std::string DeviceKey(std::string_view api_key, std::string_view device_id) {
  std::string k;
  k.reserve(api_key.size() + device_id.size() + 1);
  k.append(api_key).push_back('/');  // neither may contain '/'
  k.append(device_id);
  return k;
}

// --- provisioning file ---

Status FieldError(const std::string& where, std::string_view what) {
  return Status::BadRequestData(where + ": " + std::string(what));
}

Result<std::string> GetString(const JsonValue& obj, std::string_view key, const std::string& where,
                              bool required) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) {
    if (required) return FieldError(where, "missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!v->is_string() || v->as_string().empty()) {
    return FieldError(where + "." + std::string(key), "must be a non-empty string");
  }
  return v->as_string();
}

Result<DeviceProvisioning> ParseDevice(const JsonValue& d, const std::string& where) {
  if (!d.is_object()) return FieldError(where, "must be an object");
  static const std::unordered_set<std::string_view> kKnown = {
      "apiKey", "deviceId", "entityType", "entityId",
      "datum",  "strict",   "attributes", "staticAttributes"};
  for (const auto& [k, v] : d.as_object()) {
    if (!k.empty() && k[0] == '_') continue;  // comments
    if (!kKnown.contains(k)) return FieldError(where, "unknown member \"" + k + "\"");
  }
  DeviceProvisioning p;
  auto api_key = GetString(d, "apiKey", where, true);
  if (!api_key.ok()) return api_key.status();
  p.api_key = *api_key;
  auto device_id = GetString(d, "deviceId", where, true);
  if (!device_id.ok()) return device_id.status();
  p.device_id = *device_id;
  auto type = GetString(d, "entityType", where, true);
  if (!type.ok()) return type.status();
  p.entity_type = *type;
  auto id = GetString(d, "entityId", where, false);
  if (!id.ok()) return id.status();
  p.entity_id = *id;
  auto datum = GetString(d, "datum", where, false);
  if (!datum.ok()) return datum.status();
  if (datum->empty() || *datum == "wgs84") {
    p.datum = Datum::kWgs84;
  } else if (*datum == "gcj02") {
    p.datum = Datum::kGcj02;
  } else if (*datum == "bd09") {
    p.datum = Datum::kBd09;
  } else {
    return FieldError(where + ".datum", "must be \"wgs84\", \"gcj02\" or \"bd09\"");
  }
  if (const JsonValue* s = d.Find("strict")) {
    if (!s->is_bool()) return FieldError(where + ".strict", "must be true or false");
    p.strict = s->as_bool();
  }
  if (const JsonValue* attrs = d.Find("attributes")) {
    if (!attrs->is_object()) return FieldError(where + ".attributes", "must be an object");
    for (const auto& [k, v] : attrs->as_object()) {
      std::string w = where + ".attributes." + k;
      AttrMapping m;
      if (v.is_string()) {
        m.name = v.as_string();
      } else if (v.is_object()) {
        for (const auto& [mk, mv] : v.as_object()) {
          if (mk == "name" || mk == "unitCode") {
            if (!mv.is_string() || mv.as_string().empty()) {
              return FieldError(w + "." + mk, "must be a non-empty string");
            }
            (mk == "name" ? m.name : m.unit_code) = mv.as_string();
          } else if (mk.empty() || mk[0] != '_') {
            return FieldError(w, "unknown member \"" + mk + "\"");
          }
        }
        if (m.name.empty()) m.name = k;
      } else {
        return FieldError(w, "must be an attribute name or {\"name\", \"unitCode\"}");
      }
      if (k.empty()) return FieldError(where + ".attributes", "empty device attribute name");
      p.attributes.emplace(k, std::move(m));
    }
  }
  if (const JsonValue* statics = d.Find("staticAttributes")) {
    if (!statics->is_object()) {
      return FieldError(where + ".staticAttributes", "must be an object");
    }
    for (const auto& [k, v] : statics->as_object()) {
      std::string w = where + ".staticAttributes." + k;
      if (!context::IsValidName(k) || IsReservedName(k)) {
        return FieldError(w, "attribute name not allowed");
      }
      Attribute a;
      if (auto r = ParseDeviceAttribute(p.datum, k, v, &a)) {
        return FieldError(w, r->status.message());
      }
      p.static_attrs.push_back({k, std::move(a)});
    }
  }
  return p;
}

}  // namespace

std::string_view DatumName(Datum d) {
  switch (d) {
    case Datum::kWgs84:
      return "wgs84";
    case Datum::kGcj02:
      return "gcj02";
    case Datum::kBd09:
      return "bd09";
  }
  return "?";
}

std::string_view MessageResultName(MessageResult r) {
  // In the order of the enum.
  static constexpr std::string_view kNames[] = {
      "written",         "dropped",         "failed",     "retained",          "bad_topic",
      "unknown_api_key", "unknown_device",  "too_large",  "invalid_json",      "too_deep",
      "not_object",      "empty",           "null_value", "unknown_attribute", "bad_attribute_name",
      "bad_timestamp",   "bad_coordinates", "bad_value"};
  static_assert(std::size(kNames) == static_cast<size_t>(MessageResult::kCount));
  size_t i = static_cast<size_t>(r);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

Status DeviceTable::Add(DeviceProvisioning d) {
  if (!IsValidTopicLevel(d.api_key)) {
    return Status::BadRequestData("apiKey must be 1-256 characters without '/', '+', '#'");
  }
  if (!IsValidTopicLevel(d.device_id)) {
    return Status::BadRequestData("deviceId must be 1-256 characters without '/', '+', '#'");
  }
  if (!context::IsValidName(d.entity_type)) {
    return Status::BadRequestData("invalid entity type '" + d.entity_type + "'");
  }
  if (d.entity_id.empty()) d.entity_id = "urn:ngsi-ld:" + d.entity_type + ":" + d.device_id;
  if (!context::IsValidEntityId(d.entity_id)) {
    return Status::BadRequestData("invalid entity id '" + d.entity_id + "' (must be a URI)");
  }
  for (const auto& [k, m] : d.attributes) {
    if (k.empty()) return Status::BadRequestData("empty device attribute name");
    if (!context::IsValidName(m.name) || IsReservedName(m.name)) {
      return Status::BadRequestData("attribute '" + k + "' maps to a name not allowed: '" + m.name +
                                    "'");
    }
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& s : d.static_attrs) {
    if (!context::IsValidName(s.name) || IsReservedName(s.name)) {
      return Status::BadRequestData("static attribute name not allowed: '" + s.name + "'");
    }
    if (!seen.insert(s.name).second) {
      return Status::BadRequestData("static attribute '" + s.name + "' given twice");
    }
  }
  std::string key = DeviceKey(d.api_key, d.device_id);
  if (devices_.contains(key)) {
    return Status::AlreadyExists("device '" + d.device_id + "' of apiKey '" + d.api_key +
                                 "' is provisioned twice");
  }
  ++api_keys_[d.api_key];
  devices_.emplace(std::move(key), std::move(d));
  return Status::Ok();
}

const DeviceProvisioning* DeviceTable::Find(std::string_view api_key,
                                            std::string_view device_id) const {
  if (api_key.size() + device_id.size() > 600) return nullptr;
  char buf[601];
  std::memcpy(buf, api_key.data(), api_key.size());
  buf[api_key.size()] = '/';
  std::memcpy(buf + api_key.size() + 1, device_id.data(), device_id.size());
  auto it = devices_.find(std::string_view(buf, api_key.size() + 1 + device_id.size()));
  return it == devices_.end() ? nullptr : &it->second;
}

bool DeviceTable::HasApiKey(std::string_view api_key) const {
  return api_keys_.find(api_key) != api_keys_.end();
}

Result<DeviceTable> ParseDeviceTable(const JsonValue& doc) {
  if (!doc.is_object()) {
    return Status::BadRequestData("provisioning: expected an object {\"devices\": [...]}");
  }
  for (const auto& [k, v] : doc.as_object()) {
    if (k != "devices" && (k.empty() || k[0] != '_')) {
      return Status::BadRequestData("provisioning: unknown member \"" + k + "\"");
    }
  }
  const JsonValue* devices = doc.Find("devices");
  if (devices == nullptr || !devices->is_array()) {
    return Status::BadRequestData("provisioning: \"devices\" must be an array");
  }
  DeviceTable table;
  for (size_t i = 0; i < devices->as_array().size(); ++i) {
    std::string where = "devices[" + std::to_string(i) + "]";
    auto d = ParseDevice(devices->as_array()[i], where);
    if (!d.ok()) return d.status();
    Status st = table.Add(std::move(d).value());
    if (!st.ok()) return Status(st.code(), where + ": " + st.message());
  }
  return table;
}

Result<DeviceTable> LoadDeviceTable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read the device provisioning file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::NotFound("cannot read the device provisioning file " + path);
  auto doc = ParseJson(ss.str());
  if (!doc.ok()) return Status(doc.status().code(), path + ": " + doc.status().message());
  auto table = ParseDeviceTable(*doc);
  if (!table.ok()) return Status(table.status().code(), path + ": " + table.status().message());
  return table;
}

Result<MqttWrite> MessageToWriteOps(const DeviceTable& table, std::string_view topic,
                                    std::string_view payload, TimeMs now, MessageResult* why) {
  MqttWrite w;
  if (auto r = Decode(table, topic, payload, now, &w)) {
    if (why != nullptr) *why = r->why;
    return r->status;
  }
  if (why != nullptr) *why = MessageResult::kWritten;
  return w;
}

}  // namespace cb::ingest
