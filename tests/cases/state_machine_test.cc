// The case state machine, table-driven: every (state, action) pair is either listed here
// with its target or refused.

#include <map>
#include <utility>

#include "cases/case.h"
#include "gtest/gtest.h"

namespace cb::cases {
namespace {

using S = CaseState;
using A = CaseAction;

const std::map<std::pair<S, A>, S>& Allowed() {
  static const std::map<std::pair<S, A>, S> kAllowed = {
      {{S::kReported, A::kAccept}, S::kAccepted},
      {{S::kReported, A::kReject}, S::kRejected},
      {{S::kReported, A::kEscalate}, S::kReported},
      {{S::kReported, A::kMerge}, S::kMerged},
      {{S::kAccepted, A::kDispatch}, S::kDispatched},
      {{S::kAccepted, A::kEscalate}, S::kAccepted},
      {{S::kAccepted, A::kSuspend}, S::kSuspended},
      {{S::kAccepted, A::kMerge}, S::kMerged},
      {{S::kDispatched, A::kAssign}, S::kDispatched},
      {{S::kDispatched, A::kStart}, S::kInProgress},
      {{S::kDispatched, A::kReturn}, S::kAccepted},
      {{S::kDispatched, A::kReassign}, S::kDispatched},
      {{S::kDispatched, A::kEscalate}, S::kDispatched},
      {{S::kDispatched, A::kSuspend}, S::kSuspended},
      {{S::kInProgress, A::kReturn}, S::kAccepted},
      {{S::kInProgress, A::kReassign}, S::kDispatched},
      {{S::kInProgress, A::kEscalate}, S::kInProgress},
      {{S::kInProgress, A::kSuspend}, S::kSuspended},
      {{S::kInProgress, A::kResolve}, S::kResolved},
      {{S::kSuspended, A::kResume}, S::kAccepted},
      {{S::kSuspended, A::kEscalate}, S::kSuspended},
      {{S::kResolved, A::kRework}, S::kInProgress},
      {{S::kResolved, A::kVerify}, S::kVerified},
      {{S::kResolved, A::kRate}, S::kRated},
      {{S::kResolved, A::kReopen}, S::kAccepted},
      {{S::kResolved, A::kEscalate}, S::kResolved},
      {{S::kVerified, A::kRate}, S::kRated},
      {{S::kVerified, A::kClose}, S::kClosed},
      {{S::kVerified, A::kReopen}, S::kAccepted},
      {{S::kRated, A::kClose}, S::kClosed},
      {{S::kRated, A::kReopen}, S::kAccepted},
      {{S::kClosed, A::kReopen}, S::kAccepted},
      {{S::kRejected, A::kReopen}, S::kAccepted},
      {{S::kMerged, A::kSplit}, S::kAccepted},
  };
  return kAllowed;
}

TEST(StateMachineTest, EveryPairIsAllowedExactlyAsListed) {
  int allowed = 0;
  for (int s = 0; s < kCaseStateCount; ++s) {
    for (int a = 0; a < kCaseActionCount; ++a) {
      const auto key = std::make_pair(static_cast<S>(s), static_cast<A>(a));
      const std::optional<S> next = NextState(key.first, key.second);
      auto it = Allowed().find(key);
      if (it == Allowed().end()) {
        EXPECT_FALSE(next.has_value()) << CaseStateName(key.first) << " + " << CaseActionName(key.second);
      } else {
        ++allowed;
        ASSERT_TRUE(next.has_value()) << CaseStateName(key.first) << " + " << CaseActionName(key.second);
        EXPECT_EQ(*next, it->second) << CaseStateName(key.first) << " + " << CaseActionName(key.second);
      }
    }
  }
  EXPECT_EQ(allowed, static_cast<int>(Allowed().size()));
}

TEST(StateMachineTest, AllowedActionsListTheTableInEnumOrder) {
  EXPECT_EQ(AllowedActions(S::kReported),
            (std::vector<A>{A::kAccept, A::kReject, A::kEscalate, A::kMerge}));
  EXPECT_EQ(AllowedActions(S::kClosed), (std::vector<A>{A::kReopen}));
  EXPECT_EQ(AllowedActions(S::kMerged), (std::vector<A>{A::kSplit}));
}

TEST(StateMachineTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (int s = 0; s < kCaseStateCount; ++s) {
    EXPECT_EQ(*CaseStateFromName(CaseStateName(static_cast<S>(s))), static_cast<S>(s));
  }
  for (int a = 0; a < kCaseActionCount; ++a) {
    EXPECT_EQ(*CaseActionFromName(CaseActionName(static_cast<A>(a))), static_cast<A>(a));
  }
  for (int s = 0; s < kStepCount; ++s) {
    EXPECT_EQ(*StepFromName(StepName(static_cast<Step>(s))), static_cast<Step>(s));
  }
  Result<A> bad = CaseActionFromName("teleport");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequestData);
  EXPECT_NE(bad.status().message().find("accept"), std::string::npos);
  EXPECT_FALSE(CaseStateFromName("").ok());
  EXPECT_FALSE(CaseSourceFromName("pigeon").ok());
}

TEST(CaseJsonTest, TheStoredFormRoundTrips) {
  Case c;
  c.id = 42;
  c.version = 7;
  c.token = "abc";
  c.state = S::kSuspended;
  c.suspended_from = S::kInProgress;
  c.suspended_at = 1795428000000;
  c.source = CaseSource::kGridWorker;
  c.category = "0106";
  c.title = "井盖缺失";
  c.description = "路口井盖 \"缺失\"\n危险";
  c.lon = 120.163;
  c.lat = 30.259;
  c.zone_id = "urn:ngsi-ld:Zone:hubin";
  c.department = "szj";
  c.handler = "szj-zhao";
  c.reporter = {"grid-7", "王五", "13800138000", "w@example.org"};
  c.photos = {"a.jpg"};
  c.rating = 4;
  c.linked = {43, 44};
  c.attributes = JsonValue::MakeObject();
  c.attributes.Set("cover_type", "sewer");
  c.created_at = 1795428000000;
  c.updated_at = 1795428060000;
  c.clocks.push_back({Step::kHandle, 1795428000000, 1795442400000, 1795439520000, 0, true, false});
  c.history.push_back({7, 1795428060000, "suspend", S::kInProgress, S::kSuspended, "op", "等待配件"});
  Result<Case> back = CaseFromJson(ParseJson(CaseToJson(c).Dump()).value());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(CaseToJson(*back), CaseToJson(c));
  EXPECT_EQ(back->suspended_from, S::kInProgress);
  EXPECT_EQ(back->clocks[0].deadline, 1795442400000);
  EXPECT_TRUE(back->clocks[0].warned);
}

TEST(CaseJsonTest, ABrokenStoredCaseIsAnInternalError) {
  EXPECT_EQ(CaseFromJson(ParseJson(R"({"id":"1","state":"flying","source":"citizen"})").value()).status().code(),
            Code::kInternal);
  EXPECT_EQ(CaseFromJson(ParseJson(R"({"state":"reported"})").value()).status().code(), Code::kInternal);
}

}  // namespace
}  // namespace cb::cases
