#include "api/outbound_http.h"

#include <cctype>

namespace cb::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

OutboundConnection::OutboundConnection(Strand strand, std::string host, uint16_t port,
                                       OutboundOptions options)
    : strand_(std::move(strand)),
      resolver_(strand_),
      host_(std::move(host)),
      port_(port),
      options_(options) {
  host_header_ = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  if (port_ != 80) host_header_ += ":" + std::to_string(port_);
}

void OutboundConnection::Send(Request request, std::function<void(Outcome)> done) {
  net::post(strand_, [self = shared_from_this(), request = std::move(request),
                      done = std::move(done)]() mutable {
    self->req_ = std::move(request);
    self->req_.set(http::field::host, self->host_header_);
    self->done_ = std::move(done);
    self->free_retry_ = true;
    self->Attempt();
  });
}

void OutboundConnection::Cancel() {
  net::post(strand_, [self = shared_from_this()] {
    self->closing_ = true;
    self->resolver_.cancel();
    if (self->stream_) self->stream_->cancel();
  });
}

void OutboundConnection::Attempt() {
  if (closing_) return Done("stopping");
  if (stream_) {
    reused_ = true;
    return Write();
  }
  reused_ = false;
  if (resolved_.empty()) {
    resolver_.async_resolve(
        host_, std::to_string(port_),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->Done("resolve: " + ec.message());
          self->resolved_ = std::move(r);
          self->Connect();
        });
    return;
  }
  Connect();
}

void OutboundConnection::Connect() {
  stream_.emplace(strand_);
  stream_->expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  stream_->async_connect(resolved_,
                         [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                           if (ec) {
                             self->stream_.reset();
                             self->resolved_ = {};
                             return self->Done("connect: " + ec.message());
                           }
                           beast::error_code ignored;
                           self->stream_->socket().set_option(tcp::no_delay(true), ignored);
                           self->Write();
                         });
}

void OutboundConnection::Write() {
  stream_->expires_after(std::chrono::milliseconds(options_.request_timeout_ms));
  http::async_write(*stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->IoError(ec);
    self->Read();
  });
}

void OutboundConnection::Read() {
  parser_.emplace();
  parser_->body_limit(options_.max_response_bytes);
  buf_.clear();
  http::async_read(*stream_, buf_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (ec) return self->IoError(ec);
                     Outcome o;
                     o.response = self->parser_->release();
                     if (!o.response.keep_alive()) self->CloseStream();
                     auto done = std::move(self->done_);
                     done(std::move(o));
                   });
}

void OutboundConnection::CloseStream() {
  if (!stream_) return;
  beast::error_code ignored;
  stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_->close();
  stream_.reset();
}

void OutboundConnection::IoError(beast::error_code ec) {
  const bool was_reused = reused_;
  CloseStream();
  // A keep-alive connection the server closed while idle: reconnect once at no cost.
  if (was_reused && free_retry_ && !closing_) {
    free_retry_ = false;
    return Attempt();
  }
  Done(ec == beast::error::timeout             ? "timeout"
       : ec == http::error::body_limit         ? "the response is larger than " +
                                             std::to_string(options_.max_response_bytes) + " bytes"
                                               : ec.message());
}

void OutboundConnection::Done(std::string error) {
  Outcome o;
  o.error = std::move(error);
  auto done = std::move(done_);
  if (done) done(std::move(o));
}

Result<context::HttpUrl> ResolveHref(const context::HttpUrl& base, std::string_view href) {
  // A scheme ("mailto:", "http:") comes before any '/', '?' or '#'.
  const size_t colon = href.find(':');
  if (colon != std::string_view::npos && colon < href.find_first_of("/?#") && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(href[0]))) {
    return context::ParseHttpUrl(href, "the link " + std::string(href));
  }
  if (href.rfind("//", 0) == 0) return context::ParseHttpUrl(base.scheme + ":" + std::string(href), "the link");
  context::HttpUrl u = base;
  if (href.empty()) return u;
  if (href.front() == '/') {
    u.target = std::string(href);
  } else if (href.front() == '?') {
    u.target = base.target.substr(0, base.target.find('?')) + std::string(href);
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    u.target = path.substr(0, path.rfind('/') + 1) + std::string(href);
  }
  if (size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  return context::ParseHttpUrl(FormatHttpUrl(u), "the link");
}

std::string FormatHttpUrl(const context::HttpUrl& url) {
  std::string out = url.scheme + "://";
  out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  const uint16_t standard = url.scheme == "https" ? 443 : 80;
  if (url.port != standard) out += ":" + std::to_string(url.port);
  return out + url.target;
}

}  // namespace cb::api
