// PeriodicThread: runs a function on its own thread every `period_ms` (first at once) until
// Stop. The stream engines' decision cycles and the alert escalation clock use it.
// Thread-safety: Start and Stop from one owner thread; Stop is idempotent and waits for a
// run in progress to finish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace cb {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Start(int64_t period_ms, std::function<void()> fn) {
    Stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = false;
    }
    thread_ = std::thread([this, period_ms, fn = std::move(fn)] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_) {
        lock.unlock();
        fn();
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(period_ms), [this] { return stopping_; });
      }
    });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cb
