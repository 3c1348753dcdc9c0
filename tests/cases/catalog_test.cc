// The case catalog: business calendars, loading and checking, inheritance, routing by zone
// and area, deadlines.

#include "cases/catalog.h"

#include "gtest/gtest.h"

namespace cb::cases {
namespace {

constexpr int64_t kMin = 60000;
constexpr int64_t kHour = 3600000;

TimeMs At(const char* iso) { return ParseIso8601(iso).value(); }

BusinessCalendar Office() {
  // 09:00–12:00 and 13:00–17:00 Beijing time, Monday to Friday; 2026-10-01 (Thu) a holiday,
  // 2026-10-10 (Sat) a working day.
  return BusinessCalendar::Make("office", 480, {{540, 720}, {780, 1020}}, {1, 2, 3, 4, 5},
                                {20727}, {20736})
      .value();
}

struct AddCase {
  const char* start;
  int64_t minutes;
  const char* expected;
};

TEST(BusinessCalendarTest, AddCountsOnlyWorkingTime) {
  const BusinessCalendar cal = Office();
  // Times in UTC; Beijing is UTC+8.
  const AddCase cases[] = {
      {"2026-09-28T01:00:00Z", 60, "2026-09-28T02:00:00Z"},    // Mon 09:00 + 1 h = 10:00
      {"2026-09-28T03:30:00Z", 60, "2026-09-28T05:30:00Z"},    // Mon 11:30 + 1 h: lunch skipped → 13:30
      {"2026-09-28T08:30:00Z", 60, "2026-09-29T01:30:00Z"},    // Mon 16:30 + 1 h → Tue 09:30
      {"2026-09-27T02:00:00Z", 30, "2026-09-28T01:30:00Z"},    // Sunday → Monday 09:30
      {"2026-09-28T01:00:00Z", 0, "2026-09-28T01:00:00Z"},
  };
  for (const AddCase& c : cases) {
    EXPECT_EQ(FormatIso8601(cal.Add(At(c.start), c.minutes * kMin)),
              FormatIso8601(At(c.expected)))
        << c.start << " + " << c.minutes << " min";
  }
  // Wed 09-30 16:00 + 2 h: 1 h that day, Thu 10-01 is a holiday, so Fri 10-02 10:00.
  EXPECT_EQ(FormatIso8601(cal.Add(At("2026-09-30T08:00:00Z"), 2 * kHour)), "2026-10-02T02:00:00.000Z");
  // Fri 10-09 16:00 + 2 h: Saturday 10-10 is a working day (调休): 10:00 that Saturday.
  EXPECT_EQ(FormatIso8601(cal.Add(At("2026-10-09T08:00:00Z"), 2 * kHour)), "2026-10-10T02:00:00.000Z");
}

TEST(BusinessCalendarTest, BetweenIsTheInverseOfAdd) {
  const BusinessCalendar cal = Office();
  const TimeMs start = At("2026-09-30T06:10:00Z");
  for (int64_t minutes : {1, 59, 60, 61, 240, 420, 421, 2000, 10000}) {
    const TimeMs end = cal.Add(start, minutes * kMin);
    EXPECT_EQ(cal.Between(start, end), minutes * kMin) << minutes;
  }
  EXPECT_EQ(cal.Between(At("2026-09-28T04:00:00Z"), At("2026-09-28T05:00:00Z")), 0);  // lunch
  EXPECT_TRUE(cal.IsWorking(At("2026-09-28T01:00:00Z")));
  EXPECT_FALSE(cal.IsWorking(At("2026-09-28T04:30:00Z")));
  EXPECT_FALSE(cal.IsWorking(At("2026-10-01T02:00:00Z")));
  BusinessCalendar always;
  EXPECT_EQ(always.Add(1000, 5000), 6000);
  EXPECT_EQ(always.Between(1000, 6000), 5000);
}

TEST(BusinessCalendarTest, BadSpansAreRefused) {
  EXPECT_FALSE(BusinessCalendar::Make("x", 480, {}, {1}, {}, {}).ok());
  EXPECT_FALSE(BusinessCalendar::Make("x", 480, {{600, 540}}, {1}, {}, {}).ok());
  EXPECT_FALSE(BusinessCalendar::Make("x", 480, {{540, 720}, {700, 800}}, {1}, {}, {}).ok());
  EXPECT_FALSE(BusinessCalendar::Make("x", 480, {{540, 720}}, {8}, {}, {}).ok());
}

TEST(CatalogTest, TheBuiltInCatalogHasTheSixClassesAndSensorCategories) {
  const Catalog& c = Catalog::Default();
  for (const char* code : {"01", "02", "03", "04", "05", "06", "07"}) {
    const Category* cat = c.FindCategory(code);
    ASSERT_NE(cat, nullptr) << code;
    EXPECT_FALSE(cat->leaf);
  }
  EXPECT_EQ(c.FindCategory("01")->name.zh_cn, "市容环境");
  EXPECT_EQ(c.FindCategory("05")->name.zh_cn, "街面秩序");
  // Children inherit department, priority and SLA targets, and may override them.
  const Category* rubbish = c.FindCategory("0101");
  ASSERT_NE(rubbish, nullptr);
  EXPECT_TRUE(rubbish->leaf);
  EXPECT_EQ(rubbish->department, "cgj");
  EXPECT_EQ(rubbish->sla[static_cast<size_t>(Step::kHandle)].calendar, "office");
  const Category* manhole = c.FindCategory("0106");
  EXPECT_EQ(manhole->department, "szj");
  EXPECT_EQ(manhole->priority, 2);
  EXPECT_EQ(manhole->sla[static_cast<size_t>(Step::kHandle)].minutes, 240);
  EXPECT_EQ(manhole->sla[static_cast<size_t>(Step::kAccept)].minutes, 30);  // from 01
  EXPECT_EQ(manhole->attributes.size(), 1u);
  EXPECT_EQ(c.FindCategory("0701")->department, "gaj");
  EXPECT_EQ(c.FindCategory("0403")->department, "yjj");
  for (const Category& cat : c.categories()) {
    if (cat.leaf) {
      EXPECT_NE(c.FindDepartment(cat.department), nullptr) << cat.code;
    }
  }
}

JsonValue Json(const char* text) { return ParseJson(text).value(); }

TEST(CatalogTest, RoutingByZoneThenByArea) {
  Result<Catalog> c = Catalog::FromJson(Json(R"({
    "departments": [{"id": "d", "supervisor": "boss", "units": [
      {"id": "north", "zones": ["z:north"]},
      {"id": "square", "area": {"type": "Polygon", "coordinates": [[[120,30],[121,30],[121,31],[120,31],[120,30]]]}}]},
      {"id": "e"}],
    "categories": [{"code": "A", "name": "a", "department": "d",
                    "children": [{"code": "A1", "name": "a1"}, {"code": "A2", "name": "a2", "department": "e"}]}]})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->RouteFor("A1", {"z:street", "z:north"}, std::nullopt)->unit, "north");
  EXPECT_EQ(c->RouteFor("A1", {}, geo::LonLat{120.5, 30.5})->unit, "square");
  EXPECT_EQ(c->RouteFor("A1", {}, geo::LonLat{122, 30.5})->unit, "");
  EXPECT_EQ(c->RouteFor("A1", {}, std::nullopt)->department, "d");
  EXPECT_EQ(c->RouteFor("A2", {"z:north"}, std::nullopt)->department, "e");
  EXPECT_EQ(c->RouteFor("A2", {"z:north"}, std::nullopt)->unit, "");
  EXPECT_EQ(c->RouteFor("A2", {}, std::nullopt, "d")->department, "d");
  EXPECT_EQ(c->RouteFor("B", {}, std::nullopt).status().code(), Code::kNotFound);
  EXPECT_EQ(c->RouteFor("A1", {}, std::nullopt, "zz").status().code(), Code::kNotFound);
}

TEST(CatalogTest, DeadlinesUseTheStepCalendarAndWarnBeforeThem) {
  const Catalog& c = Catalog::Default();
  // 0101 handle: 480 working minutes on the office calendar (08:30–12:00, 13:30–17:30).
  const TimeMs mon_9 = At("2026-11-23T01:00:00Z");  // Monday 09:00 Beijing
  Catalog::Deadline d = c.DeadlineFor("0101", Step::kHandle, mon_9);
  // Monday 09:00–12:00 and 13:30–17:30 are 420 minutes; the last 60 run from Tuesday 08:30.
  EXPECT_EQ(FormatIso8601(d.deadline), "2026-11-24T01:30:00.000Z");  // Tuesday 09:30
  EXPECT_LT(d.warn_at, d.deadline);
  EXPECT_GT(d.warn_at, mon_9);
  // 0101 accept: 30 minutes round the clock.
  EXPECT_EQ(c.DeadlineFor("0101", Step::kAccept, mon_9).deadline, mon_9 + 30 * kMin);
  EXPECT_EQ(c.DeadlineFor("nope", Step::kAccept, mon_9).deadline, 0);
}

struct BadCatalog {
  const char* json;
  const char* mentions;
};

TEST(CatalogTest, BadCatalogsAreRefusedNamingTheProblem) {
  const BadCatalog cases[] = {
      {R"([])", "object"},
      {R"({"categories": []})", "no categories"},
      {R"({"categories": [{"code": "A", "name": "a"}]})", "no department"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "x"}]})", "unknown department"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}, {"code": "A", "name": "b", "department": "d"}]})", "twice"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A b", "name": "a", "department": "d"}]})", "code"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "priority": 9}]})", "priority"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "sla": {"lunch": {"minutes": 5}}}]})", "step"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "sla": {"handle": {"minutes": 5, "calendar": "x"}}}]})", "calendar"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "sla": {"handle": {"minutes": -5}}}]})", "minutes"},
      {R"({"timeZone": "Beijing", "departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}]})", "timeZone"},
      {R"({"calendars": [{"id": "o", "hours": ["9-12"]}], "departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}]})", "hours"},
      {R"({"calendars": [{"id": "o", "hours": ["09:00-12:00"], "holidays": ["1 Oct"]}], "departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}]})", "holidays"},
      {R"({"departments": [{"id": "d", "units": [{"id": "u", "area": {"type": "Point", "coordinates": [1, 2]}}]}], "categories": [{"code": "A", "name": "a", "department": "d"}]})", "Polygon"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "attributes": [{"code": "x", "datatype": "colour"}]}]})", "datatype"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d", "attributes": [{"code": "x", "datatype": "singlevaluelist"}]}]})", "without values"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}], "reopenRating": 7})", "reopenRating"},
      {R"({"departments": [{"id": "d"}], "categories": [{"code": "A", "name": "a", "department": "d"}], "duplicates": {"radiusMeters": -1}})", "radiusMeters"},
  };
  for (const BadCatalog& b : cases) {
    Result<Catalog> c = Catalog::FromJson(Json(b.json));
    ASSERT_FALSE(c.ok()) << b.json;
    EXPECT_EQ(c.status().code(), Code::kBadRequestData);
    EXPECT_NE(c.status().message().find(b.mentions), std::string::npos)
        << b.json << " → " << c.status().message();
  }
}

TEST(CatalogTest, ToJsonListsWhatTheDashboardNeeds) {
  JsonValue j = Catalog::Default().ToJson();
  EXPECT_EQ(j.Find("timeZone")->as_string(), "+08:00");
  EXPECT_GE(j.Find("categories")->as_array().size(), 30u);
  EXPECT_EQ(j.Find("departments")->as_array()[0].Find("id")->as_string(), "cgj");
  EXPECT_EQ(j.Find("reopenRating")->as_int(), 2);
}

}  // namespace
}  // namespace cb::cases
