// ContextBroker: the city's live state. Holds every NGSI-LD entity in memory (indexed by
// id, type and location), applies writes atomically, persists them through store::Store
// with group commit, and tells listeners about changes once they are durable.
//
// Ordering and durability: a write is applied to memory under the state lock and takes a
// sequence number there; it is rendered for the store after the lock is released and queued
// to the store in sequence order, so the store commits writes in the order they were
// applied (see ContextBroker::Write in broker.cc). Its callback runs
// after the commit; only then does the API acknowledge. Readers may see a write a few
// milliseconds before it is durable; a crash in that window loses only unacknowledged
// writes.
// Thread-safety: every public method is safe to call from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "context/attribute_value_index.h"
#include "context/entity.h"
#include "context/id_hash_table.h"
#include "context/q_query.h"
#include "core/status.h"
#include "core/time.h"
#include "geo/geometry.h"
#include "geo/spatial_index.h"
#include "store/store.h"

namespace cb::context {

using EntityPtr = std::shared_ptr<const Entity>;

// One durable change, as listeners (subscriptions, WebSocket) see it.
struct Change {
  enum class Kind { kCreated, kUpdated, kDeleted };
  Kind kind;
  EntityPtr entity;                     // after the change (before it, for kDeleted)
  std::vector<std::string> attrs;       // attributes written or deleted
};

// Receives batches of changes on the store's completion thread, in commit order. Must
// return quickly: later commits' callbacks wait for it.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  virtual void OnChanges(const std::vector<Change>& changes) = 0;
};

// Finds an entity by id among those the broker holds, including the writes applied
// earlier in the same call; nullptr when absent.
using EntityLookup = std::function<const Entity*(const std::string& id)>;
// Checks a new or changed entity of one type before the broker takes it: another module's
// rules for its own entity types (a Zone's polygon and parent, say). Runs under the broker's
// write lock: it must be quick and must not call the broker (use `lookup` instead). An error
// fails the operation with that status and changes nothing.
using EntityValidator = std::function<Status(const Entity& entity, const EntityLookup& lookup)>;

// A single write operation. Batch endpoints send many in one call.
struct WriteOp {
  enum class Kind {
    kCreate,          // new entity; AlreadyExists when present
    kUpsertReplace,   // create, or replace all attributes
    kUpsertUpdate,    // create, or append/overwrite the given attributes
    kUpdate,          // existing attributes only (batch update, PATCH …/attrs)
    kAppend,          // add or overwrite attributes (POST …/attrs)
    kPatchAttr,       // partial update of one attribute (PATCH …/attrs/{attr})
    kDeleteAttr,      // DELETE …/attrs/{attr}
    kDeleteEntity,    // DELETE /entities/{id}
  };
  Kind kind = Kind::kCreate;
  Entity entity;             // id always; attrs for writes
  bool no_overwrite = false; // kAppend/kUpdate: keep existing attributes
  std::string attr_name;     // kPatchAttr/kDeleteAttr
  JsonValue patch;           // kPatchAttr
};

struct NotUpdated {
  std::string attr;
  std::string reason;
};

struct WriteOutcome {
  Status status;                       // per operation
  bool created = false;                // upserts: created rather than updated
  std::vector<std::string> updated;    // attribute names written
  std::vector<NotUpdated> not_updated; // attributes skipped, with why
};

using WriteDone = std::function<void(Status commit, std::vector<WriteOutcome> outcomes)>;

enum class GeoRel { kNear, kWithin, kContains, kIntersects, kEquals, kDisjoint, kOverlaps };

struct GeoQuery {
  GeoRel rel = GeoRel::kIntersects;
  geo::Geometry geometry;
  std::optional<double> max_distance;  // near
  std::optional<double> min_distance;  // near
  std::string property = "location";
};

// Parses an NGSI-LD georel ("near;maxDistance==500", "within", ...) into `g`; checks it
// against g->geometry (within needs a polygon). Errors are kBadRequestData.
Status ParseGeoRel(std::string_view georel, GeoQuery* g);
// Does the entity's geo-property satisfy the geo-query (exact predicate, no index)?
bool MatchesGeoQuery(const Entity& e, const GeoQuery& g);

struct EntityQuery {
  std::vector<std::string> types;      // any of
  std::vector<std::string> ids;        // any of
  std::string id_pattern;              // ECMAScript regex over ids
  std::vector<std::string> attrs;      // entity must have at least one of these
  std::shared_ptr<const QExpr> q;
  std::optional<GeoQuery> geo;
  size_t offset = 0;
  size_t limit = 20;                   // 0: count only
  bool count = false;                  // compute QueryResult::total over all matches
};

struct QueryResult {
  std::vector<EntityPtr> entities;
  size_t total = 0;  // all matches, ignoring offset/limit (only when EntityQuery::count)
};

struct BrokerStats {
  size_t entities = 0;
  uint64_t writes_applied = 0;
  uint64_t attrs_written = 0;
  uint64_t queries_indexed = 0;  // queries answered from the attribute value index
};

struct BrokerOptions {
  // Writes are refused with kTooManyRequests while the store has more rows than this
  // waiting to be committed (back-pressure instead of unbounded memory).
  size_t max_pending_rows = 500000;
  // Whether to keep the attribute value index, which answers selective q queries on one
  // type without scanning it (see AttributeValueIndex). Off: such queries scan the type.
  bool value_index = true;
  // The planner's estimate of how much dearer one index candidate is than one entity
  // scanned; 0 uses the index whenever it can answer (for tests).
  double index_candidate_cost = 2.0;
};

class ContextBroker {
 public:
  ContextBroker(store::Store* store, const Clock* clock, BrokerOptions options = {});
  ~ContextBroker();
  ContextBroker(const ContextBroker&) = delete;
  ContextBroker& operator=(const ContextBroker&) = delete;

  // Loads every stored entity into memory. Call once before serving.
  Status Load();

  // Applies the operations in order (each succeeds or fails on its own), queues one
  // durable batch, and calls `done` once it is committed (on the store's completion thread).
  void Write(std::vector<WriteOp> ops, WriteDone done);
  // Write and wait; for tools and tests.
  std::pair<Status, std::vector<WriteOutcome>> WriteSync(std::vector<WriteOp> ops);

  EntityPtr Get(const std::string& id) const;
  Result<QueryResult> Query(const EntityQuery& q) const;

  // Temporal history of one entity, straight from the store.
  Result<std::vector<store::HistoryRow>> History(const store::HistoryQuery& q) const;

  void AddListener(ChangeListener* l);
  // Registers the validator of entities of `type` (one per type; an empty function removes
  // it). Its owner removes it before going away.
  void SetValidator(std::string type, EntityValidator validator);
  void RemoveListener(ChangeListener* l);
  BrokerStats Stats() const;

 private:
  struct Slot;
  struct Applied;
  struct ReadyBatch {
    store::WriteBatch batch;
    store::DoneCallback done;
  };
  WriteOutcome ApplyLocked(WriteOp& op, TimeMs now, Applied* applied);
  // Hands the batch of write number `seq` to the store once every earlier number has been.
  void SubmitInOrder(uint64_t seq, store::WriteBatch batch, store::DoneCallback done);
  void PutLocked(EntityPtr e);
  // The registered validators' verdict on a new version of an entity.
  Status ValidateLocked(const Entity& e) const;
  void RemoveLocked(const std::string& id);
  // Whether every entity has one of `types` (false for none), so a query needs not check them.
  bool EveryEntityHasOneOfLocked(const std::vector<std::string>& types) const;
  // The candidates of a query on one type from the attribute value index (possibly more than
  // once each), or false when the index cannot answer or a scan of the type's `type_size`
  // entities is expected to be cheaper. *q_exact: every candidate satisfies q.q.
  bool IndexCandidatesLocked(const EntityQuery& q, size_t type_size, size_t want,
                             std::vector<const Slot*>* out, bool* q_exact) const;

  store::Store* store_;
  const Clock* clock_;
  BrokerOptions options_;
  std::atomic<bool> failed_{false};  // a commit failed: memory is ahead of disk
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Slot>, std::less<>> by_id_;  // owns; in id order
  IdHashTable<Slot> slot_of_id_;  // the same slots, for lookups by id (keys: by_id_'s)
  std::unordered_map<std::string, std::map<std::string_view, Slot*>> by_type_;
  geo::SpatialIndex geo_index_;  // keys are Slot addresses
  AttributeValueIndex value_index_;  // tokens are Slot pointers
  uint64_t next_seq_ = 0;  // the next write's sequence number (under mu_)
  BrokerStats stats_;
  mutable std::atomic<uint64_t> queries_indexed_{0};

  std::mutex submit_mu_;  // guards the three members below
  uint64_t next_submit_ = 0;               // the sequence number the store gets next
  bool submitting_ = false;                // a thread is handing batches to the store
  std::map<uint64_t, ReadyBatch> ready_;   // rendered, waiting for earlier numbers

  std::map<std::string, EntityValidator, std::less<>> validators_;  // set before serving
  std::mutex listeners_mu_;
  std::vector<ChangeListener*> listeners_;
};

}  // namespace cb::context
