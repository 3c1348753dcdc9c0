// Shared fixtures and helpers of the store tests: a temporary directory, a fixture that opens
// a database in it, one-expression builders for batches and queries, and tools to hold the
// writer thread and wait for asynchronous submissions.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
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

// Holds the store's writer thread inside a done callback until Release(), so batches
// submitted meanwhile queue up and are committed together afterwards.
class WriterBlocker {
 public:
  explicit WriterBlocker(Store& store) : state_(std::make_shared<State>()) {
    std::future<void> entered = state_->entered.get_future();
    std::shared_future<void> open = state_->open.get_future().share();
    store.Submit({}, [state = state_, open](const Status&) {
      state->entered.set_value();
      open.wait();
    });
    entered.wait();
  }
  ~WriterBlocker() { Release(); }
  WriterBlocker(const WriterBlocker&) = delete;
  WriterBlocker& operator=(const WriterBlocker&) = delete;

  void Release() {
    if (!released_) {
      released_ = true;
      state_->open.set_value();
    }
  }

 private:
  struct State {
    std::promise<void> entered;
    std::promise<void> open;
  };
  std::shared_ptr<State> state_;
  bool released_ = false;
};

// Submits `batch` asynchronously; the future gets the status its done callback receives.
inline std::future<Status> SubmitForStatus(Store& store, WriteBatch batch) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> status = done->get_future();
  store.Submit(std::move(batch), [done](const Status& s) { done->set_value(s); });
  return status;
}

}  // namespace cb::store::testing
