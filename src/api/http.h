// The HTTP side of CityBrain: a Boost.Beast server with keep-alive, request limits and
// timeouts; a Router that maps method + path pattern to a handler and declares the
// Permission each route needs (deny by default); and WebSocket endpoints.
// Handlers answer through a Responder that may be called later from any thread (for
// example after a durable commit); the connection waits for it.
// Thread-safety: Router is built before Start and read-only after; HttpServer methods are
// safe from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
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

struct HttpRequest {
  std::string method;
  std::string path;                                   // percent-decoded, no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::map<std::string, std::string> params;          // from {name} path segments
  std::string body;
  std::shared_ptr<const security::Principal> principal;  // set when a valid key came with it

  // First query parameter with this name, or nullptr.
  const std::string* Query(std::string_view name) const;
  // Header by lower-case name, or empty.
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

class Router {
 public:
  // `pattern` segments like "/ngsi-ld/v1/entities/{entityId}" capture one segment each;
  // a final "{rest...}" captures the remainder of the path.
  void Add(std::string method, std::string pattern, security::Permission permission,
           Handler handler);
  void AddWebSocket(std::string pattern, security::Permission permission, WebSocketHandler h);

  struct Match {
    const Handler* handler = nullptr;
    const WebSocketHandler* ws = nullptr;
    security::Permission permission = security::Permission::kAdmin;
    std::string route;              // the pattern, for metrics labels
    bool path_known = false;        // some route has this path (so 405, not 404)
    std::vector<std::string> allowed_methods;
  };
  Match Find(std::string_view method, std::string_view path,
             std::map<std::string, std::string>* params) const;
  std::vector<std::string> Patterns() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string pattern;
    security::Permission permission;
    Handler handler;
    std::shared_ptr<WebSocketHandler> ws;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 1026;  // 0: pick a free port
  int threads = 2;
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int request_timeout_s = 30;  // to receive one whole request, keep-alive wait included
  size_t ws_max_queue = 10000; // messages buffered per WebSocket before dropping
};

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
