#include "sim/replay_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

namespace cb::sim {

Result<ReplayStats> RunReplay(const std::vector<ReplayBatch>& batches, const BatchSender& send,
                              const ReplayOptions& options) {
  using Clock = std::chrono::steady_clock;
  ReplayStats stats;
  const auto start = Clock::now();
  auto last_log = start;
  const TimeMs first = batches.empty() ? 0 : batches.front().at;
  for (const ReplayBatch& b : batches) {
    if (options.speed > 0) {
      // When this batch is due: its data time since the first, divided by the speed.
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double, std::milli>(
                                       static_cast<double>(b.at - first) / options.speed));
      std::this_thread::sleep_until(due);
    }
    Status st = send(b.body);
    if (!st.ok()) {
      return Status(st.code(), "replay stopped at " + FormatIso8601(b.at) + " after " +
                                   std::to_string(stats.observations) + " observations: " +
                                   st.message());
    }
    ++stats.batches;
    stats.observations += b.count;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_log).count() >= options.progress_every_s) {
      last_log = now;
      spdlog::info("replay: {} of {} batches, {} observations, data time {}", stats.batches,
                   batches.size(), stats.observations, FormatIso8601(b.at));
    }
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stats.rows_per_s = stats.seconds > 0 ? static_cast<double>(stats.observations) / stats.seconds : 0;
  return stats;
}

}  // namespace cb::sim
