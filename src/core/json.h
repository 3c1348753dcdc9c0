// JsonValue: an owned JSON document tree, and the one way CityBrain reads and writes JSON.
// Parsing goes through simdjson (the hot-path parser); writing goes through JsonWriter.
// Object members keep their input order (NGSI-LD output is easier to read that way).
// Thread-safety: JsonValue is a value type; ParseJson may be called from any thread
// (each thread reuses its own simdjson parser).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace cb {

class JsonValue {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<JsonValue>;
  using Member = std::pair<std::string, JsonValue>;
  using Object = std::vector<Member>;

  JsonValue() = default;
  JsonValue(std::nullptr_t) {}                       // NOLINT
  JsonValue(bool b) : v_(b) {}                       // NOLINT
  JsonValue(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  JsonValue(int64_t v) : v_(v) {}                    // NOLINT
  JsonValue(double v) : v_(v) {}                     // NOLINT
  JsonValue(const char* s) : v_(std::string(s)) {}   // NOLINT
  JsonValue(std::string s) : v_(std::move(s)) {}     // NOLINT
  JsonValue(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  JsonValue(Array a) : v_(std::move(a)) {}           // NOLINT
  JsonValue(Object o) : v_(std::move(o)) {}          // NOLINT

  static JsonValue MakeObject() { return JsonValue(Object{}); }
  static JsonValue MakeArray() { return JsonValue(Array{}); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kInt || type() == Type::kDouble; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const {
    return is_int() ? static_cast<double>(std::get<int64_t>(v_)) : std::get<double>(v_);
  }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // Object member lookup; nullptr when absent or when this is not an object.
  const JsonValue* Find(std::string_view key) const;
  JsonValue* Find(std::string_view key);
  // Sets (replaces or appends) an object member. This must be an object.
  JsonValue& Set(std::string_view key, JsonValue value);
  // Removes an object member; returns whether it was there.
  bool Erase(std::string_view key);
  // Appends to an array. This must be an array.
  void Push(JsonValue value) { as_array().push_back(std::move(value)); }

  bool operator==(const JsonValue& other) const;

  // Compact serialisation.
  std::string Dump() const;
  void DumpTo(std::string* out) const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
};

// Limits applied while parsing untrusted input.
struct JsonLimits {
  size_t max_depth = 64;
};

// Parses one JSON document. Errors are kInvalidRequest with the parser's reason.
Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Appends `s` to `out` as a quoted JSON string with escapes.
void AppendJsonString(std::string* out, std::string_view s);
// Appends a number in the shortest form that reads back to the same double.
void AppendJsonNumber(std::string* out, double v);
void AppendJsonNumber(std::string* out, int64_t v);

// JsonWriter: streaming writer for hot-path responses without building a tree.
// Commas are inserted automatically. Not thread-safe (one writer per response).
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool b);
  JsonWriter& Null();
  JsonWriter& Value(const JsonValue& v);
  // Inserts already-serialised JSON text as one value.
  JsonWriter& Raw(std::string_view json);
  // A key given already quoted, escaped and followed by its colon ("\"name\":"): constant
  // keys skip Key's escaping.
  JsonWriter& RawKey(std::string_view quoted_key_colon);

 private:
  void Sep();
  void Open();
  void Close();
  std::string* out_;
  // Per open container: no element written yet. The innermost 64 levels' flags live in a
  // bit mask, so a writer allocates nothing; deeper ones spill into deep_.
  uint64_t first_bits_ = 0;
  uint32_t depth_ = 0;
  std::vector<bool> deep_;
  bool after_key_ = false;
};

}  // namespace cb
