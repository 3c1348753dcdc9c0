#include "cases/open311.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

namespace cb::cases {
namespace {

// ---- UTF-8

// The length of the UTF-8 sequence at s[i], or 0 when it is not valid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceAt(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (n == 4 && (v < 0x10000 || v > 0x10FFFF))) {
    return 0;
  }
  *cp = v;
  return n;
}

// The number of characters in `s`, or nullopt when it is not valid UTF-8.
std::optional<size_t> Utf8Length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    uint32_t cp;
    const size_t n = Utf8SequenceAt(s, i, &cp);
    if (n == 0) return std::nullopt;
    i += n;
  }
  return count;
}

// ---- Texts in two languages

struct Text {
  const char* zh;
  const char* en;
  const char* In(std::string_view locale) const { return locale == "en" ? en : zh; }
};

std::string Replace(std::string s, std::string_view what, std::string_view with) {
  const size_t at = s.find(what);
  if (at != std::string::npos) s.replace(at, what.size(), with);
  return s;
}

constexpr Text kReceived{"已收到，等待受理", "Received, waiting to be accepted"};
constexpr Text kAccepted{"已受理，等待派遣", "Accepted, waiting to be dispatched"};
constexpr Text kDispatched{"已派遣至{dept}", "Dispatched to {dept}"};
constexpr Text kInProgress{"{dept}正在处置", "Being handled by {dept}"};
constexpr Text kRedispatch{"正在重新派遣", "Being dispatched again"};
constexpr Text kSuspended{"暂缓处置", "Handling suspended"};
constexpr Text kResumed{"已恢复处置", "Handling resumed"};
constexpr Text kResolved{"已处置完毕，等待核查", "Resolved, waiting to be verified"};
constexpr Text kReworked{"核查未通过，重新处置", "Not fixed on verification, being handled again"};
constexpr Text kVerified{"已核查", "Verified"};
constexpr Text kRated{"已评价", "Rated by the reporter"};
constexpr Text kClosed{"已办结", "Closed"};
constexpr Text kRejected{"不予受理", "Not accepted"};
constexpr Text kReopened{"已重新办理", "Reopened"};
constexpr Text kSplit{"已拆分为独立诉求办理", "Split off to be handled on its own"};
constexpr Text kLinked{"与第{id}号诉求为同一问题，随其办理", "Linked to service request {id}, handled with it"};
constexpr Text kNoticeLinked{"此问题已有人反映（第{id}号诉求），您的诉求已并入其中，办结时一并告知。",
                             "This problem was already reported (service request {id}); your report is "
                             "linked to it and you will be told when it closes."};
constexpr Text kNoticeNew{"已收到，由{dept}负责办理。", "Received; {dept} is responsible."};

// The department's name in `locale`, or its id when the catalog does not know it.
std::string DepartmentName(const Catalog& catalog, const Case& c, std::string_view locale) {
  std::string id = c.department;
  if (id.empty()) {
    if (const Category* cat = catalog.FindCategory(c.category)) id = cat->department;
  }
  const Department* d = catalog.FindDepartment(id);
  return d != nullptr ? d->name.In(locale) : id;
}

// The public status note of a case's history: the latest transition a citizen may see.
std::string StatusNote(const Case& c, const Catalog& catalog, std::string_view locale) {
  const std::string dept = DepartmentName(catalog, c, locale);
  auto generic = [&](const Text& t) { return Replace(t.In(locale), "{dept}", dept); };
  auto note_or = [&](const Transition& t, const Text& dflt) {
    return t.note.empty() ? generic(dflt) : t.note;
  };
  for (auto it = c.history.rbegin(); it != c.history.rend(); ++it) {
    const Transition& t = *it;
    const std::string& a = t.action;
    if (a == "create" || a == "import") {
      if (t.to == CaseState::kMerged) break;  // told by the caller (ProjectCase)
      if (a == "import" && t.to == CaseState::kClosed && !c.result.empty()) return c.result;
      return generic(kReceived);
    }
    if (a == "accept") return generic(kAccepted);
    if (a == "reject") return note_or(t, kRejected);
    if (a == "dispatch" || a == "reassign") return generic(kDispatched);
    if (a == "start") return generic(kInProgress);
    if (a == "return") return generic(kRedispatch);
    if (a == "suspend") return note_or(t, kSuspended);
    if (a == "resume") return generic(kResumed);
    if (a == "resolve") return !t.note.empty() ? t.note : !c.result.empty() ? c.result : generic(kResolved);
    if (a == "rework") return note_or(t, kReworked);
    if (a == "verify") return note_or(t, kVerified);
    if (a == "rate") return generic(kRated);
    if (a == "close") return !t.note.empty() ? t.note : !c.result.empty() ? c.result : generic(kClosed);
    if (a == "reopen") return note_or(t, kReopened);
    if (a == "split") return generic(kSplit);
    if (a == "merge") break;  // told by the caller
    // link, unlink, assign, escalate, warn, credit, photo: internal, look further back.
  }
  return std::string();
}

// The deadline citizens may expect the case to be done by: the running handling step's,
// else the latest running step's, else the whole case's.
TimeMs ExpectedAt(const Case& c) {
  if (c.finished() || c.state == CaseState::kMerged || c.state == CaseState::kSuspended) return 0;
  const StepClock* best = nullptr;
  const StepClock* close = nullptr;
  for (const StepClock& k : c.clocks) {
    if (k.done_at != 0 || k.deadline == 0) continue;
    if (k.step == Step::kClose) {
      close = &k;
    } else if (best == nullptr || best->step != Step::kHandle) {
      best = &k;
    }
  }
  if (best != nullptr) return best->deadline;
  return close != nullptr ? close->deadline : 0;
}

std::string AttributeText(const Case& c, std::string_view key) {
  const JsonValue* v = c.attributes.is_object() ? c.attributes.Find(key) : nullptr;
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

// ---- Rendering

JsonValue TextOrNull(const std::string& s) { return s.empty() ? JsonValue() : JsonValue(s); }
JsonValue TimeOrNull(TimeMs t) { return t == 0 ? JsonValue() : JsonValue(FormatIso8601(t)); }

std::string Render(std::string_view xml_root, const JsonValue& v, Open311Format f) {
  if (f == Open311Format::kJson) return v.Dump();
  return JsonToOpen311Xml(xml_root, v);
}

// The element name of an array's items in Open311 XML.
std::string_view ItemName(std::string_view array_name) {
  static const std::map<std::string_view, std::string_view> kItems = {
      {"services", "service"},   {"service_requests", "request"}, {"attributes", "attribute"},
      {"values", "value"},       {"endpoints", "endpoint"},       {"formats", "format"},
      {"errors", "error"}};
  auto it = kItems.find(array_name);
  return it != kItems.end() ? it->second : "item";
}

void AppendXmlValue(std::string* out, std::string_view name, const JsonValue& v) {
  if (v.is_array()) {
    out->append("<").append(name).append(">");
    const std::string_view item = ItemName(name);
    for (const JsonValue& e : v.as_array()) AppendXmlValue(out, item, e);
    out->append("</").append(name).append(">");
    return;
  }
  if (v.is_null()) {
    out->append("<").append(name).append("/>");
    return;
  }
  out->append("<").append(name).append(">");
  switch (v.type()) {
    case JsonValue::Type::kObject:
      for (const auto& [k, m] : v.as_object()) AppendXmlValue(out, k, m);
      break;
    case JsonValue::Type::kBool:
      out->append(v.as_bool() ? "true" : "false");
      break;
    case JsonValue::Type::kInt:
      AppendJsonNumber(out, v.as_int());
      break;
    case JsonValue::Type::kDouble:
      AppendJsonNumber(out, v.as_double());
      break;
    case JsonValue::Type::kString:
      AppendXmlEscaped(out, v.as_string());
      break;
    default:
      break;
  }
  out->append("</").append(name).append(">");
}

JsonValue RequestJson(const Open311Request& r) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("service_request_id", r.service_request_id);
  o.Set("status", r.status);
  o.Set("status_notes", TextOrNull(r.status_notes));
  o.Set("service_name", TextOrNull(r.service_name));
  o.Set("service_code", r.service_code);
  o.Set("description", TextOrNull(r.description));
  o.Set("agency_responsible", TextOrNull(r.agency_responsible));
  o.Set("service_notice", TextOrNull(r.service_notice));
  o.Set("requested_datetime", FormatIso8601(r.requested_datetime));
  o.Set("updated_datetime", TimeOrNull(r.updated_datetime));
  o.Set("expected_datetime", TimeOrNull(r.expected_datetime));
  o.Set("address", TextOrNull(r.address));
  o.Set("address_id", TextOrNull(r.address_id));
  o.Set("zipcode", JsonValue());
  o.Set("lat", r.lat ? JsonValue(*r.lat) : JsonValue());
  o.Set("long", r.lon ? JsonValue(*r.lon) : JsonValue());
  o.Set("media_url", TextOrNull(r.media_url));
  return o;
}

// ---- Parsing

std::optional<double> ParseNumber(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view item = s.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

// Quotes a client's text for an error description (shortened, so a huge field does not
// come back whole).
std::string Quoted(std::string_view s) {
  std::string out = "'";
  size_t i = 0;
  for (size_t chars = 0; i < s.size() && chars < 60; ++chars) {
    uint32_t cp;
    const size_t n = Utf8SequenceAt(s, i, &cp);
    if (n == 0) break;
    i += n;
  }
  out.append(s.substr(0, i));
  if (i < s.size()) out.append("…");
  return out + "'";
}

bool ValidEmail(std::string_view e) {
  const size_t at = e.find('@');
  if (e.size() > 254 || at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = e.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
  return std::none_of(e.begin(), e.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',' || c == ';';
  });
}

bool ValidPhone(std::string_view p) {
  int digits = 0;
  for (char c : p) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
      return false;
    }
  }
  return p.size() <= 32 && digits >= 3;
}

bool ValidUrl(std::string_view u) {
  if (!(u.starts_with("http://") || u.starts_with("https://")) || u.size() > 2048) return false;
  const std::string_view rest = u.substr(u.find("//") + 2);
  if (rest.empty() || rest.front() == '/') return false;
  return std::none_of(u.begin(), u.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b <= ' ' || b >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\';
  });
}

// "attribute[code]" → code, "attribute[code][]" → code with *multi; nullopt otherwise.
std::optional<std::string> AttributeKey(std::string_view key, bool* multi) {
  if (!key.starts_with("attribute[")) return std::nullopt;
  std::string_view rest = key.substr(10);
  *multi = rest.ends_with("][]");
  if (*multi) {
    rest.remove_suffix(3);
  } else if (rest.ends_with("]")) {
    rest.remove_suffix(1);
  } else {
    return std::nullopt;
  }
  if (rest.empty() || rest.find_first_of("[]") != std::string_view::npos) return std::nullopt;
  return std::string(rest);
}

// One attribute's answers in a form: attribute[code] (one) or attribute[code][] (many).
struct AttributeAnswer {
  std::vector<std::string> values;
  bool multi = false;
};

// Checks a report's attribute answers against the service definition `defs`: typed answers
// go to *attributes, problems to *errors.
void CheckAttributes(const std::vector<ServiceAttribute>& defs, const std::string& service,
                     const std::map<std::string, AttributeAnswer, std::less<>>& answers,
                     JsonValue* attributes, std::vector<Open311Error>* errors) {
  auto bad = [&](std::string description) { errors->push_back({400, std::move(description)}); };
  for (const auto& [acode, answer] : answers) {
    if (std::none_of(defs.begin(), defs.end(), [&](const ServiceAttribute& d) { return d.code == acode; })) {
      bad("attribute " + Quoted(acode) + " is not part of service " + service);
    }
  }
  for (const ServiceAttribute& d : defs) {
    auto it = answers.find(d.code);
    std::vector<std::string> values;
    if (it != answers.end()) {
      for (const std::string& v : it->second.values) {
        if (!v.empty()) values.push_back(v);
      }
    }
    const std::string what = "attribute " + d.code;
    if (values.empty()) {
      if (d.required && d.variable) bad(what + " is required");
      continue;
    }
    if (!d.variable) {
      bad(what + " is information only and takes no answer");
      continue;
    }
    auto known = [&](const std::string& key) {
      return std::any_of(d.values.begin(), d.values.end(), [&](const auto& kv) { return kv.first == key; });
    };
    if (d.datatype == "multivaluelist") {
      JsonValue keys = JsonValue::MakeArray();
      bool all_known = true;
      for (const std::string& v : values) {
        if (!known(v)) {
          bad(what + ": " + Quoted(v) + " is not one of its values");
          all_known = false;
        } else {
          keys.Push(v);
        }
      }
      if (all_known) attributes->Set(d.code, std::move(keys));
      continue;
    }
    if (values.size() > 1 || it->second.multi) {
      bad(what + " takes one value");
      continue;
    }
    const std::string& v = values.front();
    if (d.datatype == "singlevaluelist") {
      if (known(v)) {
        attributes->Set(d.code, v);
      } else {
        bad(what + ": " + Quoted(v) + " is not one of its values");
      }
    } else if (d.datatype == "number") {
      if (std::optional<double> x = ParseNumber(v)) {
        attributes->Set(d.code, *x);
      } else {
        bad(what + ": " + Quoted(v) + " is not a number");
      }
    } else if (d.datatype == "datetime") {
      Result<TimeMs> t = ParseIso8601(v);
      if (t.ok()) {
        attributes->Set(d.code, FormatIso8601(*t));
      } else {
        bad(what + ": " + Quoted(v) + " is not an ISO 8601 date and time");
      }
    } else {
      const size_t limit = d.datatype == "text" ? Case::kMaxDescription : 1000;
      if (Utf8Length(v).value_or(0) > limit) {
        bad(what + " is longer than " + std::to_string(limit) + " characters");
      } else {
        attributes->Set(d.code, v);
      }
    }
  }
}

}  // namespace

// ---- Formats, locales, errors

Result<Open311Format> Open311FormatFromExtension(std::string_view ext) {
  if (ext == "json") return Open311Format::kJson;
  if (ext == "xml") return Open311Format::kXml;
  return Status::NotFound("unknown format '" + std::string(ext) + "': use .json or .xml");
}

std::string_view Open311ContentType(Open311Format f) {
  return f == Open311Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

std::string PickOpen311Locale(std::string_view locale, std::string_view accept_language) {
  auto known = [](std::string_view tag) -> std::optional<std::string> {
    std::string t;
    for (char c : tag.substr(0, 2)) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (t == "zh") return std::string("zh-CN");
    if (t == "en") return std::string("en");
    return std::nullopt;
  };
  if (!locale.empty()) {
    if (auto k = known(locale)) return *k;
  }
  // Accept-Language: "en-GB,en;q=0.9,zh;q=0.8": the known language of highest q, first wins ties.
  std::optional<std::string> best;
  double best_q = 0;
  for (const std::string& item : SplitCommas(accept_language)) {
    std::string_view tag = item;
    double q = 1;
    if (size_t semi = tag.find(';'); semi != std::string_view::npos) {
      std::string_view params = tag.substr(semi + 1);
      tag = tag.substr(0, semi);
      while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
      if (size_t qpos = params.find("q="); qpos != std::string_view::npos) {
        q = ParseNumber(params.substr(qpos + 2)).value_or(0);
      }
    }
    auto k = known(tag);
    if (k && q > best_q) {
      best = k;
      best_q = q;
    }
  }
  return best.value_or("zh-CN");
}

int Open311HttpStatus(Code code) {
  switch (code) {
    case Code::kInvalidRequest:
    case Code::kBadRequestData:
    case Code::kConflict:
    case Code::kAlreadyExists:
    case Code::kUnsupported:
      return 400;
    case Code::kUnauthorized:
    case Code::kForbidden:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kTooLarge:
      return 413;
    case Code::kTooManyRequests:
      return 429;
    case Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

Open311Error Open311ErrorFor(const Status& status) {
  return Open311Error{Open311HttpStatus(status.code()), status.message()};
}

std::string RenderOpen311Errors(const std::vector<Open311Error>& errors, Open311Format f) {
  JsonValue list = JsonValue::MakeArray();
  for (const Open311Error& e : errors) {
    JsonValue o = JsonValue::MakeObject();
    o.Set("code", e.code);
    o.Set("description", e.description);
    list.Push(std::move(o));
  }
  return Render("errors", list, f);
}

// ---- Services

const std::vector<ServiceAttribute>& ServiceAttributesOf(const Catalog& catalog,
                                                         const Category& category) {
  const Category* c = &category;
  while (c->attributes.empty() && !c->parent.empty()) {
    const Category* parent = catalog.FindCategory(c->parent);
    if (parent == nullptr) break;
    c = parent;
  }
  return c->attributes;
}

std::string RenderServices(const Catalog& catalog, std::string_view locale, Open311Format f) {
  JsonValue list = JsonValue::MakeArray();
  for (const Category& c : catalog.categories()) {
    if (!c.leaf) continue;
    const Category* parent = c.parent.empty() ? nullptr : catalog.FindCategory(c.parent);
    const std::string& name = c.name.In(locale);
    const std::string& other = locale == "en" ? c.name.zh_cn : c.name.en;
    JsonValue o = JsonValue::MakeObject();
    o.Set("service_code", c.code);
    o.Set("service_name", name);
    o.Set("description", TextOrNull(other != name ? other : std::string()));
    o.Set("metadata", !ServiceAttributesOf(catalog, c).empty());
    o.Set("type", "realtime");
    o.Set("keywords", TextOrNull(c.keywords));
    o.Set("group", parent != nullptr ? JsonValue(parent->name.In(locale)) : JsonValue());
    list.Push(std::move(o));
  }
  return Render("services", list, f);
}

Result<std::string> RenderServiceDefinition(const Catalog& catalog, std::string_view code,
                                            Open311Format f) {
  const Category* c = catalog.FindCategory(code);
  if (c == nullptr || !c->leaf) {
    return Status::NotFound("service_code " + Quoted(code) + " not found");
  }
  std::vector<ServiceAttribute> attrs = ServiceAttributesOf(catalog, *c);
  std::stable_sort(attrs.begin(), attrs.end(),
                   [](const ServiceAttribute& a, const ServiceAttribute& b) { return a.order < b.order; });
  JsonValue list = JsonValue::MakeArray();
  for (const ServiceAttribute& a : attrs) {
    JsonValue o = JsonValue::MakeObject();
    o.Set("variable", a.variable);
    o.Set("code", a.code);
    o.Set("datatype", a.datatype);
    o.Set("required", a.required);
    o.Set("datatype_description", TextOrNull(a.datatype_description));
    o.Set("order", a.order);
    o.Set("description", TextOrNull(a.description));
    if (a.datatype.ends_with("valuelist")) {
      JsonValue values = JsonValue::MakeArray();
      for (const auto& [key, name] : a.values) {
        JsonValue v = JsonValue::MakeObject();
        v.Set("key", key);
        v.Set("name", name);
        values.Push(std::move(v));
      }
      o.Set("values", std::move(values));
    }
    list.Push(std::move(o));
  }
  JsonValue def = JsonValue::MakeObject();
  def.Set("service_code", c->code);
  def.Set("attributes", std::move(list));
  return Render("service_definition", def, f);
}

// ---- Requests

Open311Request ProjectCase(const Case& c, const Case* master, const Catalog& catalog,
                           const Open311Config& config) {
  const std::string& locale = config.locale;
  Open311Request r;
  r.service_request_id = std::to_string(c.id);
  r.token = c.token;
  r.service_code = c.category;
  if (const Category* cat = catalog.FindCategory(c.category)) r.service_name = cat->name.In(locale);
  r.description = c.description;
  r.agency_responsible = DepartmentName(catalog, c, locale);
  r.requested_datetime = c.created_at;
  r.address = c.address;
  r.address_id = AttributeText(c, kOpen311AddressIdKey);
  r.lat = c.lat;
  r.lon = c.lon;
  r.media_url = AttributeText(c, kOpen311MediaUrlKey);
  if (r.media_url.empty() && !c.photos.empty() && !config.media_base_url.empty()) {
    r.media_url = config.media_base_url + c.photos.front();
  }
  // A linked report (merged into a master) follows its master: open while it is, and told
  // what happens to it.
  const bool linked = c.master_id != 0;
  const Case* m = linked && master != nullptr && master->id == c.master_id ? master : nullptr;
  const bool closed = c.finished() || (c.state == CaseState::kMerged && m != nullptr && m->finished());
  const Case& told = m != nullptr ? *m : c;
  r.status = closed ? "closed" : "open";
  r.status_notes = StatusNote(told, catalog, locale);
  r.updated_datetime = std::max(c.updated_at, m != nullptr ? m->updated_at : 0);
  if (closed) {
    const Case& finished = c.finished() ? c : *m;
    r.updated_datetime = finished.closed_at != 0 ? finished.closed_at : finished.updated_at;
  }
  r.expected_datetime = closed ? 0 : ExpectedAt(told);
  if (linked) {
    const std::string id = std::to_string(c.master_id);
    std::string text = Replace(kLinked.In(locale), "{id}", id);
    r.status_notes = r.status_notes.empty() ? text : text + (locale == "en" ? ": " : "：") + r.status_notes;
    r.service_notice = Replace(kNoticeLinked.In(locale), "{id}", id);
  }
  return r;
}

std::string CreatedNotice(const Case& c, const Catalog& catalog, std::string_view locale) {
  if (c.state == CaseState::kMerged && c.master_id != 0) {
    return Replace(kNoticeLinked.In(locale), "{id}", std::to_string(c.master_id));
  }
  return Replace(kNoticeNew.In(locale), "{dept}", DepartmentName(catalog, c, locale));
}

std::string RenderRequests(const std::vector<Open311Request>& requests, Open311Format f) {
  JsonValue list = JsonValue::MakeArray();
  for (const Open311Request& r : requests) list.Push(RequestJson(r));
  return Render("service_requests", list, f);
}

std::string RenderCreated(const Open311Request& r, std::string_view account_id, Open311Format f) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("service_request_id", r.service_request_id);
  o.Set("token", TextOrNull(r.token));
  o.Set("service_notice", TextOrNull(r.service_notice));
  o.Set("account_id", account_id.empty() ? JsonValue() : JsonValue(account_id));
  JsonValue list = JsonValue::MakeArray();
  list.Push(std::move(o));
  return Render("service_requests", list, f);
}

std::string RenderToken(const Open311Request& r, Open311Format f) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("service_request_id", r.service_request_id);
  o.Set("token", r.token);
  JsonValue list = JsonValue::MakeArray();
  list.Push(std::move(o));
  return Render("service_requests", list, f);
}

// ---- POST /requests

ParsedServiceRequest ParseServiceRequest(const FormFields& fields, const Catalog& catalog) {
  ParsedServiceRequest out;
  auto bad = [&](std::string description) { out.errors.push_back({400, std::move(description)}); };

  // Scalars once each; attribute answers by code.
  static const std::set<std::string_view> kScalars = {
      "service_code", "lat",        "long",      "address_string", "address_id", "email",
      "device_id",    "account_id", "first_name", "last_name",     "phone",      "description",
      "media_url"};
  std::map<std::string, std::string, std::less<>> scalar;
  std::map<std::string, AttributeAnswer, std::less<>> answers;
  for (const auto& [key, value] : fields) {
    if (!Utf8Length(value) || !Utf8Length(key)) {
      bad("field " + (Utf8Length(key) ? Quoted(key) + " " : std::string()) + "is not valid UTF-8");
      continue;
    }
    bool multi = false;
    if (std::optional<std::string> code = AttributeKey(key, &multi)) {
      AttributeAnswer& a = answers[*code];
      a.multi = a.multi || multi;
      a.values.push_back(value);
      continue;
    }
    if (kScalars.count(key) == 0) continue;
    if (!scalar.emplace(key, value).second) bad(key + " is given more than once");
  }
  auto get = [&](std::string_view k) -> std::string {
    auto it = scalar.find(k);
    return it == scalar.end() ? std::string() : it->second;
  };

  NewCase& n = out.report;
  n.source = CaseSource::kCitizen;
  n.link_duplicates = true;

  // The service.
  const std::string code = get("service_code");
  const Category* cat = nullptr;
  if (code.empty()) {
    bad("service_code was not provided");
  } else if ((cat = catalog.FindCategory(code)) == nullptr) {
    bad("service_code " + Quoted(code) + " not found");
  } else if (!cat->leaf) {
    bad("service_code " + Quoted(code) + " is a group of services; report one of its services");
    cat = nullptr;
  } else {
    n.category = code;
  }

  // The location.
  const std::string lat = get("lat"), lon = get("long");
  if (!lat.empty() || !lon.empty()) {
    if (lat.empty() || lon.empty()) {
      bad("lat and long must be given together");
    } else {
      std::optional<double> la = ParseNumber(lat), lo = ParseNumber(lon);
      if (!la || *la < -90 || *la > 90) bad("lat " + Quoted(lat) + " is not a latitude (-90 to 90)");
      if (!lo || *lo < -180 || *lo > 180) bad("long " + Quoted(lon) + " is not a longitude (-180 to 180)");
      if (la && lo && *la >= -90 && *la <= 90 && *lo >= -180 && *lo <= 180) {
        n.lat = *la;
        n.lon = *lo;
      }
    }
  }
  const std::string address = get("address_string"), address_id = get("address_id");
  if (Utf8Length(address).value_or(0) > 500) bad("address_string is longer than 500 characters");
  if (Utf8Length(address_id).value_or(0) > 200) bad("address_id is longer than 200 characters");
  n.address = !address.empty() ? address : address_id;
  if (lat.empty() && lon.empty() && address.empty() && address_id.empty()) {
    bad("a location is required: lat and long, address_string or address_id");
  }

  // What was seen.
  n.description = get("description");
  if (Utf8Length(n.description).value_or(0) > Case::kMaxDescription) {
    bad("description is longer than 4,000 characters");
  }
  JsonValue attributes = JsonValue::MakeObject();
  const std::string media = get("media_url");
  if (!media.empty()) {
    if (ValidUrl(media)) {
      attributes.Set(kOpen311MediaUrlKey, media);
    } else {
      bad("media_url " + Quoted(media) + " is not an http or https URL");
    }
  }
  if (!address_id.empty()) attributes.Set(kOpen311AddressIdKey, address_id);

  // The reporter.
  Reporter& who = n.reporter;
  const std::string email = get("email"), device = get("device_id"), account = get("account_id");
  const std::string first = get("first_name"), last = get("last_name"), phone = get("phone");
  if (!email.empty() && !ValidEmail(email)) bad("email " + Quoted(email) + " is not an e-mail address");
  if (!phone.empty() && !ValidPhone(phone)) bad("phone " + Quoted(phone) + " is not a phone number");
  for (const auto& [k, v] : {std::pair{"device_id", &device}, {"account_id", &account},
                             {"first_name", &first}, {"last_name", &last}}) {
    if (Utf8Length(*v).value_or(0) > 200) bad(std::string(k) + " is longer than 200 characters");
  }
  who.email = email;
  who.phone = phone;
  who.name = first + (!first.empty() && !last.empty() ? " " : "") + last;
  who.id = !account.empty() ? account : !email.empty() ? email : device;
  out.account_id = account;

  if (cat != nullptr) {
    CheckAttributes(ServiceAttributesOf(catalog, *cat), code, answers, &attributes, &out.errors);
  }
  if (!attributes.as_object().empty()) n.attributes = std::move(attributes);
  return out;
}

// ---- GET /requests

Result<Open311Query> ParseRequestQuery(const std::vector<std::pair<std::string, std::string>>& query,
                                       TimeMs now) {
  Open311Query q;
  std::optional<TimeMs> start, end;
  std::vector<std::string> statuses;
  for (const auto& [key, value] : query) {
    if (key == "service_request_id") {
      for (const std::string& s : SplitCommas(value)) {
        uint64_t id = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
        if (ec != std::errc() || p != s.data() + s.size() || id == 0) {
          return Status::BadRequestData("service_request_id " + Quoted(s) + " is not a request id");
        }
        q.ids.push_back(id);
      }
    } else if (key == "service_code") {
      for (std::string& s : SplitCommas(value)) q.codes.push_back(std::move(s));
    } else if (key == "status") {
      for (std::string& s : SplitCommas(value)) statuses.push_back(std::move(s));
    } else if (key == "start_date" || key == "end_date") {
      Result<TimeMs> t = ParseIso8601(value);
      if (!t.ok()) return Status::BadRequestData(key + " " + Quoted(value) + " is not an ISO 8601 date and time");
      (key == "start_date" ? start : end) = *t;
    }
  }
  if (!statuses.empty()) {
    q.open = q.closed = false;
    for (const std::string& s : statuses) {
      if (s == "open") {
        q.open = true;
      } else if (s == "closed") {
        q.closed = true;
      } else {
        return Status::BadRequestData("status " + Quoted(s) + " is neither open nor closed");
      }
    }
  }
  if (start && end) {
    if (*end < *start) return Status::BadRequestData("end_date is before start_date");
    if (*end - *start > kOpen311DefaultSpanMs) {
      return Status::BadRequestData("start_date and end_date may not span more than 90 days");
    }
    q.from = *start;
    q.to = *end;
  } else if (start) {
    q.from = *start;
    q.to = *start + kOpen311DefaultSpanMs;
  } else if (end) {
    q.from = *end - kOpen311DefaultSpanMs;
    q.to = *end;
  } else {
    q.from = now - kOpen311DefaultSpanMs;
    q.to = now;
  }
  q.limit = kOpen311MaxRequests;
  return q;
}

bool MatchesQuery(const Open311Query& q, const Open311Request& r) {
  if (!q.codes.empty() && std::find(q.codes.begin(), q.codes.end(), r.service_code) == q.codes.end()) {
    return false;
  }
  return r.status == "open" ? q.open : q.closed;
}

// ---- Discovery

std::string RenderDiscovery(const Open311Discovery& d, Open311Format f) {
  JsonValue formats = JsonValue::MakeArray();
  formats.Push("text/xml");
  formats.Push("application/json");
  JsonValue endpoint = JsonValue::MakeObject();
  endpoint.Set("specification", "http://wiki.open311.org/GeoReport_v2");
  endpoint.Set("url", d.url);
  endpoint.Set("changeset", FormatIso8601(d.changeset));
  endpoint.Set("type", "production");
  endpoint.Set("formats", std::move(formats));
  JsonValue endpoints = JsonValue::MakeArray();
  endpoints.Push(std::move(endpoint));
  JsonValue o = JsonValue::MakeObject();
  o.Set("changeset", FormatIso8601(d.changeset));
  o.Set("contact", d.contact);
  o.Set("key_service", d.key_service);
  o.Set("endpoints", std::move(endpoints));
  return Render("discovery", o, f);
}

// ---- XML

void AppendXmlEscaped(std::string* out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = Utf8SequenceAt(s, i, &cp);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
      continue;
    }
    switch (cp) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default:
        // XML 1.0 carries tab, LF, CR and everything from U+0020 except U+FFFE and U+FFFF.
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF) break;
        out->append(s.substr(i, n));
    }
    i += n;
  }
}

std::string JsonToOpen311Xml(std::string_view root, const JsonValue& v) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  AppendXmlValue(&out, root, v);
  out.push_back('\n');
  return out;
}

}  // namespace cb::cases
