// A minimal HTTP receiver on loopback for the integration tests: it stands in for
// subscribers and webhook endpoints and records every request it gets.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_server.h"

namespace cb::testing {

// A minimal keep-alive HTTP server recording every POST it gets. The first `fail_first`
// requests are answered 503.
class Receiver {
 public:
  explicit Receiver(int fail_first = 0) : fail_first_(fail_first) {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~Receiver() {
    stop_.store(true);
    {
      net::io_context c;
      tcp::socket s(c);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    }
    accept_thread_.join();
    {
      std::lock_guard l(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conn_threads_) t.join();
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  struct Got {
    std::string target;
    std::string content_type;
    std::string link;
    std::string body;
  };
  std::vector<Got> Received() {
    std::lock_guard l(mu_);
    return got_;
  }
  int requests() {
    std::lock_guard l(mu_);
    return requests_;
  }
  int connections() {
    std::lock_guard l(mu_);
    return connections_;
  }
  // Waits until at least `n` entities arrived in notifications.
  bool WaitForItems(size_t n, std::chrono::seconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return items_ >= n; });
  }
  // Waits until pred() (called under the lock with the received list) holds.
  bool WaitFor(const std::function<bool(const std::vector<Got>&)>& pred,
               std::chrono::seconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return pred(got_); });
  }

 private:
  void AcceptLoop() {
    for (;;) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (stop_.load()) return;
      if (ec) continue;
      std::lock_guard l(mu_);
      ++connections_;
      open_fds_.insert(s.native_handle());
      conn_threads_.emplace_back([this, s = std::move(s)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(tcp::socket s) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(s, buf, req, ec);
      if (ec) break;
      auto status = http::status::no_content;
      {
        std::lock_guard l(mu_);
        ++requests_;
        if (failed_ < fail_first_) {
          ++failed_;
          status = http::status::service_unavailable;
        } else {
          got_.push_back({std::string(req.target()), std::string(req[http::field::content_type]),
                          std::string(req[http::field::link]), req.body()});
          // Entities in the data array: every "id" but the notification's own.
          size_t ids = 0;
          for (size_t pos = 0; (pos = req.body().find("\"id\":", pos)) != std::string::npos;
               ++pos) {
            ++ids;
          }
          items_ += ids > 0 ? ids - 1 : 0;
        }
      }
      cv_.notify_all();
      http::response<http::empty_body> res{status, req.version()};
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    std::lock_guard l(mu_);
    open_fds_.erase(s.native_handle());
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  int port_ = 0;
  int fail_first_;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> conn_threads_;
  std::set<int> open_fds_;
  std::vector<Got> got_;
  int requests_ = 0;
  int failed_ = 0;
  int connections_ = 0;
  size_t items_ = 0;
};

}  // namespace cb::testing
