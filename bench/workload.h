// The benchmark workload, shared by the load generator (bench/loadgen.cc) and the storage
// baseline (bench/storage_baseline.cc) so both write the very same data.
//
// Entity shape (the FIWARE load-test shape: 6 Properties, 1 Relationship, 1 GeoProperty =
// 8 attributes), a WeatherObserved station of a city the size of Hangzhou:
//   temperature, relativeHumidity, atmosphericPressure, windSpeed, precipitation (Numbers
//   with observedAt and, except humidity, unitCode), district (a Text, one of 1,024 grid
//   cells named D0000..D1023, derived from the location), refDevice (Relationship) and
//   location (GeoProperty Point, uniformly spread over lon 120.0–120.4, lat 30.1–30.4,
//   about 38 km × 33 km).
// Entity i has id urn:ngsi-ld:WeatherObserved:wo<i, 7 digits>, so ids sort like i. Its
// values depend on (i, round) only, deterministically; its location and district on i only.
//
// Numbers are written in their shortest round-trip form, as the server renders them, and
// the stored documents the baseline writes are byte-for-byte what the server stores
// (checked by `storage_baseline --check`).
// Header-only and free of project dependencies: the load generator is a plain HTTP client.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace cbbench {

inline constexpr std::string_view kEntityType = "WeatherObserved";
inline constexpr std::string_view kIdPrefix = "urn:ngsi-ld:WeatherObserved:wo";
inline constexpr int kAttrsPerEntity = 8;
inline constexpr int kDistrictGrid = 32;  // 32 × 32 = 1,024 districts
inline constexpr double kLonMin = 120.0, kLonSpan = 0.4, kLatMin = 30.1, kLatSpan = 0.3;

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline void AppendUint(std::string* out, uint64_t v, int min_digits = 0) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  for (int pad = min_digits - static_cast<int>(r.ptr - buf); pad > 0; --pad) out->push_back('0');
  out->append(buf, r.ptr);
}

// value / 10^decimals in its shortest decimal form: (215, 1) → "21.5", (50, 2) → "0.5",
// (210, 1) → "21", (0, 2) → "0". The same text std::to_chars gives for the parsed double.
inline void AppendFixed(std::string* out, int64_t value, int decimals) {
  if (value < 0) {
    out->push_back('-');
    value = -value;
  }
  int64_t scale = 1;
  for (int d = 0; d < decimals; ++d) scale *= 10;
  AppendUint(out, static_cast<uint64_t>(value / scale));
  int64_t frac = value % scale;
  if (frac == 0) return;
  int digits = decimals;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  out->push_back('.');
  AppendUint(out, static_cast<uint64_t>(frac), digits);
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ", the server's rendering of times.
inline void AppendIso8601(std::string* out, int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out->append(buf, n);
  out->push_back('.');
  AppendUint(out, static_cast<uint64_t>(ms % 1000), 3);
  out->push_back('Z');
}

inline void AppendEntityId(std::string* out, uint64_t i) {
  out->append(kIdPrefix);
  AppendUint(out, i, 7);
}
inline std::string EntityId(uint64_t i) {
  std::string s;
  AppendEntityId(&s, i);
  return s;
}

// Location in micro-degrees.
struct Micro {
  int64_t lon, lat;
};
inline Micro Location(uint64_t i) {
  uint64_t h = SplitMix64(i * 2 + 1);
  return {static_cast<int64_t>(kLonMin * 1e6) + static_cast<int64_t>(h % 400000),
          static_cast<int64_t>(kLatMin * 1e6) + static_cast<int64_t>((h >> 32) % 300000)};
}
inline int DistrictOf(uint64_t i) {
  Micro m = Location(i);
  int ix = static_cast<int>((m.lon - static_cast<int64_t>(kLonMin * 1e6)) * kDistrictGrid / 400000);
  int iy = static_cast<int>((m.lat - static_cast<int64_t>(kLatMin * 1e6)) * kDistrictGrid / 300000);
  return ix * kDistrictGrid + iy;
}
inline void AppendDistrictName(std::string* out, int d) {
  out->push_back('D');
  AppendUint(out, static_cast<uint64_t>(d), 4);
}

// The attribute values of entity i in round r, as JSON number/string texts.
struct Values {
  std::string temperature, humidity, pressure, wind, precipitation, district, device, lon, lat;
};
inline Values ValuesOf(uint64_t i, uint32_t round) {
  Values v;
  uint64_t h = SplitMix64((i << 16) ^ (round * 0x9e37ULL + 7));
  AppendFixed(&v.temperature, 100 + static_cast<int64_t>(h % 300), 1);          // 10.0–39.9
  AppendFixed(&v.humidity, static_cast<int64_t>((h >> 12) % 100), 2);           // 0–0.99
  AppendFixed(&v.pressure, 9800 + static_cast<int64_t>((h >> 20) % 500), 1);    // 980–1029.9
  AppendFixed(&v.wind, static_cast<int64_t>((h >> 30) % 300), 1);               // 0–29.9
  AppendFixed(&v.precipitation, static_cast<int64_t>((h >> 40) % 50), 1);       // 0–4.9
  v.district.push_back('"');
  AppendDistrictName(&v.district, DistrictOf(i));
  v.district.push_back('"');
  v.device = "\"urn:ngsi-ld:Device:dev";
  AppendUint(&v.device, i, 7);
  v.device.push_back('"');
  Micro m = Location(i);
  AppendFixed(&v.lon, m.lon, 6);
  AppendFixed(&v.lat, m.lat, 6);
  return v;
}

struct AttrSpec {
  const char* name;
  const char* kind;  // Property, Relationship, GeoProperty
  const char* unit;  // may be null
  bool observed;     // carries observedAt
};
inline constexpr AttrSpec kAttrs[kAttrsPerEntity] = {
    {"temperature", "Property", "CEL", true},
    {"relativeHumidity", "Property", nullptr, true},
    {"atmosphericPressure", "Property", "A97", true},
    {"windSpeed", "Property", "MTS", true},
    {"precipitation", "Property", "MMT", true},
    {"district", "Property", nullptr, false},
    {"refDevice", "Relationship", nullptr, false},
    {"location", "GeoProperty", nullptr, false},
};

inline const std::string& ValueText(const Values& v, int k) {
  switch (k) {
    case 0: return v.temperature;
    case 1: return v.humidity;
    case 2: return v.pressure;
    case 3: return v.wind;
    case 4: return v.precipitation;
    case 5: return v.district;
    default: return v.device;
  }
}

// One attribute, normalized (as sent, and as a history row keeps it).
inline void AppendAttribute(std::string* out, const Values& v, int k, int64_t observed_at) {
  const AttrSpec& a = kAttrs[k];
  out->append("{\"type\":\"");
  out->append(a.kind);
  out->append("\",");
  if (k == 6) {
    out->append("\"object\":");
    out->append(v.device);
  } else if (k == 7) {
    out->append("\"value\":{\"type\":\"Point\",\"coordinates\":[");
    out->append(v.lon);
    out->push_back(',');
    out->append(v.lat);
    out->append("]}");
  } else {
    out->append("\"value\":");
    out->append(ValueText(v, k));
  }
  if (a.observed) {
    out->append(",\"observedAt\":\"");
    AppendIso8601(out, observed_at);
    out->push_back('"');
  }
  if (a.unit != nullptr) {
    out->append(",\"unitCode\":\"");
    out->append(a.unit);
    out->push_back('"');
  }
  out->push_back('}');
}

// The observedAt of round r's values: one minute apart per round.
inline int64_t ObservedAt(int64_t t0_ms, uint32_t round) { return t0_ms + int64_t(round) * 60000; }

// The entity as a client sends it (normalized NGSI-LD, application/json).
inline void AppendEntityJson(std::string* out, uint64_t i, uint32_t round, int64_t t0_ms) {
  Values v = ValuesOf(i, round);
  out->append("{\"id\":\"");
  AppendEntityId(out, i);
  out->append("\",\"type\":\"");
  out->append(kEntityType);
  out->push_back('"');
  for (int k = 0; k < kAttrsPerEntity; ++k) {
    out->append(",\"");
    out->append(kAttrs[k].name);
    out->append("\":");
    AppendAttribute(out, v, k, ObservedAt(t0_ms, round));
  }
  out->push_back('}');
}

// The first `props` of the six Properties (all six by default), as a PATCH …/attrs fragment.
inline void AppendPropertiesFragment(std::string* out, uint64_t i, uint32_t round, int64_t t0_ms,
                                     int props = 6) {
  Values v = ValuesOf(i, round);
  out->push_back('{');
  for (int k = 0; k < props; ++k) {
    if (k > 0) out->push_back(',');
    out->push_back('"');
    out->append(kAttrs[k].name);
    out->append("\":");
    AppendAttribute(out, v, k, ObservedAt(t0_ms, round));
  }
  out->push_back('}');
}

// The binary store document (src/context/store_doc.cc), written directly for this shape:
// this header links nothing of the project, and the storage baseline must not pay for
// building an Entity per row. `storage_baseline --check` (a test) compares the bytes with
// the server's, so the two cannot drift apart unnoticed.
namespace store_doc {
inline void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline void Str(std::string* out, std::string_view s) {
  Varint(out, s.size());
  out->append(s);
}
inline void Time(std::string* out, int64_t t) { Varint(out, ZigZag(t) + 1); }
inline constexpr char kNoTime = 0, kString = 5, kInt = 3, kDouble = 4, kArray = 6, kObject = 7;
// A JSON number text as the server's parser holds it: an integer unless it has a fraction.
inline void Number(std::string* out, std::string_view text) {
  if (text.find('.') == std::string_view::npos) {
    int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    out->push_back(kInt);
    Varint(out, ZigZag(v));
    return;
  }
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  char b[8];
  std::memcpy(b, &d, 8);
  out->push_back(kDouble);
  out->append(b, 8);
}
inline std::string_view Unquoted(const std::string& json_string) {
  return std::string_view(json_string).substr(1, json_string.size() - 2);
}
}  // namespace store_doc

// The document the server stores for the entity (every field, system times included).
inline void AppendStoreDoc(std::string* out, uint64_t i, uint32_t round, int64_t t0_ms,
                           int64_t now_ms) {
  namespace sd = store_doc;
  Values v = ValuesOf(i, round);
  out->push_back(0x01);
  std::string id;
  AppendEntityId(&id, i);
  sd::Str(out, id);
  sd::Varint(out, 1);
  sd::Str(out, kEntityType);
  sd::Time(out, now_ms);
  sd::Time(out, now_ms);
  sd::Varint(out, kAttrsPerEntity);
  for (int k = 0; k < kAttrsPerEntity; ++k) {
    const AttrSpec& a = kAttrs[k];
    sd::Str(out, a.name);
    out->push_back(k == 7 ? 1 : k == 6 ? 2 : 0);  // GeoProperty, Relationship, Property
    if (a.observed) {
      sd::Time(out, ObservedAt(t0_ms, round));
    } else {
      out->push_back(sd::kNoTime);
    }
    sd::Time(out, now_ms);
    sd::Time(out, now_ms);
    sd::Str(out, a.unit != nullptr ? a.unit : "");
    sd::Str(out, "");  // datasetId
    if (k < 5) {
      sd::Number(out, ValueText(v, k));
    } else if (k < 7) {
      out->push_back(sd::kString);
      sd::Str(out, sd::Unquoted(ValueText(v, k)));
    } else {
      out->push_back(sd::kObject);
      sd::Varint(out, 2);
      sd::Str(out, "type");
      out->push_back(sd::kString);
      sd::Str(out, "Point");
      sd::Str(out, "coordinates");
      out->push_back(sd::kArray);
      sd::Varint(out, 2);
      sd::Number(out, v.lon);
      sd::Number(out, v.lat);
    }
    sd::Varint(out, 0);  // no sub-attributes
  }
}

// One history row's value (the attribute instance without system attributes) and its time.
inline void AppendHistoryValue(std::string* out, const Values& v, int k, uint32_t round,
                               int64_t t0_ms) {
  AppendAttribute(out, v, k, ObservedAt(t0_ms, round));
}
inline int64_t HistoryTime(int k, uint32_t round, int64_t t0_ms, int64_t now_ms) {
  return kAttrs[k].observed ? ObservedAt(t0_ms, round) : now_ms;
}

}  // namespace cbbench
