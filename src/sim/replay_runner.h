// ReplayRunner: sends replay batches (replay.h) to a server in time order, paced at a
// chosen speed (1 = real time, 3600 = an hour a second, 0 = as fast as the server takes
// them), with progress in the log. The sending itself is a function, so tests can count
// without a network; `citybrain replay` gives it an HTTP client (http_client.h).
// Thread-safety: one runner, one thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "sim/replay.h"

namespace cb::sim {

struct ReplayStats {
  size_t batches = 0;
  size_t observations = 0;
  double seconds = 0;
  double rows_per_s = 0;
};

struct ReplayOptions {
  double speed = 0;             // 0: no pacing
  double progress_every_s = 5;  // a log line this often
};

// Sends one batch body; an error stops the replay.
using BatchSender = std::function<Status(const std::string& body)>;

Result<ReplayStats> RunReplay(const std::vector<ReplayBatch>& batches, const BatchSender& send,
                              const ReplayOptions& options);

}  // namespace cb::sim
