#!/usr/bin/env bash
# Sets up everything and runs the demo city: a private Mosquitto on loopback, the citybrain
# server with its embedded store, the Hubin demo district loaded through the NGSI-LD API,
# and crowd counters publishing over MQTT like real devices. Ctrl-C stops everything.
#   PORT=1026 DATA=data/demo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --build release

DATA="${DATA:-data/demo}"
PORT="${PORT:-1026}"
BIN=build/release/src/citybrain
mkdir -p "$DATA"

MQTT_PORT= scripts/mosquitto.sh start "$DATA/mqtt"
MQTT_PORT=$(cat "$DATA/mqtt/mosquitto.port")

"$BIN" serve --data "$DATA" --port "$PORT" \
  --mqtt "tcp://127.0.0.1:$MQTT_PORT" --mqtt-devices examples/demo-devices.json \
  --tier-plans examples/tier-plans --utc-offset 480 &
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
KEY=$(cat "$DATA/admin.key")
curl -sf -X POST "http://127.0.0.1:$PORT/ngsi-ld/v1/entityOperations/upsert?options=update" \
  -H "X-Api-Key: $KEY" -H "Content-Type: application/json" \
  --data @examples/demo-city.json >/dev/null
echo
echo "CityBrain demo city is running."
echo "  API:      http://127.0.0.1:$PORT/ngsi-ld/v1/entities?type=Zone   (header X-Api-Key: see $DATA/admin.key)"
echo "  health:   http://127.0.0.1:$PORT/health"
echo "  metrics:  http://127.0.0.1:$PORT/metrics"
echo "  zones:    http://127.0.0.1:$PORT/api/v1/situation/zones   (crowd index and tier level per zone)"
echo "  levels:   http://127.0.0.1:$PORT/api/v1/situation/level-changes"
echo "  MQTT:     127.0.0.1:$MQTT_PORT  topic /json/hubin-demo/<device>/attrs"
echo "  example:  curl -g -H \"X-Api-Key: \$(cat $DATA/admin.key)\" 'http://127.0.0.1:$PORT/ngsi-ld/v1/entities?type=OffStreetParking&georel=near;maxDistance==500&geometry=Point&coordinates=[120.17,30.253]&options=keyValues'"
echo "Ctrl-C to stop."

# Live feed until the scenario simulator lands: an evening crowd wave on the six counters
# and a hospital parking peak, one reading per device every 2 s.
t=0
while kill -0 "$SERVER" 2>/dev/null; do
  phase=$(( t % 120 ))
  wave=$(( phase < 60 ? phase : 120 - phase ))   # 0..60..0
  for i in 1 2 3 4 5 6; do
    # The fountain plaza (counters 1 and 2) passes 10,000 people at the show's peak.
    if (( i <= 2 )); then k=$(( 90 + i * 15 )); else k=$(( 40 + i * 15 )); fi
    count=$(( 200 + wave * k + RANDOM % 150 ))
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "/json/hubin-demo/counter-$i/attrs" \
      -m "{\"peopleCount\": $count}" || true
  done
  for lot in a:412 b:356 c:305 d:220; do
    name=${lot%%:*}; total=${lot##*:}
    free=$(( total - total * (30 + wave) / 100 - RANDOM % 10 ))
    (( free < 0 )) && free=0
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "/json/hubin-demo/lot-$name/attrs" \
      -m "{\"availableSpotNumber\": $free}" || true
  done
  t=$(( t + 1 ))
  sleep 2
done
