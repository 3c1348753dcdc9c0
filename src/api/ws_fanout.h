// WebSocketFanout: the set of WebSocket sessions a stream pushes to (alerts, cases). Each
// session gets a first message (a snapshot) when it joins, then every broadcast; a slow
// client loses messages (its session queue is full) instead of slowing the others.
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/http.h"
#include "security/auth.h"

namespace cb::api {

class WebSocketFanout {
 public:
  // How many sessions a message was queued to, and how many dropped it (queue full).
  struct Delivery {
    size_t queued = 0;
    size_t dropped = 0;
  };

  // Sends `first` to the session and adds it; closes it instead once stopped. Returns
  // whether `first` was queued.
  bool Open(std::shared_ptr<WebSocketSession> session, std::string first) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      session->Close();
      return false;
    }
    const bool queued = session->Send(std::move(first));
    sessions_.push_back(std::move(session));
    return queued;
  }
  void Close(const WebSocketSession* session) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(sessions_, [session](const auto& s) { return s.get() == session; });
  }
  Delivery Broadcast(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    Delivery d;
    for (auto& s : sessions_) {
      // Queues; a full queue drops for that client only.
      if (s->Send(message)) {
        ++d.queued;
      } else {
        ++d.dropped;
      }
    }
    return d;
  }
  // Closes every session and refuses new ones; returns false when already stopped.
  bool Stop() {
    std::vector<std::shared_ptr<WebSocketSession>> sessions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return false;
      stopped_ = true;
      sessions.swap(sessions_);
    }
    for (auto& s : sessions) s->Close();
    return true;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sessions_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<WebSocketSession>> sessions_;
  bool stopped_ = false;
};

// Registers the WebSocket route `pattern` of a stream built on WebSocketFanout: each session
// that opens goes to stream->Open(session), each that closes to stream->Close(session).
template <typename Stream>
void AddFanoutRoute(Router* router, std::string pattern, security::Permission permission,
                    Stream* stream) {
  WebSocketHandler h;
  h.on_open = [stream](std::shared_ptr<WebSocketSession> session, const HttpRequest&) {
    stream->Open(std::move(session));
  };
  h.on_close = [stream](const std::shared_ptr<WebSocketSession>& session) {
    stream->Close(session.get());
  };
  router->AddWebSocket(std::move(pattern), permission, std::move(h));
}

}  // namespace cb::api
