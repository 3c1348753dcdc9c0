// Boost.Beast HTTP/1.1 + WebSocket server. Each connection runs on its own strand; a
// handler's Responder posts back to that strand, so handlers may answer from any thread
// (e.g. the store's commit thread) without blocking an I/O thread.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <unordered_map>

#include "api/http.h"
#include "api/problem.h"

namespace cb::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------- helpers

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
        return Status::InvalidRequest("bad percent-encoding in URL");
      }
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Router

void Router::Add(std::string method, std::string pattern, security::Permission permission,
                 Handler handler) {
  Route r;
  r.method = std::move(method);
  r.segments = SplitPath(pattern);
  r.pattern = std::move(pattern);
  r.permission = permission;
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::AddWebSocket(std::string pattern, security::Permission permission,
                          WebSocketHandler h) {
  Route r;
  r.method = "GET";
  r.segments = SplitPath(pattern);
  r.pattern = std::move(pattern);
  r.permission = permission;
  r.ws = std::make_shared<WebSocketHandler>(std::move(h));
  routes_.push_back(std::move(r));
}

std::vector<std::string> Router::Patterns() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.pattern);
  return out;
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::map<std::string, std::string>* params) const {
  Match m;
  // Raw segments: decode each after splitting so an encoded "/" stays inside a segment.
  std::vector<std::string> segs = SplitPath(path);
  for (const auto& r : routes_) {
    std::map<std::string, std::string> got;
    bool ok = true;
    size_t i = 0;
    for (; i < r.segments.size(); ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 5 && p.front() == '{' && p.ends_with("...}")) {
        std::string rest;
        for (size_t k = i; k < segs.size(); ++k) {
          if (!rest.empty()) rest += "/";
          rest += segs[k];
        }
        got[p.substr(1, p.size() - 5)] = rest;
        i = segs.size();
        break;
      }
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        auto dec = PercentDecode(segs[i], false);
        if (!dec.ok() || dec->empty()) {
          ok = false;
          break;
        }
        got[p.substr(1, p.size() - 2)] = std::move(dec).value();
      } else if (p != segs[i]) {
        ok = false;
        break;
      }
    }
    if (!ok || i != segs.size()) continue;
    m.path_known = true;
    m.allowed_methods.push_back(r.method);
    if (r.method == method) {
      m.handler = r.handler ? &r.handler : nullptr;
      m.ws = r.ws.get();
      m.permission = r.permission;
      m.route = r.pattern;
      *params = std::move(got);
      return m;
    }
  }
  return m;
}

// ---------------------------------------------------------------- server internals

struct RouteMetrics {
  metrics::Histogram* latency = nullptr;
  metrics::Counter* by_class[6] = {};
};

struct HttpServer::Impl {
  ServerOptions options;
  const Router* router;
  const security::ApiKeyAuthority* auth;
  metrics::Registry* registry;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::unordered_map<std::string, RouteMetrics> route_metrics;
  RouteMetrics unmatched;
  metrics::Gauge* open_connections = nullptr;
  metrics::Counter* ws_dropped = nullptr;
  metrics::Gauge* ws_sessions = nullptr;
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> ws_count{0};

  Impl(ServerOptions o, const Router* r, const security::ApiKeyAuthority* a,
       metrics::Registry* m)
      : options(std::move(o)), router(r), auth(a), registry(m), ioc(o.threads) {}

  RouteMetrics MakeMetrics(const std::string& route) {
    RouteMetrics rm;
    std::string label = metrics::Label("route", route);
    rm.latency = registry->GetHistogram("citybrain_http_request_duration_seconds",
                                        "HTTP request latency by route", label);
    static const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    for (int i = 0; i < 6; ++i) {
      rm.by_class[i] = registry->GetCounter("citybrain_http_requests_total",
                                            "HTTP requests by route and status class",
                                            label + "," + metrics::Label("code", kClasses[i]));
    }
    return rm;
  }

  void Record(const std::string& route, int status, double seconds) {
    auto it = route_metrics.find(route);
    RouteMetrics& rm = it == route_metrics.end() ? unmatched : it->second;
    rm.latency->Observe(seconds);
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4) cls = 5;
    rm.by_class[cls]->Inc();
  }

  void DoAccept();
};

namespace {

using Clock = std::chrono::steady_clock;

HttpRequest ToRequest(http::request<http::string_body>& req, Status* error) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  // Keep the path raw; the router decodes per segment.
  out.path = std::string(path);
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    size_t i = 0;
    while (i <= qs.size()) {
      size_t amp = qs.find('&', i);
      if (amp == std::string_view::npos) amp = qs.size();
      std::string_view kv = qs.substr(i, amp - i);
      if (!kv.empty()) {
        size_t eq = kv.find('=');
        auto k = PercentDecode(kv.substr(0, eq), true);
        auto v = PercentDecode(eq == std::string_view::npos ? "" : kv.substr(eq + 1), true);
        if (!k.ok() || !v.ok()) {
          *error = Status::InvalidRequest("bad percent-encoding in the query string");
          return out;
        }
        out.query.emplace_back(std::move(k).value(), std::move(v).value());
      }
      i = amp + 1;
    }
  }
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  out.body = std::move(req.body());
  return out;
}

std::string_view PresentedKey(const HttpRequest& r) {
  std::string_view k = r.Header("x-api-key");
  if (!k.empty()) return k;
  std::string_view a = r.Header("authorization");
  if (a.size() > 7 && (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) {
    return a.substr(7);
  }
  return {};
}

// ---------------------------------------------------------------- WebSocket session

class WsSession : public WebSocketSession, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, HttpServer::Impl* srv, const WebSocketHandler* handler)
      : ws_(std::move(socket)), srv_(srv), handler_(handler) {}

  void Run(http::request<http::string_body> req, HttpRequest info) {
    info_ = std::move(info);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->open_ = true;
      self->srv_->ws_count.fetch_add(1);
      self->srv_->ws_sessions->Set(static_cast<double>(self->srv_->ws_count.load()));
      if (self->handler_->on_open) self->handler_->on_open(self, self->info_);
      self->DoRead();
    });
  }

  bool Send(std::string text) override {
    if (closed_.load()) return false;
    if (queued_.load() >= srv_->options.ws_max_queue) {
      srv_->ws_dropped->Inc();
      return false;
    }
    queued_.fetch_add(1);
    net::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      self->out_.push_back(std::move(t));
      if (self->out_.size() == 1) self->DoWrite();
    });
    return true;
  }

  void Close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->open_) return;
      self->ws_.async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  }

 private:
  void DoRead() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->Finish();
        return;
      }
      std::string msg = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      if (self->handler_->on_message) self->handler_->on_message(self, msg);
      self->DoRead();
    });
  }

  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->out_.pop_front();
                      self->queued_.fetch_sub(1);
                      if (ec) {
                        self->Finish();
                        return;
                      }
                      if (!self->out_.empty()) self->DoWrite();
                    });
  }

  void Finish() {
    if (closed_.exchange(true)) return;
    if (open_) {
      srv_->ws_count.fetch_sub(1);
      srv_->ws_sessions->Set(static_cast<double>(srv_->ws_count.load()));
      if (handler_->on_close) handler_->on_close(shared_from_this());
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  HttpServer::Impl* srv_;
  const WebSocketHandler* handler_;
  HttpRequest info_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> closed_{false};
  bool open_ = false;
};

// ---------------------------------------------------------------- HTTP session

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, HttpServer::Impl* srv)
      : stream_(std::move(socket)), srv_(srv) {
    srv_->connections.fetch_add(1);
    srv_->open_connections->Set(static_cast<double>(srv_->connections.load()));
  }
  ~HttpSession() {
    srv_->connections.fetch_sub(1);
    srv_->open_connections->Set(static_cast<double>(srv_->connections.load()));
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    if (srv_->stopping.load()) {
      Shutdown();
      return;
    }
    parser_.emplace();
    parser_->body_limit(srv_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(srv_->options.max_header_bytes));
    stream_.expires_after(std::chrono::seconds(srv_->options.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      Shutdown();
      return;
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      WriteProblem(413, Code::kTooLarge,
                   "request body over the limit of " +
                       std::to_string(srv_->options.max_body_bytes) + " bytes");
      return;
    }
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      WriteProblem(431, Code::kTooLarge, "request headers too large");
      return;
    }
    if (ec) {
      keep_alive_ = false;
      WriteProblem(400, Code::kInvalidRequest, "malformed HTTP request: " + ec.message());
      return;
    }
    start_ = Clock::now();
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();

    Status qerr;
    HttpRequest hr = ToRequest(req, &qerr);
    std::map<std::string, std::string> params;
    Router::Match m = srv_->router->Find(hr.method, hr.path, &params);
    route_ = m.route;
    if (!qerr.ok()) {
      WriteResponse(ProblemResponse(qerr));
      return;
    }
    if (m.handler == nullptr && m.ws == nullptr) {
      if (m.path_known) {
        HttpResponse r = ProblemResponse(405, Code::kUnsupported,
                                         "method " + hr.method + " not allowed here");
        std::string allow;
        for (const auto& a : m.allowed_methods) allow += (allow.empty() ? "" : ", ") + a;
        r.headers.emplace_back("Allow", allow);
        WriteResponse(std::move(r));
      } else {
        WriteResponse(ProblemResponse(404, Code::kNotFound, "no such resource: " + hr.path));
      }
      return;
    }
    hr.params = std::move(params);
    std::string_view key = PresentedKey(hr);
    if (!key.empty() && srv_->auth != nullptr) {
      auto who = srv_->auth->Authenticate(key);
      if (!who.ok()) {
        WriteResponse(ProblemResponse(who.status()));
        return;
      }
      hr.principal = std::make_shared<security::Principal>(std::move(who).value());
    }
    Status allowed = security::ApiKeyAuthority::Authorize(hr.principal.get(), m.permission);
    if (!allowed.ok()) {
      WriteResponse(ProblemResponse(allowed));
      return;
    }
    if (m.ws != nullptr) {
      if (!websocket::is_upgrade(req)) {
        WriteResponse(ProblemResponse(400, Code::kInvalidRequest,
                                      "this endpoint needs a WebSocket upgrade"));
        return;
      }
      stream_.expires_never();
      auto ws = std::make_shared<WsSession>(stream_.release_socket(), srv_, m.ws);
      ws->Run(std::move(req), std::move(hr));
      return;
    }
    srv_->in_flight.fetch_add(1);
    auto self = shared_from_this();
    auto responder = [self](HttpResponse r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->srv_->in_flight.fetch_sub(1);
        self->WriteResponse(std::move(r));
      });
    };
    (*m.handler)(hr, std::move(responder));
  }

  void WriteProblem(int status, Code code, const std::string& detail) {
    start_ = Clock::now();
    WriteResponse(ProblemResponse(status, code, detail));
  }

  void WriteResponse(HttpResponse r) {
    double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    srv_->Record(route_, r.status, secs);
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(version_);
    res->set(http::field::server, "citybrain");
    if (!r.body.empty() || r.status != 204) {
      res->set(http::field::content_type, r.content_type);
    }
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_ && !srv_->stopping.load());
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(srv_->options.request_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) {
                          self->Shutdown();
                          return;
                        }
                        self->DoRead();
                      });
  }

  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::string route_;
  Clock::time_point start_ = Clock::now();
};

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (!stopping.load() && ec != net::error::operation_aborted) {
        spdlog::warn("accept failed: {}", ec.message());
        DoAccept();
      }
      return;
    }
    beast::error_code nd;
    s.set_option(tcp::no_delay(true), nd);
    std::make_shared<HttpSession>(std::move(s), this)->Start();
    DoAccept();
  });
}

// ---------------------------------------------------------------- HttpServer

HttpServer::HttpServer(ServerOptions options, const Router* router,
                       const security::ApiKeyAuthority* auth, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, auth, metrics)) {}

HttpServer::~HttpServer() { Stop(0); }

Status HttpServer::Start() {
  Impl& s = *impl_;
  for (const auto& p : s.router->Patterns()) s.route_metrics[p] = s.MakeMetrics(p);
  s.unmatched = s.MakeMetrics("(unmatched)");
  s.open_connections = s.registry->GetGauge("citybrain_http_open_connections",
                                            "Open HTTP connections");
  s.ws_sessions = s.registry->GetGauge("citybrain_websocket_sessions", "Open WebSocket sessions");
  s.ws_dropped = s.registry->GetCounter("citybrain_websocket_dropped_messages_total",
                                        "WebSocket messages dropped: a client too slow");
  beast::error_code ec;
  auto addr = net::ip::make_address(s.options.address, ec);
  if (ec) return Status::BadRequestData("bad listen address '" + s.options.address + "'");
  tcp::endpoint ep(addr, s.options.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + s.options.address + ":" +
                               std::to_string(s.options.port) + ": " + ec.message());
  }
  s.DoAccept();
  for (int i = 0; i < std::max(1, s.options.threads); ++i) {
    s.threads.emplace_back([&s] { s.ioc.run(); });
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::Stop(int drain_ms) {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  s.stopping.store(true);
  net::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
  });
  auto deadline = Clock::now() + std::chrono::milliseconds(drain_ms);
  while (s.in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Give responses just handed back a moment to be written.
  std::this_thread::sleep_for(std::chrono::milliseconds(drain_ms > 0 ? 50 : 0));
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace cb::api
