// Tests of the SQLite store's write path: group commit, callback order, back-pressure,
// per-batch failure, Close, and reads running beside writes.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using namespace ::cb::store::testing;  // NOLINT(build/namespaces)

// Collects the statuses of asynchronous submissions; Wait() returns when all have arrived.
class Collector {
 public:
  explicit Collector(size_t n) : statuses_(n), left_(static_cast<std::ptrdiff_t>(n)) {}

  DoneCallback Slot(size_t i) {
    return [this, i](const Status& s) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        statuses_[i] = s;
        order_.push_back(i);
      }
      left_.count_down();
    };
  }
  void Wait() { left_.wait(); }
  const std::vector<Status>& statuses() const { return statuses_; }
  const std::vector<size_t>& order() const { return order_; }

 private:
  std::mutex mu_;
  std::vector<Status> statuses_;
  std::vector<size_t> order_;
  std::latch left_;
};

WriteBatch EntityBatch(const std::string& id, int history_rows = 0) {
  WriteBatch b;
  b.put_entities.push_back(EntityRow{id, "T", "{\"id\":\"" + id + "\"}", 1});
  for (int i = 0; i < history_rows; ++i) {
    b.history.push_back(HistoryRow{id, "x", i, std::to_string(i)});
  }
  return b;
}

// A batch that violates a constraint (empty entity id) next to a valid row.
WriteBatch BadBatch(const std::string& id) {
  WriteBatch b = EntityBatch(id);
  b.put_entities.push_back(EntityRow{"", "T", "{}", 1});
  return b;
}

constexpr size_t kDefaultGroupRows = StoreOptions().max_group_rows;
constexpr size_t kDefaultQueueRows = StoreOptions().max_queue_rows;

class SqliteGroupCommitTest : public StoreTest {
 protected:
  WriterGate gate_;

  std::unique_ptr<Store> Open(Durability durability = Durability::kProcess,
                              size_t max_group_rows = kDefaultGroupRows,
                              size_t max_queue_rows = kDefaultQueueRows) {
    StoreOptions options = Options(durability);
    options.max_group_rows = max_group_rows;
    options.max_queue_rows = max_queue_rows;
    SqliteTuning tuning;
    tuning.before_group = gate_.Hook();
    return ExpectOpened(OpenSqliteStoreWithTuning(options, tuning));
  }

  static std::set<std::string> EntityIds(Store& store) {
    std::set<std::string> ids;
    EXPECT_TRUE(store.ScanEntities([&](EntityRow&& e) { ids.insert(e.id); }).ok());
    return ids;
  }
};

TEST_F(SqliteGroupCommitTest, CallbacksRunInSubmitOrder) {
  auto store = Open(Durability::kProcess);
  constexpr size_t kBatches = 500;
  Collector done(kBatches);
  for (size_t i = 0; i < kBatches; ++i) {
    store->Submit(EntityBatch("urn:e" + std::to_string(i)), done.Slot(i));
  }
  done.Wait();
  ASSERT_EQ(done.order().size(), kBatches);
  for (size_t i = 0; i < kBatches; ++i) {
    EXPECT_EQ(done.order()[i], i);
    EXPECT_TRUE(done.statuses()[i].ok()) << done.statuses()[i].ToString();
  }
  EXPECT_EQ(EntityIds(*store).size(), kBatches);
}

TEST_F(SqliteGroupCommitTest, ConcurrentSubmittersShareCommits) {
  auto store = Open(Durability::kFsync);
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 250;
  Collector done(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < kPerThread; ++i) {
        const size_t n = t * kPerThread + i;
        store->Submit(EntityBatch("urn:e" + std::to_string(n), 3), done.Slot(n));
      }
    });
  }
  for (auto& t : threads) t.join();
  done.Wait();
  for (const Status& s : done.statuses()) EXPECT_TRUE(s.ok()) << s.ToString();
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.batches_committed, kThreads * kPerThread);
  EXPECT_EQ(stats.rows_committed, kThreads * kPerThread * 4);
  EXPECT_LT(stats.commits, stats.batches_committed);
  EXPECT_EQ(EntityIds(*store).size(), kThreads * kPerThread);
}

TEST_F(SqliteGroupCommitTest, BatchesQueuedDuringACommitGoInOneTransaction) {
  auto store = Open(Durability::kProcess);
  WriterBlocker blocker(*store, gate_);
  Collector done(100);
  for (size_t i = 0; i < 100; ++i) {
    store->Submit(EntityBatch("urn:e" + std::to_string(i)), done.Slot(i));
  }
  EXPECT_EQ(store->Stats().queued_rows, 100u);
  blocker.Release();
  done.Wait();
  EXPECT_EQ(store->Stats().commits, 1u);
  EXPECT_EQ(store->Stats().batches_committed, 101u);  // with the (empty) blocker batch
  EXPECT_EQ(store->Stats().queued_rows, 0u);
}

TEST_F(SqliteGroupCommitTest, MaxGroupRowsSplitsGroups) {
  auto store = Open(Durability::kProcess, /*max_group_rows=*/25);
  WriterBlocker blocker(*store, gate_);
  Collector done(10);
  for (size_t i = 0; i < 10; ++i) {  // 10 rows each: two batches fit in a group of 25
    store->Submit(EntityBatch("urn:e" + std::to_string(i), 9), done.Slot(i));
  }
  blocker.Release();
  done.Wait();
  EXPECT_EQ(store->Stats().commits, 5u);
  EXPECT_EQ(store->Stats().rows_committed, 100u);
}

TEST_F(SqliteGroupCommitTest, BatchLargerThanAGroupIsCommittedAlone) {
  auto store = Open(Durability::kProcess, /*max_group_rows=*/5);
  EXPECT_TRUE(store->SubmitSync(EntityBatch("urn:big", 20)).ok());
  EXPECT_EQ(store->Stats().rows_committed, 21u);
}

TEST_F(SqliteGroupCommitTest, BackPressureRefusesAtOnceAndWritesNothing) {
  auto store = Open(Durability::kProcess, kDefaultGroupRows, /*max_queue_rows=*/10);
  WriterBlocker blocker(*store, gate_);
  Collector accepted(2);
  store->Submit(EntityBatch("urn:a", 5), accepted.Slot(0));  // 6 rows queued
  std::optional<Status> refused;
  store->Submit(EntityBatch("urn:refused", 5), [&](const Status& s) { refused = s; });
  // Called before Submit returned, on this thread.
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), Code::kTooManyRequests) << refused->ToString();
  EXPECT_EQ(store->Stats().queued_rows, 6u);
  store->Submit(EntityBatch("urn:b", 3), accepted.Slot(1));  // 6 + 4 fits
  blocker.Release();
  accepted.Wait();
  EXPECT_TRUE(accepted.statuses()[0].ok());
  EXPECT_TRUE(accepted.statuses()[1].ok());
  EXPECT_EQ(EntityIds(*store), (std::set<std::string>{"urn:a", "urn:b"}));
  auto history = store->QueryHistory(Query("urn:refused"));
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
}

TEST_F(SqliteGroupCommitTest, EmptyQueueTakesABatchOverTheLimit) {
  auto store = Open(Durability::kProcess, kDefaultGroupRows, /*max_queue_rows=*/3);
  EXPECT_TRUE(store->SubmitSync(EntityBatch("urn:big", 10)).ok());
}

TEST_F(SqliteGroupCommitTest, OneBadBatchFailsAloneInItsGroup) {
  auto store = Open(Durability::kProcess);
  WriterBlocker blocker(*store, gate_);
  Collector done(5);
  store->Submit(EntityBatch("urn:a"), done.Slot(0));
  store->Submit(BadBatch("urn:bad1"), done.Slot(1));
  store->Submit(EntityBatch("urn:c"), done.Slot(2));
  store->Submit(BadBatch("urn:bad2"), done.Slot(3));
  store->Submit(EntityBatch("urn:e"), done.Slot(4));
  blocker.Release();
  done.Wait();
  EXPECT_TRUE(done.statuses()[0].ok());
  EXPECT_EQ(done.statuses()[1].code(), Code::kBadRequestData);
  EXPECT_TRUE(done.statuses()[2].ok());
  EXPECT_EQ(done.statuses()[3].code(), Code::kBadRequestData);
  EXPECT_TRUE(done.statuses()[4].ok());
  EXPECT_EQ(done.order(), (std::vector<size_t>{0, 1, 2, 3, 4}));
  // The good rows of a bad batch are not written either.
  EXPECT_EQ(EntityIds(*store), (std::set<std::string>{"urn:a", "urn:c", "urn:e"}));
  // The bad batches are refused before the journal write: [a, c, e] go in one commit.
  EXPECT_EQ(store->Stats().commits, 1u);
  EXPECT_EQ(store->Stats().batches_committed, 4u);  // 3 + the blocker
}

TEST_F(SqliteGroupCommitTest, ManyBadBatchesInOneGroup) {
  auto store = Open(Durability::kProcess);
  WriterBlocker blocker(*store, gate_);
  constexpr size_t kBatches = 40;
  Collector done(kBatches);
  std::set<std::string> good;
  for (size_t i = 0; i < kBatches; ++i) {
    const std::string id = "urn:e" + std::to_string(i);
    if (i % 3 == 0) {  // the first batch of the group is a bad one too
      store->Submit(BadBatch(id), done.Slot(i));
    } else {
      store->Submit(EntityBatch(id, 2), done.Slot(i));
      good.insert(id);
    }
  }
  blocker.Release();
  done.Wait();
  for (size_t i = 0; i < kBatches; ++i) {
    EXPECT_EQ(done.statuses()[i].code(), i % 3 == 0 ? Code::kBadRequestData : Code::kOk) << i;
  }
  EXPECT_EQ(EntityIds(*store), good);
  EXPECT_EQ(store->Stats().rows_committed, good.size() * 3);
}

TEST_F(SqliteGroupCommitTest, EmptyBatchIsABarrier) {
  auto store = Open(Durability::kProcess);
  std::atomic<int> done_before{0};
  for (int i = 0; i < 50; ++i) {
    store->Submit(EntityBatch("urn:e" + std::to_string(i)), [&](const Status&) { ++done_before; });
  }
  EXPECT_TRUE(store->SubmitSync({}).ok());
  EXPECT_EQ(done_before.load(), 50);
}

TEST_F(SqliteGroupCommitTest, CallbackMaySubmitAgain) {
  auto store = Open(Durability::kProcess);
  std::promise<Status> second;
  store->Submit(EntityBatch("urn:first"), [&](const Status& s) {
    ASSERT_TRUE(s.ok());
    store->Submit(EntityBatch("urn:second"), [&](const Status& s2) { second.set_value(s2); });
  });
  EXPECT_TRUE(second.get_future().get().ok());
  EXPECT_EQ(EntityIds(*store).size(), 2u);
}

TEST_F(SqliteGroupCommitTest, CloseCommitsEverythingQueued) {
  constexpr size_t kBatches = 300;
  Collector done(kBatches);
  {
    auto store = Open(Durability::kFsync);
    WriterBlocker blocker(*store, gate_);
    for (size_t i = 0; i < kBatches; ++i) {
      store->Submit(EntityBatch("urn:e" + std::to_string(i), 1), done.Slot(i));
    }
    std::thread closer([&] { store->Close(); });
    blocker.Release();
    closer.join();
    // Close returned: every callback has run.
    EXPECT_EQ(done.order().size(), kBatches);
  }
  for (const Status& s : done.statuses()) EXPECT_TRUE(s.ok()) << s.ToString();
  auto store = Open();
  EXPECT_EQ(EntityIds(*store).size(), kBatches);
}

TEST_F(SqliteGroupCommitTest, DestructorClosesAndCommits) {
  {
    auto store = Open(Durability::kProcess);
    for (int i = 0; i < 20; ++i) store->Submit(EntityBatch("urn:e" + std::to_string(i)), nullptr);
  }
  auto store = Open();
  EXPECT_EQ(EntityIds(*store).size(), 20u);
}

TEST_F(SqliteGroupCommitTest, AfterCloseSubmitAndReadsAreUnavailable) {
  auto store = Open(Durability::kProcess);
  store->Close();
  store->Close();  // twice is fine
  std::optional<Status> status;
  store->Submit(EntityBatch("urn:late"), [&](const Status& s) { status = s; });
  ASSERT_TRUE(status.has_value());  // at once, on this thread
  EXPECT_EQ(status->code(), Code::kUnavailable);
  EXPECT_EQ(store->SubmitSync({}).code(), Code::kUnavailable);
  EXPECT_EQ(store->ScanEntities([](EntityRow&&) {}).code(), Code::kUnavailable);
  EXPECT_EQ(store->ScanRecords("k", [](Record&&) {}).code(), Code::kUnavailable);
  EXPECT_EQ(store->QueryHistory(Query("urn:a")).status().code(), Code::kUnavailable);
}

TEST_F(SqliteGroupCommitTest, ReadsProceedWhileAnotherConnectionHoldsTheWriteLock) {
  auto store = Open(Durability::kProcess);
  ASSERT_TRUE(store->SubmitSync(EntityBatch("urn:a", 2)).ok());
  EXPECT_EQ(EntityIds(*store).size(), 1u);  // a read: urn:a is in the database now
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(DbPath().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other,
                         "BEGIN IMMEDIATE; INSERT INTO records(kind, key, doc) "
                         "VALUES('k', 'uncommitted', '{}')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  // A write transaction is open: reads still answer, from the last committed state.
  EXPECT_EQ(EntityIds(*store).size(), 1u);
  auto history = store->QueryHistory(Query("urn:a"));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 2u);
  size_t records = 0;
  EXPECT_TRUE(store->ScanRecords("k", [&](Record&&) { ++records; }).ok());
  EXPECT_EQ(records, 0u);
  // A submission is committed to the journal without the database lock.
  EXPECT_TRUE(store->SubmitSync(EntityBatch("urn:b")).ok());
  // A read now waits for it to be applied, which waits for the lock (busy timeout, then
  // retries) and goes through once the other connection commits.
  std::future<std::set<std::string>> read =
      std::async(std::launch::async, [&] { return EntityIds(*store); });
  EXPECT_EQ(read.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(read.get().size(), 2u);
  records = 0;
  EXPECT_TRUE(store->ScanRecords("k", [&](Record&&) { ++records; }).ok());
  EXPECT_EQ(records, 1u);
}

TEST_F(SqliteGroupCommitTest, ReadersRunBesideASteadyWriter) {
  auto store = Open(Durability::kProcess);
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      size_t last_seen = 0;
      while (!stop.load()) {
        auto rows = store->QueryHistory(Query("urn:hot").LastN(5));
        if (!rows.ok()) ++read_errors;
        size_t entities = 0;
        if (!store->ScanEntities([&](EntityRow&&) { ++entities; }).ok()) ++read_errors;
        if (entities < last_seen) ++read_errors;  // committed data never disappears
        last_seen = entities;
        ++reads;
      }
    });
  }
  constexpr size_t kBatches = 400;
  Collector done(kBatches);
  for (size_t i = 0; i < kBatches; ++i) {
    WriteBatch b = EntityBatch("urn:e" + std::to_string(i));
    b.history.push_back(HistoryRow{"urn:hot", "n", static_cast<TimeMs>(i), std::to_string(i)});
    store->Submit(std::move(b), done.Slot(i));
  }
  done.Wait();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto last = store->QueryHistory(Query("urn:hot").LastN(1));
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].value, std::to_string(kBatches - 1));
}

TEST_F(SqliteGroupCommitTest, ASlowCallbackDoesNotHoldTheNextCommit) {
  auto store = Open(Durability::kProcess);
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store->Submit(EntityBatch("urn:first"), [&entered, released](const Status&) {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();
  // The first batch's callback is still running; the second batch commits all the same,
  // but its callback waits its turn.
  std::future<Status> second = SubmitForStatus(*store, EntityBatch("urn:second"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (EntityIds(*store).count("urn:second") == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(EntityIds(*store).count("urn:second"), 1u);
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  release.set_value();
  EXPECT_TRUE(second.get().ok());
}

}  // namespace
}  // namespace cb::store
