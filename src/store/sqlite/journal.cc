#include "store/sqlite/journal.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "spdlog/spdlog.h"

namespace cb::store {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the journal format is little-endian; add byte swapping for this machine");

constexpr uint32_t kMagic = 0x314A4243;  // "CBJ1" read as little-endian bytes
constexpr size_t kHeaderBytes = 4 + 4 + 8 + 4;

std::string ErrnoText(int err) { return std::system_category().message(err); }

template <typename T>
void Put(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

uint32_t FrameCrc(uint64_t number, uint32_t length, std::string_view payload) {
  char head[12];
  std::memcpy(head, &number, 8);
  std::memcpy(head + 8, &length, 4);
  uLong crc = crc32_z(0L, reinterpret_cast<const Bytef*>(head), sizeof(head));
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<uint32_t>(crc);
}

std::string SegmentPrefix(const std::string& database_path) { return database_path + "-log-"; }

std::string SegmentPath(const std::string& database_path, uint64_t first) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(first));
  return SegmentPrefix(database_path) + hex;
}

// A spare: a dropped segment kept for reuse, named after the segment it was.
std::string SparePrefix(const std::string& database_path) { return database_path + "-spare-"; }

// Writes p[0, n) at `offset` of the file.
Status WriteAll(int fd, off_t offset, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Internal("store: journal: write " + path + ": " + ErrnoText(errno));
    }
    p += w;
    offset += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& file_path) {
  std::string dir = std::filesystem::path(file_path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("store: journal: open " + dir + ": " + ErrnoText(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::Internal("store: journal: fsync " + dir + ": " + ErrnoText(err));
  return Status::Ok();
}

Status ReadFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("store: journal: open " + path + ": " + ErrnoText(errno));
  out->clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::Internal("store: journal: read " + path + ": " + ErrnoText(err));
    }
    if (r == 0) break;
    out->append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return Status::Ok();
}

// Payload encoding: counts and lengths as u32, times as i64, strings as length + bytes.
void PutString(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads the payload front to back; any overrun sets ok_ to false.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }

  uint32_t U32() { return Fixed<uint32_t>(); }
  int64_t I64() { return Fixed<int64_t>(); }
  std::string String() {
    const uint32_t n = U32();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left, so a damaged
  // count cannot make the reader reserve huge vectors.
  uint32_t Count(size_t min_bytes) {
    const uint32_t n = U32();
    if (ok_ && static_cast<uint64_t>(n) * min_bytes > in_.size()) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  template <typename T>
  T Fixed() {
    if (!ok_ || in_.size() < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v = Get<T>(in_.data());
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

void EncodeBatches(const std::vector<const WriteBatch*>& batches, std::string* out) {
  out->clear();
  size_t bytes = 8;
  for (const WriteBatch* b : batches) {
    bytes += 20;
    for (const std::string& id : b->delete_entities) bytes += 4 + id.size();
    for (const Record& r : b->delete_records) bytes += 8 + r.kind.size() + r.key.size();
    for (const EntityRow& e : b->put_entities) bytes += 16 + e.id.size() + e.type.size() + e.doc.size();
    for (const HistoryRow& h : b->history) bytes += 20 + h.entity_id.size() + h.attr.size() + h.value.size();
    for (const Record& r : b->put_records) bytes += 12 + r.kind.size() + r.key.size() + r.doc.size();
  }
  out->reserve(bytes);
  Put<uint32_t>(out, static_cast<uint32_t>(batches.size()));
  for (const WriteBatch* b : batches) {
    Put<uint32_t>(out, static_cast<uint32_t>(b->delete_entities.size()));
    for (const std::string& id : b->delete_entities) PutString(out, id);
    Put<uint32_t>(out, static_cast<uint32_t>(b->delete_records.size()));
    for (const Record& r : b->delete_records) {
      PutString(out, r.kind);
      PutString(out, r.key);
    }
    Put<uint32_t>(out, static_cast<uint32_t>(b->put_entities.size()));
    for (const EntityRow& e : b->put_entities) {
      PutString(out, e.id);
      PutString(out, e.type);
      PutString(out, e.doc);
      Put<int64_t>(out, e.modified_at);
    }
    Put<uint32_t>(out, static_cast<uint32_t>(b->history.size()));
    for (const HistoryRow& h : b->history) {
      PutString(out, h.entity_id);
      PutString(out, h.attr);
      Put<int64_t>(out, h.observed_at);
      PutString(out, h.value);
    }
    Put<uint32_t>(out, static_cast<uint32_t>(b->put_records.size()));
    for (const Record& r : b->put_records) {
      PutString(out, r.kind);
      PutString(out, r.key);
      PutString(out, r.doc);
    }
  }
}

Status DecodeBatches(std::string_view payload, std::vector<WriteBatch>* out) {
  PayloadReader r(payload);
  const uint32_t n = r.Count(20);
  out->reserve(out->size() + n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    WriteBatch& b = out->emplace_back();
    for (uint32_t k = r.Count(4); k > 0 && r.ok(); --k) b.delete_entities.push_back(r.String());
    for (uint32_t k = r.Count(8); k > 0 && r.ok(); --k) {
      Record& rec = b.delete_records.emplace_back();
      rec.kind = r.String();
      rec.key = r.String();
    }
    for (uint32_t k = r.Count(20); k > 0 && r.ok(); --k) {
      EntityRow& e = b.put_entities.emplace_back();
      e.id = r.String();
      e.type = r.String();
      e.doc = r.String();
      e.modified_at = r.I64();
    }
    for (uint32_t k = r.Count(20); k > 0 && r.ok(); --k) {
      HistoryRow& h = b.history.emplace_back();
      h.entity_id = r.String();
      h.attr = r.String();
      h.observed_at = r.I64();
      h.value = r.String();
    }
    for (uint32_t k = r.Count(12); k > 0 && r.ok(); --k) {
      Record& rec = b.put_records.emplace_back();
      rec.kind = r.String();
      rec.key = r.String();
      rec.doc = r.String();
    }
  }
  if (!r.ok() || !r.done()) {
    return Status::Internal("store: journal: a frame's payload does not decode");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options, uint64_t applied,
                                               std::vector<JournalFrame>* replay) {
  replay->clear();
  std::unique_ptr<Journal> j(new Journal(options));

  // The segments, by their first frame number.
  const std::filesystem::path db(options.database_path);
  std::filesystem::path dir = db.parent_path();
  if (dir.empty()) dir = ".";
  const std::string prefix = db.filename().string() + "-log-";
  const std::string spare_prefix = db.filename().string() + "-spare-";
  std::vector<Segment> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, spare_prefix.size(), spare_prefix) == 0) {
      if (j->spares_.size() < kMaxSpares) {
        j->spares_.push_back(entry.path().string());
      } else {
        std::filesystem::remove(entry.path(), ec);
      }
      continue;
    }
    if (name.size() != prefix.size() + 16 || name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    uint64_t first = 0;
    const char* digits = name.data() + prefix.size();
    auto [end, err] = std::from_chars(digits, digits + 16, first, 16);
    if (err != std::errc() || end != digits + 16) continue;
    found.push_back(Segment{entry.path().string(), first});
  }
  if (ec) {
    return Status::Internal("store: journal: list " + dir.string() + ": " + ec.message());
  }
  std::sort(found.begin(), found.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });

  uint64_t expect = 0;  // the number the next frame must carry (0: not known yet)
  std::string ended;    // why the previous segment's frames ended before its end of file
  std::string data;
  for (size_t s = 0; s < found.size(); ++s) {
    const Segment& seg = found[s];
    const bool last_segment = s + 1 == found.size();
    if (expect != 0 && seg.first != expect) {
      return Status::Internal(
          "store: journal: " + seg.path + " starts at frame " + std::to_string(seg.first) +
          ", expected " + std::to_string(expect) + ": " +
          (ended.empty() ? std::string("a segment is missing")
                         : "the segment before it ends in " + ended +
                               ": a segment is missing or acknowledged data is damaged"));
    }
    ended.clear();
    CB_RETURN_IF_ERROR(ReadFile(seg.path, &data));
    size_t pos = 0;
    uint64_t number = seg.first;
    while (pos < data.size()) {
      // The first frame that does not read whole, intact and next in number ends the
      // segment (see below for what may follow it).
      std::string problem;
      bool unused = false;  // what follows is an old frame of a reused file, not a torn write
      uint32_t length = 0;
      if (data.size() - pos < kHeaderBytes) {
        problem = "a truncated frame header";
      } else if (const uint32_t magic = Get<uint32_t>(data.data() + pos); magic != kMagic) {
        unused = magic == 0;  // the end marker written after the last frame
        problem = unused ? "the end marker" : "a bad frame marker";
      } else {
        length = Get<uint32_t>(data.data() + pos + 4);
        const uint64_t got = Get<uint64_t>(data.data() + pos + 8);
        const uint32_t crc = Get<uint32_t>(data.data() + pos + 16);
        if (data.size() - pos - kHeaderBytes < length) {
          problem = "a truncated frame";
        } else if (FrameCrc(got, length,
                            std::string_view(data).substr(pos + kHeaderBytes, length)) != crc) {
          problem = "a frame whose checksum does not match";
        } else if (got != number) {
          problem = "frame " + std::to_string(got) + " where " + std::to_string(number) +
                    " was expected";
          unused = got < number;
        }
      }
      if (!problem.empty()) {
        // A segment's frames end at the first one that does not read: at a torn write, or
        // where a reused file still holds its old frames. Before a later segment that is
        // only fine when the later one carries on with the next number (checked above).
        ended = problem + " at byte " + std::to_string(pos);
        if (last_segment && !unused) {
          spdlog::warn(
              "store: journal: {} ends in {} at byte {} ({} bytes ignored): the last write "
              "before a crash, never acknowledged",
              seg.path, problem, pos, data.size() - pos);
        }
        break;
      }
      if (number > applied) {
        replay->push_back(
            JournalFrame{number, data.substr(pos + kHeaderBytes, length)});
      }
      pos += kHeaderBytes + length;
      ++number;
    }
    expect = number;
  }
  if (!replay->empty() && replay->front().number != applied + 1) {
    return Status::Internal("store: journal: the database holds frames up to " +
                            std::to_string(applied) + " but the journal resumes at frame " +
                            std::to_string(replay->front().number) + ": frames are missing");
  }
  j->next_number_ = std::max(expect, applied + 1);
  j->segments_ = std::move(found);
  CB_RETURN_IF_ERROR(j->StartSegment());
  return j;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::StartSegment() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  const std::string path = SegmentPath(options_.database_path, next_number_);
  std::string spare;
  {
    std::lock_guard<std::mutex> lock(segments_mu_);
    if (!spares_.empty()) {
      spare = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  if (!spare.empty() && ::rename(spare.c_str(), path.c_str()) == 0) {
    // A reused file: its old frames carry lower numbers, so reading stops where the new
    // ones end (Open). Writing within its length changes no file metadata, so fdatasync
    // only writes the data: no file-system journal commit per append.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  } else {
    if (!spare.empty()) {
      spdlog::warn("store: journal: cannot reuse {}: {}", spare, ErrnoText(errno));
    }
    // O_TRUNC: a file of that name can only be a leftover without one intact frame from
    // next_number_ on (Open would have read it).
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  }
  if (fd_ < 0) return Status::Internal("store: journal: create " + path + ": " + ErrnoText(errno));
  if (options_.sync) CB_RETURN_IF_ERROR(SyncDirectory(path));
  segment_size_ = 0;
  current_path_ = path;
  std::lock_guard<std::mutex> lock(segments_mu_);
  if (!segments_.empty() && segments_.back().path == path) segments_.pop_back();
  segments_.push_back(Segment{path, next_number_});
  return Status::Ok();
}

Result<uint64_t> Journal::Append(std::string_view payload) {
  if (!failed_.ok()) return failed_;
  if (payload.size() > UINT32_MAX) {
    return Status::TooLarge("store: journal: a group commit over 4 GiB");
  }
  if (segment_size_ >= options_.segment_bytes) {
    Status st = StartSegment();
    if (!st.ok()) {
      failed_ = st;
      return st;
    }
  }
  const uint64_t number = next_number_;
  const auto length = static_cast<uint32_t>(payload.size());
  std::string& head = write_buf_;
  head.clear();
  Put<uint32_t>(&head, kMagic);
  Put<uint32_t>(&head, length);
  Put<uint64_t>(&head, number);
  Put<uint32_t>(&head, FrameCrc(number, length, payload));
  const std::string& path = current_path_;
  // One write for small frames (most), so a frame is rarely split between two syscalls.
  Status st;
  // After the frame, an end marker (a zero header) that the next frame overwrites: in a
  // reused file, reading stops there instead of in the old frames.
  const auto offset = static_cast<off_t>(segment_size_);
  static constexpr char kEndMarker[kHeaderBytes] = {};
  if (payload.size() <= (size_t{1} << 16)) {
    head.append(payload);
    head.append(kEndMarker, kHeaderBytes);
    st = WriteAll(fd_, offset, head.data(), head.size(), path);
  } else {
    st = WriteAll(fd_, offset, head.data(), head.size(), path);
    const auto payload_at = offset + static_cast<off_t>(kHeaderBytes);
    if (st.ok()) st = WriteAll(fd_, payload_at, payload.data(), payload.size(), path);
    if (st.ok()) {
      st = WriteAll(fd_, payload_at + static_cast<off_t>(payload.size()), kEndMarker,
                    kHeaderBytes, path);
    }
  }
  if (st.ok() && options_.sync && ::fdatasync(fd_) != 0) {
    st = Status::Internal("store: journal: fdatasync " + path + ": " + ErrnoText(errno));
  }
  if (!st.ok()) {
    failed_ = st;
    return st;
  }
  segment_size_ += kHeaderBytes + payload.size();
  ++next_number_;
  return number;
}

void Journal::DropThrough(uint64_t number) {
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(segments_mu_);
    // Segment i holds frames [first_i, first_{i+1}); the last one is still being written.
    size_t drop = 0;
    while (drop + 1 < segments_.size() && segments_[drop + 1].first <= number + 1) ++drop;
    for (size_t i = 0; i < drop; ++i) doomed.push_back(std::move(segments_[i].path));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  for (const std::string& path : doomed) {
    // Keep a few as spares: a later segment written over one needs no new blocks. Renamed
    // out of the segment names first, so that Open never reads their old frames.
    {
      std::lock_guard<std::mutex> lock(segments_mu_);
      if (spares_.size() < kMaxSpares) {
        const std::string spare =
            SparePrefix(options_.database_path) + path.substr(path.size() - 16);
        if (::rename(path.c_str(), spare.c_str()) == 0) {
          spares_.push_back(spare);
          continue;
        }
      }
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("store: journal: cannot remove {}: {}", path, ErrnoText(errno));
    }
  }
}

size_t Journal::SegmentCount() const {
  std::lock_guard<std::mutex> lock(segments_mu_);
  return segments_.size();
}

}  // namespace cb::store
