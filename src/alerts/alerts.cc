#include "alerts/alerts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <tuple>
#include <utility>

namespace cb::alerts {
namespace {

constexpr int64_t kBeijingOffsetMs = 8 * 3600000;

int ClampLevel(int level) { return std::clamp(level, 1, 4); }

// "YYYYMMDDhhmmss" of t shifted by offset_ms.
std::string Compact(TimeMs t, int64_t offset_ms) {
  const std::string iso = FormatIso8601(t + offset_ms);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  std::string out;
  for (char c : iso.substr(0, 19)) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

// CAP's dateTime: "YYYY-MM-DDThh:mm:ss+08:00" (no fraction, explicit offset).
std::string CapTime(TimeMs t, bool beijing) {
  return FormatIso8601(t + (beijing ? kBeijingOffsetMs : 0)).substr(0, 19) +
         (beijing ? "+08:00" : "+00:00");
}

void AppendEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&apos;"); break;
      default: out->push_back(c);
    }
  }
}

void Element(std::string* out, std::string_view indent, std::string_view name,
             std::string_view text) {
  out->append(indent).append("<").append(name).append(">");
  AppendEscaped(out, text);
  out->append("</").append(name).append(">\n");
}

std::string_view CapCategory(std::string_view category) {
  if (category == "crowd") return "Safety";
  if (category == "parking") return "Transport";
  if (category == "device") return "Infra";
  if (category == "weather") return "Met";
  // Warnings taken in keep their CAP category, lower-cased (cap_intake.h).
  static constexpr std::string_view kCap[] = {"Geo",  "Met",    "Safety", "Security",
                                              "Rescue", "Fire", "Health", "Env",
                                              "Transport", "Infra", "CBRNE", "Other"};
  for (std::string_view c : kCap) {
    if (category.size() == c.size() &&
        std::equal(c.begin(), c.end(), category.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
      return c;
    }
  }
  return "Other";
}

std::string_view CapSeverity(int level) {
  switch (ClampLevel(level)) {
    case 1: return "Extreme";
    case 2: return "Severe";
    case 3: return "Moderate";
    default: return "Minor";
  }
}

std::string Sender(const AlertOptions& o) {
  return o.area_code.empty() ? "citybrain" : o.area_code + o.industry_code + "00000";
}

}  // namespace

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kAcknowledged: return "acknowledged";
    case AlertState::kResolved: return "resolved";
    case AlertState::kActive: break;
  }
  return "active";
}

std::string_view LevelName(int level) {
  static constexpr std::string_view kNames[] = {"I", "II", "III", "IV"};
  return kNames[ClampLevel(level) - 1];
}

std::string_view LevelColor(int level) {
  static constexpr std::string_view kColors[] = {"red", "orange", "yellow", "blue"};
  return kColors[ClampLevel(level) - 1];
}

AlertBook::AlertBook(AlertOptions options, store::Store* store)
    : options_(std::move(options)), store_(store) {}

namespace {

constexpr std::string_view kRecordKind = "alert";

JsonValue TextsJson(const Texts& t) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("zh-CN", t.zh_cn);
  o.Set("en", t.en);
  return o;
}

JsonValue SpecJson(const AlertSpec& s) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("key", s.key);
  o.Set("category", s.category);
  o.Set("event", s.event);
  o.Set("level", s.level);
  o.Set("zone", s.zone_id);
  o.Set("headline", TextsJson(s.headline));
  o.Set("description", TextsJson(s.description));
  o.Set("instruction", TextsJson(s.instruction));
  JsonValue deps = JsonValue::MakeArray();
  for (const std::string& d : s.departments) deps.Push(d);
  o.Set("departments", std::move(deps));
  if (s.area) o.Set("area", geo::GeometryToGeoJson(*s.area));
  o.Set("areaDesc", TextsJson(s.area_desc));
  if (s.deescalate_after_ms > 0) o.Set("deescalateAfterMs", s.deescalate_after_ms);
  if (!s.case_category.empty()) o.Set("caseCategory", s.case_category);
  if (s.location) o.Set("location", JsonValue::Array{s.location->lon, s.location->lat});
  return o;
}

// Readers of the stored form: a missing or mistyped member is a kInternal error naming it.
struct Reader {
  const JsonValue& v;
  Status* st;
  const JsonValue* Get(std::string_view key, JsonValue::Type t) const {
    const JsonValue* m = v.Find(key);
    if (m == nullptr || (m->type() != t && !(t == JsonValue::Type::kDouble && m->is_number()))) {
      if (st->ok()) *st = Status::Internal("stored alert: member " + std::string(key) + " is missing or mistyped");
      return nullptr;
    }
    return m;
  }
  std::string Str(std::string_view key) const {
    const JsonValue* m = Get(key, JsonValue::Type::kString);
    return m != nullptr ? m->as_string() : std::string();
  }
  int64_t Int(std::string_view key) const {
    const JsonValue* m = Get(key, JsonValue::Type::kInt);
    return m != nullptr ? m->as_int() : 0;
  }
  Texts Text(std::string_view key) const {
    const JsonValue* m = Get(key, JsonValue::Type::kObject);
    if (m == nullptr) return {};
    Reader r{*m, st};
    return Texts{r.Str("zh-CN"), r.Str("en")};
  }
};

AlertSpec SpecFrom(const JsonValue& v, Status* st) {
  Reader r{v, st};
  AlertSpec s;
  s.key = r.Str("key");
  s.category = r.Str("category");
  s.event = r.Str("event");
  s.level = static_cast<int>(r.Int("level"));
  s.zone_id = r.Str("zone");
  s.headline = r.Text("headline");
  s.description = r.Text("description");
  s.instruction = r.Text("instruction");
  if (const JsonValue* deps = r.Get("departments", JsonValue::Type::kArray)) {
    for (const JsonValue& d : deps->as_array()) {
      if (d.is_string()) s.departments.push_back(d.as_string());
    }
  }
  if (const JsonValue* area = v.Find("area")) {
    auto g = geo::GeometryFromGeoJson(*area);
    if (g.ok()) {
      s.area = std::move(g).value();
    } else if (st->ok()) {
      *st = Status::Internal("stored alert: area: " + g.status().message());
    }
  }
  s.area_desc = r.Text("areaDesc");
  if (v.Find("deescalateAfterMs") != nullptr) s.deescalate_after_ms = r.Int("deescalateAfterMs");
  if (v.Find("caseCategory") != nullptr) s.case_category = r.Str("caseCategory");
  if (const JsonValue* loc = v.Find("location");
      loc != nullptr && loc->is_array() && loc->as_array().size() == 2 &&
      loc->as_array()[0].is_number() && loc->as_array()[1].is_number()) {
    s.location = geo::LonLat{loc->as_array()[0].as_double(), loc->as_array()[1].as_double()};
  }
  return s;
}

}  // namespace

JsonValue AlertToJson(const Alert& a) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("id", a.id);
  o.Set("identifier", a.identifier);
  o.Set("spec", SpecJson(a.spec));
  o.Set("state", AlertStateName(a.state));
  o.Set("raisedAt", a.raised_at);
  o.Set("updatedAt", a.updated_at);
  o.Set("levelSince", a.level_since);
  o.Set("ackDeadline", a.ack_deadline);
  o.Set("escalationStep", a.escalation_step);
  o.Set("occurrences", static_cast<int64_t>(a.occurrences));
  o.Set("acknowledgedBy", a.acknowledged_by);
  o.Set("resolvedBy", a.resolved_by);
  JsonValue history = JsonValue::MakeArray();
  for (const AlertEvent& e : a.history) {
    JsonValue h = JsonValue::MakeObject();
    h.Set("at", e.at);
    h.Set("what", e.what);
    history.Push(std::move(h));
  }
  o.Set("history", std::move(history));
  JsonValue caps = JsonValue::MakeArray();
  for (const Alert::CapMessage& m : a.cap_messages) {
    JsonValue c = JsonValue::MakeObject();
    c.Set("identifier", m.identifier);
    c.Set("sent", m.sent);
    c.Set("msgType", m.msg_type);
    c.Set("spec", SpecJson(m.spec));
    caps.Push(std::move(c));
  }
  o.Set("capMessages", std::move(caps));
  return o;
}

Result<Alert> AlertFromJson(const JsonValue& v) {
  if (!v.is_object()) return Status::Internal("stored alert: not a JSON object");
  Status st;
  Reader r{v, &st};
  Alert a;
  a.id = r.Str("id");
  a.identifier = r.Str("identifier");
  if (const JsonValue* spec = r.Get("spec", JsonValue::Type::kObject)) a.spec = SpecFrom(*spec, &st);
  const std::string state = r.Str("state");
  a.state = state == "resolved"       ? AlertState::kResolved
            : state == "acknowledged" ? AlertState::kAcknowledged
                                      : AlertState::kActive;
  a.raised_at = r.Int("raisedAt");
  a.updated_at = r.Int("updatedAt");
  a.level_since = v.Find("levelSince") != nullptr ? r.Int("levelSince") : a.updated_at;
  a.ack_deadline = r.Int("ackDeadline");
  a.escalation_step = static_cast<int>(r.Int("escalationStep"));
  a.occurrences = static_cast<uint64_t>(r.Int("occurrences"));
  a.acknowledged_by = r.Str("acknowledgedBy");
  a.resolved_by = r.Str("resolvedBy");
  if (const JsonValue* h = r.Get("history", JsonValue::Type::kArray)) {
    for (const JsonValue& e : h->as_array()) {
      Reader er{e, &st};
      a.history.push_back({er.Int("at"), er.Str("what")});
    }
  }
  if (const JsonValue* caps = r.Get("capMessages", JsonValue::Type::kArray)) {
    for (const JsonValue& c : caps->as_array()) {
      Reader cr{c, &st};
      Alert::CapMessage m;
      m.identifier = cr.Str("identifier");
      m.sent = cr.Int("sent");
      m.msg_type = cr.Str("msgType");
      if (const JsonValue* spec = cr.Get("spec", JsonValue::Type::kObject)) m.spec = SpecFrom(*spec, &st);
      a.cap_messages.push_back(std::move(m));
    }
  }
  if (!st.ok()) return st;
  if (a.id.empty() || a.cap_messages.empty()) return Status::Internal("stored alert: no id or CAP message");
  return a;
}

Status AlertBook::Load() {
  if (store_ == nullptr) return Status::Ok();
  std::vector<Alert> loaded;
  Status failed;
  CB_RETURN_IF_ERROR(store_->ScanRecords(kRecordKind, [&](store::Record&& r) {
    auto json = ParseJson(r.doc);
    Result<Alert> a = json.ok() ? AlertFromJson(*json) : Result<Alert>(json.status());
    if (!a.ok()) {
      if (failed.ok()) failed = Status::Internal("alert " + r.key + ": " + a.status().message());
      return;
    }
    loaded.push_back(std::move(a).value());
  }));
  if (!failed.ok()) return failed;
  std::sort(loaded.begin(), loaded.end(), [](const Alert& a, const Alert& b) {
    return std::tie(a.raised_at, a.id) < std::tie(b.raised_at, b.id);
  });
  std::lock_guard<std::mutex> lock(mu_);
  for (Alert& a : loaded) {
    for (const Alert::CapMessage& m : a.cap_messages) {
      // Identifiers continue after the last second used (sequence numbers restart there).
      last_id_second_ = std::max(last_id_second_, m.sent / 1000 * 1000 + 1000);
    }
    by_id_[a.id] = alerts_.size();
    if (a.state != AlertState::kResolved) open_by_key_[a.spec.key] = alerts_.size();
    alerts_.push_back(std::move(a));
  }
  id_sequence_ = -1;  // the next identifier of last_id_second_ is _0
  return Status::Ok();
}

void AlertBook::PersistLocked(const Alert& a) {
  if (store_ == nullptr) return;
  store::WriteBatch b;
  b.put_records.push_back(store::Record{std::string(kRecordKind), a.id, AlertToJson(a).Dump()});
  store_->Submit(std::move(b), [id = a.id](const Status& st) {
    if (!st.ok()) spdlog::warn("alert {} not stored: {}", id, st.ToString());
  });
}

std::string AlertBook::NextIdentifierLocked(TimeMs at) {
  // N is one digit in GB/T 35965.1: past ten messages in one second, the next second is used.
  TimeMs second = at / 1000 * 1000;
  if (second < last_id_second_) second = last_id_second_;
  if (second == last_id_second_) {
    if (++id_sequence_ > 9) {
      second += 1000;
      id_sequence_ = 0;
    }
  } else {
    id_sequence_ = 0;
  }
  last_id_second_ = second;
  if (options_.area_code.empty()) {
    return "citybrain_" + Compact(second, 0) + "_" + std::to_string(id_sequence_);
  }
  return Sender(options_) + "_" + Compact(second, kBeijingOffsetMs) + "_" +
         std::to_string(id_sequence_);
}

Alert& AlertBook::Record(Alert& a, TimeMs now, std::string what) {
  a.updated_at = now;
  a.history.push_back({now, std::move(what)});
  return a;
}

Result<Alert> AlertBook::Raise(const AlertSpec& spec, TimeMs now) {
  if (spec.key.empty()) return Status::BadRequestData("alert: the key is empty");
  if (spec.category.empty()) return Status::BadRequestData("alert: the category is empty");
  if (spec.level < 1 || spec.level > 4) {
    return Status::BadRequestData("alert: the level must be 1 (I) to 4 (IV)");
  }
  std::vector<std::pair<Alert, std::string>> changes;
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto open = open_by_key_.find(spec.key);
    if (open != open_by_key_.end()) {
      Alert& a = alerts_[open->second];
      const int before = a.spec.level;
      a.spec = spec;
      a.level_since = now;
      ++a.occurrences;
      if (before != spec.level) {
        const std::string what = std::string(spec.level < before ? "raised to level " : "lowered to level ") +
                                 std::string(LevelName(spec.level));
        Record(a, now, what);
        a.cap_messages.push_back({NextIdentifierLocked(now), now, "Update", a.spec});
        if (spec.level < before && a.state == AlertState::kAcknowledged) {
          // Worse than what was acknowledged: it needs acknowledging again.
          a.state = AlertState::kActive;
          a.ack_deadline = now + options_.ack_deadline_ms;
        }
        changes.emplace_back(a, what);
      } else {
        a.updated_at = now;
      }
      PersistLocked(a);
      out = a;
    } else {
      Alert a;
      a.identifier = NextIdentifierLocked(now);
      a.id = "urn:ngsi-ld:Alert:" + a.identifier;
      a.spec = spec;
      a.raised_at = now;
      a.level_since = now;
      a.ack_deadline = now + options_.ack_deadline_ms;
      a.cap_messages.push_back({a.identifier, now, "Alert", a.spec});
      Record(a, now, "raised at level " + std::string(LevelName(spec.level)));
      by_id_[a.id] = alerts_.size();
      open_by_key_[spec.key] = alerts_.size();
      alerts_.push_back(a);
      ++raised_;
      PersistLocked(a);
      changes.emplace_back(a, a.history.back().what);
      out = std::move(a);
    }
  }
  Notify(changes);
  return out;
}

Result<Alert> AlertBook::ChangeOne(const std::string& id,
                                   const std::function<Status(Alert&)>& change) {
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return Status::NotFound("alert " + id + " not found");
    Alert& a = alerts_[it->second];
    CB_RETURN_IF_ERROR(change(a));
    PersistLocked(a);
    out = a;
  }
  Notify({{out, out.history.back().what}});
  return out;
}

void AlertBook::ResolveLocked(Alert& a, const std::string& who, std::string what, TimeMs now) {
  a.state = AlertState::kResolved;
  a.resolved_by = who;
  a.cap_messages.push_back({NextIdentifierLocked(now), now, "Cancel", a.spec});
  Record(a, now, std::move(what));
  open_by_key_.erase(a.spec.key);
}

Result<Alert> AlertBook::Acknowledge(const std::string& id, const std::string& who, TimeMs now) {
  return ChangeOne(id, [&](Alert& a) {
    if (a.state != AlertState::kActive) {
      return Status::Conflict("alert " + id + " is " + std::string(AlertStateName(a.state)) +
                              ", not active");
    }
    a.state = AlertState::kAcknowledged;
    a.acknowledged_by = who;
    Record(a, now, "acknowledged by " + who);
    return Status::Ok();
  });
}

Result<Alert> AlertBook::Resolve(const std::string& id, const std::string& who, TimeMs now) {
  return ChangeOne(id, [&](Alert& a) {
    if (a.state == AlertState::kResolved) {
      return Status::Conflict("alert " + id + " is already resolved");
    }
    ResolveLocked(a, who, "resolved by " + who, now);
    return Status::Ok();
  });
}

std::optional<Alert> AlertBook::ResolveKey(const std::string& key, TimeMs now) {
  Alert out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto open = open_by_key_.find(key);
    if (open == open_by_key_.end()) return std::nullopt;
    Alert& a = alerts_[open->second];
    ResolveLocked(a, "auto", "resolved (auto: the condition cleared)", now);
    PersistLocked(a);
    out = a;
  }
  Notify({{out, out.history.back().what}});
  return out;
}

std::vector<Alert> AlertBook::EscalateDue(TimeMs now) {
  std::vector<std::pair<Alert, std::string>> changes;
  std::vector<Alert> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, index] : open_by_key_) {
      Alert& a = alerts_[index];
      if (a.state != AlertState::kActive || now < a.ack_deadline) continue;
      if (a.escalation_step + 1 >= static_cast<int>(options_.escalation.size())) {
        a.ack_deadline = now + options_.ack_deadline_ms;  // top of the chain: remind again
        continue;
      }
      ++a.escalation_step;
      ++escalations_;
      a.ack_deadline = now + options_.ack_deadline_ms;
      const EscalationStep& step = options_.escalation[static_cast<size_t>(a.escalation_step)];
      Record(a, now, "escalated to " + step.role.en + " by " + step.channel);
      PersistLocked(a);
      changes.emplace_back(a, a.history.back().what);
      out.push_back(a);
    }
  }
  Notify(changes);
  return out;
}

std::vector<Alert> AlertBook::DeescalateDue(TimeMs now) {
  std::vector<std::pair<Alert, std::string>> changes;
  std::vector<Alert> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, index] : open_by_key_) {
      Alert& a = alerts_[index];
      const int64_t period = a.spec.deescalate_after_ms;
      if (period <= 0 || a.spec.level >= 4 || now < a.level_since + period) continue;
      ++a.spec.level;
      a.level_since = now;
      Record(a, now, "de-escalated to level " + std::string(LevelName(a.spec.level)));
      a.cap_messages.push_back({NextIdentifierLocked(now), now, "Update", a.spec});
      PersistLocked(a);
      changes.emplace_back(a, a.history.back().what);
      out.push_back(a);
    }
  }
  Notify(changes);
  return out;
}

AlertBook::Stats AlertBook::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.open = open_by_key_.size();
  for (const auto& [key, index] : open_by_key_) {
    s.unacknowledged += alerts_[index].state == AlertState::kActive ? 1 : 0;
  }
  s.raised = raised_;
  s.escalations = escalations_;
  return s;
}

std::optional<Alert> AlertBook::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return alerts_[it->second];
}

std::vector<Alert> AlertBook::List(bool open_only) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Alert> out;
  for (const Alert& a : alerts_) {
    if (!open_only || a.state != AlertState::kResolved) out.push_back(a);
  }
  return out;
}

void AlertBook::AddListener(AlertListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(l);
}

void AlertBook::RemoveListener(AlertListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(listeners_, l);
}

void AlertBook::Notify(const std::vector<std::pair<Alert, std::string>>& changes) {
  if (changes.empty()) return;
  std::vector<AlertListener*> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& [alert, what] : changes) {
    for (AlertListener* l : listeners) l->OnAlert(alert, what);
  }
}

std::string RenderCap(const Alert& a, const AlertOptions& o, size_t index) {
  if (a.cap_messages.empty()) return {};
  if (index >= a.cap_messages.size()) index = a.cap_messages.size() - 1;
  const Alert::CapMessage& m = a.cap_messages[index];
  const bool beijing = !o.area_code.empty();
  const std::string sender = Sender(o);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  Element(&x, "  ", "identifier", m.identifier);
  Element(&x, "  ", "sender", sender);
  Element(&x, "  ", "sent", CapTime(m.sent, beijing));
  Element(&x, "  ", "status", "Actual");
  Element(&x, "  ", "msgType", m.msg_type);
  Element(&x, "  ", "scope", "Public");
  if (index > 0) {
    std::string refs;
    for (size_t i = 0; i < index; ++i) {
      const Alert::CapMessage& r = a.cap_messages[i];
      refs += (refs.empty() ? "" : " ") + sender + "," + r.identifier + "," + CapTime(r.sent, beijing);
    }
    Element(&x, "  ", "references", refs);
  }
  const AlertSpec& s = m.spec;
  const bool cancel = m.msg_type == "Cancel";
  struct Lang {
    const char* code;
    const std::string& headline;
    const std::string& description;
    const std::string& instruction;
    const std::string& area;
  } langs[] = {
      {"zh-CN", s.headline.zh_cn, s.description.zh_cn, s.instruction.zh_cn, s.area_desc.zh_cn},
      {"en", s.headline.en, s.description.en, s.instruction.en, s.area_desc.en},
  };
  for (const Lang& l : langs) {
    x += "  <info>\n";
    Element(&x, "    ", "language", l.code);
    Element(&x, "    ", "category", CapCategory(s.category));
    Element(&x, "    ", "event", s.event.empty() ? s.category : s.event);
    Element(&x, "    ", "urgency", cancel ? "Past" : ClampLevel(s.level) <= 2 ? "Immediate" : "Expected");
    Element(&x, "    ", "severity", CapSeverity(s.level));
    Element(&x, "    ", "certainty", "Observed");
    Element(&x, "    ", "senderName", o.sender_name);
    if (!l.headline.empty()) Element(&x, "    ", "headline", l.headline);
    if (!l.description.empty()) Element(&x, "    ", "description", l.description);
    if (!l.instruction.empty() && !cancel) Element(&x, "    ", "instruction", l.instruction);
    x += "    <parameter>\n";
    Element(&x, "      ", "valueName", "level");
    Element(&x, "      ", "value", std::string(LevelName(s.level)) + " " + std::string(LevelColor(s.level)));
    x += "    </parameter>\n";
    if (!l.area.empty() || s.area) {
      x += "    <area>\n";
      Element(&x, "      ", "areaDesc", l.area.empty() ? s.zone_id : l.area);
      if (s.area) {
        for (const geo::PolygonRings& poly : s.area->parts) {
          if (poly.empty() || poly[0].size() < 4) continue;
          std::string coords;
          for (const geo::LonLat& p : poly[0]) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%.6f,%.6f", coords.empty() ? "" : " ", p.lat, p.lon);
            coords += buf;
          }
          Element(&x, "      ", "polygon", coords);
        }
      }
      x += "    </area>\n";
    }
    x += "  </info>\n";
  }
  x += "</alert>\n";
  return x;
}

}  // namespace cb::alerts
