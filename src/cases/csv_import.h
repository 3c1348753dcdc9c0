// Importing hotline exports (a city's 12345 or 311 system) from CSV: an RFC 4180 reader,
// a column mapping read from JSON (which columns hold what, how times are written, which
// source values become which of our categories and departments), the mapping of one row
// to an ImportedCase, and a report of what was read, imported and skipped (by reason).
// The ImportedCase JSON form is what `citybrain import-cases` posts to
// POST /api/v1/cases/import. See docs/cases.md, "Importing hotline exports".
//
// Thread-safety: CsvReader is not thread-safe (one reader per file); CsvMapping and
// RowMapper are immutable once made and may be used from any thread; ImportReport is a
// value type.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/case_book.h"
#include "core/json.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::cases {

// CsvReader: reads RFC 4180 CSV one record at a time, from a file (streamed in 64 KiB
// chunks, so a file of any size takes little memory) or from text in memory. Fields may be
// quoted; quoted fields may hold commas, doubled quotes and line breaks; records end with
// CRLF, LF or CR; a UTF-8 byte-order mark is dropped; blank lines are skipped. A quote
// inside an unquoted field is kept as a literal character (exports do that: 12" pipe).
//
// Written here rather than taken from Debian 12: libfccp-dev (fast-cpp-csv-parser) does
// not allow line breaks inside quoted fields and reports errors by exceptions; libcsv-dev
// (C, callbacks) stops at the first malformed record without saying where, while an import
// must report each bad row by its line and go on with the next one.
class CsvReader {
 public:
  static constexpr size_t kDefaultMaxRecordBytes = 1 << 20;

  // kNotFound when the file cannot be opened.
  static Result<std::unique_ptr<CsvReader>> OpenFile(const std::string& path,
                                                     size_t max_record_bytes = kDefaultMaxRecordBytes);
  static std::unique_ptr<CsvReader> FromString(std::string text,
                                               size_t max_record_bytes = kDefaultMaxRecordBytes);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into *fields: true when one was read, false at the end of the
  // input. A malformed record (a character after a closing quote, a quoted field still open
  // at the end of the input, a record over max_record_bytes) is kBadRequestData naming its
  // line; reading then goes on at the next line. kInternal for a read error.
  Result<bool> Next(std::vector<std::string>* fields);
  // The line (1-based) the last record returned, or refused, started on.
  uint64_t line() const { return record_line_; }
  // Bytes consumed so far.
  uint64_t bytes() const { return consumed_; }

 private:
  CsvReader(std::FILE* file, std::string text, size_t max_record_bytes);
  // The next byte, or -1 at the end of the input (refilling from the file as needed).
  int Get();
  int Peek();
  bool Fill();
  void SkipLine();

  std::FILE* file_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool read_error_ = false;
  size_t max_record_bytes_;
  uint64_t line_ = 1;
  uint64_t record_line_ = 0;
  uint64_t consumed_ = 0;
};

// Maps a source column's values to ours.
struct ValueMapping {
  std::string column;
  std::map<std::string, std::string, std::less<>> values;
};

// How the columns of a hotline export become an ImportedCase. Its JSON form
// (examples/cases/boston-mapping.json):
//   {"columns": {"externalId": "CASE_ENQUIRY_ID", "opened": "OPEN_DT", "target": "TARGET_DT",
//                "closed": "CLOSED_DT", "status": "CASE_STATUS", "title": "CASE_TITLE",
//                "description": "TYPE", "address": "Location", "lat": "LATITUDE",
//                "lon": "LONGITUDE", "source": "Source", "zone": "neighborhood",
//                "note": "CLOSURE_REASON"},
//    "timeFormat": "%m/%d/%Y %I:%M:%S %p",   (strptime fields, or "iso8601")
//    "timeZone": "America/New_York",          (the zone of the times written in the file;
//                                              or "utcOffset": "-05:00", a fixed offset)
//    "closedStatus": ["Closed"],             (status values meaning closed)
//    "zonePrefix": "urn:ngsi-ld:Zone:boston-",
//    "categories": [{"column": "TYPE", "values": {"Street Light Outages": "0107", …}},
//                   {"column": "QUEUE", "values": {…}}, …],   (first match wins)
//    "defaultCategory": "0601",
//    "departments": {"column": "Department", "values": {"PWDx": "szj", …}},
//    "sources": {"values": {"Constituent Call": "hotline", …}, "default": "hotline"}}
// Only "columns.opened" and a category (a rule or a default) are required.
struct CsvMapping {
  struct Columns {
    std::string external_id, opened, target, closed, status, title, description, address;
    std::string lat, lon, source, zone, note;
  } columns;
  std::string time_format = "iso8601";
  int utc_offset_minutes = 0;
  // "timeZone": an IANA zone instead of the fixed offset; each time is read at the zone's
  // offset on its own date, daylight saving included.
  std::optional<TimeZone> time_zone;
  std::vector<std::string> closed_statuses;  // empty: closed when the closed time is given
  std::string zone_prefix;                   // zone ids: prefix + the value as a slug
  std::vector<ValueMapping> categories;      // tried in order
  std::string default_category;              // when no rule matches ("" : the row is skipped)
  ValueMapping departments;                  // unmapped: the category's department
  std::map<std::string, CaseSource, std::less<>> sources;
  CaseSource default_source = CaseSource::kHotline;

  // kBadRequestData naming what is wrong.
  static Result<CsvMapping> FromJson(const JsonValue& v);
  // The category codes it maps to (rules and default), for checking against a catalog.
  std::vector<std::string> CategoryCodes() const;
};

// A mapping bound to a file's header row.
class RowMapper {
 public:
  // kBadRequestData when a column the mapping names is not in the header.
  static Result<RowMapper> Bind(const CsvMapping& mapping, const std::vector<std::string>& header);
  // The row as an ImportedCase; on failure a kBadRequestData whose message is the detail,
  // with a short reason (what the report groups by) in *reason.
  Result<ImportedCase> Map(const std::vector<std::string>& fields, std::string* reason) const;

 private:
  const CsvMapping* mapping_ = nullptr;
  size_t width_ = 0;
  // Column index per CsvMapping::Columns member (npos: not mapped).
  struct Index {
    size_t external_id, opened, target, closed, status, title, description, address;
    size_t lat, lon, source, zone, note, department;
  } idx_{};
  std::vector<size_t> category_idx_;
};

// Parses a time written in `format` (strptime fields, or "iso8601") at a fixed UTC offset,
// or in `zone` when given (at its offset on that date).
Result<TimeMs> ParseLocalTime(std::string_view text, std::string_view format, int utc_offset_minutes,
                              const TimeZone* zone = nullptr);

// What an import did.
struct ImportReport {
  uint64_t rows_read = 0;  // data rows (the header not counted)
  uint64_t imported = 0;
  uint64_t skipped = 0;
  std::map<std::string, uint64_t> skipped_by_reason;
  struct Skip {
    uint64_t row = 0;   // data row number, 1-based
    uint64_t line = 0;  // line in the file where it starts
    std::string reason;
    std::string detail;
  };
  std::vector<Skip> first_skips;  // the first kMaxSkips skipped rows
  static constexpr size_t kMaxSkips = 20;

  void AddSkip(uint64_t row, uint64_t line, std::string reason, std::string detail);
  JsonValue ToJson() const;
  std::string ToText() const;  // several lines, for a terminal
};

// Reads `reader` (its first record is the header), maps each row and hands the mapped
// rows to `sink` in batches of up to `batch`; `sink` returns the number it imported, or an
// error, which stops the import. `progress` (when set) is called after each batch. Fills
// *report; returns a non-OK Status when the header does not fit the mapping, reading fails
// or the sink fails.
using ImportSink = std::function<Result<size_t>(std::vector<ImportedCase>)>;
Status ImportCsv(CsvReader* reader, const CsvMapping& mapping, size_t batch, const ImportSink& sink,
                 ImportReport* report, const std::function<void(const ImportReport&)>& progress = {});

// The JSON form of an imported case (POST /api/v1/cases/import):
//   {"externalId", "category", "title", "description", "address",
//    "location": {"type": "Point", "coordinates": [lon, lat]}, "zone", "source",
//    "department", "openedAt", "targetAt", "closedAt" (ISO 8601; target and closed may be
//    null), "note", "reporter": {"id", "name", "phone", "email"}}
JsonValue ImportedCaseToJson(const ImportedCase& c);
// kBadRequestData naming the first problem.
Result<ImportedCase> ImportedCaseFromJson(const JsonValue& v);

}  // namespace cb::cases
