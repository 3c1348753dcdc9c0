// libFuzzer entry point for the CAP intake parser (warnings from outside are untrusted XML):
// every input must parse or be refused as InvalidRequest, BadRequestData or TooLarge, never
// crash, hang or fail inside; what parses keeps CAP's promises (closed polygons of at least
// 4 points, coordinates and radii in range). Seed corpus: tests/fuzz/corpus/cap_parser/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerts/cap_intake.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckStatus(const cb::Status& st) {
  Check(st.code() == cb::Code::kInvalidRequest || st.code() == cb::Code::kBadRequestData ||
        st.code() == cb::Code::kTooLarge);
}

void CheckAlert(const cb::alerts::CapAlert& a) {
  Check(!a.identifier.empty() && !a.sender.empty() && a.sent != cb::kNoTime);
  Check(a.msg_type == "Alert" || !a.references.empty());
  for (const cb::alerts::CapInfo& i : a.infos) {
    Check(!i.categories.empty());
    for (const cb::alerts::CapArea& area : i.areas) {
      for (const cb::geo::Geometry& g : area.polygons) {
        const cb::geo::Ring& ring = g.parts.at(0).at(0);
        Check(ring.size() >= 4 && ring.front() == ring.back());
        for (const cb::geo::LonLat& p : ring) {
          Check(p.lat >= -90 && p.lat <= 90 && p.lon >= -180 && p.lon <= 180);
        }
      }
      for (const cb::alerts::CapCircle& c : area.circles) Check(c.radius_km >= 0);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto doc = cb::alerts::ParseCapDocument(xml);
  if (!doc.ok()) {
    CheckStatus(doc.status());
    return 0;
  }
  if (doc->alert) CheckAlert(*doc->alert);
  for (const cb::alerts::CapFeedEntry& e : doc->entries) {
    if (!e.embedded) continue;
    if (e.embedded->ok()) {
      CheckAlert(**e.embedded);
    } else {
      CheckStatus(e.embedded->status());
    }
  }
  return 0;
}
