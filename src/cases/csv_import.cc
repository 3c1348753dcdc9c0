#include "cases/csv_import.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>

#include "geo/geometry.h"

namespace cb::cases {

// ---- CsvReader

namespace {
constexpr size_t kChunk = 64 * 1024;
}  // namespace

CsvReader::CsvReader(std::FILE* file, std::string text, size_t max_record_bytes)
    : file_(file), buf_(std::move(text)), eof_(file == nullptr), max_record_bytes_(max_record_bytes) {
  if (Peek() == 0xEF && buf_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) {
    pos_ += 3;
    consumed_ += 3;
  }
}

CsvReader::~CsvReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<std::unique_ptr<CsvReader>> CsvReader::OpenFile(const std::string& path, size_t max_record_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  return std::unique_ptr<CsvReader>(new CsvReader(f, std::string(), max_record_bytes));
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string text, size_t max_record_bytes) {
  return std::unique_ptr<CsvReader>(new CsvReader(nullptr, std::move(text), max_record_bytes));
}

bool CsvReader::Fill() {
  if (eof_) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  const size_t old = buf_.size();
  buf_.resize(old + kChunk);
  const size_t n = std::fread(buf_.data() + old, 1, kChunk, file_);
  buf_.resize(old + n);
  if (n < kChunk) {
    eof_ = true;
    read_error_ = std::ferror(file_) != 0;
  }
  return n > 0;
}

int CsvReader::Peek() {
  if (pos_ >= buf_.size() && !Fill()) return -1;
  return static_cast<unsigned char>(buf_[pos_]);
}

int CsvReader::Get() {
  const int c = Peek();
  if (c >= 0) {
    ++pos_;
    ++consumed_;
  }
  return c;
}

void CsvReader::SkipLine() {
  for (int c = Get(); c >= 0; c = Get()) {
    if (c == '\n' || (c == '\r' && Peek() != '\n')) {
      ++line_;
      return;
    }
  }
}

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  enum class S { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  for (;;) {  // until a record that is not a blank line
    fields->clear();
    record_line_ = line_;
    if (Peek() < 0) {
      if (read_error_) return Status::Internal("read error at line " + std::to_string(line_));
      return false;
    }
    std::string field;
    size_t record_bytes = 0;
    S s = S::kFieldStart;
    auto bad = [&](const std::string& why) -> Status {
      return Status::BadRequestData("line " + std::to_string(record_line_) + ": " + why);
    };
    for (;;) {
      // Runs of ordinary bytes are copied at once.
      if (s == S::kUnquoted || s == S::kQuoted) {
        const char* stops = s == S::kUnquoted ? ",\r\n" : "\"\n";
        while (pos_ < buf_.size() || Fill()) {
          const size_t end = buf_.find_first_of(stops, pos_);
          const size_t stop = end == std::string::npos ? buf_.size() : end;
          field.append(buf_, pos_, stop - pos_);
          record_bytes += stop - pos_;
          consumed_ += stop - pos_;
          pos_ = stop;
          if (end != std::string::npos) break;
        }
        if (record_bytes > max_record_bytes_) {
          Status st = bad("record longer than " + std::to_string(max_record_bytes_) +
                          " bytes (a quote never closed?)");
          SkipLine();
          return st;
        }
      }
      const int c = Get();
      ++record_bytes;
      if (s == S::kQuoted) {
        if (c < 0) {
          return bad("a quoted field is not closed before the end of the file");
        }
        if (c == '"') {
          s = S::kQuoteInQuoted;
        } else {  // '\n'
          ++line_;
          field.push_back('\n');
        }
        continue;
      }
      const bool end_of_record = c < 0 || c == '\n' || c == '\r';
      if (c == '\r' && Peek() == '\n') Get();
      if (end_of_record && c >= 0) ++line_;
      switch (s) {
        case S::kFieldStart:
          if (c == '"') {
            s = S::kQuoted;
            continue;
          }
          break;
        case S::kQuoteInQuoted:
          if (c == '"') {
            field.push_back('"');
            s = S::kQuoted;
            continue;
          }
          if (c != ',' && !end_of_record) {
            Status st = bad("unexpected character after a closing quote in field " +
                            std::to_string(fields->size() + 1));
            SkipLine();
            return st;
          }
          break;
        default:
          break;
      }
      if (c == ',') {
        fields->push_back(std::move(field));
        field.clear();
        s = S::kFieldStart;
        continue;
      }
      if (end_of_record) {
        const bool blank = fields->empty() && field.empty() && s == S::kFieldStart;
        if (blank) break;  // a blank line: no record
        fields->push_back(std::move(field));
        return true;
      }
      field.push_back(static_cast<char>(c));  // including a literal quote in an unquoted field
      s = S::kUnquoted;
    }
  }
}

// ---- Times

Result<TimeMs> ParseLocalTime(std::string_view text, std::string_view format, int utc_offset_minutes,
                              const TimeZone* zone) {
  // A reading counted as if it were UTC, to the instant it names.
  auto instant = [&](TimeMs local) {
    return zone != nullptr ? zone->FromLocal(local) : local - static_cast<int64_t>(utc_offset_minutes) * 60000;
  };
  auto bad = [&]() {
    return Status::BadRequestData("'" + std::string(text.substr(0, 40)) + "' is not a time in the format " +
                                  std::string(format));
  };
  if (format == "iso8601") {
    // A time with a zone is taken as written; without one it is local at the given offset.
    auto t = ParseIso8601(text);
    if (!t.ok()) return bad();
    const bool zoned = text.size() > 10 && (text.back() == 'Z' || text.back() == 'z' ||
                                            text.find_first_of("+-", 11) != std::string_view::npos);
    return zoned ? *t : instant(*t);
  }
  std::string s(text);
  std::string f(format);
  std::tm tm{};
  const char* end = strptime(s.c_str(), f.c_str(), &tm);
  if (end == nullptr) return bad();
  while (*end == ' ') ++end;
  if (*end != '\0') return bad();
  using namespace std::chrono;
  const year_month_day ymd{year(tm.tm_year + 1900), month(static_cast<unsigned>(tm.tm_mon + 1)),
                           day(static_cast<unsigned>(tm.tm_mday))};
  if (!ymd.ok()) return bad();
  const int64_t days = sys_days(ymd).time_since_epoch().count();
  const int64_t secs = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return instant(secs * 1000);
}

// ---- CsvMapping

namespace {

Status Bad(const std::string& m) { return Status::BadRequestData("mapping: " + m); }

Result<std::string> OptString(const JsonValue& o, std::string_view key) {
  const JsonValue* v = o.Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return Bad(std::string(key) + " must be a string");
  return v->as_string();
}

Result<ValueMapping> ValueMappingFromJson(const JsonValue& v, std::string_view what, bool need_column) {
  if (!v.is_object()) return Bad(std::string(what) + " must be an object");
  ValueMapping m;
  auto col = OptString(v, "column");
  if (!col.ok()) return col.status();
  m.column = *col;
  if (need_column && m.column.empty()) return Bad(std::string(what) + " needs a column");
  if (const JsonValue* values = v.Find("values"); values != nullptr) {
    if (!values->is_object()) return Bad(std::string(what) + ".values must be an object");
    for (const auto& [k, val] : values->as_object()) {
      if (!val.is_string()) return Bad(std::string(what) + ".values[\"" + k + "\"] must be a string");
      m.values[k] = val.as_string();
    }
  }
  return m;
}

// "+08:00", "-05:00", "Z", or minutes as a number.
Result<int> OffsetFromJson(const JsonValue& v) {
  if (v.is_int()) {
    if (v.as_int() < -840 || v.as_int() > 840) return Bad("utcOffset out of range");
    return static_cast<int>(v.as_int());
  }
  if (!v.is_string()) return Bad("utcOffset must be like \"+08:00\"");
  const std::string& s = v.as_string();
  if (s == "Z") return 0;
  int h = 0, m = 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
      std::from_chars(s.data() + 1, s.data() + 3, h).ec != std::errc() ||
      std::from_chars(s.data() + 4, s.data() + 6, m).ec != std::errc() || h > 14 || m > 59) {
    return Bad("utcOffset must be like \"+08:00\", not \"" + s + "\"");
  }
  return (s[0] == '-' ? -1 : 1) * (h * 60 + m);
}

}  // namespace

Result<CsvMapping> CsvMapping::FromJson(const JsonValue& v) {
  if (!v.is_object()) return Bad("must be a JSON object");
  CsvMapping m;
  const JsonValue* cols = v.Find("columns");
  if (cols == nullptr || !cols->is_object()) return Bad("columns must be an object");
  const std::pair<const char*, std::string*> names[] = {
      {"externalId", &m.columns.external_id}, {"opened", &m.columns.opened},
      {"target", &m.columns.target},          {"closed", &m.columns.closed},
      {"status", &m.columns.status},          {"title", &m.columns.title},
      {"description", &m.columns.description}, {"address", &m.columns.address},
      {"lat", &m.columns.lat},                {"lon", &m.columns.lon},
      {"source", &m.columns.source},          {"zone", &m.columns.zone},
      {"note", &m.columns.note}};
  for (const auto& [key, value] : cols->as_object()) {
    bool known = false;
    for (const auto& [name, out] : names) {
      if (key != name) continue;
      if (!value.is_string()) return Bad("columns." + key + " must be a string");
      *out = value.as_string();
      known = true;
    }
    if (!known) return Bad("unknown column role \"" + key + "\"");
  }
  if (m.columns.opened.empty()) return Bad("columns.opened is required");
  if (m.columns.lat.empty() != m.columns.lon.empty()) return Bad("give both columns.lat and columns.lon");

  auto fmt = OptString(v, "timeFormat");
  if (!fmt.ok()) return fmt.status();
  if (!fmt->empty()) m.time_format = *fmt;
  if (const JsonValue* off = v.Find("utcOffset")) {
    auto o = OffsetFromJson(*off);
    if (!o.ok()) return o.status();
    m.utc_offset_minutes = *o;
  }
  if (const JsonValue* tz = v.Find("timeZone")) {
    if (!tz->is_string()) return Bad("timeZone must be an IANA name such as \"America/New_York\"");
    if (v.Find("utcOffset") != nullptr) return Bad("give timeZone or utcOffset, not both");
    auto zone = TimeZone::Find(tz->as_string());
    if (!zone.ok()) return Bad("timeZone: " + zone.status().message());
    m.time_zone = *zone;
  }
  if (const JsonValue* cs = v.Find("closedStatus")) {
    if (!cs->is_array()) return Bad("closedStatus must be an array of strings");
    for (const JsonValue& s : cs->as_array()) {
      if (!s.is_string()) return Bad("closedStatus must be an array of strings");
      m.closed_statuses.push_back(s.as_string());
    }
    if (m.columns.status.empty()) return Bad("closedStatus needs columns.status");
  }
  auto prefix = OptString(v, "zonePrefix");
  if (!prefix.ok()) return prefix.status();
  m.zone_prefix = *prefix;
  if (const JsonValue* cats = v.Find("categories")) {
    if (!cats->is_array()) return Bad("categories must be an array of {column, values}");
    for (const JsonValue& c : cats->as_array()) {
      auto r = ValueMappingFromJson(c, "categories[" + std::to_string(m.categories.size()) + "]", true);
      if (!r.ok()) return r.status();
      m.categories.push_back(std::move(r).value());
    }
  }
  auto dflt = OptString(v, "defaultCategory");
  if (!dflt.ok()) return dflt.status();
  m.default_category = *dflt;
  if (m.categories.empty() && m.default_category.empty()) {
    return Bad("give categories or a defaultCategory");
  }
  if (const JsonValue* d = v.Find("departments")) {
    auto r = ValueMappingFromJson(*d, "departments", true);
    if (!r.ok()) return r.status();
    m.departments = std::move(r).value();
  }
  if (const JsonValue* s = v.Find("sources")) {
    auto r = ValueMappingFromJson(*s, "sources", false);
    if (!r.ok()) return r.status();
    if (!r->column.empty()) return Bad("sources takes its column from columns.source");
    for (const auto& [k, name] : r->values) {
      auto src = CaseSourceFromName(name);
      if (!src.ok()) return Bad("sources.values[\"" + k + "\"]: " + src.status().message());
      m.sources[k] = *src;
    }
    auto d = OptString(*s, "default");
    if (!d.ok()) return d.status();
    if (!d->empty()) {
      auto src = CaseSourceFromName(*d);
      if (!src.ok()) return Bad("sources.default: " + src.status().message());
      m.default_source = *src;
    }
  }
  return m;
}

std::vector<std::string> CsvMapping::CategoryCodes() const {
  std::vector<std::string> out;
  for (const ValueMapping& r : categories) {
    for (const auto& [k, code] : r.values) out.push_back(code);
  }
  if (!default_category.empty()) out.push_back(default_category);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- RowMapper

namespace {

constexpr size_t kNone = std::string::npos;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Allston / Brighton" → "allston-brighton".
std::string Slug(std::string_view s) {
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool ParseDouble(std::string_view s, double* out) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

Result<RowMapper> RowMapper::Bind(const CsvMapping& mapping, const std::vector<std::string>& header) {
  RowMapper r;
  r.mapping_ = &mapping;
  r.width_ = header.size();
  std::vector<std::string> missing;
  auto find = [&](const std::string& name) -> size_t {
    if (name.empty()) return kNone;
    for (size_t i = 0; i < header.size(); ++i) {
      if (Trim(header[i]) == name) return i;
    }
    missing.push_back(name);
    return kNone;
  };
  const CsvMapping::Columns& c = mapping.columns;
  r.idx_ = {find(c.external_id), find(c.opened), find(c.target), find(c.closed), find(c.status),
            find(c.title),       find(c.description), find(c.address), find(c.lat), find(c.lon),
            find(c.source),      find(c.zone), find(c.note), find(mapping.departments.column)};
  for (const ValueMapping& cat : mapping.categories) r.category_idx_.push_back(find(cat.column));
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::BadRequestData("the header has no column " + list);
  }
  return r;
}

Result<ImportedCase> RowMapper::Map(const std::vector<std::string>& fields, std::string* reason) const {
  auto fail = [&](const char* why, std::string detail) -> Status {
    *reason = why;
    return Status::BadRequestData(std::move(detail));
  };
  if (fields.size() != width_) {
    return fail("wrong number of fields", std::to_string(fields.size()) + " fields, the header has " +
                                              std::to_string(width_));
  }
  const CsvMapping& m = *mapping_;
  auto at = [&](size_t i) -> std::string_view { return i == kNone ? std::string_view() : Trim(fields[i]); };
  ImportedCase out;
  NewCase& n = out.report;

  auto time = [&](size_t i, const char* what, TimeMs* t) -> Status {
    std::string_view v = at(i);
    if (v.empty()) return Status::Ok();
    auto r = ParseLocalTime(v, m.time_format, m.utc_offset_minutes,
                            m.time_zone ? &*m.time_zone : nullptr);
    if (!r.ok()) {
      *reason = std::string("bad ") + what + " time";
      return r.status();
    }
    *t = *r;
    return Status::Ok();
  };
  if (at(idx_.opened).empty()) return fail("no opening time", "the column " + m.columns.opened + " is empty");
  CB_RETURN_IF_ERROR(time(idx_.opened, "opening", &out.opened_at));
  CB_RETURN_IF_ERROR(time(idx_.target, "target", &out.target_at));
  TimeMs closed_at = 0;
  CB_RETURN_IF_ERROR(time(idx_.closed, "closing", &closed_at));
  bool closed = closed_at != 0;
  if (!m.closed_statuses.empty()) {
    const std::string_view status = at(idx_.status);
    closed = std::find(m.closed_statuses.begin(), m.closed_statuses.end(), status) != m.closed_statuses.end();
    if (closed && closed_at == 0) {
      return fail("closed without a closing time", "status " + std::string(status) + " and no " + m.columns.closed);
    }
  }
  out.closed_at = closed ? closed_at : 0;
  if (out.closed_at != 0 && out.closed_at < out.opened_at) {
    return fail("closed before it was opened", "closed " + FormatIso8601(out.closed_at) + ", opened " +
                                                    FormatIso8601(out.opened_at));
  }

  for (size_t k = 0; k < m.categories.size() && n.category.empty(); ++k) {
    const ValueMapping& rule = m.categories[k];
    auto it = rule.values.find(at(category_idx_[k]));
    if (it != rule.values.end()) n.category = it->second;
  }
  if (n.category.empty()) n.category = m.default_category;
  if (n.category.empty()) return fail("no category", "no category rule matches and there is no default");

  if (idx_.lat != kNone) {
    const std::string_view la = at(idx_.lat), lo = at(idx_.lon);
    if (!la.empty() || !lo.empty()) {
      double lat = 0, lon = 0;
      if (!ParseDouble(la, &lat) || !ParseDouble(lo, &lon) || lat < -90 || lat > 90 || lon < -180 ||
          lon > 180) {
        return fail("bad coordinates", "lat '" + std::string(la) + "', lon '" + std::string(lo) + "'");
      }
      n.lat = lat;
      n.lon = lon;
    }
  }
  n.description = std::string(at(idx_.description));
  if (CodePoints(n.description) > Case::kMaxDescription) {
    return fail("description over 4,000 characters", std::to_string(CodePoints(n.description)) + " characters");
  }
  n.title = std::string(at(idx_.title));
  n.address = std::string(at(idx_.address));
  n.external_id = std::string(at(idx_.external_id));
  if (idx_.zone != kNone) {
    const std::string slug = Slug(at(idx_.zone));
    if (!slug.empty()) n.zone_id = m.zone_prefix + slug;
  }
  n.source = m.default_source;
  if (auto it = m.sources.find(at(idx_.source)); it != m.sources.end()) n.source = it->second;
  if (idx_.department != kNone) {
    if (auto it = m.departments.values.find(at(idx_.department)); it != m.departments.values.end()) {
      out.department = it->second;
    }
  }
  out.note = std::string(at(idx_.note));
  return out;
}

// ---- ImportReport

void ImportReport::AddSkip(uint64_t row, uint64_t line, std::string reason, std::string detail) {
  ++skipped;
  ++skipped_by_reason[reason];
  if (first_skips.size() < kMaxSkips) {
    first_skips.push_back({row, line, std::move(reason), std::move(detail)});
  }
}

JsonValue ImportReport::ToJson() const {
  JsonValue o = JsonValue::MakeObject();
  o.Set("rowsRead", static_cast<int64_t>(rows_read));
  o.Set("imported", static_cast<int64_t>(imported));
  o.Set("skipped", static_cast<int64_t>(skipped));
  JsonValue by = JsonValue::MakeObject();
  for (const auto& [reason, count] : skipped_by_reason) by.Set(reason, static_cast<int64_t>(count));
  o.Set("skippedByReason", std::move(by));
  JsonValue first = JsonValue::MakeArray();
  for (const Skip& s : first_skips) {
    JsonValue j = JsonValue::MakeObject();
    j.Set("row", static_cast<int64_t>(s.row));
    j.Set("line", static_cast<int64_t>(s.line));
    j.Set("reason", s.reason);
    j.Set("detail", s.detail);
    first.Push(std::move(j));
  }
  o.Set("firstSkipped", std::move(first));
  return o;
}

std::string ImportReport::ToText() const {
  std::string t = "rows read " + std::to_string(rows_read) + ", imported " + std::to_string(imported) +
                  ", skipped " + std::to_string(skipped) + "\n";
  for (const auto& [reason, count] : skipped_by_reason) {
    t += "  skipped, " + reason + ": " + std::to_string(count) + "\n";
  }
  for (const Skip& s : first_skips) {
    t += "  row " + std::to_string(s.row) + " (line " + std::to_string(s.line) + "): " + s.reason + " — " +
         s.detail + "\n";
  }
  return t;
}

Status ImportCsv(CsvReader* reader, const CsvMapping& mapping, size_t batch, const ImportSink& sink,
                 ImportReport* report, const std::function<void(const ImportReport&)>& progress) {
  std::vector<std::string> fields;
  auto header = reader->Next(&fields);
  if (!header.ok()) return header.status();
  if (!*header) return Status::BadRequestData("the file is empty (no header row)");
  auto mapper = RowMapper::Bind(mapping, fields);
  if (!mapper.ok()) return mapper.status();
  batch = std::max<size_t>(batch, 1);
  std::vector<ImportedCase> rows;
  rows.reserve(batch);
  auto flush = [&]() -> Status {
    if (rows.empty()) return Status::Ok();
    auto n = sink(std::move(rows));
    rows.clear();
    if (!n.ok()) return n.status();
    report->imported += *n;
    if (progress) progress(*report);
    return Status::Ok();
  };
  std::string reason;
  for (;;) {
    auto more = reader->Next(&fields);
    if (!more.ok() && more.status().code() != Code::kBadRequestData) return more.status();
    if (more.ok() && !*more) break;
    ++report->rows_read;
    if (!more.ok()) {
      report->AddSkip(report->rows_read, reader->line(), "malformed CSV", more.status().message());
      continue;
    }
    auto row = mapper->Map(fields, &reason);
    if (!row.ok()) {
      report->AddSkip(report->rows_read, reader->line(), reason, row.status().message());
      continue;
    }
    rows.push_back(std::move(row).value());
    if (rows.size() >= batch) CB_RETURN_IF_ERROR(flush());
  }
  return flush();
}

// ---- JSON form

namespace {

JsonValue TimeOrNull(TimeMs t) { return t == 0 ? JsonValue() : JsonValue(FormatIso8601(t)); }

Status BadField(std::string_view name, std::string_view what) {
  return Status::BadRequestData(std::string(name) + " " + std::string(what));
}

Status ReadString(const JsonValue& o, std::string_view key, std::string* out) {
  const JsonValue* v = o.Find(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_string()) return BadField(key, "must be a string");
  *out = v->as_string();
  return Status::Ok();
}

Status ReadTime(const JsonValue& o, std::string_view key, bool required, TimeMs* out) {
  const JsonValue* v = o.Find(key);
  if (v == nullptr || v->is_null()) {
    return required ? BadField(key, "is required") : Status::Ok();
  }
  if (!v->is_string()) return BadField(key, "must be an ISO 8601 time");
  auto t = ParseIso8601(v->as_string());
  if (!t.ok()) return BadField(key, "must be an ISO 8601 time, not '" + v->as_string().substr(0, 40) + "'");
  *out = *t;
  return Status::Ok();
}

}  // namespace

JsonValue ImportedCaseToJson(const ImportedCase& c) {
  const NewCase& n = c.report;
  JsonValue o = JsonValue::MakeObject();
  o.Set("externalId", n.external_id);
  o.Set("category", n.category);
  o.Set("title", n.title);
  o.Set("description", n.description);
  o.Set("address", n.address);
  if (n.lon && n.lat) {
    o.Set("location", geo::GeometryToGeoJson(geo::Geometry::MakePoint({*n.lon, *n.lat})));
  }
  o.Set("zone", n.zone_id);
  o.Set("source", CaseSourceName(n.source));
  o.Set("department", c.department);
  o.Set("openedAt", TimeOrNull(c.opened_at));
  o.Set("targetAt", TimeOrNull(c.target_at));
  o.Set("closedAt", TimeOrNull(c.closed_at));
  o.Set("note", c.note);
  if (!n.reporter.empty()) {
    JsonValue r = JsonValue::MakeObject();
    r.Set("id", n.reporter.id);
    r.Set("name", n.reporter.name);
    r.Set("phone", n.reporter.phone);
    r.Set("email", n.reporter.email);
    o.Set("reporter", std::move(r));
  }
  return o;
}

Result<ImportedCase> ImportedCaseFromJson(const JsonValue& v) {
  if (!v.is_object()) return Status::BadRequestData("an imported case must be a JSON object");
  ImportedCase c;
  NewCase& n = c.report;
  const std::pair<const char*, std::string*> strings[] = {
      {"externalId", &n.external_id}, {"category", &n.category}, {"title", &n.title},
      {"description", &n.description}, {"address", &n.address},  {"zone", &n.zone_id},
      {"department", &c.department},   {"note", &c.note}};
  for (const auto& [key, out] : strings) {
    CB_RETURN_IF_ERROR(ReadString(v, key, out));
  }
  if (n.category.empty()) return BadField("category", "is required");
  std::string source;
  CB_RETURN_IF_ERROR(ReadString(v, "source", &source));
  if (!source.empty()) {
    auto s = CaseSourceFromName(source);
    if (!s.ok()) return BadField("source", s.status().message());
    n.source = *s;
  } else {
    n.source = CaseSource::kImport;
  }
  CB_RETURN_IF_ERROR(ReadTime(v, "openedAt", true, &c.opened_at));
  CB_RETURN_IF_ERROR(ReadTime(v, "targetAt", false, &c.target_at));
  CB_RETURN_IF_ERROR(ReadTime(v, "closedAt", false, &c.closed_at));
  if (const JsonValue* loc = v.Find("location"); loc != nullptr && !loc->is_null()) {
    auto g = geo::GeometryFromGeoJson(*loc);
    if (!g.ok() || g->type != geo::GeometryType::kPoint) {
      return BadField("location", "must be a GeoJSON Point {\"type\":\"Point\",\"coordinates\":[lon,lat]}");
    }
    n.lon = g->FirstPoint().lon;
    n.lat = g->FirstPoint().lat;
  }
  if (const JsonValue* r = v.Find("reporter"); r != nullptr && !r->is_null()) {
    if (!r->is_object()) return BadField("reporter", "must be an object");
    CB_RETURN_IF_ERROR(ReadString(*r, "id", &n.reporter.id));
    CB_RETURN_IF_ERROR(ReadString(*r, "name", &n.reporter.name));
    CB_RETURN_IF_ERROR(ReadString(*r, "phone", &n.reporter.phone));
    CB_RETURN_IF_ERROR(ReadString(*r, "email", &n.reporter.email));
  }
  return c;
}

}  // namespace cb::cases
