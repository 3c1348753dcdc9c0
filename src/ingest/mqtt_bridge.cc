// MqttBridge: Paho MQTT C++ client → bounded queue → batched ContextBroker writes.

#include "ingest/mqtt_bridge.h"

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_set>

namespace cb::ingest {

using context::WriteOp;
using context::WriteOutcome;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kTopics[] = {"/json/+/+/attrs", "/json/+/+/attrs/+", "json/+/+/attrs",
                                   "json/+/+/attrs/+"};

// Device input made safe for a log line: control characters escaped, length capped.
std::string ForLog(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

bool IsRejection(MessageResult r) {
  return r != MessageResult::kWritten && r != MessageResult::kDropped &&
         r != MessageResult::kFailed && r != MessageResult::kRetained && r != MessageResult::kCount;
}

}  // namespace

// At most kBurst log lines per kWindow; the rest are counted and summarised.
class MqttBridge::LogLimiter {
 public:
  static constexpr int kBurst = 10;
  static constexpr auto kWindow = std::chrono::seconds(10);

  // Whether to log now; `suppressed` gets the lines skipped since the last one logged.
  bool Allow(uint64_t* suppressed) {
    std::lock_guard lock(mu_);
    auto now = SteadyClock::now();
    if (now - window_start_ >= kWindow) {
      window_start_ = now;
      logged_ = 0;
    }
    if (logged_ >= kBurst) {
      ++suppressed_;
      return false;
    }
    ++logged_;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  std::mutex mu_;
  SteadyClock::time_point window_start_{};
  int logged_ = 0;
  uint64_t suppressed_ = 0;
};

class MqttBridge::SubscribeListener : public mqtt::iaction_listener {
 public:
  explicit SubscribeListener(MqttBridge* b) : b_(b) {}
  void on_success(const mqtt::token&) override {
    spdlog::info("mqtt: subscribed to /json/+/+/attrs[/+] (QoS 1)");
    std::lock_guard lock(b_->mu_);
    b_->subscribed_ = true;
    b_->state_cv_.notify_all();
  }
  void on_failure(const mqtt::token& t) override {
    spdlog::error("mqtt: subscription refused (code {})", t.get_return_code());
    std::lock_guard lock(b_->mu_);
    b_->subscribe_failed_ = true;
    b_->state_cv_.notify_all();
  }

 private:
  MqttBridge* b_;
};

// Messages taken off the queue for one broker write.
struct MqttBridge::Batch {
  std::vector<Queued> msgs;
  std::vector<size_t> op_counts;  // per message, in the order of the ops
  int attempts = 0;
};

MqttBridge::MqttBridge(MqttBridgeOptions options, DeviceTable devices,
                       context::ContextBroker* broker, metrics::Registry* metrics)
    : options_(std::move(options)),
      devices_(std::move(devices)),
      broker_(broker),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock::Instance()),
      own_metrics_(metrics == nullptr ? std::make_unique<metrics::Registry>() : nullptr),
      metrics_(metrics != nullptr ? metrics : own_metrics_.get()),
      log_limiter_(std::make_unique<LogLimiter>()) {
  for (size_t i = 0; i < counters_.size(); ++i) {
    counters_[i] = metrics_->GetCounter(
        "citybrain_mqtt_messages_total", "MQTT messages received, by what became of them",
        metrics::Label("result", std::string(MessageResultName(static_cast<MessageResult>(i)))));
  }
  queue_gauge_ = metrics_->GetGauge("citybrain_mqtt_queue_depth",
                                    "MQTT messages decoded and waiting to be written");
  connected_gauge_ =
      metrics_->GetGauge("citybrain_mqtt_connected", "1 while connected to the MQTT broker");
  reconnects_counter_ =
      metrics_->GetCounter("citybrain_mqtt_reconnects_total", "MQTT reconnections");
  batch_ops_ = metrics_->GetHistogram("citybrain_mqtt_batch_ops",
                                      "Operations per broker write made by the MQTT bridge", "",
                                      {1, 10, 100, 500, 1000, 5000});
}

MqttBridge::~MqttBridge() { Stop(); }

void MqttBridge::Count(MessageResult r, uint64_t n) {
  if (n == 0) return;
  size_t i = static_cast<size_t>(r);
  counts_[i].fetch_add(n, std::memory_order_relaxed);
  counters_[i]->Inc(n);
}

void MqttBridge::Log(MessageResult r, std::string_view topic, const Status& st) {
  uint64_t suppressed = 0;
  if (!log_limiter_->Allow(&suppressed)) return;
  if (suppressed > 0) {
    spdlog::warn("mqtt: {} similar messages not logged (see citybrain_mqtt_messages_total)",
                 suppressed);
  }
  spdlog::warn("mqtt: message on '{}' {}: {}", ForLog(topic), MessageResultName(r),
               ForLog(st.message()));
}

Status MqttBridge::Start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return Status::Ok();
    running_ = true;
    stopping_ = false;
    subscribed_ = false;
    subscribe_failed_ = false;
  }
  connects_.store(0);
  try {
    client_ = std::make_unique<mqtt::async_client>(
        options_.url, options_.client_id, static_cast<mqtt::iclient_persistence*>(nullptr));
  } catch (const std::exception& e) {
    Stop();
    return Status::InvalidRequest("MQTT broker URL '" + options_.url + "': " + e.what());
  }
  subscribe_listener_ = std::make_unique<SubscribeListener>(this);
  client_->set_message_callback([this](mqtt::const_message_ptr m) {
    if (m) OnMessage(m->get_topic(), m->get_payload_str(), m->is_retained());
  });
  client_->set_connected_handler([this](const std::string&) { OnConnected(); });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    connected_.store(false);
    connected_gauge_->Set(0);
    spdlog::warn("mqtt: connection to {} lost ({}); reconnecting", options_.url,
                 cause.empty() ? "no reason given" : cause);
  });
  worker_ = std::thread([this] { WorkerLoop(); });

  auto builder = mqtt::connect_options_builder();
  builder.clean_session(options_.clean_session)
      .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
      .keep_alive_interval(std::chrono::seconds(20))
      .connect_timeout(std::chrono::seconds(std::max(1, options_.connect_timeout_ms / 1000)));
  if (!options_.username.empty()) builder.user_name(options_.username);
  if (!options_.password.empty()) builder.password(options_.password);
  const auto timeout = std::chrono::milliseconds(std::max(1, options_.connect_timeout_ms));
  std::string error;
  try {
    mqtt::token_ptr tok = client_->connect(builder.finalize());
    if (!tok->wait_for(timeout + std::chrono::seconds(1))) error = "timed out";
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (error.empty()) {
    std::unique_lock lock(mu_);
    if (!state_cv_.wait_for(lock, timeout, [&] { return subscribed_ || subscribe_failed_; })) {
      error = "timed out subscribing";
    } else if (!subscribed_) {
      error = "subscription refused";
    }
  }
  if (!error.empty()) {
    Stop();
    return Status::Unavailable("cannot connect to the MQTT broker at " + options_.url + ": " +
                               error);
  }
  spdlog::info("mqtt: bridge running ({} devices provisioned)", devices_.size());
  return Status::Ok();
}

void MqttBridge::OnConnected() {
  uint64_t n = connects_.fetch_add(1) + 1;
  if (n > 1) reconnects_counter_->Inc();
  connected_.store(true);
  connected_gauge_->Set(1);
  spdlog::info("mqtt: connected to {}{}", options_.url, n > 1 ? " again" : "");
  Subscribe();
}

void MqttBridge::Subscribe() {
  try {
    auto topics = mqtt::string_collection::create(
        std::vector<std::string>(std::begin(kTopics), std::end(kTopics)));
    mqtt::iasync_client::qos_collection qos(std::size(kTopics), 1);
    client_->subscribe(topics, qos, nullptr, *subscribe_listener_);
  } catch (const std::exception& e) {
    spdlog::error("mqtt: cannot subscribe: {}", e.what());
    std::lock_guard lock(mu_);
    subscribe_failed_ = true;
    state_cv_.notify_all();
  }
}

void MqttBridge::OnMessage(const std::string& topic, const std::string& payload, bool retained) {
  received_.fetch_add(1, std::memory_order_relaxed);
  if (retained) {  // replayed on subscribe: an old value, not a new observation
    Count(MessageResult::kRetained);
    return;
  }
  // Only queued here: this callback runs on the MQTT client's one network thread, which
  // must keep reading, or the broker drops messages for us once its queue for this client
  // is full (Mosquitto: 1,000 messages by default). The worker decodes them.
  const TimeMs now = clock_->Now();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() < options_.max_queue) {
      queue_.push_back(Queued{topic, payload, now, {}});
      queue_gauge_->Set(static_cast<double>(queue_.size()));
      queue_cv_.notify_one();
      return;
    }
  }
  Count(MessageResult::kDropped);
  Log(MessageResult::kDropped, topic, Status::TooManyRequests("the ingest queue is full"));
}

void MqttBridge::WorkerLoop() {
  const size_t max_batch = std::max<size_t>(1, options_.max_batch);
  std::unique_lock lock(mu_);
  while (true) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything is written
    state_cv_.wait(lock, [&] { return in_flight_ < std::max<size_t>(1, options_.max_in_flight); });
    if (!stopping_ && queue_.size() < max_batch && options_.linger_ms > 0) {
      queue_cv_.wait_for(lock, std::chrono::milliseconds(options_.linger_ms),
                         [&] { return stopping_ || queue_.size() >= max_batch; });
    }
    Batch b;
    while (!queue_.empty() && b.msgs.size() < max_batch) {
      b.msgs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queue_gauge_->Set(static_cast<double>(queue_.size()));
    lock.unlock();
    Decode(&b);
    lock.lock();
    if (b.msgs.empty()) continue;  // none decoded (each counted and logged)
    ++in_flight_;
    lock.unlock();
    WriteBatch(std::move(b));
    lock.lock();
  }
}

void MqttBridge::Decode(Batch* batch) {
  size_t keep = 0;
  for (size_t i = 0; i < batch->msgs.size(); ++i) {
    Queued& q = batch->msgs[i];
    MessageResult why = MessageResult::kWritten;
    auto w = MessageToWriteOps(devices_, q.topic, q.payload, q.received, &why);
    if (!w.ok()) {
      Count(why);
      Log(why, q.topic, w.status());
      continue;
    }
    q.write = std::move(w).value();
    batch->op_counts.push_back(q.write.ops.size());
    if (i != keep) batch->msgs[keep] = std::move(q);
    ++keep;
  }
  batch->msgs.resize(keep);
}

std::vector<WriteOp> MqttBridge::BuildOps(Batch* batch, bool decode_again) {
  std::vector<WriteOp> ops;
  ops.reserve(std::accumulate(batch->op_counts.begin(), batch->op_counts.end(), size_t{0}));
  std::unordered_set<std::string_view> seen;  // entities written earlier in this batch
  for (size_t i = 0; i < batch->msgs.size(); ++i) {
    Queued& q = batch->msgs[i];
    if (decode_again) {
      // The first attempt's operations were handed to the broker; decode them again
      // (same table, same receive time: the same result).
      auto w = MessageToWriteOps(devices_, q.topic, q.payload, q.received);
      if (!w.ok() || w->ops.size() != batch->op_counts[i]) {  // cannot happen
        batch->op_counts[i] = 0;
        continue;
      }
      q.write = std::move(w).value();
    }
    MqttWrite& w = q.write;
    const std::string& id = w.device->entity_id;
    if (w.static_attrs > 0 && !w.ops.empty()) {
      // Static attributes are written only when the entity lacks them.
      context::EntityPtr existing = seen.contains(id) ? nullptr : broker_->Get(id);
      if (seen.contains(id) || existing != nullptr) {
        auto& attrs = w.ops.front().entity.attrs;
        size_t keep = 0;
        for (size_t k = 0; k < attrs.size(); ++k) {
          bool drop = k < w.static_attrs &&
                      (existing == nullptr || existing->Find(attrs[k].name) != nullptr);
          if (!drop) attrs[keep++] = std::move(attrs[k]);
        }
        attrs.resize(keep);
      }
    }
    seen.insert(id);
    for (auto& op : w.ops) ops.push_back(std::move(op));
    w.ops.clear();
  }
  return ops;
}

void MqttBridge::WriteBatch(Batch batch) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options_.write_retry_ms);
  auto backoff = std::chrono::milliseconds(5);
  batches_.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    std::vector<WriteOp> ops = BuildOps(&batch, batch.attempts > 0);
    ++batch.attempts;
    batch_ops_->Observe(static_cast<double>(ops.size()));
    // A refusal for back-pressure comes back at once, on this thread: retry it here, before
    // any later batch is written, so that writes stay in the order they were received.
    auto shared = std::make_shared<Batch>();
    bool retry = false;
    shared->op_counts = batch.op_counts;
    const bool can_retry = SteadyClock::now() < deadline;
    broker_->Write(std::move(ops),
                   [this, &retry, can_retry, shared, &batch, tid = std::this_thread::get_id()](
                       Status commit, std::vector<WriteOutcome> outcomes) {
                     if (std::this_thread::get_id() == tid) {
                       if (commit.code() == Code::kTooManyRequests && can_retry) {
                         retry = true;
                         return;
                       }
                       Finish(batch, commit, outcomes);
                     } else {
                       Finish(*shared, commit, outcomes);
                     }
                   });
    if (!retry) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
}

void MqttBridge::Finish(const Batch& batch, const Status& commit,
                        const std::vector<WriteOutcome>& outcomes) {
  uint64_t written = 0, failed = 0;
  size_t off = 0;
  for (size_t i = 0; i < batch.op_counts.size(); ++i) {
    size_t n = batch.op_counts[i];
    Status st = commit;
    if (st.ok() && off + n > outcomes.size()) st = Status::Internal("missing write outcome");
    for (size_t k = off; st.ok() && k < off + n; ++k) st = outcomes[k].status;
    off += n;
    if (st.ok() && n > 0) {
      ++written;
    } else {
      ++failed;
      if (st.ok()) st = Status::Internal("the message could not be decoded again for a retry");
      Log(MessageResult::kFailed, i < batch.msgs.size() ? batch.msgs[i].topic : "(a batch)", st);
    }
  }
  Count(MessageResult::kWritten, written);
  Count(MessageResult::kFailed, failed);
  std::lock_guard lock(mu_);
  --in_flight_;
  state_cv_.notify_all();
}

void MqttBridge::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
  }
  // 1. Stop receiving: no callbacks run once the client is destroyed.
  if (client_) {
    try {
      if (client_->is_connected()) {
        client_->disconnect(std::chrono::seconds(2))->wait_for(std::chrono::seconds(5));
      } else {
        client_->disconnect()->wait_for(std::chrono::seconds(1));  // ends reconnect attempts
      }
    } catch (const std::exception& e) {
      spdlog::debug("mqtt: disconnect: {}", e.what());
    }
    client_.reset();
  }
  connected_.store(false);
  connected_gauge_->Set(0);
  // 2. Write what is queued, then 3. wait for every write to be committed.
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  {
    std::unique_lock lock(mu_);
    state_cv_.wait(lock, [&] { return in_flight_ == 0; });
    running_ = false;
  }
  subscribe_listener_.reset();
  spdlog::info("mqtt: bridge stopped ({} messages written)",
               counts_[static_cast<size_t>(MessageResult::kWritten)].load());
}

MqttStats MqttBridge::Stats() const {
  MqttStats s;
  s.received = received_.load();
  for (size_t i = 0; i < counts_.size(); ++i) {
    auto r = static_cast<MessageResult>(i);
    uint64_t n = counts_[i].load();
    s.by_result[std::string(MessageResultName(r))] = n;
    if (IsRejection(r)) s.rejected += n;
  }
  s.written = counts_[static_cast<size_t>(MessageResult::kWritten)].load();
  s.dropped = counts_[static_cast<size_t>(MessageResult::kDropped)].load();
  s.failed = counts_[static_cast<size_t>(MessageResult::kFailed)].load();
  {
    std::lock_guard lock(mu_);
    s.queue_depth = queue_.size();
  }
  s.batches = batches_.load();
  uint64_t c = connects_.load();
  s.reconnects = c > 0 ? c - 1 : 0;
  s.connected = connected_.load();
  return s;
}

}  // namespace cb::ingest
