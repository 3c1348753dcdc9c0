#include "context/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <future>
#include <regex>
#include <set>

#include "context/ngsi_json.h"

namespace cb::context {

struct ContextBroker::Slot {
  EntityPtr entity;
  uint64_t key = 0;
  bool in_geo = false;
};

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
    PutLocked(std::make_shared<const Entity>(std::move(e).value()), nullptr);
    if (++n % 100000 == 0) spdlog::info("loading entities: {} so far", n);
  });
  CB_RETURN_IF_ERROR(st);
  CB_RETURN_IF_ERROR(bad);
  stats_.entities = by_id_.size();
  spdlog::info("loaded {} entities", n);
  return Status::Ok();
}

void ContextBroker::PutLocked(EntityPtr e, const Entity* before) {
  auto it = by_id_.find(e->id);
  Slot* slot;
  if (it == by_id_.end()) {
    auto s = std::make_unique<Slot>();
    s->key = next_key_++;
    slot = s.get();
    it = by_id_.emplace(e->id, std::move(s)).first;
    by_key_[slot->key] = slot;
  } else {
    slot = it->second.get();
  }
  std::string_view id_view = it->first;
  if (before != nullptr) {
    for (const auto& t : before->types) {
      if (!e->HasType(t)) by_type_[t].erase(id_view);
    }
  }
  for (const auto& t : e->types) by_type_[t][id_view] = slot;
  const Attribute* loc = e->Find("location");
  if (loc != nullptr && loc->geometry) {
    geo_index_.Update(slot->key, loc->geometry->bbox);
    slot->in_geo = true;
  } else if (slot->in_geo) {
    geo_index_.Remove(slot->key);
    slot->in_geo = false;
  }
  slot->entity = std::move(e);
}

void ContextBroker::RemoveLocked(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Slot* slot = it->second.get();
  for (const auto& t : slot->entity->types) {
    auto tit = by_type_.find(t);
    if (tit == by_type_.end()) continue;
    tit->second.erase(it->first);
    if (tit->second.empty()) by_type_.erase(tit);
  }
  if (slot->in_geo) geo_index_.Remove(slot->key);
  by_key_.erase(slot->key);
  by_id_.erase(it);
}

namespace {

void AddHistory(const Entity& e, const Attribute& a, const std::string& name, TimeMs now,
                store::WriteBatch* batch) {
  store::HistoryRow row;
  row.entity_id = e.id;
  row.attr = name;
  row.observed_at = a.observed_at != kNoTime ? a.observed_at : now;
  JsonWriter w(&row.value);
  RenderOptions o;
  o.sys_attrs = false;
  RenderAttribute(a, o, &w);
  batch->history.push_back(std::move(row));
}

void Stamp(Attribute* a, const Attribute* old, TimeMs now) {
  a->created_at = old != nullptr ? old->created_at : now;
  a->modified_at = now;
}

}  // namespace

WriteOutcome ContextBroker::ApplyLocked(WriteOp& op, TimeMs now, store::WriteBatch* batch,
                                        std::vector<Change>* changes) {
  WriteOutcome out;
  const std::string& id = op.entity.id;
  auto it = by_id_.find(id);
  const Entity* old = it == by_id_.end() ? nullptr : it->second->entity.get();
  using K = WriteOp::Kind;

  auto finish = [&](std::shared_ptr<Entity> ne, Change::Kind kind) {
    ne->modified_at = now;
    for (const auto& name : out.updated) {
      if (const Attribute* a = ne->Find(name)) AddHistory(*ne, *a, name, now, batch);
    }
    batch->put_entities.push_back({ne->id, ne->type(), EntityToStoreDoc(*ne), now});
    EntityPtr snapshot = std::move(ne);
    PutLocked(snapshot, old);
    changes->push_back({kind, snapshot, out.updated});
    stats_.attrs_written += out.updated.size();
  };

  auto create = [&]() {
    auto ne = std::make_shared<Entity>(std::move(op.entity));
    ne->created_at = now;
    for (auto& na : ne->attrs) {
      Stamp(&na.attr, nullptr, now);
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
        Stamp(&na.attr, old->Find(na.name), now);
        out.updated.push_back(na.name);
      }
      finish(std::move(ne), Change::Kind::kUpdated);
      return out;
    }
    case K::kUpsertUpdate:
    case K::kAppend:
    case K::kUpdate: {
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
        Stamp(&na.attr, prev, now);
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
      ne->modified_at = now;
      batch->put_entities.push_back({ne->id, ne->type(), EntityToStoreDoc(*ne), now});
      EntityPtr snapshot = std::move(ne);
      PutLocked(snapshot, old);
      changes->push_back({Change::Kind::kUpdated, snapshot, {op.attr_name}});
      return out;
    }
    case K::kDeleteEntity: {
      EntityPtr before = it->second->entity;
      RemoveLocked(id);
      batch->delete_entities.push_back(id);
      changes->push_back({Change::Kind::kDeleted, before, {}});
      return out;
    }
  }
  return out;
}

void ContextBroker::Write(std::vector<WriteOp> ops, WriteDone done) {
  if (failed_.load()) {
    done(Status::Unavailable("the store failed to commit earlier writes; restart the server"),
         {});
    return;
  }
  if (store_->Stats().queued_rows > options_.max_pending_rows) {
    done(Status::TooManyRequests("the store is behind; retry shortly"), {});
    return;
  }
  std::vector<WriteOutcome> outcomes;
  outcomes.reserve(ops.size());
  store::WriteBatch batch;
  std::vector<Change> changes;
  {
    std::unique_lock lock(mu_);
    TimeMs now = clock_->Now();
    for (auto& op : ops) outcomes.push_back(ApplyLocked(op, now, &batch, &changes));
    stats_.writes_applied += ops.size();
    stats_.entities = by_id_.size();
    if (!batch.empty()) {
      store_->Submit(std::move(batch), [this, changes = std::move(changes),
                                        outcomes = std::move(outcomes),
                                        done = std::move(done)](const Status& s) mutable {
        if (!s.ok()) {
          failed_.store(true);
          spdlog::error("store commit failed, refusing further writes: {}", s.ToString());
        } else {
          std::lock_guard l(listeners_mu_);
          for (ChangeListener* l : listeners_) l->OnChanges(changes);
        }
        done(s, std::move(outcomes));
      });
      return;
    }
  }
  done(Status::Ok(), std::move(outcomes));
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
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second->entity;
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
  // Returns false to stop scanning.
  auto matches = [&](const Entity& e) -> bool {
    if (!q.types.empty() &&
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
    if (q.q && !Matches(*q.q, e)) return false;
    return !q.geo || MatchesGeoQuery(e, *q.geo);
  };
  // Scans in id order; returns false to stop.
  auto consider = [&](const EntityPtr& e) -> bool {
    if (!matches(*e)) return true;
    if (matched >= q.offset && matched < want) result.entities.push_back(e);
    ++matched;
    return q.count || matched < want;
  };

  std::shared_lock lock(mu_);
  if (!q.ids.empty()) {
    std::set<std::string_view> ids(q.ids.begin(), q.ids.end());
    for (auto id : ids) {
      auto it = by_id_.find(id);
      if (it != by_id_.end() && !consider(it->second->entity)) break;
    }
  } else if (q.geo && q.geo->property == "location" && q.geo->rel != GeoRel::kDisjoint &&
             !(q.geo->rel == GeoRel::kNear && !q.geo->max_distance)) {
    geo::BoundingBox box = q.geo->geometry.bbox;
    if (q.geo->max_distance) box = box.Expanded(*q.geo->max_distance);
    std::vector<const Slot*> candidates;
    geo_index_.Query(box, [&](uint64_t key) {
      auto it = by_key_.find(key);
      if (it != by_key_.end()) candidates.push_back(it->second);
      return true;
    });
    // Test every candidate first, then order only the page asked for by id: sorting all
    // candidates of a dense area costs more than the exact predicates.
    auto by_id = [](const Slot* a, const Slot* b) { return a->entity->id < b->entity->id; };
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](const Slot* s) { return !matches(*s->entity); }),
                     candidates.end());
    matched = candidates.size();
    size_t end = std::min(want, candidates.size());
    if (q.offset < end) {
      std::partial_sort(candidates.begin(), candidates.begin() + end, candidates.end(), by_id);
      for (size_t i = q.offset; i < end; ++i) result.entities.push_back(candidates[i]->entity);
    }
  } else if (q.types.size() == 1) {
    auto it = by_type_.find(q.types[0]);
    if (it != by_type_.end()) {
      for (const auto& [id, slot] : it->second) {
        if (!consider(slot->entity)) break;
      }
    }
  } else {
    for (const auto& [id, slot] : by_id_) {
      if (!consider(slot->entity)) break;
    }
  }
  result.total = matched;
  return result;
}

Result<std::vector<store::HistoryRow>> ContextBroker::History(const store::HistoryQuery& q) const {
  return store_->QueryHistory(q);
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
  return s;
}

}  // namespace cb::context
