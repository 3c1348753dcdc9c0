// The case catalog: what can be reported (a category tree), who owns it (departments and
// their units, each unit covering zones or an area), how fast each step must be done (SLA
// targets measured on business-hours calendars), and how reporters earn credit.
//
// The category tree starts from the digital-city-management event classes (市容环境,
// 宣传广告, 施工管理, 突发事件, 街面秩序, 其他事件) plus sensor-driven ones; a category may
// leave its department, priority, SLA or Open311 attributes out and inherit its parent's.
// Leaf categories are what can be reported (they are the Open311 services).
//
// The catalog is read from JSON (see docs/cases.md and examples/cases/catalog.json):
//   {"timeZone": "+08:00",
//    "calendars": [{"id": "office", "hours": ["09:00-12:00", "13:30-17:30"],
//                   "days": [1,2,3,4,5], "holidays": ["2026-10-01"], "workdays": ["2026-10-11"]}],
//    "departments": [{"id": "cgj", "name": {"zh-CN": "城管局", "en": "City Management"},
//                     "supervisor": "cgj-chief",
//                     "units": [{"id": "cgj-hubin", "zones": ["urn:ngsi-ld:Zone:hubin"],
//                                "area": {GeoJSON Polygon}, "handlers": ["wang"]}]}],
//    "categories": [{"code": "01", "name": {...}, "department": "cgj", "priority": 3,
//                    "sla": {"accept": {"minutes": 30, "calendar": "24x7"},
//                            "handle": {"minutes": 480, "calendar": "office"}, …},
//                    "children": [{"code": "0101", "name": {...}, "keywords": "…",
//                                  "attributes": [Open311 attribute definitions]}]}],
//    "duplicates": {"radiusMeters": 50, "hours": 24},
//    "credit": {"validReport": 5, "duplicateReport": 1, "rejectedReport": 0,
//               "ratedCase": 1},
//    "reopenRating": 2, "warnBeforeFraction": 0.2}
//
// Thread-safety: Catalog is immutable after loading; const methods may be called from any
// thread. BusinessCalendar is a value type.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/case.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"
#include "geo/geometry.h"

namespace cb::cases {

struct Texts {
  std::string zh_cn;
  std::string en;
  const std::string& In(std::string_view lang) const {
    return (lang.substr(0, 2) == "zh" || en.empty()) ? zh_cn : en;
  }
};

// Working time: hours on working days in the city's time zone, minus holidays, plus extra
// working days (调休). The calendar "24x7" (every minute counts) always exists.
class BusinessCalendar {
 public:
  // Every minute counts.
  BusinessCalendar() = default;
  struct Span {
    int start_minute;  // minutes after local midnight, inclusive
    int end_minute;    // exclusive
  };
  // `days`: ISO weekdays 1 (Monday) … 7; `holidays` and `workdays`: local dates as days
  // since 1970-01-01. kBadRequestData for overlapping or empty spans.
  static Result<BusinessCalendar> Make(std::string id, int utc_offset_minutes,
                                       std::vector<Span> hours, std::vector<int> days,
                                       std::vector<int64_t> holidays,
                                       std::vector<int64_t> workdays);
  const std::string& id() const { return id_; }
  bool always() const { return always_; }
  // The instant when `working_ms` of working time have passed after `start`.
  TimeMs Add(TimeMs start, int64_t working_ms) const;
  // Working time between two instants (0 when to <= from).
  int64_t Between(TimeMs from, TimeMs to) const;
  // Whether `t` falls in working time.
  bool IsWorking(TimeMs t) const;

 private:
  // The working spans of the local day `day` (days since the epoch), in local minutes.
  const std::vector<Span>& SpansOn(int64_t day) const;
  std::string id_ = "24x7";
  bool always_ = true;
  int offset_min_ = 0;
  std::vector<Span> hours_;
  std::array<bool, 8> working_weekday_{};  // [1..7]
  std::vector<int64_t> holidays_, workdays_;  // sorted
};

// A step's target: this much working time on this calendar.
struct SlaTarget {
  int64_t minutes = 0;  // 0: no target for the step
  std::string calendar = "24x7";
};

// One Open311 service attribute (GET /services/{code}).
struct ServiceAttribute {
  std::string code;
  bool variable = true;
  std::string datatype = "string";  // string number datetime text singlevaluelist multivaluelist
  bool required = false;
  std::string description;
  std::string datatype_description;
  int order = 0;
  std::vector<std::pair<std::string, std::string>> values;  // key → name (list types)
};

struct Category {
  std::string code;          // unique; "01", "0101", "sensor-crowd"
  Texts name;
  std::string parent;        // empty for a top-level class
  std::string department;    // owning department (inherited when empty)
  int priority = 3;          // 1 (most urgent) … 4 (inherited when not given)
  std::array<SlaTarget, kStepCount> sla{};  // by Step (inherited per step when 0)
  std::string keywords;      // comma-separated
  std::vector<ServiceAttribute> attributes;  // Open311 service definition
  bool leaf = true;          // no children: can be reported
};

// A department's unit (its team for a grid or district).
struct Unit {
  std::string id;
  Texts name;
  std::vector<std::string> zones;     // zone ids it covers
  std::optional<geo::Geometry> area;  // or an area it covers (Polygon or MultiPolygon)
  std::vector<std::string> handlers;  // who can be dispatched to
};

struct Department {
  std::string id;
  Texts name;
  std::string supervisor;  // whom escalations go to
  std::vector<Unit> units;
};

struct DuplicatePolicy {
  double radius_m = 50;
  int64_t window_ms = 24 * 3600 * 1000LL;  // 0: never link duplicates
};

struct CreditScheme {
  int valid_report = 5;      // when a report is accepted
  int duplicate_report = 1;  // when a report is linked to an open case
  int rejected_report = 0;   // when a report is rejected (may be negative)
  int rated_case = 1;        // when the reporter rates the result
};

// Where a new case goes: the owning department and the unit covering its location.
struct Route {
  std::string department;
  std::string unit;  // empty when no unit covers the location
};

class Catalog {
 public:
  // The catalog from its JSON form (above). kBadRequestData naming the first problem:
  // duplicate or unknown codes, a category without a department anywhere up its tree, an
  // unknown calendar, a unit area that is not a polygon, …
  static Result<Catalog> FromJson(const JsonValue& v);
  // The built-in default (the six digital-city-management classes with typical
  // sub-categories, sensor categories, and their departments), used when none is given.
  static const Catalog& Default();

  int utc_offset_minutes() const { return utc_offset_min_; }
  const Category* FindCategory(std::string_view code) const;
  const Department* FindDepartment(std::string_view id) const;
  // Categories in tree order (parents before children).
  const std::vector<Category>& categories() const { return categories_; }
  const std::vector<Department>& departments() const { return departments_; }
  const BusinessCalendar& Calendar(std::string_view id) const;  // 24x7 when unknown

  // Owning department of a category (or `department` when given), and the unit of that
  // department covering the location: the first unit naming one of `zones` (the case's zone
  // and its ancestors, most specific first), else the first whose area contains the point.
  // kNotFound for an unknown category or department.
  Result<Route> RouteFor(std::string_view category, const std::vector<std::string>& zones,
                         std::optional<geo::LonLat> location,
                         std::string_view department = {}) const;
  // The step's deadline (and warning time) for a category when the step starts at `start`;
  // {0, 0} when the category sets no target for that step.
  struct Deadline {
    TimeMs deadline = 0;
    TimeMs warn_at = 0;
  };
  Deadline DeadlineFor(std::string_view category, Step step, TimeMs start) const;

  const DuplicatePolicy& duplicates() const { return duplicates_; }
  const CreditScheme& credit() const { return credit_; }
  int reopen_rating() const { return reopen_rating_; }      // ratings ≤ this reopen
  double warn_before_fraction() const { return warn_fraction_; }  // warn when this much is left

  JsonValue ToJson() const;

 private:
  int utc_offset_min_ = 480;
  std::vector<Category> categories_;
  std::map<std::string, size_t, std::less<>> category_index_;
  std::vector<Department> departments_;
  std::map<std::string, size_t, std::less<>> department_index_;
  std::map<std::string, BusinessCalendar, std::less<>> calendars_;
  DuplicatePolicy duplicates_;
  CreditScheme credit_;
  int reopen_rating_ = 2;
  double warn_fraction_ = 0.2;
};

}  // namespace cb::cases
