// The log of entity documents (migration 4): documents appended to entity_docs, heads in
// entity_heads, compactions that move the current rows from the log's oldest end; and the
// migration of a database whose documents were kept in place.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/sqlite/doc_codec.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using testing::Batch;
using testing::Entity;
using testing::ExpectOpened;
using testing::WriteOldDatabase;
using testing::StoreTest;

// What the database file says of its log, read through a separate connection.
struct OnDisk {
  int64_t rows = 0, min_seq = 0, max_seq = 0;
  int64_t heads = 0;
  int64_t dangling_heads = 0;  // heads whose row is not in the log
  int64_t foreign_heads = 0;   // heads whose row belongs to another entity
};

OnDisk ReadOnDisk(const std::string& path) {
  OnDisk d;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  };
  d.rows = one("SELECT count(*) FROM entity_docs");
  d.min_seq = one("SELECT coalesce(min(seq), 0) FROM entity_docs");
  d.max_seq = one("SELECT coalesce(max(seq), 0) FROM entity_docs");
  d.heads = one("SELECT count(*) FROM entity_heads");
  d.dangling_heads =
      one("SELECT count(*) FROM entity_heads h WHERE NOT EXISTS "
          "(SELECT 1 FROM entity_docs d WHERE d.seq = h.doc_seq)");
  d.foreign_heads =
      one("SELECT count(*) FROM entity_heads h JOIN entity_docs d ON d.seq = h.doc_seq "
          "WHERE d.id <> h.id");
  sqlite3_close(db);
  return d;
}

class DocLogTest : public StoreTest {
 protected:
  // Documents written with every apply, and compactions from a few rows on.
  std::unique_ptr<Store> Open(int64_t slack) {
    StoreOptions options = Options(Durability::kProcess);
    options.defer_docs_ms = 0;
    options.apply_after_ms = 0;
    SqliteTuning tuning;
    tuning.doc_log_slack_rows = slack;
    return ExpectOpened(OpenSqliteStoreWithTuning(options, tuning));
  }

  static std::map<std::string, std::string> Docs(Store& store) {
    std::map<std::string, std::string> out;
    Status st = store.ScanEntities([&](EntityRow&& e) {
      EXPECT_EQ(out.count(e.id), 0u) << e.id << " scanned twice";
      out[e.id] = e.type + "|" + e.doc + "|" + std::to_string(e.modified_at);
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // The log on disk is one range of seqs, every head points at its own entity's row, and
  // the store's figure for the log's rows is the count on disk.
  void ExpectConsistent(Store& store, size_t entities) {
    const OnDisk d = ReadOnDisk(DbPath());
    EXPECT_EQ(d.heads, static_cast<int64_t>(entities));
    EXPECT_EQ(d.dangling_heads, 0);
    EXPECT_EQ(d.foreign_heads, 0);
    if (d.rows > 0) {
      EXPECT_EQ(d.max_seq - d.min_seq + 1, d.rows) << "gaps in the log";
    }
    EXPECT_EQ(store.Stats().doc_log_rows, static_cast<uint64_t>(d.rows));
  }
};

// Puts and deletes of a few entities, many times each, checked against a model after every
// round and across reopenings: the newest document of every entity is scanned, once; deleted
// ones are gone; and the log stays within about twice the entities however many documents
// were written.
TEST_F(DocLogTest, ManyPutsAndDeletesKeepTheNewestDocumentsInABoundedLog) {
  constexpr int64_t kSlack = 8;
  constexpr int kEntities = 40;
  std::mt19937 rng(20261207);
  std::map<std::string, std::string> model;
  auto store = Open(kSlack);
  uint64_t written = 0, moved = 0;
  for (int round = 0; round < 12; ++round) {
    for (int b = 0; b < 25; ++b) {
      Batch batch;
      const int puts = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < puts; ++i) {
        // Mostly a few hot entities: the others' rows age and get moved forward.
        const uint32_t n = rng() % 5 == 0 ? 8 + rng() % (kEntities - 8) : rng() % 8;
        const std::string id = "urn:e" + std::to_string(n);
        // Every other document is long enough to be stored compressed (a BLOB), so the log
        // mixes both kinds through compactions and reopenings.
        std::string doc = "{\"n\":" + std::to_string(written) + "}";
        if (written++ % 2 == 0) {
          doc.insert(
              1, "\"note\":\"" + std::string(40, 'x') + "城市大脑" + std::string(40, 'y') + "\",");
        }
        const auto at = static_cast<TimeMs>(1000 + written);
        batch.Put(Entity(id, "T" + std::to_string(rng() % 3), doc, at));
      }
      // A delete applies before the batch's puts (a batch may drop and recreate).
      if (rng() % 5 == 0) {
        const std::string gone = "urn:e" + std::to_string(rng() % kEntities);
        batch.Delete(gone);
        model.erase(gone);
      }
      for (const EntityRow& e : batch.put_entities) {
        model[e.id] = e.type + "|" + e.doc + "|" + std::to_string(e.modified_at);
      }
      ASSERT_TRUE(store->SubmitSync(std::move(batch)).ok());
    }
    ASSERT_EQ(Docs(*store), model) << "round " << round;
    ExpectConsistent(*store, model.size());
    const uint64_t rows = store->Stats().doc_log_rows;
    EXPECT_LE(rows, 3 * model.size() + 2 * kSlack + 12) << "round " << round;
    if (round % 4 == 3) {
      moved += store->Stats().doc_log_moved;  // (counted from each opening)
      store.reset();
      store = Open(kSlack);
      ASSERT_EQ(Docs(*store), model) << "reopened after round " << round;
      ExpectConsistent(*store, model.size());
    }
  }
  EXPECT_GT(written, 900u);
  EXPECT_GT(moved, 0u) << "no compaction moved a current document";
}

// An entity written once and never again is moved forward by the compactions that pass
// over it, and is still there, unchanged, after many writes of the others.
TEST_F(DocLogTest, AnEntityWrittenOnceSurvivesTheCompactionsThatPassIt) {
  auto store = Open(/*slack=*/4);
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:still", "T", "{\"v\":1}", 7))).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store
                    ->SubmitSync(Batch().Put(
                        Entity("urn:busy" + std::to_string(i % 3), "T", std::to_string(i), i)))
                    .ok());
    Docs(*store);  // one apply (and one document) per put
  }
  auto docs = Docs(*store);
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs["urn:still"], "T|{\"v\":1}|7");
  EXPECT_EQ(docs["urn:busy2"], "T|197|197");
  EXPECT_GT(store->Stats().doc_log_moved, 0u);
  EXPECT_LE(store->Stats().doc_log_rows, 3u * 4 + 2 * 4);  // 201 documents written
  ExpectConsistent(*store, 4);
}

// Deleting every entity leaves superseded rows only; compactions remove them.
TEST_F(DocLogTest, RowsOfDeletedEntitiesAreCompactedAway) {
  auto store = Open(/*slack=*/4);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        store->SubmitSync(Batch().Put(Entity("urn:e" + std::to_string(i), "T", "{}", i))).ok());
  }
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:e" + std::to_string(i))).ok());
  }
  EXPECT_TRUE(Docs(*store).empty());
  ExpectConsistent(*store, 0);
  // The last delete left the log over its bound (no entity, slack 4): its compaction went
  // through the whole excess.
  EXPECT_LE(store->Stats().doc_log_rows, 4u);
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:e3", "T", "{\"back\":1}", 99))).ok());
  EXPECT_EQ(Docs(*store), (std::map<std::string, std::string>{{"urn:e3", "T|{\"back\":1}|99"}}));
  ExpectConsistent(*store, 1);
}

// A database of schema version 3 kept each entity's document in place in `entities`;
// opening it moves them into the log, in id order, and the store goes on from there.
TEST_F(DocLogTest, Version3DocumentsAreMigratedIntoTheLog) {
  {
    // The tables of migrations 1 to 3 as they shipped, with three entities.
    const char* v3 = R"sql(
      CREATE TABLE history_entities(id INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL UNIQUE CHECK(entity_id <> ''));
      CREATE TABLE history(seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL,
        owner INTEGER NOT NULL, observed_at INTEGER NOT NULL, instances TEXT NOT NULL);
      CREATE INDEX history_by_epoch_owner_time ON history(epoch, owner, observed_at);
      INSERT INTO entities VALUES('urn:c', 'Car', '{"c":1}', 30), ('urn:a', 'Park', '{"a":1}', 10),
        ('urn:b', '停车场', '{"名":"湖滨"}', 20);
      PRAGMA user_version = 3;
    )sql";
    ASSERT_TRUE(WriteOldDatabase(DbPath(), v3));
  }
  auto store = Open(/*slack=*/65536);
  EXPECT_EQ(Docs(*store),
            (std::map<std::string, std::string>{{"urn:a", "Park|{\"a\":1}|10"},
                                                {"urn:b", "停车场|{\"名\":\"湖滨\"}|20"},
                                                {"urn:c", "Car|{\"c\":1}|30"}}));
  const OnDisk d = ReadOnDisk(DbPath());
  EXPECT_EQ(d.min_seq, 1);
  EXPECT_EQ(d.max_seq, 3);
  ExpectConsistent(*store, 3);
  // New documents go after the migrated ones.
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:a", "Park", "{\"a\":2}", 40))).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:c")).ok());
  EXPECT_EQ(Docs(*store),
            (std::map<std::string, std::string>{{"urn:a", "Park|{\"a\":2}|40"},
                                                {"urn:b", "停车场|{\"名\":\"湖滨\"}|20"}}));
  EXPECT_EQ(ReadOnDisk(DbPath()).max_seq, 4);
  ExpectConsistent(*store, 2);
}

// ---------------------------------------------------------------- compressed documents

// Runs `sql` on the database file through its own connection; the first column of the
// first row, as its bytes (a number as text; a BLOB may hold zeros).
std::string RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
    const void* bytes = sqlite3_column_blob(s, 0);
    out.assign(static_cast<const char*>(bytes), static_cast<size_t>(sqlite3_column_bytes(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

std::string LongDoc(const std::string& name) {
  std::string doc = R"({"id":")" + name + R"(","type":"T")";
  for (int i = 0; i < 8; ++i) {
    doc += ",\"a" + std::to_string(i) + R"(":{"type":"Property","value":"湖滨 )" + name +
           R"(","observedAt":"2026-12-07T13:20:36.493Z","createdAt":"2026-12-07T13:20:36.524Z"})";
  }
  return doc + "}";
}

std::string TypeOfDoc(const std::string& path, const std::string& id) {
  return RawSql(path,
                "SELECT typeof(d.doc) FROM entity_heads h JOIN entity_docs d "
                "ON d.seq = h.doc_seq WHERE h.id = '" +
                    id + "'");
}

// A document is written as a compressed BLOB (schema version 5); text documents written
// before (version 4, or with compression off) are read as they are, next to the new ones.
TEST_F(DocLogTest, DocumentsAreStoredCompressedAndOlderTextOnesStillRead) {
  StoreOptions options = Options(Durability::kProcess);
  options.defer_docs_ms = 0;
  SqliteTuning plain;
  plain.compress_docs = false;
  std::map<std::string, std::string> model;
  auto put = [&](Store& store, const std::string& id, const std::string& doc) {
    ASSERT_TRUE(store.SubmitSync(Batch().Put(Entity(id, "T", doc, 7))).ok());
    model[id] = "T|" + doc + "|7";
  };
  {
    auto store = ExpectOpened(OpenSqliteStoreWithTuning(options, plain));
    put(*store, "urn:old", LongDoc("old"));
  }
  {
    auto store = ExpectOpened(OpenSqliteStore(options));
    put(*store, "urn:new", LongDoc("new"));
    put(*store, "urn:tiny", R"({"n":1})");  // too small to gain: stays text
    EXPECT_EQ(Docs(*store), model);
  }
  EXPECT_EQ(TypeOfDoc(DbPath(), "urn:old"), "text");
  EXPECT_EQ(TypeOfDoc(DbPath(), "urn:new"), "blob");
  EXPECT_EQ(TypeOfDoc(DbPath(), "urn:tiny"), "text");
  const std::string stored =
      RawSql(DbPath(),
             "SELECT length(CAST(d.doc AS BLOB)) FROM entity_heads h "
             "JOIN entity_docs d ON d.seq = h.doc_seq WHERE h.id = 'urn:new'");
  EXPECT_LT(std::stoul(stored) * 3, LongDoc("new").size());
  auto store = ExpectOpened(OpenSqliteStore(options));
  EXPECT_EQ(Docs(*store), model);
  // The old text document, rewritten, is compressed from then on.
  put(*store, "urn:old", LongDoc("old2"));
  EXPECT_EQ(Docs(*store), model);
  store.reset();
  EXPECT_EQ(TypeOfDoc(DbPath(), "urn:old"), "blob");
}

// A damaged compressed document makes the scan fail with a clear error naming the entity,
// not a crash and not a wrong entity.
TEST_F(DocLogTest, ACorruptCompressedDocumentIsAnError) {
  StoreOptions options = Options(Durability::kProcess);
  options.defer_docs_ms = 0;
  {
    auto store = ExpectOpened(OpenSqliteStore(options));
    ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:hurt", "T", LongDoc("hurt"), 7))).ok());
  }
  ASSERT_EQ(TypeOfDoc(DbPath(), "urn:hurt"), "blob");
  RawSql(DbPath(), "UPDATE entity_docs SET doc = substr(doc, 1, 12) WHERE id = 'urn:hurt'");
  auto store = ExpectOpened(OpenSqliteStore(options));
  Status st = store->ScanEntities([](EntityRow&&) {});
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("urn:hurt"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------- document dictionaries

std::string CurrentStoredDoc(const std::string& path, const std::string& id) {
  return RawSql(path,
                "SELECT d.doc FROM entity_heads h JOIN entity_docs d ON d.seq = h.doc_seq "
                "WHERE h.id = '" +
                    id + "'");
}

// A document of another shape than LongDoc's, with little in common with it or with itself.
std::string OtherDoc(int n, std::mt19937& rng) {
  std::string doc = R"({"id":"urn:parking:)" + std::to_string(n) + R"(","type":"ParkingSpot")";
  for (int i = 0; i < 6; ++i) {
    std::string noise;
    for (int k = 0; k < 24; ++k) noise += "0123456789abcdef"[rng() % 16];
    doc += ",\"p" + std::to_string(n % 7) + "_" + std::to_string(i) + R"(":{"value":")" + noise +
           R"("})";
  }
  return doc + "}";
}

class DocDictionaryTest : public DocLogTest {
 protected:
  void SetUp() override {
    DocLogTest::SetUp();
    options_ = Options(Durability::kProcess);
    options_.defer_docs_ms = 0;
    tuning_.doc_dictionary_sample_bytes = 64 << 10;  // ~60 of LongDoc's documents
    tuning_.doc_dictionary_check_docs = 40;
  }
  std::unique_ptr<Store> OpenTuned() {
    return ExpectOpened(OpenSqliteStoreWithTuning(options_, tuning_));
  }
  // Puts the documents in batches of ten, recording them in model_.
  void Put(Store& store, const std::vector<std::pair<std::string, std::string>>& docs) {
    for (size_t i = 0; i < docs.size(); i += 10) {
      Batch b;
      for (size_t j = i; j < std::min(docs.size(), i + 10); ++j) {
        b.Put(Entity(docs[j].first, "T", docs[j].second, 7));
        model_[docs[j].first] = "T|" + docs[j].second + "|7";
      }
      ASSERT_TRUE(store.SubmitSync(std::move(b)).ok());
    }
  }
  static std::vector<std::pair<std::string, std::string>> LongDocs(int from, int to) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = from; i < to; ++i) {
      out.emplace_back("urn:e" + std::to_string(i), LongDoc("e" + std::to_string(i)));
    }
    return out;
  }
  std::string Dictionaries() { return RawSql(DbPath(), "SELECT count(*) FROM doc_dictionaries"); }

  StoreOptions options_;
  SqliteTuning tuning_;
  std::map<std::string, std::string> model_;
};

// Documents are compressed with a dictionary trained on the store's first documents and
// stored with them: after reopening they read back the same, later documents use the same
// dictionary, and they are much smaller than zstd makes them alone.
TEST_F(DocDictionaryTest, DocumentsUseADictionaryTrainedOnTheFirstOnes) {
  {
    auto store = OpenTuned();
    Put(*store, LongDocs(0, 150));
    EXPECT_EQ(Docs(*store), model_);
  }
  ASSERT_EQ(Dictionaries(), "1");
  const auto id =
      static_cast<uint32_t>(std::stoul(RawSql(DbPath(), "SELECT id FROM doc_dictionaries")));
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:e0")), 0u);  // before training
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:e149")), id);
  {
    auto store = OpenTuned();
    EXPECT_EQ(Docs(*store), model_);
    Put(*store, LongDocs(150, 300));
    EXPECT_EQ(Docs(*store), model_);
  }
  EXPECT_EQ(Dictionaries(), "1");
  const std::string stored = CurrentStoredDoc(DbPath(), "urn:e299");
  EXPECT_EQ(DocDictionaryId(stored), id);
  DocCodec alone;
  std::string buffer;
  EXPECT_LT(stored.size() * 2, alone.Compress(LongDoc("e299"), &buffer).size());
  auto store = OpenTuned();
  EXPECT_EQ(Docs(*store), model_);
}

// When the documents change so much that they compress far worse than they did with the
// dictionary at first, a new one is trained on them; documents of both read back the same.
TEST_F(DocDictionaryTest, ANewDictionaryIsTrainedWhenTheDocumentsChange) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> other;
  for (int i = 0; i < 400; ++i) other.emplace_back("urn:p" + std::to_string(i), OtherDoc(i, rng));
  {
    auto store = OpenTuned();
    Put(*store, LongDocs(0, 150));
    EXPECT_EQ(Docs(*store), model_);  // (waits for the documents to be in the database)
    EXPECT_EQ(Dictionaries(), "1");
    Put(*store, other);
    EXPECT_EQ(Docs(*store), model_);
  }
  EXPECT_EQ(Dictionaries(), "2");
  const auto first = static_cast<uint32_t>(
      std::stoul(RawSql(DbPath(), "SELECT id FROM doc_dictionaries ORDER BY seq LIMIT 1")));
  const auto second = static_cast<uint32_t>(
      std::stoul(RawSql(DbPath(), "SELECT id FROM doc_dictionaries ORDER BY seq DESC LIMIT 1")));
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:e149")), first);
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:p399")), second);
  auto store = OpenTuned();
  EXPECT_EQ(Docs(*store), model_);
}

// Documents waiting in the applier (deferred) once a dictionary is in the database are held
// compressed: a window of them fits in a max_deferred_doc_bytes their text would overrun,
// and they, and those superseded within the window, read back the same, also after reopening.
TEST_F(DocDictionaryTest, DeferredDocumentsAreHeldCompressed) {
  options_.defer_docs_ms = 60000;
  options_.apply_after_ms = 5;
  options_.apply_when_idle_ms = 0;
  options_.max_deferred_doc_bytes = 100 << 10;
  const auto later = LongDocs(150, 300);
  size_t text_bytes = 0;
  for (const auto& [id, doc] : later) text_bytes += doc.size();
  ASSERT_GT(text_bytes, options_.max_deferred_doc_bytes);
  {
    auto store = OpenTuned();
    Put(*store, LongDocs(0, 150));
    EXPECT_EQ(Docs(*store), model_);  // written: the dictionary is trained on them
    ASSERT_EQ(Dictionaries(), "1");
    Put(*store, later);
    Put(*store, {{"urn:e150", LongDoc("e150 again")}, {"urn:e151", LongDoc("e151 again")}});
    StoreStats stats;
    for (int i = 0; i < 2000; ++i) {
      stats = store->Stats();
      if (stats.unapplied_rows == 0 && stats.deferred_docs == later.size() + 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(stats.unapplied_rows, 0u);
    // In arrival order (nothing was superseded in the window before): e150 and e151 twice.
    EXPECT_EQ(stats.deferred_docs, later.size() + 2) << "the deferred documents were written early";
    EXPECT_EQ(Docs(*store), model_);
  }
  const auto id =
      static_cast<uint32_t>(std::stoul(RawSql(DbPath(), "SELECT id FROM doc_dictionaries")));
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:e150")), id);
  EXPECT_EQ(DocDictionaryId(CurrentStoredDoc(DbPath(), "urn:e299")), id);
  auto store = OpenTuned();
  EXPECT_EQ(Docs(*store), model_);
}

// A database whose documents name a dictionary it does not hold fails to read them with a
// clear error, not a crash.
TEST_F(DocDictionaryTest, ADocumentWhoseDictionaryIsGoneIsAnError) {
  {
    auto store = OpenTuned();
    Put(*store, LongDocs(0, 150));
  }
  RawSql(DbPath(), "DELETE FROM doc_dictionaries");
  auto store = OpenTuned();
  Status st = store->ScanEntities([](EntityRow&&) {});
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("dictionary"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace cb::store
