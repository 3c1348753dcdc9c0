// Replay: turns a CSV time series of real observations into NGSI-LD entity updates, in
// time order, for `citybrain replay` to send to a server like real devices would.
//
// Formats (the header line names the columns):
//   melbourne-hourly    SensingDateTime(Hour),LocationID,Direction_1,Direction_2,
//                       Total_of_Directions  → CrowdFlowObserved
//                       urn:ngsi-ld:CrowdFlowObserved:melbourne-<LocationID>, peopleCount
//   birmingham-parking  SystemCodeNumber,Capacity,Occupancy,LastUpdated → OffStreetParking
//                       urn:ngsi-ld:OffStreetParking:birmingham-<code>, totalSpotNumber,
//                       occupiedSpotNumber (times are UK local, taken as UTC)
// Each observation carries its observedAt. Locations come from an optional table
// (melbourne sensor_locations.csv: Location_ID …, Latitude, Longitude); without one the
// entities have no location.
//
// Thread-safety: pure functions over values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace cb::sim {

struct Observation {
  TimeMs at = 0;
  std::string entity_json;  // one NGSI-LD entity (normalized), ready for a batch upsert
};

struct ReplayData {
  std::vector<Observation> observations;  // sorted by time (stable)
  size_t rows = 0;                        // data rows read
  size_t skipped = 0;                     // rows that could not be read (bad numbers, times)
};

// Parses `csv` (the whole file) in `format`. `locations`: sensor id → (lon, lat).
// kBadRequestData for an unknown format or a header that does not match it.
Result<ReplayData> ParseReplay(std::string_view format, std::string_view csv,
                               const std::map<std::string, std::pair<double, double>>& locations);

// Melbourne's sensor_locations.csv: Location_ID → (lon, lat).
Result<std::map<std::string, std::pair<double, double>>> ParseMelbourneLocations(std::string_view csv);

// Batches of consecutive observations: each batch holds the observations of one time (at
// most `max_batch`; a time with more is split), as a JSON array for
// POST /ngsi-ld/v1/entityOperations/upsert?options=update.
struct ReplayBatch {
  TimeMs at = 0;
  std::string body;
  size_t count = 0;
};
std::vector<ReplayBatch> MakeBatches(const ReplayData& data, size_t max_batch);

}  // namespace cb::sim
