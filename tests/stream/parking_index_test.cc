// Tests of the parking index: status thresholds and bad readings, destinations and
// guidance, and a replay of real Birmingham car-park occupancy with its quirks.

#include "stream/parking_index.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cb::stream {
namespace {

constexpr TimeMs kT0 = 1795428000000;
constexpr TimeMs kMin = 60000;

// A point `east_m` metres east and `north_m` north of (120.17, 30.25).
geo::LonLat Offset(double east_m, double north_m) {
  const double lat0 = 30.25;
  return {120.17 + east_m / (111320.0 * std::cos(lat0 * M_PI / 180)), lat0 + north_m / 110574.0};
}

TEST(ParkingIndexTest, StatusFollowsTheIndex) {
  ParkingIndex p;
  const struct {
    double total, occupied;
    LotStatus status;
    double index;
  } cases[] = {
      {100, 0, LotStatus::kSpacesAvailable, 0},  {100, 89, LotStatus::kSpacesAvailable, 0.89},
      {100, 90, LotStatus::kAlmostFull, 0.9},    {100, 99, LotStatus::kAlmostFull, 0.99},
      {100, 100, LotStatus::kFull, 1},           {100, 130, LotStatus::kFull, 1},  // over-counted
  };
  TimeMs at = kT0;
  for (const auto& c : cases) {
    ASSERT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), c.total, c.occupied, at += kMin),
              ReadingOutcome::kAccepted);
    LotState s = *p.Lot("urn:ngsi-ld:OffStreetParking:a", at);
    EXPECT_EQ(s.status, c.status) << c.occupied;
    EXPECT_DOUBLE_EQ(s.index(), c.index) << c.occupied;
    EXPECT_TRUE(s.fresh);
  }
  EXPECT_EQ(p.over_capacity(), 1u);
  EXPECT_EQ(LotStatusName(LotStatus::kAlmostFull), "almostFull");
  // Bad and repeated readings change nothing.
  EXPECT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), 100, -1, at + kMin), ReadingOutcome::kInvalid);
  EXPECT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), 0, 0, at + kMin), ReadingOutcome::kInvalid);
  EXPECT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), 100, 5, at), ReadingOutcome::kDuplicate);
  EXPECT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), 100, 5, at - 1), ReadingOutcome::kLate);
  EXPECT_EQ(p.Lot("urn:ngsi-ld:OffStreetParking:a", at)->status, LotStatus::kFull);
  // A reading timed by the server on arrival replaces one of the same millisecond.
  EXPECT_EQ(p.Observe("urn:ngsi-ld:OffStreetParking:a", Offset(0, 0), 100, 5, at, true),
            ReadingOutcome::kAccepted);
  EXPECT_EQ(p.Lot("urn:ngsi-ld:OffStreetParking:a", at)->status, LotStatus::kSpacesAvailable);
  // Stale after 30 minutes.
  EXPECT_FALSE(p.Lot("urn:ngsi-ld:OffStreetParking:a", at + 31 * kMin)->fresh);
  EXPECT_FALSE(p.Lot("nope", at).has_value());
}

// Hangzhou Hubin's hospital: four car parks, 1,293 spaces within 500 m; one more further
// away, and one in range whose system has gone quiet.
class HospitalParkingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Put("a", Offset(120, 0), 412, 200);
    Put("b", Offset(0, -300), 356, 330);   // almost full (0.93)
    Put("c", Offset(-250, 250), 305, 305);  // full
    Put("d", Offset(400, 200), 220, 20);
    Put("far", Offset(800, 0), 1000, 0);
    ASSERT_EQ(p_.Observe("urn:ngsi-ld:OffStreetParking:quiet", Offset(50, 50), 100, 0, kT0 - 60 * kMin),
              ReadingOutcome::kAccepted);
  }
  void Put(const std::string& id, geo::LonLat at, double total, double occupied) {
    ASSERT_EQ(p_.Observe("urn:ngsi-ld:OffStreetParking:" + id, at, total, occupied, kT0),
              ReadingOutcome::kAccepted);
  }
  ParkingIndex p_;
  const geo::LonLat hospital_ = Offset(0, 0);
};

TEST_F(HospitalParkingTest, DestinationIndexCoversTheFreshLotsInRange) {
  DestinationParking d = p_.ForDestination(hospital_, 0, kT0 + kMin);
  EXPECT_EQ(d.radius_m, 500);
  ASSERT_EQ(d.lots.size(), 4u);
  EXPECT_EQ(d.stale_lots, 1u);
  EXPECT_EQ(d.total, 1293);
  EXPECT_EQ(d.occupied, 200 + 330 + 305 + 20);
  EXPECT_DOUBLE_EQ(*d.index(), 855.0 / 1293);
  // Nearest first.
  EXPECT_EQ(d.lots[0].id, "urn:ngsi-ld:OffStreetParking:a");
  EXPECT_NEAR(d.lots[0].distance_m, 120, 1);
  EXPECT_EQ(d.lots[3].id, "urn:ngsi-ld:OffStreetParking:d");
  // A wider radius takes the far lot in; nothing in range gives no index.
  EXPECT_EQ(p_.ForDestination(hospital_, 900, kT0).lots.size(), 5u);
  EXPECT_FALSE(p_.ForDestination(Offset(5000, 5000), 500, kT0).index().has_value());
}

TEST_F(HospitalParkingTest, GuidanceRanksLotsWithRoomFirst) {
  std::vector<LotState> g = p_.Guidance(hospital_, 500, kT0, 10);
  std::vector<std::string> ids;
  for (const LotState& s : g) ids.push_back(s.id.substr(29));
  // c is full; b is almost full, so after a and d although it is nearer than d.
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "d", "b"}));
  EXPECT_EQ(p_.Guidance(hospital_, 500, kT0, 1).size(), 1u);
  p_.Remove("urn:ngsi-ld:OffStreetParking:a");
  EXPECT_EQ(p_.Guidance(hospital_, 500, kT0, 10)[0].id, "urn:ngsi-ld:OffStreetParking:d");
}

// Every reading of four Birmingham car parks (Oct–Nov 2016) in the source's order, with
// its quirks: exact duplicate rows, occupancy above capacity, negative occupancy.
TEST(BirminghamReplayTest, RealOccupancyWithItsQuirks) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/tests/data/birmingham/four_car_parks.csv");
  std::string line;
  std::getline(in, line);
  ParkingIndex p;
  std::map<std::string, geo::LonLat> where = {{"BHMBCCMKT01", Offset(0, 100)},
                                              {"BHMBCCTHL01", Offset(200, 0)},
                                              {"BHMNCPPLS01", Offset(-300, 0)},
                                              {"NIA North", Offset(0, 2000)}};
  std::map<std::string, int> full_readings;
  size_t rows = 0;
  TimeMs last = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // the source has CRLF lines
    std::vector<std::string> f;
    std::stringstream s(line);
    for (std::string x; std::getline(s, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 4u) << line;
    auto t = ParseIso8601(f[3].substr(0, 10) + "T" + f[3].substr(11) + "Z");
    ASSERT_TRUE(t.ok()) << line;
    const double total = std::stod(f[1]), occupied = std::stod(f[2]);
    ++rows;
    last = std::max(last, *t);
    ReadingOutcome o = p.Observe(f[0], where.at(f[0]), total, occupied, *t);
    if (occupied < 0) {
      EXPECT_EQ(o, ReadingOutcome::kInvalid) << line;
      continue;
    }
    if (o != ReadingOutcome::kAccepted) continue;
    // The state is the row's, clamped to capacity.
    LotState st = *p.Lot(f[0], *t);
    EXPECT_DOUBLE_EQ(st.occupied, std::min(occupied, total)) << line;
    const double ratio = std::min(occupied, total) / total;
    EXPECT_EQ(st.status, ratio >= 1 ? LotStatus::kFull
                         : ratio >= 0.9 ? LotStatus::kAlmostFull
                                        : LotStatus::kSpacesAvailable)
        << line;
    if (st.status == LotStatus::kFull) ++full_readings[f[0]];
  }
  EXPECT_EQ(rows, 3006u);
  // The source's quirks, counted (and checked with awk on the file): 45 rows repeating a car
  // park's time, 10 negative, 81 over capacity.
  EXPECT_EQ(p.outcomes(ReadingOutcome::kDuplicate), 45u);
  EXPECT_EQ(p.outcomes(ReadingOutcome::kLate), 0u);
  EXPECT_EQ(p.outcomes(ReadingOutcome::kInvalid), 10u);
  EXPECT_EQ(p.over_capacity(), 81u);
  EXPECT_EQ(p.outcomes(ReadingOutcome::kAccepted), 3006u - 45 - 10);
  EXPECT_EQ(full_readings["BHMBCCTHL01"], 84);  // 81 over capacity, 3 exactly at it
  EXPECT_EQ(full_readings["BHMBCCMKT01"], 0);
  // At the last reading: the three city-centre car parks within 500 m of the destination.
  DestinationParking d = p.ForDestination(Offset(0, 0), 500, last);
  EXPECT_EQ(d.lots.size(), 3u);
  EXPECT_EQ(d.total, 577 + 387 + 450);
}

}  // namespace
}  // namespace cb::stream
