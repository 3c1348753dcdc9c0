#include "context/broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

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

  // A query for the entities within `meters` of a point.
  static EntityQuery Near(double lon, double lat, double meters) {
    EntityQuery q;
    GeoQuery g;
    g.rel = GeoRel::kNear;
    g.geometry = geo::Geometry::MakePoint({lon, lat});
    g.max_distance = meters;
    q.geo = g;
    return q;
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

// A database written before the binary store documents holds JSON ones: the broker loads
// them, and the entity's next write stores it in the binary format.
TEST_F(BrokerTest, EntitiesStoredAsJsonByEarlierVersionsLoadAndAreRewrittenBinary) {
  auto lot = ParseEntity(J(kLot));
  ASSERT_TRUE(lot.ok());
  lot->created_at = lot->modified_at = 1795428000000;
  RenderOptions sys;
  sys.sys_attrs = true;
  store::WriteBatch b;
  b.put_entities.push_back(
      store::EntityRow{lot->id, lot->type(), RenderEntity(*lot, sys), lot->modified_at});
  ASSERT_TRUE(store_->SubmitSync(std::move(b)).ok());
  Open();
  auto e = broker_->Get("urn:ngsi-ld:OffStreetParking:a");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Find("totalSpotNumber")->value, J("400"));
  EXPECT_EQ(e->created_at, 1795428000000);
  auto near = broker_->Query(Near(120.17, 30.253, 10));
  ASSERT_TRUE(near.ok());
  EXPECT_EQ(near->entities.size(), 1u);
  auto stored = [&] {
    std::string doc;
    EXPECT_TRUE(store_->ScanEntities([&](store::EntityRow&& row) { doc = row.doc; }).ok());
    return doc;
  };
  EXPECT_EQ(stored().front(), '{');
  EXPECT_TRUE(WriteOne(Op(WriteOp::Kind::kUpdate,
                          R"({"id":"urn:ngsi-ld:OffStreetParking:a","availableSpotNumber":99})"))
                  .status.ok());
  EXPECT_EQ(stored(), EntityToStoreDoc(*broker_->Get("urn:ngsi-ld:OffStreetParking:a")));
  EXPECT_NE(stored().front(), '{');
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

TEST_F(BrokerTest, ValidatorsRefuseBadEntitiesOfTheirTypeAndSeeEarlierWritesOfTheCall) {
  // Lots need a total, and a lot named by refSibling must exist.
  broker_->SetValidator("OffStreetParking", [](const Entity& e, const EntityLookup& lookup) {
    if (e.Find("totalSpotNumber") == nullptr) return Status::BadRequestData("no totalSpotNumber");
    if (const Attribute* s = e.Find("refSibling")) {
      if (lookup(s->value.as_string()) == nullptr) return Status::BadRequestData("no sibling");
    }
    return Status::Ok();
  });
  RecordingListener l;
  broker_->AddListener(&l);
  std::vector<WriteOp> ops;
  ops.push_back(Op(WriteOp::Kind::kCreate, kLot));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:ngsi-ld:OffStreetParking:b","type":"OffStreetParking",
      "totalSpotNumber":10,"refSibling":{"type":"Relationship","object":"urn:ngsi-ld:OffStreetParking:a"}})"));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:ngsi-ld:OffStreetParking:c","type":"OffStreetParking",
      "totalSpotNumber":10,"refSibling":{"type":"Relationship","object":"urn:ngsi-ld:OffStreetParking:zz"}})"));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:ngsi-ld:OffStreetParking:d","type":"OffStreetParking"})"));
  ops.push_back(Op(WriteOp::Kind::kCreate, R"({"id":"urn:ngsi-ld:Other:e","type":"Other"})"));
  auto out = Write(std::move(ops));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[1].status.ok()) << out[1].status.ToString();  // sees a, created just before
  EXPECT_EQ(out[2].status.message(), "no sibling");
  EXPECT_FALSE(out[2].created);
  EXPECT_EQ(out[3].status.code(), Code::kBadRequestData);
  EXPECT_TRUE(out[4].status.ok());  // other types are not checked
  // Updates are checked too: deleting the required attribute is refused.
  WriteOp drop;
  drop.kind = WriteOp::Kind::kDeleteAttr;
  drop.entity.id = "urn:ngsi-ld:OffStreetParking:a";
  drop.attr_name = "totalSpotNumber";
  EXPECT_EQ(WriteOne(drop).status.message(), "no totalSpotNumber");
  broker_->RemoveListener(&l);
  EXPECT_EQ(l.seen.size(), 3u);  // a, b, e: nothing of the refused ones
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:OffStreetParking:c"), nullptr);
  EXPECT_EQ(broker_->Get("urn:ngsi-ld:OffStreetParking:d"), nullptr);
  EXPECT_NE(broker_->Get("urn:ngsi-ld:OffStreetParking:a")->Find("totalSpotNumber"), nullptr);
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

TEST_F(BrokerTest, SpatialIndexFollowsUpdatesThatKeepDropOrRestoreTheLocation) {
  const std::string loc = R"("location":{"type":"Point","coordinates":[120.16,30.25]})";
  WriteOne(Op(WriteOp::Kind::kCreate, R"({"id":"urn:ngsi-ld:L:1","type":"L","n":1,)" + loc + "}"));
  EntityQuery q = Near(120.16, 30.25, 100);
  const auto found = [&] { return broker_->Query(q)->entities.size(); };
  ASSERT_EQ(found(), 1u);
  // Readings change, the location does not (the index entry is kept as it was).
  WriteOne(Op(WriteOp::Kind::kUpdate, R"({"id":"urn:ngsi-ld:L:1","n":2})"));
  EXPECT_EQ(found(), 1u);
  WriteOne(Op(WriteOp::Kind::kUpsertReplace,
              R"({"id":"urn:ngsi-ld:L:1","type":"L","n":3,)" + loc + "}"));
  EXPECT_EQ(found(), 1u);
  WriteOp drop;
  drop.kind = WriteOp::Kind::kDeleteAttr;
  drop.entity.id = "urn:ngsi-ld:L:1";
  drop.attr_name = "location";
  EXPECT_TRUE(WriteOne(std::move(drop)).status.ok());
  EXPECT_EQ(found(), 0u);
  WriteOne(Op(WriteOp::Kind::kUpsertUpdate, R"({"id":"urn:ngsi-ld:L:1","type":"L",)" + loc + "}"));
  EXPECT_EQ(found(), 1u);
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
  EntityQuery q = Near(120.16, 30.25, 1000);
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

// Near queries settle most candidates from the spatial index's boxes (context/broker.cc):
// their answers must be those of the exact predicate over every entity, for points close to
// the radius on either side, other geometries, two types and then a single one.
TEST_F(BrokerTest, NearQueriesAnswerAsTheExactPredicate) {
  const geo::LonLat centre{120.16, 30.25};
  const double kDLat1m = 1.0 / 111194.93;  // degrees of latitude per metre (R = 6,371,008.8 m)
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<WriteOp> ops;
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) {
    const double angle = unit(rng) * 6.283185307179586;
    double metres = unit(rng) * 900;
    if (i % 3 == 0) metres = (i % 2 == 0 ? 500 : 200) + (unit(rng) - 0.5) * 0.2;  // at a radius
    if (i % 30 == 9) metres = 500 + (unit(rng) - 0.5) * 0.03;  // within 1.5 cm of it
    if (i == 1) metres = 0;
    const double lat = centre.lat + std::sin(angle) * metres * kDLat1m;
    const double lon = centre.lon + std::cos(angle) * metres * kDLat1m / std::cos(lat * 0.017453292519943295);
    char coords[64];
    std::snprintf(coords, sizeof coords, "[%.9f,%.9f]", lon, lat);
    std::string geometry = R"({"type":"Point","coordinates":)" + std::string(coords) + "}";
    if (i % 50 == 7) {  // a line of one repeated position, and a short real line
      geometry = R"({"type":"LineString","coordinates":[)" + std::string(coords) + "," +
                 (i % 100 == 7 ? std::string(coords) : "[120.161,30.251]") + "]}";
    }
    ids.push_back("urn:ngsi-ld:N:" + std::to_string(i));
    ops.push_back(Op(WriteOp::Kind::kUpsertReplace,
                     R"({"id":")" + ids.back() + R"(","type":")" + (i % 4 == 0 ? "B" : "A") +
                         R"(","location":{"type":"GeoProperty","value":)" + geometry + "}}"));
  }
  Write(std::move(ops));
  auto check = [&](std::optional<double> max_d, std::optional<double> min_d) {
    GeoQuery g;
    g.rel = GeoRel::kNear;
    g.geometry = geo::Geometry::MakePoint(centre);
    g.max_distance = max_d;
    g.min_distance = min_d;
    EntityQuery q;
    q.types = {"A"};
    q.geo = g;
    q.limit = 1000;
    q.count = true;
    auto r = broker_->Query(q);
    ASSERT_TRUE(r.ok());
    std::vector<std::string> got, want;
    for (const auto& e : r->entities) got.push_back(e->id);
    for (const auto& id : ids) {
      EntityPtr e = broker_->Get(id);
      if (e && e->HasType("A") && MatchesGeoQuery(*e, g)) want.push_back(id);
    }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(r->total, want.size());
  };
  check(500, std::nullopt);
  check(500, 200);
  check(200, std::nullopt);
  check(0.05, std::nullopt);
  // Only type A left: the type is then known for every entity.
  ops.clear();
  for (size_t i = 0; i < ids.size(); i += 4) {
    WriteOp op;
    op.kind = WriteOp::Kind::kDeleteEntity;
    op.entity.id = ids[i];
    ops.push_back(std::move(op));
  }
  Write(std::move(ops));
  check(500, std::nullopt);
  check(500, 200);
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

// A clock that moves one millisecond on every reading. The broker reads it once per write,
// under its lock, so the writes' modifiedAt follow the order they were applied in.
class TickingClock final : public Clock {
 public:
  TimeMs Now() const override { return next_.fetch_add(1); }

 private:
  mutable std::atomic<TimeMs> next_{1795428000000};
};

class OrderListener : public ChangeListener {
 public:
  void OnChanges(const std::vector<Change>& changes) override {
    std::lock_guard l(mu);
    for (const auto& c : changes) {
      if (c.entity->modified_at < last) out_of_order++;  // (one write: one time)
      last = c.entity->modified_at;
      ++heard;
    }
  }
  std::mutex mu;
  TimeMs last = 0;
  int out_of_order = 0;
  int heard = 0;
};

TEST_F(BrokerTest, ConcurrentWritersCommitInTheOrderTheyWereApplied) {
  TickingClock ticking;
  broker_ = std::make_unique<ContextBroker>(store_.get(), &ticking);
  OrderListener l;
  broker_->AddListener(&l);
  constexpr int kThreads = 4, kWrites = 150;
  std::vector<std::thread> writers;
  std::atomic<bool> stop_readers{false};
  std::thread reader([&] {  // readers see whole versions while writers render
    while (!stop_readers.load()) {
      for (int k = 0; k < 3; ++k) {
        EntityPtr e = broker_->Get("urn:ngsi-ld:W:" + std::to_string(k));
        if (e) {
          EXPECT_EQ(e->Find("v")->modified_at, e->modified_at);
        }
      }
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        // A few shared entities, so later versions must overwrite earlier ones in the store;
        // batches of different sizes, so rendering takes different times.
        std::vector<WriteOp> ops;
        for (int k = 0; k <= (i + t) % 3; ++k) {
          ops.push_back(Op(WriteOp::Kind::kUpsertUpdate,
                           R"({"id":"urn:ngsi-ld:W:)" + std::to_string((i + k) % 3) +
                               R"(","type":"W","v":)" + std::to_string(t * 1000 + i) +
                               R"(,"big":{"type":"Property","value":")" +
                               std::string(static_cast<size_t>(50 * ((i * 7 + t) % 40)), 'x') +
                               R"("}})"));
        }
        auto [st, out] = broker_->WriteSync(std::move(ops));
        EXPECT_TRUE(st.ok()) << st.ToString();
      }
    });
  }
  for (auto& w : writers) w.join();
  stop_readers.store(true);
  reader.join();
  broker_->RemoveListener(&l);
  EXPECT_EQ(l.out_of_order, 0);
  EXPECT_GT(l.heard, kThreads * kWrites);
  // What the store kept is the last version applied, for every entity.
  std::vector<EntityPtr> last;
  for (int k = 0; k < 3; ++k) last.push_back(broker_->Get("urn:ngsi-ld:W:" + std::to_string(k)));
  Open();
  for (int k = 0; k < 3; ++k) {
    EntityPtr e = broker_->Get("urn:ngsi-ld:W:" + std::to_string(k));
    ASSERT_TRUE(e && last[k]);
    EXPECT_EQ(EntityToStoreDoc(*e), EntityToStoreDoc(*last[k]));
    // Its history holds every version, in time order.
    store::HistoryQuery hq;
    hq.entity_id = e->id;
    hq.attrs = {"v"};
    auto rows = broker_->History(hq);
    ASSERT_TRUE(rows.ok());
    ASSERT_FALSE(rows->empty());
    EXPECT_EQ(rows->back().observed_at, e->modified_at);
  }
}

// The attribute value index must return exactly what the scan returns. Two brokers get the
// same random writes; one answers from the index whenever it can (cost 0), the other
// always scans. Random q expressions (indexable terms alone, in conjunctions, with OR and
// with terms the index cannot answer), pages and counts must give the same answers.
class IndexVsScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cb-index-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (int i = 0; i < 2; ++i) {
      store::StoreOptions o;
      o.path = dir_ + "/db" + std::to_string(i);
      o.durability = store::Durability::kProcess;
      stores_[i] = std::move(store::OpenSqliteStore(o)).value();
      BrokerOptions bo;
      bo.value_index = i == 0;
      bo.index_candidate_cost = 0;
      brokers_[i] = std::make_unique<ContextBroker>(stores_[i].get(), &clock_, bo);
    }
  }
  void TearDown() override {
    for (int i = 0; i < 2; ++i) {
      brokers_[i].reset();
      stores_[i].reset();
    }
    std::filesystem::remove_all(dir_);
  }
  void WriteBoth(const std::vector<std::string>& bodies, WriteOp::Kind kind) {
    for (auto& b : brokers_) {
      std::vector<WriteOp> ops;
      for (const auto& body : bodies) {
        if (kind == WriteOp::Kind::kDeleteEntity) {
          WriteOp op;
          op.kind = kind;
          op.entity.id = body;
          ops.push_back(std::move(op));
        } else {
          ops.push_back(Op(kind, body));
        }
      }
      auto [st, out] = b->WriteSync(std::move(ops));
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }

  std::string dir_;
  ManualClock clock_{1795428000000};
  std::unique_ptr<store::Store> stores_[2];
  std::unique_ptr<ContextBroker> brokers_[2];
};

TEST_F(IndexVsScanTest, IndexedQueriesAnswerExactlyAsTheScan) {
  std::mt19937 rng(20261123);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> words = {"D0001", "D0002", "D0003", "alpha", "beta", "", "D00"};
  const std::string long_a = std::string(70, 'L') + "a", long_b = std::string(70, 'L') + "b";
  // A value for attribute `a` of an entity of type A (always a plain scalar of its kind) or
  // of type B (now and then an array, an object or a second instance).
  auto num = [&]() -> std::string {
    switch (pick(4)) {
      case 0: return std::to_string(pick(20));
      case 1: return std::to_string(pick(20)) + ".5";
      case 2: return "-" + std::to_string(pick(5));
      default: return pick(2) ? "9007199254740993" : "9007199254740992";
    }
  };
  auto str = [&]() -> std::string {
    int k = pick(static_cast<int>(words.size()) + 2);
    if (k == static_cast<int>(words.size())) return "\"" + long_a + "\"";
    if (k == static_cast<int>(words.size()) + 1) return "\"" + long_b + "\"";
    return "\"" + words[static_cast<size_t>(k)] + "\"";
  };
  auto entity = [&](int i) {
    const bool b = i % 4 == 3;
    std::string body = R"({"id":"urn:ngsi-ld:X:)" + std::to_string(1000 + (i * 37) % 400) +
                       R"(","type":")" + (b ? "B" : "A") + "\"";
    if (pick(8) != 0) body += R"(,"n":)" + num();
    if (pick(8) != 0) body += R"(,"s":)" + str();
    if (pick(3) != 0) body += std::string(R"(,"f":)") + (pick(2) ? "true" : "false");
    if (b && pick(4) == 0) {
      const char* odd[] = {R"(,"m":[1,2,"D0001"])", R"(,"m":{"@value":3})",
                           R"(,"m":{"type":"Relationship","object":"urn:a:1"})"};
      body += odd[pick(3)];
    } else if (pick(6) != 0) {
      body += R"(,"m":)" + (pick(2) ? num() : str());
    }
    return body + "}";
  };

  std::vector<std::string> terms_pool;
  auto term = [&]() -> std::string {
    const char* attrs[] = {"n", "s", "f", "m", "nope"};
    std::string a = attrs[pick(5)];
    auto value = [&]() { return a == "f" ? std::string(pick(2) ? "true" : "false")
                                         : (pick(2) ? num() : str()); };
    switch (pick(10)) {
      case 0: return a + "==" + value();
      case 1: return a + ">" + value();
      case 2: return a + ">=" + value();
      case 3: return a + "<" + value();
      case 4: return a + "<=" + value();
      case 5: return a + "==" + value() + "," + value();
      case 6: {
        bool numbers = pick(2);
        std::string lo = numbers ? num() : str(), hi = numbers ? num() : str();
        return a + "==" + lo + ".." + hi;
      }
      case 7: return a + "!=" + value();
      case 8: return a;
      default: return a + "~=D00.";
    }
  };
  auto expr = [&]() {
    std::string q = term();
    int more = pick(3);
    for (int i = 0; i < more; ++i) q += (pick(4) == 0 ? "|" : ";") + term();
    return q;
  };

  size_t compared = 0, answered_by_index = 0;
  for (int round = 0; round < 6; ++round) {
    std::vector<std::string> bodies;
    for (int i = 0; i < 120; ++i) bodies.push_back(entity(round * 120 + i));
    WriteBoth(bodies, round % 2 ? WriteOp::Kind::kUpsertUpdate : WriteOp::Kind::kUpsertReplace);
    std::vector<std::string> gone;
    for (int i = 0; i < 10; ++i) gone.push_back("urn:ngsi-ld:X:" + std::to_string(1000 + pick(400)));
    WriteBoth(gone, WriteOp::Kind::kDeleteEntity);
    clock_.Advance(1000);

    for (int k = 0; k < 150; ++k) {
      EntityQuery q;
      q.types = {pick(3) ? "A" : "B"};
      std::string text = expr();
      auto parsed = ParseQ(text);
      if (!parsed.ok()) continue;  // e.g. a range of numbers and strings
      q.q = *parsed;
      q.offset = static_cast<size_t>(pick(3) == 0 ? pick(30) : 0);
      q.limit = static_cast<size_t>(pick(4) == 0 ? 0 : 1 + pick(40));
      q.count = pick(2) == 0;
      if (pick(10) == 0) q.attrs = {"m"};
      if (pick(10) == 0) q.id_pattern = "X:1[01]";
      uint64_t before = brokers_[0]->Stats().queries_indexed;
      auto indexed = brokers_[0]->Query(q);
      auto scanned = brokers_[1]->Query(q);
      ASSERT_TRUE(indexed.ok() && scanned.ok()) << text;
      answered_by_index += brokers_[0]->Stats().queries_indexed - before;
      std::vector<std::string> a, b;
      for (const auto& e : indexed->entities) a.push_back(e->id);
      for (const auto& e : scanned->entities) b.push_back(e->id);
      ASSERT_EQ(a, b) << text << " type " << q.types[0] << " offset " << q.offset << " limit "
                      << q.limit;
      ASSERT_EQ(indexed->total, scanned->total) << text << " count " << q.count;
      ++compared;
    }
  }
  EXPECT_GT(compared, 700u);
  // The index answered a good share (the rest: OR, !=, ~=, existence, type B's odd values).
  EXPECT_GT(answered_by_index, compared / 4);
  EXPECT_EQ(brokers_[1]->Stats().queries_indexed, 0u);
}

TEST_F(IndexVsScanTest, ThePlannerScansWhenTheIndexWouldNotPay) {
  BrokerOptions bo;  // the default cost model
  brokers_[0] = std::make_unique<ContextBroker>(stores_[0].get(), &clock_, bo);
  std::vector<WriteOp> ops;
  for (int i = 0; i < 2000; ++i) {
    ops.push_back(Op(WriteOp::Kind::kUpsertReplace,
                     R"({"id":"urn:ngsi-ld:P:)" + std::to_string(10000 + i) +
                         R"(","type":"P","d":")" + (i % 500 == 0 ? "rare" : "common") +
                         R"(","n":)" + std::to_string(i % 100) + "}"));
  }
  ASSERT_TRUE(brokers_[0]->WriteSync(std::move(ops)).first.ok());
  auto indexed = [&](const std::string& text, bool count) {
    EntityQuery q;
    q.types = {"P"};
    q.q = ParseQ(text).value();
    q.count = count;
    uint64_t before = brokers_[0]->Stats().queries_indexed;
    auto r = brokers_[0]->Query(q);
    EXPECT_TRUE(r.ok());
    return brokers_[0]->Stats().queries_indexed > before;
  };
  EXPECT_TRUE(indexed(R"(d=="rare")", false));    // 4 of 2,000
  EXPECT_FALSE(indexed(R"(d=="common")", false));  // the scan finds 20 at once
  EXPECT_TRUE(indexed(R"(n==7)", true));           // counting 20: the scan would visit all
  EXPECT_FALSE(indexed(R"(n>=1)", true));          // 99 %: nothing to gain
  EXPECT_TRUE(indexed(R"(d=="common";n==3)", false));  // the rarer conjunct is used
  EXPECT_FALSE(indexed(R"(d=="rare"|n==3)", false));   // OR: scan
}

}  // namespace
}  // namespace cb::context
