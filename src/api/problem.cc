#include "api/problem.h"

#include "core/json.h"

namespace cb::api {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidRequest:
    case Code::kBadRequestData: return 400;
    case Code::kUnauthorized: return 401;
    case Code::kForbidden: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kConflict: return 409;
    case Code::kTooLarge: return 413;
    case Code::kUnsupported: return 422;
    case Code::kTooManyRequests: return 429;
    case Code::kUnavailable: return 503;
    case Code::kInternal: return 500;
  }
  return 500;
}

std::string_view ProblemTypeFor(Code code) {
  switch (code) {
    case Code::kInvalidRequest: return "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest";
    case Code::kBadRequestData: return "https://uri.etsi.org/ngsi-ld/errors/BadRequestData";
    case Code::kNotFound: return "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound";
    case Code::kAlreadyExists: return "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists";
    case Code::kUnsupported: return "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported";
    case Code::kInternal: return "https://uri.etsi.org/ngsi-ld/errors/InternalError";
    case Code::kConflict: return "urn:citybrain:errors:Conflict";
    case Code::kTooLarge: return "urn:citybrain:errors:PayloadTooLarge";
    case Code::kUnauthorized: return "urn:citybrain:errors:Unauthorized";
    case Code::kForbidden: return "urn:citybrain:errors:Forbidden";
    case Code::kTooManyRequests: return "urn:citybrain:errors:TooManyRequests";
    case Code::kUnavailable: return "urn:citybrain:errors:ServiceUnavailable";
    case Code::kOk: return "about:blank";
  }
  return "about:blank";
}

std::string ProblemBody(int status, std::string_view type, std::string_view title,
                        std::string_view detail) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("type").String(type);
  w.Key("title").String(title);
  w.Key("status").Int(status);
  w.Key("detail").String(detail);
  w.EndObject();
  return out;
}

HttpResponse ProblemResponse(int http_status, Code code, std::string_view detail) {
  HttpResponse r;
  r.status = http_status;
  r.body = ProblemBody(http_status, ProblemTypeFor(code), CodeName(code), detail);
  if (code == Code::kTooManyRequests) r.headers.emplace_back("Retry-After", "1");
  if (code == Code::kUnauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

HttpResponse ProblemResponse(const Status& status) {
  return ProblemResponse(HttpStatusFor(status.code()), status.code(), status.message());
}

}  // namespace cb::api
