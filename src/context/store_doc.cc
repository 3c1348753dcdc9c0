// The entity document the store keeps (EntityToStoreDoc, RenderForStore and
// EntityFromStoreDoc in ngsi_json.h).
//
// Format. Documents used to be normalized NGSI-LD JSON with system attributes; they are now
// a compact binary encoding of the Entity, told apart by their first byte (kBinaryDoc; JSON
// documents start with '{'), so a database holding either kind reads back without a
// migration, and an entity's document becomes binary when it is next written:
//
//   doc       = 0x01 entity
//   entity    = str(id) varint(n) str(type)*n time(createdAt) time(modifiedAt)
//               varint(n) attribute*n
//   attribute = str(name) u8(kind) time(observedAt) time(createdAt) time(modifiedAt)
//               str(unitCode) str(datasetId) value varint(n) (str(name) value)*n
//               kind: 0 Property, 1 GeoProperty, 2 Relationship, 3 LanguageProperty
//   value     = u8(tag) payload: 0 null, 1 false, 2 true (no payload), 3 int (zigzag
//               varint), 4 double (8 bytes, little-endian), 5 string (str), 6 array
//               (varint(n) value*n), 7 object (varint(n) (str(key) value)*n)
//   str       = varint(bytes) bytes;  time = varint(0) for none, else zigzag(t) + 1
//
// Why not JSON, and why not a library. Every PATCH renders the entity's whole document for
// the store on an HTTP thread, and at a million entities that rendering was ~9 µs of the
// HTTP threads' ~45 µs per PATCH: 23 ISO 8601 timestamps, decimal numbers and escaped
// strings for attributes the request did not touch (bench/analysis.md). Writing the
// Entity's own fields as bytes costs a copy of each string and eight bytes per number, and
// reading them back at start needs no JSON or timestamp parsing. A general serializer
// (protobuf, MessagePack) would need the Entity copied into its own object tree first, for
// no gain in size; the format is ours to keep stable, which the version byte allows.
#include <bit>
#include <cstring>

#include "context/ngsi_json.h"
#include "geo/geometry.h"

namespace cb::context {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the document format is little-endian; add byte swapping for this machine");

constexpr char kBinaryDoc = 0x01;
// The attribute kinds are stored as their enum values: these must not change.
static_assert(static_cast<int>(AttrKind::kProperty) == 0 &&
              static_cast<int>(AttrKind::kGeoProperty) == 1 &&
              static_cast<int>(AttrKind::kRelationship) == 2 &&
              static_cast<int>(AttrKind::kLanguageProperty) == 3);
// Deeper values are refused when reading (a damaged document must not exhaust the stack);
// the JSON parser's limit is lower, so nothing the API accepted is deeper.
constexpr size_t kMaxValueDepth = 256;

// Stored values: these must not change.
enum ValueTag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kArray = 6,
  kObject = 7,
};

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutTime(std::string* out, TimeMs t) {
  // kNoTime is INT64_MIN, whose zigzag is UINT64_MAX: never zigzag(t) + 1 of another t.
  PutVarint(out, t == kNoTime ? 0 : ZigZag(t) + 1);
}

void PutValue(std::string* out, const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      out->push_back(static_cast<char>(kNull));
      return;
    case JsonValue::Type::kBool:
      out->push_back(static_cast<char>(v.as_bool() ? kTrue : kFalse));
      return;
    case JsonValue::Type::kInt:
      out->push_back(static_cast<char>(kInt));
      PutVarint(out, ZigZag(v.as_int()));
      return;
    case JsonValue::Type::kDouble: {
      out->push_back(static_cast<char>(kDouble));
      const double d = v.as_double();
      char buf[8];
      std::memcpy(buf, &d, 8);
      out->append(buf, 8);
      return;
    }
    case JsonValue::Type::kString:
      out->push_back(static_cast<char>(kString));
      PutString(out, v.as_string());
      return;
    case JsonValue::Type::kArray:
      out->push_back(static_cast<char>(kArray));
      PutVarint(out, v.as_array().size());
      for (const JsonValue& e : v.as_array()) PutValue(out, e);
      return;
    case JsonValue::Type::kObject:
      out->push_back(static_cast<char>(kObject));
      PutVarint(out, v.as_object().size());
      for (const auto& [k, e] : v.as_object()) {
        PutString(out, k);
        PutValue(out, e);
      }
      return;
  }
}

void PutEntity(std::string* out, const Entity& e) {
  out->push_back(kBinaryDoc);
  PutString(out, e.id);
  PutVarint(out, e.types.size());
  for (const std::string& t : e.types) PutString(out, t);
  PutTime(out, e.created_at);
  PutTime(out, e.modified_at);
  PutVarint(out, e.attrs.size());
  for (const NamedAttribute& na : e.attrs) {
    const Attribute& a = *na.attr;
    PutString(out, na.name);
    out->push_back(static_cast<char>(a.kind));
    PutTime(out, a.observed_at);
    PutTime(out, a.created_at);
    PutTime(out, a.modified_at);
    PutString(out, a.unit_code);
    PutString(out, a.dataset_id);
    PutValue(out, a.value);
    PutVarint(out, a.sub_attrs.size());
    for (const auto& [k, v] : a.sub_attrs) {
      PutString(out, k);
      PutValue(out, v);
    }
  }
}

// Reads a binary document front to back; any overrun or unknown tag sets ok_ to false, and
// every read after that returns an empty value.
class DocReader {
 public:
  explicit DocReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }

  uint8_t Byte() {
    if (in_.empty()) return Fail(), 0;
    const auto b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail(), 0;
  }
  // A count of items that each take at least one byte: never more than the bytes left.
  size_t Count() {
    const uint64_t n = Varint();
    if (n > in_.size()) return Fail(), 0;
    return static_cast<size_t>(n);
  }
  std::string String() {
    const size_t n = Count();
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  TimeMs Time() {
    const uint64_t v = Varint();
    return v == 0 ? kNoTime : UnZigZag(v - 1);
  }
  JsonValue Value(size_t depth) {
    if (depth > kMaxValueDepth) return Fail(), JsonValue();
    switch (Byte()) {
      case kNull:
        return JsonValue();
      case kFalse:
        return JsonValue(false);
      case kTrue:
        return JsonValue(true);
      case kInt:
        return JsonValue(UnZigZag(Varint()));
      case kDouble: {
        if (in_.size() < 8) return Fail(), JsonValue();
        double d;
        std::memcpy(&d, in_.data(), 8);
        in_.remove_prefix(8);
        return JsonValue(d);
      }
      case kString:
        return JsonValue(String());
      case kArray: {
        JsonValue::Array a(Count());
        for (JsonValue& e : a) e = Value(depth + 1);
        return JsonValue(std::move(a));
      }
      case kObject: {
        JsonValue::Object o(Count());
        for (auto& [k, e] : o) {
          k = String();
          e = Value(depth + 1);
        }
        return JsonValue(std::move(o));
      }
      default:
        return Fail(), JsonValue();
    }
  }

 private:
  void Fail() {
    ok_ = false;
    in_ = {};
  }
  std::string_view in_;
  bool ok_ = true;
};

Result<Entity> ReadBinaryDoc(std::string_view doc) {
  auto damaged = [](std::string_view what) {
    return Status::Internal("stored entity document is damaged: " + std::string(what));
  };
  DocReader r(doc.substr(1));
  Entity e;
  e.id = r.String();
  e.types.resize(r.Count());
  for (std::string& t : e.types) t = r.String();
  e.created_at = r.Time();
  e.modified_at = r.Time();
  e.attrs.resize(r.Count());
  for (NamedAttribute& na : e.attrs) {
    na.name = r.String();
    Attribute a;
    const uint8_t kind = r.Byte();
    if (kind > static_cast<uint8_t>(AttrKind::kLanguageProperty)) return damaged("attribute kind");
    a.kind = static_cast<AttrKind>(kind);
    a.observed_at = r.Time();
    a.created_at = r.Time();
    a.modified_at = r.Time();
    a.unit_code = r.String();
    a.dataset_id = r.String();
    a.value = r.Value(0);
    a.sub_attrs.resize(r.Count());
    for (auto& [k, v] : a.sub_attrs) {
      k = r.String();
      v = r.Value(0);
    }
    if (!r.ok()) return damaged("attribute '" + na.name + "'");
    if (a.kind == AttrKind::kGeoProperty) {
      auto g = geo::GeometryFromGeoJson(a.value);
      if (!g.ok()) return damaged("attribute '" + na.name + "': " + g.status().message());
      a.geometry = std::make_shared<const geo::Geometry>(std::move(g).value());
    }
    na.attr = AttrRef(std::move(a));
  }
  if (!r.ok() || !r.done()) return damaged(r.ok() ? "bytes after its end" : "cut short");
  if (e.id.empty() || e.types.empty()) return damaged("no id or type");
  return e;
}

// A document written before the binary format: normalized JSON with system attributes.
Result<Entity> ReadJsonDoc(std::string_view doc) {
  auto json = ParseJson(doc);
  if (!json.ok()) return json.status();
  auto e = ParseEntity(*json, true);
  if (!e.ok()) return e.status();
  auto time_of = [](const JsonValue* v) -> TimeMs {
    if (v == nullptr || !v->is_string()) return kNoTime;
    auto t = ParseIso8601(v->as_string());
    return t.ok() ? *t : kNoTime;
  };
  e->created_at = time_of(json->Find("createdAt"));
  e->modified_at = time_of(json->Find("modifiedAt"));
  for (auto& na : e->attrs) {
    const JsonValue* src = json->Find(na.name);
    if (src == nullptr || !src->is_object()) continue;
    Attribute& a = na.attr.Mutable();
    a.created_at = time_of(src->Find("createdAt"));
    a.modified_at = time_of(src->Find("modifiedAt"));
  }
  return e;
}

}  // namespace

std::string EntityToStoreDoc(const Entity& e) {
  std::string doc;
  PutEntity(&doc, e);
  return doc;
}

void RenderForStore(const Entity& e, const std::vector<std::string>& history_attrs,
                    std::string* doc, std::vector<std::string>* history_values) {
  history_values->assign(history_attrs.size(), std::string());
  // Written into a reused buffer, then copied out at its exact size: the results wait in
  // the store's queue, and growing each by doubling would cost several allocations.
  thread_local std::string buf;
  constexpr size_t kKeep = size_t{1} << 20;  // a huge entity's buffer is not kept
  RenderOptions plain;  // the history value: no system attributes
  for (size_t h = 0; h < history_attrs.size(); ++h) {
    const Attribute* a = e.Find(history_attrs[h]);
    if (a == nullptr) continue;
    buf.clear();
    JsonWriter w(&buf);
    RenderAttribute(*a, plain, &w);
    (*history_values)[h] = buf;
  }
  buf.clear();
  PutEntity(&buf, e);
  *doc = buf;
  if (buf.capacity() > kKeep) buf = std::string();
}

Result<Entity> EntityFromStoreDoc(std::string_view doc) {
  if (!doc.empty() && doc.front() == kBinaryDoc) return ReadBinaryDoc(doc);
  return ReadJsonDoc(doc);
}

}  // namespace cb::context
