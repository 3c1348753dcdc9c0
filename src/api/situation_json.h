// The JSON items of /api/v1/situation, shared by its routes and by the situation stream
// (GET /ws/situation) so both render a zone, a car park, a device or a level change alike.
// Thread-safety: pure functions; `engine` is only read (its methods are thread-safe).
#pragma once

#include <vector>

#include "core/json.h"
#include "stream/situation_engine.h"

namespace cb::api {

// An item of GET /api/v1/situation/zones.
void WriteSituationZone(JsonWriter* w, const stream::SituationEngine& engine,
                        const stream::ZoneStatus& s);
// An item of GET …/parking/lots (with_distance false) or of the destination queries.
void WriteParkingLot(JsonWriter* w, const stream::LotState& l, bool with_distance);
// An item of GET …/devices.
void WriteDeviceState(JsonWriter* w, const stream::DeviceState& d);
// An item of GET …/level-changes.
void WriteLevelChange(JsonWriter* w, const stream::LevelChange& c);

// The array items alone (no brackets): the zones of `zones`, every car park.
void WriteSituationZones(JsonWriter* w, const stream::SituationEngine& engine,
                         const std::vector<stream::ZoneStatus>& zones);
void WriteParkingLots(JsonWriter* w, const std::vector<stream::LotState>& lots);

}  // namespace cb::api
