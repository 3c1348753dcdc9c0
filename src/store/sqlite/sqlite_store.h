// Internal helpers shared by the files of the SQLite store backend. Not a public header:
// other modules reach the store through store/store.h only.
// Thread-safety: each helper uses only the connection it is given; the caller makes sure
// no other thread uses that connection at the same time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

struct sqlite3;

namespace cb::store {

// History rows are grouped in epochs of 2^kHistoryEpochBits consecutive rows (by seq); see
// the history table in migrations.cc.
inline constexpr int kHistoryEpochBits = 20;

// Internal knobs of the SQLite store, for tests. Any value is safe on any database: epochs
// are labels whose time ranges are widened by every row that uses them.
struct SqliteTuning {
  int history_epoch_bits = kHistoryEpochBits;
  // A new journal segment starts past this size (journal.h).
  size_t journal_segment_bytes = size_t{16} << 20;
  // The log of entity documents (migration 4) is compacted once it holds more than twice as
  // many rows as there are entities plus this many; a compaction goes through at least this
  // many of its oldest rows.
  int64_t doc_log_slack_rows = 65536;
  // The applier's cache of entities' history numbers and attributes is emptied whenever it
  // takes about this much memory.
  size_t max_owner_cache_bytes = size_t{256} << 20;
  // Entity documents are stored compressed (doc_codec.h); false writes them as JSON text,
  // as schema version 4 did (both are read either way).
  bool compress_docs = true;
  // ... with a dictionary of at most doc_dictionary_bytes, trained on the first
  // doc_dictionary_sample_bytes of documents written, and again when the documents of a
  // window of doc_dictionary_check_docs compress much worse than the first window did.
  size_t doc_dictionary_bytes = size_t{16} << 10;
  size_t doc_dictionary_sample_bytes = size_t{1} << 20;
  uint64_t doc_dictionary_check_docs = 100000;
  // Tests: runs on the writer thread each time it wakes for queued work, before it takes
  // the group to commit; a hook that blocks holds the writer so that batches queue up.
  std::function<void()> before_group;
  // Tests: runs on the applier thread before each apply transaction (see sqlite_store.cc);
  // a hook that blocks leaves committed batches in the journal only.
  std::function<void()> before_apply;
};

// Appends one attribute instance to a history row's `instances` text (migration 3): two
// netstrings, "<bytes>:<attr>,<bytes>:<instance>,".
void AppendHistoryInstance(std::string* out, std::string_view attr, std::string_view instance);

// OpenSqliteStore with non-default tuning.
Result<std::unique_ptr<Store>> OpenSqliteStoreWithTuning(const StoreOptions& options,
                                                         const SqliteTuning& tuning);

// The Status for SQLite result code `rc` returned by an operation on `db`. Constraint and
// type failures (caused by the data of one batch) map to kBadRequestData, SQLITE_TOOBIG to
// kTooLarge, everything else to kInternal. The message names `what` and carries
// sqlite3_errmsg().
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// Runs SQL text (one or more statements) that returns no rows of interest.
Status SqliteExec(sqlite3* db, std::string_view sql, std::string_view what);

}  // namespace cb::store
