// CaseBook: cases walked through every path of the workflow, SLA timers on a controlled
// clock (including across a restart), duplicates, merge and split, ratings and credit,
// optimistic concurrency, imports, and bad input that changes nothing.

#include "cases/case_book.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../store/store_test_util.h"
#include "gtest/gtest.h"

namespace cb::cases {
namespace {

using S = CaseState;
using A = CaseAction;
constexpr int64_t kMin = 60000;
constexpr int64_t kHour = 3600000;
// Monday 2026-11-23 10:00 Beijing (02:00 UTC).
const TimeMs kT0 = ParseIso8601("2026-11-23T02:00:00Z").value();

NewCase Report(const std::string& category = "0101", double lon = 120.1630, double lat = 30.2590) {
  NewCase n;
  n.source = CaseSource::kGridWorker;
  n.category = category;
  n.description = "路边垃圾堆积";
  n.lon = lon;
  n.lat = lat;
  n.reporter = {"grid-7", "王五", "13800138000", ""};
  return n;
}

TransitionRequest Do(A action, std::string actor = "op") {
  TransitionRequest t;
  t.action = action;
  t.actor = std::move(actor);
  return t;
}

class Recorder : public CaseListener {
 public:
  void OnCaseChange(const Case& c, const Transition& t) override {
    seen.push_back(std::to_string(c.id) + " " + t.action + " " + std::string(CaseStateName(t.to)));
  }
  std::vector<std::string> seen;
};

class CaseBookTest : public ::testing::Test {
 protected:
  CaseBookTest() : book_(&Catalog::Default(), nullptr) { book_.AddListener(&rec_); }

  Case Apply(uint64_t id, TransitionRequest t, TimeMs at) {
    TransitionError e;
    Result<Case> c = book_.Apply(id, std::move(t), at, &e);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Case{};
  }
  // Files a report and walks it to `until` along the main path.
  Case Walk(S until, TimeMs at = kT0) {
    NewCase n = Report();
    n.link_duplicates = false;  // walks at the same spot are separate cases
    Case c = *book_.Create(n, at);
    const std::vector<std::pair<A, S>> path = {{A::kAccept, S::kAccepted},   {A::kDispatch, S::kDispatched},
                                               {A::kStart, S::kInProgress},  {A::kResolve, S::kResolved},
                                               {A::kVerify, S::kVerified},   {A::kRate, S::kRated},
                                               {A::kClose, S::kClosed}};
    for (const auto& [action, state] : path) {
      if (c.state == until) break;
      TransitionRequest t = Do(action);
      if (action == A::kResolve) t.result = "已清运";
      if (action == A::kRate) t.rating = 5;
      c = Apply(c.id, t, at += kMin);
      EXPECT_EQ(c.state, state);
    }
    return c;
  }

  Recorder rec_;
  CaseBook book_;
};

TEST_F(CaseBookTest, TheMainPathFromReportToClose) {
  Case c = Walk(S::kClosed);
  EXPECT_EQ(c.state, S::kClosed);
  EXPECT_EQ(c.department, "cgj");
  EXPECT_EQ(c.handler, "op");  // started by op, no handler named
  EXPECT_EQ(c.result, "已清运");
  EXPECT_EQ(c.rating, 5);
  EXPECT_EQ(c.version, 8u);  // create + 7 transitions
  ASSERT_EQ(c.history.size(), 8u);
  EXPECT_EQ(c.history[0].action, "create");
  EXPECT_EQ(c.history[7].action, "close");
  EXPECT_EQ(c.history[7].from, S::kRated);
  EXPECT_NE(c.closed_at, 0);
  // Every step's clock ran and finished on time.
  for (Step s : {Step::kAccept, Step::kDispatch, Step::kHandle, Step::kVerify, Step::kClose}) {
    const StepClock* k = c.Clock(s);
    ASSERT_NE(k, nullptr) << StepName(s);
    EXPECT_NE(k->done_at, 0) << StepName(s);
    EXPECT_TRUE(k->OnTime(k->done_at)) << StepName(s);
  }
  ASSERT_EQ(rec_.seen.size(), 8u);
  EXPECT_EQ(rec_.seen.back(), std::to_string(c.id) + " close closed");
  // Credit: a valid report and a rating.
  EXPECT_EQ(book_.Credit("grid-7").points, 5 + 1);
}

TEST_F(CaseBookTest, ImpossibleTransitionsAreRefusedWithTheAllowedNextSteps) {
  Case c = *book_.Create(Report(), kT0);
  TransitionError e;
  Result<Case> r = book_.Apply(c.id, Do(A::kResolve), kT0, &e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(e.state, S::kReported);
  EXPECT_EQ(e.allowed, (std::vector<A>{A::kAccept, A::kReject, A::kEscalate, A::kMerge}));
  EXPECT_EQ(book_.Get(c.id)->version, c.version);  // nothing changed
  EXPECT_EQ(book_.Apply(999, Do(A::kAccept), kT0).status().code(), Code::kNotFound);
}

TEST_F(CaseBookTest, AStaleVersionIsAConflict) {
  Case c = *book_.Create(Report(), kT0);
  TransitionRequest t = Do(A::kAccept);
  t.if_version = c.version;
  Case accepted = Apply(c.id, t, kT0 + kMin);
  TransitionRequest again = Do(A::kDispatch);
  again.if_version = c.version;  // read before the accept
  TransitionError e;
  Result<Case> r = book_.Apply(c.id, again, kT0 + 2 * kMin, &e);
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("version"), std::string::npos);
  EXPECT_EQ(e.version, accepted.version);
  EXPECT_EQ(book_.Get(c.id)->state, S::kAccepted);
}

struct BadTransition {
  A action;
  S from;
  void (*fill)(TransitionRequest*);
  const char* mentions;
};

TEST_F(CaseBookTest, TransitionsMissingWhatTheyNeedAreRefused) {
  const BadTransition cases[] = {
      {A::kReject, S::kReported, [](TransitionRequest*) {}, "reason"},
      {A::kDispatch, S::kAccepted, [](TransitionRequest* t) { t->department = "nasa"; }, "unknown department"},
      {A::kDispatch, S::kAccepted, [](TransitionRequest* t) { t->handler = "stranger"; }, "not a handler"},
      {A::kAssign, S::kDispatched, [](TransitionRequest*) {}, "handler"},
      {A::kResolve, S::kInProgress, [](TransitionRequest*) {}, "result"},
      {A::kRate, S::kResolved, [](TransitionRequest*) {}, "rating"},
      {A::kRate, S::kResolved, [](TransitionRequest* t) { t->rating = 6; }, "1 to 5"},
      {A::kSuspend, S::kInProgress, [](TransitionRequest*) {}, "reason"},
      {A::kReopen, S::kClosed, [](TransitionRequest*) {}, "reason"},
      {A::kMerge, S::kReported, [](TransitionRequest* t) { t->master_id = 12345; }, "existing case"},
      {A::kReassign, S::kDispatched, [](TransitionRequest*) {}, "department or a handler"},
  };
  for (const BadTransition& b : cases) {
    Case c = Walk(b.from);
    ASSERT_EQ(c.state, b.from);
    TransitionRequest t = Do(b.action);
    b.fill(&t);
    Result<Case> r = book_.Apply(c.id, t, kT0 + kHour);
    ASSERT_FALSE(r.ok()) << CaseActionName(b.action);
    EXPECT_EQ(r.status().code(), Code::kBadRequestData) << r.status().ToString();
    EXPECT_NE(r.status().message().find(b.mentions), std::string::npos) << r.status().message();
    EXPECT_EQ(book_.Get(c.id)->version, c.version) << "nothing changed";
  }
}

TEST_F(CaseBookTest, RejectClosesTheReportAndTellsWhy) {
  Case c = *book_.Create(Report(), kT0);
  TransitionRequest t = Do(A::kReject);
  t.note = "不属于城市管理范围";
  c = Apply(c.id, t, kT0 + kMin);
  EXPECT_EQ(c.state, S::kRejected);
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(c.history.back().note, "不属于城市管理范围");
  EXPECT_EQ(book_.Credit("grid-7").points, 0);
  // A rejected report can be reopened.
  t = Do(A::kReopen);
  t.note = "复核后受理";
  c = Apply(c.id, t, kT0 + 2 * kMin);
  EXPECT_EQ(c.state, S::kAccepted);
  EXPECT_EQ(c.reopen_count, 1);
  EXPECT_EQ(c.closed_at, 0);
}

TEST_F(CaseBookTest, ReturnReassignSuspendResumeAndRework) {
  Case c = Walk(S::kDispatched);
  TransitionRequest t = Do(A::kReturn);
  t.note = "不属于本部门";
  c = Apply(c.id, t, kT0 + kHour);
  EXPECT_EQ(c.state, S::kAccepted);
  EXPECT_EQ(c.return_count, 1);
  t = Do(A::kDispatch);
  t.department = "szj";
  t.handler = "szj-zhao";
  c = Apply(c.id, t, kT0 + kHour + kMin);
  EXPECT_EQ(c.department, "szj");
  EXPECT_EQ(c.handler, "szj-zhao");
  EXPECT_EQ(c.unit, "") << "no zone locator: no unit covers an unknown zone";
  t = Do(A::kReassign);
  t.department = "cgj";
  c = Apply(c.id, t, kT0 + kHour + 2 * kMin);
  EXPECT_EQ(c.state, S::kDispatched);
  EXPECT_EQ(c.department, "cgj");
  EXPECT_EQ(c.handler, "");
  c = Apply(c.id, Do(A::kStart, "cgj-li"), kT0 + kHour + 3 * kMin);
  EXPECT_EQ(c.handler, "cgj-li");
  // Suspension pauses the clocks: the handle deadline moves by the time suspended.
  const TimeMs deadline = c.Clock(Step::kHandle)->deadline;
  t = Do(A::kSuspend);
  t.note = "等待施工许可";
  c = Apply(c.id, t, kT0 + 2 * kHour);
  EXPECT_EQ(c.state, S::kSuspended);
  c = Apply(c.id, Do(A::kResume), kT0 + 5 * kHour);
  EXPECT_EQ(c.state, S::kInProgress);
  EXPECT_EQ(c.Clock(Step::kHandle)->deadline, deadline + 3 * kHour);
  t = Do(A::kResolve);
  t.result = "已清理";
  t.photos = {"after.jpg"};
  c = Apply(c.id, t, kT0 + 6 * kHour);
  EXPECT_EQ(c.result_photos, std::vector<std::string>{"after.jpg"});
  t = Do(A::kRework);
  t.note = "仍有残留";
  c = Apply(c.id, t, kT0 + 7 * kHour);
  EXPECT_EQ(c.state, S::kInProgress);
  EXPECT_EQ(c.Clock(Step::kVerify), nullptr) << "the abandoned verification clock is dropped";
  EXPECT_EQ(c.Clock(Step::kHandle)->done_at, 0) << "a fresh handle clock runs";
}

TEST_F(CaseBookTest, ALowRatingReopensForReview) {
  Case c = Walk(S::kResolved);
  TransitionRequest t = Do(A::kRate, "reporter");
  t.rating = 2;
  t.note = "没有处理干净";
  c = Apply(c.id, t, kT0 + kHour);
  EXPECT_EQ(c.state, S::kAccepted);
  EXPECT_EQ(c.rating, 2);
  EXPECT_EQ(c.rating_comment, "没有处理干净");
  EXPECT_EQ(c.reopen_count, 1);
  ASSERT_GE(c.history.size(), 2u);
  EXPECT_EQ(c.history[c.history.size() - 2].action, "rate");
  EXPECT_EQ(c.history.back().action, "reopen");
  EXPECT_EQ(c.history.back().actor, "system");
  // A rating of 3 stands.
  Case d = Walk(S::kVerified);
  t.rating = 3;
  d = Apply(d.id, t, kT0 + kHour);
  EXPECT_EQ(d.state, S::kRated);
}

TEST_F(CaseBookTest, EscalateGoesToTheDepartmentSupervisor) {
  Case c = Walk(S::kDispatched);
  c = Apply(c.id, Do(A::kEscalate), kT0 + kHour);
  EXPECT_EQ(c.state, S::kDispatched);
  EXPECT_EQ(c.escalation, 1);
  EXPECT_EQ(c.escalated_to, "cgj-duty-chief");
}

TEST_F(CaseBookTest, ARepeatNearbyIsLinkedAndClosesWithItsMaster) {
  Case first = *book_.Create(Report(), kT0);
  NewCase again = Report("0101", 120.1632, 30.2591);  // ~20 m away
  again.reporter = {"citizen-1", "", "", "c@example.org"};
  Case dup = *book_.Create(again, kT0 + kHour);
  EXPECT_EQ(dup.state, S::kMerged);
  EXPECT_EQ(dup.master_id, first.id);
  EXPECT_EQ(book_.Get(first.id)->linked, std::vector<uint64_t>{dup.id});
  EXPECT_EQ(book_.Credit("citizen-1").points, 1);
  // Another category at the same spot, far away, or after the window: new work.
  EXPECT_EQ(book_.Create(Report("0201", 120.1632, 30.2591), kT0 + kHour)->state, S::kReported);
  EXPECT_EQ(book_.Create(Report("0101", 120.1700, 30.2591), kT0 + kHour)->state, S::kReported);
  EXPECT_EQ(book_.Create(Report("0101", 120.1632, 30.2591), kT0 + 25 * kHour)->state, S::kReported);
  // The master walks to its end; the linked report closes with it, carrying the result.
  for (A a : {A::kAccept, A::kDispatch, A::kStart}) Apply(first.id, Do(a), kT0 + 2 * kHour);
  TransitionRequest t = Do(A::kResolve);
  t.result = "已清运";
  Apply(first.id, t, kT0 + 3 * kHour);
  Apply(first.id, Do(A::kVerify), kT0 + 3 * kHour);
  Apply(first.id, Do(A::kClose), kT0 + 4 * kHour);
  Case after = *book_.Get(dup.id);
  EXPECT_EQ(after.state, S::kClosed);
  EXPECT_EQ(after.result, "已清运");
  EXPECT_NE(after.history.back().note.find("closed with case " + std::to_string(first.id)), std::string::npos);
}

TEST_F(CaseBookTest, OperatorsMergeAndSplit) {
  Case a = *book_.Create(Report("0101", 120.10, 30.20), kT0);
  Case b = *book_.Create(Report("0101", 120.20, 30.30), kT0);
  TransitionRequest t = Do(A::kMerge);
  t.master_id = a.id;
  Case merged = Apply(b.id, t, kT0 + kMin);
  EXPECT_EQ(merged.state, S::kMerged);
  EXPECT_EQ(book_.Get(a.id)->linked, std::vector<uint64_t>{b.id});
  t.master_id = b.id;  // into a merged case: refused
  Case c = *book_.Create(Report("0101", 120.30, 30.30), kT0);
  EXPECT_EQ(book_.Apply(c.id, t, kT0 + kMin).status().code(), Code::kConflict);
  Case split = Apply(b.id, Do(A::kSplit), kT0 + 2 * kMin);
  EXPECT_EQ(split.state, S::kAccepted);
  EXPECT_EQ(split.master_id, 0u);
  EXPECT_TRUE(book_.Get(a.id)->linked.empty());
}

TEST_F(CaseBookTest, SlaWarnsBeforeTheDeadlineAndEscalatesAfterIt) {
  // 0403 gas leak: accept within 5 minutes round the clock; warn with a fifth left.
  Case c = *book_.Create(Report("0403"), kT0);
  const StepClock* accept = c.Clock(Step::kAccept);
  ASSERT_NE(accept, nullptr);
  EXPECT_EQ(accept->deadline, kT0 + 5 * kMin);
  EXPECT_EQ(accept->warn_at, kT0 + 4 * kMin);
  EXPECT_EQ(book_.NextTimer(), kT0 + 4 * kMin);
  EXPECT_EQ(book_.Tick(kT0 + 3 * kMin), 0u);
  EXPECT_EQ(book_.Tick(kT0 + 4 * kMin), 1u);
  c = *book_.Get(c.id);
  EXPECT_EQ(c.history.back().action, "warn");
  EXPECT_TRUE(c.Clock(Step::kAccept)->warned);
  EXPECT_EQ(book_.Tick(kT0 + 4 * kMin + 1000), 0u) << "warned once";
  EXPECT_EQ(book_.Tick(kT0 + 5 * kMin), 1u);
  c = *book_.Get(c.id);
  EXPECT_EQ(c.history.back().action, "escalate");
  EXPECT_EQ(c.escalation, 1);
  EXPECT_EQ(c.escalated_to, "yjj-duty-chief");
  EXPECT_FALSE(c.Clock(Step::kAccept)->OnTime(kT0 + 5 * kMin + 1));
  EXPECT_EQ(book_.GetStats().warnings, 1u);
  EXPECT_EQ(book_.GetStats().escalations, 1u);
  // Accepting stops that clock; the dispatch clock (10 min) takes over.
  c = Apply(c.id, Do(A::kAccept), kT0 + 6 * kMin);
  EXPECT_FALSE(c.Clock(Step::kAccept)->OnTime(0));
  EXPECT_EQ(c.Clock(Step::kDispatch)->deadline, kT0 + 16 * kMin);
  EXPECT_EQ(book_.NextTimer(), kT0 + 14 * kMin);
}

TEST_F(CaseBookTest, VerifiedCasesCloseByThemselves) {
  Case c = Walk(S::kVerified);
  const TimeMs verified_at = c.history.back().at;
  book_.Tick(verified_at + 71 * kHour);
  EXPECT_EQ(book_.Get(c.id)->state, S::kVerified);
  book_.Tick(verified_at + 72 * kHour);
  c = *book_.Get(c.id);
  EXPECT_EQ(c.state, S::kClosed);
  EXPECT_EQ(c.history.back().actor, "system");
}

struct BadReport {
  void (*fill)(NewCase*);
  const char* mentions;
};

TEST_F(CaseBookTest, BadReportsAreRefusedAndCreateNothing) {
  const BadReport cases[] = {
      {[](NewCase* n) { n->category = "9999"; }, "unknown category"},
      {[](NewCase* n) { n->category = "01"; }, "sub-categories"},
      {[](NewCase* n) { n->lon.reset(); n->lat.reset(); }, "location"},
      {[](NewCase* n) { n->lat.reset(); }, "both"},
      {[](NewCase* n) { n->lat = 95; }, "out of range"},
      {[](NewCase* n) { n->description = std::string(4001, 'x'); }, "4,000"},
      {[](NewCase* n) {
         n->description.clear();
         for (int i = 0; i < 1334; ++i) n->description += "字";  // 1,334 characters, 4,002 bytes
         n->description += std::string(2667, 'x');              // 4,001 characters
       }, "4,000"},
      {[](NewCase* n) { n->accept = true; n->department = "nasa"; }, "unknown department"},
  };
  for (const BadReport& b : cases) {
    NewCase n = Report();
    b.fill(&n);
    Result<Case> c = book_.Create(n, kT0);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kBadRequestData);
    EXPECT_NE(c.status().message().find(b.mentions), std::string::npos) << c.status().message();
  }
  EXPECT_EQ(book_.GetStats().cases, 0u);
  // 4,000 Chinese characters (12,000 bytes) are fine.
  NewCase ok = Report();
  ok.description.clear();
  for (int i = 0; i < 4000; ++i) ok.description += "字";
  EXPECT_TRUE(book_.Create(ok, kT0).ok());
  // An address alone is a location.
  NewCase addr = Report();
  addr.lon.reset();
  addr.lat.reset();
  addr.address = "湖滨路 1 号";
  EXPECT_TRUE(book_.Create(addr, kT0).ok());
}

TEST_F(CaseBookTest, RoutingUsesTheZonesOfTheLocation) {
  book_.SetZoneLocator([](double lon, double) -> std::vector<std::string> {
    if (lon < 120.2) return {"urn:ngsi-ld:Zone:fountain-plaza", "urn:ngsi-ld:Zone:hubin"};
    return {};
  });
  Case in = *book_.Create(Report("0503", 120.16, 30.25), kT0);
  EXPECT_EQ(in.zone_id, "urn:ngsi-ld:Zone:fountain-plaza");
  EXPECT_EQ(in.department, "gaj");
  EXPECT_EQ(in.unit, "gaj-hubin");
  Case out = *book_.Create(Report("0503", 120.30, 30.25), kT0);
  EXPECT_EQ(out.zone_id, "");
  EXPECT_EQ(out.unit, "");
}

TEST_F(CaseBookTest, OperatorsAndSensorsFileCasesAcceptedAndDispatched) {
  NewCase n = Report("0704");
  n.source = CaseSource::kSensor;
  n.accept = true;
  n.department = "xfj";
  Case c = *book_.Create(n, kT0);
  EXPECT_EQ(c.state, S::kDispatched);
  EXPECT_EQ(c.department, "xfj");
  ASSERT_EQ(c.history.size(), 3u);
  EXPECT_EQ(c.history[1].action, "accept");
  EXPECT_EQ(c.history[2].action, "dispatch");
}

TEST_F(CaseBookTest, ListFiltersAndPages) {
  for (int i = 0; i < 5; ++i) book_.Create(Report("0101", 120.0 + i * 0.01, 30.0), kT0 + i);
  Case gas = *book_.Create(Report("0403", 121.0, 30.0), kT0 + 10);
  Apply(gas.id, Do(A::kAccept), kT0 + 20);
  size_t total = 0;
  CaseFilter f;
  f.category = "0101";
  f.limit = 2;
  f.offset = 1;
  std::vector<Case> page = book_.List(f, &total);
  EXPECT_EQ(total, 5u);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_GT(page[0].id, page[1].id) << "newest first";
  CaseFilter accepted;
  accepted.state = S::kAccepted;
  EXPECT_EQ(book_.List(accepted, &total).size(), 1u);
  CaseFilter dept;
  dept.department = "yjj";
  EXPECT_EQ(book_.List(dept, &total).front().id, gas.id);
}

TEST_F(CaseBookTest, ImportKeepsTheirTimesAndRefusesABatchWithABadRow) {
  ImportedCase closed;
  closed.report = Report("0101");
  closed.report.external_id = "101001240734";
  closed.opened_at = kT0;
  closed.target_at = kT0 + 48 * kHour;
  closed.closed_at = kT0 + 30 * kHour;
  closed.department = "INFO";
  closed.note = "Case Closed";
  ImportedCase open = closed;
  open.closed_at = 0;
  ImportedCase bad = closed;
  bad.closed_at = kT0 - kHour;
  EXPECT_EQ(book_.Import({closed, bad}, kT0 + 100 * kHour).status().code(), Code::kBadRequestData);
  EXPECT_EQ(book_.GetStats().cases, 0u);
  Result<std::vector<uint64_t>> ids = book_.Import({closed, open}, kT0 + 100 * kHour);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  Case c = *book_.Get((*ids)[0]);
  EXPECT_EQ(c.state, S::kClosed);
  EXPECT_EQ(c.created_at, kT0);
  EXPECT_EQ(c.closed_at, kT0 + 30 * kHour);
  EXPECT_EQ(c.department, "INFO");
  EXPECT_EQ(c.external_id, "101001240734");
  EXPECT_EQ(c.history.front().at, kT0);
  EXPECT_TRUE(c.Clock(Step::kClose)->OnTime(0));
  EXPECT_EQ(book_.Get((*ids)[1])->state, S::kDispatched);
  EXPECT_EQ(book_.NextTimer(), 0) << "imported history fires no timers";
  EXPECT_EQ(book_.Credit("grid-7").points, 0) << "no credit for imports";
}

// Every (state, action) pair the state machine allows, applied through the CaseBook to a
// case brought to that state, lands where the table says.
TEST_F(CaseBookTest, EveryAllowedTransitionWorksThroughTheBook) {
  int applied = 0;
  for (int s = 0; s < kCaseStateCount; ++s) {
    const S from = static_cast<S>(s);
    for (A action : AllowedActions(from)) {
      Case c;
      if (from == S::kRejected) {
        c = Walk(S::kReported);
        TransitionRequest r = Do(A::kReject);
        r.note = "not ours";
        c = Apply(c.id, r, kT0 + kMin);
      } else if (from == S::kSuspended) {
        c = Walk(S::kInProgress);
        TransitionRequest r = Do(A::kSuspend);
        r.note = "waiting for parts";
        c = Apply(c.id, r, kT0 + kHour);
      } else if (from == S::kMerged) {
        Case master = Walk(S::kAccepted);
        c = Walk(S::kReported);
        TransitionRequest r = Do(A::kMerge);
        r.master_id = master.id;
        c = Apply(c.id, r, kT0 + kHour);
      } else {
        c = Walk(from);
      }
      ASSERT_EQ(c.state, from);
      TransitionRequest t = Do(action);
      t.note = "because";
      t.result = "done";
      t.rating = 4;
      t.handler = "cgj-wang";
      if (action == A::kMerge) t.master_id = Walk(S::kAccepted).id;
      Result<Case> r = book_.Apply(c.id, t, kT0 + 2 * kHour);
      ASSERT_TRUE(r.ok()) << CaseStateName(from) << " + " << CaseActionName(action) << ": " << r.status().ToString();
      S expected = *NextState(from, action);
      if (action == A::kResume) expected = S::kInProgress;  // back where it was suspended
      EXPECT_EQ(r->state, expected) << CaseStateName(from) << " + " << CaseActionName(action);
      EXPECT_EQ(r->history.back().action, CaseActionName(action));
      ++applied;
    }
  }
  EXPECT_EQ(applied, 34);
}

class CaseBookStoreTest : public store::testing::StoreTest {
 protected:
  CaseBookStoreTest() { Reopen(); }
  void Reopen() {
    if (store_) store_->Close();
    store_.reset();
    store_ = store::testing::ExpectOpened(store::OpenSqliteStore(Options(store::Durability::kProcess)));
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(CaseBookStoreTest, CasesCreditAndTimersSurviveARestart) {
  uint64_t id = 0, overdue = 0;
  {
    CaseBook book(&Catalog::Default(), store_.get());
    ASSERT_TRUE(book.Load().ok());
    Case c = *book.Create(Report(), kT0);
    id = c.id;
    book.Apply(id, Do(A::kAccept), kT0 + kMin);
    // A gas leak nobody accepts: its 5-minute deadline passes while the server is down.
    overdue = book.Create(Report("0403", 121.0, 31.0), kT0)->id;
  }
  Reopen();
  CaseBook book(&Catalog::Default(), store_.get());
  ASSERT_TRUE(book.Load().ok());
  Case c = *book.Get(id);
  EXPECT_EQ(c.state, S::kAccepted);
  EXPECT_EQ(c.version, 2u);
  EXPECT_EQ(book.GetByToken(c.token)->id, id);
  EXPECT_EQ(book.Credit("grid-7").points, 5);
  EXPECT_EQ(book.NextTimer(), kT0 + 4 * kMin) << "the gas leak's warning, rebuilt from the store";
  EXPECT_EQ(book.Tick(kT0 + 30 * kMin), 1u);
  EXPECT_EQ(book.Get(overdue)->escalation, 1) << "the deadline missed while down fires at the first tick";
  // Ids continue after the last one.
  EXPECT_GT(book.Create(Report("0201"), kT0 + kHour)->id, overdue);
}

}  // namespace
}  // namespace cb::cases
