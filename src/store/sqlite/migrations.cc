#include "store/sqlite/migrations.h"

#include <sqlite3.h>

#include <chrono>
#include <string>

#include "spdlog/spdlog.h"
#include "store/sqlite/sqlite_store.h"

namespace cb::store {
namespace {

// Migration i (0-based) takes a database from user_version i to i + 1. Append only: never
// edit a migration that has shipped, add a new one instead.
constexpr std::string_view kMigrations[] = {
    // 1: entities, the history of their attributes, and generic records.
    R"sql(
      CREATE TABLE entities(
        id TEXT PRIMARY KEY CHECK(id <> ''),
        type TEXT NOT NULL,
        doc TEXT NOT NULL,
        modified_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- One row per (entity, attribute) that has history; history rows refer to it by id.
      CREATE TABLE series(
        id INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL CHECK(entity_id <> ''),
        attr TEXT NOT NULL CHECK(attr <> ''),
        UNIQUE(entity_id, attr)
      );

      -- Attribute instances in arrival order: seq is assigned by the writer and only grows,
      -- so new rows go to the end of the table. epoch = seq >> 20: the index is ordered by
      -- epoch first, so a commit only touches the index pages of the current epoch (about a
      -- million rows) however many series it updates. Without it every commit would dirty
      -- one index page per series it touches, which grows without bound with the data.
      -- Readers probe (epoch, series, time) in each epoch whose time range matters.
      CREATE TABLE history(
        seq INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        series INTEGER NOT NULL,
        observed_at INTEGER NOT NULL,
        value TEXT NOT NULL
      );
      CREATE INDEX history_by_epoch_series_time ON history(epoch, series, observed_at);

      -- The observed_at range of each epoch, widened as rows arrive (never narrowed), so a
      -- query can skip the epochs that cannot hold what it asks for.
      CREATE TABLE history_epochs(
        epoch INTEGER PRIMARY KEY,
        min_observed_at INTEGER NOT NULL,
        max_observed_at INTEGER NOT NULL
      );

      CREATE TABLE records(
        kind TEXT NOT NULL CHECK(kind <> ''),
        key TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY(kind, key)
      ) WITHOUT ROWID;
    )sql",
    // 2: the store's own bookkeeping; 'applied_frame' is the number of the last journal
    // frame applied to this database (see journal.h).
    R"sql(
      CREATE TABLE store_state(
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    )sql",
    // 3: history rows hold all the instances of one entity observed at the same time (an
    // update of six attributes is one row, not six), so an apply inserts a sixth of the rows
    // and index entries. `series` stays the list of each entity's attributes with history
    // (its ids are no longer referred to); `history_entities` numbers the entities for the
    // index. `instances` is a sequence of netstrings, attribute then instance:
    // "<bytes>:<attr>,<bytes>:<instance JSON>," for each attribute (see
    // AppendHistoryInstance). The rows keep their seq, so the epochs stay as they were.
    R"sql(
      CREATE TABLE history_entities(
        id INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL UNIQUE CHECK(entity_id <> '')
      );
      INSERT INTO history_entities(entity_id) SELECT DISTINCT entity_id FROM series;

      CREATE TABLE history_packed(
        seq INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        owner INTEGER NOT NULL,
        observed_at INTEGER NOT NULL,
        instances TEXT NOT NULL
      );
      INSERT INTO history_packed(seq, epoch, owner, observed_at, instances)
        SELECT h.seq, h.epoch, o.id, h.observed_at,
               length(CAST(s.attr AS BLOB)) || ':' || s.attr || ',' ||
               length(CAST(h.value AS BLOB)) || ':' || h.value || ','
        FROM history h
        JOIN series s ON s.id = h.series
        JOIN history_entities o ON o.entity_id = s.entity_id;
      DROP TABLE history;
      ALTER TABLE history_packed RENAME TO history;
      CREATE INDEX history_by_epoch_owner_time ON history(epoch, owner, observed_at);
    )sql",
    // 4: entity documents are appended, not rewritten in place. With a million entities the
    // documents fill ~1.5 GB, and a random update rewrote the 8 KiB page holding its
    // entity's document (after reading it from disk), twice with the checkpoint. Now each
    // new document is a row at the end of `entity_docs`, and `entity_heads` (id -> seq,
    // ~40 MB at a million entities) says which row is the entity's current one. Rows no
    // head points to are superseded; the store moves the current rows from the log's oldest
    // end to its newest and deletes the oldest rows once the log holds more than twice as
    // many rows as there are entities (sqlite_store.cc, CompactDocs). seq only grows, so
    // the rows of entity_docs form one range with no gaps.
    R"sql(
      CREATE TABLE entity_docs(
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL CHECK(id <> ''),
        type TEXT NOT NULL,
        doc TEXT NOT NULL,
        modified_at INTEGER NOT NULL
      );
      INSERT INTO entity_docs(id, type, doc, modified_at)
        SELECT id, type, doc, modified_at FROM entities ORDER BY id;
      CREATE TABLE entity_heads(
        id TEXT PRIMARY KEY CHECK(id <> ''),
        doc_seq INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO entity_heads(id, doc_seq) SELECT id, seq FROM entity_docs;
      DROP TABLE entities;
    )sql",
    // 5: entity documents may be zstd frames, stored as BLOBs in entity_docs.doc
    // (doc_codec.h); the text documents of version 4 stay as they are and are read as
    // before. No table changes: the version keeps binaries that cannot read the new
    // documents from opening the database.
    R"sql(
      SELECT 1;
    )sql",
    // 6: the zstd dictionaries entity documents may be compressed with (doc_codec.h), each
    // under the id its frames name. seq orders them: the newest is the one in use. A
    // dictionary is never deleted: documents written with it may still be in the log.
    R"sql(
      CREATE TABLE doc_dictionaries(
        seq INTEGER PRIMARY KEY,
        id INTEGER NOT NULL UNIQUE CHECK(id > 0),
        dict BLOB NOT NULL
      );
    )sql",
    // 7: the attributes each entity has history for, by the entity's number in
    // history_entities instead of its id, in a table keyed by (owner, attr) alone. `series`
    // kept the id as text in every row and again in its UNIQUE index, beside a rowid no
    // longer referred to: at a million FIWARE entities (eight attributes each) ~970 MB of a
    // 2.4 GB database; history_series holds the same in a fraction of that. The CROSS JOIN
    // walks the owners in number order, so rows arrive in key order.
    R"sql(
      CREATE TABLE history_series(
        owner INTEGER NOT NULL,
        attr TEXT NOT NULL CHECK(attr <> ''),
        PRIMARY KEY(owner, attr)
      ) WITHOUT ROWID;
      INSERT INTO history_series(owner, attr)
        SELECT o.id, s.attr FROM history_entities o CROSS JOIN series s
        WHERE s.entity_id = o.entity_id;
      DROP TABLE series;
    )sql",
    // 8: no table changes. Entity documents may from now on be in the binary format of
    // context/store_doc.cc (the store keeps them as bytes and does not look inside), which
    // versions before it cannot read: this version number keeps them from opening such a
    // database. Documents already stored stay JSON until next written; both read back.
    R"sql(
      SELECT 1;
    )sql",
};

Result<int> UserVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "read schema version");
  rc = sqlite3_step(stmt);
  int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  Status st = rc == SQLITE_ROW ? Status::Ok() : SqliteStatus(db, rc, "read schema version");
  sqlite3_finalize(stmt);
  if (!st.ok()) return st;
  return version;
}

}  // namespace

int SqliteSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

Status MigrateSqliteSchema(sqlite3* db, std::string_view path) {
  // IMMEDIATE: two processes opening a fresh file at once must not both migrate it.
  CB_RETURN_IF_ERROR(SqliteExec(db, "BEGIN IMMEDIATE", "begin schema migration"));
  auto fail = [db](Status st) {
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  };
  Result<int> version = UserVersion(db);
  if (!version.ok()) return fail(version.status());
  const int latest = SqliteSchemaVersion();
  if (*version > latest) {
    return fail(Status::Unavailable("store: " + std::string(path) + " has schema version " +
                                    std::to_string(*version) +
                                    ", newer than this binary supports (" + std::to_string(latest) +
                                    "); upgrade CityBrain or restore a backup"));
  }
  if (*version < 0) {
    return fail(Status::Internal("store: " + std::string(path) + " has invalid schema version " +
                                 std::to_string(*version)));
  }
  const auto start = std::chrono::steady_clock::now();
  if (*version != 0 && *version < latest) {
    // Migrations up to 7 rewrite tables (~20–30 s per million entities here); later ones
    // so far change none.
    constexpr int kLastRewrite = 7;
    spdlog::info("store: upgrading {} from schema version {} to {}{}", path, *version, latest,
                 *version < kLastRewrite ? " (a large database takes a while: about 30 s per "
                                           "million entities on a 2-core machine)"
                                         : "");
  }
  for (int v = *version; v < latest; ++v) {
    Status st = SqliteExec(db, kMigrations[v], "schema migration " + std::to_string(v + 1));
    if (!st.ok()) return fail(st);
  }
  if (*version != latest) {
    Status st =
        SqliteExec(db, "PRAGMA user_version = " + std::to_string(latest), "set schema version");
    if (!st.ok()) return fail(st);
  }
  Status st = SqliteExec(db, "COMMIT", "commit schema migration");
  if (!st.ok()) return fail(st);
  if (*version != 0 && *version < latest) {
    spdlog::info("store: {} upgraded to schema version {} in {:.1f} s", path, latest,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return Status::Ok();
}

}  // namespace cb::store
