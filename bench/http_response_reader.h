// HttpResponseReader: the load generator's reader of HTTP/1.1 answers (bench/loadgen.cc).
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cb::bench {

// Reads HTTP/1.1 answers from a byte stream: the status, a Content-Length or chunked body
// (or one that ends with the connection), and whether the connection stays open. That is
// all the load engine needs. Not thread-safe: one per connection.
class HttpResponseReader {
 public:
  enum State { kMore, kDone, kBad };

  void Reset() {
    in_.clear();
    Clear();
  }
  void Feed(std::string_view bytes) { in_.append(bytes); }

  // Whether the next answer is whole in what was fed.
  State Parse() {
    if (done_) return kDone;
    if (until_close_) return kMore;
    for (;;) {
      const size_t head_end = in_.find("\r\n\r\n");
      if (head_end == std::string::npos) return in_.size() > (1u << 20) ? kBad : kMore;
      if (in_.compare(0, 7, "HTTP/1.") != 0 || head_end < 12) return kBad;
      const std::string_view head(in_.data(), head_end);
      status_ = 0;
      for (size_t i = 9; i < 12; ++i) {
        if (head[i] < '0' || head[i] > '9') return kBad;
        status_ = status_ * 10 + (head[i] - '0');
      }
      keep_alive_ = head[7] == '1';  // HTTP/1.1 keeps the connection unless told otherwise
      std::optional<size_t> length;
      bool chunked = false;
      size_t line = head.find("\r\n");
      while (line != std::string_view::npos && line < head.size()) {
        size_t next = head.find("\r\n", line + 2);
        std::string_view field = head.substr(line + 2, (next == std::string_view::npos ? head.size() : next) - line - 2);
        line = next;
        size_t colon = field.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = field.substr(0, colon), value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (IEquals(name, "content-length")) {
          size_t n = 0;
          auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc()) return kBad;
          length = n;
        } else if (IEquals(name, "transfer-encoding")) {
          chunked = Contains(value, "chunked");
        } else if (IEquals(name, "connection")) {
          if (Contains(value, "close")) keep_alive_ = false;
          if (Contains(value, "keep-alive")) keep_alive_ = true;
        }
      }
      const size_t body_at = head_end + 4;
      if (status_ >= 100 && status_ < 200) {  // an interim answer: the real one follows
        in_.erase(0, body_at);
        continue;
      }
      body_.clear();
      if (status_ == 204 || status_ == 304) return Finish(body_at);
      if (chunked) return ParseChunks(body_at);
      if (length) {
        if (in_.size() < body_at + *length) return kMore;
        body_.assign(in_, body_at, *length);
        return Finish(body_at + *length);
      }
      until_close_ = true;  // no length: the body ends with the connection
      keep_alive_ = false;
      in_.erase(0, body_at);
      return kMore;
    }
  }
  // The peer closed the connection: an answer read until the close ends here.
  State Close() {
    if (!until_close_) return kBad;
    body_ = std::move(in_);
    in_.clear();
    until_close_ = false;
    done_ = true;
    end_ = 0;
    return kDone;
  }
  // Drops the answer just read; what follows it is kept.
  void Next() {
    in_.erase(0, end_);
    Clear();
  }

  int status() const { return status_; }
  const std::string& body() const { return body_; }
  bool keep_alive() const { return keep_alive_; }

 private:
  static bool IEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }
  static bool Contains(std::string_view haystack, std::string_view needle) {
    for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
      if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
    }
    return false;
  }
  State Finish(size_t end) {
    end_ = end;
    done_ = true;
    return kDone;
  }
  State ParseChunks(size_t at) {
    body_.clear();
    for (;;) {
      const size_t eol = in_.find("\r\n", at);
      if (eol == std::string::npos) return kMore;
      size_t size = 0;
      auto [ptr, ec] = std::from_chars(in_.data() + at, in_.data() + eol, size, 16);
      if (ec != std::errc() || ptr == in_.data() + at) return kBad;
      if (size == 0) {  // the last chunk, then optional trailer fields and an empty line
        if (in_.size() < eol + 4) return kMore;
        if (in_.compare(eol + 2, 2, "\r\n") == 0) return Finish(eol + 4);
        const size_t end = in_.find("\r\n\r\n", eol + 2);
        return end == std::string::npos ? kMore : Finish(end + 4);
      }
      if (in_.size() < eol + 2 + size + 2) return kMore;
      body_.append(in_, eol + 2, size);
      at = eol + 2 + size + 2;
    }
  }
  void Clear() {
    status_ = 0;
    body_.clear();
    keep_alive_ = true;
    done_ = false;
    until_close_ = false;
    end_ = 0;
  }

  std::string in_;
  std::string body_;
  int status_ = 0;
  bool keep_alive_ = true;
  bool done_ = false;
  bool until_close_ = false;
  size_t end_ = 0;
};

}  // namespace cb::bench
