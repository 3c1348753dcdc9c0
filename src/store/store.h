// The persistence interface of CityBrain. Domain modules hand it plain records; only
// store/ knows SQL. Writes are grouped: many callers' batches are committed together (one
// fsync), and each caller is told only after its batch is durable. Reads see every write
// acknowledged before they started.
// Thread-safety: every method of Store is safe to call from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace cb::store {

// The current state of one entity (its whole normalized JSON document).
struct EntityRow {
  std::string id;
  std::string type;
  std::string doc;  // the entity as the context layer stores it (bytes the store keeps as is)
  TimeMs modified_at = 0;
};

// One attribute instance for the temporal history.
struct HistoryRow {
  std::string entity_id;
  std::string attr;
  TimeMs observed_at = 0;  // observedAt, or the modification time when none was given
  std::string value;       // the attribute instance, normalized JSON
};

// A generic keyed record for other modules' durable state (subscriptions, API keys,
// device provisioning, ...). `kind` names the collection.
struct Record {
  std::string kind;
  std::string key;
  std::string doc;
};

// One unit of durable change, applied atomically. Within a batch, the deletions apply
// before the puts (so a batch may drop an entity and create it afresh).
struct WriteBatch {
  std::vector<EntityRow> put_entities;
  std::vector<std::string> delete_entities;  // also drops their history
  std::vector<HistoryRow> history;
  std::vector<Record> put_records;
  std::vector<Record> delete_records;  // kind + key used
  bool empty() const {
    return put_entities.empty() && delete_entities.empty() && history.empty() &&
           put_records.empty() && delete_records.empty();
  }
  size_t size() const {
    return put_entities.size() + delete_entities.size() + history.size() + put_records.size() +
           delete_records.size();
  }
};

struct HistoryQuery {
  std::string entity_id;
  std::vector<std::string> attrs;  // empty: all attributes
  std::optional<TimeMs> from;      // inclusive
  std::optional<TimeMs> to;        // exclusive
  std::optional<size_t> last_n;    // per attribute: only the last N instances (by time)
  size_t limit = 10000;            // overall cap on rows, cutting the answer in its order
};

enum class Durability {
  kFsync,    // committed to disk before acknowledging (survives power loss)
  kProcess,  // in the OS before acknowledging (survives kill -9, not power loss)
};

struct StoreOptions {
  std::string path;  // database file
  Durability durability = Durability::kFsync;
  size_t max_group_rows = 50000;      // rows per group commit at most
  // Rows not yet in the database (waiting for their commit, or committed to the journal
  // and waiting to be applied) before Submit refuses (back-pressure).
  size_t max_queue_rows = 1000000;
  // Committed rows are applied to the database in large transactions: as soon as this many
  // wait, or when the oldest has waited apply_after_ms, or when a read needs them, or when
  // no commit has come for apply_when_idle_ms (0: never): once writes pause, waiting longer
  // shares no more pages, so the database catches up at once instead of at the timer.
  size_t apply_after_rows = 50000;
  int apply_after_ms = 2000;
  int apply_when_idle_ms = 50;
  size_t max_apply_rows = 400000;     // rows per apply transaction at most
  // Past this many unapplied rows the writer waits for the applier before committing more:
  // acknowledgements slow down (back-pressure by latency) instead of memory growing.
  size_t max_unapplied_rows = 400000;
  // A group commit of at least this many rows skips the journal: it is applied to the
  // database in its own transaction (in order after the frames before it) and acknowledged
  // then. Large groups already share pages between their rows; journaling them too would
  // only write their rows twice.
  size_t direct_group_rows = 500;
  // ... when its batches hold at least this many rows on average: a pile of small batches
  // (single-entity updates under load) touches scattered pages, and applying it directly
  // would make it wait for every frame before it to be applied.
  size_t direct_batch_rows = 50;
  // The applier thread runs at this nice value (0–19) above the rest of the process: the
  // threads that acknowledge writes and answer reads come first, and the applier, whose work
  // is already durable in the journal, catches up with the CPU left over (RocksDB lowers its
  // compaction threads the same way). max_unapplied_rows still bounds how far it falls behind.
  int applier_nice = 10;
  // Entity documents are written to the database less often than history: an apply keeps
  // the documents it puts in memory (their rows stay in the journal) and writes each
  // entity's newest, once, when the oldest has waited defer_docs_ms, when writes pause
  // (apply_when_idle_ms), before a direct group, a read of the entities, or a close, and
  // when they hold max_deferred_doc_bytes and dropping the superseded ones frees less than
  // half of that. An entity updated every second is then written once per window instead
  // of once per apply, and its page once instead of with every apply. 0: write documents
  // with every apply.
  int defer_docs_ms = 10000;
  size_t max_deferred_doc_bytes = size_t{64} << 20;
};

struct StoreStats {
  uint64_t commits = 0;              // group commits (each one durable write of the journal)
  uint64_t rows_committed = 0;
  uint64_t batches_committed = 0;
  uint64_t queued_rows = 0;          // waiting for a group commit now
  double last_commit_ms = 0;
  double commit_ms_total = 0;        // sum over all commits
  uint64_t unapplied_rows = 0;       // committed, not yet applied to the database
  uint64_t applies = 0;              // apply transactions
  uint64_t rows_applied = 0;
  double last_apply_ms = 0;
  double apply_ms_total = 0;
  // Applied entity documents held for a later write, superseded ones included until the
  // store drops them (see StoreOptions::max_deferred_doc_bytes).
  uint64_t deferred_docs = 0;
  // The database's log of entity documents: its rows (current and superseded), and the
  // current rows its compactions have moved from its oldest end to its newest so far.
  uint64_t doc_log_rows = 0;
  uint64_t doc_log_moved = 0;
};

using DoneCallback = std::function<void(const Status&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Queues the batch for the next group commit. `done` runs on the store's completion
  // thread (one thread, in Submit order) once the batch is durable (or failed); keep it
  // short: the next callbacks wait for it, though commits do not. When the queue is over its
  // limit, `done` is called at once with kTooManyRequests and nothing is written.
  // Batches are committed in the order Submit was called.
  virtual void Submit(WriteBatch batch, DoneCallback done) = 0;
  // Submits and waits.
  Status SubmitSync(WriteBatch batch);

  // Streams every stored entity (startup load), in no particular order. Reads committed
  // data only.
  virtual Status ScanEntities(const std::function<void(EntityRow&&)>& fn) = 0;
  virtual Status ScanRecords(std::string_view kind, const std::function<void(Record&&)>& fn) = 0;
  // History rows ordered by attribute, then time ascending.
  virtual Result<std::vector<HistoryRow>> QueryHistory(const HistoryQuery& q) = 0;

  virtual StoreStats Stats() const = 0;
  // Waits for everything submitted so far to be committed, then stops the writer.
  virtual void Close() = 0;
};

// Opens (creating when missing) the embedded SQLite store in WAL mode.
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace cb::store
