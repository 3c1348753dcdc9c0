// PacedVfs: an SQLite VFS shim that writes a database and its WAL back to disk as they
// are written, a chunk at a time (1 MiB in the store), instead of all at once when SQLite
// syncs them.
//
// Why: the store's applier commits tens of MB to the WAL in one transaction, and its
// checkpoints copy as much into the database file. Synced in one go, those writes queue on
// the disk in front of the journal's small fdatasync, and every PATCH waiting for its group
// commit waits with it: traces at 1,000,000 entities showed group commits of 40–160 ms
// right after each applier sync, against 0.3 ms at the median. Through this VFS, every
// `chunk_bytes` written to a file are handed to the kernel's writeback at once and waited
// for (sync_file_range), so at most about one chunk of the applier's data stands in the
// disk's queue before a journal write, and the applier (a background thread) is the one
// that waits. SQLite's own syncs, and so its durability, are unchanged.
//
// Everything else is passed to the VFS it wraps (the platform default).
//
// Thread-safety: RegisterPacedVfs may be called from any thread, any number of times (the
// first registration wins); files opened through the VFS are used as SQLite uses files.

#ifndef CITYBRAIN_STORE_SQLITE_PACED_VFS_H_
#define CITYBRAIN_STORE_SQLITE_PACED_VFS_H_

#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace cb::store {

// The name to pass to sqlite3_open_v2 for connections that should write through the shim.
inline constexpr const char* kPacedVfsName = "cb-paced";

// Registers the shim (not as the default VFS). chunk_bytes: how much may be written to a
// file before it is written back; 0 passes writes through untouched.
Status RegisterPacedVfs(size_t chunk_bytes);

// How many times files of the shim were handed to writeback, in this process (for tests).
uint64_t PacedVfsHandovers();

}  // namespace cb::store

#endif  // CITYBRAIN_STORE_SQLITE_PACED_VFS_H_
