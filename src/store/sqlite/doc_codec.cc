#include "store/sqlite/doc_codec.h"

#include <zdict.h>
#include <zstd.h>

#include <cstring>
#include <memory>
#include <mutex>

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

// Each thread compresses and decompresses with its own context.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  return cctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}

}  // namespace

bool IsCompressedDoc(std::string_view doc) {
  return doc.size() >= sizeof(kMagic) && std::memcmp(doc.data(), kMagic, sizeof(kMagic)) == 0;
}

uint32_t DocDictionaryId(std::string_view doc) {
  if (!IsCompressedDoc(doc)) return 0;
  return ZSTD_getDictID_fromFrame(doc.data(), doc.size());
}

Result<DocDictionary> TrainDocDictionary(std::string_view samples, const std::vector<size_t>& sizes,
                                         size_t max_bytes) {
  size_t total = 0;
  for (size_t s : sizes) total += s;
  if (total != samples.size()) {
    return Status::InvalidRequest("store: dictionary samples do not add up to their sizes");
  }
  std::string dictionary(max_bytes, '\0');
  const size_t n = ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), samples.data(),
                                         sizes.data(), static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) {
    return Status::Unavailable(std::string("store: training a document dictionary failed: ") +
                               ZDICT_getErrorName(n));
  }
  dictionary.resize(n);
  DocDictionary trained;
  trained.id = ZDICT_getDictID(dictionary.data(), dictionary.size());
  if (trained.id == 0)
    return Status::Unavailable("store: the trained document dictionary has no id");
  trained.bytes = std::move(dictionary);
  return trained;
}

void DocCodec::CDictDeleter::operator()(void* d) const {
  ZSTD_freeCDict(static_cast<ZSTD_CDict*>(d));
}
void DocCodec::DDictDeleter::operator()(void* d) const {
  ZSTD_freeDDict(static_cast<ZSTD_DDict*>(d));
}

DocCodec::DocCodec() = default;
DocCodec::~DocCodec() = default;

Status DocCodec::Add(std::string_view dictionary) {
  const uint32_t id = ZDICT_getDictID(dictionary.data(), dictionary.size());
  if (id == 0) return Status::Internal("store: a stored document dictionary is corrupt (no id)");
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (auto it = known_.find(id); it != known_.end()) {
    if (it->second.bytes == dictionary) return Status::Ok();
    return Status::Internal("store: two document dictionaries have the id " + std::to_string(id));
  }
  std::unique_ptr<void, DDictDeleter> ddict(ZSTD_createDDict(dictionary.data(), dictionary.size()));
  if (ddict == nullptr) {
    return Status::Internal("store: document dictionary " + std::to_string(id) + " is corrupt");
  }
  known_.emplace(id, Known{std::string(dictionary), std::move(ddict)});
  return Status::Ok();
}

bool DocCodec::Has(uint32_t id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return known_.count(id) != 0;
}

void DocCodec::Remove(uint32_t id) {
  if (id == current_id_) (void)SetCurrent(0);  // (never fails)
  std::unique_lock<std::shared_mutex> lock(mu_);
  known_.erase(id);
}

Status DocCodec::SetCurrent(uint32_t id) {
  if (id == current_id_) return Status::Ok();
  if (id == 0) {
    cdict_.reset();
    current_id_ = 0;
    return Status::Ok();
  }
  std::unique_ptr<void, CDictDeleter> cdict;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = known_.find(id);
    if (it == known_.end()) {
      return Status::Internal("store: no document dictionary has the id " + std::to_string(id));
    }
    cdict.reset(ZSTD_createCDict(it->second.bytes.data(), it->second.bytes.size(), kLevel));
  }
  if (cdict == nullptr) return Status::Internal("store: out of memory loading a dictionary");
  cdict_ = std::move(cdict);
  current_id_ = id;
  return Status::Ok();
}

std::string_view DocCodec::Compress(std::string_view doc, std::string* buffer) const {
  if (doc.empty() || IsCompressedDoc(doc)) return doc;
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return doc;  // out of memory: the document stays as it is
  buffer->resize(ZSTD_compressBound(doc.size()));
  const size_t n =
      cdict_ != nullptr
          ? ZSTD_compress_usingCDict(cctx, buffer->data(), buffer->size(), doc.data(), doc.size(),
                                     static_cast<const ZSTD_CDict*>(cdict_.get()))
          : ZSTD_compressCCtx(cctx, buffer->data(), buffer->size(), doc.data(), doc.size(), kLevel);
  if (ZSTD_isError(n) || n >= doc.size()) return doc;
  buffer->resize(n);
  return *buffer;
}

Status DocCodec::Decompress(std::string* doc) const {
  if (!IsCompressedDoc(*doc)) return Status::Ok();
  const unsigned long long size = ZSTD_getFrameContentSize(doc->data(), doc->size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxDocBytes) {
    return Status::Internal("store: a stored entity document is corrupt (bad zstd frame header)");
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return Status::Internal("store: out of memory decompressing a document");
  std::string out(static_cast<size_t>(size), '\0');
  const uint32_t id = ZSTD_getDictID_fromFrame(doc->data(), doc->size());
  size_t n;
  if (id == 0) {
    n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), doc->data(), doc->size());
  } else {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = known_.find(id);
    if (it == known_.end()) {
      return Status::Internal("store: a stored entity document needs dictionary " +
                              std::to_string(id) + ", which the database does not hold");
    }
    n = ZSTD_decompress_usingDDict(dctx, out.data(), out.size(), doc->data(), doc->size(),
                                   static_cast<const ZSTD_DDict*>(it->second.ddict.get()));
  }
  if (ZSTD_isError(n) || n != out.size()) {
    return Status::Internal(std::string("store: a stored entity document is corrupt: ") +
                            (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  }
  *doc = std::move(out);
  return Status::Ok();
}

}  // namespace cb::store
