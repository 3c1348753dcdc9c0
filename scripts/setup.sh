#!/usr/bin/env bash
# Installs everything CityBrain needs on Debian 12 (apt only) and configures the build.
# Safe to run twice: installs only what is missing.
#   scripts/setup.sh            install packages
#   scripts/setup.sh --build P  also configure and build CMake preset P (debug|release|fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3 curl
  libboost1.74-dev libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev sqlite3 zlib1g-dev libsodium-dev libjemalloc-dev libxml2-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev mosquitto mosquitto-clients
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev libxml2-utils wrk python3-jsonschema
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [ "${1:-}" = "--build" ]; then
  preset="${2:?--build needs a preset: debug, release or fuzz}"
  echo "setup: building preset $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
fi
