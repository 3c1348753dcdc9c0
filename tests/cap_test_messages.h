// Builds CAP 1.2 warnings for tests: a weather bureau's messages (Alert, Update, Cancel) with
// infos per language and areas as polygons, circles or geocodes. Shared by the app tests and
// the integration tests.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "core/time.h"

namespace cb::testing {

// "YYYY-MM-DDThh:mm:ss+08:00", as a Chinese bureau writes CAP times.
inline std::string CapTime(TimeMs t) {
  return FormatIso8601(t + 8 * 3600000).substr(0, 19) + "+08:00";
}

inline std::string CapArea(const std::string& desc, const std::string& inner) {
  return "<area><areaDesc>" + desc + "</areaDesc>" + inner + "</area>";
}
inline std::string CapCircle(const std::string& c) { return "<circle>" + c + "</circle>"; }
inline std::string CapGeocode(const std::string& v) {
  return "<geocode><valueName>GB/T 2260</valueName><value>" + v + "</value></geocode>";
}
// The box lon0..lon1 × lat0..lat1 as a CAP <polygon> ("lat,lon" pairs).
inline std::string CapBox(double lon0, double lat0, double lon1, double lat1) {
  std::ostringstream s;
  s.precision(10);
  s << "<polygon>" << lat0 << "," << lon0 << " " << lat0 << "," << lon1 << " " << lat1 << ","
    << lon1 << " " << lat1 << "," << lon0 << " " << lat0 << "," << lon0 << "</polygon>";
  return s.str();
}

struct CapInfoText {
  std::string language = "zh-CN";
  std::string severity = "Severe";
  std::string category = "Met";
  std::string event = "暴雨橙色预警";
  std::string headline = "杭州市气象台发布暴雨橙色预警";
  std::string description = "预计未来3小时内降雨量将达50毫米以上。";
  std::string instruction = "暂停户外作业。";
  std::string sender_name = "杭州市气象台";
  TimeMs expires = kNoTime;  // kNoTime: no <expires>
  std::string areas;         // <area> elements
};

struct CapMessageText {
  std::string identifier = "W-1";
  std::string sender = "33010041600000";
  TimeMs sent = 0;
  std::string status = "Actual";
  std::string msg_type = "Alert";
  std::string references;  // "sender,identifier,sent ..."
  std::vector<CapInfoText> infos;
};

// The reference to `m` an Update or Cancel gives.
inline std::string CapRef(const CapMessageText& m) {
  return m.sender + "," + m.identifier + "," + CapTime(m.sent);
}

inline std::string CapXml(const CapMessageText& m) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>" +
                  m.identifier + "</identifier><sender>" + m.sender + "</sender><sent>" +
                  CapTime(m.sent) + "</sent><status>" + m.status + "</status><msgType>" +
                  m.msg_type + "</msgType><scope>Public</scope>";
  if (!m.references.empty()) x += "<references>" + m.references + "</references>";
  for (const CapInfoText& i : m.infos) {
    x += "<info><language>" + i.language + "</language><category>" + i.category +
         "</category><event>" + i.event + "</event><urgency>Immediate</urgency><severity>" +
         i.severity + "</severity><certainty>Likely</certainty>";
    if (i.expires != kNoTime) x += "<expires>" + CapTime(i.expires) + "</expires>";
    x += "<senderName>" + i.sender_name + "</senderName><headline>" + i.headline +
         "</headline><description>" + i.description + "</description><instruction>" +
         i.instruction + "</instruction>" + i.areas + "</info>";
  }
  return x + "</alert>\n";
}

// The rainstorm orange warning's info in Chinese or English over `areas`.
inline CapInfoText ChineseInfo(const std::string& areas, const std::string& severity = "Severe",
                               TimeMs expires = kNoTime) {
  CapInfoText i;
  i.severity = severity;
  i.areas = areas;
  i.expires = expires;
  return i;
}
inline CapInfoText EnglishInfo(const std::string& areas, const std::string& severity = "Severe",
                               TimeMs expires = kNoTime) {
  CapInfoText i = ChineseInfo(areas, severity, expires);
  i.language = "en";
  i.event = "Rainstorm Orange Warning";
  i.headline = "Rainstorm orange warning";
  i.description = "More than 50 mm of rain within 3 hours.";
  i.instruction = "Stop outdoor work.";
  i.sender_name = "Hangzhou Meteorological Observatory";
  return i;
}

// Hangzhou's Shangcheng and Xihu districts (lon 120.10–120.18, lat 30.22–30.28).
inline std::string CityCentreArea() {
  return CapArea("上城区、西湖区", CapBox(120.10, 30.22, 120.18, 30.28));
}

// The Hangzhou rainstorm orange warning in both languages over the city centre.
inline CapMessageText RainstormWarning(std::string identifier, TimeMs sent, TimeMs expires) {
  CapMessageText m;
  m.identifier = std::move(identifier);
  m.sent = sent;
  m.infos = {ChineseInfo(CityCentreArea(), "Severe", expires),
             EnglishInfo(CityCentreArea(), "Severe", expires)};
  return m;
}

}  // namespace cb::testing
