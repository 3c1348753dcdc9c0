// citybrain: the one binary. Subcommands: serve, keys, version.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "app/server.h"

namespace {

int Serve(const cb::app::ServerConfig& config) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // threads started below inherit the mask
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CityBrain — urban operations platform (城市大脑)"};
  app.require_subcommand(1);
  app.set_config("--config", "", "read options from a TOML/INI file (see examples/citybrain.toml)");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

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
  serve->add_option("--max-body", config.max_body_bytes, "largest request body in bytes")
      ->capture_default_str();
  serve->add_option("--request-timeout", config.request_timeout_s,
                    "seconds to receive a whole request (and keep-alive idle time)")
      ->capture_default_str();
  serve->add_option("--mqtt", config.mqtt_url, "MQTT broker URL, e.g. tcp://127.0.0.1:1883");
  serve->add_option("--mqtt-devices", config.mqtt_provisioning,
                    "device provisioning file (JSON) for the MQTT bridge");

  auto* version = app.add_subcommand("version", "print the version");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("citybrain"));  // logs to stderr
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  if (*version) {
    std::puts("citybrain 0.1.0");
    return 0;
  }
  if (*serve) return Serve(config);
  return 0;
}
