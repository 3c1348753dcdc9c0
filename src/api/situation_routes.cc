// /api/v1/situation: the zones' live figures and tier levels from stream::SituationEngine.

#include <cstdlib>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "api/problem.h"
#include "api/situation_json.h"
#include "stream/situation_engine.h"

namespace cb::api {
namespace {

using stream::LevelChange;
using stream::SituationEngine;
using stream::ZoneStatus;

void WriteText(JsonWriter* w, const stream::LocalizedText& t) {
  w->BeginObject().Key("zh-CN").String(t.zh_cn).Key("en").String(t.en).EndObject();
}

void WriteOptional(JsonWriter* w, std::string_view key, const std::optional<double>& v) {
  w->Key(key);
  if (v) {
    w->Double(*v);
  } else {
    w->Null();
  }
}

void WriteTime(JsonWriter* w, std::string_view key, TimeMs t) {
  w->Key(key);
  if (t == kNoTime) {
    w->Null();
  } else {
    w->String(FormatIso8601(t));
  }
}

// The level's name, actions and departments (nulls for no level).
void WriteLevelDetails(JsonWriter* w, const stream::TierLevel* level) {
  if (level == nullptr) {
    w->Key("levelName").Null().Key("actions").Null().Key("departments").Null();
    return;
  }
  w->Key("levelName");
  WriteText(w, level->name);
  w->Key("actions");
  WriteText(w, level->actions);
  w->Key("departments").BeginArray();
  for (const std::string& d : level->departments) w->String(d);
  w->EndArray();
}

}  // namespace

void WriteSituationZone(JsonWriter* w, const SituationEngine& engine, const ZoneStatus& s) {
  w->BeginObject().Key("id").String(s.zone.id).Key("name").Value(s.zone.name);
  w->Key("parent");
  if (s.zone.parent_id.empty()) {
    w->Null();
  } else {
    w->String(s.zone.parent_id);
  }
  w->Key("ancestors").BeginArray();
  for (const std::string& a : s.ancestors) w->String(a);
  w->EndArray();
  w->Key("areaM2").Double(s.zone.area_m2);
  WriteOptional(w, "capacity", s.zone.capacity);
  const stream::ZoneCrowd& c = s.crowd;
  w->Key("crowd").BeginObject();
  WriteTime(w, "at", c.at);
  WriteOptional(w, "count", c.count);
  w->Key("freshSum").Double(c.fresh_sum);
  w->Key("counters").Int(static_cast<int64_t>(c.counters));
  w->Key("freshCounters").Int(static_cast<int64_t>(c.fresh_counters));
  w->Key("coverage").Double(c.coverage);
  WriteOptional(w, "densityPerM2", c.density_per_m2);
  WriteOptional(w, "capacityRatio", c.capacity_ratio);
  WriteOptional(w, "trendPerMin", c.trend_per_min);
  w->EndObject();
  w->Key("tier");
  if (s.plan_id.empty()) {
    w->Null();
  } else {
    const stream::TierPlan* plan = engine.Plan(s.plan_id);
    w->BeginObject().Key("plan").String(s.plan_id).Key("level").Int(s.level);
    WriteTime(w, "since", s.level_since);
    WriteTime(w, "lastCycle", s.last_cycle);
    WriteLevelDetails(w, plan != nullptr ? plan->Find(s.level) : nullptr);
    w->EndObject();
  }
  w->EndObject();
}

void WriteLevelChange(JsonWriter* w, const LevelChange& c) {
  w->BeginObject()
      .Key("zone").String(c.zone_id)
      .Key("plan").String(c.plan_id)
      .Key("from").Int(c.from)
      .Key("to").Int(c.to)
      .Key("escalation").Bool(c.escalation());
  WriteTime(w, "at", c.at);
  w->Key("value").Double(c.value);
  WriteLevelDetails(w, c.level);
  w->EndObject();
}

void WriteParkingLot(JsonWriter* w, const stream::LotState& l, bool with_distance) {
  w->BeginObject()
      .Key("id").String(l.id)
      .Key("location").BeginArray().Double(l.location.lon).Double(l.location.lat).EndArray()
      .Key("total").Double(l.total)
      .Key("occupied").Double(l.occupied)
      .Key("available").Double(l.available())
      .Key("index").Double(l.index())
      .Key("status").String(stream::LotStatusName(l.status));
  WriteTime(w, "at", l.at);
  w->Key("fresh").Bool(l.fresh);
  if (with_distance) w->Key("distanceM").Double(l.distance_m);
  w->EndObject();
}

void WriteDeviceState(JsonWriter* w, const stream::DeviceState& d) {
  w->BeginObject().Key("id").String(d.device_id);
  WriteTime(w, "lastReading", d.last_reading);
  w->Key("intervalMs");
  if (d.interval_ms) {
    w->Int(*d.interval_ms);
  } else {
    w->Null();
  }
  w->Key("silent").Bool(d.silent).EndObject();
}

void WriteSituationZones(JsonWriter* w, const SituationEngine& engine,
                         const std::vector<ZoneStatus>& zones) {
  for (const ZoneStatus& s : zones) WriteSituationZone(w, engine, s);
}

void WriteParkingLots(JsonWriter* w, const std::vector<stream::LotState>& lots) {
  for (const stream::LotState& l : lots) WriteParkingLot(w, l, false);
}

namespace {

HttpResponse Json(std::string body) { return JsonResponse(200, std::move(body), false); }

// A 200 JSON array of `items`, each written by `write`.
template <typename Items, typename Write>
HttpResponse JsonArray(const Items& items, Write write) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const auto& item : items) write(&w, item);
  w.EndArray();
  return Json(std::move(out));
}

// A local date "YYYY-MM-DD" as days since 1970-01-01.
Result<int64_t> ParseDay(const std::string* v, std::string_view name) {
  if (v == nullptr) return Status::BadRequestData(std::string(name) + " is required (YYYY-MM-DD)");
  if (v->size() != 10) return Status::BadRequestData(std::string(name) + " must be a date, YYYY-MM-DD");
  auto t = ParseIso8601(*v + "T00:00:00Z");
  if (!t.ok()) return Status::BadRequestData(std::string(name) + " must be a date, YYYY-MM-DD");
  return *t / 86400000;
}

std::string FormatDay(int64_t day) { return FormatIso8601(day * 86400000).substr(0, 10); }

// The destination of a parking query: ?poi=<entity id> (its location), or ?lon=&lat=; and
// ?radius= in metres (default 500, at most 5,000).
struct Destination {
  geo::LonLat center;
  double radius_m = 500;
};

Result<double> ParseNumber(const std::string* v, std::string_view name, double lo, double hi) {
  if (v == nullptr) return Status::BadRequestData(std::string(name) + " is required");
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || !(d >= lo && d <= hi)) {
    return Status::BadRequestData(std::string(name) + " must be a number from " +
                                  JsonValue(lo).Dump() + " to " + JsonValue(hi).Dump());
  }
  return d;
}

// An optional ISO 8601 time query parameter: `dflt` when absent.
Result<TimeMs> ParseTime(const std::string* v, std::string_view name, TimeMs dflt) {
  if (v == nullptr) return dflt;
  auto t = ParseIso8601(*v);
  if (!t.ok()) {
    return Status::BadRequestData(std::string(name) + " must be an ISO 8601 time, e.g. " +
                                  "2026-11-23T08:00:00Z");
  }
  return *t;
}

void WriteHistoryCount(JsonWriter* w, const std::optional<double>& count) {
  w->Key("count");
  if (count) {
    w->Double(*count);
  } else {
    w->Null();
  }
}

constexpr TimeMs kHour = 3600000;

Result<Destination> ParseDestination(context::ContextBroker* broker, HttpRequest& req) {
  Destination d;
  if (const std::string* poi = req.Query("poi")) {
    context::EntityPtr e = broker->Get(*poi);
    if (!e) return Status::NotFound("point of interest " + *poi + " not found");
    const context::Attribute* loc = e->Find("location");
    if (loc == nullptr || loc->geometry == nullptr) {
      return Status::BadRequestData("point of interest " + *poi + " has no location");
    }
    d.center = loc->geometry->FirstPoint();
  } else if (req.Query("lon") != nullptr || req.Query("lat") != nullptr) {
    auto lon = ParseNumber(req.Query("lon"), "lon", -180, 180);
    if (!lon.ok()) return lon.status();
    auto lat = ParseNumber(req.Query("lat"), "lat", -90, 90);
    if (!lat.ok()) return lat.status();
    d.center = {*lon, *lat};
  } else {
    return Status::BadRequestData("give the destination: poi=<entity id>, or lon= and lat=");
  }
  if (const std::string* r = req.Query("radius")) {
    auto radius = ParseNumber(r, "radius", 1, 5000);
    if (!radius.ok()) return radius.status();
    d.radius_m = *radius;
  }
  return d;
}

}  // namespace

void AddSituationRoutes(Router* router, SituationEngine* engine, context::ContextBroker* broker) {
  const std::string base = "/api/v1/situation";
  router->Add("GET", base + "/zones", security::Permission::kContextRead,
              [engine](HttpRequest&, Responder respond) {
                std::string out;
                JsonWriter w(&out);
                w.BeginArray();
                WriteSituationZones(&w, *engine, engine->AllZones());
                w.EndArray();
                respond(Json(std::move(out)));
              });
  router->Add("GET", base + "/zones/{zoneId}", security::Permission::kContextRead,
              [engine](HttpRequest& req, Responder respond) {
                auto s = engine->ZoneState(req.params["zoneId"]);
                if (!s) {
                  return respond(ProblemResponse(
                      Status::NotFound("zone " + req.params["zoneId"] + " is not defined")));
                }
                std::string out;
                JsonWriter w(&out);
                WriteSituationZone(&w, *engine, *s);
                respond(Json(std::move(out)));
              });
  auto changes = [engine](const std::string& zone, HttpRequest& req, Responder respond) {
    auto limit = ParseCount(req.Query("limit"), "limit", 100, 1000);
    if (!limit.ok()) return respond(Fail(limit.status()));
    respond(JsonArray(engine->RecentChanges(zone, *limit), WriteLevelChange));
  };
  router->Add("GET", base + "/level-changes", security::Permission::kContextRead,
              [changes](HttpRequest& req, Responder respond) {
                changes("", req, std::move(respond));
              });
  router->Add("GET", base + "/zones/{zoneId}/level-changes", security::Permission::kContextRead,
              [engine, changes](HttpRequest& req, Responder respond) {
                const std::string zone = req.params["zoneId"];
                if (!engine->ZoneState(zone)) {
                  return respond(ProblemResponse(Status::NotFound("zone " + zone + " is not defined")));
                }
                changes(zone, req, std::move(respond));
              });
  router->Add(
      "GET", base + "/zones/{zoneId}/level-days", security::Permission::kContextRead,
      [engine](HttpRequest& req, Responder respond) {
        const std::string zone = req.params["zoneId"];
        auto s = engine->ZoneState(zone);
        if (!s) return respond(ProblemResponse(Status::NotFound("zone " + zone + " is not defined")));
        auto level = ParseCount(req.Query("level"), "level", 1, 99);
        if (!level.ok() || *level == 0) {
          return respond(ProblemResponse(
              Status::BadRequestData("level must be a whole number from 1 (most severe) to 99")));
        }
        auto from = ParseDay(req.Query("from"), "from");
        if (!from.ok()) return respond(ProblemResponse(from.status()));
        auto to = ParseDay(req.Query("to"), "to");
        if (!to.ok()) return respond(ProblemResponse(to.status()));
        if (*to < *from) return respond(ProblemResponse(Status::BadRequestData("to is before from")));
        if (*to - *from > 3660) {
          return respond(ProblemResponse(Status::BadRequestData("at most ten years at a time")));
        }
        std::string out;
        JsonWriter w(&out);
        w.BeginObject()
            .Key("zone").String(zone)
            .Key("level").Int(static_cast<int64_t>(*level))
            .Key("from").String(FormatDay(*from))
            .Key("to").String(FormatDay(*to))
            .Key("days").Int(engine->DaysAtOrAbove(zone, static_cast<int>(*level), *from, *to))
            .Key("perDay").BeginArray();
        for (int64_t d = *from; d <= *to; ++d) {
          std::map<int, int64_t> day = engine->Day(zone, d);
          if (day.empty()) continue;
          w.BeginObject().Key("date").String(FormatDay(d)).Key("msAtLevel").BeginObject();
          for (const auto& [l, ms] : day) w.Key(std::to_string(l)).Int(ms);
          w.EndObject().EndObject();
        }
        w.EndArray().EndObject();
        respond(Json(std::move(out)));
      });
  router->Add(
      "GET", base + "/zones/{zoneId}/history", security::Permission::kContextRead,
      [engine](HttpRequest& req, Responder respond) {
        const std::string zone = req.params["zoneId"];
        const TimeMs now = engine->Now();
        auto to = ParseTime(req.Query("to"), "to", now);
        if (!to.ok()) return respond(ProblemResponse(to.status()));
        auto from = ParseTime(req.Query("from"), "from", *to - 3 * kHour);
        if (!from.ok()) return respond(ProblemResponse(from.status()));
        if (*from >= *to) return respond(ProblemResponse(Status::BadRequestData("from must be before to")));
        size_t max_points = 1000;
        if (const std::string* m = req.Query("maxPoints")) {
          auto n = ParseNumber(m, "maxPoints", 1, 5000);
          if (!n.ok() || *n != static_cast<double>(static_cast<size_t>(*n))) {
            return respond(ProblemResponse(
                Status::BadRequestData("maxPoints must be a whole number from 1 to 5000")));
          }
          max_points = static_cast<size_t>(*n);
        }
        auto points = engine->History(zone, *from, *to);
        if (!points) return respond(ProblemResponse(Status::NotFound("zone " + zone + " is not defined")));
        std::string out;
        JsonWriter w(&out);
        w.BeginObject()
            .Key("zone").String(zone)
            .Key("from").String(FormatIso8601(*from))
            .Key("to").String(FormatIso8601(*to))
            .Key("stepMs").Int(engine->options().history_step_ms)
            .Key("points").BeginArray();
        for (const stream::ZoneHistoryPoint& p : stream::ThinHistory(*points, max_points)) {
          w.BeginObject().Key("at").String(FormatIso8601(p.at));
          WriteHistoryCount(&w, p.count);
          w.Key("level").Int(p.level).EndObject();
        }
        w.EndArray().EndObject();
        respond(Json(std::move(out)));
      });
  router->Add("GET", base + "/history", security::Permission::kContextRead,
              [engine](HttpRequest& req, Responder respond) {
                auto at = ParseTime(req.Query("at"), "at", engine->Now());
                if (!at.ok()) return respond(ProblemResponse(at.status()));
                std::string out;
                JsonWriter w(&out);
                w.BeginObject().Key("at").String(FormatIso8601(*at)).Key("zones").BeginArray();
                for (const auto& [id, point] : engine->HistoryAt(*at)) {
                  w.BeginObject().Key("id").String(id);
                  WriteHistoryCount(&w, point ? point->count : std::nullopt);
                  w.Key("level").Int(point ? point->level : 0).EndObject();
                }
                w.EndArray().Key("levelChanges").BeginArray();
                for (const LevelChange& c : engine->ChangesBetween(*at - kHour, *at)) WriteLevelChange(&w, c);
                w.EndArray().EndObject();
                respond(Json(std::move(out)));
              });
  router->Add("GET", base + "/parking/lots", security::Permission::kContextRead,
              [engine](HttpRequest&, Responder respond) {
                std::string out;
                JsonWriter w(&out);
                w.BeginArray();
                WriteParkingLots(&w, engine->ParkingLots());
                w.EndArray();
                respond(Json(std::move(out)));
              });
  router->Add("GET", base + "/parking/destination", security::Permission::kContextRead,
              [engine, broker](HttpRequest& req, Responder respond) {
                auto d = ParseDestination(broker, req);
                if (!d.ok()) return respond(ProblemResponse(d.status()));
                stream::DestinationParking p = engine->ParkingFor(d->center, d->radius_m);
                std::string out;
                JsonWriter w(&out);
                w.BeginObject()
                    .Key("center").BeginArray().Double(p.center.lon).Double(p.center.lat).EndArray()
                    .Key("radiusM").Double(p.radius_m)
                    .Key("total").Double(p.total)
                    .Key("occupied").Double(p.occupied)
                    .Key("available").Double(p.available());
                WriteOptional(&w, "index", p.index());
                w.Key("staleLots").Int(static_cast<int64_t>(p.stale_lots)).Key("lots").BeginArray();
                for (const stream::LotState& l : p.lots) WriteParkingLot(&w, l, true);
                w.EndArray().EndObject();
                respond(Json(std::move(out)));
              });
  router->Add("GET", base + "/parking/guidance", security::Permission::kContextRead,
              [engine, broker](HttpRequest& req, Responder respond) {
                auto d = ParseDestination(broker, req);
                if (!d.ok()) return respond(ProblemResponse(d.status()));
                auto limit = ParseCount(req.Query("limit"), "limit", 3, 100);
                if (!limit.ok()) return respond(Fail(limit.status()));
                respond(JsonArray(engine->ParkingGuidance(d->center, d->radius_m, *limit),
                                  [](JsonWriter* w, const stream::LotState& l) { WriteParkingLot(w, l, true); }));
              });
  router->Add("GET", base + "/devices", security::Permission::kContextRead,
              [engine](HttpRequest&, Responder respond) {
                respond(JsonArray(engine->Devices(), WriteDeviceState));
              });
  router->Add("GET", base + "/tier-plans", security::Permission::kContextRead,
              [engine](HttpRequest&, Responder respond) {
                respond(JsonArray(engine->Plans(), [](JsonWriter* w, const stream::TierPlan* p) {
                  w->Value(p->ToJson());
                }));
              });
}

}  // namespace cb::api
