#include "app/sim_command.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

#include "core/json.h"
#include "sim/district.h"
#include "sim/district_runner.h"

namespace cb::app {
namespace {

// Set by SIGINT/SIGTERM: the run ends after the round in flight. A signal handler can only
// reach a global; nothing else uses it.
std::atomic<bool> g_stop_sim{false};

void OnStopSignal(int) { g_stop_sim.store(true); }

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + what + " " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The options, checked: times of day parsed, the evening's shape valid.
Result<sim::SimOptions> OptionsFrom(const SimCommandArgs& a) {
  auto start = sim::ParseTimeOfDay(a.start);
  if (!start.ok()) return Status::BadRequestData("--start: " + start.status().message());
  auto end = sim::ParseTimeOfDay(a.end);
  if (!end.ok()) return Status::BadRequestData("--end: " + end.status().message());
  sim::SimOptions o{.speed = a.speed,
                    .start_second = *start,
                    .end_second = *end,
                    .interval_seconds = a.interval_seconds,
                    .seed = a.seed,
                    .loop = a.loop};
  CB_RETURN_IF_ERROR(sim::ValidateSimOptions(o));
  return o;
}

// One progress line: the simulated time, what the district's devices report, and what the
// server makes of the plaza.
void PrintProgress(const sim::DistrictModel& model, const sim::DistrictReadings& r,
                   int64_t evening, sim::HttpClient* http) {
  std::string line = "evening " + std::to_string(evening) + "  " + sim::FormatTimeOfDay(r.second);
  for (const sim::SiteSpec& site : model.sites) {
    char part[64];
    std::snprintf(part, sizeof part, "  %s %6lld", site.name.c_str(),
                  static_cast<long long>(r.PeopleIn(site.zone_id)));
    line += part;
  }
  const int64_t occupied = r.SpotsOccupied(), total = r.SpotsTotal();
  char parking[96];
  std::snprintf(parking, sizeof parking, "  parking %lld/%lld (%.0f%%)",
                static_cast<long long>(occupied), static_cast<long long>(total),
                total > 0 ? 100.0 * static_cast<double>(occupied) / static_cast<double>(total) : 0);
  line += parking;
  auto zone = sim::FetchZone(http, model.plaza_zone_id);
  if (zone.ok()) {
    line += "  | server: plaza " +
            (zone->count_known ? std::to_string(static_cast<int64_t>(zone->count)) : "unknown") +
            (zone->level > 0 ? ", level " + std::to_string(zone->level) : ", no level");
  } else {
    line += "  | server: " + zone.status().message();
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

CLI::App* AddSimCommand(CLI::App* app, SimCommandArgs* a) {
  CLI::App* sim = app->add_subcommand(
      "sim",
      "drive the Hubin demo district (fountain plaza, pedestrian street, metro station, "
      "hospital car parks) through an evening on an accelerated clock, like real devices");
  sim->add_option("--url", a->url, "the server")->capture_default_str();
  sim->add_option("--key-file", a->key_file,
                  "file holding an API key (context:write; context:read for the progress lines)");
  sim->add_option("--mqtt", a->mqtt_url, "MQTT broker the server's bridge listens to")
      ->capture_default_str();
  sim->add_flag("--no-mqtt", a->no_mqtt, "send the people counters over HTTP too");
  sim->add_option("--district", a->district_file,
                  "the district's NGSI-LD entities (JSON array), upserted at start")
      ->capture_default_str();
  sim->add_option("--speed", a->speed,
                  "simulated seconds per real second; a server's one-minute decision cycle "
                  "then sees this many minutes of the evening")
      ->capture_default_str();
  sim->add_option("--start", a->start, "simulated time of the first readings (HH:MM)")
      ->capture_default_str();
  sim->add_option("--end", a->end, "simulated time of the last readings (HH:MM; before "
                                   "--start: the next day)")
      ->capture_default_str();
  sim->add_option("--interval", a->interval_seconds, "simulated seconds between readings")
      ->capture_default_str();
  sim->add_option("--seed", a->seed, "seed of the readings' noise (same seed, same evening)")
      ->capture_default_str();
  CLI::Option* once = sim->add_flag("--once", a->once, "run the evening once (the default)");
  sim->add_flag("--loop", a->loop, "run the evening again and again until stopped")
      ->excludes(once);
  return sim;
}

int RunSimCommand(const SimCommandArgs& a) {
  const sim::DistrictModel& model = sim::HubinDistrict();
  auto options = OptionsFrom(a);
  if (!options.ok()) {
    spdlog::error("sim: {}", options.status().message());
    return 2;
  }
  std::string key;
  if (!a.key_file.empty()) {
    auto k = ReadWholeFile(a.key_file, "the key file");
    if (!k.ok()) {
      spdlog::error("sim: {}", k.status().message());
      return 1;
    }
    key = *k;
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  }
  auto district = ReadWholeFile(a.district_file, "the district");
  if (!district.ok()) {
    spdlog::error("sim: {} (run from the repository root, or give --district)",
                  district.status().message());
    return 1;
  }
  auto entities = ParseJson(*district);
  Status fits = entities.ok() ? sim::CheckDistrictDefinition(model, *entities) : entities.status();
  if (!fits.ok()) {
    spdlog::error("sim: {}: {}", a.district_file, fits.message());
    return 1;
  }
  auto http = sim::HttpClient::Connect(a.url, key);
  if (!http.ok()) {
    spdlog::error("sim: {}", http.status().message());
    return 1;
  }
  std::unique_ptr<sim::MqttPublisher> mqtt;
  if (!a.no_mqtt) {
    auto m = sim::MqttPublisher::Connect(a.mqtt_url, "citybrain-sim-" + std::to_string(getpid()));
    if (!m.ok()) {
      spdlog::error("sim: {} (or use --no-mqtt)", m.status().message());
      return 1;
    }
    mqtt = std::move(m).value();
  }
  // Everything is reachable: only now change anything on the server.
  if (Status st = sim::UpsertDistrict(http->get(), *district); !st.ok()) {
    spdlog::error("sim: {}", st.message());
    return 1;
  }
  const std::string counters_via = mqtt ? "MQTT " + a.mqtt_url : "HTTP";
  std::printf("sim: district %s is on %s; %s to %s, %g simulated seconds a second (a "
              "round of readings every %g s, a one-minute decision cycle sees %g simulated "
              "minutes); counters over %s, car parks over HTTP%s\n",
              a.district_file.c_str(), a.url.c_str(), a.start.c_str(), a.end.c_str(),
              options->speed, static_cast<double>(options->interval_seconds) / options->speed,
              options->speed, counters_via.c_str(), options->loop ? ", looping" : "");
  std::fflush(stdout);

  g_stop_sim.store(false);
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  sim::DeviceSink sink(http->get(), mqtt.get(), model.mqtt_api_key);
  // At most one progress line a real second (each line asks the server about the plaza).
  auto last_line = std::chrono::steady_clock::time_point{};
  const int64_t rounds = sim::RoundsPerEvening(*options);
  int64_t round = 0;
  auto progress = [&](const sim::DistrictReadings& r, int64_t evening) {
    const auto now = std::chrono::steady_clock::now();
    const bool last = ++round % rounds == 0;
    if (last || now - last_line >= std::chrono::seconds(1)) {
      last_line = now;
      PrintProgress(model, r, evening, http->get());
    }
  };
  auto stats = sim::RunDistrict(model, *options, &sink, SystemClock::Instance(), progress,
                                &g_stop_sim);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!stats.ok()) {
    spdlog::error("{}", stats.status().message());
    return 1;
  }
  const sim::DeviceSink::Counts& c = sink.counts();
  std::printf("RESULT name=sim rounds=%lld evenings=%lld counters_mqtt=%lld counters_http=%lld "
              "lots_http=%lld stopped=%d\n",
              static_cast<long long>(stats->rounds), static_cast<long long>(stats->evenings),
              static_cast<long long>(c.counters_mqtt), static_cast<long long>(c.counters_http),
              static_cast<long long>(c.lots_http), g_stop_sim.load() ? 1 : 0);
  return 0;
}

}  // namespace cb::app
