#include "stream/rules.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "stream/config_json.h"
#include "stream/situation_engine.h"

namespace cb::stream {
namespace {

constexpr std::string_view kWhat = "rule";
constexpr std::string_view kRecordKind = "rule";
constexpr int kMaxDepth = 8;

Status Bad(const std::string& message) { return config::Bad(kWhat, message); }

struct OpName {
  CompareOp op;
  const char* text;
};
constexpr OpName kOps[] = {{CompareOp::kLt, "<"},  {CompareOp::kLe, "<="}, {CompareOp::kGt, ">"},
                           {CompareOp::kGe, ">="}, {CompareOp::kEq, "=="}, {CompareOp::kNe, "!="}};

const char* OpText(CompareOp op) {
  for (const OpName& o : kOps) {
    if (o.op == op) return o.text;
  }
  return "?";
}

bool Compare(double a, CompareOp op, double b) {
  switch (op) {
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
  }
  return false;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// {"attribute", "op", "value"} of a threshold or rate-of-change condition.
Status ParseComparison(const JsonValue& v, const std::string& where, bool strings_allowed,
                       RuleCondition* c) {
  auto attr = config::RequiredString(kWhat, v, "attribute", where);
  if (!attr.ok()) return attr.status();
  c->attribute = std::move(attr).value();
  const JsonValue* op = v.Find("op");
  bool known = false;
  if (op != nullptr && op->is_string()) {
    for (const OpName& o : kOps) {
      if (op->as_string() == o.text) {
        c->op = o.op;
        known = true;
      }
    }
  }
  if (!known) return Bad(where + "op must be one of <, <=, >, >=, ==, !=");
  const JsonValue* value = v.Find("value");
  const bool eq = c->op == CompareOp::kEq || c->op == CompareOp::kNe;
  if (value != nullptr && value->is_number() && std::isfinite(value->as_double())) {
    c->value = value->as_double();
  } else if (value != nullptr && value->is_string() && strings_allowed && eq) {
    c->value = value->as_string();
  } else {
    return Bad(where + "value must be a finite number" +
               (strings_allowed ? std::string(" (or a string with == and !=)") : std::string()));
  }
  return Status::Ok();
}

Status ParseCondition(const JsonValue& v, const std::string& where, int depth, RuleCondition* c) {
  if (depth > kMaxDepth) return Bad(where + "conditions nest deeper than 8");
  if (!v.is_object()) return Bad(where + " must be an object");
  const char* kinds[] = {"all", "any", "rateOfChange", "silentFor", "attribute"};
  int found = 0;
  for (const char* k : kinds) found += v.Find(k) != nullptr ? 1 : 0;
  if (found != 1) {
    return Bad(where + " must be exactly one of: a threshold {attribute, op, value}, "
               "{rateOfChange: {...}}, {silentFor: k}, {all: [...]}, {any: [...]}");
  }
  for (const char* group : {"all", "any"}) {
    const JsonValue* list = v.Find(group);
    if (list == nullptr) continue;
    if (!list->is_array() || list->as_array().empty()) {
      return Bad(where + group + " must be a non-empty array of conditions");
    }
    c->kind = std::string_view(group) == "all" ? RuleCondition::Kind::kAll : RuleCondition::Kind::kAny;
    for (size_t i = 0; i < list->as_array().size(); ++i) {
      RuleCondition child;
      CB_RETURN_IF_ERROR(ParseCondition(list->as_array()[i],
                                        where + group + "[" + std::to_string(i) + "].", depth + 1,
                                        &child));
      c->children.push_back(std::move(child));
    }
    return Status::Ok();
  }
  if (const JsonValue* r = v.Find("rateOfChange")) {
    const std::string at = where + "rateOfChange.";
    if (!r->is_object()) return Bad(at + " must be an object");
    c->kind = RuleCondition::Kind::kRateOfChange;
    CB_RETURN_IF_ERROR(ParseComparison(*r, at, false, c));
    double window_s = 0;
    if (r->Find("withinSeconds") == nullptr) return Bad(at + "withinSeconds is required");
    CB_RETURN_IF_ERROR(config::OptionalNumber(kWhat, *r, "withinSeconds", 1, 86400, &window_s));
    c->window_ms = static_cast<int64_t>(std::llround(window_s * 1000));
    return Status::Ok();
  }
  if (const JsonValue* k = v.Find("silentFor")) {
    if (!k->is_number() || !(k->as_double() >= 1.5) || !(k->as_double() <= 100)) {
      return Bad(where + "silentFor must be a number from 1.5 to 100 (multiples of the device's "
                 "reporting interval)");
    }
    c->kind = RuleCondition::Kind::kSilent;
    c->silent_factor = k->as_double();
    return Status::Ok();
  }
  c->kind = RuleCondition::Kind::kThreshold;
  return ParseComparison(v, where, true, c);
}

JsonValue ConditionToJson(const RuleCondition& c) {
  JsonValue o = JsonValue::MakeObject();
  switch (c.kind) {
    case RuleCondition::Kind::kAll:
    case RuleCondition::Kind::kAny: {
      JsonValue list = JsonValue::MakeArray();
      for (const RuleCondition& child : c.children) list.Push(ConditionToJson(child));
      o.Set(c.kind == RuleCondition::Kind::kAll ? "all" : "any", std::move(list));
      break;
    }
    case RuleCondition::Kind::kSilent: o.Set("silentFor", c.silent_factor); break;
    case RuleCondition::Kind::kRateOfChange: {
      JsonValue r = JsonValue::MakeObject();
      r.Set("attribute", c.attribute);
      r.Set("op", OpText(c.op));
      r.Set("value", c.value);
      r.Set("withinSeconds", static_cast<double>(c.window_ms) / 1000.0);
      o.Set("rateOfChange", std::move(r));
      break;
    }
    case RuleCondition::Kind::kThreshold:
      o.Set("attribute", c.attribute);
      o.Set("op", OpText(c.op));
      o.Set("value", c.value);
      break;
  }
  return o;
}

void CollectAttributes(const RuleCondition& c, std::set<std::string>* out, int64_t* max_window,
                       std::set<std::string>* rate, double* silent) {
  if (!c.attribute.empty()) out->insert(c.attribute);
  if (c.kind == RuleCondition::Kind::kRateOfChange) {
    rate->insert(c.attribute);
    *max_window = std::max(*max_window, c.window_ms);
  }
  if (c.kind == RuleCondition::Kind::kSilent) *silent = std::max(*silent, c.silent_factor);
  for (const RuleCondition& child : c.children) {
    CollectAttributes(child, out, max_window, rate, silent);
  }
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

// The entity's place: its location's first point and its refZone.
void PlaceOf(const context::Entity& e, const void** geometry, std::optional<geo::LonLat>* at,
             std::string* ref) {
  if (const context::Attribute* l = e.Find("location"); l != nullptr && l->geometry != nullptr) {
    *geometry = l->geometry.get();
    *at = l->geometry->FirstPoint();
  }
  if (const context::Attribute* r = e.Find("refZone");
      r != nullptr && r->kind == context::AttrKind::kRelationship && r->value.is_string()) {
    *ref = r->value.as_string();
  }
}

}  // namespace

Result<Rule> Rule::FromJson(const JsonValue& v) {
  if (!v.is_object()) return Bad("a rule must be a JSON object");
  Rule r;
  auto id = config::RequiredString(kWhat, v, "id", "");
  if (!id.ok()) return id.status();
  r.id = std::move(id).value();
  if (!ValidId(r.id)) {
    // No ':' so that alert keys "rule:<rule>:<entity>" split at the first one.
    return Bad("id must be 1–128 characters of letters, digits, '-', '_' or '.'");
  }
  auto name = config::RequiredText(kWhat, v, "name", "");
  if (!name.ok()) return name.status();
  r.name = std::move(name).value();
  auto type = config::RequiredString(kWhat, v, "entityType", "");
  if (!type.ok()) return type.status();
  r.entity_type = std::move(type).value();
  if (r.entity_type == "Alert") {
    return Bad("entityType Alert is not allowed: alerts would raise alerts about themselves");
  }
  if (const JsonValue* z = v.Find("zone")) {
    if (!z->is_string() || z->as_string().empty()) return Bad("zone must be the id of a Zone");
    r.zone_id = z->as_string();
  }
  const JsonValue* when = v.Find("when");
  if (when == nullptr) return Bad("when (the condition) is required");
  CB_RETURN_IF_ERROR(ParseCondition(*when, "when.", 0, &r.when));
  const JsonValue* sev = v.Find("severity");
  if (sev == nullptr) return Bad("severity is required: I, II, III or IV (or 1–4)");
  static const char* kLevels[] = {"I", "II", "III", "IV"};
  r.severity = 0;
  if (sev->is_int() && sev->as_int() >= 1 && sev->as_int() <= 4) {
    r.severity = static_cast<int>(sev->as_int());
  } else if (sev->is_string()) {
    for (int i = 0; i < 4; ++i) {
      if (sev->as_string() == kLevels[i]) r.severity = i + 1;
    }
  }
  if (r.severity == 0) return Bad("severity must be I, II, III or IV (or 1–4)");
  if (const JsonValue* c = v.Find("category")) {
    if (!c->is_string() || c->as_string().empty()) return Bad("category must be a non-empty string");
    r.category = c->as_string();
  }
  double quiet_s = 0, deescalate_s = 0;
  CB_RETURN_IF_ERROR(config::OptionalNumber(kWhat, v, "quietPeriodSeconds", 0, 7 * 86400, &quiet_s));
  CB_RETURN_IF_ERROR(
      config::OptionalNumber(kWhat, v, "deEscalateAfterSeconds", 0, 7 * 86400, &deescalate_s));
  if (deescalate_s > 0 && deescalate_s < 60) {
    return Bad("deEscalateAfterSeconds must be 0 (never) or at least 60");
  }
  r.quiet_period_ms = static_cast<int64_t>(std::llround(quiet_s * 1000));
  r.deescalate_after_ms = static_cast<int64_t>(std::llround(deescalate_s * 1000));
  if (v.Find("actions") != nullptr) {
    auto actions = config::RequiredText(kWhat, v, "actions", "");
    if (!actions.ok()) return actions.status();
    r.actions = std::move(actions).value();
  }
  CB_RETURN_IF_ERROR(config::OptionalNames(kWhat, v, "departments", "", &r.departments));
  if (const JsonValue* cc = v.Find("caseCategory")) {
    if (!cc->is_string() || cc->as_string().empty() || cc->as_string().size() > 64) {
      return Bad("caseCategory must be a case category code");
    }
    r.case_category = cc->as_string();
  }
  return r;
}

JsonValue Rule::ToJson() const {
  JsonValue o = JsonValue::MakeObject();
  o.Set("id", id);
  o.Set("name", config::TextToJson(name));
  o.Set("entityType", entity_type);
  if (!zone_id.empty()) o.Set("zone", zone_id);
  o.Set("when", ConditionToJson(when));
  static const char* kLevels[] = {"I", "II", "III", "IV"};
  o.Set("severity", kLevels[std::clamp(severity, 1, 4) - 1]);
  o.Set("category", category);
  o.Set("quietPeriodSeconds", static_cast<double>(quiet_period_ms) / 1000.0);
  o.Set("deEscalateAfterSeconds", static_cast<double>(deescalate_after_ms) / 1000.0);
  if (!actions.en.empty()) o.Set("actions", config::TextToJson(actions));
  if (!departments.empty()) o.Set("departments", config::NamesToJson(departments));
  if (!case_category.empty()) o.Set("caseCategory", case_category);
  o.Set("source", source);
  return o;
}

std::vector<std::string> Rule::Attributes() const {
  std::set<std::string> attrs, rate;
  int64_t window = 0;
  double silent = 0;
  CollectAttributes(when, &attrs, &window, &rate, &silent);
  return {attrs.begin(), attrs.end()};
}

double Rule::SilentFactor() const {
  std::set<std::string> attrs, rate;
  int64_t window = 0;
  double silent = 0;
  CollectAttributes(when, &attrs, &window, &rate, &silent);
  return silent;
}

RuleEngine::RuleEngine(context::ContextBroker* broker, const SituationEngine* situation,
                       store::Store* store, const Clock* clock, int64_t tick_ms)
    : broker_(broker), situation_(situation), store_(store), clock_(clock), tick_ms_(tick_ms) {}

RuleEngine::~RuleEngine() { Stop(); }

Status RuleEngine::Start(std::vector<Rule> file_rules, bool run_thread) {
  std::vector<Rule> stored;
  if (store_ != nullptr) {
    Status parse = Status::Ok();
    CB_RETURN_IF_ERROR(store_->ScanRecords(kRecordKind, [&](store::Record&& rec) {
      auto doc = ParseJson(rec.doc);
      auto rule = doc.ok() ? Rule::FromJson(*doc) : Result<Rule>(doc.status());
      if (!rule.ok()) {
        parse = Status::Internal("stored rule " + rec.key + ": " + rule.status().message());
        return;
      }
      rule->source = "api";
      stored.push_back(std::move(rule).value());
    }));
    CB_RETURN_IF_ERROR(parse);
  }
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Rule& r : file_rules) {
      r.source = "file";
      if (rules_.count(r.id) != 0) return Bad(r.id + " is defined twice");
      if (!r.zone_id.empty() && (situation_ == nullptr || !situation_->HasZone(r.zone_id))) {
        return Bad(r.id + ": zone " + r.zone_id + " is not a defined Zone");
      }
      InstallLocked(std::move(r));
    }
    for (Rule& r : stored) {
      if (rules_.count(r.id) != 0) {
        spdlog::warn("rule {}: a file now defines it; the stored definition is not used", r.id);
        continue;
      }
      InstallLocked(std::move(r));
    }
  }
  broker_->AddListener(this);
  // The city as it is: every rule looks at the entities of its type held now.
  std::map<std::string, std::vector<context::EntityPtr>> by_type;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [type, ids] : by_type_) by_type[type];
  }
  for (auto& [type, entities] : by_type) {
    auto found = EntitiesOf(type);
    if (!found.ok()) return found.status();
    entities = std::move(found).value();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimeMs now = clock_->Now();
    for (auto& [id, e] : rules_) {
      for (const context::EntityPtr& entity : by_type[e.rule.entity_type]) {
        if (e.watches.count(entity->id) == 0) ObserveLocked(e, entity, nullptr, now, &events);
      }
    }
  }
  Notify(events);
  listening_.store(true);
  spdlog::info("rules: {} from files, {} defined through the API", file_rules.size(), stored.size());
  if (run_thread) ticker_.Start(tick_ms_, [this] { Tick(clock_->Now()); });
  return Status::Ok();
}

void RuleEngine::Stop() {
  ticker_.Stop();
  if (listening_.exchange(false)) broker_->RemoveListener(this);
}

Status RuleEngine::CheckAgainstCity(const Rule& rule, std::vector<std::string>* warnings) const {
  if (!rule.zone_id.empty() && (situation_ == nullptr || !situation_->HasZone(rule.zone_id))) {
    return Bad(rule.id + ": zone " + rule.zone_id + " is not a defined Zone");
  }
  context::EntityQuery any;
  any.types = {rule.entity_type};
  any.limit = 1;
  auto some = broker_->Query(any);
  if (!some.ok()) return some.status();
  if (some->entities.empty()) {
    warnings->push_back("no " + rule.entity_type +
                        " entity exists yet: the attribute names could not be checked");
    return Status::Ok();
  }
  for (const std::string& attr : rule.Attributes()) {
    context::EntityQuery q;
    q.types = {rule.entity_type};
    q.attrs = {attr};
    q.limit = 1;
    auto found = broker_->Query(q);
    if (!found.ok()) return found.status();
    if (found->entities.empty()) {
      std::string known;
      for (const auto& [name, a] : some->entities.front()->attrs) {
        known += (known.empty() ? "" : ", ") + name;
      }
      return Bad(rule.id + ": no " + rule.entity_type + " entity has the attribute " + attr +
                 " (" + some->entities.front()->id + " has: " + known + ")");
    }
  }
  return Status::Ok();
}

Result<RuleEngine::Defined> RuleEngine::Define(Rule rule) {
  rule.source = "api";
  Defined out;
  CB_RETURN_IF_ERROR(CheckAgainstCity(rule, &out.warnings));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rules_.find(rule.id);
    if (it != rules_.end() && it->second.rule.source == "file") {
      return Status::Conflict("rule " + rule.id + " is defined in a rules file; change it there");
    }
    out.created = it == rules_.end();
  }
  if (store_ != nullptr) {
    store::WriteBatch b;
    b.put_records.push_back({std::string(kRecordKind), rule.id, rule.ToJson().Dump()});
    CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  }
  auto entities = EntitiesOf(rule.entity_type);
  if (!entities.ok()) return entities.status();
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimeMs now = clock_->Now();
    DropLocked(rule.id, now, &events);
    Entry& e = InstallLocked(std::move(rule));
    for (const context::EntityPtr& entity : *entities) ObserveLocked(e, entity, nullptr, now, &events);
  }
  Notify(events);
  return out;
}

Status RuleEngine::Remove(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rules_.find(id);
    if (it == rules_.end()) return Status::NotFound("rule " + id + " is not defined");
    if (it->second.rule.source == "file") {
      return Status::Conflict("rule " + id + " is defined in a rules file; remove it there");
    }
  }
  if (store_ != nullptr) {
    store::WriteBatch b;
    b.delete_records.push_back({std::string(kRecordKind), id, ""});
    CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  }
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DropLocked(id, clock_->Now(), &events);
  }
  Notify(events);
  return Status::Ok();
}

Result<std::vector<context::EntityPtr>> RuleEngine::EntitiesOf(const std::string& type) const {
  context::EntityQuery q;
  q.types = {type};
  q.limit = SIZE_MAX;
  auto found = broker_->Query(q);
  if (!found.ok()) return found.status();
  return std::move(found->entities);
}

RuleEngine::Entry& RuleEngine::InstallLocked(Rule rule) {
  Entry e;
  std::set<std::string> attrs;
  double silent = 0;
  CollectAttributes(rule.when, &attrs, &e.max_window_ms, &e.rate_attrs, &silent);
  e.attrs.assign(attrs.begin(), attrs.end());
  if (silent > 0) {
    DeviceHealthOptions o;
    o.silent_factor = silent;
    e.health = std::make_unique<DeviceHealth>(o);
  }
  const std::string id = rule.id;
  by_type_[rule.entity_type].push_back(id);
  shared_[id] = std::make_shared<const Rule>(rule);
  e.rule = std::move(rule);
  return rules_[id] = std::move(e);
}

void RuleEngine::DropLocked(const std::string& id, TimeMs now, Events* events) {
  auto it = rules_.find(id);
  if (it == rules_.end()) return;
  for (const auto& [entity_id, w] : it->second.watches) {
    if (!w.firing) continue;
    RuleEvent ev;
    ev.rule_id = id;
    ev.entity_id = entity_id;
    ev.at = now;
    ev.reason_en = "the rule was changed or removed";
    ev.reason_zh = "规则已修改或删除";
    events->emplace_back(shared_[id], std::move(ev));
  }
  auto& ids = by_type_[it->second.rule.entity_type];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  rules_.erase(it);
}

bool RuleEngine::InScopeLocked(const Entry& e, Watch& w) {
  if (e.rule.zone_id.empty()) return true;
  if (situation_ == nullptr) return false;
  const void* geometry = nullptr;
  std::optional<geo::LonLat> at;
  std::string ref;
  PlaceOf(*w.entity, &geometry, &at, &ref);
  const uint64_t version = situation_->ZonesVersion();
  if (w.scope_version != version || w.scope_geometry != geometry || w.scope_ref != ref) {
    w.in_scope = situation_->Covers(e.rule.zone_id, at, ref);
    w.scope_version = version;
    w.scope_geometry = geometry;
    w.scope_ref = ref;
  }
  return w.in_scope;
}

bool RuleEngine::HoldsLocked(const Entry& e, const RuleCondition& c, const Watch& w,
                             std::string* en, std::string* zh) const {
  auto say = [&](const std::string& text_en, const std::string& text_zh) {
    *en += (en->empty() ? "" : "; ") + text_en;
    *zh += (zh->empty() ? "" : "；") + text_zh;
  };
  switch (c.kind) {
    case RuleCondition::Kind::kAll: {
      std::string e_en, e_zh;
      for (const RuleCondition& child : c.children) {
        if (!HoldsLocked(e, child, w, &e_en, &e_zh)) return false;
      }
      say(e_en, e_zh);
      return true;
    }
    case RuleCondition::Kind::kAny:
      for (const RuleCondition& child : c.children) {
        if (HoldsLocked(e, child, w, en, zh)) return true;
      }
      return false;
    case RuleCondition::Kind::kSilent:
      if (!w.silent) return false;
      say("silent for " + Num(c.silent_factor) + "× its reporting interval",
          "超过 " + Num(c.silent_factor) + " 倍上报间隔无数据");
      return true;
    case RuleCondition::Kind::kRateOfChange: {
      auto s = w.series.find(c.attribute);
      if (s == w.series.end() || s->second.size() < 2) return false;
      const std::deque<Reading>& rs = s->second;
      const Reading& latest = rs.back();
      const TimeMs start = latest.at - c.window_ms;
      const Reading* base = &rs.front();
      for (const Reading& r : rs) {
        if (r.at <= start) base = &r;
      }
      if (base == &latest) return false;
      const double change = latest.value - base->value;
      if (!Compare(change, c.op, c.value.as_double())) return false;
      const std::string secs = Num(static_cast<double>(latest.at - base->at) / 1000.0);
      say(c.attribute + " changed by " + Num(change) + " in " + secs + " s (" + OpText(c.op) + " " +
              Num(c.value.as_double()) + ")",
          c.attribute + " 在 " + secs + " 秒内变化 " + Num(change) + "（" + OpText(c.op) + " " +
              Num(c.value.as_double()) + "）");
      return true;
    }
    case RuleCondition::Kind::kThreshold: {
      const context::Attribute* a = w.entity->Find(c.attribute);
      if (a == nullptr) return false;
      std::string shown;
      bool holds = false;
      if (c.value.is_string()) {
        if (!a->value.is_string()) return false;
        holds = (a->value.as_string() == c.value.as_string()) == (c.op == CompareOp::kEq);
        shown = a->value.as_string();
      } else {
        if (!a->value.is_number()) return false;
        holds = Compare(a->value.as_double(), c.op, c.value.as_double());
        shown = Num(a->value.as_double());
      }
      if (!holds) return false;
      const std::string limit = c.value.is_string() ? c.value.as_string() : Num(c.value.as_double());
      say(c.attribute + " " + shown + " " + OpText(c.op) + " " + limit,
          c.attribute + " " + shown + " " + OpText(c.op) + " " + limit);
      return true;
    }
  }
  return false;
}

void RuleEngine::EvaluateLocked(Entry& e, const std::string& entity_id, Watch& w, TimeMs now,
                                Events* events) {
  ++evaluations_;
  std::string en, zh;
  const bool holds = InScopeLocked(e, w) && HoldsLocked(e, e.rule.when, w, &en, &zh);
  auto event = [&](bool firing) {
    RuleEvent ev;
    ev.rule_id = e.rule.id;
    ev.entity_id = entity_id;
    ev.firing = firing;
    ev.at = now;
    ev.reason_en = firing ? en : "cleared: the condition no longer holds";
    ev.reason_zh = firing ? zh : "已解除：条件不再成立";
    const void* geometry = nullptr;
    std::string ref;
    PlaceOf(*w.entity, &geometry, &ev.location, &ref);
    events->emplace_back(shared_[e.rule.id], std::move(ev));
  };
  if (holds && !w.firing) {
    if (w.cleared_at != kNoTime && now < w.cleared_at + e.rule.quiet_period_ms) {
      if (!w.held) ++e.suppressed;
      w.held = true;
      return;
    }
    w.held = false;
    w.firing = true;
    w.since = now;
    w.reason_en = en;
    ++e.fired;
    event(true);
  } else if (!holds && w.firing) {
    w.firing = false;
    w.cleared_at = now;
    ++e.cleared;
    event(false);
  } else if (!holds) {
    w.held = false;
  } else {
    w.reason_en = en;
  }
}

void RuleEngine::ObserveLocked(Entry& e, const context::EntityPtr& entity,
                               const std::vector<std::string>* attrs, TimeMs now, Events* events) {
  auto written = [&](const std::string& a) {
    return attrs == nullptr || std::find(attrs->begin(), attrs->end(), a) != attrs->end();
  };
  const bool relevant = e.health != nullptr || written("location") || written("refZone") ||
                        std::any_of(e.attrs.begin(), e.attrs.end(), written);
  if (!relevant) return;
  Watch& w = e.watches[entity->id];
  w.entity = entity;
  if (e.health) {
    if (!InScopeLocked(e, w)) return;
    e.health->Reading(entity->id, now);
    w.silent = false;
  }
  for (const std::string& attr : e.rate_attrs) {
    if (!written(attr)) continue;
    const context::Attribute* a = entity->Find(attr);
    if (a == nullptr || !a->value.is_number()) continue;
    const TimeMs at = a->observed_at != kNoTime ? a->observed_at : now;
    std::deque<Reading>& rs = w.series[attr];
    if (!rs.empty() && at <= rs.back().at) continue;  // late or repeated: left out
    rs.push_back({at, a->value.as_double()});
    // Keep one reading at or before the window's start, and those after it.
    while (rs.size() > 2 && rs[1].at <= at - e.max_window_ms) rs.pop_front();
  }
  EvaluateLocked(e, entity->id, w, now, events);
}

void RuleEngine::OnChanges(const std::vector<context::Change>& changes) {
  const TimeMs now = clock_->Now();
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (rules_.empty()) return;
    for (const context::Change& c : changes) {
      for (const std::string& type : c.entity->types) {
        auto ids = by_type_.find(type);
        if (ids == by_type_.end()) continue;
        for (const std::string& id : ids->second) {
          Entry& e = rules_.at(id);
          if (c.kind == context::Change::Kind::kDeleted) {
            auto w = e.watches.find(c.entity->id);
            if (w == e.watches.end()) continue;
            if (w->second.firing) {
              RuleEvent ev;
              ev.rule_id = id;
              ev.entity_id = c.entity->id;
              ev.at = now;
              ev.reason_en = "cleared: the entity was deleted";
              ev.reason_zh = "已解除：实体已删除";
              events.emplace_back(shared_[id], std::move(ev));
              ++e.cleared;
            }
            if (e.health) e.health->Remove(c.entity->id);
            e.watches.erase(w);
            continue;
          }
          ObserveLocked(e, c.entity, c.kind == context::Change::Kind::kCreated ? nullptr : &c.attrs,
                        now, &events);
        }
      }
    }
  }
  Notify(events);
}

void RuleEngine::Tick(TimeMs now) {
  Events events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, e] : rules_) {
      if (e.health) {
        for (const DeviceHealthChange& ch : e.health->Check(now)) {
          auto w = e.watches.find(ch.device_id);
          if (w == e.watches.end()) continue;
          w->second.silent = ch.silent;
          EvaluateLocked(e, ch.device_id, w->second, now, &events);
        }
      }
      if (e.rule.quiet_period_ms > 0) {
        for (auto& [entity_id, w] : e.watches) {
          if (w.held && now >= w.cleared_at + e.rule.quiet_period_ms) {
            EvaluateLocked(e, entity_id, w, now, &events);
          }
        }
      }
    }
  }
  Notify(events);
}

void RuleEngine::Notify(const Events& events) {
  if (events.empty()) return;
  std::vector<RuleListener*> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listeners = listeners_;
  }
  for (const auto& [rule, ev] : events) {
    for (RuleListener* l : listeners) l->OnRuleEvent(*rule, ev);
  }
}

void RuleEngine::AddListener(RuleListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(l);
}

void RuleEngine::RemoveListener(RuleListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

std::vector<RuleStatus> RuleEngine::List() const {
  std::vector<RuleStatus> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, e] : rules_) {
    RuleStatus s;
    s.rule = e.rule;
    for (const auto& [entity_id, w] : e.watches) {
      if (w.firing) s.firing.push_back({entity_id, w.since, w.reason_en});
      s.held += w.held ? 1 : 0;
      s.watched += e.rule.zone_id.empty() || w.in_scope ? 1 : 0;
    }
    s.fired = e.fired;
    s.cleared = e.cleared;
    s.suppressed = e.suppressed;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<RuleStatus> RuleEngine::Get(const std::string& id) const {
  for (RuleStatus& s : List()) {
    if (s.rule.id == id) return std::move(s);
  }
  return std::nullopt;
}

RuleStats RuleEngine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  RuleStats s;
  s.rules = rules_.size();
  s.evaluations = evaluations_;
  for (const auto& [id, e] : rules_) {
    for (const auto& [entity_id, w] : e.watches) s.firing += w.firing ? 1 : 0;
    s.fired += e.fired;
    s.suppressed += e.suppressed;
  }
  return s;
}

}  // namespace cb::stream
