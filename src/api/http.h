// The HTTP side of CityBrain: a Boost.Beast server with keep-alive, request limits and
// timeouts; a Router that maps method + path pattern to a handler and declares the
// Permission each route needs (deny by default); and WebSocket endpoints.
// Handlers answer through a Responder that may be called later from any thread (for
// example after a durable commit); the connection waits for it.
// Thread-safety: Router is built before Start and read-only after; HttpServer methods are
// safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/status.h"
#include "security/auth.h"

namespace cb::api {

// Values captured by a route's {name} and {rest...} path segments, in pattern order.
// At most kMax values, held inline: filling it allocates only for long values.
// Thread-safety: a value type; one request's own object.
class PathParams {
 public:
  static constexpr size_t kMax = 4;  // the most captures a route pattern may have

  // The value captured for `name`, or an empty string when the route has no such segment.
  const std::string& operator[](std::string_view name) const;
  bool contains(std::string_view name) const;
  size_t size() const { return size_; }
  // Appends a capture; `name` must outlive this object (the Router's patterns do).
  void Add(std::string_view name, std::string value);

 private:
  std::array<std::string_view, kMax> names_{};
  std::array<std::string, kMax> values_{};
  size_t size_ = 0;
};

// One HTTP request as handlers see it. `method`, `path` and `headers` are views into the
// connection's parsed request and stay valid while the handler runs: a handler that
// answers later copies what it needs.
// Thread-safety: none; one request's own object.
struct HttpRequest {
  std::string_view method;
  std::string_view path;                                   // raw (not decoded), no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  // Names as sent (Header() matches them case-insensitively).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  PathParams params;                                       // from {name} path segments
  std::string body;
  std::shared_ptr<const security::Principal> principal;  // set when a valid key came with it
  std::string remote_address;  // the peer's IP address (for audit logs)

  // First query parameter with this name, or nullptr.
  const std::string* Query(std::string_view name) const;
  // Header by lower-case name (matched case-insensitively), or empty.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&, Responder)>;

// A WebSocket connection as handlers see it.
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;
  // Queues a text message. Returns false when the session's outbound queue is full (the
  // message is dropped and counted) or the session is closed.
  virtual bool Send(std::string text) = 0;
  virtual void Close() = 0;
};

struct WebSocketHandler {
  // Called once the upgrade succeeded; the handler keeps the session (weakly or strongly).
  std::function<void(std::shared_ptr<WebSocketSession>, const HttpRequest&)> on_open;
  std::function<void(const std::shared_ptr<WebSocketSession>&, std::string_view)> on_message;
  std::function<void(const std::shared_ptr<WebSocketSession>&)> on_close;
};

// Maps method + path to a route. Matching walks the path segment by segment without
// copying it; only the route that matches fills PathParams.
// Thread-safety: Add* before the server starts; Find and Patterns from any thread after.
class Router {
 public:
  // `pattern` segments like "/ngsi-ld/v1/entities/{entityId}" capture one segment each;
  // a final "{rest...}" captures the remainder of the path. At most PathParams::kMax
  // captures per pattern.
  void Add(std::string method, std::string pattern, security::Permission permission,
           Handler handler);
  void AddWebSocket(std::string pattern, security::Permission permission, WebSocketHandler h);

  static constexpr size_t kNoRoute = static_cast<size_t>(-1);
  struct Match {
    const Handler* handler = nullptr;
    const WebSocketHandler* ws = nullptr;
    security::Permission permission = security::Permission::kAdmin;
    std::string_view route;         // the pattern, for metrics labels; empty when none
    size_t index = kNoRoute;        // the route's position in Patterns()
    bool path_known = false;        // some route has this path (so 405, not 404)
    std::vector<std::string> allowed_methods;  // filled when path_known and no route matched
  };
  // The first route with this method and path; its captures go to `params`.
  Match Find(std::string_view method, std::string_view path, PathParams* params) const;
  // Every route's pattern, in the order routes were added (Match::index counts in it).
  std::vector<std::string> Patterns() const;

  // The handler of requests whose path no route has (a path known under another method
  // still gets 405). It runs without authentication, so it serves only public content and
  // answers 404 itself for what it does not serve (e.g. the web dashboard's files).
  void SetFallback(Handler handler) { fallback_ = std::move(handler); }
  const Handler* fallback() const { return fallback_ ? &fallback_ : nullptr; }

 private:
  struct Segment {
    enum class Kind { kLiteral, kParam, kRest } kind;
    std::string text;  // the literal, or the capture's name
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    std::string pattern;
    security::Permission permission;
    Handler handler;
    std::shared_ptr<WebSocketHandler> ws;
  };
  void AddRoute(Route route);
  // Whether `path` fits the route; when it does and `params` is set, fills it.
  static bool Matches(const Route& r, std::string_view path, PathParams* params);
  std::vector<Route> routes_;
  Handler fallback_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 1026;  // 0: pick a free port
  int threads = 2;       // I/O threads; each serves its own share of the connections
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int request_timeout_s = 30;  // to receive one whole request, keep-alive wait included
  size_t ws_max_queue = 10000; // messages buffered per WebSocket before dropping
  // How often an open WebSocket's key or session is checked again: one revoked (signed
  // out) or expired since the upgrade closes the socket (1008, policy). 0: never.
  int ws_recheck_ms = 5000;
};

// Serves a Router over HTTP/1.1 and WebSocket. Connections are spread over the I/O
// threads as they are accepted and stay on theirs: a handler that blocks holds up only
// the connections of its thread (answer slow work through the Responder instead).
// Thread-safety: methods are safe from any thread.
class HttpServer {
 public:
  HttpServer(ServerOptions options, const Router* router,
             const security::ApiKeyAuthority* auth, metrics::Registry* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops accepting, lets in-flight requests finish for up to `drain_ms`, then stops.
  void Stop(int drain_ms = 5000);

  struct Impl;  // internal to http_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a URL component ("+" stays "+" in paths; in queries pass plus_is_space).
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace cb::api
