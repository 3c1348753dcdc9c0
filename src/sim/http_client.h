// A small keep-alive HTTP/1.1 client for the tools that talk to a CityBrain server like any
// client would (`citybrain replay`, `citybrain sim`). Reconnects once when the server closed
// the connection.
// Thread-safety: one client per thread.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace cb::sim {

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `base`: http://host:port (no path); `api_key` goes in X-Api-Key.
  static Result<std::unique_ptr<HttpClient>> Connect(const std::string& base, std::string api_key);
  ~HttpClient();
  Result<HttpReply> Post(const std::string& target, const std::string& json_body);
  Result<HttpReply> Patch(const std::string& target, const std::string& json_body);
  Result<HttpReply> Get(const std::string& target);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  enum class Method { kGet, kPost, kPatch };
  // `json_body` null: a request without a body.
  Result<HttpReply> Send(Method method, const std::string& target, const std::string* json_body);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cb::sim
