// The embedded SQLite backend of store::Store.
//
// Group commit. Submit() appends the batch to a queue (mutex + condition variable) and
// returns. One writer thread takes everything queued (whole batches, up to max_group_rows,
// at least one batch), checks each batch against what the database would refuse (empty ids,
// SQLite's length limit; such a batch alone is failed), writes the rest to the journal as
// one frame (journal.h) and fdatasyncs it, then runs each batch's callback, in Submit order.
// Batches submitted while a commit runs wait for the next one, so under load one commit (one
// fsync) serves many callers and the group size follows the load without any timer; with no
// load a lone batch is committed at once. A journal write that fails fails its whole group
// and every later write (the file may end in a torn frame). A batch is atomic: all of it is
// written, or none.
//
// Applying. A second thread, the applier, owns the database connection. It applies
// committed frames in large transactions (one per apply_after_rows rows or apply_after_ms,
// up to max_apply_rows; an entity put several times is written once), recording in the same
// transaction the number of the last frame applied, and then deletes the journal segments
// the database now holds. Updates of the same entities and the same history index pages
// thus share their page writes, where a commit per group would write each page again. A
// read first waits until every frame committed before it is applied (it asks the applier
// to apply at once), so it sees every acknowledged write. If applying fails (disk full,
// I/O error) the store refuses further writes; the frames stay in the journal.
//
// Durability. kFsync: a callback reports OK only after the frame is fdatasynced (and a new
// segment's directory entry fsynced), so an acknowledged batch survives power loss; the
// database uses synchronous=FULL, so an apply is durable before its journal segments are
// deleted. kProcess: the frame is written to the file (the OS page cache) but not synced, so
// it survives the process being killed (kill -9, a crash) but the last commits may be lost if
// the OS or the machine goes down; the database uses synchronous=NORMAL. Open replays the
// frames the database does not hold yet, so the database file and the journal together are
// consistent in every case.
//
// Reads use a small pool of read-only connections, each read on a consistent snapshot. In
// WAL mode readers never block the writer and the writer never blocks them.
//
// History layout. Attribute history is append-mostly and arrives for very many entities at
// once (100k attribute updates a second touch tens of thousands of entities). An index
// ordered by entity first would make every commit dirty about one index page per entity,
// a cost that grows with the data until each commit rewrites most of the index. So history
// rows carry an arrival number (seq) and an epoch (seq >> 20), the index is ordered
// (epoch, entity, time), and a commit only touches the index pages of the current epoch.
// One row holds the instances of all the attributes of an entity observed at the same time
// (an update of six attributes is one row and one index entry, not six), so applying costs
// a B-tree insert per update rather than per attribute. A query visits the epochs whose
// time range can matter, newest or oldest first, reads the entity's rows in time order,
// and stops as soon as no further row or epoch can change its answer. See migrations.cc
// for the tables.
//
// Entity documents. The current document of each entity is a row of entity_docs, a log in
// arrival order, and entity_heads maps the entity's id to that row. Putting an entity
// appends its document and points the head at it; deleting it drops the head. So a put
// writes at the end of the log, and the pages it dirties are shared with the puts around
// it, however many entities there are; rewriting each document in place dirtied (and
// first read) one page of the whole set per put. CompactDocs keeps the log within about
// twice the entities: it moves the current rows among the log's oldest to its end and
// deletes those oldest rows, in the apply transactions that write documents.

#include "store/sqlite/sqlite_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "spdlog/spdlog.h"
#include "store/sqlite/doc_codec.h"
#include "store/sqlite/journal.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/paced_vfs.h"
#include "store/store.h"

namespace cb::store {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  // sqlite3_errmsg describes the most recent failure on `db`; use it when it is this one.
  const char* text = (db != nullptr && (sqlite3_errcode(db) & 0xff) == primary)
                         ? sqlite3_errmsg(db)
                         : sqlite3_errstr(rc);
  std::string message = "store: ";
  message += what;
  message += ": ";
  message += text;
  message += " (sqlite code ";
  message += std::to_string(rc);
  message += ")";
  switch (primary) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
      return Status::BadRequestData(std::move(message));
    case SQLITE_TOOBIG:
      return Status::TooLarge(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

Status SqliteExec(sqlite3* db, std::string_view sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // SqliteStatus reads the same text from sqlite3_errmsg
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, what);
  return Status::Ok();
}

void AppendHistoryInstance(std::string* out, std::string_view attr, std::string_view instance) {
  for (std::string_view part : {attr, instance}) {
    out->append(std::to_string(part.size()));
    out->push_back(':');
    out->append(part);
    out->push_back(',');
  }
}

namespace {

// Reads one netstring off the front of *in; false if it is malformed.
bool NextNetstring(std::string_view* in, std::string_view* out) {
  size_t i = 0, n = 0;
  for (; i < in->size() && i < 19 && (*in)[i] >= '0' && (*in)[i] <= '9'; ++i) {
    n = n * 10 + static_cast<size_t>((*in)[i] - '0');
  }
  if (i == 0 || in->size() - i < 2 || (*in)[i] != ':' || n > in->size() - i - 2 ||
      (*in)[i + 1 + n] != ',') {
    return false;
  }
  *out = in->substr(i + 1, n);
  in->remove_prefix(i + 2 + n);
  return true;
}

// Reads one (attribute, instance) pair written by AppendHistoryInstance off the front of *in.
bool NextHistoryInstance(std::string_view* in, std::string_view* attr, std::string_view* value) {
  return NextNetstring(in, attr) && NextNetstring(in, value);
}

constexpr int kBusyTimeoutMs = 5000;
// The writer connection's files are handed to writeback every this many bytes (paced_vfs.h):
// a few ms of the disk's time, which is the most a journal commit waits behind them.
constexpr size_t kPaceChunkBytes = size_t{1} << 20;

// A document larger than this is not taken as a dictionary sample (a dictionary is for
// what documents share, and one huge document would crowd out the rest).
constexpr size_t kMaxDictionarySampleBytes = size_t{64} << 10;
// A new dictionary is trained when documents compress at less than this share of the ratio
// they had with the current one at first.
constexpr double kDictionaryRetrainBelow = 0.6;
// The applier's cache of history owners (SqliteStore::owner_cache_): what an entry takes
// besides its id and attribute numbers (hash node, bucket, vector, allocator overhead, as
// glibc's malloc rounds them). SqliteTuning::max_owner_cache_bytes bounds the whole.
constexpr size_t kOwnerEntryBytes = 128;
size_t OwnerEntryBytes(const std::string& id) { return kOwnerEntryBytes + id.size(); }
constexpr size_t kMaxIdleReaders = 4;
// How long a read waits for committed writes to be applied before it gives up.
constexpr std::chrono::seconds kReadWaitLimit(60);
// The applier's connection: a 256 MiB page cache holds the pages an apply transaction
// keeps coming back to (the current epoch of the history index, the entities, their series);
// with less, a large apply spills dirty pages to the WAL before its commit and reads them
// back.
constexpr std::string_view kWriterPragmas =
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -262144;"
    "PRAGMA journal_size_limit = 536870912;"
    // Checkpoint once the WAL holds 32768 pages (256 MiB) rather than the default 1000: fewer,
    // larger checkpoints amortise the database fsync over more commits. (A checkpointer on
    // its own thread was tried: PASSIVE checkpoints never let the WAL start again from its
    // beginning under load, and appending to an ever longer WAL file doubled the bytes
    // written per update; see bench/analysis.md.)
    "PRAGMA wal_autocheckpoint = 32768;";

constexpr std::string_view kReaderPragmas =
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -16384;";

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

Result<StmtPtr> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db, rc, "prepare \"" + std::string(sql) + "\"");
  }
  return StmtPtr(stmt);
}

int BindOne(sqlite3_stmt* s, int i, std::string_view v) {
  // SQLITE_STATIC: the caller keeps the text alive until the statement is reset.
  return sqlite3_bind_text64(s, i, v.data() != nullptr ? v.data() : "", v.size(), SQLITE_STATIC,
                             SQLITE_UTF8);
}
int BindOne(sqlite3_stmt* s, int i, int64_t v) { return sqlite3_bind_int64(s, i, v); }
// Bytes to store as a BLOB rather than as text (a compressed entity document).
struct BlobView {
  std::string_view bytes;
};
int BindOne(sqlite3_stmt* s, int i, BlobView v) {
  return sqlite3_bind_blob64(s, i, v.bytes.data() != nullptr ? v.bytes.data() : "", v.bytes.size(),
                             SQLITE_STATIC);
}

// Binds `args` to parameters 1..N; returns the first failure.
template <typename... Args>
int BindAll([[maybe_unused]] sqlite3_stmt* s, const Args&... args) {
  int i = 0;
  int rc = SQLITE_OK;
  ((rc = rc == SQLITE_OK ? BindOne(s, ++i, args) : rc), ...);
  return rc;
}

// Binds, runs a statement that returns no rows, and resets it.
template <typename... Args>
Status Run(sqlite3* db, sqlite3_stmt* s, std::string_view what, const Args&... args) {
  int rc = BindAll(s, args...);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  Status st = rc == SQLITE_DONE ? Status::Ok() : SqliteStatus(db, rc, what);
  sqlite3_reset(s);
  return st;
}

// A column's bytes as they are stored, text or BLOB (an entity document may be either).
std::string ColumnBytes(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// Opens a connection with the settings every connection of the store shares.
Result<DbPtr> OpenConnection(const std::string& path, int flags, std::string_view pragmas,
                             const char* vfs = nullptr) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, vfs);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return SqliteStatus(db.get(), rc, "open " + path);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  CB_RETURN_IF_ERROR(SqliteExec(db.get(), pragmas, "configure " + path));
  return db;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// A read-only connection with its own cache of prepared statements, keyed by SQL text.
// Thread-safety: used by one thread at a time (it is leased from the pool).
class ReadConnection {
 public:
  explicit ReadConnection(DbPtr db) : db_(std::move(db)) {}
  ~ReadConnection() {
    stmts_.clear();  // finalize statements before the connection closes
    db_.reset();
  }

  sqlite3* db() const { return db_.get(); }

  // A prepared statement for `sql`, reset and ready to bind; nullptr with *status on error.
  sqlite3_stmt* Statement(const std::string& sql, Status* status) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      Result<StmtPtr> stmt = Prepare(db_.get(), sql);
      if (!stmt.ok()) {
        *status = stmt.status();
        return nullptr;
      }
      it = stmts_.emplace(sql, std::move(stmt).value()).first;
    }
    return it->second.get();
  }

 private:
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr> stmts_;
};

// Resets a statement when leaving scope (also on early return from a row loop).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ~ResetOnExit() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* s_;
};

// The SQLite implementation of Store; see the comment at the top of this file.
// Thread-safety: all public methods may be called from any thread. Done callbacks run on the
// completion thread, in commit order; they must not call SubmitSync() or Close() (that would
// wait on itself).
//
// Threads: the writer runs the group commits into the journal; the applier applies
// committed frames to the database in large transactions (and runs the WAL checkpoints
// SQLite starts after them); the completion thread runs the done callbacks of committed
// groups, so the writer starts the next commit while listeners and responses are handled.
class SqliteStore final : public Store {
 public:
  SqliteStore(StoreOptions options, SqliteTuning tuning)
      : options_(std::move(options)), tuning_(tuning) {}
  ~SqliteStore() override { Close(); }

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status Init();

  void Submit(WriteBatch batch, DoneCallback done) override;
  Status ScanEntities(const std::function<void(EntityRow&&)>& fn) override;
  Status ScanRecords(std::string_view kind, const std::function<void(Record&&)>& fn) override;
  Result<std::vector<HistoryRow>> QueryHistory(const HistoryQuery& q) override;
  StoreStats Stats() const override;
  void Close() override;

 private:
  // An entity's number in history_entities and the attributes it has history for, by
  // their numbers in attr_numbers_.
  struct HistoryOwner {
    int64_t id = 0;  // 0: not loaded yet
    std::vector<uint32_t> attrs;
  };
  using Clock = std::chrono::steady_clock;

  struct Pending {
    WriteBatch batch;
    DoneCallback done;
    size_t rows = 0;
  };

  // A document the applier defers (see deferred_docs_).
  struct DeferredDoc {
    EntityRow row;
    bool dropped = false;  // a mark that voids the entity's documents before it
  };

  // The batches of one journal frame, waiting to be applied to the database.
  struct Frame {
    uint64_t number = 0;   // journal frame number; 0 for a direct frame
    uint64_t ordinal = 0;  // position among all frames (journaled and direct), from 1
    bool direct = false;   // not journaled: acknowledged only once applied
    std::vector<WriteBatch> batches;
    size_t rows = 0;
    Clock::time_point committed_at;
  };

  // Returns a pooled read connection to the pool when it goes out of scope.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* store, std::unique_ptr<ReadConnection> conn)
        : store_(store), conn_(std::move(conn)) {}
    ~ReaderLease() { store_->ReleaseReader(std::move(conn_)); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    ReadConnection* get() const { return conn_.get(); }
    ReadConnection* operator->() const { return conn_.get(); }

   private:
    SqliteStore* store_;
    std::unique_ptr<ReadConnection> conn_;
  };

  void WriterLoop();
  void ApplierLoop();
  void CompletionLoop();
  // Writes the group's valid batches to the journal as one frame, or, for a group of at
  // least direct_group_rows, makes it a direct frame. Sets (*statuses)[i] for the batches it
  // refuses (all of them if the journal write fails); on success moves the valid batches
  // into *frame and lists their indexes in *valid.
  void CommitGroup(std::vector<Pending>& group, std::vector<Status>* statuses, Frame* frame,
                   std::vector<size_t>* valid);
  // Refuses a batch the database would refuse (constraints, SQLite's length limit), before
  // it is journaled: a committed batch must apply.
  Status ValidateBatch(const WriteBatch& b) const;
  // How an apply treats entity documents (StoreOptions::defer_docs_ms).
  struct ApplyMode {
    // Write the documents of these frames and every deferred one (otherwise this apply's
    // documents are deferred, unless they reach max_deferred_doc_bytes).
    bool write_docs = true;
    // Frames numbered up to this were applied before, all but their documents (a replay
    // after a stop with documents deferred): only their documents are applied again.
    uint64_t history_through = 0;
  };
  // Applies frames to the database in one transaction, recording the last frame's number
  // (and, when the documents were written, that the database holds them up to it).
  // *busy: it failed because another connection held the database lock, and may be tried
  // again with the same frames. *docs_written: every document applied so far is in the
  // database now. The documents it defers are moved out of `frames` (copying them cost a
  // fifth of the applier's time at a million entities); a failure after that is not busy:
  // the frames are no longer whole (the journal keeps them for the next start).
  Status ApplyFrames(std::vector<Frame>& frames, ApplyMode mode, bool* busy, bool* docs_written);
  Status ApplyBatch(WriteBatch& batch, bool docs_only, bool write_docs,
                    const std::vector<char>& keep_put, size_t* put_index);
  // Keeps `e` as its entity's newest document, to be written by WriteDeferredDocs.
  void DeferDoc(EntityRow&& e);
  // Voids the entity's deferred documents (it was deleted, or written directly).
  void DropDeferredDoc(const std::string& id);
  // Each entity's newest deferred document, dropped ones included, in id order. Counts the
  // superseded ones in window_superseded_.
  std::vector<DeferredDoc*> NewestDeferredDocs();
  // Keeps only each entity's newest deferred document; returns whether that freed at least
  // half of deferred_bytes_ (the window then goes on, see ApplyFrames).
  bool CompactDeferredDocs();
  // Writes the deferred documents (in id order, so neighbours share pages).
  Status WriteDeferredDocs();
  // Appends `e`'s document to entity_docs and points its head at it, as a document of the
  // open transaction (PutDoc) or as one a compaction moves (AppendDoc).
  Status PutDoc(const EntityRow& e);
  Status AppendDoc(const EntityRow& e, std::string_view what);
  // The stored form of a document: compressed (with the current dictionary) unless
  // compress_docs is off, written into *buffer. Samples it for a dictionary, trains and
  // stores one when the samples are complete, and watches the compression ratio.
  Result<std::string_view> EncodeDoc(std::string_view doc, std::string* buffer);
  Status TrainDictionary();
  // Drops the entity's head (its rows in entity_docs are superseded).
  Status DropHead(const std::string& id);
  // When the log of documents holds more than 2 x entities + doc_log_slack_rows rows, moves
  // the current documents among its oldest rows (at least doc_log_slack_rows of them, twice
  // what this transaction appended, and as many as the log is over that bound) to its end
  // and deletes those rows. Together the passes keep the log within about twice the
  // entities, at a cost proportional to the documents written.
  Status CompactDocs();
  Status DeleteEntity(const std::string& id);
  // Numbers the rows' entities and attributes and packs each update's instances into one
  // row, held in txn_history_ for InsertHistory.
  Status AddHistory(const std::vector<HistoryRow>& rows);
  // Inserts the held history rows, by entity (once per transaction, and before a delete).
  Status InsertHistory();
  // Records in history_epochs the time ranges of the rows added since the last call (once
  // per transaction, and before a delete, which finds an entity's rows through it).
  Status WidenEpochs();
  // Fills *owner (the entity's entry in owner_cache_) from the database when it is not
  // loaded yet, numbering the entity if it has no history so far.
  Status LoadOwner(const std::string& entity_id, HistoryOwner* owner);
  // Registers `attr` in `history_series` if the entity had no history for it yet.
  Status AddSeries(const std::string& entity_id, const std::string& attr, HistoryOwner* owner);
  // The number of an attribute name in the owner cache.
  uint32_t AttrNumber(const std::string& attr);
  void ForgetOwner(const std::string& entity_id);
  void RollbackIfActive();
  // Waits until every frame committed before the call is applied to the database, so that
  // a read sees every acknowledged write.
  // With `docs`, also until the entity documents are in the database.
  Status WaitForApplied(bool docs = false);

  Result<std::unique_ptr<ReadConnection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<ReadConnection> conn);
  Status QueryHistoryInTransaction(ReadConnection* conn, const HistoryQuery& q,
                                   std::vector<HistoryRow>* out);

  const StoreOptions options_;
  const SqliteTuning tuning_;
  size_t max_text_bytes_ = 0;  // SQLite's length limit on one value

  // The journal: Append is used by the writer thread only, DropThrough by the applier.
  std::unique_ptr<Journal> journal_;

  // The database connection and its statements: used by Init, then only by the applier
  // thread, then by Close after the applier has stopped.
  DbPtr writer_db_;
  StmtPtr begin_, commit_, rollback_;
  StmtPtr append_doc_, update_head_, insert_head_, delete_head_;
  StmtPtr select_current_docs_, delete_docs_before_, insert_dictionary_;
  StmtPtr insert_series_, select_entity_series_, delete_entity_series_;
  StmtPtr insert_owner_, select_owner_, delete_owner_;
  StmtPtr insert_history_, delete_owner_history_, widen_epoch_;
  StmtPtr upsert_record_, delete_record_, set_applied_, set_docs_frame_;
  // Applier state for history: the next seq, and a cache of entity id -> HistoryOwner.
  // Entities whose entry changed in the open transaction are listed in txn_new_owners_ and
  // dropped from the cache if it rolls back. The cache holds attribute names as numbers
  // (a city has few distinct ones) so that it can hold a million entities in ~200 MB. With
  // the names in each entry, its bound held ~570,000 entities, and at a million about every
  // other update missed it: two random reads of large indexes each.
  // owner_cache_bytes_: what the cache takes, roughly.
  int64_t next_seq_ = 1;
  std::unordered_map<std::string, HistoryOwner> owner_cache_;
  std::unordered_map<std::string, uint32_t> attr_numbers_;
  size_t owner_cache_bytes_ = 0;
  std::vector<std::string> txn_new_owners_;
  // The time range of the history rows the open transaction added to each epoch (rows
  // arrive in seq order, so a transaction spans few epochs, newest last).
  struct EpochRange {
    int64_t epoch;
    TimeMs min, max;
  };
  std::vector<EpochRange> txn_epochs_;
  // History rows of the open transaction not inserted yet, their instances in
  // txn_instances_. Inserted in order of entity, not of arrival: at a million entities
  // consecutive updates are of unrelated entities, and inserting them as they come put
  // each in a cold page of the history index (history_by_epoch_owner_time); in entity
  // order the inserts walk the index's pages in order.
  struct PendingHistory {
    int64_t owner;
    TimeMs observed_at;
    size_t offset, size;  // of the instances in txn_instances_
  };
  std::vector<PendingHistory> txn_history_;
  std::string txn_instances_;
  // Applier state for deferred entity documents: the documents put since they were last
  // written, in the order they came (an entity's last entry is its newest; a `dropped`
  // one voids those before it), their size, and when the oldest came. How a window keeps
  // them is chosen when it starts, from the window before:
  // - by entity (deferred_by_entity_), when many of its documents superseded others: an
  //   entity's documents share one entry, found through deferred_index_, and only the
  //   first is compressed when deferred (the later ones may be superseded too);
  // - in arrival order otherwise: each document is a new entry, compressed when deferred,
  //   with no lookup. At a million entities nearly every document is its entity's only one
  //   in a window, and the index's lookups, nodes and key copies (all cache misses) cost
  //   more than the few superseded documents compressed for nothing. Superseded entries
  //   go when the documents reach max_deferred_doc_bytes (CompactDeferredDocs) and when
  //   they are written.
  std::vector<DeferredDoc> deferred_docs_;
  std::unordered_map<std::string, size_t> deferred_index_;
  bool deferred_by_entity_ = true;
  // This window's documents deferred, and how many of them a later one superseded.
  uint64_t window_docs_ = 0;
  uint64_t window_superseded_ = 0;
  size_t deferred_bytes_ = 0;
  Clock::time_point deferred_since_;
  // Applier state for the log of documents: its rows are the seqs [oldest_seq, next_seq),
  // and `live` rows of entity_heads point into it (restored if a transaction rolls back).
  // doc_log_moved_: current rows moved by compactions since the store opened.
  // txn_docs_appended_: documents the open transaction appended.
  struct DocLog {
    int64_t oldest_seq = 1;
    int64_t next_seq = 1;
    int64_t live = 0;
  };
  DocLog doc_log_;
  uint64_t doc_log_moved_ = 0;
  int64_t txn_docs_appended_ = 0;
  // Documents are compressed with a dictionary trained on the store's own documents
  // (doc_codec.h): the codec holds every dictionary in doc_dictionaries. Applier state: while
  // `sampling`, the documents it writes are also gathered in `samples` until they hold
  // SqliteTuning::doc_dictionary_sample_bytes, then a dictionary is trained on them, stored
  // in the open transaction and used from then on (`txn_id`: the one it stored, forgotten if
  // the transaction rolls back). Every doc_dictionary_check_docs documents the ratio they
  // compressed at is compared with the first such window's (`baseline`): when the documents
  // have changed so much that it fell below kDictionaryRetrainBelow of it, sampling starts
  // again for a new dictionary.
  struct DictionaryTraining {
    bool sampling = true;
    std::string samples;
    std::vector<size_t> sizes;
    uint32_t txn_id = 0;
    uint32_t previous_id = 0;  // the current dictionary before txn_id
    uint64_t window_docs = 0, window_in = 0, window_out = 0;
    double baseline = 0;
    void StartWindow() { window_docs = window_in = window_out = 0; }
  };
  DocCodec doc_codec_;
  DictionaryTraining dict_;
  std::thread writer_;
  std::thread applier_;

  // Committed groups whose callbacks are still to run, oldest first.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::deque<std::vector<std::pair<DoneCallback, Status>>> done_queue_;
  bool done_closing_ = false;  // guarded by done_mu_; the writer has stopped
  std::thread completer_;

  mutable std::mutex mu_;  // guards the queues, the flags and the statistics below
  std::condition_variable work_cv_;     // the writer waits for batches
  std::condition_variable apply_cv_;    // the applier waits for frames (or a reason to apply)
  std::condition_variable applied_cv_;  // readers wait for frames to be applied
  std::deque<Pending> queue_;
  size_t queued_rows_ = 0;
  std::deque<Frame> unapplied_;  // committed frames, oldest first
  size_t unapplied_rows_ = 0;
  uint64_t committed_frame_ = 0;  // the last frame written to the journal
  uint64_t applied_frame_ = 0;    // the last frame applied to the database
  // The database holds the entity documents of every frame up to this one (<= applied_frame_;
  // the journal keeps the frames after it).
  uint64_t docs_frame_ = 0;
  size_t apply_waiters_ = 0;      // readers waiting for the applier
  size_t docs_waiters_ = 0;       // readers waiting for the deferred documents
  bool docs_deferred_ = false;    // the applier holds documents not yet in the database
  Clock::time_point docs_due_;    // ... to be written by then
  Clock::time_point last_commit_at_;  // of the newest journaled frame
  uint64_t next_ordinal_ = 1;     // used by the writer thread only
  uint64_t applied_ordinal_ = 0;  // the last frame applied, journaled or direct
  bool direct_waiting_ = false;   // the writer waits for frame direct_ordinal_ to be applied
  uint64_t direct_ordinal_ = 0;
  Status failed_;                 // a journal or apply failure: no more writes
  bool closing_ = false;          // no more submissions; the writer drains the queue and stops
  bool writer_stopped_ = false;   // the applier applies what is left and stops
  bool applier_stopped_ = false;
  StoreStats stats_;

  std::mutex close_mu_;  // serialises Close()
  bool closed_ = false;  // guarded by close_mu_

  std::mutex read_mu_;  // guards the idle readers and readers_closed_
  std::vector<std::unique_ptr<ReadConnection>> idle_readers_;
  bool readers_closed_ = false;
};

Status SqliteStore::Init() {
  if (options_.path.empty()) return Status::InvalidRequest("store: empty database path");
  if (options_.applier_nice < 0 || options_.applier_nice > 19) {
    return Status::InvalidRequest("store: applier_nice must be within 0..19");
  }
  // The page size takes effect only when the file is created. 8 KiB pages hold the JSON
  // documents with less overhead; the writer used ~10% less CPU than with 4 KiB. (4 KiB
  // pages halve what a random single-entity update dirties, but were only tried together
  // with the checkpointer thread; see bench/analysis.md.)
  // The writer connection (the only one that writes) goes through the paced VFS, so that the
  // applier's large commits and checkpoints do not stall the journal's fdatasync.
  CB_RETURN_IF_ERROR(RegisterPacedVfs(kPaceChunkBytes));
  Result<DbPtr> db = OpenConnection(options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                    "PRAGMA page_size = 8192", kPacedVfsName);
  if (!db.ok()) return db.status();
  writer_db_ = std::move(db).value();
  sqlite3* w = writer_db_.get();

  // journal_mode is the first statement that reads the file: a file that is not a database
  // fails here. It answers with the mode in force, which must be WAL.
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(w, "PRAGMA journal_mode = WAL", -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return SqliteStatus(w, rc, "open " + options_.path);
    rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return SqliteStatus(w, rc, "open " + options_.path);
    const std::string mode = ColumnText(stmt.get(), 0);
    if (mode != "wal") {
      return Status::Internal("store: " + options_.path + ": cannot use WAL journal mode (got \"" +
                              mode + "\")");
    }
  }
  CB_RETURN_IF_ERROR(SqliteExec(w,
                                options_.durability == Durability::kFsync
                                    ? "PRAGMA synchronous = FULL"
                                    : "PRAGMA synchronous = NORMAL",
                                "set synchronous"));
  CB_RETURN_IF_ERROR(SqliteExec(w, kWriterPragmas, "configure " + options_.path));
  CB_RETURN_IF_ERROR(MigrateSqliteSchema(w, options_.path));

  struct {
    StmtPtr* stmt;
    std::string_view sql;
  } const statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&append_doc_,
       "INSERT INTO entity_docs(seq, id, type, doc, modified_at) VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&update_head_, "UPDATE entity_heads SET doc_seq = ?2 WHERE id = ?1"},
      {&insert_head_, "INSERT INTO entity_heads(id, doc_seq) VALUES(?1, ?2)"},
      {&delete_head_, "DELETE FROM entity_heads WHERE id = ?1"},
      // CROSS JOIN keeps entity_docs the outer loop: a range of the log, read in order, with
      // a lookup of each row's head.
      {&select_current_docs_,
       "SELECT d.seq, d.id, d.type, d.doc, d.modified_at FROM entity_docs d "
       "CROSS JOIN entity_heads h ON h.id = d.id AND h.doc_seq = d.seq "
       "WHERE d.seq >= ?1 AND d.seq < ?2 ORDER BY d.seq LIMIT ?3"},
      {&delete_docs_before_, "DELETE FROM entity_docs WHERE seq < ?1"},
      {&insert_dictionary_, "INSERT INTO doc_dictionaries(id, dict) VALUES(?1, ?2)"},
      {&insert_series_, "INSERT INTO history_series(owner, attr) VALUES(?1, ?2)"},
      {&select_entity_series_, "SELECT attr FROM history_series WHERE owner = ?1"},
      {&delete_entity_series_, "DELETE FROM history_series WHERE owner = ?1"},
      {&insert_owner_, "INSERT INTO history_entities(entity_id) VALUES(?1)"},
      {&select_owner_, "SELECT id FROM history_entities WHERE entity_id = ?1"},
      {&delete_owner_, "DELETE FROM history_entities WHERE id = ?1"},
      {&insert_history_,
       "INSERT INTO history(seq, epoch, owner, observed_at, instances) "
       "VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&delete_owner_history_,
       "DELETE FROM history WHERE epoch IN (SELECT epoch FROM history_epochs) AND owner = ?1"},
      {&widen_epoch_,
       "INSERT INTO history_epochs(epoch, min_observed_at, max_observed_at) VALUES(?1, ?2, ?3) "
       "ON CONFLICT(epoch) DO UPDATE SET "
       "min_observed_at = min(min_observed_at, excluded.min_observed_at), "
       "max_observed_at = max(max_observed_at, excluded.max_observed_at)"},
      {&upsert_record_,
       "INSERT INTO records(kind, key, doc) VALUES(?1, ?2, ?3) "
       "ON CONFLICT(kind, key) DO UPDATE SET doc = excluded.doc"},
      {&delete_record_, "DELETE FROM records WHERE kind = ?1 AND key = ?2"},
      {&set_applied_,
       "INSERT INTO store_state(key, value) VALUES('applied_frame', ?1) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&set_docs_frame_,
       "INSERT INTO store_state(key, value) VALUES('docs_frame', ?1) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
  };
  for (const auto& s : statements) {
    Result<StmtPtr> stmt = Prepare(w, s.sql);
    if (!stmt.ok()) return stmt.status();
    *s.stmt = std::move(stmt).value();
  }
  max_text_bytes_ = static_cast<size_t>(sqlite3_limit(w, SQLITE_LIMIT_LENGTH, -1));

  {
    Result<StmtPtr> max_seq = Prepare(w, "SELECT max(seq) FROM history");
    if (!max_seq.ok()) return max_seq.status();
    const int rc = sqlite3_step(max_seq->get());
    if (rc != SQLITE_ROW) return SqliteStatus(w, rc, "read history sequence");
    next_seq_ = sqlite3_column_int64(max_seq->get(), 0) + 1;  // NULL (empty) reads as 0
  }
  {
    Result<StmtPtr> range = Prepare(
        w, "SELECT min(seq), max(seq), (SELECT count(*) FROM entity_heads) FROM entity_docs");
    if (!range.ok()) return range.status();
    const int rc = sqlite3_step(range->get());
    if (rc != SQLITE_ROW) return SqliteStatus(w, rc, "read the log of entity documents");
    doc_log_.next_seq = sqlite3_column_int64(range->get(), 1) + 1;
    doc_log_.oldest_seq = sqlite3_column_type(range->get(), 0) == SQLITE_NULL
                              ? doc_log_.next_seq
                              : sqlite3_column_int64(range->get(), 0);
    doc_log_.live = sqlite3_column_int64(range->get(), 2);
  }
  {
    Result<StmtPtr> dicts = Prepare(w, "SELECT id, dict FROM doc_dictionaries ORDER BY seq");
    if (!dicts.ok()) return dicts.status();
    sqlite3_stmt* s = dicts->get();
    uint32_t newest = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const auto id = static_cast<uint32_t>(sqlite3_column_int64(s, 0));
      CB_RETURN_IF_ERROR(doc_codec_.Add(ColumnBytes(s, 1)));
      if (!doc_codec_.Has(id)) {
        return Status::Internal("store: " + options_.path + ": document dictionary " +
                                std::to_string(id) + " holds another id");
      }
      newest = id;
    }
    if (rc != SQLITE_DONE) return SqliteStatus(w, rc, "read the document dictionaries");
    if (newest != 0) {
      CB_RETURN_IF_ERROR(doc_codec_.SetCurrent(newest));
      dict_.sampling = false;
    }
  }
  {
    Result<StmtPtr> state = Prepare(
        w, "SELECT key, value FROM store_state WHERE key IN ('applied_frame', 'docs_frame')");
    if (!state.ok()) return state.status();
    bool have_docs_frame = false;
    int rc;
    while ((rc = sqlite3_step(state->get())) == SQLITE_ROW) {
      const auto value = static_cast<uint64_t>(sqlite3_column_int64(state->get(), 1));
      if (ColumnText(state->get(), 0) == "applied_frame") {
        applied_frame_ = value;
      } else {
        docs_frame_ = value;
        have_docs_frame = true;
      }
    }
    if (rc != SQLITE_DONE) return SqliteStatus(w, rc, "read the applied journal frame");
    if (!have_docs_frame) {
      // A new database, or one written before documents were deferred (it holds them with
      // the rest): from now on the row is always there, so its absence never hides
      // documents still in the journal.
      docs_frame_ = applied_frame_;
      CB_RETURN_IF_ERROR(Run(w, set_docs_frame_.get(), "record the journal frame of the documents",
                             static_cast<int64_t>(docs_frame_)));
    }
    if (docs_frame_ > applied_frame_) {
      return Status::Internal("store: " + options_.path + ": store_state says the documents go "
                              "further (frame " + std::to_string(docs_frame_) +
                              ") than the rest (frame " + std::to_string(applied_frame_) + ")");
    }
  }

  // Replay what the journal holds beyond the database (the process stopped before applying
  // it), then start appending to a fresh segment. Frames up to applied_frame_ lack only
  // their entity documents (they were deferred): only those are applied again.
  {
    JournalOptions jo;
    jo.database_path = options_.path;
    jo.sync = options_.durability == Durability::kFsync;
    jo.segment_bytes = tuning_.journal_segment_bytes;
    std::vector<JournalFrame> replay;
    Result<std::unique_ptr<Journal>> journal = Journal::Open(jo, docs_frame_, &replay);
    if (!journal.ok()) return journal.status();
    journal_ = std::move(journal).value();
    if (journal_->next_number() <= applied_frame_) {
      // The frames after docs_frame_ hold documents the database lacks, and they are gone.
      return Status::Internal("store: " + options_.path + ": the journal lacks frames " +
                              std::to_string(docs_frame_ + 1) + ".." +
                              std::to_string(applied_frame_) +
                              " (entity documents not yet in the database); refusing to open");
    }
    if (!replay.empty()) {
      const auto start = Clock::now();
      size_t rows = 0;
      std::vector<Frame> frames;
      size_t frame_rows = 0;
      ApplyMode mode;
      mode.history_through = applied_frame_;
      auto apply = [&]() -> Status {
        bool busy = false, docs_written = false;
        CB_RETURN_IF_ERROR(ApplyFrames(frames, mode, &busy, &docs_written));
        applied_frame_ = std::max(applied_frame_, frames.back().number);
        docs_frame_ = applied_frame_;
        frames.clear();
        frame_rows = 0;
        return Status::Ok();
      };
      for (JournalFrame& jf : replay) {
        Frame f;
        f.number = jf.number;
        CB_RETURN_IF_ERROR(DecodeBatches(jf.payload, &f.batches));
        std::string().swap(jf.payload);
        for (const WriteBatch& b : f.batches) f.rows += b.size();
        rows += f.rows;
        frame_rows += f.rows;
        frames.push_back(std::move(f));
        if (frame_rows >= options_.max_apply_rows) CB_RETURN_IF_ERROR(apply());
      }
      if (!frames.empty()) CB_RETURN_IF_ERROR(apply());
      spdlog::info("store: replayed {} journal frames ({} rows) into {} in {:.0f} ms",
                   replay.size(), rows, options_.path, MillisSince(start));
    }
    docs_frame_ = applied_frame_;  // (everything replayed was applied with its documents)
    journal_->DropThrough(applied_frame_);
    committed_frame_ = applied_frame_;
  }

  stats_.doc_log_rows = static_cast<uint64_t>(doc_log_.next_seq - doc_log_.oldest_seq);
  stats_.doc_log_moved = doc_log_moved_;

  // Open one reader now so that a problem with read connections shows at open time.
  Result<std::unique_ptr<ReadConnection>> reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  ReleaseReader(std::move(reader).value());

  writer_ = std::thread([this] { WriterLoop(); });
  applier_ = std::thread([this] { ApplierLoop(); });
  completer_ = std::thread([this] { CompletionLoop(); });
  return Status::Ok();
}

void SqliteStore::CompletionLoop() {
  pthread_setname_np(pthread_self(), "cb-store-done");
  std::unique_lock<std::mutex> lock(done_mu_);
  for (;;) {
    done_cv_.wait(lock, [this] { return !done_queue_.empty() || done_closing_; });
    if (done_queue_.empty()) return;  // the writer stopped and everything ran
    std::vector<std::pair<DoneCallback, Status>> callbacks = std::move(done_queue_.front());
    done_queue_.pop_front();
    lock.unlock();
    for (auto& [done, status] : callbacks) done(status);
    callbacks.clear();  // destroy the callbacks (and what they hold) outside the lock
    lock.lock();
  }
}

void SqliteStore::Submit(WriteBatch batch, DoneCallback done) {
  const size_t rows = batch.size();
  Status refusal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t pending = queued_rows_ + unapplied_rows_;
    if (closing_) {
      refusal = Status::Unavailable("store: closed");
    } else if (!failed_.ok()) {
      refusal = Status::Unavailable("store: failed earlier, restart the server: " +
                                    failed_.message());
    } else if (pending > 0 && pending + rows > options_.max_queue_rows) {
      // (With nothing pending any batch is taken, so one larger than the limit is not
      // refused forever.)
      refusal = Status::TooManyRequests("store: write queue full (" + std::to_string(pending) +
                                        " rows pending); retry later");
    } else {
      const bool was_empty = queue_.empty();
      queue_.push_back(Pending{std::move(batch), std::move(done), rows});
      queued_rows_ += rows;
      stats_.queued_rows = queued_rows_;
      // The writer waits only on an empty queue; otherwise it looks again by itself.
      if (was_empty) work_cv_.notify_one();
      return;
    }
  }
  if (done) done(refusal);  // outside the lock: the callback may submit again
}

void SqliteStore::WriterLoop() {
  pthread_setname_np(pthread_self(), "cb-store-write");
  std::vector<Pending> group;
  std::vector<Status> statuses;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything is committed
      // The applier is behind: let it catch up (it never waits for the writer).
      applied_cv_.wait(lock, [this] {
        return unapplied_rows_ < options_.max_unapplied_rows || !failed_.ok() ||
               applier_stopped_;
      });
      if (tuning_.before_group) {
        lock.unlock();
        tuning_.before_group();
        lock.lock();
      }
      size_t rows = 0;
      do {
        rows += queue_.front().rows;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      } while (!queue_.empty() && rows + queue_.front().rows <= options_.max_group_rows);
      queued_rows_ -= rows;
      stats_.queued_rows = queued_rows_;
    }
    Frame frame;
    std::vector<size_t> valid;
    const auto start = Clock::now();
    CommitGroup(group, &statuses, &frame, &valid);
    if (frame.ordinal != 0) {
      // Before the callbacks run: a reader told of this write must find the frame.
      std::unique_lock<std::mutex> lock(mu_);
      const bool start_timer = unapplied_.empty();
      const uint64_t ordinal = frame.ordinal;
      const bool direct = frame.direct;
      const size_t rows = frame.rows;
      unapplied_rows_ += frame.rows;
      stats_.unapplied_rows = unapplied_rows_;
      if (!direct) {
        committed_frame_ = frame.number;
        last_commit_at_ = frame.committed_at;
      }
      unapplied_.push_back(std::move(frame));
      if (direct) {
        // Acknowledged once the applier has committed it (and everything before it).
        direct_waiting_ = true;
        direct_ordinal_ = ordinal;
        apply_cv_.notify_one();
        applied_cv_.wait(lock, [&] {
          return applied_ordinal_ >= ordinal || !failed_.ok() || applier_stopped_;
        });
        const Status st = applied_ordinal_ >= ordinal ? Status::Ok()
                          : !failed_.ok()             ? failed_
                                                      : Status::Unavailable("store: closed");
        for (size_t i : valid) statuses[i] = st;
        const double ms = MillisSince(start);
        stats_.commits += 1;
        stats_.rows_committed += st.ok() ? rows : 0;
        stats_.last_commit_ms = ms;
        stats_.commit_ms_total += ms;
      } else if (start_timer || unapplied_rows_ >= options_.apply_after_rows) {
        apply_cv_.notify_one();
      }
    }
    std::vector<std::pair<DoneCallback, Status>> callbacks;
    callbacks.reserve(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      if (group[i].done) callbacks.emplace_back(std::move(group[i].done), statuses[i]);
    }
    if (!callbacks.empty()) {
      {
        std::lock_guard<std::mutex> lock(done_mu_);
        done_queue_.push_back(std::move(callbacks));
      }
      done_cv_.notify_one();
    }
    group.clear();
  }
}

Status SqliteStore::ValidateBatch(const WriteBatch& b) const {
  auto too_long = [this](std::string_view what, const std::string& v) {
    return v.size() > max_text_bytes_
               ? Status::TooLarge("store: " + std::string(what) + ": a value of " +
                                  std::to_string(v.size()) + " bytes is over the limit of " +
                                  std::to_string(max_text_bytes_))
               : Status::Ok();
  };
  for (const EntityRow& e : b.put_entities) {
    if (e.id.empty()) return Status::BadRequestData("store: put entity: the id is empty");
    for (const std::string* v : {&e.id, &e.type, &e.doc}) {
      CB_RETURN_IF_ERROR(too_long("put entity", *v));
    }
  }
  for (const HistoryRow& h : b.history) {
    if (h.entity_id.empty() || h.attr.empty()) {
      return Status::BadRequestData("store: insert history: the entity id or attribute is empty");
    }
    for (const std::string* v : {&h.entity_id, &h.attr, &h.value}) {
      CB_RETURN_IF_ERROR(too_long("insert history", *v));
    }
  }
  for (const Record& r : b.put_records) {
    if (r.kind.empty()) return Status::BadRequestData("store: put record: the kind is empty");
    for (const std::string* v : {&r.kind, &r.key, &r.doc}) {
      CB_RETURN_IF_ERROR(too_long("put record", *v));
    }
  }
  for (const std::string& id : b.delete_entities) CB_RETURN_IF_ERROR(too_long("delete entity", id));
  for (const Record& r : b.delete_records) {
    CB_RETURN_IF_ERROR(too_long("delete record", r.kind));
    CB_RETURN_IF_ERROR(too_long("delete record", r.key));
  }
  return Status::Ok();
}

void SqliteStore::CommitGroup(std::vector<Pending>& group, std::vector<Status>* statuses,
                              Frame* frame, std::vector<size_t>* valid_out) {
  statuses->assign(group.size(), Status::Ok());
  const auto start = Clock::now();
  std::vector<size_t>& valid = *valid_out;
  std::vector<const WriteBatch*> batches;
  size_t rows = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].rows == 0) continue;  // an empty batch (a barrier): nothing to write
    Status st = ValidateBatch(group[i].batch);
    if (!st.ok()) {
      (*statuses)[i] = std::move(st);
      continue;
    }
    valid.push_back(i);
    batches.push_back(&group[i].batch);
    rows += group[i].rows;
  }
  size_t empty = 0;
  for (const Pending& p : group) empty += p.rows == 0 ? 1 : 0;
  if (batches.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.batches_committed += empty;
    return;
  }
  // A store that failed earlier takes nothing more (Submit refuses too, but these were
  // queued before).
  Status failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed = failed_;
  }
  // A group of large batches gains nothing from the journal: its own transaction already
  // shares pages between many rows, and writing the rows twice would only add bytes. A
  // large group of small batches (many single-entity updates at once) is journaled like
  // any other: its rows are scattered, and applying it directly would make every writer
  // wait for the applier to catch up first.
  const bool direct = failed.ok() && rows >= options_.direct_group_rows &&
                      rows >= options_.direct_batch_rows * batches.size();
  Result<uint64_t> number = [&]() -> Result<uint64_t> {
    if (!failed.ok()) return failed;
    if (direct) return uint64_t{0};
    thread_local std::string payload;
    EncodeBatches(batches, &payload);
    Result<uint64_t> appended = journal_->Append(payload);
    if (payload.capacity() > (size_t{16} << 20)) std::string().swap(payload);
    return appended;
  }();
  if (!number.ok()) {
    for (size_t i : valid) (*statuses)[i] = number.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok()) {
      failed_ = number.status();
      spdlog::error("store: the journal write failed, refusing further writes: {}",
                    failed_.ToString());
    }
    applied_cv_.notify_all();
    return;
  }
  frame->number = *number;
  frame->direct = direct;
  frame->ordinal = next_ordinal_++;
  frame->rows = rows;
  frame->committed_at = Clock::now();
  frame->batches.reserve(valid.size());
  for (size_t i : valid) frame->batches.push_back(std::move(group[i].batch));
  const double ms = MillisSince(start);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.batches_committed += valid.size() + empty;
  if (direct) return;  // WriterLoop counts the commit once it is applied
  stats_.commits += 1;
  stats_.rows_committed += rows;
  stats_.last_commit_ms = ms;
  stats_.commit_ms_total += ms;
}

void SqliteStore::ApplierLoop() {
  pthread_setname_np(pthread_self(), "cb-store-apply");
  // Linux gives each thread its own nice value; raising it needs no privilege. Should it
  // fail, the applier only keeps the same priority as the other threads.
  if (options_.applier_nice > 0) {
    const int nice = std::min(19, getpriority(PRIO_PROCESS, 0) + options_.applier_nice);
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0) {
      spdlog::warn("store: could not lower the applier's priority (nice {}): {}",
                   options_.applier_nice, std::strerror(errno));
    }
  }
  const auto delay = std::chrono::milliseconds(std::max(0, options_.apply_after_ms));
  const auto idle = std::chrono::milliseconds(std::max(0, options_.apply_when_idle_ms));
  std::vector<Frame> frames;
  for (;;) {
    size_t rows = 0;
    ApplyMode mode;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (!failed_.ok()) {
          applier_stopped_ = true;
          applied_cv_.notify_all();
          return;
        }
        const auto now = Clock::now();
        // Writes have paused: waiting longer shares no more pages.
        const bool paused = idle.count() > 0 && now >= last_commit_at_ + idle;
        // The documents are to be written with this apply (or alone, if none is due).
        mode.write_docs = options_.defer_docs_ms <= 0 || writer_stopped_ || docs_waiters_ > 0 ||
                          direct_waiting_ || paused || (docs_deferred_ && now >= docs_due_);
        if (unapplied_.empty()) {
          if (docs_deferred_ && mode.write_docs) break;  // the documents alone
          if (writer_stopped_) {
            applier_stopped_ = true;
            applied_cv_.notify_all();
            return;
          }
          if (!docs_deferred_) {
            apply_cv_.wait(lock);
          } else {
            apply_cv_.wait_until(
                lock, idle.count() > 0 ? std::min(docs_due_, last_commit_at_ + idle) : docs_due_);
          }
          continue;
        }
        // The newest frame's commit time moves on while commits keep coming; the wait
        // below wakes at the idle deadline it saw and checks again.
        auto due = idle.count() > 0 ? std::min(unapplied_.front().committed_at + delay,
                                               unapplied_.back().committed_at + idle)
                                    : unapplied_.front().committed_at + delay;
        if (writer_stopped_ || apply_waiters_ > 0 || docs_waiters_ > 0 || direct_waiting_ ||
            unapplied_rows_ >= options_.apply_after_rows || now >= due) {
          break;
        }
        if (docs_deferred_) due = std::min(due, docs_due_);
        apply_cv_.wait_until(lock, due);
      }
      while (!unapplied_.empty() &&
             (frames.empty() || rows + unapplied_.front().rows <= options_.max_apply_rows)) {
        rows += unapplied_.front().rows;
        frames.push_back(std::move(unapplied_.front()));
        unapplied_.pop_front();
      }
    }
    // A direct frame is not in the journal: the documents before it must not depend on
    // frames the journal keeps, nor be written after its own (see ApplyBatch).
    for (const Frame& f : frames) mode.write_docs = mode.write_docs || f.direct;
    if (tuning_.before_apply) tuning_.before_apply();
    const auto start = Clock::now();
    Status st;
    // Another connection holding the database lock past the busy timeout (a backup, an
    // operator's sqlite3 shell) delays the apply; the frames are safe in the journal, and
    // back-pressure stops writers if it lasts. Only a closing store gives up.
    bool docs_written = false;
    for (int attempt = 1;; ++attempt) {
      bool busy = false;
      st = ApplyFrames(frames, mode, &busy, &docs_written);
      if (st.ok() || !busy) break;
      bool closing;
      {
        std::lock_guard<std::mutex> lock(mu_);
        closing = writer_stopped_;
      }
      if (closing && attempt >= 12) break;
      spdlog::warn("store: the database is locked by another connection; apply retry {}",
                   attempt);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const double ms = MillisSince(start);
    uint64_t last = 0;  // the last journal frame among them (0: all direct)
    for (const Frame& f : frames) last = std::max(last, f.number);
    uint64_t drop_through = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (st.ok()) {
        applied_frame_ = std::max(applied_frame_, last);
        if (!frames.empty()) {
          applied_ordinal_ = frames.back().ordinal;
          if (applied_ordinal_ >= direct_ordinal_) direct_waiting_ = false;
        }
        if (docs_written) {
          docs_frame_ = applied_frame_;
          drop_through = docs_frame_;
        }
        const bool was_deferred = docs_deferred_;
        docs_deferred_ = !deferred_docs_.empty();
        if (docs_deferred_ && !was_deferred) {
          docs_due_ = deferred_since_ + std::chrono::milliseconds(options_.defer_docs_ms);
        }
        stats_.deferred_docs = deferred_docs_.size();
        stats_.doc_log_rows = static_cast<uint64_t>(doc_log_.next_seq - doc_log_.oldest_seq);
        stats_.doc_log_moved = doc_log_moved_;
        unapplied_rows_ -= rows;
        stats_.unapplied_rows = unapplied_rows_;
        stats_.applies += 1;
        stats_.rows_applied += rows;
        stats_.last_apply_ms = ms;
        stats_.apply_ms_total += ms;
      } else {
        failed_ = st;
        spdlog::error(
            "store: applying committed writes to the database failed, refusing further "
            "writes; they are kept in the journal and applied at the next start: {}",
            st.ToString());
      }
    }
    applied_cv_.notify_all();
    frames.clear();  // free the rows outside the lock
    if (drop_through != 0) journal_->DropThrough(drop_through);
  }
}

Status SqliteStore::WaitForApplied(bool docs) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = committed_frame_;
  // Documents of direct frames are written with them; deferred ones are counted here.
  auto reached = [&] {
    return applied_frame_ >= target && (!docs || !docs_deferred_);
  };
  if (reached()) return Status::Ok();
  size_t& waiters = docs ? docs_waiters_ : apply_waiters_;
  ++waiters;
  apply_cv_.notify_one();
  // Applying takes well under a second; a minute means another connection holds the
  // database lock (see ApplierLoop).
  const bool done = applied_cv_.wait_for(
      lock, kReadWaitLimit, [&] { return reached() || !failed_.ok() || applier_stopped_; });
  --waiters;
  if (reached()) return Status::Ok();
  if (!done) {
    return Status::Unavailable(
        "store: the database has been locked by another connection for too long; retry later");
  }
  if (!failed_.ok()) return failed_;
  return Status::Unavailable("store: closed");
}

Status SqliteStore::ApplyFrames(std::vector<Frame>& frames, ApplyMode mode, bool* busy,
                                bool* docs_written) {
  *busy = false;
  *docs_written = false;
  sqlite3* w = writer_db_.get();
  const int64_t seq_at_begin = next_seq_;
  const DocLog doc_log_at_begin = doc_log_;
  const uint64_t moved_at_begin = doc_log_moved_;
  txn_docs_appended_ = 0;
  txn_new_owners_.clear();
  // Undoes the transaction, in the database and in the applier's own state. (The deferred
  // documents need no undoing: they are the newest of frames that were committed, and the
  // frames are applied again, here or at the next start, only while they were not taken.)
  bool docs_taken = false;  // documents were moved out of `frames`
  auto rollback = [&](Status st) {
    *busy = (sqlite3_extended_errcode(w) & 0xff) == SQLITE_BUSY && !docs_taken;
    RollbackIfActive();
    next_seq_ = seq_at_begin;
    txn_history_.clear();
    txn_instances_.clear();
    doc_log_ = doc_log_at_begin;
    doc_log_moved_ = moved_at_begin;
    txn_epochs_.clear();
    for (const std::string& entity_id : txn_new_owners_) ForgetOwner(entity_id);
    txn_new_owners_.clear();
    if (dict_.txn_id != 0) {  // the dictionary's row is gone: so are the documents using it
      doc_codec_.Remove(dict_.txn_id);
      (void)doc_codec_.SetCurrent(dict_.previous_id);  // known: it was current before
      dict_.txn_id = 0;
      dict_.sampling = true;
    }
    return st;
  };
  // Written now, an entity put twice in these frames is written once, with its last
  // document: the later put supersedes the whole document, and a delete between the two
  // drops the entity anyway. This is where many updates of the same entities share their
  // writes.
  std::vector<char> keep_put;
  if (mode.write_docs) {
    std::vector<const std::string*> ids;
    for (const Frame& f : frames) {
      for (const WriteBatch& b : f.batches) {
        for (const EntityRow& e : b.put_entities) ids.push_back(&e.id);
      }
    }
    keep_put.assign(ids.size(), 1);
    std::unordered_set<std::string_view> later;
    later.reserve(ids.size());
    for (size_t i = ids.size(); i-- > 0;) {
      if (!later.insert(*ids[i]).second) keep_put[i] = 0;
    }
  }
  {
    Status st = Run(w, begin_.get(), "begin transaction");
    if (!st.ok()) return rollback(st);
  }
  size_t put_index = 0;
  for (Frame& f : frames) {
    const bool docs_only = f.number != 0 && f.number <= mode.history_through;
    for (WriteBatch& b : f.batches) {
      docs_taken = docs_taken || (!mode.write_docs && !b.put_entities.empty());
      Status st = ApplyBatch(b, docs_only, mode.write_docs, keep_put, &put_index);
      if (!st.ok()) return rollback(st);
    }
  }
  uint64_t last = 0;
  for (const Frame& f : frames) last = std::max(last, f.number);
  uint64_t applied;
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied = std::max(applied_frame_, last);
  }
  // (With nothing deferred, recording how far the documents go costs one small row.)
  // At max_deferred_doc_bytes the superseded documents go first; the window goes on if that
  // freed at least half (many updates of fewer entities than the bytes hold).
  const bool write_docs =
      mode.write_docs || deferred_docs_.empty() ||
      (deferred_bytes_ >= options_.max_deferred_doc_bytes && !CompactDeferredDocs());
  Status st = InsertHistory();
  if (st.ok()) st = WidenEpochs();
  if (st.ok() && write_docs) {
    st = WriteDeferredDocs();
    if (st.ok()) st = CompactDocs();
    if (st.ok() && applied != 0) {
      st = Run(w, set_docs_frame_.get(), "record the journal frame of the documents",
               static_cast<int64_t>(applied));
    }
  }
  if (st.ok() && last != 0) {
    st = Run(w, set_applied_.get(), "record the applied journal frame",
             static_cast<int64_t>(last));
  }
  if (st.ok()) st = Run(w, commit_.get(), "commit");
  if (!st.ok()) return rollback(st);
  txn_new_owners_.clear();
  dict_.txn_id = 0;
  if (write_docs) {
    deferred_docs_.clear();
    deferred_index_.clear();
    deferred_bytes_ = 0;
    // The next window keeps its documents by entity if at least a quarter of this one's
    // were superseded. (Only while none are held: DropDeferredDoc by entity finds them all.)
    if (window_docs_ != 0) deferred_by_entity_ = window_superseded_ * 4 >= window_docs_;
    window_docs_ = 0;
    window_superseded_ = 0;
    *docs_written = true;
  }
  return Status::Ok();
}

// What a deferred document counts toward max_deferred_doc_bytes: its strings and, roughly,
// its entry in deferred_docs_ and (by entity) deferred_index_'s node and copy of the id.
size_t DocBytes(const EntityRow& e) {
  return 2 * e.id.size() + e.type.size() + e.doc.size() + 2 * sizeof(EntityRow);
}

void SqliteStore::DeferDoc(EntityRow&& e) {
  if (deferred_docs_.empty()) deferred_since_ = Clock::now();
  ++window_docs_;
  if (deferred_by_entity_) {
    auto [it, added] = deferred_index_.try_emplace(e.id, deferred_docs_.size());
    if (!added) {
      DeferredDoc& d = deferred_docs_[it->second];
      deferred_bytes_ -= DocBytes(d.row);
      deferred_bytes_ += DocBytes(e);
      if (!d.dropped) ++window_superseded_;
      d = DeferredDoc{std::move(e), false};
      return;
    }
  }
  // Compressed now, not when written: the document as rendered (~3.5x the size) would stay
  // on the heap for the whole window, and at a million entities the HTTP threads then
  // render each new one into fresh, cold pages (page faults, cache misses) instead of
  // memory just freed; the window would also reach max_deferred_doc_bytes sooner. Only
  // with a dictionary already in the database: not while sampling for one, nor one
  // trained in the open transaction (a rollback would take it back).
  if (tuning_.compress_docs && !dict_.sampling && dict_.txn_id == 0 && !IsCompressedDoc(e.doc)) {
    thread_local std::string buffer;
    Result<std::string_view> encoded = EncodeDoc(e.doc, &buffer);
    if (encoded.ok()) e.doc = std::string(*encoded);  // frees the rendered document
  }
  deferred_bytes_ += DocBytes(e);
  deferred_docs_.push_back(DeferredDoc{std::move(e), false});
}

void SqliteStore::DropDeferredDoc(const std::string& id) {
  if (deferred_docs_.empty()) return;
  DeferredDoc* replaced = nullptr;  // by entity: the entry the mark takes the place of
  if (deferred_by_entity_) {
    auto it = deferred_index_.find(id);
    if (it == deferred_index_.end()) return;
    replaced = &deferred_docs_[it->second];
    deferred_bytes_ -= DocBytes(replaced->row);
  }
  DeferredDoc mark{EntityRow{id, std::string(), std::string(), 0}, true};
  deferred_bytes_ += DocBytes(mark.row);
  if (replaced != nullptr) {
    *replaced = std::move(mark);
  } else {
    deferred_docs_.push_back(std::move(mark));
  }
}

std::vector<SqliteStore::DeferredDoc*> SqliteStore::NewestDeferredDocs() {
  // Sorted by id and, within an id, by arrival: the last of each run is the newest.
  std::vector<std::pair<std::string_view, uint32_t>> order;
  order.reserve(deferred_docs_.size());
  for (size_t i = 0; i < deferred_docs_.size(); ++i) {
    order.emplace_back(deferred_docs_[i].row.id, static_cast<uint32_t>(i));
  }
  std::sort(order.begin(), order.end());
  std::vector<DeferredDoc*> newest;
  newest.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && order[i + 1].first == order[i].first) {
      if (!deferred_docs_[order[i].second].dropped) ++window_superseded_;
      continue;
    }
    newest.push_back(&deferred_docs_[order[i].second]);
  }
  return newest;
}

bool SqliteStore::CompactDeferredDocs() {
  // By entity there is nothing superseded to drop; the marks of deleted entities alone
  // rarely free half.
  if (deferred_by_entity_) return false;
  const size_t before = deferred_bytes_;
  std::vector<DeferredDoc> kept;
  size_t bytes = 0;
  for (DeferredDoc* d : NewestDeferredDocs()) {
    if (d->dropped) continue;  // nothing before it is left to void
    bytes += DocBytes(d->row);
    kept.push_back(std::move(*d));
  }
  deferred_docs_ = std::move(kept);
  deferred_bytes_ = bytes;
  return bytes <= before / 2;
}

Status SqliteStore::WriteDeferredDocs() {
  if (deferred_docs_.empty()) return Status::Ok();
  for (const DeferredDoc* d : NewestDeferredDocs()) {
    if (!d->dropped) CB_RETURN_IF_ERROR(PutDoc(d->row));
  }
  return Status::Ok();
}

Status SqliteStore::PutDoc(const EntityRow& e) {
  ++txn_docs_appended_;
  return AppendDoc(e, "put entity");
}

Status SqliteStore::AppendDoc(const EntityRow& e, std::string_view what) {
  sqlite3* w = writer_db_.get();
  const int64_t seq = doc_log_.next_seq;
  // Compressed documents (doc_codec.h) are BLOBs; a document moved by a compaction may be
  // one already, or an older text one (compressed now).
  thread_local std::string compressed;
  Result<std::string_view> encoded = EncodeDoc(e.doc, &compressed);
  if (!encoded.ok()) return encoded.status();
  const std::string_view doc = *encoded;
  if (IsCompressedDoc(doc)) {
    CB_RETURN_IF_ERROR(Run(w, append_doc_.get(), what, seq, e.id, e.type, BlobView{doc},
                           static_cast<int64_t>(e.modified_at)));
  } else {
    CB_RETURN_IF_ERROR(Run(w, append_doc_.get(), what, seq, e.id, e.type, doc,
                           static_cast<int64_t>(e.modified_at)));
  }
  ++doc_log_.next_seq;
  CB_RETURN_IF_ERROR(Run(w, update_head_.get(), what, e.id, seq));
  if (sqlite3_changes(w) == 0) {
    CB_RETURN_IF_ERROR(Run(w, insert_head_.get(), what, e.id, seq));
    ++doc_log_.live;
  }
  return Status::Ok();
}

Result<std::string_view> SqliteStore::EncodeDoc(std::string_view doc, std::string* buffer) {
  if (!tuning_.compress_docs || IsCompressedDoc(doc)) return doc;
  if (dict_.sampling && doc.size() <= kMaxDictionarySampleBytes) {
    dict_.samples.append(doc);
    dict_.sizes.push_back(doc.size());
    if (dict_.samples.size() >= tuning_.doc_dictionary_sample_bytes) {
      CB_RETURN_IF_ERROR(TrainDictionary());
    }
  }
  const std::string_view stored = doc_codec_.Compress(doc, buffer);
  if (doc_codec_.current() != 0 && !dict_.sampling) {
    dict_.window_in += doc.size();
    dict_.window_out += stored.size();
    if (++dict_.window_docs >= tuning_.doc_dictionary_check_docs) {
      const double ratio =
          static_cast<double>(dict_.window_in) / static_cast<double>(dict_.window_out);
      if (dict_.baseline == 0) {
        dict_.baseline = ratio;
      } else if (ratio < kDictionaryRetrainBelow * dict_.baseline) {
        spdlog::info(
            "store: entity documents now compress {:.1f}x with dictionary {} "
            "(first {:.1f}x); training a new one",
            ratio, doc_codec_.current(), dict_.baseline);
        dict_.sampling = true;
      }
      dict_.StartWindow();
    }
  }
  return stored;
}

Status SqliteStore::TrainDictionary() {
  const size_t docs = dict_.sizes.size();
  const size_t sample_bytes = dict_.samples.size();
  Result<DocDictionary> trained =
      TrainDocDictionary(dict_.samples, dict_.sizes, tuning_.doc_dictionary_bytes);
  std::string().swap(dict_.samples);
  std::vector<size_t>().swap(dict_.sizes);
  if (!trained.ok()) {
    // (Too few or too alike samples.) Documents are compressed as before; with a current
    // dictionary the next ratio check may try again, without one nothing does until the
    // store is opened again, so that a failing training is not repeated every MiB.
    spdlog::warn("{}; documents are compressed as before", trained.status().message());
    dict_.sampling = false;
    return Status::Ok();
  }
  const uint32_t id = trained->id;
  if (!doc_codec_.Has(id)) {
    // (A dictionary the database holds already, trained again on the same documents, is
    // just used again.)
    CB_RETURN_IF_ERROR(doc_codec_.Add(trained->bytes));
    Status st = Run(writer_db_.get(), insert_dictionary_.get(), "store a document dictionary",
                    static_cast<int64_t>(id), BlobView{trained->bytes});
    if (!st.ok()) {
      doc_codec_.Remove(id);
      return st;
    }
    dict_.previous_id = doc_codec_.current();
    dict_.txn_id = id;
  }
  CB_RETURN_IF_ERROR(doc_codec_.SetCurrent(id));
  dict_.sampling = false;
  dict_.baseline = 0;
  dict_.StartWindow();
  spdlog::info(
      "store: entity documents are compressed with dictionary {} ({} bytes, trained "
      "on {} documents of {} KiB)",
      id, trained->bytes.size(), docs, sample_bytes >> 10);
  return Status::Ok();
}

Status SqliteStore::DropHead(const std::string& id) {
  sqlite3* w = writer_db_.get();
  CB_RETURN_IF_ERROR(Run(w, delete_head_.get(), "delete entity", id));
  doc_log_.live -= sqlite3_changes(w);
  return Status::Ok();
}

Status SqliteStore::CompactDocs() {
  const int64_t slack = std::max<int64_t>(1, tuning_.doc_log_slack_rows);
  const int64_t excess = doc_log_.next_seq - doc_log_.oldest_seq - (2 * doc_log_.live + slack);
  if (excess <= 0) return Status::Ok();
  sqlite3* w = writer_db_.get();
  // The rows to go through (the moved ones land after `end`): twice what this transaction
  // appended, so that the log shrinks by more than it grows, or all the excess at once (after
  // many deletes: no rows need moving then).
  const int64_t end = std::min(
      doc_log_.next_seq, doc_log_.oldest_seq + std::max({slack, 2 * txn_docs_appended_, excess}));
  // The current rows are read a chunk at a time and appended after the statement is reset,
  // so that no read is open on the table while it grows.
  constexpr int64_t kChunk = 256;
  std::vector<std::pair<EntityRow, int64_t>> current;
  int64_t from = doc_log_.oldest_seq;
  while (from < end) {
    current.clear();
    {
      sqlite3_stmt* s = select_current_docs_.get();
      ResetOnExit reset(s);
      int rc = BindAll(s, from, end, kChunk);
      while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        EntityRow e;
        e.id = ColumnText(s, 1);
        e.type = ColumnText(s, 2);
        e.doc = ColumnBytes(s, 3);
        e.modified_at = sqlite3_column_int64(s, 4);
        current.emplace_back(std::move(e), sqlite3_column_int64(s, 0));
        rc = SQLITE_OK;
      }
      if (rc != SQLITE_DONE) return SqliteStatus(w, rc, "compact entity documents");
    }
    for (const auto& [e, seq] : current) {
      CB_RETURN_IF_ERROR(AppendDoc(e, "compact entity documents"));
    }
    doc_log_moved_ += current.size();
    from = static_cast<int64_t>(current.size()) < kChunk ? end : current.back().second + 1;
  }
  CB_RETURN_IF_ERROR(Run(w, delete_docs_before_.get(), "compact entity documents", end));
  doc_log_.oldest_seq = end;
  return Status::Ok();
}

Status SqliteStore::ApplyBatch(WriteBatch& b, bool docs_only, bool write_docs,
                               const std::vector<char>& keep_put, size_t* put_index) {
  sqlite3* w = writer_db_.get();
  // Deletions first, then puts: a batch may drop an entity and create it afresh.
  for (const std::string& id : b.delete_entities) {
    DropDeferredDoc(id);
    // A delete applied before (docs_only) already removed the entity's history; doing it
    // again would remove history written after it.
    CB_RETURN_IF_ERROR(docs_only ? DropHead(id) : DeleteEntity(id));
  }
  if (!docs_only) {
    for (const Record& r : b.delete_records) {
      CB_RETURN_IF_ERROR(Run(w, delete_record_.get(), "delete record", r.kind, r.key));
    }
  }
  for (EntityRow& e : b.put_entities) {
    if (!write_docs) {
      DeferDoc(std::move(e));
      continue;
    }
    DropDeferredDoc(e.id);  // this one is newer
    if (!keep_put[(*put_index)++]) continue;
    CB_RETURN_IF_ERROR(PutDoc(e));
  }
  if (docs_only) return Status::Ok();
  CB_RETURN_IF_ERROR(AddHistory(b.history));
  for (const Record& r : b.put_records) {
    CB_RETURN_IF_ERROR(Run(w, upsert_record_.get(), "put record", r.kind, r.key, r.doc));
  }
  return Status::Ok();
}

Status SqliteStore::LoadOwner(const std::string& entity_id, HistoryOwner* owner) {
  if (owner->id != 0) return Status::Ok();
  sqlite3* w = writer_db_.get();
  {
    sqlite3_stmt* s = select_owner_.get();
    ResetOnExit reset(s);
    int rc = BindAll(s, std::string_view(entity_id));
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      owner->id = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
      return SqliteStatus(w, rc, "read entity history owner");
    }
  }
  if (owner->id == 0) {
    CB_RETURN_IF_ERROR(Run(w, insert_owner_.get(), "insert history", entity_id));
    owner->id = sqlite3_last_insert_rowid(w);
    owner_cache_bytes_ += OwnerEntryBytes(entity_id);
    txn_new_owners_.push_back(entity_id);
    return Status::Ok();  // a new entity has no series yet
  }
  owner_cache_bytes_ += OwnerEntryBytes(entity_id);
  sqlite3_stmt* s = select_entity_series_.get();
  ResetOnExit reset(s);
  int rc = BindAll(s, owner->id);
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    owner->attrs.push_back(AttrNumber(ColumnText(s, 0)));
    owner_cache_bytes_ += sizeof(uint32_t);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_DONE) return SqliteStatus(w, rc, "read entity history series");
  return Status::Ok();
}

uint32_t SqliteStore::AttrNumber(const std::string& attr) {
  auto [it, added] = attr_numbers_.try_emplace(attr, static_cast<uint32_t>(attr_numbers_.size()));
  if (added) owner_cache_bytes_ += kOwnerEntryBytes + attr.size();
  return it->second;
}

Status SqliteStore::AddSeries(const std::string& entity_id, const std::string& attr,
                              HistoryOwner* owner) {
  const uint32_t number = AttrNumber(attr);
  if (std::find(owner->attrs.begin(), owner->attrs.end(), number) != owner->attrs.end()) {
    return Status::Ok();
  }
  CB_RETURN_IF_ERROR(
      Run(writer_db_.get(), insert_series_.get(), "insert history", owner->id, attr));
  txn_new_owners_.push_back(entity_id);
  owner->attrs.push_back(number);
  owner_cache_bytes_ += sizeof(uint32_t);
  return Status::Ok();
}

void SqliteStore::ForgetOwner(const std::string& entity_id) {
  if (auto it = owner_cache_.find(entity_id); it != owner_cache_.end()) {
    if (it->second.id != 0) {
      owner_cache_bytes_ -=
          std::min(owner_cache_bytes_,
                   OwnerEntryBytes(entity_id) + sizeof(uint32_t) * it->second.attrs.size());
    }
    owner_cache_.erase(it);
  }
}

Status SqliteStore::DeleteEntity(const std::string& id) {
  sqlite3* w = writer_db_.get();
  int64_t owner = 0;
  if (auto it = owner_cache_.find(id); it != owner_cache_.end()) owner = it->second.id;
  if (owner == 0) {
    sqlite3_stmt* s = select_owner_.get();
    ResetOnExit reset(s);
    int rc = BindAll(s, std::string_view(id));
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      owner = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
      return SqliteStatus(w, rc, "read entity history owner");
    }
  }
  ForgetOwner(id);
  if (owner != 0) {
    // The rows this transaction added are found too.
    CB_RETURN_IF_ERROR(InsertHistory());
    CB_RETURN_IF_ERROR(WidenEpochs());
    CB_RETURN_IF_ERROR(Run(w, delete_owner_history_.get(), "delete entity history", owner));
    CB_RETURN_IF_ERROR(Run(w, delete_owner_.get(), "delete entity history", owner));
    CB_RETURN_IF_ERROR(Run(w, delete_entity_series_.get(), "delete entity history", owner));
  }
  return DropHead(id);
}

Status SqliteStore::AddHistory(const std::vector<HistoryRow>& rows) {
  if (rows.empty()) return Status::Ok();
  // A bound on memory for stores with very many entities: start over (a miss costs two
  // lookups).
  if (owner_cache_bytes_ >= tuning_.max_owner_cache_bytes) {
    owner_cache_.clear();
    attr_numbers_.clear();
    owner_cache_bytes_ = 0;
  }
  // One row per run of instances of the same entity and time (the attributes of one
  // update); an attribute seen again starts a new row, so each keeps its own seq.
  std::vector<std::string_view> row_attrs;
  const HistoryRow* first = nullptr;  // the first instance of the row being built
  HistoryOwner* owner = nullptr;      // its entity's cache entry
  size_t row_offset = 0;
  auto flush = [&]() {
    if (first == nullptr) return;
    txn_history_.push_back(
        {owner->id, first->observed_at, row_offset, txn_instances_.size() - row_offset});
    first = nullptr;
  };
  for (const HistoryRow& h : rows) {
    const bool same_entity = first != nullptr && first->entity_id == h.entity_id;
    if (!same_entity || first->observed_at != h.observed_at ||
        std::find(row_attrs.begin(), row_attrs.end(), h.attr) != row_attrs.end()) {
      flush();
      if (!same_entity) {
        owner = &owner_cache_[h.entity_id];
        CB_RETURN_IF_ERROR(LoadOwner(h.entity_id, owner));
      }
      first = &h;
      row_offset = txn_instances_.size();
      row_attrs.clear();
    }
    CB_RETURN_IF_ERROR(AddSeries(h.entity_id, h.attr, owner));
    AppendHistoryInstance(&txn_instances_, h.attr, h.value);
    row_attrs.push_back(h.attr);
  }
  flush();
  return Status::Ok();
}

Status SqliteStore::InsertHistory() {
  if (txn_history_.empty()) return Status::Ok();
  // Stable: an entity's rows keep their order, and so their seqs.
  std::stable_sort(
      txn_history_.begin(), txn_history_.end(),
      [](const PendingHistory& a, const PendingHistory& b) { return a.owner < b.owner; });
  sqlite3* w = writer_db_.get();
  std::vector<EpochRange>& ranges = txn_epochs_;
  for (const PendingHistory& r : txn_history_) {
    const int64_t seq = next_seq_++;
    const int64_t epoch = seq >> tuning_.history_epoch_bits;
    CB_RETURN_IF_ERROR(Run(w, insert_history_.get(), "insert history", seq, epoch, r.owner,
                           static_cast<int64_t>(r.observed_at),
                           std::string_view(txn_instances_).substr(r.offset, r.size)));
    if (ranges.empty() || ranges.back().epoch != epoch) {
      ranges.push_back({epoch, r.observed_at, r.observed_at});
    } else {
      ranges.back().min = std::min(ranges.back().min, r.observed_at);
      ranges.back().max = std::max(ranges.back().max, r.observed_at);
    }
  }
  txn_history_.clear();
  txn_instances_.clear();
  if (txn_instances_.capacity() > (size_t{64} << 20)) std::string().swap(txn_instances_);
  return Status::Ok();
}

Status SqliteStore::WidenEpochs() {
  for (const EpochRange& r : txn_epochs_) {
    CB_RETURN_IF_ERROR(Run(writer_db_.get(), widen_epoch_.get(), "insert history", r.epoch,
                           static_cast<int64_t>(r.min), static_cast<int64_t>(r.max)));
  }
  txn_epochs_.clear();
  return Status::Ok();
}

void SqliteStore::RollbackIfActive() {
  // Some errors (I/O, disk full) make SQLite roll back by itself.
  if (!sqlite3_get_autocommit(writer_db_.get())) {
    sqlite3_step(rollback_.get());
    sqlite3_reset(rollback_.get());
  }
}

Result<std::unique_ptr<ReadConnection>> SqliteStore::AcquireReader() {
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (readers_closed_) return Status::Unavailable("store: closed");
    if (!idle_readers_.empty()) {
      std::unique_ptr<ReadConnection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  // Opening touches the file system: do it outside the lock.
  Result<DbPtr> db = OpenConnection(options_.path, SQLITE_OPEN_READONLY, kReaderPragmas);
  if (!db.ok()) return db.status();
  return std::make_unique<ReadConnection>(std::move(db).value());
}

void SqliteStore::ReleaseReader(std::unique_ptr<ReadConnection> conn) {
  if (conn == nullptr) return;
  std::lock_guard<std::mutex> lock(read_mu_);
  if (!readers_closed_ && idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(std::move(conn));
  }
  // Otherwise `conn` closes here.
}

Status SqliteStore::ScanEntities(const std::function<void(EntityRow&&)>& fn) {
  CB_RETURN_IF_ERROR(WaitForApplied(/*docs=*/true));
  Result<std::unique_ptr<ReadConnection>> acquired = AcquireReader();
  if (!acquired.ok()) return acquired.status();
  ReaderLease conn(this, std::move(acquired).value());
  Status st;
  // The log in order, each row with a lookup of its head (see select_current_docs_).
  sqlite3_stmt* s = conn->Statement(
      "SELECT d.id, d.type, d.doc, d.modified_at FROM entity_docs d "
      "CROSS JOIN entity_heads h ON h.id = d.id AND h.doc_seq = d.seq",
      &st);
  if (s == nullptr) return st;
  ResetOnExit reset(s);
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteStatus(conn->db(), rc, "scan entities");
    EntityRow row;
    row.id = ColumnText(s, 0);
    row.type = ColumnText(s, 1);
    row.doc = ColumnBytes(s, 2);
    Status decoded = doc_codec_.Decompress(&row.doc);
    if (!decoded.ok()) return Status::Internal(decoded.message() + " (entity " + row.id + ")");
    row.modified_at = sqlite3_column_int64(s, 3);
    fn(std::move(row));
  }
}

Status SqliteStore::ScanRecords(std::string_view kind, const std::function<void(Record&&)>& fn) {
  CB_RETURN_IF_ERROR(WaitForApplied());
  Result<std::unique_ptr<ReadConnection>> acquired = AcquireReader();
  if (!acquired.ok()) return acquired.status();
  ReaderLease conn(this, std::move(acquired).value());
  Status st;
  sqlite3_stmt* s =
      conn->Statement("SELECT key, doc FROM records WHERE kind = ?1 ORDER BY key", &st);
  if (s == nullptr) return st;
  ResetOnExit reset(s);
  const std::string kind_copy(kind);  // the record handed to fn carries it
  if (int rc = BindAll(s, std::string_view(kind_copy)); rc != SQLITE_OK) {
    return SqliteStatus(conn->db(), rc, "scan records");
  }
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteStatus(conn->db(), rc, "scan records");
    Record r;
    r.kind = kind_copy;
    r.key = ColumnText(s, 0);
    r.doc = ColumnText(s, 1);
    fn(std::move(r));
  }
}

Result<std::vector<HistoryRow>> SqliteStore::QueryHistory(const HistoryQuery& q) {
  std::vector<HistoryRow> out;
  if (q.limit == 0 || (q.last_n && *q.last_n == 0) || (q.from && q.to && *q.from >= *q.to)) {
    return out;
  }
  CB_RETURN_IF_ERROR(WaitForApplied());
  Result<std::unique_ptr<ReadConnection>> acquired = AcquireReader();
  if (!acquired.ok()) return acquired.status();
  ReaderLease conn(this, std::move(acquired).value());
  // One read transaction: every per-attribute query sees the same snapshot.
  CB_RETURN_IF_ERROR(SqliteExec(conn->db(), "BEGIN", "query history"));
  Status st = QueryHistoryInTransaction(conn.get(), q, &out);
  sqlite3_exec(conn->db(), "COMMIT", nullptr, nullptr, nullptr);
  if (!st.ok()) return st;
  return out;
}

Status SqliteStore::QueryHistoryInTransaction(ReadConnection* conn, const HistoryQuery& q,
                                              std::vector<HistoryRow>* out) {
  sqlite3* db = conn->db();
  Status st;

  // 1. The entity's number and its attributes to read, in order.
  int64_t owner = 0;
  {
    sqlite3_stmt* s = conn->Statement("SELECT id FROM history_entities WHERE entity_id = ?1", &st);
    if (s == nullptr) return st;
    ResetOnExit reset(s);
    int rc = BindAll(s, std::string_view(q.entity_id));
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      owner = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
      return SqliteStatus(db, rc, "query history");
    }
  }
  if (owner == 0) return Status::Ok();
  std::vector<std::string> attrs;  // sorted
  {
    sqlite3_stmt* s = conn->Statement("SELECT attr FROM history_series WHERE owner = ?1", &st);
    if (s == nullptr) return st;
    ResetOnExit reset(s);
    int rc = BindAll(s, owner);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      attrs.push_back(ColumnText(s, 0));
      rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "query history");
    std::sort(attrs.begin(), attrs.end());
    if (!q.attrs.empty()) {
      std::vector<std::string> wanted = q.attrs;
      std::sort(wanted.begin(), wanted.end());
      std::erase_if(attrs, [&](const std::string& a) {
        return !std::binary_search(wanted.begin(), wanted.end(), a);
      });
    }
  }
  if (attrs.empty()) return Status::Ok();

  // 2. The epochs whose time range meets [from, to).
  struct Epoch {
    int64_t epoch;
    TimeMs min, max;
  };
  std::vector<Epoch> epochs;
  {
    std::string sql = "SELECT epoch, min_observed_at, max_observed_at FROM history_epochs";
    if (q.from || q.to) sql += " WHERE ";
    if (q.from) sql += "max_observed_at >= ?1";
    if (q.from && q.to) sql += " AND ";
    if (q.to) sql += "min_observed_at < ?2";
    sqlite3_stmt* s = conn->Statement(sql, &st);
    if (s == nullptr) return st;
    ResetOnExit reset(s);
    int rc = SQLITE_OK;
    if (q.from) rc = sqlite3_bind_int64(s, 1, *q.from);
    if (rc == SQLITE_OK && q.to) rc = sqlite3_bind_int64(s, 2, *q.to);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      epochs.push_back(
          {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)});
      rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "query history");
  }
  // last_n wants the newest instances: visit the epochs newest first (by their latest
  // time), else oldest first (by their earliest time), and stop once no further epoch can
  // hold an instance that would make the cut.
  const bool newest_first = q.last_n.has_value();
  if (newest_first) {
    std::sort(epochs.begin(), epochs.end(),
              [](const Epoch& a, const Epoch& b) { return a.max > b.max; });
  } else {
    std::sort(epochs.begin(), epochs.end(),
              [](const Epoch& a, const Epoch& b) { return a.min < b.min; });
  }

  // 3. The entity's rows, epoch by epoch, each attribute keeping its best `want` instances
  // in order. Without last_n an attribute may fill the whole answer, so `want` is the limit.
  std::string sql =
      "SELECT observed_at, seq, instances FROM history WHERE epoch = ?1 AND owner = ?2";
  if (q.from) sql += " AND observed_at >= ?3";
  if (q.to) sql += " AND observed_at < ?4";
  sql += newest_first ? " ORDER BY observed_at DESC, seq DESC" : " ORDER BY observed_at, seq";
  sqlite3_stmt* probe = conn->Statement(sql, &st);
  if (probe == nullptr) return st;

  struct Instance {
    TimeMs t;
    int64_t seq;
    std::string value;
  };
  auto before = [newest_first](const Instance& a, const Instance& b) {
    if (a.t != b.t) return newest_first ? a.t > b.t : a.t < b.t;
    return newest_first ? a.seq > b.seq : a.seq < b.seq;
  };
  const size_t want = q.last_n ? *q.last_n : q.limit;
  if (want == 0) return Status::Ok();
  std::vector<std::vector<Instance>> kept(attrs.size());
  std::vector<size_t> old_size(attrs.size()), added(attrs.size());
  for (const Epoch& e : epochs) {
    // Done when every attribute has `want` instances that this epoch cannot beat.
    bool done = true;
    for (const std::vector<Instance>& k : kept) {
      if (k.size() < want || (newest_first ? e.max >= k.back().t : e.min <= k.back().t)) {
        done = false;
        break;
      }
    }
    if (done) break;
    for (size_t i = 0; i < attrs.size(); ++i) old_size[i] = kept[i].size();
    std::fill(added.begin(), added.end(), 0);
    size_t full = 0;  // attributes with `want` instances from this epoch: the rest are worse
    ResetOnExit reset(probe);
    int rc = BindAll(probe, e.epoch, owner);
    if (rc == SQLITE_OK && q.from) rc = sqlite3_bind_int64(probe, 3, *q.from);
    if (rc == SQLITE_OK && q.to) rc = sqlite3_bind_int64(probe, 4, *q.to);
    while (full < attrs.size() && rc == SQLITE_OK && (rc = sqlite3_step(probe)) == SQLITE_ROW) {
      rc = SQLITE_OK;
      const TimeMs t = sqlite3_column_int64(probe, 0);
      const int64_t seq = sqlite3_column_int64(probe, 1);
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(probe, 2));
      std::string_view rest(p != nullptr ? p : "", static_cast<size_t>(sqlite3_column_bytes(probe, 2)));
      std::string_view attr, value;
      while (!rest.empty()) {
        if (!NextHistoryInstance(&rest, &attr, &value)) {
          return Status::Internal("store: query history: a history row of " + q.entity_id +
                                  " (seq " + std::to_string(seq) + ") is malformed");
        }
        auto it = std::lower_bound(attrs.begin(), attrs.end(), attr);
        if (it == attrs.end() || *it != attr) continue;
        const size_t i = static_cast<size_t>(it - attrs.begin());
        if (added[i] == want) continue;
        kept[i].push_back(Instance{t, seq, std::string(value)});
        if (++added[i] == want) ++full;
      }
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return SqliteStatus(db, rc, "query history");
    // Both runs of each attribute are in order: merge them and keep the best `want`.
    for (size_t i = 0; i < attrs.size(); ++i) {
      std::vector<Instance>& k = kept[i];
      std::inplace_merge(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(old_size[i]),
                         k.end(), before);
      if (k.size() > want) k.erase(k.begin() + static_cast<std::ptrdiff_t>(want), k.end());
    }
  }
  // The answer: by attribute, each in ascending time, cut at the limit.
  for (size_t i = 0; i < attrs.size() && out->size() < q.limit; ++i) {
    std::vector<Instance>& k = kept[i];
    if (newest_first) std::reverse(k.begin(), k.end());
    const size_t room = q.limit - out->size();
    if (k.size() > room) k.erase(k.begin() + static_cast<std::ptrdiff_t>(room), k.end());
    for (Instance& inst : k) {
      out->push_back(HistoryRow{q.entity_id, attrs[i], inst.t, std::move(inst.value)});
    }
  }
  return Status::Ok();
}

StoreStats SqliteStore::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void SqliteStore::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // commits everything queued first
  {
    std::lock_guard<std::mutex> lock(mu_);
    writer_stopped_ = true;
  }
  apply_cv_.notify_all();
  if (applier_.joinable()) applier_.join();  // applies everything committed
  {
    std::lock_guard<std::mutex> lock(mu_);
    applier_stopped_ = true;  // (also when Init failed before starting it)
  }
  applied_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_closing_ = true;
  }
  done_cv_.notify_all();
  if (completer_.joinable()) completer_.join();  // runs every callback still queued
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    readers_closed_ = true;
    idle_readers_.clear();  // leased readers close when their lease ends
  }
  for (StmtPtr* s : {&begin_,
                     &commit_,
                     &rollback_,
                     &append_doc_,
                     &update_head_,
                     &insert_head_,
                     &delete_head_,
                     &select_current_docs_,
                     &delete_docs_before_,
                     &insert_series_,
                     &select_entity_series_,
                     &delete_entity_series_,
                     &insert_owner_,
                     &select_owner_,
                     &delete_owner_,
                     &insert_history_,
                     &delete_owner_history_,
                     &widen_epoch_,
                     &upsert_record_,
                     &delete_record_,
                     &set_applied_,
                     &set_docs_frame_}) {
    s->reset();
  }
  if (writer_db_ != nullptr) {
    // Best effort: refresh the planner's statistics for the next run.
    sqlite3_exec(writer_db_.get(), "PRAGMA optimize", nullptr, nullptr, nullptr);
    // The last connection to close checkpoints the WAL into the database and removes it.
    writer_db_.reset();
  }
  // Everything committed is in the database now (unless applying failed): the journal
  // segments before the one being written go; that one stays, and the next open, finding
  // its frames applied, removes it.
  if (journal_ != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok()) journal_->DropThrough(docs_frame_);
  }
  journal_.reset();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  return OpenSqliteStoreWithTuning(options, SqliteTuning());
}

Result<std::unique_ptr<Store>> OpenSqliteStoreWithTuning(const StoreOptions& options,
                                                         const SqliteTuning& tuning) {
  if (tuning.history_epoch_bits < 0 || tuning.history_epoch_bits > 62) {
    return Status::InvalidRequest("store: history_epoch_bits out of range");
  }

  auto store = std::make_unique<SqliteStore>(options, tuning);
  Status st = store->Init();
  if (!st.ok()) {  // ~SqliteStore closes whatever was opened
    if (st.message().find(options.path) == std::string::npos) {
      st = Status(st.code(), st.message() + " [database " + options.path + "]");
    }
    return st;
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace cb::store
