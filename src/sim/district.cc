#include "sim/district.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace cb::sim {
namespace {

// ---------------------------------------------------------------------------------------
// The model's parameters: one table.
//
// Times are minutes of the day (Beijing time), people are people in the zone, car-park
// values are the occupied share of the spaces. Shapes follow what the Hubin operations
// centre reports: the lake-side plaza fills through the evening and surges past 10,000 for
// the 19:00 and 20:00 music-fountain shows (about 20 minutes each), then empties; the crowd
// leaving a show spills into the pedestrian street and floods the metro station; the
// hospital's car parks fill at the evening visiting hours (about 18:30–20:30), the ones
// nearest the lake also with show-goers.
// ---------------------------------------------------------------------------------------

constexpr int H(int hour, int minute = 0) { return hour * 60 + minute; }

const std::vector<FountainShow> kShows = {
    {H(19), 1.0},  // 19:00
    {H(20), 1.1},  // 20:00, the bigger one
};

// The fountain plaza (湖滨音乐喷泉广场, capacity 15,000): people gather from half an hour
// before a show, stay through it and leave within 25 minutes of its end.
const Series kPlazaPeople = {
    .base = {{H(0), 120}, {H(3), 30}, {H(6), 40}, {H(8), 250}, {H(10), 700}, {H(12), 1000},
             {H(14), 900}, {H(16), 800}, {H(17), 900}, {H(17, 30), 1400}, {H(18), 2200},
             {H(18, 30), 3200}, {H(19, 30), 3800}, {H(20, 30), 3400}, {H(21), 2800},
             {H(21, 30), 1800}, {H(22), 1100}, {H(22, 30), 600}, {H(23), 350}, {H(24), 120}},
    .show = {.begin_min = -30, .rise_min = 30, .hold_min = 20, .fall_min = 25, .gain = 7600},
    .noise = 0.04,
};

// The pedestrian street (湖滨步行街, capacity 8,000): shoppers through the afternoon and
// evening; the crowd leaving a show walks through it.
const Series kStreetPeople = {
    .base = {{H(0), 80}, {H(6), 50}, {H(9), 600}, {H(12), 1800}, {H(15), 2200}, {H(17), 2600},
             {H(18), 3000}, {H(19), 3200}, {H(20), 3400}, {H(21), 3600}, {H(21, 30), 3000},
             {H(22), 2000}, {H(23), 700}, {H(24), 80}},
    .show = {.begin_min = 20, .rise_min = 10, .hold_min = 10, .fall_min = 30, .gain = 1500},
    .noise = 0.05,
};

// The metro station (龙翔桥站, capacity 4,000): the commute peaks, the tidal wave after
// each show, closed after 23:30.
const Series kMetroPeople = {
    .base = {{H(0), 20}, {H(6), 150}, {H(8), 1200}, {H(9), 900}, {H(12), 600}, {H(17), 900},
             {H(18), 1300}, {H(19), 800}, {H(21), 900}, {H(22), 800}, {H(23), 400},
             {H(23, 30), 100}, {H(24), 20}},
    .show = {.begin_min = 20, .rise_min = 8, .hold_min = 12, .fall_min = 25, .gain = 1600},
    .noise = 0.06,
};

// The hospital's car parks over the day (occupied share): morning clinics, a lunch dip, the
// afternoon, and the evening visiting hours. Each car park takes it times its own factor.
const std::vector<CurvePoint> kHospitalParking = {
    {H(0), 0.40},   {H(6), 0.38},  {H(7, 30), 0.70}, {H(9), 0.96},   {H(11, 30), 0.97},
    {H(13), 0.85},  {H(15), 0.93}, {H(17), 0.80},    {H(18, 30), 0.90}, {H(19, 15), 0.99},
    {H(20), 0.97},  {H(20, 45), 0.75}, {H(22), 0.52}, {H(24), 0.40}};

// Show-goers who drive park from an hour before a show until half an hour after it.
ShowEffect ShowParking(double gain) {
  return {.begin_min = -60, .rise_min = 40, .hold_min = 40, .fall_min = 30, .gain = gain};
}

std::vector<CurvePoint> Scaled(const std::vector<CurvePoint>& curve, double factor) {
  std::vector<CurvePoint> out = curve;
  for (CurvePoint& p : out) p.value *= factor;
  return out;
}

DistrictModel MakeHubin() {
  DistrictModel m;
  m.mqtt_api_key = "hubin-demo";
  m.plaza_zone_id = "urn:ngsi-ld:Zone:fountain-plaza";
  m.hospital_poi_id = "urn:ngsi-ld:PointOfInterest:hubin-hospital";
  m.shows = kShows;
  const std::string counter = "urn:ngsi-ld:CrowdFlowObserved:hubin-";
  m.sites = {
      {m.plaza_zone_id, "plaza", kPlazaPeople,
       {{"counter-1", counter + "counter-1", 0.55}, {"counter-2", counter + "counter-2", 0.45}}},
      {"urn:ngsi-ld:Zone:pedestrian-street", "street", kStreetPeople,
       {{"counter-3", counter + "counter-3", 0.5}, {"counter-4", counter + "counter-4", 0.5}}},
      {"urn:ngsi-ld:Zone:metro-station", "metro", kMetroPeople,
       {{"counter-5", counter + "counter-5", 0.6}, {"counter-6", counter + "counter-6", 0.4}}},
  };
  const std::string lot = "urn:ngsi-ld:OffStreetParking:hubin-";
  // Each car park: its device, name, spaces, its factor on kHospitalParking, and the share of
  // its spaces show-goers take at a show (ShowParking).
  const struct { const char* device; const char* name; int64_t spots; double factor, show; } lots[] = {
      {"lot-a", "Hospital underground car park", 412, 1.00, 0.00},
      {"lot-b", "Dongpo Road car park", 356, 0.93, 0.05},
      {"lot-c", "Pinghai Road car park", 305, 0.89, 0.06},
      {"lot-d", "Hubin Road car park", 220, 0.86, 0.08},
  };
  for (const auto& l : lots) {
    m.lots.push_back({l.device, lot + l.device, l.name, l.spots,
                      Series{Scaled(kHospitalParking, l.factor), ShowParking(l.show), 0.015}});
  }
  return m;
}

// ---------------------------------------------------------------------------------------

double SmoothStep(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}

double CurveAt(const std::vector<CurvePoint>& curve, double minute) {
  if (curve.empty()) return 0;
  if (minute <= curve.front().minute) return curve.front().value;
  for (size_t i = 1; i < curve.size(); ++i) {
    const CurvePoint& a = curve[i - 1];
    const CurvePoint& b = curve[i];
    if (minute <= b.minute) {
      return a.value + (b.value - a.value) * (minute - a.minute) / (b.minute - a.minute);
    }
  }
  return curve.back().value;
}

// The shows' effect at `minute`, 0 to gain × draw per show.
double ShowsAt(const ShowEffect& e, const std::vector<FountainShow>& shows, double minute) {
  if (e.gain == 0) return 0;
  double sum = 0;
  for (const FountainShow& s : shows) {
    const double rel = minute - s.minute - e.begin_min;
    double level = 0;
    if (rel <= 0) {
      level = 0;
    } else if (rel < e.rise_min) {
      level = SmoothStep(rel / e.rise_min);
    } else if (rel < e.rise_min + e.hold_min) {
      level = 1;
    } else {
      level = 1 - SmoothStep((rel - e.rise_min - e.hold_min) / e.fall_min);
    }
    sum += level * e.gain * s.draw;
  }
  return sum;
}

// SplitMix64's finaliser: a good 64-bit mix.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Noise in [-1, 1] for one device at one time: a hash, so it needs no state.
double NoiseAt(uint64_t seed, uint64_t device, int64_t second) {
  const uint64_t h = Mix(seed ^ Mix(device ^ Mix(static_cast<uint64_t>(second))));
  return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53) * 2 - 1;
}

double SeriesAt(const Series& s, const std::vector<FountainShow>& shows, double minute) {
  return CurveAt(s.base, minute) + ShowsAt(s.show, shows, minute);
}

Status CheckSeries(const Series& s, const std::string& what) {
  auto bad = [&](const std::string& why) { return Status::BadRequestData(what + ": " + why); };
  if (s.base.empty() || s.base.front().minute != 0 || s.base.back().minute != H(24)) {
    return bad("the base curve must run from minute 0 to minute 1440");
  }
  for (size_t i = 1; i < s.base.size(); ++i) {
    if (s.base[i].minute <= s.base[i - 1].minute) return bad("curve minutes must rise");
  }
  for (const CurvePoint& p : s.base) {
    if (p.value < 0) return bad("curve values must not be negative");
  }
  if (s.show.rise_min <= 0 || s.show.fall_min <= 0 || s.show.hold_min < 0) {
    return bad("a show effect needs a positive rise and fall");
  }
  if (s.noise < 0 || s.noise >= 1) return bad("noise must be in [0, 1)");
  return Status::Ok();
}

// The entity of `id` in a district definition, or null.
const JsonValue* FindEntity(const JsonValue& entities, const std::string& id) {
  for (const JsonValue& e : entities.as_array()) {
    const JsonValue* i = e.Find("id");
    if (i != nullptr && i->is_string() && i->as_string() == id) return &e;
  }
  return nullptr;
}

// The value of a Property in normalized (`{"value": …}`) or keyValues form.
const JsonValue* PropertyValue(const JsonValue& entity, std::string_view attr) {
  const JsonValue* a = entity.Find(attr);
  if (a != nullptr && a->is_object()) return a->Find("value");
  return a;
}

}  // namespace

const DistrictModel& HubinDistrict() {
  static const DistrictModel kModel = MakeHubin();
  return kModel;
}

Status ValidateModel(const DistrictModel& model) {
  if (model.mqtt_api_key.empty() || model.plaza_zone_id.empty() || model.hospital_poi_id.empty()) {
    return Status::BadRequestData("the model needs an MQTT apiKey, a plaza zone and a hospital");
  }
  for (const FountainShow& s : model.shows) {
    if (s.minute < 0 || s.minute >= H(24) || s.draw <= 0) {
      return Status::BadRequestData("a show needs a start within the day and a positive draw");
    }
  }
  for (const SiteSpec& site : model.sites) {
    CB_RETURN_IF_ERROR(CheckSeries(site.people, site.zone_id));
    double shares = 0;
    for (const CounterSpec& c : site.counters) {
      if (c.device_id.empty() || c.entity_id.empty() || c.share <= 0) {
        return Status::BadRequestData(site.zone_id + ": a counter needs ids and a positive share");
      }
      shares += c.share;
    }
    if (std::abs(shares - 1) > 1e-9) {
      return Status::BadRequestData(site.zone_id + ": the counters' shares must add up to 1");
    }
  }
  for (const LotSpec& lot : model.lots) {
    CB_RETURN_IF_ERROR(CheckSeries(lot.occupancy, lot.entity_id));
    if (lot.device_id.empty() || lot.total_spots <= 0) {
      return Status::BadRequestData(lot.entity_id + ": a car park needs a device id and spaces");
    }
  }
  return Status::Ok();
}

int64_t DistrictReadings::PeopleIn(std::string_view zone_id) const {
  int64_t sum = 0;
  for (const CounterReading& r : counters) {
    if (r.site->zone_id == zone_id) sum += r.people;
  }
  return sum;
}

int64_t DistrictReadings::SpotsOccupied() const {
  int64_t sum = 0;
  for (const LotReading& r : lots) sum += r.occupied;
  return sum;
}

int64_t DistrictReadings::SpotsTotal() const {
  int64_t sum = 0;
  for (const LotReading& r : lots) sum += r.lot->total_spots;
  return sum;
}

DistrictReadings ReadingsAt(const DistrictModel& model, int64_t second, uint64_t seed) {
  DistrictReadings out;
  out.second = second;
  const int64_t of_day = ((second % kSecondsPerDay) + kSecondsPerDay) % kSecondsPerDay;
  const double minute = static_cast<double>(of_day) / 60;
  uint64_t device = 0;  // each device's own noise
  for (const SiteSpec& site : model.sites) {
    const double people = SeriesAt(site.people, model.shows, minute);
    for (const CounterSpec& c : site.counters) {
      const double noisy = people * c.share * (1 + site.people.noise * NoiseAt(seed, ++device, of_day));
      out.counters.push_back({&site, &c, std::max<int64_t>(0, std::llround(noisy))});
    }
  }
  for (const LotSpec& lot : model.lots) {
    const double share = SeriesAt(lot.occupancy, model.shows, minute) *
                         (1 + lot.occupancy.noise * NoiseAt(seed, ++device, of_day));
    const int64_t occupied =
        std::llround(std::clamp(share, 0.0, 1.0) * static_cast<double>(lot.total_spots));
    out.lots.push_back({&lot, occupied, lot.total_spots - occupied});
  }
  return out;
}

Result<int64_t> ParseTimeOfDay(std::string_view text) {
  auto digit = [&](size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || !digit(0) || !digit(1) || text[2] != ':' || !digit(3) || !digit(4)) {
    return Status::BadRequestData("a time of day is HH:MM, e.g. 19:30 (got '" +
                                  std::string(text) + "')");
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) {
    return Status::BadRequestData("'" + std::string(text) + "' is not a time of day (00:00–24:00)");
  }
  return static_cast<int64_t>(hours) * 3600 + minutes * 60;
}

std::string FormatTimeOfDay(int64_t second) {
  const int64_t of_day = ((second % kSecondsPerDay) + kSecondsPerDay) % kSecondsPerDay;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(of_day / 3600),
                static_cast<int>(of_day % 3600 / 60));
  return buf;
}

Status CheckDistrictDefinition(const DistrictModel& model, const JsonValue& entities) {
  if (!entities.is_array()) {
    return Status::BadRequestData("the district must be a JSON array of NGSI-LD entities");
  }
  // id → the type the model needs it to have.
  std::map<std::string, std::string> wanted = {{model.hospital_poi_id, "PointOfInterest"}};
  for (const SiteSpec& site : model.sites) {
    wanted[site.zone_id] = "Zone";
    for (const CounterSpec& c : site.counters) wanted[c.entity_id] = "CrowdFlowObserved";
  }
  for (const LotSpec& lot : model.lots) wanted[lot.entity_id] = "OffStreetParking";
  for (const auto& [id, type] : wanted) {
    const JsonValue* e = FindEntity(entities, id);
    if (e == nullptr) return Status::BadRequestData("the district has no entity " + id);
    const JsonValue* t = e->Find("type");
    if (t == nullptr || !t->is_string() || t->as_string() != type) {
      return Status::BadRequestData(id + " must be of type " + type);
    }
  }
  for (const LotSpec& lot : model.lots) {
    const JsonValue* total = PropertyValue(*FindEntity(entities, lot.entity_id), "totalSpotNumber");
    if (total == nullptr || !total->is_number() ||
        total->as_double() != static_cast<double>(lot.total_spots)) {
      return Status::BadRequestData(lot.entity_id + " must have totalSpotNumber " +
                                    std::to_string(lot.total_spots) + ", as the model does");
    }
  }
  return Status::Ok();
}

}  // namespace cb::sim
