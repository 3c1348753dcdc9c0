#include "api/ngsi_common.h"

#include <charconv>

#include "api/problem.h"
#include "context/ngsi_json.h"

namespace cb::api {
namespace {

constexpr std::string_view kLinkRel = "rel=\"http://www.w3.org/ns/json-ld#context\"";

}  // namespace

const std::string& CoreLinkHeader() {
  static const std::string kLink = "<" + std::string(context::kCoreContext) + ">; " +
                                   std::string(kLinkRel) + "; type=\"application/ld+json\"";
  return kLink;
}

std::string_view MediaType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// Checks Content-Type and the JSON-LD context rules, then parses the body.
Result<JsonValue> ParseBody(const HttpRequest& req) {
  std::string_view ct = MediaType(req.Header("content-type"));
  bool ld = ct == "application/ld+json";
  if (!ld && ct != "application/json") {
    return Status(Code::kUnsupported,
                  "Content-Type must be application/json or application/ld+json");
  }
  std::string_view link = req.Header("link");
  if (!link.empty()) {
    if (ld) {
      return Status::BadRequestData(
          "a Link header context is not allowed with "
          "application/ld+json; put @context in the body");
    }
    if (link.front() != '<' || link.find('>') == std::string_view::npos ||
        link.find(kLinkRel) == std::string_view::npos) {
      return Status::BadRequestData("Link header is not a JSON-LD context link");
    }
  }
  auto body = ParseJson(req.body);
  if (!body.ok()) return body.status();
  auto has_context = [](const JsonValue& v) { return v.is_object() && v.Find("@context"); };
  bool any_context = has_context(*body);
  if (body->is_array()) {
    for (const auto& e : body->as_array()) any_context = any_context || has_context(e);
  }
  if (ld && !any_context && !body->is_array()) {
    return Status::BadRequestData("application/ld+json needs an @context in the body");
  }
  if (!ld && any_context) {
    return Status::BadRequestData("@context in the body needs Content-Type application/ld+json");
  }
  return body;
}

bool HasOption(const HttpRequest& req, std::string_view opt) {
  const std::string* o = req.Query("options");
  if (o == nullptr) return false;
  std::string_view s = *o;
  while (!s.empty()) {
    size_t c = s.find(',');
    if (s.substr(0, c) == opt) return true;
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return false;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view item = s.substr(0, c);
    if (!item.empty()) out.emplace_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

Result<size_t> ParseCount(const std::string* v, std::string_view name, size_t dflt, size_t max) {
  if (v == nullptr) return dflt;
  size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return Status::BadRequestData(std::string(name) + " must be a non-negative integer");
  }
  if (n > max) {
    return Status(Code::kForbidden, std::string(name) + " over the maximum of " +
                                        std::to_string(max) + " (TooManyResults)");
  }
  return n;
}

HttpResponse JsonResponse(int status, std::string body, bool ld) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (ld) {
    r.content_type = "application/ld+json";
  } else {
    r.headers.emplace_back("Link", CoreLinkHeader());
  }
  return r;
}

HttpResponse Fail(const Status& s) {
  if (s.code() == Code::kUnsupported && s.message().rfind("406", 0) == 0) {
    return ProblemResponse(406, Code::kUnsupported, s.message().substr(5));
  }
  if (s.code() == Code::kUnsupported && s.message().rfind("Content-Type", 0) == 0) {
    return ProblemResponse(415, Code::kUnsupported, s.message());
  }
  if (s.code() == Code::kForbidden && s.message().find("TooManyResults") != std::string::npos) {
    HttpResponse r;
    r.status = 403;
    r.body = ProblemBody(403, "https://uri.etsi.org/ngsi-ld/errors/TooManyResults",
                         "TooManyResults", s.message());
    return r;
  }
  return ProblemResponse(s);
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace cb::api
