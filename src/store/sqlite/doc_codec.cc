#include "store/sqlite/doc_codec.h"

#include <zstd.h>

#include <cstring>
#include <memory>

namespace cb::store {
namespace {

// zstd level 1: the fastest of the standard levels; higher ones gain a few percent on
// documents this small for several times the CPU.
constexpr int kLevel = 1;
// No document comes near this (request bodies are limited far below it); a frame that
// claims more is corrupt, and is not allowed to allocate it.
constexpr unsigned long long kMaxDocBytes = 64ull << 20;
constexpr unsigned char kMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};  // ZSTD_MAGICNUMBER, little-endian

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

bool IsCompressedDoc(std::string_view doc) {
  return doc.size() >= sizeof(kMagic) && std::memcmp(doc.data(), kMagic, sizeof(kMagic)) == 0;
}

std::string_view CompressDoc(std::string_view doc, std::string* buffer) {
  if (doc.empty() || IsCompressedDoc(doc)) return doc;
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  if (cctx == nullptr) return doc;  // out of memory: the document stays as it is
  buffer->resize(ZSTD_compressBound(doc.size()));
  const size_t n =
      ZSTD_compressCCtx(cctx.get(), buffer->data(), buffer->size(), doc.data(), doc.size(), kLevel);
  if (ZSTD_isError(n) || n >= doc.size()) return doc;
  buffer->resize(n);
  return *buffer;
}

Status DecompressDoc(std::string* doc) {
  if (!IsCompressedDoc(*doc)) return Status::Ok();
  const unsigned long long size = ZSTD_getFrameContentSize(doc->data(), doc->size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxDocBytes) {
    return Status::Internal("store: a stored entity document is corrupt (bad zstd frame header)");
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) return Status::Internal("store: out of memory decompressing a document");
  std::string out(static_cast<size_t>(size), '\0');
  const size_t n =
      ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), doc->data(), doc->size());
  if (ZSTD_isError(n) || n != out.size()) {
    return Status::Internal(std::string("store: a stored entity document is corrupt: ") +
                            (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  }
  *doc = std::move(out);
  return Status::Ok();
}

}  // namespace cb::store
