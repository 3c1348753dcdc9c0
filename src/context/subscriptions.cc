#include "context/subscriptions.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <future>
#include <random>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "context/ngsi_json.h"
#include "geo/geometry.h"

namespace cb::context {
namespace {

constexpr size_t kMaxIdPattern = 256;
constexpr size_t kMaxListItems = 1000;

const std::pair<std::string_view, uint32_t> kTriggerNames[] = {
    {"entityCreated", kTriggerEntityCreated},       {"entityUpdated", kTriggerEntityUpdated},
    {"entityDeleted", kTriggerEntityDeleted},       {"attributeCreated", kTriggerAttributeCreated},
    {"attributeUpdated", kTriggerAttributeUpdated}, {"attributeDeleted", kTriggerAttributeDeleted},
};

Status Bad(std::string m) { return Status::BadRequestData(std::move(m)); }

Result<std::vector<std::string>> NameList(const JsonValue& v, std::string_view what) {
  if (!v.is_array() || v.as_array().empty()) {
    return Bad(std::string(what) + " must be a non-empty array of attribute names");
  }
  if (v.as_array().size() > kMaxListItems) return Bad(std::string(what) + " is too long");
  std::vector<std::string> out;
  for (const auto& n : v.as_array()) {
    if (!n.is_string() || !IsValidName(n.as_string())) {
      return Bad(std::string(what) + " holds an invalid attribute name");
    }
    if (std::find(out.begin(), out.end(), n.as_string()) == out.end()) {
      out.push_back(n.as_string());
    }
  }
  return out;
}

Result<std::shared_ptr<const std::regex>> CompilePattern(const std::string& p) {
  if (p.size() > kMaxIdPattern) {
    return Bad("idPattern longer than " + std::to_string(kMaxIdPattern) + " bytes");
  }
  try {
    return std::make_shared<const std::regex>(p, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Bad("idPattern is not a valid regular expression: " + std::string(e.what()));
  }
}

Result<EntitySelector> ParseSelector(const JsonValue& v) {
  if (!v.is_object()) return Bad("each member of entities must be an object");
  EntitySelector s;
  const JsonValue* type = v.Find("type");
  if (type == nullptr || !type->is_string() || !IsValidName(type->as_string())) {
    return Bad("each member of entities needs a valid type");
  }
  s.type = type->as_string();
  if (const JsonValue* id = v.Find("id")) {
    if (!id->is_string() || !IsValidEntityId(id->as_string())) {
      return Bad("entities[].id must be a URI");
    }
    s.id = id->as_string();
  }
  if (const JsonValue* p = v.Find("idPattern")) {
    if (!p->is_string() || p->as_string().empty()) {
      return Bad("entities[].idPattern must be a non-empty string");
    }
    auto re = CompilePattern(p->as_string());
    if (!re.ok()) return re.status();
    s.id_pattern = p->as_string();
  }
  return s;
}

Result<GeoQuery> ParseGeoQ(const JsonValue& v) {
  if (!v.is_object()) return Bad("geoQ must be an object");
  const JsonValue* geometry = v.Find("geometry");
  const JsonValue* coords = v.Find("coordinates");
  const JsonValue* georel = v.Find("georel");
  if (geometry == nullptr || !geometry->is_string() || coords == nullptr || georel == nullptr ||
      !georel->is_string()) {
    return Bad("geoQ needs geometry, coordinates and georel");
  }
  GeoQuery g;
  Result<geo::Geometry> geom = Status::Internal("unset");
  if (coords->is_string()) {
    geom = geo::GeometryFromQuery(geometry->as_string(), coords->as_string());
  } else {
    JsonValue gj = JsonValue::MakeObject();
    gj.Set("type", geometry->as_string());
    gj.Set("coordinates", *coords);
    geom = geo::GeometryFromGeoJson(gj);
  }
  if (!geom.ok()) return Bad("geoQ: " + geom.status().message());
  g.geometry = std::move(geom).value();
  if (const JsonValue* gp = v.Find("geoproperty")) {
    if (!gp->is_string() || !IsValidName(gp->as_string())) {
      return Bad("geoQ.geoproperty must be an attribute name");
    }
    g.property = gp->as_string();
  }
  Status st = ParseGeoRel(georel->as_string(), &g);
  if (!st.ok()) return Bad("geoQ: " + st.message());
  return g;
}

bool ValidHeaderName(std::string_view k) {
  if (k.empty() || k.size() > 256) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool ValidHeaderValue(std::string_view v) {
  return v.size() <= 4096 && std::none_of(v.begin(), v.end(), [](char c) {
           return c == '\r' || c == '\n' || c == '\0';
         });
}

Status ParseNotification(const JsonValue& v, Subscription* s) {
  if (!v.is_object()) return Bad("notification must be an object");
  const JsonValue* endpoint = v.Find("endpoint");
  if (endpoint == nullptr || !endpoint->is_object()) {
    return Bad("notification.endpoint is required");
  }
  const JsonValue* uri = endpoint->Find("uri");
  if (uri == nullptr || !uri->is_string()) return Bad("notification.endpoint.uri is required");
  auto url = ParseHttpUrl(uri->as_string());
  if (!url.ok()) return url.status();
  if (url->scheme == "https") {
    return Status::Unsupported("https notification endpoints are not supported yet; use http");
  }
  s->endpoint_uri = uri->as_string();
  if (const JsonValue* accept = endpoint->Find("accept")) {
    if (!accept->is_string() || (accept->as_string() != "application/json" &&
                                 accept->as_string() != "application/ld+json")) {
      return Bad(
          "notification.endpoint.accept must be application/json or "
          "application/ld+json");
    }
    s->endpoint_accept = accept->as_string();
  }
  if (const JsonValue* info = endpoint->Find("receiverInfo")) {
    if (!info->is_array()) return Bad("notification.endpoint.receiverInfo must be an array");
    for (const auto& kv : info->as_array()) {
      const JsonValue* k = kv.Find("key");
      const JsonValue* val = kv.Find("value");
      if (k == nullptr || val == nullptr || !k->is_string() || !val->is_string() ||
          !ValidHeaderName(k->as_string()) || !ValidHeaderValue(val->as_string())) {
        return Bad("receiverInfo members must be {\"key\": header name, \"value\": text}");
      }
      s->receiver_info.emplace_back(k->as_string(), val->as_string());
    }
  }
  if (const JsonValue* attrs = v.Find("attributes")) {
    auto names = NameList(*attrs, "notification.attributes");
    if (!names.ok()) return names.status();
    s->notify_attributes = std::move(names).value();
  }
  if (const JsonValue* f = v.Find("format")) {
    if (!f->is_string()) return Bad("notification.format must be a string");
    const std::string& fs = f->as_string();
    if (fs == "normalized") {
      s->format = NotificationFormat::kNormalized;
    } else if (fs == "keyValues" || fs == "simplified") {
      s->format = NotificationFormat::kKeyValues;
    } else if (fs == "concise") {
      return Status::Unsupported(
          "notification.format concise is not supported; use "
          "normalized or keyValues");
    } else {
      return Bad("notification.format must be normalized or keyValues");
    }
  }
  if (const JsonValue* sa = v.Find("sysAttrs")) {
    if (!sa->is_bool()) return Bad("notification.sysAttrs must be true or false");
    s->sys_attrs = sa->as_bool();
  }
  return Status::Ok();
}

void WriteTime(JsonWriter* w, std::string_view key, TimeMs t) {
  if (t != kNoTime) w->Key(key).String(FormatIso8601(t));
}

TimeMs TimeOf(const JsonValue* v) {
  if (v == nullptr || !v->is_string()) return kNoTime;
  auto t = ParseIso8601(v->as_string());
  return t.ok() ? *t : kNoTime;
}

uint64_t CountOf(const JsonValue* v) {
  return v != nullptr && v->is_int() && v->as_int() > 0 ? static_cast<uint64_t>(v->as_int()) : 0;
}

// Per-thread generator for ids (not secrets).
std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return rng;
}

}  // namespace

// ------------------------------------------------------------------ free functions

std::string_view SubscriptionStatus(const Subscription& s, TimeMs now) {
  if (s.expires_at != kNoTime && now >= s.expires_at) return "expired";
  if (!s.is_active) return "paused";
  return "active";
}

Result<HttpUrl> ParseHttpUrl(std::string_view uri, std::string_view what) {
  const std::string w(what);
  HttpUrl u;
  size_t colon = uri.find("://");
  if (colon == std::string_view::npos) {
    return Bad(w + " must be an http URL");
  }
  for (char c : uri.substr(0, colon)) {
    u.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (u.scheme == "mqtt" || u.scheme == "mqtts") {
    return Status::Unsupported("MQTT notification endpoints are not supported; use http");
  }
  if (u.scheme != "http" && u.scheme != "https") {
    return Bad(w + " must be an http URL");
  }
  if (std::any_of(uri.begin(), uri.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return Bad(w + " must not contain spaces or control characters");
  }
  u.port = u.scheme == "https" ? 443 : 80;
  std::string_view rest = uri.substr(colon + 3);
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return Bad(w + " must not carry credentials");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(w + ": bad IPv6 host");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(w + ": bad host");
      port = after.substr(1);
    }
  } else {
    size_t c = authority.rfind(':');
    u.host = std::string(authority.substr(0, c));
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (u.host.empty()) return Bad(w + " has no host");
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return Bad(w + " has a bad port");
    }
    u.port = static_cast<uint16_t>(p);
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  u.target = target.empty() ? "/" : std::string(target);
  if (u.target.front() == '?') u.target.insert(u.target.begin(), '/');
  return u;
}



std::string NewRandomUrn(std::string_view kind) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "urn:ngsi-ld:";
  out += kind;
  out += ':';
  for (int i = 0; i < 2; ++i) {
    uint64_t v = Rng()();
    for (int b = 0; b < 16; ++b) out.push_back(kHex[(v >> (60 - 4 * b)) & 0xf]);
  }
  return out;
}

Result<Subscription> ParseSubscription(const JsonValue& body,
                                       const ParseSubscriptionOptions& options) {
  if (!body.is_object()) return Bad("a subscription must be a JSON object");
  Subscription s;
  if (const JsonValue* id = body.Find("id")) {
    if (!id->is_string() || !IsValidEntityId(id->as_string())) {
      return Bad("subscription id must be a URI");
    }
    s.id = id->as_string();
  }
  if (const JsonValue* type = body.Find("type")) {
    if (!type->is_string() || type->as_string() != "Subscription") {
      return Bad("type must be \"Subscription\"");
    }
  }
  auto text = [&](std::string_view key, std::string* out) -> Status {
    const JsonValue* v = body.Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return Bad(std::string(key) + " must be a string");
    *out = v->as_string();
    return Status::Ok();
  };
  CB_RETURN_IF_ERROR(text("subscriptionName", &s.name));
  CB_RETURN_IF_ERROR(text("description", &s.description));
  if (const JsonValue* es = body.Find("entities")) {
    if (!es->is_array() || es->as_array().empty()) {
      return Bad("entities must be a non-empty array");
    }
    if (es->as_array().size() > kMaxListItems) return Bad("entities is too long");
    for (const auto& e : es->as_array()) {
      auto sel = ParseSelector(e);
      if (!sel.ok()) return sel.status();
      s.entities.push_back(std::move(sel).value());
    }
  }
  if (const JsonValue* wa = body.Find("watchedAttributes")) {
    auto names = NameList(*wa, "watchedAttributes");
    if (!names.ok()) return names.status();
    s.watched_attributes = std::move(names).value();
  }
  if (s.entities.empty() && s.watched_attributes.empty()) {
    return Bad("a subscription needs entities or watchedAttributes");
  }
  if (const JsonValue* nt = body.Find("notificationTrigger")) {
    if (!nt->is_array() || nt->as_array().empty()) {
      return Bad("notificationTrigger must be a non-empty array");
    }
    s.triggers = 0;
    for (const auto& t : nt->as_array()) {
      auto it = std::find_if(std::begin(kTriggerNames), std::end(kTriggerNames),
                             [&](auto& p) { return t.is_string() && p.first == t.as_string(); });
      if (it == std::end(kTriggerNames)) {
        return Bad("unknown notificationTrigger " + (t.is_string() ? t.as_string() : t.Dump()));
      }
      s.triggers |= it->second;
    }
  }
  if (const JsonValue* q = body.Find("q")) {
    if (!q->is_string() || q->as_string().empty()) {
      return Status::InvalidRequest("q must be a non-empty string");
    }
    auto parsed = ParseQ(q->as_string());
    if (!parsed.ok()) return parsed.status();
    s.q_text = q->as_string();
    s.q = std::move(parsed).value();
  }
  if (const JsonValue* g = body.Find("geoQ")) {
    auto gq = ParseGeoQ(*g);
    if (!gq.ok()) return gq.status();
    s.geo_q = std::move(gq).value();
    s.geo_q_json = *g;
  }
  const JsonValue* n = body.Find("notification");
  if (n == nullptr) return Bad("notification is required");
  CB_RETURN_IF_ERROR(ParseNotification(*n, &s));
  if (body.Find("timeInterval") != nullptr) {
    return Status::Unsupported("periodic subscriptions (timeInterval) are not supported");
  }
  if (const JsonValue* t = body.Find("throttling")) {
    if (!t->is_number() || !(t->as_double() > 0) || !std::isfinite(t->as_double())) {
      return Bad("throttling must be a positive number of seconds");
    }
    s.throttling_s = t->as_double();
  }
  if (const JsonValue* e = body.Find("expiresAt")) {
    if (!e->is_string()) return Bad("expiresAt must be an ISO 8601 date-time");
    auto t = ParseIso8601(e->as_string());
    if (!t.ok()) return Bad("expiresAt must be an ISO 8601 date-time");
    if (options.check_expiry && *t <= options.now) return Bad("expiresAt must be in the future");
    s.expires_at = *t;
  }
  if (const JsonValue* a = body.Find("isActive")) {
    if (!a->is_bool()) return Bad("isActive must be true or false");
    s.is_active = a->as_bool();
  }
  return s;
}

void RenderSubscription(const Subscription& s, const DeliveryStatus& d, TimeMs now, JsonWriter* w) {
  w->BeginObject();
  w->Key("id").String(s.id).Key("type").String("Subscription");
  if (!s.name.empty()) w->Key("subscriptionName").String(s.name);
  if (!s.description.empty()) w->Key("description").String(s.description);
  if (!s.entities.empty()) {
    w->Key("entities").BeginArray();
    for (const auto& e : s.entities) {
      w->BeginObject().Key("type").String(e.type);
      if (!e.id.empty()) w->Key("id").String(e.id);
      if (!e.id_pattern.empty()) w->Key("idPattern").String(e.id_pattern);
      w->EndObject();
    }
    w->EndArray();
  }
  if (!s.watched_attributes.empty()) {
    w->Key("watchedAttributes").BeginArray();
    for (const auto& a : s.watched_attributes) w->String(a);
    w->EndArray();
  }
  if (s.triggers != kDefaultTriggers) {
    w->Key("notificationTrigger").BeginArray();
    for (const auto& [name, bit] : kTriggerNames) {
      if (s.triggers & bit) w->String(name);
    }
    w->EndArray();
  }
  if (!s.q_text.empty()) w->Key("q").String(s.q_text);
  if (s.geo_q) w->Key("geoQ").Value(s.geo_q_json);
  w->Key("notification").BeginObject();
  if (!s.notify_attributes.empty()) {
    w->Key("attributes").BeginArray();
    for (const auto& a : s.notify_attributes) w->String(a);
    w->EndArray();
  }
  w->Key("format").String(s.format == NotificationFormat::kKeyValues ? "keyValues" : "normalized");
  if (s.sys_attrs) w->Key("sysAttrs").Bool(true);
  w->Key("endpoint").BeginObject();
  w->Key("uri").String(s.endpoint_uri).Key("accept").String(s.endpoint_accept);
  if (!s.receiver_info.empty()) {
    w->Key("receiverInfo").BeginArray();
    for (const auto& [k, v] : s.receiver_info) {
      w->BeginObject().Key("key").String(k).Key("value").String(v).EndObject();
    }
    w->EndArray();
  }
  w->EndObject();
  bool failed =
      d.last_failure != kNoTime && (d.last_success == kNoTime || d.last_failure > d.last_success);
  w->Key("status").String(failed ? "failed" : "ok");
  w->Key("timesSent").Int(static_cast<int64_t>(d.times_sent));
  w->Key("timesFailed").Int(static_cast<int64_t>(d.times_failed));
  WriteTime(w, "lastNotification", d.last_notification);
  WriteTime(w, "lastSuccess", d.last_success);
  WriteTime(w, "lastFailure", d.last_failure);
  if (failed && !d.last_failure_reason.empty()) {
    w->Key("lastFailureReason").String(d.last_failure_reason);
  }
  w->EndObject();
  if (s.throttling_s > 0) {
    if (s.throttling_s == std::floor(s.throttling_s) && s.throttling_s < 1e15) {
      w->Key("throttling").Int(static_cast<int64_t>(s.throttling_s));
    } else {
      w->Key("throttling").Double(s.throttling_s);
    }
  }
  WriteTime(w, "expiresAt", s.expires_at);
  w->Key("isActive").Bool(s.is_active);
  w->Key("status").String(SubscriptionStatus(s, now));
  WriteTime(w, "createdAt", s.created_at);
  WriteTime(w, "modifiedAt", s.modified_at);
  w->EndObject();
}

std::string RenderSubscription(const Subscription& s, const DeliveryStatus& d, TimeMs now) {
  std::string out;
  JsonWriter w(&out);
  RenderSubscription(s, d, now, &w);
  return out;
}

std::string RenderNotification(const PendingNotification& n, std::string_view notification_id,
                               TimeMs notified_at) {
  const Subscription& s = *n.subscription;
  RenderOptions o;
  o.key_values = s.format == NotificationFormat::kKeyValues;
  o.sys_attrs = s.sys_attrs;
  std::unordered_set<std::string> projection(s.notify_attributes.begin(),
                                             s.notify_attributes.end());
  if (!projection.empty()) o.attrs = &projection;
  std::string out;
  out.reserve(256 + 256 * n.data.size());
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("id").String(notification_id).Key("type").String("Notification");
  w.Key("subscriptionId").String(s.id);
  w.Key("notifiedAt").String(FormatIso8601(notified_at));
  w.Key("data").BeginArray();
  for (const auto& ne : n.data) {
    if (ne.deleted) {
      w.BeginObject().Key("id").String(ne.entity->id).Key("type").String(ne.entity->type());
      w.Key("deletedAt").String(FormatIso8601(n.triggered_at)).EndObject();
    } else {
      RenderEntity(*ne.entity, o, &w);
    }
  }
  w.EndArray();
  if (s.endpoint_accept == "application/ld+json") w.Key("@context").String(kCoreContext);
  w.EndObject();
  return out;
}

// ------------------------------------------------------------------ SubscriptionManager

namespace {

// A definition with its id patterns compiled. Immutable.
struct Compiled {
  std::shared_ptr<const Subscription> sub;
  std::vector<std::shared_ptr<const std::regex>> id_res;  // per selector; null: none
  std::unordered_set<std::string> watched;
};

Result<std::shared_ptr<const Compiled>> Compile(Subscription s) {
  auto c = std::make_shared<Compiled>();
  for (const auto& sel : s.entities) {
    if (sel.id_pattern.empty()) {
      c->id_res.push_back(nullptr);
      continue;
    }
    auto re = CompilePattern(sel.id_pattern);
    if (!re.ok()) return re.status();
    c->id_res.push_back(std::move(re).value());
  }
  c->watched.insert(s.watched_attributes.begin(), s.watched_attributes.end());
  c->sub = std::make_shared<const Subscription>(std::move(s));
  return std::shared_ptr<const Compiled>(std::move(c));
}

bool MatchesChange(const Compiled& c, const Change& ch, TimeMs now) {
  const Subscription& s = *c.sub;
  if (!s.is_active) return false;
  if (s.expires_at != kNoTime && now >= s.expires_at) return false;
  const Entity& e = *ch.entity;
  switch (ch.kind) {
    case Change::Kind::kCreated:
      if ((s.triggers & (kTriggerEntityCreated | kTriggerAttributeCreated)) == 0) return false;
      break;
    case Change::Kind::kUpdated: {
      if ((s.triggers & kTriggerEntityUpdated) == 0) {
        bool present = false;
        bool removed = false;
        for (const auto& a : ch.attrs) {
          if (!c.watched.empty() && c.watched.count(a) == 0) continue;
          (e.Find(a) != nullptr ? present : removed) = true;
        }
        bool ok =
            (present && (s.triggers & (kTriggerAttributeCreated | kTriggerAttributeUpdated))) ||
            (removed && (s.triggers & kTriggerAttributeDeleted));
        if (!ok) return false;
      }
      break;
    }
    case Change::Kind::kDeleted:
      if ((s.triggers & kTriggerEntityDeleted) == 0) return false;
      break;
  }
  if (!s.entities.empty()) {
    bool any = false;
    for (size_t i = 0; i < s.entities.size() && !any; ++i) {
      const EntitySelector& sel = s.entities[i];
      any = e.HasType(sel.type) && (sel.id.empty() || sel.id == e.id) &&
            (!c.id_res[i] || std::regex_search(e.id, *c.id_res[i]));
    }
    if (!any) return false;
  }
  if (!c.watched.empty() && ch.kind != Change::Kind::kDeleted) {
    if (std::none_of(ch.attrs.begin(), ch.attrs.end(),
                     [&](const std::string& a) { return c.watched.count(a) != 0; })) {
      return false;
    }
  }
  if (s.q && !Matches(*s.q, e)) return false;
  if (s.geo_q && !MatchesGeoQuery(e, *s.geo_q)) return false;
  return true;
}

}  // namespace

struct SubscriptionManager::Entry {
  std::shared_ptr<const Compiled> compiled;  // guarded by SubscriptionManager::mu_

  mutable std::mutex state_mu;  // guards the members below
  DeliveryStatus delivery;
  TimeMs last_triggered = kNoTime;  // for throttling
  bool dirty = false;               // delivery changed since the last flush

  void Record(bool ok, TimeMs at, std::string_view reason, bool sent) {
    std::lock_guard l(state_mu);
    if (sent) {
      ++delivery.times_sent;
      delivery.last_notification = at;
    }
    if (ok) {
      delivery.last_success = at;
    } else {
      ++delivery.times_failed;
      delivery.last_failure = at;
      delivery.last_failure_reason = std::string(reason);
    }
    dirty = true;
  }
  DeliveryStatus Snapshot() {
    std::lock_guard l(state_mu);
    return delivery;
  }
};

// An immutable view for matching: who listens to which entity type.
struct SubscriptionManager::Index {
  struct Item {
    std::shared_ptr<Entry> entry;
    std::shared_ptr<const Compiled> compiled;
  };
  std::vector<Item> items;
  std::unordered_map<std::string, std::vector<size_t>> by_type;
  std::vector<size_t> any_type;  // subscriptions without entities (watchedAttributes only)
};

SubscriptionManager::SubscriptionManager(store::Store* store, const Clock* clock,
                                         SubscriptionOptions options)
    : store_(store), clock_(clock), options_(options), index_(std::make_shared<Index>()) {}

SubscriptionManager::~SubscriptionManager() = default;

void SubscriptionManager::RebuildIndexLocked() {
  auto idx = std::make_shared<Index>();
  idx->items.reserve(entries_.size());
  for (const auto& [id, e] : entries_) {
    size_t i = idx->items.size();
    idx->items.push_back({e, e->compiled});
    const Subscription& s = *e->compiled->sub;
    if (s.entities.empty()) {
      idx->any_type.push_back(i);
      continue;
    }
    for (const auto& sel : s.entities) {
      auto& v = idx->by_type[sel.type];
      if (v.empty() || v.back() != i) v.push_back(i);
    }
  }
  index_ = std::move(idx);
}

std::shared_ptr<const SubscriptionManager::Index> SubscriptionManager::Snapshot() const {
  std::shared_lock l(mu_);
  return index_;
}

std::string SubscriptionManager::DocLocked(const Entry& e, TimeMs now) const {
  DeliveryStatus d;
  {
    std::lock_guard l(e.state_mu);
    d = e.delivery;
  }
  return RenderSubscription(*e.compiled->sub, d, now);
}

Status SubscriptionManager::Load() {
  std::vector<std::shared_ptr<Entry>> loaded;
  Status st = store_->ScanRecords(kSubscriptionRecordKind, [&](store::Record&& r) {
    auto json = ParseJson(r.doc);
    if (!json.ok()) {
      spdlog::warn("subscription {}: stored record does not parse, skipped", r.key);
      return;
    }
    ParseSubscriptionOptions po;
    po.check_expiry = false;
    auto sub = ParseSubscription(*json, po);
    if (!sub.ok()) {
      spdlog::warn("subscription {}: stored record invalid ({}), skipped", r.key,
                   sub.status().ToString());
      return;
    }
    sub->id = r.key;
    sub->created_at = TimeOf(json->Find("createdAt"));
    sub->modified_at = TimeOf(json->Find("modifiedAt"));
    auto e = std::make_shared<Entry>();
    if (const JsonValue* n = json->Find("notification")) {
      e->delivery.times_sent = CountOf(n->Find("timesSent"));
      e->delivery.times_failed = CountOf(n->Find("timesFailed"));
      e->delivery.last_notification = TimeOf(n->Find("lastNotification"));
      e->delivery.last_success = TimeOf(n->Find("lastSuccess"));
      e->delivery.last_failure = TimeOf(n->Find("lastFailure"));
      if (const JsonValue* why = n->Find("lastFailureReason"); why && why->is_string()) {
        e->delivery.last_failure_reason = why->as_string();
      }
    }
    auto c = Compile(std::move(sub).value());
    if (!c.ok()) return;
    e->compiled = std::move(c).value();
    loaded.push_back(std::move(e));
  });
  if (!st.ok()) return st;
  std::unique_lock l(mu_);
  for (auto& e : loaded) entries_[e->compiled->sub->id] = std::move(e);
  RebuildIndexLocked();
  spdlog::info("loaded {} subscriptions", entries_.size());
  return Status::Ok();
}

void SubscriptionManager::SetSink(NotificationSink* sink) { sink_.store(sink); }

void SubscriptionManager::Create(const JsonValue& body,
                                 std::function<void(Result<std::string>)> done) {
  TimeMs now = clock_->Now();
  ParseSubscriptionOptions po;
  po.now = now;
  auto parsed = ParseSubscription(body, po);
  if (!parsed.ok()) return done(parsed.status());
  Subscription s = std::move(parsed).value();
  if (s.id.empty()) s.id = NewRandomUrn("Subscription");
  s.created_at = now;
  s.modified_at = now;
  std::string id = s.id;
  auto compiled = Compile(std::move(s));
  if (!compiled.ok()) return done(compiled.status());
  auto entry = std::make_shared<Entry>();
  entry->compiled = std::move(compiled).value();

  std::unique_lock p(persist_mu_);
  store::WriteBatch batch;
  {
    std::unique_lock l(mu_);
    if (entries_.count(id) != 0) {
      l.unlock();
      p.unlock();
      return done(Status::AlreadyExists("subscription already exists: " + id));
    }
    if (entries_.size() >= options_.max_subscriptions) {
      l.unlock();
      p.unlock();
      return done(Status::Forbidden("at most " + std::to_string(options_.max_subscriptions) +
                                    " subscriptions"));
    }
    entries_[id] = entry;
    RebuildIndexLocked();
    batch.put_records.push_back({std::string(kSubscriptionRecordKind), id, DocLocked(*entry, now)});
  }
  store_->Submit(std::move(batch), [this, id, entry, done = std::move(done)](const Status& st) {
    if (!st.ok()) {
      {
        std::unique_lock l(mu_);
        auto it = entries_.find(id);
        if (it != entries_.end() && it->second == entry) {
          entries_.erase(it);
          RebuildIndexLocked();
        }
      }
      return done(st);
    }
    done(id);
  });
}

Result<std::string> SubscriptionManager::Get(const std::string& id) const {
  std::shared_lock l(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::NotFound("subscription not found: " + id);
  return DocLocked(*it->second, clock_->Now());
}

SubscriptionPage SubscriptionManager::List(size_t offset, size_t limit) const {
  SubscriptionPage page;
  TimeMs now = clock_->Now();
  std::shared_lock l(mu_);
  page.total = entries_.size();
  size_t i = 0;
  for (const auto& [id, e] : entries_) {
    if (page.docs.size() >= limit) break;
    if (i++ < offset) continue;
    page.docs.push_back(DocLocked(*e, now));
  }
  return page;
}

SubscriptionManager::EntryMap::iterator SubscriptionManager::FindOrReport(
    const std::string& id, std::unique_lock<std::shared_mutex>& l,
    std::unique_lock<std::mutex>& p, const Done& done) {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    l.unlock();
    p.unlock();
    done(Status::NotFound("subscription not found: " + id));
  }
  return it;
}

void SubscriptionManager::Update(const std::string& id, const JsonValue& patch, Done done) {
  if (!patch.is_object() || patch.as_object().empty()) {
    return done(Bad("the body must be a non-empty JSON object"));
  }
  if (const JsonValue* pid = patch.Find("id");
      pid && !(pid->is_string() && pid->as_string() == id)) {
    return done(Bad("the subscription id cannot be changed"));
  }
  TimeMs now = clock_->Now();
  std::unique_lock p(persist_mu_);
  std::shared_ptr<Entry> entry;
  std::shared_ptr<const Compiled> before;
  std::shared_ptr<const Compiled> after;
  store::WriteBatch batch;
  {
    std::unique_lock l(mu_);
    auto it = FindOrReport(id, l, p, done);
    if (it == entries_.end()) return;
    entry = it->second;
    before = entry->compiled;
    // Merge the fragment into the current definition and validate the result as a whole.
    JsonValue merged = ParseJson(RenderSubscription(*before->sub, DeliveryStatus{}, now)).value();
    for (const auto& [k, v] : patch.as_object()) {
      if (k == "@context" || k == "id") continue;
      if (v.is_null()) {
        merged.Erase(k);
      } else if (k == "notification" && v.is_object()) {
        JsonValue* n = merged.Find("notification");
        for (const auto& [nk, nv] : v.as_object()) {
          if (nv.is_null()) {
            n->Erase(nk);
          } else {
            n->Set(nk, nv);
          }
        }
      } else {
        merged.Set(k, v);
      }
    }
    ParseSubscriptionOptions po;
    po.now = now;
    const JsonValue* exp = patch.Find("expiresAt");
    po.check_expiry = exp != nullptr && !exp->is_null();
    auto parsed = ParseSubscription(merged, po);
    if (!parsed.ok()) {
      l.unlock();
      p.unlock();
      return done(parsed.status());
    }
    Subscription s = std::move(parsed).value();
    s.id = id;
    s.created_at = before->sub->created_at;
    s.modified_at = now;
    auto c = Compile(std::move(s));
    if (!c.ok()) {
      l.unlock();
      p.unlock();
      return done(c.status());
    }
    after = std::move(c).value();
    entry->compiled = after;
    RebuildIndexLocked();
    batch.put_records.push_back({std::string(kSubscriptionRecordKind), id, DocLocked(*entry, now)});
  }
  store_->Submit(std::move(batch),
                 [this, entry, before, after, done = std::move(done)](const Status& st) {
                   if (!st.ok()) {
                     std::unique_lock l(mu_);
                     if (entry->compiled == after) {
                       entry->compiled = before;
                       RebuildIndexLocked();
                     }
                   }
                   done(st);
                 });
}

void SubscriptionManager::Delete(const std::string& id, Done done) {
  std::unique_lock p(persist_mu_);
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock l(mu_);
    auto it = FindOrReport(id, l, p, done);
    if (it == entries_.end()) return;
    entry = it->second;
    entries_.erase(it);
    RebuildIndexLocked();
  }
  store::WriteBatch batch;
  batch.delete_records.push_back({std::string(kSubscriptionRecordKind), id, ""});
  store_->Submit(std::move(batch), [this, id, entry, done = std::move(done)](const Status& st) {
    if (!st.ok()) {
      std::unique_lock l(mu_);
      if (entries_.emplace(id, entry).second) RebuildIndexLocked();
    }
    done(st);
  });
}

size_t SubscriptionManager::size() const {
  std::shared_lock l(mu_);
  return entries_.size();
}

std::shared_ptr<const Subscription> SubscriptionManager::Find(const std::string& id) const {
  std::shared_lock l(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second->compiled->sub;
}

Result<DeliveryStatus> SubscriptionManager::Delivery(const std::string& id) const {
  std::shared_ptr<Entry> e;
  {
    std::shared_lock l(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status::NotFound("subscription not found: " + id);
    e = it->second;
  }
  return e->Snapshot();
}

void SubscriptionManager::RecordDelivery(const std::string& id, bool ok, TimeMs at,
                                         std::string_view reason) {
  std::shared_ptr<Entry> e;
  {
    std::shared_lock l(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    e = it->second;
  }
  e->Record(ok, at, reason, true);
}

void SubscriptionManager::Flush(Done done) {
  TimeMs now = clock_->Now();
  std::unique_lock p(persist_mu_);
  store::WriteBatch batch;
  std::vector<std::shared_ptr<Entry>> flushed;
  {
    std::shared_lock l(mu_);
    for (const auto& [id, e] : entries_) {
      {
        std::lock_guard s(e->state_mu);
        if (!e->dirty) continue;
        e->dirty = false;
      }
      batch.put_records.push_back({std::string(kSubscriptionRecordKind), id, DocLocked(*e, now)});
      flushed.push_back(e);
    }
  }
  if (batch.empty()) {
    p.unlock();
    return done(Status::Ok());
  }
  store_->Submit(std::move(batch),
                 [flushed = std::move(flushed), done = std::move(done)](const Status& st) {
                   if (!st.ok()) {
                     for (const auto& e : flushed) {
                       std::lock_guard s(e->state_mu);
                       e->dirty = true;
                     }
                   }
                   done(st);
                 });
}

Status SubscriptionManager::FlushSync() {
  std::promise<Status> p;
  auto f = p.get_future();
  Flush([&p](Status st) { p.set_value(std::move(st)); });
  return f.get();
}

void SubscriptionManager::OnChanges(const std::vector<Change>& changes) {
  NotificationSink* sink = sink_.load();
  if (sink == nullptr) return;
  std::shared_ptr<const Index> idx = Snapshot();
  if (idx->items.empty()) return;
  TimeMs now = clock_->Now();

  // (subscription index, entity) pairs, in change order.
  std::vector<std::pair<size_t, NotifiedEntity>> hits;
  std::vector<size_t> candidates;
  for (const Change& ch : changes) {
    if (!ch.entity) continue;
    candidates.clear();
    for (const auto& t : ch.entity->types) {
      auto it = idx->by_type.find(t);
      if (it != idx->by_type.end()) {
        candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      }
    }
    candidates.insert(candidates.end(), idx->any_type.begin(), idx->any_type.end());
    if (ch.entity->types.size() > 1) {
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    }
    for (size_t i : candidates) {
      if (MatchesChange(*idx->items[i].compiled, ch, now)) {
        hits.push_back({i, NotifiedEntity{ch.entity, ch.kind == Change::Kind::kDeleted}});
      }
    }
  }
  if (hits.empty()) return;
  std::stable_sort(hits.begin(), hits.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  for (size_t k = 0; k < hits.size();) {
    size_t i = hits[k].first;
    PendingNotification n;
    for (; k < hits.size() && hits[k].first == i; ++k) n.data.push_back(std::move(hits[k].second));
    const Index::Item& item = idx->items[i];
    const Subscription& s = *item.compiled->sub;
    {
      std::lock_guard l(item.entry->state_mu);
      if (s.throttling_s > 0 && item.entry->last_triggered != kNoTime &&
          static_cast<double>(now - item.entry->last_triggered) < s.throttling_s * 1000.0) {
        throttled_.fetch_add(1);
        continue;
      }
      item.entry->last_triggered = now;
    }
    n.subscription = item.compiled->sub;
    n.triggered_at = now;
    matched_.fetch_add(1);
    if (!sink->Offer(std::move(n))) {
      item.entry->Record(false, now, "refused by the notifier (queue full or stopping)", false);
    }
  }
}

}  // namespace cb::context
