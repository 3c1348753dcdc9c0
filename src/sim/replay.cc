#include "sim/replay.h"

#include <algorithm>
#include <cstdlib>

#include "core/json.h"

namespace cb::sim {
namespace {

// Splits one CSV line on commas, honouring double quotes ("a, b" is one field).
std::vector<std::string> Fields(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool Number(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string Property(double value, TimeMs at) {
  std::string s = R"({"type":"Property","value":)";
  AppendJsonNumber(&s, value);
  s += R"(,"observedAt":")" + FormatIso8601(at) + R"("})";
  return s;
}

std::string Location(const std::map<std::string, std::pair<double, double>>& locations,
                     const std::string& id) {
  auto it = locations.find(id);
  if (it == locations.end()) return "";
  std::string s = R"(,"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[)";
  AppendJsonNumber(&s, it->second.first);
  s += ",";
  AppendJsonNumber(&s, it->second.second);
  return s + "]}}";
}

}  // namespace

Result<std::map<std::string, std::pair<double, double>>> ParseMelbourneLocations(
    std::string_view csv) {
  std::vector<std::string_view> lines = Lines(csv);
  if (lines.empty()) return Status::BadRequestData("locations: the file is empty");
  std::vector<std::string> header = Fields(lines[0]);
  auto col = [&](std::string_view name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int id = col("Location_ID"), lat = col("Latitude"), lon = col("Longitude");
  if (id < 0 || lat < 0 || lon < 0) {
    return Status::BadRequestData("locations: needs the columns Location_ID, Latitude, Longitude");
  }
  std::map<std::string, std::pair<double, double>> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = Fields(lines[i]);
    double la = 0, lo = 0;
    if (static_cast<int>(f.size()) <= std::max({id, lat, lon}) || !Number(f[lat], &la) ||
        !Number(f[lon], &lo)) {
      continue;
    }
    out[f[id]] = {lo, la};
  }
  return out;
}

Result<ReplayData> ParseReplay(std::string_view format, std::string_view csv,
                               const std::map<std::string, std::pair<double, double>>& locations) {
  std::vector<std::string_view> lines = Lines(csv);
  if (lines.empty()) return Status::BadRequestData("replay: the file is empty");
  const std::vector<std::string> header = Fields(lines[0]);
  ReplayData data;
  if (format == "melbourne-hourly") {
    if (header.size() < 5 || header[0] != "SensingDateTime(Hour)" || header[1] != "LocationID" ||
        header[4] != "Total_of_Directions") {
      return Status::BadRequestData(
          "replay: melbourne-hourly needs the header SensingDateTime(Hour),LocationID,"
          "Direction_1,Direction_2,Total_of_Directions");
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      ++data.rows;
      std::vector<std::string> f = Fields(lines[i]);
      double count = 0;
      auto at = f.size() >= 5 ? ParseIso8601(f[0]) : Result<TimeMs>(Status::BadRequestData(""));
      if (!at.ok() || f[1].empty() || !Number(f[4], &count)) {
        ++data.skipped;
        continue;
      }
      data.observations.push_back(
          {*at, R"({"id":"urn:ngsi-ld:CrowdFlowObserved:melbourne-)" + f[1] +
                    R"(","type":"CrowdFlowObserved","peopleCount":)" + Property(count, *at) +
                    Location(locations, f[1]) + "}"});
    }
  } else if (format == "birmingham-parking") {
    if (header.size() < 4 || header[0] != "SystemCodeNumber" || header[1] != "Capacity" ||
        header[2] != "Occupancy" || header[3] != "LastUpdated") {
      return Status::BadRequestData(
          "replay: birmingham-parking needs the header SystemCodeNumber,Capacity,Occupancy,LastUpdated");
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      ++data.rows;
      std::vector<std::string> f = Fields(lines[i]);
      double total = 0, occupied = 0;
      Result<TimeMs> at = Status::BadRequestData("");
      if (f.size() >= 4 && f[3].size() == 19) {
        at = ParseIso8601(f[3].substr(0, 10) + "T" + f[3].substr(11) + "Z");
      }
      if (!at.ok() || f[0].empty() || !Number(f[1], &total) || !Number(f[2], &occupied)) {
        ++data.skipped;
        continue;
      }
      std::string id = f[0];
      std::replace(id.begin(), id.end(), ' ', '-');
      data.observations.push_back(
          {*at, R"({"id":"urn:ngsi-ld:OffStreetParking:birmingham-)" + id +
                    R"(","type":"OffStreetParking","totalSpotNumber":)" + Property(total, *at) +
                    R"(,"occupiedSpotNumber":)" + Property(occupied, *at) +
                    Location(locations, f[0]) + "}"});
    }
  } else {
    return Status::BadRequestData("replay: unknown format " + std::string(format) +
                                  " (melbourne-hourly, birmingham-parking)");
  }
  std::stable_sort(data.observations.begin(), data.observations.end(),
                   [](const Observation& a, const Observation& b) { return a.at < b.at; });
  return data;
}

std::vector<ReplayBatch> MakeBatches(const ReplayData& data, size_t max_batch) {
  std::vector<ReplayBatch> out;
  for (const Observation& o : data.observations) {
    if (out.empty() || out.back().at != o.at || out.back().count >= max_batch) {
      if (!out.empty()) out.back().body += "]";
      out.push_back({o.at, "[", 0});
    } else {
      out.back().body += ",";
    }
    out.back().body += o.entity_json;
    ++out.back().count;
  }
  if (!out.empty()) out.back().body += "]";
  return out;
}

}  // namespace cb::sim
