// How the SQLite store keeps entity documents on disk: compressed with zstd, with a
// dictionary trained on the store's own documents.
//
// A document (~1.5 KB of JSON for an entity of 8 attributes) is most of what the database
// holds and, written to SQLite's WAL and again by the checkpoint, most of what applying
// writes puts on disk. The documents of a city repeat each other: the same types, attribute
// names, units and context. zstd at level 1 makes one about 4× smaller on its own; with a
// 16 KiB dictionary trained on the store's first documents, about 13× on the benchmark's
// documents, and compressing and decompressing take less than half the time
// (bench/analysis.md). The applier compresses a document as it writes it to the database:
// with deferred documents that is once per entity per interval, not once per update, and
// the journal (short-lived) keeps the JSON. A compressed document is a single zstd frame,
// told apart from JSON by the frame's magic number (JSON starts with '{'), so documents
// written before (schema version 4) are read as they are. The frame names its dictionary
// (zstd's dictionary id; 0: none, as schema version 5 wrote them), and the database keeps
// every dictionary a document may name (migration 6).
//
// Thread-safety: DocCodec's Decompress may be called from any thread at any time;
// Compress, Add, Remove and SetCurrent from one thread at a time (the store's applier).
// The free functions may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace cb::store {

// Whether `doc` is a compressed document.
bool IsCompressedDoc(std::string_view doc);

// The id of the dictionary a compressed document needs (0: none, or not compressed).
uint32_t DocDictionaryId(std::string_view doc);

// A dictionary as zstd writes it; `id` (nonzero) is the one in its header.
struct DocDictionary {
  uint32_t id = 0;
  std::string bytes;
};

// Trains a dictionary of at most `max_bytes` on sample documents (`samples` holds them one
// after the other, `sizes` their lengths).
Result<DocDictionary> TrainDocDictionary(std::string_view samples, const std::vector<size_t>& sizes,
                                         size_t max_bytes);

// Compresses and decompresses documents with the dictionaries it knows. One per store.
class DocCodec {
 public:
  DocCodec();
  ~DocCodec();
  DocCodec(const DocCodec&) = delete;
  DocCodec& operator=(const DocCodec&) = delete;

  // Makes a dictionary (as TrainDocDictionary returns it) known to Decompress. A second
  // dictionary with the id of a known one but other bytes is an error (kInternal).
  Status Add(std::string_view dictionary);
  bool Has(uint32_t id) const;
  // Forgets a dictionary (its row was rolled back); if it is the current one, Compress
  // goes back to no dictionary.
  void Remove(uint32_t id);
  // Compress uses this known dictionary from now on (0: none).
  Status SetCurrent(uint32_t id);
  uint32_t current() const { return current_id_; }

  // The compressed form of `doc` (JSON), written into *buffer; or `doc` itself when it is
  // compressed already or would not be smaller.
  std::string_view Compress(std::string_view doc, std::string* buffer) const;
  // Replaces *doc with the JSON it holds when it is compressed; leaves it as it is
  // otherwise. A corrupt frame, or one naming a dictionary it does not know, is an error
  // (kInternal) and leaves *doc unchanged.
  Status Decompress(std::string* doc) const;

 private:
  struct CDictDeleter {
    void operator()(void* d) const;
  };
  struct DDictDeleter {
    void operator()(void* d) const;
  };
  // The dictionaries by id, each with its bytes (to tell a different one with the same id).
  struct Known {
    std::string bytes;
    std::unique_ptr<void, DDictDeleter> ddict;
  };
  mutable std::shared_mutex mu_;  // guards known_
  std::unordered_map<uint32_t, Known> known_;
  uint32_t current_id_ = 0;
  std::unique_ptr<void, CDictDeleter> cdict_;  // for current_id_; used by Compress only
};

}  // namespace cb::store
