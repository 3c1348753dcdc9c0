// A Zone entity as NGSI-LD JSON for tests: its area the box lon0..lon1 × lat0..lat1, with
// `extra` members appended (e.g. R"(,"name":"West Lake")"). Shared by the stream, app and
// integration tests.
#pragma once

#include <sstream>
#include <string>

namespace cb::testing {

inline std::string ZoneJson(const std::string& id, double lon0, double lat0, double lon1,
                            double lat1, const std::string& extra = "") {
  std::ostringstream s;
  s.precision(10);
  s << R"({"id":")" << id << R"(","type":"Zone","location":{"type":"GeoProperty","value":)"
    << R"({"type":"Polygon","coordinates":[[[)" << lon0 << "," << lat0 << "],[" << lon1 << ","
    << lat0 << "],[" << lon1 << "," << lat1 << "],[" << lon0 << "," << lat1 << "],[" << lon0
    << "," << lat0 << "]]]}}" << extra << "}";
  return s.str();
}

}  // namespace cb::testing
