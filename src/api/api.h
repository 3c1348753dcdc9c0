// The routes CityBrain serves, grouped by protocol. Each Add* function registers its
// routes, with the permission each needs, on a Router.
// Thread-safety: call before the server starts; handlers are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alerts/alerts.h"
#include "alerts/cap_intake.h"
#include "api/http.h"
#include "api/ws_fanout.h"
#include "context/broker.h"
#include "core/metrics.h"

namespace cb {
class WorkQueue;  // core/work_queue.h
}  // namespace cb

namespace cb::api {

struct NgsiLdLimits {
  size_t max_batch_entities = 10000;  // per entityOperations request
  size_t max_page = 1000;             // largest limit= accepted
};

// /ngsi-ld/v1/entities, /entityOperations, /temporal (ETSI GS CIM 009 subset).
void AddNgsiLdRoutes(Router* router, context::ContextBroker* broker, NgsiLdLimits limits = {});

// POST /admin/keys {name, permissions} → 201 {id, key}; DELETE /admin/keys/{id}.
void AddAdminRoutes(Router* router, security::ApiKeyAuthority* auth);

// /health (public) and /metrics (Prometheus text).
void AddOperationsRoutes(Router* router, metrics::Registry* registry,
                         std::function<std::string()> health_json);

}  // namespace cb::api

// ---- Subscriptions and the entity change stream.

namespace cb::context {
class SubscriptionManager;
}  // namespace cb::context

namespace cb::api {

struct SubscriptionLimits {
  size_t default_page = 20;  // limit= when not given
  size_t max_page = 1000;    // largest limit= accepted
};

// /ngsi-ld/v1/subscriptions[/{subscriptionId}]: POST (201 + Location), GET (list, with
// limit/offset/count), GET one, PATCH (204), DELETE (204). Needs Permission::kSubscriptions.
void AddSubscriptionRoutes(Router* router, context::SubscriptionManager* subscriptions,
                           SubscriptionLimits limits = {});

struct EntityStreamOptions {
  size_t max_pending_batches = 1000;  // change batches waiting for the fan-out thread
  size_t max_clients = 256;
};

// EntityStream: pushes durable entity changes to WebSocket clients (dashboards) of
// GET /ws/entities. Query parameters given at connect time filter and shape what a client
// gets: type=T1,T2  id=urn1,urn2  q=<NGSI-LD q>  attrs=a,b  options=keyValues,sysAttrs.
// Messages (text, JSON):
//   {"type":"subscribed","filter":{...}}                       once, after the upgrade
//   {"type":"changes","changes":[{"change":"created|updated|deleted","attrs":[...],
//                                 "entity":{...}}, ...]}       one per matching batch
//   {"type":"error","detail":"..."}                             then the server closes
// OnChanges only copies the batch into a bounded queue (dropped and counted in
// citybrain_stream_dropped_batches_total when full); a fan-out thread filters and renders
// per client. A slow client loses messages (its session queue is full) instead of slowing
// anyone else.
// Thread-safety: all methods are safe from any thread. The constructor registers the
// stream as a broker listener; Stop() (or the destructor) unregisters it and must run
// before the HttpServer is destroyed.
class EntityStream final : public context::ChangeListener {
 public:
  EntityStream(context::ContextBroker* broker, metrics::Registry* metrics,
               EntityStreamOptions options = {});
  ~EntityStream() override;
  EntityStream(const EntityStream&) = delete;
  EntityStream& operator=(const EntityStream&) = delete;

  void Stop();
  void OnChanges(const std::vector<context::Change>& changes) override;
  size_t clients() const;

  // Called by the WebSocket route.
  void Open(std::shared_ptr<WebSocketSession> session, const HttpRequest& req);
  void Close(const WebSocketSession* session);

  struct Impl;  // internal to entity_stream.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// GET /ws/entities (WebSocket upgrade; Permission::kContextRead) served by `stream`.
void AddEntityStreamRoutes(Router* router, EntityStream* stream);

}  // namespace cb::api

// ---- Situational awareness.

namespace cb::stream {
class SituationEngine;
class RuleEngine;
}  // namespace cb::stream

namespace cb::api {

// /api/v1/situation (Permission::kContextRead), see docs/api.md:
//   GET zones                         every zone: crowd figures and tier level
//   GET zones/{zoneId}                one zone (404 when not defined)
//   GET zones/{zoneId}/level-changes  its recent level changes (?limit=, default 100)
//   GET zones/{zoneId}/level-days     ?level=1&from=YYYY-MM-DD&to=YYYY-MM-DD: local days at
//                                     that level or worse, and time per level per day
//   GET level-changes                 recent changes of every zone
//   GET tier-plans                    the loaded plans
//   GET parking/lots                  every car park: index and status
//   GET parking/destination           ?poi=<id> or ?lon=&lat=, ?radius= (500): the car parks
//                                     in range and their combined index
//   GET parking/guidance              same, plus ?limit= (3): the car parks with room, best first
//   GET devices                       counters and car parks: last reading, learned interval,
//                                     silent or not
//   GET zones/{zoneId}/history        ?from=&to=&maxPoints=: its kept crowd history (points
//                                     {at, count, level}), thinned keeping level changes
//   GET history                       ?at=: every zone's point at or before that moment, and
//                                     the level changes of the hour before it
// `broker` resolves points of interest.
void AddSituationRoutes(Router* router, stream::SituationEngine* engine,
                        context::ContextBroker* broker);

// /api/v1/rules, see docs/api.md:
//   GET    rules            every rule with its state (entities it fires for, counts)
//   GET    rules/{ruleId}   one rule (404 when not defined)
//   POST   rules            defines a new rule: 201, 409 when the id exists (admin)
//   PUT    rules/{ruleId}   defines or replaces it: 201 or 200 (admin); rules from files: 409
//   DELETE rules/{ruleId}   204 (admin); rules from files: 409
// A definition is checked against the live city (zone, attribute names): 400 with the
// reason; warnings (e.g. no entity of the type yet) come back in "warnings".
void AddRuleRoutes(Router* router, stream::RuleEngine* engine);

}  // namespace cb::api

// ---- Alerts.



namespace cb::api {

// /api/v1/alerts, see docs/api.md:
//   GET  alerts?state=open|all        the alerts (open by default), in the order raised
//   GET  alerts/{alertId}             one alert, with its history
//   POST alerts/{alertId}/acknowledge 200, or 409 when it is not active (context:write)
//   POST alerts/{alertId}/resolve     200, or 409 when already resolved (context:write)
//   GET  alerts/{alertId}/cap         its latest CAP 1.2 message (?message=N for an earlier one)
//   GET  alerts/cap                   an Atom feed of every alert's latest CAP message
void AddAlertRoutes(Router* router, alerts::AlertBook* book, const Clock* clock);

// AlertStream: pushes alert changes to WebSocket clients (the dashboard) of GET /ws/alerts.
// Messages (text, JSON):
//   {"type":"snapshot","alerts":[...]}                      once, the open alerts
//   {"type":"alert","what":"raised at level II","alert":{...}}  each change, as it happens
// A slow client loses messages (its session queue is full) instead of slowing the others.
// Thread-safety: all methods are safe from any thread. The constructor registers the stream
// with the book; Stop() (or the destructor) unregisters it and closes the sessions, and must
// run before the HttpServer is destroyed.
class AlertStream final : public alerts::AlertListener {
 public:
  explicit AlertStream(alerts::AlertBook* book);
  ~AlertStream() override;
  void Stop();
  void OnAlert(const alerts::Alert& alert, const std::string& what) override;
  void Open(std::shared_ptr<WebSocketSession> session);
  void Close(const WebSocketSession* session);
  size_t clients() const;

 private:
  alerts::AlertBook* book_;
  WebSocketFanout fanout_;
};

// GET /ws/alerts (WebSocket upgrade; Permission::kContextRead) served by `stream`.
void AddAlertStreamRoutes(Router* router, AlertStream* stream);

// /api/v1/warnings, CAP warnings from outside, see docs/api.md:
//   POST warnings          a CAP 1.2 document (application/cap+xml, application/xml or
//                          text/xml) → 201 when it raised alerts, else 200, with what it did
//                          (alerts::CapIntakeReport as JSON); 400 and no change for a bad
//                          document (context:write)
//   GET  warnings?limit=   the most recent warnings taken in, posted or polled (context:read)
void AddWarningRoutes(Router* router, alerts::CapWarningSink* sink);

}  // namespace cb::api

// ---- Cases.

#include "cases/case_book.h"

namespace cb::api {

// /api/v1/cases and the catalog, see docs/api.md (internal API for operators, departments
// and grid workers; errors are ProblemDetails):
//   POST cases                      file a case (JSON) → 201, or 200 with "linkedTo" when it
//                                   repeats an open case (cases:report)
//   GET  cases                      ?state=&department=&category=&zone=&handler=&reporter=
//                                   &source=&open=true&limit=&offset= (cases:read)
//   GET  cases/{caseId}             one case with its timeline (cases:read, or the reporter)
//   POST cases/{caseId}/transitions {"action":…,"version":…,…} → 200; 409 with the allowed
//                                   next actions (cases:write; rate and verify: cases:report)
//   POST cases/{caseId}/photos      ?stage=report|result, the image as the body → 201
//   GET  photos/{photoId}           the image (cases:read)
//   GET  case-catalog               categories, departments, calendars (cases:read)
//   GET  reporters/{reporterId}/credit   points and their entries (cases:read)
// Personal data of reporters is masked unless an admin asks with ?unmask=true (audited).
void AddCaseRoutes(Router* router, cases::CaseBook* book, cases::PhotoStore* photos,
                   const Clock* clock);

// CaseStream: pushes case changes to WebSocket clients (the dashboard) of GET /ws/cases.
// Messages (text, JSON; reporters masked):
//   {"type":"snapshot","cases":[...]}                         once, the open cases (≤ 1,000)
//   {"type":"case","action":"dispatch","case":{...}}          each transition or event
// Thread-safety: all methods are safe from any thread. The constructor registers the stream
// with the book; Stop() (or the destructor) unregisters it and closes the sessions, and must
// run before the HttpServer is destroyed.
class CaseStream final : public cases::CaseListener {
 public:
  CaseStream(cases::CaseBook* book, const Clock* clock);
  ~CaseStream() override;
  void Stop();
  void OnCaseChange(const cases::Case& c, const cases::Transition& t) override;
  void Open(std::shared_ptr<WebSocketSession> session);
  void Close(const WebSocketSession* session) { fanout_.Close(session); }
  size_t clients() const { return fanout_.size(); }

 private:
  cases::CaseBook* book_;
  const Clock* clock_;
  WebSocketFanout fanout_;
};

// GET /ws/cases (WebSocket upgrade; Permission::kCasesRead) served by `stream`.
void AddCaseStreamRoutes(Router* router, CaseStream* stream);

// /api/v1/case-stats and /api/v1/cases/import, see docs/api.md:
//   GET  case-stats        ?groupBy=department|category|zone|day|week|month&from=&to=
//                          &department=&category=&zone=&format=json|csv (cases:read)
//   POST cases/import      {"cases":[ImportedCase JSON…]} → 201 {"imported":n,"ids":[…]}
//                          (admin); nothing imported when a row is bad (400 naming it).
//                          Run on `import_work`, off the I/O threads; 503 with
//                          Retry-After when it has no room.
void AddCaseStatsRoutes(Router* router, cases::CaseBook* book, const Clock* clock,
                        WorkQueue* import_work);

struct Open311Options {
  std::string jurisdiction_id = "citybrain";
  std::string base_url;  // for discovery; "" = derived from the Host header
  // media_url of a request's first photo: this followed by the photo id; "" = the internal
  // photo route (<origin>/api/v1/photos/), which needs a key with cases:read.
  std::string media_base_url;
  std::string contact;      // discovery's contact text
  std::string key_service;  // discovery's key_service text (where to ask for an api_key)
};

// Open311 GeoReport v2 under /open311/v2 (discovery.{json,xml}, services, requests,
// tokens), JSON and XML, Open311 error format; POST /requests needs an api_key (form field
// or query) of a key with cases:report. See docs/api.md.
void AddOpen311Routes(Router* router, cases::CaseBook* book,
                      const security::ApiKeyAuthority* auth, const Clock* clock,
                      Open311Options options = {});

}  // namespace cb::api

// ---- Sessions and users (the dashboard's sign-in).

namespace cb::security {
class UserDirectory;
}  // namespace cb::security

namespace cb::api {

// The dashboard's sign-in and user administration, see docs/api.md ("Sessions and users"):
//   POST   /api/v1/session        {"user","password"} → 201 {"token","expiresAt","user"}
//                                 (public); 401 for a wrong name or password alike, 429 with
//                                 Retry-After after 5 failures of a name in 5 minutes
//   GET    /api/v1/session        who presented the token: {"user" (null for API keys),
//                                 "key","permissions","expiresAt"} (signed-in)
//   DELETE /api/v1/session        revokes the presented session → 204; 409 for an API key
//   POST   /admin/users           creates a user → 201; GET /admin/users lists them;
//   GET|PUT|DELETE /admin/users/{name}   one user (admin); users from the file: 409
// Passwords are checked and hashed on `password_work`, off the I/O threads; every sign-in,
// failed sign-in and sign-out is written to the log (user name, remote address).
void AddSessionRoutes(Router* router, security::UserDirectory* users, WorkQueue* password_work);

}  // namespace cb::api

// ---- The web dashboard: the situation stream and the dashboard's files.

#include "core/periodic_thread.h"
#include "stream/situation_engine.h"

namespace cb::api {

// SituationStream: the dashboard's live picture of zones, car parks and devices, pushed to
// WebSocket clients of GET /ws/situation. Messages (text, JSON; the items are exactly those
// of the GET /api/v1/situation routes):
//   {"type":"snapshot","at":…,"zones":[…],"parking":[…],"devices":[…]}  once, on connect
//   {"type":"situation","at":…,"zones":[…],"parking":[…]}   every zone and car park, at most
//                                   once a second, when their rendering changed since the
//                                   last such push
//   {"type":"devices","at":…,"devices":[…]}                 devices that went silent or
//                                   report again, as the engine notices
//   {"type":"levelChange","change":{…}}                     each tier level change at once
// A slow client loses messages (its session queue is full) instead of slowing the others.
// Metrics: citybrain_situation_stream_clients, citybrain_situation_stream_messages_total
// (messages queued to clients) and citybrain_situation_stream_dropped_total.
// Thread-safety: all methods are safe from any thread. The constructor registers the stream
// with the engine; Start() runs the once-a-second comparison on its own thread. Stop() (or
// the destructor) unregisters it and closes the sessions, and must run before the
// HttpServer is destroyed.
class SituationStream final : public stream::LevelChangeListener,
                              public stream::DeviceHealthListener {
 public:
  SituationStream(stream::SituationEngine* engine, metrics::Registry* metrics);
  ~SituationStream() override;
  SituationStream(const SituationStream&) = delete;
  SituationStream& operator=(const SituationStream&) = delete;

  void Start(int64_t period_ms = 1000);
  void Stop();
  // Renders the zones and car parks and pushes them when they differ from the last push
  // (nothing when no client is connected). The thread of Start calls it every period.
  void Poll();
  void OnLevelChange(const stream::LevelChange& change) override;
  void OnDeviceHealth(const stream::DeviceHealthChange& change) override;
  void Open(std::shared_ptr<WebSocketSession> session);
  void Close(const WebSocketSession* session);
  size_t clients() const { return fanout_.size(); }

 private:
  void Broadcast(const std::string& message);  // holds mu_
  void SetClientGauge();

  stream::SituationEngine* engine_;
  metrics::Counter* messages_;
  metrics::Counter* dropped_;
  metrics::Gauge* client_gauge_;
  std::mutex mu_;           // orders snapshots and pushes
  std::string last_;        // zones and car parks as last pushed, crowd times left out
  WebSocketFanout fanout_;
  PeriodicThread ticker_;
  std::atomic<bool> stopped_{false};
};

// GET /ws/situation (WebSocket upgrade; Permission::kContextRead) served by `stream`.
void AddSituationStreamRoutes(Router* router, SituationStream* stream);

struct StaticFilesOptions {
  std::string dir;                            // the built dashboard (index.html, assets/…)
  size_t max_file_bytes = size_t{64} << 20;   // larger files are not served
};

// Serves the files of a built web dashboard (Vite's dist) as the Router's fallback: public
// GET and HEAD of any path no route has, except under the API's own prefixes (/ngsi-ld,
// /api, /admin, /ws, /open311, /health, /metrics), which keep their 404. "/" and paths
// without an extension that name no file get index.html (the dashboard's own routes);
// a file with a .gz sibling goes out gzip-encoded to clients that accept it. Files under
// /assets/ are cached for a year (their names carry a hash), the rest revalidated by ETag.
// Nothing outside `dir` is served: "..", NUL, backslashes and encoded forms of them are
// refused (400), and a file whose real path (symlinks resolved) leaves `dir` is not found.
// Files are read from disk per request, so a rebuilt dashboard is served at once.
// Returns an error when `dir` is not a directory.
Status AddStaticFiles(Router* router, StaticFilesOptions options);

// The Content-Type of a file by its extension (text types with charset=utf-8;
// application/octet-stream when unknown).
std::string_view StaticContentType(std::string_view path);
// Whether an Accept-Encoding header value lets the response be gzip-encoded.
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace cb::api
