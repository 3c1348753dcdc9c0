// Boost.Beast HTTP/1.1 + WebSocket server. Each I/O thread runs its own io_context and each
// connection stays on one of them; a handler's Responder hands the answer back to that
// connection's thread, so handlers may answer from any thread (e.g. the store's commit
// thread) without blocking an I/O thread.
// The request path avoids per-request copies and lookups: headers, method and path are
// views into Beast's parsed request, routes match on string_views and resolve their
// metrics once, and the response header is serialized with one loop.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <optional>

#include "api/http.h"
#include "api/problem.h"

namespace cb::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------- helpers

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Percent-decodes `s` into `out`, or only checks it when `out` is null. False when an
// escape is malformed.
bool PercentDecodeInto(std::string_view s, bool plus_is_space, std::string* out) {
  // Most segments and parameters have nothing to decode: copied whole.
  size_t first = 0;
  while (first < s.size() && s[first] != '%' && !(plus_is_space && s[first] == '+')) ++first;
  if (first == s.size()) {
    if (out != nullptr) out->append(s);
    return true;
  }
  if (out != nullptr) {
    out->reserve(out->size() + s.size());
    out->append(s.substr(0, first));
  }
  for (size_t i = first; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0) return false;
      c = static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (out != nullptr) out->push_back(c);
  }
  return true;
}

// The non-empty '/'-separated segments of a path, one after the other, without copying.
class PathSegments {
 public:
  explicit PathSegments(std::string_view path) : rest_(path) { SkipSlashes(); }
  bool empty() const { return rest_.empty(); }
  std::string_view Next() {
    std::string_view seg = rest_.substr(0, rest_.find('/'));
    rest_.remove_prefix(seg.size());
    SkipSlashes();
    return seg;
  }

 private:
  void SkipSlashes() {
    while (!rest_.empty() && rest_.front() == '/') rest_.remove_prefix(1);
  }
  std::string_view rest_;
};

}  // namespace

const std::string& PathParams::operator[](std::string_view name) const {
  static const std::string kNone;
  for (size_t i = 0; i < size_; ++i) {
    if (names_[i] == name) return values_[i];
  }
  return kNone;
}

bool PathParams::contains(std::string_view name) const {
  return std::find(names_.begin(), names_.begin() + size_, name) != names_.begin() + size_;
}

void PathParams::Add(std::string_view name, std::string value) {
  assert(size_ < kMax);  // Router::Add refuses patterns with more captures
  names_[size_] = name;
  values_[size_] = std::move(value);
  ++size_;
}

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != lower_name.size()) continue;
    size_t i = 0;
    while (i < k.size() && AsciiLower(k[i]) == lower_name[i]) ++i;
    if (i == k.size()) return v;
  }
  return {};
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  if (!PercentDecodeInto(s, plus_is_space, &out)) {
    return Status::InvalidRequest("bad percent-encoding in URL");
  }
  return out;
}

// ---------------------------------------------------------------- Router

void Router::Add(std::string method, std::string pattern, security::Permission permission,
                 Handler handler) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.permission = permission;
  r.handler = std::move(handler);
  AddRoute(std::move(r));
}

void Router::AddWebSocket(std::string pattern, security::Permission permission,
                          WebSocketHandler h) {
  Route r;
  r.method = "GET";
  r.pattern = std::move(pattern);
  r.permission = permission;
  r.ws = std::make_shared<WebSocketHandler>(std::move(h));
  AddRoute(std::move(r));
}

void Router::AddRoute(Route r) {
  size_t captures = 0;
  for (PathSegments segs(r.pattern); !segs.empty();) {
    std::string_view p = segs.Next();
    Segment s{Segment::Kind::kLiteral, std::string(p)};
    if (p.size() > 5 && p.front() == '{' && p.ends_with("...}")) {
      s = {Segment::Kind::kRest, std::string(p.substr(1, p.size() - 5))};
    } else if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      s = {Segment::Kind::kParam, std::string(p.substr(1, p.size() - 2))};
    }
    if (s.kind != Segment::Kind::kLiteral && ++captures > PathParams::kMax) {
      std::fprintf(stderr, "route %s has more than %zu captures\n", r.pattern.c_str(),
                   PathParams::kMax);
      std::abort();
    }
    r.segments.push_back(std::move(s));
  }
  routes_.push_back(std::move(r));
}

std::vector<std::string> Router::Patterns() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.pattern);
  return out;
}

bool Router::Matches(const Route& r, std::string_view path, PathParams* params) {
  // Raw segments: each is decoded after splitting, so an encoded "/" stays inside one.
  PathSegments segs(path);
  for (const Segment& p : r.segments) {
    if (p.kind == Segment::Kind::kRest) {
      if (params != nullptr) {
        std::string rest;
        while (!segs.empty()) {
          if (!rest.empty()) rest += '/';
          rest += segs.Next();
        }
        params->Add(p.text, std::move(rest));
      }
      return true;
    }
    if (segs.empty()) return false;
    std::string_view seg = segs.Next();
    if (p.kind == Segment::Kind::kLiteral) {
      if (seg != p.text) return false;
      continue;
    }
    std::string value;
    if (!PercentDecodeInto(seg, false, params != nullptr ? &value : nullptr)) return false;
    if (params != nullptr) params->Add(p.text, std::move(value));
  }
  return segs.empty();
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           PathParams* params) const {
  Match m;
  // Most routes differ from the path in their first segment: rule those out cheaply.
  PathSegments segs(path);
  std::string_view first = segs.empty() ? std::string_view() : segs.Next();
  auto first_fits = [first](const Route& r) {
    return r.segments.empty() || r.segments[0].kind != Segment::Kind::kLiteral ||
           r.segments[0].text == first;
  };
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (r.method != method || !first_fits(r) || !Matches(r, path, nullptr)) continue;
    Matches(r, path, params);
    m.handler = r.handler ? &r.handler : nullptr;
    m.ws = r.ws.get();
    m.permission = r.permission;
    m.route = r.pattern;
    m.index = i;
    m.path_known = true;
    return m;
  }
  // No route for this method: is the path known under another one (405, not 404)?
  for (const auto& r : routes_) {
    if (!Matches(r, path, nullptr)) continue;
    m.path_known = true;
    m.allowed_methods.push_back(r.method);
  }
  return m;
}

// ---------------------------------------------------------------- server internals

// Each I/O thread runs its own io_context, and a connection lives on one of them: all of a
// connection's work runs on that one thread, in order, without a strand. Naming the executor
// type (rather than Beast's default type-erased one) keeps Asio from allocating and
// reference-counting an executor copy on every asynchronous operation.
using Executor = net::io_context::executor_type;
using Stream = beast::basic_stream<tcp, Executor>;  // WebSocket sessions' transport
using Socket = net::basic_stream_socket<tcp, Executor>;

namespace {
class HttpSession;
}  // namespace

// The deadlines of one I/O thread's HTTP connections: a timer that ticks while the server
// runs and closes each connection whose read or write has run past its deadline (the
// pending operation then completes with operation_aborted). Written here rather than taken
// from Beast's tcp_stream, which arms a timer before every read and write and cancels it
// after, so that each request cost four timer-queue operations and two cancelled handlers
// run through the scheduler; here a read or write only stores a time. Used only from its
// I/O thread (sessions register on it, and the timer runs on it), so it has no lock.
struct DeadlineSweep {
  DeadlineSweep(net::io_context& ioc, std::chrono::milliseconds every) : timer(ioc), tick(every) {}
  net::steady_timer timer;
  const std::chrono::milliseconds tick;
  std::vector<std::weak_ptr<HttpSession>> sessions;  // expired ones are dropped by the sweep
};

// The metric series of one route, resolved once when the server starts.
struct RouteMetrics {
  metrics::Histogram* latency = nullptr;
  metrics::Counter* by_class[6] = {};

  void Record(int status, double seconds) const {
    latency->Observe(seconds);
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4) cls = 5;
    by_class[cls]->Inc();
  }
};

struct HttpServer::Impl {
  ServerOptions options;
  const Router* router;
  const security::ApiKeyAuthority* auth;
  metrics::Registry* registry;
  std::vector<std::unique_ptr<net::io_context>> contexts;  // one per I/O thread
  std::vector<std::unique_ptr<DeadlineSweep>> sweeps;      // by context, the same order
  std::vector<net::executor_work_guard<Executor>> keep_running;
  tcp::acceptor acceptor;
  size_t next_context = 0;  // where the next connection goes (used by the accept handler)
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::vector<RouteMetrics> route_metrics;  // by Router::Match::index
  RouteMetrics unmatched;
  RouteMetrics fallback;  // requests the Router's fallback answered
  metrics::Gauge* open_connections = nullptr;
  metrics::Counter* ws_dropped = nullptr;
  metrics::Gauge* ws_sessions = nullptr;
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> ws_count{0};

  Impl(ServerOptions o, const Router* r, const security::ApiKeyAuthority* a, metrics::Registry* m)
      : options(std::move(o)),
        router(r),
        auth(a),
        registry(m),
        contexts(MakeContexts(std::max(1, options.threads))),
        acceptor(*contexts[0]) {
    // A connection overstays its deadline by at most a tick: an eighth of the timeout,
    // within 50 ms and 1 s.
    auto tick = std::chrono::milliseconds(
        std::clamp(int64_t{options.request_timeout_s} * 1000 / 8, int64_t{50}, int64_t{1000}));
    for (auto& c : contexts) sweeps.push_back(std::make_unique<DeadlineSweep>(*c, tick));
  }

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

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

  const RouteMetrics& MetricsFor(size_t route_index) const {
    return route_index < route_metrics.size() ? route_metrics[route_index] : unmatched;
  }

  void DoAccept();
};

namespace {

using Clock = std::chrono::steady_clock;
using BeastRequest = http::request<http::string_body>;

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

// Points `out`'s method, path and headers into `req`, which must outlive those views.
void ViewRequest(const BeastRequest& req, HttpRequest* out) {
  out->method = View(req.method_string());
  std::string_view target = View(req.target());
  out->path = target.substr(0, target.find('?'));  // raw: the router decodes per segment
  out->headers.clear();
  out->headers.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
  for (const auto& f : req) out->headers.emplace_back(View(f.name_string()), View(f.value()));
}

HttpRequest ToRequest(BeastRequest& req, Status* error) {
  HttpRequest out;
  ViewRequest(req, &out);
  std::string_view target = View(req.target());
  size_t q = target.find('?');
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
  out.body = std::move(req.body());
  return out;
}

// Browsers cannot set headers on a WebSocket upgrade; they can offer subprotocols. A
// browser passes its key as one of them, next to the protocol it speaks:
//   new WebSocket(url, ["citybrain.v1", "citybrain.key." + key])
// (the pattern Kubernetes uses for bearer tokens). The server answers with
// kWebSocketProtocol, never with the key.
constexpr std::string_view kWebSocketProtocol = "citybrain.v1";
constexpr std::string_view kWebSocketKeyPrefix = "citybrain.key.";

// Calls f(protocol) for each subprotocol offered in Sec-WebSocket-Protocol; stops when f
// returns true.
template <typename F>
bool AnyOfferedProtocol(const HttpRequest& r, F f) {
  std::string_view offered = r.Header("sec-websocket-protocol");
  while (!offered.empty()) {
    const size_t comma = offered.find(',');
    std::string_view p = offered.substr(0, comma);
    offered = comma == std::string_view::npos ? std::string_view() : offered.substr(comma + 1);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
    if (f(p)) return true;
  }
  return false;
}

std::string_view PresentedKey(const HttpRequest& r) {
  std::string_view k = r.Header("x-api-key");
  if (!k.empty()) return k;
  std::string_view a = r.Header("authorization");
  if (a.size() > 7 && (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) {
    return a.substr(7);
  }
  AnyOfferedProtocol(r, [&](std::string_view p) {
    if (p.substr(0, kWebSocketKeyPrefix.size()) != kWebSocketKeyPrefix) return false;
    k = p.substr(kWebSocketKeyPrefix.size());
    return true;
  });
  return k;
}

// ---------------------------------------------------------------- WebSocket session

class WsSession : public WebSocketSession, public std::enable_shared_from_this<WsSession> {
 public:
  // `key`: what the client presented at the upgrade ("" for none), checked again every
  // ws_recheck_ms against `permission`.
  WsSession(Socket&& socket, HttpServer::Impl* srv, const WebSocketHandler* handler,
            security::Permission permission, std::string key)
      : ws_(std::move(socket)), srv_(srv), handler_(handler), permission_(permission),
        key_(std::move(key)), recheck_(ws_.get_executor()) {}

  void Run(BeastRequest req, HttpRequest info) {
    // The session keeps the upgrade request, so the handler's views point into it.
    req_ = std::move(req);
    info_ = std::move(info);
    ViewRequest(req_, &info_);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    // A client that offers subprotocols must get one of them back, or browsers drop the
    // connection: answer with ours when offered (see PresentedKey).
    if (AnyOfferedProtocol(info_, [](std::string_view p) { return p == kWebSocketProtocol; })) {
      ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(http::field::sec_websocket_protocol,
                beast::string_view(kWebSocketProtocol.data(), kWebSocketProtocol.size()));
      }));
    }
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->open_ = true;
      self->srv_->ws_count.fetch_add(1);
      self->srv_->ws_sessions->Set(static_cast<double>(self->srv_->ws_count.load()));
      if (self->handler_->on_open) self->handler_->on_open(self, self->info_);
      self->DoRead();
      self->ScheduleRecheck();
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

  // The upgrade checked the key once; a session signed out or expired since must not keep
  // receiving the city's live data, so the key is checked again now and then.
  void ScheduleRecheck() {
    if (key_.empty() || srv_->auth == nullptr || srv_->options.ws_recheck_ms <= 0) return;
    recheck_.expires_after(std::chrono::milliseconds(srv_->options.ws_recheck_ms));
    recheck_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_.load()) return;
      auto who = self->srv_->auth->Authenticate(self->key_);
      Status st = who.ok() ? security::ApiKeyAuthority::Authorize(who->get(), self->permission_)
                           : who.status();
      if (st.ok()) {
        self->ScheduleRecheck();
        return;
      }
      spdlog::info("websocket {}: closed, its key is no longer valid: {}",
                   std::string(self->info_.path), st.message());
      // Close reasons are limited to 123 bytes.
      std::string reason = st.message().substr(0, 120);
      self->ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, reason),
                            [self](beast::error_code) {});
    });
  }

  void Finish() {
    if (closed_.exchange(true)) return;
    recheck_.cancel();
    if (open_) {
      srv_->ws_count.fetch_sub(1);
      srv_->ws_sessions->Set(static_cast<double>(srv_->ws_count.load()));
      if (handler_->on_close) handler_->on_close(shared_from_this());
    }
  }

  websocket::stream<Stream> ws_;
  HttpServer::Impl* srv_;
  const WebSocketHandler* handler_;
  const security::Permission permission_;
  const std::string key_;
  net::steady_timer recheck_;
  BeastRequest req_;   // the upgrade request
  HttpRequest info_;   // its views point into req_
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> closed_{false};
  bool open_ = false;
};

// ---------------------------------------------------------------- HTTP session

class HttpSession : public std::enable_shared_from_this<HttpSession> {
  static constexpr size_t kReadBufferBytes = 8192;

 public:
  HttpSession(Socket&& socket, HttpServer::Impl* srv, DeadlineSweep* sweep)
      : socket_(std::move(socket)), srv_(srv), sweep_(sweep), metrics_(&srv->unmatched) {
    // Beast reads max(512, free capacity) bytes at a time, and as the parser takes in
    // everything it is given the buffer never grows past its first 512 bytes: a typical
    // PATCH (~700 bytes) took two recvmsg calls. Room for a whole request takes one.
    buffer_.reserve(kReadBufferBytes);
    beast::error_code ec;
    remote_address_ = socket_.remote_endpoint(ec).address().to_string();
    srv_->connections.fetch_add(1);
    srv_->open_connections->Set(static_cast<double>(srv_->connections.load()));
  }
  ~HttpSession() {
    srv_->connections.fetch_sub(1);
    srv_->open_connections->Set(static_cast<double>(srv_->connections.load()));
  }

  void Start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      self->sweep_->sessions.push_back(self);
      self->DoRead();
    });
  }

  // Called by the sweep (on this connection's thread): closes the connection if its read or
  // write has passed its deadline.
  void CloseIfPast(Clock::time_point now) {
    if (now < deadline_) return;
    deadline_ = Clock::time_point::max();
    beast::error_code ec;
    socket_.close(ec);
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
    deadline_ = Clock::now() + std::chrono::seconds(srv_->options.request_timeout_s);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    deadline_ = Clock::time_point::max();  // the handler may take its time (e.g. a commit)
    if (!socket_.is_open()) return;        // closed by the sweep: past its deadline
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      Shutdown();
      return;
    }
    metrics_ = &srv_->unmatched;  // until a route matches
    head_ = false;
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
    BeastRequest req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;

    Status qerr;
    HttpRequest hr = ToRequest(req, &qerr);
    hr.remote_address = remote_address_;
    Router::Match m = srv_->router->Find(hr.method, hr.path, &hr.params);
    metrics_ = &srv_->MetricsFor(m.index);
    if (!qerr.ok()) {
      WriteResponse(ProblemResponse(qerr));
      return;
    }
    if (m.handler == nullptr && m.ws == nullptr && !m.path_known &&
        srv_->router->fallback() != nullptr) {
      metrics_ = &srv_->fallback;
      Dispatch(*srv_->router->fallback(), hr);  // public: no key is looked at
      return;
    }
    if (m.handler == nullptr && m.ws == nullptr) {
      if (m.path_known) {
        HttpResponse r = ProblemResponse(
            405, Code::kUnsupported, "method " + std::string(hr.method) + " not allowed here");
        std::string allow;
        for (const auto& a : m.allowed_methods) allow += (allow.empty() ? "" : ", ") + a;
        r.headers.emplace_back("Allow", allow);
        WriteResponse(std::move(r));
      } else {
        WriteResponse(
            ProblemResponse(404, Code::kNotFound, "no such resource: " + std::string(hr.path)));
      }
      return;
    }
    std::string_view key = PresentedKey(hr);
    if (!key.empty() && srv_->auth != nullptr) {
      auto who = srv_->auth->Authenticate(key);
      if (!who.ok()) {
        WriteResponse(ProblemResponse(who.status()));
        return;
      }
      hr.principal = std::move(who).value();
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
      auto ws = std::make_shared<WsSession>(std::move(socket_), srv_, m.ws, m.permission,
                                            std::string(key));
      ws->Run(std::move(req), std::move(hr));
      return;
    }
    Dispatch(*m.handler, hr);
  }

  void Dispatch(const Handler& handler, HttpRequest& hr) {
    srv_->in_flight.fetch_add(1);
    // dispatch: an answer given on this connection's thread (the handler answering at once)
    // is written straight away; one from another thread is queued to it.
    auto responder = [self = shared_from_this()](HttpResponse r) {
      net::dispatch(self->socket_.get_executor(), [self, r = std::move(r)]() mutable {
        self->srv_->in_flight.fetch_sub(1);
        self->WriteResponse(std::move(r));
      });
    };
    handler(hr, std::move(responder));
  }

  void WriteProblem(int status, Code code, const std::string& detail) {
    start_ = Clock::now();
    WriteResponse(ProblemResponse(status, code, detail));
  }

  void WriteResponse(HttpResponse r) {
    const Clock::time_point now = Clock::now();
    double secs = std::chrono::duration<double>(now - start_).count();
    metrics_->Record(r.status, secs);
    // One response at a time per connection: the next request is read once it is written.
    bool keep_alive = keep_alive_ && !srv_->stopping.load();
    if (!SerializeDirectly(r, keep_alive)) {
      SerializeWithBeast(std::move(r), keep_alive);
    } else {
#ifndef NDEBUG
      // Debug builds (the tests) check every direct header against Beast's own.
      std::string direct = header_;
      SerializeWithBeast(r, keep_alive);
      assert(direct == header_);
#endif
      body_ = std::move(r.body);
    }
    // A response to HEAD has the header of the GET's (Content-Length included), no body.
    if (head_) body_.clear();
    // Header and body go out as two plain buffers: much cheaper to send than the layered
    // buffer sequence http::async_write builds from Beast's serializer.
    std::array<net::const_buffer, 2> wire{net::buffer(header_), net::buffer(body_)};
    deadline_ = now + std::chrono::seconds(srv_->options.request_timeout_s);
    auto on_written = [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
      if (ec || !keep_alive) return self->Shutdown();
      self->DoRead();
    };
    net::async_write(socket_, wire, std::move(on_written));
  }

  // Puts in header_ the status line and fields Beast would write for `r` (see
  // SerializeWithBeast), without building its field container (an allocation per field):
  // Server, Content-Type, r's headers in order, Connection as keep-alive needs, and
  // Content-Length last. Returns false, writing nothing, for responses where Beast's rules
  // go further (a header naming one of those fields or given twice, values with surrounding
  // blanks, 1xx/204/304 statuses, other HTTP versions): those take SerializeWithBeast.
  bool SerializeDirectly(const HttpResponse& r, bool keep_alive) {
    if (r.status < 200 || r.status > 999 || r.status == 204 || r.status == 304 ||
        (version_ != 10 && version_ != 11)) {
      return false;
    }
    auto blank_edged = [](std::string_view v) {
      return !v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' ||
                            v.back() == '\t');
    };
    if (blank_edged(r.content_type)) return false;
    for (size_t i = 0; i < r.headers.size(); ++i) {
      const std::string& name = r.headers[i].first;
      if (blank_edged(r.headers[i].second)) return false;
      for (const char* reserved :
           {"server", "content-type", "connection", "content-length", "transfer-encoding"}) {
        if (beast::iequals(name, reserved)) return false;
      }
      for (size_t j = 0; j < i; ++j) {
        if (beast::iequals(name, r.headers[j].first)) return false;
      }
    }
    const unsigned code = static_cast<unsigned>(r.status);
    AppendStatusLine(code, View(http::obsolete_reason(static_cast<http::status>(code))));
    auto field = [this](std::string_view name, std::string_view value) {
      header_.append(name).append(": ").append(value).append("\r\n");
    };
    field("Server", "citybrain");
    field("Content-Type", r.content_type);
    for (const auto& [k, v] : r.headers) field(k, v);
    if (version_ == 11 && !keep_alive) field("Connection", "close");
    if (version_ == 10 && keep_alive) field("Connection", "keep-alive");
    char digits[24];
    field("Content-Length",
          std::string_view(digits, std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr -
                                       digits));
    header_.append("\r\n");
    return true;
  }

  // Builds the response with Beast's message and serializes its header into header_; the body
  // goes to body_.
  void SerializeWithBeast(HttpResponse r, bool keep_alive) {
    res_ = {};
    res_.result(static_cast<unsigned>(r.status));
    res_.version(version_);
    res_.set(http::field::server, "citybrain");
    if (!r.body.empty() || r.status != 204) {
      res_.set(http::field::content_type, r.content_type);
    }
    for (auto& [k, v] : r.headers) res_.set(k, v);
    res_.keep_alive(keep_alive);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    SerializeHeader();
    body_ = std::move(res_.body());
  }

  // header_ = "HTTP/1.x CODE REASON\r\n" for version_.
  void AppendStatusLine(unsigned code, std::string_view reason) {
    char status_line[] = "HTTP/1.1 200 ";
    status_line[5] = static_cast<char>('0' + version_ / 10);
    status_line[7] = static_cast<char>('0' + version_ % 10);
    status_line[9] = static_cast<char>('0' + code / 100);
    status_line[10] = static_cast<char>('0' + code / 10 % 10);
    status_line[11] = static_cast<char>('0' + code % 10);
    header_.assign(status_line, sizeof status_line - 1);
    header_.append(reason).append("\r\n");
  }

  // Puts res_'s status line and header fields in header_, byte for byte as Beast's own
  // serializer writes them; a plain loop costs far less than its generic buffer sequence.
  void SerializeHeader() {
    AppendStatusLine(res_.result_int(), View(res_.reason()));
    for (const auto& f : res_) {
      header_.append(View(f.name_string())).append(": ").append(View(f.value())).append("\r\n");
    }
    header_.append("\r\n");
  }

  void Shutdown() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  Socket socket_;
  HttpServer::Impl* srv_;
  DeadlineSweep* sweep_;  // of this connection's I/O thread
  // When the pending read or write must have finished (max while none is pending).
  Clock::time_point deadline_ = Clock::time_point::max();
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string header_;  // the response's serialized header, while it is written
  std::string body_;    // its body, while it is written
  std::string remote_address_;  // the peer's IP address
  bool keep_alive_ = true;
  bool head_ = false;  // the request being answered is a HEAD
  unsigned version_ = 11;
  const RouteMetrics* metrics_;  // of the route being answered
  Clock::time_point start_ = Clock::now();
};

}  // namespace

void HttpServer::Impl::DoAccept() {
  const size_t index = next_context++ % contexts.size();
  acceptor.async_accept(
      contexts[index]->get_executor(), [this, index](beast::error_code ec, Socket s) {
        if (ec) {
          if (!stopping.load() && ec != net::error::operation_aborted) {
            spdlog::warn("accept failed: {}", ec.message());
            DoAccept();
          }
          return;
        }
        beast::error_code nd;
        s.set_option(tcp::no_delay(true), nd);
        std::make_shared<HttpSession>(std::move(s), this, sweeps[index].get())->Start();
        DoAccept();
      });
}

namespace {

// Every tick, closes the sweep's connections that are past their deadline and forgets those
// that are gone.
void Sweep(DeadlineSweep* sweep) {
  sweep->timer.expires_after(sweep->tick);
  sweep->timer.async_wait([sweep](beast::error_code ec) {
    if (ec) return;  // the server is stopping
    const Clock::time_point now = Clock::now();
    auto& sessions = sweep->sessions;
    for (size_t i = 0; i < sessions.size();) {
      if (auto session = sessions[i].lock()) {
        session->CloseIfPast(now);
        ++i;
      } else {
        sessions[i] = std::move(sessions.back());
        sessions.pop_back();
      }
    }
    Sweep(sweep);
  });
}

}  // namespace

// ---------------------------------------------------------------- HttpServer

HttpServer::HttpServer(ServerOptions options, const Router* router,
                       const security::ApiKeyAuthority* auth, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, auth, metrics)) {}

HttpServer::~HttpServer() { Stop(0); }

Status HttpServer::Start() {
  Impl& s = *impl_;
  for (const auto& p : s.router->Patterns()) s.route_metrics.push_back(s.MakeMetrics(p));
  s.unmatched = s.MakeMetrics("(unmatched)");
  s.fallback = s.MakeMetrics("(fallback)");
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
  for (auto& sweep : s.sweeps) Sweep(sweep.get());
  for (auto& c : s.contexts) {
    s.keep_running.push_back(net::make_work_guard(*c));
    s.threads.emplace_back([c = c.get()] { c->run(); });
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
  net::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
  });
  auto deadline = Clock::now() + std::chrono::milliseconds(drain_ms);
  while (s.in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Give responses just handed back a moment to be written.
  std::this_thread::sleep_for(std::chrono::milliseconds(drain_ms > 0 ? 50 : 0));
  for (auto& c : s.contexts) c->stop();
  for (auto& t : s.threads) t.join();
  s.keep_running.clear();
  s.threads.clear();
}

}  // namespace cb::api
