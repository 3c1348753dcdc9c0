// CityServer: wires the modules into one running service (store → broker → API) for
// `citybrain serve`, and takes it down cleanly. Tests start one in-process the same way.
// Thread-safety: Start/Stop from one thread; the running service is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace cb::app {

struct ServerConfig {
  std::string data_dir = "./data";
  std::string address = "127.0.0.1";
  int port = 1026;
  int threads = 2;
  std::string durability = "fsync";  // fsync | process
  // The store applies journaled writes to its database once this many rows wait, or once
  // the oldest has waited apply_after_ms (0: the store's defaults). Larger values write a
  // busy entity's page once for more updates, at the cost of memory and longer applies.
  size_t apply_after_rows = 0;
  int apply_after_ms = 0;
  // ... or once no write has been committed for this long (0: only the two limits above;
  // -1: the store's default).
  int apply_when_idle_ms = -1;
  // Entity documents are written to the database at most this often (their journal frames
  // are kept until then): -1, the store's default (10 s); 0, with every apply.
  int defer_docs_ms = -1;
  // How much lower the applier thread's CPU priority is than the rest (nice, 0–19): busy
  // moments go to acknowledging writes and answering reads; the applier catches up after.
  int apply_nice = 10;
  size_t max_body_bytes = 8 * 1024 * 1024;
  int request_timeout_s = 30;
  // How often an open WebSocket's key or session is checked again (0: never).
  int ws_recheck_ms = 5000;
  std::string mqtt_url;              // e.g. tcp://127.0.0.1:1883; empty: no MQTT bridge
  std::string mqtt_provisioning;     // JSON file of devices (see docs/configuration.md)
  // Tier plans: every *.json file of this directory (empty: data_dir/tier-plans, if any).
  std::string tier_plans_dir;
  int utc_offset_minutes = 0;        // where local days begin, for time-at-level figures
  // Alerts: acknowledge within this many seconds or the alert escalates; the CAP sender's
  // administrative area code (GB/T 2260, 6 digits; empty: "citybrain" identifiers).
  int alert_ack_deadline_s = 600;
  std::string alert_area_code;
  // Rules: a rules file (one rule or an array) or a directory of *.json files (empty:
  // data_dir/rules, if any). Rules defined through the API are kept in the store.
  std::string rules_path;
  // Alert webhooks, each "[channel=]URL" (see EnsureAlertWebhooks in app/alerting.h).
  std::vector<std::string> alert_webhooks;
  // Warnings from outside: CAP feeds (http:// URLs) polled every warning_poll_s; POST
  // /api/v1/warnings takes them in whether or not any are given.
  std::vector<std::string> warning_feeds;
  int warning_poll_s = 300;
  // Cases: the catalog (categories, departments, SLA; empty: DATA/case-catalog.json when
  // present, else the built-in one), and where photos go (empty: DATA/photos).
  std::string case_catalog;
  std::string photos_dir;
  size_t max_photo_bytes = 5 * 1024 * 1024;
  int case_auto_close_hours = 72;
  // Open311: the jurisdiction_id served, the public base URL for discovery ("" = from the
  // Host header), and the discovery texts.
  std::string open311_jurisdiction = "citybrain";
  std::string open311_base_url;
  std::string open311_contact;
  std::string open311_key_service;
  // Users of the dashboard: the users file (see app/user_accounts.h; empty: none, and users
  // from an earlier file are removed) and how long a sign-in session works.
  std::string users_file;
  int session_hours = 12;
  // The web dashboard: the directory of its built files (empty: none served), and how much
  // of each zone's crowd history the situation engine keeps for its charts.
  std::string web_dir;
  int situation_history_hours = 24;
  int situation_history_step_s = 10;
};

class CityServer {
 public:
  explicit CityServer(ServerConfig config);
  ~CityServer();

  // Opens the data directory (creating it), loads state, starts listening.
  Status Start();
  uint16_t port() const;
  // Drains in-flight requests, commits everything acknowledged, closes the store.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cb::app
