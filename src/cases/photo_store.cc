#include <sodium.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cases/case_book.h"

namespace cb::cases {
namespace {

// The type of an image by its first bytes; "" when it is none we accept.
std::string_view Sniff(std::string_view b, std::string_view* content_type) {
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF &&
      static_cast<unsigned char>(b[1]) == 0xD8 && static_cast<unsigned char>(b[2]) == 0xFF) {
    *content_type = "image/jpeg";
    return "jpg";
  }
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    *content_type = "image/png";
    return "png";
  }
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    *content_type = "image/webp";
    return "webp";
  }
  return {};
}

bool ValidId(const std::string& id, std::string* content_type) {
  const size_t dot = id.find('.');
  if (dot != 64) return false;
  for (size_t i = 0; i < 64; ++i) {
    const char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const std::string ext = id.substr(65);
  if (ext == "jpg") *content_type = "image/jpeg";
  else if (ext == "png") *content_type = "image/png";
  else if (ext == "webp") *content_type = "image/webp";
  else return false;
  return true;
}

}  // namespace

PhotoStore::PhotoStore(std::string dir, size_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
  if (sodium_init() < 0) std::abort();
}

Result<std::string> PhotoStore::Put(std::string_view bytes) {
  if (bytes.empty()) return Status::BadRequestData("the photo is empty");
  if (bytes.size() > max_bytes_) {
    return Status::TooLarge("the photo is " + std::to_string(bytes.size()) + " bytes; at most " +
                            std::to_string(max_bytes_) + " are accepted");
  }
  std::string_view content_type;
  const std::string_view ext = Sniff(bytes, &content_type);
  if (ext.empty()) return Status::BadRequestData("the photo is not a JPEG, PNG or WebP image");
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : hash) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  id.append(".").append(ext);
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::Internal("photos: cannot create " + dir_ + ": " + ec.message());
  const std::string path = dir_ + "/" + id;
  if (std::filesystem::exists(path, ec)) return id;  // the same photo again
  // Written whole, flushed to disk, then renamed: a crash leaves no half photo behind.
  const std::string tmp = path + ".tmp" + std::to_string(randombytes_random());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::Internal("photos: cannot write " + tmp);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                       std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!written) {
    std::filesystem::remove(tmp, ec);
    return Status::Internal("photos: cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Internal("photos: cannot rename " + tmp + ": " + ec.message());
  return id;
}

Result<PhotoStore::Photo> PhotoStore::Get(const std::string& photo_id) const {
  Photo p;
  if (!ValidId(photo_id, &p.content_type)) return Status::NotFound("no photo " + photo_id);
  std::ifstream in(dir_ + "/" + photo_id, std::ios::binary);
  if (!in) return Status::NotFound("no photo " + photo_id);
  std::ostringstream ss;
  ss << in.rdbuf();
  p.bytes = ss.str();
  return p;
}

bool PhotoStore::Exists(const std::string& photo_id) const {
  std::string type;
  std::error_code ec;
  return ValidId(photo_id, &type) && std::filesystem::exists(dir_ + "/" + photo_id, ec);
}

}  // namespace cb::cases
