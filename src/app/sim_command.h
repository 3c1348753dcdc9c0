// `citybrain sim`: drives the Hubin demo district (src/sim/district.h) through an evening on
// an accelerated clock, against a running server, through its public APIs like real
// devices: makes sure the district exists (NGSI-LD batch upsert), then sends the people
// counters over MQTT (or HTTP with --no-mqtt) and the car parks over HTTP, printing a
// progress line per round. This file only parses the command line and wires the parts.
// Thread-safety: run from main's thread.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace cb::app {

struct SimCommandArgs {
  std::string url = "http://127.0.0.1:1026";
  std::string key_file;
  std::string mqtt_url = "tcp://127.0.0.1:1883";
  bool no_mqtt = false;
  std::string district_file = "examples/demo-city.json";
  double speed = 10;
  std::string start = "17:00";
  std::string end = "23:00";
  int64_t interval_seconds = 60;
  uint64_t seed = 1;
  bool once = false;
  bool loop = false;
};

// Adds the `sim` subcommand to `app`, filling `args`; returns it.
CLI::App* AddSimCommand(CLI::App* app, SimCommandArgs* args);

// Runs it; the process exit code (0: the evening ran, or was stopped by SIGINT/SIGTERM).
int RunSimCommand(const SimCommandArgs& args);

}  // namespace cb::app
