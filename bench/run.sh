#!/usr/bin/env bash
# Runs every CityBrain benchmark and rewrites docs/BENCHMARKS.md with the figures, their
# same-run baselines, the ratios and the goals. One command:
#
#   bench/run.sh
#
# It builds the Release preset (cmake --preset release; the benchmark targets come from
# bench/CMakeLists.txt), then runs, each against a fresh data directory:
#   1. the storage limit (cb_storage_baseline: raw SQLite, and the project's store)
#   2. the HTTP limit (GET /health; the batch body POSTed to /health)
#   3. batch upserts at SMALL (100k) and LARGE (1M) entities, durability fsync
#   4. at LARGE entities: single-entity PATCH and GET (3 rounds, with /health; again at
#      FIWARE's 32,000 entities), near and q queries, memory per entity
#   5. notification fan-out with 1,000 subscriptions and a counting receiver
#   6. MQTT ingestion through a real Mosquitto (scripts/mosquitto.sh)
#   10. cases (cb_cases_bench): transitions with fsync, statistics over 1M cases, Boston import
#   11. the dashboard in Debian's Chromium (web/tests/browser/perf.test.mjs): load time, and
#       frame times with 10,000 sensors and 1,000 alerts against the demo district alone
# Whole suite: about 9–12 minutes on 2 cores. Every RESULT line
# records the CPU the whole machine, the benchmark itself and other processes used during
# its step (busy_cores, own_cores, other_cores), so a busy machine shows in the report.
#
# Environment:
#   BENCH_QUICK=1        small sizes and short runs (development; does not touch the docs
#                        unless BENCH_OUT is set)
#   BENCH_SMALL, BENCH_LARGE   entity counts (default 100000, 1000000)
#   BENCH_WAIT_QUIET=1   first wait (up to 20 min, polling every 30 s) for the 1-minute load
#                        average to drop below 1.0; figures taken on a busy machine mean little
#   BENCH_OUT            the report to write (default docs/BENCHMARKS.md)
#   BENCH_SKIP_BUILD=1   use the binaries already in build/release
#   BENCH_REPORT_ONLY=1  only rewrite the report from the last run (build/release/bench-run);
#                        a file notes.md there, if any, is included under "How this was run"
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=$ROOT/build/release
CITYBRAIN=$BUILD/src/citybrain
LOADGEN=$BUILD/bench/cb_loadgen
BASELINE=$BUILD/bench/cb_storage_baseline
ZONEBENCH=$BUILD/bench/cb_zone_bench
CASESBENCH=$BUILD/bench/cb_cases_bench
BOSTON=$ROOT/../shared/data/boston311_2015/boston311_2015_sample5000.csv
MELBOURNE=$ROOT/../shared/data/melbourne_pedestrian/hourly_counts_2023.csv
MELBOURNE_LOCATIONS=$ROOT/../shared/data/melbourne_pedestrian/sensor_locations.csv
RUN=$BUILD/bench-run
RESULTS=$RUN/results.txt

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  SMALL=${BENCH_SMALL:-10000}
  LARGE=${BENCH_LARGE:-50000}
  SHORT=3      # seconds of the duration-bound runs
  UPDATE_S=5   # seconds of the update round at LARGE
  OUT=${BENCH_OUT:-$RUN/BENCHMARKS.md}
else
  SMALL=${BENCH_SMALL:-100000}
  LARGE=${BENCH_LARGE:-1000000}
  SHORT=10
  UPDATE_S=30
  OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
fi
BATCH=100             # entities per batch upsert (800 attribute updates)
BATCH_CONNS=8         # connections for batch upserts (and the store baseline's threads)
ALERT_SAMPLES=400      # observation → alert samples (half raises, half resolutions)
ALERT_BG_ATTRS=50000   # background attribute updates/s during the loaded alert latency run
ALERT_BG_S=25          # its limit (s); one pass over SMALL entities at that rate takes 16 s, the samples ~10 s
SINGLE_CONNS=64       # connections for single-entity PATCH/GET
ROUNDS=3              # rounds of the single-request runs (the report takes the median round)
QUERY_CONNS=2         # connections for the query latency runs
FANOUT_ENTITIES=10000
FIWARE_ENTITIES=32000 # the entity count of FIWARE's single-entity load tests
FANOUT_SUBS=1000
MQTT_DEVICES=10000
MQTT_MESSAGES=$([ "$QUICK" = 1 ] && echo 20000 || echo 200000)
MQTT_BURST=$([ "$QUICK" = 1 ] && echo 20000 || echo 50000)
ZONE_SENSORS=$([ "$QUICK" = 1 ] && echo 100000 || echo 1000000)
CASE_STATS_CASES=$([ "$QUICK" = 1 ] && echo 100000 || echo 1000000)
CASE_WALKS=$([ "$QUICK" = 1 ] && echo 500 || echo 5000)   # cases walked through the loop
CASE_THREADS=4
MQTT_WINDOW=900       # end-to-end flow control, below Mosquitto's 1,000-message queue per client

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- helpers

# step LABEL CMD...: runs a benchmark program and keeps its RESULT lines, tagged LABEL.
# Each RESULT line also gets the CPU the whole machine used during the step (busy_cores,
# from /proc/stat), the part used by the benchmark itself (own_cores: the measuring
# program and the server) and the rest (other_cores: other people's jobs on the machine).
cpu_stat() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# (times must run in this shell, not in a $(...) subshell: its output goes through a file)
children_cpu() { times >"$RUN/.times"; tail -1 "$RUN/.times" | awk '{ gsub(/s/, "", $1); gsub(/s/, "", $2); split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' >"$RUN/.cpu"; }
proc_cpu() {  # CPU seconds of the server and of Mosquitto (when running)
  local total=0 p
  for p in $SPID $MPID; do
    [ -r "/proc/$p/stat" ] || continue
    total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print t + ($12 + $13) / hz }' "/proc/$p/stat")
  done
  echo "$total"
}
step() {
  local label=$1
  shift
  log "$label: $*"
  local out rc=0 c0 c1 k0 k1 s0 s1 t0 t1 extra
  children_cpu; k0=$(awk '{ print }' "$RUN/.cpu"); c0=$(cpu_stat); s0=$(proc_cpu); t0=$(date +%s.%N)
  out=$("$@") || rc=$?
  children_cpu; k1=$(awk '{ print }' "$RUN/.cpu"); c1=$(cpu_stat); s1=$(proc_cpu); t1=$(date +%s.%N)
  extra=$(awk -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v n="$(nproc)" 'BEGIN {
    split(c0, a, " "); split(c1, b, " "); wall = t1 - t0; if (wall <= 0 || b[2] <= a[2]) exit
    busy = (b[1] - a[1]) / (b[2] - a[2]) * n; own = ((k1 - k0) + (s1 - s0)) / wall; other = busy - own; if (other < 0) other = 0
    printf " busy_cores=%.2f own_cores=%.2f other_cores=%.2f", busy, own, other }')
  echo "$out" | grep '^RESULT ' | sed "s/^RESULT name=/RESULT step=$label name=/; s/\$/$extra/" | tee -a "$RESULTS" >&2 || true
  if [ "$rc" != 0 ]; then
    log "$label: exited with status $rc (its figures are kept, and flagged in the raw results)"
    echo "RESULT step=$label name=$label exit_status=$rc" >>"$RESULTS"
  fi
}

# val LABEL KEY: a value from the results ("" when absent).
val() {
  awk -v s="step=$1" -v k="$2" '
    { found = 0; for (i = 1; i <= NF; i++) if ($i == s) found = 1 }
    found { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { v = substr($i, length(k) + 2) } } }
    END { print v }' "$RESULTS"
}
# Arithmetic on values (awk): calc "EXPR" → number with 2 decimals.
calc() { awk "BEGIN { x = $1; printf \"%.2f\", x }" 2>/dev/null || echo "n/a"; }
ratio() {  # ratio A B → A/B with 2 decimals, or n/a
  if [ -z "$1" ] || [ -z "$2" ]; then echo "n/a"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}
ge() { [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
num() {  # thousands separators: 123456 → 123,456 (integers; decimals kept)
  [ -z "$1" ] && { echo "n/a"; return; }
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); if (x != int(x) && x < 100) { printf "%s", x; exit }
    n = length(s); o = ""; for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } printf "%s", o }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

SPID=""
MPID=""
PORT=""
DATA=""
KEYF=""
# start_server NAME [extra serve args]
start_server() {
  DATA=$RUN/data-$1
  shift
  rm -rf "$DATA"
  mkdir -p "$DATA"
  PORT=$("$LOADGEN" free-port)
  "$CITYBRAIN" serve --data "$DATA" --port "$PORT" --durability fsync "$@" >"$DATA/server.log" 2>&1 &
  SPID=$!
  "$LOADGEN" wait --port "$PORT" --timeout 120 || { tail -20 "$DATA/server.log" >&2; die "server did not start"; }
  KEYF=$DATA/admin.key
  log "server pid $SPID on port $PORT (data $DATA)"
}
stop_server() {
  [ -n "$SPID" ] || return 0
  kill -TERM "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  SPID=""
  rm -f "$DATA"/citybrain.db "$DATA"/citybrain.db-wal "$DATA"/citybrain.db-shm \
    "$DATA"/citybrain.db-log-*  # GBs; keep the log
}
MOSQ_DIR=$RUN/mosquitto
cleanup() {
  stop_server
  MOSQ_DROPS=$(grep -c "Outgoing messages are being dropped for client citybrain" "$MOSQ_DIR/mosquitto.log" || true)
  "$ROOT/scripts/mosquitto.sh" stop "$MOSQ_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT

S() { echo "--port $PORT --key-file $KEYF --server-pid $SPID"; }

# settle LABEL: waits (up to 120 s) until the store has applied every acknowledged write to
# the database (citybrain_store_unapplied_rows = 0) and written every deferred entity
# document (citybrain_store_deferred_entity_docs = 0), and records how long that took, so a
# write benchmark is charged for the work its acknowledgements left behind.
settle() {
  local label=$1 t0 t1 rows docs
  t0=$(date +%s.%N)
  for _ in $(seq 1200); do
    rows=$("$LOADGEN" fetch --port "$PORT" --key-file "$KEYF" --path /metrics \
      --metric citybrain_store_unapplied_rows 2>/dev/null || echo 0)
    docs=$("$LOADGEN" fetch --port "$PORT" --key-file "$KEYF" --path /metrics \
      --metric citybrain_store_deferred_entity_docs 2>/dev/null || echo 0)
    [ "${rows%.*}" = 0 ] && [ "${docs%.*}" = 0 ] && break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  echo "RESULT step=$label name=$label seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" | tee -a "$RESULTS" >&2
}

# ---------------------------------------------------------------- the suite

run_suite() {
  # ---------------------------------------------------------------- quiet machine

  LOAD_WAITED=0
  WAITQ=${BENCH_WAIT_QUIET:-0}
  if [ "${BENCH_WAIT_QUIET:-0}" = 1 ]; then
    for _ in $(seq 1 40); do
      load=$(cut -d' ' -f1 /proc/loadavg)
      if awk -v l="$load" 'BEGIN { exit !(l < 1.0) }'; then break; fi
      log "load average $load >= 1.0; waiting 30 s for the machine to quieten"
      sleep 30
      LOAD_WAITED=$((LOAD_WAITED + 30))
    done
  fi

  # ---------------------------------------------------------------- build

  if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "building the Release preset"
    cmake --preset release >/dev/null
    cmake --build --preset release --target citybrain cb_loadgen cb_storage_baseline cb_zone_bench cb_cases_bench
  fi
  for b in "$CITYBRAIN" "$LOADGEN" "$BASELINE" "$ZONEBENCH" "$CASESBENCH"; do
    [ -x "$b" ] || die "$b is missing (build failed?)"
  done

  rm -rf "$RUN"
  mkdir -p "$RUN"
  : >"$RESULTS"
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  SUITE_START=$(date +%s)

  # ---------------------------------------------------------------- 1. storage limit

  step check "$BASELINE" --check
  step sqlite_small "$BASELINE" --mode sqlite --db "$RUN/sqlite-small.db" --entities "$SMALL" \
    --batch $BATCH --rounds 2 --durability fsync --name sqlite_small
  step store_small "$BASELINE" --mode store --db "$RUN/store-small.db" --entities "$SMALL" \
    --batch $BATCH --rounds 2 --conns $BATCH_CONNS --durability fsync --name store_small
  # LARGE: the creation of every entity, then 2,000 random batches (200k entities) of updates.
  step sqlite_large "$BASELINE" --mode sqlite --db "$RUN/sqlite-large.db" --entities "$LARGE" \
    --batch $BATCH --rounds 2 --order random --max-batches 2000 --durability fsync --name sqlite_large
  step store_large "$BASELINE" --mode store --db "$RUN/store-large.db" --entities "$LARGE" \
    --batch $BATCH --rounds 2 --order random --max-batches 2000 --conns $BATCH_CONNS \
    --durability fsync --name store_large
  rm -f "$RUN"/*.db "$RUN"/*.db-wal "$RUN"/*.db-shm

  # ---------------------------------------------------------------- zone assignment (issue 3)

  step zone_assign "$ZONEBENCH" --sensors $ZONE_SENSORS

  # ---------------------------------------------------------------- cases (issue 4)

  step case_transitions "$CASESBENCH" transitions --db "$RUN/cases.db" --cases $CASE_WALKS \
    --threads $CASE_THREADS --window 32
  step case_stats "$CASESBENCH" stats --cases $CASE_STATS_CASES --queries 30
  step case_import "$CASESBENCH" import --csv "$BOSTON" --mapping "$ROOT/examples/cases/boston-mapping.json" \
    --db "$RUN/cases-import.db" --repeat 5
  # The dashboard: the release server and the built web/dist, in Debian's Chromium.
  if [ -f "$ROOT/web/dist/index.html" ] && [ -x /usr/bin/chromium ] && command -v node >/dev/null; then
    step dashboard env CITYBRAIN_BIN="$CITYBRAIN" CITYBRAIN_ARTIFACTS="$RUN/browser" \
      PERF_PAN_MS=$([ "$QUICK" = 1 ] && echo 2000 || echo 5000) node "$ROOT/web/tests/browser/run.mjs" perf
  else
    log "dashboard: skipped (needs scripts/setup.sh --web and Chromium)"
  fi

  # ---------------------------------------------------------------- 2–3. HTTP limit, upserts at SMALL

  start_server small
  step health_c$BATCH_CONNS "$LOADGEN" http $(S) --conns $BATCH_CONNS --duration $SHORT --name health
  step health_body "$LOADGEN" http $(S) --conns $BATCH_CONNS --duration $SHORT --method POST \
    --target /health --batch-body $BATCH --name health_body
  T0=$(date +%s%3N)
  step upsert_small_r0 "$LOADGEN" upsert $(S) --count "$SMALL" --batch $BATCH --conns $BATCH_CONNS \
    --round 0 --t0 "$T0" --name upsert_small_r0
  step upsert_small_r1 "$LOADGEN" upsert $(S) --count "$SMALL" --batch $BATCH --conns $BATCH_CONNS \
    --round 1 --t0 "$T0" --order random --name upsert_small_r1
  stop_server

  # ---------------------------------------------------------------- 3–4. LARGE: upserts, single requests, queries, memory

  start_server large
  sleep 1
  RSS0=$(rss_kb "$SPID")
  step upsert_large_r0 "$LOADGEN" upsert $(S) --count "$LARGE" --batch $BATCH --conns $BATCH_CONNS \
    --round 0 --t0 "$T0" --name upsert_large_r0
  sleep 2
  RSS1=$(rss_kb "$SPID")
  ENTITIES_HELD=$("$LOADGEN" fetch --port "$PORT" --key-file "$KEYF" --path /metrics --metric citybrain_entities)
  step upsert_large_r1 "$LOADGEN" upsert $(S) --count "$LARGE" --batch $BATCH --conns $BATCH_CONNS \
    --round 1 --t0 "$T0" --order random --duration $UPDATE_S --name upsert_large_r1
  # The single-request rates in rounds of /health, PATCH, GET: from one run to the next this
  # host's speed wanders by 10 % and more (bench/analysis.md), so the report takes the median
  # round of each and shows the range; each round's /health is its baseline's sample.
  for r in $(seq "$ROUNDS"); do
    step health_c${SINGLE_CONNS}_r$r "$LOADGEN" http $(S) --conns $SINGLE_CONNS --duration $SHORT \
      --name health
    step patch_r$r "$LOADGEN" patch $(S) --count "$LARGE" --conns $SINGLE_CONNS --duration $SHORT \
      --round $((r * 1000000)) --seed $r --t0 "$T0" --name patch
    settle patch_drain_r$r
    # FIWARE's request shape: two Properties per PATCH (their EntityUpdateSimulation sends
    # one reading and sent-time per request).
    step patch2_r$r "$LOADGEN" patch $(S) --count "$LARGE" --conns $SINGLE_CONNS --duration $SHORT \
      --props 2 --round $((r * 1000000 + 500000)) --seed $((r + 100)) --t0 "$T0" --name patch2
    settle patch2_drain_r$r
    step get_r$r "$LOADGEN" get $(S) --count "$LARGE" --conns $SINGLE_CONNS --duration $SHORT \
      --seed $r --name get
  done
  step health_c$QUERY_CONNS "$LOADGEN" http $(S) --conns $QUERY_CONNS --requests 20000 --name health
  step get_c$QUERY_CONNS "$LOADGEN" get $(S) --count "$LARGE" --conns $QUERY_CONNS --requests 20000 --name get
  step near "$LOADGEN" query $(S) --kind near --distance 500 --conns $QUERY_CONNS --requests 5000 --name near
  step qnum "$LOADGEN" query $(S) --kind qnum --conns $QUERY_CONNS --requests 5000 --name qnum
  step qdistrict "$LOADGEN" query $(S) --kind qdistrict --conns $QUERY_CONNS --requests 3000 --name qdistrict
  RSS2=$(rss_kb "$SPID")
  DB_BYTES=$(du -sb "$DATA" | cut -f1)
  stop_server

  # ---------------------------------------------------------------- 4b. FIWARE's scale: 32,000 entities

  # FIWARE's own load tests PATCH one of 32,000 entities per request; the same here, then
  # the time the store needs to apply what was acknowledged (charged to the PATCH rate).
  start_server fiware
  step fiware_load "$LOADGEN" upsert $(S) --count $FIWARE_ENTITIES --batch $BATCH --conns $BATCH_CONNS \
    --round 0 --t0 "$T0" --name fiware_load
  settle fiware_load_drain
  for r in $(seq "$ROUNDS"); do
    step patch_fiware_r$r "$LOADGEN" patch $(S) --count $FIWARE_ENTITIES --conns $SINGLE_CONNS \
      --duration $SHORT --round $((r * 1000000)) --seed $r --t0 "$T0" --name patch_fiware
    settle patch_fiware_drain_r$r
    step patch2_fiware_r$r "$LOADGEN" patch $(S) --count $FIWARE_ENTITIES --conns $SINGLE_CONNS \
      --duration $SHORT --props 2 --round $((r * 1000000 + 500000)) --seed $((r + 100)) --t0 "$T0" \
      --name patch2_fiware
    settle patch2_fiware_drain_r$r
    step get_fiware_r$r "$LOADGEN" get $(S) --count $FIWARE_ENTITIES --conns $SINGLE_CONNS \
      --duration $SHORT --seed $r --name get_fiware
  done
  stop_server

  # ---------------------------------------------------------------- 5. notification fan-out

  start_server fanout
  step fan_load "$LOADGEN" upsert $(S) --count $FANOUT_ENTITIES --batch $BATCH --conns $BATCH_CONNS \
    --round 0 --t0 "$T0" --name fan_load
  step fan_0 "$LOADGEN" fanout $(S) --subs 0 --count $FANOUT_ENTITIES --batch $BATCH \
    --conns $BATCH_CONNS --rounds 3 --round 1 --t0 "$T0" --name fan_0
  step fan_subs "$LOADGEN" fanout $(S) --subs $FANOUT_SUBS --count $FANOUT_ENTITIES --batch $BATCH \
    --conns $BATCH_CONNS --rounds 3 --round 4 --t0 "$T0" --name fan_subs
  stop_server

  # ---------------------------------------------------------------- replay (issue 3)

  if [ -r "$MELBOURNE" ]; then
    start_server replay
    step replay "$CITYBRAIN" replay --url "http://127.0.0.1:$PORT" --key-file "$KEYF" \
      --file "$MELBOURNE" --format melbourne-hourly --locations "$MELBOURNE_LOCATIONS"
    stop_server
  else
    log "$MELBOURNE not found: replay benchmark skipped"
  fi

  # ---------------------------------------------------------------- alert latency (issue 3)

  # Observation → alert on /ws/alerts, first on a quiet server (the baseline), then under a
  # background of batch upserts paced to ALERT_BG_ATTRS attribute updates/s on SMALL
  # entities, every one of them evaluated by a rule on their type.
  start_server alerts
  step alert_quiet "$LOADGEN" alert-latency --port "$PORT" --key-file "$KEYF" \
    --samples $ALERT_SAMPLES --name alert_quiet
  step alert_bg_load "$LOADGEN" upsert $(S) --count "$SMALL" --batch $BATCH --conns $BATCH_CONNS \
    --round 0 --t0 "$T0" --name alert_bg_load
  ALERT_BG_RATE=$(awk -v a=$ALERT_BG_ATTRS -v b=$BATCH 'BEGIN { printf "%.3f", a / (b * 8) }')
  step alert_bg "$LOADGEN" upsert $(S) --count "$SMALL" --batch $BATCH --conns $BATCH_CONNS \
    --round 1 --t0 "$T0" --order random --rate "$ALERT_BG_RATE" --duration $ALERT_BG_S --name alert_bg &
  BG=$!
  sleep 3
  step alert_loaded "$LOADGEN" alert-latency --port "$PORT" --key-file "$KEYF" \
    --samples $ALERT_SAMPLES --name alert_loaded
  wait $BG || true
  stop_server

  # ---------------------------------------------------------------- 6. MQTT through Mosquitto

  MOSQ_DROPS=0
  if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    MQTT_PORT=$("$ROOT/scripts/mosquitto.sh" start "$MOSQ_DIR")
  MPID=$(cat "$MOSQ_DIR/mosquitto.pid")
    MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
    "$LOADGEN" mqtt-devices --devices $MQTT_DEVICES --api-key bench --out "$RUN/devices.json"
    step mqtt_pub "$LOADGEN" mqtt --broker "$MQTT_URL" --api-key bench --devices $MQTT_DEVICES \
      --messages "$MQTT_MESSAGES" --qos 1 --name mqtt_pub
    step mqtt_broker "$LOADGEN" mqtt --broker "$MQTT_URL" --api-key bench --devices $MQTT_DEVICES \
      --messages "$MQTT_MESSAGES" --qos 1 --window $MQTT_WINDOW --broker-only --name mqtt_broker
    start_server mqtt --mqtt "$MQTT_URL" --mqtt-devices "$RUN/devices.json"
    step mqtt "$LOADGEN" mqtt $(S) --broker "$MQTT_URL" --api-key bench --devices $MQTT_DEVICES \
      --messages "$MQTT_MESSAGES" --qos 1 --window $MQTT_WINDOW --name mqtt
    step mqtt_burst "$LOADGEN" mqtt $(S) --broker "$MQTT_URL" --api-key bench --devices $MQTT_DEVICES \
      --messages "$MQTT_BURST" --qos 1 --name mqtt_burst
    stop_server
    MOSQ_DROPS=$(grep -c "Outgoing messages are being dropped for client citybrain" "$MOSQ_DIR/mosquitto.log" || true)
    "$ROOT/scripts/mosquitto.sh" stop "$MOSQ_DIR" >/dev/null
  MPID=""
  else
    log "mosquitto is not installed: MQTT benchmark skipped"
  fi

  SUITE_S=$(( $(date +%s) - SUITE_START ))
  LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
  log "suite finished in ${SUITE_S} s; writing $OUT"


  RUN_DATE=$(date -u +"%Y-%m-%d %H:%M")
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # grep finds nothing in a clean tree: not a failure (pipefail).
  DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | { grep -v '^??' || true; } | wc -l)
  if [ "$DIRTY" != 0 ]; then COMMIT="$COMMIT (+ uncommitted changes in $DIRTY files)"; fi
  # What the report needs besides results.txt (BENCH_REPORT_ONLY=1 reads it back).
  for v in RUN_DATE COMMIT SUITE_S LOAD_START LOAD_END LOAD_WAITED RSS0 RSS1 RSS2 ENTITIES_HELD \
           DB_BYTES MOSQ_DROPS SMALL LARGE QUICK SHORT UPDATE_S WAITQ ZONE_SENSORS ALERT_SAMPLES \
           ALERT_BG_ATTRS ALERT_BG_S CASE_STATS_CASES CASE_WALKS CASE_THREADS; do
    printf '%s=%q\n' "$v" "${!v}"
  done >"$RUN/vars.sh"
}

if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
  # Rewrite the report from the last run's results (no benchmark is run).
  [ -f "$RUN/vars.sh" ] || die "no previous run in $RUN"
  # shellcheck disable=SC1091
  . "$RUN/vars.sh"
else
  run_suite
fi

# ---------------------------------------------------------------- report

MET="**met**"
MISSED="**missed**"
yn() { if "$@"; then echo "$MET"; else echo "$MISSED"; fi; }

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
NPROC=$(nproc)
KERNEL=$(uname -r)
FS=$(df -T "$RUN" | awk 'NR == 2 { print $2 " on " $1 }')
SQLITE_V=$(awk -F'"' '/define SQLITE_VERSION /{ print $2 }' /usr/include/sqlite3.h 2>/dev/null || echo "?")

# Figures used more than once.
E2E_S0=$(val upsert_small_r0 attrs_per_s); E2E_S1=$(val upsert_small_r1 attrs_per_s)
E2E_L0=$(val upsert_large_r0 attrs_per_s); E2E_L1=$(val upsert_large_r1 attrs_per_s)
sqlv() { awk -v n="name=$1" -v k="$2" '{ f = 0; for (i = 1; i <= NF; i++) if ($i == n) f = 1 }
  f { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) v = substr($i, length(k) + 2) } } END { print v }' "$RESULTS"; }
SQL_S0=$(sqlv sqlite_small_r0 attrs_per_s); SQL_S1=$(sqlv sqlite_small_r1 attrs_per_s)
SQL_L0=$(sqlv sqlite_large_r0 attrs_per_s); SQL_L1=$(sqlv sqlite_large_r1 attrs_per_s)
STO_S0=$(sqlv store_small_r0 attrs_per_s); STO_S1=$(sqlv store_small_r1 attrs_per_s)
STO_L0=$(sqlv store_large_r0 attrs_per_s); STO_L1=$(sqlv store_large_r1 attrs_per_s)
# Sustained PATCH rate: the requests acknowledged, over the run plus the time the store then
# needed to apply them to the database (settle), so work left behind is not free.
sustained() { awk -v n="$(val "$1" ok)" -v a="$(val "$1" seconds)" -v b="$(val "$2" seconds)" \
  'BEGIN { if (a + b > 0) printf "%.0f", n / (a + b) }'; }
# The single-request runs come in rounds (LABEL_r1, LABEL_r2, …; see the suite): each figure
# is the median round's (the lower middle one for an even count), with the range of all.
# Results of a suite without rounds have the one step LABEL.
rounds_of() {
  local found
  found=$(awk -v p="step=$1_r" '{ for (i = 1; i <= NF; i++) if (index($i, p) == 1 && substr($i, length(p) + 1) ~ /^[0-9]+$/) print substr($i, 6) }' "$RESULTS" | sort -u -V)
  if [ -n "$found" ]; then echo $found; else echo "$1"; fi
}
drain_of() { echo "$1" | sed 's/_r\([0-9]*\)$/_drain_r\1/; t; s/$/_drain/'; }
patch_sust() { sustained "$1" "$(drain_of "$1")"; }
rps_of() { val "$1" rps; }
median_label() {  # median_label FIGURE LABEL... → the label whose FIGURE is the median
  local fn=$1 l v
  shift
  for l in "$@"; do v=$("$fn" "$l"); [ -n "$v" ] && echo "$v $l"; done | sort -g |
    awk '{ a[NR] = $2 } END { if (NR > 0) print a[int((NR + 1) / 2)] }'
}
spread() {  # spread FIGURE LABEL... → "N rounds: MIN–MAX", or nothing for a single run
  local fn=$1 l v n lo hi
  shift
  read -r n lo hi < <(for l in "$@"; do v=$("$fn" "$l"); [ -n "$v" ] && echo "$v"; done | sort -g |
    awk 'NR == 1 { lo = $1 } { hi = $1 } END { print NR, lo, hi }')
  [ "${n:-0}" -gt 1 ] && echo "$n rounds: $(num "$lo")–$(num "$hi")"
  return 0
}
P=$(median_label patch_sust $(rounds_of patch)); PD=$(drain_of "$P")
PF=$(median_label patch_sust $(rounds_of patch_fiware)); PFD=$(drain_of "$PF")
G=$(median_label rps_of $(rounds_of get)); GF=$(median_label rps_of $(rounds_of get_fiware))
H=$(median_label rps_of $(rounds_of health_c$SINGLE_CONNS))
P_SPREAD=$(spread patch_sust $(rounds_of patch)); PF_SPREAD=$(spread patch_sust $(rounds_of patch_fiware))
G_SPREAD=$(spread rps_of $(rounds_of get)); GF_SPREAD=$(spread rps_of $(rounds_of get_fiware))
H_SPREAD=$(spread rps_of $(rounds_of health_c$SINGLE_CONNS))
PATCH_SUST=$(sustained "$P" "$PD"); PATCH_F_SUST=$(sustained "$PF" "$PFD")
P2=$(median_label patch_sust $(rounds_of patch2)); P2D=$(drain_of "$P2")
PF2=$(median_label patch_sust $(rounds_of patch2_fiware)); PF2D=$(drain_of "$PF2")
P2_SPREAD=$(spread patch_sust $(rounds_of patch2)); PF2_SPREAD=$(spread patch_sust $(rounds_of patch2_fiware))
PATCH2_SUST=$(sustained "$P2" "$P2D"); PATCH2_F_SUST=$(sustained "$PF2" "$PF2D")
H8=$(val health_c$BATCH_CONNS rps); HB=$(val health_body rps)
H64=$(val "$H" rps); H2P99=$(val health_c$QUERY_CONNS p99_ms)
MEM_PER=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$ENTITIES_HELD" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n }')
MEM_PER2=$(awk -v a="$RSS0" -v b="$RSS2" -v n="$ENTITIES_HELD" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n }')
DOC_BYTES=$(val check stored_doc_bytes); REQ_BYTES=$(val check request_entity_bytes)
# Interference: the CPU other processes used during each step (see step()).
OTHER_MAX=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^other_cores=/) { v = substr($i, 13) + 0; if (v > m) m = v } } END { printf "%.2f", m }' "$RESULTS")
OTHER_STEPS=$(awk '{ st = ""; for (i = 1; i <= NF; i++) { if ($i ~ /^step=/) st = substr($i, 6); if ($i ~ /^other_cores=/ && st != "check" && substr($i, 13) + 0 > 0.25 && !(st in seen)) { seen[st] = 1; out = out (out == "" ? "" : ", ") st " (" substr($i, 13) ")" } } } END { print out }' "$RESULTS")

upsert_row() {  # label entities round-name e2e sqlite store
  local l=$1 e2e=$4 sql=$5 sto=$6
  echo "| $2 entities, $3 | $(num "$e2e") attr/s ($(num "$(val "$l" entities_per_s)") entities/s); p50 $(val "$l" p50_ms) ms, p99 $(val "$l" p99_ms) ms per 100-entity request | $(num "$sql") attr/s | $(ratio "$e2e" "$sql") | $(num "$sto") attr/s | $(ratio "$e2e" "$sto") | $(val "$l" server_cpu) / $(val "$l" client_cpu) | $(yn ge "$e2e" 100000) ≥ 100k/s; $(yn ge "$(ratio "$e2e" "$sql")" 0.5) within 2× |"
}

{
cat <<EOF
# Benchmarks

Generated by \`bench/run.sh\` — do not edit by hand; run it again instead. Every figure
below comes from the same run as its baseline, on the same machine, and is given with the
ratio to that baseline; absolute numbers alone say little about another machine.

## How this was run

| | |
|---|---|
| command | \`bench/run.sh\`$( [ "${WAITQ:-0}" = 1 ] && echo " with \`BENCH_WAIT_QUIET=1\`" )$( [ "$QUICK" = 1 ] && echo " with \`BENCH_QUICK=1\` (reduced sizes)" ) |
| date (UTC) | $RUN_DATE |
| git commit | $COMMIT |
| machine | $NPROC CPUs ($CPU), $MEM_GB GiB RAM, Linux $KERNEL |
| data directory | $FS (ext4 on a virtual disk); SQLite $SQLITE_V |
| load average (1, 5, 15 min; the benchmark's own processes count in it) | at start $LOAD_START; at end $LOAD_END$( [ "$LOAD_WAITED" -gt 0 ] && echo "; waited ${LOAD_WAITED} s for it to drop" ) |
| suite duration | ${SUITE_S} s |
| server | \`citybrain serve --durability fsync\` (synchronous=FULL: every acknowledged write is fsynced), default 2 HTTP threads, a fresh data directory per part |
| load generator | \`cb_loadgen\` (bench/loadgen.cc): one Asio thread, keep-alive connections, closed loop, exact latency percentiles, requests written as prepared strings and answers read by its own HTTP/1.1 reader (bench/http_response_reader.h; since 2026-12-07, before which Beast's parser and stream cost it 13–18 µs of CPU per request against ~10 µs now, so rates from earlier runs compare only as ratios to GET /health); it runs on the same 2 cores as the server (its CPU use is given as *client* below) |

$(if ! grep -q other_cores= "$RESULTS"; then
  echo "(The CPU used by other processes was not measured in this run.)"
elif [ -n "$OTHER_STEPS" ]; then
  echo "**The machine was not idle.** Other processes (not the server, the benchmark programs or Mosquitto) used more than 0.25 of the $NPROC cores during these steps, whose figures are therefore likely understated: $OTHER_STEPS (cores used by others; see other_cores in the raw results)."
else
  echo "During every step, other processes on the machine used at most $OTHER_MAX of the $NPROC cores (other_cores in the raw results)."
fi)
$( [ -f "$RUN/notes.md" ] && { echo; cat "$RUN/notes.md"; } )

The load generator and the server share the machine's $NPROC cores. *CPU server / client*
columns give the cores each used on average during the run (1.00 = one core busy).

**Workload.** FIWARE load-test entity shape: \`WeatherObserved\` entities with 6 Properties
(temperature, relativeHumidity, atmosphericPressure, windSpeed, precipitation with
observedAt and unitCode; district), 1 Relationship (refDevice) and 1 GeoProperty
(location, a Point spread over a 38 km × 33 km city) — 8 attributes, ${REQ_BYTES:-?} bytes
per entity as sent, ${DOC_BYTES:-?} bytes as stored. Batch upserts carry $BATCH entities
(800 attribute updates) per request over $BATCH_CONNS connections. Each entity update
writes the entity's document and its attribute instances to the history, one row per group
of attributes observed at the same time (durable, fsync).

## Summary

| # | benchmark | measured | same-run baseline | ratio | goal | met? |
|---|---|---|---|---|---|---|
| 1 | batch upsert, $(num "$SMALL") entities (update round) | $(num "$E2E_S1") attr/s, p99 $(val upsert_small_r1 p99_ms) ms | raw SQLite $(num "$SQL_S1") attr/s | $(ratio "$E2E_S1" "$SQL_S1") | ≥ 100,000 attr/s and ≥ 0.5 × storage limit | $(yn ge "$E2E_S1" 100000), $(yn ge "$(ratio "$E2E_S1" "$SQL_S1")" 0.5) |
| 1 | batch upsert, $(num "$LARGE") entities (creation) | $(num "$E2E_L0") attr/s, p99 $(val upsert_large_r0 p99_ms) ms | raw SQLite $(num "$SQL_L0") attr/s | $(ratio "$E2E_L0" "$SQL_L0") | same | $(yn ge "$E2E_L0" 100000), $(yn ge "$(ratio "$E2E_L0" "$SQL_L0")" 0.5) |
| 1 | batch upsert, $(num "$LARGE") entities (updates) | $(num "$E2E_L1") attr/s, p99 $(val upsert_large_r1 p99_ms) ms | raw SQLite $(num "$SQL_L1") attr/s | $(ratio "$E2E_L1" "$SQL_L1") | same | $(yn ge "$E2E_L1" 100000), $(yn ge "$(ratio "$E2E_L1" "$SQL_L1")" 0.5) |
| 2 | single-entity PATCH at $(num "$LARGE") entities, $SINGLE_CONNS connections (sustained: run + apply) | $(num "$PATCH_SUST") req/s sustained ($(num "$(val "$P" rps)") req/s acknowledged), p99 $(val "$P" p99_ms) ms${P_SPREAD:+; median of $P_SPREAD} | GET /health $(num "$H64") req/s${H_SPREAD:+ ($H_SPREAD)} | $(ratio "$PATCH_SUST" "$H64") | ≥ 20,000 req/s | $(yn ge "$PATCH_SUST" 20000) |
| 2 | single-entity PATCH at $(num "$FIWARE_ENTITIES") entities (FIWARE's size), sustained | $(num "$PATCH_F_SUST") req/s sustained ($(num "$(val "$PF" rps)") req/s acknowledged), p99 $(val "$PF" p99_ms) ms${PF_SPREAD:+; median of $PF_SPREAD} | GET /health $(num "$H64") req/s | $(ratio "$PATCH_F_SUST" "$H64") | ≥ 20,000 req/s | $(yn ge "$PATCH_F_SUST" 20000) |
$( [ -n "$PATCH2_SUST" ] && echo "| 2 | single-entity PATCH of 2 Properties (FIWARE's request shape) at $(num "$LARGE") entities, sustained | $(num "$PATCH2_SUST") req/s sustained ($(num "$(val "$P2" rps)") req/s acknowledged), p99 $(val "$P2" p99_ms) ms${P2_SPREAD:+; median of $P2_SPREAD} | GET /health $(num "$H64") req/s | $(ratio "$PATCH2_SUST" "$H64") | ≥ 20,000 req/s | $(yn ge "$PATCH2_SUST" 20000) |
| 2 | single-entity PATCH of 2 Properties (FIWARE's request shape) at $(num "$FIWARE_ENTITIES") entities, sustained | $(num "$PATCH2_F_SUST") req/s sustained ($(num "$(val "$PF2" rps)") req/s acknowledged), p99 $(val "$PF2" p99_ms) ms${PF2_SPREAD:+; median of $PF2_SPREAD} | GET /health $(num "$H64") req/s | $(ratio "$PATCH2_F_SUST" "$H64") | ≥ 20,000 req/s | $(yn ge "$PATCH2_F_SUST" 20000) |" )
| 2 | GET entity by id at $(num "$LARGE") entities, $SINGLE_CONNS connections | $(num "$(val "$G" rps)") req/s, p99 $(val "$G" p99_ms) ms${G_SPREAD:+; median of $G_SPREAD} | GET /health $(num "$H64") req/s | $(ratio "$(val "$G" rps)" "$H64") | ≥ 50,000 req/s | $(yn ge "$(val "$G" rps)" 50000) |
$( [ -n "$GF" ] && echo "| 2 | GET entity by id at $(num "$FIWARE_ENTITIES") entities (FIWARE's size), $SINGLE_CONNS connections | $(num "$(val "$GF" rps)") req/s, p99 $(val "$GF" p99_ms) ms${GF_SPREAD:+; median of $GF_SPREAD} | GET /health $(num "$H64") req/s | $(ratio "$(val "$GF" rps)" "$H64") | ≥ 50,000 req/s | $(yn ge "$(val "$GF" rps)" 50000) |" )
| 3 | batch upsert with $(num "$FANOUT_SUBS") subscriptions | $(num "$(val fan_subs attrs_per_s)") attr/s; $(num "$(val fan_subs received_notifications)") of $(num "$(val fan_subs expected_notifications)") notifications received | same load, no subscription: $(num "$(val fan_0 attrs_per_s)") attr/s | $(ratio "$(val fan_subs attrs_per_s)" "$(val fan_0 attrs_per_s)") | zero notifications lost | $(yn [ "$(val fan_subs received_notifications)" = "$(val fan_subs expected_notifications)" ] ) |
| 4 | MQTT ingestion (QoS 1, Mosquitto, flow-controlled) | $(num "$(val mqtt msgs_per_s)") msg/s committed ($(num "$(val mqtt attrs_per_s)") attr/s), $(num "$(val mqtt lost)") lost; burst: $(num "$(val mqtt_burst lost)") of $(num "$(val mqtt_burst messages)") lost | Mosquitto + Paho subscriber $(num "$(val mqtt_broker msgs_per_s)") msg/s | $(ratio "$(val mqtt msgs_per_s)" "$(val mqtt_broker msgs_per_s)") | (none set) | – |
| 5 | \`near\` 500 m query at $(num "$LARGE") entities | p50 $(val near p50_ms) ms, p99 $(val near p99_ms) ms | GET /health p99 $H2P99 ms | $(ratio "$(val near p99_ms)" "$H2P99") | p99 < 2 ms | $(yn lt "$(val near p99_ms)" 2) |
| 5 | \`q\` numeric filter (~5 % match) | p50 $(val qnum p50_ms) ms, p99 $(val qnum p99_ms) ms | GET /health p99 $H2P99 ms | $(ratio "$(val qnum p99_ms)" "$H2P99") | p99 < 2 ms | $(yn lt "$(val qnum p99_ms)" 2) |
| 5 | \`q\` selective filter (~0.1 % match) | p50 $(val qdistrict p50_ms) ms, p99 $(val qdistrict p99_ms) ms | GET /health p99 $H2P99 ms | $(ratio "$(val qdistrict p99_ms)" "$H2P99") | p99 < 2 ms | $(yn lt "$(val qdistrict p99_ms)" 2) |
| 6 | memory per entity at $(num "$ENTITIES_HELD") entities | $(num "$MEM_PER") bytes of server RSS | stored document ${DOC_BYTES:-?} bytes | $(ratio "$MEM_PER" "$DOC_BYTES") | (none set) | – |
| 7 | zone assignment: $(num "$(val zone_assign zones)") zones, $(num "$(val zone_assign sensors)") sensors | $(num "$(val zone_assign sensors_per_s)") sensors/s ($(val zone_assign ns_per_sensor) ns each) | scan of every zone: $(val zone_assign scan_ns_per_sensor) ns per sensor | $(val zone_assign speedup)× faster | (none set) | – |
| 8 | replay of Melbourne's hourly counts (\`citybrain replay\`, speed 0) | $(num "$(val replay rows_per_s)") rows/s ($(num "$(val replay rows)") rows in $(val replay seconds) s) | batch upsert of FIWARE entities: $(num "$(val upsert_small_r1 entities_per_s)") entities/s | $(ratio "$(val replay rows_per_s)" "$(val upsert_small_r1 entities_per_s)") | (none set) | – |
| 9 | observation → alert on \`/ws/alerts\` (rule fires at once), background $(num "$(val alert_bg attrs_per_s)") attr/s | p50 $(val alert_loaded p50_ms) ms, **p99 $(val alert_loaded p99_ms) ms** ($(val alert_loaded samples) samples, $(val alert_loaded lost) lost) | quiet server: p50 $(val alert_quiet p50_ms), p99 $(val alert_quiet p99_ms) ms | p99 $(ratio "$(val alert_loaded p99_ms)" "$(val alert_quiet p99_ms)")× | p99 < 50 ms at 50,000 updates/s | $(yn lt "$(val alert_loaded p99_ms)" 50), $(yn ge "$(val alert_bg attrs_per_s)" 49000) |
| 10 | case transitions, durability fsync, $CASE_THREADS threads | $(num "$(val case_transitions transitions_per_s)") transitions/s ($(num "$(val case_transitions cases)") cases walked accept → close) | raw store, records of $(val case_transitions record_bytes) bytes: $(num "$(val case_transitions raw_store_writes_per_s)") writes/s | $(val case_transitions ratio) | (none set) | – |
| 10 | case statistics over $(num "$(val case_stats cases)") cases | p50 / p99: none $(val case_stats none_p50_ms) / $(val case_stats none_p99_ms) ms, department $(val case_stats department_p50_ms) / $(val case_stats department_p99_ms), zone $(val case_stats zone_p50_ms) / $(val case_stats zone_p99_ms), **month $(val case_stats month_p50_ms) / $(val case_stats month_p99_ms) ms** | plain loop summing a field: p50 $(val case_stats sum_loop_p50_ms) ms | $(ratio "$(val case_stats none_p50_ms)" "$(val case_stats sum_loop_p50_ms)")× | p99 < 200 ms | $(yn lt "$(val case_stats none_p99_ms)" 200), $(yn lt "$(val case_stats department_p99_ms)" 200), $(yn lt "$(val case_stats zone_p99_ms)" 200), $(yn lt "$(val case_stats month_p99_ms)" 200) |
| 10 | Boston 311 CSV import (parse + map + CaseBook::Import, fsync) | $(num "$(val case_import rows_per_s)") rows/s | parsing only: $(num "$(val case_import parse_rows_per_s)") rows/s | $(val case_import ratio) | (none set) | – |
| 11 | dashboard initial load, demo district (median of 5 reloads, navigation → map and panels ready) | $(val dashboard load_median_ms) ms | GET /health round trip $(val dashboard health_rtt_ms) ms | – | < 2,000 ms | $(yn lt "$(val dashboard load_median_ms)" 2000) |
| 11 | dashboard frame time while panning, $(num "$(val dashboard sensors)") sensors + $(num "$(val dashboard alerts)") alerts, readings streaming | mean $(val dashboard mean_ms) ms ($(val dashboard fps) fps), p95 $(val dashboard p95_ms) ms | demo district alone: mean $(val dashboard base_mean_ms) ms, p95 $(val dashboard base_p95_ms) ms | $(val dashboard ratio_mean) (p95 $(val dashboard ratio_p95)) | smooth (none set in numbers) | – |

Context from FIWARE's published load tests: Orion-LD about 1,800 updates/s and 4,200
reads/s on one core; ThingsBoard 33,000 data points/s on 36 vCPUs.

$( [ -f "$ROOT/bench/analysis.md" ] && cat "$ROOT/bench/analysis.md" )

## 1. Batch upsert throughput (durability fsync)

Storage limit = the same rows written by \`cb_storage_baseline --mode sqlite\`: raw SQLite
through its C API with the store's schema and pragmas, one transaction per $BATCH-entity
batch (per entity its document appended to the log of documents and its head pointed at
it, + 8 history rows; series rows on creation; the store's compactions of the log are not
included), one thread, synchronous=FULL. Row text is generated outside the timed transactions. The
\`--mode store\` column is the project's own store (group commit) fed the same batches by
$BATCH_CONNS threads, each waiting for its batch to be durable — HTTP, JSON parsing and the
in-memory broker removed. Creation rounds write every entity once in id order; update
rounds replace all 8 attributes of every entity (SMALL) or of random batches for
$UPDATE_S s (LARGE; the baselines write 2,000 random batches).

| round | end to end (HTTP) | storage limit (raw SQLite, 1 txn/batch) | ratio | cb_store, group commit | ratio | CPU server / client | goal |
|---|---|---|---|---|---|---|---|
$(upsert_row upsert_small_r0 "$(num "$SMALL")" creation "$E2E_S0" "$SQL_S0" "$STO_S0")
$(upsert_row upsert_small_r1 "$(num "$SMALL")" "update" "$E2E_S1" "$SQL_S1" "$STO_S1")
$(upsert_row upsert_large_r0 "$(num "$LARGE")" creation "$E2E_L0" "$SQL_L0" "$STO_L0")
$(upsert_row upsert_large_r1 "$(num "$LARGE")" "updates, ${UPDATE_S} s" "$E2E_L1" "$SQL_L1" "$STO_L1")

Raw SQLite transaction latency per batch: p50 $(sqlv sqlite_small_r1 p50_ms) ms, p99 $(sqlv sqlite_small_r1 p99_ms) ms ($(num "$SMALL") updates); p50 $(sqlv sqlite_large_r0 p50_ms) ms, p99 $(sqlv sqlite_large_r0 p99_ms) ms ($(num "$LARGE") creation).

HTTP limit with the same load tool and $BATCH_CONNS connections: GET /health
$(num "$H8") req/s (p99 $(val health_c$BATCH_CONNS p99_ms) ms); the same $(num "$(val health_body body_bytes)")-byte batch bodies POSTed
to /health (read whole, answered 405) $(num "$HB") req/s = $(num "$(awk -v r="$HB" 'BEGIN { printf "%.0f", r * 800 }')") attribute updates/s
worth of bodies. The upserts ran at $(val upsert_small_r1 rps) req/s, $(ratio "$(val upsert_small_r1 rps)" "$HB") of that HTTP limit.

## 2. Single-entity requests

One request per entity operation, keep-alive, $SINGLE_CONNS connections, $SHORT s each, at
$(num "$LARGE") entities and, on a fresh server, at FIWARE's $(num "$FIWARE_ENTITIES") entities.
PATCH /ngsi-ld/v1/entities/{id}/attrs carries the six Properties of a random entity (6
attribute updates, durable before the answer). FIWARE's own single-entity test
(EntityUpdateSimulation in github.com/FIWARE/load-tests) sends two Properties per request, a
reading (temperature or humidity) and \`sent-time\`; the *2 Properties* rows send that
shape: temperature and relativeHumidity, each with observedAt and unitCode (2 attribute
updates and their history). Both shapes are judged against the goal. GET /ngsi-ld/v1/entities/{id} reads a random
entity (~$(val "$G" avg_body_bytes) bytes). The host's speed wanders by 10 % and more from one
run to the next, so /health, both PATCHes and GET at $(num "$LARGE") entities run in $ROUNDS
rounds, and both PATCHes and GET at $(num "$FIWARE_ENTITIES") in $ROUNDS more; each row is the median round (by
the sustained rate for PATCH), its range in the last column. The raw results keep every round.

| request | req/s | p50 | p99 | attr updates/s | CPU server / client | baseline GET /health ($SINGLE_CONNS conns) | ratio | goal | rounds |
|---|---|---|---|---|---|---|---|---|---|
| PATCH …/attrs, $(num "$LARGE") entities | $(num "$(val "$P" rps)") acknowledged; $(num "$PATCH_SUST") sustained ($(val "$PD" seconds) s to apply after the run) | $(val "$P" p50_ms) ms | $(val "$P" p99_ms) ms | $(num "$(val "$P" attrs_per_s)") | $(val "$P" server_cpu) / $(val "$P" client_cpu) | $(num "$H64") req/s, p99 $(val "$H" p99_ms) ms | $(ratio "$PATCH_SUST" "$H64") | ≥ 20,000 req/s sustained: $(yn ge "$PATCH_SUST" 20000) | ${P_SPREAD:-1 run} (sustained); /health ${H_SPREAD:-1 run} |
| PATCH …/attrs, $(num "$FIWARE_ENTITIES") entities | $(num "$(val "$PF" rps)") acknowledged; $(num "$PATCH_F_SUST") sustained ($(val "$PFD" seconds) s to apply after the run) | $(val "$PF" p50_ms) ms | $(val "$PF" p99_ms) ms | $(num "$(val "$PF" attrs_per_s)") | $(val "$PF" server_cpu) / $(val "$PF" client_cpu) | $(num "$H64") req/s | $(ratio "$PATCH_F_SUST" "$H64") | ≥ 20,000 req/s sustained: $(yn ge "$PATCH_F_SUST" 20000) | ${PF_SPREAD:-1 run} (sustained) |
$( [ -n "$PATCH2_SUST" ] && echo "| PATCH …/attrs, 2 Properties, $(num "$LARGE") entities | $(num "$(val "$P2" rps)") acknowledged; $(num "$PATCH2_SUST") sustained ($(val "$P2D" seconds) s to apply after the run) | $(val "$P2" p50_ms) ms | $(val "$P2" p99_ms) ms | $(num "$(val "$P2" attrs_per_s)") | $(val "$P2" server_cpu) / $(val "$P2" client_cpu) | $(num "$H64") req/s | $(ratio "$PATCH2_SUST" "$H64") | ≥ 20,000 req/s sustained: $(yn ge "$PATCH2_SUST" 20000) | ${P2_SPREAD:-1 run} (sustained) |
| PATCH …/attrs, 2 Properties, $(num "$FIWARE_ENTITIES") entities | $(num "$(val "$PF2" rps)") acknowledged; $(num "$PATCH2_F_SUST") sustained ($(val "$PF2D" seconds) s to apply after the run) | $(val "$PF2" p50_ms) ms | $(val "$PF2" p99_ms) ms | $(num "$(val "$PF2" attrs_per_s)") | $(val "$PF2" server_cpu) / $(val "$PF2" client_cpu) | $(num "$H64") req/s | $(ratio "$PATCH2_F_SUST" "$H64") | ≥ 20,000 req/s sustained: $(yn ge "$PATCH2_F_SUST" 20000) | ${PF2_SPREAD:-1 run} (sustained) |" )
| GET by id, $(num "$LARGE") entities | $(num "$(val "$G" rps)") | $(val "$G" p50_ms) ms | $(val "$G" p99_ms) ms | – | $(val "$G" server_cpu) / $(val "$G" client_cpu) | $(num "$H64") req/s | $(ratio "$(val "$G" rps)" "$H64") | ≥ 50,000 req/s: $(yn ge "$(val "$G" rps)" 50000) | ${G_SPREAD:-1 run} |
| GET by id, $(num "$FIWARE_ENTITIES") entities | $(num "$(val "$GF" rps)") | $(val "$GF" p50_ms) ms | $(val "$GF" p99_ms) ms | – | $(val "$GF" server_cpu) / $(val "$GF" client_cpu) | $(num "$H64") req/s | $(ratio "$(val "$GF" rps)" "$H64") | ≥ 50,000 req/s: $(yn ge "$(val "$GF" rps)" 50000) | ${GF_SPREAD:-1 run} |

A PATCH is acknowledged once its rows are in the store's fsynced journal; the store's
applier then writes them to the database (history with every apply; entity documents at
most every 10 s, \`--defer-docs-ms\`, and as soon as writes pause). *Sustained* charges the
run for that: requests acknowledged ÷ (run time + the time until the store had applied them
all and written every deferred document).

During the PATCH run the server wrote $(num "$(val "$P" server_write_mb)") MB to disk ($(awk -v m="$(val "$P" server_write_mb)" -v n="$(val "$P" ok)" 'BEGIN { if (n > 0) printf "%.1f", m * 1000 / n; else print "n/a" }') KB per PATCH; /proc/PID/io write_bytes) in $(num "$(val "$P" commits)") group
commits of $(val "$P" rows_per_commit) rows on average (one document + 6 history rows per PATCH). The batch update
round at $(num "$SMALL") entities wrote $(awk -v m="$(val upsert_small_r1 server_write_mb)" -v n="$(val upsert_small_r1 attr_updates)" 'BEGIN { if (n > 0) printf "%.0f", m * 1e6 / n; else print "n/a" }') bytes per attribute update.

## 3. Notification fan-out

A fresh server with $(num "$FANOUT_ENTITIES") entities; $(num "$FANOUT_SUBS") subscriptions, one per district
(\`q=district=="Dnnnn"\`, 1,000 of the 1,024 districts), all to a receiver inside the load
generator that counts notifications and the entities in them and checks each entity is in
its subscription's district. The same batch-upsert load ($BATCH entities per request,
$BATCH_CONNS connections, 3 rounds over all entities) runs first without subscriptions (baseline), then
with them. Expected notifications are computed from each acknowledged request (one per
subscribed district present in the batch); the server's counters come from /metrics.

| | without subscriptions | with $(num "$FANOUT_SUBS") subscriptions |
|---|---|---|
| attribute updates/s | $(num "$(val fan_0 attrs_per_s)") | $(num "$(val fan_subs attrs_per_s)") (ratio $(ratio "$(val fan_subs attrs_per_s)" "$(val fan_0 attrs_per_s)")) |
| request p50 / p99 | $(val fan_0 p50_ms) / $(val fan_0 p99_ms) ms | $(val fan_subs p50_ms) / $(val fan_subs p99_ms) ms |
| CPU server / client | $(val fan_0 server_cpu) / $(val fan_0 client_cpu) | $(val fan_subs server_cpu) / $(val fan_subs client_cpu) |
| notifications expected / received | – | $(num "$(val fan_subs expected_notifications)") / $(num "$(val fan_subs received_notifications)") |
| entities in them expected / received | – | $(num "$(val fan_subs expected_entities)") / $(num "$(val fan_subs received_entities)") (wrong district: $(val fan_subs wrong_district)) |
| citybrain_notifications_sent / failed / dropped (delta) | – | $(val fan_subs sent_total) / $(val fan_subs failed_total) / $(val fan_subs dropped_total) |
| citybrain_notification_queue after the run | – | $(val fan_subs queue_after) |
| last notification after the last acknowledged update | – | $(val fan_subs drain_s) s |
| notifications/s delivered | – | $(num "$(val fan_subs notifications_per_s)") over $(val fan_subs receiver_connections) connection(s) |

Zero lost: $(yn [ "$(val fan_subs received_notifications)" = "$(val fan_subs expected_notifications)" -a "$(val fan_subs received_entities)" = "$(val fan_subs expected_entities)" -a "$(val fan_subs dropped_total)" = "0" ]).

## 4. MQTT ingestion through Mosquitto

$( [ -n "$(val mqtt messages)" ] && cat <<MQ
A private Mosquitto (scripts/mosquitto.sh: default limits, so at most 1,000 queued QoS 1
messages per subscriber) on loopback; $(num "$MQTT_DEVICES") provisioned devices (FIWARE IoT Agent JSON
topics \`/json/bench/<device>/attrs\`, a payload of 5 short-named values mapped to
temperature, relativeHumidity, atmosphericPressure, windSpeed, precipitation; the first
message of each device creates its entity); messages published at QoS 1 by one Paho
client with 64 in flight. *Committed* = counted by the server's
\`citybrain_mqtt_messages_total{result="written"}\` (polled every 10 ms). *Window $MQTT_WINDOW* =
end-to-end flow control: the publisher never has more than $MQTT_WINDOW messages published and
not yet counted on the other side, so Mosquitto's per-subscriber queue should never
overflow, and the rate is the most the chain sustains without loss. *Burst* = publishing as fast as
Mosquitto acknowledges, with no flow control (what a fleet of devices does).

| | messages | messages/s | attribute updates/s | lost | seconds | CPU server / client |
|---|---|---|---|---|---|---|
| publisher alone (acknowledged by Mosquitto, no subscriber) | $(num "$(val mqtt_pub messages)") | $(num "$(val mqtt_pub msgs_per_s)") | – | $(val mqtt_pub lost) | $(val mqtt_pub seconds) | – / $(val mqtt_pub client_cpu) |
| Mosquitto + a Paho subscriber (broker limit), window $MQTT_WINDOW | $(num "$(val mqtt_broker messages)") | $(num "$(val mqtt_broker msgs_per_s)") | – | $(val mqtt_broker lost) | $(val mqtt_broker seconds) | – / $(val mqtt_broker client_cpu) + subscriber |
| through CityBrain, committed, window $MQTT_WINDOW | $(num "$(val mqtt messages)") | $(num "$(val mqtt msgs_per_s)") | $(num "$(val mqtt attrs_per_s)") | $(val mqtt lost) (server dropped $(val mqtt server_dropped), failed $(val mqtt server_failed)) | $(val mqtt seconds) | $(val mqtt server_cpu) / $(val mqtt client_cpu) |
| through CityBrain, committed, burst | $(num "$(val mqtt_burst messages)") | $(num "$(val mqtt_burst msgs_per_s)") | $(num "$(val mqtt_burst attrs_per_s)") | $(val mqtt_burst lost) (server dropped $(val mqtt_burst server_dropped), failed $(val mqtt_burst server_failed)) | $(val mqtt_burst seconds) | $(val mqtt_burst server_cpu) / $(val mqtt_burst client_cpu) |

Ratio, CityBrain (window) to the broker limit: **$(ratio "$(val mqtt msgs_per_s)" "$(val mqtt_broker msgs_per_s)")**. Mosquitto logged
"Outgoing messages are being dropped for client citybrain" $MOSQ_DROPS time(s) during the run
(messages lost at the broker, before CityBrain saw them).
MQ
)$( [ -z "$(val mqtt messages)" ] && echo "Not run: Mosquitto is not installed.")

## 5. Query latency at $(num "$LARGE") entities

GET /ngsi-ld/v1/entities?type=WeatherObserved&limit=20 with, in turn,
\`georel=near;maxDistance==500&geometry=Point&coordinates=[lon,lat]\` (random points, ~$(val near avg_results) results),
\`q=temperature>T\` (T from 37.0 to 37.9: ~5 % match, ~$(val qnum avg_results) results) and
\`q=district=="Dnnnn"\` (one district of 1,024: ~0.1 % match, ~$(val qdistrict avg_results) results). $QUERY_CONNS
connections, so latency is mostly service time.

| query | requests | p50 | p99 | max | req/s | baseline p99 | goal p99 < 2 ms |
|---|---|---|---|---|---|---|---|
| GET /health (baseline) | $(val health_c$QUERY_CONNS requests) | $(val health_c$QUERY_CONNS p50_ms) ms | $H2P99 ms | $(val health_c$QUERY_CONNS max_ms) ms | $(num "$(val health_c$QUERY_CONNS rps)") | – | – |
| GET by id (baseline) | $(val get_c$QUERY_CONNS requests) | $(val get_c$QUERY_CONNS p50_ms) ms | $(val get_c$QUERY_CONNS p99_ms) ms | $(val get_c$QUERY_CONNS max_ms) ms | $(num "$(val get_c$QUERY_CONNS rps)") | – | – |
| near 500 m | $(val near requests) | $(val near p50_ms) ms | $(val near p99_ms) ms | $(val near max_ms) ms | $(num "$(val near rps)") | $(ratio "$(val near p99_ms)" "$H2P99") × /health | $(yn lt "$(val near p99_ms)" 2) |
| q numeric (~5 %) | $(val qnum requests) | $(val qnum p50_ms) ms | $(val qnum p99_ms) ms | $(val qnum max_ms) ms | $(num "$(val qnum rps)") | $(ratio "$(val qnum p99_ms)" "$H2P99") × /health | $(yn lt "$(val qnum p99_ms)" 2) |
| q selective (~0.1 %) | $(val qdistrict requests) | $(val qdistrict p50_ms) ms | $(val qdistrict p99_ms) ms | $(val qdistrict max_ms) ms | $(num "$(val qdistrict rps)") | $(ratio "$(val qdistrict p99_ms)" "$H2P99") × /health | $(yn lt "$(val qdistrict p99_ms)" 2) |

## 6. Memory per entity

Server RSS (VmRSS of /proc/PID/status) on a fresh start: $(num "$RSS0") KiB; after creating
$(num "$ENTITIES_HELD") entities: $(num "$RSS1") KiB; after the update round, the PATCHes, GETs and queries:
$(num "$RSS2") KiB. Per entity: **$(num "$MEM_PER") bytes** after creation ($(num "$MEM_PER2") bytes at the end),
against ${DOC_BYTES:-?} bytes of stored JSON document per entity (ratio $(ratio "$MEM_PER" "$DOC_BYTES")). The RSS includes
SQLite's page caches (64 MiB for the writer, 16 MiB per reader connection) and the
allocator's free lists. Data directory on disk at the end: $(num "$(awk -v b="$DB_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')") MiB
(documents and history).

## 7. Zone assignment (situational awareness)

\`cb_zone_bench --sensors $(num "$ZONE_SENSORS")\`: $(num "$(val zone_assign zones)") zones (100 districts of 99 grid
cells each, every third cell a triangle) over a 40 km × 40 km city, and $(num "$(val zone_assign sensors)") sensors at
random points. Each sensor gets the zones containing it and their ancestors
(\`ZoneIndex::ZonesOfSensor\`: the grid index over the zones' boxes, then the exact
point-in-polygon test): $(val zone_assign seconds) s for all of them, **$(num "$(val zone_assign sensors_per_s)") sensors/s**,
$(val zone_assign ns_per_sensor) ns per sensor, $(num "$(val zone_assign assignments)") assignments. Building the index took
$(val zone_assign build_s) s. Baseline in the same run: testing every zone's polygon for each sensor,
$(val zone_assign scan_ns_per_sensor) ns per sensor (timed on $(num "$(val zone_assign scan_sample)") sensors): the index is
**$(val zone_assign speedup)×** faster.

## 9. Observation to alert (situational awareness)

\`cb_loadgen alert-latency --samples $ALERT_SAMPLES\`: a probe entity and a rule on it (\`level >= 50\` → alert II);
$ALERT_SAMPLES times, a PATCH moves the level across the threshold (up, then down), on a keep-alive
connection, and the tool waits for the alert's raise (or its automatic resolution) on the
\`/ws/alerts\` WebSocket, as the dashboard gets it. Latency = from just before the PATCH is
written to the WebSocket message's arrival; the write is durable (fsync) before listeners
hear of it, so the group commit is inside the figure. A second rule on the background's type
(\`WeatherObserved\`, \`temperature >= 1000\`, never true) makes the server evaluate every
background update.

| run | background | alert p50 | alert p99 | max | PATCH answered p50 / p99 | lost |
|---|---|---|---|---|---|---|
| quiet (baseline) | none | $(val alert_quiet p50_ms) ms | $(val alert_quiet p99_ms) ms | $(val alert_quiet max_ms) ms | $(val alert_quiet ack_p50_ms) / $(val alert_quiet ack_p99_ms) ms | $(val alert_quiet lost) |
| loaded | $(num "$(val alert_bg attrs_per_s)") attr/s ($(num "$(val alert_bg entities_per_s)") entity updates/s, batch upserts of $BATCH, p99 $(val alert_bg p99_ms) ms) | $(val alert_loaded p50_ms) ms | **$(val alert_loaded p99_ms) ms** | $(val alert_loaded max_ms) ms | $(val alert_loaded ack_p50_ms) / $(val alert_loaded ack_p99_ms) ms | $(val alert_loaded lost) |

"Updates" are attribute updates, as in the rest of this report (8 per entity update). The
samples start 3 s into the background run and end before it does (its \`seconds\` and the
samples' count are in the raw results: alert_bg, alert_loaded).

## 10. Cases

\`cb_cases_bench\` (bench/cases_bench.cc), three runs, each with its baseline in the same run.

**Transitions with durability on** (\`transitions --cases $CASE_WALKS --threads $CASE_THREADS --window 32\`):
a CaseBook over the SQLite store (fsync); $CASE_THREADS threads each walk their share of
$(num "$(val case_transitions cases)") manhole-cover cases through accept → dispatch → start → resolve → verify →
rate → close, 32 \`ApplyAsync\` calls in flight per thread, each answered once durable:
$(num "$(val case_transitions transitions)") transitions in $(val case_transitions seconds) s, **$(num "$(val case_transitions transitions_per_s)") transitions/s**
($(val case_transitions failures) refused). Each writes the whole case document (mean $(val case_transitions record_bytes) bytes:
history and clocks grow along the walk). Baseline: the raw store committing records of that
size at the same concurrency, $(num "$(val case_transitions raw_store_writes_per_s)") writes/s; ratio $(val case_transitions ratio).

**Statistics over $(num "$(val case_stats cases)") cases** (\`stats --cases $(num "$CASE_STATS_CASES") --queries 30\`): synthetic
facts (7 departments, 40 categories, 500 zones, two years of creation times, 85 % resolved,
75 % closed, half of those rated), loaded in $(val case_stats build_s) s; 30 queries of each
grouping, \`now\` at the end of the two years:

| groupBy | p50 | p99 |
|---|---|---|
| none | $(val case_stats none_p50_ms) ms | $(val case_stats none_p99_ms) ms |
| department | $(val case_stats department_p50_ms) ms | $(val case_stats department_p99_ms) ms |
| zone | $(val case_stats zone_p50_ms) ms | $(val case_stats zone_p99_ms) ms |
| month | $(val case_stats month_p50_ms) ms | $(val case_stats month_p99_ms) ms |
| baseline: one loop summing an int64 per row | $(val case_stats sum_loop_p50_ms) ms | $(val case_stats sum_loop_p99_ms) ms |

Goal: p99 < 200 ms. A query reads about 40 bytes per case and collects each group's
durations for its median and p90 (\`std::nth_element\`); the baseline reads 8.

**Boston import** (\`import --repeat 5\`): the 5,000-row Boston 311 sample read, mapped
(examples/cases/boston-mapping.json) and imported by \`CaseBook::Import\` into a fresh SQLite
store (fsync) in batches of 1,000, five times over: $(num "$(val case_import rows)") rows ($(num "$(val case_import skipped)") skipped) in
$(val case_import seconds) s, **$(num "$(val case_import rows_per_s)") rows/s**. Baseline: only parsing the same CSV,
$(num "$(val case_import parse_rows_per_s)") rows/s. Over HTTP, \`citybrain import-cases\` prints its own rows/s.

## 11. Dashboard

\`web/tests/browser/perf.test.mjs\` (\`node web/tests/browser/run.mjs perf\`): the release server
with the demo district and the built \`web/dist\`, in Debian's Chromium ($(val dashboard chromium | tr _ ' '),
headless, software WebGL: SwiftShader, no GPU), a 1920×1080 page signed in as the operator.

**Initial load**: five reloads of the signed-in wallboard, from navigation until the map has
drawn its layers and the panels hold the city (\`data-ready\`, \`data-map-ready\`, zone labels
on the map): median **$(val dashboard load_median_ms) ms** (runs: $(val dashboard load_runs_ms | tr , ' ') ms). Goal: < 2 s.

**Frame times**: the mouse drags the map back and forth for $(val dashboard pan_ms) ms while the page counts
the intervals between animation frames. Baseline: the demo district alone (15 entities),
$(val dashboard base_frames) frames, mean $(val dashboard base_mean_ms) ms, p95 $(val dashboard base_p95_ms) ms, max $(val dashboard base_max_ms) ms. Loaded:
$(num "$(val dashboard sensors)") more people counters on the map (sensors and heat layers), $(num "$(val dashboard alerts)") of them over a rule's
threshold (as many active alerts in the feed and on the map), and up to 400 counter readings
a second streaming in over \`/ws/entities\` during the pan: $(val dashboard frames) frames, mean **$(val dashboard mean_ms) ms**
($(val dashboard fps) fps), p50 $(val dashboard p50_ms), p95 $(val dashboard p95_ms), p99 $(val dashboard p99_ms), max $(val dashboard max_ms) ms; ratio to the
baseline $(val dashboard ratio_mean) (mean), $(val dashboard ratio_p95) (p95). The page was ready with all of them $(num "$(val dashboard loaded_ready_ms)") ms
after sign-in. The page's main thread was busy $(val dashboard base_main_ms_per_frame) ms per frame for the district alone and
$(val dashboard main_ms_per_frame) ms loaded ($(val dashboard script_ms_per_frame) ms of it script; Chromium's TaskDuration and ScriptDuration
over DevTools' Performance domain, wall time on 2 cores shared with SwiftShader). Below zoom 16
the map draws the counters as grid cells and the heat layer from a lattice (docs/dashboard.md).
Software rendering (no GPU) is the floor on this machine; how smooth the same layers are on
display hardware with a GPU is not measured here.

## Raw results

The RESULT lines of this run (\`build/release/bench-run/results.txt\`):

\`\`\`
$(sed 's/^RESULT //' "$RESULTS")
\`\`\`
EOF
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
