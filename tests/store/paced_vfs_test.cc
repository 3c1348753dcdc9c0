// The paced VFS shim (store/sqlite/paced_vfs.h): what goes through it reads back the same,
// through it and through the default VFS alongside, its files are handed to writeback as
// they are written, and a file it cannot open is an error, not a crash.
#include "store/sqlite/paced_vfs.h"

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

constexpr size_t kChunk = size_t{1} << 20;  // as the store registers it

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Db Open(const std::string& path, const char* vfs, int* rc_out = nullptr) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  if (rc_out != nullptr) *rc_out = rc;
  return Db(raw);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << sql << ": " << (err != nullptr ? err : "");
  sqlite3_free(err);
}

int64_t QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  int64_t v = -1;
  if (s != nullptr && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

std::string QueryText(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  std::string v;
  if (s != nullptr && sqlite3_step(s) == SQLITE_ROW) {
    v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  return v;
}

// `rows` rows of 8 KiB each: (i, 8 KiB of bytes derived from i) in one transaction.
void InsertRows(sqlite3* db, int first, int rows) {
  Exec(db, "BEGIN");
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t(i, b) VALUES(?1, ?2)", -1, &s, nullptr),
            SQLITE_OK);
  std::string blob(8192, '\0');
  for (int i = first; i < first + rows; ++i) {
    for (size_t k = 0; k < blob.size(); ++k) blob[k] = static_cast<char>((i * 31 + k * 7) & 0xff);
    sqlite3_bind_int(s, 1, i);
    sqlite3_bind_blob(s, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  Exec(db, "COMMIT");
}

// Every row's number and bytes folded into one value, which any lost, stale or misplaced page
// changes.
uint64_t Checksum(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT i, b FROM t ORDER BY i", -1, &s, nullptr), SQLITE_OK);
  uint64_t sum = 0;
  while (s != nullptr && sqlite3_step(s) == SQLITE_ROW) {
    const std::string_view b(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                             static_cast<size_t>(sqlite3_column_bytes(s, 1)));
    sum = sum * 1000003u + std::hash<std::string_view>{}(b) +
          static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  }
  sqlite3_finalize(s);
  return sum;
}

class PacedVfsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterPacedVfs(kChunk).ok()); }
  std::string DbPath() const { return dir_.path() + "/paced.db"; }
  testing::TempDir dir_;
};

TEST_F(PacedVfsTest, WritesAreHandedToWritebackAsTheyGo) {
  Db db = Open(DbPath(), kPacedVfsName);
  ASSERT_NE(db, nullptr);
  // (No automatic checkpoint: the commit writes the WAL only, the checkpoint the database.)
  Exec(db.get(),
       "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
       "PRAGMA wal_autocheckpoint = 0; CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
  const uint64_t before = PacedVfsHandovers();
  InsertRows(db.get(), 0, 1024);  // ~8 MiB (plus overflow pages) into the WAL
  const uint64_t after_commit = PacedVfsHandovers();
  EXPECT_GE(after_commit - before, 6u) << "about one hand-over per MiB of WAL";
  Exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  EXPECT_GE(PacedVfsHandovers() - after_commit, 6u) << "and per MiB the checkpoint copies";
}

TEST_F(PacedVfsTest, WhatIsWrittenThroughItReadsBackTheSameEverywhere) {
  uint64_t expected = 0;
  {
    Db w = Open(DbPath(), kPacedVfsName);
    ASSERT_NE(w, nullptr);
    Exec(w.get(), "PRAGMA journal_mode = WAL; CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    InsertRows(w.get(), 0, 600);
    expected = Checksum(w.get());
    ASSERT_NE(expected, 0u);

    // A reader through the default VFS shares the locks and the WAL index with the writer.
    Db r = Open(DbPath(), nullptr);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(QueryInt(r.get(), "SELECT count(*) FROM t"), 600);
    EXPECT_EQ(Checksum(r.get()), expected);
    Exec(r.get(), "BEGIN");  // a read transaction holds its snapshot...
    EXPECT_EQ(QueryInt(r.get(), "SELECT count(*) FROM t"), 600);
    InsertRows(w.get(), 600, 400);
    EXPECT_EQ(QueryInt(r.get(), "SELECT count(*) FROM t"), 600);
    Exec(r.get(), "COMMIT");  // ...and the next one sees the writer's commit
    EXPECT_EQ(QueryInt(r.get(), "SELECT count(*) FROM t"), 1000);
    expected = Checksum(w.get());
    EXPECT_EQ(Checksum(r.get()), expected);
    Exec(w.get(), "DELETE FROM t WHERE i % 3 = 0; PRAGMA wal_checkpoint(TRUNCATE)");
    expected = Checksum(w.get());
  }
  Db again = Open(DbPath(), nullptr);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(QueryText(again.get(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(QueryInt(again.get(), "SELECT count(*) FROM t"), 1000 - 334);
  EXPECT_EQ(Checksum(again.get()), expected);
}

TEST_F(PacedVfsTest, AFileItCannotOpenIsAnError) {
  int rc = SQLITE_OK;
  Db db = Open(dir_.path() + "/no/such/dir/x.db", kPacedVfsName, &rc);
  EXPECT_EQ(rc & 0xff, SQLITE_CANTOPEN);
}

TEST_F(PacedVfsTest, RegisteringAgainKeepsTheFirstRegistration) {
  EXPECT_TRUE(RegisterPacedVfs(kChunk).ok());
  EXPECT_NE(sqlite3_vfs_find(kPacedVfsName), nullptr);
  EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(kPacedVfsName))
      << "the shim must not become the default VFS";
}

}  // namespace
}  // namespace cb::store
