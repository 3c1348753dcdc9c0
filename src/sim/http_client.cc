#include "sim/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <optional>

namespace cb::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  net::io_context ioc;
  std::string host, port, key;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void Open() {
    tcp::resolver resolver(ioc);
    stream.emplace(ioc);
    stream->connect(resolver.resolve(host, port));
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const std::string& base, std::string api_key) {
  const std::string prefix = "http://";
  if (base.rfind(prefix, 0) != 0) return Status::BadRequestData("the server URL must start with http://");
  std::string hostport = base.substr(prefix.size());
  if (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
  const size_t colon = hostport.rfind(':');
  auto impl = std::make_unique<Impl>();
  impl->host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  impl->port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  impl->key = std::move(api_key);
  try {
    impl->Open();
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot connect to " + base + ": " + e.what());
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpReply> HttpClient::Post(const std::string& target, const std::string& json_body) {
  return Send(Method::kPost, target, &json_body);
}

Result<HttpReply> HttpClient::Patch(const std::string& target, const std::string& json_body) {
  return Send(Method::kPatch, target, &json_body);
}

Result<HttpReply> HttpClient::Get(const std::string& target) {
  return Send(Method::kGet, target, nullptr);
}

Result<HttpReply> HttpClient::Send(Method method, const std::string& target,
                                   const std::string* json_body) {
  const http::verb verb = method == Method::kGet    ? http::verb::get
                          : method == Method::kPost ? http::verb::post
                                                    : http::verb::patch;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) impl_->Open();
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, impl_->host);
      if (json_body != nullptr) {
        req.set(http::field::content_type, "application/json");
        req.body() = *json_body;
      }
      if (!impl_->key.empty()) req.set("X-Api-Key", impl_->key);
      req.prepare_payload();
      http::write(*impl_->stream, req);
      http::response<http::string_body> res;
      http::read(*impl_->stream, impl_->buffer, res);
      if (!res.keep_alive()) impl_->stream.reset();
      return HttpReply{static_cast<int>(res.result_int()), std::move(res.body())};
    } catch (const std::exception& e) {
      impl_->stream.reset();
      if (attempt == 1) return Status::Unavailable(std::string("HTTP request failed: ") + e.what());
    }
  }
  return Status::Unavailable("HTTP request failed");
}

}  // namespace cb::sim
