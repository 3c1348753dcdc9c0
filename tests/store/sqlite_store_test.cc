// Tests of the SQLite store: opening and schema, entities, records, history queries, errors.

#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using namespace ::cb::store::testing;  // NOLINT(build/namespaces)

class SqliteStoreTest : public StoreTest {
 protected:
  std::unique_ptr<Store> Open(Durability durability = Durability::kProcess) {
    return ExpectOpened(OpenSqliteStore(Options(durability)));
  }

  static std::map<std::string, EntityRow> Entities(Store& store) {
    std::map<std::string, EntityRow> out;
    Status st = store.ScanEntities([&](EntityRow&& e) { out[e.id] = std::move(e); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  static std::vector<Record> Records(Store& store, std::string_view kind) {
    std::vector<Record> out;
    Status st = store.ScanRecords(kind, [&](Record&& r) { out.push_back(std::move(r)); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  static std::vector<HistoryRow> History(Store& store, const HistoryQuery& q) {
    auto rows = store.QueryHistory(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? std::move(rows).value() : std::vector<HistoryRow>{};
  }

  // "attr@time=value" for each row, to compare whole answers at a glance.
  static std::vector<std::string> Brief(const std::vector<HistoryRow>& rows) {
    std::vector<std::string> out;
    for (const HistoryRow& h : rows) {
      out.push_back(h.attr + "@" + std::to_string(h.observed_at) + "=" + h.value);
    }
    return out;
  }

  // The first column of the first row `sql` gives, read through a separate raw connection.
  std::string RawValue(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(DbPath().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return value;
  }
  std::string RawPragma(const std::string& pragma) { return RawValue("PRAGMA " + pragma); }
  // Each entity's attributes with history, as the database lists them ("id/attr ...").
  std::string RawSeries() {
    return RawValue(
        "SELECT group_concat(pair, ' ') FROM (SELECT o.entity_id || '/' || s.attr AS pair "
        "FROM history_series s JOIN history_entities o ON o.id = s.owner "
        "ORDER BY o.entity_id, s.attr)");
  }

  // A history fixture: entity "urn:e1" with attributes a and b at times 10, 20, 30, 40.
  void AddHistoryFixture(Store& store) {
    WriteBatch b;
    for (TimeMs t : {30, 10, 40, 20}) {  // out of order on purpose
      b.history.push_back(Hist("urn:e1", "b", t, "b" + std::to_string(t)));
      b.history.push_back(Hist("urn:e1", "a", t, "a" + std::to_string(t)));
    }
    b.history.push_back(Hist("urn:e2", "a", 15, "other"));
    b.history.push_back(Hist("urn:e1x", "a", 15, "prefix"));
    ASSERT_TRUE(store.SubmitSync(std::move(b)).ok());
  }
};

// ---- opening, schema, errors ----

TEST_F(SqliteStoreTest, OpenCreatesTheDatabase) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(DbPath()));
  EXPECT_TRUE(Entities(*store).empty());
}

TEST_F(SqliteStoreTest, ReopenKeepsCommittedData) {
  {
    auto store = Open(Durability::kFsync);
    WriteBatch b;
    b.put_entities.push_back(Entity("urn:ngsi-ld:Parking:1", "OffStreetParking", "{}", 5));
    b.history.push_back(Hist("urn:ngsi-ld:Parking:1", "availableSpotNumber", 5, "12"));
    b.put_records.push_back(Record{"subscription", "s1", "{\"q\":1}"});
    ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  }
  auto store = Open();
  auto entities = Entities(*store);
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities.begin()->second.type, "OffStreetParking");
  EXPECT_EQ(Records(*store, "subscription").size(), 1u);
  HistoryQuery q;
  q.entity_id = "urn:ngsi-ld:Parking:1";
  EXPECT_EQ(Brief(History(*store, q)), std::vector<std::string>{"availableSpotNumber@5=12"});
}

TEST_F(SqliteStoreTest, SchemaVersionAndWalAreRecordedInTheFile) {
  Open().reset();
  EXPECT_GE(SqliteSchemaVersion(), 1);
  EXPECT_EQ(RawPragma("user_version"), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(RawPragma("journal_mode"), "wal");
  // Reopening an up-to-date file migrates nothing and keeps the version.
  Open().reset();
  EXPECT_EQ(RawPragma("user_version"), std::to_string(SqliteSchemaVersion()));
}

// A database written by a build with schema version 2 (one history row per attribute
// instance): opening it migrates its history, which then answers as before and grows.
TEST_F(SqliteStoreTest, Version2HistoryIsMigrated) {
  {
    // The tables of migrations 1 and 2 as they shipped, with a little data.
    const char* v2 = R"sql(
      CREATE TABLE history(seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL,
        series INTEGER NOT NULL, observed_at INTEGER NOT NULL, value TEXT NOT NULL);
      CREATE INDEX history_by_epoch_series_time ON history(epoch, series, observed_at);
      INSERT INTO series(id, entity_id, attr) VALUES(1, 'urn:e1', 'a'), (2, 'urn:e1', '温度'),
        (3, 'urn:e2', 'a');
      INSERT INTO history(seq, epoch, series, observed_at, value) VALUES
        (1, 0, 1, 10, '{"value":"1,2:3"}'), (2, 0, 2, 10, '{"value":"五"}'),
        (3, 0, 3, 10, 'e2'), (4, 0, 1, 20, 'a20');
      INSERT INTO history_epochs VALUES(0, 10, 20);
      PRAGMA user_version = 2;
    )sql";
    ASSERT_TRUE(WriteOldDatabase(DbPath(), v2));
  }
  auto store = Open();
  EXPECT_EQ(RawPragma("user_version"), std::to_string(SqliteSchemaVersion()));
  // (Migration 7 keeps the series by owner number; `series` is gone.)
  EXPECT_EQ(RawSeries(), "urn:e1/a urn:e1/温度 urn:e2/a");
  EXPECT_EQ(RawValue("SELECT count(*) FROM sqlite_master WHERE name = 'series'"), "0");
  EXPECT_EQ(Brief(History(*store, Query("urn:e1"))),
            (std::vector<std::string>{R"(a@10={"value":"1,2:3"})", "a@20=a20",
                                      R"(温度@10={"value":"五"})"}));
  EXPECT_EQ(Brief(History(*store, Query("urn:e2"))), std::vector<std::string>{"a@10=e2"});
  // New rows continue after the migrated ones, in the same and in new series.
  ASSERT_TRUE(store
                  ->SubmitSync(Batch()
                                   .Add(Hist("urn:e1", "a", 30, "a30"))
                                   .Add(Hist("urn:e1", "b", 30, "b30")))
                  .ok());
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").LastN(1))),
            (std::vector<std::string>{"a@30=a30", "b@30=b30", R"(温度@10={"value":"五"})"}));
  // Deleting an entity drops its migrated history too.
  ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:e1")).ok());
  EXPECT_TRUE(History(*store, Query("urn:e1")).empty());
  EXPECT_EQ(Brief(History(*store, Query("urn:e2"))), std::vector<std::string>{"a@10=e2"});
  store.reset();
  EXPECT_EQ(RawSeries(), "urn:e2/a");
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  Open().reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSqliteStore(StoreOptions{.path = DbPath()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("999"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseGivesAClearError) {
  {
    std::ofstream f(DbPath());
    for (int i = 0; i < 200; ++i) f << "this is not a database, just some text\n";
  }
  auto store = OpenSqliteStore(StoreOptions{.path = DbPath()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInternal);
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find(DbPath()), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, MissingDirectoryGivesAClearError) {
  const std::string path = dir_.path() + "/no/such/dir/city.db";
  auto store = OpenSqliteStore(StoreOptions{.path = path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInternal);
  EXPECT_NE(store.status().message().find("unable to open"), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/no"));
}

TEST_F(SqliteStoreTest, DirectoryAsPathGivesAnError) {
  auto store = OpenSqliteStore(StoreOptions{.path = dir_.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(dir_.path()), std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, EmptyPathIsRejected) {
  auto store = OpenSqliteStore(StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInvalidRequest);
}

TEST_F(SqliteStoreTest, ApplierNiceOutOfRangeIsRejected) {
  for (int nice : {-1, 20}) {
    StoreOptions options = Options(Durability::kProcess);
    options.applier_nice = nice;
    auto store = OpenSqliteStore(options);
    ASSERT_FALSE(store.ok()) << nice;
    EXPECT_EQ(store.status().code(), Code::kInvalidRequest);
    EXPECT_FALSE(std::filesystem::exists(DbPath())) << "nothing is created for bad options";
  }
}

// The nice value of this process's thread named `name` (field 19 of /proc/self/task/T/stat),
// or nullopt when there is no such thread.
std::optional<int> ThreadNice(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the ")" that closes the thread's name: state is field 3, nice field 19.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && rest >> field; ++i) {
    }
    return std::stoi(field);
  }
  return std::nullopt;
}

TEST_F(SqliteStoreTest, ApplierRunsAtTheConfiguredNiceAndOthersDoNot) {
  const int own = getpriority(PRIO_PROCESS, 0);
  for (int nice : {0, 7}) {
    StoreOptions options = Options(Durability::kProcess);
    options.applier_nice = nice;
    auto store = ExpectOpened(OpenSqliteStore(options));
    ASSERT_NE(store, nullptr);
    // The applier sets its priority as it starts; it starts before Open returns, but give a
    // slow machine a moment.
    // Each thread names itself as it starts, so the writer may not carry its name yet.
    std::optional<int> applier, writer;
    for (int i = 0; i < 200; ++i) {
      applier = ThreadNice("cb-store-apply");
      writer = ThreadNice("cb-store-write");
      if (applier == std::min(19, own + nice) && writer.has_value()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(applier.has_value());
    EXPECT_EQ(*applier, std::min(19, own + nice));
    EXPECT_EQ(writer, own);
    store.reset();
  }
}

// ---- entities ----

TEST_F(SqliteStoreTest, PutAndScanEntities) {
  auto store = Open();
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:b", "T", "{\"n\":2}", 200));
  b.put_entities.push_back(Entity("urn:a", "T", "{\"n\":1}", 100));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  std::vector<EntityRow> rows;
  ASSERT_TRUE(store->ScanEntities([&](EntityRow&& e) { rows.push_back(std::move(e)); }).ok());
  ASSERT_EQ(rows.size(), 2u);
  // (in no particular order)
  std::sort(rows.begin(), rows.end(),
            [](const EntityRow& a, const EntityRow& b) { return a.id < b.id; });
  EXPECT_EQ(rows[0].id, "urn:a");
  EXPECT_EQ(rows[0].type, "T");
  EXPECT_EQ(rows[0].doc, "{\"n\":1}");
  EXPECT_EQ(rows[0].modified_at, 100);
  EXPECT_EQ(rows[1].id, "urn:b");
  EXPECT_EQ(rows[1].modified_at, 200);
}

TEST_F(SqliteStoreTest, PutReplacesTheWholeEntity) {
  auto store = Open();
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:a", "T1", "{\"v\":1}", 1))).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:a", "T2", "{\"v\":2}", 2))).ok());
  auto entities = Entities(*store);
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities["urn:a"].type, "T2");
  EXPECT_EQ(entities["urn:a"].doc, "{\"v\":2}");
  EXPECT_EQ(entities["urn:a"].modified_at, 2);
}

TEST_F(SqliteStoreTest, LaterPutInTheSameBatchWins) {
  auto store = Open();
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:a", "T", "first", 1));
  b.put_entities.push_back(Entity("urn:a", "T", "second", 2));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  EXPECT_EQ(Entities(*store)["urn:a"].doc, "second");
}

TEST_F(SqliteStoreTest, DeleteEntityDropsItAndOnlyItsHistory) {
  auto store = Open();
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:a", "T", "{}", 1));
  b.put_entities.push_back(Entity("urn:ab", "T", "{}", 1));
  b.history.push_back(Hist("urn:a", "x", 1, "1"));
  b.history.push_back(Hist("urn:ab", "x", 1, "2"));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:a")).ok());
  auto entities = Entities(*store);
  EXPECT_EQ(entities.count("urn:a"), 0u);
  EXPECT_EQ(entities.count("urn:ab"), 1u);
  EXPECT_TRUE(History(*store, Query("urn:a")).empty());
  EXPECT_EQ(History(*store, Query("urn:ab")).size(), 1u);
}

TEST_F(SqliteStoreTest, DeletingAMissingEntityIsNotAnError) {
  auto store = Open();
  EXPECT_TRUE(store->SubmitSync(Batch().Delete("urn:nobody")).ok());
}

TEST_F(SqliteStoreTest, DeleteAppliesBeforePutInOneBatch) {
  auto store = Open();
  ASSERT_TRUE(
      store
          ->SubmitSync(
              Batch().Put(Entity("urn:a", "Old", "{}", 1)).Add(Hist("urn:a", "x", 1, "old")))
          .ok());
  // Re-create: the old history goes, the new entity and history stay.
  ASSERT_TRUE(store
                  ->SubmitSync(Batch()
                                   .Put(Entity("urn:a", "New", "{}", 2))
                                   .Delete("urn:a")
                                   .Add(Hist("urn:a", "x", 2, "new")))
                  .ok());
  EXPECT_EQ(Entities(*store)["urn:a"].type, "New");
  EXPECT_EQ(Brief(History(*store, Query("urn:a"))), std::vector<std::string>{"x@2=new"});
}

TEST_F(SqliteStoreTest, TextRoundTripsExactly) {
  auto store = Open();
  std::string doc = "{\"name\":\"西湖音乐喷泉 \\\"fountain\\\"\",\"nul\":\"";
  doc.push_back('\0');
  doc += "\"}";
  const std::string big(1 << 20, 'x');
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:ngsi-ld:Zone:西湖", "Zone", doc, 1));
  b.put_entities.push_back(Entity("urn:big", "Big", big, 1));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  auto entities = Entities(*store);
  EXPECT_EQ(entities["urn:ngsi-ld:Zone:西湖"].doc, doc);
  EXPECT_EQ(entities["urn:big"].doc.size(), big.size());
}

TEST_F(SqliteStoreTest, NegativeAndExtremeTimesRoundTrip) {
  auto store = Open();
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:a", "T", "{}", -5));
  b.history.push_back(Hist("urn:a", "x", INT64_MIN + 1, "min"));
  b.history.push_back(Hist("urn:a", "x", INT64_MAX, "max"));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  EXPECT_EQ(Entities(*store)["urn:a"].modified_at, -5);
  auto rows = History(*store, Query("urn:a"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].observed_at, INT64_MIN + 1);
  EXPECT_EQ(rows[1].observed_at, INT64_MAX);
}

TEST_F(SqliteStoreTest, BadBatchIsRejectedWholeAndChangesNothing) {
  auto store = Open();
  WriteBatch b;
  b.put_entities.push_back(Entity("urn:good", "T", "{}", 1));
  b.put_entities.push_back(Entity("", "T", "{}", 1));  // an entity needs an id
  b.put_records.push_back(Record{"k", "r", "{}"});
  Status st = store->SubmitSync(std::move(b));
  EXPECT_EQ(st.code(), Code::kBadRequestData) << st.ToString();
  EXPECT_NE(st.message().find("put entity"), std::string::npos) << st.message();
  EXPECT_TRUE(Entities(*store).empty());
  EXPECT_TRUE(Records(*store, "k").empty());
  // The store keeps working.
  EXPECT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:good", "T", "{}", 1))).ok());
  EXPECT_EQ(Entities(*store).size(), 1u);
}

TEST_F(SqliteStoreTest, HistoryRowsNeedEntityAndAttribute) {
  auto store = Open();
  EXPECT_EQ(store->SubmitSync(Batch().Add(Hist("urn:a", "", 1, "v"))).code(),
            Code::kBadRequestData);
  EXPECT_EQ(store->SubmitSync(Batch().Add(Hist("", "x", 1, "v"))).code(), Code::kBadRequestData);
}

// ---- records ----

TEST_F(SqliteStoreTest, RecordsArePerKindAndOrderedByKey) {
  auto store = Open();
  WriteBatch b;
  b.put_records.push_back(Record{"apikey", "k2", "{\"v\":2}"});
  b.put_records.push_back(Record{"apikey", "k1", "{\"v\":1}"});
  b.put_records.push_back(Record{"subscription", "k1", "{\"s\":1}"});
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  auto keys = Records(*store, "apikey");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kind, "apikey");
  EXPECT_EQ(keys[0].key, "k1");
  EXPECT_EQ(keys[0].doc, "{\"v\":1}");
  EXPECT_EQ(keys[1].key, "k2");
  auto subs = Records(*store, "subscription");
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].doc, "{\"s\":1}");
  EXPECT_TRUE(Records(*store, "nothing").empty());
}

TEST_F(SqliteStoreTest, PutRecordReplacesAndDeleteRemoves) {
  auto store = Open();
  ASSERT_TRUE(
      store->SubmitSync(Batch().Put(Record{"k", "a", "1"}).Put(Record{"k", "b", "1"})).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Record{"k", "a", "2"})).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().DeleteRecord(Record{"k", "b", ""})).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().DeleteRecord(Record{"k", "missing", ""})).ok());
  auto records = Records(*store, "k");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "a");
  EXPECT_EQ(records[0].doc, "2");
}

TEST_F(SqliteStoreTest, RecordKindIsRequiredButKeyMayBeEmpty) {
  auto store = Open();
  EXPECT_EQ(store->SubmitSync(Batch().Put(Record{"", "a", "1"})).code(), Code::kBadRequestData);
  EXPECT_TRUE(store->SubmitSync(Batch().Put(Record{"singleton", "", "1"})).ok());
  EXPECT_EQ(Records(*store, "singleton").size(), 1u);
}

// ---- history ----

TEST_F(SqliteStoreTest, HistoryIsOrderedByAttributeThenTime) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_EQ(Brief(History(*store, Query("urn:e1"))),
            (std::vector<std::string>{"a@10=a10", "a@20=a20", "a@30=a30", "a@40=a40", "b@10=b10",
                                      "b@20=b20", "b@30=b30", "b@40=b40"}));
  for (const HistoryRow& h : History(*store, Query("urn:e1"))) {
    EXPECT_EQ(h.entity_id, "urn:e1");
  }
}

TEST_F(SqliteStoreTest, HistoryOfAnUnknownEntityIsEmpty) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_TRUE(History(*store, Query("urn:nobody")).empty());
  EXPECT_TRUE(History(*store, Query("urn:e")).empty());  // a prefix of urn:e1
}

TEST_F(SqliteStoreTest, HistoryAttributeFilter) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"b"}))),
            (std::vector<std::string>{"b@10=b10", "b@20=b20", "b@30=b30", "b@40=b40"}));
  // Unknown and repeated names are harmless; the answer is still in attribute order.
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"zz", "b", "a", "b"}).From(40))),
            (std::vector<std::string>{"a@40=a40", "b@40=b40"}));
  EXPECT_TRUE(History(*store, Query("urn:e1").Attrs({"nope"})).empty());
}

TEST_F(SqliteStoreTest, HistoryTimeRangeIsFromInclusiveToExclusive) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"a"}).From(20).To(40))),
            (std::vector<std::string>{"a@20=a20", "a@30=a30"}));
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"a"}).From(21))),
            (std::vector<std::string>{"a@30=a30", "a@40=a40"}));
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"a"}).To(20))),
            (std::vector<std::string>{"a@10=a10"}));
  EXPECT_TRUE(History(*store, Query("urn:e1").From(30).To(30)).empty());
  EXPECT_TRUE(History(*store, Query("urn:e1").From(40).To(10)).empty());
}

TEST_F(SqliteStoreTest, HistoryLastNIsPerAttributeInAscendingTime) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").LastN(2))),
            (std::vector<std::string>{"a@30=a30", "a@40=a40", "b@30=b30", "b@40=b40"}));
  // Combined with a time range: the last N inside the range.
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Attrs({"b"}).To(40).LastN(2))),
            (std::vector<std::string>{"b@20=b20", "b@30=b30"}));
  // More than there is.
  EXPECT_EQ(History(*store, Query("urn:e1").LastN(100)).size(), 8u);
  EXPECT_TRUE(History(*store, Query("urn:e1").LastN(0)).empty());
}

TEST_F(SqliteStoreTest, HistoryLimitCapsTheWholeAnswer) {
  auto store = Open();
  AddHistoryFixture(*store);
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").Limit(5))),
            (std::vector<std::string>{"a@10=a10", "a@20=a20", "a@30=a30", "a@40=a40", "b@10=b10"}));
  // With last_n, the cap cuts the answer in its final order: the oldest of b's last 3.
  EXPECT_EQ(Brief(History(*store, Query("urn:e1").LastN(3).Limit(4))),
            (std::vector<std::string>{"a@20=a20", "a@30=a30", "a@40=a40", "b@20=b20"}));
  EXPECT_TRUE(History(*store, Query("urn:e1").Limit(0)).empty());
}

TEST_F(SqliteStoreTest, HistoryTiesKeepArrivalOrder) {
  auto store = Open();
  ASSERT_TRUE(
      store
          ->SubmitSync(
              Batch().Add(Hist("urn:a", "x", 5, "first")).Add(Hist("urn:a", "x", 5, "second")))
          .ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Add(Hist("urn:a", "x", 5, "third"))).ok());
  EXPECT_EQ(Brief(History(*store, Query("urn:a"))),
            (std::vector<std::string>{"x@5=first", "x@5=second", "x@5=third"}));
  EXPECT_EQ(Brief(History(*store, Query("urn:a").LastN(2))),
            (std::vector<std::string>{"x@5=second", "x@5=third"}));
}

TEST_F(SqliteStoreTest, ScanCallbackMayReadTheStoreAgain) {
  auto store = Open();
  AddHistoryFixture(*store);
  ASSERT_TRUE(
      store
          ->SubmitSync(
              Batch().Put(Entity("urn:e1", "T", "{}", 1)).Put(Entity("urn:e2", "T", "{}", 1)))
          .ok());
  size_t history_rows = 0;
  Status st = store->ScanEntities([&](EntityRow&& e) {
    auto rows = store->QueryHistory(Query(e.id));
    ASSERT_TRUE(rows.ok());
    history_rows += rows->size();
    EXPECT_TRUE(store->ScanRecords("k", [](Record&&) {}).ok());
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(history_rows, 9u);
}

TEST_F(SqliteStoreTest, StatsCountCommitsRowsAndBatches) {
  auto store = Open();
  ASSERT_TRUE(
      store->SubmitSync(Batch().Put(Entity("urn:a", "T", "{}", 1)).Add(Hist("urn:a", "x", 1, "1")))
          .ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Record{"k", "a", "1"})).ok());
  StoreStats s = store->Stats();
  EXPECT_EQ(s.commits, 2u);
  EXPECT_EQ(s.batches_committed, 2u);
  EXPECT_EQ(s.rows_committed, 3u);
  EXPECT_EQ(s.queued_rows, 0u);
  EXPECT_GT(s.commit_ms_total, 0.0);
  EXPECT_GE(s.commit_ms_total, s.last_commit_ms);
  // A failed batch is not counted.
  ASSERT_FALSE(store->SubmitSync(Batch().Put(Record{"", "a", "1"})).ok());
  EXPECT_EQ(store->Stats().commits, 2u);
  EXPECT_EQ(store->Stats().rows_committed, 3u);
}

}  // namespace
}  // namespace cb::store
