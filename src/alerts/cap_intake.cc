#include "alerts/cap_intake.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <memory>
#include <mutex>

namespace cb::alerts {

namespace internal {
// The OASIS CAP 1.2 schema (src/alerts/cap12.xsd), built in by src/CMakeLists.txt.
extern const char kCap12Xsd[];
extern const size_t kCap12XsdSize;
}  // namespace internal

namespace {

constexpr std::string_view kAtomNamespace = "http://www.w3.org/2005/Atom";

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

std::string_view View(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

// libxml2's messages end in a newline; the schema's name elements as {namespace}name.
std::string Tidy(std::string_view message) {
  std::string out(message);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const std::string ns = "{" + std::string(kCapNamespace) + "}";
  for (size_t p; (p = out.find(ns)) != std::string::npos;) out.erase(p, ns.size());
  return out;
}

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Parses `xml` without network, DTD loading or entity substitution; a document with a DOCTYPE
// is refused (CAP has none, and it is how entity expansion attacks come in).
Result<Doc> ReadXml(std::string_view xml) {
  InitLibxml();
  if (Trim(xml).empty()) return Status::InvalidRequest("the document is empty");
  if (xml.size() > INT_MAX) return Status::TooLarge("the document is too large");
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(),
                                                                     &xmlFreeParserCtxt);
  if (ctxt == nullptr) return Status::Internal("libxml2: no parser context");
  Doc doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), "warning.xml",
                            nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (doc == nullptr || !ctxt->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string why = e != nullptr && e->message != nullptr ? Tidy(e->message) : "unreadable";
    if (e != nullptr && e->line > 0) why = "line " + std::to_string(e->line) + ": " + why;
    return Status::InvalidRequest("not well-formed XML: " + why);
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return Status::BadRequestData("a DOCTYPE is not allowed in a CAP document");
  }
  return doc;
}

bool InNamespace(const xmlNode* n, std::string_view ns) {
  return n->ns != nullptr && View(n->ns->href) == ns;
}

bool IsElement(const xmlNode* n, std::string_view ns, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && InNamespace(n, ns) && View(n->name) == name;
}

std::string Content(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  std::string out(View(c));
  xmlFree(c);
  return out;
}

std::string Attribute(const xmlNode* n, const char* name) {
  xmlChar* a = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  std::string out(View(a));
  xmlFree(a);
  return out;
}

// The CAP elements directly under one element, read by name; each error names where it is
// ("info 1, area 2").
class Fields {
 public:
  Fields(const xmlNode* parent, std::string where) : where_(std::move(where)) {
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && InNamespace(c, kCapNamespace)) items_.push_back(c);
    }
  }
  std::vector<const xmlNode*> All(std::string_view name) const {
    std::vector<const xmlNode*> out;
    for (const xmlNode* c : items_) {
      if (View(c->name) == name) out.push_back(c);
    }
    return out;
  }
  const xmlNode* First(std::string_view name) const {
    for (const xmlNode* c : items_) {
      if (View(c->name) == name) return c;
    }
    return nullptr;
  }
  // The text of an optional element, trimmed ("" when absent).
  std::string Text(std::string_view name) const {
    const xmlNode* n = First(name);
    return n != nullptr ? std::string(Trim(Content(n))) : std::string();
  }
  // The text of a required element, as written: error when absent or empty.
  Result<std::string> Required(std::string_view name) const {
    const xmlNode* n = First(name);
    if (n == nullptr) return Bad("has no <" + std::string(name) + ">");
    std::string text = Content(n);
    if (Trim(text).empty()) return Bad("<" + std::string(name) + "> is empty");
    return text;
  }
  // A required element whose value must be one of `allowed`.
  Result<std::string> OneOf(std::string_view name, std::initializer_list<std::string_view> allowed) const {
    auto v = Required(name);
    if (!v.ok()) return v;
    return CheckOneOf(name, *v, allowed);
  }
  Result<std::string> CheckOneOf(std::string_view name, const std::string& v,
                                 std::initializer_list<std::string_view> allowed) const {
    std::string list;
    for (std::string_view a : allowed) {
      if (v == a) return v;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    return Bad("<" + std::string(name) + "> \"" + v + "\" is not one of " + list);
  }
  // An optional CAP date (kNoTime when absent).
  Result<TimeMs> Date(std::string_view name) const;
  // valueName/value pairs of the elements called `name`.
  Result<std::vector<CapValue>> Values(std::string_view name) const {
    std::vector<CapValue> out;
    for (const xmlNode* n : All(name)) {
      Fields f(n, where_ + ", <" + std::string(name) + ">");
      auto vn = f.Required("valueName");
      if (!vn.ok()) return vn.status();
      const xmlNode* value = f.First("value");
      if (value == nullptr) return f.Bad("has no <value>");
      out.push_back({std::string(Trim(*vn)), std::string(Trim(Content(value)))});
    }
    return out;
  }
  Status Bad(const std::string& what) const { return Status::BadRequestData(where_ + " " + what); }
  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::vector<const xmlNode*> items_;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// CAP's dateTime: YYYY-MM-DDThh:mm:ss±hh:mm, nothing else (no fraction, no Z).
Result<TimeMs> ParseCapDate(std::string_view text) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd+dd:dd";
  bool shaped = text.size() == kShape.size();
  for (size_t i = 0; shaped && i < text.size(); ++i) {
    const char want = kShape[i];
    shaped = want == 'd' ? IsDigit(text[i]) : want == '+' ? (text[i] == '+' || text[i] == '-') : text[i] == want;
  }
  auto t = shaped ? ParseIso8601(text) : Result<TimeMs>(Status::BadRequestData(""));
  if (!t.ok()) {
    return Status::BadRequestData("\"" + std::string(text) +
                                  "\" is not a CAP date (YYYY-MM-DDThh:mm:ss±hh:mm, e.g. "
                                  "2026-07-01T08:30:00+08:00)");
  }
  return t;
}

Result<TimeMs> Fields::Date(std::string_view name) const {
  const xmlNode* n = First(name);
  if (n == nullptr) return kNoTime;
  auto t = ParseCapDate(Trim(Content(n)));
  if (!t.ok()) return Bad("<" + std::string(name) + "> " + t.status().message());
  return t;
}

std::vector<std::string_view> SplitSpace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseNumber(std::string_view s, double* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

// "lat,lon" → LonLat, in range.
Result<geo::LonLat> ParsePoint(std::string_view pair) {
  const size_t comma = pair.find(',');
  geo::LonLat p;
  if (comma == std::string_view::npos || !ParseNumber(pair.substr(0, comma), &p.lat) ||
      !ParseNumber(pair.substr(comma + 1), &p.lon)) {
    return Status::BadRequestData("\"" + std::string(pair) + "\" is not a \"lat,lon\" pair");
  }
  if (p.lat < -90 || p.lat > 90 || p.lon < -180 || p.lon > 180) {
    return Status::BadRequestData("\"" + std::string(pair) +
                                  "\" is out of range (latitude −90..90, longitude −180..180)");
  }
  return p;
}

Result<geo::Geometry> ParsePolygon(std::string_view text) {
  geo::Ring ring;
  for (std::string_view pair : SplitSpace(text)) {
    auto p = ParsePoint(pair);
    if (!p.ok()) return p.status();
    ring.push_back(*p);
  }
  if (ring.size() < 4) {
    return Status::BadRequestData("needs at least 4 points, has " + std::to_string(ring.size()));
  }
  if (ring.front() != ring.back()) {
    return Status::BadRequestData("is not closed (its last point must repeat the first)");
  }
  return geo::Geometry::Make(geo::GeometryType::kPolygon, {{std::move(ring)}});
}

Result<CapCircle> ParseCircle(std::string_view text) {
  const std::vector<std::string_view> parts = SplitSpace(text);
  if (parts.size() != 2) {
    return Status::BadRequestData("\"" + std::string(text) + "\" is not \"lat,lon radius_km\"");
  }
  auto center = ParsePoint(parts[0]);
  if (!center.ok()) return center.status();
  CapCircle c{*center, 0};
  if (!ParseNumber(parts[1], &c.radius_km) || c.radius_km < 0) {
    return Status::BadRequestData("radius \"" + std::string(parts[1]) +
                                  "\" is not a non-negative number of kilometres");
  }
  return c;
}

// Identifiers and senders: no spaces, commas, '<' or '&' (CAP 1.2, 3.2.1).
Status CheckToken(const Fields& f, std::string_view name, const std::string& v) {
  if (v.find_first_of(" \t\r\n,<&") != std::string::npos) {
    return f.Bad("<" + std::string(name) + "> \"" + v +
                 "\" may not contain spaces, commas, '<' or '&'");
  }
  return Status::Ok();
}

Result<CapArea> ReadArea(const xmlNode* node, const std::string& where) {
  Fields f(node, where);
  CapArea a;
  auto desc = f.Required("areaDesc");
  if (!desc.ok()) return desc.status();
  a.area_desc = std::string(Trim(*desc));
  int i = 0;
  for (const xmlNode* n : f.All("polygon")) {
    auto g = ParsePolygon(Content(n));
    ++i;
    if (!g.ok()) return f.Bad("<polygon> " + std::to_string(i) + " " + g.status().message());
    a.polygons.push_back(std::move(g).value());
  }
  i = 0;
  for (const xmlNode* n : f.All("circle")) {
    auto c = ParseCircle(Trim(Content(n)));
    ++i;
    if (!c.ok()) return f.Bad("<circle> " + std::to_string(i) + ": " + c.status().message());
    a.circles.push_back(*c);
  }
  auto geocodes = f.Values("geocode");
  if (!geocodes.ok()) return geocodes.status();
  a.geocodes = std::move(geocodes).value();
  return a;
}

Result<CapInfo> ReadInfo(const xmlNode* node, const std::string& where) {
  Fields f(node, where);
  CapInfo info;
  if (const xmlNode* lang = f.First("language"); lang != nullptr && !Trim(Content(lang)).empty()) {
    info.language = std::string(Trim(Content(lang)));
  }
  const std::vector<const xmlNode*> categories = f.All("category");
  if (categories.empty()) return f.Bad("has no <category>");
  for (const xmlNode* c : categories) {
    auto v = f.CheckOneOf("category", Content(c),
                          {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                           "Transport", "Infra", "CBRNE", "Other"});
    if (!v.ok()) return v.status();
    info.categories.push_back(*v);
  }
  auto event = f.Required("event");
  if (!event.ok()) return event.status();
  info.event = std::string(Trim(*event));
  auto urgency = f.OneOf("urgency", {"Immediate", "Expected", "Future", "Past", "Unknown"});
  auto severity = f.OneOf("severity", {"Extreme", "Severe", "Moderate", "Minor", "Unknown"});
  auto certainty = f.OneOf("certainty", {"Observed", "Likely", "Possible", "Unlikely", "Unknown"});
  for (const auto* r : {&urgency, &severity, &certainty}) {
    if (!r->ok()) return r->status();
  }
  info.urgency = *urgency;
  info.severity = *severity;
  info.certainty = *certainty;
  auto codes = f.Values("eventCode");
  auto parameters = f.Values("parameter");
  auto effective = f.Date("effective");
  auto onset = f.Date("onset");
  auto expires = f.Date("expires");
  if (!codes.ok()) return codes.status();
  if (!parameters.ok()) return parameters.status();
  for (const auto* r : {&effective, &onset, &expires}) {
    if (!r->ok()) return r->status();
  }
  info.event_codes = std::move(codes).value();
  info.parameters = std::move(parameters).value();
  info.effective = *effective;
  info.onset = *onset;
  info.expires = *expires;
  if (info.expires != kNoTime) {
    if (info.onset != kNoTime && info.expires < info.onset) return f.Bad("<expires> is before its <onset>");
    if (info.effective != kNoTime && info.expires < info.effective) {
      return f.Bad("<expires> is before its <effective>");
    }
  }
  info.sender_name = f.Text("senderName");
  info.headline = f.Text("headline");
  info.description = f.Text("description");
  info.instruction = f.Text("instruction");
  info.web = f.Text("web");
  int i = 0;
  for (const xmlNode* n : f.All("area")) {
    auto area = ReadArea(n, where + ", area " + std::to_string(++i));
    if (!area.ok()) return area.status();
    info.areas.push_back(std::move(area).value());
  }
  return info;
}

Result<std::vector<CapReference>> ReadReferences(const Fields& f) {
  std::vector<CapReference> out;
  const xmlNode* n = f.First("references");
  if (n == nullptr) return out;
  const std::string text = Content(n);
  for (std::string_view triple : SplitSpace(text)) {
    const size_t a = triple.find(',');
    const size_t b = a == std::string_view::npos ? a : triple.find(',', a + 1);
    if (b == std::string_view::npos || triple.find(',', b + 1) != std::string_view::npos) {
      return f.Bad("<references> \"" + std::string(triple) + "\" is not \"sender,identifier,sent\"");
    }
    auto sent = ParseCapDate(triple.substr(b + 1));
    if (!sent.ok()) return f.Bad("<references> \"" + std::string(triple) + "\": " + sent.status().message());
    out.push_back({std::string(triple.substr(0, a)), std::string(triple.substr(a + 1, b - a - 1)), *sent});
    if (out.back().sender.empty() || out.back().identifier.empty()) {
      return f.Bad("<references> \"" + std::string(triple) + "\" has an empty sender or identifier");
    }
  }
  return out;
}

// The schema, parsed once from the built-in XSD; shared read-only by every validation.
xmlSchema* CapSchema() {
  static xmlSchema* schema = [] {
    InitLibxml();
    xmlSchemaParserCtxt* pc =
        xmlSchemaNewMemParserCtxt(internal::kCap12Xsd, static_cast<int>(internal::kCap12XsdSize));
    xmlSchema* s = pc != nullptr ? xmlSchemaParse(pc) : nullptr;
    if (pc != nullptr) xmlSchemaFreeParserCtxt(pc);
    return s;
  }();
  return schema;
}

void FirstSchemaError(void* ctx, xmlError* e) {
  auto* out = static_cast<std::string*>(ctx);
  if (!out->empty() || e == nullptr || e->message == nullptr) return;
  *out = (e->line > 0 ? "line " + std::to_string(e->line) + ": " : std::string()) + Tidy(e->message);
}

Status ValidateAgainstSchema(xmlDoc* doc) {
  xmlSchema* schema = CapSchema();
  if (schema == nullptr) return Status::Internal("the built-in CAP 1.2 schema does not load");
  std::unique_ptr<xmlSchemaValidCtxt, decltype(&xmlSchemaFreeValidCtxt)> v(
      xmlSchemaNewValidCtxt(schema), &xmlSchemaFreeValidCtxt);
  if (v == nullptr) return Status::Internal("libxml2: no schema validation context");
  std::string first;
  xmlSchemaSetValidStructuredErrors(v.get(), &FirstSchemaError, &first);
  if (xmlSchemaValidateDoc(v.get(), doc) != 0) {
    return Status::BadRequestData("not valid against the CAP 1.2 schema: " +
                                  (first.empty() ? std::string("invalid") : first));
  }
  return Status::Ok();
}

// Reads the CAP <alert> that is the root of `doc`, then validates `doc` against the schema.
Result<CapAlert> ReadAlert(xmlDoc* doc) {
  const xmlNode* root = xmlDocGetRootElement(doc);
  Fields f(root, "<alert>");
  CapAlert a;
  auto identifier = f.Required("identifier");
  if (!identifier.ok()) return identifier.status();
  auto sender = f.Required("sender");
  if (!sender.ok()) return sender.status();
  auto sent = f.Required("sent");
  if (!sent.ok()) return sent.status();
  a.identifier = *identifier;
  a.sender = *sender;
  CB_RETURN_IF_ERROR(CheckToken(f, "identifier", a.identifier));
  CB_RETURN_IF_ERROR(CheckToken(f, "sender", a.sender));
  a.sent_text = std::string(Trim(*sent));
  auto sent_ms = ParseCapDate(a.sent_text);
  if (!sent_ms.ok()) return f.Bad("<sent> " + sent_ms.status().message());
  a.sent = *sent_ms;
  auto status = f.OneOf("status", {"Actual", "Exercise", "System", "Test", "Draft"});
  if (!status.ok()) return status.status();
  auto msg_type = f.OneOf("msgType", {"Alert", "Update", "Cancel", "Ack", "Error"});
  if (!msg_type.ok()) return msg_type.status();
  auto scope = f.OneOf("scope", {"Public", "Restricted", "Private"});
  if (!scope.ok()) return scope.status();
  a.status = *status;
  a.msg_type = *msg_type;
  a.scope = *scope;
  a.source = f.Text("source");
  a.note = f.Text("note");
  auto refs = ReadReferences(f);
  if (!refs.ok()) return refs.status();
  a.references = std::move(refs).value();
  if (a.references.empty() && a.msg_type != "Alert") {
    return f.Bad("has msgType " + a.msg_type + " but no <references> to the messages it is about");
  }
  int i = 0;
  for (const xmlNode* n : f.All("info")) {
    auto info = ReadInfo(n, "info " + std::to_string(++i));
    if (!info.ok()) return info.status();
    a.infos.push_back(std::move(info).value());
  }
  CB_RETURN_IF_ERROR(ValidateAgainstSchema(doc));
  return a;
}

std::string NameOf(const xmlNode* n) {
  std::string out = "<" + std::string(View(n->name)) + ">";
  if (n->ns != nullptr) out += " in namespace " + std::string(View(n->ns->href));
  return out;
}

// Refuses a root element that is not a CAP 1.2 <alert>, saying what it is.
Status CheckCapRoot(const xmlNode* root) {
  if (IsElement(root, kCapNamespace, "alert")) return Status::Ok();
  if (View(root->name) == "alert") {
    return Status::BadRequestData("the root " + NameOf(root) +
                                  " is not CAP 1.2; only urn:oasis:names:tc:emergency:cap:1.2 "
                                  "is taken in");
  }
  return Status::BadRequestData("the document is " + NameOf(root) + ", not a CAP 1.2 <alert>");
}

// A CAP <alert> inside an Atom entry, copied into a document of its own (namespaces
// reconciled) so it is read and validated as if it had come alone.
Result<CapAlert> ReadEmbedded(const xmlNode* alert) {
  Doc doc(xmlNewDoc(reinterpret_cast<const xmlChar*>("1.0")));
  xmlNode* copy = doc != nullptr ? xmlDocCopyNode(const_cast<xmlNode*>(alert), doc.get(), 1) : nullptr;
  if (copy == nullptr) return Status::Internal("libxml2: cannot copy the entry's alert");
  xmlDocSetRootElement(doc.get(), copy);
  xmlReconciliateNs(doc.get(), copy);
  return ReadAlert(doc.get());
}

// The CAP 1.2 <alert> of an entry: a child of the entry or of its <content>.
const xmlNode* EmbeddedAlert(const xmlNode* entry) {
  for (const xmlNode* c = entry->children; c != nullptr; c = c->next) {
    if (IsElement(c, kCapNamespace, "alert")) return c;
    if (IsElement(c, kAtomNamespace, "content")) {
      for (const xmlNode* d = c->children; d != nullptr; d = d->next) {
        if (IsElement(d, kCapNamespace, "alert")) return d;
      }
    }
  }
  return nullptr;
}

CapFeedEntry ReadEntry(const xmlNode* entry) {
  CapFeedEntry e;
  std::vector<std::pair<int, std::string>> ranked;  // (rank, href)
  for (const xmlNode* c = entry->children; c != nullptr; c = c->next) {
    if (IsElement(c, kAtomNamespace, "id")) e.id = std::string(Trim(Content(c)));
    if (IsElement(c, kAtomNamespace, "updated")) e.updated = std::string(Trim(Content(c)));
    if (IsElement(c, kAtomNamespace, "title")) e.title = std::string(Trim(Content(c)));
    if (IsElement(c, kAtomNamespace, "link")) {
      std::string href(Trim(Attribute(c, "href")));
      if (href.empty()) continue;
      const std::string rel = Attribute(c, "rel"), type = Attribute(c, "type");
      const int rank = type == "application/cap+xml" ? 0 : (rel.empty() || rel == "alternate") ? 1 : 2;
      ranked.emplace_back(rank, std::move(href));
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [rank, href] : ranked) e.links.push_back(std::move(href));
  if (const xmlNode* alert = EmbeddedAlert(entry)) e.embedded = ReadEmbedded(alert);
  return e;
}

}  // namespace

Result<CapAlert> ParseCap(std::string_view xml) {
  auto doc = ReadXml(xml);
  if (!doc.ok()) return doc.status();
  CB_RETURN_IF_ERROR(CheckCapRoot(xmlDocGetRootElement(doc->get())));
  return ReadAlert(doc->get());
}

Result<CapDocument> ParseCapDocument(std::string_view xml) {
  auto doc = ReadXml(xml);
  if (!doc.ok()) return doc.status();
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  CapDocument out;
  if (IsElement(root, kAtomNamespace, "feed")) {
    for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
      if (IsElement(c, kAtomNamespace, "entry")) out.entries.push_back(ReadEntry(c));
    }
    return out;
  }
  if (!IsElement(root, kCapNamespace, "alert") && View(root->name) != "alert") {
    return Status::BadRequestData("the document is " + NameOf(root) +
                                  ", neither a CAP 1.2 <alert> nor an Atom <feed>");
  }
  CB_RETURN_IF_ERROR(CheckCapRoot(root));
  auto alert = ReadAlert(doc->get());
  if (!alert.ok()) return alert.status();
  out.alert = std::move(alert).value();
  return out;
}

int CapSeverityLevel(std::string_view severity) {
  if (severity == "Extreme") return 1;
  if (severity == "Severe") return 2;
  if (severity == "Moderate") return 3;
  return 4;
}

}  // namespace cb::alerts
