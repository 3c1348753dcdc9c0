#include "context/broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "context/ngsi_json.h"

namespace cb::context {
namespace {

JsonValue J(const std::string& s) { return ParseJson(s).value(); }

// Update bodies carry no type, so the type is not required here; the broker checks it.
Entity E(const std::string& json) {
  auto e = ParseEntity(J(json), false);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

WriteOp Op(WriteOp::Kind kind, const std::string& json) {
  WriteOp op;
  op.kind = kind;
  op.entity = E(json);
  return op;
}

class RecordingListener : public ChangeListener {
 public:
  void OnChanges(const std::vector<Change>& changes) override {
    std::lock_guard l(mu);
    for (const auto& c : changes) seen.push_back(c);
  }
  std::mutex mu;
  std::vector<Change> seen;
};

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cb-broker-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    broker_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    broker_.reset();
    store_.reset();
    store::StoreOptions o;
    o.path = dir_ + "/db";
    o.durability = store::Durability::kProcess;
    store_ = std::move(store::OpenSqliteStore(o)).value();
    broker_ = std::make_unique<ContextBroker>(store_.get(), &clock_);
    ASSERT_TRUE(broker_->Load().ok());
  }
  std::vector<WriteOutcome> Write(std::vector<WriteOp> ops) {
    auto [st, out] = broker_->WriteSync(std::move(ops));
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  WriteOutcome WriteOne(WriteOp op) {
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    return Write(std::move(ops))[0];
  }

  std::string dir_;
  ManualClock clock_{1795428000000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ContextBroker> broker_;
};

const char* kLot = R"({"id":"urn:ngsi-ld:OffStreetParking:a","type":"OffStreetParking",
  "totalSpotNumber":{"type":"Property","value":400},"availableSpotNumber":{"type":"Property","value":100},
  "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[120.17,30.253]}}})";

TEST_F(BrokerTest, CreateGetAndSurviveRestart) {
  auto out = WriteOne(Op(WriteOp::Kind::kCreate, kLot));
  EXPECT_TRUE(out.status.ok());
  EXPECT_TRUE(out.created);
  EXPECT_EQ(out.updated.size(), 3u);
  EXPECT_EQ(WriteOne(Op(WriteOp::Kind::kCreate, kLot)).status.code(), Code::kAlreadyExists);
  auto e = broker_->Get("urn:ngsi-ld:OffStreetParking:a");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->created_at, clock_.Now());
  EXPECT_EQ(e->Find("availableSpotNumber")->value, J("100"));
  Open();
  e = broker_->Get("urn:ngsi-ld:OffStreetParking:a");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Find("totalSpotNumber")->value, J("400"));
  EXPECT_EQ(e->created_at, 1795428000000);
  EXPECT_EQ(broker_->Stats().entities, 1u);
}

TEST_F(BrokerTest, UpdateKindsFollowNgsiLdRules) {
  WriteOne(Op(WriteOp::Kind::kCreate, kLot));
  clock_.Advance(1000);
  const std::string id = "urn:ngsi-ld:OffStreetParking:a";
  // kUpdate: existing only.
  auto out = WriteOne(Op(WriteOp::Kind::kUpdate, R"({"id":")" + id +
                                                     R"(","availableSpotNumber":90,"newAttr":1})"));
  EXPECT_EQ(out.updated, std::vector<std::string>{"availableSpotNumber"});
  ASSERT_EQ(out.not_updated.size(), 1u);
  EXPECT_EQ(out.not_updated[0].attr, "newAttr");
  // kAppend with noOverwrite.
  WriteOp app = Op(WriteOp::Kind::kAppend, R"({"id":")" + id + R"(","availableSpotNumber":1,"status":"open"})");
  app.no_overwrite = true;
  out = WriteOne(std::move(app));
  EXPECT_EQ(out.updated, std::vector<std::string>{"status"});
  auto e = broker_->Get(id);
  EXPECT_EQ(e->Find("availableSpotNumber")->value, J("90"));
  EXPECT_EQ(e->Find("availableSpotNumber")->created_at, 1795428000000);
  EXPECT_EQ(e->Find("availableSpotNumber")->modified_at, 1795428001000);
  // kUpsertReplace drops attributes not given; kUpsertUpdate keeps them.
  WriteOne(Op(WriteOp::Kind::kUpsertUpdate, R"({"id":")" + id + R"(","type":"Parking","extra":1})"));
  e = broker_->Get(id);
  EXPECT_TRUE(e->HasType("OffStreetParking"));
  EXPECT_TRUE(e->HasType("Parking"));
  EXPECT_NE(e->Find("status"), nullptr);
  WriteOne(Op(WriteOp::Kind::kUpsertReplace, R"({"id":")" + id + R"(","type":"OffStreetParking","x":1})"));
  e = broker_->Get(id);
  EXPECT_EQ(e->attrs.size(), 1u);
  EXPECT_FALSE(e->HasType("Parking"));
  // Patch and delete of one attribute.
  WriteOp patch;
  patch.kind = WriteOp::Kind::kPatchAttr;
  patch.entity.id = id;
  patch.attr_name = "x";
  patch.patch = J(R"({"value":2,"unitCode":"C62"})");
  EXPECT_TRUE(WriteOne(std::move(patch)).status.ok());
  EXPECT_EQ(broker_->Get(id)->Find("x")->unit_code, "C62");
  WriteOp del;
  del.kind = WriteOp::Kind::kDeleteAttr;
  del.entity.id = id;
  del.attr_name = "x";
  EXPECT_TRUE(WriteOne(del).status.ok());
  EXPECT_EQ(WriteOne(del).status.code(), Code::kNotFound);
  // Missing entity.
  EXPECT_EQ(WriteOne(Op(WriteOp::Kind::kUpdate, R"({"id":"urn:a:missing","a":1})")).status.code(),
            Code::kNotFound);
}

TEST_F(BrokerTest, BatchOutcomesAreIndependent) {
  std::vector<WriteOp> ops;
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:a:1","type":"T","v":1})"));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:a:1","type":"T","v":2})"));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:a:2","type":"T","v":3})"));
  WriteOp del;
  del.kind = WriteOp::Kind::kDeleteEntity;
  del.entity.id = "urn:a:3";
  ops.push_back(del);
  auto out = Write(std::move(ops));
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[1].status.code(), Code::kAlreadyExists);
  EXPECT_TRUE(out[2].status.ok());
  EXPECT_EQ(out[3].status.code(), Code::kNotFound);
  EXPECT_EQ(broker_->Get("urn:a:1")->Find("v")->value, J("1"));
}

TEST_F(BrokerTest, ListenersHearDurableChangesInOrder) {
  RecordingListener l;
  broker_->AddListener(&l);
  WriteOne(Op(WriteOp::Kind::kCreate, kLot));
  WriteOne(Op(WriteOp::Kind::kUpdate, R"({"id":"urn:ngsi-ld:OffStreetParking:a","availableSpotNumber":5})"));
  WriteOp del;
  del.kind = WriteOp::Kind::kDeleteEntity;
  del.entity.id = "urn:ngsi-ld:OffStreetParking:a";
  WriteOne(del);
  WriteOne(del);  // fails: no change to hear
  broker_->RemoveListener(&l);
  ASSERT_EQ(l.seen.size(), 3u);
  EXPECT_EQ(l.seen[0].kind, Change::Kind::kCreated);
  EXPECT_EQ(l.seen[1].kind, Change::Kind::kUpdated);
  EXPECT_EQ(l.seen[1].attrs, std::vector<std::string>{"availableSpotNumber"});
  EXPECT_EQ(l.seen[1].entity->Find("availableSpotNumber")->value, J("5"));
  EXPECT_EQ(l.seen[2].kind, Change::Kind::kDeleted);
}

TEST_F(BrokerTest, QueriesUseTypeGeoAndQ) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 50; ++i) {
    double lon = 120.16 + i * 0.001;  // ~96 m apart
    ops.push_back(Op(WriteOp::Kind::kUpsertReplace,
                     R"({"id":"urn:ngsi-ld:C:)" + std::to_string(1000 + i) + R"(","type":")" +
                         (i % 2 ? "A" : "B") + R"(","n":)" + std::to_string(i) +
                         R"(,"location":{"type":"Point","coordinates":[)" + std::to_string(lon) +
                         ",30.25]}}"));
  }
  Write(std::move(ops));
  EntityQuery q;
  q.types = {"A"};
  q.count = true;
  q.limit = 5;
  auto r = broker_->Query(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, 25u);
  ASSERT_EQ(r->entities.size(), 5u);
  EXPECT_EQ(r->entities[0]->id, "urn:ngsi-ld:C:1001");  // ordered by id
  q.q = ParseQ("n>=40").value();
  EXPECT_EQ(broker_->Query(q)->total, 5u);
  q.q = nullptr;
  q.types.clear();
  GeoQuery g;
  g.rel = GeoRel::kNear;
  g.geometry = geo::Geometry::MakePoint({120.16, 30.25});
  g.max_distance = 500;
  q.geo = g;
  q.limit = 100;
  r = broker_->Query(q);
  EXPECT_EQ(r->total, 6u);  // 0, 96, 192, 288, 385, 481 m
  q.id_pattern = "C:100[0-2]$";
  EXPECT_EQ(broker_->Query(q)->total, 3u);
  q.id_pattern = "(";
  EXPECT_EQ(broker_->Query(q).status().code(), Code::kBadRequestData);
  // Moving an entity moves it in the spatial index.
  WriteOp move;
  move.kind = WriteOp::Kind::kPatchAttr;
  move.entity.id = "urn:ngsi-ld:C:1000";
  move.attr_name = "location";
  move.patch = J(R"({"value":{"type":"Point","coordinates":[121.0,31.0]}})");
  EXPECT_TRUE(WriteOne(std::move(move)).status.ok());
  q.id_pattern.clear();
  EXPECT_EQ(broker_->Query(q)->total, 5u);
}

TEST_F(BrokerTest, GeoQueryPagesAreInIdOrder) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 12; ++i) {  // ids deliberately not in distance order
    ops.push_back(Op(WriteOp::Kind::kUpsertReplace,
                     R"({"id":"urn:ngsi-ld:G:)" + std::to_string((i * 7) % 12 + 10) +
                         R"(","type":"G","location":{"type":"Point","coordinates":[)" +
                         std::to_string(120.16 + i * 0.0001) + ",30.25]}}"));
  }
  Write(std::move(ops));
  EntityQuery q;
  GeoQuery g;
  g.rel = GeoRel::kNear;
  g.geometry = geo::Geometry::MakePoint({120.16, 30.25});
  g.max_distance = 1000;
  q.geo = g;
  std::vector<std::string> seen;
  for (size_t off = 0; off < 12; off += 5) {
    q.offset = off;
    q.limit = 5;
    auto r = broker_->Query(q);
    ASSERT_TRUE(r.ok());
    for (const auto& e : r->entities) seen.push_back(e->id);
  }
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  q.offset = 20;
  EXPECT_TRUE(broker_->Query(q)->entities.empty());
  q.offset = SIZE_MAX;  // no overflow of offset + limit
  EXPECT_TRUE(broker_->Query(q)->entities.empty());
}

TEST_F(BrokerTest, HistoryRecordsEveryAttributeWrite) {
  WriteOne(Op(WriteOp::Kind::kCreate, kLot));
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(60000);
    WriteOne(Op(WriteOp::Kind::kUpdate, R"({"id":"urn:ngsi-ld:OffStreetParking:a","availableSpotNumber":)" +
                                            std::to_string(90 - i) + "}"));
  }
  store::HistoryQuery hq;
  hq.entity_id = "urn:ngsi-ld:OffStreetParking:a";
  hq.attrs = {"availableSpotNumber"};
  auto rows = broker_->History(hq);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ(J((*rows)[3].value).Find("value")->as_int(), 88);
  EXPECT_EQ((*rows)[3].observed_at, 1795428180000);
}

}  // namespace
}  // namespace cb::context
