#include "api/warning_poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "api/outbound_http.h"

namespace cb::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// One feed: its own strand, timer and connections; polls, fetches linked documents one at a
// time, and schedules the next poll. Every member is touched only on the strand.
class Feed : public std::enable_shared_from_this<Feed> {
 public:
  Feed(net::io_context& ioc, context::HttpUrl url, const WarningPollerOptions& options,
       alerts::CapWarningSink* sink, metrics::Registry* m)
      : strand_(net::make_strand(ioc)),
        timer_(strand_),
        url_(std::move(url)),
        name_(FormatHttpUrl(url_)),
        options_(options),
        sink_(sink) {
    const std::string label = metrics::Label("feed", name_);
    polls_ = m->GetCounter("citybrain_warning_polls_total", "Polls of warning feeds", label);
    failures_ = m->GetCounter("citybrain_warning_poll_failures_total",
                              "Polls of warning feeds that failed", label);
    refused_ = m->GetCounter("citybrain_warning_documents_refused_total",
                             "CAP documents from warning feeds refused as bad", label);
    failing_ = m->GetGauge("citybrain_warning_feed_failing",
                           "Consecutive failed polls of a warning feed", label);
  }

  void Start() {
    net::post(strand_, [self = shared_from_this()] { self->Poll(); });
  }

 private:
  struct Link {
    std::string entry_key;
    context::HttpUrl url;
  };
  using Fetched = std::function<void(Result<std::string>)>;

  void Poll() {
    polls_->Inc();
    poll_error_.clear();
    Fetch(url_, 0, [self = shared_from_this()](Result<std::string> body) {
      self->OnFeed(std::move(body));
    });
  }

  std::shared_ptr<OutboundConnection> ConnectionFor(const context::HttpUrl& u) {
    auto& c = conns_[u.host + ":" + std::to_string(u.port)];
    if (c == nullptr) {
      c = std::make_shared<OutboundConnection>(
          strand_, u.host, u.port,
          OutboundOptions{options_.connect_timeout_ms, options_.request_timeout_ms,
                          options_.max_document_bytes});
    }
    return c;
  }

  // GETs `u` (following redirects); `done` gets the body of a 200, or why there is none.
  void Fetch(const context::HttpUrl& u, int redirects, Fetched done) {
    if (u.scheme != "http") {
      return done(Status::Unsupported(FormatHttpUrl(u) + ": only http:// is supported"));
    }
    OutboundConnection::Request req{http::verb::get, u.target, 11};
    req.set(http::field::user_agent, "citybrain");
    req.set(http::field::accept,
            "application/cap+xml, application/atom+xml;q=0.9, application/xml;q=0.8, */*;q=0.1");
    req.keep_alive(true);
    ConnectionFor(u)->Send(std::move(req), [self = shared_from_this(), u, redirects,
                                            done = std::move(done)](OutboundConnection::Outcome o) {
      const std::string where = FormatHttpUrl(u);
      if (!o.error.empty()) return done(Status::Unavailable(where + ": " + o.error));
      const unsigned status = o.response.result_int();
      const auto location = o.response.find(http::field::location);
      if (status >= 300 && status < 400 && location != o.response.end() &&
          redirects < self->options_.max_redirects) {
        auto next = ResolveHref(u, std::string(location->value()));
        if (!next.ok()) return done(Status::Unavailable(where + ": bad redirect: " + next.status().message()));
        return self->Fetch(*next, redirects + 1, done);
      }
      if (status != 200) return done(Status::Unavailable(where + ": HTTP " + std::to_string(status)));
      done(std::move(o.response.body()));
    });
  }

  void Deliver(const alerts::CapAlert& a) {
    auto r = sink_->Receive(a, name_);
    if (!r.ok()) {
      spdlog::warn("warning {} from {} not taken in: {}", a.identifier, name_, r.status().ToString());
    }
  }

  void Refused(const std::string& what, const Status& why) {
    refused_->Inc();
    spdlog::warn("warning feed {}: {} refused: {}", name_, what, why.message());
  }

  void OnFeed(Result<std::string> body) {
    if (!body.ok()) return Finished(body.status().message());
    auto doc = alerts::ParseCapDocument(*body);
    if (!doc.ok()) {
      refused_->Inc();
      return Finished("the document is neither CAP 1.2 nor an Atom feed: " + doc.status().message());
    }
    if (doc->alert) {
      Deliver(*doc->alert);
      return Finished("");
    }
    std::set<std::string> current;
    for (alerts::CapFeedEntry& e : doc->entries) {
      const std::string key = (e.id.empty() ? e.title : e.id) + "|" + e.updated;
      current.insert(key);
      if (seen_.count(key) != 0) continue;
      if (e.embedded) {
        if (e.embedded->ok()) {
          Deliver(**e.embedded);
        } else {
          Refused("entry " + e.id, e.embedded->status());
        }
        seen_.insert(key);
        continue;
      }
      if (e.links.empty()) {
        Refused("entry " + e.id, Status::BadRequestData("it has neither a CAP alert nor a link"));
        seen_.insert(key);
        continue;
      }
      auto link = ResolveHref(url_, e.links.front());
      if (!link.ok()) {
        Refused("entry " + e.id, link.status());
        seen_.insert(key);
        continue;
      }
      links_.push_back({key, std::move(link).value()});
    }
    // Entries gone from the feed are forgotten.
    std::erase_if(seen_, [&](const std::string& k) { return current.count(k) == 0; });
    FetchNextLink();
  }

  void FetchNextLink() {
    if (links_.empty()) return Finished(poll_error_);
    Link link = std::move(links_.front());
    links_.pop_front();
    Fetch(link.url, 0, [self = shared_from_this(), link](Result<std::string> body) {
      if (!body.ok()) {
        // Not marked as seen: tried again at the next poll.
        if (self->poll_error_.empty()) self->poll_error_ = body.status().message();
      } else {
        auto alert = alerts::ParseCap(*body);
        if (alert.ok()) {
          self->Deliver(*alert);
        } else {
          self->Refused(FormatHttpUrl(link.url), alert.status());
        }
        self->seen_.insert(link.entry_key);
      }
      self->FetchNextLink();
    });
  }

  // Ends a poll (`error` empty: it worked) and schedules the next one.
  void Finished(const std::string& error) {
    links_.clear();
    int64_t delay_s = options_.interval_s;
    if (error.empty()) {
      if (failing_runs_ > 0) spdlog::info("warning feed {} recovered", name_);
      failing_runs_ = 0;
    } else {
      failures_->Inc();
      if (failing_runs_ == 0) {
        // A failure of the feed itself names it already.
        const std::string own = name_ + ": ";
        spdlog::warn("warning feed {} failing: {}", name_,
                     error.rfind(own, 0) == 0 ? error.substr(own.size()) : error);
      }
      ++failing_runs_;
      const int64_t cap = std::max<int64_t>(options_.interval_s, options_.max_backoff_s);
      delay_s = std::min<int64_t>(cap, int64_t{options_.interval_s} << std::min(failing_runs_, 20));
    }
    failing_->Set(failing_runs_);
    timer_.expires_after(std::chrono::seconds(delay_s));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Poll();
    });
  }

  OutboundConnection::Strand strand_;
  net::steady_timer timer_;
  context::HttpUrl url_;
  std::string name_;
  const WarningPollerOptions& options_;
  alerts::CapWarningSink* sink_;
  metrics::Counter* polls_;
  metrics::Counter* failures_;
  metrics::Counter* refused_;
  metrics::Gauge* failing_;

  std::map<std::string, std::shared_ptr<OutboundConnection>> conns_;  // by host:port
  std::set<std::string> seen_;  // entries handled: "<id>|<updated>"
  std::deque<Link> links_;      // linked documents still to fetch in this poll
  std::string poll_error_;      // the first failure of this poll
  int failing_runs_ = 0;
};

}  // namespace

struct WarningPoller::Impl {
  WarningPollerOptions options;
  net::io_context ioc;
  std::vector<std::shared_ptr<Feed>> feeds;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  bool stopped = false;
};

Result<std::unique_ptr<WarningPoller>> WarningPoller::Create(WarningPollerOptions options,
                                                             alerts::CapWarningSink* sink,
                                                             metrics::Registry* metrics) {
  if (options.feeds.empty()) return Status::BadRequestData("no warning feed given");
  if (options.interval_s < 1) return Status::BadRequestData("the poll interval must be at least 1 s");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  for (const std::string& f : impl->options.feeds) {
    auto url = context::ParseHttpUrl(f, "warning feed " + f);
    if (!url.ok()) return url.status();
    if (url->scheme != "http") {
      return Status::BadRequestData("warning feed " + f +
                                    ": only http:// is supported (no TLS yet; use a proxy)");
    }
    impl->feeds.push_back(
        std::make_shared<Feed>(impl->ioc, std::move(url).value(), impl->options, sink, metrics));
  }
  return std::unique_ptr<WarningPoller>(new WarningPoller(std::move(impl)));
}

WarningPoller::WarningPoller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WarningPoller::~WarningPoller() { Stop(); }

Status WarningPoller::Start() {
  Impl& s = *impl_;
  if (s.thread.joinable() || s.stopped) return Status::Ok();
  s.work.emplace(net::make_work_guard(s.ioc));
  for (auto& f : s.feeds) f->Start();
  s.thread = std::thread([&s] { s.ioc.run(); });
  return Status::Ok();
}

void WarningPoller::Stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.work.reset();
  s.ioc.stop();  // what is in flight is abandoned; a Deliver under way finishes first
  if (s.thread.joinable()) s.thread.join();
}

}  // namespace cb::api
