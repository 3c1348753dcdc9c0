// Notifier: sends NGSI-LD notifications over HTTP (Boost.Beast client) for the
// SubscriptionManager, without ever blocking ingestion.
//
// Flow: SubscriptionManager::OnChanges (store completion thread) → Offer() → a bounded queue →
// the notifier's own I/O thread renders the payload and POSTs it to the endpoint.
//
//  - Queue policy: at most `max_queue` notifications wait across all endpoints. When the
//    queue is full the *incoming* notification is dropped (drop-newest: what is queued
//    keeps its order), counted in citybrain_notifications_dropped_total and reported on
//    the subscription as a failure (timesFailed, lastFailure).
//  - Connections: each endpoint (scheme, host, port) gets `lanes_per_endpoint` keep-alive
//    connections. A subscription always uses the same lane, so its notifications arrive
//    in order; different subscriptions to one endpoint proceed in parallel.
//  - Failures: connect/IO errors, timeouts, HTTP 5xx and 429 are retried up to
//    `max_retries` times with exponential back-off (retry_base_ms, ×2 each time). Other
//    statuses (4xx) fail at once. A lane whose last notification failed after its retries
//    tries later notifications once each until one succeeds, so a dead receiver cannot
//    hold the queue for long.
//  - Metrics: citybrain_notification_queue (gauge), citybrain_notifications_sent_total,
//    citybrain_notifications_failed_total, citybrain_notifications_dropped_total,
//    citybrain_notification_retries_total, citybrain_notification_duration_seconds.
//  - Stop: waits up to `drain_ms` for the queue to empty; what is still queued then is
//    lost (and logged). Delivery status is flushed to the store every
//    `status_flush_interval_s` and should be flushed once more after Stop.
// Thread-safety: Offer() is safe from any thread and never blocks on the network;
// Start/Stop from one thread.
#pragma once

#include <memory>

#include "context/subscriptions.h"
#include "core/metrics.h"
#include "core/status.h"
#include "core/time.h"

namespace cb::api {

struct NotifierOptions {
  size_t max_queue = 10000;    // notifications waiting, all endpoints together
  int lanes_per_endpoint = 2;  // keep-alive connections per endpoint
  int connect_timeout_ms = 3000;
  int request_timeout_ms = 5000;  // write the request and read the whole response
  int max_retries = 3;
  int retry_base_ms = 200;           // back-off: 200, 400, 800 ms
  int status_flush_interval_s = 10;  // delivery status → store; 0: never (Flush yourself)
  size_t max_response_bytes = 64 * 1024;
};

class Notifier final : public context::NotificationSink {
 public:
  Notifier(context::SubscriptionManager* subscriptions, metrics::Registry* metrics,
           const Clock* clock, NotifierOptions options = {});
  ~Notifier() override;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Starts the I/O thread. Offer() before Start() queues; nothing is sent until then.
  Status Start();
  // Refuses new notifications, drains for up to `drain_ms`, then stops the thread.
  void Stop(int drain_ms = 3000);

  bool Offer(context::PendingNotification n) override;
  size_t queued() const;

  struct Impl;  // internal to notifier.cc

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace cb::api
