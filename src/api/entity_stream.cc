// The WebSocket stream of entity changes (/ws/entities); see EntityStream in api.h.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "api/api.h"
#include "api/ngsi_common.h"
#include "context/ngsi_json.h"

namespace cb::api {

namespace {

using context::Change;
using ChangeBatch = std::shared_ptr<const std::vector<Change>>;

// One connected dashboard and what it asked for. Immutable after Open.
struct Client {
  std::weak_ptr<WebSocketSession> session;
  std::vector<std::string> types;  // any of; empty: all
  std::vector<std::string> ids;    // any of; empty: all
  std::shared_ptr<const context::QExpr> q;
  std::unordered_set<std::string> attrs;  // projection; empty: all
  context::RenderOptions render;

  bool Wants(const context::Entity& e) const {
    if (!types.empty() &&
        std::none_of(types.begin(), types.end(), [&](const auto& t) { return e.HasType(t); })) {
      return false;
    }
    if (!ids.empty() && std::find(ids.begin(), ids.end(), e.id) == ids.end()) return false;
    return !q || context::Matches(*q, e);
  }
};

std::string_view ChangeName(Change::Kind k) {
  switch (k) {
    case Change::Kind::kCreated:
      return "created";
    case Change::Kind::kUpdated:
      return "updated";
    case Change::Kind::kDeleted:
      return "deleted";
  }
  return "updated";
}

std::string ErrorMessage(std::string_view detail) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("type").String("error").Key("detail").String(detail).EndObject();
  return out;
}

}  // namespace

struct EntityStream::Impl {
  context::ContextBroker* broker;
  EntityStreamOptions options;
  metrics::Counter* dropped_batches;
  metrics::Counter* messages;
  metrics::Gauge* client_gauge;

  mutable std::mutex clients_mu;  // guards clients
  std::unordered_map<const WebSocketSession*, std::shared_ptr<const Client>> clients;
  std::atomic<size_t> client_count{0};

  std::mutex queue_mu;  // guards pending and stop
  std::condition_variable queue_cv;
  std::deque<ChangeBatch> pending;
  bool stop = false;
  std::thread worker;
  std::atomic<bool> stopped{false};

  void Run();
  void Deliver(const std::vector<Change>& changes);
  void SetClientGauge() { client_gauge->Set(static_cast<double>(client_count.load())); }
};

EntityStream::EntityStream(context::ContextBroker* broker, metrics::Registry* metrics,
                           EntityStreamOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.broker = broker;
  s.options = options;
  s.dropped_batches = metrics->GetCounter(
      "citybrain_stream_dropped_batches_total",
      "Change batches not streamed to WebSocket clients: the fan-out queue was full");
  s.messages = metrics->GetCounter("citybrain_stream_messages_total",
                                   "Entity change messages queued to WebSocket clients");
  s.client_gauge = metrics->GetGauge("citybrain_stream_clients",
                                     "WebSocket clients of the entity change stream");
  s.worker = std::thread([&s] { s.Run(); });
  broker->AddListener(this);
}

EntityStream::~EntityStream() { Stop(); }

void EntityStream::Stop() {
  Impl& s = *impl_;
  if (s.stopped.exchange(true)) return;
  s.broker->RemoveListener(this);
  {
    std::lock_guard l(s.queue_mu);
    s.stop = true;
  }
  s.queue_cv.notify_all();
  s.worker.join();
  std::lock_guard l(s.clients_mu);
  s.clients.clear();
  s.client_count.store(0);
  s.SetClientGauge();
}

size_t EntityStream::clients() const { return impl_->client_count.load(); }

void EntityStream::OnChanges(const std::vector<Change>& changes) {
  Impl& s = *impl_;
  if (s.client_count.load(std::memory_order_relaxed) == 0 || changes.empty()) return;
  auto batch = std::make_shared<const std::vector<Change>>(changes);
  {
    std::lock_guard l(s.queue_mu);
    if (s.stop) return;
    if (s.pending.size() >= s.options.max_pending_batches) {
      s.dropped_batches->Inc();
      return;
    }
    s.pending.push_back(std::move(batch));
  }
  s.queue_cv.notify_one();
}

void EntityStream::Impl::Run() {
  for (;;) {
    ChangeBatch batch;
    {
      std::unique_lock l(queue_mu);
      queue_cv.wait(l, [this] { return stop || !pending.empty(); });
      if (stop) return;
      batch = std::move(pending.front());
      pending.pop_front();
    }
    Deliver(*batch);
  }
}

void EntityStream::Impl::Deliver(const std::vector<Change>& changes) {
  std::vector<std::pair<const WebSocketSession*, std::shared_ptr<const Client>>> snapshot;
  {
    std::lock_guard l(clients_mu);
    snapshot.assign(clients.begin(), clients.end());
  }
  // Renderings shared by clients without a projection: [change][keyValues?].
  std::vector<std::optional<std::string>> cache[2];
  cache[0].resize(changes.size());
  cache[1].resize(changes.size());
  std::vector<const WebSocketSession*> gone;
  for (const auto& [key, c] : snapshot) {
    std::shared_ptr<WebSocketSession> session = c->session.lock();
    if (!session) {
      gone.push_back(key);
      continue;
    }
    std::string msg;
    JsonWriter w(&msg);
    bool any = false;
    for (size_t i = 0; i < changes.size(); ++i) {
      const Change& ch = changes[i];
      if (!ch.entity || !c->Wants(*ch.entity)) continue;
      if (!any) {
        w.BeginObject().Key("type").String("changes").Key("changes").BeginArray();
        any = true;
      }
      w.BeginObject().Key("change").String(ChangeName(ch.kind));
      w.Key("attrs").BeginArray();
      for (const auto& a : ch.attrs) {
        if (c->attrs.empty() || c->attrs.count(a) != 0) w.String(a);
      }
      w.EndArray().Key("entity");
      if (ch.kind == Change::Kind::kDeleted) {
        w.BeginObject().Key("id").String(ch.entity->id);
        w.Key("type").String(ch.entity->type()).EndObject();
      } else if (c->render.attrs == nullptr && !c->render.sys_attrs) {
        auto& slot = cache[c->render.key_values ? 1 : 0][i];
        if (!slot) slot = context::RenderEntity(*ch.entity, c->render);
        w.Raw(*slot);
      } else {
        context::RenderEntity(*ch.entity, c->render, &w);
      }
      w.EndObject();
    }
    if (!any) continue;
    w.EndArray().EndObject();
    if (session->Send(std::move(msg))) messages->Inc();
  }
  if (!gone.empty()) {
    std::lock_guard l(clients_mu);
    for (const auto* k : gone) clients.erase(k);
    client_count.store(clients.size());
    SetClientGauge();
  }
}

void EntityStream::Open(std::shared_ptr<WebSocketSession> session, const HttpRequest& req) {
  Impl& s = *impl_;
  auto refuse = [&](std::string_view detail) {
    session->Send(ErrorMessage(detail));
    session->Close();
  };
  if (s.stopped.load()) return refuse("the server is stopping");
  auto c = std::make_shared<Client>();
  c->session = session;
  if (const std::string* t = req.Query("type")) {
    c->types = SplitList(*t);
    for (const auto& n : c->types) {
      if (!context::IsValidName(n)) return refuse("invalid type name '" + n + "'");
    }
  }
  if (const std::string* ids = req.Query("id")) {
    c->ids = SplitList(*ids);
    for (const auto& id : c->ids) {
      if (!context::IsValidEntityId(id)) return refuse("invalid entity id '" + id + "'");
    }
  }
  std::string q_text;
  if (const std::string* q = req.Query("q")) {
    auto parsed = context::ParseQ(*q);
    if (!parsed.ok()) return refuse(parsed.status().message());
    c->q = std::move(parsed).value();
    q_text = *q;
  }
  if (const std::string* a = req.Query("attrs")) {
    for (auto& n : SplitList(*a)) c->attrs.insert(std::move(n));
  }
  c->render.key_values = HasOption(req, "keyValues");
  c->render.sys_attrs = HasOption(req, "sysAttrs");
  if (!c->attrs.empty()) c->render.attrs = &c->attrs;

  std::string hello;
  JsonWriter w(&hello);
  w.BeginObject().Key("type").String("subscribed").Key("filter").BeginObject();
  w.Key("type").BeginArray();
  for (const auto& t : c->types) w.String(t);
  w.EndArray().Key("id").BeginArray();
  for (const auto& id : c->ids) w.String(id);
  w.EndArray();
  if (c->q) w.Key("q").String(q_text);
  w.Key("format").String(c->render.key_values ? "keyValues" : "normalized");
  w.EndObject().EndObject();
  {
    std::lock_guard l(s.clients_mu);
    if (s.clients.size() >= s.options.max_clients) {
      return refuse("too many stream clients (at most " + std::to_string(s.options.max_clients) +
                    ")");
    }
    // Registered before the greeting is queued: once a client reads it, every later
    // durable change reaches it.
    s.clients[session.get()] = std::move(c);
    s.client_count.store(s.clients.size());
    s.SetClientGauge();
  }
  session->Send(std::move(hello));
}

void EntityStream::Close(const WebSocketSession* session) {
  Impl& s = *impl_;
  std::lock_guard l(s.clients_mu);
  s.clients.erase(session);
  s.client_count.store(s.clients.size());
  s.SetClientGauge();
}

void AddEntityStreamRoutes(Router* router, EntityStream* stream) {
  WebSocketHandler h;
  h.on_open = [stream](std::shared_ptr<WebSocketSession> session, const HttpRequest& req) {
    stream->Open(std::move(session), req);
  };
  h.on_close = [stream](const std::shared_ptr<WebSocketSession>& session) {
    stream->Close(session.get());
  };
  router->AddWebSocket("/ws/entities", security::Permission::kContextRead, std::move(h));
}

}  // namespace cb::api
