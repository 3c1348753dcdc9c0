#!/usr/bin/env bash
# Sets up everything and runs the demo city: a private Mosquitto on loopback, the citybrain
# server with its embedded store, and `citybrain sim --loop`, which creates the Hubin demo
# district through the NGSI-LD API and drives it through an evening (fountain shows at 19:00
# and 20:00, the hospital's visiting hours) on an accelerated clock, again and again: crowd
# counters publish over MQTT, car parks report over HTTP, like real devices. Ctrl-C stops
# everything.
#   PORT=1026 DATA=data/demo scripts/demo.sh
#   SIM_OPTIONS="--speed 20 --start 18:30" scripts/demo.sh    # more `citybrain sim` options
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --build release --web

DATA="${DATA:-data/demo}"
PORT="${PORT:-1026}"
BIN=build/release/src/citybrain
mkdir -p "$DATA"

MQTT_PORT= scripts/mosquitto.sh start "$DATA/mqtt"
MQTT_PORT=$(cat "$DATA/mqtt/mosquitto.port")

"$BIN" serve --data "$DATA" --port "$PORT" \
  --mqtt "tcp://127.0.0.1:$MQTT_PORT" --mqtt-devices examples/demo-devices.json \
  --tier-plans examples/tier-plans --rules examples/rules --utc-offset 480 \
  --users examples/demo-users.json &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  scripts/mosquitto.sh stop "$DATA/mqtt" || true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.1
done
echo
echo "CityBrain demo city is running."
echo "  API:      http://127.0.0.1:$PORT/ngsi-ld/v1/entities?type=Zone   (header X-Api-Key: see $DATA/admin.key)"
echo "  health:   http://127.0.0.1:$PORT/health"
echo "  metrics:  http://127.0.0.1:$PORT/metrics"
echo "  zones:    http://127.0.0.1:$PORT/api/v1/situation/zones   (crowd index and tier level per zone)"
echo "  levels:   http://127.0.0.1:$PORT/api/v1/situation/level-changes"
echo "  parking:  http://127.0.0.1:$PORT/api/v1/situation/parking/destination?poi=urn:ngsi-ld:PointOfInterest:hubin-hospital"
echo "  MQTT:     127.0.0.1:$MQTT_PORT  topic /json/hubin-demo/<device>/attrs"
echo "  plaza:    curl -H \"X-Api-Key: \$(cat $DATA/admin.key)\" http://127.0.0.1:$PORT/api/v1/situation/zones/urn:ngsi-ld:Zone:fountain-plaza"
echo "  example:  curl -g -H \"X-Api-Key: \$(cat $DATA/admin.key)\" 'http://127.0.0.1:$PORT/ngsi-ld/v1/entities?type=OffStreetParking&georel=near;maxDistance==500&geometry=Point&coordinates=[120.17,30.253]&options=keyValues'"
echo "  sign in:  operator / hubin-operator (值班长 Duty officer), grid01 / hubin-grid01 (网格员 Grid worker),"
echo "            szj01 / hubin-szj01 (市政设施管理中心 Municipal facilities), viewer / hubin-viewer (大屏 Wallboard)"
echo "            curl -H 'Content-Type: application/json' -d '{\"user\":\"operator\",\"password\":\"hubin-operator\"}' http://127.0.0.1:$PORT/api/v1/session"
echo "The simulated evening follows (a line per round: simulated time, people per zone, parking,"
echo "and the plaza's count and tier level on the server). Ctrl-C to stop."
echo

"$BIN" sim --loop --url "http://127.0.0.1:$PORT" --key-file "$DATA/admin.key" \
  --mqtt "tcp://127.0.0.1:$MQTT_PORT" --district examples/demo-city.json ${SIM_OPTIONS:-}
