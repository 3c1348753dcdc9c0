// Reading the stream module's JSON configuration (tier plans, rules): required strings,
// texts in zh-CN and en, bounded numbers. Every error is kBadRequestData whose message
// begins with `what` (e.g. "tier plan", "rule") and names the field at fault.
// Internal to src/stream. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace cb::stream {

struct LocalizedText;

namespace config {

Status Bad(std::string_view what, const std::string& message);
// obj[key] as a non-empty string.
Result<std::string> RequiredString(std::string_view what, const JsonValue& obj,
                                   std::string_view key, const std::string& where);
// obj[key] as {"zh-CN": "...", "en": "..."}, both non-empty.
Result<LocalizedText> RequiredText(std::string_view what, const JsonValue& obj,
                                   std::string_view key, const std::string& where);
// An optional number member within [lo, hi]; `*out` keeps its default when absent.
Status OptionalNumber(std::string_view what, const JsonValue& obj, std::string_view key,
                      double lo, double hi, double* out);
// An optional array of non-empty strings; `*out` keeps its default when absent.
Status OptionalNames(std::string_view what, const JsonValue& obj, std::string_view key,
                     const std::string& where, std::vector<std::string>* out);
JsonValue TextToJson(const LocalizedText& t);
JsonValue NamesToJson(const std::vector<std::string>& names);

}  // namespace config
}  // namespace cb::stream
