// A real store and context broker on a temporary directory and a manual clock, for the
// stream module's tests: entities are written as NGSI-LD JSON through the broker, as the
// API would.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "context/broker.h"
#include "context/ngsi_json.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "stream/tier_plan.h"
#include "../store/store_test_util.h"

namespace cb::stream::testing {

constexpr TimeMs kT0 = 1795428000000;  // 2026-11-23T08:00:00Z
constexpr TimeMs kMin = 60000;

inline TierPlan Hubin() {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/examples/tier-plans/hubin-fountain.json");
  std::stringstream text;
  text << in.rdbuf();
  return *TierPlan::FromJson(*ParseJson(text.str()));
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenBroker(); }
  // Subclasses drop what uses the broker first.
  virtual void CloseUsers() {}
  void TearDown() override {
    CloseUsers();
    broker_.reset();
    store_.reset();
  }
  // (Re)opens the store and the broker on the test's directory.
  void OpenBroker() {
    CloseUsers();
    broker_.reset();
    store_.reset();
    store::StoreOptions options;
    options.path = dir_.path() + "/db";
    options.durability = store::Durability::kProcess;
    store_ = store::testing::ExpectOpened(store::OpenSqliteStore(options));
    broker_ = std::make_unique<context::ContextBroker>(store_.get(), &clock_);
    ASSERT_TRUE(broker_->Load().ok());
  }
  // Upserts entities given as JSON; returns each one's status.
  std::vector<Status> Upsert(const std::vector<std::string>& entities) {
    std::vector<context::WriteOp> ops;
    for (const std::string& text : entities) {
      auto e = context::ParseEntity(*ParseJson(text));
      EXPECT_TRUE(e.ok()) << e.status().ToString() << "\n" << text;
      context::WriteOp op;
      op.kind = context::WriteOp::Kind::kUpsertUpdate;
      op.entity = std::move(e).value();
      ops.push_back(std::move(op));
    }
    auto [st, out] = broker_->WriteSync(std::move(ops));
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<Status> statuses;
    for (auto& o : out) statuses.push_back(o.status);
    return statuses;
  }
  void Delete(const std::string& id) {
    context::WriteOp op;
    op.kind = context::WriteOp::Kind::kDeleteEntity;
    op.entity.id = id;
    std::vector<context::WriteOp> ops;
    ops.push_back(std::move(op));
    ASSERT_TRUE(broker_->WriteSync(std::move(ops)).second[0].status.ok());
  }
  static std::string ZoneJson(const std::string& id, double lon0, double lat0, double lon1,
                              double lat1, const std::string& extra = "") {
    std::ostringstream s;
    s.precision(10);
    s << R"({"id":")" << id << R"(","type":"Zone","location":{"type":"GeoProperty","value":)"
      << R"({"type":"Polygon","coordinates":[[[)" << lon0 << "," << lat0 << "],[" << lon1 << ","
      << lat0 << "],[" << lon1 << "," << lat1 << "],[" << lon0 << "," << lat1 << "],[" << lon0
      << "," << lat0 << "]]]}}" << extra << "}";
    return s.str();
  }
  static std::string Counter(const std::string& id, double lon, double lat, double count,
                             TimeMs at, const std::string& extra = "") {
    std::ostringstream s;
    s.precision(10);
    s << R"({"id":")" << id << R"(","type":"CrowdFlowObserved","peopleCount":{"type":"Property","value":)"
      << count << R"(,"observedAt":")" << FormatIso8601(at) << R"("},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[)"
      << lon << "," << lat << "]}}" << extra << "}";
    return s.str();
  }

  store::testing::TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<context::ContextBroker> broker_;
};

}  // namespace cb::stream::testing
