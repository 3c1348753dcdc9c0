#include "app/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "api/api.h"
#include "api/http.h"
#include "api/notifier.h"
#include "api/warning_poller.h"
#include "app/alerting.h"
#include "app/case_wiring.h"
#include "app/user_accounts.h"
#include "cases/case_book.h"
#include "app/warning_intake.h"
#include "context/broker.h"
#include "context/subscriptions.h"
#include "ingest/mqtt_bridge.h"
#include "core/metrics.h"
#include "core/work_queue.h"
#include "security/auth.h"
#include "security/users.h"
#include "store/store.h"
#include "stream/situation_engine.h"

namespace cb::app {

namespace fs = std::filesystem;

struct CityServer::Impl {
  ServerConfig config;
  int lock_fd = -1;
  metrics::Registry registry;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<context::ContextBroker> broker;
  std::unique_ptr<security::ApiKeyAuthority> auth;
  api::Router router;
  std::unique_ptr<api::HttpServer> http;
  TimeMs started_at = 0;
  // Subscriptions, notifications and the entity stream (wired in Start, stopped in Stop).
  std::unique_ptr<context::SubscriptionManager> subscriptions;
  std::unique_ptr<api::Notifier> notifier;
  std::unique_ptr<api::EntityStream> entity_stream;
  std::unique_ptr<ingest::MqttBridge> mqtt;
  std::unique_ptr<stream::SituationEngine> situation;
  std::unique_ptr<alerts::AlertBook> alerts;
  std::unique_ptr<TierAlertBridge> tier_alerts;
  std::unique_ptr<DeviceAlertBridge> device_alerts;
  std::unique_ptr<AlertEscalationClock> escalation;
  std::unique_ptr<api::AlertStream> alert_stream;
  std::unique_ptr<AlertEntityWriter> alert_entities;
  std::unique_ptr<stream::RuleEngine> rules;
  std::unique_ptr<RuleAlertBridge> rule_alerts;
  std::unique_ptr<WarningIntake> warnings;
  std::unique_ptr<api::WarningPoller> warning_poller;
  std::unique_ptr<cases::Catalog> case_catalog;
  std::unique_ptr<cases::CaseBook> cases;
  std::unique_ptr<cases::PhotoStore> photos;
  std::unique_ptr<AlertCaseOpener> case_opener;
  std::unique_ptr<CaseTimerClock> case_timers;
  std::unique_ptr<api::CaseStream> case_stream;
  // Case imports over HTTP: parsing up to 10,000 rows and their durable commit take a
  // second or more, off the I/O threads.
  std::unique_ptr<WorkQueue> import_work;
  std::unique_ptr<security::UserDirectory> users;
  std::unique_ptr<WorkQueue> password_work;  // sign-ins: argon2id off the I/O threads
  std::unique_ptr<api::SituationStream> situation_stream;
};

CityServer::CityServer(ServerConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

CityServer::~CityServer() { Stop(); }

namespace {

// The JSON documents of `path`: the file itself, or every *.json file of the directory (in
// name order); none when it does not exist and is not `required`. `take` gets each document
// and the file it came from; its error stops the loading, prefixed with the file.
Status LoadJsonFiles(const std::string& path, bool required, const char* what,
                     const std::function<Status(const JsonValue&)>& take) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
  } else if (required) {
    return Status::BadRequestData(std::string(what) + ": " + path + " is not a file or directory");
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto json = ParseJson(text);
    Status st = json.ok() ? take(*json) : json.status();
    if (!st.ok()) return Status::BadRequestData(f.string() + ": " + st.message());
  }
  return Status::Ok();
}

// A metric read from a module's stats when /metrics is scraped: a counter or a gauge.
void AddStatsMetric(metrics::Registry* registry, const char* name, const char* help, bool counter,
                    std::function<double()> fn) {
  if (counter) {
    registry->AddCallbackCounter(name, help, std::move(fn));
  } else {
    registry->AddCallbackGauge(name, help, std::move(fn));
  }
}

Result<std::vector<stream::TierPlan>> LoadTierPlans(const std::string& dir, bool required) {
  std::vector<stream::TierPlan> plans;
  CB_RETURN_IF_ERROR(LoadJsonFiles(dir, required, "tier plans", [&](const JsonValue& v) {
    auto plan = stream::TierPlan::FromJson(v);
    if (!plan.ok()) return plan.status();
    plans.push_back(std::move(plan).value());
    return Status::Ok();
  }));
  return plans;
}

// Rules: each file holds one rule or an array of them.
Result<std::vector<stream::Rule>> LoadRules(const std::string& path, bool required) {
  std::vector<stream::Rule> rules;
  CB_RETURN_IF_ERROR(LoadJsonFiles(path, required, "rules", [&](const JsonValue& v) {
    const JsonValue::Array one{v};
    for (const JsonValue& r : v.is_array() ? v.as_array() : one) {
      auto rule = stream::Rule::FromJson(r);
      if (!rule.ok()) return rule.status();
      rules.push_back(std::move(rule).value());
    }
    return Status::Ok();
  }));
  return rules;
}

Status LockDataDir(const std::string& dir, int* fd) {
  std::string path = dir + "/LOCK";
  *fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*fd < 0) return Status::Unavailable("cannot open " + path);
  if (::flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(*fd);
    *fd = -1;
    return Status::Unavailable("data directory " + dir +
                               " is in use by another citybrain process");
  }
  return Status::Ok();
}

}  // namespace

Status CityServer::Start() {
  Impl& s = *impl_;
  const ServerConfig& c = s.config;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Status::Unavailable("cannot create data directory " + c.data_dir + ": " + ec.message());
  CB_RETURN_IF_ERROR(LockDataDir(c.data_dir, &s.lock_fd));

  store::StoreOptions so;
  so.path = c.data_dir + "/citybrain.db";
  if (c.durability == "fsync") {
    so.durability = store::Durability::kFsync;
  } else if (c.durability == "process") {
    so.durability = store::Durability::kProcess;
  } else {
    return Status::BadRequestData("durability must be fsync or process");
  }
  if (c.apply_after_rows > 0) {
    so.apply_after_rows = c.apply_after_rows;
    // Room for the next rows to be committed while these are applied.
    so.max_apply_rows = std::max(so.max_apply_rows, c.apply_after_rows);
    so.max_unapplied_rows = std::max(so.max_unapplied_rows, 2 * c.apply_after_rows);
  }
  if (c.apply_after_ms > 0) so.apply_after_ms = c.apply_after_ms;
  if (c.apply_when_idle_ms >= 0) so.apply_when_idle_ms = c.apply_when_idle_ms;
  if (c.defer_docs_ms >= 0) so.defer_docs_ms = c.defer_docs_ms;
  so.applier_nice = c.apply_nice;
  auto st = store::OpenSqliteStore(so);
  if (!st.ok()) return st.status();
  s.store = std::move(st).value();
  s.broker = std::make_unique<context::ContextBroker>(s.store.get(), SystemClock::Instance());
  CB_RETURN_IF_ERROR(s.broker->Load());
  s.auth = std::make_unique<security::ApiKeyAuthority>(s.store.get());
  CB_RETURN_IF_ERROR(s.auth->Load());
  if (s.auth->size() == 0) {
    // First start: issue an admin key and leave it, readable by the owner only, in the data
    // directory. Nothing is open by default.
    auto k = s.auth->Issue("bootstrap admin", {security::Permission::kAdmin});
    if (!k.ok()) return k.status();
    std::string path = c.data_dir + "/admin.key";
    {
      std::ofstream out(path, std::ios::trunc);
      out << k->key << "\n";
    }
    ::chmod(path.c_str(), 0600);
    spdlog::warn("first start: an admin API key was written to {} (mode 0600)", path);
  }

  auto* store_ptr = s.store.get();
  s.registry.AddCallbackGauge("citybrain_store_queue_rows", "Rows waiting for a group commit",
                              [store_ptr] { return double(store_ptr->Stats().queued_rows); });
  s.registry.AddCallbackCounter("citybrain_store_commits_total", "Group commits",
                              [store_ptr] { return double(store_ptr->Stats().commits); });
  s.registry.AddCallbackCounter("citybrain_store_rows_committed_total", "Rows committed",
                              [store_ptr] { return double(store_ptr->Stats().rows_committed); });
  s.registry.AddCallbackGauge("citybrain_store_last_commit_seconds",
                              "Duration of the last group commit",
                              [store_ptr] { return store_ptr->Stats().last_commit_ms / 1000.0; });
  s.registry.AddCallbackCounter(
      "citybrain_store_commit_seconds_total", "Time spent in group commits",
      [store_ptr] { return store_ptr->Stats().commit_ms_total / 1000.0; });
  s.registry.AddCallbackGauge(
      "citybrain_store_unapplied_rows",
      "Rows committed to the journal and not yet applied to the database",
      [store_ptr] { return double(store_ptr->Stats().unapplied_rows); });
  s.registry.AddCallbackGauge(
      "citybrain_store_deferred_entity_docs",
      "Entity documents applied and held for a later write to the database, superseded ones "
      "included until dropped (their journal frames are kept until then)",
      [store_ptr] { return double(store_ptr->Stats().deferred_docs); });
  s.registry.AddCallbackGauge(
      "citybrain_store_entity_doc_log_rows",
      "Rows in the database's log of entity documents, current and superseded (compactions "
      "keep it within about twice the entities)",
      [store_ptr] { return double(store_ptr->Stats().doc_log_rows); });
  s.registry.AddCallbackCounter(
      "citybrain_store_entity_docs_moved_total",
      "Current entity documents the log's compactions moved from its oldest end to its newest",
      [store_ptr] { return double(store_ptr->Stats().doc_log_moved); });
  s.registry.AddCallbackCounter("citybrain_store_applies_total",
                                "Transactions applying committed rows to the database",
                                [store_ptr] { return double(store_ptr->Stats().applies); });
  s.registry.AddCallbackCounter("citybrain_store_rows_applied_total",
                                "Rows applied to the database",
                                [store_ptr] { return double(store_ptr->Stats().rows_applied); });
  s.registry.AddCallbackCounter(
      "citybrain_store_apply_seconds_total", "Time spent applying committed rows to the database",
      [store_ptr] { return store_ptr->Stats().apply_ms_total / 1000.0; });
  auto* broker = s.broker.get();
  s.registry.AddCallbackGauge("citybrain_entities", "Entities held",
                              [broker] { return double(broker->Stats().entities); });
  s.registry.AddCallbackCounter("citybrain_attribute_updates_total", "Attribute updates applied",
                              [broker] { return double(broker->Stats().attrs_written); });

  s.started_at = SystemClock::Instance()->Now();
  TimeMs started = s.started_at;
  api::AddNgsiLdRoutes(&s.router, s.broker.get());
  api::AddAdminRoutes(&s.router, s.auth.get());
  // ---- BEGIN subscriptions, notifications, entity stream ----
  s.subscriptions =
      std::make_unique<context::SubscriptionManager>(s.store.get(), SystemClock::Instance());
  CB_RETURN_IF_ERROR(s.subscriptions->Load());
  s.notifier = std::make_unique<api::Notifier>(s.subscriptions.get(), &s.registry,
                                               SystemClock::Instance());
  s.subscriptions->SetSink(s.notifier.get());
  CB_RETURN_IF_ERROR(s.notifier->Start());
  s.broker->AddListener(s.subscriptions.get());
  api::AddSubscriptionRoutes(&s.router, s.subscriptions.get());
  s.entity_stream = std::make_unique<api::EntityStream>(s.broker.get(), &s.registry);
  api::AddEntityStreamRoutes(&s.router, s.entity_stream.get());
  // ---- END subscriptions, notifications, entity stream ----
  api::AddOperationsRoutes(&s.router, &s.registry, [broker, started_at = FormatIso8601(started)] {
    std::string out;
    out.reserve(96);  // room for the whole body: built without regrowing
    JsonWriter w(&out);
    w.BeginObject()
        .Key("status").String("ok")
        .Key("entities").Int(static_cast<int64_t>(broker->Stats().entities))
        .Key("startedAt").String(started_at)
        .EndObject();
    return out;
  });

  {
    const bool given = !c.tier_plans_dir.empty();
    auto plans = LoadTierPlans(given ? c.tier_plans_dir : c.data_dir + "/tier-plans", given);
    if (!plans.ok()) return plans.status();
    stream::SituationOptions so;
    so.utc_offset_minutes = c.utc_offset_minutes;
    so.history_hours = c.situation_history_hours;
    so.history_step_ms = int64_t{c.situation_history_step_s} * 1000;
    auto engine = stream::SituationEngine::Create(s.broker.get(), SystemClock::Instance(),
                                                  std::move(plans).value(), so);
    if (!engine.ok()) return engine.status();
    s.situation = std::move(engine).value();
    alerts::AlertOptions ao;
    ao.ack_deadline_ms = int64_t{c.alert_ack_deadline_s} * 1000;
    ao.area_code = c.alert_area_code;
    s.alerts = std::make_unique<alerts::AlertBook>(ao, s.store.get());
    CB_RETURN_IF_ERROR(s.alerts->Load());
    s.tier_alerts = std::make_unique<TierAlertBridge>(s.situation.get(), s.alerts.get());
    s.situation->AddListener(s.tier_alerts.get());
    s.device_alerts = std::make_unique<DeviceAlertBridge>(s.alerts.get());
    s.situation->AddDeviceListener(s.device_alerts.get());
    s.alert_entities = std::make_unique<AlertEntityWriter>(s.broker.get(), s.alerts.get());
    s.alerts->AddListener(s.alert_entities.get());
    CB_RETURN_IF_ERROR(s.situation->Start());
    const bool rules_given = !c.rules_path.empty();
    auto rules = LoadRules(rules_given ? c.rules_path : c.data_dir + "/rules", rules_given);
    if (!rules.ok()) return rules.status();
    s.rules = std::make_unique<stream::RuleEngine>(s.broker.get(), s.situation.get(), s.store.get(),
                                                   SystemClock::Instance());
    s.rule_alerts = std::make_unique<RuleAlertBridge>(s.situation.get(), s.alerts.get());
    s.rules->AddListener(s.rule_alerts.get());
    CB_RETURN_IF_ERROR(s.rules->Start(std::move(rules).value()));
    s.rule_alerts->Reconcile(*s.rules, SystemClock::Instance()->Now());
    s.alert_entities->WriteOpen();
    CB_RETURN_IF_ERROR(EnsureAlertWebhooks(s.subscriptions.get(), c.alert_webhooks));
    s.escalation = std::make_unique<AlertEscalationClock>(s.alerts.get(), SystemClock::Instance());
    s.escalation->Start();
    auto* situation = s.situation.get();
    auto* book = s.alerts.get();
    auto situation_gauge = [&](const char* name, const char* help, auto get) {
      s.registry.AddCallbackGauge(name, help, [situation, get] { return double(get(situation->Stats())); });
    };
    situation_gauge("citybrain_zones", "Zones defined", [](const stream::SituationStats& x) { return x.zones; });
    situation_gauge("citybrain_zones_with_tier_plan", "Zones running a tier plan",
                    [](const stream::SituationStats& x) { return x.zones_with_plan; });
    situation_gauge("citybrain_people_counters", "People counters",
                    [](const stream::SituationStats& x) { return x.counters; });
    situation_gauge("citybrain_car_parks", "Car parks in the parking index",
                    [](const stream::SituationStats& x) { return x.car_parks; });
    situation_gauge("citybrain_devices_silent", "Counters and car parks gone silent",
                    [](const stream::SituationStats& x) { return x.silent_devices; });
    s.registry.AddCallbackCounter("citybrain_tier_level_changes_total", "Tier level changes",
                                  [situation] { return double(situation->Stats().level_changes); });
    const char* outcomes[] = {"accepted", "duplicate", "late", "unknown_counter", "invalid"};
    for (int i = 0; i < 5; ++i) {
      s.registry.AddCallbackCounter(
          std::string("citybrain_readings_") + outcomes[i] + "_total",
          std::string("Counter and car-park readings: ") + outcomes[i],
          [situation, i] { return double(situation->Stats().readings[i]); });
    }
    s.registry.AddCallbackGauge("citybrain_alerts_open", "Alerts not resolved",
                                [book] { return double(book->GetStats().open); });
    s.registry.AddCallbackGauge("citybrain_alerts_unacknowledged", "Alerts active and not acknowledged",
                                [book] { return double(book->GetStats().unacknowledged); });
    s.registry.AddCallbackCounter("citybrain_alerts_raised_total", "Alerts opened",
                                  [book] { return double(book->GetStats().raised); });
    s.registry.AddCallbackCounter("citybrain_alert_escalations_total", "Alert escalation steps",
                                  [book] { return double(book->GetStats().escalations); });
    auto* rule_engine = s.rules.get();
    auto rules_gauge = [&](const char* name, const char* help, bool counter, auto get) {
      AddStatsMetric(&s.registry, name, help, counter, [rule_engine, get] { return double(get(rule_engine->Stats())); });
    };
    rules_gauge("citybrain_rules", "Rules defined", false, [](const stream::RuleStats& x) { return x.rules; });
    rules_gauge("citybrain_rule_firings", "Rule firings open now (rule and entity)", false,
                [](const stream::RuleStats& x) { return x.firing; });
    rules_gauge("citybrain_rule_evaluations_total", "Rule evaluations", true,
                [](const stream::RuleStats& x) { return x.evaluations; });
    rules_gauge("citybrain_rule_firings_total", "Rule firings", true,
                [](const stream::RuleStats& x) { return x.fired; });
    rules_gauge("citybrain_rule_firings_suppressed_total", "Rule firings held back by a quiet period",
                true, [](const stream::RuleStats& x) { return x.suppressed; });
    api::AddRuleRoutes(&s.router, s.rules.get());
    api::AddSituationRoutes(&s.router, s.situation.get(), s.broker.get());
    s.situation_stream = std::make_unique<api::SituationStream>(s.situation.get(), &s.registry);
    s.situation_stream->Start();
    api::AddSituationStreamRoutes(&s.router, s.situation_stream.get());
    api::AddAlertRoutes(&s.router, s.alerts.get(), SystemClock::Instance());
    s.alert_stream = std::make_unique<api::AlertStream>(s.alerts.get());
    api::AddAlertStreamRoutes(&s.router, s.alert_stream.get());
    // Warnings from outside (CAP), posted or polled, become alerts for the zones they cover.
    s.warnings = std::make_unique<WarningIntake>(s.situation.get(), s.broker.get(), s.alerts.get(),
                                                 s.store.get(), SystemClock::Instance(), &s.registry);
    CB_RETURN_IF_ERROR(s.warnings->Load());
    s.warnings->Start();
    api::AddWarningRoutes(&s.router, s.warnings.get());
    if (!c.warning_feeds.empty()) {
      api::WarningPollerOptions wo;
      wo.feeds = c.warning_feeds;
      wo.interval_s = c.warning_poll_s;
      auto poller = api::WarningPoller::Create(wo, s.warnings.get(), &s.registry);
      if (!poller.ok()) return poller.status();
      s.warning_poller = std::move(poller).value();
      CB_RETURN_IF_ERROR(s.warning_poller->Start());
    }
    // Cases: the catalog, the book (with its SLA timers) and the alerts that open cases.
    if (!c.case_catalog.empty() || fs::exists(c.data_dir + "/case-catalog.json")) {
      const std::string path = c.case_catalog.empty() ? c.data_dir + "/case-catalog.json" : c.case_catalog;
      CB_RETURN_IF_ERROR(LoadJsonFiles(path, true, "case catalog", [&](const JsonValue& v) {
        auto catalog = cases::Catalog::FromJson(v);
        if (!catalog.ok()) return catalog.status();
        s.case_catalog = std::make_unique<cases::Catalog>(std::move(catalog).value());
        return Status::Ok();
      }));
    }
    const cases::Catalog* catalog = s.case_catalog ? s.case_catalog.get() : &cases::Catalog::Default();
    cases::CaseBookOptions co;
    co.auto_close_ms = int64_t{c.case_auto_close_hours} * 3600000;
    s.cases = std::make_unique<cases::CaseBook>(catalog, s.store.get(), co);
    s.cases->SetZoneLocator([situation](double lon, double lat) { return situation->ZonesAt({lon, lat}); });
    CB_RETURN_IF_ERROR(s.cases->Load());
    s.photos = std::make_unique<cases::PhotoStore>(c.photos_dir.empty() ? c.data_dir + "/photos" : c.photos_dir,
                                                   c.max_photo_bytes);
    s.case_opener = std::make_unique<AlertCaseOpener>(s.cases.get(), SystemClock::Instance());
    s.alerts->AddListener(s.case_opener.get());
    s.case_timers = std::make_unique<CaseTimerClock>(s.cases.get(), SystemClock::Instance());
    s.case_timers->Start();
    api::AddCaseRoutes(&s.router, s.cases.get(), s.photos.get(), SystemClock::Instance());
    s.import_work = std::make_unique<WorkQueue>(1, 4);
    api::AddCaseStatsRoutes(&s.router, s.cases.get(), SystemClock::Instance(), s.import_work.get());
    api::Open311Options oo;
    oo.jurisdiction_id = c.open311_jurisdiction;
    oo.base_url = c.open311_base_url;
    oo.contact = c.open311_contact;
    oo.key_service = c.open311_key_service;
    api::AddOpen311Routes(&s.router, s.cases.get(), s.auth.get(), SystemClock::Instance(), oo);
    s.case_stream = std::make_unique<api::CaseStream>(s.cases.get(), SystemClock::Instance());
    api::AddCaseStreamRoutes(&s.router, s.case_stream.get());
    auto* case_book = s.cases.get();
    auto case_metric = [&](const char* name, const char* help, bool counter, auto get) {
      AddStatsMetric(&s.registry, name, help, counter, [case_book, get] { return double(get(case_book->GetStats())); });
    };
    using CaseStats = cases::CaseBook::Stats;
    case_metric("citybrain_cases", "Cases kept", false, [](const CaseStats& x) { return x.cases; });
    case_metric("citybrain_cases_open", "Cases not finished", false, [](const CaseStats& x) { return x.open; });
    case_metric("citybrain_cases_created_total", "Cases filed", true, [](const CaseStats& x) { return x.created; });
    case_metric("citybrain_case_transitions_total", "Case transitions and events recorded", true,
                [](const CaseStats& x) { return x.transitions; });
    case_metric("citybrain_cases_linked_total", "Reports linked to an open case as duplicates", true,
                [](const CaseStats& x) { return x.linked; });
    case_metric("citybrain_case_sla_warnings_total", "SLA warnings before a step deadline", true,
                [](const CaseStats& x) { return x.warnings; });
    case_metric("citybrain_case_escalations_total", "Case escalations to a supervisor", true,
                [](const CaseStats& x) { return x.escalations; });
    spdlog::info("cases: catalog with {} categories and {} departments{}", catalog->categories().size(),
                 catalog->departments().size(), s.case_catalog ? "" : " (built-in)");
  }

  {  // Users of the dashboard and their sign-in sessions (departments from the case catalog).
    const cases::Catalog* catalog = s.case_catalog ? s.case_catalog.get() : &cases::Catalog::Default();
    security::UserDirectoryOptions uo;
    uo.session_ms = int64_t{c.session_hours} * 3600 * 1000;
    uo.department_known = [catalog](std::string_view d) { return catalog->FindDepartment(d) != nullptr; };
    s.users = std::make_unique<security::UserDirectory>(s.store.get(), s.auth.get(),
                                                        SystemClock::Instance(), std::move(uo));
    CB_RETURN_IF_ERROR(s.users->Load());
    CB_RETURN_IF_ERROR(SyncUsersFile(c.users_file, s.users.get()));
    s.password_work = std::make_unique<WorkQueue>(2, 64);
    api::AddSessionRoutes(&s.router, s.users.get(), s.password_work.get());
    spdlog::info("users: {} (sessions last {} h)", s.users->size(), c.session_hours);
  }

  if (!c.mqtt_url.empty()) {
    ingest::DeviceTable devices;
    if (!c.mqtt_provisioning.empty()) {
      auto table = ingest::LoadDeviceTable(c.mqtt_provisioning);
      if (!table.ok()) return table.status();
      devices = std::move(table).value();
    } else {
      spdlog::warn("--mqtt without --mqtt-devices: no device is provisioned, all messages "
                   "will be refused");
    }
    ingest::MqttBridgeOptions mo;
    mo.url = c.mqtt_url;
    s.mqtt = std::make_unique<ingest::MqttBridge>(mo, std::move(devices), s.broker.get(),
                                                  &s.registry);
    CB_RETURN_IF_ERROR(s.mqtt->Start());
    spdlog::info("MQTT bridge connected to {} ({} devices)", c.mqtt_url,
                 s.mqtt->devices().size());
  }

  if (c.web_dir.empty()) {
    spdlog::info("web dashboard: none served (build web/ or pass --web DIR)");
  } else {
    api::StaticFilesOptions web;
    web.dir = c.web_dir;
    CB_RETURN_IF_ERROR(api::AddStaticFiles(&s.router, std::move(web)));
    spdlog::info("web dashboard: serving {}", c.web_dir);
  }

  api::ServerOptions ho;
  ho.address = c.address;
  ho.port = static_cast<uint16_t>(c.port);
  ho.threads = c.threads;
  ho.max_body_bytes = c.max_body_bytes;
  ho.request_timeout_s = c.request_timeout_s;
  ho.ws_recheck_ms = c.ws_recheck_ms;
  s.http = std::make_unique<api::HttpServer>(ho, &s.router, s.auth.get(), &s.registry);
  CB_RETURN_IF_ERROR(s.http->Start());

  spdlog::info("serving on http://{}:{} (data {}, durability {})", c.address, s.http->port(),
               c.data_dir, c.durability);
  return Status::Ok();
}

uint16_t CityServer::port() const { return impl_->http ? impl_->http->port() : 0; }

void CityServer::Stop() {
  Impl& s = *impl_;
  // The streams let go of their WebSocket sessions before the HTTP server goes.
  if (s.entity_stream) s.entity_stream->Stop();
  if (s.alert_stream) s.alert_stream->Stop();
  if (s.case_stream) s.case_stream->Stop();
  if (s.situation_stream) s.situation_stream->Stop();
  if (s.http) {
    spdlog::info("stopping: draining requests");
    s.http->Stop(5000);
    if (s.password_work) s.password_work->Stop();  // answers what is left before the server goes
    if (s.import_work) s.import_work->Stop();
    s.http.reset();
  }
  if (s.mqtt) {
    s.mqtt->Stop();  // writes what it has queued before the store closes
    s.mqtt.reset();
  }
  if (s.rules) {
    s.rules->Stop();
    s.rules.reset();
  }
  if (s.warning_poller) s.warning_poller->Stop();
  s.warning_poller.reset();
  if (s.warnings) s.warnings->Stop();
  if (s.situation) {
    s.situation->Stop();
    s.situation.reset();
  }
  if (s.escalation) s.escalation->Stop();
  s.escalation.reset();
  if (s.case_timers) s.case_timers->Stop();
  s.case_timers.reset();
  if (s.alerts && s.case_opener) s.alerts->RemoveListener(s.case_opener.get());
  s.case_opener.reset();
  s.case_stream.reset();
  s.cases.reset();
  s.alert_stream.reset();
  s.warnings.reset();
  s.tier_alerts.reset();
  s.device_alerts.reset();
  s.rule_alerts.reset();
  s.alerts.reset();
  s.alert_entities.reset();
  // ---- BEGIN subscriptions: deliver what is queued, persist delivery status ----
  if (s.subscriptions) {
    if (s.broker) s.broker->RemoveListener(s.subscriptions.get());
    if (s.notifier) s.notifier->Stop(3000);
    Status fs = s.subscriptions->FlushSync();
    if (!fs.ok()) spdlog::warn("subscription status not saved: {}", fs.ToString());
    s.notifier.reset();
    s.subscriptions.reset();
  }
  s.entity_stream.reset();
  // ---- END subscriptions ----
  if (s.store) {
    s.store->Close();
    spdlog::info("store closed; every acknowledged write is committed");
  }
  s.broker.reset();
  s.users.reset();
  s.auth.reset();
  s.store.reset();
  if (s.lock_fd >= 0) {
    ::close(s.lock_fd);
    s.lock_fd = -1;
  }
}

}  // namespace cb::app
