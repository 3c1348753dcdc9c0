#!/usr/bin/env bash
# Starts or stops a private Mosquitto broker for tests and the demo: listening on 127.0.0.1
# only, on a free port, anonymous, no persistence. Everything lives in DIR:
#   DIR/mosquitto.conf  DIR/mosquitto.pid  DIR/mosquitto.port  DIR/mosquitto.log
#
#   scripts/mosquitto.sh start DIR    # prints the port; if already running, just prints it
#   scripts/mosquitto.sh stop DIR     # no-op when not running
#   scripts/mosquitto.sh status DIR   # exit 0 when running
# MQTT_PORT=1883 picks the port instead of a free one. MOSQUITTO=/path/to/mosquitto overrides the
# binary (default: mosquitto on PATH, else /usr/sbin/mosquitto).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

pid_file="$dir/mosquitto.pid"
port_file="$dir/mosquitto.port"

running() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Make sure the pid is still our mosquitto, not a recycled pid.
  grep -q mosquitto "/proc/$pid/cmdline" 2>/dev/null
}

accepts() {  # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
    return
  fi
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}

find_mosquitto() {
  if [ -n "${MOSQUITTO:-}" ]; then
    echo "$MOSQUITTO"
  elif command -v mosquitto >/dev/null 2>&1; then
    command -v mosquitto
  elif [ -x /usr/sbin/mosquitto ]; then
    echo /usr/sbin/mosquitto
  else
    echo "mosquitto is not installed (apt-get install mosquitto, or run scripts/setup.sh)" >&2
    exit 1
  fi
}

start() {
  mkdir -p "$dir"
  if running; then
    cat "$port_file"
    return
  fi
  local bin port pid
  bin=$(find_mosquitto)
  for attempt in 1 2 3; do
    port=${MQTT_PORT:-$(free_port)}
    if accepts "$port"; then
      echo "port $port is already in use" >&2
      [ -n "${MQTT_PORT:-}" ] && exit 1
      continue
    fi
    cat >"$dir/mosquitto.conf" <<EOF
# Written by scripts/mosquitto.sh: a private broker on loopback for tests and the demo.
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
EOF
    "$bin" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.log" 2>&1 &
    pid=$!
    echo "$pid" >"$pid_file"
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
        break  # exited (a zombie until reaped)
      fi
      if accepts "$port"; then
        echo "$port" >"$port_file"
        echo "$port"
        return
      fi
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    [ -n "${MQTT_PORT:-}" ] && break  # a fixed port will not get better by retrying
    echo "mosquitto did not start on port $port (attempt $attempt); retrying" >&2
  done
  echo "mosquitto failed to start; see $dir/mosquitto.log:" >&2
  tail -n 20 "$dir/mosquitto.log" >&2 || true
  exit 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file" "$port_file"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) usage ;;
esac
