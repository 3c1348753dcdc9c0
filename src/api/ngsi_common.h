// Helpers shared by the NGSI-LD route files (entities, subscriptions): request body and
// query parsing, and response shaping. Internal to api/.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "core/json.h"
#include "core/status.h"

namespace cb::api {

// The Link header naming the NGSI-LD core @context (sent with application/json bodies).
const std::string& CoreLinkHeader();
// "application/json; charset=utf-8" → "application/json".
std::string_view MediaType(std::string_view content_type);
// Checks Content-Type and the JSON-LD context rules, then parses the body.
Result<JsonValue> ParseBody(const HttpRequest& req);
// Is `opt` one of the comma-separated values of the options= query parameter?
bool HasOption(const HttpRequest& req, std::string_view opt);
// Splits "a,b,c", dropping empty items.
std::vector<std::string> SplitList(std::string_view s);
// A non-negative integer query parameter (`dflt` when absent); over `max` is a
// kForbidden TooManyResults error.
Result<size_t> ParseCount(const std::string* v, std::string_view name, size_t dflt, size_t max);
// A JSON response; application/json ones carry the core context Link header.
HttpResponse JsonResponse(int status, std::string body, bool ld);
// ProblemResponse, plus the 406/415/TooManyResults cases NGSI-LD names.
HttpResponse Fail(const Status& s);
HttpResponse NoContent();

}  // namespace cb::api
