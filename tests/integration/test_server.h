// Test harness: starts the real `citybrain` binary on a free loopback port with a fresh
// data directory, and a small keep-alive HTTP client to talk to it.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"

namespace cb::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// The value of an unlabelled metric in Prometheus text; -1 when absent.
inline double Metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

inline int FreePort() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  char* p = mkdtemp(tmpl.data());
  return p ? std::string(p) : std::string();
}

struct Response {
  int status = 0;
  std::string body;
  http::fields headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : std::string(it->value());
  }
};

// One keep-alive connection. Reconnects when the server closed it.
class HttpClient {
 public:
  HttpClient(int port, std::string api_key)
      : ioc_(std::make_unique<net::io_context>()), port_(port), key_(std::move(api_key)) {}

  Response Request(http::verb method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json",
                   std::vector<std::pair<std::string, std::string>> headers = {},
                   bool with_key = true) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!stream_) Connect();
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (with_key && !key_.empty()) req.set("X-Api-Key", key_);
        if (!body.empty()) req.set(http::field::content_type, content_type);
        for (auto& [k, v] : headers) req.set(k, v);
        req.body() = body;
        req.prepare_payload();
        http::write(*stream_, req);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> parser;
        parser.body_limit(256 * 1024 * 1024);
        http::read(*stream_, buf, parser);
        auto res = parser.release();
        Response out;
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
        out.headers = res.base();
        if (!res.keep_alive()) stream_.reset();
        return out;
      } catch (const std::exception&) {
        stream_.reset();
        if (attempt == 1) throw;
      }
    }
    return {};
  }
  Response Get(const std::string& t) { return Request(http::verb::get, t); }
  Response Post(const std::string& t, const std::string& b,
                const std::string& ct = "application/json") {
    return Request(http::verb::post, t, b, ct);
  }
  Response Patch(const std::string& t, const std::string& b) {
    return Request(http::verb::patch, t, b);
  }
  Response Delete(const std::string& t) { return Request(http::verb::delete_, t); }

 private:
  void Connect() {
    stream_.emplace(*ioc_);
    stream_->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  }
  std::unique_ptr<net::io_context> ioc_;  // heap-held so the client can move
  int port_;
  std::string key_;
  std::optional<beast::tcp_stream> stream_;
};

// A WebSocket client of the server (the dashboard's side of /ws/...).
class WsClient {
 public:
  // Connects and upgrades; throws on failure (e.g. 401). `key` goes in X-Api-Key; a
  // browser's way is to offer it as a subprotocol in `protocols` instead.
  WsClient(int port, const std::string& key, const std::string& target,
           const std::string& protocols = "")
      : ws_(ioc_) {
    ws_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws_.set_option(
        websocket::stream_base::decorator([key, protocols](websocket::request_type& req) {
          if (!key.empty()) req.set("X-Api-Key", key);
          if (!protocols.empty()) req.set(http::field::sec_websocket_protocol, protocols);
        }));
    websocket::response_type res;
    ws_.handshake(res, "127.0.0.1:" + std::to_string(port), target);
    accepted_protocol_ = std::string(res[http::field::sec_websocket_protocol]);
  }
  // The subprotocol the server chose ("" when none).
  const std::string& accepted_protocol() const { return accepted_protocol_; }
  // The next message, or nullopt after `timeout` (or when the server closed).
  std::optional<std::string> Read(std::chrono::milliseconds timeout) {
    beast::flat_buffer buf;
    bool done = false;
    beast::error_code err;
    ws_.async_read(buf, [&](beast::error_code ec, size_t) {
      done = true;
      err = ec;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!done) {
      ws_.next_layer().cancel();
      ioc_.restart();
      ioc_.run();
      return std::nullopt;
    }
    if (err) {
      if (err == websocket::error::closed) {
        closed_ = true;
        close_code_ = ws_.reason().code;
        close_reason_ = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
      }
      return std::nullopt;
    }
    return beast::buffers_to_string(buf.data());
  }
  // Whether a Read saw the server close the socket, and the code and reason it gave.
  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }

 private:
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
  std::string accepted_protocol_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string close_reason_;
};

// The citybrain binary as a child process.
class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir = "", std::vector<std::string> extra = {})
      : data_dir_(data_dir.empty() ? MakeTempDir("citybrain-it") : data_dir),
        extra_(std::move(extra)) {}
  ~ServerProcess() {
    Stop(SIGKILL);
  }

  // Starts and waits until /health answers. Returns false on failure.
  bool Start(int port = 0) {
    port_ = port ? port : FreePort();
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = data_dir_ + "/server.log";
      FILE* f = freopen(log.c_str(), "a", stderr);
      (void)f;
      f = freopen(log.c_str(), "a", stdout);
      std::vector<std::string> args = {CITYBRAIN_BINARY, "serve", "--data", data_dir_,
                                       "--port", std::to_string(port_)};
      args.insert(args.end(), extra_.begin(), extra_.end());
      // No web dashboard unless a test asks for one: a built web/dist must not change what
      // unknown paths answer.
      if (std::find(extra_.begin(), extra_.end(), "--web") == extra_.end()) {
        args.insert(args.end(), {"--web", ""});
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      try {
        HttpClient c(port_, "");
        if (c.Get("/health").status == 200) {
          std::ifstream k(data_dir_ + "/admin.key");
          std::getline(k, admin_key_);
          return true;
        }
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Sends `sig` and waits for the exit; returns the wait status.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return 0;
    kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return st;
  }

  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& admin_key() const { return admin_key_; }
  HttpClient Client() const { return HttpClient(port_, admin_key_); }
  std::string Log() const {
    std::ifstream f(data_dir_ + "/server.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  std::string data_dir_;
  std::vector<std::string> extra_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string admin_key_;
};

// A response body as JSON (a test failure when it is not JSON).
inline JsonValue Json(const std::string& s) {
  auto r = ParseJson(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? std::move(r).value() : JsonValue();
}

// Polls GET `target` until `done` holds for its JSON (at most 10 s); a test failure when it
// never does.
inline JsonValue WaitForJson(HttpClient& c, const std::string& target,
                             const std::function<bool(const JsonValue&)>& done) {
  JsonValue last;
  for (int i = 0; i < 200; ++i) {
    Response r = c.Get(target);
    EXPECT_EQ(r.status, 200) << r.body;
    last = Json(r.body);
    if (done(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "timed out waiting on " << target << ": " << last.Dump();
  return last;
}

// Runs the citybrain binary with `args` (stderr with stdout); its exit code and output.
struct CommandResult {
  int exit_code;
  std::string output;
};

inline CommandResult RunCitybrain(const std::string& args) {
  std::string cmd = std::string(CITYBRAIN_BINARY) + " " + args + " 2>&1";
  CommandResult r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (fgets(buf, sizeof buf, p)) r.output += buf;
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace cb::testing
