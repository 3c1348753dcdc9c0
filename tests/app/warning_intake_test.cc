// Tests of WarningIntake on a real store, broker, situation engine and alert book: which
// zones a warning's polygons, circles and geocodes cover; the alert each covered zone gets
// (level, category, texts per language); updates, cancels, expiry, duplicates, ignored
// messages; and a restart.

#include "app/warning_intake.h"

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alerts/cap_intake.h"
#include "gtest/gtest.h"
#include "../cap_test_messages.h"
#include "../stream/broker_fixture.h"

namespace cb::app {
namespace {

constexpr TimeMs kT0 = 1782865800000;  // 2026-07-01T00:30:00Z = 08:30 Beijing
constexpr TimeMs kMin = 60000;
constexpr TimeMs kHour = 3600000;

const char* kPlaza = "urn:ngsi-ld:Zone:plaza";
const char* kWestLake = "urn:ngsi-ld:Zone:westlake";
const char* kBinjiang = "urn:ngsi-ld:Zone:binjiang";
const char* kXiaoshan = "urn:ngsi-ld:Zone:xiaoshan";
const char* kGongshu = "urn:ngsi-ld:Zone:gongshu";

using testing::CapArea;
using testing::CapBox;
using testing::CapCircle;
using testing::CapGeocode;
using testing::CapInfoText;
using testing::CapMessageText;
using testing::CapRef;
using testing::CapTime;

const std::string kCityCentre = testing::CityCentreArea();

alerts::CapAlert Parse(const CapMessageText& m) {
  auto a = alerts::ParseCap(testing::CapXml(m));
  EXPECT_TRUE(a.ok()) << a.status().ToString() << "\n" << testing::CapXml(m);
  return a.ok() ? std::move(a).value() : alerts::CapAlert{};
}

CapInfoText Chinese(const std::string& areas, const std::string& severity = "Severe") {
  return testing::ChineseInfo(areas, severity, kT0 + 12 * kHour);
}
CapInfoText English(const std::string& areas, const std::string& severity = "Severe") {
  return testing::EnglishInfo(areas, severity, kT0 + 12 * kHour);
}

CapMessageText Rainstorm() {
  return testing::RainstormWarning("33010041600000_20260701083000", kT0, kT0 + 12 * kHour);
}

// The zones on a real store and broker (stream::testing::BrokerTest), with the engine, the
// alert book and the intake over them.
class WarningIntakeTest : public stream::testing::BrokerTest {
 protected:
  void SetUp() override {
    BrokerTest::SetUp();
    clock_.Set(kT0 + kMin);
    OpenUsers();
    for (const Status& st : Upsert({
             ZoneJson(kPlaza, 120.160, 30.250, 120.162, 30.252,
                      R"(,"name":{"type":"LanguageProperty","languageMap":{"zh-CN":"湖滨喷泉广场","en":"Fountain plaza"}})"),
             ZoneJson(kWestLake, 120.13, 30.24, 120.15, 30.26, R"(,"name":"West Lake")"),
             ZoneJson(kBinjiang, 120.20, 30.19, 120.22, 30.21, R"(,"areaCode":"330108")"),
             ZoneJson(kXiaoshan, 120.26, 30.15, 120.28, 30.17, R"(,"areaCode":"330109")"),
             ZoneJson(kGongshu, 120.14, 30.30, 120.16, 30.32,
                      R"(,"areaCode":{"type":"Property","value":330105})"),
         })) {
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }
  void CloseUsers() override {
    intake_.reset();
    book_.reset();
    engine_.reset();
  }
  void OpenUsers() {
    auto e = stream::SituationEngine::Create(broker_.get(), &clock_, {});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_TRUE(engine_->Start(/*run_thread=*/false).ok());
    book_ = std::make_unique<alerts::AlertBook>(alerts::AlertOptions{}, store_.get());
    ASSERT_TRUE(book_->Load().ok());
    intake_ = std::make_unique<WarningIntake>(engine_.get(), broker_.get(), book_.get(), store_.get(),
                                              &clock_, &metrics_, options_);
    ASSERT_TRUE(intake_->Load().ok());
  }
  // Reopens everything on the test's directory, reading back what is stored.
  void Open() {
    OpenBroker();
    OpenUsers();
  }

  alerts::CapIntakeReport Receive(const CapMessageText& m) {
    auto r = intake_->Receive(Parse(m), "test");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : alerts::CapIntakeReport{};
  }
  // The zones of the open alerts, by key prefix "cap:".
  std::map<std::string, alerts::Alert> OpenWarningAlerts() const {
    std::map<std::string, alerts::Alert> out;
    for (const alerts::Alert& a : book_->List(true)) {
      if (a.spec.key.rfind("cap:", 0) == 0) out[a.spec.zone_id] = a;
    }
    return out;
  }
  std::set<std::string> Covered(const alerts::CapAlert& a) const {
    std::map<std::string, std::string> codes = {
        {kBinjiang, "330108"}, {kXiaoshan, "330109"}, {kGongshu, "330105"}};
    std::set<std::string> out;
    for (const alerts::AlertSpec& s :
         WarningIntake::SpecsFor(a, a.sender, a.identifier, engine_->AllZones(), codes)) {
      out.insert(s.zone_id);
    }
    return out;
  }

  metrics::Registry metrics_;
  WarningIntakeOptions options_;
  std::unique_ptr<stream::SituationEngine> engine_;
  std::unique_ptr<alerts::AlertBook> book_;
  std::unique_ptr<WarningIntake> intake_;
};

// ---- Which zones an area covers

struct CoverCase {
  const char* name;
  std::string area;
  std::set<std::string> zones;
};
void PrintTo(const CoverCase& c, std::ostream* os) { *os << c.name; }

class CoverageTest : public WarningIntakeTest, public ::testing::WithParamInterface<CoverCase> {};

TEST_P(CoverageTest, CoversExactlyTheseZones) {
  CapMessageText m;
  m.infos = {Chinese(GetParam().area)};
  EXPECT_EQ(Covered(Parse(m)), GetParam().zones);
}

INSTANTIATE_TEST_SUITE_P(
    Areas, CoverageTest,
    ::testing::Values(
        CoverCase{"CityCentrePolygon", kCityCentre, {kPlaza, kWestLake}},
        CoverCase{"PolygonInsideOneZone", CapArea("广场东侧", CapBox(120.1605, 30.2505, 120.1610, 30.2510)),
                  {kPlaza}},
        CoverCase{"PolygonAcrossAZoneEdge", CapArea("x", CapBox(120.149, 30.20, 120.17, 30.241)),
                  {kWestLake}},
        CoverCase{"PolygonTouchingACorner", CapArea("x", CapBox(120.22, 30.21, 120.23, 30.22)),
                  {kBinjiang}},
        CoverCase{"PolygonBetweenZones", CapArea("钱塘江", CapBox(120.17, 30.215, 120.19, 30.235)), {}},
        CoverCase{"PolygonAroundEverything", CapArea("杭州", CapBox(120.0, 30.0, 120.5, 30.5)),
                  {kPlaza, kWestLake, kBinjiang, kXiaoshan, kGongshu}},
        CoverCase{"TwoPolygonsInOneArea",
                  CapArea("x", CapBox(120.1605, 30.2505, 120.1610, 30.2510) + CapBox(120.265, 30.155, 120.27, 30.16)),
                  {kPlaza, kXiaoshan}},
        CoverCase{"CircleInsideAZone", CapArea("x", CapCircle("30.20,120.21 0.1")), {kBinjiang}},
        CoverCase{"PointCircleInsideAZone", CapArea("x", CapCircle("30.251,120.161 0")), {kPlaza}},
        // Xiaoshan's east edge is 120.28; the centre is 0.96 km east of it.
        CoverCase{"CircleFallingShort", CapArea("x", CapCircle("30.16,120.29 0.9")), {}},
        CoverCase{"CircleReaching", CapArea("x", CapCircle("30.16,120.29 1.0")), {kXiaoshan}},
        CoverCase{"LargeCircle", CapArea("x", CapCircle("30.25,120.16 12")),
                  {kPlaza, kWestLake, kBinjiang, kGongshu}},
        CoverCase{"GeocodeOfADistrict", CapArea("滨江区", CapGeocode("330108")), {kBinjiang}},
        CoverCase{"GeocodeOfTheCity", CapArea("杭州市", CapGeocode("330100")), {kBinjiang, kXiaoshan, kGongshu}},
        CoverCase{"GeocodeOfTheProvince", CapArea("浙江省", CapGeocode("330000")),
                  {kBinjiang, kXiaoshan, kGongshu}},
        CoverCase{"GeocodeOfAnotherCity", CapArea("深圳市", CapGeocode("440300")), {}},
        CoverCase{"GeocodeOfAnotherDistrict", CapArea("西湖区", CapGeocode("330106")), {}},
        CoverCase{"PolygonAndGeocode", CapArea("x", CapBox(120.1605, 30.2505, 120.1610, 30.2510) + CapGeocode("330109")),
                  {kPlaza, kXiaoshan}},
        CoverCase{"NoGeometry", CapArea("全市", ""), {}}),
    [](const ::testing::TestParamInfo<CoverCase>& info) { return std::string(info.param.name); });

TEST(AreaCodeTest, Hierarchy) {
  struct Case {
    const char* geocode;
    const char* zone;
    bool covers;
  } cases[] = {
      {"330108", "330108", true},       {"330100", "330108", true},
      {"330000", "330108", true},       {"330100", "330100", true},
      {"330108", "330100", false},      {"330106", "330108", false},
      {"320100", "330108", false},      {"330108", "330108001000", true},
      {"330100", "330108001000", true}, {"330108001000", "330108", false},
      {"SAME-006037", "SAME-006037", true}, {"", "330108", false},
      {"330100", "3301", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(WarningIntake::AreaCodeCovers(c.geocode, c.zone), c.covers)
        << c.geocode << " / " << c.zone;
  }
}

// ---- What alert a covered zone gets

TEST_F(WarningIntakeTest, TheRainstormWarningsAlertForTheFountainPlaza) {
  const alerts::CapAlert a = Parse(Rainstorm());
  auto specs = WarningIntake::SpecsFor(a, a.sender, a.identifier, engine_->AllZones(), {});
  ASSERT_EQ(specs.size(), 2u);
  const alerts::AlertSpec& s = specs[0];
  ASSERT_EQ(s.zone_id, kPlaza);
  EXPECT_EQ(s.key, "cap:33010041600000:33010041600000_20260701083000:urn:ngsi-ld:Zone:plaza");
  EXPECT_EQ(s.category, "weather");
  EXPECT_EQ(s.level, 2);
  EXPECT_EQ(s.event, "Rainstorm Orange Warning");
  EXPECT_EQ(s.headline.zh_cn, "杭州市气象台发布暴雨橙色预警");
  EXPECT_EQ(s.headline.en, "Rainstorm orange warning");
  EXPECT_EQ(s.description.zh_cn,
            "预计未来3小时内降雨量将达50毫米以上。\n发布：杭州市气象台；预警区域：上城区、西湖区");
  EXPECT_EQ(s.description.en,
            "More than 50 mm of rain within 3 hours.\nIssued by: Hangzhou Meteorological "
            "Observatory; warning area: 上城区、西湖区");
  EXPECT_EQ(s.instruction.zh_cn, "暂停户外作业。");
  EXPECT_EQ(s.instruction.en, "Stop outdoor work.");
  EXPECT_EQ(s.area_desc.zh_cn, "湖滨喷泉广场");
  EXPECT_EQ(s.area_desc.en, "Fountain plaza");
  ASSERT_TRUE(s.area.has_value());
  EXPECT_EQ(*s.area, engine_->ZoneState(kPlaza)->zone.area);
  EXPECT_EQ(specs[1].zone_id, kWestLake);
  EXPECT_EQ(specs[1].area_desc.zh_cn, "West Lake");
}

struct LevelCase {
  const char* severity;
  int level;
};
void PrintTo(const LevelCase& c, std::ostream* os) { *os << c.severity; }

class SeverityTest : public WarningIntakeTest, public ::testing::WithParamInterface<LevelCase> {};

TEST_P(SeverityTest, GivesTheLevel) {
  CapMessageText m;
  m.infos = {English(kCityCentre, GetParam().severity)};
  const alerts::CapAlert a = Parse(m);
  auto specs = WarningIntake::SpecsFor(a, a.sender, a.identifier, engine_->AllZones(), {});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].level, GetParam().level);
}

INSTANTIATE_TEST_SUITE_P(Cap, SeverityTest,
                         ::testing::Values(LevelCase{"Extreme", 1}, LevelCase{"Severe", 2},
                                           LevelCase{"Moderate", 3}, LevelCase{"Minor", 4},
                                           LevelCase{"Unknown", 4}));

TEST_F(WarningIntakeTest, EachZoneGetsTheMostSevereInfoCoveringIt) {
  CapMessageText m;
  CapInfoText red = English(CapArea("plaza", CapBox(120.1605, 30.2505, 120.1610, 30.2510)), "Extreme");
  red.headline = "Red warning";
  CapInfoText yellow = English(kCityCentre, "Moderate");
  yellow.headline = "Yellow warning";
  m.infos = {yellow, red};
  const alerts::CapAlert a = Parse(m);
  auto specs = WarningIntake::SpecsFor(a, a.sender, a.identifier, engine_->AllZones(), {});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].zone_id, kPlaza);
  EXPECT_EQ(specs[0].level, 1);
  EXPECT_EQ(specs[0].headline.en, "Red warning");
  EXPECT_EQ(specs[1].zone_id, kWestLake);
  EXPECT_EQ(specs[1].level, 3);
  EXPECT_EQ(specs[1].headline.en, "Yellow warning");
}

struct LanguageCase {
  const char* name;
  std::vector<std::string> languages;  // of the infos, each with its language as headline
  const char* zh;
  const char* en;
};
void PrintTo(const LanguageCase& c, std::ostream* os) { *os << c.name; }

class LanguageTest : public WarningIntakeTest, public ::testing::WithParamInterface<LanguageCase> {};

TEST_P(LanguageTest, TextsComeFromTheirLanguageOrTheOther) {
  CapMessageText m;
  for (const std::string& lang : GetParam().languages) {
    CapInfoText i = Chinese(kCityCentre);
    i.language = lang;
    i.headline = lang;
    m.infos.push_back(i);
  }
  const alerts::CapAlert a = Parse(m);
  auto specs = WarningIntake::SpecsFor(a, a.sender, a.identifier, engine_->AllZones(), {});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].headline.zh_cn, GetParam().zh);
  EXPECT_EQ(specs[0].headline.en, GetParam().en);
}

INSTANTIATE_TEST_SUITE_P(
    Cap, LanguageTest,
    ::testing::Values(LanguageCase{"Both", {"en-US", "zh-CN"}, "zh-CN", "en-US"},
                      LanguageCase{"ChineseOnly", {"zh-CN"}, "zh-CN", "zh-CN"},
                      LanguageCase{"EnglishOnly", {"en"}, "en", "en"},
                      LanguageCase{"OtherSpellings", {"EN-gb", "zh-Hans"}, "zh-Hans", "EN-gb"},
                      LanguageCase{"NeitherLanguage", {"fr-CA"}, "fr-CA", "fr-CA"},
                      LanguageCase{"ThirdLanguageIgnored", {"fr-CA", "en"}, "en", "en"}),
    [](const ::testing::TestParamInfo<LanguageCase>& info) { return std::string(info.param.name); });

// ---- Taking warnings in

TEST_F(WarningIntakeTest, AWarningRaisesOneAlertPerCoveredZoneOnce) {
  alerts::CapIntakeReport r = Receive(Rainstorm());
  EXPECT_EQ(r.outcome, "applied");
  EXPECT_EQ(r.zones, (std::vector<std::string>{kPlaza, kWestLake}));
  EXPECT_EQ(r.raised.size(), 2u);
  EXPECT_TRUE(r.updated.empty());
  EXPECT_EQ(r.via, "test");
  auto open = OpenWarningAlerts();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[kPlaza].spec.level, 2);
  EXPECT_EQ(open[kPlaza].id, r.raised[0]);

  // Posted and polled, or polled again: a duplicate, nothing changes.
  alerts::CapIntakeReport again = Receive(Rainstorm());
  EXPECT_EQ(again.outcome, "duplicate");
  EXPECT_TRUE(again.raised.empty() && again.updated.empty() && again.zones.empty());
  EXPECT_EQ(book_->GetStats().raised, 2u);
  EXPECT_EQ(OpenWarningAlerts()[kPlaza].occurrences, 1u);
  EXPECT_EQ(metrics_.GetCounter("citybrain_warnings_received_total", "",
                                metrics::Label("outcome", "duplicate"))->Value(), 1u);

  std::vector<alerts::CapIntakeReport> recent = intake_->Recent(10);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].outcome, "duplicate");
  EXPECT_EQ(recent[1].outcome, "applied");
}

TEST_F(WarningIntakeTest, GeocodesNameTheZonesAreaCodes) {
  // Binjiang's areaCode is a text, Gongshu's a number, Xiaoshan's a text: all in 330100.
  CapMessageText m = Rainstorm();
  m.infos = {Chinese(CapArea("杭州市", CapGeocode("330100")))};
  alerts::CapIntakeReport r = Receive(m);
  EXPECT_EQ(r.zones, (std::vector<std::string>{kBinjiang, kGongshu, kXiaoshan}));
  m.identifier = "W-2";
  m.infos = {Chinese(CapArea("萧山区", CapGeocode("330109")))};
  EXPECT_EQ(Receive(m).zones, (std::vector<std::string>{kXiaoshan}));
}

TEST_F(WarningIntakeTest, AnUpdateMovesTheWarningAndACancelEndsIt) {
  const CapMessageText first = Rainstorm();
  Receive(first);
  const std::string plaza_alert = OpenWarningAlerts()[kPlaza].id;
  const std::string lake_alert = OpenWarningAlerts()[kWestLake].id;

  // Upgraded to red, moved south-east: the West Lake and Binjiang, no longer the plaza.
  CapMessageText update;
  update.identifier = "33010041600000_20260701093000";
  update.sent = kT0 + kHour;
  update.msg_type = "Update";
  update.references = CapRef(first);
  const std::string moved = CapArea("西湖区、滨江区", CapBox(120.12, 30.18, 120.21, 30.245));
  update.infos = {Chinese(moved, "Extreme"), English(moved, "Extreme")};
  clock_.Set(kT0 + kHour);
  alerts::CapIntakeReport r = Receive(update);
  EXPECT_EQ(r.outcome, "applied");
  EXPECT_EQ(r.zones, (std::vector<std::string>{kBinjiang, kWestLake}));
  EXPECT_EQ(r.updated, (std::vector<std::string>{lake_alert}));
  ASSERT_EQ(r.raised.size(), 1u);
  EXPECT_EQ(r.resolved, (std::vector<std::string>{plaza_alert}));
  auto open = OpenWarningAlerts();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[kWestLake].id, lake_alert);  // the same alert, now level I
  EXPECT_EQ(open[kWestLake].spec.level, 1);
  EXPECT_EQ(open[kWestLake].cap_messages.back().msg_type, "Update");
  EXPECT_EQ(open[kBinjiang].spec.key,
            "cap:33010041600000:33010041600000_20260701083000:urn:ngsi-ld:Zone:binjiang");
  EXPECT_EQ(book_->Get(plaza_alert)->resolved_by, "auto");

  // The Cancel references the update only; it still ends the whole warning.
  CapMessageText cancel;
  cancel.identifier = "33010041600000_20260701110000";
  cancel.sent = kT0 + 2 * kHour + 30 * kMin;
  cancel.msg_type = "Cancel";
  cancel.references = CapRef(update);
  cancel.infos = {Chinese(moved, "Minor")};
  alerts::CapIntakeReport c = Receive(cancel);
  EXPECT_EQ(c.outcome, "applied");
  EXPECT_EQ(c.resolved.size(), 2u);
  EXPECT_TRUE(OpenWarningAlerts().empty());
  EXPECT_EQ(book_->Get(lake_alert)->cap_messages.back().msg_type, "Cancel");
  // A late copy of the original raises nothing.
  EXPECT_EQ(Receive(first).outcome, "duplicate");
}

TEST_F(WarningIntakeTest, AMessageOlderThanOneTakenInIsSuperseded) {
  const CapMessageText first = Rainstorm();
  CapMessageText update = first;
  update.identifier = "W-2";
  update.sent = kT0 + 10 * kMin;
  update.msg_type = "Update";
  update.references = CapRef(first);
  update.infos = {Chinese(CapArea("滨江区", CapGeocode("330108")), "Moderate")};
  // The update arrives first (say, the feed was polled after both were out).
  alerts::CapIntakeReport u = Receive(update);
  EXPECT_EQ(u.outcome, "applied");
  EXPECT_EQ(u.zones, (std::vector<std::string>{kBinjiang}));
  alerts::CapIntakeReport f = Receive(first);
  EXPECT_EQ(f.outcome, "superseded");
  auto open = OpenWarningAlerts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[kBinjiang].spec.level, 3);
  // Both keyed under the first message's identifier.
  EXPECT_EQ(open[kBinjiang].spec.key, WarningIntake::AlertKey(first.sender, first.identifier, kBinjiang));
}

TEST_F(WarningIntakeTest, WarningsExpireOnTheClock) {
  CapMessageText m = Rainstorm();
  for (CapInfoText& i : m.infos) i.expires = kT0 + 2 * kHour;
  m.infos[1].expires = kT0 + 3 * kHour;  // the English info runs longer: the warning with it
  Receive(m);
  EXPECT_EQ(intake_->ExpireDue(kT0 + 3 * kHour - 1), 0u);
  EXPECT_EQ(OpenWarningAlerts().size(), 2u);
  EXPECT_EQ(intake_->ExpireDue(kT0 + 3 * kHour), 1u);
  EXPECT_TRUE(OpenWarningAlerts().empty());
  EXPECT_EQ(intake_->ExpireDue(kT0 + 4 * kHour), 0u);

  // An info without <expires> keeps the warning open until it is cancelled.
  CapMessageText open_ended = Rainstorm();
  open_ended.identifier = "W-open";
  open_ended.infos[0].expires = kNoTime;
  Receive(open_ended);
  EXPECT_EQ(intake_->ExpireDue(kT0 + 1000 * kHour), 0u);
  EXPECT_EQ(OpenWarningAlerts().size(), 2u);
}

TEST_F(WarningIntakeTest, TheExpiryClockRunsOnItsOwn) {
  CapMessageText m = Rainstorm();
  for (CapInfoText& i : m.infos) i.expires = kT0 + kHour;
  Receive(m);
  clock_.Set(kT0 + kHour);
  intake_->Start();
  for (int i = 0; i < 400 && !OpenWarningAlerts().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  intake_->Stop();
  EXPECT_TRUE(OpenWarningAlerts().empty());
}

TEST_F(WarningIntakeTest, AWarningPastItsExpiryOnArrivalRaisesNothing) {
  CapMessageText m = Rainstorm();
  for (CapInfoText& i : m.infos) i.expires = kT0 + 30 * kMin;
  clock_.Set(kT0 + kHour);
  alerts::CapIntakeReport r = Receive(m);
  EXPECT_EQ(r.outcome, "expired");
  EXPECT_NE(r.reason.find("before it arrived"), std::string::npos);
  EXPECT_TRUE(OpenWarningAlerts().empty());
  EXPECT_EQ(book_->GetStats().raised, 0u);
}

struct IgnoredCase {
  const char* status;
  const char* msg_type;
  const char* reason;
};
void PrintTo(const IgnoredCase& c, std::ostream* os) { *os << c.status << " " << c.msg_type; }

class IgnoredTest : public WarningIntakeTest, public ::testing::WithParamInterface<IgnoredCase> {};

TEST_P(IgnoredTest, IsAcceptedAndRaisesNothing) {
  CapMessageText m = Rainstorm();
  m.status = GetParam().status;
  m.msg_type = GetParam().msg_type;
  if (m.msg_type != "Alert") m.references = "33010041600000,W-0," + CapTime(kT0 - kHour);
  alerts::CapIntakeReport r = Receive(m);
  EXPECT_EQ(r.outcome, "ignored");
  EXPECT_NE(r.reason.find(GetParam().reason), std::string::npos) << r.reason;
  EXPECT_TRUE(r.zones.empty());
  EXPECT_EQ(book_->GetStats().raised, 0u);
}

INSTANTIATE_TEST_SUITE_P(Cap, IgnoredTest,
                         ::testing::Values(IgnoredCase{"Test", "Alert", "status Test"},
                                           IgnoredCase{"Exercise", "Alert", "status Exercise"},
                                           IgnoredCase{"System", "Alert", "status System"},
                                           IgnoredCase{"Draft", "Alert", "status Draft"},
                                           IgnoredCase{"Actual", "Ack", "msgType Ack"},
                                           IgnoredCase{"Actual", "Error", "msgType Error"}));

TEST_F(WarningIntakeTest, AWarningCoveringNoZoneIsAcceptedAsCoveringNone) {
  auto a = alerts::ParseCap([] {
    std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/tests/data/cap/spec-a2-thunderstorm.xml");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }());
  ASSERT_TRUE(a.ok());
  auto r = intake_->Receive(*a, "post");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, "expired");  // 2003: long over
  CapMessageText m = Rainstorm();
  m.infos = {English(CapArea("钱塘江", CapBox(120.17, 30.215, 120.19, 30.235)))};
  alerts::CapIntakeReport none = Receive(m);
  EXPECT_EQ(none.outcome, "applied");
  EXPECT_TRUE(none.zones.empty());
  EXPECT_EQ(none.reason, "its areas cover none of the 5 zones");
  EXPECT_EQ(book_->GetStats().raised, 0u);
}

TEST_F(WarningIntakeTest, AnAlertResolvedByHandReturnsOnlyWithNewNews) {
  const CapMessageText first = Rainstorm();
  Receive(first);
  const std::string id = OpenWarningAlerts()[kPlaza].id;
  ASSERT_TRUE(book_->Resolve(id, "duty operator", kT0 + 2 * kMin).ok());
  EXPECT_EQ(Receive(first).outcome, "duplicate");
  EXPECT_EQ(OpenWarningAlerts().count(kPlaza), 0u);
  CapMessageText update = first;
  update.identifier = "W-2";
  update.sent = kT0 + 30 * kMin;
  update.msg_type = "Update";
  update.references = CapRef(first);
  alerts::CapIntakeReport r = Receive(update);
  EXPECT_EQ(r.raised.size(), 1u);  // a new alert for the plaza
  EXPECT_EQ(r.updated.size(), 1u);  // the West Lake's
  EXPECT_NE(OpenWarningAlerts()[kPlaza].id, id);
}

TEST_F(WarningIntakeTest, AnUpdateOfAWarningNeverSeenStandsForIt) {
  CapMessageText update = Rainstorm();
  update.identifier = "W-2";
  update.msg_type = "Update";
  update.references = "33010041600000,W-1," + CapTime(kT0 - kHour);
  alerts::CapIntakeReport r = Receive(update);
  EXPECT_EQ(r.outcome, "applied");
  EXPECT_EQ(r.raised.size(), 2u);
  EXPECT_EQ(OpenWarningAlerts()[kPlaza].spec.key,
            WarningIntake::AlertKey("33010041600000", "W-1", kPlaza));
  // The original, arriving late, is older: superseded.
  CapMessageText original = Rainstorm();
  original.identifier = "W-1";
  original.sent = kT0 - kHour;
  EXPECT_EQ(Receive(original).outcome, "superseded");
}

TEST_F(WarningIntakeTest, WhatWasTakenInSurvivesARestart) {
  CapMessageText m = Rainstorm();
  for (CapInfoText& i : m.infos) i.expires = kT0 + 2 * kHour;
  Receive(m);
  CapMessageText cancelled = Rainstorm();
  cancelled.identifier = "W-gone";
  Receive(cancelled);
  CapMessageText cancel;
  cancel.identifier = "W-gone-cancel";
  cancel.msg_type = "Cancel";
  cancel.sent = kT0 + kMin;
  cancel.references = CapRef(cancelled);
  Receive(cancel);
  Open();
  EXPECT_EQ(Receive(m).outcome, "duplicate");
  EXPECT_EQ(Receive(cancelled).outcome, "duplicate");
  EXPECT_EQ(OpenWarningAlerts().size(), 2u);
  EXPECT_EQ(intake_->ExpireDue(kT0 + 2 * kHour), 1u);
  EXPECT_TRUE(OpenWarningAlerts().empty());
  // Ended warnings are forgotten keep_ended_ms after they ended.
  int stored = 0;
  ASSERT_TRUE(store_->ScanRecords("cap-warning", [&](store::Record&&) { ++stored; }).ok());
  EXPECT_EQ(stored, 2);
  intake_->ExpireDue(kT0 + 2 * kHour + options_.keep_ended_ms + 1);
  Open();  // the store applies the deletes before it is read again
  stored = 0;
  ASSERT_TRUE(store_->ScanRecords("cap-warning", [&](store::Record&&) { ++stored; }).ok());
  EXPECT_EQ(stored, 0);
}

}  // namespace
}  // namespace cb::app
