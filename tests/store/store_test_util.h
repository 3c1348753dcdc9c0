// Shared fixtures and helpers of the store tests: a temporary directory, a fixture that opens
// a database in it, one-expression builders for batches and queries, and tools to hold the
// writer thread and wait for asynchronous submissions.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/status.h"
#include "gtest/gtest.h"
#include "store/store.h"

namespace cb::store::testing {

// A fresh directory under /tmp, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cb_store_test_XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The store an Open* call returned; on an error, a test failure and nullptr.
inline std::unique_ptr<Store> ExpectOpened(Result<std::unique_ptr<Store>> opened) {
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// A test with a fresh directory, removed at its end, for a database file named `file_name`.
class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(std::string file_name = "city.db") : file_name_(std::move(file_name)) {}

  std::string DbPath() const { return dir_.path() + "/" + file_name_; }

  // Options for the database at DbPath().
  StoreOptions Options(Durability durability) const {
    StoreOptions options;
    options.path = DbPath();
    options.durability = durability;
    return options;
  }

  TempDir dir_;

 private:
  std::string file_name_;
};

// Builds a WriteBatch in one expression: Batch().Put(entity).Add(history_row).Delete(id).
struct Batch : WriteBatch {
  Batch& Put(EntityRow e) {
    put_entities.push_back(std::move(e));
    return *this;
  }
  Batch& Put(Record r) {
    put_records.push_back(std::move(r));
    return *this;
  }
  Batch& Add(HistoryRow h) {
    history.push_back(std::move(h));
    return *this;
  }
  Batch& Delete(std::string id) {
    delete_entities.push_back(std::move(id));
    return *this;
  }
  Batch& DeleteRecord(Record r) {
    delete_records.push_back(std::move(r));
    return *this;
  }
};

// Builds a HistoryQuery in one expression: Query("urn:a").Attrs({"x"}).From(10).LastN(2).
struct Query : HistoryQuery {
  explicit Query(std::string id) { entity_id = std::move(id); }
  Query& Attrs(std::vector<std::string> a) {
    attrs = std::move(a);
    return *this;
  }
  Query& From(TimeMs t) {
    from = t;
    return *this;
  }
  Query& To(TimeMs t) {
    to = t;
    return *this;
  }
  Query& LastN(size_t n) {
    last_n = n;
    return *this;
  }
  Query& Limit(size_t n) {
    limit = n;
    return *this;
  }
};

inline EntityRow Entity(std::string id, std::string type, std::string doc, TimeMs t) {
  return EntityRow{std::move(id), std::move(type), std::move(doc), t};
}

inline HistoryRow Hist(std::string id, std::string attr, TimeMs t, std::string value) {
  return HistoryRow{std::move(id), std::move(attr), t, std::move(value)};
}

// Holds a SQLite store's writer thread while closed, so batches submitted meanwhile queue
// up and are committed together once it opens. Open the store with Hook() as
// SqliteTuning::before_group; WriterBlocker closes it for a scope.
// Thread-safety: Hook() may run on any thread; Close/Open from the test thread.
class WriterGate {
 public:
  std::function<void()> Hook() {
    return [state = state_] {
      std::unique_lock<std::mutex> lock(state->mu);
      if (!state->closed) return;
      state->entered = true;
      state->cv.notify_all();
      state->cv.wait(lock, [&] { return !state->closed; });
    };
  }
  // Closes the gate and waits until the writer is held at it.
  void CloseAndWait(Store& store) {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->closed = true;
      state_->entered = false;
    }
    store.Submit({}, nullptr);  // an empty batch wakes the writer
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->entered; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->closed = false;
    }
    state_->cv.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool closed = false;
    bool entered = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Holds the store's writer thread (through its WriterGate) until Release() or the end of
// the scope.
class WriterBlocker {
 public:
  WriterBlocker(Store& store, WriterGate& gate) : gate_(gate) { gate_.CloseAndWait(store); }
  ~WriterBlocker() { Release(); }
  WriterBlocker(const WriterBlocker&) = delete;
  WriterBlocker& operator=(const WriterBlocker&) = delete;

  void Release() {
    if (!released_) {
      released_ = true;
      gate_.Open();
    }
  }

 private:
  WriterGate& gate_;
  bool released_ = false;
};

// The tables of schema versions 1 and 2 as they shipped, but for `history` (version 3
// replaced it): with the tables of the version at hand, a database written by an old build,
// for the tests of the migrations.
inline constexpr const char* kShippedTablesOfVersion2 = R"sql(
  CREATE TABLE entities(id TEXT PRIMARY KEY CHECK(id <> ''), type TEXT NOT NULL,
    doc TEXT NOT NULL, modified_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE series(id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL CHECK(entity_id <> ''),
    attr TEXT NOT NULL CHECK(attr <> ''), UNIQUE(entity_id, attr));
  CREATE TABLE history_epochs(epoch INTEGER PRIMARY KEY, min_observed_at INTEGER NOT NULL,
    max_observed_at INTEGER NOT NULL);
  CREATE TABLE records(kind TEXT NOT NULL CHECK(kind <> ''), key TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY(kind, key)) WITHOUT ROWID;
  CREATE TABLE store_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// Writes a database as an old build left it at `path`: kShippedTablesOfVersion2, then
// `sql` (the version's other tables, its rows, and PRAGMA user_version). False, with a test
// failure, if SQLite refuses any of it.
inline bool WriteOldDatabase(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK;
  for (const char* part : {kShippedTablesOfVersion2, sql}) {
    if (!ok) break;
    ok = sqlite3_exec(db, part, nullptr, nullptr, nullptr) == SQLITE_OK;
    EXPECT_TRUE(ok) << sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  return ok;
}

// Submits `batch` asynchronously; the future gets the status its done callback receives.
inline std::future<Status> SubmitForStatus(Store& store, WriteBatch batch) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> status = done->get_future();
  store.Submit(std::move(batch), [done](const Status& s) { done->set_value(s); });
  return status;
}

}  // namespace cb::store::testing
