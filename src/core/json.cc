#include "core/json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace cb {

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object()) {
    if (k == key) return &v;
  }
  return nullptr;
}

JsonValue* JsonValue::Find(std::string_view key) {
  return const_cast<JsonValue*>(static_cast<const JsonValue*>(this)->Find(key));
}

JsonValue& JsonValue::Set(std::string_view key, JsonValue value) {
  auto& obj = as_object();
  for (auto& [k, v] : obj) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  obj.emplace_back(std::string(key), std::move(value));
  return obj.back().second;
}

bool JsonValue::Erase(std::string_view key) {
  if (!is_object()) return false;
  auto& obj = as_object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->first == key) {
      obj.erase(it);
      return true;
    }
  }
  return false;
}

bool JsonValue::operator==(const JsonValue& other) const {
  if (is_number() && other.is_number()) {
    if (is_int() && other.is_int()) return as_int() == other.as_int();
    return as_double() == other.as_double();
  }
  if (type() != other.type()) return false;
  switch (type()) {
    case Type::kNull: return true;
    case Type::kBool: return as_bool() == other.as_bool();
    case Type::kString: return as_string() == other.as_string();
    case Type::kArray: return as_array() == other.as_array();
    case Type::kObject: {
      // Member order does not matter for equality.
      const auto& a = as_object();
      const auto& b = other.as_object();
      if (a.size() != b.size()) return false;
      for (const auto& [k, v] : a) {
        const JsonValue* o = other.Find(k);
        if (o == nullptr || !(*o == v)) return false;
      }
      return true;
    }
    default: return false;
  }
}

std::string JsonValue::Dump() const {
  std::string out;
  DumpTo(&out);
  return out;
}

void JsonValue::DumpTo(std::string* out) const {
  switch (type()) {
    case Type::kNull: out->append("null"); break;
    case Type::kBool: out->append(as_bool() ? "true" : "false"); break;
    case Type::kInt: AppendJsonNumber(out, as_int()); break;
    case Type::kDouble: AppendJsonNumber(out, std::get<double>(v_)); break;
    case Type::kString: AppendJsonString(out, as_string()); break;
    case Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : as_array()) {
        if (!first) out->push_back(',');
        first = false;
        e.DumpTo(out);
      }
      out->push_back(']');
      break;
    }
    case Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : as_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, k);
        out->push_back(':');
        v.DumpTo(out);
      }
      out->push_back('}');
      break;
    }
  }
}

namespace {

Result<JsonValue> Convert(simdjson::dom::element el, size_t depth, const JsonLimits& limits) {
  if (depth > limits.max_depth) {
    return Status::InvalidRequest("JSON nested deeper than " + std::to_string(limits.max_depth));
  }
  switch (el.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return JsonValue();
    case simdjson::dom::element_type::BOOL: return JsonValue(bool(el.get_bool().value_unsafe()));
    case simdjson::dom::element_type::INT64: return JsonValue(el.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: {
      uint64_t u = el.get_uint64().value_unsafe();
      return JsonValue(static_cast<double>(u));
    }
    case simdjson::dom::element_type::DOUBLE: return JsonValue(el.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return JsonValue(std::string_view(el.get_string().value_unsafe()));
    case simdjson::dom::element_type::ARRAY: {
      JsonValue::Array arr;
      simdjson::dom::array src = el.get_array().value_unsafe();
      arr.reserve(src.size());
      for (simdjson::dom::element child : src) {
        auto r = Convert(child, depth + 1, limits);
        if (!r.ok()) return r.status();
        arr.push_back(std::move(r).value());
      }
      return JsonValue(std::move(arr));
    }
    case simdjson::dom::element_type::OBJECT: {
      JsonValue::Object obj;
      simdjson::dom::object src = el.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair field : src) {
        auto r = Convert(field.value, depth + 1, limits);
        if (!r.ok()) return r.status();
        std::string key(field.key);
        for (const auto& m : obj) {
          if (m.first == key) return Status::InvalidRequest("duplicate JSON member \"" + key + "\"");
        }
        obj.emplace_back(std::move(key), std::move(r).value());
      }
      return JsonValue(std::move(obj));
    }
  }
  return Status::Internal("unknown JSON element type");
}

}  // namespace

Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto err = parser.parse(padded).get(root);
  if (err) {
    return Status::InvalidRequest(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  return Convert(root, 0, limits);
}

namespace {

// Whether any byte of the 8 in `w` needs escaping in a JSON string: a control character
// (< 0x20), '"' or '\\'. Exact (bit tricks on the whole word, no false positives).
bool AnyEscapeByte(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  return ((w - kOnes * 0x20) & ~w & kHighs) | has_zero(w ^ (kOnes * '"')) |
         has_zero(w ^ (kOnes * '\\'));
}

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The index of the first byte of `s` to escape, or s.size(), found eight bytes at a time.
size_t FirstEscape(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (AnyEscapeByte(w)) break;
  }
  if (i < s.size() && i + 8 > s.size()) {  // the last bytes, padded to a word
    uint64_t w = 0x2020202020202020ULL;  // spaces: nothing to escape
    std::memcpy(&w, s.data() + i, s.size() - i);
    if (!AnyEscapeByte(w)) return s.size();
  }
  while (i < s.size() && !NeedsEscape(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// Appends '"' s '"' and then `suffix` unless it is 0, for an `s` with nothing to escape, growing
// `out` once.
void AppendQuoted(std::string* out, std::string_view s, char suffix) {
  const size_t at = out->size();
  out->append(s.size() + (suffix != 0 ? 3 : 2), '"');
  char* p = out->data() + at + 1;
  std::memcpy(p, s.data(), s.size());
  if (suffix != 0) p[s.size() + 1] = suffix;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  // Most strings (ids, names, values) have nothing to escape and are appended whole.
  size_t i = FirstEscape(s);
  if (i == s.size()) {
    AppendQuoted(out, s, 0);
    return;
  }
  out->push_back('"');
  size_t start = 0;
  for (; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) continue;
    out->append(s.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + start, s.size() - start);
  out->push_back('"');
}

namespace {

constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

// std::to_chars(double)'s shortest form of v, written faster for the common case: a decimal
// of at most 15 significant digits and 9 decimals, between 0.001 and 1e15, printed without an
// exponent. Returns the end of the text, or nullptr when v is not such a number (the caller
// then uses std::to_chars). Same text: the smallest k with round(|v|·10^k) / 10^k == |v| gives
// the shortest decimal that reads back as v (with at most 15 digits it is the only one, and
// |v|·10^k < 2^50 is computed to within 1/8), and the fixed form is used only when to_chars
// would choose it too (not longer than the exponent form; ties go to the fixed form).
// to_chars stays the reference: json_test compares the two on a million values.
char* ShortDecimal(double v, char* buf) {
  const double a = std::abs(v);
  if (!(a >= 1e-3 && a < 1e15)) return nullptr;
  int k = 0;
  double m = 0;
  for (;; ++k) {
    if (k == 10) return nullptr;
    m = std::nearbyint(a * kPow10[k]);
    if (m >= 1e15) return nullptr;
    if (m / kPow10[k] == a) break;
  }
  const uint64_t digits = static_cast<uint64_t>(m);
  char tmp[24];
  const int nd = static_cast<int>(std::to_chars(tmp, tmp + sizeof tmp, digits).ptr - tmp);
  int sig = nd;  // significant digits: trailing zeros dropped (only an integer has them)
  while (sig > 1 && tmp[sig - 1] == '0') --sig;
  const int exp10 = nd - 1 - k;  // the exponent of the leading digit
  const int sci_len = sig + (sig > 1 ? 1 : 0) + 2 + (std::abs(exp10) >= 100 ? 3 : 2);
  const int fixed_len = exp10 >= 0 ? nd + (k > 0 ? 1 : 0) : 2 + k;
  if (fixed_len > sci_len) return nullptr;
  char* p = buf;
  if (v < 0) *p++ = '-';
  if (exp10 >= 0) {
    const int int_digits = nd - k;
    std::memcpy(p, tmp, static_cast<size_t>(int_digits));
    p += int_digits;
    if (k > 0) {
      *p++ = '.';
      std::memcpy(p, tmp + int_digits, static_cast<size_t>(k));
      p += k;
    }
  } else {
    *p++ = '0';
    *p++ = '.';
    for (int z = 0; z < k - nd; ++z) *p++ = '0';
    std::memcpy(p, tmp, static_cast<size_t>(nd));
    p += nd;
  }
  return p;
}

}  // namespace

void AppendJsonNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");  // JSON has no NaN/Inf
    return;
  }
  char buf[32];
  char* end = ShortDecimal(v, buf);
  if (end == nullptr) end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out->append(buf, end);
}

void AppendJsonNumber(std::string* out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, res.ptr);
}

void JsonWriter::Sep() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const uint32_t level = depth_ - 1;
  bool first;
  if (level < 64) {
    first = (first_bits_ >> level) & 1;
    first_bits_ &= ~(uint64_t{1} << level);
  } else {
    first = deep_[level - 64];
    deep_[level - 64] = false;
  }
  if (!first) out_->push_back(',');
}

void JsonWriter::Open() {
  if (depth_ < 64) {
    first_bits_ |= uint64_t{1} << depth_;
  } else {
    deep_.push_back(true);
  }
  ++depth_;
}

void JsonWriter::Close() {
  --depth_;
  if (depth_ >= 64) deep_.pop_back();
}

JsonWriter& JsonWriter::BeginObject() {
  Sep();
  out_->push_back('{');
  Open();
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  Close();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  Sep();
  out_->push_back('[');
  Open();
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_->push_back(']');
  Close();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view k) {
  Sep();
  if (FirstEscape(k) == k.size()) {
    AppendQuoted(out_, k, ':');
  } else {
    AppendJsonString(out_, k);
    out_->push_back(':');
  }
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view s) {
  Sep();
  AppendJsonString(out_, s);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t v) {
  Sep();
  AppendJsonNumber(out_, v);
  return *this;
}
JsonWriter& JsonWriter::Double(double v) {
  Sep();
  AppendJsonNumber(out_, v);
  return *this;
}
JsonWriter& JsonWriter::Bool(bool b) {
  Sep();
  out_->append(b ? "true" : "false");
  return *this;
}
JsonWriter& JsonWriter::Null() {
  Sep();
  out_->append("null");
  return *this;
}
JsonWriter& JsonWriter::Value(const JsonValue& v) {
  Sep();
  v.DumpTo(out_);
  return *this;
}
JsonWriter& JsonWriter::Raw(std::string_view json) {
  Sep();
  out_->append(json);
  return *this;
}
JsonWriter& JsonWriter::RawKey(std::string_view quoted_key_colon) {
  Sep();
  out_->append(quoted_key_colon);
  after_key_ = true;
  return *this;
}

}  // namespace cb
