#include "api/notifier.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <unordered_map>

#include "api/outbound_http.h"
#include "context/ngsi_json.h"

namespace cb::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Job {
  context::PendingNotification n;
  context::HttpUrl url;
};

class Lane;

}  // namespace

struct Notifier::Impl {
  Impl(context::SubscriptionManager* s, metrics::Registry* m, const Clock* c, NotifierOptions o)
      : subs(s), clock(c), options(o), flush_timer(ioc) {
    queue_gauge = m->GetGauge("citybrain_notification_queue", "Notifications waiting to be sent");
    sent =
        m->GetCounter("citybrain_notifications_sent_total", "Notifications delivered (HTTP 2xx)");
    failed = m->GetCounter("citybrain_notifications_failed_total",
                           "Notifications not delivered after their retries");
    dropped = m->GetCounter("citybrain_notifications_dropped_total",
                            "Notifications dropped because the queue was full");
    retries =
        m->GetCounter("citybrain_notification_retries_total", "Notification delivery retries");
    duration = m->GetHistogram("citybrain_notification_duration_seconds",
                               "Time to deliver one notification, retries included");
  }

  void Dequeued() {
    size_t left = queued.fetch_sub(1) - 1;
    queue_gauge->Set(static_cast<double>(left));
  }
  std::shared_ptr<Lane> LaneFor(const context::HttpUrl& url, const std::string& sub_id);
  void ScheduleFlush();

  context::SubscriptionManager* subs;
  const Clock* clock;
  NotifierOptions options;
  metrics::Gauge* queue_gauge;
  metrics::Counter* sent;
  metrics::Counter* failed;
  metrics::Counter* dropped;
  metrics::Counter* retries;
  metrics::Histogram* duration;

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::atomic<size_t> queued{0};
  net::steady_timer flush_timer;
  // Shared with the store callback, which may run after a flush was started.
  std::shared_ptr<std::atomic<bool>> flush_in_flight = std::make_shared<std::atomic<bool>>(false);

  std::mutex mu;  // guards endpoints
  std::unordered_map<std::string, std::vector<std::shared_ptr<Lane>>> endpoints;
};

namespace {

// One keep-alive connection to one endpoint, sending its queue one notification at a
// time. Every member is touched only on the lane's strand.
class Lane : public std::enable_shared_from_this<Lane> {
 public:
  Lane(Notifier::Impl* owner, std::string host, uint16_t port)
      : owner_(owner),
        strand_(net::make_strand(owner->ioc)),
        timer_(strand_),
        conn_(std::make_shared<OutboundConnection>(
            strand_, std::move(host), port,
            OutboundOptions{owner->options.connect_timeout_ms, owner->options.request_timeout_ms,
                            owner->options.max_response_bytes})) {}

  void Push(Job j) {
    net::post(strand_, [self = shared_from_this(), j = std::move(j)]() mutable {
      self->queue_.push_back(std::move(j));
      self->Kick();
    });
  }

  // Fails what is in flight and stops; queued notifications stay unsent.
  void Shutdown() {
    net::post(strand_, [self = shared_from_this()] {
      self->closing_ = true;
      self->timer_.cancel();
      self->conn_->Cancel();
    });
  }

  size_t pending() const { return queue_.size(); }

 private:
  void Kick() {
    if (busy_ || queue_.empty() || closing_) return;
    busy_ = true;
    const Job& j = queue_.front();
    const context::Subscription& s = *j.n.subscription;
    notified_at_ = owner_->clock->Now();
    req_ = {};
    req_.method(http::verb::post);
    req_.target(j.url.target);
    req_.version(11);
    req_.set(http::field::user_agent, "citybrain");
    bool ld = s.endpoint_accept == "application/ld+json";
    req_.set(http::field::content_type, ld ? "application/ld+json" : "application/json");
    if (!ld) {
      req_.set(http::field::link, "<" + std::string(context::kCoreContext) +
                                      ">; rel=\"http://www.w3.org/ns/json-ld#context\"; "
                                      "type=\"application/ld+json\"");
    }
    for (const auto& [k, v] : s.receiver_info) req_.set(k, v);
    req_.keep_alive(true);
    req_.body() =
        context::RenderNotification(j.n, context::NewRandomUrn("Notification"), notified_at_);
    req_.prepare_payload();
    attempt_ = 0;
    started_ = SteadyClock::now();
    Attempt();
  }

  void Attempt() {
    if (closing_) return Finish(false, "the notifier is stopping");
    conn_->Send(req_, [self = shared_from_this()](OutboundConnection::Outcome o) {
      if (!o.error.empty()) return self->Fail(std::move(o.error), true);
      const unsigned status = o.response.result_int();
      if (status >= 200 && status < 300) return self->Finish(true, "");
      self->Fail("HTTP " + std::to_string(status), status >= 500 || status == 429);
    });
  }

  void Fail(std::string reason, bool retryable) {
    const NotifierOptions& o = owner_->options;
    if (retryable && healthy_ && !closing_ && attempt_ < o.max_retries) {
      ++attempt_;
      owner_->retries->Inc();
      auto delay =
          std::chrono::milliseconds(static_cast<int64_t>(o.retry_base_ms) << (attempt_ - 1));
      timer_.expires_after(delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Attempt(); });
      return;
    }
    if (healthy_) {
      spdlog::warn("notifications to {} failing: {}", conn_->host_header(), reason);
    }
    healthy_ = false;
    Finish(false, reason);
  }

  void Finish(bool ok, const std::string& reason) {
    owner_->duration->Observe(std::chrono::duration<double>(SteadyClock::now() - started_).count());
    (ok ? owner_->sent : owner_->failed)->Inc();
    if (ok && !healthy_) spdlog::info("notifications to {} recovered", conn_->host_header());
    if (ok) healthy_ = true;
    owner_->subs->RecordDelivery(queue_.front().n.subscription->id, ok, notified_at_, reason);
    queue_.pop_front();
    owner_->Dequeued();
    busy_ = false;
    Kick();
  }

  Notifier::Impl* owner_;
  OutboundConnection::Strand strand_;
  net::steady_timer timer_;
  std::shared_ptr<OutboundConnection> conn_;
  http::request<http::string_body> req_;

  std::deque<Job> queue_;
  bool busy_ = false;
  bool closing_ = false;
  bool healthy_ = true;
  int attempt_ = 0;
  TimeMs notified_at_ = 0;
  SteadyClock::time_point started_;
};

}  // namespace

std::shared_ptr<Lane> Notifier::Impl::LaneFor(const context::HttpUrl& url,
                                              const std::string& sub_id) {
  std::string key = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
  std::lock_guard l(mu);
  auto& lanes = endpoints[key];
  if (lanes.empty()) {
    int n = std::max(1, options.lanes_per_endpoint);
    for (int i = 0; i < n; ++i) lanes.push_back(std::make_shared<Lane>(this, url.host, url.port));
  }
  return lanes[std::hash<std::string>{}(sub_id) % lanes.size()];
}

void Notifier::Impl::ScheduleFlush() {
  if (options.status_flush_interval_s <= 0) return;
  flush_timer.expires_after(std::chrono::seconds(options.status_flush_interval_s));
  flush_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopping.load()) return;
    if (!flush_in_flight->exchange(true)) {
      subs->Flush([busy = flush_in_flight](Status st) {
        if (!st.ok()) spdlog::warn("subscription status flush failed: {}", st.ToString());
        busy->store(false);
      });
    }
    ScheduleFlush();
  });
}

Notifier::Notifier(context::SubscriptionManager* subscriptions, metrics::Registry* metrics,
                   const Clock* clock, NotifierOptions options)
    : impl_(std::make_shared<Impl>(subscriptions, metrics, clock, options)) {}

Notifier::~Notifier() { Stop(0); }

Status Notifier::Start() {
  Impl& s = *impl_;
  if (s.thread.joinable()) return Status::Ok();
  s.work.emplace(net::make_work_guard(s.ioc));
  s.ScheduleFlush();
  s.running.store(true);
  s.thread = std::thread([&s] {
    s.ioc.run();
    s.running.store(false);
  });
  return Status::Ok();
}

void Notifier::Stop(int drain_ms) {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(drain_ms);
  while (s.thread.joinable() && s.queued.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (size_t left = s.queued.load(); left > 0) {
    spdlog::warn("notifier stopping with {} notifications unsent", left);
  }
  {
    std::lock_guard l(s.mu);
    for (auto& [key, lanes] : s.endpoints) {
      for (auto& lane : lanes) lane->Shutdown();
    }
  }
  net::post(s.ioc, [&s] { s.flush_timer.cancel(); });
  s.work.reset();
  if (!s.thread.joinable()) return;
  // Cancelled operations finish promptly; stop hard if something does not.
  auto hard = SteadyClock::now() + std::chrono::milliseconds(1000);
  while (s.running.load() && SteadyClock::now() < hard) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  s.ioc.stop();
  s.thread.join();
}

bool Notifier::Offer(context::PendingNotification n) {
  Impl& s = *impl_;
  if (s.stopping.load()) {
    s.dropped->Inc();
    return false;
  }
  auto url = context::ParseHttpUrl(n.subscription->endpoint_uri);
  if (!url.ok() || url->scheme != "http") {
    s.failed->Inc();
    return false;
  }
  size_t before = s.queued.fetch_add(1);
  if (before >= s.options.max_queue) {
    s.queued.fetch_sub(1);
    s.dropped->Inc();
    return false;
  }
  s.queue_gauge->Set(static_cast<double>(before + 1));
  std::shared_ptr<Lane> lane = s.LaneFor(*url, n.subscription->id);
  lane->Push(Job{std::move(n), std::move(url).value()});
  return true;
}

size_t Notifier::queued() const { return impl_->queued.load(); }

}  // namespace cb::api
