// GET /ws/situation: the zones, car parks and devices of stream::SituationEngine pushed to
// the dashboard (SituationStream in api.h).

#include "api/api.h"
#include "api/situation_json.h"

namespace cb::api {

SituationStream::SituationStream(stream::SituationEngine* engine, metrics::Registry* metrics)
    : engine_(engine),
      messages_(metrics->GetCounter("citybrain_situation_stream_messages_total",
                                    "Situation messages queued to WebSocket clients")),
      dropped_(metrics->GetCounter(
          "citybrain_situation_stream_dropped_total",
          "Situation messages not queued to a WebSocket client: its queue was full")),
      client_gauge_(metrics->GetGauge("citybrain_situation_stream_clients",
                                      "WebSocket clients of the situation stream")) {
  engine_->AddListener(this);
  engine_->AddDeviceListener(this);
}

SituationStream::~SituationStream() { Stop(); }

void SituationStream::Start(int64_t period_ms) {
  ticker_.Start(period_ms, [this] { Poll(); });
}

void SituationStream::Stop() {
  if (stopped_.exchange(true)) return;
  ticker_.Stop();
  engine_->RemoveListener(this);
  engine_->RemoveDeviceListener(this);
  fanout_.Stop();
  SetClientGauge();
}

void SituationStream::SetClientGauge() { client_gauge_->Set(static_cast<double>(fanout_.size())); }

void SituationStream::Broadcast(const std::string& message) {
  const WebSocketFanout::Delivery d = fanout_.Broadcast(message);
  messages_->Inc(d.queued);
  dropped_->Inc(d.dropped);
}

void SituationStream::Poll() {
  if (fanout_.size() == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  const TimeMs at = engine_->Now();
  std::vector<stream::ZoneStatus> zones = engine_->AllZones();
  const std::vector<stream::LotState> lots = engine_->ParkingLots();
  // What changed is judged without the times that move with the clock alone: the crowd
  // figures' (always now) and the tier plan's last cycle (every cycle, even when it decided
  // nothing new). They go out with the next push that carries a change.
  std::vector<stream::ZoneStatus> timeless = zones;
  for (stream::ZoneStatus& z : timeless) {
    z.crowd.at = kNoTime;
    z.last_cycle = kNoTime;
  }
  std::string current;
  JsonWriter c(&current);
  c.BeginArray();
  WriteSituationZones(&c, *engine_, timeless);
  c.EndArray().BeginArray();
  WriteParkingLots(&c, lots);
  c.EndArray();
  if (current == last_) return;
  last_ = std::move(current);
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject().Key("type").String("situation").Key("at").String(FormatIso8601(at));
  w.Key("zones").BeginArray();
  WriteSituationZones(&w, *engine_, zones);
  w.EndArray().Key("parking").BeginArray();
  WriteParkingLots(&w, lots);
  w.EndArray().EndObject();
  Broadcast(msg);
}

void SituationStream::OnLevelChange(const stream::LevelChange& change) {
  if (fanout_.size() == 0) return;
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject().Key("type").String("levelChange").Key("change");
  WriteLevelChange(&w, change);
  w.EndObject();
  std::lock_guard<std::mutex> lock(mu_);
  Broadcast(msg);
}

void SituationStream::OnDeviceHealth(const stream::DeviceHealthChange& change) {
  if (fanout_.size() == 0) return;
  stream::DeviceState d;
  d.device_id = change.device_id;
  d.last_reading = change.last_reading;
  if (change.interval_ms > 0) d.interval_ms = change.interval_ms;
  d.silent = change.silent;
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject()
      .Key("type").String("devices")
      .Key("at").String(FormatIso8601(change.at))
      .Key("devices").BeginArray();
  WriteDeviceState(&w, d);
  w.EndArray().EndObject();
  std::lock_guard<std::mutex> lock(mu_);
  Broadcast(msg);
}

void SituationStream::Open(std::shared_ptr<WebSocketSession> session) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string msg;
  JsonWriter w(&msg);
  w.BeginObject()
      .Key("type").String("snapshot")
      .Key("at").String(FormatIso8601(engine_->Now()))
      .Key("zones").BeginArray();
  WriteSituationZones(&w, *engine_, engine_->AllZones());
  w.EndArray().Key("parking").BeginArray();
  WriteParkingLots(&w, engine_->ParkingLots());
  w.EndArray().Key("devices").BeginArray();
  for (const stream::DeviceState& d : engine_->Devices()) WriteDeviceState(&w, d);
  w.EndArray().EndObject();
  if (fanout_.Open(std::move(session), std::move(msg))) {
    messages_->Inc();
  } else if (!stopped_.load()) {
    dropped_->Inc();  // (once stopped the session is closed instead)
  }
  SetClientGauge();
}

void SituationStream::Close(const WebSocketSession* session) {
  fanout_.Close(session);
  SetClientGauge();
}

void AddSituationStreamRoutes(Router* router, SituationStream* stream) {
  AddFanoutRoute(router, "/ws/situation", security::Permission::kContextRead, stream);
}

}  // namespace cb::api
