// Tests of the rule engine on a real broker and store: rule definitions refused with
// reasons, thresholds, rates of change, silence, AND/OR, zone scope, quiet periods, a
// flooding sensor, and rules kept across a restart.

#include "stream/rules.h"

#include <string>
#include <vector>

#include "broker_fixture.h"
#include "stream/situation_engine.h"

namespace cb::stream {
namespace {

using testing::kMin;
using testing::kT0;

constexpr TimeMs kSec = 1000;

class EventRecorder : public RuleListener {
 public:
  void OnRuleEvent(const Rule& rule, const RuleEvent& e) override {
    seen.push_back(rule.id + " " + e.entity_id.substr(e.entity_id.rfind(':') + 1) +
                   (e.firing ? " fires" : " clears"));
    reasons.push_back(e.reason_en);
  }
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    out.swap(seen);
    return out;
  }
  std::vector<std::string> seen;
  std::vector<std::string> reasons;
};

Rule MustParse(const std::string& text) {
  auto r = Rule::FromJson(*ParseJson(text));
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << text;
  return r.ok() ? std::move(r).value() : Rule{};
}

// A rule on counters; severity II unless `extra` gives one.
std::string RuleJson(const std::string& id, const std::string& when, const std::string& extra = "") {
  const bool severity = extra.find(R"("severity")") != std::string::npos;
  return R"({"id":")" + id + R"(","name":{"zh-CN":"规则","en":"Rule"},"entityType":"CrowdFlowObserved",)" +
         (severity ? "" : R"("severity":"II",)") + R"("when":)" + when + extra + "}";
}

TEST(RuleParseTest, BadRulesAreRefusedWithTheirReason) {
  const struct {
    std::string json;
    std::string reason;
  } cases[] = {
      {"[]", "a rule must be a JSON object"},
      {R"({"name":{"zh-CN":"a","en":"a"},"entityType":"T","severity":1,"when":{"attribute":"x","op":">","value":1}})", "id must be"},
      {RuleJson("bad id", R"({"attribute":"x","op":">","value":1})"), "id must be 1–128 characters"},
      {R"({"id":"r","entityType":"T","severity":1,"when":{"attribute":"x","op":">","value":1}})", "name must be an object"},
      {R"({"id":"r","name":{"zh-CN":"a"},"entityType":"T","severity":1,"when":{"attribute":"x","op":">","value":1}})", "name.en must be"},
      {R"({"id":"r","name":{"zh-CN":"a","en":"a"},"severity":1,"when":{"attribute":"x","op":">","value":1}})", "entityType must be"},
      {R"({"id":"r","name":{"zh-CN":"a","en":"a"},"entityType":"Alert","severity":1,"when":{"attribute":"x","op":">","value":1}})", "entityType Alert is not allowed"},
      {R"({"id":"r","name":{"zh-CN":"a","en":"a"},"entityType":"T","when":{"attribute":"x","op":">","value":1}})", "severity is required"},
      {RuleJson("r", R"({"attribute":"x","op":">","value":1})", R"(,"severity":"V")"), "severity must be I, II, III or IV"},
      {RuleJson("r", R"({"attribute":"x","op":">","value":1})", R"(,"severity":0)"), "severity must be"},
      {R"({"id":"r","name":{"zh-CN":"a","en":"a"},"entityType":"T","severity":1})", "when (the condition) is required"},
      {RuleJson("r", R"({"attribute":"x","op":"=>","value":1})"), "op must be one of"},
      {RuleJson("r", R"({"attribute":"x","op":">"})"), "value must be a finite number"},
      {RuleJson("r", R"({"attribute":"x","op":">","value":"high"})"), "value must be a finite number"},
      {RuleJson("r", R"({"attribute":"","op":">","value":1})"), "when.attribute must be a non-empty string"},
      {RuleJson("r", R"({"all":[]})"), "when.all must be a non-empty array"},
      {RuleJson("r", R"({"any":[{"attribute":"x","op":">","value":1},{"nothing":1}]})"), "when.any[1]. must be exactly one of"},
      {RuleJson("r", R"({"attribute":"x","op":">","value":1,"silentFor":3})"), "must be exactly one of"},
      {RuleJson("r", R"({"rateOfChange":{"attribute":"x","op":">=","value":5}})"), "withinSeconds is required"},
      {RuleJson("r", R"({"rateOfChange":{"attribute":"x","op":">=","value":5,"withinSeconds":0}})"), "withinSeconds must be a number from 1"},
      {RuleJson("r", R"({"rateOfChange":{"attribute":"x","op":"==","value":"a","withinSeconds":60}})"), "value must be a finite number"},
      {RuleJson("r", R"({"silentFor":1})"), "silentFor must be a number from 1.5"},
      {RuleJson("r", R"({"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"all":[{"silentFor":3}]}]}]}]}]}]}]}]}]})"), "nest deeper than 8"},
      {RuleJson("r", R"({"silentFor":3})", R"(,"quietPeriodSeconds":-1)"), "quietPeriodSeconds must be a number from 0"},
      {RuleJson("r", R"({"silentFor":3})", R"(,"deEscalateAfterSeconds":10)"), "deEscalateAfterSeconds must be 0 (never) or at least 60"},
      {RuleJson("r", R"({"silentFor":3})", R"(,"zone":"")"), "zone must be the id of a Zone"},
      {RuleJson("r", R"({"silentFor":3})", R"(,"departments":[])"), "departments must be a non-empty array"},
      {RuleJson("r", R"({"silentFor":3})", R"(,"actions":{"en":"x"})"), "actions.zh-CN must be"},
  };
  for (const auto& c : cases) {
    auto r = Rule::FromJson(*ParseJson(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), Code::kBadRequestData) << c.json;
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos)
        << c.json << "\n got: " << r.status().message() << "\n want: " << c.reason;
    EXPECT_EQ(r.status().message().rfind("rule: ", 0), 0u) << r.status().message();
  }
}

TEST(RuleParseTest, ARuleSurvivesItsOwnJson) {
  const Rule r = MustParse(RuleJson(
      "metro-surge",
      R"({"any":[{"attribute":"peopleCount","op":">=","value":3000},{"all":[{"rateOfChange":{"attribute":"peopleCount","op":">=","value":800,"withinSeconds":300}},{"attribute":"congested","op":"==","value":"yes"}]},{"silentFor":4}]})",
      R"(,"zone":"urn:ngsi-ld:Zone:metro","category":"crowd","quietPeriodSeconds":600,"deEscalateAfterSeconds":1800,"actions":{"zh-CN":"限流","en":"Meter the entrances"},"departments":["地铁 Metro"])"));
  const Rule again = MustParse(r.ToJson().Dump());
  EXPECT_EQ(again.ToJson().Dump(), r.ToJson().Dump());
  EXPECT_EQ(r.severity, 2);
  EXPECT_EQ(r.quiet_period_ms, 600000);
  EXPECT_EQ(r.deescalate_after_ms, 1800000);
  EXPECT_EQ(r.Attributes(), (std::vector<std::string>{"congested", "peopleCount"}));
  EXPECT_EQ(r.SilentFactor(), 4);
  EXPECT_EQ(MustParse(RuleJson("s", R"({"attribute":"x","op":"<","value":1})", R"(,"severity":4)")).severity, 4);
}

class RuleEngineTest : public testing::BrokerTest {
 protected:
  void CloseUsers() override {
    rules_.reset();
    situation_.reset();
  }
  void Start(std::vector<std::string> file_rules = {}) {
    auto s = SituationEngine::Create(broker_.get(), &clock_, {});
    ASSERT_TRUE(s.ok());
    situation_ = std::move(s).value();
    ASSERT_TRUE(situation_->Start(false).ok());
    rules_ = std::make_unique<RuleEngine>(broker_.get(), situation_.get(), store_.get(), &clock_);
    std::vector<Rule> parsed;
    for (const std::string& f : file_rules) parsed.push_back(MustParse(f));
    rules_->AddListener(&events_);
    ASSERT_TRUE(rules_->Start(std::move(parsed), false).ok());
  }
  // A counter reading at the clock's time.
  void Count(const std::string& name, double count, const std::string& extra = "",
             double lon = 120.161, double lat = 30.251) {
    ASSERT_TRUE(Upsert({Counter("urn:ngsi-ld:CrowdFlowObserved:" + name, lon, lat, count,
                                clock_.Now(), extra)})[0]
                    .ok());
  }
  void Define(const std::string& json) {
    auto d = rules_->Define(MustParse(json));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
  }

  std::unique_ptr<SituationEngine> situation_;
  std::unique_ptr<RuleEngine> rules_;
  EventRecorder events_;
};

using Seen = std::vector<std::string>;

TEST_F(RuleEngineTest, AThresholdFiresOnceForAFloodOfReadingsAndClears) {
  Start({RuleJson("crowd", R"({"attribute":"peopleCount","op":">=","value":3000})")});
  Count("a", 2999);
  EXPECT_EQ(events_.Take(), Seen{});
  for (int i = 0; i < 200; ++i) {  // a broken sensor flooding high readings
    clock_.Advance(10);
    Count("a", 3000 + i);
  }
  EXPECT_EQ(events_.Take(), Seen{"crowd a fires"});
  EXPECT_EQ(events_.reasons.front(), "peopleCount 3000 >= 3000");
  Count("b", 100);  // another counter is evaluated all the same
  clock_.Advance(kSec);
  Count("a", 10);
  EXPECT_EQ(events_.Take(), Seen{"crowd a clears"});
  auto st = rules_->Get("crowd");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->fired, 1u);
  EXPECT_EQ(st->cleared, 1u);
  EXPECT_EQ(st->watched, 2u);
  EXPECT_TRUE(st->firing.empty());
}

TEST_F(RuleEngineTest, AllAndAnyCombineConditions) {
  Start({RuleJson("both", R"({"all":[{"attribute":"peopleCount","op":">","value":100},{"attribute":"congested","op":"==","value":"yes"}]})"),
         RuleJson("either", R"({"any":[{"attribute":"peopleCount","op":">","value":100},{"attribute":"congested","op":"==","value":"yes"}]})")});
  const std::string yes = R"(,"congested":{"type":"Property","value":"yes"})";
  const std::string no = R"(,"congested":{"type":"Property","value":"no"})";
  const struct {
    double count;
    std::string congested;
    Seen expect;
  } steps[] = {
      {50, no, {}},
      {150, no, {"either a fires"}},
      {150, yes, {"both a fires"}},
      {50, yes, {"both a clears"}},
      {50, no, {"either a clears"}},
      {50, "", {}},  // the attribute stays as it was
  };
  for (const auto& s : steps) {
    clock_.Advance(kSec);
    Count("a", s.count, s.congested);
    EXPECT_EQ(events_.Take(), s.expect) << s.count << s.congested;
  }
}

TEST_F(RuleEngineTest, RateOfChangeComparesWithTheWindowStart) {
  Start({RuleJson("surge", R"({"rateOfChange":{"attribute":"peopleCount","op":">=","value":500,"withinSeconds":300}})"),
         RuleJson("drain", R"({"rateOfChange":{"attribute":"peopleCount","op":"<=","value":-500,"withinSeconds":120}})")});
  // One reading a minute: the change over 5 minutes is the latest minus the reading 5
  // minutes before it (or the first one, while there is not 5 minutes of history).
  const struct {
    double count;
    Seen expect;
  } steps[] = {
      {1000, {}},                 // t=0: one reading, no change yet
      {1200, {}},                 // +200
      {1400, {}},                 // +400 since t=0
      {1500, {"surge a fires"}},  // +500 since t=0
      {1500, {}},
      {1500, {}},                 // t=5: +500 since t=0 still
      {1500, {"surge a clears"}}, // t=6: +300 since t=1
      {1400, {}},                 // -100 over 2 minutes
      {900, {"drain a fires"}},   // -600 since t=6
      {900, {}},                  // t=9: -500 since t=7
      {900, {"drain a clears"}},  // t=10: 0 since t=8
  };
  int minute = 0;
  for (const auto& s : steps) {
    Count("a", s.count);
    EXPECT_EQ(events_.Take(), s.expect) << "minute " << minute;
    clock_.Advance(kMin);
    ++minute;
  }
  // A late reading (older than the latest) is left out of the series.
  clock_.Advance(-2 * kMin);
  Count("a", 5000);
  EXPECT_EQ(events_.Take(), Seen{});
}

TEST_F(RuleEngineTest, ASilentDeviceFiresAfterKTimesItsIntervalAndRecovers) {
  Start({RuleJson("silent", R"({"silentFor":3})", R"(,"severity":"IV")")});
  for (int i = 0; i < 5; ++i) {
    Count("a", 10);
    Count("b", 10);
    clock_.Advance(10 * kSec);
  }
  // a's last reading at t = 40 s, every 10 s: silent after 30 s without readings.
  Count("b", 10);  // t = 50 s
  clock_.Advance(19 * kSec);
  rules_->Tick(clock_.Now());
  EXPECT_EQ(events_.Take(), Seen{});
  clock_.Advance(2 * kSec);
  rules_->Tick(clock_.Now());
  EXPECT_EQ(events_.Take(), Seen{"silent a fires"});
  EXPECT_EQ(events_.reasons.back(), "silent for 3× its reporting interval");
  Count("a", 10);
  EXPECT_EQ(events_.Take(), Seen{"silent a clears"});
}

TEST_F(RuleEngineTest, AQuietPeriodHoldsARepeatUntilItEnds) {
  Start({RuleJson("crowd", R"({"attribute":"peopleCount","op":">=","value":3000})",
                  R"(,"quietPeriodSeconds":600)")});
  Count("a", 3500);
  clock_.Advance(kSec);
  Count("a", 100);
  EXPECT_EQ(events_.Take(), (Seen{"crowd a fires", "crowd a clears"}));
  // Flapping within the quiet period raises nothing.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(10 * kSec);
    Count("a", i % 2 == 0 ? 3500 : 100);
  }
  EXPECT_EQ(events_.Take(), Seen{});
  clock_.Advance(10 * kSec);
  Count("a", 3600);  // held: true at the end of the quiet period
  rules_->Tick(clock_.Now());
  EXPECT_EQ(events_.Take(), Seen{});
  clock_.Advance(10 * kMin);
  rules_->Tick(clock_.Now());
  EXPECT_EQ(events_.Take(), Seen{"crowd a fires"});
  // Each time the condition came back within the quiet period was a firing held back.
  EXPECT_EQ(rules_->Get("crowd")->suppressed, 6u);
  EXPECT_EQ(rules_->Stats().suppressed, 6u);
}

TEST_F(RuleEngineTest, AZoneScopeWatchesOnlyTheEntitiesInIt) {
  Start();
  ASSERT_TRUE(Upsert({ZoneJson("urn:ngsi-ld:Zone:hubin", 120.15, 30.24, 120.18, 30.27),
                      ZoneJson("urn:ngsi-ld:Zone:plaza", 120.160, 30.250, 120.162, 30.252,
                               R"(,"refParent":{"type":"Relationship","object":"urn:ngsi-ld:Zone:hubin"})"),
                      ZoneJson("urn:ngsi-ld:Zone:elsewhere", 121.0, 31.0, 121.1, 31.1)})[0]
                  .ok());
  Define(RuleJson("hubin", R"({"attribute":"peopleCount","op":">=","value":100})",
                  R"(,"zone":"urn:ngsi-ld:Zone:hubin")"));
  Count("inside", 500, "", 120.161, 30.251);
  Count("outside", 500, "", 121.05, 31.05);
  Count("named", 500, R"(,"refZone":{"type":"Relationship","object":"urn:ngsi-ld:Zone:plaza"})", 0, 0);
  EXPECT_EQ(events_.Take(), (Seen{"hubin inside fires", "hubin named fires"}));
  // The counter moves out: its firing clears.
  clock_.Advance(kSec);
  Count("inside", 500, "", 121.05, 31.05);
  EXPECT_EQ(events_.Take(), Seen{"hubin inside clears"});
  // The zone grows to take it in again.
  ASSERT_TRUE(Upsert({ZoneJson("urn:ngsi-ld:Zone:hubin", 120.15, 30.24, 121.2, 31.2)})[0].ok());
  clock_.Advance(kSec);
  Count("inside", 501, "", 121.05, 31.05);
  EXPECT_EQ(events_.Take(), Seen{"hubin inside fires"});
}

TEST_F(RuleEngineTest, DefinitionsAreCheckedAgainstTheCity) {
  Start({RuleJson("from-file", R"({"attribute":"peopleCount","op":">=","value":1})")});
  // No entity of the type yet: accepted with a warning.
  auto d = rules_->Define(MustParse(RuleJson("early", R"({"attribute":"peopleCount","op":">=","value":1})")));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->created);
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_NE(d->warnings[0].find("no CrowdFlowObserved entity exists yet"), std::string::npos);
  Count("a", 1);
  events_.Take();
  const struct {
    std::string json;
    Code code;
    std::string reason;
  } cases[] = {
      {RuleJson("x", R"({"attribute":"peopleCont","op":">=","value":1})"), Code::kBadRequestData,
       "no CrowdFlowObserved entity has the attribute peopleCont (urn:ngsi-ld:CrowdFlowObserved:a has: peopleCount, location)"},
      {RuleJson("x", R"({"any":[{"silentFor":3},{"rateOfChange":{"attribute":"speed","op":">","value":1,"withinSeconds":60}}]})"),
       Code::kBadRequestData, "has the attribute speed"},
      {RuleJson("x", R"({"silentFor":3})", R"(,"zone":"urn:ngsi-ld:Zone:nowhere")"), Code::kBadRequestData,
       "zone urn:ngsi-ld:Zone:nowhere is not a defined Zone"},
      {RuleJson("from-file", R"({"silentFor":3})"), Code::kConflict, "defined in a rules file"},
  };
  for (const auto& c : cases) {
    auto r = rules_->Define(MustParse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(rules_->List().size(), 2u);  // nothing changed
  EXPECT_EQ(rules_->Remove("from-file").code(), Code::kConflict);
  EXPECT_EQ(rules_->Remove("nope").code(), Code::kNotFound);
  EXPECT_EQ(events_.Take(), Seen{});
}

TEST_F(RuleEngineTest, RulesApplyToTheCityAsItIsAndDefinedRulesAreKept) {
  Start();
  Count("a", 5000);
  Define(RuleJson("crowd", R"({"attribute":"peopleCount","op":">=","value":3000})"));
  EXPECT_EQ(events_.Take(), Seen{"crowd a fires"});  // at once, on the reading held
  auto replaced = rules_->Define(MustParse(RuleJson("crowd", R"({"attribute":"peopleCount","op":">=","value":6000})")));
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(replaced->created);
  EXPECT_EQ(events_.Take(), Seen{"crowd a clears"});
  Define(RuleJson("other", R"({"attribute":"peopleCount","op":">=","value":1})"));
  EXPECT_EQ(events_.Take(), Seen{"other a fires"});
  clock_.Advance(kSec);
  Count("a", 6000);
  EXPECT_EQ(events_.Take(), Seen{"crowd a fires"});
  ASSERT_TRUE(rules_->Remove("other").ok());
  EXPECT_EQ(events_.Take(), Seen{"other a clears"});

  OpenBroker();  // restart: the defined rule is read back and looks at the city again
  Start();
  EXPECT_EQ(events_.Take(), Seen{"crowd a fires"});
  auto all = rules_->List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule.id, "crowd");
  EXPECT_EQ(all[0].rule.source, "api");
  EXPECT_EQ(all[0].rule.when.value.as_double(), 6000);
  ASSERT_EQ(all[0].firing.size(), 1u);
  EXPECT_EQ(all[0].firing[0].entity_id, "urn:ngsi-ld:CrowdFlowObserved:a");
}

TEST_F(RuleEngineTest, ADeletedEntityClearsItsFiring) {
  Start({RuleJson("crowd", R"({"attribute":"peopleCount","op":">=","value":3000})")});
  Count("a", 3500);
  Delete("urn:ngsi-ld:CrowdFlowObserved:a");
  EXPECT_EQ(events_.Take(), (Seen{"crowd a fires", "crowd a clears"}));
  EXPECT_EQ(rules_->Stats().firing, 0u);
}

}  // namespace
}  // namespace cb::stream
