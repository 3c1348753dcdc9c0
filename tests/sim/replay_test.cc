// Tests of CSV replay: the Melbourne and Birmingham formats on the real fixtures, bad
// headers, locations, batching by time, and the runner stopping at a refused batch.

#include "sim/replay.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "gtest/gtest.h"
#include "sim/replay_runner.h"

namespace cb::sim {
namespace {

std::string Fixture(const std::string& rel) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/tests/data/" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ReplayTest, MelbourneHourlyCountsBecomeCrowdFlowObservations) {
  auto locations = ParseMelbourneLocations(
      "Location_ID,Sensor_Description,Latitude,Longitude,Location\n"
      "6,\"Flinders Street Station Underpass\",-37.81911705,144.96558255,\"-37.8, 144.9\"\n");
  ASSERT_TRUE(locations.ok()) << locations.status().ToString();
  ASSERT_EQ(locations->size(), 1u);
  auto data = ParseReplay("melbourne-hourly", Fixture("melbourne/flinders_underpass_2023-07.csv"), *locations);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->rows, 598u);
  EXPECT_EQ(data->skipped, 0u);
  ASSERT_EQ(data->observations.size(), 598u);
  for (size_t i = 1; i < data->observations.size(); ++i) {
    ASSERT_LE(data->observations[i - 1].at, data->observations[i].at);
  }
  JsonValue first = *ParseJson(data->observations.front().entity_json);
  EXPECT_EQ(first.Find("id")->as_string(), "urn:ngsi-ld:CrowdFlowObserved:melbourne-6");
  EXPECT_EQ(first.Find("peopleCount")->Find("value")->as_double(), 1640);
  EXPECT_EQ(first.Find("peopleCount")->Find("observedAt")->as_string(), "2023-07-03T07:00:00.000Z");
  EXPECT_EQ(first.Find("location")->Find("value")->Find("coordinates")->as_array()[0].as_double(),
            144.96558255);
  // One batch per hour; the source's repeated hours give batches of two.
  std::vector<ReplayBatch> batches = MakeBatches(*data, 500);
  EXPECT_EQ(batches.size(), 598u - 26);
  size_t total = 0;
  for (const ReplayBatch& b : batches) {
    total += b.count;
    ASSERT_TRUE(ParseJson(b.body).ok()) << b.body.substr(0, 200);
  }
  EXPECT_EQ(total, 598u);
  EXPECT_EQ(MakeBatches(*data, 1).size(), 598u);  // a time with more than the cap is split
}

TEST(ReplayTest, BirminghamOccupancyBecomesOffStreetParking) {
  auto data = ParseReplay("birmingham-parking", Fixture("birmingham/four_car_parks.csv"), {});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->rows, 3006u);
  EXPECT_EQ(data->skipped, 0u);
  bool nia = false;
  for (const Observation& o : data->observations) {
    JsonValue e = *ParseJson(o.entity_json);
    if (e.Find("id")->as_string() == "urn:ngsi-ld:OffStreetParking:birmingham-NIA-North") nia = true;
    ASSERT_TRUE(e.Find("occupiedSpotNumber")->Find("observedAt")->is_string());
  }
  EXPECT_TRUE(nia);
}

TEST(ReplayTest, BadInputIsRefusedOrSkipped) {
  EXPECT_EQ(ParseReplay("melbourne-hourly", "a,b,c\n1,2,3\n", {}).status().code(), Code::kBadRequestData);
  EXPECT_EQ(ParseReplay("nope", "x\n", {}).status().code(), Code::kBadRequestData);
  EXPECT_EQ(ParseReplay("melbourne-hourly", "", {}).status().code(), Code::kBadRequestData);
  auto data = ParseReplay("melbourne-hourly",
                          "SensingDateTime(Hour),LocationID,Direction_1,Direction_2,Total_of_Directions\n"
                          "2023-07-03T17:00:00+10:00,6,1,2,3\r\n"
                          "not a time,6,1,2,3\n"
                          "2023-07-03T18:00:00+10:00,6,1,2,many\n"
                          "2023-07-03T16:00:00+10:00,7,1,2,9\n",
                          {});
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->rows, 4u);
  EXPECT_EQ(data->skipped, 2u);
  ASSERT_EQ(data->observations.size(), 2u);
  EXPECT_NE(data->observations[0].entity_json.find("melbourne-7"), std::string::npos);  // earlier first
  EXPECT_EQ(ParseMelbourneLocations("Location_ID,Lat\n").status().code(), Code::kBadRequestData);
}

TEST(ReplayRunnerTest, SendsEveryBatchAndStopsAtARefusal) {
  ReplayData data = *ParseReplay("melbourne-hourly", Fixture("melbourne/flinders_underpass_2023-07.csv"), {});
  std::vector<ReplayBatch> batches = MakeBatches(data, 500);
  size_t sent = 0;
  auto stats = RunReplay(batches, [&](const std::string&) { ++sent; return Status::Ok(); }, {});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->batches, batches.size());
  EXPECT_EQ(stats->observations, 598u);
  EXPECT_EQ(sent, batches.size());
  sent = 0;
  auto stopped = RunReplay(batches, [&](const std::string&) {
    return ++sent == 3 ? Status::Unavailable("the server answered 503") : Status::Ok();
  }, {});
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("after 2 observations: the server answered 503"),
            std::string::npos)
      << stopped.status().message();
}

}  // namespace
}  // namespace cb::sim
