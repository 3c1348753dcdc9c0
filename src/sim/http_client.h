// A small keep-alive HTTP/1.1 client for the tools that talk to a CityBrain server like any
// client would (`citybrain replay`). Reconnects once when the server closed the connection.
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

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cb::sim
