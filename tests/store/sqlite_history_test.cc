// Tests of the SQLite store's history layout: rows spread over many epochs (tiny epochs via
// SqliteTuning), out-of-order times, deletes, rollbacks and reopening, checked against a
// brute-force model of what QueryHistory must answer.

#include <sqlite3.h>

#include <algorithm>
#include <future>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using namespace ::cb::store::testing;  // NOLINT(build/namespaces)

// What the store should hold: every history row with its arrival order.
class HistoryModel {
 public:
  void Add(const HistoryRow& h) { rows_.push_back(Row{h, next_seq_++}); }
  void DeleteEntity(const std::string& id) {
    std::erase_if(rows_, [&](const Row& r) { return r.h.entity_id == id; });
  }

  std::vector<HistoryRow> Query(const HistoryQuery& q) const {
    std::vector<const Row*> match;
    const std::set<std::string> attrs(q.attrs.begin(), q.attrs.end());
    for (const Row& r : rows_) {
      if (r.h.entity_id != q.entity_id) continue;
      if (!attrs.empty() && attrs.count(r.h.attr) == 0) continue;
      if (q.from && r.h.observed_at < *q.from) continue;
      if (q.to && r.h.observed_at >= *q.to) continue;
      match.push_back(&r);
    }
    std::sort(match.begin(), match.end(), [](const Row* a, const Row* b) {
      if (a->h.attr != b->h.attr) return a->h.attr < b->h.attr;
      if (a->h.observed_at != b->h.observed_at) return a->h.observed_at < b->h.observed_at;
      return a->seq < b->seq;
    });
    std::vector<HistoryRow> out;
    for (size_t i = 0; i < match.size(); ++i) {
      if (q.last_n) {
        // Keep only the last N of this attribute: count how many follow with the same attr.
        size_t after = 0;
        for (size_t j = i + 1; j < match.size() && match[j]->h.attr == match[i]->h.attr; ++j) {
          ++after;
        }
        if (after >= *q.last_n) continue;
      }
      out.push_back(match[i]->h);
    }
    if (out.size() > q.limit) out.resize(q.limit);
    return out;
  }

 private:
  struct Row {
    HistoryRow h;
    int64_t seq;
  };
  std::vector<Row> rows_;
  int64_t next_seq_ = 0;
};

std::string Show(const std::vector<HistoryRow>& rows) {
  std::string s;
  for (const HistoryRow& h : rows) {
    s += h.entity_id + "/" + h.attr + "@" + std::to_string(h.observed_at) + "=" + h.value + " ";
  }
  return s;
}

std::string ShowQuery(const HistoryQuery& q) {
  std::string s = q.entity_id + " attrs=[";
  for (const std::string& a : q.attrs) s += a + ",";
  s += "]";
  if (q.from) s += " from=" + std::to_string(*q.from);
  if (q.to) s += " to=" + std::to_string(*q.to);
  if (q.last_n) s += " last_n=" + std::to_string(*q.last_n);
  s += " limit=" + std::to_string(q.limit);
  return s;
}

SqliteTuning EpochBits(int bits) {
  SqliteTuning tuning;
  tuning.history_epoch_bits = bits;
  return tuning;
}

class SqliteHistoryTest : public StoreTest {
 public:
  SqliteHistoryTest() : StoreTest("history.db") {}

  std::unique_ptr<Store> Open(int epoch_bits,
                              size_t owner_cache_bytes = SqliteTuning{}.max_owner_cache_bytes) {
    SqliteTuning tuning;
    tuning.history_epoch_bits = epoch_bits;
    tuning.max_owner_cache_bytes = owner_cache_bytes;
    tuning.before_group = gate_.Hook();
    return ExpectOpened(OpenSqliteStoreWithTuning(Options(Durability::kProcess), tuning));
  }

  WriterGate gate_;

  void ExpectSame(Store& store, const HistoryModel& model, const HistoryQuery& q) {
    auto got = store.QueryHistory(q);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const std::vector<HistoryRow> want = model.Query(q);
    ASSERT_EQ(Show(*got), Show(want)) << ShowQuery(q);
  }
};

TEST_F(SqliteHistoryTest, TuningIsChecked) {
  StoreOptions options;
  options.path = dir_.path() + "/x.db";
  EXPECT_EQ(OpenSqliteStoreWithTuning(options, EpochBits(-1)).status().code(),
            Code::kInvalidRequest);
  EXPECT_EQ(OpenSqliteStoreWithTuning(options, EpochBits(63)).status().code(),
            Code::kInvalidRequest);
}

TEST_F(SqliteHistoryTest, OutOfOrderRowsAcrossManyEpochs) {
  auto store = Open(/*epoch_bits=*/1);  // two rows per epoch
  HistoryModel model;
  // Times go down, up and repeat, so every epoch's range overlaps others.
  const TimeMs times[] = {50, 10, 40, 20, 30, 30, 60, 0, 25, 45, 5, 55, 30, 15, 35};
  int i = 0;
  for (TimeMs t : times) {
    WriteBatch b;
    b.history.push_back(Hist("urn:a", i % 2 == 0 ? "x" : "y", t, "v" + std::to_string(i)));
    model.Add(b.history.back());
    ++i;
    ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  }
  for (std::optional<size_t> last_n : {std::optional<size_t>(), std::optional<size_t>(1),
                                       std::optional<size_t>(3), std::optional<size_t>(100)}) {
    for (size_t limit : {size_t{0}, size_t{1}, size_t{4}, size_t{10000}}) {
      HistoryQuery q;
      q.entity_id = "urn:a";
      q.last_n = last_n;
      q.limit = limit;
      ExpectSame(*store, model, q);
      q.from = 20;
      q.to = 45;
      ExpectSame(*store, model, q);
      q.attrs = {"y"};
      ExpectSame(*store, model, q);
    }
  }
}

TEST_F(SqliteHistoryTest, DeleteRemovesHistoryInEveryEpoch) {
  auto store = Open(/*epoch_bits=*/1);
  WriteBatch b;
  for (int i = 0; i < 20; ++i) {
    b.history.push_back(Hist(i % 2 == 0 ? "urn:a" : "urn:b", "x", i, std::to_string(i)));
  }
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  WriteBatch del;
  del.delete_entities.push_back("urn:a");
  ASSERT_TRUE(store->SubmitSync(std::move(del)).ok());
  HistoryQuery qa;
  qa.entity_id = "urn:a";
  EXPECT_TRUE(store->QueryHistory(qa)->empty());
  HistoryQuery qb;
  qb.entity_id = "urn:b";
  EXPECT_EQ(store->QueryHistory(qb)->size(), 10u);
  // The entity can get history again.
  WriteBatch again;
  again.history.push_back(Hist("urn:a", "x", 99, "back"));
  ASSERT_TRUE(store->SubmitSync(std::move(again)).ok());
  ASSERT_EQ(store->QueryHistory(qa)->size(), 1u);
  EXPECT_EQ((*store->QueryHistory(qa))[0].value, "back");
}

TEST_F(SqliteHistoryTest, DeleteInALaterBatchOfTheSameGroupSeesEarlierRows) {
  auto store = Open(/*epoch_bits=*/2);
  // Hold the writer so that all three batches commit in one transaction.
  WriterBlocker blocker(*store, gate_);
  std::vector<std::future<Status>> results;
  auto submit = [&](WriteBatch b) { results.push_back(SubmitForStatus(*store, std::move(b))); };
  WriteBatch add;
  for (int i = 0; i < 10; ++i) add.history.push_back(Hist("urn:a", "x", i, "old"));
  submit(std::move(add));
  WriteBatch del;
  del.delete_entities.push_back("urn:a");
  del.history.push_back(Hist("urn:a", "x", 100, "new"));
  submit(std::move(del));
  blocker.Release();
  for (auto& r : results) EXPECT_TRUE(r.get().ok());
  EXPECT_EQ(store->Stats().commits, 1u);
  HistoryQuery q;
  q.entity_id = "urn:a";
  auto rows = store->QueryHistory(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Show(*rows), "urn:a/x@100=new ");
}

TEST_F(SqliteHistoryTest, RolledBackSeriesAreNotReused) {
  auto store = Open(/*epoch_bits=*/2);
  WriterBlocker blocker(*store, gate_);
  std::vector<std::future<Status>> results;
  auto submit = [&](WriteBatch b) { results.push_back(SubmitForStatus(*store, std::move(b))); };
  // The group creates series for urn:x, then fails on the bad batch and is committed again
  // without it: the writer must not keep the ids the rolled-back transaction handed out.
  WriteBatch first;
  first.history.push_back(Hist("urn:x", "a", 1, "x-a"));
  submit(std::move(first));
  WriteBatch bad;
  bad.history.push_back(Hist("urn:bad", "a", 1, "bad"));
  bad.put_records.push_back(Record{"", "no kind", "{}"});
  submit(std::move(bad));
  WriteBatch third;
  third.history.push_back(Hist("urn:y", "a", 2, "y-a"));
  third.history.push_back(Hist("urn:x", "b", 2, "x-b"));
  submit(std::move(third));
  blocker.Release();
  EXPECT_TRUE(results[0].get().ok());
  EXPECT_EQ(results[1].get().code(), Code::kBadRequestData);
  EXPECT_TRUE(results[2].get().ok());
  // More rows after the rollback, through the cache.
  WriteBatch more;
  more.history.push_back(Hist("urn:y", "a", 3, "y-a2"));
  more.history.push_back(Hist("urn:x", "a", 3, "x-a2"));
  more.history.push_back(Hist("urn:bad", "a", 3, "bad-ok"));
  ASSERT_TRUE(store->SubmitSync(std::move(more)).ok());

  HistoryQuery q;
  q.entity_id = "urn:x";
  EXPECT_EQ(Show(*store->QueryHistory(q)), "urn:x/a@1=x-a urn:x/a@3=x-a2 urn:x/b@2=x-b ");
  q.entity_id = "urn:y";
  EXPECT_EQ(Show(*store->QueryHistory(q)), "urn:y/a@2=y-a urn:y/a@3=y-a2 ");
  q.entity_id = "urn:bad";
  EXPECT_EQ(Show(*store->QueryHistory(q)), "urn:bad/a@3=bad-ok ");
}

TEST_F(SqliteHistoryTest, ArrivalOrderContinuesAfterReopen) {
  {
    auto store = Open(/*epoch_bits=*/2);
    WriteBatch b;
    for (int i = 0; i < 6; ++i)
      b.history.push_back(Hist("urn:a", "x", 7, "before" + std::to_string(i)));
    ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  }
  auto store = Open(/*epoch_bits=*/2);
  WriteBatch b;
  b.history.push_back(Hist("urn:a", "x", 7, "after"));
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  HistoryQuery q;
  q.entity_id = "urn:a";
  q.last_n = 2;
  EXPECT_EQ(Show(*store->QueryHistory(q)), "urn:a/x@7=before5 urn:a/x@7=after ");
}

TEST_F(SqliteHistoryTest, ReopeningWithOtherEpochSizesKeepsAnswersRight) {
  HistoryModel model;
  int n = 0;
  for (int bits : {2, 0, 5, 20, 1}) {
    auto store = Open(bits);
    WriteBatch b;
    for (int i = 0; i < 12; ++i) {
      b.history.push_back(
          Hist("urn:a", i % 3 == 0 ? "x" : "y", (n * 7919) % 50, std::to_string(n)));
      model.Add(b.history.back());
      ++n;
    }
    ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
    HistoryQuery q;
    q.entity_id = "urn:a";
    ExpectSame(*store, model, q);
    q.last_n = 4;
    ExpectSame(*store, model, q);
    q.from = 10;
    q.to = 40;
    ExpectSame(*store, model, q);
  }
}

// The rows of the history table, through a raw connection: (observed_at, instances).
std::vector<std::string> RawHistoryRows(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT observed_at, instances FROM history ORDER BY seq", -1,
                               &s, nullptr),
            SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    out.push_back(std::to_string(sqlite3_column_int64(s, 0)) + " " +
                  reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST_F(SqliteHistoryTest, AnUpdateOfSeveralAttributesIsOneRow) {
  auto store = Open(kHistoryEpochBits);
  WriteBatch b;
  b.history.push_back(Hist("urn:a", "x", 7, R"({"value":1})"));
  b.history.push_back(Hist("urn:a", "y", 7, R"({"value":"2,3:4"})"));  // netstring delimiters
  b.history.push_back(Hist("urn:a", "温度", 7, R"({"value":"五"})"));   // lengths in bytes
  b.history.push_back(Hist("urn:a", "z", 8, R"({"value":5})"));          // another time
  b.history.push_back(Hist("urn:a", "z", 8, R"({"value":6})"));          // the same attribute
  b.history.push_back(Hist("urn:b", "z", 8, R"({"value":7})"));          // another entity
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  auto got = store->QueryHistory(Query("urn:a"));  // waits until the rows are applied
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Show(*got),
            "urn:a/x@7={\"value\":1} urn:a/y@7={\"value\":\"2,3:4\"} urn:a/z@8={\"value\":5} "
            "urn:a/z@8={\"value\":6} urn:a/温度@7={\"value\":\"五\"} ");
  EXPECT_EQ(RawHistoryRows(DbPath()),
            (std::vector<std::string>{
                "7 1:x,11:{\"value\":1},1:y,17:{\"value\":\"2,3:4\"},6:温度,15:{\"value\":\"五\"},",
                "8 1:z,11:{\"value\":5},", "8 1:z,11:{\"value\":6},", "8 1:z,11:{\"value\":7},"}));
}

TEST_F(SqliteHistoryTest, LastNOfARarelyUpdatedAttributeReachesPastTheOthers) {
  auto store = Open(/*epoch_bits=*/3);  // the rows span many epochs
  HistoryModel model;
  WriteBatch b;
  b.history.push_back(Hist("urn:a", "rare", 1, "r1"));
  for (TimeMs t = 2; t < 200; ++t) {
    b.history.push_back(Hist("urn:a", "often", t, "o" + std::to_string(t)));
    b.history.push_back(Hist("urn:a", "often2", t, "p" + std::to_string(t)));
  }
  for (const HistoryRow& h : b.history) model.Add(h);
  ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
  HistoryQuery q = Query("urn:a").LastN(2);
  ExpectSame(*store, model, q);
  q.attrs = {"rare", "often"};
  ExpectSame(*store, model, q);
  q.from = 1;
  q.to = 150;
  ExpectSame(*store, model, q);
  q.last_n.reset();
  q.limit = 3;
  ExpectSame(*store, model, q);
}

// Random writes, deletes and reopenings, each followed by random queries compared with the
// model; `owner_cache_bytes` bounds the applier's cache of history owners.
void RunRandomWorkload(SqliteHistoryTest* test, size_t owner_cache_bytes) {
  std::mt19937 rng(20240601);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> entities = {"urn:e0", "urn:e1", "urn:e10", "urn:e2"};
  // (More names than one entity uses at once, met in a different order after each emptying
  // of the cache: numbers given to names before it must not be taken for those after.)
  const std::vector<std::string> attrs = {"a", "b", "c", "d", "e", "f"};
  HistoryModel model;
  auto store = test->Open(/*epoch_bits=*/2, owner_cache_bytes);
  int value = 0;
  for (int round = 0; round < 60; ++round) {
    if (round % 20 == 19) {  // reopen: the writer's caches start empty
      store.reset();
      store = test->Open(/*epoch_bits=*/2, owner_cache_bytes);
    }
    WriteBatch b;
    if (pick(8) == 0) {
      b.delete_entities.push_back(entities[pick(4)]);
      model.DeleteEntity(b.delete_entities.back());
    }
    // Updates of one to four attributes of an entity at one time (stored as one row), an
    // attribute sometimes given twice (which starts another row).
    const int updates = 1 + pick(6);
    for (int u = 0; u < updates; ++u) {
      const std::string& entity = entities[pick(4)];
      const TimeMs t = pick(40);
      for (int i = 0, n = 1 + pick(4); i < n; ++i) {
        b.history.push_back(
            Hist(entity, attrs[pick(static_cast<int>(attrs.size()))], t, std::to_string(value++)));
        model.Add(b.history.back());
      }
    }
    ASSERT_TRUE(store->SubmitSync(std::move(b)).ok());
    for (int k = 0; k < 10; ++k) {
      HistoryQuery q;
      q.entity_id = entities[pick(4)];
      for (const char* a : {"a", "b", "c", "zz"}) {
        if (pick(3) == 0) q.attrs.push_back(a);
      }
      if (pick(2) == 0) q.from = pick(45) - 2;
      if (pick(2) == 0) q.to = pick(45) - 2;
      if (pick(2) == 0) q.last_n = static_cast<size_t>(pick(6));
      if (pick(3) == 0) q.limit = static_cast<size_t>(pick(15));
      test->ExpectSame(*store, model, q);
    }
  }
}

TEST_F(SqliteHistoryTest, RandomWorkloadMatchesTheModel) {
  RunRandomWorkload(this, SqliteTuning{}.max_owner_cache_bytes);
}

// A cache bound of one entry: emptied before almost every batch, so entities' numbers and
// attributes are read back from the database again and again.
TEST_F(SqliteHistoryTest, RandomWorkloadMatchesTheModelWhenTheOwnerCacheKeepsEmptying) {
  RunRandomWorkload(this, 150);
}

}  // namespace
}  // namespace cb::store
