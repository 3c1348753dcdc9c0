#!/usr/bin/env bash
# Installs everything CityBrain needs on Debian 12 (apt, and npm for the dashboard) and
# configures the build. Safe to run twice: installs and rebuilds only what is missing or
# out of date.
#   scripts/setup.sh                    install packages
#   scripts/setup.sh --build P          also configure and build CMake preset P (debug|release|fuzz)
#   scripts/setup.sh --web              also install the dashboard's npm packages and build it (web/dist)
#   scripts/setup.sh --build P --web    both
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3 curl
  libboost1.74-dev libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev sqlite3 zlib1g-dev libzstd-dev libsodium-dev libjemalloc-dev libxml2-dev
  libhowardhinnant-date-dev tzdata
  libpaho-mqttpp-dev libpaho-mqtt-dev mosquitto mosquitto-clients
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev libxml2-utils wrk python3-jsonschema
  chromium fonts-noto-cjk
)
# Node.js: Debian's (18) unless one is already installed (e.g. NodeSource's, which bundles
# npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

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

preset=""
web=0
while (($#)); do
  case "$1" in
    --build) preset="${2:?--build needs a preset: debug, release or fuzz}"; shift 2 ;;
    --web) web=1; shift ;;
    *) echo "setup: unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

if [ -n "$preset" ]; then
  echo "setup: building preset $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
fi

if ((web)); then
  cd web
  # npm ci only when the lock file changed since the last install.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing the dashboard's npm packages"
    npm ci --no-audit --no-fund
  fi
  # Rebuild only when a source is newer than the last build.
  if [ ! -f dist/index.html ] || [ -n "$(find src public index.html package-lock.json vite.config.ts tsconfig.json -newer dist/index.html -print -quit)" ]; then
    echo "setup: building the dashboard (web/dist)"
    npm run build
  else
    echo "setup: the dashboard is up to date (web/dist)"
  fi
fi
