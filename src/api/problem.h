// ProblemDetails (RFC 7807 shape, NGSI-LD error types) for every API error.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"
#include "core/status.h"

namespace cb::api {

// HTTP status for a Status code.
int HttpStatusFor(Code code);
// The NGSI-LD error type URI (or a CityBrain URN where NGSI-LD defines none).
std::string_view ProblemTypeFor(Code code);
std::string ProblemBody(int status, std::string_view type, std::string_view title,
                        std::string_view detail);
HttpResponse ProblemResponse(const Status& status);
HttpResponse ProblemResponse(int http_status, Code code, std::string_view detail);

}  // namespace cb::api
