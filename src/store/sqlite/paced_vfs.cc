// A VFS shim in SQLite's documented way (https://sqlite.org/vfs.html): the VFS struct is a
// copy of the default one with its own xOpen, and each file it opens wraps the default
// VFS's file, placed right after the shim's part in the memory SQLite allocates
// (szOsFile). See paced_vfs.h for what it is for.

#include "store/sqlite/paced_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace cb::store {
namespace {

struct PacedFile {
  sqlite3_file base;   // pMethods: g_methods[the wrapped file's iVersion], or null
  sqlite3_file* real;  // the wrapped VFS's file, right after this struct
  int side_fd;         // the same file opened read-only for sync_file_range, or -1
  uint64_t unpaced;    // bytes written since the last hand-over to writeback
};

sqlite3_vfs* g_root = nullptr;  // the wrapped VFS
size_t g_chunk = 0;
std::atomic<uint64_t> g_handovers{0};
sqlite3_vfs g_vfs;
std::array<sqlite3_io_methods, 4> g_methods;  // by iVersion (1..3)

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<PacedFile*>(f)->real; }

int Close(sqlite3_file* f) {
  PacedFile* p = reinterpret_cast<PacedFile*>(f);
  const int rc = p->real->pMethods->xClose(p->real);
  if (p->side_fd >= 0) ::close(p->side_fd);
  p->side_fd = -1;
  return rc;
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, amt, off);
}

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  PacedFile* p = reinterpret_cast<PacedFile*>(f);
  const int rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
  if (rc == SQLITE_OK && p->side_fd >= 0) {
    p->unpaced += static_cast<uint64_t>(amt);
    if (p->unpaced >= g_chunk) {
      p->unpaced = 0;
      g_handovers.fetch_add(1, std::memory_order_relaxed);
      // Wait for the chunk handed over last time, then hand over what is dirty now: about
      // one chunk is in the disk's queue at a time, and this thread does the waiting. A
      // failure here costs nothing but the pacing (SQLite's own sync still follows).
      (void)::sync_file_range(p->side_fd, 0, 0,
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE);
    }
  }
  return rc;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}

int Sync(sqlite3_file* f, int flags) {
  reinterpret_cast<PacedFile*>(f)->unpaced = 0;  // the sync writes everything back
  return Real(f)->pMethods->xSync(Real(f), flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, amt, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* page) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, page);
}

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  PacedFile* p = reinterpret_cast<PacedFile*>(f);
  p->base.pMethods = nullptr;
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->side_fd = -1;
  p->unpaced = 0;
  const int rc = g_root->xOpen(g_root, name, p->real, flags, out_flags);
  if (rc != SQLITE_OK || p->real->pMethods == nullptr) return rc;
  const int version = p->real->pMethods->iVersion;
  p->base.pMethods = &g_methods[version >= 1 && version <= 3 ? version : 1];
  if (g_chunk > 0 && name != nullptr && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
    p->side_fd = ::open(name, O_RDONLY | O_CLOEXEC);  // -1: the file is written unpaced
  }
  return rc;
}

void Register(size_t chunk_bytes, int* rc) {
  g_root = sqlite3_vfs_find(nullptr);
  if (g_root == nullptr) {
    *rc = SQLITE_ERROR;
    return;
  }
  g_chunk = chunk_bytes;
  for (int v = 1; v <= 3; ++v) {  // (a version's methods are those of the one before, and more)
    g_methods[v] = sqlite3_io_methods{v,
                                      Close,
                                      Read,
                                      Write,
                                      Truncate,
                                      Sync,
                                      FileSize,
                                      Lock,
                                      Unlock,
                                      CheckReservedLock,
                                      FileControl,
                                      SectorSize,
                                      DeviceCharacteristics,
                                      v >= 2 ? ShmMap : nullptr,
                                      v >= 2 ? ShmLock : nullptr,
                                      v >= 2 ? ShmBarrier : nullptr,
                                      v >= 2 ? ShmUnmap : nullptr,
                                      v >= 3 ? Fetch : nullptr,
                                      v >= 3 ? Unfetch : nullptr};
  }
  // Everything but the name, the file size and xOpen is the wrapped VFS's own (its methods
  // are called with this struct, whose fields they may read, hence a full copy).
  g_vfs = *g_root;
  g_vfs.pNext = nullptr;
  g_vfs.zName = kPacedVfsName;
  g_vfs.szOsFile = static_cast<int>(sizeof(PacedFile)) + g_root->szOsFile;
  g_vfs.xOpen = Open;
  *rc = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
}

}  // namespace

Status RegisterPacedVfs(size_t chunk_bytes) {
  static std::once_flag once;
  static int rc = SQLITE_OK;
  std::call_once(once, [chunk_bytes] { Register(chunk_bytes, &rc); });
  if (rc != SQLITE_OK) {
    return Status::Internal(std::string("store: cannot register the paced SQLite VFS: ") +
                            sqlite3_errstr(rc));
  }
  return Status::Ok();
}

uint64_t PacedVfsHandovers() { return g_handovers.load(std::memory_order_relaxed); }

}  // namespace cb::store
