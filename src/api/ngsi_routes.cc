// NGSI-LD routes: request parsing and response shaping only. All domain work happens in
// context::ContextBroker.
#include <charconv>
#include <unordered_set>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "context/ngsi_json.h"

namespace cb::api {
namespace {

using context::ContextBroker;
using context::WriteOp;
using context::WriteOutcome;
using security::Permission;

struct OutputFormat {
  context::RenderOptions render;  // render.attrs points into `attrs`: pin before use
  bool ld = false;
  std::unordered_set<std::string> attrs;
  bool project = false;
  const context::RenderOptions& Options() {
    render.attrs = project ? &attrs : nullptr;
    return render;
  }
};

Result<OutputFormat> OutputFormatFor(const HttpRequest& req) {
  OutputFormat f;
  std::string_view accept = req.Header("accept");
  if (!accept.empty()) {
    bool json = accept.find("application/json") != std::string_view::npos ||
                accept.find("*/*") != std::string_view::npos ||
                accept.find("application/*") != std::string_view::npos;
    f.ld = accept.find("application/ld+json") != std::string_view::npos;
    if (!json && !f.ld) {
      return Status(Code::kUnsupported, "406: can only produce application/json or "
                                        "application/ld+json");
    }
    if (accept.find("application/json") != std::string_view::npos) f.ld = false;
  }
  f.render.key_values = HasOption(req, "keyValues") ||
                        (req.Query("format") && *req.Query("format") == "simplified");
  f.render.sys_attrs = HasOption(req, "sysAttrs");
  f.render.with_context = f.ld;
  if (const std::string* a = req.Query("attrs")) {
    for (auto& n : SplitList(*a)) f.attrs.insert(std::move(n));
    f.project = true;
  }
  return f;
}

// The 207 body for attribute operations.
std::string UpdateResultBody(const WriteOutcome& o) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("updated").BeginArray();
  for (const auto& a : o.updated) w.String(a);
  w.EndArray().Key("notUpdated").BeginArray();
  for (const auto& n : o.not_updated) {
    w.BeginObject().Key("attributeName").String(n.attr).Key("reason").String(n.reason).EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

void WriteError(JsonWriter* w, const std::string& id, const Status& s) {
  w->BeginObject().Key("entityId").String(id).Key("error").BeginObject();
  int status = HttpStatusFor(s.code());
  w->Key("type").String(ProblemTypeFor(s.code()));
  w->Key("title").String(CodeName(s.code()));
  w->Key("status").Int(status);
  w->Key("detail").String(s.message());
  w->EndObject().EndObject();
}

// Runs one write and answers with `on_ok` or the operation's error.
void WriteOne(ContextBroker* broker, WriteOp op, Responder respond,
              std::function<HttpResponse(const WriteOutcome&)> on_ok) {
  std::vector<WriteOp> ops;
  ops.push_back(std::move(op));
  broker->Write(std::move(ops), [respond = std::move(respond), on_ok = std::move(on_ok)](
                                    Status commit, std::vector<WriteOutcome> outcomes) {
    if (!commit.ok()) return respond(ProblemResponse(commit));
    if (!outcomes[0].status.ok()) return respond(ProblemResponse(outcomes[0].status));
    respond(on_ok(outcomes[0]));
  });
}

HttpResponse AttrUpdateResponse(const WriteOutcome& o) {
  if (o.not_updated.empty()) return NoContent();
  HttpResponse r;
  r.status = 207;
  r.body = UpdateResultBody(o);
  return r;
}

// ---- /entities

void CreateEntity(ContextBroker* broker, HttpRequest& req, Responder respond) {
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  auto e = context::ParseEntity(*body, true);
  if (!e.ok()) return respond(Fail(e.status()));
  WriteOp op;
  op.kind = WriteOp::Kind::kCreate;
  std::string id = e->id;
  op.entity = std::move(e).value();
  WriteOne(broker, std::move(op), std::move(respond), [id](const WriteOutcome&) {
    HttpResponse r;
    r.status = 201;
    r.headers.emplace_back("Location", "/ngsi-ld/v1/entities/" + id);
    return r;
  });
}

void GetEntity(ContextBroker* broker, HttpRequest& req, Responder respond) {
  const std::string& id = req.params["entityId"];
  if (!context::IsValidEntityId(id)) {
    return respond(ProblemResponse(Status::BadRequestData("entity id must be a URI")));
  }
  auto fmt = OutputFormatFor(req);
  if (!fmt.ok()) return respond(Fail(fmt.status()));
  context::EntityPtr e = broker->Get(id);
  if (!e) return respond(ProblemResponse(Status::NotFound("entity not found: " + id)));
  respond(JsonResponse(200, context::RenderEntity(*e, fmt->Options()), fmt->ld));
}

void DeleteEntity(ContextBroker* broker, HttpRequest& req, Responder respond) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDeleteEntity;
  op.entity.id = req.params["entityId"];
  if (!context::IsValidEntityId(op.entity.id)) {
    return respond(ProblemResponse(Status::BadRequestData("entity id must be a URI")));
  }
  WriteOne(broker, std::move(op), std::move(respond),
           [](const WriteOutcome&) { return NoContent(); });
}

void AttrsWrite(ContextBroker* broker, HttpRequest& req, Responder respond, WriteOp::Kind kind) {
  WriteOp op;
  op.kind = kind;
  op.entity.id = req.params["entityId"];
  if (!context::IsValidEntityId(op.entity.id)) {
    return respond(ProblemResponse(Status::BadRequestData("entity id must be a URI")));
  }
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  auto attrs = context::ParseFragment(*body);
  if (!attrs.ok()) return respond(Fail(attrs.status()));
  op.entity.attrs = std::move(attrs).value();
  op.no_overwrite = HasOption(req, "noOverwrite");
  WriteOne(broker, std::move(op), std::move(respond), AttrUpdateResponse);
}

// The op for …/entities/{entityId}/attrs/{attrId}; kBadRequestData for bad path values.
Result<WriteOp> AttrOp(HttpRequest& req, WriteOp::Kind kind) {
  WriteOp op;
  op.kind = kind;
  op.entity.id = req.params["entityId"];
  op.attr_name = req.params["attrId"];
  if (!context::IsValidEntityId(op.entity.id) || !context::IsValidName(op.attr_name)) {
    return Status::BadRequestData("bad entity id or attribute name");
  }
  return op;
}

void PatchAttr(ContextBroker* broker, HttpRequest& req, Responder respond) {
  auto op = AttrOp(req, WriteOp::Kind::kPatchAttr);
  if (!op.ok()) return respond(ProblemResponse(op.status()));
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  if (body->is_object()) body->Erase("@context");
  op->patch = std::move(body).value();
  WriteOne(broker, std::move(op).value(), std::move(respond),
           [](const WriteOutcome&) { return NoContent(); });
}

void DeleteAttr(ContextBroker* broker, HttpRequest& req, Responder respond) {
  auto op = AttrOp(req, WriteOp::Kind::kDeleteAttr);
  if (!op.ok()) return respond(ProblemResponse(op.status()));
  WriteOne(broker, std::move(op).value(), std::move(respond),
           [](const WriteOutcome&) { return NoContent(); });
}

Result<context::GeoQuery> ParseGeoQuery(const HttpRequest& req) {
  const std::string* georel = req.Query("georel");
  const std::string* geometry = req.Query("geometry");
  const std::string* coords = req.Query("coordinates");
  if (georel == nullptr || geometry == nullptr || coords == nullptr) {
    return Status::BadRequestData("a geo-query needs georel, geometry and coordinates");
  }
  context::GeoQuery g;
  auto geom = geo::GeometryFromQuery(*geometry, *coords);
  if (!geom.ok()) return geom.status();
  g.geometry = std::move(geom).value();
  if (const std::string* gp = req.Query("geoproperty")) g.property = *gp;
  CB_RETURN_IF_ERROR(context::ParseGeoRel(*georel, &g));
  return g;
}

void QueryEntities(ContextBroker* broker, const NgsiLdLimits& limits, HttpRequest& req,
                   Responder respond) {
  static const std::unordered_set<std::string> kKnown = {
      "type", "id", "idPattern", "attrs", "q", "georel", "geometry", "coordinates",
      "geoproperty", "limit", "offset", "count", "options", "format", "csf", "lang", "local"};
  for (const auto& [k, v] : req.query) {
    if (kKnown.count(k) == 0) {
      return respond(ProblemResponse(Status::BadRequestData("unknown query parameter '" + k + "'")));
    }
  }
  auto fmt = OutputFormatFor(req);
  if (!fmt.ok()) return respond(Fail(fmt.status()));
  context::EntityQuery q;
  if (const std::string* t = req.Query("type")) {
    q.types = SplitList(*t);
    for (const auto& n : q.types) {
      if (!context::IsValidName(n)) {
        return respond(ProblemResponse(Status::BadRequestData("invalid type name '" + n + "'")));
      }
    }
  }
  if (const std::string* ids = req.Query("id")) {
    q.ids = SplitList(*ids);
    for (const auto& id : q.ids) {
      if (!context::IsValidEntityId(id)) {
        return respond(ProblemResponse(Status::BadRequestData("invalid entity id '" + id + "'")));
      }
    }
  }
  if (const std::string* p = req.Query("idPattern")) q.id_pattern = *p;
  if (const std::string* a = req.Query("attrs")) q.attrs = SplitList(*a);
  if (const std::string* qs = req.Query("q")) {
    auto parsed = context::ParseQ(*qs);
    if (!parsed.ok()) return respond(ProblemResponse(parsed.status()));
    q.q = std::move(parsed).value();
  }
  if (req.Query("georel") || req.Query("geometry") || req.Query("coordinates")) {
    auto g = ParseGeoQuery(req);
    if (!g.ok()) return respond(ProblemResponse(g.status()));
    q.geo = std::move(g).value();
  }
  if (q.types.empty() && q.ids.empty() && q.id_pattern.empty() && q.attrs.empty() && !q.q &&
      !q.geo) {
    return respond(ProblemResponse(Status::BadRequestData(
        "give at least one of type, id, idPattern, attrs, q or a geo-query")));
  }
  auto limit = ParseCount(req.Query("limit"), "limit", 20, limits.max_page);
  if (!limit.ok()) return respond(Fail(limit.status()));
  auto offset = ParseCount(req.Query("offset"), "offset", 0, SIZE_MAX);
  if (!offset.ok()) return respond(Fail(offset.status()));
  q.limit = *limit;
  q.offset = *offset;
  const std::string* count = req.Query("count");
  q.count = count != nullptr && *count == "true";
  if (*limit == 0 && !q.count) {
    return respond(ProblemResponse(Status::BadRequestData("limit=0 needs count=true")));
  }
  auto result = broker->Query(q);
  if (!result.ok()) return respond(ProblemResponse(result.status()));
  std::string out;
  out.reserve(result->entities.size() * context::kRenderedEntityBytes + 2);
  JsonWriter w(&out);
  w.BeginArray();
  const context::RenderOptions& opts = fmt->Options();
  for (const auto& e : result->entities) context::RenderEntity(*e, opts, &w);
  w.EndArray();
  HttpResponse r = JsonResponse(200, std::move(out), fmt->ld);
  if (q.count) r.headers.emplace_back("NGSILD-Results-Count", std::to_string(result->total));
  respond(std::move(r));
}

// ---- /entityOperations

enum class BatchKind { kCreate, kUpsert, kUpdate, kDelete };

void Batch(ContextBroker* broker, const NgsiLdLimits& limits, BatchKind kind, HttpRequest& req,
           Responder respond) {
  auto body = ParseBody(req);
  if (!body.ok()) return respond(Fail(body.status()));
  if (!body->is_array()) {
    return respond(ProblemResponse(Status::BadRequestData("the body must be a JSON array")));
  }
  const auto& items = body->as_array();
  if (items.empty()) {
    return respond(ProblemResponse(Status::BadRequestData("the array is empty")));
  }
  if (items.size() > limits.max_batch_entities) {
    return respond(ProblemResponse(Status::TooLarge(
        "at most " + std::to_string(limits.max_batch_entities) + " entities per request")));
  }
  bool replace = !HasOption(req, "update");
  bool no_overwrite = HasOption(req, "noOverwrite");
  std::vector<WriteOp> ops;
  ops.reserve(items.size());
  // Items that failed to parse never reach the broker; they are reported with the rest.
  std::vector<std::pair<std::string, Status>> early_errors;
  std::vector<std::string> op_ids;
  for (const auto& item : items) {
    WriteOp op;
    if (kind == BatchKind::kDelete) {
      if (!item.is_string() || !context::IsValidEntityId(item.as_string())) {
        early_errors.emplace_back(item.is_string() ? item.as_string() : item.Dump(),
                                  Status::BadRequestData("not an entity id"));
        continue;
      }
      op.kind = WriteOp::Kind::kDeleteEntity;
      op.entity.id = item.as_string();
    } else {
      auto e = context::ParseEntity(item, true);
      if (!e.ok()) {
        const JsonValue* id = item.is_object() ? item.Find("id") : nullptr;
        early_errors.emplace_back(id && id->is_string() ? id->as_string() : "", e.status());
        continue;
      }
      op.entity = std::move(e).value();
      switch (kind) {
        case BatchKind::kCreate: op.kind = WriteOp::Kind::kCreate; break;
        case BatchKind::kUpsert:
          op.kind = replace ? WriteOp::Kind::kUpsertReplace : WriteOp::Kind::kUpsertUpdate;
          break;
        default:
          op.kind = WriteOp::Kind::kAppend;
          op.no_overwrite = no_overwrite;
      }
    }
    op_ids.push_back(op.entity.id);
    ops.push_back(std::move(op));
  }
  auto finish = [kind, op_ids = std::move(op_ids), early_errors = std::move(early_errors),
                 respond = std::move(respond)](Status commit,
                                               std::vector<WriteOutcome> outcomes) {
    if (!commit.ok()) return respond(ProblemResponse(commit));
    std::vector<std::string> ok_ids;
    std::vector<std::pair<std::string, Status>> errors = early_errors;
    bool any_created = false;
    bool any_updated = false;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const WriteOutcome& o = outcomes[i];
      if (!o.status.ok()) {
        errors.emplace_back(op_ids[i], o.status);
      } else if (kind == BatchKind::kUpdate && o.updated.empty()) {
        errors.emplace_back(op_ids[i],
                            Status::BadRequestData("no attribute updated (noOverwrite)"));
      } else {
        ok_ids.push_back(op_ids[i]);
        if (o.created) {
          any_created = true;
        } else {
          any_updated = true;
        }
      }
    }
    HttpResponse r;
    if (errors.empty()) {
      if (kind == BatchKind::kCreate || (kind == BatchKind::kUpsert && any_created)) {
        r.status = 201;
        JsonWriter w(&r.body);
        w.BeginArray();
        for (size_t i = 0; i < outcomes.size(); ++i) {
          if (outcomes[i].created) w.String(op_ids[i]);
        }
        w.EndArray();
      } else {
        r.status = 204;
      }
      (void)any_updated;
      return respond(std::move(r));
    }
    r.status = 207;
    JsonWriter w(&r.body);
    w.BeginObject().Key("success").BeginArray();
    for (const auto& id : ok_ids) w.String(id);
    w.EndArray().Key("errors").BeginArray();
    for (const auto& [id, st] : errors) WriteError(&w, id, st);
    w.EndArray().EndObject();
    respond(std::move(r));
  };
  broker->Write(std::move(ops), std::move(finish));
}

// ---- /temporal/entities/{id}

void TemporalEntity(ContextBroker* broker, HttpRequest& req, Responder respond) {
  const std::string& id = req.params["entityId"];
  if (!context::IsValidEntityId(id)) {
    return respond(ProblemResponse(Status::BadRequestData("entity id must be a URI")));
  }
  store::HistoryQuery hq;
  hq.entity_id = id;
  if (const std::string* a = req.Query("attrs")) hq.attrs = SplitList(*a);
  auto time_param = [&](const char* name) -> Result<TimeMs> {
    const std::string* v = req.Query(name);
    if (v == nullptr) return Status::BadRequestData(std::string(name) + " is required here");
    return ParseIso8601(*v);
  };
  if (const std::string* rel = req.Query("timerel")) {
    auto t = time_param("timeAt");
    if (!t.ok()) return respond(ProblemResponse(t.status()));
    if (*rel == "before") {
      hq.to = *t;
    } else if (*rel == "after") {
      hq.from = *t + 1;
    } else if (*rel == "between") {
      auto end = time_param("endTimeAt");
      if (!end.ok()) return respond(ProblemResponse(end.status()));
      if (*end <= *t) {
        return respond(ProblemResponse(Status::BadRequestData("endTimeAt must be after timeAt")));
      }
      hq.from = *t;
      hq.to = *end;
    } else {
      return respond(ProblemResponse(
          Status::BadRequestData("timerel must be before, after or between")));
    }
  }
  if (const std::string* n = req.Query("lastN")) {
    auto v = ParseCount(n, "lastN", 0, 100000);
    if (!v.ok() || *v == 0) {
      return respond(ProblemResponse(Status::BadRequestData("lastN must be a positive integer")));
    }
    hq.last_n = *v;
  }
  context::EntityPtr e = broker->Get(id);
  if (!e) return respond(ProblemResponse(Status::NotFound("entity not found: " + id)));
  auto rows = broker->History(hq);
  if (!rows.ok()) return respond(ProblemResponse(rows.status()));
  bool temporal_values = HasOption(req, "temporalValues");
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("id").String(e->id).Key("type").String(e->type());
  size_t i = 0;
  const auto& rs = *rows;
  while (i < rs.size()) {
    const std::string& attr = rs[i].attr;
    w.Key(attr);
    if (temporal_values) {
      w.BeginObject().Key("type").String("Property").Key("values").BeginArray();
    } else {
      w.BeginArray();
    }
    for (; i < rs.size() && rs[i].attr == attr; ++i) {
      if (temporal_values) {
        auto inst = ParseJson(rs[i].value);
        w.BeginArray();
        const JsonValue* v = inst.ok() ? inst->Find("value") : nullptr;
        if (v == nullptr && inst.ok()) v = inst->Find("object");
        if (v != nullptr) {
          w.Value(*v);
        } else {
          w.Null();
        }
        w.String(FormatIso8601(rs[i].observed_at)).EndArray();
      } else {
        auto inst = ParseJson(rs[i].value);
        if (!inst.ok()) continue;
        if (inst->Find("observedAt") == nullptr) {
          inst->Set("observedAt", FormatIso8601(rs[i].observed_at));
        }
        w.Value(*inst);
      }
    }
    if (temporal_values) {
      w.EndArray().EndObject();
    } else {
      w.EndArray();
    }
  }
  w.EndObject();
  respond(JsonResponse(200, std::move(out), false));
}

}  // namespace

void AddNgsiLdRoutes(Router* router, ContextBroker* broker, NgsiLdLimits limits) {
  const std::string base = "/ngsi-ld/v1";
  auto bind = [broker](auto fn) {
    return [broker, fn](HttpRequest& req, Responder respond) { fn(broker, req, std::move(respond)); };
  };
  router->Add("POST", base + "/entities", Permission::kContextWrite, bind(CreateEntity));
  router->Add("GET", base + "/entities", Permission::kContextRead,
              [broker, limits](HttpRequest& req, Responder respond) {
                QueryEntities(broker, limits, req, std::move(respond));
              });
  router->Add("GET", base + "/entities/{entityId}", Permission::kContextRead, bind(GetEntity));
  router->Add("DELETE", base + "/entities/{entityId}", Permission::kContextWrite,
              bind(DeleteEntity));
  router->Add("POST", base + "/entities/{entityId}/attrs", Permission::kContextWrite,
              [broker](HttpRequest& req, Responder respond) {
                AttrsWrite(broker, req, std::move(respond), WriteOp::Kind::kAppend);
              });
  router->Add("PATCH", base + "/entities/{entityId}/attrs", Permission::kContextWrite,
              [broker](HttpRequest& req, Responder respond) {
                AttrsWrite(broker, req, std::move(respond), WriteOp::Kind::kUpdate);
              });
  router->Add("PATCH", base + "/entities/{entityId}/attrs/{attrId}", Permission::kContextWrite,
              bind(PatchAttr));
  router->Add("DELETE", base + "/entities/{entityId}/attrs/{attrId}", Permission::kContextWrite,
              bind(DeleteAttr));
  const std::pair<const char*, BatchKind> batches[] = {{"create", BatchKind::kCreate},
                                                       {"upsert", BatchKind::kUpsert},
                                                       {"update", BatchKind::kUpdate},
                                                       {"delete", BatchKind::kDelete}};
  for (const auto& [name, kind] : batches) {
    router->Add("POST", base + "/entityOperations/" + name, Permission::kContextWrite,
                [broker, limits, kind = kind](HttpRequest& req, Responder respond) {
                  Batch(broker, limits, kind, req, std::move(respond));
                });
  }
  router->Add("GET", base + "/temporal/entities/{entityId}", Permission::kContextRead,
              bind(TemporalEntity));
}

}  // namespace cb::api
