// Tests of the CAP 1.2 intake parser: the CAP 1.2 specification's examples, a Chinese
// weather bureau's bilingual warning, CityBrain's own CAP output read back, Atom feeds, and
// each way a document is refused (with its reason).

#include "alerts/cap_intake.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "gtest/gtest.h"

namespace cb::alerts {
namespace {

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(CITYBRAIN_SOURCE_DIR) + "/tests/data/cap/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

TimeMs T(const char* iso) { return *ParseIso8601(iso); }

// ---- Good documents

struct GoodCase {
  const char* file;
  const char* identifier;
  const char* sender;
  const char* sent;  // as UTC
  const char* msg_type;
  size_t infos;
  const char* language;  // of info 1
  const char* category;
  const char* severity;
  size_t polygons, circles, geocodes;  // in info 1, area 1
};
void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.file; }

class GoodDocumentTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(GoodDocumentTest, Parses) {
  const GoodCase& c = GetParam();
  auto a = ParseCap(ReadData(c.file));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->identifier, c.identifier);
  EXPECT_EQ(a->sender, c.sender);
  EXPECT_EQ(a->sent, T(c.sent));
  EXPECT_EQ(a->status, "Actual");
  EXPECT_EQ(a->msg_type, c.msg_type);
  EXPECT_EQ(a->scope, "Public");
  ASSERT_EQ(a->infos.size(), c.infos);
  const CapInfo& i = a->infos[0];
  EXPECT_EQ(i.language, c.language);
  ASSERT_EQ(i.categories.size(), 1u);
  EXPECT_EQ(i.categories[0], c.category);
  EXPECT_EQ(i.severity, c.severity);
  ASSERT_EQ(i.areas.size(), 1u);
  EXPECT_EQ(i.areas[0].polygons.size(), c.polygons);
  EXPECT_EQ(i.areas[0].circles.size(), c.circles);
  EXPECT_EQ(i.areas[0].geocodes.size(), c.geocodes);
  EXPECT_FALSE(i.areas[0].area_desc.empty());
  // ParseCapDocument reads a CAP document the same way.
  auto d = ParseCapDocument(ReadData(c.file));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(d->alert.has_value());
  EXPECT_EQ(d->alert->identifier, c.identifier);
  EXPECT_TRUE(d->entries.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cap12, GoodDocumentTest,
    ::testing::Values(
        GoodCase{"spec-a1-homeland-security.xml", "43b080713727", "hsas@dhs.gov",
                 "2003-04-02T19:39:01Z", "Alert", 1, "en-US", "Security", "Severe", 0, 0, 0},
        GoodCase{"spec-a2-thunderstorm.xml", "KSTO1055887203", "KSTO@NWS.NOAA.GOV",
                 "2003-06-17T21:57:00Z", "Alert", 1, "en-US", "Met", "Severe", 1, 0, 3},
        GoodCase{"spec-a3-earthquake-update.xml", "TRI13970876.2", "trinet@caltech.usgs.gov",
                 "2003-06-12T03:56:00Z", "Update", 1, "en-US", "Geo", "Minor", 0, 1, 0},
        GoodCase{"spec-a4-amber.xml", "KAR0-0306112239-SW", "KARO@CLETS.DOJ.CA.GOV",
                 "2003-06-12T05:39:00Z", "Alert", 1, "en-US", "Rescue", "Severe", 0, 0, 1},
        GoodCase{"hangzhou-rainstorm-orange.xml", "33010041600000_20260701083000",
                 "33010041600000", "2026-07-01T00:30:00Z", "Alert", 2, "zh-CN", "Met", "Severe",
                 1, 0, 2}));

TEST(CapParseTest, ThunderstormPolygonIsLonLatAndExpires) {
  auto a = ParseCap(ReadData("spec-a2-thunderstorm.xml"));
  ASSERT_TRUE(a.ok());
  const CapInfo& i = a->infos[0];
  EXPECT_EQ(i.event, "SEVERE THUNDERSTORM");
  EXPECT_EQ(i.expires, T("2003-06-17T23:00:00Z"));
  EXPECT_EQ(i.onset, kNoTime);
  ASSERT_EQ(i.event_codes.size(), 1u);
  EXPECT_EQ(i.event_codes[0].name, "SAME");
  EXPECT_EQ(i.event_codes[0].value, "SVR");
  const geo::Geometry& p = i.areas[0].polygons[0];
  EXPECT_EQ(p.type, geo::GeometryType::kPolygon);
  ASSERT_EQ(p.parts[0][0].size(), 5u);
  EXPECT_EQ(p.parts[0][0][0], (geo::LonLat{-120.14, 38.47}));
  EXPECT_EQ(p.parts[0][0][2], (geo::LonLat{-119.74, 38.52}));
  EXPECT_DOUBLE_EQ(p.bbox.min_lat, 38.34);
  EXPECT_DOUBLE_EQ(p.bbox.max_lon, -119.74);
  EXPECT_EQ(i.areas[0].geocodes[2].value, "006003");
  // Free text is trimmed; the description's leading space goes.
  EXPECT_EQ(i.description.substr(0, 6), "AT 254");
}

TEST(CapParseTest, EarthquakeUpdateReferencesAndCircle) {
  auto a = ParseCap(ReadData("spec-a3-earthquake-update.xml"));
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->references.size(), 1u);
  EXPECT_EQ(a->references[0].sender, "trinet@caltech.usgs.gov");
  EXPECT_EQ(a->references[0].identifier, "TRI13970876.1");
  EXPECT_EQ(a->references[0].sent, T("2003-06-12T03:30:00Z"));
  const CapCircle& c = a->infos[0].areas[0].circles[0];
  EXPECT_EQ(c.center, (geo::LonLat{-115.5527, 32.9525}));
  EXPECT_EQ(c.radius_km, 0);
  EXPECT_EQ(a->infos[0].parameters.size(), 5u);
  EXPECT_EQ(a->infos[0].parameters[2].value, "3.4 Ml");
  EXPECT_EQ(a->infos[0].urgency, "Past");
}

TEST(CapParseTest, HangzhouWarningInTwoLanguages) {
  auto a = ParseCap(ReadData("hangzhou-rainstorm-orange.xml"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->sent_text, "2026-07-01T08:30:00+08:00");
  const CapInfo& zh = a->infos[0];
  const CapInfo& en = a->infos[1];
  EXPECT_EQ(zh.event, "暴雨橙色预警");
  EXPECT_EQ(zh.sender_name, "杭州市气象台");
  EXPECT_EQ(zh.headline, "杭州市气象台发布暴雨橙色预警");
  EXPECT_EQ(zh.effective, T("2026-07-01T00:30:00Z"));
  EXPECT_EQ(zh.onset, T("2026-07-01T01:00:00Z"));
  EXPECT_EQ(zh.expires, T("2026-07-01T12:30:00Z"));
  EXPECT_EQ(zh.areas[0].geocodes[0].name, "GB/T 2260");
  EXPECT_EQ(zh.areas[0].geocodes[1].value, "330106");
  EXPECT_EQ(en.language, "en");
  EXPECT_EQ(en.event, "Rainstorm Orange Warning");
  EXPECT_EQ(CapSeverityLevel(zh.severity), 2);
}

TEST(CapParseTest, CityBrainsOwnCapOutputReadsBack) {
  AlertOptions options;
  options.area_code = "330102";
  AlertBook book(options);
  AlertSpec s;
  s.key = "tier:urn:ngsi-ld:Zone:plaza";
  s.category = "crowd";
  s.event = "Crowd level 1";
  s.level = 1;
  s.headline = {"湖滨喷泉广场客流一级", "Fountain plaza at level 1"};
  s.area_desc = {"湖滨喷泉广场", "Fountain plaza"};
  s.area = geo::Geometry::Make(geo::GeometryType::kPolygon,
                               {{{{120.161, 30.2575}, {120.165, 30.2575}, {120.165, 30.2605},
                                  {120.161, 30.2575}}}});
  const TimeMs t0 = T("2026-11-23T10:00:00Z");
  Alert first = *book.Raise(s, t0);
  s.level = 2;
  Alert later = *book.Raise(s, t0 + 60000);
  auto a = ParseCap(RenderCap(later, options));
  ASSERT_TRUE(a.ok()) << a.status().ToString() << "\n" << RenderCap(later, options);
  EXPECT_EQ(a->msg_type, "Update");
  EXPECT_EQ(a->sender, "33010200000000");
  ASSERT_EQ(a->references.size(), 1u);
  EXPECT_EQ(a->references[0].identifier, first.identifier);
  EXPECT_EQ(a->references[0].sent, t0);
  ASSERT_EQ(a->infos.size(), 2u);
  EXPECT_EQ(a->infos[0].language, "zh-CN");
  EXPECT_EQ(a->infos[0].severity, "Severe");
  EXPECT_EQ(a->infos[0].categories[0], "Safety");
  EXPECT_EQ(a->infos[1].areas[0].polygons[0].parts[0][0][1], (geo::LonLat{120.165, 30.2575}));
}

TEST(CapParseTest, WarningCategoriesRenderAsTheirCapCategory) {
  // A warning taken in keeps its CAP category lower-cased; CAP output gives it back.
  AlertBook book;
  for (const char* c : {"geo", "weather", "safety", "security", "rescue", "fire", "health", "env",
                        "transport", "infra", "cbrne", "other"}) {
    AlertSpec s;
    s.key = std::string("k:") + c;
    s.category = c;
    s.level = 3;
    s.headline = {"标题", "headline"};
    auto cap = ParseCap(RenderCap(*book.Raise(s, T("2026-11-23T10:00:00Z")), book.options()));
    ASSERT_TRUE(cap.ok()) << c << ": " << cap.status().ToString();
    std::string want = std::string(c) == "weather" ? "met" : c;
    std::string got = cap->infos[0].categories[0];
    for (char& ch : got) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_EQ(got, want);
  }
}

TEST(CapParseTest, SeverityLevels) {
  EXPECT_EQ(CapSeverityLevel("Extreme"), 1);
  EXPECT_EQ(CapSeverityLevel("Severe"), 2);
  EXPECT_EQ(CapSeverityLevel("Moderate"), 3);
  EXPECT_EQ(CapSeverityLevel("Minor"), 4);
  EXPECT_EQ(CapSeverityLevel("Unknown"), 4);
}

// ---- Refused documents: each with its reason

const char* kBase = R"(<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>T-1</identifier>
  <sender>bureau@example.org</sender>
  <sent>2026-07-01T08:30:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Rainstorm</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <onset>2026-07-01T09:00:00+08:00</onset>
    <expires>2026-07-01T20:30:00+08:00</expires>
    <area>
      <areaDesc>Somewhere</areaDesc>
      <polygon>30.22,120.10 30.22,120.18 30.28,120.18 30.22,120.10</polygon>
      <circle>30.25,120.15 5</circle>
      <geocode><valueName>GB/T 2260</valueName><value>330102</value></geocode>
    </area>
  </info>
</alert>
)";

TEST(CapParseTest, TheBaseDocumentIsGood) {
  auto a = ParseCap(kBase);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->infos[0].areas[0].circles[0].radius_km, 5);
}

struct BadCase {
  const char* name;
  const char* from;  // replaced in kBase (empty: the whole document is `to`)
  const char* to;
  Code code;
  const char* reason;  // a part of the message
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadDocumentTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadDocumentTest, IsRefusedWithItsReason) {
  const BadCase& c = GetParam();
  std::string doc = c.to;
  if (*c.from != '\0') {
    doc = kBase;
    const size_t at = doc.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    doc.replace(at, std::string(c.from).size(), c.to);
  }
  auto a = ParseCap(doc);
  ASSERT_FALSE(a.ok()) << doc;
  EXPECT_EQ(a.status().code(), c.code) << a.status().ToString();
  EXPECT_NE(a.status().message().find(c.reason), std::string::npos) << a.status().message();
  // ParseCapDocument refuses it too.
  EXPECT_FALSE(ParseCapDocument(doc).ok());
}

constexpr Code kSyntax = Code::kInvalidRequest;
constexpr Code kData = Code::kBadRequestData;

INSTANTIATE_TEST_SUITE_P(
    Cap12, BadDocumentTest,
    ::testing::Values(
        BadCase{"Empty", "", "  \n", kSyntax, "empty"},
        BadCase{"NotXml", "", "this is not XML", kSyntax, "not well-formed XML"},
        BadCase{"Json", "", R"({"alert":{"identifier":"T-1"}})", kSyntax, "not well-formed XML"},
        BadCase{"Truncated", "</alert>", "", kSyntax, "line "},
        BadCase{"Mismatched", "</sender>", "</sendr>", kSyntax, "not well-formed XML"},
        BadCase{"Cap11", "cap:1.2", "cap:1.1", kData, "urn:oasis:names:tc:emergency:cap:1.1"},
        BadCase{"NoNamespace", R"( xmlns="urn:oasis:names:tc:emergency:cap:1.2")", "", kData,
                "not CAP 1.2"},
        BadCase{"Rss", "", "<rss version=\"2.0\"><channel/></rss>", kData,
                "<rss>, not a CAP 1.2 <alert>"},
        BadCase{"Doctype", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<?xml version=\"1.0\"?>\n<!DOCTYPE alert [<!ENTITY x \"xx\">]>\n", kData,
                "DOCTYPE"},
        BadCase{"NoIdentifier", "<identifier>T-1</identifier>", "", kData, "has no <identifier>"},
        BadCase{"EmptyIdentifier", "<identifier>T-1</identifier>", "<identifier> </identifier>",
                kData, "<identifier> is empty"},
        BadCase{"IdentifierWithSpace", "<identifier>T-1</identifier>",
                "<identifier>T 1</identifier>", kData, "may not contain spaces"},
        BadCase{"SenderWithComma", "bureau@example.org", "bureau,example", kData,
                "<sender> \"bureau,example\" may not contain"},
        BadCase{"NoSender", "<sender>bureau@example.org</sender>", "", kData, "has no <sender>"},
        BadCase{"NoSent", "<sent>2026-07-01T08:30:00+08:00</sent>", "", kData, "has no <sent>"},
        BadCase{"NoStatus", "<status>Actual</status>", "", kData, "has no <status>"},
        BadCase{"NoMsgType", "<msgType>Alert</msgType>", "", kData, "has no <msgType>"},
        BadCase{"NoScope", "<scope>Public</scope>", "", kData, "has no <scope>"},
        BadCase{"SentInZ", "2026-07-01T08:30:00+08:00</sent>", "2026-07-01T00:30:00Z</sent>",
                kData, "<sent> \"2026-07-01T00:30:00Z\" is not a CAP date"},
        BadCase{"SentMonth13", "2026-07-01T08:30:00+08:00</sent>",
                "2026-13-01T08:30:00+08:00</sent>", kData, "is not a CAP date"},
        BadCase{"SentWithFraction", "2026-07-01T08:30:00+08:00</sent>",
                "2026-07-01T08:30:00.5+08:00</sent>", kData, "is not a CAP date"},
        BadCase{"SentAsText", "2026-07-01T08:30:00+08:00</sent>", "yesterday</sent>", kData,
                "is not a CAP date"},
        BadCase{"StatusUnknown", "<status>Actual</status>", "<status>Real</status>", kData,
                "<status> \"Real\" is not one of Actual, Exercise, System, Test, Draft"},
        BadCase{"MsgTypeUnknown", "<msgType>Alert</msgType>", "<msgType>Warning</msgType>", kData,
                "<msgType> \"Warning\" is not one of"},
        BadCase{"ScopeUnknown", "<scope>Public</scope>", "<scope>Everyone</scope>", kData,
                "<scope> \"Everyone\""},
        BadCase{"UpdateWithoutReferences", "<msgType>Alert</msgType>", "<msgType>Update</msgType>",
                kData, "has msgType Update but no <references>"},
        BadCase{"CancelWithoutReferences", "<msgType>Alert</msgType>", "<msgType>Cancel</msgType>",
                kData, "has msgType Cancel but no <references>"},
        BadCase{"ReferenceNotATriple", "<scope>Public</scope>",
                "<scope>Public</scope><references>bureau@example.org,T-0</references>", kData,
                "is not \"sender,identifier,sent\""},
        BadCase{"ReferenceBadDate", "<scope>Public</scope>",
                "<scope>Public</scope><references>bureau@example.org,T-0,today</references>", kData,
                "\"today\" is not a CAP date"},
        BadCase{"NoCategory", "<category>Met</category>", "", kData, "info 1 has no <category>"},
        BadCase{"CategoryUnknown", "<category>Met</category>", "<category>Weather</category>",
                kData, "info 1 <category> \"Weather\" is not one of Geo, Met"},
        BadCase{"NoEvent", "<event>Rainstorm</event>", "", kData, "info 1 has no <event>"},
        BadCase{"UrgencyUnknown", "<urgency>Immediate</urgency>", "<urgency>Now</urgency>", kData,
                "<urgency> \"Now\""},
        BadCase{"SeverityUnknown", "<severity>Severe</severity>",
                "<severity>Catastrophic</severity>", kData, "<severity> \"Catastrophic\""},
        BadCase{"CertaintyFromCap10", "<certainty>Likely</certainty>",
                "<certainty>Very Likely</certainty>", kData, "<certainty> \"Very Likely\""},
        BadCase{"NoSeverity", "<severity>Severe</severity>", "", kData, "has no <severity>"},
        BadCase{"ExpiresBadDate", "2026-07-01T20:30:00+08:00", "2026-07-01 20:30", kData,
                "info 1 <expires> \"2026-07-01 20:30\" is not a CAP date"},
        BadCase{"ExpiresBeforeOnset", "2026-07-01T20:30:00+08:00", "2026-07-01T08:45:00+08:00",
                kData, "<expires> is before its <onset>"},
        BadCase{"NoAreaDesc", "<areaDesc>Somewhere</areaDesc>", "", kData,
                "info 1, area 1 has no <areaDesc>"},
        BadCase{"PolygonThreePoints", "30.22,120.10 30.22,120.18 30.28,120.18 30.22,120.10",
                "30.22,120.10 30.22,120.18 30.22,120.10", kData,
                "<polygon> 1 needs at least 4 points, has 3"},
        BadCase{"PolygonNotClosed", "30.28,120.18 30.22,120.10", "30.28,120.18 30.25,120.10",
                kData, "<polygon> 1 is not closed"},
        BadCase{"PolygonLatitudeOutOfRange", "30.22,120.18 30.28", "95.22,120.18 30.28", kData,
                "\"95.22,120.18\" is out of range"},
        BadCase{"PolygonLonLatSwapped", "30.22,120.10 30.22,120.18 30.28,120.18 30.22,120.10",
                "120.10,30.22 120.18,30.22 120.18,30.28 120.10,30.22", kData, "is out of range"},
        BadCase{"PolygonNotNumbers", "30.22,120.18 30.28", "north,east 30.28", kData,
                "\"north,east\" is not a \"lat,lon\" pair"},
        BadCase{"PolygonSemicolons", "30.22,120.10 30.22,120.18", "30.22;120.10 30.22,120.18",
                kData, "is not a \"lat,lon\" pair"},
        BadCase{"CircleWithoutRadius", "<circle>30.25,120.15 5</circle>",
                "<circle>30.25,120.15</circle>", kData,
                "<circle> 1: \"30.25,120.15\" is not \"lat,lon radius_km\""},
        BadCase{"CircleNegativeRadius", "<circle>30.25,120.15 5</circle>",
                "<circle>30.25,120.15 -5</circle>", kData, "not a non-negative number"},
        BadCase{"CircleCentreOutOfRange", "<circle>30.25,120.15 5</circle>",
                "<circle>30.25,190.15 5</circle>", kData, "out of range"},
        BadCase{"GeocodeWithoutValue", "<value>330102</value>", "", kData,
                "<geocode> has no <value>"},
        // Caught by the schema only: order, unknown and repeated elements.
        BadCase{"ScopeBeforeStatus", "<status>Actual</status>\n  <msgType>Alert</msgType>\n  <scope>Public</scope>",
                "<scope>Public</scope>\n  <status>Actual</status>\n  <msgType>Alert</msgType>",
                kData, "not valid against the CAP 1.2 schema: line 6: Element 'scope'"},
        BadCase{"UnknownElement", "<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>",
                kData, "not valid against the CAP 1.2 schema"},
        BadCase{"TwoIdentifiers", "<identifier>T-1</identifier>",
                "<identifier>T-1</identifier><identifier>T-2</identifier>", kData,
                "not valid against the CAP 1.2 schema"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

// ---- Atom feeds

TEST(CapFeedTest, EntriesCarryOrLinkTheirAlerts) {
  auto d = ParseCapDocument(ReadData("feed.atom"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->alert.has_value());
  ASSERT_EQ(d->entries.size(), 3u);

  const CapFeedEntry& inline_entry = d->entries[0];
  EXPECT_EQ(inline_entry.id, "urn:cap:33010041600000_20260701083000");
  EXPECT_EQ(inline_entry.updated, "2026-07-01T00:30:00Z");
  EXPECT_EQ(inline_entry.title, "暴雨橙色预警");
  ASSERT_TRUE(inline_entry.embedded.has_value());
  ASSERT_TRUE(inline_entry.embedded->ok()) << inline_entry.embedded->status().ToString();
  EXPECT_EQ((*inline_entry.embedded)->identifier, "33010041600000_20260701083000");
  EXPECT_EQ((*inline_entry.embedded)->infos[0].areas[0].polygons.size(), 1u);
  ASSERT_EQ(inline_entry.links.size(), 1u);

  const CapFeedEntry& linked = d->entries[1];
  EXPECT_FALSE(linked.embedded.has_value());
  ASSERT_EQ(linked.links.size(), 3u);
  EXPECT_EQ(linked.links[0], "cap/KSTO1055887203.xml");  // application/cap+xml first
  EXPECT_EQ(linked.links[1], "thunderstorm.xml");        // then alternate
  EXPECT_EQ(linked.links[2], "https://example.org/about");

  // A bad alert in an entry is that entry's error, with the namespace prefix handled.
  const CapFeedEntry& broken = d->entries[2];
  ASSERT_TRUE(broken.embedded.has_value());
  ASSERT_FALSE(broken.embedded->ok());
  EXPECT_NE(broken.embedded->status().message().find("has no <sent>"), std::string::npos)
      << broken.embedded->status().message();
}

TEST(CapFeedTest, CityBrainsOwnAtomFeedReadsBack) {
  AlertBook book;
  AlertSpec s;
  s.key = "device:x";
  s.category = "device";
  s.level = 4;
  s.headline = {"设备无数据", "Device silent"};
  Alert a = *book.Raise(s, T("2026-11-23T10:00:00Z"));
  std::string cap = RenderCap(a, book.options());
  cap.erase(0, cap.find('\n') + 1);
  const std::string feed = "<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
                           "<entry><id>urn:cap:" + a.identifier + "</id><content type=\"text/xml\">" +
                           cap + "</content></entry></feed>";
  auto d = ParseCapDocument(feed);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->entries.size(), 1u);
  ASSERT_TRUE(d->entries[0].embedded->ok());
  EXPECT_EQ((*d->entries[0].embedded)->identifier, a.identifier);
  EXPECT_TRUE(d->entries[0].links.empty());
}

TEST(CapFeedTest, AFeedIsNotACapDocument) {
  auto a = ParseCap(ReadData("feed.atom"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("<feed> in namespace http://www.w3.org/2005/Atom, not a CAP 1.2 <alert>"),
            std::string::npos)
      << a.status().message();
  auto other = ParseCapDocument("<rss version=\"2.0\"/>");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("neither a CAP 1.2 <alert> nor an Atom <feed>"),
            std::string::npos);
  auto empty_feed = ParseCapDocument("<feed xmlns=\"http://www.w3.org/2005/Atom\"/>");
  ASSERT_TRUE(empty_feed.ok());
  EXPECT_TRUE(empty_feed->entries.empty());
}

}  // namespace
}  // namespace cb::alerts
