#include "context/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <future>
#include <regex>
#include <set>

#include "context/ngsi_json.h"

namespace cb::context {

struct ContextBroker::Slot {
  EntityPtr entity;
  std::string_view id;  // by_id_'s key of this slot
  bool in_geo = false;
};

namespace {

// The spatial index's key of a slot: its address (stable while the slot lives in by_id_).
uint64_t GeoKey(const void* slot) { return reinterpret_cast<uintptr_t>(slot); }

}  // namespace

ContextBroker::ContextBroker(store::Store* store, const Clock* clock, BrokerOptions options)
    : store_(store), clock_(clock), options_(options) {}

ContextBroker::~ContextBroker() = default;

Status ContextBroker::Load() {
  std::unique_lock lock(mu_);
  size_t n = 0;
  Status bad;
  Status st = store_->ScanEntities([&](store::EntityRow&& row) {
    auto e = EntityFromStoreDoc(row.doc);
    if (!e.ok()) {
      if (bad.ok()) bad = Status::Internal("stored entity " + row.id + " is unreadable: " +
                                           e.status().message());
      return;
    }
    PutLocked(std::make_shared<const Entity>(std::move(e).value()));
    if (++n % 100000 == 0) spdlog::info("loading entities: {} so far", n);
  });
  CB_RETURN_IF_ERROR(st);
  CB_RETURN_IF_ERROR(bad);
  stats_.entities = by_id_.size();
  spdlog::info("loaded {} entities", n);
  return Status::Ok();
}

void ContextBroker::PutLocked(EntityPtr e) {
  Slot* slot = slot_of_id_.Find(e->id);
  if (slot == nullptr) {
    auto s = std::make_unique<Slot>();
    slot = s.get();
    auto it = by_id_.emplace(e->id, std::move(s)).first;
    slot->id = it->first;
    slot_of_id_.Insert(slot->id, slot);
  }
  const std::string_view id_view = slot->id;
  // The version the indexes hold now (null for a new entity): most updates keep the types,
  // so only the types gained or lost touch by_type_ (an ordered map of ids).
  const Entity* indexed = slot->entity.get();
  if (options_.value_index) value_index_.Update(slot, indexed, e.get());
  if (indexed != nullptr) {
    for (const auto& t : indexed->types) {
      if (!e->HasType(t)) by_type_[t].erase(id_view);
    }
  }
  for (const auto& t : e->types) {
    if (indexed == nullptr || !indexed->HasType(t)) by_type_[t][id_view] = slot;
  }
  const Attribute* loc = e->Find("location");
  if (loc != nullptr && loc->geometry) {
    // Most updates leave the location as it was (a PATCH of readings): skip the index then.
    const Attribute* old_loc = slot->entity ? slot->entity->Find("location") : nullptr;
    const bool same_box = slot->in_geo && old_loc != nullptr && old_loc->geometry &&
                          old_loc->geometry->bbox == loc->geometry->bbox;
    if (!same_box) geo_index_.Update(GeoKey(slot), loc->geometry->bbox);
    slot->in_geo = true;
  } else if (slot->in_geo) {
    geo_index_.Remove(GeoKey(slot));
    slot->in_geo = false;
  }
  slot->entity = std::move(e);
}

void ContextBroker::RemoveLocked(const std::string& id) {
  Slot* slot = slot_of_id_.Find(id);
  if (slot == nullptr) return;
  for (const auto& t : slot->entity->types) {
    auto tit = by_type_.find(t);
    if (tit == by_type_.end()) continue;
    tit->second.erase(slot->id);
    if (tit->second.empty()) by_type_.erase(tit);
  }
  if (slot->in_geo) geo_index_.Remove(GeoKey(slot));
  if (options_.value_index) value_index_.Update(slot, slot->entity.get(), nullptr);
  slot_of_id_.Erase(slot->id);
  by_id_.erase(by_id_.find(slot->id));
}

// What ApplyLocked leaves for after the state lock: the durable side of the writes.
struct ContextBroker::Applied {
  // An entity version to store, as changes[change].entity, with a history row for each of
  // changes[change].attrs when `history`.
  struct Put {
    size_t change;
    bool history;
  };
  std::vector<Change> changes;
  std::vector<Put> puts;
  std::vector<std::string> deletes;
  bool empty() const { return puts.empty() && deletes.empty(); }
};

namespace {

void Stamp(Attribute* a, const Attribute* old, TimeMs now) {
  a->created_at = old != nullptr ? old->created_at : now;
  a->modified_at = now;
}

}  // namespace

WriteOutcome ContextBroker::ApplyLocked(WriteOp& op, TimeMs now, Applied* applied) {
  WriteOutcome out;
  const std::string& id = op.entity.id;
  const Slot* slot = slot_of_id_.Find(id);
  const Entity* old = slot == nullptr ? nullptr : slot->entity.get();
  using K = WriteOp::Kind;

  // Publishes the new version; its document and history rows are rendered after the lock.
  auto publish = [&](std::shared_ptr<Entity> ne, Change::Kind kind, std::vector<std::string> attrs,
                     bool history) {
    if (Status st = ValidateLocked(*ne); !st.ok()) {
      out.status = std::move(st);
      out.updated.clear();
      out.created = false;
      return;
    }
    ne->modified_at = now;
    EntityPtr snapshot = std::move(ne);
    PutLocked(snapshot);
    applied->puts.push_back({applied->changes.size(), history});
    applied->changes.push_back({kind, std::move(snapshot), std::move(attrs)});
  };
  auto finish = [&](std::shared_ptr<Entity> ne, Change::Kind kind) {
    const size_t written = out.updated.size();
    publish(std::move(ne), kind, out.updated, true);
    if (out.status.ok()) stats_.attrs_written += written;
  };

  auto create = [&]() {
    auto ne = std::make_shared<Entity>(std::move(op.entity));
    ne->created_at = now;
    for (auto& na : ne->attrs) {
      Stamp(&na.attr.Mutable(), nullptr, now);
      out.updated.push_back(na.name);
    }
    out.created = true;
    finish(std::move(ne), Change::Kind::kCreated);
  };

  if (old == nullptr) {
    if (op.kind == K::kCreate || op.kind == K::kUpsertReplace || op.kind == K::kUpsertUpdate) {
      if (op.entity.types.empty()) {
        out.status = Status::BadRequestData("entity has no type");
        return out;
      }
      create();
      return out;
    }
    out.status = Status::NotFound("entity not found: " + id);
    return out;
  }

  switch (op.kind) {
    case K::kCreate:
      out.status = Status::AlreadyExists("entity already exists: " + id);
      return out;
    case K::kUpsertReplace: {
      auto ne = std::make_shared<Entity>(std::move(op.entity));
      if (ne->types.empty()) ne->types = old->types;
      ne->created_at = old->created_at;
      for (auto& na : ne->attrs) {
        Stamp(&na.attr.Mutable(), old->Find(na.name), now);
        out.updated.push_back(na.name);
      }
      finish(std::move(ne), Change::Kind::kUpdated);
      return out;
    }
    case K::kUpsertUpdate:
    case K::kAppend:
    case K::kUpdate: {
      // Copies the attribute handles only: untouched attributes stay shared with `old`.
      auto ne = std::make_shared<Entity>(*old);
      if (op.kind == K::kUpsertUpdate) {
        for (const auto& t : op.entity.types) {
          if (!ne->HasType(t)) ne->types.push_back(t);
        }
      }
      for (auto& na : op.entity.attrs) {
        const Attribute* prev = old->Find(na.name);
        if (op.kind == K::kUpdate && prev == nullptr) {
          out.not_updated.push_back({na.name, "attribute does not exist"});
          continue;
        }
        if (op.no_overwrite && prev != nullptr) {
          out.not_updated.push_back({na.name, "attribute exists and noOverwrite is set"});
          continue;
        }
        Stamp(&na.attr.Mutable(), prev, now);
        ne->Set(na.name, std::move(na.attr));
        out.updated.push_back(na.name);
      }
      if (!out.updated.empty()) finish(std::move(ne), Change::Kind::kUpdated);
      return out;
    }
    case K::kPatchAttr: {
      const Attribute* prev = old->Find(op.attr_name);
      if (prev == nullptr) {
        out.status = Status::NotFound("attribute not found: " + op.attr_name);
        return out;
      }
      Attribute merged = *prev;
      Status st = MergeAttributePatch(op.patch, op.attr_name, &merged);
      if (!st.ok()) {
        out.status = st;
        return out;
      }
      auto ne = std::make_shared<Entity>(*old);
      Stamp(&merged, prev, now);
      ne->Set(op.attr_name, std::move(merged));
      out.updated.push_back(op.attr_name);
      finish(std::move(ne), Change::Kind::kUpdated);
      return out;
    }
    case K::kDeleteAttr: {
      if (old->Find(op.attr_name) == nullptr) {
        out.status = Status::NotFound("attribute not found: " + op.attr_name);
        return out;
      }
      auto ne = std::make_shared<Entity>(*old);
      ne->Erase(op.attr_name);
      publish(std::move(ne), Change::Kind::kUpdated, {op.attr_name}, false);
      return out;
    }
    case K::kDeleteEntity: {
      EntityPtr before = slot->entity;
      RemoveLocked(id);
      applied->deletes.push_back(id);
      applied->changes.push_back({Change::Kind::kDeleted, before, {}});
      return out;
    }
  }
  return out;
}

// Ordering. The state lock (mu_) is held only to apply writes: each write that has something
// to store takes the next sequence number under it, so numbers follow the order the writes
// were applied (and the order readers can see them in). Rendering runs after the lock is
// released, concurrently with readers and other writers. The rendered batches then meet in
// SubmitInOrder, which hands them to the store strictly by sequence number: a batch that is
// ready before its predecessors waits in `ready_`, and whichever thread completes the run of
// consecutive numbers submits it. So the store still commits (and acknowledges) writes in
// the order they were applied, as the header promises.
void ContextBroker::Write(std::vector<WriteOp> ops, WriteDone done) {
  if (failed_.load()) {
    done(Status::Unavailable("the store failed to commit earlier writes; restart the server"),
         {});
    return;
  }
  const store::StoreStats store_stats = store_->Stats();
  // Only rows waiting for their commit count: committed rows the applier has not reached
  // yet are durable, and the store slows its writer down for those by itself.
  if (store_stats.queued_rows > options_.max_pending_rows) {
    done(Status::TooManyRequests("the store is behind; retry shortly"), {});
    return;
  }
  std::vector<WriteOutcome> outcomes;
  outcomes.reserve(ops.size());
  Applied applied;
  TimeMs now;
  uint64_t seq = 0;
  {
    std::unique_lock lock(mu_);
    now = clock_->Now();
    for (auto& op : ops) outcomes.push_back(ApplyLocked(op, now, &applied));
    stats_.writes_applied += ops.size();
    stats_.entities = by_id_.size();
    if (!applied.empty()) seq = next_seq_++;
  }
  if (applied.empty()) {
    done(Status::Ok(), std::move(outcomes));
    return;
  }

  // Rendering: the snapshots are immutable, so no lock is needed.
  store::WriteBatch batch;
  batch.delete_entities = std::move(applied.deletes);
  batch.put_entities.reserve(applied.puts.size());
  static const std::vector<std::string> kNoHistory;
  std::vector<std::string> values;
  for (const Applied::Put& put : applied.puts) {
    const Change& ch = applied.changes[put.change];
    const Entity& e = *ch.entity;
    store::EntityRow row{e.id, e.type(), std::string(), now};
    const std::vector<std::string>& history = put.history ? ch.attrs : kNoHistory;
    RenderForStore(e, history, &row.doc, &values);
    batch.put_entities.push_back(std::move(row));
    for (size_t i = 0; i < history.size(); ++i) {
      const Attribute* a = e.Find(history[i]);
      if (a == nullptr) continue;
      store::HistoryRow h;
      h.entity_id = e.id;
      h.attr = history[i];
      h.observed_at = a->observed_at != kNoTime ? a->observed_at : now;
      h.value = std::move(values[i]);
      batch.history.push_back(std::move(h));
    }
  }
  SubmitInOrder(seq, std::move(batch),
                [this, changes = std::move(applied.changes), outcomes = std::move(outcomes),
                 done = std::move(done)](const Status& s) mutable {
                  if (!s.ok()) {
                    failed_.store(true);
                    spdlog::error("store commit failed, refusing further writes: {}",
                                  s.ToString());
                  } else {
                    std::lock_guard l(listeners_mu_);
                    for (ChangeListener* l : listeners_) l->OnChanges(changes);
                  }
                  done(s, std::move(outcomes));
                });
}

void ContextBroker::SubmitInOrder(uint64_t seq, store::WriteBatch batch,
                                  store::DoneCallback done) {
  std::unique_lock lock(submit_mu_);
  ready_.emplace(seq, ReadyBatch{std::move(batch), std::move(done)});
  if (submitting_) return;  // the thread submitting now will take this one too, in turn
  submitting_ = true;
  while (!ready_.empty() && ready_.begin()->first == next_submit_) {
    ReadyBatch next = std::move(ready_.begin()->second);
    ready_.erase(ready_.begin());
    ++next_submit_;
    // Submit outside submit_mu_: a store that refuses at once runs `done` right here, and
    // `done` may write again. submitting_ keeps every other thread from submitting meanwhile.
    lock.unlock();
    store_->Submit(std::move(next.batch), std::move(next.done));
    lock.lock();
  }
  submitting_ = false;
}

std::pair<Status, std::vector<WriteOutcome>> ContextBroker::WriteSync(std::vector<WriteOp> ops) {
  std::promise<std::pair<Status, std::vector<WriteOutcome>>> p;
  auto f = p.get_future();
  Write(std::move(ops), [&p](Status s, std::vector<WriteOutcome> o) {
    p.set_value({std::move(s), std::move(o)});
  });
  return f.get();
}

EntityPtr ContextBroker::Get(const std::string& id) const {
  std::shared_lock lock(mu_);
  const Slot* slot = slot_of_id_.Find(id);
  return slot == nullptr ? nullptr : slot->entity;
}

Status ParseGeoRel(std::string_view rel, GeoQuery* g) {
  std::string_view head = rel.substr(0, rel.find(';'));
  g->max_distance.reset();
  g->min_distance.reset();
  if (head == "near") {
    std::string_view rest = rel.substr(std::min(rel.size(), head.size() + 1));
    if (rest.empty()) return Status::BadRequestData("near needs maxDistance or minDistance");
    while (!rest.empty()) {
      size_t semi = rest.find_first_of(";,");
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = part.find("==");
      if (eq == std::string_view::npos) return Status::BadRequestData("bad georel: " + std::string(part));
      std::string_view k = part.substr(0, eq);
      std::string_view v = part.substr(eq + 2);
      double d = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec != std::errc() || p != v.data() + v.size() || !(d >= 0)) {
        return Status::BadRequestData("georel distance must be a non-negative number");
      }
      if (k == "maxDistance") {
        g->max_distance = d;
      } else if (k == "minDistance") {
        g->min_distance = d;
      } else {
        return Status::BadRequestData("unknown georel modifier '" + std::string(k) + "'");
      }
    }
    g->rel = GeoRel::kNear;
    return Status::Ok();
  }
  if (rel.find(';') != std::string_view::npos) return Status::BadRequestData("only near takes modifiers");
  if (head == "within") {
    g->rel = GeoRel::kWithin;
  } else if (head == "contains") {
    g->rel = GeoRel::kContains;
  } else if (head == "intersects") {
    g->rel = GeoRel::kIntersects;
  } else if (head == "equals") {
    g->rel = GeoRel::kEquals;
  } else if (head == "disjoint") {
    g->rel = GeoRel::kDisjoint;
  } else if (head == "overlaps") {
    g->rel = GeoRel::kOverlaps;
  } else {
    return Status::BadRequestData("unknown georel '" + std::string(head) + "'");
  }
  if (g->rel == GeoRel::kWithin && g->geometry.type != geo::GeometryType::kPolygon &&
      g->geometry.type != geo::GeometryType::kMultiPolygon) {
    return Status::BadRequestData("within needs a Polygon or MultiPolygon");
  }
  return Status::Ok();
}

bool MatchesGeoQuery(const Entity& e, const GeoQuery& g) {
  const Attribute* a = e.Find(g.property);
  if (a == nullptr || !a->geometry) return false;
  const geo::Geometry& eg = *a->geometry;
  switch (g.rel) {
    case GeoRel::kNear: {
      double d = geo::DistanceMeters(eg, g.geometry);
      if (g.max_distance && d > *g.max_distance) return false;
      if (g.min_distance && d < *g.min_distance) return false;
      return true;
    }
    case GeoRel::kWithin: return geo::Within(eg, g.geometry);
    case GeoRel::kContains: return geo::Contains(eg, g.geometry);
    case GeoRel::kIntersects: return geo::Intersects(eg, g.geometry);
    case GeoRel::kEquals: return geo::Equals(eg, g.geometry);
    case GeoRel::kDisjoint: return geo::Disjoint(eg, g.geometry);
    case GeoRel::kOverlaps: return geo::Overlaps(eg, g.geometry);
  }
  return false;
}

Result<QueryResult> ContextBroker::Query(const EntityQuery& q) const {
  std::optional<std::regex> id_re;
  if (!q.id_pattern.empty()) {
    try {
      id_re.emplace(q.id_pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::BadRequestData("idPattern is not a valid regular expression: " +
                                    std::string(e.what()));
    }
  }
  QueryResult result;
  size_t matched = 0;
  const size_t want = q.offset > SIZE_MAX - q.limit ? SIZE_MAX : q.offset + q.limit;
  bool q_decided = false;  // the candidates are known to satisfy q.q
  // Returns false to stop scanning. `check_types`: false when e comes from the one type asked.
  // `check_geo`: false when e is known to satisfy q.geo.
  auto matches = [&](const Entity& e, bool check_types, bool check_geo) -> bool {
    if (check_types && !q.types.empty() &&
        std::none_of(q.types.begin(), q.types.end(), [&](const auto& t) { return e.HasType(t); })) {
      return false;
    }
    if (!q.ids.empty() && std::find(q.ids.begin(), q.ids.end(), e.id) == q.ids.end()) return false;
    if (id_re && !std::regex_search(e.id, *id_re)) return false;
    if (!q.attrs.empty() && std::none_of(q.attrs.begin(), q.attrs.end(), [&](const auto& a) {
          return e.Find(a) != nullptr;
        })) {
      return false;
    }
    if (q.q && !q_decided && !Matches(*q.q, e)) return false;
    return !q.geo || !check_geo || MatchesGeoQuery(e, *q.geo);
  };
  // Scans in id order; returns false to stop.
  auto consider = [&](const EntityPtr& e, bool check_types) -> bool {
    if (!matches(*e, check_types, true)) return true;
    if (matched >= q.offset && matched < want) result.entities.push_back(e);
    ++matched;
    return q.count || matched < want;
  };
  // Tests every candidate (each once), then orders only the page asked for by id: sorting
  // every candidate costs more than the exact predicates when many match. `geo_known`, when
  // given: which candidates are known to satisfy q.geo. A candidate with nothing left to test
  // is kept without reading its entity.
  auto page = [&](std::vector<const Slot*>& candidates, bool check_types,
                  const std::vector<bool>* geo_known) {
    auto by_id = [](const Slot* a, const Slot* b) { return a->id < b->id; };
    const bool only_geo_left =
        !check_types && q.ids.empty() && !id_re && q.attrs.empty() && (!q.q || q_decided);
    size_t kept = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const bool check_geo = q.geo && (geo_known == nullptr || !(*geo_known)[i]);
      if ((only_geo_left && !check_geo) ||
          matches(*candidates[i]->entity, check_types, check_geo)) {
        candidates[kept++] = candidates[i];
      }
    }
    candidates.resize(kept);
    matched = candidates.size();
    size_t end = std::min(want, candidates.size());
    if (q.offset < end) {
      std::partial_sort(candidates.begin(), candidates.begin() + end, candidates.end(), by_id);
      for (size_t i = q.offset; i < end; ++i) result.entities.push_back(candidates[i]->entity);
    }
  };

  std::shared_lock lock(mu_);
  if (!q.ids.empty()) {
    std::set<std::string_view> ids(q.ids.begin(), q.ids.end());
    for (auto id : ids) {
      const Slot* slot = slot_of_id_.Find(id);
      if (slot != nullptr && !consider(slot->entity, true)) break;
    }
  } else if (q.geo && q.geo->property == "location" && q.geo->rel != GeoRel::kDisjoint &&
             !(q.geo->rel == GeoRel::kNear && !q.geo->max_distance)) {
    const GeoQuery& g = *q.geo;
    geo::BoundingBox box = g.geometry.bbox;
    if (g.max_distance) box = box.Expanded(*g.max_distance);
    std::vector<geo::SpatialIndex::Hit> hits;
    geo_index_.Collect(box, &hits);
    // Near a point: the index holds each location's box, which for a point is the point, so
    // most candidates are settled from it without reading their entity; only those within
    // the bounds' margin of the distances asked are tested exactly.
    std::optional<geo::NearbyDistance> nearby;
    geo::LonLat centre{};
    if (g.rel == GeoRel::kNear && g.geometry.type == geo::GeometryType::kPoint) {
      centre = g.geometry.FirstPoint();
      nearby.emplace(centre);
    }
    std::vector<const Slot*> candidates;
    std::vector<bool> geo_known;
    candidates.reserve(hits.size());
    geo_known.reserve(hits.size());
    auto outside = [&](double lo, double hi) {
      return (g.max_distance && lo > *g.max_distance) || (g.min_distance && hi < *g.min_distance);
    };
    auto inside = [&](double lo, double hi) {
      return (!g.max_distance || hi <= *g.max_distance) &&
             (!g.min_distance || lo >= *g.min_distance);
    };
    for (const geo::SpatialIndex::Hit& hit : hits) {
      bool known = false;
      double lo, hi;
      const geo::LonLat p{hit.box.min_lon, hit.box.min_lat};
      if (nearby && hit.box.min_lon == hit.box.max_lon && hit.box.min_lat == hit.box.max_lat &&
          nearby->Bounds(p, &lo, &hi)) {
        if (outside(lo, hi)) continue;
        known = inside(lo, hi);
        if (!known) {
          // Within the bounds' 2 % of a limit: the haversine from the centre to p.
          // MatchesGeoQuery computes the same one (in either order, or 0 within ~0.1 mm of
          // the centre) for a geometry whose positions are all p, so 1 cm around it settles
          // all but the candidates 1 cm from a limit without reading their entity. (Those
          // reads, each finding "location", two distances and a test of intersection, were
          // a third of the server's samples in 500 m queries at 1,000,000 entities.)
          const double d = geo::DistanceMeters(centre, p);
          if (outside(d - 0.01, d + 0.01)) continue;
          known = inside(d - 0.01, d + 0.01);
        }
      }
      candidates.push_back(reinterpret_cast<const Slot*>(static_cast<uintptr_t>(hit.key)));
      geo_known.push_back(known);
    }
    page(candidates, !EveryEntityHasOneOfLocked(q.types), &geo_known);
  } else if (q.types.size() == 1) {
    auto it = by_type_.find(q.types[0]);
    std::vector<const Slot*> candidates;
    if (it == by_type_.end()) {
      // No entity of the type.
    } else if (q.q && IndexCandidatesLocked(q, it->second.size(), want, &candidates, &q_decided)) {
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      page(candidates, false, nullptr);
      // As the scan counts: without `count` it stops at the page's end (at the first match
      // when the page is empty).
      if (!q.count) matched = std::min(matched, std::max<size_t>(want, 1));
    } else {
      for (const auto& [id, slot] : it->second) {
        if (!consider(slot->entity, false)) break;
      }
    }
  } else {
    for (const auto& [id, slot] : by_id_) {
      if (!consider(slot->entity, true)) break;
    }
  }
  result.total = matched;
  return result;
}

bool ContextBroker::EveryEntityHasOneOfLocked(const std::vector<std::string>& types) const {
  return std::any_of(types.begin(), types.end(), [&](const std::string& t) {
    auto it = by_type_.find(t);
    return it != by_type_.end() && it->second.size() == by_id_.size();
  });
}

bool ContextBroker::IndexCandidatesLocked(const EntityQuery& q, size_t type_size, size_t want,
                                          std::vector<const Slot*>* out, bool* q_exact) const {
  if (!options_.value_index) return false;
  std::vector<QIndexableTerm> terms = IndexableTerms(*q.q);
  if (terms.empty()) return false;
  // Cost model. A scan stops after `want` matches: if M of the type's N entities match, it
  // visits about want × N / M of them (all N when counting). The index visits its C
  // candidates (C ≥ M), each k times as dear (collect, deduplicate, test, order; k =
  // index_candidate_cost). With M ≈ C the index wins while k × C < want × N / C, or
  // k × C < N when every match is counted.
  const double k = options_.index_candidate_cost;
  const double n = static_cast<double>(type_size);
  size_t cap = SIZE_MAX / 2;
  if (k > 0) {
    const double w = static_cast<double>(want);
    cap = static_cast<size_t>(q.count || w >= n ? n / k : std::min(n / k, std::sqrt(w * n / k)));
  }
  const QIndexableTerm* best = nullptr;
  size_t best_count = 0;
  for (const QIndexableTerm& t : terms) {
    std::optional<size_t> c = value_index_.Count(q.types[0], t.attr, t.ranges, cap);
    if (!c || *c > cap || (best != nullptr && *c >= best_count)) continue;
    best = &t;
    best_count = *c;
  }
  if (best == nullptr) return false;
  std::vector<AttributeValueIndex::Token> tokens;
  tokens.reserve(best_count);
  value_index_.Collect(q.types[0], best->attr, best->ranges, &tokens);
  out->reserve(tokens.size());
  for (AttributeValueIndex::Token t : tokens) out->push_back(static_cast<const Slot*>(t));
  *q_exact = best->whole && AttributeValueIndex::Exact(best->ranges);
  queries_indexed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Result<std::vector<store::HistoryRow>> ContextBroker::History(const store::HistoryQuery& q) const {
  return store_->QueryHistory(q);
}

void ContextBroker::SetValidator(std::string type, EntityValidator validator) {
  std::unique_lock lock(mu_);
  if (validator) {
    validators_[std::move(type)] = std::move(validator);
  } else {
    validators_.erase(type);
  }
}

Status ContextBroker::ValidateLocked(const Entity& e) const {
  // On every write: only entities of a type with a validator pay more than a map lookup.
  for (const std::string& t : e.types) {
    auto it = validators_.find(t);
    if (it == validators_.end()) continue;
    const EntityLookup lookup = [this](const std::string& id) -> const Entity* {
      const Slot* s = slot_of_id_.Find(id);
      return s == nullptr ? nullptr : s->entity.get();
    };
    CB_RETURN_IF_ERROR(it->second(e, lookup));
  }
  return Status::Ok();
}

void ContextBroker::AddListener(ChangeListener* l) {
  std::lock_guard lock(listeners_mu_);
  listeners_.push_back(l);
}

void ContextBroker::RemoveListener(ChangeListener* l) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

BrokerStats ContextBroker::Stats() const {
  std::shared_lock lock(mu_);
  BrokerStats s = stats_;
  s.entities = by_id_.size();
  s.queries_indexed = queries_indexed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace cb::context
