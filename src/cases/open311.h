// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), the citizens' side of the
// case loop, without HTTP: the catalog's leaf categories as services and their service
// definitions; a case projected to an Open311 service request (status open/closed and
// status_notes from the rich internal state); a POST /requests form turned into a NewCase,
// checked against the service definition; the GET /requests query; and each response
// rendered in JSON or XML, errors included (<errors><error><code/><description/></error>).
//
// What a request shows is public: no personal data of the reporter (name, phone, email,
// account) is ever part of the projection, and internal notes (handler assignments, SLA
// warnings, escalations, the return reasons of departments) are replaced by a plain
// description of the step the case is in.
//
// Open311 extras without a Case field of their own are kept in Case::attributes under keys
// that no service attribute code can have (codes are letters, digits, "-_."):
//   "open311:media_url"   the media_url of the report
//   "open311:address_id"  the address_id of the report
//
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cases/case.h"
#include "cases/case_book.h"
#include "cases/catalog.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::cases {

inline constexpr std::string_view kOpen311MediaUrlKey = "open311:media_url";
inline constexpr std::string_view kOpen311AddressIdKey = "open311:address_id";

enum class Open311Format : uint8_t { kJson, kXml };
// "json" or "xml" (the extension of the resource); kNotFound otherwise.
Result<Open311Format> Open311FormatFromExtension(std::string_view ext);
// "application/json; charset=utf-8" or "text/xml; charset=utf-8".
std::string_view Open311ContentType(Open311Format f);

// The language of the texts of a response: `locale` (the locale= parameter) when given,
// else the first language of an Accept-Language header (by q-value) that we have, else
// zh-CN. Returns "zh-CN" or "en".
std::string PickOpen311Locale(std::string_view locale, std::string_view accept_language);

struct Open311Config {
  // media_url of a case's first photo is this followed by the photo id ("" : photos are
  // not linked; a media_url given with the report is shown either way).
  std::string media_base_url;
  std::string locale = "zh-CN";  // "zh-CN" or "en"
};

// ---- Errors.

struct Open311Error {
  int code = 400;  // the HTTP status it comes with
  std::string description;
};
// The HTTP status of a Status code: 400 for bad input, 403 for credentials, 404 for
// something unknown, 413, 429, 503, 500 otherwise.
int Open311HttpStatus(Code code);
Open311Error Open311ErrorFor(const Status& status);
// [{"code":400,"description":"…"}] or <errors><error><code>400</code>…</errors>.
std::string RenderOpen311Errors(const std::vector<Open311Error>& errors, Open311Format f);

// ---- Services.

// The attributes a category's reports answer: its own, or (when it has none) those of the
// nearest ancestor that has some.
const std::vector<ServiceAttribute>& ServiceAttributesOf(const Catalog& catalog,
                                                         const Category& category);
// Every leaf category, in catalog order, as an Open311 service: service_code, service_name
// (in `locale`), description, metadata (has attributes), type realtime, keywords, group
// (the parent class's name).
std::string RenderServices(const Catalog& catalog, std::string_view locale, Open311Format f);
// The service definition of a leaf category; kNotFound for an unknown code or a class.
Result<std::string> RenderServiceDefinition(const Catalog& catalog, std::string_view code,
                                            Open311Format f);

// ---- Service requests.

// A case as an Open311 service request.
struct Open311Request {
  std::string service_request_id;
  std::string status;             // "open" or "closed"
  std::string status_notes;
  std::string service_name;
  std::string service_code;
  std::string description;
  std::string agency_responsible;  // the owning department's name
  std::string service_notice;
  TimeMs requested_datetime = 0;
  TimeMs updated_datetime = 0;
  TimeMs expected_datetime = 0;    // 0: none
  std::string address;
  std::string address_id;
  std::optional<double> lat, lon;
  std::string media_url;
  std::string token;               // not rendered in request lists
};

// Projects `c`. `master` is the case a merged report is linked to (nullptr when not merged
// or unknown): a merged report's status follows it. Missing catalog entries (imported
// cases of departments not in the catalog) fall back to their codes.
Open311Request ProjectCase(const Case& c, const Case* master, const Catalog& catalog,
                           const Open311Config& config);
// <service_requests><request>…</request></service_requests> or a JSON array.
std::string RenderRequests(const std::vector<Open311Request>& requests, Open311Format f);
// The answer to POST /requests: service_request_id, token, service_notice, account_id.
std::string RenderCreated(const Open311Request& r, std::string_view account_id,
                          Open311Format f);
// The answer to GET /tokens/{token}: service_request_id and token.
std::string RenderToken(const Open311Request& r, Open311Format f);

// The service_notice told to the reporter of a new case (a linked duplicate is told which
// request it repeats).
std::string CreatedNotice(const Case& c, const Catalog& catalog, std::string_view locale);

// ---- POST /requests.

// A form's decoded fields, in order (a field may repeat: attribute[code][]).
using FormFields = std::vector<std::pair<std::string, std::string>>;

struct ParsedServiceRequest {
  NewCase report;                    // source citizen, ready for CaseBook::Create
  std::string account_id;            // as given (echoed in the answer)
  std::vector<Open311Error> errors;  // every problem found; empty: the report is valid
  bool ok() const { return errors.empty(); }
};

// Reads a POST /requests form: service_code (a known leaf category), a location (lat and
// long, address_string or address_id), description (at most 4,000 characters), media_url
// (http or https), attribute[code] and attribute[code][] answers checked against the
// service definition (required ones present, list keys known, numbers and datetimes
// parseable), and the reporter (email, device_id, account_id, first_name, last_name,
// phone; the reporter id is account_id, else email, else device_id). Fields it does not
// know (api_key, jurisdiction_id, …) are left to the caller. Every text must be UTF-8.
ParsedServiceRequest ParseServiceRequest(const FormFields& fields, const Catalog& catalog);

// ---- GET /requests.

struct Open311Query {
  std::vector<uint64_t> ids;           // service_request_id=1,2: when given, the rest is ignored
  std::vector<std::string> codes;      // service_code=0101,0102 (empty: any)
  TimeMs from = 0, to = 0;             // requested in [from, to]
  bool open = true, closed = true;     // status=open,closed
  size_t limit = 1000;
};
inline constexpr int64_t kOpen311DefaultSpanMs = 90LL * 24 * 3600 * 1000;
inline constexpr size_t kOpen311MaxRequests = 1000;

// Reads the query: start_date and end_date (ISO 8601) may span at most 90 days; when one is
// missing it is 90 days from the other, when both are, the last 90 days up to `now`.
// Unknown statuses, bad ids or dates are kBadRequestData.
Result<Open311Query> ParseRequestQuery(const std::vector<std::pair<std::string, std::string>>& query,
                                       TimeMs now);
// Whether a projected request passes the query's service_code and status filters.
bool MatchesQuery(const Open311Query& q, const Open311Request& r);

// ---- Discovery.

struct Open311Discovery {
  std::string url;        // the endpoint, e.g. "https://city.example/open311/v2"
  std::string contact;
  std::string key_service;
  TimeMs changeset = 0;
};
std::string RenderDiscovery(const Open311Discovery& d, Open311Format f);

// ---- XML.

// Appends `s` escaped for XML text or attribute values: & < > " ' as entities; characters
// XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF) dropped; invalid UTF-8 bytes
// become U+FFFD.
void AppendXmlEscaped(std::string* out, std::string_view s);
// A JSON document as XML under element `root`: objects become elements per member, arrays
// repeat the element `item_name(array's element name)`, null becomes an empty element.
std::string JsonToOpen311Xml(std::string_view root, const JsonValue& v);

}  // namespace cb::cases
