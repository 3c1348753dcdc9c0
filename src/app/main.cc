// citybrain: the one binary. Subcommands: serve, replay, sim, import-cases, hash-password,
// version.
#include <CLI/CLI.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <cstdio>
#include <iostream>

#include "app/server.h"
#include "app/import_command.h"
#include "app/sim_command.h"
#include "app/user_accounts.h"
#include "sim/http_client.h"
#include "sim/replay.h"
#include "sim/replay_runner.h"
#include "core/json.h"

#ifdef CITYBRAIN_JEMALLOC
#include <jemalloc/jemalloc.h>

// jemalloc's options, read when it starts (MALLOC_CONF in the environment overrides them).
// Its own background threads return unused dirty pages to the kernel, instead of whichever
// thread allocates next: after a burst of writes has freed old entity versions, queries no
// longer pay for purging them (bench/analysis.md, "Allocator purging").
const char* malloc_conf = "background_thread:true";
#endif

namespace {

constexpr const char* kVersion = "citybrain 0.1.0";

// The memory allocator the binary runs on, for `version` and the start-up log.
std::string Allocator() {
#ifdef CITYBRAIN_JEMALLOC
  const char* v = nullptr;
  size_t len = sizeof(v);
  if (mallctl("version", &v, &len, nullptr, 0) == 0 && v != nullptr) {
    return std::string("jemalloc ") + v;
  }
  return "jemalloc";
#else
  return "system malloc";
#endif
}

// %j in a log pattern: the message as a JSON string (quoted and escaped), for JSON lines.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string out;
    cb::AppendJsonString(&out, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void SetUpLogging(const std::string& level, const std::string& format) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("citybrain"));  // logs go to stderr
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":%j})");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
}

int Serve(const cb::app::ServerConfig& config) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // threads started below inherit the mask
  spdlog::info("{}, allocator: {}", kVersion, Allocator());
  cb::app::CityServer server(config);
  cb::Status st = server.Start();
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Stop();
  return 0;
}

struct ReplayArgs {
  std::string url = "http://127.0.0.1:1026";
  std::string key_file;
  std::string file;
  std::string format = "melbourne-hourly";
  std::string locations;
  double speed = 0;
  size_t batch = 500;
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

int Replay(const ReplayArgs& a) {
  std::string csv, key, locations_csv;
  if (!ReadFile(a.file, &csv)) {
    spdlog::error("cannot read {}", a.file);
    return 1;
  }
  if (!a.key_file.empty()) {
    if (!ReadFile(a.key_file, &key)) {
      spdlog::error("cannot read the key file {}", a.key_file);
      return 1;
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  }
  std::map<std::string, std::pair<double, double>> locations;
  if (!a.locations.empty()) {
    if (!ReadFile(a.locations, &locations_csv)) {
      spdlog::error("cannot read {}", a.locations);
      return 1;
    }
    auto l = cb::sim::ParseMelbourneLocations(locations_csv);
    if (!l.ok()) {
      spdlog::error("{}", l.status().message());
      return 1;
    }
    locations = std::move(l).value();
  }
  auto data = cb::sim::ParseReplay(a.format, csv, locations);
  if (!data.ok()) {
    spdlog::error("{}", data.status().message());
    return 1;
  }
  spdlog::info("replay: {} rows read ({} skipped), {} observations", data->rows, data->skipped,
               data->observations.size());
  auto client = cb::sim::HttpClient::Connect(a.url, key);
  if (!client.ok()) {
    spdlog::error("{}", client.status().message());
    return 1;
  }
  auto send = [&](const std::string& body) -> cb::Status {
    auto r = (*client)->Post("/ngsi-ld/v1/entityOperations/upsert?options=update", body);
    if (!r.ok()) return r.status();
    if (r->status != 201 && r->status != 204) {
      return cb::Status::Unavailable("the server answered " + std::to_string(r->status) + ": " +
                                     r->body.substr(0, 300));
    }
    return cb::Status::Ok();
  };
  auto stats = cb::sim::RunReplay(cb::sim::MakeBatches(*data, a.batch), send,
                                  cb::sim::ReplayOptions{.speed = a.speed, .progress_every_s = 5});
  if (!stats.ok()) {
    spdlog::error("{}", stats.status().message());
    return 1;
  }
  std::printf("RESULT name=replay rows=%zu observations=%zu batches=%zu seconds=%.3f rows_per_s=%.0f\n",
              data->rows, stats->observations, stats->batches, stats->seconds, stats->rows_per_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CityBrain — urban operations platform (城市大脑)"};
  app.require_subcommand(1);
  app.set_config("--config", "", "read options from a TOML/INI file (see examples/citybrain.toml)");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text, or json (one JSON object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));

  cb::app::ServerConfig config;
  auto* serve = app.add_subcommand("serve", "run the server with its embedded store");
  serve->add_option("--data", config.data_dir, "data directory (created when missing)")
      ->capture_default_str();
  serve->add_option("--address", config.address,
                    "listen address; loopback unless you mean to expose it")
      ->capture_default_str();
  serve->add_option("--port", config.port, "HTTP port (0 picks a free one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve->add_option("--threads", config.threads, "HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_option("--durability", config.durability,
                    "fsync: survive power loss; process: survive kill -9 only")
      ->capture_default_str()
      ->check(CLI::IsMember({"fsync", "process"}));
  serve->add_option("--apply-after-rows", config.apply_after_rows,
                    "apply journaled writes to the database once this many rows wait "
                    "(0: default, 50000)")
      ->capture_default_str();
  serve->add_option("--apply-after-ms", config.apply_after_ms,
                    "... or once the oldest has waited this long (0: default, 2000)")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  serve->add_option("--apply-when-idle-ms", config.apply_when_idle_ms,
                    "... or once no write has been committed for this long (-1: default, 50; "
                    "0: never)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 600000));
  serve->add_option("--defer-docs-ms", config.defer_docs_ms,
                    "Entity documents go to the database at most this often (their journal "
                    "frames are kept until then; history is applied as usual). -1: default, "
                    "10000; 0: with every apply")
      ->capture_default_str()
      ->check(CLI::Range(-1, 3600000));
  serve->add_option("--apply-nice", config.apply_nice,
                    "run the applier this much below the other threads' CPU priority "
                    "(nice; 0 = same)")
      ->capture_default_str()
      ->check(CLI::Range(0, 19));
  serve->add_option("--max-body", config.max_body_bytes, "largest request body in bytes")
      ->capture_default_str();
  serve->add_option("--request-timeout", config.request_timeout_s,
                    "seconds to receive a whole request (and keep-alive idle time)")
      ->capture_default_str();
  serve->add_option("--ws-recheck-ms", config.ws_recheck_ms,
                    "check an open WebSocket's key or session again this often; one signed "
                    "out, revoked or expired since closes the socket (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  serve->add_option("--mqtt", config.mqtt_url, "MQTT broker URL, e.g. tcp://127.0.0.1:1883");
  serve->add_option("--mqtt-devices", config.mqtt_provisioning,
                    "device provisioning file (JSON) for the MQTT bridge");
  serve->add_option("--tier-plans", config.tier_plans_dir,
                    "directory of tier plan files (*.json; default: DATA/tier-plans when present)");
  serve->add_option("--utc-offset", config.utc_offset_minutes,
                    "minutes east of UTC where local days begin, for time-at-level figures "
                    "(480 for China)")
      ->capture_default_str()
      ->check(CLI::Range(-840, 840));
  serve->add_option("--alert-ack-deadline", config.alert_ack_deadline_s,
                    "seconds to acknowledge an alert before it escalates to the next role")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  serve->add_option("--alert-area-code", config.alert_area_code,
                    "administrative area code (GB/T 2260, 6 digits) for CAP senders and "
                    "GB/T 35965.1 identifiers")
      ->check([](const std::string& v) {
        return v.size() == 6 && v.find_first_not_of("0123456789") == std::string::npos
                   ? std::string()
                   : std::string("must be 6 digits");
      });
  serve->add_option("--rules", config.rules_path,
                    "rules file (one rule or an array) or directory of *.json rule files "
                    "(default: DATA/rules when present); see docs/situational-awareness.md");
  serve->add_option("--alert-webhook", config.alert_webhooks,
                    "[channel=]URL notified of alert changes (repeatable); with a channel "
                    "(e.g. sms=http://…) only alerts escalated to that channel");

  serve->add_option("--warning-feed", config.warning_feeds,
                    "a CAP 1.2 warning feed to poll (http:// URL of a CAP document or an Atom "
                    "feed of them); repeat or separate with commas")
      ->delimiter(',');
  serve->add_option("--warning-poll-seconds", config.warning_poll_s,
                    "seconds between polls of each warning feed")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));

  serve->add_option("--case-catalog", config.case_catalog,
                    "case catalog JSON: categories, departments, SLA targets, calendars "
                    "(default: DATA/case-catalog.json when present, else the built-in one); "
                    "see docs/cases.md");
  serve->add_option("--photos", config.photos_dir, "where case photos are kept (default: DATA/photos)");
  serve->add_option("--max-photo-bytes", config.max_photo_bytes, "largest photo accepted")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20));
  serve->add_option("--case-auto-close-hours", config.case_auto_close_hours,
                    "hours a verified or rated case waits before it closes by itself (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 24 * 365));

  serve->add_option("--open311-jurisdiction", config.open311_jurisdiction,
                    "Open311 jurisdiction_id served (requests naming another get 404)")
      ->capture_default_str();
  serve->add_option("--open311-base-url", config.open311_base_url,
                    "public base URL of the Open311 endpoint for discovery (default: from the "
                    "request's Host header)");
  serve->add_option("--open311-contact", config.open311_contact, "Open311 discovery contact text");
  serve->add_option("--open311-key-service", config.open311_key_service,
                    "Open311 discovery key_service text: where citizens' apps ask for an api_key");

  serve->add_option("--users", config.users_file,
                    "users of the dashboard (JSON, passwords as citybrain hash-password makes "
                    "them); see docs/configuration.md");
  serve->add_option("--session-hours", config.session_hours,
                    "hours a dashboard sign-in session works")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 366));
  auto* web = serve->add_option("--web", config.web_dir,
                                "directory of the built web dashboard to serve (\"\": none; "
                                "default: " CITYBRAIN_WEB_DIST " when it exists)");
  serve->add_option("--situation-history-hours", config.situation_history_hours,
                    "hours of each zone's crowd history kept in memory for charts and replay")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 7));
  serve->add_option("--situation-history-step-seconds", config.situation_history_step_s,
                    "seconds between the points of a zone's crowd history (level changes "
                    "add points between)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));

  ReplayArgs replay_args;
  auto* replay = app.add_subcommand(
      "replay", "stream a CSV time series of real observations to a server, in time order");
  replay->add_option("--url", replay_args.url, "the server")->capture_default_str();
  replay->add_option("--key-file", replay_args.key_file, "file holding an API key (context:write)");
  replay->add_option("--file", replay_args.file, "the CSV file")->required();
  replay->add_option("--format", replay_args.format, "melbourne-hourly or birmingham-parking")
      ->capture_default_str()
      ->check(CLI::IsMember({"melbourne-hourly", "birmingham-parking"}));
  replay->add_option("--locations", replay_args.locations,
                     "Melbourne sensor_locations.csv, to give the counters their locations");
  replay->add_option("--speed", replay_args.speed,
                     "data seconds per real second (3600: an hour a second; 0: as fast as possible)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  replay->add_option("--batch", replay_args.batch, "observations per request at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));

  cb::app::SimCommandArgs sim_args;
  auto* sim = cb::app::AddSimCommand(&app, &sim_args);
  cb::app::ImportCommandArgs import_args;
  auto* import_cases = cb::app::AddImportCommand(&app, &import_args);

  auto* hash_password = cb::app::AddHashPasswordCommand(&app);
  auto* version = app.add_subcommand("version", "print the version");

  CLI11_PARSE(app, argc, argv);
  SetUpLogging(log_level, log_format);

  if (*version) {
    std::printf("%s (allocator: %s)\n", kVersion, Allocator().c_str());
    return 0;
  }
  if (*serve) {
    std::error_code ec;
    if (web->count() == 0 && std::filesystem::is_directory(CITYBRAIN_WEB_DIST, ec)) {
      config.web_dir = CITYBRAIN_WEB_DIST;
    }
    return Serve(config);
  }
  if (*replay) return Replay(replay_args);
  if (*sim) return cb::app::RunSimCommand(sim_args);
  if (*import_cases) return cb::app::RunImportCommand(import_args);
  if (*hash_password) return cb::app::RunHashPasswordCommand();
  return 0;
}
