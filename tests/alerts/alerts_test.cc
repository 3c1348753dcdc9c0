// Tests of alerts: lifecycle, deduplication, escalation, GB/T 35965.1 identifiers, and CAP
// 1.2 output validated by xmllint against the OASIS schema.

#include "alerts/alerts.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../cap_schema_check.h"
#include "../store/store_test_util.h"
#include "gtest/gtest.h"

namespace cb::alerts {
namespace {

constexpr TimeMs kT0 = 1795428000000;  // 2026-11-23T10:00:00Z = 18:00 Beijing
constexpr TimeMs kMin = 60000;

AlertSpec CrowdSpec(int level, const std::string& zone = "urn:ngsi-ld:Zone:plaza") {
  AlertSpec s;
  s.key = "tier:" + zone;
  s.category = "crowd";
  s.event = "Crowd control level";
  s.level = level;
  s.zone_id = zone;
  s.headline = {"湖滨喷泉广场客流达到一级管控", "Fountain plaza at crowd control level 1"};
  s.description = {"广场内人数 12000 人 & 仍在上升", "12,000 people in the plaza <and rising>"};
  s.instruction = {"实施硬隔离", "Hard isolation"};
  s.area_desc = {"湖滨音乐喷泉广场", "Hubin music fountain plaza"};
  s.area = geo::Geometry::Make(
      geo::GeometryType::kPolygon,
      {{{{120.161, 30.2575}, {120.165, 30.2575}, {120.165, 30.2605}, {120.161, 30.2605}, {120.161, 30.2575}}}});
  s.departments = {"公安 Public Security"};
  return s;
}

class Recorder : public AlertListener {
 public:
  void OnAlert(const Alert& a, const std::string& what) override {
    seen.push_back(a.id + " " + what);
  }
  std::vector<std::string> seen;
};

TEST(AlertBookTest, LifecycleWithDeduplication) {
  AlertBook book;
  Recorder r;
  book.AddListener(&r);
  Alert a = *book.Raise(CrowdSpec(3), kT0);
  EXPECT_EQ(a.state, AlertState::kActive);
  EXPECT_EQ(a.id, "urn:ngsi-ld:Alert:citybrain_20261123100000_0");
  // Raised again while open: the same alert, counted; a new level is an Update.
  Alert same = *book.Raise(CrowdSpec(3), kT0 + kMin);
  EXPECT_EQ(same.id, a.id);
  EXPECT_EQ(same.occurrences, 2u);
  EXPECT_EQ(same.cap_messages.size(), 1u);
  Alert worse = *book.Raise(CrowdSpec(1), kT0 + 2 * kMin);
  EXPECT_EQ(worse.spec.level, 1);
  ASSERT_EQ(worse.cap_messages.size(), 2u);
  EXPECT_EQ(worse.cap_messages[1].msg_type, "Update");
  EXPECT_EQ(book.List(true).size(), 1u);
  // Acknowledge once; a second time is a conflict.
  EXPECT_EQ(book.Acknowledge(a.id, "张三", kT0 + 3 * kMin)->state, AlertState::kAcknowledged);
  EXPECT_EQ(book.Acknowledge(a.id, "张三", kT0 + 3 * kMin).status().code(), Code::kConflict);
  EXPECT_EQ(book.Acknowledge("urn:ngsi-ld:Alert:nope", "x", kT0).status().code(), Code::kNotFound);
  // Lowered after acknowledgement: stays acknowledged. Raised above it again: active again.
  EXPECT_EQ(book.Raise(CrowdSpec(2), kT0 + 4 * kMin)->state, AlertState::kAcknowledged);
  EXPECT_EQ(book.Raise(CrowdSpec(1), kT0 + 5 * kMin)->state, AlertState::kActive);
  // The condition clears: resolved automatically, with a CAP Cancel.
  std::optional<Alert> done = book.ResolveKey("tier:urn:ngsi-ld:Zone:plaza", kT0 + 6 * kMin);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state, AlertState::kResolved);
  EXPECT_EQ(done->resolved_by, "auto");
  EXPECT_EQ(done->cap_messages.back().msg_type, "Cancel");
  EXPECT_FALSE(book.ResolveKey("tier:urn:ngsi-ld:Zone:plaza", kT0 + 7 * kMin).has_value());
  EXPECT_EQ(book.Resolve(a.id, "李四", kT0 + 7 * kMin).status().code(), Code::kConflict);
  EXPECT_TRUE(book.List(true).empty());
  // The same condition later opens a new alert.
  Alert again = *book.Raise(CrowdSpec(3), kT0 + 8 * kMin);
  EXPECT_NE(again.id, a.id);
  EXPECT_EQ(book.List(false).size(), 2u);
  EXPECT_EQ(r.seen, (std::vector<std::string>{
                        a.id + " raised at level III", a.id + " raised to level I",
                        a.id + " acknowledged by 张三", a.id + " lowered to level II",
                        a.id + " raised to level I", a.id + " resolved (auto: the condition cleared)",
                        again.id + " raised at level III"}));
  EXPECT_EQ(book.Get(a.id)->history.size(), 6u);
}

TEST(AlertBookTest, BadSpecsAreRefused) {
  AlertBook book;
  AlertSpec s = CrowdSpec(3);
  s.key.clear();
  EXPECT_EQ(book.Raise(s, kT0).status().code(), Code::kBadRequestData);
  s = CrowdSpec(0);
  EXPECT_EQ(book.Raise(s, kT0).status().code(), Code::kBadRequestData);
  s = CrowdSpec(5);
  EXPECT_EQ(book.Raise(s, kT0).status().code(), Code::kBadRequestData);
  s = CrowdSpec(3);
  s.category.clear();
  EXPECT_EQ(book.Raise(s, kT0).status().code(), Code::kBadRequestData);
  EXPECT_TRUE(book.List(false).empty());
}

TEST(AlertBookTest, UnacknowledgedAlertsEscalateUpTheChain) {
  AlertBook book;  // deadline 10 minutes; duty operator → shift leader → commander
  Alert a = *book.Raise(CrowdSpec(1), kT0);
  Alert b = *book.Raise(CrowdSpec(2, "urn:ngsi-ld:Zone:street"), kT0);
  ASSERT_TRUE(book.Acknowledge(b.id, "duty", kT0 + kMin).ok());
  EXPECT_TRUE(book.EscalateDue(kT0 + 9 * kMin).empty());
  std::vector<Alert> first = book.EscalateDue(kT0 + 10 * kMin);
  ASSERT_EQ(first.size(), 1u);  // b was acknowledged
  EXPECT_EQ(first[0].id, a.id);
  EXPECT_EQ(first[0].escalation_step, 1);
  EXPECT_EQ(first[0].history.back().what, "escalated to shift leader by sms");
  EXPECT_TRUE(book.EscalateDue(kT0 + 15 * kMin).empty());  // a new deadline
  EXPECT_EQ(book.EscalateDue(kT0 + 20 * kMin)[0].history.back().what,
            "escalated to commander by phone");
  EXPECT_TRUE(book.EscalateDue(kT0 + 40 * kMin).empty());  // the top of the chain
  ASSERT_TRUE(book.Acknowledge(a.id, "commander", kT0 + 41 * kMin).ok());
  EXPECT_TRUE(book.EscalateDue(kT0 + 90 * kMin).empty());
}

TEST(AlertBookTest, AnAlertAskingForItDeEscalatesWhileNotRaisedAgain) {
  AlertBook book;
  AlertSpec decaying = CrowdSpec(2);
  decaying.deescalate_after_ms = 30 * kMin;
  Alert a = *book.Raise(decaying, kT0);
  Alert steady = *book.Raise(CrowdSpec(2, "urn:ngsi-ld:Zone:street"), kT0);  // never decays
  EXPECT_TRUE(book.DeescalateDue(kT0 + 29 * kMin).empty());
  // Raised again at 20 minutes: the level's time starts again.
  ASSERT_TRUE(book.Raise(decaying, kT0 + 20 * kMin).ok());
  EXPECT_TRUE(book.DeescalateDue(kT0 + 49 * kMin).empty());
  std::vector<Alert> down = book.DeescalateDue(kT0 + 50 * kMin);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].id, a.id);
  EXPECT_EQ(down[0].spec.level, 3);
  EXPECT_EQ(down[0].history.back().what, "de-escalated to level III");
  EXPECT_EQ(down[0].cap_messages.back().msg_type, "Update");
  EXPECT_EQ(book.DeescalateDue(kT0 + 80 * kMin)[0].spec.level, 4);
  EXPECT_TRUE(book.DeescalateDue(kT0 + 500 * kMin).empty());  // IV is the floor
  EXPECT_EQ(book.Get(a.id)->state, AlertState::kActive);     // still open
  EXPECT_EQ(book.Get(steady.id)->spec.level, 2);
}

TEST(AlertBookTest, GbtIdentifiersAndTheirSequence) {
  AlertOptions o;
  o.area_code = "330102";  // Hangzhou, Shangcheng district
  AlertBook book(o);
  const std::regex form("330102000000" "00_\\d{14}_\\d");
  std::set<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    Alert a = *book.Raise(CrowdSpec(3, "urn:ngsi-ld:Zone:z" + std::to_string(i)), kT0 + 123);
    EXPECT_EQ(a.identifier.size(), 31u) << a.identifier;
    EXPECT_TRUE(std::regex_match(a.identifier, form)) << a.identifier;
    ids.insert(a.identifier);
  }
  EXPECT_EQ(ids.size(), 12u);
  // Beijing time; the eleventh message of the second moves to the next second.
  EXPECT_EQ(*ids.begin(), "33010200000000_20261123180000_0");
  EXPECT_TRUE(ids.count("33010200000000_20261123180000_9"));
  EXPECT_TRUE(ids.count("33010200000000_20261123180001_1"));
}

TEST(AlertBookTest, AlertsAndTheirHistorySurviveARestart) {
  store::testing::TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/db";
  so.durability = store::Durability::kProcess;
  AlertOptions o;
  o.area_code = "330102";
  std::vector<JsonValue> before;
  std::string open_id, resolved_id;
  {
    auto store = store::testing::ExpectOpened(store::OpenSqliteStore(so));
    AlertBook book(o, store.get());
    ASSERT_TRUE(book.Load().ok());
    open_id = book.Raise(CrowdSpec(2), kT0)->id;
    book.Raise(CrowdSpec(1), kT0 + kMin);
    book.EscalateDue(kT0 + 20 * kMin);
    resolved_id = book.Raise(CrowdSpec(3, "urn:ngsi-ld:Zone:street"), kT0 + kMin)->id;
    AlertSpec decaying = CrowdSpec(2, "urn:ngsi-ld:Zone:lake");
    decaying.deescalate_after_ms = 30 * kMin;
    ASSERT_TRUE(book.Raise(decaying, kT0 + kMin).ok());
    ASSERT_TRUE(book.Acknowledge(resolved_id, "张三", kT0 + 2 * kMin).ok());
    ASSERT_TRUE(book.Resolve(resolved_id, "张三", kT0 + 3 * kMin).ok());
    for (const Alert& a : book.List(false)) before.push_back(AlertToJson(a));
    ASSERT_TRUE(store->SubmitSync({}).ok());  // everything queued is committed
  }
  auto store = store::testing::ExpectOpened(store::OpenSqliteStore(so));
  AlertBook book(o, store.get());
  ASSERT_TRUE(book.Load().ok());
  std::vector<JsonValue> after;
  for (const Alert& a : book.List(false)) after.push_back(AlertToJson(a));
  EXPECT_EQ(after, before);
  ASSERT_EQ(book.List(true).size(), 2u);
  // The decaying alert keeps its period and the time its level began.
  ASSERT_EQ(book.DeescalateDue(kT0 + 31 * kMin).size(), 1u);
  // The open alert is still the one its key updates; the resolved one stays resolved.
  EXPECT_EQ(book.Raise(CrowdSpec(2), kT0 + 30 * kMin)->id, open_id);
  EXPECT_EQ(book.Get(resolved_id)->state, AlertState::kResolved);
  EXPECT_EQ(book.Get(open_id)->cap_messages.back().spec.level, 2);  // the Update kept its level
  // New identifiers continue after the stored ones.
  std::set<std::string> ids;
  for (const Alert& a : book.List(false)) {
    for (const Alert::CapMessage& m : a.cap_messages) EXPECT_TRUE(ids.insert(m.identifier).second) << m.identifier;
  }
  Alert fresh = *book.Raise(CrowdSpec(3, "urn:ngsi-ld:Zone:new"), kT0 + 3 * kMin);
  EXPECT_FALSE(ids.count(fresh.identifier)) << fresh.identifier;
}

TEST(AlertBookTest, ACorruptStoredAlertIsReportedAtLoad) {
  store::testing::TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/db";
  so.durability = store::Durability::kProcess;
  auto store = store::testing::ExpectOpened(store::OpenSqliteStore(so));
  store::WriteBatch b;
  b.put_records.push_back(store::Record{"alert", "urn:ngsi-ld:Alert:x", R"({"id":"urn:ngsi-ld:Alert:x"})"});
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  AlertBook book({}, store.get());
  Status st = book.Load();
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("alert urn:ngsi-ld:Alert:x: stored alert: member identifier is missing"),
            std::string::npos)
      << st.message();
}

using ::cb::testing::CapSchemaCheck;

TEST(CapTest, EveryMessageValidatesAgainstTheSchema) {
  for (const std::string area_code : {"", "330102"}) {
    AlertOptions o;
    o.area_code = area_code;
    AlertBook book(o);
    Alert a = *book.Raise(CrowdSpec(2), kT0);
    book.Raise(CrowdSpec(1), kT0 + kMin);
    Alert done = *book.ResolveKey(CrowdSpec(1).key, kT0 + 2 * kMin);
    ASSERT_EQ(done.cap_messages.size(), 3u);
    for (size_t i = 0; i < done.cap_messages.size(); ++i) {
      const std::string xml = RenderCap(done, o, i);
      std::string out;
      EXPECT_EQ(CapSchemaCheck(xml, &out), 0) << out << "\n" << xml;
      EXPECT_NE(out.find("validates"), std::string::npos) << out;
    }
    const std::string first = RenderCap(done, o, 0);
    const std::string cancel = RenderCap(done, o);
    EXPECT_NE(first.find("<msgType>Alert</msgType>"), std::string::npos);
    EXPECT_NE(cancel.find("<msgType>Cancel</msgType>"), std::string::npos);
    EXPECT_NE(cancel.find("<references>"), std::string::npos);
    // One <info> per language, the zone as a closed lat,lon polygon, escaped text.
    EXPECT_NE(first.find("<language>zh-CN</language>"), std::string::npos);
    EXPECT_NE(first.find("<language>en</language>"), std::string::npos);
    EXPECT_NE(first.find("<polygon>30.257500,120.161000 30.257500,120.165000 30.260500,120.165000 "
                         "30.260500,120.161000 30.257500,120.161000</polygon>"),
              std::string::npos)
        << first;
    EXPECT_NE(first.find("&lt;and rising&gt;"), std::string::npos);
    EXPECT_NE(first.find("<severity>Severe</severity>"), std::string::npos);  // level II then
    EXPECT_NE(RenderCap(done, o, 1).find("<severity>Extreme</severity>"), std::string::npos);
    EXPECT_NE(cancel.find("<urgency>Past</urgency>"), std::string::npos);
    EXPECT_NE(first.find(area_code.empty() ? "<sent>2026-11-23T10:00:00+00:00</sent>"
                                           : "<sent>2026-11-23T18:00:00+08:00</sent>"),
              std::string::npos)
        << first;
  }
  // An alert without a polygon (a device fault) names its area only.
  AlertBook book;
  AlertSpec device;
  device.key = "device:urn:ngsi-ld:CrowdFlowObserved:a";
  device.category = "device";
  device.level = 4;
  device.headline = {"设备无数据", "Device silent"};
  device.area_desc = {"urn:ngsi-ld:CrowdFlowObserved:a", "urn:ngsi-ld:CrowdFlowObserved:a"};
  std::string device_out;
  const std::string device_cap = RenderCap(*book.Raise(device, kT0), book.options());
  EXPECT_EQ(CapSchemaCheck(device_cap, &device_out), 0) << device_out << device_cap;
  EXPECT_NE(device_cap.find("<category>Infra</category>"), std::string::npos);
  EXPECT_EQ(device_cap.find("<polygon>"), std::string::npos);
  // The check can fail: a message breaking the schema is caught.
  std::string out;
  EXPECT_NE(CapSchemaCheck("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>", &out), 0);
}

}  // namespace
}  // namespace cb::alerts
