// Ticker: calls a function on a thread of its own every `period`, from Start until Stop
// (first at once). For work that is due on a clock: expiries, escalations, sweeps.
// Thread-safety: Start and Stop from one thread (Stop is idempotent and also run by the
// destructor); the function runs on the ticker's thread, never twice at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace cb {

class Ticker {
 public:
  Ticker(std::function<void()> fn, std::chrono::milliseconds period)
      : fn_(std::move(fn)), period_(period) {}
  ~Ticker() { Stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  void Start();
  // Waits for a call in progress to end; no call starts after.
  void Stop();

 private:
  std::function<void()> fn_;
  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cb
