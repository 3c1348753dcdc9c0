#include "stream/config_json.h"

#include <cmath>

#include "stream/tier_plan.h"

namespace cb::stream::config {

Status Bad(std::string_view what, const std::string& message) {
  return Status::BadRequestData(std::string(what) + ": " + message);
}

Result<std::string> RequiredString(std::string_view what, const JsonValue& obj,
                                   std::string_view key, const std::string& where) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) {
    return Bad(what, where + std::string(key) + " must be a non-empty string");
  }
  return v->as_string();
}

Result<LocalizedText> RequiredText(std::string_view what, const JsonValue& obj,
                                   std::string_view key, const std::string& where) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || !v->is_object()) {
    return Bad(what, where + std::string(key) + " must be an object with zh-CN and en texts");
  }
  const std::string at = where + std::string(key) + ".";
  auto zh = RequiredString(what, *v, "zh-CN", at);
  if (!zh.ok()) return zh.status();
  auto en = RequiredString(what, *v, "en", at);
  if (!en.ok()) return en.status();
  return LocalizedText{std::move(zh).value(), std::move(en).value()};
}

Status OptionalNumber(std::string_view what, const JsonValue& obj, std::string_view key,
                      double lo, double hi, double* out) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_number() || !std::isfinite(v->as_double()) || v->as_double() < lo ||
      v->as_double() > hi) {
    return Bad(what, std::string(key) + " must be a number from " + JsonValue(lo).Dump() +
                         " to " + JsonValue(hi).Dump());
  }
  *out = v->as_double();
  return Status::Ok();
}

Status OptionalNames(std::string_view what, const JsonValue& obj, std::string_view key,
                     const std::string& where, std::vector<std::string>* out) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) return Status::Ok();
  const std::string message = where + std::string(key) + " must be a non-empty array of names";
  if (!v->is_array() || v->as_array().empty()) return Bad(what, message);
  std::vector<std::string> names;
  for (const JsonValue& d : v->as_array()) {
    if (!d.is_string() || d.as_string().empty()) return Bad(what, message);
    names.push_back(d.as_string());
  }
  *out = std::move(names);
  return Status::Ok();
}

JsonValue TextToJson(const LocalizedText& t) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("zh-CN", t.zh_cn);
  o.Set("en", t.en);
  return o;
}

JsonValue NamesToJson(const std::vector<std::string>& names) {
  JsonValue a = JsonValue::MakeArray();
  for (const std::string& n : names) a.Push(n);
  return a;
}

}  // namespace cb::stream::config
