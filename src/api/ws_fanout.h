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

namespace cb::api {

class WebSocketFanout {
 public:
  // Sends `first` to the session and adds it; closes it instead once stopped.
  void Open(std::shared_ptr<WebSocketSession> session, std::string first) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      session->Close();
      return;
    }
    session->Send(std::move(first));
    sessions_.push_back(std::move(session));
  }
  void Close(const WebSocketSession* session) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(sessions_, [session](const auto& s) { return s.get() == session; });
  }
  void Broadcast(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : sessions_) s->Send(message);  // queues; a full queue drops for that client only
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

}  // namespace cb::api
