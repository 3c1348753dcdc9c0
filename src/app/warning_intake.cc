#include "app/warning_intake.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace cb::app {
namespace {

using alerts::CapAlert;
using alerts::CapInfo;
using alerts::CapIntakeReport;

constexpr std::string_view kRecordKind = "cap-warning";
constexpr const char* kOutcomes[] = {"applied", "duplicate", "superseded", "ignored", "expired"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether one of the info's areas covers the zone.
bool InfoCovers(const CapInfo& info, const stream::Zone& zone, const std::string* area_code) {
  for (const alerts::CapArea& a : info.areas) {
    for (const geo::Geometry& p : a.polygons) {
      if (geo::Intersects(zone.area, p)) return true;
    }
    for (const alerts::CapCircle& c : a.circles) {
      if (geo::DistanceMeters(zone.area, c.center) <= c.radius_km * 1000) return true;
    }
    if (area_code != nullptr) {
      for (const alerts::CapValue& g : a.geocodes) {
        if (WarningIntake::AreaCodeCovers(g.value, *area_code)) return true;
      }
    }
  }
  return false;
}

// The warning's end: the latest <expires> of its infos; kNoTime when one has none (or there
// are no infos), as that part of the warning does not end by itself.
TimeMs ExpiresOf(const CapAlert& a) {
  TimeMs latest = kNoTime;
  for (const CapInfo& i : a.infos) {
    if (i.expires == kNoTime) return kNoTime;
    latest = std::max(latest, i.expires);
  }
  return latest;
}

std::string Category(const CapInfo& info) {
  const std::string& c = info.categories.empty() ? std::string("Other") : info.categories.front();
  return c == "Met" ? "weather" : Lower(c);
}

// The covering areas' descriptions, joined.
std::string AreaDescs(const CapInfo& info, const stream::Zone& zone, const std::string* code,
                      std::string_view sep) {
  std::string out;
  for (const alerts::CapArea& a : info.areas) {
    CapInfo one;
    one.areas.push_back(a);
    if (!InfoCovers(one, zone, code) || a.area_desc.empty()) continue;
    out += (out.empty() ? "" : std::string(sep)) + a.area_desc;
  }
  return out;
}

JsonValue Strings(const std::vector<std::string>& v) {
  JsonValue a = JsonValue::MakeArray();
  for (const std::string& s : v) a.Push(s);
  return a;
}

JsonValue TimeOrNull(TimeMs t) { return t == kNoTime ? JsonValue() : JsonValue(t); }

JsonValue WarningToJson(const WarningIntake::Warning& w) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("sender", w.sender);
  o.Set("root", w.root);
  o.Set("messages", Strings(w.messages));
  o.Set("latestSent", TimeOrNull(w.latest_sent));
  o.Set("zones", Strings(w.zones));
  o.Set("expires", TimeOrNull(w.expires));
  o.Set("state", w.state);
  o.Set("endedAt", TimeOrNull(w.ended_at));
  return o;
}

Result<WarningIntake::Warning> WarningFromJson(const JsonValue& v) {
  WarningIntake::Warning w;
  auto str = [&](std::string_view k, std::string* out) {
    const JsonValue* m = v.is_object() ? v.Find(k) : nullptr;
    if (m == nullptr || !m->is_string()) return false;
    *out = m->as_string();
    return true;
  };
  auto strings = [&](std::string_view k, std::vector<std::string>* out) {
    const JsonValue* m = v.Find(k);
    if (m == nullptr || !m->is_array()) return false;
    for (const JsonValue& s : m->as_array()) {
      if (!s.is_string()) return false;
      out->push_back(s.as_string());
    }
    return true;
  };
  auto time = [&](std::string_view k, TimeMs* out) {
    const JsonValue* m = v.Find(k);
    if (m == nullptr || !(m->is_null() || m->is_int())) return false;
    *out = m->is_null() ? kNoTime : m->as_int();
    return true;
  };
  if (!str("sender", &w.sender) || !str("root", &w.root) || !str("state", &w.state) ||
      !strings("messages", &w.messages) || !strings("zones", &w.zones) ||
      !time("latestSent", &w.latest_sent) || !time("expires", &w.expires) ||
      !time("endedAt", &w.ended_at)) {
    return Status::Internal("stored warning: a member is missing or mistyped");
  }
  return w;
}

}  // namespace

WarningIntake::WarningIntake(const stream::SituationEngine* engine,
                             const context::ContextBroker* broker, alerts::AlertBook* book,
                             store::Store* store, const Clock* clock, metrics::Registry* metrics,
                             WarningIntakeOptions options)
    : engine_(engine), broker_(broker), book_(book), store_(store), clock_(clock),
      options_(options) {
  if (metrics == nullptr) return;
  for (const char* o : kOutcomes) {
    outcomes_[o] = metrics->GetCounter("citybrain_warnings_received_total",
                                       "CAP warnings taken in, by outcome",
                                       metrics::Label("outcome", o));
  }
  metrics->AddCallbackGauge("citybrain_warnings_active", "CAP warnings in force", [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return double(std::count_if(warnings_.begin(), warnings_.end(),
                                [](const auto& w) { return w.second.state == "active"; }));
  });
}

WarningIntake::~WarningIntake() { Stop(); }

std::string WarningIntake::MessageKey(std::string_view sender, std::string_view identifier) {
  return std::string(sender) + "," + std::string(identifier);
}

bool WarningIntake::AreaCodeCovers(std::string_view geocode, std::string_view zone_code) {
  if (geocode.empty() || zone_code.empty()) return false;
  if (geocode == zone_code) return true;
  if (!AllDigits(geocode) || !AllDigits(zone_code) || zone_code.size() < geocode.size()) {
    return false;
  }
  // GB/T 2260: 33 province, 3301 city, 330102 district; 330100 names the city, 330000 the
  // province. A longer zone code (township, 12 digits) lies in its first six.
  std::string_view prefix = geocode;
  while (prefix.size() > 2 && prefix.substr(prefix.size() - 2) == "00") prefix.remove_suffix(2);
  return zone_code.substr(0, prefix.size()) == prefix;
}

std::string WarningIntake::AlertKey(std::string_view sender, std::string_view root,
                                    std::string_view zone_id) {
  return "cap:" + std::string(sender) + ":" + std::string(root) + ":" + std::string(zone_id);
}

std::vector<alerts::AlertSpec> WarningIntake::SpecsFor(
    const CapAlert& alert, const std::string& sender, const std::string& root,
    const std::vector<stream::ZoneStatus>& zones,
    const std::map<std::string, std::string>& area_codes) {
  std::vector<alerts::AlertSpec> out;
  for (const stream::ZoneStatus& zs : zones) {
    const stream::Zone& zone = zs.zone;
    auto code_it = area_codes.find(zone.id);
    const std::string* code = code_it != area_codes.end() ? &code_it->second : nullptr;
    // The most severe covering info per language (zh, en), and over all.
    const CapInfo* zh = nullptr;
    const CapInfo* en = nullptr;
    const CapInfo* any = nullptr;
    int level = 5;
    auto better = [](const CapInfo* have, const CapInfo& i) {
      return have == nullptr ||
             alerts::CapSeverityLevel(i.severity) < alerts::CapSeverityLevel(have->severity);
    };
    for (const CapInfo& i : alert.infos) {
      if (!InfoCovers(i, zone, code)) continue;
      level = std::min(level, alerts::CapSeverityLevel(i.severity));
      const std::string lang = Lower(i.language);
      if (lang.rfind("zh", 0) == 0 && better(zh, i)) zh = &i;
      if (lang.rfind("en", 0) == 0 && better(en, i)) en = &i;
      if (better(any, i)) any = &i;
    }
    if (any == nullptr) continue;
    if (zh == nullptr) zh = en != nullptr ? en : any;
    if (en == nullptr) en = zh;
    alerts::AlertSpec s;
    s.key = AlertKey(sender, root, zone.id);
    s.category = Category(*en);
    s.event = en->event;
    s.level = level;
    s.zone_id = zone.id;
    s.headline = {zh->headline.empty() ? zh->event : zh->headline,
                  en->headline.empty() ? en->event : en->headline};
    auto source = [&](const CapInfo& i, const char* issued, const char* area, std::string_view sep) {
      std::string out = i.description;
      const std::string by = i.sender_name.empty() ? alert.sender : i.sender_name;
      const std::string where = AreaDescs(i, zone, code, sep);
      out += (out.empty() ? "" : "\n") + std::string(issued) + by;
      if (!where.empty()) out += std::string(area) + where;
      return out;
    };
    s.description = {source(*zh, "发布：", "；预警区域：", "、"),
                     source(*en, "Issued by: ", "; warning area: ", "; ")};
    s.instruction = {zh->instruction, en->instruction};
    s.area = zone.area;
    s.area_desc = {stream::ZoneName(zone, "zh-CN"), stream::ZoneName(zone, "en")};
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, std::string> WarningIntake::AreaCodes(
    const std::vector<stream::ZoneStatus>& zones) const {
  std::map<std::string, std::string> out;
  if (broker_ == nullptr) return out;
  for (const stream::ZoneStatus& z : zones) {
    context::EntityPtr e = broker_->Get(z.zone.id);
    const context::Attribute* a = e != nullptr ? e->Find("areaCode") : nullptr;
    if (a == nullptr) continue;
    if (a->value.is_string()) out[z.zone.id] = a->value.as_string();
    if (a->value.is_int()) out[z.zone.id] = std::to_string(a->value.as_int());
  }
  return out;
}

Status WarningIntake::Load() {
  if (store_ == nullptr) return Status::Ok();
  Status failed;
  std::lock_guard<std::mutex> lock(mu_);
  CB_RETURN_IF_ERROR(store_->ScanRecords(kRecordKind, [&](store::Record&& r) {
    auto json = ParseJson(r.doc);
    auto w = json.ok() ? WarningFromJson(*json) : Result<Warning>(json.status());
    if (!w.ok()) {
      if (failed.ok()) failed = Status::Internal("warning " + r.key + ": " + w.status().message());
      return;
    }
    const std::string key = MessageKey(w->sender, w->root);
    for (const std::string& m : w->messages) message_index_[MessageKey(w->sender, m)] = key;
    warnings_[key] = std::move(w).value();
  }));
  return failed;
}

void WarningIntake::Start() {
  expiry_clock_.Start(options_.tick_ms, [this] { ExpireDue(clock_->Now()); });
}

void WarningIntake::Stop() { expiry_clock_.Stop(); }

void WarningIntake::PersistLocked(const Warning& w) {
  if (store_ == nullptr) return;
  store::WriteBatch b;
  const std::string key = MessageKey(w.sender, w.root);
  b.put_records.push_back(store::Record{std::string(kRecordKind), key, WarningToJson(w).Dump()});
  store_->Submit(std::move(b), [key](const Status& st) {
    if (!st.ok()) spdlog::warn("warning {} not stored: {}", key, st.ToString());
  });
}

void WarningIntake::ForgetLocked(const std::string& key) {
  auto it = warnings_.find(key);
  if (it == warnings_.end()) return;
  for (const std::string& m : it->second.messages) message_index_.erase(MessageKey(it->second.sender, m));
  warnings_.erase(it);
  if (store_ == nullptr) return;
  store::WriteBatch b;
  b.delete_records.push_back(store::Record{std::string(kRecordKind), key, ""});
  store_->Submit(std::move(b), [key](const Status& st) {
    if (!st.ok()) spdlog::warn("warning {} not forgotten: {}", key, st.ToString());
  });
}

WarningIntake::Warning& WarningIntake::WarningForLocked(const CapAlert& alert) {
  std::string key = MessageKey(alert.sender, alert.identifier);
  std::string sender = alert.sender, root = alert.identifier;
  if (alert.msg_type != "Alert") {
    const alerts::CapReference& first = alert.references.front();
    key = MessageKey(first.sender, first.identifier);
    sender = first.sender;
    root = first.identifier;
    for (const alerts::CapReference& r : alert.references) {
      auto known = message_index_.find(MessageKey(r.sender, r.identifier));
      if (known != message_index_.end()) {
        key = known->second;
        break;
      }
    }
  }
  auto [it, created] = warnings_.try_emplace(key);
  if (created) {
    it->second.sender = sender;
    it->second.root = root;
  }
  return it->second;
}

void WarningIntake::ResolveLocked(const Warning& w, const std::vector<std::string>& zones,
                                  TimeMs now, std::vector<std::string>* resolved) {
  for (const std::string& zone : zones) {
    if (auto a = book_->ResolveKey(AlertKey(w.sender, w.root, zone), now)) {
      resolved->push_back(a->id);
    }
  }
}

void WarningIntake::EndLocked(Warning& w, const std::string& state, TimeMs now,
                              std::vector<std::string>* resolved) {
  ResolveLocked(w, w.zones, now, resolved);
  w.zones.clear();
  w.state = state;
  w.ended_at = now;
}

Status WarningIntake::ApplyLocked(const CapAlert& alert, Warning& w, TimeMs now,
                                  CapIntakeReport* report) {
  std::vector<stream::ZoneStatus> zones = engine_ != nullptr ? engine_->AllZones()
                                                             : std::vector<stream::ZoneStatus>{};
  bool geocodes = false;
  for (const CapInfo& i : alert.infos) {
    for (const alerts::CapArea& a : i.areas) geocodes = geocodes || !a.geocodes.empty();
  }
  const std::vector<alerts::AlertSpec> specs =
      SpecsFor(alert, w.sender, w.root, zones, geocodes ? AreaCodes(zones) : std::map<std::string, std::string>{});
  std::set<std::string> covered;
  Status failed;
  for (const alerts::AlertSpec& s : specs) {
    auto a = book_->Raise(s, now);
    if (!a.ok()) {
      if (failed.ok()) failed = a.status();
      continue;
    }
    covered.insert(s.zone_id);
    report->zones.push_back(s.zone_id);
    (a->occurrences == 1 ? report->raised : report->updated).push_back(a->id);
  }
  std::vector<std::string> uncovered;
  for (const std::string& zone : w.zones) {
    if (covered.count(zone) == 0) uncovered.push_back(zone);
  }
  ResolveLocked(w, uncovered, now, &report->resolved);
  w.zones.assign(covered.begin(), covered.end());
  w.expires = ExpiresOf(alert);
  w.state = "active";
  w.ended_at = kNoTime;
  if (covered.empty()) {
    report->reason = "its areas cover none of the " + std::to_string(zones.size()) + " zones";
  }
  return failed;
}

Result<CapIntakeReport> WarningIntake::Receive(const CapAlert& alert, std::string_view via) {
  const TimeMs now = clock_->Now();
  CapIntakeReport r;
  r.identifier = alert.identifier;
  r.sender = alert.sender;
  r.sent = alert.sent_text;
  r.status = alert.status;
  r.msg_type = alert.msg_type;
  r.via = std::string(via);
  r.received_at = now;
  auto finish = [&](std::string outcome, std::string reason) {
    r.outcome = std::move(outcome);
    if (!reason.empty()) r.reason = std::move(reason);
    Report(r);
    return r;
  };
  if (alert.status != "Actual") {
    return finish("ignored", "status " + alert.status + ": not an actual warning");
  }
  if (alert.msg_type == "Ack" || alert.msg_type == "Error") {
    return finish("ignored", "msgType " + alert.msg_type + ": a reply about a message, not a warning");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string message = MessageKey(alert.sender, alert.identifier);
  if (auto known = message_index_.find(message); known != message_index_.end()) {
    return finish("duplicate", "taken in before, as part of warning " + known->second);
  }
  Warning& w = WarningForLocked(alert);
  const std::string key = MessageKey(w.sender, w.root);
  w.messages.push_back(alert.identifier);
  message_index_[message] = key;
  if (w.latest_sent != kNoTime && alert.sent < w.latest_sent) {
    PersistLocked(w);
    return finish("superseded", "a later message of warning " + key + " was taken in before");
  }
  w.latest_sent = alert.sent;
  std::string outcome = "applied";
  const TimeMs expires = ExpiresOf(alert);
  Status st;
  if (alert.msg_type == "Cancel") {
    EndLocked(w, "cancelled", now, &r.resolved);
  } else if (expires != kNoTime && expires <= now) {
    EndLocked(w, "expired", now, &r.resolved);
    outcome = "expired";
    r.reason = "it expired at " + FormatIso8601(expires) + ", before it arrived";
  } else {
    st = ApplyLocked(alert, w, now, &r);
  }
  PersistLocked(w);
  if (!st.ok()) return st;
  return finish(outcome, "");
}

void WarningIntake::Report(CapIntakeReport report) {
  if (auto c = outcomes_.find(report.outcome); c != outcomes_.end()) c->second->Inc();
  spdlog::info("warning {} from {} ({}, via {}): {}{}{}", report.identifier, report.sender,
               report.msg_type, report.via, report.outcome, report.reason.empty() ? "" : ": ",
               report.reason);
  std::lock_guard<std::mutex> lock(recent_mu_);
  recent_.push_front(std::move(report));
  if (recent_.size() > options_.recent_reports) recent_.pop_back();
}

std::vector<CapIntakeReport> WarningIntake::Recent(size_t limit) const {
  std::lock_guard<std::mutex> lock(recent_mu_);
  return std::vector<CapIntakeReport>(recent_.begin(),
                                      recent_.begin() + std::min(limit, recent_.size()));
}

size_t WarningIntake::ExpireDue(TimeMs now) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t expired = 0;
  std::vector<std::string> forget;
  for (auto& [key, w] : warnings_) {
    if (w.state == "active" && w.expires != kNoTime && w.expires <= now) {
      std::vector<std::string> resolved;
      EndLocked(w, "expired", now, &resolved);
      PersistLocked(w);
      ++expired;
      spdlog::info("warning {} expired: {} alerts resolved", key, resolved.size());
    } else if (w.state != "active" && w.ended_at != kNoTime &&
               now - w.ended_at > options_.keep_ended_ms) {
      forget.push_back(key);
    }
  }
  for (const std::string& key : forget) ForgetLocked(key);
  return expired;
}

}  // namespace cb::app
