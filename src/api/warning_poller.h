// WarningPoller: polls warning feeds over HTTP (`citybrain serve --warning-feed URL`) and
// hands every CAP alert it finds to a CapWarningSink, which turns it into alerts.
//
// A feed URL serves either one CAP 1.2 document or an Atom feed. In a feed, an entry's CAP
// <alert> is taken from the entry itself (inline, or inside <content>) or, failing that,
// fetched from the entry's link (type application/cap+xml first; relative links resolve
// against the feed). An entry whose id and <updated> were handled before is not fetched
// again; the sink's own deduplication makes a warning seen twice harmless anyway.
//
//  - Each feed is polled at once on Start, then every `interval_s` after the end of the
//    previous poll. Up to `max_redirects` redirects are followed.
//  - Failures (connect errors, timeouts, HTTP statuses other than 200, a document that is
//    neither CAP nor Atom, a linked CAP document that cannot be fetched) are logged — the
//    first of a run as a warning, the recovery as info — and counted; the next poll waits
//    twice as long each time (interval × 2, × 4 … up to max_backoff_s). A document refused
//    as bad CAP is logged and counted, not retried until its entry changes. Nothing stops
//    the server.
//  - Metrics, labelled feed="<url>": citybrain_warning_polls_total,
//    citybrain_warning_poll_failures_total, citybrain_warning_documents_refused_total, and
//    the gauge citybrain_warning_feed_failing (consecutive failed polls).
//  - Only http:// URLs: the outbound client has no TLS (put a proxy in front of an https
//    feed).
// Thread-safety: Start and Stop from one thread; the poller runs on its own I/O thread and
// calls the sink there.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alerts/cap_intake.h"
#include "core/metrics.h"
#include "core/status.h"

namespace cb::api {

struct WarningPollerOptions {
  std::vector<std::string> feeds;  // http:// URLs
  int interval_s = 300;
  int max_backoff_s = 3600;
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 30000;
  size_t max_document_bytes = 8 * 1024 * 1024;
  int max_redirects = 3;
};

class WarningPoller {
 public:
  // kBadRequestData naming a feed URL that is not a valid http:// URL, or no feed at all.
  static Result<std::unique_ptr<WarningPoller>> Create(WarningPollerOptions options,
                                                       alerts::CapWarningSink* sink,
                                                       metrics::Registry* metrics);
  ~WarningPoller();
  WarningPoller(const WarningPoller&) = delete;
  WarningPoller& operator=(const WarningPoller&) = delete;

  Status Start();
  // Abandons what is in flight and joins the I/O thread. Idempotent.
  void Stop();

  struct Impl;  // internal to warning_poller.cc

 private:
  explicit WarningPoller(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cb::api
