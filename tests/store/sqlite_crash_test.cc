// Crash test of the SQLite store: a child process writes and reports each acknowledged
// batch through a pipe, the parent kills it with SIGKILL mid-stream, reopens the database
// and checks that every acknowledged batch is there, whole, in order, for both durability
// modes.

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using ::cb::store::testing::TempDir;

constexpr char kPrefix[] = "urn:ngsi-ld:Crash:";
constexpr char kCounter[] = "urn:ngsi-ld:Counter:1";
constexpr auto kWriteFor = std::chrono::seconds(2);

std::string CrashId(int64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%010lld", kPrefix, static_cast<long long>(seq));
  return buf;
}

// Batch `seq`: a new entity, a new record, a history row each for it and for the counter,
// and the counter entity overwritten with `seq`.
WriteBatch CrashBatch(int64_t seq) {
  const std::string id = CrashId(seq);
  const std::string n = std::to_string(seq);
  WriteBatch b;
  b.put_entities.push_back(EntityRow{id, "Crash", "{\"seq\":" + n + "}", seq});
  b.put_entities.push_back(EntityRow{kCounter, "Counter", n, seq});
  b.history.push_back(HistoryRow{id, "seq", seq, n});
  b.history.push_back(HistoryRow{kCounter, "seq", seq, n});
  b.put_records.push_back(Record{"crash", id, n});
  return b;
}

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The child: writes batches 1, 2, 3, ... with up to 128 in flight, and writes the sequence
// number of each acknowledged one to `fd`. Runs until killed.
[[noreturn]] void RunWriterChild(const std::string& path, Durability durability, int fd) {
  StoreOptions options;
  options.path = path;
  options.durability = durability;
  auto opened = OpenSqliteStore(options);
  if (!opened.ok()) _exit(3);
  Store& store = **opened;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  for (int64_t seq = 1;; ++seq) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < 128; });
      ++in_flight;
    }
    store.Submit(CrashBatch(seq), [&, seq](const Status& s) {
      if (!s.ok()) _exit(4);
      if (!WriteAll(fd, &seq, sizeof seq)) _exit(5);
      {
        std::lock_guard<std::mutex> lock(mu);
        --in_flight;
      }
      cv.notify_one();
    });
  }
}

// Kills and reaps the child if the test leaves early.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

  // Kills the child now; returns its wait status.
  int KillAndReap() {
    int status = 0;
    kill(pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Appends the complete 8-byte sequence numbers in `bytes` to `acked`, keeping a partial tail.
void TakeAcks(std::string* bytes, std::vector<int64_t>* acked) {
  size_t used = 0;
  while (bytes->size() - used >= sizeof(int64_t)) {
    int64_t seq;
    std::memcpy(&seq, bytes->data() + used, sizeof seq);
    acked->push_back(seq);
    used += sizeof seq;
  }
  bytes->erase(0, used);
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return result;
}

void RunCrashTest(Durability durability) {
  TempDir dir;
  const std::string path = dir.path() + "/crash.db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::fflush(nullptr);  // nothing buffered gets printed twice
  const pid_t pid = fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    close(fds[0]);
    RunWriterChild(path, durability, fds[1]);
  }
  close(fds[1]);
  ChildGuard child(pid);

  // Collect acknowledgements for a while, then kill the writer mid-stream.
  std::vector<int64_t> acked;
  std::string bytes;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + kWriteFor;
  bool eof = false;
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;  // the child died by itself
      break;
    }
    bytes.append(buf, static_cast<size_t>(n));
    TakeAcks(&bytes, &acked);
  }
  const int status = child.KillAndReap();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer exited by itself, code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  // Acknowledgements written before the kill are still in the pipe.
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  TakeAcks(&bytes, &acked);
  ASSERT_FALSE(acked.empty()) << "the writer acknowledged nothing in " << kWriteFor.count() << " s";
  for (size_t i = 0; i < acked.size(); ++i) {
    ASSERT_EQ(acked[i], static_cast<int64_t>(i + 1)) << "acknowledgements out of order";
  }
  const int64_t last_acked = acked.back();

  EXPECT_EQ(IntegrityCheck(path), "ok");

  StoreOptions options;
  options.path = path;
  auto reopened = OpenSqliteStore(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Store& store = **reopened;

  // Batches commit in order and whole: what survived is exactly batches 1..K, K >= acked.
  std::vector<int64_t> seqs;
  std::string counter_doc;
  ASSERT_TRUE(store
                  .ScanEntities([&](EntityRow&& e) {
                    if (e.id == kCounter) {
                      counter_doc = e.doc;
                    } else if (e.id.rfind(kPrefix, 0) == 0) {
                      seqs.push_back(std::stoll(e.id.substr(std::strlen(kPrefix))));
                    }
                  })
                  .ok());
  const int64_t survived = static_cast<int64_t>(seqs.size());
  EXPECT_GE(survived, last_acked);
  for (size_t i = 0; i < seqs.size(); ++i) {
    ASSERT_EQ(seqs[i], static_cast<int64_t>(i + 1)) << "a gap in the committed batches";
  }
  EXPECT_EQ(counter_doc, std::to_string(survived));

  size_t records = 0;
  ASSERT_TRUE(store.ScanRecords("crash", [&](Record&&) { ++records; }).ok());
  EXPECT_EQ(static_cast<int64_t>(records), survived);

  HistoryQuery all_counter;
  all_counter.entity_id = kCounter;
  all_counter.limit = std::numeric_limits<size_t>::max();
  auto counter_history = store.QueryHistory(all_counter);
  ASSERT_TRUE(counter_history.ok());
  EXPECT_EQ(static_cast<int64_t>(counter_history->size()), survived);
  HistoryQuery last_batch;
  last_batch.entity_id = CrashId(last_acked);
  auto last = store.QueryHistory(last_batch);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].value, std::to_string(last_acked));

  // The store takes new writes after recovery.
  EXPECT_TRUE(store.SubmitSync(CrashBatch(survived + 1)).ok());
  std::printf("[          ] %s: %lld batches acknowledged, %lld survived\n",
              durability == Durability::kFsync ? "fsync" : "process",
              static_cast<long long>(last_acked), static_cast<long long>(survived));
}

TEST(SqliteCrashTest, AcknowledgedBatchesSurviveKillWithFsyncDurability) {
  RunCrashTest(Durability::kFsync);
}

TEST(SqliteCrashTest, AcknowledgedBatchesSurviveKillWithProcessDurability) {
  RunCrashTest(Durability::kProcess);
}

}  // namespace
}  // namespace cb::store
