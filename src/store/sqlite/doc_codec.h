// How the SQLite store keeps entity documents on disk: compressed with zstd.
//
// A document (~1.5 KB of JSON for an entity of 8 attributes) is most of what the database
// holds and, written to SQLite's WAL and again by the checkpoint, most of what applying
// writes puts on disk. zstd at level 1 makes such documents about 4× smaller for a few µs
// each (bench/analysis.md). The applier compresses a document as it writes it to the
// database: with deferred documents that is once per entity per interval, not once per
// update, and the journal (short-lived) keeps the JSON. A compressed document is a single
// zstd frame, told apart from JSON by the frame's magic number (JSON starts with '{'), so
// documents written before (schema version 4) are read as they are.
//
// Thread-safety: every function may be called from any thread (each thread compresses with
// its own context).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace cb::store {

// Whether `doc` is a compressed document.
bool IsCompressedDoc(std::string_view doc);

// The compressed form of `doc` (JSON), written into *buffer; or `doc` itself when it is
// compressed already or would not be smaller.
std::string_view CompressDoc(std::string_view doc, std::string* buffer);

// Replaces *doc with the JSON it holds when it is compressed; leaves it as it is otherwise.
// A corrupt frame is an error (kInternal) and leaves *doc unchanged.
Status DecompressDoc(std::string* doc);

}  // namespace cb::store
