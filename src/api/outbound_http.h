// CityBrain's outbound HTTP client (Boost.Beast), shared by the Notifier (NGSI-LD
// notifications to subscribers) and the WarningPoller (CAP feeds). Internal to api/.
//
// OutboundConnection is one keep-alive HTTP/1.1 connection to one host and port, used one
// request at a time: it resolves and connects when it has no open connection, writes the
// request and reads the whole response, each step under its deadline (connect_timeout_ms;
// request_timeout_ms for writing and reading), with the response body capped at
// max_response_bytes. A connection reused from an earlier request that fails (the server
// closed it while idle) is reopened once for the same request at no cost; any other failure
// ends the request with a reason ("resolve: …", "connect: …", "timeout", …). Retrying is the
// caller's business.
//
// Thread-safety: Send and Cancel may be called from any thread; everything else runs on the
// strand given at construction, where `done` is called.
#pragma once

#include <utility>  // before Boost 1.74's asio, whose awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "context/subscriptions.h"
#include "core/status.h"

namespace cb::api {

struct OutboundOptions {
  int connect_timeout_ms = 3000;
  int request_timeout_ms = 5000;  // write the request and read the whole response
  size_t max_response_bytes = 64 * 1024;
};

class OutboundConnection : public std::enable_shared_from_this<OutboundConnection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // A response (any status), or the reason there is none.
  struct Outcome {
    std::string error;  // empty: `response` holds the answer
    Response response;
  };

  OutboundConnection(Strand strand, std::string host, uint16_t port, OutboundOptions options);

  // Sends `request` (its Host header set here); `done` runs on the strand. One request at a
  // time: send the next after the previous one's `done`.
  void Send(Request request, std::function<void(Outcome)> done);
  // Ends what is in flight with an error and refuses later requests.
  void Cancel();
  // "host[:port]" as the Host header names it.
  const std::string& host_header() const { return host_header_; }

 private:
  void Attempt();
  void Connect();
  void Write();
  void Read();
  void CloseStream();
  void IoError(boost::beast::error_code ec);
  void Done(std::string error);

  Strand strand_;
  boost::asio::ip::tcp::resolver resolver_;
  std::string host_;
  uint16_t port_;
  std::string host_header_;
  OutboundOptions options_;
  boost::asio::ip::tcp::resolver::results_type resolved_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buf_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  Request req_;
  std::function<void(Outcome)> done_;
  bool closing_ = false;
  bool reused_ = false;
  bool free_retry_ = true;
};

// `href` (absolute, network-path "//host/…", absolute-path or relative) resolved against
// the document it was found in, at `base` (RFC 3986 §5.2, without dot-segment removal).
Result<context::HttpUrl> ResolveHref(const context::HttpUrl& base, std::string_view href);
// "scheme://host[:port]/target" (the port only when it is not the scheme's default).
std::string FormatHttpUrl(const context::HttpUrl& url);

}  // namespace cb::api
