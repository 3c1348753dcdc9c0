// The situation integration tests' city: the fast tier plan (../fast_plan.h), a plaza
// running it, and people counters in the plaza.
#pragma once

#include <string>

#include "../fast_plan.h"
#include "core/time.h"

namespace cb::testing {

inline constexpr const char* kZone = R"({"id":"urn:ngsi-ld:Zone:plaza","type":"Zone","name":"Fountain plaza",
  "tierPlan":"fast","capacity":{"type":"Property","value":2000},
  "location":{"type":"GeoProperty","value":{"type":"Polygon","coordinates":
  [[[120.160,30.250],[120.162,30.250],[120.162,30.252],[120.160,30.252],[120.160,30.250]]]}}})";

inline std::string Counter(const std::string& id, double count) {
  return R"({"id":"urn:ngsi-ld:CrowdFlowObserved:)" + id +
         R"(","type":"CrowdFlowObserved","peopleCount":{"type":"Property","value":)" +
         std::to_string(count) + R"(,"observedAt":")" +
         FormatIso8601(SystemClock::Instance()->Now()) +
         R"("},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[120.161,30.251]}}})";
}

}  // namespace cb::testing
