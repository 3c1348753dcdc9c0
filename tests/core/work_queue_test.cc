#include "core/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace cb {
namespace {

TEST(WorkQueueTest, RunsJobsOffTheCallersThread) {
  WorkQueue q(2, 16);
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(q.Post([&] { ran.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(WorkQueueTest, RefusesWhenFullAndRunsWhatIsQueuedAtStop) {
  WorkQueue q(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> done{0};
  std::promise<void> started;
  ASSERT_TRUE(q.Post([&] {
    started.set_value();
    gate.wait();
    ++done;
  }));
  started.get_future().wait();  // the only thread is busy now
  EXPECT_TRUE(q.Post([&] { ++done; }));
  EXPECT_TRUE(q.Post([&] { ++done; }));
  EXPECT_FALSE(q.Post([&] { ++done; }));  // two wait already
  release.set_value();
  q.Stop();
  EXPECT_EQ(done.load(), 3);
  EXPECT_FALSE(q.Post([&] { ++done; }));  // stopped
}

}  // namespace
}  // namespace cb
