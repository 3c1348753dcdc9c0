// CAP intake: OASIS CAP 1.2 warnings from outside (a weather bureau's, posted to the API or
// polled from its feed) read into plain values, and the Atom feeds that carry or link to
// them. The receiver that turns a warning into alerts is a CapWarningSink (app/ implements
// it for the zones it covers).
//
// Parsing uses libxml2 (no DTD, no network, no entity expansion) and refuses a document with
// the reason: not XML; not a CAP 1.2 <alert> (another namespace, e.g. CAP 1.1, is named);
// a missing required element; a value outside CAP's lists (status, msgType, scope,
// category, urgency, severity, certainty); a date that is not CAP's
// YYYY-MM-DDThh:mm:ss±hh:mm; a polygon of fewer than 4 points, not closed, or with a
// coordinate out of range; a circle without a centre and a non-negative radius; an Update or
// Cancel that references nothing. Last, the document is validated against the OASIS CAP 1.2
// schema built into the binary, so whatever passes is valid CAP.
//
// Coordinates: CAP writes "lat,lon" pairs (WGS84); here they are geo::LonLat like the rest
// of CityBrain. Circles are "lat,lon radius" with the radius in kilometres.
//
// Thread-safety: the functions are pure and safe from any thread. CapWarningSink
// implementations say their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "geo/geometry.h"

namespace cb::alerts {

inline constexpr std::string_view kCapNamespace = "urn:oasis:names:tc:emergency:cap:1.2";

struct CapValue {  // a valueName/value pair: eventCode, parameter, geocode
  std::string name;
  std::string value;
};

struct CapCircle {
  geo::LonLat center;
  double radius_km = 0;
};

struct CapArea {
  std::string area_desc;
  std::vector<geo::Geometry> polygons;  // each a Polygon of one closed ring, [lon, lat]
  std::vector<CapCircle> circles;
  std::vector<CapValue> geocodes;
};

struct CapInfo {
  std::string language = "en-US";  // CAP's default when <language> is absent
  std::vector<std::string> categories;
  std::string event;
  std::string urgency;
  std::string severity;
  std::string certainty;
  std::vector<CapValue> event_codes;
  TimeMs effective = kNoTime;
  TimeMs onset = kNoTime;
  TimeMs expires = kNoTime;  // kNoTime: no end given
  std::string sender_name;
  std::string headline;
  std::string description;
  std::string instruction;
  std::string web;
  std::vector<CapValue> parameters;
  std::vector<CapArea> areas;
};

// One earlier message an Update or Cancel names: "sender,identifier,sent".
struct CapReference {
  std::string sender;
  std::string identifier;
  TimeMs sent = kNoTime;
};

struct CapAlert {
  std::string identifier;
  std::string sender;
  TimeMs sent = kNoTime;
  std::string sent_text;  // as written, with its offset
  std::string status;     // Actual, Exercise, System, Test, Draft
  std::string msg_type;   // Alert, Update, Cancel, Ack, Error
  std::string scope;      // Public, Restricted, Private
  std::string source;
  std::string note;
  std::vector<CapReference> references;
  std::vector<CapInfo> infos;
};

// Parses and checks one CAP 1.2 document (its root is <alert>). kInvalidRequest when it is
// not well-formed XML; kBadRequestData with the reason for everything else.
Result<CapAlert> ParseCap(std::string_view xml);

// One entry of an Atom feed of warnings.
struct CapFeedEntry {
  std::string id;
  std::string updated;  // as written
  std::string title;
  // Links to the entry's CAP document, best first: type application/cap+xml, then
  // rel="alternate" or no rel, then any other; hrefs as written (maybe relative).
  std::vector<std::string> links;
  // A CAP <alert> carried in the entry (in <content> or directly), parsed and checked.
  std::optional<Result<CapAlert>> embedded;
};

// What a warning source serves: one CAP document, or an Atom feed of them.
struct CapDocument {
  std::optional<CapAlert> alert;
  std::vector<CapFeedEntry> entries;  // when the document is an Atom <feed>
};

// A CAP <alert> (parsed as ParseCap does) or an Atom <feed> (entries read; a bad embedded
// alert is kept as that entry's error, not the feed's). Anything else is refused.
Result<CapDocument> ParseCapDocument(std::string_view xml);

// Severity → alert level: Extreme I (1), Severe II (2), Moderate III (3), Minor and Unknown
// IV (4).
int CapSeverityLevel(std::string_view severity);

// What taking one CAP message in did: the answer to POST /api/v1/warnings, and what the
// feed poller logs.
struct CapIntakeReport {
  std::string identifier;
  std::string sender;
  std::string sent;  // as written
  std::string status;
  std::string msg_type;
  std::string via;  // "post", or the feed's URL
  TimeMs received_at = 0;
  // applied: the warning's alerts were raised, updated or resolved as it says;
  // duplicate: this message was taken in before; superseded: a later message of the same
  // warning was taken in before; ignored: not an actual warning (status Test, Exercise,
  // System or Draft; msgType Ack or Error); expired: its expiry had passed on arrival.
  std::string outcome;
  std::string reason;               // a sentence saying why, for all but applied
  std::vector<std::string> zones;   // zone ids its areas cover (none is a valid answer)
  std::vector<std::string> raised;  // alert ids, by what happened to them
  std::vector<std::string> updated;
  std::vector<std::string> resolved;
};

// Takes CAP warnings in (the API's POST route and the feed poller hand it what they get).
class CapWarningSink {
 public:
  virtual ~CapWarningSink() = default;
  // `via`: where it came from ("post" or a feed URL). An error means nothing changed.
  virtual Result<CapIntakeReport> Receive(const CapAlert& alert, std::string_view via) = 0;
  // The most recent reports, newest first (at most `limit`).
  virtual std::vector<CapIntakeReport> Recent(size_t limit) const = 0;
};

}  // namespace cb::alerts
