#include "cases/catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

namespace cb::cases {
namespace internal {
extern const char kDefaultCatalogJson[];
extern const size_t kDefaultCatalogJsonSize;
}  // namespace internal

namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kMinuteMs = 60000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Status Bad(std::string m) { return Status::BadRequestData("case catalog: " + std::move(m)); }

// "HH:MM" → minutes after midnight (0–1440).
std::optional<int> ParseClock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

// "YYYY-MM-DD" → days since 1970-01-01.
std::optional<int64_t> ParseDay(std::string_view s) {
  if (s.size() != 10) return std::nullopt;
  Result<TimeMs> t = ParseIso8601(std::string(s) + "T00:00:00Z");
  if (!t.ok()) return std::nullopt;
  return FloorDiv(*t, kDayMs);
}

// "+08:00" / "-05:00" / "Z" → minutes east of UTC.
std::optional<int> ParseOffset(std::string_view s) {
  if (s == "Z" || s == "UTC") return 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  std::optional<int> m = ParseClock(s.substr(1));
  if (!m || *m > 14 * 60) return std::nullopt;
  return s[0] == '-' ? -*m : *m;
}

bool ValidCode(std::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '-' || c == '_' || c == '.';
  });
}

const std::string* StrMember(const JsonValue& v, std::string_view key) {
  const JsonValue* m = v.Find(key);
  return m != nullptr && m->is_string() ? &m->as_string() : nullptr;
}

Result<Texts> ReadTexts(const JsonValue& v, std::string_view key, std::string_view what) {
  const JsonValue* m = v.Find(key);
  if (m == nullptr) return Texts{};
  if (m->is_string()) return Texts{m->as_string(), m->as_string()};
  if (!m->is_object()) return Bad(std::string(what) + ": " + std::string(key) +
                                  " must be a text or {\"zh-CN\":…, \"en\":…}");
  Texts t;
  if (const std::string* zh = StrMember(*m, "zh-CN")) t.zh_cn = *zh;
  if (const std::string* en = StrMember(*m, "en")) t.en = *en;
  if (t.zh_cn.empty()) t.zh_cn = t.en;
  if (t.en.empty()) t.en = t.zh_cn;
  return t;
}

JsonValue TextsJson(const Texts& t) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("zh-CN", t.zh_cn);
  o.Set("en", t.en);
  return o;
}

std::vector<std::string> StringList(const JsonValue& v, std::string_view key, Status* st,
                                    std::string_view what) {
  std::vector<std::string> out;
  const JsonValue* m = v.Find(key);
  if (m == nullptr) return out;
  if (!m->is_array()) {
    *st = Bad(std::string(what) + ": " + std::string(key) + " must be an array of texts");
    return out;
  }
  for (const JsonValue& e : m->as_array()) {
    if (!e.is_string()) {
      *st = Bad(std::string(what) + ": " + std::string(key) + " must be an array of texts");
      return out;
    }
    out.push_back(e.as_string());
  }
  return out;
}

Result<std::vector<ServiceAttribute>> ReadAttributes(const JsonValue& v, const std::string& code) {
  std::vector<ServiceAttribute> out;
  const JsonValue* m = v.Find("attributes");
  if (m == nullptr) return out;
  const std::string what = "category " + code + " attributes";
  if (!m->is_array()) return Bad(what + " must be an array");
  static constexpr std::string_view kTypes[] = {"string", "number", "datetime", "text",
                                                "singlevaluelist", "multivaluelist"};
  for (const JsonValue& a : m->as_array()) {
    if (!a.is_object()) return Bad(what + ": each attribute must be an object");
    ServiceAttribute sa;
    if (const std::string* c = StrMember(a, "code")) sa.code = *c;
    if (!ValidCode(sa.code)) return Bad(what + ": an attribute needs a code of letters, digits, -_.");
    if (const JsonValue* b = a.Find("variable"); b != nullptr && b->is_bool()) sa.variable = b->as_bool();
    if (const JsonValue* b = a.Find("required"); b != nullptr && b->is_bool()) sa.required = b->as_bool();
    if (const std::string* d = StrMember(a, "datatype")) sa.datatype = *d;
    if (std::find(std::begin(kTypes), std::end(kTypes), sa.datatype) == std::end(kTypes)) {
      return Bad(what + ": unknown datatype '" + sa.datatype + "'");
    }
    if (const std::string* d = StrMember(a, "description")) sa.description = *d;
    if (const std::string* d = StrMember(a, "datatypeDescription")) sa.datatype_description = *d;
    if (const JsonValue* o = a.Find("order"); o != nullptr && o->is_int()) {
      sa.order = static_cast<int>(o->as_int());
    }
    if (const JsonValue* vals = a.Find("values"); vals != nullptr && vals->is_array()) {
      for (const JsonValue& e : vals->as_array()) {
        const std::string* k = StrMember(e, "key");
        const std::string* n = StrMember(e, "name");
        if (k == nullptr || n == nullptr) return Bad(what + ": values need key and name");
        sa.values.emplace_back(*k, *n);
      }
    }
    if (sa.datatype.ends_with("valuelist") && sa.values.empty()) {
      return Bad(what + ": " + sa.code + " is a list without values");
    }
    out.push_back(std::move(sa));
  }
  return out;
}

}  // namespace

// ---- BusinessCalendar

Result<BusinessCalendar> BusinessCalendar::Make(std::string id, int utc_offset_minutes,
                                                std::vector<Span> hours, std::vector<int> days,
                                                std::vector<int64_t> holidays,
                                                std::vector<int64_t> workdays) {
  BusinessCalendar c;
  c.id_ = std::move(id);
  c.always_ = false;
  c.offset_min_ = utc_offset_minutes;
  std::sort(hours.begin(), hours.end(),
            [](const Span& a, const Span& b) { return a.start_minute < b.start_minute; });
  if (hours.empty()) return Bad("calendar " + c.id_ + " has no working hours");
  for (size_t i = 0; i < hours.size(); ++i) {
    if (hours[i].start_minute < 0 || hours[i].end_minute > 1440 ||
        hours[i].start_minute >= hours[i].end_minute) {
      return Bad("calendar " + c.id_ + ": an empty or inverted span of hours");
    }
    if (i > 0 && hours[i].start_minute < hours[i - 1].end_minute) {
      return Bad("calendar " + c.id_ + ": overlapping spans of hours");
    }
  }
  c.hours_ = std::move(hours);
  for (int d : days) {
    if (d < 1 || d > 7) return Bad("calendar " + c.id_ + ": days are 1 (Monday) … 7 (Sunday)");
    c.working_weekday_[d] = true;
  }
  std::sort(holidays.begin(), holidays.end());
  std::sort(workdays.begin(), workdays.end());
  c.holidays_ = std::move(holidays);
  c.workdays_ = std::move(workdays);
  return c;
}

const std::vector<BusinessCalendar::Span>& BusinessCalendar::SpansOn(int64_t day) const {
  static const std::vector<Span> kNone;
  if (std::binary_search(holidays_.begin(), holidays_.end(), day)) return kNone;
  if (std::binary_search(workdays_.begin(), workdays_.end(), day)) return hours_;
  const int weekday = static_cast<int>(((day + 3) % 7 + 7) % 7) + 1;  // 1970-01-01: Thursday
  return working_weekday_[weekday] ? hours_ : kNone;
}

TimeMs BusinessCalendar::Add(TimeMs start, int64_t working_ms) const {
  if (always_) return start + working_ms;
  if (working_ms <= 0) return start;
  const int64_t off = static_cast<int64_t>(offset_min_) * kMinuteMs;
  const TimeMs local = start + off;
  int64_t remaining = working_ms;
  int64_t day = FloorDiv(local, kDayMs);
  for (int guard = 0; guard < 3700; ++guard, ++day) {  // ten years without working time: give up
    for (const Span& s : SpansOn(day)) {
      const int64_t b = std::max<int64_t>(day * kDayMs + s.start_minute * kMinuteMs, local);
      const int64_t e = day * kDayMs + s.end_minute * kMinuteMs;
      if (b >= e) continue;
      if (remaining <= e - b) return b + remaining - off;
      remaining -= e - b;
    }
  }
  return start + working_ms;
}

int64_t BusinessCalendar::Between(TimeMs from, TimeMs to) const {
  if (to <= from) return 0;
  if (always_) return to - from;
  const int64_t off = static_cast<int64_t>(offset_min_) * kMinuteMs;
  const TimeMs lf = from + off, lt = to + off;
  int64_t total = 0;
  for (int64_t day = FloorDiv(lf, kDayMs); day <= FloorDiv(lt, kDayMs); ++day) {
    for (const Span& s : SpansOn(day)) {
      const int64_t b = std::max<int64_t>(day * kDayMs + s.start_minute * kMinuteMs, lf);
      const int64_t e = std::min<int64_t>(day * kDayMs + s.end_minute * kMinuteMs, lt);
      if (e > b) total += e - b;
    }
  }
  return total;
}

bool BusinessCalendar::IsWorking(TimeMs t) const {
  if (always_) return true;
  const TimeMs local = t + static_cast<int64_t>(offset_min_) * kMinuteMs;
  const int64_t day = FloorDiv(local, kDayMs);
  const int64_t minute = (local - day * kDayMs) / kMinuteMs;
  for (const Span& s : SpansOn(day)) {
    if (minute >= s.start_minute && minute < s.end_minute) return true;
  }
  return false;
}

// ---- Catalog

Result<Catalog> Catalog::FromJson(const JsonValue& v) {
  if (!v.is_object()) return Bad("must be a JSON object");
  Catalog c;
  if (const std::string* tz = StrMember(v, "timeZone")) {
    std::optional<int> off = ParseOffset(*tz);
    if (!off) return Bad("timeZone must look like +08:00");
    c.utc_offset_min_ = *off;
  }
  c.calendars_.emplace("24x7", BusinessCalendar());
  if (const JsonValue* cals = v.Find("calendars")) {
    if (!cals->is_array()) return Bad("calendars must be an array");
    for (const JsonValue& j : cals->as_array()) {
      const std::string* id = StrMember(j, "id");
      if (id == nullptr || !ValidCode(*id)) return Bad("a calendar needs an id");
      if (c.calendars_.count(*id) != 0) return Bad("calendar " + *id + " is defined twice");
      Status st;
      std::vector<BusinessCalendar::Span> spans;
      for (const std::string& h : StringList(j, "hours", &st, "calendar " + *id)) {
        const size_t dash = h.find('-');
        std::optional<int> b = dash == std::string::npos ? std::nullopt : ParseClock(h.substr(0, dash));
        std::optional<int> e = dash == std::string::npos ? std::nullopt : ParseClock(h.substr(dash + 1));
        if (!b || !e) return Bad("calendar " + *id + ": hours look like \"09:00-12:00\", not '" + h + "'");
        spans.push_back({*b, *e});
      }
      std::vector<int> days;
      if (const JsonValue* d = j.Find("days")) {
        if (!d->is_array()) return Bad("calendar " + *id + ": days must be an array");
        for (const JsonValue& e : d->as_array()) {
          if (!e.is_int()) return Bad("calendar " + *id + ": days are numbers 1…7");
          days.push_back(static_cast<int>(e.as_int()));
        }
      } else {
        days = {1, 2, 3, 4, 5};
      }
      std::vector<int64_t> holidays, workdays;
      for (auto [key, out] : {std::pair{"holidays", &holidays}, std::pair{"workdays", &workdays}}) {
        for (const std::string& d : StringList(j, key, &st, "calendar " + *id)) {
          std::optional<int64_t> day = ParseDay(d);
          if (!day) return Bad("calendar " + *id + ": " + key + " are dates YYYY-MM-DD, not '" + d + "'");
          out->push_back(*day);
        }
      }
      CB_RETURN_IF_ERROR(st);
      Result<BusinessCalendar> cal = BusinessCalendar::Make(*id, c.utc_offset_min_, std::move(spans),
                                                            std::move(days), std::move(holidays),
                                                            std::move(workdays));
      if (!cal.ok()) return cal.status();
      c.calendars_.emplace(*id, std::move(cal).value());
    }
  }
  if (const JsonValue* deps = v.Find("departments")) {
    if (!deps->is_array()) return Bad("departments must be an array");
    for (const JsonValue& j : deps->as_array()) {
      Department d;
      if (const std::string* id = StrMember(j, "id")) d.id = *id;
      if (!ValidCode(d.id)) return Bad("a department needs an id of letters, digits, -_.");
      if (c.department_index_.count(d.id) != 0) return Bad("department " + d.id + " is defined twice");
      Result<Texts> name = ReadTexts(j, "name", "department " + d.id);
      if (!name.ok()) return name.status();
      d.name = *name;
      if (const std::string* s = StrMember(j, "supervisor")) d.supervisor = *s;
      if (const JsonValue* units = j.Find("units")) {
        if (!units->is_array()) return Bad("department " + d.id + ": units must be an array");
        for (const JsonValue& u : units->as_array()) {
          Unit unit;
          if (const std::string* id = StrMember(u, "id")) unit.id = *id;
          if (!ValidCode(unit.id)) return Bad("department " + d.id + ": a unit needs an id");
          Result<Texts> un = ReadTexts(u, "name", "unit " + unit.id);
          if (!un.ok()) return un.status();
          unit.name = *un;
          Status st;
          unit.zones = StringList(u, "zones", &st, "unit " + unit.id);
          unit.handlers = StringList(u, "handlers", &st, "unit " + unit.id);
          CB_RETURN_IF_ERROR(st);
          if (const JsonValue* area = u.Find("area")) {
            Result<geo::Geometry> g = geo::GeometryFromGeoJson(*area);
            if (!g.ok()) return Bad("unit " + unit.id + ": area: " + g.status().message());
            if (g->type != geo::GeometryType::kPolygon && g->type != geo::GeometryType::kMultiPolygon) {
              return Bad("unit " + unit.id + ": area must be a Polygon or MultiPolygon");
            }
            unit.area = std::move(g).value();
          }
          d.units.push_back(std::move(unit));
        }
      }
      c.department_index_.emplace(d.id, c.departments_.size());
      c.departments_.push_back(std::move(d));
    }
  }
  // Categories, depth first, inheriting from their parent.
  std::function<Status(const JsonValue&, const Category*)> add = [&](const JsonValue& j,
                                                                     const Category* parent) -> Status {
    if (!j.is_object()) return Bad("each category must be an object");
    Category cat;
    if (const std::string* code = StrMember(j, "code")) cat.code = *code;
    if (!ValidCode(cat.code)) return Bad("a category needs a code of letters, digits, -_.");
    if (c.category_index_.count(cat.code) != 0) return Bad("category " + cat.code + " is defined twice");
    Result<Texts> name = ReadTexts(j, "name", "category " + cat.code);
    if (!name.ok()) return name.status();
    cat.name = *name;
    if (cat.name.zh_cn.empty()) return Bad("category " + cat.code + " needs a name");
    if (parent != nullptr) {
      cat.parent = parent->code;
      cat.department = parent->department;
      cat.priority = parent->priority;
      cat.sla = parent->sla;
    }
    if (const std::string* d = StrMember(j, "department")) cat.department = *d;
    if (!cat.department.empty() && c.department_index_.count(cat.department) == 0) {
      return Bad("category " + cat.code + ": unknown department '" + cat.department + "'");
    }
    if (const JsonValue* p = j.Find("priority")) {
      if (!p->is_int() || p->as_int() < 1 || p->as_int() > 4) {
        return Bad("category " + cat.code + ": priority is 1 (most urgent) … 4");
      }
      cat.priority = static_cast<int>(p->as_int());
    }
    if (const JsonValue* sla = j.Find("sla")) {
      if (!sla->is_object()) return Bad("category " + cat.code + ": sla must be an object");
      for (const auto& [step_name, target] : sla->as_object()) {
        Result<Step> step = StepFromName(step_name);
        if (!step.ok()) return Bad("category " + cat.code + ": sla: " + step.status().message());
        const JsonValue* minutes = target.Find("minutes");
        if (minutes == nullptr || !minutes->is_int() || minutes->as_int() < 0) {
          return Bad("category " + cat.code + ": sla." + step_name + ".minutes must be a whole number ≥ 0");
        }
        SlaTarget t;
        t.minutes = minutes->as_int();
        if (const std::string* cal = StrMember(target, "calendar")) t.calendar = *cal;
        if (c.calendars_.count(t.calendar) == 0) {
          return Bad("category " + cat.code + ": unknown calendar '" + t.calendar + "'");
        }
        cat.sla[static_cast<size_t>(*step)] = t;
      }
    }
    if (const std::string* k = StrMember(j, "keywords")) cat.keywords = *k;
    Result<std::vector<ServiceAttribute>> attrs = ReadAttributes(j, cat.code);
    if (!attrs.ok()) return attrs.status();
    cat.attributes = std::move(attrs).value();
    const JsonValue* children = j.Find("children");
    if (children != nullptr && !children->is_array()) {
      return Bad("category " + cat.code + ": children must be an array");
    }
    cat.leaf = children == nullptr || children->as_array().empty();
    if (cat.leaf && cat.department.empty()) {
      return Bad("category " + cat.code + " has no department (nor has any parent)");
    }
    c.category_index_.emplace(cat.code, c.categories_.size());
    c.categories_.push_back(cat);
    if (!cat.leaf) {
      for (const JsonValue& child : children->as_array()) CB_RETURN_IF_ERROR(add(child, &cat));
    }
    return Status::Ok();
  };
  if (const JsonValue* cats = v.Find("categories")) {
    if (!cats->is_array()) return Bad("categories must be an array");
    for (const JsonValue& j : cats->as_array()) CB_RETURN_IF_ERROR(add(j, nullptr));
  }
  if (c.categories_.empty()) return Bad("no categories");
  if (const JsonValue* d = v.Find("duplicates")) {
    const JsonValue* r = d->Find("radiusMeters");
    const JsonValue* h = d->Find("hours");
    if (r != nullptr) {
      if (!r->is_number() || r->as_double() < 0 || r->as_double() > 10000) {
        return Bad("duplicates.radiusMeters must be 0…10000");
      }
      c.duplicates_.radius_m = r->as_double();
    }
    if (h != nullptr) {
      if (!h->is_number() || h->as_double() < 0) return Bad("duplicates.hours must be ≥ 0");
      c.duplicates_.window_ms = static_cast<int64_t>(h->as_double() * 3600000);
    }
  }
  if (const JsonValue* cr = v.Find("credit")) {
    for (auto [key, field] : {std::pair{"validReport", &c.credit_.valid_report},
                              std::pair{"duplicateReport", &c.credit_.duplicate_report},
                              std::pair{"rejectedReport", &c.credit_.rejected_report},
                              std::pair{"ratedCase", &c.credit_.rated_case}}) {
      if (const JsonValue* p = cr->Find(key)) {
        if (!p->is_int() || std::abs(p->as_int()) > 1000) return Bad(std::string("credit.") + key + " must be a whole number");
        *field = static_cast<int>(p->as_int());
      }
    }
  }
  if (const JsonValue* r = v.Find("reopenRating")) {
    if (!r->is_int() || r->as_int() < 0 || r->as_int() > 4) return Bad("reopenRating must be 0…4");
    c.reopen_rating_ = static_cast<int>(r->as_int());
  }
  if (const JsonValue* w = v.Find("warnBeforeFraction")) {
    if (!w->is_number() || w->as_double() < 0 || w->as_double() >= 1) {
      return Bad("warnBeforeFraction must be in [0, 1)");
    }
    c.warn_fraction_ = w->as_double();
  }
  return c;
}

const Catalog& Catalog::Default() {
  static const Catalog* kDefault = [] {
    Result<JsonValue> json = ParseJson(std::string_view(internal::kDefaultCatalogJson,
                                                        internal::kDefaultCatalogJsonSize));
    Result<Catalog> c = json.ok() ? FromJson(*json) : Result<Catalog>(json.status());
    if (!c.ok()) {  // the built-in catalog is checked by the tests; this is a build mistake
      spdlog::critical("built-in case catalog: {}", c.status().ToString());
      std::abort();
    }
    return new Catalog(std::move(c).value());
  }();
  return *kDefault;
}

const Category* Catalog::FindCategory(std::string_view code) const {
  auto it = category_index_.find(code);
  return it == category_index_.end() ? nullptr : &categories_[it->second];
}

const Department* Catalog::FindDepartment(std::string_view id) const {
  auto it = department_index_.find(id);
  return it == department_index_.end() ? nullptr : &departments_[it->second];
}

const BusinessCalendar& Catalog::Calendar(std::string_view id) const {
  auto it = calendars_.find(id);
  if (it != calendars_.end()) return it->second;
  static const BusinessCalendar kAlways;
  return kAlways;
}

Result<Route> Catalog::RouteFor(std::string_view category, const std::vector<std::string>& zones,
                                std::optional<geo::LonLat> location,
                                std::string_view department) const {
  const Category* cat = FindCategory(category);
  if (cat == nullptr) return Status::NotFound("unknown category '" + std::string(category) + "'");
  Route r;
  r.department = department.empty() ? cat->department : std::string(department);
  const Department* d = FindDepartment(r.department);
  if (d == nullptr) return Status::NotFound("unknown department '" + r.department + "'");
  for (const std::string& z : zones) {
    for (const Unit& u : d->units) {
      if (std::find(u.zones.begin(), u.zones.end(), z) != u.zones.end()) {
        r.unit = u.id;
        return r;
      }
    }
  }
  if (location) {
    for (const Unit& u : d->units) {
      if (!u.area) continue;
      if (geo::Intersects(*u.area, geo::Geometry::MakePoint(*location))) {
        r.unit = u.id;
        return r;
      }
    }
  }
  return r;
}

Catalog::Deadline Catalog::DeadlineFor(std::string_view category, Step step, TimeMs start) const {
  const Category* cat = FindCategory(category);
  if (cat == nullptr) return {};
  const SlaTarget& t = cat->sla[static_cast<size_t>(step)];
  if (t.minutes <= 0) return {};
  const BusinessCalendar& cal = Calendar(t.calendar);
  const int64_t total = t.minutes * kMinuteMs;
  Deadline d;
  d.deadline = cal.Add(start, total);
  if (warn_fraction_ > 0) {
    d.warn_at = cal.Add(start, static_cast<int64_t>(std::llround(total * (1 - warn_fraction_))));
  }
  return d;
}

JsonValue Catalog::ToJson() const {
  JsonValue o = JsonValue::MakeObject();
  const int off = std::abs(utc_offset_min_);
  char tz[16];
  std::snprintf(tz, sizeof tz, "%c%02d:%02d", utc_offset_min_ < 0 ? '-' : '+', off / 60, off % 60);
  o.Set("timeZone", tz);
  JsonValue cals = JsonValue::MakeArray();
  for (const auto& [id, cal] : calendars_) cals.Push(id);
  o.Set("calendars", std::move(cals));
  JsonValue deps = JsonValue::MakeArray();
  for (const Department& d : departments_) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("id", d.id);
    j.Set("name", TextsJson(d.name));
    j.Set("supervisor", d.supervisor);
    JsonValue units = JsonValue::MakeArray();
    for (const Unit& u : d.units) {
      JsonValue uj = JsonValue::MakeObject();
      uj.Set("id", u.id);
      uj.Set("name", TextsJson(u.name));
      JsonValue zones = JsonValue::MakeArray();
      for (const std::string& z : u.zones) zones.Push(z);
      uj.Set("zones", std::move(zones));
      if (u.area) uj.Set("area", geo::GeometryToGeoJson(*u.area));
      JsonValue handlers = JsonValue::MakeArray();
      for (const std::string& h : u.handlers) handlers.Push(h);
      uj.Set("handlers", std::move(handlers));
      units.Push(std::move(uj));
    }
    j.Set("units", std::move(units));
    deps.Push(std::move(j));
  }
  o.Set("departments", std::move(deps));
  JsonValue cats = JsonValue::MakeArray();
  for (const Category& c : categories_) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("code", c.code);
    j.Set("name", TextsJson(c.name));
    j.Set("parent", c.parent.empty() ? JsonValue() : JsonValue(c.parent));
    j.Set("department", c.department);
    j.Set("priority", c.priority);
    j.Set("leaf", c.leaf);
    JsonValue sla = JsonValue::MakeObject();
    for (int s = 0; s < kStepCount; ++s) {
      const SlaTarget& t = c.sla[static_cast<size_t>(s)];
      if (t.minutes <= 0) continue;
      JsonValue tj = JsonValue::MakeObject();
      tj.Set("minutes", t.minutes);
      tj.Set("calendar", t.calendar);
      sla.Set(StepName(static_cast<Step>(s)), std::move(tj));
    }
    j.Set("sla", std::move(sla));
    j.Set("keywords", c.keywords);
    j.Set("attributes", static_cast<int64_t>(c.attributes.size()));
    cats.Push(std::move(j));
  }
  o.Set("categories", std::move(cats));
  JsonValue dup = JsonValue::MakeObject();
  dup.Set("radiusMeters", duplicates_.radius_m);
  dup.Set("hours", static_cast<double>(duplicates_.window_ms) / 3600000.0);
  o.Set("duplicates", std::move(dup));
  JsonValue credit = JsonValue::MakeObject();
  credit.Set("validReport", credit_.valid_report);
  credit.Set("duplicateReport", credit_.duplicate_report);
  credit.Set("rejectedReport", credit_.rejected_report);
  credit.Set("ratedCase", credit_.rated_case);
  o.Set("credit", std::move(credit));
  o.Set("reopenRating", reopen_rating_);
  o.Set("warnBeforeFraction", warn_fraction_);
  return o;
}

}  // namespace cb::cases
