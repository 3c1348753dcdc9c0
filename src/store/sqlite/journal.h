// The store's journal: an append-only, checksummed log of group commits kept beside the
// SQLite database. Not a public header: other modules reach the store through store/store.h.
//
// Why it exists. A random single-entity update written straight into SQLite's B-trees
// dirties whole 8 KiB pages (the entity's row, its place in the history index), and each
// commit writes every page it dirtied to SQLite's WAL, then again at checkpoint: ~36 KB
// per 6-attribute PATCH, however small the change (bench/analysis.md). The journal turns
// each group commit into one sequential append of the rows themselves (~2 KB per PATCH) and
// one fdatasync; the rows reach the database later, in large transactions in which many
// updates share pages. SQLite offers no way to make a commit durable without writing its
// pages, so this part is ours.
//
// Files. Segments named `<database>-log-<first frame number, 16 hex digits>`. Each holds
// frames:
//
//   u32 magic "CBJ1" | u32 payload length | u64 frame number | u32 CRC-32 | payload
//
// The CRC (zlib's CRC-32) covers the frame number, the length and the payload. Frame
// numbers start at 1 and follow each other without gaps across segments. A segment is never
// appended to after the process that wrote it stops: every open starts a new one, so a torn
// frame at the end of the last segment (a crash during a write, never acknowledged) is
// simply where reading stops.
//
// Reuse. A segment whose frames are all applied is renamed `<database>-spare-<old first>`
// (up to two are kept) and becomes a later segment by a second rename. Appending to a new
// file changes its size, so each fdatasync also commits the file system's own journal;
// writing over a reused file's blocks does not (dd oflag=dsync here: ~0.1–0.3 ms per write
// over a file against ~0.2–0.9 ms appending; fdatasyncs that wait behind other writes to
// the disk stay slow either way, see bench/analysis.md). A reused file still holds old
// frames after the new ones: every append also writes an end marker (a zero header) after
// its frame, which the next frame overwrites, so reading stops there; old frames carry
// lower numbers besides. A segment that ends early is accepted only when the next one
// continues with the next number. (Until the first segment is dropped there is no spare:
// the first 16 MiB after an open are appended to a new file.)
//
// Thread-safety: Append() is called by one thread at a time (the store's writer);
// DropThrough() may run concurrently with it, from another thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace cb::store {

// One frame read back from the journal.
struct JournalFrame {
  uint64_t number = 0;
  std::string payload;
};

struct JournalOptions {
  std::string database_path;  // segments are named after it, in the same directory
  bool sync = true;           // fdatasync every append (and the directory on a new segment)
  size_t segment_bytes = size_t{16} << 20;  // start a new segment past this size
};

// See the comment at the top of this file.
class Journal {
 public:
  // Reads every segment of the journal, returns the frames numbered above `applied` in
  // *replay (in order), and opens a new segment for appends. Fails when a frame that is not
  // the last one is damaged or a frame number is missing: acknowledged data would be lost,
  // so the store must not open silently. The caller applies *replay and then calls
  // DropThrough() with the last replayed number.
  static Result<std::unique_ptr<Journal>> Open(const JournalOptions& options, uint64_t applied,
                                               std::vector<JournalFrame>* replay);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one frame and, with `sync`, makes it durable. Returns the frame's number. After
  // a failure the journal refuses every further append (the file may end in a torn frame).
  Result<uint64_t> Append(std::string_view payload);

  // Deletes the segments whose frames all have numbers <= `number` (never the segment being
  // appended to), or keeps them as spares for reuse.
  void DropThrough(uint64_t number);

  // The number the next appended frame will get.
  uint64_t next_number() const { return next_number_; }
  // Segment files on disk now (for tests and metrics).
  size_t SegmentCount() const;

 private:
  struct Segment {
    std::string path;
    uint64_t first = 0;  // number of its first frame
  };
  explicit Journal(JournalOptions options) : options_(std::move(options)) {}
  // Starts segment next_number_: a spare renamed, or a new file.
  Status StartSegment();

  static constexpr size_t kMaxSpares = 2;

  const JournalOptions options_;
  int fd_ = -1;
  std::string current_path_;  // the segment being appended to
  size_t segment_size_ = 0;
  uint64_t next_number_ = 1;
  Status failed_;  // set by a failed append
  // The bytes of one write (header, payload, end marker), kept between appends: a fresh
  // buffer of tens of KB would be new memory to fault in on every group commit.
  std::string write_buf_;

  mutable std::mutex segments_mu_;  // guards segments_
  std::vector<Segment> segments_;   // oldest first; the last is being appended to
  std::vector<std::string> spares_;  // files to reuse as segments (guarded by segments_mu_)
};

// Encodes the batches of one group commit as a journal payload, and back.
void EncodeBatches(const std::vector<const WriteBatch*>& batches, std::string* out);
Status DecodeBatches(std::string_view payload, std::vector<WriteBatch>* out);

}  // namespace cb::store
