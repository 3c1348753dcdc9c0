// The CSV reader (RFC 4180 edge cases, malformed records, streaming across chunks), the
// column mapping and row mapping, the import report, the ImportedCase JSON form, and the
// shipped Boston 311 mapping.
#include "cases/csv_import.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cases/catalog.h"

namespace cb::cases {
namespace {

using Records = std::vector<std::vector<std::string>>;

// Every record of `text`; errors become a record {"!error", "<line>"}.
Records ReadAll(CsvReader* r) {
  Records out;
  std::vector<std::string> f;
  for (;;) {
    auto more = r->Next(&f);
    if (!more.ok()) {
      EXPECT_EQ(more.status().code(), Code::kBadRequestData) << more.status().ToString();
      out.push_back({"!error", std::to_string(r->line())});
      continue;
    }
    if (!*more) break;
    out.push_back(f);
  }
  return out;
}

Records ReadAll(std::string text, size_t max_record = CsvReader::kDefaultMaxRecordBytes) {
  auto r = CsvReader::FromString(std::move(text), max_record);
  return ReadAll(r.get());
}

struct CsvCase {
  const char* name;
  std::string text;
  Records want;
};

TEST(CsvReaderTest, ReadsRfc4180) {
  const std::vector<CsvCase> cases = {
      {"plain", "a,b,c\n1,2,3\n", {{"a", "b", "c"}, {"1", "2", "3"}}},
      {"crlf", "a,b\r\n1,2\r\n", {{"a", "b"}, {"1", "2"}}},
      {"no final newline", "a,b\n1,2", {{"a", "b"}, {"1", "2"}}},
      {"bare cr", "a\rb\r", {{"a"}, {"b"}}},
      {"quoted comma", "\"a,b\",c\n", {{"a,b", "c"}}},
      {"doubled quotes", "\"say \"\"hi\"\"\",x\n", {{"say \"hi\"", "x"}}},
      {"only a doubled quote", "\"\"\"\"\n", {{"\""}}},
      {"newline in quotes", "\"line1\nline2\",x\ny,z\n", {{"line1\nline2", "x"}, {"y", "z"}}},
      {"crlf in quotes", "\"l1\r\nl2\",x\r\n", {{"l1\r\nl2", "x"}}},
      {"empty fields", ",,\n", {{"", "", ""}}},
      {"empty quoted", "\"\",a\n", {{"", "a"}}},
      {"trailing comma", "a,\n", {{"a", ""}}},
      {"quoted last field, no newline", "a,\"b\"", {{"a", "b"}}},
      {"blank lines skipped", "a\n\n\r\n\nb\n", {{"a"}, {"b"}}},
      {"byte-order mark", "\xEF\xBB\xBF" "a,b\n", {{"a", "b"}}},
      {"literal quote in unquoted field", "12\" pipe,x\n", {{"12\" pipe", "x"}}},
      {"utf-8", "市容环境,\"宣传,广告\"\n", {{"市容环境", "宣传,广告"}}},
      {"spaces kept", " a , b \n", {{" a ", " b "}}},
      {"empty input", "", {}},
  };
  for (const CsvCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReadAll(c.text), c.want);
  }
}

TEST(CsvReaderTest, ReportsMalformedRecordsByLineAndGoesOn) {
  const std::vector<CsvCase> cases = {
      {"character after closing quote", "h\n\"ab\"x,c\nd,e\n", {{"h"}, {"!error", "2"}, {"d", "e"}}},
      {"quote never closed", "a\n\"open\nnever closed", {{"a"}, {"!error", "2"}}},
      {"error after a multi-line field", "\"x\ny\",1\n\"z\"!\nok\n",
       {{"x\ny", "1"}, {"!error", "3"}, {"ok"}}},
  };
  for (const CsvCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReadAll(c.text), c.want);
  }
  // A record over the limit (an unclosed quote swallowing the file) is refused.
  EXPECT_EQ(ReadAll("a,b\n" + std::string(100, 'x') + "\nc\n", 50),
            (Records{{"a", "b"}, {"!error", "2"}, {"c"}}));
}

TEST(CsvReaderTest, LineIsWhereTheRecordStarted) {
  auto r = CsvReader::FromString("h\n\"two\nlines\",x\n\nlast\n");
  std::vector<std::string> f;
  ASSERT_TRUE(*r->Next(&f));
  EXPECT_EQ(r->line(), 1u);
  ASSERT_TRUE(*r->Next(&f));
  EXPECT_EQ(r->line(), 2u);
  ASSERT_TRUE(*r->Next(&f));
  EXPECT_EQ(r->line(), 5u);
  EXPECT_FALSE(*r->Next(&f));
}

TEST(CsvReaderTest, StreamsAFileAcrossChunksLikeTheSameTextInMemory) {
  std::string text = "id,text,n\r\n";
  for (int i = 0; i < 20000; ++i) {
    text += std::to_string(i) + ",\"row " + std::to_string(i) + ", with \"\"quotes\"\"\r\nand a line break\"," +
            std::string(static_cast<size_t>(i % 13), 'x') + "\r\n";
  }
  ASSERT_GT(text.size(), 5u * 64 * 1024);
  const std::string path = ::testing::TempDir() + "/csv_reader_stream.csv";
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  auto file = CsvReader::OpenFile(path);
  ASSERT_TRUE(file.ok());
  Records from_file = ReadAll(file->get());
  EXPECT_EQ((*file)->bytes(), text.size());
  Records from_memory = ReadAll(text);
  ASSERT_EQ(from_file.size(), 20001u);
  EXPECT_EQ(from_file, from_memory);
  EXPECT_EQ(from_file[7][1], "row 6, with \"quotes\"\r\nand a line break");
  std::remove(path.c_str());
  EXPECT_EQ(CsvReader::OpenFile(path).status().code(), Code::kNotFound);
}

TEST(ParseLocalTimeTest, FormatsAndOffsets) {
  struct T {
    const char* text;
    const char* format;
    int offset;
    const char* utc;  // nullptr: refused
  };
  const char* kBoston = "%m/%d/%Y %I:%M:%S %p";
  const std::vector<T> cases = {
      {"01/01/2015 12:20:09 AM", kBoston, -300, "2015-01-01T05:20:09.000Z"},
      {"01/01/2015 12:37:13 PM", kBoston, -300, "2015-01-01T17:37:13.000Z"},
      {"12/31/2015 11:59:59 PM", kBoston, -300, "2016-01-01T04:59:59.000Z"},
      {"02/29/2016 01:00:00 AM", kBoston, 0, "2016-02-29T01:00:00.000Z"},
      {"2026-03-01 08:00", "%Y-%m-%d %H:%M", 480, "2026-03-01T00:00:00.000Z"},
      {"2026-03-01T08:00:00", "iso8601", 480, "2026-03-01T00:00:00.000Z"},
      {"2026-03-01T08:00:00Z", "iso8601", 480, "2026-03-01T08:00:00.000Z"},
      {"2026-03-01T08:00:00+01:00", "iso8601", 480, "2026-03-01T07:00:00.000Z"},
      {"02/30/2015 01:00:00 AM", kBoston, 0, nullptr},
      {"13/01/2015 01:00:00 AM", kBoston, 0, nullptr},
      {"01/01/2015 01:00:00 AM trailing", kBoston, 0, nullptr},
      {"yesterday", kBoston, 0, nullptr},
      {"yesterday", "iso8601", 0, nullptr},
  };
  for (const T& c : cases) {
    SCOPED_TRACE(c.text);
    auto t = ParseLocalTime(c.text, c.format, c.offset);
    if (c.utc == nullptr) {
      EXPECT_EQ(t.status().code(), Code::kBadRequestData);
    } else {
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(FormatIso8601(*t), c.utc);
    }
  }
}

JsonValue Json(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : JsonValue();
}

const char* kMapping = R"({
  "columns": {"externalId": "ID", "opened": "OPEN", "target": "TARGET", "closed": "CLOSED",
              "status": "STATUS", "title": "TITLE", "description": "DESC", "address": "ADDR",
              "lat": "LAT", "lon": "LON", "source": "SRC", "zone": "AREA", "note": "WHY"},
  "timeFormat": "%Y-%m-%d %H:%M",
  "utcOffset": "+08:00",
  "closedStatus": ["Closed", "Done"],
  "zonePrefix": "urn:ngsi-ld:Zone:",
  "categories": [{"column": "TYPE", "values": {"Litter": "0101"}},
                 {"column": "QUEUE", "values": {"Lights": "0107"}},
                 {"column": "DEPT", "values": {"Water": "0402"}}],
  "defaultCategory": "0601",
  "departments": {"column": "DEPT", "values": {"Water": "szj"}},
  "sources": {"values": {"Phone": "hotline", "App": "citizen"}, "default": "import"}
})";

const std::vector<std::string> kHeader = {"ID",   "OPEN", "TARGET", "CLOSED", "STATUS", "TITLE", "DESC",
                                          "ADDR", "LAT",  "LON",    "SRC",    "AREA",   "WHY",   "TYPE",
                                          "QUEUE", "DEPT"};

std::vector<std::string> Row(std::vector<std::pair<std::string, std::string>> set) {
  std::vector<std::string> r = {"7",  "2026-03-01 08:00", "2026-03-02 08:00", "2026-03-01 20:00",
                                "Closed", "Rubbish", "Litter on the pavement", "1 Hubin Rd",
                                "30.25", "120.16", "App", "Hubin / West", "Case resolved",
                                "Litter", "Cleaning", "Sanitation"};
  for (auto& [col, value] : set) {
    for (size_t i = 0; i < kHeader.size(); ++i) {
      if (kHeader[i] == col) r[i] = value;
    }
  }
  return r;
}

CsvMapping Mapping() {
  auto m = CsvMapping::FromJson(Json(kMapping));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : CsvMapping{};
}

TEST(CsvMappingTest, MapsARow) {
  CsvMapping m = Mapping();
  auto mapper = RowMapper::Bind(m, kHeader);
  ASSERT_TRUE(mapper.ok()) << mapper.status().ToString();
  std::string reason;
  auto r = mapper->Map(Row({}), &reason);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->report.external_id, "7");
  EXPECT_EQ(FormatIso8601(r->opened_at), "2026-03-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(r->target_at), "2026-03-02T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(r->closed_at), "2026-03-01T12:00:00.000Z");
  EXPECT_EQ(r->report.category, "0101");
  EXPECT_EQ(r->report.title, "Rubbish");
  EXPECT_EQ(r->report.description, "Litter on the pavement");
  EXPECT_EQ(r->report.address, "1 Hubin Rd");
  EXPECT_DOUBLE_EQ(*r->report.lat, 30.25);
  EXPECT_DOUBLE_EQ(*r->report.lon, 120.16);
  EXPECT_EQ(r->report.source, CaseSource::kCitizen);
  EXPECT_EQ(r->report.zone_id, "urn:ngsi-ld:Zone:hubin-west");
  EXPECT_EQ(r->note, "Case resolved");
  EXPECT_EQ(r->department, "");  // Sanitation is not mapped: the category's department
}

TEST(CsvMappingTest, CategoryRulesAreTriedInOrderThenTheDefault) {
  CsvMapping m = Mapping();
  auto mapper = RowMapper::Bind(m, kHeader);
  ASSERT_TRUE(mapper.ok());
  struct C {
    std::vector<std::pair<std::string, std::string>> set;
    const char* category;
    const char* department;
  };
  const std::vector<C> cases = {
      {{}, "0101", ""},
      {{{"TYPE", "Unknown"}, {"QUEUE", "Lights"}}, "0107", ""},
      {{{"TYPE", "Unknown"}, {"DEPT", "Water"}}, "0402", "szj"},
      {{{"TYPE", "Litter"}, {"DEPT", "Water"}}, "0101", "szj"},
      {{{"TYPE", ""}, {"QUEUE", ""}, {"DEPT", ""}}, "0601", ""},
  };
  for (const C& c : cases) {
    std::string reason;
    auto r = mapper->Map(Row(c.set), &reason);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->report.category, c.category);
    EXPECT_EQ(r->department, c.department);
  }
}

TEST(CsvMappingTest, OpenRowsAndOptionalFields) {
  CsvMapping m = Mapping();
  auto mapper = RowMapper::Bind(m, kHeader);
  ASSERT_TRUE(mapper.ok());
  std::string reason;
  // Open by its status: a closing time written anyway is not taken.
  auto r = mapper->Map(Row({{"STATUS", "Open"}}), &reason);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->closed_at, 0);
  r = mapper->Map(Row({{"STATUS", "Done"}}), &reason);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->closed_at, 0);
  r = mapper->Map(Row({{"STATUS", "Open"}, {"CLOSED", ""}, {"TARGET", ""}, {"LAT", ""}, {"LON", ""},
                       {"AREA", ""}, {"SRC", "Fax"}}),
                  &reason);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target_at, 0);
  EXPECT_FALSE(r->report.lat.has_value());
  EXPECT_EQ(r->report.zone_id, "");
  EXPECT_EQ(r->report.source, CaseSource::kImport);  // the mapping's default
}

TEST(CsvMappingTest, BadRowsAreRefusedWithAReason) {
  CsvMapping m = Mapping();
  auto mapper = RowMapper::Bind(m, kHeader);
  ASSERT_TRUE(mapper.ok());
  struct C {
    std::vector<std::pair<std::string, std::string>> set;
    const char* reason;
  };
  const std::vector<C> cases = {
      {{{"OPEN", ""}}, "no opening time"},
      {{{"OPEN", "01/03/2026"}}, "bad opening time"},
      {{{"TARGET", "soon"}}, "bad target time"},
      {{{"CLOSED", "2026-02-31 10:00"}}, "bad closing time"},
      {{{"CLOSED", ""}}, "closed without a closing time"},
      {{{"CLOSED", "2026-03-01 07:59"}}, "closed before it was opened"},
      {{{"LAT", "north"}}, "bad coordinates"},
      {{{"LAT", "91"}}, "bad coordinates"},
      {{{"LON", ""}}, "bad coordinates"},
      {{{"DESC", std::string(4001, 'x')}}, "description over 4,000 characters"},
  };
  for (const C& c : cases) {
    SCOPED_TRACE(c.reason);
    std::string reason;
    auto r = mapper->Map(Row(c.set), &reason);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kBadRequestData);
    EXPECT_EQ(reason, c.reason);
  }
  std::string reason;
  // 4,000 characters of Chinese are 12,000 bytes and still allowed.
  std::string desc;
  for (int i = 0; i < 4000; ++i) desc += "字";
  EXPECT_TRUE(mapper->Map(Row({{"DESC", desc}}), &reason).ok());
  std::vector<std::string> short_row = Row({});
  short_row.pop_back();
  EXPECT_FALSE(mapper->Map(short_row, &reason).ok());
  EXPECT_EQ(reason, "wrong number of fields");
}

TEST(CsvMappingTest, HeaderMustHoldTheMappedColumns) {
  CsvMapping m = Mapping();
  std::vector<std::string> header = kHeader;
  header.erase(header.begin() + 1);  // OPEN
  header.pop_back();                 // DEPT
  auto mapper = RowMapper::Bind(m, header);
  ASSERT_FALSE(mapper.ok());
  EXPECT_NE(mapper.status().message().find("OPEN"), std::string::npos);
  EXPECT_NE(mapper.status().message().find("DEPT"), std::string::npos);
}

TEST(CsvMappingTest, BadMappingsAreRefused) {
  const std::vector<std::string> bad = {
      R"([])",
      R"({"columns": {"title": "T"}, "defaultCategory": "0601"})",
      R"({"columns": {"opened": "O", "colour": "C"}, "defaultCategory": "0601"})",
      R"({"columns": {"opened": "O", "lat": "LAT"}, "defaultCategory": "0601"})",
      R"({"columns": {"opened": "O"}})",
      R"({"columns": {"opened": "O"}, "defaultCategory": "0601", "utcOffset": "EST"})",
      R"({"columns": {"opened": "O"}, "defaultCategory": "0601", "utcOffset": 900})",
      R"({"columns": {"opened": "O"}, "defaultCategory": "0601", "closedStatus": ["Closed"]})",
      R"({"columns": {"opened": "O"}, "categories": [{"values": {"a": "0101"}}]})",
      R"({"columns": {"opened": "O"}, "categories": [{"column": "T", "values": {"a": 1}}]})",
      R"({"columns": {"opened": "O"}, "defaultCategory": "0601", "sources": {"values": {"a": "fax"}}})",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE(text);
    auto m = CsvMapping::FromJson(Json(text));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), Code::kBadRequestData);
  }
}

TEST(ImportCsvTest, ReportsRowsReadImportedAndSkippedByReason) {
  CsvMapping m = Mapping();
  std::string csv;
  for (size_t i = 0; i < kHeader.size(); ++i) csv += (i ? "," : "") + kHeader[i];
  csv += "\n";
  auto line = [](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i) s += (i ? ",\"" : "\"") + r[i] + "\"";
    return s + "\n";
  };
  for (int i = 0; i < 5; ++i) csv += line(Row({{"ID", std::to_string(i)}}));
  csv += line(Row({{"OPEN", ""}}));
  csv += "\"broken\"x\n";
  csv += line(Row({{"LAT", "999"}}));
  csv += line(Row({{"OPEN", ""}}));
  csv += line(Row({{"ID", "last"}}));
  auto reader = CsvReader::FromString(csv);
  ImportReport report;
  std::vector<size_t> batches;
  std::vector<std::string> ids;
  int progress_calls = 0;
  Status st = ImportCsv(
      reader.get(), m, 2,
      [&](std::vector<ImportedCase> rows) -> Result<size_t> {
        batches.push_back(rows.size());
        for (const ImportedCase& r : rows) ids.push_back(r.report.external_id);
        return rows.size();
      },
      &report, [&](const ImportReport&) { ++progress_calls; });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(report.rows_read, 10u);
  EXPECT_EQ(report.imported, 6u);
  EXPECT_EQ(report.skipped, 4u);
  EXPECT_EQ(report.skipped_by_reason,
            (std::map<std::string, uint64_t>{{"no opening time", 2}, {"malformed CSV", 1}, {"bad coordinates", 1}}));
  ASSERT_EQ(report.first_skips.size(), 4u);
  EXPECT_EQ(report.first_skips[1].row, 7u);
  EXPECT_EQ(report.first_skips[1].line, 8u);
  EXPECT_EQ(batches, (std::vector<size_t>{2, 2, 2}));
  EXPECT_EQ(progress_calls, 3);
  EXPECT_EQ(ids.back(), "last");
  JsonValue j = report.ToJson();
  EXPECT_EQ(j.Find("skippedByReason")->Find("no opening time")->as_int(), 2);
  EXPECT_NE(report.ToText().find("skipped, bad coordinates: 1"), std::string::npos);

  // A failing sink stops the import with its error.
  reader = CsvReader::FromString(csv);
  ImportReport failed;
  st = ImportCsv(reader.get(), m, 2,
                 [](std::vector<ImportedCase>) -> Result<size_t> { return Status::Unavailable("down"); },
                 &failed);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(failed.imported, 0u);
  // A header that does not fit, or no header at all.
  reader = CsvReader::FromString("A,B\n1,2\n");
  EXPECT_EQ(ImportCsv(reader.get(), m, 2, nullptr, &failed).code(), Code::kBadRequestData);
  reader = CsvReader::FromString("");
  EXPECT_EQ(ImportCsv(reader.get(), m, 2, nullptr, &failed).code(), Code::kBadRequestData);
}

TEST(ImportedCaseJsonTest, RoundTrips) {
  ImportedCase c;
  c.report.external_id = "101001240734";
  c.report.category = "0107";
  c.report.title = "Street Light Outages";
  c.report.description = "light out, \"again\"";
  c.report.address = "33 Beacon St";
  c.report.lon = -71.0648;
  c.report.lat = 42.3574;
  c.report.zone_id = "urn:ngsi-ld:Zone:boston-downtown";
  c.report.source = CaseSource::kHotline;
  c.report.reporter = {"r1", "Ann", "555", "ann@example.org"};
  c.department = "szj";
  c.opened_at = ParseIso8601("2015-01-01T05:20:09Z").value();
  c.target_at = ParseIso8601("2015-01-03T05:20:09Z").value();
  c.closed_at = ParseIso8601("2015-01-02T14:08:42Z").value();
  c.note = "Case Closed";
  auto back = ImportedCaseFromJson(Json(ImportedCaseToJson(c).Dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ImportedCaseToJson(*back).Dump(), ImportedCaseToJson(c).Dump());
  EXPECT_EQ(back->report.reporter.email, "ann@example.org");
  EXPECT_EQ(back->closed_at, c.closed_at);

  c.closed_at = c.target_at = 0;
  c.report.lon.reset();
  c.report.lat.reset();
  c.report.reporter = {};
  JsonValue j = ImportedCaseToJson(c);
  EXPECT_TRUE(j.Find("closedAt")->is_null());
  EXPECT_EQ(j.Find("location"), nullptr);
  back = ImportedCaseFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->closed_at, 0);
  EXPECT_FALSE(back->report.lat.has_value());
}

TEST(ImportedCaseJsonTest, RefusesBadFields) {
  const std::vector<std::string> bad = {
      R"("x")",
      R"({"openedAt": "2015-01-01T00:00:00Z"})",
      R"({"category": "0101"})",
      R"({"category": "0101", "openedAt": "yesterday"})",
      R"({"category": "0101", "openedAt": "2015-01-01T00:00:00Z", "closedAt": 5})",
      R"({"category": 101, "openedAt": "2015-01-01T00:00:00Z"})",
      R"({"category": "0101", "openedAt": "2015-01-01T00:00:00Z", "source": "fax"})",
      R"({"category": "0101", "openedAt": "2015-01-01T00:00:00Z", "location": {"type": "Point", "coordinates": [1]}})",
      R"({"category": "0101", "openedAt": "2015-01-01T00:00:00Z", "reporter": "Ann"})",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ImportedCaseFromJson(Json(text)).status().code(), Code::kBadRequestData);
  }
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BostonMappingTest, MapsToLeafCategoriesAndDepartmentsOfTheDefaultCatalog) {
  auto m = CsvMapping::FromJson(Json(ReadText(CITYBRAIN_SOURCE_DIR "/examples/cases/boston-mapping.json")));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Catalog& catalog = Catalog::Default();
  const std::vector<std::string> codes = m->CategoryCodes();
  EXPECT_GE(codes.size(), 10u);
  for (const std::string& code : codes) {
    const Category* c = catalog.FindCategory(code);
    ASSERT_NE(c, nullptr) << code;
    EXPECT_TRUE(c->leaf) << code;
  }
  for (const auto& [boston, ours] : m->departments.values) {
    EXPECT_NE(catalog.FindDepartment(ours), nullptr) << boston << " → " << ours;
  }
  ASSERT_TRUE(m->time_zone.has_value());
  EXPECT_EQ(m->time_zone->name(), "America/New_York");
}

TEST(ParseLocalTimeTest, InATimeZoneEachTimeTakesItsDatesOffset) {
  const TimeZone ny = TimeZone::Find("America/New_York").value();
  const char* kBoston = "%m/%d/%Y %I:%M:%S %p";
  struct T {
    const char* text;
    const char* format;
    const char* utc;
  };
  for (const T& c : {T{"01/15/2015 09:00:00 AM", kBoston, "2015-01-15T14:00:00.000Z"},
                     T{"07/15/2015 09:00:00 AM", kBoston, "2015-07-15T13:00:00.000Z"},
                     T{"2015-07-15T09:00:00", "iso8601", "2015-07-15T13:00:00.000Z"},
                     T{"2015-07-15T09:00:00Z", "iso8601", "2015-07-15T09:00:00.000Z"}}) {
    auto t = ParseLocalTime(c.text, c.format, /*utc_offset_minutes=*/0, &ny);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status().ToString();
    EXPECT_EQ(FormatIso8601(*t), c.utc) << c.text;
  }
}

TEST(CsvMappingTest, TimeZoneIsAKnownIanaNameAndNotGivenWithAnOffset) {
  const std::string base = R"({"columns":{"opened":"OPEN"},"defaultCategory":"0601",)";
  auto good = CsvMapping::FromJson(Json(base + R"("timeZone":"Asia/Shanghai"})"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->time_zone->name(), "Asia/Shanghai");
  for (const std::string& bad : {base + R"("timeZone":"Asia/Atlantis"})",
                                 base + R"("timeZone":480})",
                                 base + R"("timeZone":"Asia/Shanghai","utcOffset":"+08:00"})"}) {
    auto m = CsvMapping::FromJson(Json(bad));
    EXPECT_EQ(m.status().code(), Code::kBadRequestData) << bad;
    EXPECT_NE(m.status().message().find("timeZone"), std::string::npos) << m.status().message();
  }
}

}  // namespace
}  // namespace cb::cases
