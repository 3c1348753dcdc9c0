#include "app/alerting.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <memory>
#include <set>

#include "context/ngsi_json.h"

namespace cb::app {
namespace {

// The zone's name in one language (its id when it has none; `fallback` without a zone).
std::string NameIn(const stream::Zone* zone, const char* lang, const std::string& fallback) {
  return zone != nullptr ? stream::ZoneName(*zone, lang) : fallback;
}

std::string Count(double v) { return std::to_string(static_cast<int64_t>(std::llround(v))); }

}  // namespace

alerts::AlertSpec TierAlertBridge::SpecFor(const stream::LevelChange& c, const stream::Zone* zone,
                                           const stream::TierPlan* plan) {
  alerts::AlertSpec s;
  s.key = "tier:" + c.zone_id;
  s.category = "crowd";
  s.level = std::clamp(c.to, 1, 4);
  s.zone_id = c.zone_id;
  const std::string zh = NameIn(zone, "zh-CN", c.zone_id), en = NameIn(zone, "en", c.zone_id);
  const std::string level_zh = c.level != nullptr ? c.level->name.zh_cn : "";
  const std::string level_en = c.level != nullptr ? c.level->name.en : "";
  s.event = "Crowd " + level_en;
  s.headline = {zh + "：" + level_zh, en + ": " + level_en};
  const std::string plan_zh = plan != nullptr ? plan->name().zh_cn : c.plan_id;
  const std::string plan_en = plan != nullptr ? plan->name().en : c.plan_id;
  s.description = {"区域内约 " + Count(c.value) + " 人（" + plan_zh + "）。",
                   "About " + Count(c.value) + " people in the zone (" + plan_en + ")."};
  if (c.level != nullptr) {
    s.instruction = {c.level->actions.zh_cn, c.level->actions.en};
    s.departments = c.level->departments;
  }
  s.area_desc = {zh, en};
  if (zone != nullptr) s.area = zone->area;
  return s;
}

void TierAlertBridge::OnLevelChange(const stream::LevelChange& c) {
  if (c.to == 0) {
    book_->ResolveKey("tier:" + c.zone_id, c.at);
    return;
  }
  std::optional<stream::ZoneStatus> zone = engine_->ZoneState(c.zone_id);
  auto raised = book_->Raise(SpecFor(c, zone ? &zone->zone : nullptr, engine_->Plan(c.plan_id)), c.at);
  if (!raised.ok()) spdlog::warn("tier alert for {} not raised: {}", c.zone_id, raised.status().ToString());
}

alerts::AlertSpec DeviceAlertBridge::SpecFor(const stream::DeviceHealthChange& c) {
  alerts::AlertSpec s;
  s.key = "device:" + c.device_id;
  s.category = "device";
  s.event = "Device silent";
  s.level = 4;
  const std::string minutes = std::to_string((c.at - c.last_reading) / 60000);
  const std::string every = std::to_string(c.interval_ms / 1000);
  s.headline = {"设备无数据：" + c.device_id, "Device silent: " + c.device_id};
  s.description = {"已 " + minutes + " 分钟没有收到读数（通常每 " + every + " 秒一次）。",
                   "No reading for " + minutes + " min (usually every " + every + " s)."};
  s.instruction = {"检查设备供电与网络；修复前其读数不计入区域指数。",
                   "Check the device's power and network; until then its readings are left out "
                   "of the zone figures."};
  s.departments = {"运维 Operations"};
  s.area_desc = {c.device_id, c.device_id};
  return s;
}

void DeviceAlertBridge::OnDeviceHealth(const stream::DeviceHealthChange& c) {
  if (!c.silent) {
    book_->ResolveKey("device:" + c.device_id, c.at);
    return;
  }
  auto raised = book_->Raise(SpecFor(c), c.at);
  if (!raised.ok()) {
    spdlog::warn("device alert for {} not raised: {}", c.device_id, raised.status().ToString());
  }
}

std::string RuleAlertBridge::KeyFor(const std::string& rule_id, const std::string& entity_id) {
  return "rule:" + rule_id + ":" + entity_id;
}

alerts::AlertSpec RuleAlertBridge::SpecFor(const stream::Rule& rule, const stream::RuleEvent& e,
                                           const stream::Zone* zone) {
  alerts::AlertSpec s;
  s.key = KeyFor(rule.id, e.entity_id);
  s.category = rule.category;
  s.event = rule.name.en;
  s.level = std::clamp(rule.severity, 1, 4);
  s.zone_id = rule.zone_id;
  s.headline = {rule.name.zh_cn + "：" + e.entity_id, rule.name.en + ": " + e.entity_id};
  s.description = {e.reason_zh, e.reason_en};
  s.instruction = {rule.actions.zh_cn, rule.actions.en};
  s.departments = rule.departments;
  if (zone != nullptr) {
    s.area = zone->area;
    s.area_desc = {NameIn(zone, "zh-CN", zone->id), NameIn(zone, "en", zone->id)};
  } else {
    s.area_desc = {e.entity_id, e.entity_id};
  }
  s.deescalate_after_ms = rule.deescalate_after_ms;
  s.case_category = rule.case_category;
  s.location = e.location;
  return s;
}

void RuleAlertBridge::OnRuleEvent(const stream::Rule& rule, const stream::RuleEvent& e) {
  if (!e.firing) {
    book_->ResolveKey(KeyFor(rule.id, e.entity_id), e.at);
    return;
  }
  std::optional<stream::ZoneStatus> zone;
  if (!rule.zone_id.empty() && situation_ != nullptr) zone = situation_->ZoneState(rule.zone_id);
  auto raised = book_->Raise(SpecFor(rule, e, zone ? &zone->zone : nullptr), e.at);
  if (!raised.ok()) {
    spdlog::warn("rule {} alert for {} not raised: {}", rule.id, e.entity_id,
                 raised.status().ToString());
  }
}

void RuleAlertBridge::Reconcile(const stream::RuleEngine& rules, TimeMs now) {
  std::set<std::string> firing;
  for (const stream::RuleStatus& r : rules.List()) {
    for (const auto& f : r.firing) firing.insert(KeyFor(r.rule.id, f.entity_id));
  }
  for (const alerts::Alert& a : book_->List(true)) {
    if (a.spec.key.rfind("rule:", 0) == 0 && firing.count(a.spec.key) == 0) {
      book_->ResolveKey(a.spec.key, now);
    }
  }
}

namespace {

// Smart Data Models Alert categories and severities for CityBrain's.
std::pair<const char*, const char*> SdmCategory(const std::string& category) {
  if (category == "crowd") return {"security", "crowdRisk"};
  if (category == "parking") return {"traffic", ""};
  if (category == "weather") return {"weather", ""};
  if (category == "environment") return {"environment", ""};
  if (category == "health") return {"health", ""};
  return {"", ""};
}

const char* SdmSeverity(int level) {
  switch (level) {
    case 1: return "critical";
    case 2: return "high";
    case 3: return "medium";
    default: return "low";
  }
}

JsonValue Prop(JsonValue v) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("type", "Property");
  o.Set("value", std::move(v));
  return o;
}

// A LanguageProperty of zh-CN and en; a missing language takes the other's text.
std::optional<JsonValue> Lang(const alerts::Texts& t) {
  if (t.zh_cn.empty() && t.en.empty()) return std::nullopt;
  JsonValue map = JsonValue::MakeObject();
  map.Set("zh-CN", t.zh_cn.empty() ? t.en : t.zh_cn);
  map.Set("en", t.en.empty() ? t.zh_cn : t.en);
  JsonValue o = JsonValue::MakeObject();
  o.Set("type", "LanguageProperty");
  o.Set("languageMap", std::move(map));
  return o;
}

}  // namespace

JsonValue AlertEntityWriter::EntityFor(const alerts::Alert& a, const alerts::AlertOptions& options) {
  const alerts::AlertSpec& s = a.spec;
  JsonValue e = JsonValue::MakeObject();
  e.Set("id", a.id);
  e.Set("type", "Alert");
  const auto [category, sub] = SdmCategory(s.category);
  e.Set("category", Prop(*category != '\0' ? std::string(category) : s.category));
  if (*sub != '\0') e.Set("subCategory", Prop(sub));
  e.Set("alertCategory", Prop(s.category));
  const std::string source = !s.zone_id.empty() ? s.zone_id : s.key.substr(s.key.find(':') + 1);
  e.Set("alertSource", Prop(source));
  e.Set("dateIssued", Prop(FormatIso8601(a.raised_at)));
  e.Set("validFrom", Prop(FormatIso8601(a.raised_at)));
  if (a.state == alerts::AlertState::kResolved) e.Set("validTo", Prop(FormatIso8601(a.updated_at)));
  e.Set("description", Prop(s.description.en.empty() ? s.headline.en : s.description.en));
  e.Set("severity", Prop(SdmSeverity(s.level)));
  e.Set("alertLevel", Prop(std::string(alerts::LevelName(s.level))));
  e.Set("alertColor", Prop(std::string(alerts::LevelColor(s.level))));
  e.Set("alertState", Prop(std::string(alerts::AlertStateName(a.state))));
  if (auto h = Lang(s.headline)) e.Set("headline", std::move(*h));
  if (auto i = Lang(s.instruction)) e.Set("instruction", std::move(*i));
  if (!s.departments.empty()) {
    JsonValue deps = JsonValue::MakeArray();
    for (const std::string& d : s.departments) deps.Push(d);
    e.Set("departments", Prop(std::move(deps)));
  }
  if (a.escalation_step < static_cast<int>(options.escalation.size())) {
    const alerts::EscalationStep& step = options.escalation[static_cast<size_t>(a.escalation_step)];
    e.Set("escalationRole", Prop(step.role.en));
    e.Set("escalationChannel", Prop(step.channel));
  }
  e.Set("occurrences", Prop(static_cast<int64_t>(a.occurrences)));
  e.Set("capIdentifier", Prop(a.identifier));
  if (s.zone_id.rfind("urn:", 0) == 0) {
    JsonValue rel = JsonValue::MakeObject();
    rel.Set("type", "Relationship");
    rel.Set("object", s.zone_id);
    e.Set("refZone", std::move(rel));
  }
  if (s.area) {
    JsonValue loc = JsonValue::MakeObject();
    loc.Set("type", "GeoProperty");
    loc.Set("value", geo::GeometryToGeoJson(*s.area));
    e.Set("location", std::move(loc));
  }
  return e;
}

void AlertEntityWriter::Write(const alerts::Alert& alert) {
  auto entity = context::ParseEntity(EntityFor(alert, book_->options()));
  if (!entity.ok()) {
    spdlog::warn("alert {}: its Alert entity is not valid: {}", alert.id, entity.status().ToString());
    return;
  }
  std::vector<context::WriteOp> ops(1);
  ops[0].kind = context::WriteOp::Kind::kUpsertReplace;
  ops[0].entity = std::move(entity).value();
  broker_->Write(std::move(ops), [id = alert.id](Status st, std::vector<context::WriteOutcome> out) {
    if (st.ok() && !out.empty()) st = out[0].status;
    if (!st.ok()) spdlog::warn("alert {}: Alert entity not written: {}", id, st.ToString());
  });
}

void AlertEntityWriter::OnAlert(const alerts::Alert& alert, const std::string&) {
  // The book's state now, not the snapshot: changes told on different threads may arrive
  // out of order, and the last write must leave the latest state.
  std::optional<alerts::Alert> now = book_->Get(alert.id);
  Write(now ? *now : alert);
}

void AlertEntityWriter::WriteOpen() {
  for (const alerts::Alert& a : book_->List(true)) Write(a);
}

Status EnsureAlertWebhooks(context::SubscriptionManager* subscriptions,
                           const std::vector<std::string>& webhooks) {
  constexpr std::string_view kPrefix = "urn:ngsi-ld:Subscription:alert-webhook-";
  auto wait = [](auto start) {
    auto done = std::make_shared<std::promise<Status>>();
    auto result = done->get_future();
    start(done);
    return result.get();
  };
  // Webhooks of an earlier configuration go first.
  for (const std::string& doc : subscriptions->List(0, SIZE_MAX).docs) {
    auto parsed = ParseJson(doc);
    const JsonValue* id = parsed.ok() ? parsed->Find("id") : nullptr;
    if (id == nullptr || !id->is_string() || id->as_string().rfind(kPrefix, 0) != 0) continue;
    CB_RETURN_IF_ERROR(wait([&](auto done) {
      subscriptions->Delete(id->as_string(), [done](Status st) { done->set_value(st); });
    }));
  }
  for (size_t i = 0; i < webhooks.size(); ++i) {
    std::string url = webhooks[i], channel;
    const size_t eq = url.find('='), scheme = url.find("://");
    if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
      channel = url.substr(0, eq);
      url = url.substr(eq + 1);
    }
    JsonValue body = JsonValue::MakeObject();
    body.Set("id", std::string(kPrefix) + std::to_string(i + 1));
    body.Set("type", "Subscription");
    body.Set("description", "alert webhook (--alert-webhook " + webhooks[i] + ")");
    JsonValue entities = JsonValue::MakeArray();
    JsonValue alert_type = JsonValue::MakeObject();
    alert_type.Set("type", "Alert");
    entities.Push(std::move(alert_type));
    body.Set("entities", std::move(entities));
    if (!channel.empty()) body.Set("q", "escalationChannel==\"" + channel + "\"");
    JsonValue endpoint = JsonValue::MakeObject();
    endpoint.Set("uri", url);
    endpoint.Set("accept", "application/json");
    JsonValue notification = JsonValue::MakeObject();
    notification.Set("endpoint", std::move(endpoint));
    body.Set("notification", std::move(notification));
    Status st = wait([&](auto done) {
      subscriptions->Create(body, [done](Result<std::string> r) { done->set_value(r.status()); });
    });
    if (!st.ok()) {
      return Status::BadRequestData("--alert-webhook " + webhooks[i] + ": " + st.message());
    }
  }
  return Status::Ok();
}

}  // namespace cb::app
