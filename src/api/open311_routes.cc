// Open311 GeoReport v2 under /open311/v2: discovery, services, service definitions, service
// requests (POST and GET) and tokens, in JSON or XML by the resource's extension, errors in
// the Open311 format. Reads are public; POST /requests checks its own api_key.

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "cases/case_book.h"
#include "cases/open311.h"

namespace cb::api {
namespace {

using cases::Open311Error;
using cases::Open311Format;

constexpr std::string_view kBase = "/open311/v2";

HttpResponse Body(int status, std::string body, Open311Format f) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::string(cases::Open311ContentType(f));
  r.body = std::move(body);
  return r;
}

HttpResponse Errors(std::vector<Open311Error> errors, Open311Format f) {
  const int status = errors.empty() ? 500 : errors.front().code;
  return Body(status, cases::RenderOpen311Errors(errors, f), f);
}

HttpResponse Error(const Status& s, Open311Format f) { return Errors({cases::Open311ErrorFor(s)}, f); }

// "requests.json" → {"requests", json}; an unknown or missing extension is a 404 (in JSON).
struct Resource {
  std::string name;
  Open311Format format = Open311Format::kJson;
};
Result<Resource> SplitResource(const std::string& file) {
  const size_t dot = file.rfind('.');
  if (dot == std::string::npos || dot == 0) {
    return Status::NotFound("no such resource '" + file + "': name it with .json or .xml");
  }
  Result<Open311Format> f = cases::Open311FormatFromExtension(std::string_view(file).substr(dot + 1));
  if (!f.ok()) return f.status();
  return Resource{file.substr(0, dot), *f};
}

// The scheme and host clients reached us at, for links we hand out.
std::string Origin(const HttpRequest& req, const Open311Options& o) {
  if (!o.base_url.empty()) {
    const size_t scheme = o.base_url.find("://");
    const size_t path = o.base_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return o.base_url.substr(0, path);
  }
  std::string_view host = req.Header("host");
  const bool clean = !host.empty() && host.size() <= 255 &&
                     std::all_of(host.begin(), host.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == ':' || c == '[' || c == ']';
                     });
  return "http://" + std::string(clean ? host : "localhost");
}

std::string EndpointUrl(const HttpRequest& req, const Open311Options& o) {
  return !o.base_url.empty() ? o.base_url : Origin(req, o) + std::string(kBase);
}

cases::Open311Config ConfigFor(const HttpRequest& req, const Open311Options& o,
                               const std::string* form_locale = nullptr) {
  cases::Open311Config c;
  const std::string* locale = req.Query("locale");
  if (locale == nullptr) locale = form_locale;
  c.locale = cases::PickOpen311Locale(locale != nullptr ? *locale : std::string(),
                                      req.Header("accept-language"));
  c.media_base_url = !o.media_base_url.empty() ? o.media_base_url : Origin(req, o) + "/api/v1/photos/";
  return c;
}

// A jurisdiction_id other than ours is unknown here.
Status CheckJurisdiction(const std::string* given, const Open311Options& o) {
  if (given == nullptr || given->empty() || *given == o.jurisdiction_id) return Status::Ok();
  return Status::NotFound("jurisdiction_id '" + *given + "' not found (this endpoint serves '" +
                          o.jurisdiction_id + "')");
}

// An application/x-www-form-urlencoded body, decoded.
Result<cases::FormFields> DecodeForm(std::string_view body) {
  cases::FormFields out;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view kv = body.substr(start, end - start);
    start = end + 1;
    if (kv.empty()) continue;
    const size_t eq = kv.find('=');
    Result<std::string> k = PercentDecode(kv.substr(0, eq), true);
    Result<std::string> v = PercentDecode(eq == std::string_view::npos ? "" : kv.substr(eq + 1), true);
    if (!k.ok() || !v.ok()) return Status::BadRequestData("bad percent-encoding in the form");
    out.emplace_back(std::move(k).value(), std::move(v).value());
  }
  return out;
}

const std::string* FormField(const cases::FormFields& form, std::string_view key) {
  for (const auto& [k, v] : form) {
    if (k == key) return &v;
  }
  return nullptr;
}

// The case a linked report follows, looked up once per response.
class Masters {
 public:
  explicit Masters(const cases::CaseBook* book) : book_(book) {}
  const cases::Case* Of(const cases::Case& c) {
    if (c.master_id == 0) return nullptr;
    auto it = seen_.find(c.master_id);
    if (it == seen_.end()) it = seen_.emplace(c.master_id, book_->Get(c.master_id)).first;
    return it->second ? &*it->second : nullptr;
  }

 private:
  const cases::CaseBook* book_;
  std::unordered_map<uint64_t, std::optional<cases::Case>> seen_;
};

void ListRequests(cases::CaseBook* book, const Clock* clock, const Open311Options& options,
                  HttpRequest& req, Open311Format f, const Responder& respond) {
  Result<cases::Open311Query> q = cases::ParseRequestQuery(req.query, clock->Now());
  if (!q.ok()) return respond(Error(q.status(), f));
  const cases::Open311Config config = ConfigFor(req, options);
  Masters masters(book);
  std::vector<cases::Open311Request> out;
  std::set<uint64_t> seen;  // pages may overlap when cases are filed meanwhile
  cases::CaseFilter filter;
  if (!q->ids.empty()) {
    // service_request_id overrides every other argument.
    filter.ids = q->ids;
    filter.limit = q->limit;
    for (const cases::Case& c : book->List(filter)) {
      out.push_back(cases::ProjectCase(c, masters.Of(c), book->catalog(), config));
    }
    return respond(Body(200, cases::RenderRequests(out, f), f));
  }
  filter.from = q->from;
  filter.to = q->to + 1;  // end_date is inclusive
  if (q->codes.size() == 1) filter.category = q->codes.front();
  filter.limit = 500;
  for (filter.offset = 0; out.size() < q->limit; filter.offset += filter.limit) {
    std::vector<cases::Case> page = book->List(filter);
    for (const cases::Case& c : page) {
      if (!seen.insert(c.id).second) continue;
      cases::Open311Request r = cases::ProjectCase(c, masters.Of(c), book->catalog(), config);
      if (cases::MatchesQuery(*q, r) && out.size() < q->limit) out.push_back(std::move(r));
    }
    if (page.size() < filter.limit) break;
  }
  respond(Body(200, cases::RenderRequests(out, f), f));
}

void CreateRequest(cases::CaseBook* book, const security::ApiKeyAuthority* auth,
                   const Clock* clock, const Open311Options& options, HttpRequest& req,
                   Open311Format f, const Responder& respond) {
  if (MediaType(req.Header("content-type")) != "application/x-www-form-urlencoded") {
    return respond(Error(Status::BadRequestData(
                             "send the request as application/x-www-form-urlencoded"), f));
  }
  Result<cases::FormFields> form = DecodeForm(req.body);
  if (!form.ok()) return respond(Error(form.status(), f));
  // The api_key: a form field, a query parameter, or the key the request came with.
  const std::string* key = FormField(*form, "api_key");
  if (key == nullptr) key = req.Query("api_key");
  std::shared_ptr<const security::Principal> who;
  if (key != nullptr && !key->empty() && auth != nullptr) {
    auto r = auth->Authenticate(*key);
    if (!r.ok()) return respond(Error(Status::Forbidden("invalid api_key"), f));
    who = std::move(r).value();
  } else if (key == nullptr || key->empty()) {
    who = req.principal;
  }
  if (who == nullptr) return respond(Error(Status::Forbidden("api_key was not provided"), f));
  if (!who->Has(security::Permission::kCasesReport)) {
    return respond(Error(Status::Forbidden("the api_key may not report service requests"), f));
  }
  const std::string* jurisdiction = FormField(*form, "jurisdiction_id");
  if (jurisdiction == nullptr) jurisdiction = req.Query("jurisdiction_id");
  Status st = CheckJurisdiction(jurisdiction, options);
  if (!st.ok()) return respond(Error(st, f));

  cases::ParsedServiceRequest parsed = cases::ParseServiceRequest(*form, book->catalog());
  if (!parsed.ok()) return respond(Errors(std::move(parsed.errors), f));
  parsed.report.actor = who->name;
  const std::string locale = ConfigFor(req, options, FormField(*form, "locale")).locale;
  const cases::Catalog* catalog = &book->catalog();
  // The answer waits until the case is durable. The callback may run under the book's
  // lock: it must not call back into the book.
  book->CreateAsync(std::move(parsed.report), clock->Now(),
                    [respond, f, locale, catalog, account = parsed.account_id](Result<cases::Case> c) {
                      if (!c.ok()) return respond(Error(c.status(), f));
                      cases::Open311Request r;
                      r.service_request_id = std::to_string(c->id);
                      r.token = c->token;
                      r.service_notice = cases::CreatedNotice(*c, *catalog, locale);
                      respond(Body(200, cases::RenderCreated(r, account, f), f));
                    });
}

}  // namespace

void AddOpen311Routes(Router* router, cases::CaseBook* book,
                      const security::ApiKeyAuthority* auth, const Clock* clock,
                      Open311Options options) {
  const std::string base(kBase);
  const auto pub = security::Permission::kPublic;
  // discovery.{fmt}, services.{fmt}, requests.{fmt}
  router->Add("GET", base + "/{file}", pub, [book, clock, options](HttpRequest& req, Responder respond) {
    Result<Resource> res = SplitResource(req.params["file"]);
    if (!res.ok()) return respond(Error(res.status(), Open311Format::kJson));
    const Open311Format f = res->format;
    if (res->name == "discovery") {
      cases::Open311Discovery d;
      d.url = EndpointUrl(req, options);
      d.contact = options.contact;
      d.key_service = options.key_service;
      return respond(Body(200, cases::RenderDiscovery(d, f), f));
    }
    Status st = CheckJurisdiction(req.Query("jurisdiction_id"), options);
    if (!st.ok()) return respond(Error(st, f));
    if (res->name == "services") {
      return respond(Body(200, cases::RenderServices(book->catalog(), ConfigFor(req, options).locale, f), f));
    }
    if (res->name == "requests") return ListRequests(book, clock, options, req, f, respond);
    respond(Error(Status::NotFound("no such resource '" + req.params["file"] + "'"), f));
  });
  router->Add("POST", base + "/{file}", pub, [book, auth, clock, options](HttpRequest& req, Responder respond) {
    Result<Resource> res = SplitResource(req.params["file"]);
    if (!res.ok()) return respond(Error(res.status(), Open311Format::kJson));
    if (res->name != "requests") {
      return respond(Error(Status::NotFound("only requests." + std::string(res->format == Open311Format::kJson ? "json" : "xml") +
                                            " takes a POST"), res->format));
    }
    CreateRequest(book, auth, clock, options, req, res->format, respond);
  });
  router->Add("GET", base + "/services/{file}", pub, [book, options](HttpRequest& req, Responder respond) {
    Result<Resource> res = SplitResource(req.params["file"]);
    if (!res.ok()) return respond(Error(res.status(), Open311Format::kJson));
    Status st = CheckJurisdiction(req.Query("jurisdiction_id"), options);
    if (!st.ok()) return respond(Error(st, res->format));
    Result<std::string> def = cases::RenderServiceDefinition(book->catalog(), res->name, res->format);
    if (!def.ok()) return respond(Error(def.status(), res->format));
    respond(Body(200, std::move(def).value(), res->format));
  });
  router->Add("GET", base + "/requests/{file}", pub, [book, options](HttpRequest& req, Responder respond) {
    Result<Resource> res = SplitResource(req.params["file"]);
    if (!res.ok()) return respond(Error(res.status(), Open311Format::kJson));
    const Open311Format f = res->format;
    Status st = CheckJurisdiction(req.Query("jurisdiction_id"), options);
    if (!st.ok()) return respond(Error(st, f));
    const std::string& id_text = res->name;
    uint64_t id = 0;
    const bool digits = !id_text.empty() && id_text.size() <= 19 &&
                        std::all_of(id_text.begin(), id_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) id = std::stoull(id_text);
    std::optional<cases::Case> c = id != 0 ? book->Get(id) : std::nullopt;
    if (!c) return respond(Error(Status::NotFound("service_request_id '" + id_text + "' not found"), f));
    Masters masters(book);
    std::vector<cases::Open311Request> one = {
        cases::ProjectCase(*c, masters.Of(*c), book->catalog(), ConfigFor(req, options))};
    respond(Body(200, cases::RenderRequests(one, f), f));
  });
  router->Add("GET", base + "/tokens/{file}", pub, [book, options](HttpRequest& req, Responder respond) {
    Result<Resource> res = SplitResource(req.params["file"]);
    if (!res.ok()) return respond(Error(res.status(), Open311Format::kJson));
    Status st = CheckJurisdiction(req.Query("jurisdiction_id"), options);
    if (!st.ok()) return respond(Error(st, res->format));
    std::optional<cases::Case> c = book->GetByToken(res->name);
    if (!c) return respond(Error(Status::NotFound("token '" + res->name + "' not found"), res->format));
    cases::Open311Request r;
    r.service_request_id = std::to_string(c->id);
    r.token = c->token;
    respond(Body(200, cases::RenderToken(r, res->format), res->format));
  });
}

}  // namespace cb::api
